//! HTTP for tokutei: the public site (policy page in Japanese and English, version history
//! with diffs, leak list, the inquiry form), health and metrics endpoints, the JSON API (the
//! gateway, the staff registry, the OpenAPI description) and the staff console. Pages are
//! rendered on the server (maud); the one stylesheet is embedded in the binary; nothing is
//! loaded from another origin. [`alerts`] delivers the alert outbox (signed webhooks, and
//! e-mail through an SMTP relay) for `serve`.
//!
//! Architecture Invariant: this is the only crate that knows HTTP. It reaches data only
//! through the store capability traits and the access service (every use of subscriber
//! information goes through `tokutei_app`), and renders policy text only through
//! `tokutei_policy::render`, so the page cannot drift from the enforced policy file.

pub mod alerts;
mod api;
mod console;
mod error;
mod inquiry;
mod limiter;
mod metrics;
mod openapi;
mod pages;
mod portal;
mod public;
pub mod routes;
mod security;
mod state;
pub mod witness;

use axum::Router;

pub use error::AppError;
pub use state::{AppState, Backend};

fn build() -> (Router<AppState>, Vec<routes::RouteInfo>) {
    let r = public::routes(routes::Routes::new());
    let r = inquiry::routes(r);
    let r = api::routes(r);
    let r = portal::routes(r);
    console::routes(r).finish()
}

/// Every route with who may use it (the same table the router is built from).
pub fn route_table() -> Vec<routes::RouteInfo> {
    build().1
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    build()
        .0
        .fallback(public::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::headers))
        .with_state(state)
}

/// The policy page as one self-contained HTML document, for `tokutei policy render`.
pub fn standalone_policy_page(doc: &tokutei_policy::render::Document) -> String {
    pages::policy::standalone(doc).into_string()
}

/// A self-inspection report as one self-contained, printable HTML document (Japanese), for
/// `tokutei inspection show --format html`; persons by the names in `names` (id → name).
pub fn standalone_inspection_page(
    report: &tokutei_app::oversight::inspection::InspectionView,
    names: &std::collections::HashMap<String, String>,
) -> String {
    console::oversight_inspections::standalone(report, names).into_string()
}

/// A version of the 情報取扱規程 as one self-contained, printable HTML document (Japanese), for
/// `tokutei rules show --format html`; persons by the names in `names` (id → name).
pub fn standalone_rules_page(
    rules: &tokutei_app::oversight::rules::RulesVersionView,
    names: &std::collections::HashMap<String, String>,
) -> String {
    console::oversight_rules::standalone(rules, names).into_string()
}

/// A data-subject request's document as one self-contained, printable HTML page (Japanese),
/// for `tokutei requests document --format html`; purposes and categories by the names of
/// `policy` (the one in force).
pub fn standalone_request_document(doc: &serde_json::Value, policy: Option<&tokutei_policy::Policy>) -> String {
    let title = format!("開示等の請求への回答 {}", doc["request"].as_str().unwrap_or_default());
    pages::standalone(tokutei_policy::Lang::Ja, &title, pages::requests::document(doc, policy)).into_string()
}

/// Serve `state` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
