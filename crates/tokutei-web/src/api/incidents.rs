//! The leak-incident register and the alert outbox as JSON: `/api/v1/incidents` (the list, one
//! incident, its history; open, update, triage; the impact from the ledger and the inclusion
//! proof of its entries; the report documents and their submission; notice letters, notices
//! sent and the alternative measure; publish, correct, withdraw) and `/api/v1/alerts` (list,
//! one, retry). Each change is one function of `tokutei_app::incidents` or
//! `tokutei_app::alerts`, called for the token's person — the same function the CLI calls, so
//! both leave the same ledger entry — and answered with the JSON the CLI's `--json` prints.
//!
//! Reads are open to the roles that oversee (auditors read), changes to managers; the
//! application checks the roles again. Times are a date (Asia/Tokyo) or RFC 3339, read by
//! `tokutei_policy::tokyo::parse_instant`, the CLI's parser; an invalid field is a 400 that
//! names it, before anything is written.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use jiff::Timestamp;
use serde::Deserialize;
use tokutei_app::alerts::AlertView;
use tokutei_app::incidents::{
    ImpactQuery, IncidentPatch, IncidentView, NewIncident, NoticeMethod, NoticeRead, SubmitReport, TriageInput,
};
use tokutei_app::{
    Acting, ActionError, ActionResult, AlertId, CategoryId, IncidentId, PrincipalId, PurposeId, ServiceId, SubscriberId,
};
use tokutei_policy::{Channel, Text, tokyo};
use tokutei_store::incident::{Flags, IncidentStatus, Occurrence, Persons, ProcessorLink, Regime, Report};
use tokutei_store::outbox::AlertState;

use super::{ApiError, Caller, body, invalid, person, run};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

const READ: Access = Access::Token(Some(OVERSIGHT));
const CHANGE: Access = Access::Token(Some(MANAGERS));

pub(super) fn routes(r: Routes) -> Routes {
    r.add("GET", "/api/v1/incidents", "/api/v1/incidents", READ, get(list))
        .add("POST", "/api/v1/incidents", "/api/v1/incidents", CHANGE, post(open))
        .add("GET", "/api/v1/incidents/{id}", "/api/v1/incidents/INC-20260401-ABCD", READ, get(show))
        .add("PATCH", "/api/v1/incidents/{id}", "/api/v1/incidents/INC-20260401-ABCD", CHANGE, patch(update))
        .add("GET", "/api/v1/incidents/{id}/history", "/api/v1/incidents/INC-20260401-ABCD/history", READ, get(history))
        .add(
            "POST",
            "/api/v1/incidents/{id}/triage",
            "/api/v1/incidents/INC-20260401-ABCD/triage",
            CHANGE,
            post(triage),
        )
        .add("GET", "/api/v1/incidents/{id}/impacts", "/api/v1/incidents/INC-20260401-ABCD/impacts", READ, get(impacts))
        .add(
            "POST",
            "/api/v1/incidents/{id}/impacts",
            "/api/v1/incidents/INC-20260401-ABCD/impacts",
            CHANGE,
            post(impact),
        )
        .add(
            "GET",
            "/api/v1/incidents/{id}/proofs/{index}",
            "/api/v1/incidents/INC-20260401-ABCD/proofs/3",
            READ,
            get(proof),
        )
        .add(
            "GET",
            "/api/v1/incidents/{id}/reports/{regime}/{report}",
            "/api/v1/incidents/INC-20260401-ABCD/reports/tokutei/first",
            READ,
            get(report),
        )
        .add(
            "POST",
            "/api/v1/incidents/{id}/reports/{regime}/{report}/submit",
            "/api/v1/incidents/INC-20260401-ABCD/reports/tokutei/first/submit",
            CHANGE,
            post(submit),
        )
        .add(
            "GET",
            "/api/v1/incidents/{id}/notices/letters",
            "/api/v1/incidents/INC-20260401-ABCD/notices/letters?purpose=support&contact=contract.email",
            CHANGE,
            get(letters),
        )
        .add(
            "POST",
            "/api/v1/incidents/{id}/notices",
            "/api/v1/incidents/INC-20260401-ABCD/notices",
            CHANGE,
            post(notified),
        )
        .add(
            "POST",
            "/api/v1/incidents/{id}/alternative-measures",
            "/api/v1/incidents/INC-20260401-ABCD/alternative-measures",
            CHANGE,
            post(alternative),
        )
        .add(
            "POST",
            "/api/v1/incidents/{id}/publication",
            "/api/v1/incidents/INC-20260401-ABCD/publication",
            CHANGE,
            post(publish),
        )
        .add(
            "POST",
            "/api/v1/incidents/{id}/publication/corrections",
            "/api/v1/incidents/INC-20260401-ABCD/publication/corrections",
            CHANGE,
            post(correct),
        )
        .add(
            "POST",
            "/api/v1/incidents/{id}/withdrawal",
            "/api/v1/incidents/INC-20260401-ABCD/withdrawal",
            CHANGE,
            post(withdraw),
        )
        .add("GET", "/api/v1/alerts", "/api/v1/alerts", READ, get(alerts))
        .add("GET", "/api/v1/alerts/{id}", "/api/v1/alerts/al-0123456789ab", READ, get(alert))
        .add("POST", "/api/v1/alerts/{id}/retry", "/api/v1/alerts/al-0123456789ab/retry", CHANGE, post(retry))
}

