//! The leak-incident register through the application layer: every action audited before it
//! is stored and a failing ledger changing nothing; managers change, others are refused; the
//! obligations follow triage with submitted reports kept; a final report only complete; the
//! impact computed from a ledger written by real gateway reads — exactly the right subscribers,
//! categories and counts, each entry provable against a signed checkpoint; notices with the
//! contacts read through the gateway and never stored; and the public entry's window at its
//! edges (2024-01-17 vs 2024-01-18, exactly ten years), corrections kept in its history and a
//! withdrawal refused inside it.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use support::{Deployed, at, call, deploy, plaintext};
use tokutei_app::checkpoints::{Checkpoints, check_proof};
use tokutei_app::incidents::{
    ImpactQuery, IncidentPatch, NewIncident, NoticeMethod, NoticeRead, SubmitReport, Triage, TriageInput,
};
use tokutei_app::{Acting, ActionError, ActionResult, CategoryId, IncidentId, PrincipalId, PurposeId, SubscriberId};
use tokutei_ledger::{Actor, AdminAction, AdminEvent, CheckpointSigner, Event};
use tokutei_policy::{Text, tokyo};
use tokutei_store::incident::{Flags, IncidentStatus, IncidentStore, Occurrence, Persons, Regime, Report};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::SqliteStore;

fn sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn manager() -> Acting {
    Acting::Person("all".into())
}

fn ts(text: &str) -> Timestamp {
    tokyo::parse_instant(text).unwrap()
}

fn new_incident(regimes: &[Regime]) -> NewIncident {
    NewIncident {
        title: Text { ja: "メールの誤送信".into(), en: Some("Mis-sent email".into()) },
        summary: Some(Text::ja("お客さまへのメールを別のお客さまに送信した")),
        known_at: at(-3600),
        discovered_at: Some(at(-7200)),
        occurred: Occurrence::At { at: at(-86_400) },
        regimes: regimes.to_vec(),
        persons: Some(Persons { count: 3, estimated: false }),
        flags: Flags::default(),
        categories: vec![CategoryId::parse("contract.email").unwrap()],
        services: vec![tokutei_app::ServiceId::parse("fiber").unwrap()],
        discovery: Some("お客さまからの申告".into()),
    }
}

fn admin_entries(d: &Deployed, from: u64) -> Vec<(Actor, AdminEvent)> {
    let mut out = Vec::new();
    d.ledger
        .scan_entries(from, &mut |e| {
            let entry = e.decode().unwrap();
            if let Event::Admin(event) = entry.event {
                out.push((entry.actor, event));
            }
            Ok(true)
        })
        .unwrap();
    out
}

fn size(d: &Deployed) -> u64 {
    d.ledger.tree_size().unwrap()
}

/// `act` with a failing ledger changes nothing that `probe` sees and says so (`Audit`); with a
/// working ledger its first entry is appended while the store still reads as before, and
/// afterwards it has changed. Returns the working run's outcome.
fn audit_first<T: std::fmt::Debug>(
    d: &Deployed,
    probe: impl Fn(&SqliteStore) -> String + Send + Sync + 'static,
    act: impl Fn(&Deployed) -> ActionResult<T>,
) -> T {
    let before = probe(&d.store);
    d.ledger.fail.store(true, Ordering::SeqCst);
    let failed = act(d);
    d.ledger.fail.store(false, Ordering::SeqCst);
    assert!(matches!(failed, Err(ActionError::Audit(_))), "{failed:?}");
    assert_eq!(probe(&d.store), before, "a failing ledger changes nothing");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (store, into) = (d.store.clone(), seen.clone());
    let probe = Arc::new(probe);
    let looking = probe.clone();
    d.ledger.before_append(move |_| into.lock().unwrap().push(looking(&store)));
    let out = act(d).unwrap();
    d.ledger.before_append(|_| {});
    assert_eq!(seen.lock().unwrap().first(), Some(&before), "the entry was durable before the change");
    assert_ne!(probe(&d.store), before, "the action changed the store");
    out
}

