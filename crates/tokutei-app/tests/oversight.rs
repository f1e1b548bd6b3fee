//! The oversight registers through the application layer, on a real store and ledger: the
//! designation and every change of the chief manager register audited before it is stored (a
//! failing ledger changing nothing); the three statutory deadlines at their edges (the civil
//! code's months, met by their records, shown until met); exactly one chief manager at a time
//! (a successor ends the appointment in force the day before; a second active one refused);
//! the notification task open until it is filed; opinions and responses in the ledger by
//! digest only; non-managers and bad input refused naming the field; and the open deadlines
//! escalated at T−7, T−1 and overdue until met; the training catalogue's roster and its
//! alerts 30 days before and at expiry, once each; the annual assessment (one per business
//! year, every change audited first, completed only with every measure assessed) and the
//! alert of a year closed without one. Time is passed in, never slept.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use support::{Deployed, deploy};
use tokutei_app::alerts::escalation::Stage;
use tokutei_app::alerts::{AlertConfig, WebhookConfig};
use tokutei_app::oversight::designation::{DesignationInput, Duty};
use tokutei_app::oversight::manager::{AppointInput, NotificationInput, OpinionInput, ResponseInput};
use tokutei_app::oversight::rules::RulesFilingInput;
use tokutei_app::{Acting, ActionError, ActionResult, App, AppointmentId, OpinionId, PrincipalId, ServiceId};
use tokutei_ledger::{Actor, AdminAction, AdminEvent, Event};
use tokutei_policy::{Date, Role, tokyo};
use tokutei_store::assessment::AssessmentStore;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::oversight::{OversightStore, ViolationStore};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};
use tokutei_store_sqlite::SqliteStore;

const DEMO_RULES: &str = include_str!("../../tokutei-policy/policies/hoshizora-tsushin-rules.toml");

fn manager() -> Acting {
    Acting::Person("all".into())
}

/// Noon in Tokyo on `text` (`YYYY-MM-DD`).
fn noon(text: &str) -> Timestamp {
    tokyo::start_of(day(text).0) + SignedDuration::from_hours(12)
}

fn day(text: &str) -> Date {
    text.parse().unwrap()
}

fn services(ids: &[&str]) -> Vec<ServiceId> {
    ids.iter().map(|s| ServiceId::parse(*s).unwrap()).collect()
}

fn designation(notified: &str) -> DesignationInput {
    DesignationInput { notified_on: day(notified), services: services(&["fiber", "mobile"]) }
}

/// Two people with the chief manager's role, and one disabled.
fn with_chiefs(d: &Deployed) {
    for id in ["chief-a", "chief-b", "chief-gone"] {
        d.store
            .create_principal(&NewPrincipal {
                id: id.into(),
                display_name: format!("統括 {id}"),
                kind: PrincipalKind::Person { role: Role::ChiefManager },
                grants: Grants::default(),
                created_at: support::at(0),
            })
            .unwrap();
    }
    d.store.disable_principal("chief-gone", support::at(1)).unwrap();
}

fn appoint(principal: &str, from: &str) -> AppointInput {
    AppointInput {
        principal: PrincipalId::parse(principal).unwrap(),
        from: day(from),
        evidence: Some("取締役会決議 2026-04-20、情報セキュリティ部長 5年".into()),
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

/// An appointment as the tests compare it: id, first day, last day, in office, notification days left.
type RegisterRow<'a> = (&'a str, Date, Option<Date>, bool, Option<i64>);

fn size(d: &Deployed) -> u64 {
    d.ledger.tree_size().unwrap()
}

/// Everything the oversight registers hold, as text.
fn registers(s: &SqliteStore) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        s.designations().unwrap(),
        s.oversight_filings().unwrap(),
        s.rules_versions().unwrap(),
        s.appointments().unwrap(),
        s.opinions().unwrap(),
        s.assessments().unwrap()
    )
}

/// `act` with a failing ledger changes nothing and says so (`Audit`); with a working ledger
/// its entry is appended while the registers still read as before, and afterwards they have
/// changed.
fn audit_first<T: std::fmt::Debug>(d: &Deployed, act: impl Fn(&Deployed) -> ActionResult<T>) -> T {
    let before = registers(&d.store);
    d.ledger.fail.store(true, Ordering::SeqCst);
    let failed = act(d);
    d.ledger.fail.store(false, Ordering::SeqCst);
    assert!(matches!(failed, Err(ActionError::Audit(_))), "{failed:?}");
    assert_eq!(registers(&d.store), before, "a failing ledger changes nothing");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (store, into) = (d.store.clone(), seen.clone());
    d.ledger.before_append(move |_| into.lock().unwrap().push(registers(&store)));
    let out = act(d).unwrap();
    d.ledger.before_append(|_| {});
    assert_eq!(seen.lock().unwrap().first(), Some(&before), "the entry was durable before the change");
    assert_ne!(registers(&d.store), before, "the action changed the registers");
    out
}

#[test]
fn the_designation_is_audited_first_and_its_deadlines_follow_the_civil_code() {
    let d = deploy();
    let from = size(&d);
    // Designated on the last day of March: the three months end on the last day of June.
    let now = noon("2026-06-01");
    let done = audit_first(&d, |d| d.service.record_designation(&manager(), &designation("2026-03-31"), now));
    assert_eq!(done.number, 1);
    let entries = admin_entries(&d, from);
    assert_eq!(entries.len(), 1);
    let (actor, event) = &entries[0];
    assert_eq!(
        (actor, event.action, event.subject.as_str()),
        (&Actor::Staff("all".into()), AdminAction::DesignationRecorded, "designation")
    );
    assert_eq!(
        event.details,
        [
            ("notified_on".to_string(), "2026-03-31".to_string()),
            ("services".into(), "fiber,mobile".into()),
            ("due".into(), "2026-06-30".into())
        ]
    );
    let status = done.status;
    assert_eq!(status.services.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["fiber", "mobile"]);
    assert!(status.services.iter().all(|s| s.name.is_some()), "named as the policy names them");
    let by_duty: Vec<(Duty, Date, Option<Date>, i64)> =
        status.deadlines.iter().map(|d| (d.duty, d.due, d.met_on, d.days_left)).collect();
    assert_eq!(
        by_duty,
        [
            (Duty::Rules, day("2026-06-30"), None, 29),
            // The policy in force (v1, effective 2025-07-01) lists both services; it was
            // published on 2026-06-01 in this deployment.
            (Duty::Policy, day("2026-06-30"), Some(day("2026-06-01")), 29),
            (Duty::Manager, day("2026-06-30"), None, 29),
        ]
    );

    // The rules filed on the due date meet the deadline on time; one day later would be late.
    d.service.register_rules(&manager(), DEMO_RULES, noon("2026-06-20")).unwrap();
    d.service
        .record_rules_filing(
            &manager(),
            &RulesFilingInput { version: 1, filed_on: day("2026-06-30"), reference: "総基利第77号".into() },
            noon("2026-07-01"),
        )
        .unwrap();
    let later = d.service.designation_status(noon("2026-07-01")).unwrap().unwrap();
    let rules = &later.deadlines[0];
    assert_eq!((rules.met_on, rules.on_time(), rules.days_left), (Some(day("2026-06-30")), true, -1));
    assert_eq!(rules.met_by.as_deref(), Some("filing #1 of rules v1 (総基利第77号)"));
    let manager_duty = &later.deadlines[2];
    assert_eq!((manager_duty.met(), manager_duty.days_left), (false, -1), "overdue and still shown");

    // A correction is a new designation; the first is kept.
    let corrected = d.service.record_designation(&manager(), &designation("2026-03-30"), now).unwrap();
    assert_eq!(corrected.number, 2);
    assert_eq!(corrected.status.deadlines[0].due, day("2026-06-30"));
    assert_eq!(d.service.designations().unwrap().len(), 2);
}

