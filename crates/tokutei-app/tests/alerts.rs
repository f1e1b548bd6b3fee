//! The alert outbox through the application layer, on a real store and ledger: enqueueing is
//! audited before anything is stored (and a failing ledger stores nothing), the same event is
//! enqueued once per recipient, the retry policy backs off and gives up after the configured
//! attempts, every attempt is audited, a manager re-queues a failed alert, and the escalation
//! of deadlines enqueues T−7, T−1 and overdue once each. Time is passed in, never slept.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tokutei_app::alerts::escalation::{Clock, Stage};
use tokutei_app::alerts::{AlertConfig, AlertRequest, AttemptOutcome, Bilingual, EmailConfig, WebhookConfig};
use tokutei_app::{Acting, ActionError, AlertId, App, PrincipalId};
use tokutei_ledger::{Actor, AdminAction, AdminEvent, Event};
use tokutei_policy::Date;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::outbox::{AlertChannel, AlertState, AlertStore, AttemptResult};
use tokutei_store_sqlite::SqliteStore;

const HOOK: &str = "http://127.0.0.1:9/hook";
const OFFICE: &str = "privacy-office@example.jp";

fn config() -> AlertConfig {
    AlertConfig {
        max_attempts: 3,
        retry_after_seconds: 60,
        retry_cap_seconds: 600,
        webhook: Some(WebhookConfig { url: HOOK.into(), secret_file: "keys/w.secret".into(), timeout_seconds: 5 }),
        email: Some(EmailConfig {
            relay: "127.0.0.1".into(),
            port: 2525,
            starttls: false,
            from: "tokutei@example.jp".into(),
            to: vec![OFFICE.into()],
            timeout_seconds: 5,
        }),
    }
}

struct Outbox {
    d: support::Deployed,
    app: App,
}

fn outbox_with(config: AlertConfig) -> Outbox {
    let d = support::deploy();
    let app = App::new(
        d.store.clone(),
        d.ledger.clone(),
        d.service.keys().clone(),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    )
    .with_alerts(config);
    Outbox { d, app }
}

fn outbox() -> Outbox {
    outbox_with(config())
}

fn manager() -> Acting {
    Acting::Person("all".into())
}

fn request(event: &str) -> AlertRequest {
    AlertRequest {
        kind: "test".into(),
        subject: "incident/INC-1".into(),
        event: event.into(),
        title: Bilingual { ja: "試験".into(), en: "Test".into() },
        text: Bilingual { ja: "試験の通知です。".into(), en: "A test alert.".into() },
        due: None,
        responsible: vec![PrincipalId::parse("all").unwrap()],
        details: vec![("stage".into(), "t-7".into())],
    }
}

fn admin_entries(ledger: &dyn LedgerStore, from: u64) -> Vec<(u64, Actor, AdminEvent)> {
    let mut out = Vec::new();
    ledger
        .scan_entries(from, &mut |e| {
            let index = e.index;
            let entry = e.decode().unwrap();
            if let Event::Admin(admin) = entry.event {
                out.push((index, entry.actor, admin));
            }
            Ok(true)
        })
        .unwrap();
    out
}

fn failure(status: Option<u16>) -> AttemptOutcome {
    AttemptOutcome {
        delivered: false,
        status,
        error: status.is_none().then(|| "connection refused".into()),
        duration: std::time::Duration::from_millis(7),
    }
}

fn success() -> AttemptOutcome {
    AttemptOutcome { delivered: true, status: Some(200), error: None, duration: std::time::Duration::from_millis(3) }
}

