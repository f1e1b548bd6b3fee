//! Handling zones and the entry/exit log as JSON: `POST /api/v1/presence`, where the badge
//! system reports each entry and exit (its token's principal is a system named
//! `badge_system`; a manager may report too), `GET /api/v1/presence` (the log, for managers
//! and auditors) and `GET`/`POST /api/v1/zones` (the register). Each is one function of
//! `tokutei_app::zones`, which checks the one acting again.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use tokutei_app::zones::{BadgeEvent, NewZone};
use tokutei_app::{Acting, PrincipalId, ZoneId};
use tokutei_store::zones::{PresenceFilter, PresenceKind};

use super::{ApiError, Caller, body, invalid, person, run};
use crate::AppState;
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};

pub(super) fn routes(r: Routes) -> Routes {
    r.add("POST", "/api/v1/presence", "/api/v1/presence", Access::Token(None), post(report))
        .add("GET", "/api/v1/presence", "/api/v1/presence", Access::Token(Some(OVERSIGHT)), get(log))
        .add("GET", "/api/v1/zones", "/api/v1/zones", Access::Token(Some(OVERSIGHT)), get(list))
        .add("POST", "/api/v1/zones", "/api/v1/zones", Access::Token(Some(MANAGERS)), post(register))
}

/// One badge event as the badge system sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceBody {
    person: String,
    zone: String,
    event: PresenceKind,
    /// When the badge was read (RFC 3339); now when absent.
    #[serde(default)]
    at: Option<Timestamp>,
}

/// `POST /api/v1/presence`: one entry or exit, audited before it is stored (201 with the
/// ledger index).
async fn report(State(state): State<AppState>, caller: Caller, bytes: axum::body::Bytes) -> Result<Response, ApiError> {
    let b: PresenceBody = body(&bytes, &["person", "zone", "event", "at"], false)?;
    let now = Timestamp::now();
    let event = BadgeEvent {
        person: PrincipalId::parse_as("person", b.person)?,
        zone: ZoneId::parse(b.zone)?,
        kind: b.event,
        at: b.at.unwrap_or(now),
    };
    let by = Acting::Person(caller.principal.clone());
    let audit = run(&state, move |app| app.record_presence(&by, std::slice::from_ref(&event), now)).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "audit": audit.first() }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    #[serde(default)]
    person: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/v1/presence?person=&zone=&limit=`: the log, newest first.
async fn log(State(state): State<AppState>, caller: Caller, Query(q): Query<LogQuery>) -> Result<Response, ApiError> {
    let by = person(&caller, OVERSIGHT, "the entry/exit log is open to managers and auditors")?;
    let filter = PresenceFilter {
        person: q.person.map(|p| PrincipalId::parse_as("person", p)).transpose()?.map(PrincipalId::into_string),
        zone: q.zone.map(ZoneId::parse).transpose()?.map(ZoneId::into_string),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=tokutei_app::zones::MAX_EVENTS).contains(&limit) {
        return Err(invalid("limit", format!("use 1 to {}", tokutei_app::zones::MAX_EVENTS)));
    }
    let events = run(&state, move |app| app.presence_log(&by, &filter, limit)).await?;
    Ok(Json(events).into_response())
}

/// `GET /api/v1/zones`: the register.
async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    person(&caller, OVERSIGHT, "the zone register is open to managers and auditors")?;
    let zones = run(&state, |app| app.zones()).await?;
    Ok(Json(zones).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneBody {
    id: String,
    name: String,
    site: String,
    networks: Vec<String>,
    #[serde(default)]
    secrecy: bool,
}

/// `POST /api/v1/zones`: register a zone or replace its entry (201 with the zone).
async fn register(
    State(state): State<AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = person(&caller, MANAGERS, "only the chief manager and responsible persons register zones")?;
    let b: ZoneBody = body(&bytes, &["id", "name", "site", "networks", "secrecy"], false)?;
    let new =
        NewZone { id: ZoneId::parse(b.id)?, name: b.name, site: b.site, networks: b.networks, secrecy: b.secrecy };
    let zone = run(&state, move |app| app.register_zone(&by, &new, Timestamp::now())).await?;
    Ok((StatusCode::CREATED, Json(zone)).into_response())
}
