//! The OpenAPI 3.1 description of `/api/v1/`, served at `/api/v1/openapi.json`. Kept next to
//! the handlers; a test checks that every API route of the router is described here.

use serde_json::{Value, json};

mod exports;
mod oversight;
mod portal;
mod requests;
mod zones;

/// The paths the document describes (the router test compares its routes with these).
#[cfg(test)]
pub(crate) const PATHS: &[&str] = &[
    "/api/v1/access",
    "/api/v1/access/explain",
    "/api/v1/staff",
    "/api/v1/openapi.json",
    "/api/v1/checkpoint",
    "/api/v1/portal/links",
    "/api/v1/presence",
    "/api/v1/zones",
    "/api/v1/consent",
    "/api/v1/exports/{id}/artefact",
    "/api/v1/incidents",
    "/api/v1/incidents/{id}",
    "/api/v1/incidents/{id}/history",
    "/api/v1/incidents/{id}/triage",
    "/api/v1/incidents/{id}/impacts",
    "/api/v1/incidents/{id}/proofs/{index}",
    "/api/v1/incidents/{id}/reports/{regime}/{report}",
    "/api/v1/incidents/{id}/reports/{regime}/{report}/submit",
    "/api/v1/incidents/{id}/notices/letters",
    "/api/v1/incidents/{id}/notices",
    "/api/v1/incidents/{id}/alternative-measures",
    "/api/v1/incidents/{id}/publication",
    "/api/v1/incidents/{id}/publication/corrections",
    "/api/v1/incidents/{id}/withdrawal",
    "/api/v1/alerts",
    "/api/v1/alerts/{id}",
    "/api/v1/alerts/{id}/retry",
    "/api/v1/oversight/designation",
    "/api/v1/oversight/rules",
    "/api/v1/requests",
    "/api/v1/requests/{id}",
    "/api/v1/requests/{id}/document",
    "/api/v1/requests/{id}/verification",
    "/api/v1/requests/{id}/pause",
    "/api/v1/requests/{id}/resumption",
    "/api/v1/requests/{id}/extension",
    "/api/v1/requests/{id}/refusal",
    "/api/v1/requests/{id}/fulfilment",
    "/api/v1/requests/{id}/lift",
    "/api/v1/requests/{id}/notice",
    "/api/v1/oversight/rules/{version}",
    "/api/v1/oversight/rules/{version}/filings",
    "/api/v1/oversight/chief-managers",
    "/api/v1/oversight/chief-managers/notifications",
    "/api/v1/oversight/opinions",
    "/api/v1/oversight/opinions/{id}/responses",
    "/api/v1/oversight/violations",
    "/api/v1/oversight/violations/{id}",
    "/api/v1/oversight/violations/{id}/acknowledgement",
    "/api/v1/oversight/violations/{id}/resolution",
    "/api/v1/oversight/inspections",
    "/api/v1/oversight/inspections/{id}",
    "/api/v1/oversight/findings",
    "/api/v1/oversight/findings/{id}/close",
    "/api/v1/oversight/training",
    "/api/v1/oversight/training/courses",
];

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

