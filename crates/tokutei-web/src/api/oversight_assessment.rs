//! The oversight registers of training and the annual assessment as JSON:
//! `/api/v1/oversight/training` (the roster of every person × required course, the same
//! rows `tokutei training roster --json` prints) and `/api/v1/oversight/training/courses`
//! (the catalogue). Reads are open to the roles that oversee (auditors read).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use tokutei_policy::Role;

use super::{ApiError, Caller, has_role};
use crate::routes::{Access, OVERSIGHT, Routes};
use crate::{AppError, AppState};

const READ: Access = Access::Token(Some(OVERSIGHT));

pub(super) fn routes(r: Routes) -> Routes {
    r.add("GET", "/api/v1/oversight/training", "/api/v1/oversight/training", READ, get(roster)).add(
        "GET",
        "/api/v1/oversight/training/courses",
        "/api/v1/oversight/training/courses",
        READ,
        get(courses),
    )
}

fn reader(caller: &Caller, roles: &[Role]) -> Result<(), ApiError> {
    if !has_role(caller, roles) {
        return Err(AppError::Forbidden("the oversight registers are open to managers and auditors".into()).into());
    }
    Ok(())
}

async fn roster(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    reader(&caller, OVERSIGHT)?;
    let app = state.access_service()?;
    let rows = tokio::task::spawn_blocking(move || app.training_roster(Timestamp::now()))
        .await
        .map_err(|e| AppError::internal(format!("training task failed: {e}")))??;
    Ok(Json(rows).into_response())
}

async fn courses(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    reader(&caller, OVERSIGHT)?;
    let app = state.access_service()?;
    Ok(Json(app.training_rules().courses.clone()).into_response())
}
