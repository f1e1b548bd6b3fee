//! Conformance for [`AlertStore`]: alerts come back as stored, a dedupe key enqueues once,
//! listing filters by state newest first, claiming takes only due and unclaimed alerts (the
//! earliest first) and holds them for the lease, attempts are logged in order and move the
//! alert on (retry, delivered, failed) only while it is pending, a failed alert is re-queued
//! and nothing else is; and two stores on one database never claim the same alert.

use jiff::Timestamp;

use crate::StoreError;
use crate::outbox::{AlertChannel, AlertState, AlertStore, AttemptResult, DeliveryAttempt, NewAlert};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + second).unwrap()
}

fn alert(id: &str, key: &str, second: i64) -> NewAlert {
    NewAlert {
        id: id.into(),
        kind: "deadline_escalation".into(),
        subject: "incident/INC-1/obligation/appi-final".into(),
        dedupe_key: key.into(),
        channel: AlertChannel::Webhook,
        recipient: "http://127.0.0.1:9/hook".into(),
        payload: r#"{"title":{"ja":"期限まで7日","en":"7 days left"}}"#.into(),
        created_at: at(second),
        audit_index: 40 + second as u64,
    }
}

fn attempt(id: &str, second: i64, status: Option<u16>, result: AttemptResult) -> DeliveryAttempt {
    DeliveryAttempt {
        alert: id.into(),
        attempted_at: at(second),
        duration_ms: 12,
        status,
        error: status.is_none().then(|| "connection refused".to_string()),
        result,
        audit_index: 100 + second as u64,
    }
}

fn ids(list: Vec<crate::outbox::StoredAlert>) -> Vec<String> {
    list.into_iter().map(|a| a.alert.id).collect()
}

