//! Schemas and paths of the subscriber's page links and captured consent (`portal.rs`), merged into
//! [`super::document`].

use serde_json::{Map, Value, json};

use super::{closed, json_response, request_body, responses};

pub(super) fn document() -> (Map<String, Value>, Map<String, Value>) {
    let mut schemas = Map::new();
    schemas.insert(
        "PortalLinkRequest".into(),
        closed(
            json!({ "subscriber": { "type": "string", "minLength": 1, "maxLength": 64, "examples": ["HS00000001"] } }),
            &[],
        ),
    );
    schemas.insert(
        "PortalLink".into(),
        closed(
            json!({
                "url": { "type": "string", "description": "the one-time link to deliver to the subscriber (works once, until `expires_at`)" },
                "expires_at": { "type": "string", "format": "date-time" },
            }),
            &[],
        ),
    );
    schemas.insert(
        "ConsentRequest".into(),
        closed(
            json!({
                "subscriber": { "type": "string", "minLength": 1, "maxLength": 64, "examples": ["HS00000001"] },
                "purpose": { "type": "string", "minLength": 1, "maxLength": 64, "examples": ["marketing"] },
                "choice": { "type": "string", "enum": ["opted_in", "opted_out"] },
                "channel": { "type": "string", "minLength": 1, "maxLength": 64, "examples": ["phone"] },
                "notice_version": { "type": "integer", "minimum": 1, "description": "the policy version whose notice was shown (default: the one in force); never published → 400" },
                "evidence": { "type": "string", "maxLength": 200, "description": "a reference to the evidence (form id, call recording id), never its content" },
            }),
            &["notice_version", "evidence"],
        ),
    );
    schemas.insert(
        "ConsentRecord".into(),
        closed(
            json!({
                "id": { "type": "integer" },
                "subscriber": { "type": "string" }, "purpose": { "type": "string" },
                "choice": { "type": "string", "enum": ["opted_in", "opted_out"] },
                "channel": { "type": "string" }, "notice_version": { "type": "integer" },
                "recorded_at": { "type": "string", "format": "date-time" }, "recorded_by": { "type": "string" },
                "evidence": { "type": ["string", "null"] },
                "audit_index": { "type": "integer" },
            }),
            &["audit_index"],
        ),
    );
    let mut paths = Map::new();
    paths.insert(
        "/api/v1/consent".into(),
        json!({
            "post": {
                "summary": "Record a subscriber's opt-in or opt-out for a purpose where it was given (call centre, shop, the carrier's site), with the channel and the notice version shown; audited first, applied to the next gateway request",
                "requestBody": request_body("ConsentRequest", true),
                "responses": responses(("201", json_response("the record", "ConsentRecord")), "no such subscriber", &[])
            }
        }),
    );
    paths.insert(
        "/api/v1/portal/links".into(),
        json!({
            "post": {
                "summary": "A one-time link to a subscriber's own page (/my/), for the carrier's systems to deliver (SMS, e-mail, its My Page); issuing it is audited",
                "requestBody": request_body("PortalLinkRequest", true),
                "responses": responses(("201", json_response("the link", "PortalLink")), "no such subscriber", &[])
            }
        }),
    );
    (schemas, paths)
}