#[test]
fn the_deadlines_at_their_edges() {
    let d = deploy();
    // Designated 2026-11-30: due 2027-02-28 (the period starts 2026-12-01 and ends with February).
    d.service.record_designation(&manager(), &designation("2026-11-30"), noon("2026-12-01")).unwrap();
    let left = |when: &str| -> Vec<i64> {
        let status = d.service.designation_status(noon(when)).unwrap().unwrap();
        assert!(status.deadlines.iter().all(|d| d.due == day("2027-02-28")), "{status:?}");
        status.deadlines.iter().filter(|d| !d.met()).map(|d| d.days_left).collect()
    };
    assert_eq!(left("2027-02-21"), [7, 7]);
    assert_eq!(left("2027-02-27"), [1, 1]);
    assert_eq!(left("2027-02-28"), [0, 0]);
    assert_eq!(left("2027-03-01"), [-1, -1]);
    // The day turns at midnight in Tokyo, not in UTC: 2027-02-28T15:00Z is 1 March in Tokyo.
    let status = d.service.designation_status("2027-02-28T14:59:59Z".parse().unwrap()).unwrap().unwrap();
    assert_eq!(status.deadlines[0].days_left, 0);
    let status = d.service.designation_status("2027-02-28T15:00:00Z".parse().unwrap()).unwrap().unwrap();
    assert_eq!(status.deadlines[0].days_left, -1);

    // The months are the deployment's: six months from 2026-11-30 end on 2027-05-31.
    let rules = tokutei_app::oversight::OversightRules { deadline_months: 6, ..Default::default() };
    assert_eq!(rules.statutory_due(day("2026-11-30")).unwrap(), day("2027-05-31"));
    let app = App::new(
        d.store.clone(),
        d.ledger.clone(),
        d.service.keys().clone(),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    )
    .with_oversight_rules(rules);
    let status = app.designation_status(noon("2026-12-01")).unwrap().unwrap();
    assert!(status.deadlines.iter().all(|d| d.due == day("2027-05-31")));
}

#[test]
fn bad_designations_and_non_managers_are_refused_and_change_nothing() {
    let d = deploy();
    let from = size(&d);
    let now = noon("2026-06-01");
    let refused = |by: &Acting, input: DesignationInput| d.service.record_designation(by, &input, now).unwrap_err();
    let invalid = |input: DesignationInput| match refused(&manager(), input) {
        ActionError::Invalid { field, message } => format!("{field}: {message}"),
        other => panic!("{other:?}"),
    };
    assert!(
        invalid(DesignationInput { services: services(&["satellite"]), ..designation("2026-03-31") })
            .starts_with("service: `satellite` is not a service of the policy in force")
    );
    assert_eq!(
        invalid(DesignationInput { services: services(&["fiber", "fiber"]), ..designation("2026-03-31") }),
        "service: `fiber` is named twice"
    );
    assert_eq!(
        invalid(DesignationInput { services: Vec::new(), ..designation("2026-03-31") }),
        "service: name at least one designated service"
    );
    assert_eq!(invalid(designation("2026-06-02")), "notified: 2026-06-02 is after today (2026-06-01)");
    for by in ["support", "ads", "untrained"] {
        let err = refused(&Acting::Person(by.into()), designation("2026-03-31"));
        assert!(matches!(err, ActionError::Forbidden(_)), "{by}: {err:?}");
    }
    assert!(matches!(
        refused(&Acting::Person("nobody".into()), designation("2026-03-31")),
        ActionError::UnknownPrincipal(_)
    ));
    let filing = RulesFilingInput { version: 1, filed_on: day("2026-05-01"), reference: " ".into() };
    assert!(matches!(
        d.service.record_rules_filing(&manager(), &filing, now),
        Err(ActionError::Invalid { field: "reference", .. })
    ));
    assert!(matches!(
        d.service.record_rules_filing(
            &Acting::Person("support".into()),
            &RulesFilingInput { reference: "R".into(), ..filing },
            now
        ),
        Err(ActionError::Forbidden(_))
    ));
    assert_eq!(size(&d), from, "no entry");
    assert_eq!(registers(&d.store), registers(&deploy().store), "nothing stored");
}

#[test]
fn a_new_chief_manager_ends_the_previous_one_the_day_before_and_opens_a_notification_task() {
    let d = deploy();
    with_chiefs(&d);
    let from = size(&d);
    let now = noon("2026-06-01");
    let first =
        audit_first(&d, |d| d.service.appoint_chief_manager(&manager(), &appoint("chief-a", "2026-05-01"), now));
    assert_eq!((first.id.as_str(), first.ended.clone(), first.notification_due), ("CM-1", None, day("2026-05-31")));
    let second = d.service.appoint_chief_manager(&manager(), &appoint("chief-b", "2026-06-15"), now).unwrap();
    assert_eq!(second.id.as_str(), "CM-2");
    assert_eq!(second.ended, Some(AppointmentId::parse("CM-1").unwrap()));
    assert_eq!(second.notification_due, day("2026-07-15"));

    let register = d.service.chief_managers(now).unwrap();
    let rows: Vec<RegisterRow<'_>> = register
        .iter()
        .map(|v| {
            let a = &v.appointment;
            (a.appointment.id.as_str(), a.appointment.from, a.to, v.active, v.notification_days_left)
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("CM-1", day("2026-05-01"), Some(day("2026-06-14")), true, Some(-1)),
            ("CM-2", day("2026-06-15"), None, false, Some(44)),
        ]
    );
    let entries = admin_entries(&d, from);
    assert_eq!(entries.len(), 2);
    let (actor, event) = &entries[1];
    assert_eq!(
        (actor, event.action, event.subject.as_str()),
        (&Actor::Staff("all".into()), AdminAction::ChiefManagerAppointed, "chief-manager/CM-2")
    );
    assert_eq!(
        event.details,
        [
            ("principal".to_string(), "chief-b".to_string()),
            ("from".into(), "2026-06-15".into()),
            ("notification_due".into(), "2026-07-15".into()),
            ("ends".into(), "CM-1".into())
        ]
    );
    assert!(event.digest.is_some(), "the evidence by its digest");
    let bytes = format!("{:?}", entries);
    assert!(!bytes.contains("取締役会"), "the evidence is not in the ledger");

    // The notification closes its task; it is audited first.
    let notified = NotificationInput {
        appointment: Some(AppointmentId::parse("CM-1").unwrap()),
        filed_on: day("2026-06-01"),
        reference: "届出-2026-12".into(),
    };
    audit_first(&d, |d| d.service.record_manager_notification(&manager(), &notified, now));
    let register = d.service.chief_managers(now).unwrap();
    assert_eq!(register[0].notification_days_left, None);
    assert_eq!(register[0].notifications.len(), 1);
    assert_eq!(register[1].notification_days_left, Some(44));
}

#[test]
fn a_second_active_chief_manager_is_refused() {
    let d = deploy();
    with_chiefs(&d);
    let now = noon("2026-06-01");
    d.service.appoint_chief_manager(&manager(), &appoint("chief-a", "2026-05-01"), now).unwrap();
    let from = size(&d);
    let before = registers(&d.store);
    let refused = |input: AppointInput| d.service.appoint_chief_manager(&manager(), &input, now).unwrap_err();
    // Starting on or before the appointment in force would make two chief managers at once.
    assert!(matches!(refused(appoint("chief-b", "2026-05-01")), ActionError::Conflict(_)));
    assert!(matches!(refused(appoint("chief-b", "2026-04-01")), ActionError::Conflict(_)));
    assert!(matches!(refused(appoint("chief-a", "2026-07-01")), ActionError::Conflict(_)), "already in office");
    // Only a person with the chief manager's role, not disabled.
    for (who, why) in [
        ("all", "has the role responsible person"),
        ("support", "has the role"),
        ("ads", "is a system"),
        ("chief-gone", "is disabled"),
        ("nobody", "no principal `nobody`"),
    ] {
        match refused(appoint(who, "2026-07-01")) {
            ActionError::Invalid { field: "principal", message } => assert!(message.contains(why), "{who}: {message}"),
            other => panic!("{who}: {other:?}"),
        }
    }
    // Non-managers may not appoint.
    let err =
        d.service.appoint_chief_manager(&Acting::Person("support".into()), &appoint("chief-b", "2026-07-01"), now);
    assert!(matches!(err, Err(ActionError::Forbidden(_))), "{err:?}");
    assert_eq!((size(&d), registers(&d.store)), (from, before), "nothing written");
    // The store refuses it too, whoever calls it.
    let direct = tokutei_store::oversight::NewAppointment {
        id: "CM-9".into(),
        principal: "chief-b".into(),
        from: day("2026-05-01"),
        evidence: None,
        appointed_by: "all".into(),
        appointed_at: now,
        audit_index: 0,
    };
    assert!(matches!(d.store.add_appointment(&direct), Err(tokutei_store::StoreError::Conflict(_))));
    assert_eq!(d.store.appointments().unwrap().iter().filter(|a| a.to.is_none()).count(), 1);
}

