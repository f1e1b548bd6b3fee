//! The JSON API under `/api/v1/`: the gateway (`POST /api/v1/access`, `POST
//! /api/v1/access/explain`), the staff registry (`GET`/`POST /api/v1/staff`), the incident
//! register and the alert outbox (`/api/v1/incidents`, `/api/v1/alerts`: [`incidents`]), export
//! artefacts (`/api/v1/exports/{id}/artefact`: [`exports`]) and the
//! OpenAPI description (`GET /api/v1/openapi.json`).
//!
//! Callers authenticate with an API token (`Authorization: Bearer tkt_…`); the principal is
//! the token's, never a field of the request, so a system cannot act as another. Errors are
//! JSON (`{"error": {"status", "ja", "en", "detail"}}`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokutei_app::auth::ApiAdmission;
use tokutei_app::{
    AccessCall, Acting, ActionResult, App, CategoryId, NewPlainValue, PrincipalId, PurposeId, SubscriberId, WriteCall,
};
use tokutei_ledger::Action;
use tokutei_policy::{AcquisitionMethod, Channel, Role};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind};

use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

pub(crate) mod exports;
pub(crate) mod incidents;
pub(crate) mod oversight;
pub(crate) mod oversight_assessment;
pub(crate) mod oversight_inspections;
mod requests;
mod zones;

/// An API error: an [`AppError`] shown as JSON.
#[derive(Debug)]
pub(crate) struct ApiError(AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_json_response()
    }
}

pub(crate) fn routes(r: Routes) -> Routes {
    let r = oversight_inspections::routes(oversight::routes(incidents::routes(r)));
    let r = exports::routes(zones::routes(requests::routes(oversight_assessment::routes(r))));
    r.add("POST", "/api/v1/access", "/api/v1/access", Access::Token(None), post(access))
        .add("POST", "/api/v1/access/explain", "/api/v1/access/explain", Access::Token(None), post(explain))
        .add("GET", "/api/v1/staff", "/api/v1/staff", Access::Token(Some(OVERSIGHT)), get(list_staff))
        .add("POST", "/api/v1/staff", "/api/v1/staff", Access::Token(Some(MANAGERS)), post(create_staff))
        .add("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", Access::Public, get(openapi))
        .add("GET", "/api/v1/checkpoint", "/api/v1/checkpoint", Access::Public, get(crate::public::checkpoint))
}

/// The principal behind a valid API token.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub principal: String,
    pub token: String,
    pub role: Option<Role>,
    /// The client's address (the terminal a person's zone is derived from).
    pub terminal: std::net::IpAddr,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// The token's principal, within the rate limits (settings `api_rate_per_client`,
    /// `api_rate_per_principal`; 429 with `Retry-After` over them). A request without a valid
    /// token counts against its client address only.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let crate::limiter::ClientAddr(client) = crate::limiter::ClientAddr::of(parts, &state.proxies);
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let text = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).unwrap_or_default();
        let text = zeroize::Zeroizing::new(text.to_string());
        let admission = state.auth(move |auth| auth.admit_api(&text, client, Timestamp::now())).await?;
        match admission {
            ApiAdmission::Admitted(caller) => {
                state.metrics.api_authenticated();
                Ok(Caller {
                    principal: caller.principal.into_string(),
                    token: caller.token,
                    role: caller.role,
                    terminal: client,
                })
            }
            ApiAdmission::Unauthorized => Err(AppError::Unauthorized.into()),
            ApiAdmission::Limited { retry_after } => Err(AppError::TooManyRequests { retry_after }.into()),
        }
    }
}

/// The body of `POST /api/v1/access`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessBody {
    #[serde(default = "read")]
    action: Action,
    purpose: String,
    subscribers: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    export_approval: Option<String>,
    #[serde(default)]
    recipient: Option<String>,
    /// For `update`: the new values by category.
    #[serde(default)]
    values: std::collections::BTreeMap<String, String>,
    /// For `update`: how the values were acquired (default `electronic`).
    #[serde(default)]
    method: Option<AcquisitionMethod>,
}

fn read() -> Action {
    Action::Read
}

impl AccessBody {
    /// The call, its ids parsed (an invalid one is a 400 naming its field); the principal is
    /// the token's.
    fn call(&self, caller: &Caller) -> ActionResult<AccessCall> {
        Ok(AccessCall {
            principal: PrincipalId::known(caller.principal.as_str()),
            action: self.action,
            purpose: PurposeId::parse(self.purpose.as_str())?,
            subscribers: self
                .subscribers
                .iter()
                .map(|s| SubscriberId::parse_as("subscribers", s.as_str()))
                .collect::<ActionResult<_>>()?,
            categories: self
                .categories
                .iter()
                .map(|c| CategoryId::parse_as("categories", c.as_str()))
                .collect::<ActionResult<_>>()?,
            channel: self.channel,
            zone: self.zone.clone(),
            terminal: Some(caller.terminal),
            export_approval: self.export_approval.clone(),
            recipient: self.recipient.clone(),
            client: format!("api:{}", caller.token),
            now: Timestamp::now(),
        })
    }

