//! The import benchmark (issue 4): synthetic subscribers through the real import path (parse,
//! validate, encrypt, blind-index, store) against a raw SQLite insert of the same rows without
//! encryption, in one run. `TOKUTEI_BENCH_SUBSCRIBERS` sets the size (default 300: then it is a
//! check that the generator's rows import and the baseline stores the same values).
//!
//! `TOKUTEI_BENCH_SUBSCRIBERS=100000 CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo test -p tokutei-app --test synth bench_import -- --nocapture`

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use tokutei_app::import::ImportTarget;
use tokutei_app::keyring::{KeyFiles, Keyring};
use tokutei_app::synth::{SynthReader, populate};
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Runs small by default (a check that the vault import and the raw baseline store the
/// same values); `TOKUTEI_BENCH_SUBSCRIBERS=100000` turns it into the measurement.
#[test]
fn bench_import() {
    let n: u64 = std::env::var("TOKUTEI_BENCH_SUBSCRIBERS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&tmp.path().join("t.sqlite3")).unwrap());
    let source = include_str!("../../tokutei/tests/it/fixtures/vault-policy.toml");
    let policy = tokutei_policy::parse(source).unwrap();
    store
        .publish_policy(NewPolicyVersion {
            digest: tokutei_policy::PolicyDigest::of(&policy),
            source: source.to_string(),
            effective: policy.effective_date(),
            published_by: "bench".into(),
            published_at: jiff::Timestamp::now(),
        })
        .unwrap();
    let keyring = Keyring::open_or_create(KeyFiles::in_dir(tmp.path().join("keys"))).unwrap();
    let ledger = SqliteLedger::open(Arc::clone(&store)).unwrap();
    let target = ImportTarget {
        store: store.as_ref(),
        ledger: &ledger,
        keys: &keyring,
        actor: tokutei_ledger::Actor::System("bench".into()),
    };

    let started = Instant::now();
    let summary = populate(&target, &policy, 1, n, 42, &mut |_| {}).unwrap();
    let vault_secs = started.elapsed().as_secs_f64();
    let rss_after_vault = peak_rss_kib();

    // Baseline: the same generated rows, parsed, inserted in plaintext into plain tables,
    // same batch size and pragmas, no encryption, no blind index, no validation.
    let raw = rusqlite::Connection::open(tmp.path().join("raw.sqlite3")).unwrap();
    raw.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE subscribers (id TEXT PRIMARY KEY, service TEXT, state TEXT, started_on TEXT) WITHOUT ROWID;
         CREATE TABLE vals (subscriber TEXT, category TEXT, version INTEGER, value BLOB, method TEXT,
             collected_at TEXT, collected_by TEXT, PRIMARY KEY (subscriber, category, version)) WITHOUT ROWID;",
    )
    .unwrap();
    let started = Instant::now();
    let mut reader = csv::Reader::from_reader(SynthReader::new(&policy, 1, n, 42));
    let headers = reader.byte_headers().unwrap().clone();
    let mut raw = raw;
    let mut tx = raw.transaction().unwrap();
    let (mut rows, mut values) = (0u64, 0u64);
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).unwrap() {
        let s = |i: usize| std::str::from_utf8(&record[i]).unwrap();
        tx.prepare_cached("INSERT INTO subscribers VALUES (?1, ?2, ?3, ?4)")
            .unwrap()
            .execute([s(0), s(1), s(2), s(3)])
            .unwrap();
        let mut insert = tx.prepare_cached("INSERT INTO vals VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)").unwrap();
        for i in 11..record.len() {
            if !record[i].is_empty() {
                let category = std::str::from_utf8(&headers[i]).unwrap();
                insert.execute(rusqlite::params![s(0), category, &record[i], s(6), s(8), s(9)]).unwrap();
                values += 1;
            }
        }
        drop(insert);
        rows += 1;
        if rows % tokutei_app::import::BATCH_SUBSCRIBERS as u64 == 0 {
            tx.commit().unwrap();
            tx = raw.transaction().unwrap();
        }
    }
    tx.commit().unwrap();
    let raw_secs = started.elapsed().as_secs_f64();
    let mut sink = Vec::new();
    SynthReader::new(&policy, 1, 3, 42).read_to_end(&mut sink).unwrap();

    assert_eq!(values, summary.values);
    let vault_rate = summary.values as f64 / vault_secs;
    let raw_rate = values as f64 / raw_secs;
    println!(
        "subscribers={n} values={values}\n\
         vault import (validate + encrypt + blind index + store): {vault_secs:.1}s, {:.0} subscribers/s, {vault_rate:.0} values/s\n\
         raw sqlite insert (plaintext, no validation):            {raw_secs:.1}s, {:.0} subscribers/s, {raw_rate:.0} values/s\n\
         vault/raw = {:.0}%\n\
         extrapolated 10M subscribers: vault {:.1} min, raw {:.1} min\n\
         peak RSS after vault import: {} MiB, at end: {} MiB",
        n as f64 / vault_secs,
        n as f64 / raw_secs,
        100.0 * vault_rate / raw_rate,
        vault_secs * 10_000_000.0 / n as f64 / 60.0,
        raw_secs * 10_000_000.0 / n as f64 / 60.0,
        rss_after_vault / 1024,
        peak_rss_kib() / 1024,
    );
}