#[test]
fn enqueue_is_audited_before_it_is_stored_and_the_ledger_holds_no_address() {
    let o = outbox();
    let store: Arc<SqliteStore> = o.d.store.clone();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let into = seen.clone();
    o.d.ledger.before_append(move |_| into.lock().unwrap().push(store.alerts(None, 10).unwrap().len()));
    let from = o.d.ledger.tree_size().unwrap();
    let enqueued = o.app.enqueue_alert(&manager(), &request("incident/INC-1/test"), support::at(10)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [0], "one durable batch, appended while the outbox was empty");
    let channels: Vec<AlertChannel> = enqueued.iter().map(|e| e.channel).collect();
    assert_eq!(channels, [AlertChannel::Webhook, AlertChannel::Email]);
    assert!(enqueued.iter().all(|e| e.created));

    let entries = admin_entries(o.d.ledger.as_ref(), from);
    assert_eq!(entries.len(), 2);
    for (e, (index, actor, event)) in enqueued.iter().zip(&entries) {
        let stored = o.d.store.alert(e.id.as_str()).unwrap().unwrap();
        assert_eq!(stored.alert.audit_index, *index, "the alert names the entry that enqueued it");
        assert_eq!(*actor, Actor::Staff("all".into()));
        assert_eq!(event.action, AdminAction::AlertEnqueued);
        assert_eq!(event.subject, format!("alert/{}", e.id));
        assert_eq!(event.digest, Some(Sha256::digest(stored.alert.payload.as_bytes()).into()));
        let details: Vec<(&str, &str)> = event.details.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            details,
            [
                ("kind", "test"),
                ("about", "incident/INC-1"),
                ("event", "incident/INC-1/test"),
                ("channel", e.channel.code())
            ]
        );
        assert_eq!(stored.state, AlertState::Pending);
        assert_eq!(stored.next_attempt_at, support::at(10));
    }
    assert_eq!(o.d.store.alert(enqueued[1].id.as_str()).unwrap().unwrap().alert.recipient, OFFICE);
    // Addresses stay in the outbox: no ledger entry holds one.
    let mut bodies = Vec::new();
    o.d.ledger
        .scan_entries(0, &mut |e| {
            bodies.push(e.encoded);
            Ok(true)
        })
        .unwrap();
    for needle in [OFFICE, HOOK, "試験の通知"] {
        assert!(
            !bodies.iter().any(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes())),
            "{needle} in the ledger"
        );
    }
}

#[test]
fn enqueue_with_a_failing_ledger_stores_nothing() {
    let o = outbox();
    o.d.ledger.fail.store(true, Ordering::SeqCst);
    let err = o.app.enqueue_alert(&manager(), &request("incident/INC-1/test"), support::at(10)).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert!(o.d.store.alerts(None, 10).unwrap().is_empty());
    // Once the ledger is back, the same event is enqueued as new.
    o.d.ledger.fail.store(false, Ordering::SeqCst);
    let enqueued = o.app.enqueue_alert(&manager(), &request("incident/INC-1/test"), support::at(11)).unwrap();
    assert!(enqueued.iter().all(|e| e.created));
}

#[test]
fn the_same_event_is_enqueued_once_per_recipient() {
    let o = outbox();
    let first = o.app.enqueue_alert(&manager(), &request("incident/INC-1/test"), support::at(10)).unwrap();
    let size = o.d.ledger.tree_size().unwrap();
    let again = o.app.enqueue_alert(&manager(), &request("incident/INC-1/test"), support::at(20)).unwrap();
    assert_eq!(
        again.iter().map(|e| (&e.id, e.created)).collect::<Vec<_>>(),
        first.iter().map(|e| (&e.id, false)).collect::<Vec<_>>()
    );
    assert_eq!(o.d.ledger.tree_size().unwrap(), size, "nothing new, nothing audited");
    assert_eq!(o.d.store.alerts(None, 10).unwrap().len(), 2);
    // Another event is another alert.
    o.app.enqueue_alert(&manager(), &request("incident/INC-1/other"), support::at(30)).unwrap();
    assert_eq!(o.d.store.alerts(None, 10).unwrap().len(), 4);
}