    /// The new values of an `update`, their categories parsed.
    fn values(&self) -> ActionResult<Vec<NewPlainValue>> {
        self.values
            .iter()
            .map(|(category, value)| {
                Ok(NewPlainValue {
                    category: CategoryId::parse_as("values", category.as_str())?,
                    value: zeroize::Zeroizing::new(value.clone().into_bytes()),
                })
            })
            .collect()
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| AppError::BadRequest(format!("request body: {e}")))
}

async fn access(State(state): State<AppState>, caller: Caller, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let body: AccessBody = parse_body(&body)?;
    let service = state.access_service()?;
    let call = body.call(&caller)?;
    let values = body.values()?;
    let outcome = tokio::task::spawn_blocking(move || match call.action {
        Action::Read | Action::Export => service.read(&call),
        Action::Erase => service.erase(&call),
        Action::Update => {
            service.write(&WriteCall { call, values, method: body.method.unwrap_or(AcquisitionMethod::Electronic) })
        }
    })
    .await
    .map_err(|e| AppError::internal(format!("access task failed: {e}")))??;
    state.metrics.gateway_decisions(&outcome);
    Ok(Json(outcome).into_response())
}

async fn explain(State(state): State<AppState>, caller: Caller, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let body: AccessBody = parse_body(&body)?;
    let service = state.access_service()?;
    let call = body.call(&caller)?;
    let explanation = tokio::task::spawn_blocking(move || service.explain(&call))
        .await
        .map_err(|e| AppError::internal(format!("explain task failed: {e}")))??;
    Ok(Json(explanation).into_response())
}

/// Whether the caller is a person with one of `roles`.
fn has_role(caller: &Caller, roles: &[Role]) -> bool {
    caller.role.is_some_and(|r| roles.contains(&r))
}

/// The caller as the person acting, when their role is one of `roles`; else 403 with `why`.
pub(crate) fn person(caller: &Caller, roles: &[Role], why: &str) -> Result<Acting, ApiError> {
    if !has_role(caller, roles) {
        return Err(AppError::Forbidden(why.to_string()).into());
    }
    Ok(Acting::Person(caller.principal.clone()))
}

/// Run `work` with the application off the async threads.
pub(crate) async fn run<T, F>(state: &AppState, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&App) -> ActionResult<T> + Send + 'static,
{
    let service = state.access_service()?;
    let done = tokio::task::spawn_blocking(move || work(&service))
        .await
        .map_err(|e| AppError::internal(format!("api task failed: {e}")))?;
    Ok(done?)
}

/// A JSON body whose fields are `fields`: a value of the wrong type in one of them is a 400
/// naming it; anything else wrong (not JSON, a field missing or unknown) a 400 saying what.
/// An empty body reads as `{}` when `empty_is_object`.
pub(crate) fn body<T: DeserializeOwned>(
    bytes: &[u8],
    fields: &'static [&'static str],
    empty_is_object: bool,
) -> Result<T, ApiError> {
    let bytes = if empty_is_object && bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => fields.iter().copied().find(|f| *f == key.as_str()),
            _ => None,
        };
        match field {
            Some(field) => ApiError::from(AppError::Invalid { field, message: e.inner().to_string() }),
            None => ApiError::from(AppError::BadRequest(format!("request body: {}", e.inner()))),
        }
    })?;
    de.end().map_err(|e| AppError::BadRequest(format!("request body: {e}")))?;
    Ok(value)
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
    AppError::Invalid { field, message: message.into() }.into()
}

async fn list_staff(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if !has_role(&caller, OVERSIGHT) {
        return Err(AppError::Forbidden("the staff registry is open to managers and auditors".into()).into());
    }
    let service = state.access_service()?;
    let all = tokio::task::spawn_blocking(move || service.staff_list())
        .await
        .map_err(|e| AppError::internal(format!("staff task failed: {e}")))??;
    Ok(Json(all).into_response())
}

/// The body of `POST /api/v1/staff`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewStaffBody {
    id: String,
    display_name: String,
    kind: PrincipalKind,
    #[serde(default)]
    grants: Grants,
}

async fn create_staff(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // The route's access rule; `register_principal` checks the registrar again.
    if !has_role(&caller, MANAGERS) {
        return Err(AppError::Forbidden("only the chief manager and responsible persons register staff".into()).into());
    }
    let body: NewStaffBody = parse_body(&body)?;
    let service: Arc<App> = state.access_service()?;
    let created = tokio::task::spawn_blocking(move || {
        let now = Timestamp::now();
        let new = NewPrincipal {
            id: body.id,
            display_name: body.display_name,
            kind: body.kind,
            grants: body.grants,
            created_at: now,
        };
        service.register_principal(&Acting::Person(caller.principal), &new, now)
    })
    .await
    .map_err(|e| AppError::internal(format!("staff task failed: {e}")))??;
    Ok((axum::http::StatusCode::CREATED, Json(created)).into_response())
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(&crate::openapi::document()).unwrap_or_default(),
    )
        .into_response()
}
