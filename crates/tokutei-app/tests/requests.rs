//! Data-subject requests through the application layer, on a real store and ledger: a request
//! received and verified (audited first, a failing ledger changing nothing; the evidence
//! reference only as a digest), its clock from the day received with a pause and an
//! extension, overdue when never decided; a refusal only on a ground of its type's list and,
//! before verification, only for identity; the notice only after the decision; who may do
//! what; and bad input refused naming the field with nothing written. Time is passed in.

mod support;

use std::sync::atomic::Ordering;

use jiff::{SignedDuration, Timestamp};
use support::{Deployed, deploy};
use tokutei_app::requests::{
    Channel, Ground, NoticeMethod, OpenInput, RequestKind, ResponseMethod, Status, Verification, VerificationInput,
};
use tokutei_app::{Acting, ActionError, RequestId, SubscriberId};
use tokutei_ledger::{AdminAction, Event};
use tokutei_policy::{Date, tokyo};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::requests::RequestStore;

fn manager() -> Acting {
    Acting::Person("all".into())
}

fn noon(text: &str) -> Timestamp {
    tokyo::start_of(day(text).0) + SignedDuration::from_hours(12)
}

fn day(text: &str) -> Date {
    text.parse().unwrap()
}

fn verification() -> VerificationInput {
    VerificationInput {
        subscriber: SubscriberId::parse("S-active").unwrap(),
        method: Verification::License,
        evidence: Some("本人確認ファイル 2026-0601-03".into()),
        agent: None,
    }
}

fn disclosure() -> OpenInput {
    OpenInput {
        kind: RequestKind::Disclosure,
        channel: Channel::Letter,
        inquiry: None,
        received_at: Some(noon("2026-06-01")),
        purposes: vec!["marketing".into()],
        categories: Vec::new(),
        method: None,
        verification: Some(verification()),
    }
}

/// An admin entry as the tests compare it: action, subject, details, digest.
type Row = (AdminAction, String, Vec<(String, String)>, Option<[u8; 32]>);

fn actions(d: &Deployed, from: u64) -> Vec<Row> {
    let mut out = Vec::new();
    d.ledger
        .scan_entries(from, &mut |e| {
            if let Event::Admin(a) = e.decode().unwrap().event {
                out.push((a.action, a.subject, a.details, a.digest));
            }
            Ok(true)
        })
        .unwrap();
    out
}

fn id(text: &str) -> RequestId {
    RequestId::parse(text).unwrap()
}

#[test]
fn a_request_is_received_verified_audited_first_and_its_clock_pauses_and_extends() {
    let d = deploy();
    let from = d.ledger.tree_size().unwrap();
    let now = noon("2026-06-01");

    // A failing ledger: nothing is stored.
    d.ledger.fail.store(true, Ordering::SeqCst);
    let failed = d.service.open_request(&manager(), &disclosure(), now);
    d.ledger.fail.store(false, Ordering::SeqCst);
    assert!(matches!(failed, Err(ActionError::Audit(_))), "{failed:?}");
    assert!(d.store.requests().unwrap().is_empty());

    let opened = d.service.open_request(&manager(), &disclosure(), now).unwrap();
    assert_eq!((opened.id.as_str(), opened.status, opened.subscriber()), ("DR-1", Status::Verified, Some("S-active")));
    assert_eq!(
        (opened.deadline, opened.days_left, opened.method),
        (day("2026-06-15"), Some(14), Some(ResponseMethod::Electronic))
    );
    assert_eq!(opened.purposes, ["marketing"]);
    let entries = actions(&d, from);
    assert_eq!(
        entries.iter().map(|e| e.0).collect::<Vec<_>>(),
        [AdminAction::RequestOpened, AdminAction::RequestVerified]
    );
    assert_eq!(entries[0].1, "request/DR-1");
    assert!(entries[0].2.contains(&("due".to_string(), "2026-06-15".to_string())), "{:?}", entries[0].2);
    assert!(entries[1].2.contains(&("subscriber".to_string(), "S-active".to_string())));
    assert!(entries[1].3.is_some(), "the evidence reference is in the ledger as its digest");
    assert!(!format!("{entries:?}").contains("2026-0601-03"), "never as its text");

    // The deadline joins the clocks the escalation pass alerts on, until the request is decided
    // (and not while it waits for the person).
    let due_of = |at: Timestamp| -> Option<Date> {
        d.service.open_clocks(at).unwrap().into_iter().find(|c| c.subject == "request/DR-1").map(|c| c.due)
    };
    assert_eq!(due_of(now), Some(day("2026-06-15")));

    // Paused 06-03 to 06-08 (5 days), extended 10 days: due 06-30.
    d.service.pause_request(&manager(), &id("DR-1"), "本人確認書類の写しの再送を依頼", noon("2026-06-03")).unwrap();
    let paused = d.service.request(&manager(), "DR-1", noon("2026-06-05")).unwrap();
    assert_eq!((paused.status, paused.deadline, paused.overdue), (Status::Paused, day("2026-06-17"), false));
    assert_eq!(due_of(noon("2026-06-05")), None, "no alert while waiting for the person");
    assert!(matches!(
        d.service.pause_request(&manager(), &id("DR-1"), "x", noon("2026-06-05")),
        Err(ActionError::Conflict(_))
    ));
    let resumed = d.service.resume_request(&manager(), &id("DR-1"), noon("2026-06-08")).unwrap();
    assert_eq!((resumed.status, resumed.deadline), (Status::Verified, day("2026-06-20")));
    let extended = d
        .service
        .extend_request(&manager(), &id("DR-1"), 10, "記録の抽出に時間を要するため", noon("2026-06-10"))
        .unwrap();
    assert_eq!(extended.deadline, day("2026-06-30"));
    // Never decided: overdue the day after.
    let late = d.service.request(&manager(), "DR-1", noon("2026-07-01")).unwrap();
    assert_eq!((late.days_left, late.overdue), (Some(-1), true));

    // A refusal on another type's ground is refused naming the field; its own ground decides.
    let err = d.service.refuse_request(&manager(), &id("DR-1"), Ground::NotUntrue, "", noon("2026-07-01")).unwrap_err();
    assert!(matches!(err, ActionError::Invalid { field: "ground", .. }), "{err:?}");
    let err =
        d.service.notify_request(&manager(), &id("DR-1"), NoticeMethod::Post, day("2026-07-01"), noon("2026-07-01"));
    assert!(matches!(err, Err(ActionError::Conflict(_))), "no notice before the decision");
    let refused = d
        .service
        .refuse_request(
            &manager(),
            &id("DR-1"),
            Ground::Business,
            "照会対象が膨大で業務に著しい支障",
            noon("2026-07-01"),
        )
        .unwrap();
    assert_eq!((refused.status, refused.days_left, refused.overdue), (Status::Decided, None, true));
    assert_eq!(due_of(noon("2026-07-01")), None, "decided: no clock");
    assert!(matches!(
        d.service.refuse_request(&manager(), &id("DR-1"), Ground::Harm, "", noon("2026-07-01")),
        Err(ActionError::Conflict(_))
    ));
    let notified = d
        .service
        .notify_request(&manager(), &id("DR-1"), NoticeMethod::Post, day("2026-07-01"), noon("2026-07-02"))
        .unwrap();
    assert_eq!(notified.status, Status::Notified);
    let all: Vec<AdminAction> = actions(&d, from).into_iter().map(|e| e.0).collect();
    assert_eq!(
        all,
        [
            AdminAction::RequestOpened,
            AdminAction::RequestVerified,
            AdminAction::RequestPaused,
            AdminAction::RequestResumed,
            AdminAction::RequestExtended,
            AdminAction::RequestDecided,
            AdminAction::RequestNotified,
        ]
    );
    let json = notified.to_json();
    assert_eq!(
        (json["id"].as_str(), json["type"].as_str(), json["deadline"].as_str()),
        (Some("DR-1"), Some("disclosure"), Some("2026-06-30"))
    );
}