#[test]
fn enqueue_is_refused_before_anything_is_written() {
    let o = outbox();
    let size = o.d.ledger.tree_size().unwrap();
    let refused = |by: &Acting, r: &AlertRequest| o.app.enqueue_alert(by, r, support::at(10)).unwrap_err();
    assert!(matches!(refused(&Acting::Person("support".into()), &request("e")), ActionError::Forbidden(_)));
    assert!(matches!(refused(&Acting::Person("nobody".into()), &request("e")), ActionError::UnknownPrincipal(_)));
    let mut bad = request("e");
    bad.kind = "Bad Kind".into();
    assert!(matches!(refused(&manager(), &bad), ActionError::Invalid { field: "kind", .. }));
    let mut bad = request("e");
    bad.subject = "incident/山田".into();
    assert!(matches!(refused(&manager(), &bad), ActionError::Invalid { field: "subject", .. }));
    let mut bad = request("e");
    bad.title.ja = "改行\nあり".into();
    assert!(matches!(refused(&manager(), &bad), ActionError::Invalid { field: "title.ja", .. }));
    let mut bad = request("e");
    bad.event = String::new();
    assert!(matches!(refused(&manager(), &bad), ActionError::Invalid { field: "event", .. }));
    let unconfigured = outbox_with(AlertConfig::default());
    let size2 = unconfigured.d.ledger.tree_size().unwrap();
    let err = unconfigured.app.enqueue_alert(&manager(), &request("e"), support::at(10)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "{err}");
    assert_eq!(unconfigured.d.ledger.tree_size().unwrap(), size2);
    assert_eq!(o.d.ledger.tree_size().unwrap(), size);
    assert!(o.d.store.alerts(None, 10).unwrap().is_empty());
}

#[test]
fn attempts_back_off_then_fail_and_each_is_audited() {
    let o = outbox();
    let enqueued = o.app.enqueue_alert(&manager(), &request("incident/INC-1/test"), support::at(0)).unwrap();
    let hook = enqueued[0].id.clone();
    let from = o.d.ledger.tree_size().unwrap();
    let t0 = support::at(100);
    let claimed = o.app.claim_due(t0, 10).unwrap();
    assert_eq!(claimed.len(), 2);
    let claimed: Vec<_> = claimed.into_iter().filter(|c| c.id == hook).collect();
    assert_eq!((claimed[0].id.clone(), claimed[0].attempt, claimed[0].recipient.as_str()), (hook.clone(), 1, HOOK));
    assert_eq!(claimed[0].document.title.ja, "試験");
    assert_eq!(claimed[0].document.id, hook.as_str());
    assert!(o.app.claim_due(t0, 10).unwrap().is_empty(), "held by the claim");

    // First failure: retry after 60 s.
    assert_eq!(
        o.app.record_attempt(&hook, &failure(Some(500)), t0).unwrap(),
        AttemptResult::Retry(t0 + SignedDuration::from_secs(60))
    );
    assert!(o.app.claim_due(t0 + SignedDuration::from_secs(59), 10).unwrap().is_empty());
    let again = o.app.claim_due(t0 + SignedDuration::from_secs(60), 10).unwrap();
    assert_eq!((again.len(), again[0].attempt), (1, 2));
    assert_eq!(again[0].payload, claimed[0].payload, "the same body on every attempt");
    // Second: twice as long.
    let t1 = t0 + SignedDuration::from_secs(60);
    assert_eq!(
        o.app.record_attempt(&hook, &failure(None), t1).unwrap(),
        AttemptResult::Retry(t1 + SignedDuration::from_secs(120))
    );
    // Third: the last one allowed.
    let t2 = t1 + SignedDuration::from_secs(120);
    assert_eq!(o.app.claim_due(t2, 10).unwrap().len(), 1);
    assert_eq!(o.app.record_attempt(&hook, &failure(Some(503)), t2).unwrap(), AttemptResult::Failed);
    let view = o.app.alert(&hook).unwrap();
    assert_eq!((view.alert.state, view.alert.attempts), (AlertState::Failed, 3));
    let statuses: Vec<Option<u16>> = view.deliveries.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Some(500), None, Some(503)]);
    assert_eq!(view.deliveries[1].error.as_deref(), Some("connection refused"));
    assert!(o.app.claim_due(t2 + SignedDuration::from_hours(10), 10).unwrap().iter().all(|c| c.id != hook));

    // Each attempt is an entry, named in the log.
    let entries = admin_entries(o.d.ledger.as_ref(), from);
    let attempts: Vec<_> = entries.iter().filter(|e| e.2.action == AdminAction::AlertAttempted).collect();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts.iter().all(|e| e.1 == Actor::System("alert-outbox".into()) && e.2.subject == format!("alert/{hook}"))
    );
    let details = |n: usize| attempts[n].2.details.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
    assert_eq!(
        details(0),
        ["attempt=1", "status=500", "result=retry", &format!("next={}", t0 + SignedDuration::from_secs(60))]
    );
    assert_eq!(details(1)[..3], ["attempt=2", "status=none", "result=retry"]);
    assert_eq!(details(2), ["attempt=3", "status=503", "result=failed"]);
    let indexes: Vec<u64> = view.deliveries.iter().map(|d| d.audit_index).collect();
    assert_eq!(indexes, attempts.iter().map(|e| e.0).collect::<Vec<_>>());

    // The e-mail alert is delivered on its first attempt.
    let mail = enqueued[1].id.clone();
    assert_eq!(o.app.record_attempt(&mail, &success(), t0).unwrap(), AttemptResult::Delivered);
    assert_eq!(o.app.alert(&mail).unwrap().alert.state, AlertState::Delivered);
    assert_eq!(o.app.alerts(Some(AlertState::Delivered), 10).unwrap().len(), 1);
    assert_eq!(o.app.alerts(Some(AlertState::Failed), 10).unwrap()[0].alert.alert.id, hook.as_str());
}

