//! Delivering the alert outbox to real receivers on 127.0.0.1: a webhook receiver (axum) that
//! checks the signature and answers 500 the first time and 200 after — the alert is retried
//! after the backoff, and both attempts are in the delivery log and the ledger; an SMTP sink
//! (a minimal SMTP server written here on tokio) that receives the e-mail with its Japanese
//! subject; an unreachable relay that fails after the configured attempts. Time is driven by
//! the `now` each tick is given: nothing sleeps.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokutei_app::alerts::escalation::Clock;
use tokutei_app::alerts::{AlertConfig, EmailConfig, WebhookConfig};
use tokutei_app::{App, KeyAccess, PrincipalId};
use tokutei_crypto::{DataKey, Kek, WrappedKey};
use tokutei_ledger::{AdminAction, Event};
use tokutei_policy::{Date, Role};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::outbox::{AlertChannel, AlertState, AlertStore, AttemptResult};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};
use tokutei_web::alerts::{Deliverer, Tick};

const SECRET: &[u8] = b"a webhook secret of enough bytes";

struct Keys(Kek);

impl KeyAccess for Keys {
    fn unwrap_key(&self, owner: &str, wrapped: &WrappedDataKey) -> Result<DataKey, String> {
        let w = WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        self.0.unwrap(owner, &w).map_err(|e| e.to_string())
    }
    fn blind_token(&self, _: &str, _: &str) -> Option<[u8; 32]> {
        None
    }
}

struct Outbox {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    ledger: Arc<SqliteLedger>,
    app: Arc<App>,
    deliverer: Deliverer,
}

fn outbox(config: AlertConfig) -> Outbox {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap());
    store
        .create_principal(&NewPrincipal {
            id: "rp-1".into(),
            display_name: "Responsible".into(),
            kind: PrincipalKind::Person { role: Role::ResponsiblePerson },
            grants: Grants::default(),
            created_at: Timestamp::from_second(1_700_000_000).unwrap(),
        })
        .unwrap();
    let ledger = Arc::new(SqliteLedger::open(Arc::clone(&store)).unwrap());
    config.check().unwrap();
    let app = App::new(
        store.clone(),
        ledger.clone(),
        Arc::new(Keys(Kek::generate("kek-test").unwrap())),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    )
    .with_alerts(config);
    let app = Arc::new(app);
    let deliverer = Deliverer::new(app.clone(), Some(SECRET.to_vec())).unwrap();
    Outbox { _dir: dir, store, ledger, app, deliverer }
}

/// Noon in Tokyo on 2026-06-`d`.
fn noon(d: i8) -> Timestamp {
    tokutei_policy::tokyo::start_of(Date::new(2026, 6, d).unwrap().0) + SignedDuration::from_hours(12)
}