fn reader(caller: &Caller) -> Result<(), ApiError> {
    person(caller, OVERSIGHT, "the incident register is open to managers and auditors").map(|_| ())
}

fn manager(caller: &Caller) -> Result<Acting, ApiError> {
    person(caller, MANAGERS, "only the chief manager and responsible persons change incidents")
}

/// A TIME field: a date (Asia/Tokyo) or RFC 3339, read by the one time parser.
fn time(field: &'static str, text: &str) -> Result<Timestamp, ApiError> {
    tokyo::parse_instant(text)
        .ok_or_else(|| invalid(field, "is not a time: use RFC 3339 or YYYY-MM-DD[THH:MM] in Tokyo".to_string()))
}

fn opt_time(field: &'static str, text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| time(field, t)).transpose()
}

fn regimes(field: &'static str, list: &[String]) -> Result<Vec<Regime>, ApiError> {
    list.iter().map(|r| Regime::from_code(r).ok_or_else(|| invalid(field, "use secrecy, tokutei or appi"))).collect()
}

fn occurrence(at: Option<&str>, until: Option<&str>) -> Result<Option<Occurrence>, ApiError> {
    match (opt_time("occurred_at", at)?, opt_time("occurred_until", until)?) {
        (Some(from), Some(to)) => Ok(Some(Occurrence::Between { from, to })),
        (Some(at), None) => Ok(Some(Occurrence::At { at })),
        (None, Some(_)) => Err(invalid("occurred_until", "needs `occurred_at`, the start of the range")),
        (None, None) => Ok(None),
    }
}

fn persons(count: Option<u64>, estimated: bool) -> Result<Option<Persons>, ApiError> {
    match count {
        Some(count) => Ok(Some(Persons { count, estimated })),
        None if estimated => Err(invalid("estimated", "needs `persons`")),
        None => Ok(None),
    }
}

