//! `tokutei alerts …` end to end: a test alert to a webhook receiver on 127.0.0.1 that answers
//! 500 the first time — with one attempt allowed the alert fails, `alerts list --state failed`
//! shows it with its delivery log, `alerts retry --by` re-queues it (audited), and the next
//! round delivers it; every step is in the ledger. And `serve` refuses to start when the
//! webhook's secret file is missing or readable by others, and delivers a pending alert as
//! soon as it starts.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

use crate::util::TestEnv;

const DEMO_POLICY: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");

/// The requests a receiver got: headers (lowercased) and body.
type Requests = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook receiver on 127.0.0.1 answering 500 to the first request and 200 after; each
/// request's headers (lowercased) and body are kept.
fn receiver() -> (String, Requests) {
    let (url, seen, _) = receiver_with_signal();
    (url, seen)
}

/// As [`receiver`], also signalling each request's arrival.
fn receiver_with_signal() -> (String, Requests, std::sync::mpsc::Receiver<()>) {
    let (signal, arrived) = std::sync::mpsc::channel();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Requests = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(n) = lower.strip_prefix("content-length:") {
                    length = n.trim().parse().unwrap();
                }
                head.push_str(&lower);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let first = {
                let mut log = log.lock().unwrap();
                log.push((head, String::from_utf8(body).unwrap()));
                log.len() == 1
            };
            let status = if first { "500 Internal Server Error" } else { "200 OK" };
            let _ = stream
                .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
            let _ = signal.send(());
        }
    });
    (format!("http://{addr}/hook"), seen, arrived)
}

pub(crate) fn configure(env: &TestEnv, url: &str) {
    env.write(
        "data/deployment.toml",
        format!(
            "[alerts]\nmax_attempts = 1\n\n[alerts.webhook]\nurl = \"{url}\"\nsecret_file = \"keys/alert-webhook.secret\"\n"
        ),
    );
}

pub(crate) fn write_secret(env: &TestEnv, mode: u32) {
    let path = env.write("data/keys/alert-webhook.secret", "a webhook secret of enough bytes\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn actions(env: &TestEnv) -> Vec<(String, String, String)> {
    let all = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["action"].as_str().is_some_and(|a| a.starts_with("alert_")))
        .map(|e| {
            (
                e["event"]["action"].as_str().unwrap().to_string(),
                e["actor"]["id"].as_str().unwrap().to_string(),
                e["event"]["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_failed_alert_is_listed_retried_by_a_manager_and_delivered() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);
    let (url, seen) = receiver();
    configure(&env, &url);
    write_secret(&env, 0o600);

    // Bad input is refused before anything is opened.
    env.run(&["alerts", "retry", "not-an-alert", "--by", "chief"]).assert_code(2);
    assert_eq!(env.run(&["--json", "alerts", "list"]).assert_code(0).json(), serde_json::json!([]));

    let sent = env.run(&["--json", "alerts", "test", "--by", "chief"]).assert_code(0).json();
    let id = sent[0]["id"].as_str().unwrap().to_string();
    assert_eq!(sent[0]["channel"], "webhook");
    let pending = env.run(&["--json", "alerts", "list", "--state", "pending"]).assert_code(0).json();
    assert_eq!(pending[0]["id"], id.as_str());
    assert_eq!(pending[0]["title"]["ja"], "通知の試験");

    // One attempt allowed, and the receiver answers 500: failed (exit 1).
    let round = env.run(&["--json", "alerts", "deliver"]).assert_code(1).json();
    assert_eq!((round["claimed"].as_u64(), round["failed"].as_u64()), (Some(1), Some(1)));
    let failed = env.run(&["--json", "alerts", "list", "--state", "failed"]).assert_code(0).json();
    assert_eq!(failed[0]["id"], id.as_str());
    assert_eq!(failed[0]["deliveries"][0]["status"], 500);
    assert_eq!(failed[0]["deliveries"][0]["result"], "failed");
    let text = env.run(&["alerts", "list"]).assert_code(0).stdout.clone();
    assert!(text.contains(&id) && text.contains("failed") && text.contains("HTTP 500"), "{text}");

    // Only a manager re-queues it; then the next round delivers it.
    env.run(&["alerts", "retry", &id, "--by", "nobody"]).assert_code(2);
    let retried = env.run(&["--json", "alerts", "retry", &id, "--by", "chief"]).assert_code(0).json();
    assert_eq!(retried["state"], "pending");
    let round = env.run(&["--json", "alerts", "deliver"]).assert_code(0).json();
    assert_eq!(round["delivered"], 1);
    let delivered = env.run(&["--json", "alerts", "list", "--state", "delivered"]).assert_code(0).json();
    let statuses: Vec<_> = delivered[0]["deliveries"].as_array().unwrap().iter().map(|d| d["status"].clone()).collect();
    assert_eq!(statuses, [500, 200]);
    let err = env.run(&["alerts", "retry", &id, "--by", "chief"]).assert_code(2).stderr.clone();
    assert!(err.contains("delivered"), "{err}");

    // The receiver got the signed document twice.
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|(head, _)| head.contains("x-tokutei-signature: sha256=")));
    assert_eq!(requests[0].1, requests[1].1);
    let document: serde_json::Value = serde_json::from_str(&requests[1].1).unwrap();
    assert_eq!(document["id"], id.as_str());

    let subject = format!("alert/{id}");
    assert_eq!(
        actions(&env),
        [
            ("alert_enqueued".to_string(), "chief".to_string(), subject.clone()),
            ("alert_attempted".to_string(), "alert-outbox".to_string(), subject.clone()),
            ("alert_requeued".to_string(), "chief".to_string(), subject.clone()),
            ("alert_attempted".to_string(), "alert-outbox".to_string(), subject),
        ]
    );
}

#[test]
fn serve_refuses_a_webhook_secret_that_is_missing_or_exposed() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);
    configure(&env, "http://127.0.0.1:9/hook");
    let missing = env.run(&["serve", "--listen", "127.0.0.1:0"]).assert_code(2).stderr.clone();
    assert!(missing.contains("alert-webhook.secret"), "{missing}");
    write_secret(&env, 0o644);
    let exposed = env.run(&["serve", "--listen", "127.0.0.1:0"]).assert_code(2).stderr.clone();
    assert!(exposed.contains("may be read by others"), "{exposed}");
    // A deployment file with a bad [alerts] table stops every command, naming the field.
    env.write("data/deployment.toml", "[alerts]\nmax_attempts = 0\n");
    let bad = env.run(&["alerts", "list"]).assert_code(2).stderr.clone();
    assert!(bad.contains("alerts.max_attempts"), "{bad}");
}

#[test]
fn serve_delivers_a_pending_alert_when_it_starts() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);
    let (url, seen, arrived) = receiver_with_signal();
    configure(&env, &url);
    write_secret(&env, 0o600);
    let sent = env.run(&["--json", "alerts", "test", "--by", "chief"]).assert_code(0).json();
    let id = sent[0]["id"].as_str().unwrap().to_string();
    let server = crate::util::start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    // The first delivery round runs when the server starts: wait for the request, not a clock.
    arrived.recv_timeout(std::time::Duration::from_secs(60)).expect("the server delivered the alert");
    let (_, body) = seen.lock().unwrap()[0].clone();
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["id"], id.as_str());
    drop(server);
}
