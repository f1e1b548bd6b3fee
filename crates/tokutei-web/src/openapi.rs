//! The OpenAPI 3.1 description of `/api/v1/`, served at `/api/v1/openapi.json`. Kept next to
//! the handlers; a test checks that every API route of the router is described here.

use serde_json::{Value, json};

/// The paths the document describes (the router test compares its routes with these).
#[cfg(test)]
pub(crate) const PATHS: [&str; 5] =
    ["/api/v1/access", "/api/v1/access/explain", "/api/v1/staff", "/api/v1/openapi.json", "/api/v1/checkpoint"];

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

pub(crate) fn document() -> Value {
    let access_body = json!({
        "type": "object",
        "required": ["purpose", "subscribers"],
        "additionalProperties": false,
        "properties": {
            "action": { "type": "string", "enum": ["read", "update", "export", "erase"], "default": "read" },
            "purpose": { "type": "string", "description": "利用目的 id from the active policy" },
            "subscribers": { "type": "array", "items": { "type": "string" }, "maxItems": 1000 },
            "categories": { "type": "array", "items": { "type": "string" }, "description": "default: every category of the purpose" },
            "channel": { "type": "string", "enum": ["phone", "mail", "email", "post", "web", "app", "sms", "in_person", "advertising"] },
            "zone": { "type": "string", "description": "the handling zone the caller works from" },
            "export_approval": { "type": "string", "description": "id of the approved export request (exports)" },
            "recipient": { "type": "string", "description": "the third party receiving the data (third-party provision)" },
            "values": { "type": "object", "additionalProperties": { "type": "string" }, "description": "update: new values by category" },
            "method": { "type": "string", "description": "update: acquisition method (default electronic)" }
        }
    });
    let reason = json!({
        "type": "object",
        "properties": {
            "code": { "type": "string" }, "clause": { "type": "string" },
            "ja": { "type": "string" }, "en": { "type": "string" }
        }
    });
    let outcome = json!({
        "type": "object",
        "properties": {
            "purpose": { "type": ["string", "null"] },
            "policy_version": { "type": ["integer", "null"] },
            "policy_digest": { "type": ["string", "null"] },
            "audit": { "type": "array", "items": { "type": "integer" }, "description": "ledger indexes written (durable before any value is returned)" },
            "provisions": { "type": "array", "items": { "type": "integer" }, "description": "APPI 29条 provision record ids" },
            "subscribers": { "type": "array", "items": { "type": "object", "properties": {
                "id": { "type": "string" },
                "erased": { "type": "boolean" },
                "items": { "type": "array", "items": { "type": "object", "properties": {
                    "category": { "type": "string" },
                    "allowed": { "type": "boolean" },
                    "reasons": { "type": "array", "items": { "$ref": "#/components/schemas/Reason" } },
                    "policies": { "type": "array", "items": { "type": "string" } },
                    "mask": { "type": ["string", "null"] },
                    "audit_index": { "type": "integer" },
                    "values": { "type": "array", "items": { "type": "object", "properties": {
                        "version": { "type": "integer" }, "value": { "type": "string" },
                        "encoding": { "type": "string", "enum": ["text", "base64"] }, "masked": { "type": "boolean" },
                        "provenance": { "type": "object" }, "valid_from": { "type": "string", "format": "date-time" }
                    } } },
                    "written": { "type": "array", "items": { "type": "integer" } }
                } } }
            } } }
        }
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tokutei API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "特定利用者情報の取扱い: every use of subscriber information goes through the purpose-bound gateway and is recorded in the tamper-evident audit ledger before any value is returned."
        },
        "components": {
            "securitySchemes": { "token": { "type": "http", "scheme": "bearer", "description": "API token `tkt_<id>_<secret>` issued with `tokutei staff token issue`" } },
            "schemas": {
                "AccessRequest": access_body,
                "AccessOutcome": outcome,
                "Reason": reason,
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "status": { "type": "integer" }, "ja": { "type": "string" }, "en": { "type": "string" }, "detail": { "type": ["string", "null"] }
                } } } }
            }
        },
        "security": [{ "token": [] }],
        "paths": {
            "/api/v1/access": { "post": {
                "summary": "Use subscriber information through the gateway (read, update, export, erase)",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AccessRequest" } } } },
                "responses": {
                    "200": { "description": "decisions per subscriber and category (denials included, with reasons), values of the allowed ones", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AccessOutcome" } } } },
                    "400": error_response("malformed request; nothing was decided or written"),
                    "401": error_response("missing, unknown, expired or revoked token")
                }
            } },
            "/api/v1/access/explain": { "post": {
                "summary": "The decisions and the deciding Cedar policies, without reading data",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AccessRequest" } } } },
                "responses": { "200": { "description": "decisions and policies" }, "400": error_response("malformed request"), "401": error_response("no valid token") }
            } },
            "/api/v1/staff": {
                "get": { "summary": "The staff registry (managers and auditors)", "responses": { "200": { "description": "principals" }, "401": error_response("no valid token"), "403": error_response("role not allowed") } },
                "post": { "summary": "Register a principal (chief manager, responsible persons)", "responses": { "201": { "description": "created" }, "400": error_response("invalid or duplicate"), "401": error_response("no valid token"), "403": error_response("role not allowed") } }
            },
            "/api/v1/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": { "description": "OpenAPI 3.1" } } } },
            "/api/v1/checkpoint": { "get": { "summary": "The latest signed checkpoint of the audit ledger (C2SP signed note)", "security": [], "responses": { "200": { "description": "text/plain signed note" }, "404": { "description": "no checkpoint yet" } } } }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_describes_exactly_the_api_paths() {
        let doc = super::document();
        let mut described: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
        described.sort_unstable();
        let mut paths = super::PATHS.to_vec();
        paths.sort_unstable();
        assert_eq!(described, paths);
    }
}