fn ids<T>(
    field: &'static str,
    list: &[String],
    parse: fn(&'static str, String) -> ActionResult<T>,
) -> Result<Vec<T>, ApiError> {
    Ok(list.iter().map(|s| parse(field, s.clone())).collect::<ActionResult<Vec<T>>>()?)
}

fn incident_id(id: String) -> Result<IncidentId, ApiError> {
    Ok(IncidentId::parse_as("id", id)?)
}

/// The application names the regimes `regime` (the CLI's flag); the API's field is `regimes`.
fn regimes_field(e: ActionError) -> ActionError {
    match e {
        ActionError::Invalid { field: "regime", message } => ActionError::Invalid { field: "regimes", message },
        other => other,
    }
}

fn text(ja: Option<String>, en: Option<String>, en_field: &'static str) -> Result<Option<Text>, ApiError> {
    match (ja, en) {
        (None, Some(_)) => Err(invalid(en_field, "needs the Japanese text as well")),
        (ja, en) => Ok(ja.map(|ja| Text { ja, en })),
    }
}

/// `?limit=`: 1–1000, 100 when absent.
fn limit(text: Option<&str>) -> Result<usize, ApiError> {
    match text {
        None => Ok(100),
        Some(t) => t.parse().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| invalid("limit", "must be 1–1000")),
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<String>,
}

async fn list(State(state): State<AppState>, caller: Caller, Query(q): Query<ListQuery>) -> Result<Response, ApiError> {
    reader(&caller)?;
    let limit = limit(q.limit.as_deref())?;
    let all = run(&state, move |app| app.incidents(limit, Timestamp::now())).await?;
    Ok(Json(all.iter().map(IncidentView::to_json).collect::<Vec<_>>()).into_response())
}

async fn show(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    reader(&caller)?;
    let id = incident_id(id)?;
    let view = run(&state, move |app| app.incident(&id, Timestamp::now())).await?;
    Ok(Json(view.to_json()).into_response())
}

async fn history(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    reader(&caller)?;
    let id = incident_id(id)?;
    let versions = run(&state, move |app| app.incident_history(&id)).await?;
    Ok(Json(versions.iter().map(tokutei_app::incidents::version_json).collect::<Vec<_>>()).into_response())
}

/// The body of `POST /api/v1/incidents`: the CLI's `incidents open` flags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    title: String,
    title_en: Option<String>,
    known_at: String,
    regimes: Vec<String>,
    occurred_at: Option<String>,
    occurred_until: Option<String>,
    discovered_at: Option<String>,
    persons: Option<u64>,
    #[serde(default)]
    estimated: bool,
    #[serde(default)]
    malicious: bool,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    financial: bool,
    #[serde(default)]
    encrypted: bool,
    summary: Option<String>,
    summary_en: Option<String>,
    discovery: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
}

const OPEN_FIELDS: &[&str] = &[
    "title",
    "title_en",
    "known_at",
    "regimes",
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
];

async fn open(State(state): State<AppState>, caller: Caller, bytes: axum::body::Bytes) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: OpenBody = body(&bytes, OPEN_FIELDS, false)?;
    let new = NewIncident {
        title: Text { ja: b.title, en: b.title_en },
        summary: text(b.summary, b.summary_en, "summary_en")?,
        known_at: time("known_at", &b.known_at)?,
        discovered_at: opt_time("discovered_at", b.discovered_at.as_deref())?,
        occurred: occurrence(b.occurred_at.as_deref(), b.occurred_until.as_deref())?.unwrap_or_default(),
        regimes: regimes("regimes", &b.regimes)?,
        persons: persons(b.persons, b.estimated)?,
        flags: Flags { sensitive: b.sensitive, financial: b.financial, malicious: b.malicious, encrypted: b.encrypted },
        categories: ids("categories", &b.categories, CategoryId::parse_as)?,
        services: ids("services", &b.services, ServiceId::parse_as)?,
        discovery: b.discovery,
    };
    let view = run(&state, move |app| app.open_incident(&by, &new, Timestamp::now()).map_err(regimes_field)).await?;
    Ok((StatusCode::CREATED, Json(view.to_json())).into_response())
}

/// A processor (委託先) linked to an incident.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessorBody {
    name: String,
    notified_at: Option<String>,
}

/// The body of `PATCH /api/v1/incidents/{id}`: the fields to change (absent ones stay, an
/// empty text clears one).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    title: Option<String>,
    title_en: Option<String>,
    summary: Option<String>,
    summary_en: Option<String>,
    occurred_at: Option<String>,
    occurred_until: Option<String>,
    discovered_at: Option<String>,
    known_at: Option<String>,
    discovery: Option<String>,
    categories: Option<Vec<String>>,
    services: Option<Vec<String>>,
    content: Option<String>,
    persons: Option<u64>,
    #[serde(default)]
    estimated: bool,
    cause: Option<String>,
    secondary_damage: Option<String>,
    response: Option<String>,
    prevention: Option<String>,
    other: Option<String>,
    status: Option<String>,
    #[serde(default)]
    processors: Vec<ProcessorBody>,
    #[serde(default)]
    items: BTreeMap<String, String>,
}