#[test]
fn an_attempt_with_a_failing_ledger_changes_nothing() {
    let o = outbox();
    let enqueued = o.app.enqueue_alert(&manager(), &request("incident/INC-1/test"), support::at(0)).unwrap();
    let id = enqueued[0].id.clone();
    o.app.claim_due(support::at(5), 10).unwrap();
    o.d.ledger.fail.store(true, Ordering::SeqCst);
    assert!(matches!(o.app.record_attempt(&id, &success(), support::at(6)), Err(ActionError::Audit(_))));
    let stored = o.d.store.alert(id.as_str()).unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (AlertState::Pending, 0));
    assert!(stored.claimed_until.is_some(), "still held: the lease ends and it is tried again");
    assert!(o.d.store.alert_deliveries(id.as_str()).unwrap().is_empty());
    let unknown = AlertId::parse("al-000000000000").unwrap();
    o.d.ledger.fail.store(false, Ordering::SeqCst);
    assert!(matches!(o.app.record_attempt(&unknown, &success(), support::at(6)), Err(ActionError::NotFound(_))));
}

#[test]
fn a_manager_requeues_a_failed_alert_audited_first() {
    let o = outbox_with(AlertConfig { max_attempts: 1, ..config() });
    let enqueued = o.app.enqueue_alert(&manager(), &request("incident/INC-1/test"), support::at(0)).unwrap();
    let id = enqueued[0].id.clone();
    o.app.claim_due(support::at(1), 10).unwrap();
    assert_eq!(o.app.record_attempt(&id, &failure(Some(500)), support::at(2)).unwrap(), AttemptResult::Failed);

    let size = o.d.ledger.tree_size().unwrap();
    assert!(matches!(
        o.app.retry_alert(&Acting::Person("support".into()), &id, support::at(3)),
        Err(ActionError::Forbidden(_))
    ));
    assert!(
        matches!(o.app.retry_alert(&manager(), &enqueued[1].id, support::at(3)), Err(ActionError::Conflict(_))),
        "pending"
    );
    let unknown = AlertId::parse("al-000000000000").unwrap();
    assert!(matches!(o.app.retry_alert(&manager(), &unknown, support::at(3)), Err(ActionError::NotFound(_))));
    o.d.ledger.fail.store(true, Ordering::SeqCst);
    assert!(matches!(o.app.retry_alert(&manager(), &id, support::at(3)), Err(ActionError::Audit(_))));
    o.d.ledger.fail.store(false, Ordering::SeqCst);
    assert_eq!(o.d.ledger.tree_size().unwrap(), size);
    assert_eq!(o.d.store.alert(id.as_str()).unwrap().unwrap().state, AlertState::Failed);

    let store = o.d.store.clone();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let into = seen.clone();
    let watched = id.to_string();
    o.d.ledger.before_append(move |_| into.lock().unwrap().push(store.alert(&watched).unwrap().unwrap().state));
    o.app.retry_alert(&manager(), &id, support::at(4)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [AlertState::Failed], "audited while still failed");
    let entries = admin_entries(o.d.ledger.as_ref(), size);
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].1.clone(), entries[0].2.action), (Actor::Staff("all".into()), AdminAction::AlertRequeued));
    let stored = o.d.store.alert(id.as_str()).unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts, stored.next_attempt_at), (AlertState::Pending, 0, support::at(4)));
    let claimed = o.app.claim_due(support::at(4), 10).unwrap();
    assert_eq!((claimed[0].id.clone(), claimed[0].attempt), (id, 1));
}

