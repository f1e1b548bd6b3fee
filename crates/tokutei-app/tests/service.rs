//! The access service end to end on a real store: changes take effect on the very next
//! request (consent withdrawal, termination, staff changes), exports need an approved
//! request, third-party provision writes its APPI 29条 record, writes and erasures go through
//! the gateway, and refusals name their reason. The administrative actions (publish,
//! registration, consent, erasure) are audited before they change anything.

mod support;
#[path = "service/zones.rs"]
mod zones;

use std::sync::atomic::Ordering;

use support::{at, call, date, deploy, plaintext};
use tokutei_app::consent::NewChoice;
use tokutei_app::{AccessCall, Acting, ActionError, CategoryId, NewPlainValue, PurposeId, SubscriberId, WriteCall};
use tokutei_ledger::{Action, Actor, AdminAction};
use tokutei_store::PolicyStore;
use tokutei_store::consent::Choice;
use tokutei_store::consent::ConsentStore;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::provision::{LegalBasis, ProvisionStore};
use tokutei_store::staff::{
    ExportStore, Grants, NewExportRequest, NewPrincipal, PrincipalKind, RangeGrant, StaffStore,
};
use tokutei_store::vault::{ContractState, Source, VaultStore};

fn consent(subscriber: &str, purpose: &str, choice: Choice) -> NewChoice {
    NewChoice {
        subscriber: sid(subscriber),
        purpose: PurposeId::parse(purpose).unwrap(),
        choice,
        channel: "web".into(),
        notice_version: Some(1),
        evidence: Some("form-77".into()),
    }
}

/// The member site, a system of the registry feeding the choices it received.
fn member_site() -> Acting {
    Acting::Person("member-site".into())
}

fn sid(id: &str) -> SubscriberId {
    SubscriberId::parse(id).unwrap()
}

fn reasons(outcome: &tokutei_app::AccessOutcome) -> Vec<String> {
    outcome
        .subscribers
        .iter()
        .flat_map(|s| s.items.iter().flat_map(|i| i.reasons.iter().map(|r| r.code.clone())))
        .collect()
}

#[test]
fn withdrawal_of_consent_takes_effect_on_the_next_request() {
    let d = deploy();
    let read = call("all", "marketing", &["S-active"], &["contract.name"]);
    // Warm every cache.
    for _ in 0..3 {
        assert!(d.service.read(&read).unwrap().all_allowed());
    }
    d.service.record_consent(&member_site(), &consent("S-active", "marketing", Choice::OptedOut), at(10)).unwrap();
    let after = d.service.read(&read).unwrap();
    assert!(!after.all_allowed());
    assert_eq!(reasons(&after), ["opted_out"]);
    assert!(after.subscribers[0].items[0].values.is_empty());
    // And back.
    d.service.record_consent(&member_site(), &consent("S-active", "marketing", Choice::OptedIn), at(10)).unwrap();
    assert!(d.service.read(&read).unwrap().all_allowed());
}

#[test]
fn opt_in_purposes_need_the_opt_in_and_withdrawal_is_immediate() {
    let d = deploy();
    let read = call("all", "behavior_ads", &["S-active"], &["comm.browsing"]);
    let before = d.service.read(&read).unwrap();
    assert!(reasons(&before).contains(&"not_opted_in".to_string()), "{:?}", reasons(&before));
    d.service.record_consent(&member_site(), &consent("S-active", "behavior_ads", Choice::OptedIn), at(10)).unwrap();
    let allowed = d.service.read(&read).unwrap();
    assert!(allowed.all_allowed(), "{:?}", reasons(&allowed));
    assert_eq!(allowed.subscribers[0].items[0].values[0].value, plaintext("S-active", "comm.browsing"));
    d.service.record_consent(&member_site(), &consent("S-active", "behavior_ads", Choice::OptedOut), at(10)).unwrap();
    assert!(!d.service.read(&read).unwrap().all_allowed());
}

#[test]
fn termination_takes_effect_on_the_next_request() {
    let d = deploy();
    let marketing = call("all", "marketing", &["S-active"], &["contract.name"]);
    let billing = call("all", "billing", &["S-active"], &["contract.name"]);
    assert!(d.service.read(&marketing).unwrap().all_allowed());
    d.service
        .change_contract(
            &Acting::Person("crm".into()),
            &sid("S-active"),
            ContractState::Terminated,
            Some(date(2026, 6, 1)),
            at(20),
        )
        .unwrap();
    let after = d.service.read(&marketing).unwrap();
    assert_eq!(reasons(&after), ["contract_terminated"]);
    // Billing continues after termination, within its purpose.
    assert!(d.service.read(&billing).unwrap().all_allowed());
}

