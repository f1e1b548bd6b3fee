//! The alert outbox: how the registers with deadlines (incidents' reports, requests,
//! oversight) tell the responsible persons, by webhook and e-mail, with retries and a
//! delivery log.
//!
//! - [`App::enqueue_alert`] — validated, then one `alert_enqueued` entry per recipient durable,
//!   then the alerts stored; the same event for the same recipient is enqueued once (a dedupe
//!   key of the event, the channel and the recipient; the alert's id is derived from it, so
//!   two instances enqueuing at once name the same alert and store it once).
//! - [`App::claim_due`] — the delivering instance's claim of the alerts due now, each under a
//!   lease of [`LEASE`] (several `serve` instances on one database never claim one alert twice
//!   while its lease lasts; one that dies only delays its alerts until the lease ends).
//! - [`App::record_attempt`] — every attempt audited (`alert_attempted`: the attempt, the
//!   status code, delivered, retry and when, or failed), then logged; the retry policy of
//!   [`AlertConfig`] decides: exponential backoff with a cap, failed after `max_attempts`.
//! - [`App::retry_alert`] — a manager puts a failed alert back in the queue (`alert_requeued`);
//!   [`App::test_alert`] — a manager checks the channels with a test alert.
//! - [`App::alerts`] — the outbox for the console and the CLI, with each alert's delivery log.
//! - [`escalation`] — the deadline clocks: T−7, T−1 and overdue, each once.
//!
//! Delivery itself (HTTP, SMTP) is the web crate's (`tokutei_web::alerts`): it sends the
//! payload this module stored and reports the outcome here. The payload and the ledger carry
//! ids, codes, dates and the text written here — never a subscriber's personal data; the
//! recipients' addresses are in the outbox only, never in the ledger.

pub mod config;
pub mod escalation;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokutei_ledger::{Actor, AdminAction};
use tokutei_policy::Date;
use tokutei_store::outbox::{AlertChannel, AlertState, AttemptResult, DeliveryAttempt, NewAlert, StoredAlert};

pub use config::{AlertConfig, EmailConfig, WebhookConfig};

use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{AlertId, PrincipalId};

/// How long a claim holds an alert: longer than any attempt may take.
pub const LEASE: SignedDuration = SignedDuration::from_mins(10);

/// The most alerts one claim takes.
pub const MAX_CLAIM: usize = 100;

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// The longest text, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// The longest error kept in the delivery log, in characters.
const MAX_ERROR_CHARS: usize = 300;

/// The ledger actor of the delivering instances.
const OUTBOX: &str = "alert-outbox";

/// A text in Japanese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bilingual {
    pub ja: String,
    pub en: String,
}

/// An alert to send to every configured recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRequest {
    /// What it is about, as a code: lowercase letters, digits and `_`.
    pub kind: String,
    /// The object it concerns, by id (`incident/INC-1/obligation/appi-final`).
    pub subject: String,
    /// The event it reports, by id: what makes it unique (the same event is enqueued once per
    /// recipient).
    pub event: String,
    pub title: Bilingual,
    pub text: Bilingual,
    /// The deadline it concerns, if any.
    pub due: Option<Date>,
    /// The persons responsible, by principal id (named in the document for the receiver).
    pub responsible: Vec<PrincipalId>,
    /// Further codes and ids (`stage` → `t-7`).
    pub details: Vec<(String, String)>,
}

/// The document an alert sends: the webhook's JSON body as stored, and the source of the
/// e-mail's subject and text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDocument {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub event: String,
    pub created_at: Timestamp,
    pub title: Bilingual,
    pub text: Bilingual,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(default)]
    pub responsible: Vec<String>,
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

impl AlertDocument {
    /// The e-mail's subject: the Japanese title, then the English one.
    pub fn email_subject(&self) -> String {
        format!("[tokutei] {} / {}", self.title.ja, self.title.en)
    }

