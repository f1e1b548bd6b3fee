//! Witnessing over HTTP (C2SP `tlog-witness`), both ends:
//!
//! - [`witness_router`]/[`serve_witness`]: the witness's own server (`tokutei witness serve`):
//!   `POST /add-checkpoint` answered by `tokutei_app::witness::Witness` with the protocol's
//!   status codes (409 with `text/x.tlog.size`), and `GET /` naming the witness and its key.
//! - [`Witnessing`]: the log's client (`tokutei serve` with `[witnesses]`): each round takes
//!   the latest checkpoint, asks every witness for a cosignature from the size it last
//!   cosigned (learning that size from a 409), keeps what verifies (the application stores
//!   the cosigned checkpoint once a quorum has cosigned) and reports a witness that refuses a
//!   consistent history's checkpoint: a sign the ledger forked or was rolled back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use tokutei_app::witness::{Witness, WitnessError};
use tokutei_app::witnessing::{Step, WitnessAnswer, WitnessEndpoint, judge_answer};
use tokutei_app::{ActionError, App};
use tokutei_ledger::witness::{Refusal, parse_conflict_size};
use tokutei_store::ledger::StoredCheckpoint;

/// The witness's HTTP interface.
pub fn witness_router(witness: Arc<Witness>) -> Router {
    Router::new().route("/add-checkpoint", post(add_checkpoint)).route("/", get(about)).with_state(witness)
}

/// Serve the witness on `listener` until Ctrl-C or SIGTERM.
pub async fn serve_witness(listener: tokio::net::TcpListener, witness: Arc<Witness>) -> std::io::Result<()> {
    axum::serve(listener, witness_router(witness)).with_graceful_shutdown(crate::shutdown_signal()).await
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn about(State(witness): State<Arc<Witness>>) -> Response {
    let logs = witness.origins().join("\n");
    text(StatusCode::OK, "text/plain; charset=utf-8", format!("{}\n\n{logs}\n", witness.verifier()))
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return text(StatusCode::BAD_REQUEST, "text/plain; charset=utf-8", "the body is not UTF-8\n".into());
    };
    let answer = tokio::task::spawn_blocking(move || witness.cosign(&body, Timestamp::now())).await;
    match answer {
        Ok(Ok(line)) => text(StatusCode::OK, "text/plain; charset=utf-8", line),
        Ok(Err(WitnessError::Refused(Refusal::Conflict { size, .. }))) => {
            text(StatusCode::CONFLICT, "text/x.tlog.size", format!("{size}\n"))
        }
        Ok(Err(WitnessError::Refused(refusal))) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            tracing::warn!(status = status.as_u16(), refusal = %refusal, "refused a checkpoint");
            text(status, "text/plain; charset=utf-8", format!("{refusal}\n"))
        }
        Ok(Err(e @ WitnessError::State(_))) => {
            tracing::error!(error = %e, "cannot keep the witness state");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "the witness state could not be kept\n".into(),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "witness task failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", "internal error\n".into())
        }
    }
}

/// What one round of witnessing did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Round {
    /// The size of the checkpoint the round asked about.
    pub size: Option<u64>,
    /// The witnesses that cosigned it.
    pub cosigned: Vec<String>,
    /// Whether the checkpoint of this size is published: a quorum cosigned it (in this round
    /// or before).
    pub published: bool,
    /// The witnesses that refused, with why (each also reported as an alert).
    pub refused: Vec<(String, String)>,
}

/// The log's witnessing client. Cheap to share.
pub struct Witnessing {
    app: Arc<App>,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Per witness, the size it last cosigned, as far as this process knows (0 at start; a
    /// witness's 409 tells).
    known: tokio::sync::Mutex<HashMap<String, u64>>,
    timeout: Duration,
}

impl std::fmt::Debug for Witnessing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witnessing").field("witnesses", &self.app.witness_rules().witnesses.len()).finish()
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ActionError> + Send + 'static,
) -> Result<T, ActionError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ActionError::BadRequest(format!("witnessing task failed: {e}")))?
}

impl Witnessing {
    pub fn new(app: Arc<App>) -> Witnessing {
        let https =
            hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
        Witnessing {
            app,
            client: Client::builder(TokioExecutor::new()).build(https),
            known: tokio::sync::Mutex::new(HashMap::new()),
            timeout: Duration::from_secs(10),
        }
    }

