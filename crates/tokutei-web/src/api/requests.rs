//! Data-subject requests as JSON, `/api/v1/requests`: the register (list, one request with
//! its clock), receiving a request, and each step — verification, pause, resumption,
//! extension, refusal, notice. Each is one function of `tokutei_app::requests` called for the
//! token's person, the same the CLI calls, answered with the JSON its `--json` prints. Reads
//! are open to managers and auditors, intake and verification to every role but the
//! auditor's, the other steps to managers; the application checks the roles again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use tokutei_app::requests::{
    Channel, Ground, INTAKE, NoticeMethod, OpenInput, RequestKind, RequestView, ResponseMethod, Verification,
    VerificationInput,
};
use tokutei_app::{Acting, RequestId, SubscriberId};
use tokutei_policy::{Date, tokyo};

use super::{ApiError, Caller, body, invalid, person, run};
use crate::AppState;
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};

const READ: Access = Access::Token(Some(OVERSIGHT));
const TAKE: Access = Access::Token(Some(INTAKE));
const CHANGE: Access = Access::Token(Some(MANAGERS));

pub(super) fn routes(r: Routes) -> Routes {
    const DR: &str = "/api/v1/requests/DR-1";
    r.add("GET", "/api/v1/requests", "/api/v1/requests", READ, get(list))
        .add("POST", "/api/v1/requests", "/api/v1/requests", TAKE, post(open))
        .add("GET", "/api/v1/requests/{id}", DR, READ, get(show))
        .add("GET", "/api/v1/requests/{id}/document", "/api/v1/requests/DR-1/document", READ, get(document))
        .add("POST", "/api/v1/requests/{id}/verification", "/api/v1/requests/DR-1/verification", TAKE, post(verify))
        .add("POST", "/api/v1/requests/{id}/pause", "/api/v1/requests/DR-1/pause", CHANGE, post(pause))
        .add("POST", "/api/v1/requests/{id}/resumption", "/api/v1/requests/DR-1/resumption", CHANGE, post(resume))
        .add("POST", "/api/v1/requests/{id}/extension", "/api/v1/requests/DR-1/extension", CHANGE, post(extend))
        .add("POST", "/api/v1/requests/{id}/refusal", "/api/v1/requests/DR-1/refusal", CHANGE, post(refuse))
        .add("POST", "/api/v1/requests/{id}/fulfilment", "/api/v1/requests/DR-1/fulfilment", CHANGE, post(fulfil))
        .add("POST", "/api/v1/requests/{id}/lift", "/api/v1/requests/DR-1/lift", CHANGE, post(lift))
        .add("POST", "/api/v1/requests/{id}/notice", "/api/v1/requests/DR-1/notice", CHANGE, post(notify))
}

fn reader(caller: &Caller) -> Result<Acting, ApiError> {
    person(caller, OVERSIGHT, "the request register is open to managers and auditors")
}

fn intake(caller: &Caller) -> Result<Acting, ApiError> {
    person(caller, INTAKE, "auditors do not receive requests")
}

fn manager(caller: &Caller) -> Result<Acting, ApiError> {
    person(caller, MANAGERS, "only the chief manager and responsible persons decide requests")
}

fn id(text: String) -> Result<RequestId, ApiError> {
    Ok(RequestId::parse(text)?)
}

fn view(status: StatusCode, v: &RequestView) -> Response {
    (status, Json(v.to_json())).into_response()
}

/// The body's verification.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerificationBody {
    subscriber: String,
    method: String,
    #[serde(default)]
    evidence: Option<String>,
    #[serde(default)]
    agent: Option<String>,
}

impl VerificationBody {
    fn input(self) -> Result<VerificationInput, ApiError> {
        Ok(VerificationInput {
            subscriber: SubscriberId::parse(self.subscriber)?,
            method: Verification::parse("method", &self.method)?,
            evidence: self.evidence,
            agent: self.agent,
        })
    }
}

/// The body of `POST /api/v1/requests`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    #[serde(rename = "type")]
    kind: String,
    channel: String,
    #[serde(default)]
    inquiry: Option<String>,
    #[serde(default)]
    received_at: Option<String>,
    #[serde(default)]
    purposes: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    verification: Option<VerificationBody>,
}

const OPEN_FIELDS: &[&str] =
    &["type", "channel", "inquiry", "received_at", "purposes", "categories", "method", "verification"];

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let by = reader(&caller)?;
    let all = run(&state, move |app| app.requests(&by, Timestamp::now())).await?;
    Ok(Json(all.iter().map(RequestView::to_json).collect::<Vec<_>>()).into_response())
}

async fn show(State(state): State<AppState>, caller: Caller, Path(text): Path<String>) -> Result<Response, ApiError> {
    let by = reader(&caller)?;
    let v = run(&state, move |app| app.request(&by, &text, Timestamp::now())).await?;
    Ok(view(StatusCode::OK, &v))
}