#[test]
fn staff_changes_take_effect_on_the_next_request() {
    let d = deploy();
    let read = call("support", "support", &["S-active"], &["contract.name", "contract.phone"]);
    assert!(d.service.read(&read).unwrap().all_allowed());
    let narrower = Grants {
        data_range: vec![RangeGrant { service: "fiber".into(), categories: vec!["contract.name".into()] }],
        purposes: vec!["support".into()],
        zones: vec!["hq".into()],
        ..Grants::default()
    };
    d.store.set_grants("support", &narrower).unwrap();
    let after = d.service.read(&read).unwrap();
    let allowed: Vec<bool> = after.subscribers[0].items.iter().map(|i| i.allowed).collect();
    assert_eq!(allowed, [true, false]);
    assert_eq!(reasons(&after), ["outside_data_range"]);
    d.store.disable_principal("support", at(30)).unwrap();
    let disabled = d.service.read(&read).unwrap();
    assert_eq!(reasons(&disabled), ["principal_disabled", "principal_disabled"]);
}

#[test]
fn expired_training_refuses_and_is_audited() {
    let d = deploy();
    let out = d.service.read(&call("untrained", "support", &["S-active"], &["contract.name"])).unwrap();
    assert_eq!(reasons(&out), ["training_expired"]);
    assert_eq!(out.audit.len(), 1);
}

#[test]
fn masks_apply_per_purpose() {
    let d = deploy();
    let out = d.service.read(&call("all", "support", &["S-active"], &["billing.payment", "contract.name"])).unwrap();
    let items = &out.subscribers[0].items;
    assert_eq!(items[0].mask.as_deref(), Some("last4"));
    let full = plaintext("S-active", "billing.payment");
    let masked = &items[0].values[0].value;
    assert!(masked.ends_with("6789") && masked.starts_with("****") && masked.chars().count() == full.chars().count());
    assert_eq!(items[1].values[0].value, plaintext("S-active", "contract.name"));
    // The same category unmasked under billing.
    let billing = d.service.read(&call("all", "billing", &["S-active"], &["billing.payment"])).unwrap();
    assert_eq!(billing.subscribers[0].items[0].values[0].value, full);
}

#[test]
fn unknown_and_erased_subscribers_are_refused_and_audited() {
    let d = deploy();
    let out = d.service.read(&call("all", "support", &["S-missing"], &["contract.name"])).unwrap();
    assert_eq!(reasons(&out), ["subscriber_not_found"]);
    assert_eq!(out.audit.len(), 1);
    let mut erase = call("all", "support", &["S-suspended"], &["contract.name"]);
    erase.action = Action::Erase;
    let erased = d.service.erase(&erase).unwrap();
    assert!(erased.subscribers[0].erased, "{:?}", reasons(&erased));
    assert!(d.store.data_key("S-suspended").unwrap().is_none());
    let after = d.service.read(&call("all", "support", &["S-suspended"], &["contract.name"])).unwrap();
    assert_eq!(reasons(&after), ["subscriber_erased"]);
}

fn export_call(approval: Option<&str>) -> AccessCall {
    let mut c = call("ads", "third_party_ads", &["S-active"], &["comm.browsing"]);
    c.action = Action::Export;
    c.channel = Some(tokutei_policy::Channel::Advertising);
    c.export_approval = approval.map(str::to_string);
    c
}

#[test]
fn exports_need_an_approved_request_and_provision_writes_its_record() {
    let d = deploy();
    d.service.record_consent(&member_site(), &consent("S-active", "third_party_ads", Choice::OptedIn), at(10)).unwrap();
    // No approval: refused (and the recipient is missing as well).
    let refused = d.service.read(&export_call(None)).unwrap();
    assert!(!refused.all_allowed());
    assert!(reasons(&refused).contains(&"recipient_missing".to_string()), "{:?}", reasons(&refused));
    d.store
        .create_export_request(&NewExportRequest {
            id: "EXP-1".into(),
            requested_by: "ads".into(),
            purpose: "third_party_ads".into(),
            categories: vec!["comm.browsing".into()],
            subscribers: Some(vec!["S-active".into()]),
            reason: "weekly segment".into(),
            recipient: Some("ad-distributor-1".into()),
            requested_at: at(0),
            valid_until: at(86_400),
        })
        .unwrap();
    // Filed but not approved: refused by the export rule.
    let pending = d.service.read(&export_call(Some("EXP-1"))).unwrap();
    assert_eq!(reasons(&pending), ["export_not_approved"]);
    assert!(d.store.provisions_of("S-active").unwrap().is_empty());
    d.store.approve_export("EXP-1", "all", at(100)).unwrap();
    let exported = d.service.read(&export_call(Some("EXP-1"))).unwrap();
    assert!(exported.all_allowed(), "{:?}", reasons(&exported));
    assert_eq!(exported.provisions.len(), 1);
    let records = d.store.provisions_of("S-active").unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0].record;
    assert_eq!(
        (r.recipient.as_str(), r.basis, r.categories.as_slice()),
        ("ad-distributor-1", LegalBasis::Consent, &["comm.browsing".to_string()][..])
    );
    assert!(r.consent_proof.is_some());
    assert_eq!(r.audit_index, Some(exported.subscribers[0].items[0].audit_index));
    assert_eq!(r.keep_until, date(2029, 6, 1), "kept 3 years from the provision");
    // Another subscriber is outside the approval.
    let mut other = export_call(Some("EXP-1"));
    other.subscribers = vec![sid("S-terminated")];
    assert!(!d.service.read(&other).unwrap().all_allowed());
}

