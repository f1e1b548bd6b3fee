//! Export requests (持出し申請) and their approval through the application layer: each audited
//! before it is stored, a failing ledger changing nothing; the requester is the one acting;
//! an approval is a manager's, never the requester's, a handler's or a system's; and an
//! export through the gateway is allowed only under an approved request. `artefacts` carries
//! approved exports out: the encrypted artefact, its one download, and the media exceptions.

#[path = "exports/artefacts.rs"]
mod artefacts;
mod support;

use std::sync::atomic::Ordering;

use support::{at, call, deploy};
use tokutei_app::exports::NewExport;
use tokutei_app::{Acting, ActionError, CategoryId, ExportId, PurposeId, SubscriberId};
use tokutei_ledger::{Action, Actor, AdminAction};
use tokutei_store::consent::Choice;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::{ExportStore, StaffStore};

fn person(id: &str) -> Acting {
    Acting::Person(id.into())
}

fn eid(id: &str) -> ExportId {
    ExportId::parse(id).unwrap()
}

/// `ads` asks to give `S-active`'s browsing history to an ad distributor.
fn ads_request(id: &str) -> NewExport {
    NewExport {
        id: eid(id),
        purpose: PurposeId::parse("third_party_ads").unwrap(),
        categories: vec![CategoryId::parse("comm.browsing").unwrap()],
        subscribers: Some(vec![SubscriberId::parse("S-active").unwrap()]),
        reason: "weekly segment".into(),
        recipient: Some("ad-distributor-1".into()),
        days: 7,
    }
}

fn admin_entries(d: &support::Deployed, from: u64) -> Vec<(Actor, tokutei_ledger::AdminEvent)> {
    let mut out = Vec::new();
    d.ledger
        .scan_entries(from, &mut |e| {
            if let tokutei_ledger::Event::Admin(event) = e.decode().unwrap().event {
                out.push((e.decode().unwrap().actor, event));
            }
            Ok(true)
        })
        .unwrap();
    out
}

/// `S-active` opts in to the ad purpose (through the member site).
fn opt_in_to_ads(d: &support::Deployed) {
    d.service
        .record_consent(
            &person("member-site"),
            &tokutei_app::consent::NewChoice {
                subscriber: SubscriberId::parse("S-active").unwrap(),
                purpose: PurposeId::parse("third_party_ads").unwrap(),
                choice: Choice::OptedIn,
                channel: "web".into(),
                notice_version: None,
                evidence: None,
            },
            at(1),
        )
        .unwrap();
}

fn size(d: &support::Deployed) -> u64 {
    d.ledger.tree_size().unwrap()
}

#[test]
fn an_export_request_is_audited_before_it_is_stored_under_the_requester() {
    let d = deploy();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (store, into) = (d.store.clone(), seen.clone());
    d.ledger.before_append(move |_| into.lock().unwrap().push(store.export_request("EXP-1").unwrap().is_some()));
    let before = size(&d);
    let filed = d.service.request_export(&person("ads"), &ads_request("EXP-1"), at(0)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [false], "the entry was appended before the request was stored");
    assert_eq!(filed.request.requested_by, "ads", "the requester is the one acting");
    assert_eq!(filed.request.valid_until, at(7 * 86_400));
    assert_eq!(d.store.export_request("EXP-1").unwrap(), Some(filed));
    let entries = admin_entries(&d, before);
    assert_eq!(entries.len(), 1);
    let (actor, event) = &entries[0];
    assert_eq!(*actor, Actor::System("ads".into()));
    assert_eq!((event.action, event.subject.as_str()), (AdminAction::ExportRequested, "export/EXP-1"));
    assert_eq!(event.details, [("purpose".to_string(), "third_party_ads".to_string())]);
}