#[test]
fn the_manager_deadline_is_met_by_an_appointment_with_its_notification() {
    let d = deploy();
    with_chiefs(&d);
    d.service.record_designation(&manager(), &designation("2026-03-31"), noon("2026-04-01")).unwrap();
    d.service.appoint_chief_manager(&manager(), &appoint("chief-a", "2026-05-01"), noon("2026-04-20")).unwrap();
    let status = d.service.designation_status(noon("2026-05-10")).unwrap().unwrap();
    assert!(!status.deadlines[2].met(), "appointed but not notified");
    let input = NotificationInput { appointment: None, filed_on: day("2026-05-12"), reference: "届出-1".into() };
    let err = d.service.record_manager_notification(&manager(), &input, noon("2026-05-11"));
    assert!(matches!(err, Err(ActionError::Invalid { field: "date", .. })), "a filing date after today: {err:?}");
    d.service.record_manager_notification(&manager(), &input, noon("2026-05-12")).unwrap();
    let status = d.service.designation_status(noon("2026-05-12")).unwrap().unwrap();
    let manager_duty = &status.deadlines[2];
    assert_eq!(manager_duty.met_on, Some(day("2026-05-12")));
    assert!(manager_duty.on_time());
    assert_eq!(manager_duty.met_by.as_deref(), Some("appointment CM-1, notified 届出-1"));
}

#[test]
fn opinions_and_responses_are_kept_and_audited_by_digest() {
    let d = deploy();
    with_chiefs(&d);
    let now = noon("2026-06-01");
    let opinion = OpinionInput {
        given_on: day("2026-05-20"),
        subject: "委託先の監督".into(),
        text: "再委託先の点検を年1回行うべきである。".into(),
    };
    // No chief manager on that day: refused naming the date.
    assert!(matches!(
        d.service.record_opinion(&manager(), &opinion, now),
        Err(ActionError::Invalid { field: "date", .. })
    ));
    d.service.appoint_chief_manager(&manager(), &appoint("chief-a", "2026-05-01"), now).unwrap();
    let from = size(&d);
    let id = audit_first(&d, |d| d.service.record_opinion(&Acting::Person("chief-a".into()), &opinion, now));
    assert_eq!(id.as_str(), "OP-1");
    let views = d.service.opinions(now).unwrap();
    assert_eq!((views[0].response_due, views[0].response_days_left), (day("2026-06-19"), Some(18)));
    let response = ResponseInput {
        opinion: OpinionId::parse("OP-1").unwrap(),
        responded_on: day("2026-05-19"),
        text: "2026年度から点検する。".into(),
    };
    assert!(
        matches!(
            d.service.respond_to_opinion(&manager(), &response, now),
            Err(ActionError::Invalid { field: "date", .. })
        ),
        "before the opinion"
    );
    let response = ResponseInput { responded_on: day("2026-05-28"), ..response };
    audit_first(&d, |d| d.service.respond_to_opinion(&manager(), &response, now));
    let views = d.service.opinions(now).unwrap();
    assert_eq!(views[0].response_days_left, None);
    assert_eq!(views[0].opinion.responses[0].text, "2026年度から点検する。");
    let unknown = ResponseInput { opinion: OpinionId::parse("OP-9").unwrap(), ..response };
    assert!(matches!(d.service.respond_to_opinion(&manager(), &unknown, now), Err(ActionError::NotFound(_))));

    let entries = admin_entries(&d, from);
    let actions: Vec<(AdminAction, &str)> = entries.iter().map(|(_, e)| (e.action, e.subject.as_str())).collect();
    assert_eq!(
        actions,
        [(AdminAction::OpinionRecorded, "opinion/OP-1"), (AdminAction::OpinionResponded, "opinion/OP-1")]
    );
    assert_eq!(entries[0].0, Actor::Staff("chief-a".into()));
    assert!(entries.iter().all(|(_, e)| e.digest.is_some()));
    let text = format!("{entries:?}");
    assert!(!text.contains("委託") && !text.contains("点検"), "no text in the ledger: {text}");
}

fn with_alerts(d: &Deployed) -> App {
    App::new(
        d.store.clone(),
        d.ledger.clone(),
        d.service.keys().clone(),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    )
    .with_alerts(AlertConfig {
        webhook: Some(WebhookConfig {
            url: "http://127.0.0.1:9/hook".into(),
            secret_file: "keys/w.secret".into(),
            timeout_seconds: 5,
        }),
        ..AlertConfig::default()
    })
}

#[test]
fn open_oversight_deadlines_are_escalated_until_met() {
    let d = deploy();
    with_chiefs(&d);
    let app = with_alerts(&d);
    // Designated 2026-03-31: the 規程 and the chief manager are due 2026-06-30.
    app.record_designation(&manager(), &designation("2026-03-31"), noon("2026-04-01")).unwrap();
    app.appoint_chief_manager(&manager(), &appoint("chief-a", "2026-05-25"), noon("2026-05-20")).unwrap();
    let subjects = |at: &str| -> Vec<(String, Date)> {
        let mut clocks: Vec<(String, Date)> =
            app.open_clocks(noon(at)).unwrap().into_iter().map(|c| (c.subject, c.due)).collect();
        clocks.sort();
        clocks
    };
    assert_eq!(
        subjects("2026-06-22"),
        [
            ("chief-manager/CM-1/notification".to_string(), day("2026-06-24")),
            ("designation/manager".to_string(), day("2026-06-30")),
            ("designation/rules".to_string(), day("2026-06-30")),
        ]
    );
    let clocks = app.open_clocks(noon("2026-06-22")).unwrap();
    // To the active managers: the responsible person and both chief managers, not the disabled one.
    for clock in &clocks {
        let mut to: Vec<&str> = clock.recipients.iter().map(PrincipalId::as_str).collect();
        to.sort();
        assert_eq!(to, ["all", "chief-a", "chief-b"], "{clock:?}");
    }

    let stages = |at: &str| -> Vec<(String, Stage, i64)> {
        let mut out: Vec<(String, Stage, i64)> = app
            .escalate_open_clocks(noon(at))
            .unwrap()
            .into_iter()
            .map(|e| (e.subject, e.stage, e.days_left))
            .collect();
        out.sort();
        out
    };
    // 2026-06-22: the notification (due 06-24) is within a week; the statutory ones (06-30) not yet.
    assert_eq!(stages("2026-06-22"), [("chief-manager/CM-1/notification".to_string(), Stage::WeekBefore, 2)]);
    // 2026-06-23: T−7 for the statutory deadlines.
    assert_eq!(
        stages("2026-06-23"),
        [
            ("chief-manager/CM-1/notification".to_string(), Stage::DayBefore, 1),
            ("designation/manager".to_string(), Stage::WeekBefore, 7),
            ("designation/rules".to_string(), Stage::WeekBefore, 7),
        ]
    );
    // The 規程 filed and the appointment notified: those clocks close; the statutory
    // deadline of the manager is met by the notification, so nothing is left.
    app.register_rules(&manager(), DEMO_RULES, noon("2026-06-25")).unwrap();
    app.record_rules_filing(
        &manager(),
        &RulesFilingInput { version: 1, filed_on: day("2026-06-25"), reference: "総基利第1号".into() },
        noon("2026-06-25"),
    )
    .unwrap();
    assert_eq!(
        stages("2026-07-01"),
        [
            ("chief-manager/CM-1/notification".to_string(), Stage::Overdue, -7),
            ("designation/manager".to_string(), Stage::Overdue, -1),
        ]
    );
    app.record_manager_notification(
        &manager(),
        &NotificationInput { appointment: None, filed_on: day("2026-07-01"), reference: "届出-1".into() },
        noon("2026-07-01"),
    )
    .unwrap();
    assert!(subjects("2026-07-02").is_empty(), "every deadline met");
    assert!(app.escalate_open_clocks(noon("2026-07-02")).unwrap().is_empty());
    // Each alert names the deadline in both languages.
    let alerts = app.alerts(None, 100).unwrap();
    assert!(alerts.iter().any(|a| a.document.as_ref().is_some_and(|doc| doc.title.ja.contains("情報取扱規程の届出"))));
}

