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

fn reasons(outcome: &tokutei_app::AccessOutcome) -> Vec<String> {
    outcome
        .subscribers
        .iter()
        .flat_map(|s| s.items.iter().flat_map(|i| i.reasons.iter().map(|r| r.code.clone())))
        .collect()
}

/// A stop of use for `marketing`, fulfilled: the next marketing read and export of that
/// subscriber are denied (and audited as such), support reads still work and other
/// subscribers are untouched; lifting the stop restores it. A stop of provision forbids the
/// third-party purposes only. An erasure erases through the application and says what is kept.
#[test]
fn a_fulfilled_stop_is_enforced_from_the_next_request_until_it_is_lifted() {
    let d = deploy();
    let marketing = support::call("all", "marketing", &["S-active"], &["contract.name"]);
    let supporting = support::call("all", "support", &["S-active"], &["contract.name"]);
    let other = support::call("all", "marketing", &["S-suspended"], &["contract.name"]);
    for _ in 0..2 {
        assert!(d.service.read(&marketing).unwrap().all_allowed(), "warm the caches");
    }
    let now = support::at(3600);
    let stop = OpenInput { kind: RequestKind::Stop, method: None, received_at: Some(now), ..disclosure() };
    d.service.open_request(&manager(), &stop, now).unwrap();
    let err = d.service.fulfil_request(&Acting::Person("support".into()), &id("DR-1"), "", None, now).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "{err:?}");
    let done =
        d.service.fulfil_request(&manager(), &id("DR-1"), "マーケティング目的での利用を停止", None, now).unwrap();
    assert_eq!(
        (done.status, done.outcome.as_ref().map(|o| o.result)),
        (Status::Decided, Some(tokutei_app::requests::OutcomeKind::Fulfilled))
    );

    let denied = d.service.read(&marketing).unwrap();
    assert!(!denied.all_allowed());
    assert_eq!(reasons(&denied), ["use_stopped"]);
    assert!(denied.subscribers[0].items[0].values.is_empty(), "nothing is opened");
    let export = tokutei_app::AccessCall { action: tokutei_ledger::Action::Export, ..marketing.clone() };
    assert!(reasons(&d.service.read(&export).unwrap()).contains(&"use_stopped".to_string()));
    assert!(d.service.read(&supporting).unwrap().all_allowed(), "support reads still work");
    assert!(d.service.read(&other).unwrap().all_allowed(), "another subscriber is untouched");
    // The denial is in the ledger like any other.
    let mut denials = 0;
    d.ledger
        .scan_entries(0, &mut |e| {
            if let Event::Access(a) = e.decode().unwrap().event
                && a.purpose == "marketing"
                && a.reasons.iter().any(|r| r == "use_stopped")
            {
                denials += 1;
            }
            Ok(true)
        })
        .unwrap();
    assert!(denials >= 2, "the refused read and export are audited ({denials})");

    // Lifting restores it; a second lift has nothing to lift.
    d.service.lift_stop(&manager(), &id("DR-1"), "利用停止の理由が解消した", now).unwrap();
    assert!(d.service.read(&marketing).unwrap().all_allowed());
    assert!(matches!(d.service.lift_stop(&manager(), &id("DR-1"), "x", now), Err(ActionError::Conflict(_))));

    // A stop of provision: only the purposes that provide to third parties.
    let provision = OpenInput { kind: RequestKind::ProvisionStop, purposes: Vec::new(), ..stop.clone() };
    d.service.open_request(&manager(), &provision, now).unwrap();
    d.service.fulfil_request(&manager(), &id("DR-2"), "", None, now).unwrap();
    assert!(d.service.read(&marketing).unwrap().all_allowed(), "marketing provides to no third party");
    let third_party: Vec<&tokutei_policy::Purpose> =
        d.policy.purposes.list.iter().filter(|p| p.third_party_provision).collect();
    let p = third_party.first().expect("the demo policy has a third-party purpose");
    let call = support::call("all", &p.id, &["S-active"], &[p.categories[0].as_str()]);
    assert!(reasons(&d.service.read(&call).unwrap()).contains(&"provision_stopped".to_string()));

    // A correction without its new values says how to give them.
    let correction = OpenInput { kind: RequestKind::Correction, method: None, received_at: Some(now), ..disclosure() };
    d.service.open_request(&manager(), &correction, now).unwrap();
    let err = d.service.fulfil_request(&manager(), &id("DR-3"), "", None, now).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("--values")), "{err:?}");

    // Erasure: through the application's erasure; the outcome says what is kept.
    let erasure = OpenInput {
        kind: RequestKind::Erasure,
        method: None,
        purposes: Vec::new(),
        received_at: Some(now),
        ..disclosure()
    };
    d.service.open_request(&manager(), &erasure, now).unwrap();
    let erased = d.service.fulfil_request(&manager(), &id("DR-4"), "", None, now).unwrap();
    assert!(erased.outcome.unwrap().note.unwrap().contains("29条"));
    assert_eq!(reasons(&d.service.read(&supporting).unwrap()), ["subscriber_erased"]);
}

