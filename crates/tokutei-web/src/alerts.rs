//! Delivering the alert outbox (`tokutei_app::alerts`): a webhook (an HTTP POST of the alert's
//! JSON document, signed with HMAC-SHA256) and e-mail through the deployment's SMTP relay
//! (`lettre`, STARTTLS when configured). [`Deliverer::tick`] claims the alerts due, sends each
//! (at once, each within its timeout) and reports every outcome to the application layer,
//! which audits it and applies the retry policy; [`run`] is `serve`'s loop around it and the
//! escalation scan. Tests drive [`Deliverer::tick`] with the time they choose: nothing here
//! sleeps except [`run`]'s interval.
//!
//! The webhook request carries the stored document byte for byte (the same body on every
//! attempt; a receiver deduplicates by its `id`) and these headers:
//!
//! - `X-Tokutei-Alert`: the alert's id; `X-Tokutei-Attempt`: the attempt's number;
//! - `X-Tokutei-Timestamp`: the attempt's time in Unix seconds;
//! - `X-Tokutei-Signature`: `sha256=` and the lowercase hex HMAC-SHA256, under the configured
//!   secret, of the timestamp, a `.`, and the body.
//!
//! `http://` and `https://` URLs both work (rustls with the webpki roots). Delivery is at least
//! once: an attempt whose outcome could not be recorded is tried again when its claim ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, Request, header};
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use tokutei_app::alerts::{AttemptOutcome, Claimed, MAX_CLAIM};
use tokutei_app::{ActionError, App};
use tokutei_store::outbox::{AlertChannel, AttemptResult};
use zeroize::Zeroizing;

/// The shortest webhook secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// Why delivery cannot be set up from the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The webhook is configured but its secret is missing or too short.
    #[error("`alerts.webhook.secret_file`: the secret must hold at least {MIN_SECRET_BYTES} bytes")]
    Secret,
    /// The sender address does not parse.
    #[error("`alerts.email.from`: {0}")]
    From(String),
    /// The relay's TLS parameters cannot be built.
    #[error("`alerts.email.relay`: {0}")]
    Relay(String),
}

/// How one tick went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    /// Attempts whose outcome could not be recorded (tried again when the claim ends).
    pub unrecorded: usize,
}

struct Webhook {
    secret: Zeroizing<Vec<u8>>,
    timeout: Duration,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

struct Inner {
    app: Arc<App>,
    webhook: Option<Webhook>,
    mailer: Option<Mailer>,
}

/// The delivery of one deployment's outbox. Cheap to clone.
#[derive(Clone)]
pub struct Deliverer(Arc<Inner>);

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("webhook", &self.0.webhook.is_some())
            .field("email", &self.0.mailer.is_some())
            .finish_non_exhaustive()
    }
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds) under `secret`:
/// `sha256=` and the hex HMAC-SHA256 of `"{timestamp}.{body}"`. Receivers compute the same.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // INVARIANT: HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// An error with its causes, on one line.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

impl Deliverer {
    /// The delivery of `app`'s outbox as its alert configuration says; `webhook_secret` is the
    /// content of the webhook's secret file (needed when a webhook is configured).
    pub fn new(app: Arc<App>, webhook_secret: Option<Vec<u8>>) -> Result<Deliverer, DeliveryError> {
        let config = app.alert_config().clone();
        let webhook = match &config.webhook {
            None => None,
            Some(w) => {
                let secret = Zeroizing::new(webhook_secret.unwrap_or_default());
                if secret.len() < MIN_SECRET_BYTES {
                    return Err(DeliveryError::Secret);
                }
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_webpki_roots()
                    .https_or_http()
                    .enable_http1()
                    .build();
                let client = Client::builder(TokioExecutor::new()).build(https);
                Some(Webhook { secret, timeout: Duration::from_secs(w.timeout_seconds), client })
            }
        };
        let mailer = match &config.email {
            None => None,
            Some(e) => {
                let from: Mailbox = e
                    .from
                    .parse()
                    .map_err(|err: lettre::address::AddressError| DeliveryError::From(err.to_string()))?;
                let timeout = Duration::from_secs(e.timeout_seconds);
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(e.relay.as_str())
                    .port(e.port)
                    .timeout(Some(timeout));
                if e.starttls {
                    let tls =
                        TlsParameters::new(e.relay.clone()).map_err(|err| DeliveryError::Relay(err.to_string()))?;
                    builder = builder.tls(Tls::Required(tls));
                }
                Some(Mailer { transport: builder.build(), from, timeout })
            }
        };
        Ok(Deliverer(Arc::new(Inner { app, webhook, mailer })))
    }

    /// Claim the alerts due at `now`, send each, and record every outcome (at `now`, so the
    /// retry policy counts from the tick). Failures of single alerts are outcomes, not errors;
    /// an error is the outbox itself failing (the claim).
    pub async fn tick(&self, now: Timestamp) -> Result<Tick, ActionError> {
        let app = Arc::clone(&self.0.app);
        let claimed = tokio::task::spawn_blocking(move || app.claim_due(now, MAX_CLAIM))
            .await
            .map_err(|e| ActionError::BadRequest(format!("the claim task failed: {e}")))??;
        let mut tick = Tick { claimed: claimed.len(), ..Tick::default() };
        let mut sending = tokio::task::JoinSet::new();
        for alert in claimed {
            let this = self.clone();
            sending.spawn(async move {
                let outcome = this.send(&alert, now).await;
                (alert, outcome)
            });
        }
        while let Some(sent) = sending.join_next().await {
            let Ok((alert, outcome)) = sent else {
                tick.unrecorded += 1;
                continue;
            };
            let app = Arc::clone(&self.0.app);
            let id = alert.id.clone();
            let recorded = tokio::task::spawn_blocking(move || app.record_attempt(&id, &outcome, now)).await;
            match recorded {
                Ok(Ok(AttemptResult::Delivered)) => tick.delivered += 1,
                Ok(Ok(AttemptResult::Retry(_))) => tick.retried += 1,
                Ok(Ok(AttemptResult::Failed)) => {
                    tracing::warn!(alert = %alert.id, channel = alert.channel.code(), "alert failed after its last attempt");
                    tick.failed += 1;
                }
                Ok(Err(err)) => {
                    tracing::warn!(alert = %alert.id, error = %err, "the delivery attempt could not be recorded");
                    tick.unrecorded += 1;
                }
                Err(err) => {
                    tracing::warn!(alert = %alert.id, error = %err, "the delivery attempt could not be recorded");
                    tick.unrecorded += 1;
                }
            }
        }
        Ok(tick)
    }