fn opened(d: &Deployed, regimes: &[Regime]) -> IncidentId {
    let view = d.service.open_incident(&manager(), &new_incident(regimes), at(0)).unwrap();
    IncidentId::parse(view.id).unwrap()
}

fn version_of(store: &SqliteStore, id: &str) -> String {
    store.incident(id).unwrap().map(|i| format!("v{} {:?}", i.current.version, i.obligations)).unwrap_or_default()
}

#[test]
fn opening_an_incident_is_audited_first_with_its_obligations() {
    let d = deploy();
    let from = size(&d);
    let view = audit_first(
        &d,
        |s| format!("{:?}", s.incidents(10).unwrap().iter().map(|i| i.id.clone()).collect::<Vec<_>>()),
        |d| d.service.open_incident(&manager(), &new_incident(&[Regime::Secrecy, Regime::Appi]), at(0)),
    );
    assert!(view.id.starts_with("INC-20260601-"), "{}", view.id);
    assert_eq!((view.status, view.version), (IncidentStatus::Open, 1));
    // Not reportable under APPI (no flag, 3 persons): only the secrecy reports, from 2026-06-01
    // (known 08:00 in Tokyo; discovered 07:00).
    let owed: Vec<_> = view.obligations.iter().map(|o| (o.regime, o.report, o.due.to_string(), o.days_left)).collect();
    assert_eq!(
        owed,
        [
            (Regime::Secrecy, Report::First, "2026-06-02".to_string(), Some(1)),
            (Regime::Secrecy, Report::Detailed, "2026-07-01".to_string(), Some(30)),
        ]
    );
    assert_eq!(view.triage, Triage::NoTrigger);
    let entries = admin_entries(&d, from);
    let (actor, event) = entries.last().unwrap();
    assert_eq!(*actor, Actor::Staff("all".into()));
    assert_eq!(
        (event.action, event.subject.as_str()),
        (AdminAction::IncidentOpened, format!("incident/{}", view.id).as_str())
    );
    let stored = d.store.incident(&view.id).unwrap().unwrap();
    assert_eq!(event.digest, Some(sha(&serde_json::to_vec(&stored.current.fields).unwrap())));
    assert_eq!(stored.current.audit_index, size(&d) - 1, "the version names its entry");
}

