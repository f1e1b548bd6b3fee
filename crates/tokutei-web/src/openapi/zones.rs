//! Schemas and paths of the handling zones and the entry/exit log (`api/zones.rs`), merged into
//! [`super::document`].

use serde_json::{Map, Value, json};

use super::{array_response, closed, json_response, request_body, responses};

pub(super) fn document() -> (Map<String, Value>, Map<String, Value>) {
    let id = json!({ "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$" });
    let mut schemas = Map::new();
    schemas.insert(
        "PresenceReport".into(),
        closed(
            json!({
                "person": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$", "examples": ["demo-support"] },
                "zone": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^\\S+$", "examples": ["hq-privacy"] },
                "event": { "type": "string", "enum": ["enter", "exit"] },
                "at": { "type": "string", "format": "date-time", "description": "when the badge was read (default: now); not in the future" },
            }),
            &["at"],
        ),
    );
    schemas.insert("PresenceRecorded".into(), closed(json!({ "audit": { "type": "integer", "minimum": 0 } }), &[]));
    schemas.insert(
        "PresenceEvent".into(),
        closed(
            json!({
                "id": { "type": "integer" }, "person": { "type": "string" }, "zone": { "type": "string" },
                "kind": { "type": "string", "enum": ["enter", "exit"] },
                "at": { "type": "string", "format": "date-time" }, "source": { "type": "string" },
                "recorded_at": { "type": "string", "format": "date-time" }, "audit_index": { "type": "integer" },
            }),
            &[],
        ),
    );
    schemas.insert(
        "ZoneRegistration".into(),
        closed(
            json!({
                "id": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^\\S+$", "examples": ["hq-privacy"] },
                "name": { "type": "string", "minLength": 1, "maxLength": 200, "examples": ["本社 特定利用者情報取扱室"] },
                "site": { "type": "string", "minLength": 1, "maxLength": 200, "examples": ["本社 3階"] },
                "networks": { "type": "array", "minItems": 1, "maxItems": 32, "items": { "type": "string", "examples": ["10.20.0.0/24"] }, "description": "the client networks of the zone's terminals (CIDR; host bits zero)" },
                "secrecy": { "type": "boolean", "description": "secrecy of communications may be handled in this zone (default false)" },
            }),
            &["secrecy"],
        ),
    );
    schemas.insert(
        "HandlingZone".into(),
        closed(
            json!({
                "id": id, "name": { "type": "string" }, "site": { "type": "string" },
                "networks": { "type": "array", "items": { "type": "string" } }, "secrecy": { "type": "boolean" },
                "registered_at": { "type": "string", "format": "date-time" }, "updated_at": { "type": "string", "format": "date-time" },
                "audit_index": { "type": "integer" },
            }),
            &[],
        ),
    );
    let mut paths = Map::new();
    paths.insert(
        "/api/v1/presence".into(),
        json!({
            "post": {
                "summary": "One entry or exit of a handling zone, from the badge system (a token of a system named badge_system, or a manager's); audited first",
                "requestBody": request_body("PresenceReport", true),
                "responses": responses(("201", json_response("the ledger index of its audit entry", "PresenceRecorded")), "not used", &[])
            },
            "get": {
                "summary": "The entry/exit log, newest first (managers and auditors)",
                "parameters": [
                    { "name": "person", "in": "query", "required": false, "schema": { "type": "string", "maxLength": 64 } },
                    { "name": "zone", "in": "query", "required": false, "schema": { "type": "string", "maxLength": 64 } },
                    { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }
                ],
                "responses": responses(("200", array_response("the events", "PresenceEvent")), "not used", &[])
            }
        }),
    );
    paths.insert(
        "/api/v1/zones".into(),
        json!({
            "get": {
                "summary": "The register of handling zones (managers and auditors)",
                "responses": responses(("200", array_response("the zones", "HandlingZone")), "not used", &[])
            },
            "post": {
                "summary": "Register a handling zone, or replace the entry of its id (managers); audited first",
                "requestBody": request_body("ZoneRegistration", true),
                "responses": responses(("201", json_response("the zone", "HandlingZone")), "not used", &[])
            }
        }),
    );
    (schemas, paths)
}