#[test]
fn an_export_request_with_a_failing_ledger_stores_nothing() {
    let d = deploy();
    d.ledger.fail.store(true, Ordering::SeqCst);
    let err = d.service.request_export(&person("ads"), &ads_request("EXP-1"), at(0));
    assert!(matches!(err, Err(ActionError::Audit(_))), "{err:?}");
    assert!(d.store.export_request("EXP-1").unwrap().is_none(), "audit first: no request without its entry");
}

#[test]
fn an_approval_is_audited_before_it_is_stored_and_allows_the_export() {
    let d = deploy();
    opt_in_to_ads(&d);
    d.service.request_export(&person("ads"), &ads_request("EXP-1"), at(0)).unwrap();
    let mut export = call("ads", "third_party_ads", &["S-active"], &["comm.browsing"]);
    export.action = Action::Export;
    export.channel = Some(tokutei_policy::Channel::Advertising);
    export.export_approval = Some("EXP-1".into());
    assert!(!d.service.read(&export).unwrap().all_allowed(), "not approved yet");

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (store, into) = (d.store.clone(), seen.clone());
    d.ledger.before_append(move |_| {
        into.lock().unwrap().push(store.export_request("EXP-1").unwrap().unwrap().approved_by.is_some());
    });
    let before = size(&d);
    let approved = d.service.approve_export(&person("all"), &eid("EXP-1"), at(100)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [false], "the entry was appended before the approval was stored");
    assert_eq!((approved.approved_by.as_deref(), approved.approved_at), (Some("all"), Some(at(100))));
    let entries = admin_entries(&d, before);
    assert_eq!(entries.len(), 1);
    let (actor, event) = &entries[0];
    assert_eq!(*actor, Actor::Staff("all".into()));
    assert_eq!((event.action, event.subject.as_str()), (AdminAction::ExportApproved, "export/EXP-1"));
    assert_eq!(event.details, [("requested_by".to_string(), "ads".to_string())]);

    export.now = at(200);
    let exported = d.service.read(&export).unwrap();
    assert!(exported.all_allowed(), "{:?}", exported.subscribers);
    assert_eq!(exported.provisions.len(), 1, "the provision record of the export");
    assert_eq!(d.service.export_requests().unwrap().len(), 1);
}

#[test]
fn an_approval_with_a_failing_ledger_leaves_the_request_unapproved() {
    let d = deploy();
    d.service.request_export(&person("ads"), &ads_request("EXP-1"), at(0)).unwrap();
    d.ledger.fail.store(true, Ordering::SeqCst);
    let err = d.service.approve_export(&person("all"), &eid("EXP-1"), at(100));
    assert!(matches!(err, Err(ActionError::Audit(_))), "{err:?}");
    let stored = d.store.export_request("EXP-1").unwrap().unwrap();
    assert_eq!(stored.approved_by, None, "audit first: no approval without its entry");
}

#[test]
fn the_requester_cannot_approve_their_own_request() {
    let d = deploy();
    let mut own = ads_request("EXP-2");
    own.purpose = PurposeId::parse("support").unwrap();
    own.categories = vec![CategoryId::parse("contract.name").unwrap()];
    own.recipient = None;
    d.service.request_export(&person("all"), &own, at(0)).unwrap();
    let before = size(&d);
    let err = d.service.approve_export(&person("all"), &eid("EXP-2"), at(100)).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "{err}");
    assert!(err.to_string().contains("`all`"), "{err}");
    assert_eq!(size(&d), before, "a refusal leaves no entry");
    assert_eq!(d.store.export_request("EXP-2").unwrap().unwrap().approved_by, None);
}