fn clock() -> Clock {
    Clock {
        subject: "incident/INC-1/obligation/appi-final".into(),
        title_ja: "個人情報保護委員会への確報".into(),
        title_en: "Final report to the PPC".into(),
        due: Date::new(2026, 6, 30).unwrap(),
        recipients: vec![PrincipalId::parse("rp-1").unwrap()],
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    signature_ok: bool,
}

/// A webhook receiver on 127.0.0.1: 500 for the first request, 200 after.
async fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let timestamp = headers["x-tokutei-timestamp"].to_str().unwrap().to_string();
                let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
                mac.update(format!("{timestamp}.").as_bytes());
                mac.update(&body);
                let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                let signature_ok = headers["x-tokutei-signature"].to_str().unwrap() == expected;
                let mut log = log.lock().unwrap();
                log.push(Received { headers, body: body.to_vec(), signature_ok });
                if log.len() == 1 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

fn webhook(url: &str) -> AlertConfig {
    AlertConfig {
        webhook: Some(WebhookConfig {
            url: url.into(),
            secret_file: "keys/alert-webhook.secret".into(),
            timeout_seconds: 5,
        }),
        ..AlertConfig::default()
    }
}

fn email(port: u16, max_attempts: u32) -> AlertConfig {
    AlertConfig {
        max_attempts,
        email: Some(EmailConfig {
            relay: "127.0.0.1".into(),
            port,
            starttls: false,
            from: "tokutei@example.jp".into(),
            to: vec!["privacy-office@example.jp".into()],
            timeout_seconds: 5,
        }),
        ..AlertConfig::default()
    }
}

impl Outbox {
    /// The deadline at T−7 on 2026-06-23: one alert per configured recipient.
    fn escalate(&self, now: Timestamp) -> Vec<tokutei_app::AlertId> {
        let escalated = self.app.escalate(&[clock()], now).unwrap();
        assert_eq!(escalated.len(), 1);
        escalated[0].alerts.iter().map(|(id, _)| id.clone()).collect()
    }

    fn attempts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.ledger
            .scan_entries(0, &mut |e| {
                if let Event::Admin(admin) = e.decode().unwrap().event
                    && admin.action == AdminAction::AlertAttempted
                {
                    let result = admin.details.iter().find(|(k, _)| k == "result").unwrap().1.clone();
                    out.push((admin.subject, result));
                }
                Ok(true)
            })
            .unwrap();
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_signed_retried_after_a_500_and_logged() {
    let (url, seen) = receiver().await;
    let o = outbox(webhook(&url));
    let t0 = noon(23);
    let ids = o.escalate(t0);
    assert_eq!(ids.len(), 1);
    let id = ids[0].clone();

    // First tick: the receiver answers 500 — retried after the backoff (60 s).
    let tick = o.deliverer.tick(t0).await.unwrap();
    assert_eq!(tick, Tick { claimed: 1, retried: 1, ..Tick::default() });
    let stored = o.store.alert(id.as_str()).unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (AlertState::Pending, 1));
    assert_eq!(stored.next_attempt_at, t0 + SignedDuration::from_secs(60));
    // Not due before then.
    assert_eq!(o.deliverer.tick(t0 + SignedDuration::from_secs(59)).await.unwrap(), Tick::default());
    // Due: the receiver answers 200.
    let t1 = t0 + SignedDuration::from_secs(60);
    let tick = o.deliverer.tick(t1).await.unwrap();
    assert_eq!(tick, Tick { claimed: 1, delivered: 1, ..Tick::default() });
    assert_eq!(o.deliverer.tick(t1 + SignedDuration::from_hours(1)).await.unwrap(), Tick::default(), "delivered once");

    let received = seen.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.signature_ok), "the signature checks");
    assert_eq!(received[0].body, received[1].body, "the same body on every attempt");
    let attempts: Vec<&str> = received.iter().map(|r| r.headers["x-tokutei-attempt"].to_str().unwrap()).collect();
    assert_eq!(attempts, ["1", "2"]);
    assert_eq!(received[1].headers["x-tokutei-alert"].to_str().unwrap(), id.as_str());
    assert_eq!(received[1].headers["x-tokutei-timestamp"].to_str().unwrap(), t1.as_second().to_string());
    assert_eq!(received[1].headers["content-type"], "application/json");
    let document: serde_json::Value = serde_json::from_slice(&received[1].body).unwrap();
    assert_eq!(document["id"], id.as_str());
    assert_eq!(document["kind"], "deadline_escalation");
    assert_eq!(document["subject"], "incident/INC-1/obligation/appi-final");
    assert_eq!(document["due"], "2026-06-30");
    assert_eq!(document["title"]["ja"], "期限まで7日：個人情報保護委員会への確報");
    assert_eq!(document["title"]["en"], "7 days left: Final report to the PPC");
    assert_eq!(document["responsible"], serde_json::json!(["rp-1"]));

    // The delivery log and the ledger hold both attempts.
    let log = o.store.alert_deliveries(id.as_str()).unwrap();
    let statuses: Vec<_> = log.iter().map(|d| (d.status, d.result, d.error.clone())).collect();
    assert_eq!(
        statuses,
        [
            (Some(500), AttemptResult::Retry(t1), Some("HTTP 500".to_string())),
            (Some(200), AttemptResult::Delivered, None)
        ]
    );
    let subject = format!("alert/{id}");
    assert_eq!(o.attempts(), [(subject.clone(), "retry".to_string()), (subject, "delivered".to_string())]);
    assert_eq!(o.store.alert(id.as_str()).unwrap().unwrap().state, AlertState::Delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_with_a_wrong_secret_fails_the_receivers_check() {
    let (url, seen) = receiver().await;
    let o = outbox(webhook(&url));
    let other = Deliverer::new(o.app.clone(), Some(b"another secret, also long enough".to_vec())).unwrap();
    o.escalate(noon(23));
    other.tick(noon(23)).await.unwrap();
    assert!(!seen.lock().unwrap()[0].signature_ok);
    assert!(matches!(
        Deliverer::new(o.app.clone(), Some(b"short".to_vec())),
        Err(tokutei_web::alerts::DeliveryError::Secret)
    ));
}

/// What the SMTP sink received: the envelope and the message.
#[derive(Debug, Default, Clone)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server on 127.0.0.1 that accepts every message.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                let mut mail = Mail::default();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap() == 0 {
                        return;
                    }
                    let command = line.trim_end().to_string();
                    let upper = command.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink.test\r\n250 8BITMIME\r\n"
                    } else if let Some(from) = upper.strip_prefix("MAIL FROM:") {
                        mail.from = command[command.len() - from.len()..].to_string();
                        b"250 OK\r\n"
                    } else if let Some(to) = upper.strip_prefix("RCPT TO:") {
                        mail.to.push(command[command.len() - to.len()..].to_string());
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        write.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            line.clear();
                            lines.read_line(&mut line).await.unwrap();
                            if line == ".\r\n" {
                                break;
                            }
                            data.push_str(&line);
                        }
                        mail.data = data;
                        store.lock().unwrap().push(std::mem::take(&mut mail));
                        b"250 2.0.0 queued\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