#[test]
fn writes_go_through_the_gateway_and_add_versions() {
    let d = deploy();
    let mut c = call("support", "support", &["S-active"], &[]);
    c.action = Action::Update;
    let write = WriteCall {
        call: c,
        values: vec![
            NewPlainValue {
                category: CategoryId::parse("contract.phone").unwrap(),
                value: zeroize::Zeroizing::new(b"090-0000-1111".to_vec()),
            },
            NewPlainValue {
                category: CategoryId::parse("comm.browsing").unwrap(),
                value: zeroize::Zeroizing::new(b"example.com".to_vec()),
            },
        ],
        method: tokutei_policy::AcquisitionMethod::Oral,
    };
    let out = d.service.write(&write).unwrap();
    let items = &out.subscribers[0].items;
    assert!(items[0].allowed && items[0].written == [2], "{:?}", items[0]);
    assert!(!items[1].allowed && items[1].written.is_empty());
    let read = d.service.read(&call("all", "service_provision", &["S-active"], &["contract.phone"])).unwrap();
    let values = &read.subscribers[0].items[0].values;
    assert_eq!(values.len(), 1, "the correction replaced the old version");
    assert_eq!((values[0].version, values[0].value.as_str()), (2, "090-0000-1111"));
    assert_eq!(values[0].provenance.collected_by, "support");
    assert_eq!(values[0].provenance.source, Source::Direct);
    assert_eq!(values[0].provenance.notice_version, 1, "the notice of the version in force");
    // The browsing history was never written.
    assert_eq!(
        d.store.latest_versions("S-active").unwrap().into_iter().find(|(c, _)| c == "comm.browsing").map(|(_, v)| v),
        Some(1)
    );
}

#[test]
fn no_active_policy_refuses_everything() {
    let d = deploy();
    let mut c = call("all", "support", &["S-active"], &["contract.name"]);
    c.now = jiff::Timestamp::from_second(1_700_000_000).unwrap(); // 2023, before the policy is effective
    let out = d.service.read(&c).unwrap();
    assert_eq!(reasons(&out), ["no_active_policy"]);
    assert_eq!(out.policy_version, None);
}

#[test]
fn bad_calls_are_refused_before_anything_is_written() {
    let d = deploy();
    use tokutei_store::ledger::LedgerStore;
    let size = d.ledger.tree_size().unwrap();
    for c in [
        call("all", "support", &[], &["contract.name"]),
        call("all", "support", &["S-active", "S-active"], &["contract.name"]),
        call("all", "support", &["S-active"], &["contract.name", "contract.name"]),
        call("nobody", "support", &["S-active"], &["contract.name"]),
        call("all", "not_a_purpose", &["S-active"], &[]),
    ] {
        assert!(d.service.read(&c).is_err(), "{c:?}");
    }
    assert_eq!(d.ledger.tree_size().unwrap(), size);
}

#[test]
fn search_finds_through_the_blind_index_and_audits_each_candidate() {
    let d = deploy();
    // Give S-active a searchable phone number through the gateway (indexed on write).
    let mut c = call("all", "support", &["S-active"], &[]);
    c.action = Action::Update;
    d.service
        .write(&WriteCall {
            call: c,
            values: vec![NewPlainValue {
                category: CategoryId::parse("contract.phone").unwrap(),
                value: zeroize::Zeroizing::new(b"090-1234-5678".to_vec()),
            }],
            method: tokutei_policy::AcquisitionMethod::Oral,
        })
        .unwrap();
    use tokutei_store::ledger::LedgerStore;
    let before = d.ledger.tree_size().unwrap();
    let search = call("all", "support", &[], &["contract.phone"]);
    // Written differently (full-width digits, no hyphens): the same normalised value.
    let found = d.service.search(&search, "０９０１２３４５６７８").unwrap();
    assert_eq!(found.subscribers.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["S-active"]);
    assert!(found.subscribers[0].items[0].values.is_empty(), "a search returns no values");
    assert_eq!(d.ledger.tree_size().unwrap(), before + 1, "the candidate's decision is audited");
    // A principal outside the range finds nothing, and that is audited too.
    let outsider = call("untrained", "support", &[], &["contract.phone"]);
    assert!(d.service.search(&outsider, "090-1234-5678").unwrap().subscribers.is_empty());
    assert_eq!(d.ledger.tree_size().unwrap(), before + 2);
    assert!(d.service.search(&search, "090-0000-0000").unwrap().subscribers.is_empty());
    assert!(d.service.search(&call("all", "support", &[], &["contract.name"]), "x").is_err(), "not searchable");
}