/// The app of `d` under detector thresholds small enough for a test's workload.
fn with_detectors(d: &Deployed) -> App {
    let rules = tokutei_app::oversight::OversightRules {
        detectors: tokutei_app::oversight::detectors::DetectorRules { reads_per_hour: 10, ..Default::default() },
        ..Default::default()
    };
    App::new(
        d.store.clone(),
        d.ledger.clone(),
        d.service.keys().clone(),
        tokutei_gateway::Deployment {
            zones_required: false,
            required_training: vec!["privacy-basics".into()],
            ..Default::default()
        },
        Vec::new(),
    )
    .with_oversight_rules(rules)
}

fn gateway_read(app: &App, principal: &str, category: &str, second: i64) -> bool {
    let mut c = support::call(principal, "support", &["S-active"], &[category]);
    c.now = support::at(second);
    app.read(&c).unwrap().all_allowed()
}

/// Each detector on a ledger written by real gateway reads: normal office-hours traffic with
/// scattered denials raises nothing; a burst of denials, an hour over the volume and a read
/// after hours each raise exactly one report, concerning the right principal; a second run
/// over the same window files nothing new.
#[test]
fn detectors_fire_exactly_where_they_should_and_not_on_normal_traffic() {
    let d = deploy();
    let app = with_detectors(&d);
    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;
    // Day 1 (2026-06-01, 09:00–17:00 Tokyo): `support` reads every ten minutes, `all` every
    // hour, and `support` is refused three times, half an hour apart.
    for step in 0..48 {
        assert!(gateway_read(&app, "support", "contract.name", step * 600));
    }
    for hour in 0..8 {
        assert!(gateway_read(&app, "all", "contract.phone", hour * HOUR + 300));
    }
    for k in 0..3 {
        assert!(!gateway_read(&app, "support", "comm.location", 1_000 + k * 1_800));
    }
    let normal = app.run_detectors(support::at(0), support::at(DAY), support::at(DAY)).unwrap();
    assert!(normal.is_empty(), "normal traffic raised {normal:?}");

    // Day 2 (2026-06-02): five denials in four minutes by `support`; eleven reads by `all`
    // between 11:00 and 12:00; one read by `support` at 20:01.
    for k in 0..5 {
        assert!(!gateway_read(&app, "support", "comm.location", DAY + 1_000 + k * 60));
    }
    for k in 0..11 {
        assert!(gateway_read(&app, "all", "contract.name", DAY + 2 * HOUR + k * 300));
    }
    assert!(gateway_read(&app, "support", "contract.name", DAY + 11 * HOUR + 60));
    let now = support::at(2 * DAY);
    let filed = app.run_detectors(support::at(0), now, now).unwrap();
    let mut seen: Vec<(String, String, u8)> = filed
        .iter()
        .map(|v| {
            (v.stored.report.detector.clone().unwrap(), v.stored.report.principal.clone(), v.stored.report.measure)
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("denial_burst".to_string(), "support".to_string(), 6),
            ("off_hours".to_string(), "support".to_string(), 6),
            ("read_volume".to_string(), "all".to_string(), 6),
        ]
    );
    for v in &filed {
        assert_eq!(v.stored.report.reported_by, tokutei_app::oversight::violations::DETECTOR);
    }
    // Running again over the same window, or a wider one, files nothing new.
    assert!(app.run_detectors(support::at(0), now, now).unwrap().is_empty());
    assert!(app.run_detectors(support::at(DAY), now, now).unwrap().is_empty());
    assert_eq!(d.store.violation_reports().unwrap().len(), 3);
}