    /// Run the escalation scan at `now` (the registers' open clocks); returns how many alerts
    /// it enqueued.
    pub async fn escalate(&self, now: Timestamp) -> Result<usize, ActionError> {
        let app = Arc::clone(&self.0.app);
        let escalated = tokio::task::spawn_blocking(move || app.escalate_open_clocks(now))
            .await
            .map_err(|e| ActionError::BadRequest(format!("the escalation task failed: {e}")))??;
        Ok(escalated.iter().filter(|e| e.created).map(|e| e.alerts.len()).sum())
    }

    async fn send(&self, alert: &Claimed, now: Timestamp) -> AttemptOutcome {
        let started = Instant::now();
        let (delivered, status, error) = match alert.channel {
            AlertChannel::Webhook => self.post(alert, now).await,
            AlertChannel::Email => self.mail(alert).await,
        };
        AttemptOutcome { delivered, status, error, duration: started.elapsed() }
    }

    async fn post(&self, alert: &Claimed, now: Timestamp) -> (bool, Option<u16>, Option<String>) {
        let Some(webhook) = &self.0.webhook else {
            return (false, None, Some("no webhook is configured".into()));
        };
        let timestamp = now.as_second();
        let request = Request::builder()
            .method(Method::POST)
            .uri(alert.recipient.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, concat!("tokutei/", env!("CARGO_PKG_VERSION")))
            .header("x-tokutei-alert", alert.id.as_str())
            .header("x-tokutei-attempt", alert.attempt.to_string())
            .header("x-tokutei-timestamp", timestamp.to_string())
            .header("x-tokutei-signature", signature(&webhook.secret, timestamp, alert.payload.as_bytes()))
            .body(Full::new(Bytes::from(alert.payload.clone())));
        let request = match request {
            Ok(r) => r,
            Err(e) => return (false, None, Some(format!("the webhook URL does not fit a request: {e}"))),
        };
        match tokio::time::timeout(webhook.timeout, webhook.client.request(request)).await {
            Err(_) => (false, None, Some(format!("no answer within {} s", webhook.timeout.as_secs()))),
            Ok(Err(e)) => (false, None, Some(chain(&e))),
            Ok(Ok(response)) => {
                let status = response.status();
                let error = (!status.is_success()).then(|| format!("HTTP {}", status.as_u16()));
                (status.is_success(), Some(status.as_u16()), error)
            }
        }
    }

    async fn mail(&self, alert: &Claimed) -> (bool, Option<u16>, Option<String>) {
        let Some(mailer) = &self.0.mailer else {
            return (false, None, Some("no e-mail relay is configured".into()));
        };
        let to: Mailbox = match alert.recipient.parse() {
            Ok(to) => to,
            Err(e) => return (false, None, Some(format!("the recipient is not an address: {e}"))),
        };
        let message = Message::builder()
            .from(mailer.from.clone())
            .to(to)
            .subject(alert.document.email_subject())
            .header(ContentType::TEXT_PLAIN)
            .body(alert.document.email_text());
        let message = match message {
            Ok(m) => m,
            Err(e) => return (false, None, Some(format!("the message cannot be built: {e}"))),
        };
        match tokio::time::timeout(mailer.timeout, mailer.transport.send(message)).await {
            Err(_) => (false, None, Some(format!("no answer within {} s", mailer.timeout.as_secs()))),
            Ok(Ok(response)) => (response.is_positive(), Some(u16::from(response.code())), None),
            Ok(Err(e)) => (false, e.status().map(u16::from), Some(chain(&e))),
        }
    }
}

/// `serve`'s loop: a delivery tick every `every`, the escalation scan every `escalate_every`
/// (both at once when started). Failures are logged and tried again at the next tick.
pub async fn run(deliverer: Deliverer, every: Duration, escalate_every: Duration) {
    let mut deliver = tokio::time::interval(every);
    deliver.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut escalate = tokio::time::interval(escalate_every);
    escalate.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = escalate.tick() => match deliverer.escalate(Timestamp::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(enqueued = n, "deadline escalations enqueued"),
                Err(err) => tracing::warn!(error = %err, "the escalation scan failed"),
            },
            _ = deliver.tick() => match deliverer.tick(Timestamp::now()).await {
                Ok(t) if t.claimed == 0 => {}
                Ok(t) => tracing::info!(
                    delivered = t.delivered, retried = t.retried, failed = t.failed, unrecorded = t.unrecorded,
                    "alerts attempted"
                ),
                Err(err) => tracing::warn!(error = %err, "the alert delivery tick failed"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_the_timestamp_and_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = signature(b"Jefe", 0, b"what do ya want for nothing?");
        assert_ne!(
            sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "the timestamp counts"
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"0.what do ya want for nothing?");
        assert_eq!(sig, format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
    }
}
