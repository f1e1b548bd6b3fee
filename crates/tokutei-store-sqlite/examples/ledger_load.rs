//! Quick ledger measurements (not a benchmark harness): durable appends/s with 1, 8 and 64
//! appenders, verification speed against raw SHA-256 in the same run, and proof latency.
//!
//! `cargo run --release -p tokutei-store-sqlite --example ledger_load -- [SECONDS] [PROOF_TREE_SIZE]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokutei_ledger::tree::CompactRange;
use tokutei_ledger::{StreamVerifier, leaf_hash};
use tokutei_store::conformance::ledger::access;
use tokutei_store::ledger::LedgerStore;
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let proof_size: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("tokutei.sqlite3")).unwrap());
    let ledger = SqliteLedger::open(Arc::clone(&store)).unwrap();

    for appenders in [1usize, 8, 64] {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let started = Instant::now();
        let total: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..appenders)
                .map(|t| {
                    let ledger = &ledger;
                    s.spawn(move || {
                        let mut n = 0u64;
                        while Instant::now() < deadline {
                            ledger.append(&access(t as u64 * 1_000_000 + n)).unwrap();
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        let secs = started.elapsed().as_secs_f64();
        println!(
            "appends: {appenders:>2} appenders: {total} in {secs:.2} s = {:.0} durable appends/s",
            total as f64 / secs
        );
    }

    // Grow the tree to `proof_size` with large batches.
    let size = ledger.tree_size().unwrap();
    let started = Instant::now();
    let mut next = size;
    while next < proof_size {
        let batch: Vec<_> = (next..(next + 10_000).min(proof_size)).map(access).collect();
        next += batch.len() as u64;
        ledger.append_batch(&batch).unwrap();
    }
    let size = ledger.tree_size().unwrap();
    println!("grew the tree to {size} entries in {:.1} s", started.elapsed().as_secs_f64());

    // Verify: stream every entry, recompute leaves and the tree.
    let signer = tokutei_ledger::CheckpointSigner::from_seed("bench", [1; 32]).unwrap();
    let started = Instant::now();
    let mut verifier = StreamVerifier::new(&signer.verifier(), "bench", []).unwrap();
    ledger
        .scan_entries(0, &mut |e| {
            verifier.push(e.index, &e.encoded, Some(&e.leaf_hash)).unwrap();
            Ok(true)
        })
        .unwrap();
    let summary = verifier.finish().unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "verify (SQLite scan + hashing): {} entries, {:.1} MB in {secs:.2} s = {:.0} entries/s, {:.1} MB/s",
        summary.entries,
        summary.bytes as f64 / 1e6,
        summary.entries as f64 / secs,
        summary.bytes as f64 / 1e6 / secs
    );
    // Hashing alone, in memory, over the same entries.
    let mut bodies = Vec::new();
    ledger
        .scan_entries(0, &mut |e| {
            bodies.push(e.encoded);
            Ok(bodies.len() < 200_000)
        })
        .unwrap();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let started = Instant::now();
    let mut range = CompactRange::new();
    for b in &bodies {
        range.push(leaf_hash(b), |_, _| {});
    }
    std::hint::black_box(range.root());
    let secs = started.elapsed().as_secs_f64();
    println!("verify (in-memory leaves + tree): {:.1} MB/s", bytes as f64 / 1e6 / secs);
    let block = vec![0x5au8; 4096];
    let started = Instant::now();
    let mut h = Sha256::new();
    for _ in 0..16_384 {
        h.update(&block);
    }
    std::hint::black_box(h.finalize());
    println!("raw SHA-256: {:.1} MB/s", 64.0 * 1024.0 * 1024.0 / 1e6 / started.elapsed().as_secs_f64());

    // Proof latency at this size.
    let head = ledger.tree_head_at(size).unwrap();
    let started = Instant::now();
    let rounds = 1000u64;
    for i in 0..rounds {
        let index = (i * 7_919_993) % size;
        let proof = ledger.prove_inclusion(index, size).unwrap();
        if i == 0 {
            let leaf = ledger.ledger_entry(index).unwrap().unwrap().leaf_hash;
            tokutei_ledger::tree::verify_inclusion(index, &leaf, &proof, &head).unwrap();
        }
    }
    println!("inclusion proof at {size} entries: {:.1} µs each", started.elapsed().as_secs_f64() * 1e6 / rounds as f64);
    let started = Instant::now();
    for i in 1..=rounds {
        std::hint::black_box(ledger.prove_consistency((i * 999_331) % size + 1, size).unwrap());
    }
    println!(
        "consistency proof at {size} entries: {:.1} µs each",
        started.elapsed().as_secs_f64() * 1e6 / rounds as f64
    );
}
