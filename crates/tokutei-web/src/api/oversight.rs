//! Oversight as JSON under `/api/v1/oversight/`: the designation and its deadlines, the chief
//! manager register and its notifications, the opinions log, the versions of the 情報取扱規程
//! and their filings, and the violation reporting line. Each change is one function of `tokutei_app::oversight`, called for the token's
//! person — the function the CLI calls, so both leave the same ledger entry — and answered
//! with the JSON the CLI's `--json` prints.
//!
//! Reads are open to the roles that oversee (auditors read), changes to managers, and a
//! violation report to any member of staff; the application checks the roles again. Dates are
//! Asia/Tokyo civil dates (`YYYY-MM-DD`); an invalid field is a 400 that names it, before
//! anything is written.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use tokutei_app::oversight::designation::DesignationInput;
use tokutei_app::oversight::manager::{AppointInput, NotificationInput, OpinionInput, OpinionView, ResponseInput};
use tokutei_app::oversight::rules::{RulesFilingInput, RulesVersionView};
use tokutei_app::oversight::violations::{Outcome, ReportInput, ResolveInput, ViolationView};
use tokutei_app::{Acting, ActionError, AppointmentId, IncidentId, OpinionId, PrincipalId, ServiceId};
use tokutei_policy::Date;

use super::{ApiError, Caller, body, invalid, person, run};
use crate::AppState;
use crate::routes::{ALL_ROLES, Access, MANAGERS, OVERSIGHT, Routes};

const READ: Access = Access::Token(Some(OVERSIGHT));
const CHANGE: Access = Access::Token(Some(MANAGERS));
const REPORT: Access = Access::Token(Some(ALL_ROLES));

pub(super) fn routes(r: Routes) -> Routes {
    const VR: &str = "/api/v1/oversight/violations/VR-1";
    r.add("GET", "/api/v1/oversight/designation", "/api/v1/oversight/designation", READ, get(designation))
        .add("POST", "/api/v1/oversight/designation", "/api/v1/oversight/designation", CHANGE, post(designate))
        .add("GET", "/api/v1/oversight/rules", "/api/v1/oversight/rules", READ, get(rules_list))
        .add("POST", "/api/v1/oversight/rules", "/api/v1/oversight/rules", CHANGE, post(rules_register))
        .add("GET", "/api/v1/oversight/rules/{version}", "/api/v1/oversight/rules/1", READ, get(rules_show))
        .add(
            "POST",
            "/api/v1/oversight/rules/{version}/filings",
            "/api/v1/oversight/rules/1/filings",
            CHANGE,
            post(rules_filing),
        )
        .add("GET", "/api/v1/oversight/chief-managers", "/api/v1/oversight/chief-managers", READ, get(managers))
        .add("POST", "/api/v1/oversight/chief-managers", "/api/v1/oversight/chief-managers", CHANGE, post(appoint))
        .add(
            "POST",
            "/api/v1/oversight/chief-managers/notifications",
            "/api/v1/oversight/chief-managers/notifications",
            CHANGE,
            post(notified),
        )
        .add("GET", "/api/v1/oversight/opinions", "/api/v1/oversight/opinions", READ, get(opinions))
        .add("POST", "/api/v1/oversight/opinions", "/api/v1/oversight/opinions", CHANGE, post(opinion))
        .add(
            "POST",
            "/api/v1/oversight/opinions/{id}/responses",
            "/api/v1/oversight/opinions/OP-1/responses",
            CHANGE,
            post(respond),
        )
        .add("GET", "/api/v1/oversight/violations", "/api/v1/oversight/violations", READ, get(violations))
        .add("POST", "/api/v1/oversight/violations", "/api/v1/oversight/violations", REPORT, post(report))
        .add("GET", "/api/v1/oversight/violations/{id}", VR, READ, get(violation))
        .add(
            "POST",
            "/api/v1/oversight/violations/{id}/acknowledgement",
            "/api/v1/oversight/violations/VR-1/acknowledgement",
            CHANGE,
            post(acknowledge),
        )
        .add(
            "POST",
            "/api/v1/oversight/violations/{id}/resolution",
            "/api/v1/oversight/violations/VR-1/resolution",
            CHANGE,
            post(resolve),
        )
}

/// The fields of each request body, for the errors that name them (and the OpenAPI document).
pub(crate) const DESIGNATION_FIELDS: &[&str] = &["notified_on", "services"];
pub(crate) const FILING_FIELDS: &[&str] = &["filed_on", "reference"];
pub(crate) const APPOINT_FIELDS: &[&str] = &["principal", "from", "evidence"];
pub(crate) const NOTIFIED_FIELDS: &[&str] = &["appointment", "filed_on", "reference"];
pub(crate) const OPINION_FIELDS: &[&str] = &["given_on", "subject", "text"];
pub(crate) const RESPONSE_FIELDS: &[&str] = &["responded_on", "text"];
pub(crate) const REPORT_FIELDS: &[&str] = &["principal", "measure", "text"];
pub(crate) const RESOLVE_FIELDS: &[&str] = &["outcome", "text", "incident"];