/// A JSON request body of the schema named `schema`.
fn request_body(schema: &str, required: bool) -> Value {
    json!({ "required": required, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

/// A JSON array of the schema named `schema`.
fn array_response(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": format!("#/components/schemas/{schema}") } } } } })
}

/// An operation's responses: `ok`, the errors every operation answers (`not_found` says what
/// a 404 means) and its `extra` ones.
fn responses(ok: (&str, Value), not_found: &str, extra: &[(&str, &str)]) -> Value {
    let mut all = serde_json::Map::new();
    all.insert(ok.0.to_string(), ok.1);
    for (status, description) in [
        ("400", "invalid input: `field` names what; nothing was written"),
        ("401", "no valid token"),
        ("403", "role not allowed (reads: managers and auditors; changes: managers)"),
        ("404", not_found),
        ("429", "over the API rate limit"),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    {
        all.insert(status.to_string(), error_response(description));
    }
    Value::Object(all)
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
    let mut doc = json!({
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
            "/api/v1/checkpoint": { "get": { "summary": "The published checkpoint of the audit ledger (C2SP signed note): the latest a quorum of the configured witnesses cosigned (their cosignature lines follow), or the latest signed without witnesses", "security": [], "responses": {
                "200": { "description": "the signed note", "content": { "text/plain": { "schema": { "type": "string" } } } },
                "404": { "description": "no checkpoint yet (an error page)", "content": { "text/html": { "schema": { "type": "string" } } } }
            } } }
        }
    });
    for (schemas, paths) in [
        incidents(),
        oversight::document(),
        inspections(),
        training(),
        requests::document(),
        portal::document(),
        zones::document(),
        exports::document(),
    ] {
        if let Some(all) = doc["components"]["schemas"].as_object_mut() {
            all.extend(schemas);
        }
        if let Some(all) = doc["paths"].as_object_mut() {
            all.extend(paths);
        }
    }
    doc
}

/// Schemas and paths of the oversight registers of training and the annual assessment
/// (`api/oversight_assessment.rs`), merged into [`document`].
fn training() -> (serde_json::Map<String, Value>, serde_json::Map<String, Value>) {
    let date_or_null = json!({ "type": ["string", "null"], "format": "date" });
    let role = json!({ "type": "string", "enum": ROLES });
    let roster_row = closed(
        json!({
            "id": { "type": "string", "description": "principal/course" },
            "principal": { "type": "string" }, "display_name": { "type": "string" }, "role": role,
            "course": { "type": "string" }, "course_ja": { "type": "string" }, "course_en": { "type": "string" },
            "completed": date_or_null, "valid_until": date_or_null,
            "days_left": { "type": ["integer", "null"], "description": "calendar days to the last valid day (Asia/Tokyo); negative: expired" },
            "state": { "type": "string", "enum": ["valid", "expiring", "expired", "missing"] }
        }),
        &[],
    );
    let course = closed(
        json!({
            "id": { "type": "string" }, "name_ja": { "type": "string" }, "name_en": { "type": "string" },
            "validity_months": { "type": ["integer", "null"], "minimum": 1 },
            "roles": { "type": "array", "items": role }
        }),
        &[],
    );
    let mut schemas = serde_json::Map::new();
    schemas.insert("TrainingRosterRow".into(), roster_row);
    schemas.insert("TrainingCourse".into(), course);
    let array = array_response;
    let errors = |ok: Value| {
        json!({
            "200": ok,
            "401": error_response("no valid token"),
            "403": error_response("role not allowed (managers and auditors read)"),
            "429": error_response("over the API rate limit")
        })
    };
    let mut paths = serde_json::Map::new();
    paths.insert("/api/v1/oversight/training".into(), json!({
        "get": { "summary": "The training roster: every person × every course their role must take, with the last valid day and days left",
            "responses": errors(array("the rows, by person then course", "TrainingRosterRow")) }
    }));
    paths.insert("/api/v1/oversight/training/courses".into(), json!({
        "get": { "summary": "The training catalogue: each course's names, validity in months and the roles that must take it",
            "responses": errors(array("the courses", "TrainingCourse")) }
    }));
    (schemas, paths)
}

/// Schemas and paths of the self-inspection reports and their findings
/// (`api/oversight_inspections.rs`), merged into [`document`].
fn inspections() -> (serde_json::Map<String, Value>, serde_json::Map<String, Value>) {
    let instant = json!({ "type": "string" });
    let free = json!({ "type": "string", "minLength": 1, "maxLength": 4000 });
    let run = closed(
        json!({ "period": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "examples": ["2026-11"] } }),
        &[],
    );
    let new_finding = closed(
        json!({
            "inspection": { "type": "string", "maxLength": 64 }, "text": free,
            "owner": { "type": "string", "maxLength": 64 },
            "due": { "type": "string", "format": "date" }
        }),
        &["due"],
    );
    let close = closed(json!({ "text": free }), &[]);
    let inspection = closed(
        json!({
            "id": { "type": "string" }, "period": { "type": "string" }, "revision": { "type": "integer" },
            "digest": { "type": "string", "description": "SHA-256 of the stored document (hex), as in its `inspection_reported` ledger entry" },
            "checkpoint_size": { "type": "integer" }, "made_by": { "type": "string" }, "made_at": instant,
            "audit_index": { "type": "integer" },
            "figures": { "type": "object", "description": "the ledger figures, training status and violation reports of the period" }
        }),
        &[],
    );
    let finding = closed(
        json!({
            "id": { "type": "string" }, "inspection": { "type": "string" }, "text": { "type": "string" },
            "owner": { "type": "string" }, "due": { "type": ["string", "null"] },
            "days_left": { "type": ["integer", "null"] }, "state": { "type": "string", "enum": ["open", "closed"] },
            "added_by": { "type": "string" }, "added_at": instant,
            "closure": { "oneOf": [{ "type": "null" }, closed(json!({ "text": { "type": "string" }, "by": { "type": "string" }, "at": instant }), &[])] }
        }),
        &[],
    );
    let closed_finding = closed(
        json!({ "id": { "type": "string" }, "state": { "const": "closed" }, "audit_index": { "type": "integer" } }),
        &[],
    );
    let mut schemas = serde_json::Map::new();
    for (name, schema) in [
        ("InspectionRun", run),
        ("NewFinding", new_finding),
        ("FindingClosure", close),
        ("Inspection", inspection),
        ("Finding", finding),
        ("FindingClosed", closed_finding),
    ] {
        schemas.insert(name.to_string(), schema);
    }
    let body = |schema: &str| request_body(schema, true);
    let array = array_response;
    let conflict = (
        "409",
        "conflicts with the register (no checkpoint covers the month yet, closed already); nothing was written",
    );
    let errors = |ok: (&str, Value)| responses(ok, "no such report or finding", &[conflict]);
    let id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "maxLength": 64 } });
    let change = "changes: the chief manager and responsible persons; audited before anything is stored";
    let mut paths = serde_json::Map::new();
    paths.insert("/api/v1/oversight/inspections".into(), json!({
        "get": { "summary": "The self-inspection reports, in the order made (managers and auditors)",
            "responses": errors(("200", array("the reports with their figures", "Inspection"))) },
        "post": { "summary": "Make the self-inspection report of a finished Tokyo month from the audit ledger", "description": change,
            "requestBody": body("InspectionRun"),
            "responses": errors(("201", json_response("the report (a new revision when the month has one)", "Inspection"))) }
    }));
    paths.insert(
        "/api/v1/oversight/inspections/{id}".into(),
        json!({
            "get": { "summary": "One self-inspection report with its figures", "parameters": [id],
                "responses": errors(("200", json_response("the report", "Inspection"))) }
        }),
    );
    paths.insert(
        "/api/v1/oversight/findings".into(),
        json!({
            "get": { "summary": "The findings of the reports: open ones with their days left",
                "responses": errors(("200", array("the findings", "Finding"))) },
            "post": { "summary": "Record a finding of a report, with its owner and due date", "description": change,
                "requestBody": body("NewFinding"),
                "responses": errors(("201", json_response("the finding", "Finding"))) }
        }),
    );
    paths.insert(
        "/api/v1/oversight/findings/{id}/close".into(),
        json!({
            "post": { "summary": "Close a finding with what was done (once)", "description": change, "parameters": [id],
                "requestBody": body("FindingClosure"),
                "responses": errors(("200", json_response("closed", "FindingClosed"))) }
        }),
    );
    (schemas, paths)
}