#[test]
fn only_managers_change_the_register_and_input_is_checked_first() {
    let d = deploy();
    let from = size(&d);
    for who in ["support", "ads"] {
        let err = d.service.open_incident(&Acting::Person(who.into()), &new_incident(&[Regime::Tokutei]), at(0));
        assert!(matches!(err, Err(ActionError::Forbidden(_))), "{who}: {err:?}");
    }
    let mut future = new_incident(&[Regime::Tokutei]);
    future.known_at = at(60);
    let mut none = new_incident(&[]);
    none.regimes.clear();
    let mut late = new_incident(&[Regime::Tokutei]);
    late.discovered_at = Some(at(-60));
    let mut unknown = new_incident(&[Regime::Tokutei]);
    unknown.categories = vec![CategoryId::parse("no.such").unwrap()];
    let mut blank = new_incident(&[Regime::Tokutei]);
    blank.title = Text::ja("  ");
    for (input, field) in
        [(future, "known_at"), (none, "regime"), (late, "discovered_at"), (unknown, "category"), (blank, "title")]
    {
        match d.service.open_incident(&manager(), &input, at(0)) {
            Err(ActionError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(size(&d), from, "nothing refused reached the ledger");
    assert!(d.store.incidents(10).unwrap().is_empty());
}

#[test]
fn an_update_is_a_new_version_audited_first_and_moves_the_deadlines_with_the_facts() {
    let d = deploy();
    let id = opened(&d, &[Regime::Tokutei]);
    let key = id.to_string();
    let patch = IncidentPatch {
        cause: Some("宛先の確認漏れ".into()),
        known_at: Some(ts("2026-05-30T10:00:00+09:00")),
        discovered_at: Some(ts("2026-05-29T10:00:00+09:00")),
        ..IncidentPatch::default()
    };
    let from = size(&d);
    let view =
        audit_first(&d, move |s| version_of(s, &key), |d| d.service.update_incident(&manager(), &id, &patch, at(10)));
    assert_eq!(view.version, 2);
    assert_eq!(view.fields.cause.as_deref(), Some("宛先の確認漏れ"));
    let dues: Vec<_> = view.obligations.iter().map(|o| o.due.to_string()).collect();
    assert_eq!(dues, ["2026-05-30", "2026-06-29"], "the clocks moved with the facts");
    assert!(view.obligations.iter().all(|o| o.unconfirmed), "tokutei deadlines are marked unconfirmed");
    assert!(view.obligations[0].overdue && view.obligations[0].days_left == Some(-2));
    let (_, event) = admin_entries(&d, from).into_iter().last().unwrap();
    assert_eq!(event.action, AdminAction::IncidentUpdated);
    assert!(
        event.details.contains(&("fields".to_string(), "cause,discovered_at,known_at".to_string())),
        "{:?}",
        event.details
    );
    let history = d.service.incident_history(&id).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].fields.cause, None, "the old version is kept");
    // Nothing to change is refused without an entry.
    let before = size(&d);
    let err = d.service.update_incident(&manager(), &id, &IncidentPatch::default(), at(20));
    assert!(matches!(err, Err(ActionError::BadRequest(_))), "{err:?}");
    assert_eq!(size(&d), before);
}

#[test]
fn triage_recomputes_the_obligations_and_keeps_the_submitted_ones() {
    let d = deploy();
    let id = opened(&d, &[Regime::Appi]);
    assert!(d.service.incident(&id, at(0)).unwrap().obligations.is_empty(), "not reportable yet");
    let key = id.to_string();
    let malicious = TriageInput { flags: Flags { malicious: true, ..Flags::default() }, ..TriageInput::default() };
    let view = audit_first(
        &d,
        move |s| version_of(s, &key),
        |d| d.service.triage_incident(&manager(), &id, &malicious, at(10)),
    );
    let owed: Vec<_> = view.obligations.iter().map(|o| (o.report, o.due.to_string())).collect();
    assert_eq!(
        owed,
        [(Report::Preliminary, "2026-06-04".to_string()), (Report::Final, "2026-07-31".to_string())],
        "60 days when malicious"
    );
    assert!(matches!(view.triage, Triage::Reportable { .. }));
    d.service
        .submit_report(&manager(), &id, Regime::Appi, Report::Preliminary, &SubmitReport::default(), at(20))
        .unwrap();
    // Strongly encrypted after all: nothing more is owed, but the submitted 速報 stays.
    let encrypted =
        TriageInput { flags: Flags { malicious: true, encrypted: true, ..Flags::default() }, ..TriageInput::default() };
    let view = d.service.triage_incident(&manager(), &id, &encrypted, at(30)).unwrap();
    assert_eq!(view.triage, Triage::Encrypted);
    let owed: Vec<_> = view.obligations.iter().map(|o| (o.report, o.submission.is_some())).collect();
    assert_eq!(owed, [(Report::Preliminary, true)]);
    let (_, event) = admin_entries(&d, 0).into_iter().rfind(|(_, e)| e.action == AdminAction::IncidentTriaged).unwrap();
    assert!(event.details.contains(&("appi".to_string(), "encrypted".to_string())), "{:?}", event.details);
    assert!(event.details.contains(&("flags".to_string(), "malicious,encrypted".to_string())), "{:?}", event.details);
}

#[test]
fn a_final_report_needs_every_item_and_its_submission_is_audited_first_with_the_documents_digest() {
    let d = deploy();
    let id = opened(&d, &[Regime::Secrecy]);
    let err =
        d.service.submit_report(&manager(), &id, Regime::Secrecy, Report::Detailed, &SubmitReport::default(), at(10));
    match err {
        Err(ActionError::Conflict(message)) => {
            assert!(message.contains("`registration`") && message.contains("`cause`"), "{message}");
            assert!(!message.contains("`company`"), "the company comes from the policy: {message}");
        }
        other => panic!("{other:?}"),
    }
    // The first report may be filed as far as known.
    let doc = d.service.report_document(&id, Regime::Secrecy, Report::First, at(10)).unwrap();
    assert_eq!(doc.items.len(), 10, "the MIC report's ten items");
    assert!(doc.text.contains("1. 事業者名\n星空通信株式会社") && doc.text.contains("（未記入）"), "{}", doc.text);
    let key = id.to_string();
    let how = SubmitReport {
        reference: Some("関東-2026-001".into()),
        document: Some(b"%PDF-1.7 ...".to_vec()),
        ..SubmitReport::default()
    };
    let from = size(&d);
    let submitted = audit_first(
        &d,
        move |s| version_of(s, &key),
        |d| d.service.submit_report(&manager(), &id, Regime::Secrecy, Report::First, &how, at(20)),
    );
    let expected = sha(b"%PDF-1.7 ...");
    assert_eq!(submitted.submission.as_ref().unwrap().digest, hex::encode(expected));
    let (_, event) = admin_entries(&d, from).into_iter().last().unwrap();
    assert_eq!((event.action, event.digest), (AdminAction::IncidentReportSubmitted, Some(expected)));
    let err = d.service.submit_report(&manager(), &id, Regime::Secrecy, Report::First, &how, at(30));
    assert!(matches!(err, Err(ActionError::Conflict(_))), "once: {err:?}");
    // Filled in, the detailed report goes.
    let rules: tokutei_app::incidents::rules::IncidentConfig = toml::from_str("registration = \"A-01-00001\"").unwrap();
    let d2_rules = tokutei_app::incidents::rules::IncidentRules::from_config(&rules).unwrap();
    let patch = IncidentPatch {
        content: Some("メールアドレス".into()),
        cause: Some("宛先の確認漏れ".into()),
        secondary_damage: Some("なし".into()),
        response: Some("お詫びの連絡".into()),
        prevention: Some("送信前の二重確認".into()),
        ..IncidentPatch::default()
    };
    d.service.update_incident(&manager(), &id, &patch, at(40)).unwrap();
    let configured = rebuilt_with(&d, d2_rules);
    let done = configured
        .submit_report(&manager(), &id, Regime::Secrecy, Report::Detailed, &SubmitReport::default(), at(50))
        .unwrap();
    assert!(done.submission.is_some());
}

/// A second service over the same store and ledger, under other incident rules.
fn rebuilt_with(d: &Deployed, rules: tokutei_app::incidents::rules::IncidentRules) -> tokutei_app::App {
    let keys = d.service.keys().clone();
    let deployment = tokutei_gateway::Deployment {
        zones_required: false,
        required_training: vec!["privacy-basics".into()],
        ..Default::default()
    };
    tokutei_app::App::new(d.store.clone(), d.ledger.clone(), keys, deployment, Vec::new()).with_incident_rules(rules)
}

#[test]
fn the_impact_is_exactly_what_the_principal_read_in_the_window_and_each_entry_proves() {
    let d = deploy();
    let read = |principal: &str, subscribers: &[&str], categories: &[&str], second: i64, client: &str| {
        let mut c = call(principal, "support", subscribers, categories);
        c.now = at(second);
        c.client = client.into();
        d.service.read(&c).unwrap()
    };
    // Before the window: `support` reads S-terminated's email.
    read("support", &["S-terminated"], &["contract.email"], 100, "cli");
    // In the window: S-active's name and phone, then its name again; S-suspended's name through
    // an API token; a denied read (outside its data range) returns nothing and does not count.
    let first = read("support", &["S-active"], &["contract.name", "contract.phone"], 1_000, "cli");
    let second = read("support", &["S-active"], &["contract.name"], 2_000, "cli");
    let third = read("support", &["S-suspended"], &["contract.name"], 2_500, "api:tok-7");
    let denied = read("support", &["S-active"], &["comm.location"], 2_600, "cli");
    assert!(!denied.all_allowed());
    // Someone else in the window.
    read("all", &["S-terminated"], &["contract.phone"], 3_000, "cli");
    // After the window.
    read("support", &["S-active"], &["contract.email"], 9_000, "cli");

    let id = opened(&d, &[Regime::Appi]);
    let query = ImpactQuery {
        principal: Some(PrincipalId::parse("support").unwrap()),
        token: None,
        categories: Vec::new(),
        since: at(500),
        until: at(5_000),
        set_persons: true,
    };
    let key = id.to_string();
    let impact = audit_first(
        &d,
        move |s| format!("{:?}", s.impacts(&key).unwrap().len()),
        |d| d.service.compute_impact(&manager(), &id, &query, at(10_000)),
    );
    let idx = |o: &tokutei_app::AccessOutcome, s: usize, c: usize| o.subscribers[s].items[c].audit_index;
    let items: Vec<_> =
        impact.items.iter().map(|i| (i.subscriber.as_str(), i.category.as_str(), i.count, i.indexes.clone())).collect();
    assert_eq!(
        items,
        [
            ("S-active", "contract.name", 2, vec![idx(&first, 0, 0), idx(&second, 0, 0)]),
            ("S-active", "contract.phone", 1, vec![idx(&first, 0, 1)]),
            ("S-suspended", "contract.name", 1, vec![idx(&third, 0, 0)]),
        ]
    );
    assert_eq!(impact.subscribers, ["S-active", "S-suspended"]);
    assert_eq!(impact.categories.get("contract.name"), Some(&2));
    let after = impact.incident_after.as_ref().expect("the number of persons was taken from the impact");
    assert_eq!(after.fields.persons, Some(Persons { count: 2, estimated: false }));

    // Through the API token only; by categories only.
    let token = ImpactQuery { principal: None, token: Some("tok-7".into()), ..query.clone() };
    let by_token = d.service.compute_impact(&manager(), &id, &token, at(10_001)).unwrap();
    assert_eq!(by_token.items.iter().map(|i| i.subscriber.as_str()).collect::<Vec<_>>(), ["S-suspended"]);
    let phones = ImpactQuery {
        principal: None,
        categories: vec![CategoryId::parse("contract.phone").unwrap()],
        ..query.clone()
    };
    let by_category = d.service.compute_impact(&manager(), &id, &phones, at(10_002)).unwrap();
    let got: Vec<_> = by_category.items.iter().map(|i| (i.subscriber.as_str(), i.count)).collect();
    assert_eq!(got, [("S-active", 1), ("S-terminated", 1)], "every principal's reads of the category");
    assert_eq!(d.service.incident_impacts(&id).unwrap().len(), 3);

    // Every index proves against a signed checkpoint, and carries the read it stands for.
    let log =
        Checkpoints::new(d.ledger.clone(), CheckpointSigner::from_seed("tokutei.test/incidents", [3; 32]).unwrap());
    let checkpoint = log.latest(at(10_003)).unwrap();
    for item in &impact.items {
        for &index in &item.indexes {
            let proof = d.service.impact_proof(&id, index, log.origin(), &checkpoint).unwrap();
            let checked = check_proof(&proof, &checkpoint.note, &log.verifier());
            assert!(checked.ok, "{}", checked.message);
            let Some(Event::Access(access)) = checked.entry.map(|e| e.event) else { panic!("entry {index} is a read") };
            assert!(access.subscribers.contains(&item.subscriber) && access.categories.contains(&item.category));
        }
    }
    let unrelated = d.service.impact_proof(&id, 0, log.origin(), &checkpoint);
    assert!(matches!(unrelated, Err(ActionError::NotFound(_))), "only the impact's entries: {unrelated:?}");
}

#[test]
fn notices_read_contacts_through_the_gateway_and_log_each_person_audited_first() {
    let d = deploy();
    let mut c = call("support", "support", &["S-active", "S-terminated"], &["contract.email"]);
    c.now = at(1_000);
    d.service.read(&c).unwrap();
    let id = opened(&d, &[Regime::Appi]);
    let query = ImpactQuery {
        principal: Some(PrincipalId::parse("support").unwrap()),
        token: None,
        categories: Vec::new(),
        since: at(0),
        until: at(2_000),
        set_persons: false,
    };
    d.service.compute_impact(&manager(), &id, &query, at(3_000)).unwrap();

    let read = NoticeRead {
        purpose: PurposeId::parse("service_provision").unwrap(),
        contact: CategoryId::parse("contract.email").unwrap(),
        channel: Some(tokutei_policy::Channel::Email),
        zone: None,
        terminal: None,
        subscribers: Vec::new(),
        client: "test".into(),
    };
    let before = d.log.lock().unwrap().len();
    let letters = d.service.notice_letters(&manager(), &id, &read, at(4_000)).unwrap();
    let events = d.log.lock().unwrap()[before..].to_vec();
    let got: Vec<_> = letters.letters.iter().map(|l| (l.subscriber.as_str(), l.contact.clone())).collect();
    assert_eq!(
        got,
        [
            ("S-active", Some(plaintext("S-active", "contract.email"))),
            ("S-terminated", Some(plaintext("S-terminated", "contract.email"))),
        ]
    );
    assert!(letters.letters[0].text.contains("個人データの項目\nメールアドレス"), "{}", letters.letters[0].text);
    // The gateway's read entries came first, and name the one acting and the purpose.
    assert!(matches!(events.first(), Some(support::Event::Appended(_))), "{events:?}");
    for index in &letters.audit {
        let entry = d.ledger.ledger_entry(*index).unwrap().unwrap().decode().unwrap();
        assert_eq!((entry.actor.id(), entry.purpose()), ("all", Some("service_provision")));
    }
    // Without a channel, for a purpose that lists its channels: refused naming `channel`
    // before any read (not a denial per person and letters with no address).
    let size_before = size(&d);
    let no_channel = NoticeRead { channel: None, ..read.clone() };
    let err = d.service.notice_letters(&manager(), &id, &no_channel, at(4_050));
    assert!(matches!(&err, Err(ActionError::Invalid { field: "channel", .. })), "{err:?}");
    assert!(err.unwrap_err().to_string().contains("email"), "the purpose's channels are named");
    assert_eq!(size(&d), size_before, "nothing was read");
    // A handler cannot; a subscriber outside the affected set cannot be named.
    let err = d.service.notice_letters(&Acting::Person("support".into()), &id, &read, at(4_100));
    assert!(matches!(err, Err(ActionError::Forbidden(_))), "{err:?}");
    let outside = NoticeRead { subscribers: vec![SubscriberId::parse("S-suspended").unwrap()], ..read.clone() };
    let err = d.service.notice_letters(&manager(), &id, &outside, at(4_100));
    assert!(matches!(err, Err(ActionError::Invalid { field: "subscriber", .. })), "{err:?}");

    let key = id.to_string();
    let sent = vec![SubscriberId::parse("S-active").unwrap()];
    let recorded = audit_first(
        &d,
        move |s| format!("{:?}", s.notices(&key).unwrap()),
        |d| d.service.record_notices(&manager(), &id, &sent, NoticeMethod::Email, None, at(5_000)),
    );
    assert_eq!(recorded.count, 1);
    let key = id.to_string();
    audit_first(
        &d,
        move |s| format!("{:?}", s.alternatives(&key).unwrap()),
        |d| {
            d.service.record_alternative_measure(
                &manager(),
                &id,
                "ウェブサイトでの公表",
                "連絡先不明の利用者がいるため",
                at(5_100),
            )
        },
    );
    let view = d.service.incident(&id, at(5_200)).unwrap();
    assert_eq!((view.notices, view.alternatives.len()), (1, 1));
    // The contact never reached the ledger or the register.
    let contact = plaintext("S-active", "contract.email");
    let mut bodies = Vec::new();
    d.ledger
        .scan_entries(0, &mut |e| {
            bodies.push(e.encoded);
            Ok(true)
        })
        .unwrap();
    assert!(bodies.iter().all(|b| !b.windows(contact.len()).any(|w| w == contact.as_bytes())));
    assert!(!format!("{:?}", d.store.notices(id.as_str()).unwrap()).contains(&contact));
}

/// The demo policy in force from 2024-01-01, with its leak rule listing for `years`.
fn policy_with_years(d: &Deployed, years: u32) {
    let source = support::POLICY.replace("years = 10", &format!("years = {years}"));
    let policy = tokutei_policy::parse(&source).unwrap();
    d.store
        .publish_policy(NewPolicyVersion {
            digest: tokutei_policy::PolicyDigest::of(&policy),
            source,
            effective: support::date(2024, 1, 1),
            published_by: "test".into(),
            published_at: at(0),
        })
        .unwrap();
}

fn occurred_on(d: &Deployed, day: &str, now: Timestamp) -> IncidentId {
    let mut new = new_incident(&[Regime::Tokutei]);
    new.occurred = Occurrence::At { at: ts(&format!("{day}T12:00:00+09:00")) };
    new.known_at = now;
    new.discovered_at = None;
    let view = d.service.open_incident(&manager(), &new, now).unwrap();
    IncidentId::parse(view.id).unwrap()
}

#[test]
fn the_public_window_starts_on_2024_01_18_and_lasts_exactly_ten_years() {
    let d = deploy();
    let now = at(0);
    let before = occurred_on(&d, "2024-01-17", now);
    let first_day = occurred_on(&d, "2024-01-18", now);
    let from = size(&d);
    let err = d.service.publish_incident(&manager(), &before, None, now);
    match err {
        Err(ActionError::Conflict(m)) => assert!(m.contains("occurred on 2024-01-17, before 2024-01-18"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(size(&d), from, "a refused publication leaves no entry");
    let key = first_day.to_string();
    let published = audit_first(
        &d,
        move |s| format!("{:?}", s.publications(&key).unwrap().len()),
        |d| d.service.publish_incident(&manager(), &first_day, None, now),
    );
    assert_eq!(published.listed_until.to_string(), "2034-01-17");
    let (_, event) = admin_entries(&d, from).into_iter().last().unwrap();
    assert_eq!(event.action, AdminAction::IncidentPublished);
    assert!(event.details.contains(&("listed_until".to_string(), "2034-01-17".to_string())));

    let listed = |day: &str| {
        let rule = &d.policy.leaks;
        tokutei_app::incidents::public_entries(d.store.as_ref(), rule, day.parse().unwrap())
            .unwrap()
            .into_iter()
            .map(|e| e.leak.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(listed("2026-06-01"), [first_day.to_string()]);
    assert_eq!(listed("2034-01-17"), [first_day.to_string()], "the last day of the ten years");
    assert!(listed("2034-01-18").is_empty(), "drops off on the anniversary");
    assert_eq!(d.service.public_entries(now).unwrap().len(), 1);

    // Inside the window: withdrawal refused, naming the date the window ends, nothing written.
    let from = size(&d);
    for day in ["2026-06-01T10:00:00+09:00", "2034-01-17T23:59:00+09:00"] {
        match d.service.withdraw_incident(&manager(), &first_day, "誤り", ts(day)) {
            Err(ActionError::Conflict(m)) => assert!(m.contains("until 2034-01-17"), "{m}"),
            other => panic!("{day}: {other:?}"),
        }
    }
    assert_eq!(size(&d), from);
    assert!(d.store.withdrawal(first_day.as_str()).unwrap().is_none());

    // A correction is a new version; the old text stays in the public history.
    let key = first_day.to_string();
    let corrected = audit_first(
        &d,
        move |s| format!("{:?}", s.publications(&key).unwrap().len()),
        |d| d.service.correct_publication(&manager(), &first_day, &Text::ja("訂正後の概要"), at(100)),
    );
    assert_eq!((corrected.version, corrected.listed_until.to_string().as_str()), (2, "2034-01-17"));
    let entries = d.service.public_entries(at(200)).unwrap();
    assert_eq!(entries[0].leak.summary.ja, "訂正後の概要");
    assert_eq!(entries[0].history.len(), 1);
    assert_eq!(entries[0].history[0].summary.ja, "お客さまへのメールを別のお客さまに送信した");
    assert_eq!(entries[0].leak.published.to_string(), "2026-06-01", "listed from its first publication");
}

#[test]
fn a_withdrawal_is_refused_on_the_last_day_of_the_window_and_allowed_the_day_after() {
    let d = deploy();
    // A deployment whose policy (in force from 2024) lists leaks for one year, so the window's
    // end has passed by the database's own date too.
    policy_with_years(&d, 1);
    let now = ts("2024-06-01T10:00:00+09:00");
    let id = occurred_on(&d, "2024-01-18", now);
    let published = d.service.publish_incident(&manager(), &id, None, now).unwrap();
    assert_eq!(published.listed_until.to_string(), "2025-01-17");
    let from = size(&d);
    match d.service.withdraw_incident(&manager(), &id, "掲載期間の終了", ts("2025-01-17T23:59:59+09:00")) {
        Err(ActionError::Conflict(m)) => assert!(m.contains("until 2025-01-17"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(size(&d), from);
    let key = id.to_string();
    let withdrawn = audit_first(
        &d,
        move |s| format!("{:?}", s.withdrawal(&key).unwrap()),
        |d| d.service.withdraw_incident(&manager(), &id, "掲載期間の終了", ts("2025-01-18T00:00:00+09:00")),
    );
    assert_eq!(withdrawn.reason, "掲載期間の終了");
    assert!(tokutei_app::incidents::published_leaks(d.store.as_ref()).unwrap().is_empty());
    let err = d.service.correct_publication(&manager(), &id, &Text::ja("x"), ts("2025-01-19"));
    assert!(matches!(err, Err(ActionError::Conflict(_))), "{err:?}");
}

#[test]
fn open_obligations_count_the_days_left_and_closing_waits_for_every_report() {
    let d = deploy();
    let id = opened(&d, &[Regime::Secrecy]);
    let open = d.service.open_obligations(ts("2026-06-03T09:00:00+09:00")).unwrap();
    let got: Vec<_> = open.iter().map(|o| (o.report, o.days_left, o.overdue, o.title.as_str())).collect();
    assert_eq!(got, [(Report::First, -1, true, "メールの誤送信"), (Report::Detailed, 28, false, "メールの誤送信")]);
    let close = IncidentPatch { status: Some(IncidentStatus::Closed), ..IncidentPatch::default() };
    match d.service.update_incident(&manager(), &id, &close, at(10)) {
        Err(ActionError::Conflict(m)) => assert!(m.contains("secrecy first, secrecy detailed"), "{m}"),
        other => panic!("{other:?}"),
    }
    let reopen = IncidentPatch { status: Some(IncidentStatus::Reported), ..IncidentPatch::default() };
    d.service.update_incident(&manager(), &id, &reopen, at(20)).unwrap();
    let back = IncidentPatch { status: Some(IncidentStatus::Open), ..IncidentPatch::default() };
    assert!(matches!(d.service.update_incident(&manager(), &id, &back, at(30)), Err(ActionError::Conflict(_))));
}