/// Noon in Tokyo on `date`.
fn noon(date: Date) -> Timestamp {
    tokutei_policy::tokyo::start_of(date.0) + SignedDuration::from_hours(12)
}

fn day(d: i8) -> Date {
    Date::new(2026, 6, d).unwrap()
}

fn clock(subject: &str, due: Date) -> Clock {
    Clock {
        subject: subject.into(),
        title_ja: "個人情報保護委員会への確報".into(),
        title_en: "Final report to the PPC".into(),
        due,
        recipients: vec![PrincipalId::parse("all").unwrap()],
    }
}

#[test]
fn the_same_escalation_twice_enqueues_once() {
    let o = outbox();
    let clocks =
        [clock("incident/INC-1/obligation/appi-final", day(30)), clock("incident/INC-2/obligation/mic-first", day(10))];
    let stages = |now: Timestamp| -> Vec<(String, &'static str, i64, bool)> {
        o.app
            .escalate(&clocks, now)
            .unwrap()
            .into_iter()
            .map(|e| (e.subject, e.stage.code(), e.days_left, e.created))
            .collect()
    };
    let one = "incident/INC-1/obligation/appi-final".to_string();
    let two = "incident/INC-2/obligation/mic-first".to_string();
    // 2026-06-02: INC-2 is 8 days away, INC-1 28 — nothing.
    assert!(stages(noon(day(2))).is_empty());
    // 2026-06-03: INC-2 at T−7.
    assert_eq!(stages(noon(day(3))), [(two.clone(), "t-7", 7, true)]);
    // Again the same day, and the days after: enqueued once.
    assert_eq!(stages(noon(day(3)) + SignedDuration::from_mins(5)), [(two.clone(), "t-7", 7, false)]);
    assert_eq!(stages(noon(day(8))), [(two.clone(), "t-7", 2, false)]);
    // T−1 on the 9th and on the day itself, once.
    assert_eq!(stages(noon(day(9))), [(two.clone(), "t-1", 1, true)]);
    assert_eq!(stages(noon(day(10))), [(two.clone(), "t-1", 0, false)]);
    // Overdue from the 11th, once; INC-1 comes within a week on the 23rd.
    assert_eq!(stages(noon(day(11))), [(two.clone(), "overdue", -1, true)]);
    assert_eq!(stages(noon(day(23))), [(one.clone(), "t-7", 7, true), (two.clone(), "overdue", -13, false)]);
    // Three stages of INC-2 and one of INC-1, each to the webhook and the office.
    let all = o.app.alerts(None, 100).unwrap();
    assert_eq!(all.len(), 8);
    let mut events: Vec<String> = all.iter().filter_map(|a| a.document.as_ref()).map(|d| d.event.clone()).collect();
    events.sort();
    events.dedup();
    assert_eq!(
        events,
        [
            "incident/INC-1/obligation/appi-final/due/2026-06-30/t-7",
            "incident/INC-2/obligation/mic-first/due/2026-06-10/overdue",
            "incident/INC-2/obligation/mic-first/due/2026-06-10/t-1",
            "incident/INC-2/obligation/mic-first/due/2026-06-10/t-7",
        ]
    );
    let first =
        all.iter().find(|a| a.document.as_ref().is_some_and(|d| d.event.ends_with("t-7") && d.subject == two)).unwrap();
    let document = first.document.as_ref().unwrap();
    assert_eq!(document.title.ja, "期限まで7日：個人情報保護委員会への確報");
    assert_eq!(document.due.as_deref(), Some("2026-06-10"));
    assert_eq!(document.responsible, ["all"]);
    assert_eq!(document.kind, "deadline_escalation");
    // Enqueued by the schedule, as a system.
    let (_, actor, _) = admin_entries(o.d.ledger.as_ref(), first.alert.alert.audit_index).remove(0);
    assert_eq!(actor, Actor::System("alert-escalation".into()));
    // A deadline that moves is escalated again for its new date.
    let moved = [clock("incident/INC-2/obligation/mic-first", day(25))];
    let again = o.app.escalate(&moved, noon(day(23))).unwrap();
    assert_eq!((again[0].stage, again[0].days_left, again[0].created), (Stage::WeekBefore, 2, true));
}