/// Schemas and paths of the incident register and the alert outbox (`api/incidents.rs`),
/// merged into [`document`].
fn incidents() -> (serde_json::Map<String, Value>, serde_json::Map<String, Value>) {
    let time = json!({ "type": "string", "maxLength": 40, "description": "a date (Asia/Tokyo midnight) or an RFC 3339 time", "examples": ["2026-04-01", "2026-04-01T09:30:00+09:00"] });
    let title = json!({ "type": "string", "minLength": 1, "maxLength": 200 });
    let free = json!({ "type": "string", "maxLength": 4000 });
    let id_list = json!({ "type": "array", "items": { "type": "string", "maxLength": 64 }, "maxItems": 64 });
    let regimes = json!({ "type": "array", "items": { "type": "string", "enum": ["secrecy", "tokutei", "appi"] }, "maxItems": 3 });
    let persons = json!({ "type": "integer", "minimum": 0, "maximum": 10_000_000_000_u64 });
    let instant = json!({ "type": "string", "format": "date-time" });
    let date = json!({ "type": "string", "format": "date" });
    let opt_string = json!({ "type": ["string", "null"] });
    let open_incident = closed(
        json!({
            "title": title, "title_en": title, "known_at": time, "regimes": regimes,
            "occurred_at": time, "occurred_until": time, "discovered_at": time,
            "persons": persons, "estimated": { "type": "boolean" },
            "malicious": { "type": "boolean" }, "sensitive": { "type": "boolean" },
            "financial": { "type": "boolean" }, "encrypted": { "type": "boolean" },
            "summary": free, "summary_en": free, "discovery": free,
            "categories": id_list, "services": id_list
        }),
        &[
            "title_en",
            "occurred_at",
            "occurred_until",
            "discovered_at",
            "persons",
            "estimated",
            "malicious",
            "sensitive",
            "financial",
            "encrypted",
            "summary",
            "summary_en",
            "discovery",
            "categories",
            "services",
        ],
    );
    let update_incident = closed(
        json!({
            "title": title, "title_en": title, "summary": free, "summary_en": free,
            "occurred_at": time, "occurred_until": time, "discovered_at": time, "known_at": time,
            "discovery": free, "categories": id_list, "services": id_list, "content": free,
            "persons": persons, "estimated": { "type": "boolean" },
            "cause": free, "secondary_damage": free, "response": free, "prevention": free, "other": free,
            "status": { "type": "string", "enum": ["open", "reported", "closed"] },
            "processors": { "type": "array", "maxItems": 20, "items": closed(json!({
                "name": title, "notified_at": time
            }), &["notified_at"]) },
            "items": { "type": "object", "maxProperties": 20, "additionalProperties": free, "description": "values of the deployment's own report items, by item id" }
        }),
        // Every field of an update is optional: the handler's own list.
        crate::api::incidents::UPDATE_FIELDS,
    );
    let triage = closed(
        json!({
            "malicious": { "type": "boolean" }, "sensitive": { "type": "boolean" },
            "financial": { "type": "boolean" }, "encrypted": { "type": "boolean" },
            "persons": persons, "estimated": { "type": "boolean" }, "regimes": regimes
        }),
        &["malicious", "sensitive", "financial", "encrypted", "persons", "estimated", "regimes"],
    );
    let impact_request = closed(
        json!({
            "principal": { "type": "string", "maxLength": 64, "description": "reads by this principal" },
            "token": { "type": "string", "maxLength": 64, "description": "reads through this API token (its id)" },
            "categories": id_list,
            "since": time, "until": time,
            "set_persons": { "type": "boolean", "description": "take the number of persons from the subscribers affected" }
        }),
        &["principal", "token", "categories", "set_persons"],
    );
    let submit_request = closed(
        json!({
            "submitted_at": time,
            "recipient": title,
            "reference": { "type": "string", "maxLength": 200, "description": "the recipient's reference number (受付番号)" },
            "document": { "type": "string", "maxLength": 100000, "description": "the document as submitted (default: the report as rendered now); its SHA-256 is recorded" }
        }),
        &["submitted_at", "recipient", "reference", "document"],
    );
    let notices_request = closed(
        json!({
            "method": { "type": "string", "enum": ["email", "post", "phone", "sms", "other"] },
            "subscribers": { "type": "array", "items": { "type": "string", "maxLength": 64 }, "minItems": 1, "maxItems": 1000 },
            "sent_at": time
        }),
        &["sent_at"],
    );
    let alternative_request = closed(json!({ "measure": title, "reason": title }), &[]);
    let entry_text = closed(json!({ "text": free, "text_en": free }), &["text", "text_en"]);
    let withdraw_request = closed(json!({ "reason": title }), &["reason"]);

    let text = json!({ "type": "object", "required": ["ja"], "additionalProperties": false,
        "properties": { "ja": { "type": "string" }, "en": { "type": "string" } } });
    let fields = json!({
        "type": "object",
        "required": ["title", "known_at", "status", "regimes", "occurred", "flags"],
        "description": "the incident's fields as now known (absent ones are not known yet)",
        "properties": {
            "title": text, "summary": text,
            "occurred": { "type": "object", "required": ["kind"], "properties": {
                "kind": { "type": "string", "enum": ["unknown", "at", "between"] },
                "at": instant, "from": instant, "to": instant
            } },
            "discovered_at": instant, "known_at": instant,
            "regimes": { "type": "array", "items": { "type": "string", "enum": ["secrecy", "tokutei", "appi"] } },
            "status": { "type": "string", "enum": ["open", "reported", "closed"] },
            "persons": { "type": "object", "required": ["count"], "properties": { "count": { "type": "integer" }, "estimated": { "type": "boolean" } } },
            "flags": { "type": "object" },
            "categories": { "type": "array", "items": { "type": "string" } },
            "services": { "type": "array", "items": { "type": "string" } }
        }
    });
    let submission = closed(
        json!({
            "submitted_at": instant, "recipient": { "type": "string" }, "reference": opt_string,
            "digest": { "type": "string" }, "submitted_by": { "type": "string" }, "audit_index": { "type": "integer" }
        }),
        &[],
    );
    let obligation = closed(
        json!({
            "regime": { "type": "string", "enum": ["secrecy", "tokutei", "appi"] },
            "report": { "type": "string", "enum": ["first", "detailed", "preliminary", "final"] },
            "due": date,
            "submitted_at": { "type": ["string", "null"], "format": "date-time" },
            "recipient": { "type": "string" },
            "unconfirmed": { "type": "boolean", "description": "the due date's rule is a configured assumption, not confirmed law" },
            "days_left": { "type": ["integer", "null"], "description": "negative once overdue; null once submitted" },
            "overdue": { "type": "boolean" },
            "reference": opt_string,
            "digest": { "type": ["string", "null"], "description": "SHA-256 of the document as submitted" },
            "audit_index": { "type": ["integer", "null"] }
        }),
        &[],
    );
    let publication = closed(
        json!({
            "version": { "type": "integer", "minimum": 1 }, "occurred": date,
            "summary_ja": { "type": "string" }, "summary_en": opt_string,
            "published_at": instant, "listed_until": date,
            "published_by": { "type": "string" }, "audit_index": { "type": "integer" }
        }),
        &[],
    );
    let withdrawal = closed(
        json!({ "withdrawn_at": instant, "reason": { "type": "string" }, "withdrawn_by": { "type": "string" }, "audit_index": { "type": "integer" } }),
        &[],
    );
    let counts = json!({ "type": "object", "additionalProperties": { "type": "integer" }, "description": "per category, the subscribers read" });
    let incident = closed(
        json!({
            "id": { "type": "string", "examples": ["INC-20260401-7KQ3"] },
            "status": { "type": "string", "enum": ["open", "reported", "closed"] },
            "version": { "type": "integer", "minimum": 1 },
            "created_at": instant, "changed_at": instant, "changed_by": { "type": "string" },
            "fields": fields,
            "triage": { "type": "object", "required": ["outcome"], "properties": {
                "outcome": { "type": "string", "enum": ["reportable", "encrypted", "no_trigger"] },
                "triggers": { "type": "array", "items": { "type": "string" } }
            } },
            "obligations": { "type": "array", "items": { "$ref": "#/components/schemas/Obligation" } },
            "impact": { "oneOf": [{ "type": "null" }, closed(json!({
                "number": { "type": "integer" }, "subscribers": { "type": "integer" }, "categories": counts,
                "reads": { "type": "integer" }, "computed_at": instant, "audit_index": { "type": "integer" }
            }), &[])] },
            "notices": { "type": "integer", "minimum": 0 },
            "alternatives": { "type": "array", "items": closed(json!({
                "measure": { "type": "string" }, "reason": { "type": "string" }, "recorded_by": { "type": "string" },
                "recorded_at": instant, "audit_index": { "type": "integer" }
            }), &[]) },
            "publications": { "type": "array", "items": { "$ref": "#/components/schemas/Publication" } },
            "listed_until": { "type": ["string", "null"], "format": "date", "description": "the last day the public entry is listed; it cannot be withdrawn before" },
            "withdrawal": { "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/Withdrawal" }] }
        }),
        &[],
    );
    let version = closed(
        json!({
            "id": { "type": "integer" }, "version": { "type": "integer" }, "change": { "type": "string" },
            "changed_by": { "type": "string" }, "changed_at": instant, "audit_index": { "type": "integer" },
            "fields": fields
        }),
        &[],
    );
    let impact = closed(
        json!({
            "incident": { "type": "string" }, "number": { "type": "integer" },
            "scope": closed(json!({
                "principal": { "type": "string" }, "token": { "type": "string" },
                "categories": { "type": "array", "items": { "type": "string" } }, "since": instant, "until": instant
            }), &["principal", "token", "categories"]),
            "tree_size": { "type": "integer", "description": "entries below this index were looked at" },
            "subscribers": { "type": "array", "items": { "type": "string" } },
            "categories": counts,
            "items": { "type": "array", "items": closed(json!({
                "subscriber": { "type": "string" }, "category": { "type": "string" }, "count": { "type": "integer" },
                "indexes": { "type": "array", "items": { "type": "integer" }, "description": "the ledger entries that read it" }
            }), &[]) },
            "audit_index": { "type": "integer" },
            "incident_after": { "type": "object", "description": "the incident after the number of persons was taken from the impact" }
        }),
        &["incident_after"],
    );
    let proof = json!({
        "type": "object", "required": ["type", "origin", "index", "tree_size", "leaf_hash", "hashes", "root"],
        "description": "an RFC 9162 inclusion proof with the signed checkpoint note, as `tokutei audit check-proof` reads it",
        "properties": {
            "type": { "const": "inclusion" }, "origin": { "type": "string" }, "index": { "type": "integer" },
            "tree_size": { "type": "integer" }, "leaf_hash": { "type": "string" }, "entry": { "type": "string" },
            "hashes": { "type": "array", "items": { "type": "string" } }, "root": { "type": "string" },
            "checkpoint": { "type": "string" }
        }
    });
    let report = closed(
        json!({
            "incident": { "type": "string" },
            "regime": { "type": "string", "enum": ["secrecy", "tokutei", "appi"] },
            "report": { "type": "string", "enum": ["first", "detailed", "preliminary", "final"] },
            "title": { "type": "string" }, "recipient": { "type": "string" }, "due": date,
            "unconfirmed": { "type": "boolean" },
            "items": { "type": "array", "items": closed(json!({
                "id": { "type": "string" }, "ja": { "type": "string" }, "en": { "type": "string" }, "value": opt_string
            }), &[]) },
            "missing": { "type": "array", "items": { "type": "string" }, "description": "items not filled (a final report cannot be submitted with any)" },
            "submission": { "oneOf": [{ "type": "null" }, submission] },
            "text": { "type": "string", "description": "the document in Japanese, as submitted when no document is given" }
        }),
        &[],
    );
    let letters = closed(
        json!({
            "letters": { "type": "array", "items": closed(json!({
                "subscriber": { "type": "string" },
                "contact": { "type": ["string", "null"], "description": "read through the gateway now (audited, never stored); null when denied or absent" },
                "text": { "type": "string" }
            }), &[]) },
            "audit": { "type": "array", "items": { "type": "integer" }, "description": "the gateway's entries for the contacts read" }
        }),
        &[],
    );
    let notices = closed(
        json!({
            "incident": { "type": "string" }, "count": { "type": "integer" },
            "method": { "type": "string", "enum": ["email", "post", "phone", "sms", "other"] }, "audit_index": { "type": "integer" }
        }),
        &[],
    );
    let alternative = closed(
        json!({
            "measure": { "type": "string" }, "reason": { "type": "string" }, "recorded_by": { "type": "string" },
            "recorded_at": instant, "audit_index": { "type": "integer" }
        }),
        &[],
    );
    let published = closed(
        json!({ "id": { "type": "string" }, "publication": { "$ref": "#/components/schemas/Publication" } }),
        &[],
    );
    let withdrawn = closed(
        json!({ "id": { "type": "string" }, "withdrawn": { "const": true }, "withdrawal": { "$ref": "#/components/schemas/Withdrawal" } }),
        &[],
    );
    let alert = closed(
        json!({
            "id": { "type": "string", "examples": ["al-0123456789ab"] }, "kind": { "type": "string" }, "subject": { "type": "string" },
            "channel": { "type": "string", "enum": ["webhook", "email"] }, "recipient": { "type": "string" },
            "state": { "type": "string", "enum": ["pending", "delivered", "failed"] },
            "attempts": { "type": "integer" }, "created_at": instant,
            "next_attempt_at": { "type": ["string", "null"], "format": "date-time" },
            "title": { "oneOf": [{ "type": "null" }, closed(json!({ "ja": { "type": "string" }, "en": { "type": "string" } }), &[])] },
            "due": opt_string,
            "deliveries": { "type": "array", "items": closed(json!({
                "at": instant, "duration_ms": { "type": "integer" }, "status": { "type": ["integer", "null"] },
                "error": opt_string, "result": { "type": "string" },
                "next_attempt_at": { "type": ["string", "null"], "format": "date-time" }, "audit_index": { "type": "integer" }
            }), &[]) }
        }),
        &[],
    );
    let requeued = closed(json!({ "id": { "type": "string" }, "state": { "const": "pending" } }), &[]);

    let mut schemas = serde_json::Map::new();
    for (name, schema) in [
        ("NewIncident", open_incident),
        ("IncidentChange", update_incident),
        ("Triage", triage),
        ("ImpactRequest", impact_request),
        ("ReportSubmission", submit_request),
        ("NoticesSent", notices_request),
        ("AlternativeMeasure", alternative_request),
        ("EntryText", entry_text),
        ("WithdrawalRequest", withdraw_request),
        ("Incident", incident),
        ("IncidentVersion", version),
        ("Obligation", obligation),
        ("Publication", publication),
        ("Withdrawal", withdrawal),
        ("Impact", impact),
        ("InclusionProof", proof),
        ("ReportDocument", report),
        ("NoticeLetters", letters),
        ("NoticesRecorded", notices),
        ("AlternativeRecorded", alternative),
        ("Published", published),
        ("Withdrawn", withdrawn),
        ("Alert", alert),
        ("AlertRequeued", requeued),
    ] {
        schemas.insert(name.to_string(), schema);
    }

    let id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "maxLength": 64 }, "example": "INC-20260401-7KQ3" });
    let alert_id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^al-[0-9a-f]{12}$" } });
    let regime = json!({ "name": "regime", "in": "path", "required": true, "schema": { "type": "string", "enum": ["secrecy", "tokutei", "appi"] } });
    let report_kind = json!({ "name": "report", "in": "path", "required": true, "schema": { "type": "string", "enum": ["first", "detailed", "preliminary", "final"] } });
    let limit = json!({ "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } });
    let body = request_body;
    let array = array_response;
    let errors = |ok: (&str, Value), extra: &[(&str, &str)]| responses(ok, "no such incident (or alert)", extra);
    let change = "changes: the chief manager and responsible persons; audited before anything is stored";
    let conflict = ("409", "conflicts with the register (closed, already done, not allowed now); nothing was written");

    let mut paths = serde_json::Map::new();
    paths.insert("/api/v1/incidents".into(), json!({
        "get": { "summary": "The incident register, newest first (managers and auditors)", "parameters": [limit],
            "responses": errors(("200", array("incidents with their reports owed (days left) and public entry", "Incident")), &[]) },
        "post": { "summary": "Open an incident as far as known; the reports owed are computed", "description": change,
            "requestBody": body("NewIncident", true),
            "responses": errors(("201", json_response("the incident, with its obligations", "Incident")), &[conflict]) }
    }));
    paths.insert("/api/v1/incidents/{id}".into(), json!({
        "get": { "summary": "One incident: fields, reports with days left, impact, notices, public entry", "parameters": [id],
            "responses": errors(("200", json_response("the incident", "Incident")), &[]) },
        "patch": { "summary": "Change fields of an incident (a new version; an empty text clears a field)", "description": change,
            "parameters": [id], "requestBody": body("IncidentChange", true),
            "responses": errors(("200", json_response("the incident as changed", "Incident")), &[conflict]) }
    }));
    paths.insert("/api/v1/incidents/{id}/history".into(), json!({
        "get": { "summary": "Every version of an incident: what was known when, and who changed it", "parameters": [id],
            "responses": errors(("200", array("the versions, oldest first", "IncidentVersion")), &[]) }
    }));
    paths.insert("/api/v1/incidents/{id}/triage".into(), json!({
        "post": { "summary": "Triage: the APPI flags as now known; the reports owed are computed again (submitted ones kept)",
            "description": change, "parameters": [id], "requestBody": body("Triage", true),
            "responses": errors(("200", json_response("the incident as triaged", "Incident")), &[conflict]) }
    }));
    paths.insert("/api/v1/incidents/{id}/impacts".into(), json!({
        "get": { "summary": "The impacts computed for an incident, oldest first", "parameters": [id],
            "responses": errors(("200", array("the impacts", "Impact")), &[]) },
        "post": { "summary": "Compute from the audit ledger which subscribers and categories were read in a window",
            "description": "by a principal, through an API token or of categories; each count backed by ledger indexes",
            "parameters": [id], "requestBody": body("ImpactRequest", true),
            "responses": errors(("201", json_response("the impact", "Impact")), &[conflict]) }
    }));
    paths.insert("/api/v1/incidents/{id}/proofs/{index}".into(), json!({
        "get": { "summary": "The inclusion proof of a ledger entry behind an incident's impact, against the latest signed checkpoint",
            "parameters": [id, { "name": "index", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 } }],
            "responses": errors(("200", json_response("the proof", "InclusionProof")), &[("409", "the entry is not yet under a signed checkpoint")]) }
    }));
    paths.insert(
        "/api/v1/incidents/{id}/reports/{regime}/{report}".into(),
        json!({
            "get": { "summary": "A report as it would be filed today (its items, those still empty, the text)",
                "parameters": [id, regime, report_kind],
                "responses": errors(("200", json_response("the report", "ReportDocument")), &[]) }
        }),
    );
    paths.insert("/api/v1/incidents/{id}/reports/{regime}/{report}/submit".into(), json!({
        "post": { "summary": "Record that a report was submitted (a final report only with every item filled)",
            "description": change, "parameters": [id, regime, report_kind], "requestBody": body("ReportSubmission", false),
            "responses": errors(("200", json_response("the obligation, submitted", "Obligation")), &[conflict]) }
    }));
    paths.insert("/api/v1/incidents/{id}/notices/letters".into(), json!({
        "get": { "summary": "Letters to the affected persons, the contacts read through the gateway (audited, never stored)",
            "description": "the caller (a manager) reads the contact category for the purpose, as any read through the gateway",
            "parameters": [id,
                { "name": "purpose", "in": "query", "required": true, "schema": { "type": "string", "maxLength": 64 }, "example": "service_provision" },
                { "name": "contact", "in": "query", "required": true, "schema": { "type": "string", "maxLength": 64 }, "example": "contract.email" },
                { "name": "channel", "in": "query", "required": false, "schema": { "type": "string", "enum": ["phone", "mail", "email", "post", "web", "app", "sms", "in_person", "advertising"] } },
                { "name": "zone", "in": "query", "required": false, "schema": { "type": "string", "maxLength": 64 } },
                { "name": "subscribers", "in": "query", "required": false, "schema": { "type": "string", "maxLength": 2000 }, "description": "only these affected subscribers, comma-separated" }],
            "responses": errors(("200", json_response("one letter per person", "NoticeLetters")), &[conflict]) }
    }));
    paths.insert(
        "/api/v1/incidents/{id}/notices".into(),
        json!({
            "post": { "summary": "Record that notices were sent to affected persons", "description": change,
                "parameters": [id], "requestBody": body("NoticesSent", true),
                "responses": errors(("200", json_response("the notices recorded", "NoticesRecorded")), &[conflict]) }
        }),
    );
    paths.insert("/api/v1/incidents/{id}/alternative-measures".into(), json!({
        "post": { "summary": "Record the alternative measure taken where notice is impossible", "description": change,
            "parameters": [id], "requestBody": body("AlternativeMeasure", true),
            "responses": errors(("200", json_response("the measure recorded", "AlternativeRecorded")), &[conflict]) }
    }));
    paths.insert(
        "/api/v1/incidents/{id}/publication".into(),
        json!({
            "post": { "summary": "Publish an incident on /leaks and the policy page for its 10-year window",
                "description": "the text is the incident's summary unless given (事故内容, without personal data)",
                "parameters": [id], "requestBody": body("EntryText", false),
                "responses": errors(("201", json_response("the public entry", "Published")), &[conflict]) }
        }),
    );
    paths.insert(
        "/api/v1/incidents/{id}/publication/corrections".into(),
        json!({
            "post": { "summary": "Correct the public entry: a new version; the old text stays in its public history",
                "description": change, "parameters": [id], "requestBody": body("EntryText", true),
                "responses": errors(("200", json_response("the new version of the entry", "Published")), &[conflict]) }
        }),
    );
    paths.insert("/api/v1/incidents/{id}/withdrawal".into(), json!({
        "post": { "summary": "Withdraw the public entry (only after its 10-year window)",
            "description": "inside the window: 409, the detail naming the last day the entry is listed",
            "parameters": [id], "requestBody": body("WithdrawalRequest", false),
            "responses": errors(("200", json_response("withdrawn", "Withdrawn")), &[("409", "inside the window (the detail names the date it ends), or withdrawn already")]) }
    }));
    paths.insert("/api/v1/alerts".into(), json!({
        "get": { "summary": "The alert outbox, newest first, each alert with its delivery log (managers and auditors)",
            "parameters": [{ "name": "state", "in": "query", "required": false, "schema": { "type": "string", "enum": ["pending", "delivered", "failed"] } }, limit],
            "responses": errors(("200", array("alerts", "Alert")), &[]) }
    }));
    paths.insert(
        "/api/v1/alerts/{id}".into(),
        json!({
            "get": { "summary": "One alert with its delivery log", "parameters": [alert_id],
                "responses": errors(("200", json_response("the alert", "Alert")), &[]) }
        }),
    );
    paths.insert("/api/v1/alerts/{id}/retry".into(), json!({
        "post": { "summary": "Put a failed alert back in the queue (its attempts start again)", "description": change,
            "parameters": [alert_id],
            "responses": errors(("200", json_response("pending again", "AlertRequeued")), &[("409", "the alert has not failed")]) }
    }));
    (schemas, paths)
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

    #[test]
    fn every_api_route_of_the_router_is_an_operation_of_the_document() {
        let doc = super::document();
        let missing: Vec<String> = crate::route_table()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/"))
            .filter(|r| doc["paths"][r.path].get(r.method.to_ascii_lowercase()).is_none())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(missing.is_empty(), "routes the document does not describe: {missing:?}");
    }
}