/// A purpose notice and a disclosure of the provision records are answered with a document
/// kept with the outcome, named in the ledger by its digest, read only through an audited call;
/// the notice lists the purposes of the subscriber's service with the consent each needs and
/// the subscriber's choice, and no other subscriber's data.
#[test]
fn a_purpose_notice_and_the_provision_records_are_answered_with_a_document() {
    let d = deploy();
    let now = support::at(3600);
    d.service
        .record_consent(
            &Acting::Person("member-site".into()),
            &tokutei_app::consent::NewChoice {
                subscriber: SubscriberId::parse("S-active").unwrap(),
                purpose: tokutei_app::PurposeId::parse("marketing").unwrap(),
                choice: tokutei_store::consent::Choice::OptedOut,
                channel: "web".into(),
                notice_version: Some(1),
                evidence: Some("form-77".into()),
            },
            now,
        )
        .unwrap();
    let notice = OpenInput {
        kind: RequestKind::PurposeNotice,
        method: None,
        purposes: Vec::new(),
        received_at: Some(now),
        ..disclosure()
    };
    d.service.open_request(&manager(), &notice, now).unwrap();
    let done = d.service.fulfil_request(&manager(), &id("DR-1"), "", None, now).unwrap();
    let digest = done.outcome.as_ref().unwrap().document_digest.clone().unwrap();
    assert!(done.to_json()["outcome"].get("document").is_none(), "the view names the document by its digest only");
    let (_, decided) =
        actions(&d, 0).into_iter().map(|r| (r.0, r.3)).rfind(|r| r.0 == AdminAction::RequestDecided).unwrap();
    assert_eq!(hex::encode(decided.unwrap()), digest.trim_start_matches("sha256:"));

    let doc = d.service.request_document(&manager(), "DR-1", now).unwrap();
    assert_eq!(doc["schema"], tokutei_app::requests::PURPOSE_NOTICE_SCHEMA);
    assert_eq!((doc["subscriber"].as_str(), doc["service"].as_str()), (Some("S-active"), Some("fiber")));
    let marketing = doc["purposes"].as_array().unwrap().iter().find(|p| p["id"] == "marketing").unwrap();
    assert_eq!(
        (marketing["consent"].as_str(), marketing["your_choice"].as_str()),
        (Some("opt_out"), Some("opted_out"))
    );
    let text = doc.to_string();
    assert!(!text.contains("S-terminated") && !text.contains("S-suspended"), "no other subscriber");
    assert!(matches!(
        d.service.request_document(&Acting::Person("support".into()), "DR-1", now),
        Err(ActionError::Forbidden(_))
    ));
    let reads = actions(&d, 0).into_iter().filter(|r| r.0 == AdminAction::RequestDocumentRead).count();
    assert_eq!(reads, 1, "reading the document is audited");

    let records = OpenInput { kind: RequestKind::ProvisionRecords, received_at: Some(now), ..disclosure() };
    d.service.open_request(&manager(), &records, now).unwrap();
    d.service.fulfil_request(&manager(), &id("DR-2"), "", None, now).unwrap();
    let doc = d.service.request_document(&manager(), "DR-2", now).unwrap();
    assert_eq!(doc["schema"], tokutei_app::requests::PROVISION_RECORDS_SCHEMA);
    assert!(doc["provided"].as_array().unwrap().is_empty(), "no provision of S-active was recorded");
    assert!(matches!(d.service.request_document(&manager(), "DR-9", now), Err(ActionError::NotFound(_))));
}