#[test]
fn who_may_do_what_and_bad_input_changes_nothing() {
    let d = deploy();
    let now = noon("2026-06-01");
    let from = d.ledger.tree_size().unwrap();
    let bad = [
        (OpenInput { purposes: vec!["horoscope".into()], ..disclosure() }, "purpose"),
        (OpenInput { categories: vec!["contract.shoe_size".into()], ..disclosure() }, "category"),
        (OpenInput { channel: Channel::Inquiry, ..disclosure() }, "inquiry"),
        (OpenInput { inquiry: Some("Q-1".into()), ..disclosure() }, "channel"),
        (OpenInput { kind: RequestKind::Erasure, method: Some(ResponseMethod::Paper), ..disclosure() }, "method"),
        (OpenInput { received_at: Some(now + SignedDuration::from_hours(1)), ..disclosure() }, "received_at"),
        (
            OpenInput {
                verification: Some(VerificationInput {
                    subscriber: SubscriberId::parse("S-nobody").unwrap(),
                    ..verification()
                }),
                ..disclosure()
            },
            "subscriber",
        ),
    ];
    for (input, field) in bad {
        let err = d.service.open_request(&manager(), &input, now).unwrap_err();
        assert!(matches!(err, ActionError::Invalid { field: f, .. } if f == field), "{field}: {err:?}");
    }
    assert!(matches!(
        d.service.open_request(&Acting::Person("ads".into()), &disclosure(), now),
        Err(ActionError::Forbidden(_))
    ));
    assert_eq!(d.ledger.tree_size().unwrap(), from, "nothing written");
    assert!(d.store.requests().unwrap().is_empty());

    // A handler takes a phone request without verification; a manager pauses; the handler may not.
    let phone = OpenInput { channel: Channel::Phone, kind: RequestKind::Stop, verification: None, ..disclosure() };
    let taken = d.service.open_request(&Acting::Person("support".into()), &phone, now).unwrap();
    assert_eq!((taken.status, taken.method, taken.subscriber()), (Status::Received, None, None));
    assert!(matches!(
        d.service.pause_request(&Acting::Person("support".into()), &id("DR-1"), "x", now),
        Err(ActionError::Forbidden(_))
    ));
    assert!(matches!(d.service.requests(&Acting::Person("support".into()), now), Err(ActionError::Forbidden(_))));
    // Unverified: refused only for identity.
    assert!(matches!(
        d.service.refuse_request(&manager(), &id("DR-1"), Ground::NoGround, "", now),
        Err(ActionError::Conflict(_))
    ));
    d.service.verify_request(&Acting::Person("support".into()), &id("DR-1"), &verification(), now).unwrap();
    assert!(matches!(
        d.service.verify_request(&manager(), &id("DR-1"), &verification(), now),
        Err(ActionError::Conflict(_))
    ));
    let refused = d.service.refuse_request(&manager(), &id("DR-1"), Ground::NoGround, "", now).unwrap();
    assert_eq!(refused.outcome.map(|o| o.ground), Some(Some(Ground::NoGround)));
    assert_eq!(d.service.requests(&manager(), now).unwrap().len(), 1);
}
