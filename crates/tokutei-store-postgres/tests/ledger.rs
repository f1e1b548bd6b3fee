//! The audit ledger on PostgreSQL, each test in a fresh database: the ledger conformance
//! suite, several instances appending to one ledger at once (contiguous unique indexes, a
//! tree that verifies from scratch), entries that cannot be encoded, concurrent checkpoints,
//! and a sequencer whose connection the server ended.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{TestDb, admin_url};
use postgres::{Client, NoTls};
use tokutei_ledger::entry::{AccessEvent, Action, Actor, RequestMeta};
use tokutei_ledger::{Checkpoint, CheckpointSigner, Decision, Entry, StreamVerifier, leaf_hash};
use tokutei_store::StoreError;
use tokutei_store::conformance::ledger::access;
use tokutei_store::ledger::{Appended, LedgerStore};
use tokutei_store_postgres::PgLedger;

const ORIGIN: &str = "tokutei.test/ledger";

fn ledger(db: &TestDb) -> PgLedger {
    PgLedger::open(Arc::new(db.store())).unwrap()
}

/// An access entry whose purpose is too long for the canonical encoding.
fn unencodable() -> Entry {
    Entry::access(
        jiff::Timestamp::from_second(1_750_000_000).unwrap(),
        Actor::Staff("s0".into()),
        AccessEvent {
            action: Action::Read,
            purpose: "p".repeat(70_000),
            subscribers: vec!["sub0".into()],
            categories: vec!["contract".into()],
            decision: Decision::Allow,
            reasons: vec![],
            rules: vec![],
            policy_digest: [1; 32],
            request: RequestMeta { channel: "web".into(), zone: "z1".into(), client: "c1".into() },
        },
    )
}

#[test]
fn conformance_ledger() {
    let db = TestDb::new();
    tokutei_store::conformance::ledger::run(&ledger(&db));
}