/// A disclosure of a subscriber with direct and indirect values, consent changes, a
/// provision record and gateway reads by three principals: the electronic record holds
/// exactly those (each value with its provenance, the receipt of the indirect one, every use
/// by role or system), matches its schema, holds no other subscriber's data and no staff
/// names; it is sealed at rest and downloaded once, by the person who fulfilled it.
#[test]
fn a_disclosure_is_an_electronic_record_of_exactly_the_subscribers_data() {
    use tokutei_store::provision::{LegalBasis, NewProvision, ProvisionStore, RecordType};
    let d = deploy();
    let now = support::at(3600);
    // Three principals read: a person (support), a system (ads) and the responsible person.
    d.service.read(&support::call("support", "support", &["S-active"], &["contract.name"])).unwrap();
    d.service.read(&support::call("all", "billing", &["S-active"], &["billing.payment"])).unwrap();
    d.service.read(&support::call("ads", "marketing", &["S-active"], &["contract.name"])).unwrap();
    d.service.read(&support::call("all", "support", &["S-suspended"], &["contract.name"])).unwrap();
    for choice in [tokutei_store::consent::Choice::OptedOut, tokutei_store::consent::Choice::OptedIn] {
        d.service
            .record_consent(
                &Acting::Person("member-site".into()),
                &tokutei_app::consent::NewChoice {
                    subscriber: SubscriberId::parse("S-active").unwrap(),
                    purpose: tokutei_app::PurposeId::parse("marketing").unwrap(),
                    choice,
                    channel: "web".into(),
                    notice_version: Some(1),
                    evidence: Some("form-88".into()),
                },
                now,
            )
            .unwrap();
    }
    d.store
        .add_provisions(&[NewProvision {
            provided_at: now,
            recipient: "ad-partner".into(),
            subscriber: "S-active".into(),
            categories: vec!["comm.browsing".into()],
            purpose: "third_party_ads".into(),
            basis: LegalBasis::Consent,
            consent_proof: Some(2),
            record_type: RecordType::Each,
            audit_index: None,
            keep_until: "2029-06-01".parse().unwrap(),
        }])
        .unwrap();

    let input = OpenInput { purposes: Vec::new(), received_at: Some(now), ..disclosure() };
    d.service.open_request(&manager(), &input, now).unwrap();
    let done = d.service.fulfil_request(&manager(), &id("DR-1"), "", None, now).unwrap();
    assert!(done.outcome.as_ref().unwrap().document_digest.is_some());
    // Sealed at rest: the register holds no value in clear.
    let stored = format!("{:?}", d.store.requests().unwrap());
    assert!(!stored.contains(&support::plaintext("S-active", "contract.name")), "the record is sealed");

    let doc = d.service.request_document(&manager(), "DR-1", now).unwrap();
    assert_eq!(doc["schema"], tokutei_app::requests::DISCLOSURE_SCHEMA);
    let mut keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "company",
            "consents",
            "contract",
            "made_at",
            "policy_version",
            "provided",
            "received",
            "request",
            "schema",
            "subscriber",
            "uses",
            "values"
        ]
    );
    // Every value of the subscriber's service, in clear, with its provenance.
    let fiber: Vec<&str> =
        d.policy.categories.iter().filter(|c| c.services.iter().any(|s| s == "fiber")).map(|c| c.id.as_str()).collect();
    let values = doc["values"].as_array().unwrap();
    let mut got: Vec<&str> = values.iter().map(|v| v["category"].as_str().unwrap()).collect();
    got.sort_unstable();
    let mut want = fiber.clone();
    want.sort_unstable();
    assert_eq!(got, want);
    let name = values.iter().find(|v| v["category"] == "contract.name").unwrap();
    assert_eq!(name["value"].as_str(), Some(support::plaintext("S-active", "contract.name").as_str()));
    assert_eq!(name["provenance"]["source"]["kind"], "direct");
    let usage = values.iter().find(|v| v["category"] == support::INDIRECT_CATEGORY).unwrap();
    assert_eq!(usage["provenance"]["source"]["kind"], "indirect");
    assert_eq!(doc["received"].as_array().unwrap().len(), 1);
    assert_eq!(doc["received"][0]["provider_name"], "星空決済代行株式会社");
    // The consent history, the provision record, every use by role or system.
    let consents: Vec<&str> =
        doc["consents"].as_array().unwrap().iter().map(|c| c["choice"].as_str().unwrap()).collect();
    assert_eq!(consents, ["opted_out", "opted_in"]);
    assert_eq!(doc["provided"].as_array().unwrap().len(), 1);
    assert_eq!(doc["provided"][0]["recipient"], "ad-partner");
    let uses = doc["uses"].as_array().unwrap();
    let by: std::collections::BTreeSet<&str> = uses.iter().map(|u| u["by"].as_str().unwrap()).collect();
    assert!(by.contains("担当者") && by.contains("責任者") && by.contains("ads"), "{by:?}");
    assert!(uses.iter().all(|u| u["index"].is_u64()));
    assert!(uses.iter().any(|u| u["purpose"] == "data_subject_requests"), "the disclosure's own read is listed");
    // No other subscriber, no staff name or id of a person.
    let text = doc.to_string();
    for other in ["S-suspended", "S-terminated", "shop-1"] {
        assert!(!text.contains(other), "`{other}` in the record");
    }
    for person in ["support", "all"] {
        assert!(!by.contains(person), "a person's id `{person}` names a use");
    }
    for principal in tokutei_store::staff::StaffStore::principals(d.store.as_ref()).unwrap() {
        // The fixture names persons by their ids; `support` is also a purpose of the policy.
        let also_an_id = d.policy.purpose(&principal.display_name).is_some();
        if matches!(principal.kind, tokutei_store::staff::PrincipalKind::Person { .. }) && !also_an_id {
            let quoted = format!("\"{}\"", principal.display_name);
            assert!(!text.contains(&quoted), "a person's name in the record: {}", principal.display_name);
        }
    }
    // Once, by the person who fulfilled it.
    assert!(matches!(d.service.request_document(&manager(), "DR-1", now), Err(ActionError::Conflict(_))));
    let downloaded = d.service.request(&manager(), "DR-1", now).unwrap();
    assert_eq!(downloaded.downloaded_at, Some(now));
}