/// The rare-purpose detector on a ledger written by real gateway reads: `support` reads for
/// support all of day 1; on day 2 one read for billing is a finding, concerning `support`, and
/// its usual reads and `all`'s first reads (no history yet) are not.
#[test]
fn a_person_using_a_purpose_they_rarely_use_is_detected() {
    let d = deploy();
    let rules = tokutei_app::oversight::OversightRules {
        detectors: tokutei_app::oversight::detectors::DetectorRules {
            rare_purpose_min_uses: 20,
            rare_purpose_percent: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    let app = with_detectors(&d).with_oversight_rules(rules);
    const DAY: i64 = 86_400;
    let read = |principal: &str, purpose: &str, second: i64| {
        let mut c = support::call(principal, purpose, &["S-active"], &["contract.name"]);
        c.now = support::at(second);
        assert!(app.read(&c).unwrap().all_allowed(), "{principal} for {purpose} at {second}");
    };
    for step in 0..30 {
        read("support", "support", step * 900);
    }
    let day2 = support::at(DAY);
    let now = support::at(2 * DAY);
    for step in 0..10 {
        read("support", "support", DAY + step * 900);
        read("all", "billing", DAY + step * 900 + 60);
    }
    assert!(app.run_detectors(day2, now, now).unwrap().is_empty(), "usual purposes are not rare");
    read("support", "billing", DAY + 3_600 + 30);
    read("support", "billing", DAY + 7_200 + 30);
    let filed = app.run_detectors(day2, now, now).unwrap();
    let seen: Vec<(String, String)> =
        filed.iter().map(|v| (v.stored.report.detector.clone().unwrap(), v.stored.report.principal.clone())).collect();
    assert_eq!(seen, [("rare_purpose".to_string(), "support".to_string())]);
    assert!(filed[0].stored.report.text.contains("2 uses for purpose `billing`"), "{}", filed[0].stored.report.text);
}

/// A report by any member of staff, acknowledged and resolved by a manager: each change
/// audited first with the text only as a digest; its acknowledgement clock open until
/// acknowledged; bad input refused naming the field; a resolved report not resolved twice.
#[test]
fn a_staff_report_is_acknowledged_and_resolved_and_audited_by_digest() {
    use tokutei_app::oversight::violations::{Outcome, ReportInput, ResolveInput, ViolationState};
    let d = deploy();
    let app = with_alerts(&d);
    let handler = Acting::Person("support".into());
    let text = "退職予定者が顧客の電話番号を大量に閲覧していました";
    let input = ReportInput { principal: PrincipalId::parse("all").unwrap(), measure: None, text: text.into() };
    let from = size(&d);
    let view = app.report_violation(&handler, &input, noon("2026-06-01")).unwrap();
    assert_eq!((view.stored.report.id.as_str(), view.stored.report.measure), ("VR-1", 3));
    assert_eq!(view.stored.report.ack_due, noon("2026-06-04"));
    let entries = admin_entries(&d, from);
    assert!(entries.iter().any(|(actor, e)| e.action == AdminAction::ViolationReported
        && e.subject == "violation/VR-1"
        && *actor == Actor::Staff("support".into())));
    assert!(entries.iter().any(|(_, e)| e.action == AdminAction::AlertEnqueued), "the owners are alerted");
    assert!(!format!("{entries:?}").contains("退職予定者"), "no text in the ledger");
    let clocks = app.open_clocks(noon("2026-06-02")).unwrap();
    assert!(clocks.iter().any(|c| c.subject == "violation/VR-1/ack" && c.due == day("2026-06-04")));

    // Refusals, each naming its field; a handler does not acknowledge.
    let bad = ReportInput { principal: PrincipalId::parse("nobody").unwrap(), ..input.clone() };
    assert!(matches!(
        app.report_violation(&handler, &bad, noon("2026-06-01")),
        Err(ActionError::Invalid { field: "principal", .. })
    ));
    let bad = ReportInput { measure: Some(8), ..input.clone() };
    assert!(matches!(
        app.report_violation(&handler, &bad, noon("2026-06-01")),
        Err(ActionError::Invalid { field: "measure", .. })
    ));
    let bad = ReportInput { text: "  ".into(), ..input.clone() };
    assert!(matches!(
        app.report_violation(&handler, &bad, noon("2026-06-01")),
        Err(ActionError::Invalid { field: "text", .. })
    ));
    assert!(matches!(app.acknowledge_violation(&handler, "VR-1", noon("2026-06-02")), Err(ActionError::Forbidden(_))));
    assert!(matches!(app.acknowledge_violation(&manager(), "VR-9", noon("2026-06-02")), Err(ActionError::NotFound(_))));

    app.acknowledge_violation(&manager(), "VR-1", noon("2026-06-02")).unwrap();
    assert!(matches!(app.acknowledge_violation(&manager(), "VR-1", noon("2026-06-02")), Err(ActionError::Conflict(_))));
    assert!(!app.open_clocks(noon("2026-06-02")).unwrap().iter().any(|c| c.subject.starts_with("violation/")));
    let resolve = ResolveInput {
        outcome: Outcome::None, text: "業務上の必要による閲覧と確認".into(), incident: None
    };
    app.resolve_violation(&manager(), "VR-1", &resolve, noon("2026-06-03")).unwrap();
    assert!(matches!(
        app.resolve_violation(&manager(), "VR-1", &resolve, noon("2026-06-03")),
        Err(ActionError::Conflict(_))
    ));
    let shown = app.violation(&manager(), "VR-1", noon("2026-06-03")).unwrap();
    assert_eq!(shown.state, ViolationState::Resolved(Outcome::None));
    assert_eq!(shown.stored.events.len(), 2);
    assert!(!format!("{:?}", admin_entries(&d, from)).contains("業務上"), "no resolution text in the ledger");
}

fn catalogue(roles: Option<Vec<Role>>) -> tokutei_app::oversight::training::TrainingRules {
    use tokutei_app::oversight::training::{CourseConfig, TrainingConfig, TrainingRules};
    let course = |id: &str, roles: Option<Vec<Role>>| CourseConfig {
        id: id.into(),
        name_ja: "個人情報保護の基礎".into(),
        name_en: "Privacy basics".into(),
        validity_months: 12,
        roles,
    };
    let mut courses = vec![course("privacy-basics", None)];
    if let Some(roles) = roles {
        courses.push(course("handler-course", Some(roles)));
    }
    TrainingRules::from_config(&TrainingConfig { alert_days: None, courses }, &[]).unwrap()
}

/// The roster lists every enabled person × every course their role must take; the gateway
/// refuses a person without a valid required course of their role, and only of their role.
#[test]
fn the_roster_and_the_gateway_follow_the_catalogue_and_its_roles() {
    use tokutei_app::oversight::training::TrainingState;
    let d = deploy();
    let rules = catalogue(Some(vec![Role::Handler]));
    let app = App::new(d.store.clone(), d.ledger.clone(), d.service.keys().clone(), rules.gateway(false), Vec::new())
        .with_training_rules(rules);
    let roster = app.training_roster(noon("2027-03-02")).unwrap();
    let rows: Vec<(&str, TrainingState, Option<i64>)> =
        roster.iter().map(|r| (r.id.as_str(), r.state, r.days_left)).collect();
    assert_eq!(
        rows,
        [
            ("all/privacy-basics", TrainingState::Expiring, Some(29)),
            ("support/handler-course", TrainingState::Missing, None),
            ("support/privacy-basics", TrainingState::Expiring, Some(29)),
            ("untrained/handler-course", TrainingState::Missing, None),
            ("untrained/privacy-basics", TrainingState::Expired, Some(-336)),
        ]
    );
    assert_eq!(roster[0].valid_until, Some(day("2027-03-31")));
    // The handler lacks the handlers' course and is refused; the responsible person is not asked for it.
    assert!(!gateway_read(&app, "support", "contract.name", 60));
    assert!(gateway_read(&app, "all", "contract.name", 61));
    app.record_training(
        &manager(),
        &PrincipalId::parse("support").unwrap(),
        "handler-course",
        day("2026-06-01"),
        None,
        support::at(62),
    )
    .unwrap();
    assert!(gateway_read(&app, "support", "contract.name", 63));
    let row = app
        .training_roster(noon("2026-06-02"))
        .unwrap()
        .into_iter()
        .find(|r| r.id == "support/handler-course")
        .unwrap();
    assert_eq!(
        (row.completed, row.valid_until, row.state),
        (Some(day("2026-06-01")), Some(day("2027-05-31")), TrainingState::Valid)
    );
}

/// The training alerts at their edges: 31 days before expiry nothing, 30 days before one
/// alert, 1 day before nothing new, on the day of expiry one more — each once, however often
/// the scan runs; a renewal starts again for its new last day.
#[test]
fn training_alerts_come_30_days_before_and_at_expiry_once_each() {
    let d = deploy();
    let app = with_alerts(&d).with_training_rules(catalogue(None));
    let support_alerts = |at: &str| -> Vec<(Stage, i64, bool)> {
        app.escalate_open_clocks(noon(at))
            .unwrap()
            .into_iter()
            .filter(|e| e.subject == "training/support/privacy-basics")
            .map(|e| (e.stage, e.days_left, e.created))
            .collect()
    };
    // `support` counts until 2027-03-31: it expires on 2027-04-01.
    assert_eq!(support_alerts("2027-02-28"), [], "32 days before expiry");
    assert_eq!(support_alerts("2027-03-01"), [], "31 days before expiry");
    assert_eq!(support_alerts("2027-03-02"), [(Stage::Expiring, 29, true)], "30 days before expiry");
    assert_eq!(support_alerts("2027-03-02"), [(Stage::Expiring, 29, false)], "the same scan again sends nothing");
    assert_eq!(support_alerts("2027-03-31"), [(Stage::Expiring, 0, false)], "1 day before expiry: nothing new");
    assert_eq!(support_alerts("2027-04-01"), [(Stage::Expired, -1, true)], "the day of expiry");
    assert_eq!(support_alerts("2027-04-02"), [(Stage::Expired, -2, false)]);
    // The outbox holds exactly two alerts for it (one per configured channel and stage).
    let kinds: Vec<String> = app
        .alerts(None, 100)
        .unwrap()
        .into_iter()
        .filter_map(|a| a.document)
        .filter(|doc| doc.subject == "training/support/privacy-basics")
        .map(|doc| doc.event)
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    // A renewal counts from its own day; no alert until 30 days before its new expiry.
    app.record_training(
        &manager(),
        &PrincipalId::parse("support").unwrap(),
        "privacy-basics",
        day("2027-04-02"),
        None,
        noon("2027-04-02"),
    )
    .unwrap();
    assert_eq!(support_alerts("2027-04-03"), []);
    assert_eq!(support_alerts("2028-03-02"), [], "31 days before the new expiry");
    assert_eq!(support_alerts("2028-03-03").first().map(|e| (e.0, e.2)), Some((Stage::Expiring, true)));
}

fn assess(measure: u32, evidence: &[&str]) -> tokutei_app::oversight::assessment::AssessInput {
    tokutei_app::oversight::assessment::AssessInput {
        measure,
        result: tokutei_app::oversight::assessment::MeasureResult::Met,
        note: Some(format!("措置{measure}の運用記録を確認")),
        evidence: evidence.iter().map(|e| e.to_string()).collect(),
    }
}

/// The annual assessment: opened once per business year (audited first; a second is refused
/// naming the year), each measure assessed with checked evidence links, findings and their
/// remediation actions, completed only with every measure assessed — and nothing after.
#[test]
fn an_annual_assessment_is_opened_once_filled_audited_first_and_completed() {
    use tokutei_app::oversight::assessment::{FindingInput, RemediationInput};
    let d = deploy();
    d.service.register_rules(&manager(), DEMO_RULES, noon("2027-01-15")).unwrap();
    let from = size(&d);
    let app = &d.service;
    let now = noon("2027-02-01");
    let opened = audit_first(&d, |d| d.service.open_assessment(&manager(), 2026, now));
    assert_eq!(
        (opened.id.as_str(), opened.first_day.as_str(), opened.last_day.as_str()),
        ("FY2026", "2026-04-01", "2027-03-31")
    );
    assert_eq!(opened.checklist.iter().map(|i| i.measure).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
    let err = app.open_assessment(&manager(), 2026, now).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("2026")), "{err:?}");
    for (year, field) in [(2027, "fiscal_year"), (1999, "fiscal_year")] {
        let err = app.open_assessment(&manager(), year, now).unwrap_err();
        assert!(matches!(err, ActionError::Invalid { field: f, .. } if f == field), "{year}: {err:?}");
    }
    let err = app.open_assessment(&Acting::Person("support".into()), 2025, now).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "{err:?}");

    // Evidence that does not exist here, or a measure the policy does not have, is refused.
    let beyond = format!("ledger:{}", size(&d) + 5);
    for (input, field) in [
        (assess(4, &["incident:INC-NOPE"]), "evidence"),
        (assess(4, &["policy:9"]), "evidence"),
        (assess(4, &[beyond.as_str()]), "evidence"),
        (assess(4, &["training-roster:2027-02-02"]), "evidence"),
        (assess(4, &["memo:1"]), "evidence"),
        (assess(4, &["inspection:IR-2026-12"]), "evidence"),
        (assess(4, &["rules:2"]), "evidence"),
        (assess(9, &[]), "measure"),
    ] {
        let err = app.assess_measure(&manager(), 2026, &input, now).unwrap_err();
        assert!(matches!(err, ActionError::Invalid { field: f, .. } if f == field), "{input:?}: {err:?}");
    }
    let err = app.complete_assessment(&manager(), 2026, now).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("(1)") && m.contains("(7)")), "{err:?}");
    audit_first(&d, |d| {
        d.service.assess_measure(
            &manager(),
            2026,
            &assess(4, &["training-roster:2027-01-31", "policy:1", "rules:1", "ledger:0"]),
            now,
        )
    });
    for measure in [1, 2, 3, 5, 6, 7] {
        app.assess_measure(&manager(), 2026, &assess(measure, &[]), now).unwrap();
    }
    let finding = app
        .record_finding(
            &manager(),
            2026,
            &FindingInput { measure: 5, text: "入退室記録の確認が月次で行われていない".into() },
            now,
        )
        .unwrap();
    assert_eq!(finding, "F-1");
    let remediation = |carried_by: &str, owner: &str, finding: &str| RemediationInput {
        finding: finding.into(),
        action: "入退室記録を毎月点検する手順を規程に追加".into(),
        owner: PrincipalId::parse(owner).unwrap(),
        due: day("2027-06-30"),
        carried_by: carried_by.into(),
    };
    for (input, field) in [
        (remediation("incident:INC-1", "all", "F-1"), "carried_by"),
        (remediation("policy:7", "all", "F-1"), "carried_by"),
        (remediation("rules:1", "nobody", "F-1"), "owner"),
        (remediation("rules:1", "ads", "F-1"), "owner"),
        (remediation("rules:1", "all", "F-9"), "finding"),
    ] {
        let err = app.record_remediation(&manager(), 2026, &input, now).unwrap_err();
        assert!(matches!(err, ActionError::Invalid { field: f, .. } if f == field), "{input:?}: {err:?}");
    }
    assert_eq!(app.record_remediation(&manager(), 2026, &remediation("rules:1", "all", "F-1"), now).unwrap(), "R-1");
    let done = app.complete_assessment(&manager(), 2026, now).unwrap();
    assert_eq!((done.state, done.completed_by.as_deref()), ("completed", Some("all")));
    assert_eq!(done.checklist[3].evidence.len(), 4);
    assert_eq!(done.findings[0].remediations[0].carried_by, "rules:1");
    let err = app.assess_measure(&manager(), 2026, &assess(1, &[]), now).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("completed")), "{err:?}");

    let entries = admin_entries(&d, from);
    let actions: Vec<AdminAction> = entries.iter().map(|(_, e)| e.action).collect();
    assert_eq!(actions.first(), Some(&AdminAction::AssessmentOpened));
    assert_eq!(actions.last(), Some(&AdminAction::AssessmentCompleted));
    assert_eq!(actions.iter().filter(|a| **a == AdminAction::AssessmentMeasureAssessed).count(), 7);
    assert!(entries.iter().all(|(_, e)| e.subject == "assessment/FY2026"));
    let text = format!("{entries:?}");
    assert!(!text.contains("入退室") && !text.contains("運用記録"), "no text in the ledger: {text}");
}

