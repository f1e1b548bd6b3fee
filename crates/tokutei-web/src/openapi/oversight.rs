//! Schemas and paths of oversight (`api/oversight.rs`), merged into [`super::document`].

use serde_json::{Map, Value, json};

use super::{array_response, closed, json_response, request_body, responses};

pub(super) fn document() -> (Map<String, Value>, Map<String, Value>) {
    let date = json!({ "type": "string", "format": "date", "maxLength": 10, "description": "a civil date in Asia/Tokyo", "examples": ["2027-01-20"] });
    let instant = json!({ "type": "string", "format": "date-time" });
    let id = json!({ "type": "string", "minLength": 1, "maxLength": 64 });
    let reference = json!({ "type": "string", "minLength": 1, "maxLength": 200 });
    let free = json!({ "type": "string", "minLength": 1, "maxLength": 4000 });
    let opt_string = json!({ "type": ["string", "null"] });
    let opt_int = json!({ "type": ["integer", "null"], "description": "calendar days left (negative once overdue); null once met" });
    let text = json!({ "oneOf": [{ "type": "null" }, { "type": "object", "required": ["ja"], "properties": { "ja": { "type": "string" }, "en": { "type": "string" } } }] });

    let designation_request = closed(
        json!({ "notified_on": date, "services": { "type": "array", "items": id, "minItems": 1, "maxItems": 64 } }),
        &[],
    );
    let filing_request = closed(json!({ "filed_on": date, "reference": reference }), &[]);
    let appoint_request = closed(json!({ "principal": id, "from": date, "evidence": free }), &["evidence"]);
    let notified_request =
        closed(json!({ "appointment": id, "filed_on": date, "reference": reference }), &["appointment"]);
    let opinion_request = closed(json!({ "given_on": date, "subject": reference, "text": free }), &[]);
    let response_request = closed(json!({ "responded_on": date, "text": free }), &[]);
    let report_request = closed(
        json!({ "principal": id, "measure": { "type": "integer", "minimum": 1, "maximum": 7, "default": 3 }, "text": free }),
        &["measure"],
    );
    let resolve_request = closed(
        json!({ "outcome": { "type": "string", "enum": ["none", "violation"] }, "text": free, "incident": id }),
        &["incident"],
    );

    let deadline = closed(
        json!({
            "duty": { "type": "string", "enum": ["rules", "policy", "manager"] },
            "due": { "type": "string", "format": "date" },
            "met_on": { "type": ["string", "null"], "format": "date" },
            "met_by": opt_string,
            "days_left": { "type": "integer", "description": "calendar days from today to the due date (negative: overdue)" }
        }),
        &[],
    );
    let designation = closed(
        json!({
            "number": { "type": "integer", "minimum": 1 },
            "notified_on": { "type": "string", "format": "date" },
            "services": { "type": "array", "items": closed(json!({ "id": { "type": "string" }, "name": text }), &[]) },
            "recorded_by": { "type": "string" },
            "recorded_at": instant,
            "deadlines": { "type": "array", "items": deadline }
        }),
        &[],
    );
    let designation_or_none = json!({ "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/Designation" }] });
    let recorded = closed(
        json!({ "number": { "type": "integer" }, "audit_index": { "type": "integer" }, "status": { "$ref": "#/components/schemas/Designation" } }),
        &[],
    );
    let filed = closed(
        json!({ "number": { "type": "integer" }, "version": { "type": "integer", "minimum": 1 }, "audit_index": { "type": "integer" } }),
        &[],
    );
    let rules_request = closed(
        json!({ "source": { "type": "string", "minLength": 1, "maxLength": 262_144, "description": "the rules file (TOML, docs/rules-file.md)" } }),
        &[],
    );
    let bilingual = closed(json!({ "ja": { "type": "string" }, "en": { "type": ["string", "null"] } }), &[]);
    let rules_filing = closed(
        json!({
            "number": { "type": "integer" }, "filed_on": { "type": "string", "format": "date" }, "reference": { "type": "string" },
            "recorded_by": { "type": "string" }, "recorded_at": instant, "audit_index": { "type": "integer" },
        }),
        &[],
    );
    let rules_section = closed(
        json!({
            "measure": { "type": "string", "enum": ["basic_policy", "rules", "organizational", "human", "physical", "technical", "external_environment", "other"] },
            "title": bilingual, "text": bilingual,
            "owner": { "type": ["string", "null"], "enum": ["chief_manager", "responsible_person", "handler", "auditor", null] },
        }),
        &[],
    );
    let rules_version = closed(
        json!({
            "version": { "type": "integer", "minimum": 1 }, "digest": { "type": "string", "pattern": "^sha256:[0-9a-f]{64}$" },
            "title": bilingual, "enacted": { "type": "string", "format": "date" }, "effective": { "type": "string", "format": "date" },
            "in_force": { "type": "boolean" }, "filed": { "type": "boolean", "description": "false: this version was never filed" },
            "filings": { "type": "array", "items": rules_filing }, "sections": { "type": "array", "items": rules_section },
            "registered_by": { "type": "string" }, "registered_at": instant, "audit_index": { "type": "integer" },
        }),
        &[],
    );
    let rules_registered = closed(
        json!({
            "version": { "type": "integer", "minimum": 1 }, "digest": { "type": "string" }, "audit_index": { "type": "integer" },
            "warnings": { "type": "array", "items": { "type": "string" } },
        }),
        &[],
    );
    let appointment = closed(
        json!({
            "id": { "type": "string", "examples": ["CM-1"] }, "principal": { "type": "string" }, "name": opt_string,
            "from": { "type": "string", "format": "date" }, "to": { "type": ["string", "null"], "format": "date" },
            "active": { "type": "boolean" }, "evidence": opt_string,
            "appointed_by": { "type": "string" }, "appointed_at": instant,
            "notification_due": { "type": "string", "format": "date" }, "notification_days_left": opt_int,
            "notifications": { "type": "array", "items": closed(json!({
                "number": { "type": "integer" }, "filed_on": { "type": "string", "format": "date" }, "reference": { "type": "string" }
            }), &[]) }
        }),
        &[],
    );
    let appointed = closed(
        json!({
            "id": { "type": "string" }, "ended": opt_string,
            "notification_due": { "type": "string", "format": "date" }, "audit_index": { "type": "integer" }
        }),
        &[],
    );
    let audited = closed(json!({ "audit_index": { "type": "integer" } }), &[]);
    let opinion = closed(
        json!({
            "id": { "type": "string", "examples": ["OP-1"] }, "appointment": { "type": "string" },
            "given_on": { "type": "string", "format": "date" }, "subject": { "type": "string" }, "text": { "type": "string" },
            "recorded_by": { "type": "string" }, "response_due": { "type": "string", "format": "date" },
            "response_days_left": opt_int,
            "responses": { "type": "array", "items": closed(json!({
                "responded_on": { "type": "string", "format": "date" }, "text": { "type": "string" }, "recorded_by": { "type": "string" }
            }), &[]) }
        }),
        &[],
    );
    let opinion_recorded = closed(json!({ "id": { "type": "string" } }), &[]);
    let violation = closed(
        json!({
            "id": { "type": "string", "examples": ["VR-1"] },
            "detector": { "type": ["string", "null"], "enum": ["denial_burst", "read_volume", "off_hours", "export", "lockout", "rare_purpose", null] },
            "principal": { "type": "string" },
            "measure": { "type": "integer", "minimum": 1, "maximum": 7 },
            "text": { "type": "string" },
            "reported_by": { "type": "string" },
            "received_at": instant, "ack_due": instant, "ack_overdue": { "type": "boolean" },
            "state": { "type": "string", "enum": ["received", "acknowledged", "resolved_none", "resolved_violation"] },
            "audit_index": { "type": "integer" },
            "events": { "type": "array", "items": closed(json!({
                "kind": { "type": "string", "enum": ["acknowledged", "resolved_none", "resolved_violation"] },
                "text": opt_string, "incident": opt_string, "by": { "type": "string" }, "at": instant
            }), &[]) }
        }),
        &[],
    );
    let acknowledged = closed(
        json!({ "id": { "type": "string" }, "state": { "const": "acknowledged" }, "audit_index": { "type": "integer" } }),
        &[],
    );
    let resolved = closed(
        json!({ "id": { "type": "string" }, "outcome": { "type": "string", "enum": ["none", "violation"] }, "audit_index": { "type": "integer" } }),
        &[],
    );

    let mut schemas = Map::new();
    for (name, schema) in [
        ("DesignationRequest", designation_request),
        ("FilingRequest", filing_request),
        ("AppointmentRequest", appoint_request),
        ("NotificationRequest", notified_request),
        ("OpinionRequest", opinion_request),
        ("OpinionResponseRequest", response_request),
        ("ViolationReportRequest", report_request),
        ("ViolationResolution", resolve_request),
        ("Designation", designation),
        ("DesignationRecorded", recorded),
        ("FilingRecorded", filed),
        ("RulesRequest", rules_request),
        ("RulesVersion", rules_version),
        ("RulesRegistered", rules_registered),
        ("Appointment", appointment),
        ("Appointed", appointed),
        ("Audited", audited),
        ("Opinion", opinion),
        ("OpinionRecorded", opinion_recorded),
        ("ViolationReport", violation),
        ("ViolationAcknowledged", acknowledged),
        ("ViolationResolved", resolved),
    ] {
        schemas.insert(name.to_string(), schema);
    }

    let change = "changes: the chief manager and responsible persons; audited before anything is stored";
    let conflict = ("409", "conflicts with the register (done already, not allowed now); nothing was written");
    let errors = |ok: (&str, Value), extra: &[(&str, &str)]| responses(ok, "no such record", extra);
    let vr = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "maxLength": 64 }, "example": "VR-1" });
    let op = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "maxLength": 64 }, "example": "OP-1" });

    let mut paths = Map::new();
    paths.insert("/api/v1/oversight/designation".into(), json!({
        "get": { "summary": "The designation in force and its three statutory deadlines (null when none is recorded)",
            "responses": errors(("200", { let mut r = json_response("the designation", "Designation"); r["content"]["application/json"]["schema"] = designation_or_none; r }), &[]) },
        "post": { "summary": "Record the designation (告示 date, designated services); a correction is a new record", "description": change,
            "requestBody": request_body("DesignationRequest", true),
            "responses": errors(("201", json_response("recorded, with its deadlines", "DesignationRecorded")), &[]) }
    }));
    let version = json!({ "name": "version", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 }, "example": 1 });
    paths.insert("/api/v1/oversight/rules".into(), json!({
        "get": { "summary": "Every version of the information handling rules (情報取扱規程) with its filings; `filed: false` flags one never filed",
            "responses": errors(("200", array_response("versions, the first first", "RulesVersion")), &[]) },
        "post": { "summary": "Register a version from a rules file that passes the check (a section per measure, each with an owner and a text)",
            "description": format!("{change}; a file that fails the check is a 400 naming its lines; the same file as the latest version is a 409"),
            "requestBody": request_body("RulesRequest", true),
            "responses": errors(("201", json_response("registered", "RulesRegistered")), &[conflict]) }
    }));
    paths.insert(
        "/api/v1/oversight/rules/{version}".into(),
        json!({
            "get": { "summary": "One version of the rules: its sections and filings", "parameters": [version],
                "responses": errors(("200", json_response("the version", "RulesVersion")), &[]) }
        }),
    );
    paths.insert("/api/v1/oversight/rules/{version}/filings".into(), json!({
        "post": { "summary": "Record the filing of a version with the ministry (27条の6); the first filing meets the designation's deadline",
            "description": change, "parameters": [version],
            "requestBody": request_body("FilingRequest", true),
            "responses": errors(("201", json_response("recorded", "FilingRecorded")), &[]) }
    }));
    paths.insert("/api/v1/oversight/chief-managers".into(), json!({
        "get": { "summary": "The chief manager register: every appointment with its notification or its deadline",
            "responses": errors(("200", array_response("appointments, oldest first", "Appointment")), &[]) },
        "post": { "summary": "Appoint a chief manager; the one in office ends the day before; opens the notification task", "description": change,
            "requestBody": request_body("AppointmentRequest", true),
            "responses": errors(("201", json_response("appointed", "Appointed")), &[conflict]) }
    }));
    paths.insert("/api/v1/oversight/chief-managers/notifications".into(), json!({
        "post": { "summary": "Record the notification of an appointment (the one in office when none is named)", "description": change,
            "requestBody": request_body("NotificationRequest", true),
            "responses": errors(("201", json_response("recorded", "Audited")), &[conflict]) }
    }));
    paths.insert("/api/v1/oversight/opinions".into(), json!({
        "get": { "summary": "The chief manager's opinions (27条の11) with the company's responses and their deadlines",
            "responses": errors(("200", array_response("opinions, oldest first", "Opinion")), &[]) },
        "post": { "summary": "Record an opinion of the chief manager", "description": change,
            "requestBody": request_body("OpinionRequest", true),
            "responses": errors(("201", json_response("recorded", "OpinionRecorded")), &[]) }
    }));
    paths.insert("/api/v1/oversight/opinions/{id}/responses".into(), json!({
        "post": { "summary": "Record the company's response to an opinion", "description": change, "parameters": [op],
            "requestBody": request_body("OpinionResponseRequest", true),
            "responses": errors(("201", json_response("recorded", "Audited")), &[]) }
    }));
    paths.insert("/api/v1/oversight/violations".into(), json!({
        "get": { "summary": "Every violation report with its state and acknowledgement clock (managers and auditors)",
            "responses": errors(("200", array_response("reports, in the order received", "ViolationReport")), &[]) },
        "post": { "summary": "Report a violation or a sign of one (any member of staff); the measure's owners are alerted",
            "description": "the text stays in the store; the ledger holds its digest",
            "requestBody": request_body("ViolationReportRequest", true),
            "responses": errors(("201", json_response("the report", "ViolationReport")), &[]) }
    }));
    paths.insert(
        "/api/v1/oversight/violations/{id}".into(),
        json!({
            "get": { "summary": "One report with its history", "parameters": [vr.clone()],
                "responses": errors(("200", json_response("the report", "ViolationReport")), &[]) }
        }),
    );
    paths.insert(
        "/api/v1/oversight/violations/{id}/acknowledgement".into(),
        json!({
            "post": { "summary": "Acknowledge a report", "description": change, "parameters": [vr.clone()],
                "responses": errors(("201", json_response("acknowledged", "ViolationAcknowledged")), &[conflict]) }
        }),
    );
    paths.insert("/api/v1/oversight/violations/{id}/resolution".into(), json!({
        "post": { "summary": "Resolve a report: no violation, or a violation (optionally linked to an incident)", "description": change,
            "parameters": [vr], "requestBody": request_body("ViolationResolution", true),
            "responses": errors(("201", json_response("resolved", "ViolationResolved")), &[conflict]) }
    }));
    (schemas, paths)
}

#[cfg(test)]
mod tests {
    use crate::api::oversight as api;

    /// Each request schema has exactly the fields its handler reads.
    #[test]
    fn the_request_schemas_list_the_handlers_fields() {
        let (schemas, _) = super::document();
        for (name, fields) in [
            ("DesignationRequest", api::DESIGNATION_FIELDS),
            ("FilingRequest", api::FILING_FIELDS),
            ("AppointmentRequest", api::APPOINT_FIELDS),
            ("NotificationRequest", api::NOTIFIED_FIELDS),
            ("OpinionRequest", api::OPINION_FIELDS),
            ("OpinionResponseRequest", api::RESPONSE_FIELDS),
            ("ViolationReportRequest", api::REPORT_FIELDS),
            ("ViolationResolution", api::RESOLVE_FIELDS),
        ] {
            let mut described: Vec<&str> =
                schemas[name]["properties"].as_object().unwrap().keys().map(String::as_str).collect();
            described.sort_unstable();
            let mut read = fields.to_vec();
            read.sort_unstable();
            assert_eq!(described, read, "{name}");
        }
    }
}
