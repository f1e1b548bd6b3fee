//! Prometheus metrics at `/metrics`, in the text exposition format: request counts by route
//! and status class, request latency sums, and store-derived gauges.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{AppError, AppState};

/// A route template and a status class (`2xx`…).
type RouteStatus = (String, &'static str);

/// How many requests and how long they took in total, in seconds.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    count: u64,
    seconds: f64,
}

/// Counters kept in memory per process (each instance exposes its own).
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RouteStatus, Tally>>,
    /// Gateway decisions by (purpose, allow/deny): ids only, never subscribers.
    decisions: Mutex<BTreeMap<(String, &'static str), u64>>,
    api_authenticated: std::sync::atomic::AtomicU64,
}

impl Metrics {
    pub(crate) fn api_authenticated(&self) {
        self.api_authenticated.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn gateway_decisions(&self, outcome: &tokutei_app::AccessOutcome) {
        let Some(purpose) = outcome.purpose.as_deref() else { return };
        let mut map = self.decisions.lock().unwrap_or_else(|e| e.into_inner());
        for item in outcome.subscribers.iter().flat_map(|s| &s.items) {
            let decision = if item.allowed { "allow" } else { "deny" };
            *map.entry((purpose.to_string(), decision)).or_default() += 1;
        }
    }

    fn observe(&self, route: String, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let tally = map.entry((route, class)).or_default();
        tally.count += 1;
        tally.seconds += seconds;
    }
}

pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // The matched route template (e.g. `/policy/versions/{number}`), never the raw path, so
    // that nothing a client typed ends up in the metrics.
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

pub(crate) async fn render(State(state): State<AppState>) -> Result<Response, AppError> {
    let versions = state.blocking(|b| b.policy_versions()).await?;
    let mut out = String::new();
    out.push_str("# HELP tokutei_http_requests_total HTTP requests handled, by route and status class.\n");
    out.push_str("# TYPE tokutei_http_requests_total counter\n");
    let snapshot = state.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for ((route, class), tally) in &snapshot {
        let _ = writeln!(out, "tokutei_http_requests_total{{route=\"{route}\",status=\"{class}\"}} {}", tally.count);
    }
    out.push_str("# HELP tokutei_http_request_seconds_sum Total time spent handling requests.\n");
    out.push_str("# TYPE tokutei_http_request_seconds_sum counter\n");
    for ((route, class), tally) in &snapshot {
        let _ = writeln!(
            out,
            "tokutei_http_request_seconds_sum{{route=\"{route}\",status=\"{class}\"}} {:.6}",
            tally.seconds
        );
    }
    out.push_str("# HELP tokutei_gateway_decisions_total Gateway decisions per category, by purpose and outcome.\n");
    out.push_str("# TYPE tokutei_gateway_decisions_total counter\n");
    let decisions = state.metrics.decisions.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for ((purpose, decision), n) in &decisions {
        let _ = writeln!(out, "tokutei_gateway_decisions_total{{purpose=\"{purpose}\",decision=\"{decision}\"}} {n}");
    }
    out.push_str("# HELP tokutei_api_authenticated_total API requests with a valid token.\n");
    out.push_str("# TYPE tokutei_api_authenticated_total counter\n");
    let _ = writeln!(
        out,
        "tokutei_api_authenticated_total {}",
        state.metrics.api_authenticated.load(std::sync::atomic::Ordering::Relaxed)
    );
    out.push_str("# HELP tokutei_policy_versions Published policy versions.\n");
    out.push_str("# TYPE tokutei_policy_versions gauge\n");
    let _ = writeln!(out, "tokutei_policy_versions {}", versions.len());
    if state.ledger.is_some() {
        let size = state.ledger(|l| l.tree_size()).await?;
        out.push_str("# HELP tokutei_ledger_entries Entries in the audit ledger.\n");
        out.push_str("# TYPE tokutei_ledger_entries gauge\n");
        let _ = writeln!(out, "tokutei_ledger_entries {size}");
    }
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response())
}