/// A correction writes the new value through the gateway as a new version and keeps the old
/// one; the request's document shows before and after; a category of another service or none
/// at all is refused naming `values`.
#[test]
fn a_correction_keeps_both_versions_and_shows_before_and_after() {
    use tokutei_app::requests::CorrectionInput;
    use tokutei_store::vault::VaultStore;
    let d = deploy();
    let now = support::at(3600);
    let input = OpenInput {
        kind: RequestKind::Correction,
        method: None,
        purposes: Vec::new(),
        received_at: Some(now),
        ..disclosure()
    };
    d.service.open_request(&manager(), &input, now).unwrap();
    let fix = |category: &str, value: &str| CorrectionInput {
        category: tokutei_app::CategoryId::parse(category).unwrap(),
        value: zeroize::Zeroizing::new(value.to_string()),
    };
    for (bad, why) in [
        (vec![], "none"),
        (vec![fix("comm.location", "x")], "another service"),
        (vec![fix("contract.address", "a"), fix("contract.address", "b")], "twice"),
    ] {
        let err = d.service.fulfil_correction(&manager(), &id("DR-1"), &bad, "", None, now).unwrap_err();
        assert!(matches!(err, ActionError::Invalid { field: "values", .. }), "{why}: {err:?}");
    }
    assert!(matches!(d.service.fulfil_request(&manager(), &id("DR-1"), "", None, now), Err(ActionError::Conflict(_))));
    let new_address = "東京都千代田区星空町3-3";
    let done = d
        .service
        .fulfil_correction(
            &manager(),
            &id("DR-1"),
            &[fix("contract.address", new_address)],
            "住所を訂正しました",
            None,
            now,
        )
        .unwrap();
    assert_eq!(done.status, Status::Decided);
    let versions = d.store.values("S-active", Some("contract.address"), true).unwrap();
    assert_eq!(versions.len(), 2, "both versions are kept");
    let doc = d.service.request_document(&manager(), "DR-1", now).unwrap();
    assert_eq!(doc["schema"], tokutei_app::requests::CORRECTION_SCHEMA);
    let change = &doc["changes"][0];
    assert_eq!(change["category"], "contract.address");
    assert_eq!(
        change["before"][0]["value"].as_str(),
        Some(support::plaintext("S-active", "contract.address").as_str())
    );
    assert!(change["after"].as_array().unwrap().iter().any(|v| v["value"] == new_address), "{change}");
    let stored = format!("{:?}", d.store.requests().unwrap());
    assert!(!stored.contains(new_address), "the document is sealed in the register");
}