/// The fields of `PATCH /api/v1/incidents/{id}`, each optional (the OpenAPI document lists them).
pub(crate) const UPDATE_FIELDS: &[&str] = &[
    "title",
    "title_en",
    "summary",
    "summary_en",
    "occurred_at",
    "occurred_until",
    "discovered_at",
    "known_at",
    "discovery",
    "categories",
    "services",
    "content",
    "persons",
    "estimated",
    "cause",
    "secondary_damage",
    "response",
    "prevention",
    "other",
    "status",
    "processors",
    "items",
];

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let b: UpdateBody = body(&bytes, UPDATE_FIELDS, false)?;
    let status = match b.status.as_deref() {
        Some(s) => Some(IncidentStatus::from_code(s).ok_or_else(|| invalid("status", "use open, reported or closed"))?),
        None => None,
    };
    let processors = b
        .processors
        .into_iter()
        .map(|p| Ok(ProcessorLink { name: p.name, notified_at: opt_time("processors", p.notified_at.as_deref())? }))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let patch = IncidentPatch {
        title: text(b.title, b.title_en, "title_en")?,
        summary: text(b.summary, b.summary_en, "summary_en")?,
        occurred: occurrence(b.occurred_at.as_deref(), b.occurred_until.as_deref())?,
        discovered_at: opt_time("discovered_at", b.discovered_at.as_deref())?,
        known_at: opt_time("known_at", b.known_at.as_deref())?,
        discovery: b.discovery,
        categories: b.categories.map(|c| ids("categories", &c, CategoryId::parse_as)).transpose()?,
        services: b.services.map(|s| ids("services", &s, ServiceId::parse_as)).transpose()?,
        content: b.content,
        persons: persons(b.persons, b.estimated)?,
        cause: b.cause,
        secondary_damage: b.secondary_damage,
        response: b.response,
        prevention: b.prevention,
        other: b.other,
        status,
        processors,
        extra: b.items,
    };
    let view = run(&state, move |app| app.update_incident(&by, &id, &patch, Timestamp::now())).await?;
    Ok(Json(view.to_json()).into_response())
}

/// The body of `POST …/triage`: the APPI flags as now known (absent ones are false), and
/// optionally the number of persons and the regimes (replacing the list).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriageBody {
    #[serde(default)]
    malicious: bool,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    financial: bool,
    #[serde(default)]
    encrypted: bool,
    persons: Option<u64>,
    #[serde(default)]
    estimated: bool,
    regimes: Option<Vec<String>>,
}

const TRIAGE_FIELDS: &[&str] = &["malicious", "sensitive", "financial", "encrypted", "persons", "estimated", "regimes"];

async fn triage(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let b: TriageBody = body(&bytes, TRIAGE_FIELDS, false)?;
    let input = TriageInput {
        flags: Flags { sensitive: b.sensitive, financial: b.financial, malicious: b.malicious, encrypted: b.encrypted },
        persons: persons(b.persons, b.estimated)?,
        regimes: b.regimes.as_deref().map(|r| regimes("regimes", r)).transpose()?,
    };
    let view =
        run(&state, move |app| app.triage_incident(&by, &id, &input, Timestamp::now()).map_err(regimes_field)).await?;
    Ok(Json(view.to_json()).into_response())
}

async fn impacts(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    reader(&caller)?;
    let id = incident_id(id)?;
    let all = run(&state, move |app| app.incident_impacts(&id)).await?;
    Ok(Json(all).into_response())
}

/// The body of `POST …/impacts`: reads by a principal, through an API token or of categories,
/// in `[since, until)`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpactBody {
    principal: Option<String>,
    token: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    since: String,
    until: String,
    #[serde(default)]
    set_persons: bool,
}

const IMPACT_FIELDS: &[&str] = &["principal", "token", "categories", "since", "until", "set_persons"];

async fn impact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let b: ImpactBody = body(&bytes, IMPACT_FIELDS, false)?;
    let query = ImpactQuery {
        principal: b.principal.map(PrincipalId::parse).transpose()?,
        token: b.token,
        categories: ids("categories", &b.categories, CategoryId::parse_as)?,
        since: time("since", &b.since)?,
        until: time("until", &b.until)?,
        set_persons: b.set_persons,
    };
    let outcome = run(&state, move |app| app.compute_impact(&by, &id, &query, Timestamp::now())).await?;
    Ok((StatusCode::CREATED, Json(outcome)).into_response())
}

