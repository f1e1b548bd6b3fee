//! `tokutei alerts …`: the alert outbox — list it with each alert's delivery log, re-queue a
//! failed alert (`--by`, a manager), send a test alert to every configured recipient, and run
//! one delivery round now (what `serve` does every few seconds). The application functions
//! are `tokutei_app::alerts`'; the delivery is `tokutei_web::alerts`'.

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use tokutei_app::alerts::AlertView;
use tokutei_app::{Acting, AlertId};
use tokutei_store::outbox::AlertState;

use crate::audit_log::AuditLog;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// The outbox, newest first: each alert's state, attempts and delivery log.
    List {
        /// Only alerts in this state: pending, delivered or failed.
        #[arg(long, value_parser = parse_state)]
        state: Option<AlertState>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put a failed alert back in the queue (its attempts start again).
    Retry {
        /// The alert's id (`al-…`).
        id: String,
        /// Who re-queues it: a chief manager or responsible person.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
    /// Send a test alert to every configured recipient (the webhook and each e-mail address).
    Test {
        /// Who sends it: a chief manager or responsible person.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
    /// Deliver the alerts due now, once (as `serve` does on its own every few seconds).
    Deliver,
}

fn parse_state(text: &str) -> Result<AlertState, String> {
    AlertState::from_code(text).ok_or_else(|| format!("`{text}` is not a state; use pending, delivered or failed"))
}

fn view_text(v: &AlertView) -> String {
    let a = &v.alert;
    let title = v.document.as_ref().map_or(String::new(), |d| format!("  {} / {}", d.title.ja, d.title.en));
    let mut out = format!(
        "{}  {:<9} {:<7} {}  attempts {}  {} → {}{title}\n",
        a.alert.id,
        a.state.code(),
        a.alert.channel.code(),
        tokutei_policy::tokyo::minutes(a.alert.created_at),
        a.attempts,
        a.alert.subject,
        a.alert.recipient,
    );
    if a.state == AlertState::Pending {
        out.push_str(&format!("    next attempt {}\n", tokutei_policy::tokyo::minutes(a.next_attempt_at)));
    }
    for d in &v.deliveries {
        out.push_str(&format!(
            "    {}  {:<9} {:>4}  {} ms{}\n",
            tokutei_policy::tokyo::minutes(d.attempted_at),
            d.result.code(),
            d.status.map_or_else(|| "-".to_string(), |s| s.to_string()),
            d.duration_ms,
            d.error.as_deref().map_or_else(String::new, |e| format!("  {e}")),
        ));
    }
    out
}

pub fn run(global: &GlobalArgs, cmd: AlertsCommand) -> anyhow::Result<Report> {
    // Validate what was typed before opening anything.
    let retry = match &cmd {
        AlertsCommand::Retry { id, .. } => Some(AlertId::parse(id.as_str())?),
        _ => None,
    };
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    let app = crate::access::open_service(&data, &store, &audit)?;
    let now = jiff::Timestamp::now();
    match cmd {
        AlertsCommand::List { state, limit } => {
            let all = app.alerts(state, limit)?;
            let human: String =
                if all.is_empty() { "no alerts\n".to_string() } else { all.iter().map(view_text).collect() };
            Ok(Report::new(human, all.iter().map(AlertView::to_json).collect::<Vec<_>>()))
        }
        AlertsCommand::Retry { by, .. } => {
            let id = retry.context("the alert id was checked")?;
            app.retry_alert(&Acting::Person(by), &id, now)?;
            Ok(Report::new(
                format!("alert `{id}` is pending again\n"),
                serde_json::json!({ "id": id.as_str(), "state": "pending" }),
            ))
        }
        AlertsCommand::Test { by } => {
            let enqueued = app.test_alert(&Acting::Person(by), now)?;
            let human: String =
                enqueued.iter().map(|e| format!("{}  {}  enqueued\n", e.id, e.channel.code())).collect();
            let json: Vec<_> = enqueued
                .iter()
                .map(|e| serde_json::json!({ "id": e.id.as_str(), "channel": e.channel.code() }))
                .collect();
            Ok(Report::new(human, json))
        }
        AlertsCommand::Deliver => {
            let config = app.alert_config().clone();
            let secret = crate::access::webhook_secret(&data, &config)?;
            let deliverer = tokutei_web::alerts::Deliverer::new(Arc::new(app), secret)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the runtime")?;
            let tick = runtime.block_on(deliverer.tick(now))?;
            let human = format!(
                "{} due: {} delivered, {} to retry, {} failed{}\n",
                tick.claimed,
                tick.delivered,
                tick.retried,
                tick.failed,
                if tick.unrecorded > 0 { format!(", {} not recorded", tick.unrecorded) } else { String::new() }
            );
            let json = serde_json::json!({
                "claimed": tick.claimed,
                "delivered": tick.delivered,
                "retried": tick.retried,
                "failed": tick.failed,
                "unrecorded": tick.unrecorded,
            });
            Ok(Report::new(human, json).passed_if(tick.failed == 0 && tick.unrecorded == 0))
        }
    }
}
