//! Schemas and paths of the export artefacts (`api/exports.rs`), merged into
//! [`super::document`].

use serde_json::{Map, Value, json};

use super::{closed, error_response, json_response, request_body, responses};

pub(super) fn document() -> (Map<String, Value>, Map<String, Value>) {
    let mut schemas = Map::new();
    schemas.insert(
        "ArtefactRequest".into(),
        closed(
            json!({
                "recipient": { "type": "string", "minLength": 1, "maxLength": 200, "description": "the recipient's age X25519 public key (`age1…`); not one → 400 naming `recipient_key`", "examples": ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"] },
                "channel": { "type": "string", "enum": ["phone", "mail", "email", "post", "web", "app", "sms", "in_person", "advertising"], "description": "the channel, for a purpose that lists its channels" },
                "zone": { "type": "string", "minLength": 1, "maxLength": 64, "description": "the handling zone, where the deployment requires one" },
            }),
            &["channel", "zone"],
        ),
    );
    schemas.insert(
        "Artefact".into(),
        closed(
            json!({
                "export": { "type": "string" },
                "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the ciphertext: the `export_produced` entry holds the same" },
                "bytes": { "type": "integer", "minimum": 0 },
                "recipient_key": { "type": "string" },
                "audit_index": { "type": "integer", "minimum": 0, "description": "the `export_produced` entry" },
                "subscribers": { "type": "integer", "minimum": 0 },
                "allowed": { "type": "integer", "minimum": 0, "description": "categories exported, over every subscriber" },
                "denied": { "type": "integer", "minimum": 0, "description": "categories refused (listed in the document with their reason codes)" },
            }),
            &[],
        ),
    );
    let id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "maxLength": 64 }, "example": "EXP-1" });
    let conflict =
        ("409", "not approved, lapsed, produced already, not produced yet or downloaded already; nothing was written");
    let mut download = responses(
        (
            "200",
            json!({
                "description": "the artefact: the age-encrypted JSON document (`tokutei-export/1`); `X-Tokutei-Sha256` is its digest",
                "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } },
            }),
        ),
        "no such export request",
        &[conflict],
    );
    download["403"] = error_response("not the requester (the artefact goes only to whoever filed the request)");
    let mut paths = Map::new();
    paths.insert(
        "/api/v1/exports/{id}/artefact".into(),
        json!({
            "post": {
                "summary": "Produce the artefact of an approved export request (its requester): the export runs through the gateway, every decision audited, into a JSON document encrypted to the recipient's age key; `export_produced` with its SHA-256 is durable before it is stored",
                "parameters": [id.clone()],
                "requestBody": request_body("ArtefactRequest", true),
                "responses": responses(("201", json_response("the artefact produced", "Artefact")), "no such export request", &[conflict])
            },
            "get": {
                "summary": "Download the artefact, once (its requester; the medium is the network); `export_downloaded` is durable before the bytes leave",
                "parameters": [id],
                "responses": download
            }
        }),
    );
    (schemas, paths)
}
