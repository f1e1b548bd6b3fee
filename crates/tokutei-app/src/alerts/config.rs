//! Where alerts go and how often they are tried: the `[alerts]` table of the data directory's
//! `deployment.toml`, read by the binary and handed to [`crate::App::with_alerts`].
//!
//! Why the deployment file and not the console's settings: the webhook's signing secret and
//! the SMTP relay are infrastructure (the secret must never reach the database, its backups
//! or the console), and a recipient's e-mail address is a person's data, while every change of
//! a setting is written to the audit ledger with its old and new value — the ledger carries
//! ids only. Every `serve` instance of a deployment reads the same file (like `cedar/` and the
//! keys), so they all deliver alike.
//!
//! ```toml
//! [alerts]
//! max_attempts = 8             # then the alert has failed (a person may re-queue it)
//! retry_after_seconds = 60     # the first retry; each next one waits twice as long …
//! retry_cap_seconds = 3600     # … but never longer than this
//!
//! [alerts.webhook]
//! url = "http://alert-relay.internal:8080/tokutei"
//! secret_file = "keys/alert-webhook.secret"   # relative to the data directory, 0600
//! timeout_seconds = 10
//!
//! [alerts.email]
//! relay = "smtp.internal"
//! port = 25
//! starttls = false
//! from = "tokutei@carrier.example"
//! to = ["privacy-office@carrier.example"]
//! timeout_seconds = 30
//! ```

use std::path::PathBuf;

use jiff::SignedDuration;
use serde::Deserialize;
use tokutei_store::outbox::AlertChannel;

use crate::error::{ActionError, ActionResult};

/// The `[alerts]` table; every field has a default, and no channel is configured by default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// Attempts before an alert has failed (1–100).
    pub max_attempts: u32,
    /// The wait before the first retry, in seconds; each further retry waits twice as long.
    pub retry_after_seconds: u64,
    /// The longest wait between two attempts, in seconds.
    pub retry_cap_seconds: u64,
    pub webhook: Option<WebhookConfig>,
    pub email: Option<EmailConfig>,
}

impl Default for AlertConfig {
    fn default() -> AlertConfig {
        AlertConfig { max_attempts: 8, retry_after_seconds: 60, retry_cap_seconds: 3600, webhook: None, email: None }
    }
}

/// Alerts as an HTTP POST of a JSON document signed with HMAC-SHA256.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://…` (or `https://…`).
    pub url: String,
    /// The file holding the signing secret (relative to the data directory when not absolute).
    pub secret_file: PathBuf,
    /// How long one attempt may take, in seconds.
    #[serde(default = "default_webhook_timeout")]
    pub timeout_seconds: u64,
}

fn default_webhook_timeout() -> u64 {
    10
}

/// Alerts as e-mail through the deployment's SMTP relay.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The relay's host name or address.
    pub relay: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Upgrade the connection with STARTTLS (required when set).
    #[serde(default)]
    pub starttls: bool,
    /// The sender address.
    pub from: String,
    /// The privacy office's addresses; each gets its own alert.
    pub to: Vec<String>,
    /// How long one attempt may take, in seconds.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_seconds: u64,
}

fn default_smtp_port() -> u16 {
    25
}

fn default_smtp_timeout() -> u64 {
    30
}

/// An e-mail address as alerts accept it: `local@domain.tld`, no white space or control
/// character, at most 254 characters.
pub fn is_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    text.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

/// Whether `url` is an `http://` or `https://` URL with a host, without white space.
fn is_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