fn reader(caller: &Caller) -> Result<Acting, ApiError> {
    person(caller, OVERSIGHT, "oversight is open to managers and auditors")
}

fn manager(caller: &Caller) -> Result<Acting, ApiError> {
    person(caller, MANAGERS, "only the chief manager and responsible persons change the oversight registers")
}

fn date(field: &'static str, text: &str) -> Result<Date, ApiError> {
    text.trim().parse::<Date>().map_err(|_| invalid(field, format!("`{text}` is not a date: use YYYY-MM-DD")))
}

/// The application names fields as the CLI's flags (`notified`, `service`, `date`); these
/// bodies name them as `map` says, so a 400 names the field the caller sent.
fn api_fields(map: &'static [(&'static str, &'static str)]) -> impl Fn(ActionError) -> ActionError {
    move |e| match e {
        ActionError::Invalid { field, message } => {
            let field = map.iter().find(|(app, _)| *app == field).map_or(field, |(_, api)| *api);
            ActionError::Invalid { field, message }
        }
        other => other,
    }
}

fn created(value: serde_json::Value) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn designation(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    reader(&caller)?;
    let status = run(&state, move |app| app.designation_status(Timestamp::now())).await?;
    Ok(Json(status).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DesignationBody {
    notified_on: String,
    services: Vec<String>,
}

async fn designate(
    State(state): State<AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: DesignationBody = body(&bytes, DESIGNATION_FIELDS, false)?;
    let services =
        b.services.iter().map(|s| ServiceId::parse_as("services", s.clone())).collect::<Result<Vec<_>, _>>()?;
    let input = DesignationInput { notified_on: date("notified_on", &b.notified_on)?, services };
    let done = run(&state, move |app| {
        app.record_designation(&by, &input, Timestamp::now())
            .map_err(api_fields(&[("notified", "notified_on"), ("service", "services")]))
    })
    .await?;
    Ok(created(serde_json::json!({ "number": done.number, "audit_index": done.audit_index, "status": done.status })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilingBody {
    filed_on: String,
    reference: String,
}

/// The body of `POST /api/v1/oversight/rules`: the rules file's text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    source: String,
}

fn rules_version(text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>().map_err(|_| ApiError::from(ActionError::NotFound(format!("rules version `{text}`"))))
}

/// Every version of the 情報取扱規程 with its filings (`filed: false` for one never filed).
async fn rules_list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    reader(&caller)?;
    let all = run(&state, move |app| app.rules_versions(Timestamp::now())).await?;
    Ok(Json(all.iter().map(RulesVersionView::to_json).collect::<Vec<_>>()).into_response())
}

async fn rules_show(
    State(state): State<AppState>,
    caller: Caller,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    reader(&caller)?;
    let version = rules_version(&version)?;
    let v = run(&state, move |app| app.rules_version(version, Timestamp::now())).await?;
    Ok(Json(v.to_json()).into_response())
}

/// Register a version of the 規程 from a rules file that passes the check.
async fn rules_register(
    State(state): State<AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: RulesBody = body(&bytes, &["source"], false)?;
    let done = run(&state, move |app| app.register_rules(&by, &b.source, Timestamp::now())).await?;
    Ok(created(serde_json::json!({
        "version": done.version, "digest": done.digest.0, "audit_index": done.audit_index, "warnings": done.warnings,
    })))
}

/// The filing of a version of the 規程 (27条の6); the first meets the designation's deadline.
async fn rules_filing(
    State(state): State<AppState>,
    caller: Caller,
    Path(version): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let version = rules_version(&version)?;
    let b: FilingBody = body(&bytes, FILING_FIELDS, false)?;
    let input = RulesFilingInput { version, filed_on: date("filed_on", &b.filed_on)?, reference: b.reference };
    let done = run(&state, move |app| {
        app.record_rules_filing(&by, &input, Timestamp::now()).map_err(api_fields(&[("date", "filed_on")]))
    })
    .await?;
    Ok(created(serde_json::json!({ "number": done.number, "version": version, "audit_index": done.audit_index })))
}

async fn managers(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    reader(&caller)?;
    let all = run(&state, move |app| {
        let now = Timestamp::now();
        let views = app.chief_managers(now)?;
        let mut out = Vec::with_capacity(views.len());
        for v in &views {
            let name = app.stores().principal(&v.appointment.appointment.principal)?.map(|p| p.display_name);
            out.push(v.to_json(name.as_deref()));
        }
        Ok(out)
    })
    .await?;
    Ok(Json(all).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppointBody {
    principal: String,
    from: String,
    evidence: Option<String>,
}

async fn appoint(
    State(state): State<AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: AppointBody = body(&bytes, APPOINT_FIELDS, false)?;
    let input = AppointInput {
        principal: PrincipalId::parse_as("principal", b.principal)?,
        from: date("from", &b.from)?,
        evidence: b.evidence,
    };
    let done = run(&state, move |app| app.appoint_chief_manager(&by, &input, Timestamp::now())).await?;
    Ok(created(serde_json::json!({
        "id": done.id.as_str(),
        "ended": done.ended.as_ref().map(|e| e.as_str()),
        "notification_due": done.notification_due.to_string(),
        "audit_index": done.audit_index,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifiedBody {
    appointment: Option<String>,
    filed_on: String,
    reference: String,
}

async fn notified(
    State(state): State<AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: NotifiedBody = body(&bytes, NOTIFIED_FIELDS, false)?;
    let input = NotificationInput {
        appointment: b.appointment.map(|a| AppointmentId::parse_as("appointment", a)).transpose()?,
        filed_on: date("filed_on", &b.filed_on)?,
        reference: b.reference,
    };
    let audit_index = run(&state, move |app| {
        app.record_manager_notification(&by, &input, Timestamp::now()).map_err(api_fields(&[("date", "filed_on")]))
    })
    .await?;
    Ok(created(serde_json::json!({ "audit_index": audit_index })))
}

async fn opinions(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    reader(&caller)?;
    let all = run(&state, move |app| app.opinions(Timestamp::now())).await?;
    Ok(Json(all.iter().map(OpinionView::to_json).collect::<Vec<_>>()).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpinionBody {
    given_on: String,
    subject: String,
    text: String,
}

async fn opinion(
    State(state): State<AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: OpinionBody = body(&bytes, OPINION_FIELDS, false)?;
    let input = OpinionInput { given_on: date("given_on", &b.given_on)?, subject: b.subject, text: b.text };
    let id = run(&state, move |app| {
        app.record_opinion(&by, &input, Timestamp::now()).map_err(api_fields(&[("date", "given_on")]))
    })
    .await?;
    Ok(created(serde_json::json!({ "id": id.as_str() })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseBody {
    responded_on: String,
    text: String,
}

async fn respond(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: ResponseBody = body(&bytes, RESPONSE_FIELDS, false)?;
    let input = ResponseInput {
        opinion: OpinionId::parse_as("id", id)?,
        responded_on: date("responded_on", &b.responded_on)?,
        text: b.text,
    };
    let audit_index = run(&state, move |app| {
        app.respond_to_opinion(&by, &input, Timestamp::now()).map_err(api_fields(&[("date", "responded_on")]))
    })
    .await?;
    Ok(created(serde_json::json!({ "audit_index": audit_index })))
}

async fn violations(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let by = reader(&caller)?;
    let all = run(&state, move |app| app.violations(&by, Timestamp::now())).await?;
    Ok(Json(all.iter().map(ViolationView::to_json).collect::<Vec<_>>()).into_response())
}

async fn violation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let by = reader(&caller)?;
    let v = run(&state, move |app| app.violation(&by, &id, Timestamp::now())).await?;
    Ok(Json(v.to_json()).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    principal: String,
    measure: Option<u8>,
    text: String,
}

/// A report, by any member of staff with a token.
async fn report(State(state): State<AppState>, caller: Caller, bytes: axum::body::Bytes) -> Result<Response, ApiError> {
    let by = person(&caller, ALL_ROLES, "a violation report is filed by a member of staff")?;
    let b: ReportBody = body(&bytes, REPORT_FIELDS, false)?;
    let input =
        ReportInput { principal: PrincipalId::parse_as("principal", b.principal)?, measure: b.measure, text: b.text };
    let v = run(&state, move |app| app.report_violation(&by, &input, Timestamp::now())).await?;
    Ok(created(v.to_json()))
}

async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let target = id.clone();
    let audit_index = run(&state, move |app| app.acknowledge_violation(&by, &target, Timestamp::now())).await?;
    Ok(created(serde_json::json!({ "id": id, "state": "acknowledged", "audit_index": audit_index })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    outcome: String,
    text: String,
    incident: Option<String>,
}

async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: ResolveBody = body(&bytes, RESOLVE_FIELDS, false)?;
    let outcome = Outcome::from_code(&b.outcome)
        .ok_or_else(|| invalid("outcome", format!("`{}`: use none or violation", b.outcome)))?;
    let input = ResolveInput {
        outcome,
        text: b.text,
        incident: b.incident.map(|i| IncidentId::parse_as("incident", i)).transpose()?,
    };
    let target = id.clone();
    let audit_index = run(&state, move |app| app.resolve_violation(&by, &target, &input, Timestamp::now())).await?;
    Ok(created(serde_json::json!({ "id": id, "outcome": outcome.code(), "audit_index": audit_index })))
}