/// A business year that closes without a completed assessment raises one alert (for a
/// carrier designated before the year began), once; a completed one raises none.
#[test]
fn a_year_closed_without_a_completed_assessment_raises_an_alert_once() {
    let year_alerts = |completed: bool| -> Vec<(String, Stage, bool)> {
        let d = deploy();
        let app = with_alerts(&d);
        app.record_designation(&manager(), &designation("2026-01-15"), noon("2026-01-20")).unwrap();
        if completed {
            app.open_assessment(&manager(), 2026, noon("2027-03-01")).unwrap();
            for measure in 1..=7 {
                app.assess_measure(&manager(), 2026, &assess(measure, &[]), noon("2027-03-01")).unwrap();
            }
            app.complete_assessment(&manager(), 2026, noon("2027-03-01")).unwrap();
        }
        let mut out = Vec::new();
        for at in ["2027-03-31", "2027-04-01", "2027-04-02"] {
            out.extend(
                app.escalate_open_clocks(noon(at))
                    .unwrap()
                    .into_iter()
                    .filter(|e| e.subject.starts_with("assessment/"))
                    .map(|e| (format!("{at} {}", e.subject), e.stage, e.created)),
            );
        }
        out
    };
    assert_eq!(
        year_alerts(false),
        [
            ("2027-04-01 assessment/FY2026".to_string(), Stage::Overdue, true),
            ("2027-04-02 assessment/FY2026".to_string(), Stage::Overdue, false),
        ]
    );
    assert_eq!(year_alerts(true), []);
}

/// The figures of the period 2026-06 (Tokyo) recounted here, independently of the
/// application: every stored entry scanned from the start, kept when its Tokyo date is in
/// June 2026 and its index is below `size`.
fn recount_june(d: &Deployed, size: u64) -> tokutei_app::oversight::inspection::LedgerFigures {
    use std::collections::BTreeMap;
    use tokutei_ledger::Decision;
    let mut f = tokutei_app::oversight::inspection::LedgerFigures::default();
    let mut uses: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    d.ledger
        .scan_entries(0, &mut |stored| {
            let index = stored.index;
            let entry = stored.decode().unwrap();
            if index >= size || !tokyo::date_of(entry.time).to_string().starts_with("2026-06-") {
                return Ok(true);
            }
            f.entries += 1;
            f.first_index.get_or_insert(index);
            f.last_index = Some(index);
            match entry.event {
                Event::Access(a) => {
                    let row = uses.entry((entry.actor.id().to_string(), a.purpose.clone())).or_default();
                    if a.decision == Decision::Deny {
                        row.1 += 1;
                        f.denials += 1;
                        for r in a.reasons {
                            *f.denials_by_reason.entry(r).or_default() += 1;
                        }
                    } else {
                        row.0 += 1;
                        if a.action == tokutei_ledger::Action::Export {
                            f.exports.push(index);
                        }
                    }
                }
                Event::Admin(a) => {
                    *f.admin.entry(a.action.as_str().to_string()).or_default() += 1;
                    match a.action {
                        AdminAction::ConsentRecorded => f.consent_changes += 1,
                        AdminAction::KeyRotated => f.key_rotations += 1,
                        AdminAction::PolicyPublished => f.policy_publications.push(a.subject),
                        _ => {}
                    }
                }
            }
            Ok(true)
        })
        .unwrap();
    f.uses = uses
        .into_iter()
        .map(|((principal, purpose), (allowed, denied))| tokutei_app::oversight::inspection::UseRow {
            principal,
            purpose,
            allowed,
            denied,
        })
        .collect();
    f
}

fn signer() -> tokutei_ledger::CheckpointSigner {
    tokutei_ledger::CheckpointSigner::from_seed("tokutei.local/inspection-test", [9; 32]).unwrap()
}