impl AlertConfig {
    /// Check every field; the error names it (`alerts.webhook.url`).
    pub fn check(&self) -> ActionResult<()> {
        if !(1..=100).contains(&self.max_attempts) {
            return Err(ActionError::invalid("alerts.max_attempts", "must be between 1 and 100"));
        }
        if !(1..=86_400).contains(&self.retry_after_seconds) {
            return Err(ActionError::invalid("alerts.retry_after_seconds", "must be between 1 and 86400"));
        }
        if self.retry_cap_seconds < self.retry_after_seconds || self.retry_cap_seconds > 7 * 86_400 {
            return Err(ActionError::invalid(
                "alerts.retry_cap_seconds",
                "must be at least `retry_after_seconds` and at most 604800",
            ));
        }
        if let Some(w) = &self.webhook {
            if !is_url(&w.url) {
                return Err(ActionError::invalid("alerts.webhook.url", "must be an http:// or https:// URL"));
            }
            if !(1..=300).contains(&w.timeout_seconds) {
                return Err(ActionError::invalid("alerts.webhook.timeout_seconds", "must be between 1 and 300"));
            }
        }
        if let Some(e) = &self.email {
            if e.relay.trim().is_empty() || e.relay.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ActionError::invalid("alerts.email.relay", "must be a host name or address"));
            }
            if !is_address(&e.from) {
                return Err(ActionError::invalid("alerts.email.from", "must be an e-mail address"));
            }
            if e.to.is_empty() {
                return Err(ActionError::invalid("alerts.email.to", "must name at least one address"));
            }
            if let Some(n) = e.to.iter().position(|a| !is_address(a)) {
                return Err(ActionError::invalid(
                    "alerts.email.to",
                    format!("address {} is not an e-mail address", n + 1),
                ));
            }
            if !(1..=300).contains(&e.timeout_seconds) {
                return Err(ActionError::invalid("alerts.email.timeout_seconds", "must be between 1 and 300"));
            }
        }
        Ok(())
    }

    /// Every recipient, in order: the webhook, then each e-mail address.
    pub fn recipients(&self) -> Vec<(AlertChannel, String)> {
        let mut out = Vec::new();
        if let Some(w) = &self.webhook {
            out.push((AlertChannel::Webhook, w.url.clone()));
        }
        if let Some(e) = &self.email {
            out.extend(e.to.iter().map(|a| (AlertChannel::Email, a.clone())));
        }
        out
    }

    /// The wait after the `attempt`-th failed attempt (1-based): `retry_after_seconds`
    /// doubled for each attempt before it, at most `retry_cap_seconds`.
    pub fn retry_delay(&self, attempt: u32) -> SignedDuration {
        let doublings = attempt.saturating_sub(1).min(40);
        let seconds = self.retry_after_seconds.saturating_mul(1u64 << doublings).min(self.retry_cap_seconds);
        SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_up_to_its_cap() {
        let c = AlertConfig { retry_after_seconds: 60, retry_cap_seconds: 600, ..AlertConfig::default() };
        let secs: Vec<i64> = (1..=6).map(|n| c.retry_delay(n).as_secs()).collect();
        assert_eq!(secs, [60, 120, 240, 480, 600, 600]);
        assert_eq!(c.retry_delay(u32::MAX).as_secs(), 600);
    }

    #[test]
    fn the_deployment_table_is_read_with_defaults_and_checked_by_field() {
        let c: AlertConfig = toml::from_str(
            "max_attempts = 3\n[webhook]\nurl = \"http://127.0.0.1:9/hook\"\nsecret_file = \"keys/w.secret\"\n\
             [email]\nrelay = \"smtp.internal\"\nfrom = \"tokutei@example.jp\"\nto = [\"office@example.jp\"]\n",
        )
        .unwrap();
        assert_eq!((c.max_attempts, c.retry_after_seconds, c.retry_cap_seconds), (3, 60, 3600));
        assert_eq!(c.webhook.as_ref().unwrap().timeout_seconds, 10);
        let email = c.email.as_ref().unwrap();
        assert_eq!((email.port, email.starttls, email.timeout_seconds), (25, false, 30));
        c.check().unwrap();
        assert_eq!(
            c.recipients(),
            [
                (AlertChannel::Webhook, "http://127.0.0.1:9/hook".to_string()),
                (AlertChannel::Email, "office@example.jp".to_string())
            ]
        );
        assert!(toml::from_str::<AlertConfig>("max_attempt = 3").is_err(), "unknown keys are refused");
        let field = |c: AlertConfig| match c.check() {
            Err(ActionError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(AlertConfig { max_attempts: 0, ..c.clone() }), "alerts.max_attempts");
        assert_eq!(field(AlertConfig { retry_cap_seconds: 10, ..c.clone() }), "alerts.retry_cap_seconds");
        let mut bad = c.clone();
        bad.webhook.as_mut().unwrap().url = "ftp://x".into();
        assert_eq!(field(bad), "alerts.webhook.url");
        let mut bad = c.clone();
        bad.email.as_mut().unwrap().to.push("not an address".into());
        assert_eq!(field(bad), "alerts.email.to");
        let mut bad = c;
        bad.email.as_mut().unwrap().from = "nobody".into();
        assert_eq!(field(bad), "alerts.email.from");
    }
}