pub fn run<S: AlertStore>(store: &S) {
    assert!(store.alert("A1").unwrap().is_none());
    assert!(store.alerts(None, 10).unwrap().is_empty());
    let first = alert("A1", "incident/INC-1/t-7|webhook", 0);
    assert!(store.add_alert(&first).unwrap());
    // The same key again: nothing changes, whatever the id.
    assert!(!store.add_alert(&alert("A1", "incident/INC-1/t-7|webhook", 5)).unwrap());
    assert!(!store.add_alert(&alert("A9", "incident/INC-1/t-7|webhook", 5)).unwrap());
    assert!(store.alert("A9").unwrap().is_none());
    // Another key with an id in use is a conflict.
    assert!(matches!(store.add_alert(&alert("A1", "other", 5)), Err(StoreError::Conflict(_))));
    let mut email = alert("A2", "incident/INC-1/t-7|email:office@example.jp", 10);
    email.channel = AlertChannel::Email;
    email.recipient = "office@example.jp".into();
    assert!(store.add_alert(&email).unwrap());
    assert!(store.add_alert(&alert("A3", "incident/INC-2/t-1|webhook", 20)).unwrap());

    let got = store.alert("A1").unwrap().unwrap();
    assert_eq!(got.alert, first);
    assert_eq!(
        (got.state, got.attempts, got.next_attempt_at, got.claimed_until),
        (AlertState::Pending, 0, at(0), None)
    );
    assert_eq!(store.alert_by_key("incident/INC-1/t-7|email:office@example.jp").unwrap().unwrap().alert, email);
    assert!(store.alert_by_key("nope").unwrap().is_none());
    assert_eq!(ids(store.alerts(None, 10).unwrap()), ["A3", "A2", "A1"]);
    assert_eq!(ids(store.alerts(None, 2).unwrap()), ["A3", "A2"]);
    assert_eq!(ids(store.alerts(Some(AlertState::Pending), 10).unwrap()), ["A3", "A2", "A1"]);
    assert!(store.alerts(Some(AlertState::Failed), 10).unwrap().is_empty());

    // Claiming: only what is due by `now`, the earliest first, at most `limit`.
    assert!(store.claim_alerts(at(-1), at(100), 10).unwrap().is_empty());
    let claimed = store.claim_alerts(at(15), at(75), 1).unwrap();
    assert_eq!(ids(claimed.clone()), ["A1"]);
    assert_eq!(claimed[0].claimed_until, Some(at(75)));
    assert_eq!(ids(store.claim_alerts(at(15), at(75), 10).unwrap()), ["A2"], "A1 is held, A3 not due");
    assert!(store.claim_alerts(at(30), at(90), 10).unwrap().iter().all(|a| a.alert.id == "A3"));
    // A lease that ended is claimed again.
    assert_eq!(ids(store.claim_alerts(at(75), at(135), 10).unwrap()), ["A1", "A2"]);

    // A failed attempt: logged, one more attempt, due again later, claim released.
    store.record_delivery(&attempt("A1", 76, Some(500), AttemptResult::Retry(at(136)))).unwrap();
    let got = store.alert("A1").unwrap().unwrap();
    assert_eq!(
        (got.state, got.attempts, got.next_attempt_at, got.claimed_until),
        (AlertState::Pending, 1, at(136), None)
    );
    assert_eq!(got.updated_at, at(76));
    assert!(store.claim_alerts(at(135), at(200), 10).unwrap().iter().all(|a| a.alert.id != "A1"), "not due yet");
    assert!(ids(store.claim_alerts(at(136), at(200), 10).unwrap()).contains(&"A1".to_string()));
    store.record_delivery(&attempt("A1", 137, Some(200), AttemptResult::Delivered)).unwrap();
    let got = store.alert("A1").unwrap().unwrap();
    assert_eq!((got.state, got.attempts, got.claimed_until), (AlertState::Delivered, 2, None));
    // A late attempt of another instance is logged but does not move a delivered alert.
    store.record_delivery(&attempt("A1", 138, None, AttemptResult::Retry(at(300)))).unwrap();
    let got = store.alert("A1").unwrap().unwrap();
    assert_eq!((got.state, got.attempts), (AlertState::Delivered, 2));
    assert!(store.claim_alerts(at(1000), at(2000), 10).unwrap().iter().all(|a| a.alert.id != "A1"));
    let log = store.alert_deliveries("A1").unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0], attempt("A1", 76, Some(500), AttemptResult::Retry(at(136))));
    assert_eq!(log[1], attempt("A1", 137, Some(200), AttemptResult::Delivered));
    assert_eq!(log[2].error.as_deref(), Some("connection refused"));
    assert!(store.alert_deliveries("A3").unwrap().is_empty());

    // The last attempt fails: the alert has failed, and only a failed alert is re-queued.
    store.record_delivery(&attempt("A2", 140, None, AttemptResult::Failed)).unwrap();
    assert_eq!(store.alert("A2").unwrap().unwrap().state, AlertState::Failed);
    assert_eq!(ids(store.alerts(Some(AlertState::Failed), 10).unwrap()), ["A2"]);
    assert_eq!(ids(store.alerts(Some(AlertState::Delivered), 10).unwrap()), ["A1"]);
    assert!(store.claim_alerts(at(1000), at(2000), 10).unwrap().iter().all(|a| a.alert.id != "A2"));
    assert!(matches!(store.requeue_alert("A1", at(150)), Err(StoreError::Conflict(_))));
    assert!(matches!(store.requeue_alert("A3", at(150)), Err(StoreError::Conflict(_))));
    assert!(matches!(store.requeue_alert("nope", at(150)), Err(StoreError::NotFound(_))));
    store.requeue_alert("A2", at(150)).unwrap();
    let got = store.alert("A2").unwrap().unwrap();
    assert_eq!(
        (got.state, got.attempts, got.next_attempt_at, got.claimed_until),
        (AlertState::Pending, 0, at(150), None)
    );
    assert_eq!(store.alert_deliveries("A2").unwrap().len(), 1, "the log keeps the earlier attempts");
    assert!(matches!(
        store.record_delivery(&attempt("nope", 160, Some(200), AttemptResult::Delivered)),
        Err(StoreError::NotFound(_))
    ));
}

/// Two stores on one database (two `serve` instances) claiming at once: every due alert is
/// claimed exactly once.
pub fn run_claims_across_instances<A: AlertStore + Sync, B: AlertStore + Sync>(a: &A, b: &B) {
    const N: usize = 60;
    for n in 0..N {
        let mut new = alert(&format!("C{n:03}"), &format!("key-{n}"), n as i64);
        new.audit_index = n as u64;
        assert!(a.add_alert(&new).unwrap());
    }
    let now = at(N as i64);
    let (left, right) = std::thread::scope(|s| {
        let l = s.spawn(|| claim_all(a, now));
        let r = s.spawn(|| claim_all(b, now));
        (l.join().unwrap(), r.join().unwrap())
    });
    let mut all: Vec<String> = left.iter().chain(right.iter()).cloned().collect();
    all.sort();
    let expected: Vec<String> = (0..N).map(|n| format!("C{n:03}")).collect();
    assert_eq!(all, expected, "each alert claimed once ({} + {})", left.len(), right.len());
}

fn claim_all<S: AlertStore>(store: &S, now: Timestamp) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        let batch = store.claim_alerts(now, at(10_000), 7).unwrap();
        if batch.is_empty() {
            return got;
        }
        got.extend(batch.into_iter().map(|x| x.alert.id));
    }
}