    /// The e-mail's plain text: Japanese first, then English, then the ids.
    pub fn email_text(&self) -> String {
        let mut out = format!("{}\n\n{}\n\n{}\n\n{}\n\n", self.title.ja, self.text.ja, self.title.en, self.text.en);
        out.push_str(&format!("対象 subject: {}\n", self.subject));
        if let Some(due) = &self.due {
            out.push_str(&format!("期限 due: {due}\n"));
        }
        if !self.responsible.is_empty() {
            out.push_str(&format!("責任者 responsible: {}\n", self.responsible.join(", ")));
        }
        for (key, value) in &self.details {
            out.push_str(&format!("{key}: {value}\n"));
        }
        out.push_str(&format!("alert: {}  ({})\n", self.id, self.kind));
        out
    }
}

/// One alert [`App::enqueue_alert`] put (or found) in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub id: AlertId,
    pub channel: AlertChannel,
    /// `false` when the same event had been enqueued for this recipient before.
    pub created: bool,
}

/// An alert claimed for delivery: where it goes and what to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: AlertId,
    pub channel: AlertChannel,
    /// The webhook URL or the e-mail address.
    pub recipient: String,
    /// This attempt's number (1 for the first since the alert was (re)queued).
    pub attempt: u32,
    /// The JSON document as stored (the webhook's body, byte for byte on every attempt).
    pub payload: String,
    pub document: AlertDocument,
}

/// What one delivery attempt came to, as the deliverer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The recipient accepted it (a 2xx answer, SMTP's 250).
    pub delivered: bool,
    /// The HTTP status or SMTP reply code, when there was an answer.
    pub status: Option<u16>,
    /// What went wrong, when it did (kept in the delivery log, never in the ledger).
    pub error: Option<String>,
    pub duration: std::time::Duration,
}

/// An alert with its delivery log, for the console and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertView {
    pub alert: StoredAlert,
    /// The stored payload, read back (`None` when it does not decode).
    pub document: Option<AlertDocument>,
    pub deliveries: Vec<DeliveryAttempt>,
}

