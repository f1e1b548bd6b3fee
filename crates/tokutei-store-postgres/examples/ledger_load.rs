//! Quick ledger measurements on PostgreSQL (not a benchmark harness): durable appends/s with
//! 1, 8 and 64 appenders on one instance and on two instances sharing the ledger, then a
//! full verification. Runs in a database created for it and dropped afterwards.
//!
//! `cargo run --release -p tokutei-store-postgres --example ledger_load -- [SECONDS] [CONNINFO]`
//! (CONNINFO in `key=value` form; default `host=127.0.0.1 port=5432 user=postgres dbname=test`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use tokutei_ledger::StreamVerifier;
use tokutei_store::conformance::ledger::access;
use tokutei_store::ledger::LedgerStore;
use tokutei_store_postgres::{PgLedger, PgStore};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let admin = args.next().unwrap_or_else(|| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_string());
    let name = format!("tokutei_ledger_load_{}", std::process::id());
    let mut client = Client::connect(&admin, NoTls).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let result = std::panic::catch_unwind(|| run(&format!("{admin} dbname={name}"), seconds));
    client.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn run(url: &str, seconds: f64) {
    let instances = [
        PgLedger::open(Arc::new(PgStore::connect(url).unwrap())).unwrap(),
        PgLedger::open(Arc::new(PgStore::connect(url).unwrap())).unwrap(),
    ];
    let mut n = 0u64;
    for (label, used) in [("one instance", 1usize), ("two instances", 2)] {
        for appenders in [1u64, 8, 64] {
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let started = Instant::now();
            let total: u64 = std::thread::scope(|s| {
                let handles: Vec<_> = (0..appenders)
                    .map(|t| {
                        let ledger = &instances[t as usize % used];
                        s.spawn(move || {
                            let mut k = 0u64;
                            while Instant::now() < deadline {
                                ledger.append(&access(n + t * 1_000_000 + k)).unwrap();
                                k += 1;
                            }
                            k
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            n += 100_000_000;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "appends, {label}, {appenders:>2} appenders: {total} in {secs:.2} s = {:.0} durable appends/s",
                total as f64 / secs
            );
        }
    }

    let size = instances[0].tree_size().unwrap();
    let signer = tokutei_ledger::CheckpointSigner::from_seed("load", [1; 32]).unwrap();
    let started = Instant::now();
    let mut verifier = StreamVerifier::new(&signer.verifier(), "load", []).unwrap();
    instances[1]
        .scan_entries(0, &mut |e| {
            verifier.push(e.index, &e.encoded, Some(&e.leaf_hash)).unwrap();
            Ok(true)
        })
        .unwrap();
    let summary = verifier.finish().unwrap();
    assert_eq!(summary.head, instances[0].tree_head_at(size).unwrap());
    println!(
        "verify: {} entries, {:.1} MB in {:.2} s; the root matches the stored tree",
        summary.entries,
        summary.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}
