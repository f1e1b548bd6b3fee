//! Conformance for [`LedgerStore`]: contiguous durable appends (also from many threads),
//! stored nodes that reproduce the reference tree, proofs that verify, checkpoints, scans and
//! indexed queries.

use std::collections::BTreeSet;

use jiff::Timestamp;
use tokutei_ledger::entry::{AccessEvent, Action, Actor, AdminAction, AdminEvent, RequestMeta};
use tokutei_ledger::tree::{self, MemoryTree, TreeHead};
use tokutei_ledger::{Decision, Entry, leaf_hash};

use crate::StoreError;
use crate::ledger::{LedgerQuery, LedgerStore, StoredEntry};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + second).unwrap()
}

/// An access entry for tests: staff `s{n % 3}`, purpose `p{n % 2}`, subscriber `sub{n % 5}`,
/// denied when `n % 4 == 3`, at second `n`.
pub fn access(n: u64) -> Entry {
    Entry::access(
        at(n as i64),
        Actor::Staff(format!("s{}", n % 3)),
        AccessEvent {
            action: Action::Read,
            purpose: format!("p{}", n % 2),
            subscribers: vec![format!("sub{}", n % 5)],
            categories: vec!["contract".into()],
            decision: if n % 4 == 3 { Decision::Deny } else { Decision::Allow },
            reasons: vec![],
            rules: vec!["r1".into()],
            policy_digest: [1; 32],
            request: RequestMeta { channel: "web".into(), zone: "z1".into(), client: "c1".into() },
        },
    )
}

fn admin(n: u64) -> Entry {
    Entry::admin(
        at(n as i64),
        Actor::System("tokutei".into()),
        AdminEvent {
            action: AdminAction::PolicyPublished,
            subject: format!("v{n}"),
            digest: Some([2; 32]),
            details: vec![],
        },
    )
}

fn collect(store: &impl LedgerStore, query: &LedgerQuery) -> Vec<u64> {
    let mut out = Vec::new();
    store
        .query_entries(query, &mut |e: StoredEntry| {
            out.push(e.index);
            Ok(true)
        })
        .unwrap();
    out
}

