//! The checkpoint rules on real ledgers: a checkpoint is signed only when the ledger grew, a
//! note is trusted only when this ledger's key signed it for this origin, a ledger cut short
//! or rewritten does not extend a trusted checkpoint, and proofs check against a signed note
//! with no database. `portal` runs the subscriber's own page on a real deployment.

#[path = "checkpoints/portal.rs"]
mod portal;
mod support;

use std::sync::Arc;

use jiff::Timestamp;
use tokutei_app::checkpoints::{CheckpointError, Checkpoints, check_proof};
use tokutei_app::ledger_load::synthetic_entry;
use tokutei_ledger::{CheckpointSigner, Proof};
use tokutei_store::ledger::LedgerStore;
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

fn ledger(dir: &tempfile::TempDir, name: &str, entries: u64, salt: usize) -> Arc<dyn LedgerStore> {
    let store = Arc::new(SqliteStore::open(&dir.path().join(name)).unwrap());
    let ledger = SqliteLedger::open(store).unwrap();
    for n in 0..entries {
        ledger.append(&synthetic_entry(salt, n)).unwrap();
    }
    Arc::new(ledger)
}

fn signer(origin: &str) -> CheckpointSigner {
    CheckpointSigner::from_seed(origin, [7; 32]).unwrap()
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_780_272_000 + second).unwrap()
}

#[test]
fn a_checkpoint_is_signed_once_per_size_and_trusted_only_from_this_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let main = Checkpoints::new(ledger(&dir, "a.sqlite3", 5, 0), signer("tokutei.local/a"));
    let first = main.latest(at(1)).unwrap();
    assert_eq!(first.size, 5);
    assert_eq!(main.latest(at(2)).unwrap().id, first.id, "not grown: the same checkpoint");
    main.ledger().append(&synthetic_entry(0, 5)).unwrap();
    let second = main.latest(at(3)).unwrap();
    assert_eq!((second.size, second.id > first.id), (6, true));

    assert_eq!(main.trusted(&second.note).unwrap().size, 6);
    let other_key =
        Checkpoints::new(ledger(&dir, "b.sqlite3", 1, 0), CheckpointSigner::from_seed("x", [8; 32]).unwrap());
    let foreign = other_key.latest(at(4)).unwrap();
    assert!(matches!(main.trusted(&foreign.note), Err(CheckpointError::NotSigned { .. })));
    // The same key for another log's origin.
    let other_origin = Checkpoints::new(ledger(&dir, "c.sqlite3", 1, 0), signer("tokutei.local/c"));
    let note = other_origin.latest(at(5)).unwrap().note;
    let same_key = Checkpoints::new(ledger(&dir, "d.sqlite3", 0, 0), signer("tokutei.local/c"));
    assert_eq!(same_key.trusted(&note).unwrap().origin, "tokutei.local/c");
    assert!(matches!(main.trusted(&note), Err(CheckpointError::NotSigned { .. } | CheckpointError::OtherLog { .. })));
}

#[test]
fn a_ledger_cut_short_or_rewritten_does_not_extend_a_trusted_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let origin = "tokutei.local/x";
    let long = Checkpoints::new(ledger(&dir, "long.sqlite3", 8, 0), signer(origin));
    let signed = long.trusted(&long.latest(at(1)).unwrap().note).unwrap();
    long.check_extends(&signed).unwrap();
    let cut = Checkpoints::new(ledger(&dir, "cut.sqlite3", 5, 0), signer(origin));
    assert!(matches!(cut.check_extends(&signed), Err(CheckpointError::Truncated { size: 5, signed: 8 })));
    let forked = Checkpoints::new(ledger(&dir, "forked.sqlite3", 9, 1), signer(origin));
    assert!(matches!(forked.check_extends(&signed), Err(CheckpointError::Forked { size: 8 })));
}

#[test]
fn an_inclusion_proof_checks_against_the_signed_note_and_a_changed_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let log = Checkpoints::new(ledger(&dir, "p.sqlite3", 7, 0), signer("tokutei.local/p"));
    let cp = log.latest(at(1)).unwrap();
    let stored = log.ledger().ledger_entry(3).unwrap().unwrap();
    let proof = Proof::Inclusion {
        origin: log.origin().into(),
        index: 3,
        tree_size: 7,
        leaf_hash: stored.leaf_hash,
        entry: None,
        hashes: log.ledger().prove_inclusion(3, 7).unwrap(),
        root: log.ledger().tree_head_at(7).unwrap().root,
        checkpoint: None,
    };
    let ok = check_proof(&proof, &cp.note, &log.verifier());
    assert!(ok.ok, "{}", ok.message);
    let mut wrong = proof;
    if let Proof::Inclusion { index, .. } = &mut wrong {
        *index += 1;
    }
    let failed = check_proof(&wrong, &cp.note, &log.verifier());
    assert!(!failed.ok && failed.kind == "inclusion", "{}", failed.message);
    let other = CheckpointSigner::from_seed("tokutei.local/p", [9; 32]).unwrap().verifier();
    assert_eq!(check_proof(&wrong, &cp.note, &other).kind, "checkpoint");
}