#[test]
fn two_instances_append_to_one_ledger() {
    const THREADS: u64 = 8;
    const SINGLES: u64 = 25;
    const BATCH: u64 = 7;
    let db = TestDb::new();
    // Two stores, two sequencers: two instances of tokutei on one database.
    let instances = [ledger(&db), ledger(&db)];

    let appended: Vec<(Appended, Entry)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2 * THREADS)
            .map(|t| {
                let ledger = &instances[(t % 2) as usize];
                s.spawn(move || {
                    let base = t * 1_000;
                    let mut out = Vec::new();
                    for i in 0..SINGLES {
                        let entry = access(base + i);
                        out.push((ledger.append(&entry).unwrap(), entry));
                        if i == SINGLES / 2 {
                            let batch: Vec<Entry> = (0..BATCH).map(|j| access(base + 500 + j)).collect();
                            let got = ledger.append_batch(&batch).unwrap();
                            let first = got[0].index;
                            for (k, (a, e)) in got.into_iter().zip(batch).enumerate() {
                                assert_eq!(a.index, first + k as u64, "a batch is contiguous");
                                out.push((a, e));
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });

    let n = 2 * THREADS * (SINGLES + BATCH);
    assert_eq!(appended.len() as u64, n);
    let by_index: BTreeMap<u64, &(Appended, Entry)> = appended.iter().map(|a| (a.0.index, a)).collect();
    assert_eq!(by_index.len() as u64, n, "no index was handed out twice");
    assert!(by_index.keys().copied().eq(0..n), "indexes are exactly 0..{n}");
    for ledger in &instances {
        assert_eq!(ledger.tree_size().unwrap(), n);
    }

    // Every entry is stored at the index its append returned, as its canonical encoding.
    for (a, entry) in &appended {
        let stored = instances[1].ledger_entry(a.index).unwrap().unwrap();
        assert_eq!(stored.encoded, entry.encode(a.index).unwrap(), "entry {}", a.index);
        assert_eq!(stored.leaf_hash, a.leaf_hash);
        assert_eq!(a.leaf_hash, leaf_hash(&stored.encoded));
    }

    // A signed checkpoint, then a full verification from scratch: every leaf recomputed, the
    // tree rebuilt, the checkpoint checked on the way.
    let signer = CheckpointSigner::from_seed("test", [7; 32]).unwrap();
    let head = instances[0].tree_head_at(n).unwrap();
    let note = signer.sign(&Checkpoint::new(ORIGIN, head, None));
    let checkpoint = instances[1].add_checkpoint(n, &note, jiff::Timestamp::now()).unwrap();
    let mut verifier =
        StreamVerifier::new(&signer.verifier(), ORIGIN, [(checkpoint.id, checkpoint.note.as_str())]).unwrap();
    let mut scanned = 0u64;
    instances[1]
        .scan_entries(0, &mut |e| {
            assert_eq!(e.index, scanned, "the scan has no gap");
            scanned += 1;
            verifier.push(e.index, &e.encoded, Some(&e.leaf_hash)).unwrap();
            Ok(true)
        })
        .unwrap();
    let summary = verifier.finish().unwrap();
    assert_eq!((summary.entries, summary.checkpoints), (n, 1));
    assert_eq!(summary.head, head);
    assert_eq!(instances[1].tree_head_at(n).unwrap(), head);

    // Proofs drawn from either instance verify against the same head.
    for index in [0, 1, n / 3, n - 1] {
        let proof = instances[index as usize % 2].prove_inclusion(index, n).unwrap();
        tokutei_ledger::tree::verify_inclusion(index, &by_index[&index].0.leaf_hash, &proof, &head).unwrap();
    }
    let old = instances[0].tree_head_at(n / 2).unwrap();
    let proof = instances[1].prove_consistency(n / 2, n).unwrap();
    tokutei_ledger::tree::verify_consistency(&old, &head, &proof).unwrap();
}

#[test]
fn an_entry_that_cannot_be_encoded_takes_no_index() {
    let db = TestDb::new();
    let ledger = ledger(&db);
    assert_eq!(ledger.append(&access(0)).unwrap().index, 0);
    match ledger.append_batch(&[access(1), unencodable(), access(2)]) {
        Err(StoreError::Conflict(message)) => assert!(message.contains("cannot be encoded"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(ledger.append(&unencodable()), Err(StoreError::Conflict(_))));
    assert_eq!(ledger.tree_size().unwrap(), 1, "the whole batch was refused");
    assert_eq!(ledger.append(&access(1)).unwrap().index, 1);

    // Refused jobs in the middle of other appenders' group commits leave no gap either.
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let ledger = &ledger;
            s.spawn(move || {
                for i in 0..20 {
                    if (t + i) % 5 == 0 {
                        assert!(ledger.append_batch(&[access(i), unencodable()]).is_err());
                    } else {
                        ledger.append(&access(100 * t + i)).unwrap();
                    }
                }
            });
        }
    });
    assert_eq!(ledger.tree_size().unwrap(), 2 + 4 * 16);
    let mut next = 0;
    ledger
        .scan_entries(0, &mut |e| {
            assert_eq!(e.index, next);
            assert_eq!(Entry::decode(&e.encoded).unwrap().0, next);
            next += 1;
            Ok(true)
        })
        .unwrap();
    assert_eq!(next, 2 + 4 * 16);
}

#[test]
fn instances_storing_checkpoints_at_once_keep_their_order() {
    let db = TestDb::new();
    let instances = [ledger(&db), ledger(&db)];
    let batch: Vec<Entry> = (0..10).map(access).collect();
    instances[0].append_batch(&batch).unwrap();

    std::thread::scope(|s| {
        for t in 0..8usize {
            let ledger = &instances[t % 2];
            s.spawn(move || {
                for i in 0..5 {
                    let note = format!("note {t} {i}\n");
                    ledger.add_checkpoint(10, &note, jiff::Timestamp::now()).unwrap();
                }
            });
        }
    });
    let stored = instances[1].checkpoints().unwrap();
    assert_eq!(stored.len(), 40);
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(instances[0].latest_checkpoint().unwrap().as_ref(), stored.last());

    // A checkpoint of a smaller tree than the latest stored one would make sizes go back.
    match instances[0].add_checkpoint(5, "late\n", jiff::Timestamp::now()) {
        Err(StoreError::Conflict(message)) => assert!(message.contains("tree size 10"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(instances[1].checkpoints().unwrap().len(), 40);
    assert!(instances[0].add_checkpoint(10, "same size\n", jiff::Timestamp::now()).is_ok());
}

#[test]
fn the_sequencer_reconnects_after_the_server_ends_its_connection() {
    let db = TestDb::new();
    let ledger = ledger(&db);
    assert_eq!(ledger.append(&access(0)).unwrap().index, 0);
    let mut admin = Client::connect(&admin_url(), NoTls).unwrap();
    let killed: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1) t",
            &[&db.name],
        )
        .unwrap()
        .get(0);
    assert!(killed >= 1);
    assert_eq!(ledger.append(&access(1)).unwrap().index, 1);
    assert_eq!(ledger.tree_size().unwrap(), 2);
    let mut reference = tokutei_ledger::tree::MemoryTree::new();
    for i in 0..2 {
        reference.push(ledger.ledger_entry(i).unwrap().unwrap().leaf_hash);
    }
    assert_eq!(ledger.tree_head_at(2).unwrap(), reference.head());
}