/// A self-inspection report of a month written by real gateway reads and denials: its figures
/// equal an independent recount (entries just outside the month in Tokyo, and entries after
/// the checkpoint it names, not counted); its digest is in the ledger entry that made it,
/// durable before the report was stored; a month not over is refused naming `period`; a
/// second run is a new revision; and each way of tampering with the stored report is named
/// by verification.
#[test]
fn a_self_inspection_report_equals_a_recount_of_the_ledger_and_tampering_is_detected() {
    use sha2::Digest as _;
    use tokutei_app::oversight::inspection::Period;
    use tokutei_app::oversight::violations::ReportInput;
    use tokutei_store::inspection::InspectionStore;
    let d = deploy();
    let app = &d.service;
    const HOUR: i64 = 3_600;
    // 2026-06-01 00:00 in Tokyo is support::at(-9h). A read one second before is May's.
    assert!(gateway_read(app, "support", "contract.name", -9 * HOUR - 1));
    assert!(gateway_read(app, "support", "contract.name", -9 * HOUR));
    for k in 0..6 {
        assert!(gateway_read(app, "support", "contract.name", k * HOUR));
        assert!(gateway_read(app, "all", "contract.phone", k * HOUR + 60));
    }
    for k in 0..4 {
        assert!(!gateway_read(app, "support", "comm.location", 10 * HOUR + k * 60));
    }
    assert!(!gateway_read(app, "untrained", "contract.name", 11 * HOUR));
    let report =
        ReportInput {
            principal: PrincipalId::parse("support").unwrap(), measure: None, text: "夜間の閲覧".into()
        };
    let vr = app.report_violation(&Acting::Person("all".into()), &report, support::at(12 * HOUR)).unwrap();
    // The last instant of June in Tokyo, and the first of July.
    assert!(gateway_read(app, "all", "contract.name", 30 * 86_400 - 9 * HOUR - 1));
    assert!(gateway_read(app, "all", "contract.name", 30 * 86_400 - 9 * HOUR));
    let checkpoints = tokutei_app::checkpoints::Checkpoints::new(d.ledger.clone(), signer());
    let now = support::at(40 * 86_400);
    let signed = checkpoints.latest(now).unwrap();
    // An entry dated in June but appended after the checkpoint (a late writer) is not counted.
    assert!(gateway_read(app, "support", "contract.name", 20 * 86_400));
    let june = Period::parse("2026-06").unwrap();

    // A month that is not over is refused, naming the field; nothing is written.
    let before = size(&d);
    let err = app.run_inspection(&manager(), Period::of(now), now).unwrap_err();
    assert!(matches!(err, ActionError::Invalid { field: "period", .. }), "{err:?}");
    // A handler may not run it.
    let err = app.run_inspection(&Acting::Person("support".into()), june, now).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "{err:?}");
    assert_eq!(size(&d), before);
    // The late entry is not covered by the latest checkpoint: refused until one covers it.
    let err = app.run_inspection(&manager(), june, now).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "{err:?}");
    let signed_late = checkpoints.latest(now).unwrap();
    assert!(signed_late.size > signed.size);

    // Audit first: the entry is durable while the register is still empty.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (store, into) = (d.store.clone(), seen.clone());
    d.ledger.before_append(move |_| into.lock().unwrap().push(store.inspections().unwrap().len()));
    let v = app.run_inspection(&manager(), june, now).unwrap();
    d.ledger.before_append(|_| {});
    assert_eq!(*seen.lock().unwrap(), [0]);

    let doc = &v.document;
    assert_eq!((v.stored.id.as_str(), v.stored.period.as_str(), v.stored.revision), ("IR-1", "2026-06", 1));
    assert_eq!(doc.checkpoint.size, signed_late.size);
    assert_eq!(doc.checkpoint.note, signed_late.note);
    assert_eq!(doc.ledger, recount_june(&d, signed_late.size), "the figures equal a recount");
    // And the recount is of what was written: 1 + 6 + 1 support reads, 6 + 1 by `all` in June.
    let uses: Vec<(&str, &str, u64, u64)> =
        doc.ledger.uses.iter().map(|u| (u.principal.as_str(), u.purpose.as_str(), u.allowed, u.denied)).collect();
    assert_eq!(uses, [("all", "support", 7, 0), ("support", "support", 8, 4), ("untrained", "support", 0, 1)]);
    assert_eq!(doc.ledger.denials, 5);
    assert_eq!(doc.ledger.admin.get("violation_reported"), Some(&1));
    // The registers: the report received in June, still open at its end; training on 06-30.
    assert_eq!(doc.violations.len(), 1);
    assert_eq!(
        (doc.violations[0].id.as_str(), doc.violations[0].state.as_str()),
        (vr.stored.report.id.as_str(), "received")
    );
    assert_eq!(doc.violations_open_at_end, std::slice::from_ref(&vr.stored.report.id));
    let lapsed: Vec<&str> = doc.training.iter().filter(|t| !t.valid).map(|t| t.principal.as_str()).collect();
    assert_eq!(lapsed, ["untrained"]);

    // The digest is in the ledger, in the entry that made the report.
    let digest: [u8; 32] = sha2::Sha256::digest(v.stored.document.as_bytes()).into();
    assert_eq!(v.stored.digest, digest);
    let entry = d.ledger.ledger_entry(v.stored.audit_index).unwrap().unwrap().decode().unwrap();
    match entry.event {
        Event::Admin(a) => {
            assert_eq!(
                (a.action, a.subject.as_str(), a.digest),
                (AdminAction::InspectionReported, "inspection/IR-1", Some(digest))
            );
        }
        other => panic!("{other:?}"),
    }
    let verifier = checkpoints.verifier();
    let check = app.verify_inspection(&manager(), "IR-1", &verifier).unwrap();
    assert!(check.ok, "{check:?}");

    // Running the period again is a new revision, never an overwrite.
    let again = app.run_inspection(&manager(), june, now).unwrap();
    assert_eq!((again.stored.id.as_str(), again.stored.revision), ("IR-2", 2));
    assert_eq!(d.store.inspections().unwrap().len(), 2);

    // Tampering, as an attacker with the database file would: the append-only triggers
    // dropped, then the stored row rewritten. Each is named; restored, it verifies again.
    let raw = rusqlite::Connection::open(d._dir.path().join("t.sqlite3")).unwrap();
    raw.execute_batch("DROP TRIGGER inspections_no_update;").unwrap();
    let original = v.stored.document.clone();
    let forged = original.replace("\"denials\":5", "\"denials\":0");
    assert_ne!(forged, original);
    let forged_digest: [u8; 32] = sha2::Sha256::digest(forged.as_bytes()).into();
    let other_key = tokutei_ledger::CheckpointSigner::from_seed("tokutei.local/inspection-test", [3; 32]).unwrap();
    let forged_note = {
        let head = d.ledger.tree_head_at(signed_late.size).unwrap();
        other_key.sign(&tokutei_ledger::Checkpoint::new("tokutei.local/inspection-test", head, Some(now)))
    };
    let with_note = original
        .replace(&serde_json::to_string(&signed_late.note).unwrap(), &serde_json::to_string(&forged_note).unwrap());
    let with_note_digest: [u8; 32] = sha2::Sha256::digest(with_note.as_bytes()).into();
    type Tamper<'a> = (&'a str, Vec<rusqlite::types::Value>, &'a [&'a str]);
    use rusqlite::types::Value::{Blob, Integer, Text};
    let cases: Vec<Tamper<'_>> = vec![
        (
            "UPDATE inspections SET document = ?1 WHERE id = 'IR-1'",
            vec![Text(forged.clone())],
            &["document_digest", "ledger_digest", "figures"],
        ),
        (
            "UPDATE inspections SET document = ?1, digest = ?2 WHERE id = 'IR-1'",
            vec![Text(forged.clone()), Blob(forged_digest.to_vec())],
            &["ledger_digest", "figures"],
        ),
        ("UPDATE inspections SET audit_index = ?1 WHERE id = 'IR-1'", vec![Integer(0)], &["ledger_entry"]),
        (
            "UPDATE inspections SET document = ?1, digest = ?2 WHERE id = 'IR-1'",
            vec![Text(with_note), Blob(with_note_digest.to_vec())],
            &["ledger_digest", "checkpoint_signature"],
        ),
    ];
    for (sql, params, expected) in cases {
        raw.execute(sql, rusqlite::params_from_iter(params)).unwrap();
        let check = app.verify_inspection(&manager(), "IR-1", &verifier).unwrap();
        let codes: Vec<&str> = check.problems.iter().map(|p| p.code).collect();
        assert_eq!((check.ok, codes.as_slice()), (false, expected), "{sql}: {check:?}");
        raw.execute(
            "UPDATE inspections SET document = ?1, digest = ?2, audit_index = ?3 WHERE id = 'IR-1'",
            rusqlite::params![original, v.stored.digest.to_vec(), v.stored.audit_index as i64],
        )
        .unwrap();
        assert!(app.verify_inspection(&manager(), "IR-1", &verifier).unwrap().ok, "restored after {sql}");
    }
}

