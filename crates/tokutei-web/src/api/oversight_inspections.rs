//! The self-inspection reports as JSON, `/api/v1/oversight/inspections`: the list, one report
//! (with its figures) and running a finished month, and the findings (list, add, close). Each
//! is one function of `tokutei_app::oversight::inspection` called for the token's person —
//! the same the CLI calls, with the JSON its `--json` prints. Reads are open to the roles that
//! oversee (auditors read), changes to managers; the application checks the roles again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use tokutei_app::oversight::inspection::{FindingInput, FindingView, InspectionView, Period};
use tokutei_app::{ActionError, PrincipalId};

use super::{ApiError, Caller};
use super::{body, person, run};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};

const READ: Access = Access::Token(Some(OVERSIGHT));
const CHANGE: Access = Access::Token(Some(MANAGERS));

pub(super) fn routes(r: Routes) -> Routes {
    r.add("GET", "/api/v1/oversight/inspections", "/api/v1/oversight/inspections", READ, get(list))
        .add("POST", "/api/v1/oversight/inspections", "/api/v1/oversight/inspections", CHANGE, post(run_period))
        .add("GET", "/api/v1/oversight/inspections/{id}", "/api/v1/oversight/inspections/IR-1", READ, get(show))
        .add("GET", "/api/v1/oversight/findings", "/api/v1/oversight/findings", READ, get(findings))
        .add("POST", "/api/v1/oversight/findings", "/api/v1/oversight/findings", CHANGE, post(add_finding))
        .add(
            "POST",
            "/api/v1/oversight/findings/{id}/close",
            "/api/v1/oversight/findings/IF-1/close",
            CHANGE,
            post(close_finding),
        )
}

fn reader(caller: &Caller) -> Result<tokutei_app::Acting, ApiError> {
    person(caller, OVERSIGHT, "the self-inspection reports are open to managers and auditors")
}

fn manager(caller: &Caller) -> Result<tokutei_app::Acting, ApiError> {
    person(caller, MANAGERS, "only the chief manager and responsible persons run self-inspections and change findings")
}

async fn list(State(state): State<crate::AppState>, caller: Caller) -> Result<Response, ApiError> {
    let by = reader(&caller)?;
    let all = run(&state, move |app| app.inspections(&by)).await?;
    Ok(Json(all.iter().map(InspectionView::to_json).collect::<Vec<_>>()).into_response())
}

async fn show(
    State(state): State<crate::AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let by = reader(&caller)?;
    let v = run(&state, move |app| app.inspection(&by, &id)).await?;
    Ok(Json(v.to_json()).into_response())
}

/// The body of `POST /api/v1/oversight/inspections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    period: String,
}

async fn run_period(
    State(state): State<crate::AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: RunBody = body(&bytes, &["period"], false)?;
    let period = Period::parse(&b.period)?;
    let v = run(&state, move |app| app.run_inspection(&by, period, Timestamp::now())).await?;
    Ok((StatusCode::CREATED, Json(v.to_json())).into_response())
}

async fn findings(State(state): State<crate::AppState>, caller: Caller) -> Result<Response, ApiError> {
    let by = reader(&caller)?;
    let all = run(&state, move |app| app.findings(&by, Timestamp::now())).await?;
    Ok(Json(all.iter().map(FindingView::to_json).collect::<Vec<_>>()).into_response())
}

/// The body of `POST /api/v1/oversight/findings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingBody {
    inspection: String,
    text: String,
    owner: String,
    due: Option<String>,
}

async fn add_finding(
    State(state): State<crate::AppState>,
    caller: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: FindingBody = body(&bytes, &["inspection", "text", "owner", "due"], false)?;
    let due = b.due.map(|d| d.parse().map_err(|e: String| ActionError::invalid("due", e))).transpose()?;
    let input =
        FindingInput { inspection: b.inspection, text: b.text, owner: PrincipalId::parse_as("owner", b.owner)?, due };
    let f = run(&state, move |app| app.add_finding(&by, &input, Timestamp::now())).await?;
    Ok((StatusCode::CREATED, Json(f.to_json())).into_response())
}

/// The body of `POST /api/v1/oversight/findings/{id}/close`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    text: String,
}

async fn close_finding(
    State(state): State<crate::AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let by = manager(&caller)?;
    let b: CloseBody = body(&bytes, &["text"], false)?;
    let audit_index =
        run(&state, move |app| app.close_finding(&by, &id, &b.text, Timestamp::now()).map(|i| (id, i))).await?;
    Ok(Json(serde_json::json!({ "id": audit_index.0, "state": "closed", "audit_index": audit_index.1 }))
        .into_response())
}