/// The `Subject:` header of `data`, unfolded, with its RFC 2047 encoded words decoded.
fn subject(data: &str) -> String {
    let mut header = String::new();
    let mut lines = data.split("\r\n");
    for line in lines.by_ref() {
        if let Some(rest) = line.strip_prefix("Subject: ") {
            header.push_str(rest);
            break;
        }
    }
    // Unfolding keeps the folded line's leading white space (RFC 5322 §2.2.3).
    for line in lines {
        if !line.starts_with([' ', '\t']) {
            break;
        }
        header.push_str(line);
    }
    // White space between two encoded words is dropped, any other text kept (RFC 2047 §6.2).
    let mut out = String::new();
    let mut rest = header.as_str();
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let word = &rest[start + 2..];
        let end = word.find("?=").unwrap();
        let (charset_encoding, text) = word[..end].rsplit_once('?').unwrap();
        assert!(charset_encoding.eq_ignore_ascii_case("utf-8?b"), "{charset_encoding}");
        out.push_str(&String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap());
        rest = &word[end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_reaches_the_smtp_sink_with_its_japanese_subject() {
    let (port, mails) = smtp_sink().await;
    let o = outbox(email(port, 8));
    let ids = o.escalate(noon(23));
    let tick = o.deliverer.tick(noon(23)).await.unwrap();
    assert_eq!(tick, Tick { claimed: 1, delivered: 1, ..Tick::default() });
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].from, "<tokutei@example.jp>");
    assert_eq!(mails[0].to, ["<privacy-office@example.jp>"]);
    assert_eq!(
        subject(&mails[0].data),
        "[tokutei] 期限まで7日：個人情報保護委員会への確報 / 7 days left: Final report to the PPC"
    );
    let log = o.store.alert_deliveries(ids[0].as_str()).unwrap();
    assert_eq!((log.len(), log[0].status, log[0].result), (1, Some(250), AttemptResult::Delivered));
    assert_eq!(o.store.alert(ids[0].as_str()).unwrap().unwrap().alert.channel, AlertChannel::Email);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_relay_fails_after_the_configured_attempts() {
    // A port nothing listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let o = outbox(email(port, 2));
    let ids = o.escalate(noon(23));
    let t0 = noon(23);
    assert_eq!(o.deliverer.tick(t0).await.unwrap(), Tick { claimed: 1, retried: 1, ..Tick::default() });
    let t1 = t0 + SignedDuration::from_secs(60);
    assert_eq!(o.deliverer.tick(t1).await.unwrap(), Tick { claimed: 1, failed: 1, ..Tick::default() });
    let stored = o.store.alert(ids[0].as_str()).unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (AlertState::Failed, 2));
    let log = o.store.alert_deliveries(ids[0].as_str()).unwrap();
    assert!(log.iter().all(|d| d.status.is_none() && d.error.is_some()), "{log:?}");
    assert_eq!(o.deliverer.tick(t1 + SignedDuration::from_hours(1)).await.unwrap(), Tick::default());
}