/// Runs every ledger check against `store`, which must be empty.
pub fn run(store: &impl LedgerStore) {
    assert_eq!(store.tree_size().unwrap(), 0);
    assert_eq!(store.tree_head_at(0).unwrap().root, tokutei_ledger::hash::empty_root());
    assert!(store.latest_checkpoint().unwrap().is_none());
    assert!(store.ledger_entry(0).unwrap().is_none());

    let mut reference = MemoryTree::new();
    let mut entries = Vec::new();

    // Single appends get 0, 1, 2… and the leaf hash of the canonical encoding.
    for n in 0..5 {
        let e = if n == 2 { admin(n) } else { access(n) };
        let a = store.append(&e).unwrap();
        assert_eq!(a.index, n);
        assert_eq!(a.leaf_hash, leaf_hash(&e.encode(n).unwrap()));
        reference.push(a.leaf_hash);
        entries.push(e);
    }
    // A batch is contiguous.
    let batch: Vec<Entry> = (5..40).map(access).collect();
    let appended = store.append_batch(&batch).unwrap();
    assert_eq!(appended.iter().map(|a| a.index).collect::<Vec<_>>(), (5..40).collect::<Vec<_>>());
    for a in &appended {
        reference.push(a.leaf_hash);
    }
    entries.extend(batch);

    // Concurrent appenders get distinct, contiguous indexes.
    let got: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u64)
            .map(|t| {
                s.spawn(move || {
                    (0..10u64).map(|i| store.append(&access(40 + t * 10 + i)).unwrap().index).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let set: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(set, (40..120).collect::<BTreeSet<_>>());
    let size = store.tree_size().unwrap();
    assert_eq!(size, 120);
    for i in 40..120 {
        let stored = store.ledger_entry(i).unwrap().unwrap();
        assert_eq!(stored.leaf_hash, leaf_hash(&stored.encoded));
        reference.push(stored.leaf_hash);
        entries.push(stored.decode().unwrap());
    }

    // Stored nodes reproduce the reference tree at every size; proofs verify.
    for s in [0, 1, 2, 3, 7, 8, 64, 65, 119, 120] {
        let head = store.tree_head_at(s).unwrap();
        assert_eq!(head, tree::tree_head(&reference, s).unwrap(), "tree head at {s}");
    }
    let head = store.tree_head_at(size).unwrap();
    for index in [0, 1, 63, 64, 100, 119] {
        let proof = store.prove_inclusion(index, size).unwrap();
        let leaf = store.ledger_entry(index).unwrap().unwrap().leaf_hash;
        tree::verify_inclusion(index, &leaf, &proof, &head).unwrap();
    }
    for old in [1, 5, 64, 100, 120] {
        let proof = store.prove_consistency(old, size).unwrap();
        let old_head: TreeHead = store.tree_head_at(old).unwrap();
        tree::verify_consistency(&old_head, &head, &proof).unwrap();
    }
    assert!(store.prove_inclusion(120, 120).is_err());
    assert!(store.prove_inclusion(0, 121).is_err());
    assert!(store.tree_head_at(121).is_err());

    // Scans return every entry as stored, in order, and can stop early.
    let mut scanned = Vec::new();
    store
        .scan_entries(0, &mut |e| {
            scanned.push(e);
            Ok(true)
        })
        .unwrap();
    assert_eq!(scanned.len(), 120);
    for (i, e) in scanned.iter().enumerate() {
        assert_eq!(e.index, i as u64);
        let (seq, decoded) = Entry::decode(&e.encoded).unwrap();
        assert_eq!(seq, i as u64);
        assert_eq!(decoded, entries[i]);
    }
    let mut few = 0;
    store
        .scan_entries(110, &mut |_| {
            few += 1;
            Ok(few < 3)
        })
        .unwrap();
    assert_eq!(few, 3);

    // Queries use each filter and combine them.
    let expect = |f: &dyn Fn(u64, &Entry) -> bool| -> Vec<u64> {
        entries.iter().enumerate().filter(|(i, e)| f(*i as u64, e)).map(|(i, _)| i as u64).collect()
    };
    let q = |staff: Option<&str>, sub: Option<&str>, purpose: Option<&str>, decision| LedgerQuery {
        staff: staff.map(Into::into),
        subscriber: sub.map(Into::into),
        purpose: purpose.map(Into::into),
        decision,
        ..LedgerQuery::default()
    };
    assert_eq!(collect(store, &q(Some("s1"), None, None, None)), expect(&|_, e| e.staff() == Some("s1")));
    assert_eq!(
        collect(store, &q(None, Some("sub3"), None, None)),
        expect(&|_, e| e.subscribers().iter().any(|s| s == "sub3"))
    );
    assert_eq!(
        collect(store, &q(Some("s2"), Some("sub4"), Some("p0"), Some(Decision::Allow))),
        expect(&|_, e| e.staff() == Some("s2")
            && e.subscribers().iter().any(|s| s == "sub4")
            && e.purpose() == Some("p0")
            && e.decision() == Some(Decision::Allow))
    );
    assert_eq!(
        collect(store, &q(None, None, None, Some(Decision::Deny))),
        expect(&|_, e| e.decision() == Some(Decision::Deny))
    );
    let window = LedgerQuery { since: Some(at(10)), until: Some(at(20)), ..LedgerQuery::default() };
    assert_eq!(collect(store, &window), expect(&|_, e| e.time >= at(10) && e.time < at(20)));
    let page = LedgerQuery { staff: Some("s0".into()), from_index: Some(30), limit: Some(4), ..LedgerQuery::default() };
    assert_eq!(
        collect(store, &page),
        expect(&|i, e| i >= 30 && e.staff() == Some("s0")).into_iter().take(4).collect::<Vec<_>>()
    );
    assert!(collect(store, &q(Some("nobody"), None, None, None)).is_empty());

    // Checkpoints are kept in order; the latest is the last written.
    let c1 = store.add_checkpoint(5, "note one\n", at(1000)).unwrap();
    let c2 = store.add_checkpoint(120, "note two\n", at(1001)).unwrap();
    assert!(c2.id > c1.id);
    assert_eq!(store.checkpoints().unwrap(), vec![c1.clone(), c2.clone()]);
    assert_eq!(store.latest_checkpoint().unwrap(), Some(c2.clone()));
    // Checkpoints never go backwards (two signers racing must not store a smaller tree last).
    assert!(matches!(store.add_checkpoint(119, "older\n", at(1002)), Err(StoreError::Conflict(_))));
    assert_eq!(store.checkpoints().unwrap(), vec![c1, c2.clone()]);
    let same = store.add_checkpoint(120, "same size, later\n", at(1003)).unwrap();
    assert!(same.id > c2.id);
    // The newest first, as many as asked for.
    assert_eq!(store.recent_checkpoints(2).unwrap(), vec![same.clone(), c2.clone()]);
    assert_eq!(store.recent_checkpoints(10).unwrap().len(), 3);
    assert!(store.recent_checkpoints(0).unwrap().is_empty());
}