/// The inclusion proof of ledger entry `index` (one behind the incident's impacts) against the
/// latest signed checkpoint: 404 without a checkpoint, 409 while the entry is not under it.
async fn proof(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    reader(&caller)?;
    let id = incident_id(id)?;
    let index: u64 = index.parse().map_err(|_| invalid("index", "must be a ledger index (0 or more)"))?;
    let checkpoint = state.ledger(|l| l.latest_checkpoint()).await?.ok_or(AppError::NotFound)?;
    let origin = checkpoint.note.lines().next().unwrap_or_default().to_string();
    let proof = run(&state, move |app| app.impact_proof(&id, index, &origin, &checkpoint)).await?;
    Ok(Json(proof).into_response())
}

fn regime_report(regime: &str, report: &str) -> Result<(Regime, Report), ApiError> {
    let regime = Regime::from_code(regime).ok_or_else(|| invalid("regime", "use secrecy, tokutei or appi"))?;
    let report =
        Report::from_code(report).ok_or_else(|| invalid("report", "use first, detailed, preliminary or final"))?;
    Ok((regime, report))
}

async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, regime, report)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    reader(&caller)?;
    let id = incident_id(id)?;
    let (regime, report) = regime_report(&regime, &report)?;
    let doc = run(&state, move |app| app.report_document(&id, regime, report, Timestamp::now())).await?;
    Ok(Json(doc).into_response())
}

/// The body of `POST …/reports/{regime}/{report}/submit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    /// Default: now.
    submitted_at: Option<String>,
    /// Default: the obligation's recipient.
    recipient: Option<String>,
    reference: Option<String>,
    /// The document as submitted (default: the report's text as tokutei renders it now); its
    /// SHA-256 is recorded.
    document: Option<String>,
}

const SUBMIT_FIELDS: &[&str] = &["submitted_at", "recipient", "reference", "document"];

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, regime, report)): Path<(String, String, String)>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let (regime, report) = regime_report(&regime, &report)?;
    let b: SubmitBody = body(&bytes, SUBMIT_FIELDS, true)?;
    let how = SubmitReport {
        submitted_at: opt_time("submitted_at", b.submitted_at.as_deref())?,
        recipient: b.recipient,
        reference: b.reference,
        document: b.document.map(String::into_bytes),
    };
    let done = run(&state, move |app| app.submit_report(&by, &id, regime, report, &how, Timestamp::now())).await?;
    Ok(Json(done.to_json()).into_response())
}

/// `GET …/notices/letters`: how the contacts are read (through the gateway, as the caller).
#[derive(Debug, Deserialize)]
struct LettersQuery {
    purpose: Option<String>,
    contact: Option<String>,
    channel: Option<String>,
    zone: Option<String>,
    /// Only these affected subscribers, comma-separated (default: every one).
    subscribers: Option<String>,
}

async fn letters(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<LettersQuery>,
) -> Result<Response, ApiError> {
    let by = person(&caller, MANAGERS, "only the chief manager and responsible persons read contacts for notices")?;
    let id = incident_id(id)?;
    let channel = match q.channel.as_deref() {
        Some(c) => Some(
            serde_json::from_value::<Channel>(serde_json::Value::String(c.to_string()))
                .map_err(|_| invalid("channel", "is not a channel of the policy file"))?,
        ),
        None => None,
    };
    let subscribers: Vec<String> = q
        .subscribers
        .as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    let read = NoticeRead {
        purpose: PurposeId::parse(q.purpose.ok_or_else(|| invalid("purpose", "is required"))?)?,
        contact: CategoryId::parse_as("contact", q.contact.ok_or_else(|| invalid("contact", "is required"))?)?,
        channel,
        zone: q.zone,
        terminal: Some(caller.terminal),
        subscribers: ids("subscribers", &subscribers, SubscriberId::parse_as)?,
        client: format!("api:{}", caller.token),
    };
    let letters = run(&state, move |app| app.notice_letters(&by, &id, &read, Timestamp::now())).await?;
    Ok(Json(letters).into_response())
}

/// The body of `POST …/notices`: notices sent to these affected subscribers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticesBody {
    method: String,
    subscribers: Vec<String>,
    sent_at: Option<String>,
}