fn ledger_size(d: &support::Deployed) -> u64 {
    d.ledger.tree_size().unwrap()
}

#[test]
fn erase_outside_range_is_refused_and_nothing_is_shredded() {
    let d = deploy();
    // `support` handles contract and billing data and is not granted erasure.
    let mut erase = call("support", "support", &["S-active"], &["contract.name"]);
    erase.action = Action::Erase;
    let out = d.service.erase(&erase).unwrap();
    assert!(!out.subscribers[0].erased);
    let items = &out.subscribers[0].items;
    assert!(
        items.iter().all(|i| !i.allowed && i.reasons.iter().any(|r| r.code == "action_not_granted")),
        "{:?}",
        reasons(&out)
    );
    assert!(d.store.data_key("S-active").unwrap().is_some());
    // Granted erasure, its range still misses categories the subscriber holds: naming only
    // `contract.name` does not narrow the erasure to it.
    let mut grants = d.store.principal("support").unwrap().unwrap().grants;
    grants.actions = vec![Action::Read, Action::Erase];
    d.store.set_grants("support", &grants).unwrap();
    let out = d.service.erase(&erase).unwrap();
    assert!(!out.subscribers[0].erased);
    let items = &out.subscribers[0].items;
    assert!(items.len() > 1, "an erasure is decided on every category of the subscriber");
    let denied: Vec<&str> = items.iter().filter(|i| !i.allowed).map(|i| i.category.as_str()).collect();
    assert!(denied.contains(&"support.call_recording") && denied.contains(&"comm.auth_log"), "{denied:?}");
    assert!(reasons(&out).iter().all(|r| r == "outside_data_range"), "{:?}", reasons(&out));
    assert!(d.store.data_key("S-active").unwrap().is_some(), "nothing was shredded");
}

#[test]
fn erase_with_every_category_in_range_is_not_blocked_by_a_choice_or_the_contract() {
    let d = deploy();
    d.service.record_consent(&member_site(), &consent("S-terminated", "marketing", Choice::OptedOut), at(10)).unwrap();
    let mut erase = call("all", "marketing", &["S-terminated"], &[]);
    erase.action = Action::Erase;
    let out = d.service.erase(&erase).unwrap();
    assert!(out.subscribers[0].erased, "{:?}", reasons(&out));
    assert!(d.store.data_key("S-terminated").unwrap().is_none());
}