impl AlertView {
    /// The alert as the CLI's `--json` and the API give it: id, kind, subject, channel,
    /// recipient, state, attempts, times, the document's title and due date, and the delivery
    /// log (each attempt's time, duration, status, error, result, next attempt, ledger index).
    pub fn to_json(&self) -> serde_json::Value {
        let a = &self.alert;
        serde_json::json!({
            "id": a.alert.id,
            "kind": a.alert.kind,
            "subject": a.alert.subject,
            "channel": a.alert.channel.code(),
            "recipient": a.alert.recipient,
            "state": a.state.code(),
            "attempts": a.attempts,
            "created_at": a.alert.created_at.to_string(),
            "next_attempt_at": (a.state == AlertState::Pending).then(|| a.next_attempt_at.to_string()),
            "title": self.document.as_ref().map(|d| serde_json::json!({ "ja": d.title.ja, "en": d.title.en })),
            "due": self.document.as_ref().and_then(|d| d.due.clone()),
            "deliveries": self.deliveries.iter().map(|d| serde_json::json!({
                "at": d.attempted_at.to_string(),
                "duration_ms": d.duration_ms,
                "status": d.status,
                "error": d.error,
                "result": d.result.code(),
                "next_attempt_at": match d.result { AttemptResult::Retry(at) => Some(at.to_string()), _ => None },
                "audit_index": d.audit_index,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The id of the alert with `dedupe_key`: `al-` and the first 12 hex digits of its SHA-256.
fn alert_id(dedupe_key: &str) -> AlertId {
    AlertId::known(format!("al-{}", &hex::encode(Sha256::digest(dedupe_key.as_bytes()))[..12]))
}

fn subject(id: &AlertId) -> String {
    format!("alert/{id}")
}

/// Ids, codes and dates: letters, digits and `._:/-`, 1–200 characters.
fn check_code(field: &'static str, text: &str, max: usize) -> ActionResult<()> {
    if text.is_empty() || text.chars().count() > max {
        return Err(ActionError::invalid(field, format!("must be 1–{max} characters")));
    }
    if !text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-')) {
        return Err(ActionError::invalid(field, "must be letters, digits and `._:/-`"));
    }
    Ok(())
}

fn check_text(field: &'static str, text: &str, max: usize, lines: bool) -> ActionResult<()> {
    if text.trim().is_empty() || text.chars().count() > max {
        return Err(ActionError::invalid(field, format!("must be 1–{max} characters")));
    }
    if text.chars().any(|c| c.is_control() && !(lines && c == '\n')) {
        return Err(ActionError::invalid(field, "must not hold control characters"));
    }
    Ok(())
}

fn check_request(r: &AlertRequest) -> ActionResult<()> {
    if r.kind.is_empty()
        || r.kind.len() > 40
        || !r.kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ActionError::invalid("kind", "must be 1–40 lowercase letters, digits and `_`"));
    }
    check_code("subject", &r.subject, 200)?;
    check_code("event", &r.event, 200)?;
    check_text("title.ja", &r.title.ja, MAX_TITLE_CHARS, false)?;
    check_text("title.en", &r.title.en, MAX_TITLE_CHARS, false)?;
    check_text("text.ja", &r.text.ja, MAX_TEXT_CHARS, true)?;
    check_text("text.en", &r.text.en, MAX_TEXT_CHARS, true)?;
    if r.details.len() > 20 {
        return Err(ActionError::invalid("details", "at most 20"));
    }
    for (key, value) in &r.details {
        check_code("details", key, 40)?;
        check_code("details", value, 100)?;
    }
    if r.responsible.len() > 20 {
        return Err(ActionError::invalid("responsible", "at most 20"));
    }
    Ok(())
}

/// An error as kept in the delivery log: one line, at most [`MAX_ERROR_CHARS`] characters.
fn log_error(error: &str) -> String {
    error.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_ERROR_CHARS).collect()
}

impl App {
    /// Where alerts go and how often they are tried (checked with [`AlertConfig::check`] by the
    /// caller).
    pub fn with_alerts(mut self, config: AlertConfig) -> App {
        self.alerts = config;
        self
    }

    /// The alert configuration in force.
    pub fn alert_config(&self) -> &AlertConfig {
        &self.alerts
    }

    /// Put `request` in the outbox for every configured recipient, by `by` (a manager, or the
    /// deployment's own schedules as [`Acting::Setup`]). Validated first; a recipient that had
    /// this event already is left alone; then one `alert_enqueued` entry per new alert, durable
    /// in one batch, before any is stored. With no channel configured: a conflict.
    pub fn enqueue_alert(&self, by: &Acting, request: &AlertRequest, now: Timestamp) -> ActionResult<Vec<Enqueued>> {
        let actor = self.authorize(by, MANAGERS, "enqueue an alert")?;
        check_request(request)?;
        let recipients = self.alerts.recipients();
        if recipients.is_empty() {
            return Err(ActionError::Conflict(
                "no alert channel is configured (`[alerts]` in the data directory's deployment.toml)".into(),
            ));
        }
        let mut out = Vec::new();
        let mut new = Vec::new();
        for (channel, recipient) in recipients {
            let key = format!("{}|{}:{}", request.event, channel.code(), recipient);
            if let Some(found) = self.stores().alert_by_key(&key)? {
                out.push(Enqueued { id: AlertId::known(found.alert.id), channel, created: false });
                continue;
            }
            let id = alert_id(&key);
            let document = AlertDocument {
                id: id.to_string(),
                kind: request.kind.clone(),
                subject: request.subject.clone(),
                event: request.event.clone(),
                created_at: now,
                title: request.title.clone(),
                text: request.text.clone(),
                due: request.due.map(|d| d.to_string()),
                responsible: request.responsible.iter().map(|p| p.to_string()).collect(),
                details: request.details.iter().cloned().collect(),
            };
            let payload = serde_json::to_string(&document)
                .map_err(|e| ActionError::BadRequest(format!("the alert does not serialise: {e}")))?;
            let entry = AdminEntry::new(AdminAction::AlertEnqueued, subject(&id))
                .digest(Sha256::digest(payload.as_bytes()).into())
                .detail("kind", &request.kind)
                .detail("about", &request.subject)
                .detail("event", &request.event)
                .detail("channel", channel.code());
            new.push((id, channel, recipient, key, payload, entry));
        }
        if new.is_empty() {
            return Ok(out);
        }
        let entries: Vec<_> = new.iter().map(|n| n.5.clone().entry(actor.clone(), now)).collect();
        let appended = self.ledger().append_batch(&entries).map_err(ActionError::Audit)?;
        for ((id, channel, recipient, key, payload, _), appended) in new.into_iter().zip(appended) {
            let stored = NewAlert {
                id: id.to_string(),
                kind: request.kind.clone(),
                subject: request.subject.clone(),
                dedupe_key: key,
                channel,
                recipient,
                payload,
                created_at: now,
                audit_index: appended.index,
            };
            // Another instance may have enqueued the same event a moment ago: it names the
            // same id, and the outbox keeps one.
            let created = self.stores().add_alert(&stored)?;
            out.push(Enqueued { id, channel, created });
        }
        Ok(out)
    }

    /// Send a test alert to every configured recipient, by `by` (a manager): the check that
    /// the channels work (`tokutei alerts test`). Audited and stored as any alert.
    pub fn test_alert(&self, by: &Acting, now: Timestamp) -> ActionResult<Vec<Enqueued>> {
        let who = match by {
            Acting::Person(id) => id.clone(),
            Acting::Setup(name) => (*name).to_string(),
        };
        let responsible = match by {
            Acting::Person(id) => vec![PrincipalId::parse_as("by", id.as_str())?],
            Acting::Setup(_) => Vec::new(),
        };
        let request = AlertRequest {
            kind: "test".into(),
            subject: "deployment".into(),
            event: format!("test/{}", now.as_microsecond()),
            title: Bilingual { ja: "通知の試験".into(), en: "Test alert".into() },
            text: Bilingual {
                ja: format!("{who}さんが送った試験の通知です。届いていれば通知の設定は正しく動作しています。"),
                en: format!("A test alert sent by {who}. If it arrived, alerts work."),
            },
            due: None,
            responsible,
            details: Vec::new(),
        };
        self.enqueue_alert(by, &request, now)
    }

    /// Claim up to `limit` (at most [`MAX_CLAIM`]) alerts due at `now` for delivery, each for
    /// [`LEASE`]. The claim itself is not audited: the attempt that follows is.
    pub fn claim_due(&self, now: Timestamp, limit: usize) -> ActionResult<Vec<Claimed>> {
        let until = now.checked_add(LEASE).map_err(|e| ActionError::BadRequest(format!("`now`: {e}")))?;
        let claimed = self.stores().claim_alerts(now, until, limit.min(MAX_CLAIM))?;
        claimed
            .into_iter()
            .map(|a| {
                let document: AlertDocument = serde_json::from_str(&a.alert.payload)
                    .map_err(|e| tokutei_store::StoreError::Corrupt(format!("alert `{}` payload: {e}", a.alert.id)))?;
                Ok(Claimed {
                    id: AlertId::known(a.alert.id),
                    channel: a.alert.channel,
                    recipient: a.alert.recipient,
                    attempt: a.attempts.saturating_add(1),
                    payload: a.alert.payload,
                    document,
                })
            })
            .collect()
    }

    /// Record one delivery attempt of alert `id` at `now`: the retry policy decides what comes
    /// next (delivered; failed after `max_attempts`; otherwise due again after the backoff),
    /// an `alert_attempted` entry is durable, then the attempt is logged and the alert moved
    /// on. An alert another instance finished meanwhile keeps its state.
    pub fn record_attempt(
        &self,
        id: &AlertId,
        outcome: &AttemptOutcome,
        now: Timestamp,
    ) -> ActionResult<AttemptResult> {
        let alert = self.stores().alert(id.as_str())?.ok_or_else(|| ActionError::NotFound(format!("alert `{id}`")))?;
        let attempt = alert.attempts.saturating_add(1);
        let result = if outcome.delivered {
            AttemptResult::Delivered
        } else if attempt >= self.alerts.max_attempts {
            AttemptResult::Failed
        } else {
            let next = now
                .checked_add(self.alerts.retry_delay(attempt))
                .map_err(|e| ActionError::BadRequest(format!("`now`: {e}")))?;
            AttemptResult::Retry(next)
        };
        let mut entry = AdminEntry::new(AdminAction::AlertAttempted, subject(id))
            .detail("attempt", attempt)
            .detail("status", outcome.status.map_or_else(|| "none".to_string(), |s| s.to_string()))
            .detail("result", result.code());
        if let AttemptResult::Retry(next) = result {
            entry = entry.detail("next", next);
        }
        let audit_index = self.audit_admin(Actor::System(OUTBOX.into()), entry, now)?;
        self.stores().record_delivery(&DeliveryAttempt {
            alert: id.to_string(),
            attempted_at: now,
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
            status: outcome.status,
            error: outcome.error.as_deref().map(log_error),
            result,
            audit_index,
        })?;
        Ok(result)
    }

    /// Put failed alert `id` back in the queue, due at `now`, by `by` (a manager): refused
    /// for an alert that has not failed; `alert_requeued` durable before the change.
    pub fn retry_alert(&self, by: &Acting, id: &AlertId, now: Timestamp) -> ActionResult<()> {
        let actor = self.authorize(by, MANAGERS, "re-queue an alert")?;
        let alert = self.stores().alert(id.as_str())?.ok_or_else(|| ActionError::NotFound(format!("alert `{id}`")))?;
        if alert.state != AlertState::Failed {
            return Err(ActionError::Conflict(format!(
                "alert `{id}` is {}; only a failed alert is re-queued",
                alert.state.code()
            )));
        }
        let entry = AdminEntry::new(AdminAction::AlertRequeued, subject(id))
            .detail("attempts", alert.attempts)
            .detail("channel", alert.alert.channel.code());
        self.audit_admin(actor, entry, now)?;
        self.stores().requeue_alert(id.as_str(), now)?;
        Ok(())
    }

    /// The outbox, newest first: alerts in `state` (all when `None`), at most `limit`, each
    /// with its delivery log.
    pub fn alerts(&self, state: Option<AlertState>, limit: usize) -> ActionResult<Vec<AlertView>> {
        let alerts = self.stores().alerts(state, limit)?;
        alerts.into_iter().map(|alert| self.alert_view(alert)).collect()
    }

    /// One alert with its delivery log.
    pub fn alert(&self, id: &AlertId) -> ActionResult<AlertView> {
        let alert = self.stores().alert(id.as_str())?.ok_or_else(|| ActionError::NotFound(format!("alert `{id}`")))?;
        self.alert_view(alert)
    }

    fn alert_view(&self, alert: StoredAlert) -> ActionResult<AlertView> {
        let deliveries = self.stores().alert_deliveries(&alert.alert.id)?;
        let document = serde_json::from_str(&alert.alert.payload).ok();
        Ok(AlertView { alert, document, deliveries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_ids_come_from_the_dedupe_key() {
        let id = alert_id("incident/INC-1/due/2026-06-30/t-7|webhook:http://x/");
        assert_eq!(id, alert_id("incident/INC-1/due/2026-06-30/t-7|webhook:http://x/"));
        assert_ne!(id, alert_id("incident/INC-1/due/2026-06-30/t-1|webhook:http://x/"));
        AlertId::parse(id.as_str()).unwrap();
        assert!(AlertId::parse("al-XYZ").is_err());
    }

    #[test]
    fn errors_are_kept_on_one_short_line() {
        assert_eq!(log_error("550 no\r\nsuch"), "550 no  such");
        assert_eq!(log_error(&"x".repeat(1000)).chars().count(), MAX_ERROR_CHARS);
    }
}