async fn notified(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let b: NoticesBody = body(&bytes, &["method", "subscribers", "sent_at"], false)?;
    let method =
        NoticeMethod::from_code(&b.method).ok_or_else(|| invalid("method", "use email, post, phone, sms or other"))?;
    let subscribers = ids("subscribers", &b.subscribers, SubscriberId::parse_as)?;
    let sent_at = opt_time("sent_at", b.sent_at.as_deref())?;
    let done =
        run(&state, move |app| app.record_notices(&by, &id, &subscribers, method, sent_at, Timestamp::now())).await?;
    Ok(Json(done).into_response())
}

/// The body of `POST …/alternative-measures`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlternativeBody {
    measure: String,
    reason: String,
}

async fn alternative(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let b: AlternativeBody = body(&bytes, &["measure", "reason"], false)?;
    let done =
        run(&state, move |app| app.record_alternative_measure(&by, &id, &b.measure, &b.reason, Timestamp::now()))
            .await?;
    Ok(Json(done).into_response())
}

/// The body of `POST …/publication` (optional: the incident's summary is the default text)
/// and of `POST …/publication/corrections` (`text` required).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    text: Option<String>,
    text_en: Option<String>,
}

async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let b: EntryBody = body(&bytes, &["text", "text_en"], true)?;
    let entry = text(b.text, b.text_en, "text_en")?;
    let (id, published) = run(&state, move |app| {
        let published = app.publish_incident(&by, &id, entry.as_ref(), Timestamp::now())?;
        Ok((id, published))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id.as_str(), "publication": published }))).into_response())
}

async fn correct(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let b: EntryBody = body(&bytes, &["text", "text_en"], false)?;
    let text = text(b.text, b.text_en, "text_en")?.ok_or_else(|| invalid("text", "is required"))?;
    let (id, corrected) = run(&state, move |app| {
        let corrected = app.correct_publication(&by, &id, &text, Timestamp::now())?;
        Ok((id, corrected))
    })
    .await?;
    Ok(Json(serde_json::json!({ "id": id.as_str(), "publication": corrected })).into_response())
}

/// The body of `POST …/withdrawal` (optional).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    reason: Option<String>,
}

/// Withdraw the public entry: inside its window a 409 naming the last day it is listed.
async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let id = incident_id(id)?;
    let b: WithdrawBody = body(&bytes, &["reason"], true)?;
    // The CLI's default reason.
    let reason = b.reason.unwrap_or_else(|| "掲載期間の終了".to_string());
    let (id, done) = run(&state, move |app| {
        let done = app.withdraw_incident(&by, &id, &reason, Timestamp::now())?;
        Ok((id, done))
    })
    .await?;
    Ok(Json(serde_json::json!({ "id": id.as_str(), "withdrawn": true, "withdrawal": done })).into_response())
}

#[derive(Debug, Deserialize)]
struct AlertsQuery {
    state: Option<String>,
    limit: Option<String>,
}

async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AlertsQuery>,
) -> Result<Response, ApiError> {
    person(&caller, OVERSIGHT, "the alert outbox is open to managers and auditors")?;
    let wanted = match q.state.as_deref() {
        Some(s) => Some(AlertState::from_code(s).ok_or_else(|| invalid("state", "use pending, delivered or failed"))?),
        None => None,
    };
    let limit = limit(q.limit.as_deref())?;
    let all = run(&state, move |app| app.alerts(wanted, limit)).await?;
    Ok(Json(all.iter().map(AlertView::to_json).collect::<Vec<_>>()).into_response())
}

async fn alert(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    person(&caller, OVERSIGHT, "the alert outbox is open to managers and auditors")?;
    let id = AlertId::parse_as("id", id)?;
    let view = run(&state, move |app| app.alert(&id)).await?;
    Ok(Json(view.to_json()).into_response())
}

/// Put a failed alert back in the queue; one not failed is a 409.
async fn retry(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let by = person(&caller, MANAGERS, "only the chief manager and responsible persons re-queue alerts")?;
    let id = AlertId::parse_as("id", id)?;
    let id = run(&state, move |app| app.retry_alert(&by, &id, Timestamp::now()).map(|()| id)).await?;
    Ok(Json(serde_json::json!({ "id": id.as_str(), "state": "pending" })).into_response())
}
