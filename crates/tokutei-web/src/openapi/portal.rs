//! Schemas and paths of the subscriber's page links (`portal.rs`), merged into
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
    let mut paths = Map::new();
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