    /// Ask every witness about the latest checkpoint, unless the published one already has
    /// its size.
    pub async fn round(&self) -> Result<Round, ActionError> {
        if self.app.witness_rules().witnesses.is_empty() {
            return Ok(Round::default());
        }
        let app = Arc::clone(&self.app);
        let (latest, published) = blocking(move || {
            let latest = app.ledger().latest_checkpoint()?;
            Ok((latest, app.published_checkpoint()?))
        })
        .await?;
        let Some(latest) = latest else { return Ok(Round::default()) };
        if published.as_ref().is_some_and(|p| p.checkpoint.size >= latest.size) {
            return Ok(Round { size: Some(latest.size), published: true, ..Round::default() });
        }
        let mut round = Round { size: Some(latest.size), ..Round::default() };
        let mut lines = Vec::new();
        let mut known = self.known.lock().await;
        for witness in self.app.witness_rules().witnesses.clone() {
            match self.ask(&witness, &latest, &mut known).await {
                Ok(Some(line)) => {
                    round.cosigned.push(witness.name().to_string());
                    lines.push(line);
                }
                Ok(None) => {}
                Err(why) => {
                    tracing::error!(witness = witness.name(), size = latest.size, refusal = %why, "a witness refused the audit ledger's checkpoint");
                    let (app, name, size, what) =
                        (Arc::clone(&self.app), witness.name().to_string(), latest.size, why.clone());
                    if let Err(e) =
                        blocking(move || app.report_witness_refusal(&name, size, &what, Timestamp::now())).await
                    {
                        tracing::warn!(error = %e, "cannot report the witness's refusal");
                    }
                    round.refused.push((witness.name().to_string(), why));
                }
            }
        }
        drop(known);
        if !lines.is_empty() {
            let app = Arc::clone(&self.app);
            let checkpoint = latest.clone();
            let stored = blocking(move || app.record_cosignatures(&checkpoint, &lines, Timestamp::now())).await?;
            round.published = stored.is_some();
        }
        Ok(round)
    }

    /// One witness's cosignature line for `checkpoint`; `Ok(None)` when it could not be
    /// reached (tried again next round); `Err` with the refusal when it refused.
    async fn ask(
        &self,
        witness: &WitnessEndpoint,
        checkpoint: &StoredCheckpoint,
        known: &mut HashMap<String, u64>,
    ) -> Result<Option<String>, String> {
        let name = witness.name().to_string();
        for _ in 0..2 {
            let old = known.get(&name).copied().unwrap_or(0);
            let app = Arc::clone(&self.app);
            let stored = checkpoint.clone();
            let request = blocking(move || app.witness_request(&stored, old)).await.map_err(|e| e.to_string())?;
            let answer = match self.post(witness, request.encode()).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!(witness = %name, error = %e, "cannot reach a witness");
                    return Ok(None);
                }
            };
            match judge_answer(witness, &request, checkpoint.size, answer) {
                Step::Cosigned(line) => {
                    known.insert(name, checkpoint.size);
                    return Ok(Some(line));
                }
                Step::Retry { old } => {
                    known.insert(name.clone(), old);
                }
                Step::Refused(why) => return Err(why),
                Step::Ignore(why) => {
                    tracing::warn!(witness = %name, "{why}");
                    return Ok(None);
                }
            }
        }
        Ok(None)
    }

    async fn post(&self, witness: &WitnessEndpoint, body: String) -> Result<WitnessAnswer, String> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(witness.add_checkpoint_url())
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(header::USER_AGENT, concat!("tokutei/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {} s", self.timeout.as_secs()))?
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = tokio::time::timeout(self.timeout, response.into_body().collect())
            .await
            .map_err(|_| "the answer did not end in time".to_string())?
            .map_err(|e| e.to_string())?
            .to_bytes();
        let body = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).into_owned();
        Ok(match status {
            200 => WitnessAnswer::Cosigned(body),
            409 => match parse_conflict_size(&body) {
                Some(size) => WitnessAnswer::Conflict(size),
                None => WitnessAnswer::Refused(409, "without a size".into()),
            },
            other => WitnessAnswer::Refused(other, body.lines().next().unwrap_or_default().to_string()),
        })
    }

    /// Run rounds every `every` until the task is dropped; failures are logged and the next
    /// round tries again.
    pub async fn run(self: Arc<Self>, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "witnessing round failed");
            }
        }
    }
}