#[test]
fn unknown_purpose_is_audited_once_per_request() {
    let d = deploy();
    let before = ledger_size(&d);
    let names: Vec<String> = (0..1_000).map(|i| format!("S-{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = d.service.read(&call("all", "no_such_purpose", &names, &["contract.name"])).unwrap();
    assert!(reasons(&out).iter().all(|r| r == "purpose_not_in_policy"));
    assert_eq!(out.subscribers.len(), 1_000);
    assert_eq!(out.audit.len(), 1, "one entry for the whole request");
    assert_eq!(ledger_size(&d), before + 1);
    let entry = d.ledger.ledger_entry(out.audit[0]).unwrap().unwrap().decode().unwrap();
    assert_eq!(entry.subscribers().len(), 1_000, "the entry still names whom the request was about");
}

#[test]
fn oversized_or_malformed_names_are_refused_before_anything_is_written() {
    let d = deploy();
    let before = ledger_size(&d);
    let long = "x".repeat(58_000);
    // An id is refused where a front end parses it, naming its field: no call carries one.
    for (field, parsed) in [
        ("purpose", PurposeId::parse(long.as_str()).map(|_| ())),
        ("subscriber", SubscriberId::parse(long.as_str()).map(|_| ())),
        ("category", CategoryId::parse(long.as_str()).map(|_| ())),
        ("subscriber", SubscriberId::parse("S-\u{1b}").map(|_| ())),
    ] {
        assert!(matches!(&parsed, Err(ActionError::Invalid { field: f, .. }) if *f == field), "{field}: {parsed:?}");
    }
    // The other names and the counts are refused by the call itself.
    let mut cases = Vec::new();
    let mut zone = call("all", "support", &["S-active"], &["contract.name"]);
    zone.zone = Some(long.clone());
    cases.push(("zone", zone));
    let mut recipient = call("all", "support", &["S-active"], &["contract.name"]);
    recipient.recipient = Some("名".repeat(201));
    cases.push(("recipient", recipient));
    let many: Vec<String> = (0..65).map(|i| format!("c{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    cases.push(("categories", call("all", "support", &["S-active"], &many)));
    for (field, c) in cases {
        let err = d.service.read(&c).unwrap_err();
        assert!(matches!(err, tokutei_app::ActionError::BadRequest(_)), "{field}: {err}");
        assert!(err.to_string().contains(field) || field == "categories", "{field}: {err}");
        assert!(d.service.explain(&c).is_err(), "{field}");
    }
    assert_eq!(ledger_size(&d), before, "nothing was audited for a malformed call");
}

#[test]
fn explain_is_bounded_and_audited_before_it_decides() {
    let d = deploy();
    let names: Vec<String> = (0..21).map(|i| format!("S-{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let err = d.service.explain(&call("all", "marketing", &names, &["contract.name"])).unwrap_err();
    assert!(err.to_string().contains("at most 20"), "{err}");
    let before = ledger_size(&d);
    let explained = d.service.explain(&call("all", "marketing", &["S-active", "S-terminated"], &[])).unwrap();
    assert!(!explained.decisions.is_empty());
    assert_eq!(ledger_size(&d), before + 1);
    let entry = d.ledger.ledger_entry(before).unwrap().unwrap().decode().unwrap();
    assert_eq!(entry.action_label(), "access_explained");
    let tokutei_ledger::Event::Admin(admin) = &entry.event else { panic!("an administrative entry") };
    let subscribers = admin.details.iter().find(|(k, _)| k == "subscribers").map(|(_, v)| v.as_str());
    assert_eq!(subscribers, Some("S-active,S-terminated"));
}

#[test]
fn a_purpose_that_lists_channels_requires_one() {
    let d = deploy();
    let mut read = call("all", "marketing", &["S-active"], &["contract.name"]);
    read.channel = None;
    let out = d.service.read(&read).unwrap();
    assert_eq!(reasons(&out), ["channel_required"]);
    assert!(out.subscribers[0].items[0].values.is_empty());
    read.channel = Some(tokutei_policy::Channel::Advertising);
    assert_eq!(reasons(&d.service.read(&read).unwrap()), ["channel_not_listed"]);
    read.channel = Some(tokutei_policy::Channel::Phone);
    assert!(d.service.read(&read).unwrap().all_allowed());
}

// The administrative actions: each validated, audited (durable) and only then carried out,
// whichever front end calls it. A failing ledger leaves the store as it was.

/// The demo policy with one wording changed: a new version.
fn next_policy() -> String {
    let next = support::POLICY.replacen("お問い合わせ、ご相談", "お問い合わせ・ご相談", 1);
    assert_ne!(next, support::POLICY);
    next
}

fn admin_entries(d: &support::Deployed, from: u64) -> Vec<(Actor, tokutei_ledger::AdminEvent)> {
    let mut out = Vec::new();
    d.ledger
        .scan_entries(from, &mut |e| {
            let entry = e.decode().unwrap();
            if let tokutei_ledger::Event::Admin(event) = entry.event {
                out.push((entry.actor, event));
            }
            Ok(true)
        })
        .unwrap();
    out
}

#[test]
fn publish_audits_first_with_the_digest_and_the_person_who_published() {
    let d = deploy();
    let before = ledger_size(&d);
    let version = d.service.publish_policy(&Acting::Person("all".into()), next_policy(), None, at(100)).unwrap();
    assert_eq!(version.number, 2);
    assert_eq!(version.published_by, "all");
    let entries = admin_entries(&d, before);
    assert_eq!(entries.len(), 1);
    let (actor, event) = &entries[0];
    assert_eq!(*actor, Actor::Staff("all".into()));
    assert_eq!(event.action, AdminAction::PolicyPublished);
    assert_eq!(event.subject, "policy/v2");
    assert_eq!(event.digest, Some(version.digest.bytes()), "the digest is in `AdminEvent.digest`");
    assert!(event.details.iter().all(|(k, _)| k != "digest"), "and nowhere else: {:?}", event.details);
}

#[test]
fn publish_with_a_failing_ledger_publishes_nothing() {
    let d = deploy();
    d.ledger.fail.store(true, Ordering::SeqCst);
    let err = d.service.publish_policy(&Acting::Person("all".into()), next_policy(), None, at(100)).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert_eq!(d.store.policy_versions().unwrap().len(), 1, "audit first: no version without its entry");
}

#[test]
fn publish_is_refused_to_anyone_but_a_manager_and_for_the_latest_version() {
    let d = deploy();
    let before = ledger_size(&d);
    for (by, why) in [("support", "a handler"), ("ads", "a system"), ("nobody", "no principal")] {
        let err = d.service.publish_policy(&Acting::Person(by.into()), next_policy(), None, at(100)).unwrap_err();
        assert!(
            matches!(err, ActionError::Forbidden(_) | ActionError::UnknownPrincipal(_)),
            "{why} may not publish: {err}"
        );
    }
    let err =
        d.service.publish_policy(&Acting::Person("all".into()), support::POLICY.into(), None, at(100)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "the latest version again: {err}");
    let broken = support::POLICY.replacen("consent = \"none\"", "consent = \"sometimes\"", 1);
    let err = d.service.publish_policy(&Acting::Person("all".into()), broken, None, at(100)).unwrap_err();
    assert!(matches!(&err, ActionError::Unpublishable(p) if p.report.errors().count() > 0), "{err}");
    let err = d.service.publish_policy(&Acting::Person("all".into()), next_policy(), Some("sha256:0"), at(100));
    assert!(matches!(err, Err(ActionError::Invalid { field: "digest", .. })), "{err:?}");
    assert_eq!(ledger_size(&d), before, "a refusal leaves no entry");
    assert_eq!(d.store.policy_versions().unwrap().len(), 1);
}

fn new_handler(id: &str, purposes: &[&str]) -> NewPrincipal {
    NewPrincipal {
        id: id.into(),
        display_name: "担当 者".into(),
        kind: PrincipalKind::Person { role: tokutei_policy::Role::Handler },
        grants: Grants {
            data_range: vec![RangeGrant { service: "fiber".into(), categories: vec!["contract.name".into()] }],
            purposes: purposes.iter().map(|p| p.to_string()).collect(),
            ..Grants::default()
        },
        created_at: at(0),
    }
}

#[test]
fn registration_audits_first_under_the_registrar() {
    let d = deploy();
    let before = ledger_size(&d);
    let created =
        d.service.register_principal(&Acting::Person("all".into()), &new_handler("op-1", &["support"]), at(5)).unwrap();
    assert_eq!(created.created_at, at(5));
    let entries = admin_entries(&d, before);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Actor::Staff("all".into()));
    assert_eq!(entries[0].1.action, AdminAction::StaffChanged);
    assert_eq!(entries[0].1.subject, "staff/op-1");

    d.ledger.fail.store(true, Ordering::SeqCst);
    let err = d.service.register_principal(&Acting::Person("all".into()), &new_handler("op-2", &[]), at(6));
    assert!(matches!(err, Err(ActionError::Audit(_))), "{err:?}");
    assert!(d.store.principal("op-2").unwrap().is_none(), "audit first: no principal without its entry");
}

#[test]
fn registration_checks_the_grants_the_registrar_and_the_id() {
    let d = deploy();
    let before = ledger_size(&d);
    let all = Acting::Person("all".into());
    let refused = |by: &Acting, new: NewPrincipal| d.service.register_principal(by, &new, at(5)).unwrap_err();
    let err = refused(&all, new_handler("op-1", &["suport"]));
    assert!(matches!(&err, ActionError::Invalid { field: "grants.purposes", .. }), "{err}");
    assert!(err.to_string().contains("`suport`"), "{err}");
    let mut unknown_service = new_handler("op-1", &[]);
    unknown_service.grants.data_range[0].service = "satellite".into();
    assert!(matches!(refused(&all, unknown_service), ActionError::Invalid { field: "grants.data_range", .. }));
    let mut unknown_category = new_handler("op-1", &[]);
    unknown_category.grants.data_range[0].categories = vec!["no.such".into()];
    assert!(matches!(refused(&all, unknown_category), ActionError::Invalid { field: "grants.data_range", .. }));
    assert!(matches!(refused(&all, new_handler("op 1", &[])), ActionError::Invalid { field: "id", .. }));
    let mut nameless = new_handler("op-1", &[]);
    nameless.display_name = " ".into();
    assert!(matches!(refused(&all, nameless), ActionError::Invalid { field: "display_name", .. }));
    assert!(matches!(refused(&all, new_handler("support", &[])), ActionError::Conflict(_)));
    assert!(matches!(refused(&Acting::Person("support".into()), new_handler("op-1", &[])), ActionError::Forbidden(_)));
    assert!(matches!(refused(&Acting::Person("ads".into()), new_handler("op-1", &[])), ActionError::Forbidden(_)));
    assert_eq!(ledger_size(&d), before, "a refusal leaves no entry");
    assert!(d.store.principal("op-1").unwrap().is_none());
}

#[test]
fn consent_for_a_notice_version_never_published_is_refused() {
    let d = deploy();
    let before = ledger_size(&d);
    let mut unpublished = consent("S-active", "marketing", Choice::OptedOut);
    unpublished.notice_version = Some(7);
    let err = d.service.record_consent(&member_site(), &unpublished, at(10)).unwrap_err();
    assert!(matches!(&err, ActionError::Invalid { field: "notice_version", .. }), "{err}");
    assert_eq!(ledger_size(&d), before);
    assert!(d.store.consent_history("S-active").unwrap().is_empty());
}

#[test]
fn consent_with_a_failing_ledger_stores_no_record() {
    let d = deploy();
    d.ledger.fail.store(true, Ordering::SeqCst);
    let err = d.service.record_consent(&member_site(), &consent("S-active", "marketing", Choice::OptedOut), at(10));
    assert!(matches!(err, Err(ActionError::Audit(_))), "{err:?}");
    assert!(d.store.consent_history("S-active").unwrap().is_empty(), "audit first: no record without its entry");
}

#[test]
fn erasure_with_a_failing_ledger_destroys_no_key_on_either_path() {
    let d = deploy();
    d.ledger.fail.store(true, Ordering::SeqCst);
    // The operator's command.
    let err = d.service.erase_subscriber(&tokutei_app::Acting::Setup("cli"), &sid("S-active"), at(50));
    assert!(matches!(err, Err(ActionError::Audit(_))), "{err:?}");
    assert!(d.store.data_key("S-active").unwrap().is_some(), "audit first: the key outlives a failed audit");
    // Through the gateway (the API).
    let mut erase = call("all", "marketing", &["S-terminated"], &[]);
    erase.action = Action::Erase;
    assert!(d.service.erase(&erase).is_err());
    assert!(d.store.data_key("S-terminated").unwrap().is_some(), "audit first: the key outlives a failed audit");
    // Once the ledger is back, both erase, each after its entry.
    d.ledger.fail.store(false, Ordering::SeqCst);
    let before = ledger_size(&d);
    d.service.erase_subscriber(&tokutei_app::Acting::Setup("cli"), &sid("S-active"), at(51)).unwrap();
    assert!(d.store.data_key("S-active").unwrap().is_none());
    let entries = admin_entries(&d, before);
    assert_eq!(entries[0].1.action, AdminAction::SubscriberErased);
    assert_eq!(entries[0].1.subject, "subscriber/S-active");
    assert!(d.service.erase(&erase).unwrap().subscribers[0].erased);
    let again = d.service.erase_subscriber(&tokutei_app::Acting::Setup("cli"), &sid("S-active"), at(52));
    assert!(matches!(again, Err(ActionError::Conflict(_))), "{again:?}");
    let missing = d.service.erase_subscriber(&tokutei_app::Acting::Setup("cli"), &sid("S-missing"), at(52));
    assert!(matches!(missing, Err(ActionError::NotFound(_))), "{missing:?}");
}

/// What the store held each time an entry was appended, as `look` reads it.
fn seen_at_append<T: Send + 'static>(
    d: &support::Deployed,
    look: impl Fn(&tokutei_store_sqlite::SqliteStore) -> T + Send + Sync + 'static,
) -> std::sync::Arc<std::sync::Mutex<Vec<T>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (store, into) = (d.store.clone(), seen.clone());
    d.ledger.before_append(move |_| into.lock().unwrap().push(look(&store)));
    seen
}

#[test]
fn consent_is_audited_before_it_is_stored_under_the_one_who_recorded_it() {
    let d = deploy();
    let seen = seen_at_append(&d, |store| store.consent_history("S-active").unwrap().len());
    let before = ledger_size(&d);
    let mut choice = consent("S-active", "marketing", Choice::OptedOut);
    choice.notice_version = None;
    let record = d.service.record_consent(&member_site(), &choice, at(10)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [0], "the entry was appended before the record was stored");
    let entries = admin_entries(&d, before);
    assert_eq!(entries.len(), 1);
    let (actor, event) = &entries[0];
    assert_eq!(*actor, Actor::System("member-site".into()), "a system of the registry, under its id");
    assert_eq!((event.action, event.subject.as_str()), (AdminAction::ConsentRecorded, "S-active"));
    assert_eq!(record.audit_index, Some(before), "the record names its entry");
    assert_eq!(record.record.recorded_by, "member-site");
    assert_eq!(record.record.notice_version, 1, "the notice of the version in force");
    // A person at the counter, of any role, is audited as staff.
    let record = d
        .service
        .record_consent(&Acting::Person("support".into()), &consent("S-active", "marketing", Choice::OptedIn), at(11))
        .unwrap();
    assert_eq!(record.record.recorded_by, "support");
    assert_eq!(admin_entries(&d, before + 1)[0].0, Actor::Staff("support".into()));
    let shown = d.service.consents(&sid("S-active")).unwrap();
    assert_eq!((shown.current.len(), shown.history.len()), (1, 2));
    assert_eq!(shown.current[0].record.choice, Choice::OptedIn);
    assert!(matches!(d.service.consents(&sid("S-missing")), Err(ActionError::NotFound(_))));
}

#[test]
fn consent_is_refused_to_anyone_outside_the_registry_and_for_bad_input() {
    let d = deploy();
    let before = ledger_size(&d);
    let choice = consent("S-active", "marketing", Choice::OptedOut);
    let err = d.service.record_consent(&Acting::Person("nobody".into()), &choice, at(10)).unwrap_err();
    assert!(matches!(err, ActionError::UnknownPrincipal(_)), "{err}");
    d.store.disable_principal("member-site", at(5)).unwrap();
    let err = d.service.record_consent(&member_site(), &choice, at(10)).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "a disabled system: {err}");
    let by = Acting::Person("all".into());
    let mut spaced = choice.clone();
    spaced.channel = "in person".into();
    assert!(matches!(
        d.service.record_consent(&by, &spaced, at(10)),
        Err(ActionError::Invalid { field: "channel", .. })
    ));
    let none = consent("S-active", "service_provision", Choice::OptedOut);
    assert!(matches!(d.service.record_consent(&by, &none, at(10)), Err(ActionError::Invalid { field: "purpose", .. })));
    let missing = consent("S-missing", "marketing", Choice::OptedOut);
    assert!(matches!(d.service.record_consent(&by, &missing, at(10)), Err(ActionError::NotFound(_))));
    assert_eq!(ledger_size(&d), before, "a refusal leaves no entry");
    assert!(d.store.consent_history("S-active").unwrap().is_empty());
}

/// The defect: `set_contract` stored the contract and then appended `contract_changed`, so a
/// ledger that could not be written left a contract change with no audit entry.
#[test]
fn contract_change_is_audited_before_it_is_stored() {
    let d = deploy();
    let seen = seen_at_append(&d, |store| store.subscriber("S-active").unwrap().unwrap().contract.state);
    let before = ledger_size(&d);
    let crm = Acting::Person("crm".into());
    let contract = d
        .service
        .change_contract(&crm, &sid("S-active"), ContractState::Suspended, Some(date(2026, 6, 1)), at(20))
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [ContractState::Active], "the entry was appended before the change");
    assert_eq!(d.store.subscriber("S-active").unwrap().unwrap().contract, contract);
    assert_eq!(contract.started_on, date(2020, 1, 1), "the start is kept");
    assert_eq!(contract.suspended_on, Some(date(2026, 6, 1)));
    let entries = admin_entries(&d, before);
    assert_eq!(entries.len(), 1);
    let (actor, event) = &entries[0];
    assert_eq!(*actor, Actor::System("crm".into()));
    assert_eq!((event.action, event.subject.as_str()), (AdminAction::ContractChanged, "S-active"));
    assert!(event.details.contains(&("state".into(), "suspended".into())), "{:?}", event.details);

    // A ledger that cannot be written leaves the contract as it was.
    d.ledger.fail.store(true, Ordering::SeqCst);
    let err = d.service.change_contract(&crm, &sid("S-active"), ContractState::Terminated, None, at(30));
    assert!(matches!(err, Err(ActionError::Audit(_))), "{err:?}");
    let stored = d.store.subscriber("S-active").unwrap().unwrap().contract;
    assert_eq!(stored, contract, "audit first: no change without its entry");
}

#[test]
fn contract_change_is_refused_for_an_unknown_subscriber_a_day_before_the_start_or_an_unknown_principal() {
    let d = deploy();
    let before = ledger_size(&d);
    let crm = Acting::Person("crm".into());
    let state = ContractState::Terminated;
    let err = d.service.change_contract(&crm, &sid("S-missing"), state, None, at(20)).unwrap_err();
    assert!(matches!(err, ActionError::NotFound(_)), "{err}");
    let err = d.service.change_contract(&crm, &sid("S-active"), state, Some(date(2019, 12, 31)), at(20)).unwrap_err();
    assert!(matches!(err, ActionError::Invalid { field: "on", .. }), "{err}");
    let nobody = Acting::Person("nobody".into());
    let err = d.service.change_contract(&nobody, &sid("S-active"), state, None, at(20)).unwrap_err();
    assert!(matches!(err, ActionError::UnknownPrincipal(_)), "{err}");
    assert_eq!(ledger_size(&d), before, "a refusal leaves no entry");
    assert_eq!(d.store.subscriber("S-active").unwrap().unwrap().contract.state, ContractState::Active);
    // A person of the registry may change it too, and is audited as staff.
    d.service.change_contract(&Acting::Person("support".into()), &sid("S-active"), state, None, at(20)).unwrap();
    assert_eq!(admin_entries(&d, before)[0].0, Actor::Staff("support".into()));
}
