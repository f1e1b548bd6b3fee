//! Export artefacts over the API, `/api/v1/exports/{id}/artefact`: `POST` produces the
//! artefact of an approved request for the recipient's age key (`{ "recipient": "age1…" }`),
//! `GET` downloads it, once, as `application/octet-stream` (the medium is the network). Each is
//! one function of `tokutei_app::exports` called for the token's principal — the requester
//! only, which the application checks —, the same the CLI calls.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use tokutei_app::exports::{Medium, Produce};
use tokutei_app::{Acting, ExportId};
use tokutei_policy::Channel;

use super::{ApiError, Caller, body, run};
use crate::AppState;
use crate::routes::{Access, Routes};

pub(super) fn routes(r: Routes) -> Routes {
    const EXAMPLE: &str = "/api/v1/exports/EXP-1/artefact";
    r.add("POST", "/api/v1/exports/{id}/artefact", EXAMPLE, Access::Token(None), post(produce)).add(
        "GET",
        "/api/v1/exports/{id}/artefact",
        EXAMPLE,
        Access::Token(None),
        get(download),
    )
}

/// The body of `POST /api/v1/exports/{id}/artefact`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProduceBody {
    recipient: String,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    zone: Option<String>,
}

const PRODUCE_FIELDS: &[&str] = &["recipient", "channel", "zone"];

async fn produce(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: ProduceBody = body(&bytes, PRODUCE_FIELDS, false)?;
    let produce = Produce {
        id: ExportId::parse_as("id", id)?,
        recipient_key: b.recipient,
        channel: b.channel,
        zone: b.zone,
        terminal: Some(caller.terminal),
        client: format!("api:{}", caller.token),
    };
    let by = Acting::Person(caller.principal);
    let produced = run(&state, move |app| app.produce_export(&by, &produce, Timestamp::now())).await?;
    Ok((StatusCode::CREATED, Json(produced)).into_response())
}

async fn download(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = ExportId::parse_as("id", id)?;
    let by = Acting::Person(caller.principal);
    let got = run(&state, move |app| app.download_export(&by, &id, Medium::Network, Timestamp::now())).await?;
    Ok(artefact_response(got))
}

/// The artefact as a file to save: its bytes, never cached, named after the request, with its
/// SHA-256 (the API's download and the console's).
pub(crate) fn artefact_response(got: tokutei_app::exports::Downloaded) -> Response {
    let disposition = format!("attachment; filename=\"{}.age\"", got.export.replace(['"', '\\'], "_"));
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("x-tokutei-sha256"), got.sha256.clone()),
        ],
        got.ciphertext,
    )
        .into_response()
}
