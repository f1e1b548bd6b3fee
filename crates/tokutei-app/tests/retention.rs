//! Retention on a real store and ledger: the plan writes nothing; the purge audits each page
//! (`retention_purge`) before destroying it, every purge record names its entry, a failing
//! ledger destroys nothing, and only a manager or the system running it may purge.

mod support;

use std::sync::atomic::Ordering;

use support::{SUBSCRIBERS, at, deploy};
use tokutei_app::{Acting, ActionError};
use tokutei_ledger::{Actor, AdminAction, Event};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::vault::VaultStore;

/// Every stored value version of the test subscribers.
fn versions(d: &support::Deployed) -> usize {
    SUBSCRIBERS.iter().map(|s| d.store.value_versions(s).unwrap().len()).sum()
}

#[test]
fn retention_purge_audits_each_page_before_destroying_it() {
    let d = deploy();
    let now = at(3600);
    let plan = d.service.plan_retention(now).unwrap();
    assert!(plan.dry_run);
    assert!(plan.total > 0, "the terminated subscriber has values no continuing purpose keeps");
    let stored = versions(&d);
    let before = d.ledger.tree_size().unwrap();
    assert_eq!(d.service.plan_retention(now).unwrap().total, plan.total, "a plan destroys nothing");
    assert_eq!(d.ledger.tree_size().unwrap(), before, "and writes nothing");

    // A failing ledger destroys nothing.
    d.ledger.fail.store(true, Ordering::SeqCst);
    let err = d.service.purge_expired(&Acting::Setup("cli"), now).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert_eq!(versions(&d), stored, "audit first: nothing destroyed without its entry");
    assert!(d.store.purge_records(None, 100).unwrap().is_empty());

    // Only a manager, or the system that runs it.
    d.ledger.fail.store(false, Ordering::SeqCst);
    let err = d.service.purge_expired(&Acting::Person("support".into()), now).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "{err}");
    assert_eq!(versions(&d), stored);

    let purged = d.service.purge_expired(&Acting::Setup("cli"), now).unwrap();
    assert_eq!(purged.total, plan.total);
    assert_eq!(versions(&d) as u64, stored as u64 - plan.total);
    let mut pages = std::collections::BTreeMap::new();
    d.ledger
        .scan_entries(before, &mut |e| {
            let entry = e.decode().unwrap();
            if let Event::Admin(event) = entry.event {
                assert_eq!(event.action, AdminAction::RetentionPurge);
                assert_eq!(entry.actor, Actor::System("cli".into()));
                assert_eq!(event.subject, format!("retention/policy-v{}", purged.policy_version));
                let values = event.details.iter().find(|(k, _)| k == "values").unwrap().1.parse::<u64>().unwrap();
                pages.insert(e.index, values);
            }
            Ok(true)
        })
        .unwrap();
    assert_eq!(pages.values().sum::<u64>(), plan.total, "the entries count every value destroyed");
    let records = d.store.purge_records(None, 1000).unwrap();
    assert_eq!(records.len() as u64, plan.total);
    for r in &records {
        let index = r.audit_index.expect("every purge record names its entry");
        assert!(pages.contains_key(&index), "purge record {} names entry {index}, a purge page", r.id);
    }
    assert_eq!(d.service.plan_retention(now).unwrap().total, 0, "nothing left to purge");
}
