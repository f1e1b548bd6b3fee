//! Quick vault measurements on PostgreSQL (not a benchmark harness): import throughput in
//! batches, and the latency of the gateway's two reads per request (`freshness`,
//! `access_facts`). Runs in a database created for it and dropped afterwards.
//!
//! `cargo run --release -p tokutei-store-postgres --example import_load -- [SUBSCRIBERS] [CONNINFO]`
//! (CONNINFO in `key=value` form; default `host=127.0.0.1 port=5432 user=postgres dbname=test`).

use std::time::Instant;

use postgres::{Client, NoTls};
use tokutei_policy::AcquisitionMethod;
use tokutei_store::FreshnessStore;
use tokutei_store::consent::ConsentStore;
use tokutei_store::vault::{
    Contract, ContractState, ImportBatch, NewSubscriber, NewValue, Provenance, Sealed, Source, VaultStore,
    WrappedDataKey,
};
use tokutei_store_postgres::PgStore;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let admin = args.next().unwrap_or_else(|| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_string());
    let name = format!("tokutei_load_{}", std::process::id());
    let mut client = Client::connect(&admin, NoTls).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let result = std::panic::catch_unwind(|| run(&format!("{admin} dbname={name}"), count));
    client.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn run(url: &str, count: usize) {
    let store = PgStore::connect(url).unwrap();
    let at = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    let started = Instant::now();
    for (n, chunk) in (0..count).collect::<Vec<_>>().chunks(1_000).enumerate() {
        let subscribers: Vec<NewSubscriber> = chunk
            .iter()
            .map(|i| NewSubscriber {
                id: format!("S{i:08}"),
                service: "fiber".into(),
                contract: Contract {
                    state: ContractState::Active,
                    started_on: "2024-04-01".parse().unwrap(),
                    suspended_on: None,
                    terminated_on: None,
                },
                key: WrappedDataKey { kek_id: "kek-1".into(), bytes: vec![7; 60] },
            })
            .collect();
        let values: Vec<NewValue> = subscribers
            .iter()
            .flat_map(|s| {
                ["contract.name", "contract.address", "contract.phone"].map(|category| NewValue {
                    subscriber: s.id.clone(),
                    category: category.into(),
                    version: 1,
                    sealed: Sealed::Inline(vec![1; 48]),
                    provenance: Provenance {
                        method: AcquisitionMethod::Written,
                        source: Source::Direct,
                        collected_at: at,
                        collected_by: "load".into(),
                        notice_version: 1,
                    },
                    valid_from: at,
                    supersedes: false,
                    blind_index: (category == "contract.phone").then_some([3; 32]),
                })
            })
            .collect();
        let batch = ImportBatch {
            source_key: format!("load:{n}"),
            rows: subscribers.len() as u64,
            subscribers,
            values,
            imported_at: at,
            audit_index: None,
        };
        store.import_batch(&batch).unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "import: {count} subscribers, 3 values each, in {elapsed:.2?} ({:.0}/s)",
        count as f64 / elapsed.as_secs_f64()
    );

    let today = "2026-01-01".parse().unwrap();
    let reads = 5_000;
    let started = Instant::now();
    for i in 0..reads {
        store.freshness(today).unwrap();
        store.access_facts(&format!("S{:08}", i * 7 % count), "marketing").unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    println!("freshness + access_facts: {:.1?} per request ({reads} requests)", elapsed / reads as u32);
}
