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

fn json_response(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

/// An object whose every property is listed in `required` unless named in `optional`, and
/// that has no other property: the responses are checked against these (schemathesis), so
/// the document cannot drift from what the handlers send.
fn closed(properties: Value, optional: &[&str]) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .map(|p| p.keys().filter(|k| !optional.contains(&k.as_str())).collect())
        .unwrap_or_default();
    json!({ "type": "object", "required": required, "additionalProperties": false, "properties": properties })
}

const ROLES: [&str; 4] = ["chief_manager", "responsible_person", "handler", "auditor"];

pub(crate) fn document() -> Value {
    let access_body = json!({
        "type": "object",
        "required": ["purpose", "subscribers"],
        "additionalProperties": false,
        "properties": {
            "action": { "type": "string", "enum": ["read", "update", "export", "erase"], "default": "read" },
            "purpose": { "type": "string", "maxLength": 64, "description": "利用目的 id from the active policy", "examples": ["support"] },
            "subscribers": { "type": "array", "items": { "type": "string", "maxLength": 64 }, "minItems": 1, "maxItems": 1000, "description": "at most 20 for an explanation", "examples": [["HS00000001"]] },
            "categories": { "type": "array", "items": { "type": "string", "maxLength": 64 }, "maxItems": 64, "description": "default: every category of the purpose; an erasure is decided on every category of the subscriber", "examples": [["contract.name", "billing.payment"]] },
            "channel": { "type": "string", "enum": ["phone", "mail", "email", "post", "web", "app", "sms", "in_person", "advertising"], "description": "required when the purpose lists channels", "examples": ["phone"] },
            "zone": { "type": "string", "maxLength": 64, "description": "the handling zone the caller works from" },
            "export_approval": { "type": "string", "maxLength": 64, "description": "id of the approved export request (exports)" },
            "recipient": { "type": "string", "maxLength": 200, "description": "the third party receiving the data (third-party provision)" },
            "values": { "type": "object", "additionalProperties": { "type": "string" }, "description": "update: new values by category" },
            "method": { "type": "string", "enum": ["oral", "written", "electronic", "audio_recording", "video_recording", "other"], "description": "update: acquisition method (default electronic)" }
        }
    });
    let reason = closed(
        json!({
            "code": { "type": "string" }, "clause": { "type": "string" },
            "ja": { "type": "string" }, "en": { "type": "string" }
        }),
        &[],
    );
    let provenance = closed(
        json!({
            "method": { "type": "string", "enum": ["oral", "written", "electronic", "audio_recording", "video_recording", "other"] },
            "source": { "oneOf": [
                closed(json!({ "kind": { "const": "direct" } }), &[]),
                closed(json!({
                    "kind": { "const": "indirect" },
                    "provider_name": { "type": "string" }, "provider_address": { "type": "string" },
                    "provider_representative": { "type": "string" }, "provider_obtained_by": { "type": "string" }
                }), &[])
            ] },
            "collected_at": { "type": "string", "format": "date-time" },
            "collected_by": { "type": "string" },
            "notice_version": { "type": "integer", "minimum": 0 }
        }),
        &[],
    );
    let value = closed(
        json!({
            "version": { "type": "integer", "minimum": 1 }, "value": { "type": "string" },
            "encoding": { "type": "string", "enum": ["text", "base64"] }, "masked": { "type": "boolean" },
            "provenance": provenance, "valid_from": { "type": "string", "format": "date-time" }
        }),
        &[],
    );
    let item = closed(
        json!({
            "category": { "type": "string" },
            "allowed": { "type": "boolean" },
            "reasons": { "type": "array", "items": { "$ref": "#/components/schemas/Reason" } },
            "policies": { "type": "array", "items": { "type": "string" }, "description": "the Cedar policies that determined the decision" },
            "mask": { "type": ["string", "null"] },
            "audit_index": { "type": "integer", "minimum": 0, "description": "the ledger entry covering this decision" },
            "values": { "type": "array", "items": value },
            "unreadable": { "type": "array", "description": "allowed values that could not be opened: [version, why]",
                "items": { "type": "array", "prefixItems": [{ "type": "integer" }, { "type": "string" }], "minItems": 2, "maxItems": 2 } },
            "written": { "type": "array", "items": { "type": "integer" }, "description": "update: the versions written" }
        }),
        &["unreadable", "written"],
    );
    let outcome = closed(
        json!({
            "purpose": { "type": ["string", "null"] },
            "policy_version": { "type": ["integer", "null"] },
            "policy_digest": { "type": ["string", "null"] },
            "audit": { "type": "array", "items": { "type": "integer" }, "description": "ledger indexes written (durable before any value is returned)" },
            "provisions": { "type": "array", "items": { "type": "integer" }, "description": "APPI 29条 provision record ids" },
            "subscribers": { "type": "array", "items": closed(json!({
                "id": { "type": "string" },
                "erased": { "type": "boolean", "description": "present (true) when this call erased the subscriber" },
                "items": { "type": "array", "items": item }
            }), &["erased"]) }
        }),
        &[],
    );
    let explanation = closed(
        json!({
            "decisions": { "type": "array", "items": closed(json!({
                "subscriber": { "type": "string" }, "category": { "type": "string" }, "allowed": { "type": "boolean" },
                "reasons": { "type": "array", "items": { "$ref": "#/components/schemas/Reason" } },
                "policies": { "type": "array", "items": { "type": "string" } },
                "mask": { "type": ["string", "null"] }
            }), &[]) },
            "policies": { "type": "array", "items": closed(json!({
                "id": { "type": "string" }, "clause": { "type": "string" }, "text": { "type": "string", "description": "the Cedar source" }
            }), &[]) }
        }),
        &[],
    );
    let kind = json!({ "oneOf": [
        closed(json!({ "type": { "const": "person" }, "role": { "type": "string", "enum": ROLES } }), &[]),
        closed(json!({ "type": { "const": "system" }, "name": { "type": "string" } }), &[])
    ] });
    let grants = closed(
        json!({
            "data_range": { "type": "array", "items": closed(json!({
                "service": { "type": "string" }, "categories": { "type": "array", "items": { "type": "string" } }
            }), &[]) },
            "purposes": { "type": "array", "items": { "type": "string" } },
            "zones": { "type": "array", "items": { "type": "string" } },
            "actions": { "type": "array", "items": { "type": "string", "enum": ["read", "update", "export", "erase"] },
                "description": "default read, update, export: erasure is granted only explicitly" }
        }),
        &["data_range", "purposes", "zones", "actions"],
    );
    let principal_id = json!({ "type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$" });
    let new_staff = closed(
        json!({
            "id": principal_id,
            "display_name": { "type": "string", "examples": ["担当 九郎"] },
            "kind": kind,
            "grants": grants
        }),
        &["grants"],
    );
    let principal = closed(
        json!({
            "id": { "type": "string" },
            "display_name": { "type": "string" },
            "kind": kind,
            "grants": grants,
            "training": { "type": "array", "items": closed(json!({
                "course": { "type": "string" },
                "completed": { "type": "string", "format": "date" },
                "valid_until": { "type": "string", "format": "date" }
            }), &[]) },
            "version": { "type": "integer", "minimum": 1 },
            "created_at": { "type": "string", "format": "date-time" },
            "disabled_at": { "type": ["string", "null"], "format": "date-time" }
        }),
        &[],
    );
    let error = closed(
        json!({ "error": closed(json!({
            "status": { "type": "integer", "minimum": 400, "maximum": 599 },
            "ja": { "type": "string" }, "en": { "type": "string" },
            "detail": { "type": ["string", "null"], "description": "what was wrong (bad requests, refusals and conflicts)" },
            "field": { "type": ["string", "null"], "description": "the input field an invalid request got wrong (`grants.purposes`, `id`…), else null" }
        }), &[]) }),
        &[],
    );
    let access_example =
        json!({ "purpose": "support", "subscribers": ["HS00000001"], "categories": ["contract.name"] });
    let request_body = json!({
        "required": true,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AccessRequest" }, "example": access_example } }
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
                "Explanation": explanation,
                "Reason": reason,
                "NewStaff": new_staff,
                "Principal": principal,
                "Error": error
            }
        },
        "security": [{ "token": [] }],
        "paths": {
            "/api/v1/access": { "post": {
                "summary": "Use subscriber information through the gateway (read, update, export, erase)",
                "requestBody": request_body,
                "responses": {
                    "200": json_response("decisions per subscriber and category (denials included, with reasons), values of the allowed ones", "AccessOutcome"),
                    "400": error_response("malformed request; nothing was decided or written"),
                    "401": error_response("missing, unknown, expired or revoked token"),
                    "409": error_response("update: a concurrent write took the version; nothing was written, retry"),
                    "429": error_response("over the API rate limit; retry after the `Retry-After` seconds")
                }
            } },
            "/api/v1/access/explain": { "post": {
                "summary": "The decisions and the deciding Cedar policies, without reading data",
                "requestBody": request_body,
                "responses": {
                    "200": json_response("decisions and the text of the policies that determined them", "Explanation"),
                    "400": error_response("malformed request"),
                    "401": error_response("no valid token"),
                    "429": error_response("over the API rate limit")
                }
            } },
            "/api/v1/staff": {
                "get": { "summary": "The staff registry (managers and auditors)", "responses": {
                    "200": { "description": "every principal", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Principal" } } } } },
                    "401": error_response("no valid token"),
                    "403": error_response("role not allowed"),
                    "429": error_response("over the API rate limit")
                } },
                "post": {
                    "summary": "Register a principal (chief manager, responsible persons)",
                    "requestBody": { "required": true, "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/NewStaff" },
                        "example": { "id": "op-9", "display_name": "担当 九郎", "kind": { "type": "person", "role": "handler" }, "grants": { "purposes": ["support"] } }
                    } } },
                    "responses": {
                        "201": json_response("the registered principal (audited before it was stored)", "Principal"),
                        "400": error_response("invalid: `field` names what (the id, the name, grants not in the policy in force, or grants with none in force); nothing was written"),
                        "401": error_response("no valid token"),
                        "403": error_response("role not allowed"),
                        "409": error_response("the id is already registered; nothing was written"),
                        "429": error_response("over the API rate limit")
                    }
                }
            },
            "/api/v1/openapi.json": { "get": { "summary": "This document", "security": [], "responses": {
                "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object", "required": ["openapi", "paths"] } } } }
            } } },
            "/api/v1/checkpoint": { "get": { "summary": "The latest signed checkpoint of the audit ledger (C2SP signed note)", "security": [], "responses": {
                "200": { "description": "the signed note", "content": { "text/plain": { "schema": { "type": "string" } } } },
                "404": { "description": "no checkpoint yet (an error page)", "content": { "text/html": { "schema": { "type": "string" } } } }
            } } }
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