#[test]
fn escalation_without_a_channel_enqueues_nothing() {
    let o = outbox_with(AlertConfig::default());
    let size = o.d.ledger.tree_size().unwrap();
    assert!(o.app.escalate(&[clock("incident/INC-1/x", day(3))], noon(day(2))).unwrap().is_empty());
    assert!(o.app.escalate_open_clocks(noon(day(2))).unwrap().is_empty());
    assert_eq!(o.d.ledger.tree_size().unwrap(), size);
}

#[test]
fn a_manager_sends_a_test_alert_to_every_recipient() {
    let o = outbox();
    let sent = o.app.test_alert(&manager(), support::at(10)).unwrap();
    assert_eq!(
        sent.iter().map(|e| (e.channel, e.created)).collect::<Vec<_>>(),
        [(AlertChannel::Webhook, true), (AlertChannel::Email, true)]
    );
    let view = o.app.alert(&sent[0].id).unwrap();
    let document = view.document.unwrap();
    assert_eq!((document.kind.as_str(), document.title.en.as_str()), ("test", "Test alert"));
    assert_eq!(document.responsible, ["all"]);
    assert!(matches!(
        o.app.test_alert(&Acting::Person("support".into()), support::at(11)),
        Err(ActionError::Forbidden(_))
    ));
}

#[test]
fn an_open_incidents_reports_are_escalated_to_the_active_managers_until_submitted() {
    use tokutei_app::incidents::NewIncident;
    use tokutei_policy::Text;
    use tokutei_store::incident::{Flags, Occurrence, Regime};
    let o = outbox();
    // Known 2026-06-01 09:00 Tokyo: the 第一報 of 通信の秘密 is due the next day, the 詳報 in 30.
    let known = support::at(0);
    let incident = NewIncident {
        title: Text { ja: "メールの誤送信".into(), en: Some("Mis-sent email".into()) },
        summary: None,
        known_at: known,
        discovered_at: None,
        occurred: Occurrence::Unknown,
        regimes: vec![Regime::Secrecy],
        persons: None,
        flags: Flags::default(),
        categories: Vec::new(),
        services: Vec::new(),
        discovery: None,
    };
    let opened = o.app.open_incident(&manager(), &incident, known).unwrap();
    let clocks = o.app.open_clocks(known).unwrap();
    assert_eq!(clocks.len(), 2, "{clocks:?}");
    // Only active persons who manage: `all` is the deployment's responsible person; handlers,
    // systems and the disabled are not told.
    assert!(clocks.iter().all(|c| c.recipients == [PrincipalId::parse("all").unwrap()]), "{clocks:?}");
    assert!(clocks.iter().all(|c| c.subject.starts_with(&format!("incident/{}/obligation/secrecy-", opened.id))));
    let escalated = o.app.escalate_open_clocks(known).unwrap();
    assert_eq!(escalated.iter().map(|e| (e.stage, e.days_left)).collect::<Vec<_>>(), [(Stage::DayBefore, 1)]);
    assert!(escalated[0].created);
    let first = o.app.alerts(None, 100).unwrap();
    assert_eq!(first.len(), 2, "the webhook and the office's mailbox");
    let document = first[0].document.as_ref().unwrap();
    assert!(document.title.ja.starts_with("期限まで1日：メールの誤送信"), "{}", document.title.ja);
    // English names the incident by its English title, never by its id.
    assert!(
        document.title.en.starts_with("1 day left: Mis-sent email: Leak of secrecy of communications")
            && document.title.en.ends_with("first report"),
        "{}",
        document.title.en
    );
    // The same scan again adds nothing.
    assert!(!o.app.escalate_open_clocks(known + SignedDuration::from_mins(5)).unwrap()[0].created);
    assert_eq!(o.app.alerts(None, 100).unwrap().len(), 2);
}