#[test]
fn a_handler_a_system_or_the_command_line_cannot_approve() {
    let d = deploy();
    d.service.request_export(&person("ads"), &ads_request("EXP-1"), at(0)).unwrap();
    let before = size(&d);
    for (by, why) in [(person("support"), "a handler"), (person("crm"), "a system"), (Acting::Setup("cli"), "setup")] {
        let err = d.service.approve_export(&by, &eid("EXP-1"), at(100)).unwrap_err();
        assert!(matches!(err, ActionError::Forbidden(_)), "{why}: {err}");
    }
    let err = d.service.approve_export(&person("nobody"), &eid("EXP-1"), at(100)).unwrap_err();
    assert!(matches!(err, ActionError::UnknownPrincipal(_)), "{err}");
    d.store.disable_principal("all", at(50)).unwrap();
    let err = d.service.approve_export(&person("all"), &eid("EXP-1"), at(100)).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "a disabled manager: {err}");
    assert_eq!(size(&d), before, "a refusal leaves no entry");
    assert_eq!(d.store.export_request("EXP-1").unwrap().unwrap().approved_by, None);
}

#[test]
fn an_approval_needs_a_request_not_yet_approved_and_in_force() {
    let d = deploy();
    let err = d.service.approve_export(&person("all"), &eid("EXP-9"), at(100)).unwrap_err();
    assert!(matches!(err, ActionError::NotFound(_)), "{err}");
    d.service.request_export(&person("ads"), &ads_request("EXP-1"), at(0)).unwrap();
    d.service.approve_export(&person("all"), &eid("EXP-1"), at(100)).unwrap();
    let before = size(&d);
    let err = d.service.approve_export(&person("all"), &eid("EXP-1"), at(101)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "approved twice: {err}");
    d.service.request_export(&person("ads"), &ads_request("EXP-2"), at(0)).unwrap();
    let lapsed = d.service.approve_export(&person("all"), &eid("EXP-2"), at(8 * 86_400)).unwrap_err();
    assert!(matches!(lapsed, ActionError::Conflict(_)), "lapsed: {lapsed}");
    assert_eq!(size(&d), before + 1, "only the second request was audited");
}

#[test]
fn an_export_request_is_checked_against_the_policy_and_its_limits() {
    let d = deploy();
    d.service.request_export(&person("ads"), &ads_request("EXP-1"), at(0)).unwrap();
    let before = size(&d);
    let refused = |new: NewExport| d.service.request_export(&person("ads"), &new, at(0)).unwrap_err();
    let field = |err: ActionError| match err {
        ActionError::Invalid { field, .. } => field,
        other => panic!("not an invalid field: {other}"),
    };
    let with = |f: &dyn Fn(&mut NewExport)| {
        let mut new = ads_request("EXP-2");
        f(&mut new);
        new
    };
    assert_eq!(field(refused(with(&|n| n.purpose = PurposeId::parse("no_such").unwrap()))), "purpose");
    assert_eq!(field(refused(with(&|n| n.categories = vec![CategoryId::parse("no.such").unwrap()]))), "categories");
    assert_eq!(field(refused(with(&|n| n.categories.clear()))), "categories");
    assert_eq!(field(refused(with(&|n| n.subscribers = Some(Vec::new())))), "subscribers");
    let many: Vec<SubscriberId> = (0..1_001).map(|i| SubscriberId::parse(format!("S-{i}")).unwrap()).collect();
    assert_eq!(field(refused(with(&|n| n.subscribers = Some(many.clone())))), "subscribers");
    assert_eq!(field(refused(with(&|n| n.days = 0))), "days");
    assert_eq!(field(refused(with(&|n| n.days = 91))), "days");
    assert_eq!(field(refused(with(&|n| n.reason = " ".into()))), "reason");
    assert!(matches!(refused(ads_request("EXP-1")), ActionError::Conflict(_)), "an id taken");
    d.store.disable_principal("ads", at(0)).unwrap();
    assert!(matches!(refused(ads_request("EXP-3")), ActionError::Forbidden(_)), "a disabled requester");
    assert_eq!(size(&d), before, "a refusal leaves no entry");
    assert_eq!(d.store.export_requests().unwrap().len(), 1);
    // Every subscriber (a bulk provision) is a request of its own.
    d.service.request_export(&person("all"), &with(&|n| n.subscribers = None), at(0)).unwrap();
}