/// Findings of a report, tracked to closure: each audited first with its text only as a
/// digest; days left while open, overdue after the due date; closed once; bad input refused
/// naming the field.
#[test]
fn findings_are_tracked_to_closure() {
    use tokutei_app::oversight::inspection::{FindingInput, Period};
    let d = deploy();
    let app = &d.service;
    let now = support::at(40 * 86_400);
    tokutei_app::checkpoints::Checkpoints::new(d.ledger.clone(), signer()).latest(now).unwrap();
    let v = app.run_inspection(&manager(), Period::parse("2026-06").unwrap(), now).unwrap();
    let text = "研修の期限切れの者がいる";
    let input = |owner: &str, due: Option<&str>| FindingInput {
        inspection: v.stored.id.clone(),
        text: text.into(),
        owner: PrincipalId::parse(owner).unwrap(),
        due: due.map(day),
    };
    let today = tokyo::date_of(now);
    assert_eq!(today, day("2026-07-11"));
    for (bad, field) in [
        (input("ads", None), "owner"),
        (input("nobody", None), "owner"),
        (input("all", Some("2026-07-10")), "due"),
        (FindingInput { text: " ".into(), ..input("all", None) }, "text"),
    ] {
        let err = app.add_finding(&manager(), &bad, now).unwrap_err();
        assert!(matches!(err, ActionError::Invalid { field: f, .. } if f == field), "{err:?}");
    }
    let unknown = FindingInput { inspection: "IR-9".into(), ..input("all", None) };
    assert!(matches!(app.add_finding(&manager(), &unknown, now), Err(ActionError::NotFound(_))));
    let from = size(&d);
    let f = app.add_finding(&manager(), &input("support", Some("2026-07-20")), now).unwrap();
    assert_eq!((f.stored.finding.id.as_str(), f.days_left), ("IF-1", Some(9)));
    let added = admin_entries(&d, from);
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].1.action, AdminAction::InspectionFindingAdded);
    assert!(!format!("{:?}", added[0].1).contains(text), "the text is in the ledger only as a digest");
    // Overdue after its due date.
    let later = support::at(52 * 86_400);
    assert_eq!(app.findings(&manager(), later).unwrap()[0].days_left, Some(-3));
    // A handler reads nothing and closes nothing; a manager closes it once.
    assert!(matches!(app.findings(&Acting::Person("support".into()), now), Err(ActionError::Forbidden(_))));
    assert!(matches!(
        app.close_finding(&Acting::Person("support".into()), "IF-1", "対応した", now),
        Err(ActionError::Forbidden(_))
    ));
    app.close_finding(&manager(), "IF-1", "研修を再受講させた", later).unwrap();
    assert!(matches!(app.close_finding(&manager(), "IF-1", "もう一度", later), Err(ActionError::Conflict(_))));
    let all = app.findings(&manager(), later).unwrap();
    assert_eq!(all[0].days_left, None);
    assert!(all[0].stored.closure.is_some());
}

/// The 情報取扱規程: a version registered audited first (its digest in the ledger, never its
/// text), a file that fails the check refused naming its line with nothing written, the same
/// file again a conflict, only managers; a filing names a registered version, not before it
/// was enacted, and flags it filed; the version in force is the latest effective one.
#[test]
fn rules_versions_are_checked_audited_first_and_filed() {
    let d = deploy();
    let from = size(&d);
    let now = noon("2026-06-01");
    let done = audit_first(&d, |d| d.service.register_rules(&manager(), DEMO_RULES, now));
    assert_eq!((done.version, done.warnings.len()), (1, 0));
    let entries = admin_entries(&d, from);
    let (_, event) = entries.last().unwrap();
    assert_eq!((event.action, event.subject.as_str()), (AdminAction::RulesRegistered, "rules/v1"));
    assert_eq!(event.digest, Some(done.digest.bytes()));
    assert!(!format!("{event:?}").contains("総則"), "the ledger holds the digest, not the text");

    // Refused, nothing written: the check's errors with their lines; the same file again;
    // a handler; a filing of an unknown version or before the enactment.
    let before = (size(&d), registers(&d.store));
    let without_owner = DEMO_RULES.replacen("owner = \"responsible_person\"\n", "", 1);
    let line = DEMO_RULES.lines().position(|l| l == "measure = \"human\"").unwrap() + 1;
    match d.service.register_rules(&manager(), &without_owner, now) {
        Err(ActionError::Invalid { field: "source", message }) => {
            assert!(message.contains(&format!("line {line} (sections[3].measure)")), "{message}");
            assert!(message.contains("names no owner"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let missing = DEMO_RULES.replace("measure = \"physical\"", "measure = \"other\"");
    assert!(matches!(
        d.service.register_rules(&manager(), &missing, now),
        Err(ActionError::Invalid { field: "source", message }) if message.contains("`physical`")
    ));
    assert!(matches!(d.service.register_rules(&manager(), DEMO_RULES, now), Err(ActionError::Conflict(_))));
    assert!(matches!(
        d.service.register_rules(&Acting::Person("support".into()), DEMO_RULES, now),
        Err(ActionError::Forbidden(_))
    ));
    let filing = RulesFilingInput { version: 2, filed_on: day("2026-05-01"), reference: "総基利第77号".into() };
    assert!(matches!(d.service.record_rules_filing(&manager(), &filing, now), Err(ActionError::NotFound(_))));
    let early = RulesFilingInput { version: 1, filed_on: day("2026-03-31"), ..filing.clone() };
    assert!(matches!(
        d.service.record_rules_filing(&manager(), &early, now),
        Err(ActionError::Invalid { field: "date", .. })
    ));
    assert_eq!((size(&d), registers(&d.store)), before, "nothing written");

    // A second version, effective later: never filed, not yet in force.
    let next = DEMO_RULES.replace("effective = 2026-04-01", "effective = 2026-10-01");
    assert_eq!(d.service.register_rules(&manager(), &next, now).unwrap().version, 2);
    let filed = audit_first(&d, |d| {
        d.service.record_rules_filing(&manager(), &RulesFilingInput { version: 1, ..filing.clone() }, now)
    });
    let (_, event) = admin_entries(&d, from).pop().unwrap();
    assert_eq!((event.action, event.subject.as_str()), (AdminAction::RulesFiled, "designation/rules"));
    assert!(event.details.contains(&("version".to_string(), "1".to_string())), "{:?}", event.details);
    assert_eq!(event.details.last().map(|(_, v)| v.as_str()), Some("総基利第77号"));
    let versions = d.service.rules_versions(now).unwrap();
    let flags: Vec<(u32, bool, bool)> = versions.iter().map(|v| (v.stored.version, v.filed(), v.in_force)).collect();
    assert_eq!(flags, [(1, true, true), (2, false, false)]);
    assert_eq!(versions[0].filings[0].number, filed.number);
    let later = d.service.rules_versions(noon("2026-10-01")).unwrap();
    assert_eq!(later.iter().map(|v| v.in_force).collect::<Vec<_>>(), [false, true]);
    let json = versions[1].to_json();
    assert_eq!((json["filed"].as_bool(), json["effective"].as_str()), (Some(false), Some("2026-10-01")));
}