/// The document the request was answered with (audited as read).
async fn document(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> Result<Response, ApiError> {
    let by = reader(&caller)?;
    let doc = run(&state, move |app| app.request_document(&by, &text, Timestamp::now())).await?;
    Ok(Json(doc).into_response())
}

async fn open(State(state): State<AppState>, caller: Caller, bytes: axum::body::Bytes) -> Result<Response, ApiError> {
    let by = intake(&caller)?;
    let b: OpenBody = body(&bytes, OPEN_FIELDS, false)?;
    let received_at = match b.received_at.as_deref() {
        None => None,
        Some(t) => Some(tokyo::parse_instant(t).ok_or_else(|| invalid("received_at", format!("`{t}` is not a time")))?),
    };
    let input = OpenInput {
        kind: RequestKind::parse("type", &b.kind)?,
        channel: Channel::parse("channel", &b.channel)?,
        inquiry: b.inquiry,
        received_at,
        purposes: b.purposes,
        categories: b.categories,
        method: b.method.as_deref().map(|m| ResponseMethod::parse("method", m)).transpose()?,
        verification: b.verification.map(VerificationBody::input).transpose()?,
    };
    let v = run(&state, move |app| app.open_request(&by, &input, Timestamp::now())).await?;
    Ok(view(StatusCode::CREATED, &v))
}

async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = intake(&caller)?;
    let id = id(text)?;
    let b: VerificationBody = body(&bytes, &["subscriber", "method", "evidence", "agent"], false)?;
    let input = b.input()?;
    let v = run(&state, move |app| app.verify_request(&by, &id, &input, Timestamp::now())).await?;
    Ok(view(StatusCode::CREATED, &v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: String,
    #[serde(default)]
    days: Option<u32>,
}

async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = id(text)?;
    let b: ReasonBody = body(&bytes, &["reason"], false)?;
    let v = run(&state, move |app| app.pause_request(&by, &id, &b.reason, Timestamp::now())).await?;
    Ok(view(StatusCode::CREATED, &v))
}

async fn resume(State(state): State<AppState>, caller: Caller, Path(text): Path<String>) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = id(text)?;
    let v = run(&state, move |app| app.resume_request(&by, &id, Timestamp::now())).await?;
    Ok(view(StatusCode::CREATED, &v))
}

async fn extend(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = id(text)?;
    let b: ReasonBody = body(&bytes, &["reason", "days"], false)?;
    let days = b.days.ok_or_else(|| invalid("days", "is missing"))?;
    let v = run(&state, move |app| app.extend_request(&by, &id, days, &b.reason, Timestamp::now())).await?;
    Ok(view(StatusCode::CREATED, &v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefusalBody {
    ground: String,
    #[serde(default)]
    note: String,
}

async fn refuse(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = id(text)?;
    let b: RefusalBody = body(&bytes, &["ground", "note"], false)?;
    let ground = Ground::parse("ground", &b.ground)?;
    let v = run(&state, move |app| app.refuse_request(&by, &id, ground, &b.note, Timestamp::now())).await?;
    Ok(view(StatusCode::CREATED, &v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    #[serde(default)]
    note: String,
    /// A correction's new values.
    #[serde(default)]
    corrections: Vec<CorrectionBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    category: String,
    value: String,
}

async fn fulfil(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = id(text)?;
    let b: NoteBody = body(&bytes, &["note", "corrections"], true)?;
    let corrections = b
        .corrections
        .into_iter()
        .map(|c| {
            Ok(tokutei_app::requests::CorrectionInput {
                category: tokutei_app::CategoryId::parse_as("corrections", c.category)?,
                value: zeroize::Zeroizing::new(c.value),
            })
        })
        .collect::<Result<Vec<_>, tokutei_app::ActionError>>()?;
    let terminal = Some(caller.terminal);
    let v = run(&state, move |app| {
        let now = Timestamp::now();
        if corrections.is_empty() {
            app.fulfil_request(&by, &id, &b.note, terminal, now)
        } else {
            app.fulfil_correction(&by, &id, &corrections, &b.note, terminal, now)
        }
    })
    .await?;
    Ok(view(StatusCode::CREATED, &v))
}

async fn lift(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = id(text)?;
    let b: ReasonBody = body(&bytes, &["reason"], false)?;
    let v = run(&state, move |app| app.lift_stop(&by, &id, &b.reason, Timestamp::now())).await?;
    Ok(view(StatusCode::CREATED, &v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    method: String,
    sent_on: String,
}

async fn notify(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = id(text)?;
    let b: NoticeBody = body(&bytes, &["method", "sent_on"], false)?;
    let method = NoticeMethod::parse("method", &b.method)?;
    let sent_on: Date = b
        .sent_on
        .trim()
        .parse()
        .map_err(|_| invalid("sent_on", format!("`{}` is not a date: use YYYY-MM-DD", b.sent_on)))?;
    let v = run(&state, move |app| app.notify_request(&by, &id, method, sent_on, Timestamp::now())).await?;
    Ok(view(StatusCode::CREATED, &v))
}
