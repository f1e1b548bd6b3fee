//! Schemas and paths of the data-subject requests (`api/requests.rs`), merged into
//! [`super::document`].

use serde_json::{Map, Value, json};
use tokutei_app::requests::{Channel, Ground, NoticeMethod, OutcomeKind, RequestKind, ResponseMethod, Verification};

use super::{array_response, closed, json_response, request_body, responses};

fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Value {
    json!(all.iter().map(|k| code(*k)).collect::<Vec<_>>())
}

fn nullable(schema: Value) -> Value {
    json!({ "oneOf": [{ "type": "null" }, schema] })
}

pub(super) fn document() -> (Map<String, Value>, Map<String, Value>) {
    let date = json!({ "type": "string", "format": "date", "maxLength": 10, "examples": ["2026-12-01"] });
    let instant = json!({ "type": "string", "format": "date-time" });
    let text = json!({ "type": "string", "maxLength": 4000 });
    let reference = json!({ "type": "string", "maxLength": 200 });
    let kind = json!({ "type": "string", "enum": codes(RequestKind::ALL, RequestKind::code) });
    let channel = json!({ "type": "string", "enum": codes(Channel::ALL, Channel::code) });
    let verification_method = json!({ "type": "string", "enum": codes(Verification::ALL, Verification::code) });
    let method = json!({ "type": "string", "enum": codes(ResponseMethod::ALL, ResponseMethod::code) });
    let ground = json!({ "type": "string", "enum": codes(Ground::ALL, Ground::code) });
    let notice_method = json!({ "type": "string", "enum": codes(NoticeMethod::ALL, NoticeMethod::code) });
    let result = json!({ "type": "string", "enum": codes(OutcomeKind::ALL, OutcomeKind::code) });
    let ids = json!({ "type": "array", "items": { "type": "string", "maxLength": 64 }, "maxItems": 64 });

    let verification_request = closed(
        json!({ "subscriber": { "type": "string", "minLength": 1, "maxLength": 64 }, "method": verification_method, "evidence": reference, "agent": reference }),
        &["evidence", "agent"],
    );
    let open_request = closed(
        json!({
            "type": kind, "channel": channel, "inquiry": reference, "received_at": instant,
            "purposes": ids, "categories": ids, "method": method,
            "verification": { "$ref": "#/components/schemas/RequestVerification" },
        }),
        &["inquiry", "received_at", "purposes", "categories", "method", "verification"],
    );
    let reason_request = closed(json!({ "reason": { "type": "string", "minLength": 1, "maxLength": 4000 } }), &[]);
    let extension_request = closed(
        json!({ "days": { "type": "integer", "minimum": 1, "maximum": 60 }, "reason": { "type": "string", "minLength": 1, "maxLength": 4000 } }),
        &[],
    );
    let refusal_request = closed(json!({ "ground": ground, "note": text }), &["note"]);
    let note_request = closed(
        json!({
            "note": text,
            "corrections": { "type": "array", "maxItems": 64, "description": "a correction's new values (34条)",
                "items": closed(json!({ "category": { "type": "string", "maxLength": 64 }, "value": { "type": "string", "maxLength": 4000 } }), &[]) },
        }),
        &["note", "corrections"],
    );
    let notice_request = closed(json!({ "method": notice_method, "sent_on": date }), &[]);

    let verified = closed(
        json!({
            "subscriber": { "type": "string" }, "method": verification_method,
            "evidence": { "type": ["string", "null"] }, "agent": { "type": ["string", "null"] },
            "by": { "type": "string" }, "at": instant,
        }),
        &[],
    );
    let outcome = closed(
        json!({
            "result": result, "ground": nullable(ground.clone()), "note": { "type": ["string", "null"] },
            "by": { "type": "string" }, "at": instant,
            "document_digest": { "type": "string", "description": "sha256 of the document the request was answered with (GET …/document)" },
        }),
        &["document_digest"],
    );
    let notice =
        closed(json!({ "method": notice_method, "sent_on": date, "by": { "type": "string" }, "at": instant }), &[]);
    let request = closed(
        json!({
            "id": { "type": "string", "examples": ["DR-1"] }, "type": kind, "channel": channel,
            "inquiry": { "type": ["string", "null"] }, "received_at": instant, "received_on": date,
            "opened_by": { "type": "string" }, "purposes": ids, "categories": ids,
            "method": nullable(method), "fee": { "type": ["integer", "null"], "description": "yen, where the deployment charges one" },
            "verification": nullable(verified),
            "pauses": { "type": "array", "items": closed(json!({ "from": date, "to": { "type": ["string", "null"], "format": "date" }, "reason": { "type": "string" } }), &[]) },
            "extensions": { "type": "array", "items": closed(json!({ "days": { "type": "integer" }, "reason": { "type": "string" } }), &[]) },
            "deadline": date,
            "days_left": { "type": ["integer", "null"], "description": "calendar days to the deadline (negative: overdue); null once decided" },
            "overdue": { "type": "boolean" },
            "outcome": nullable(outcome), "notice": nullable(notice),
            "downloaded_at": { "type": ["string", "null"], "format": "date-time", "description": "when the disclosure's electronic record was downloaded (once)" },
            "status": { "type": "string", "enum": ["received", "verified", "paused", "decided", "notified"] },
        }),
        &[],
    );

    let mut schemas = Map::new();
    for (name, schema) in [
        ("RequestVerification", verification_request),
        ("RequestOpen", open_request),
        ("RequestReason", reason_request),
        ("RequestExtension", extension_request),
        ("RequestRefusal", refusal_request),
        ("RequestNote", note_request),
        ("RequestNotice", notice_request),
        ("Request", request),
    ] {
        schemas.insert(name.to_string(), schema);
    }

    let conflict = ("409", "not allowed now (verified already, paused already, decided); nothing was written");
    let errors = |ok: (&str, Value), extra: &[(&str, &str)]| responses(ok, "no such request", extra);
    let dr = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "maxLength": 64 }, "example": "DR-1" });
    let done = |what: &str| errors(("201", json_response(what, "Request")), &[conflict]);
    let mut paths = Map::new();
    paths.insert("/api/v1/requests".into(), json!({
        "get": { "summary": "Every data-subject request with its status, deadline and days left (managers and auditors)",
            "responses": errors(("200", array_response("requests, in the order received", "Request")), &[]) },
        "post": { "summary": "Receive a request (every role but the auditor's); verified at intake when `verification` is given",
            "requestBody": request_body("RequestOpen", true), "responses": done("received") }
    }));
    let document_response = json!({ "description": "the document (`schema` names its version)", "content": { "application/json": { "schema": { "type": "object", "required": ["schema", "request", "subscriber"] } } } });
    paths.insert("/api/v1/requests/{id}/document".into(), json!({
        "get": { "summary": "The document a request was answered with (a purpose notice, the provision records, a disclosure); reading it is audited", "parameters": [dr.clone()],
            "responses": errors(("200", document_response), &[conflict]) }
    }));
    paths.insert(
        "/api/v1/requests/{id}".into(),
        json!({
            "get": { "summary": "One request with its clock", "parameters": [dr.clone()],
                "responses": errors(("200", json_response("the request", "Request")), &[]) }
        }),
    );
    for (path, summary, schema) in [
        ("verification", "Verify the requester's identity and link the subscriber", Some("RequestVerification")),
        ("pause", "Stop the clock while waiting for the person (managers)", Some("RequestReason")),
        ("resumption", "Run the clock again; the days paused move the deadline (managers)", None),
        ("extension", "Extend the deadline with a reason (managers)", Some("RequestExtension")),
        ("refusal", "Refuse on a ground of the law for the request's type (managers)", Some("RequestRefusal")),
        (
            "fulfilment",
            "Fulfil: a stop of use or of provision in force for the gateway, an erasure done (managers; other types: 409, not built yet)",
            Some("RequestNote"),
        ),
        ("lift", "Lift the stops a fulfilled stop request put in force (managers)", Some("RequestReason")),
        ("notice", "Record the notice of the outcome sent to the person (managers)", Some("RequestNotice")),
    ] {
        let mut op = json!({ "summary": summary, "parameters": [dr.clone()], "responses": done("recorded") });
        if let Some(schema) = schema {
            op["requestBody"] = request_body(schema, true);
        }
        paths.insert(format!("/api/v1/requests/{{id}}/{path}"), json!({ "post": op }));
    }
    (schemas, paths)
}
