//! The rows of the table. Each builds what it needs, runs its two sides in alternation and
//! returns one or more results.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokutei_access::AccessCall;
use tokutei_gateway::{
    AccessRequest, Consent, ConsentChoice, Contract, DataRange, Deployment, Gateway, Principal, PrincipalKind,
    SubscriberFacts, TrainingRecord,
};
use tokutei_ledger::Action;
use tokutei_store::ledger::LedgerStore;

use crate::fixture::{self, CATEGORIES};
use crate::harness::{Better, Result, Settings, alternate, quantile};

pub struct Row {
    pub name: &'static str,
    pub run: fn(&Settings) -> anyhow::Result<Vec<Result>>,
}

pub fn all() -> Vec<Row> {
    vec![
        Row { name: "decision", run: decision },
        Row { name: "audited-read", run: audited_read },
        Row { name: "audit-append", run: audit_append },
        Row { name: "field-encryption", run: field_encryption },
        Row { name: "ledger-verify-proofs", run: ledger_verify_and_proofs },
    ]
}

/// A small deterministic generator (the same requests every run).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The gateway's decision (sliced, cached) against the same rules evaluated in full by plain
/// `cedar-policy`, over a realistic mix of principals, subscribers and purposes.
fn decision(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    let policy = tokutei_policy::parse(fixture::POLICY)?;
    let deployment = Deployment { zones_required: true, required_training: vec!["privacy-basics".into()] };
    let gateway = Gateway::compile(&policy, &deployment, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (rules, largest_slice) = gateway.policy_counts();
    let all_categories: Vec<String> = policy.categories.iter().map(|c| c.id.clone()).collect();
    let purposes: Vec<String> = policy.purposes.list.iter().map(|p| p.id.clone()).collect();
    let day = |y, m, d| jiff::civil::date(y, m, d);
    let principals: Vec<Principal> = (0..50)
        .map(|i| Principal {
            id: format!("staff-{i}"),
            version: 1,
            kind: PrincipalKind::Person {
                role: tokutei_policy::Role::Handler,
                training: vec![TrainingRecord {
                    course: "privacy-basics".into(),
                    completed: day(2026, 4, 1),
                    valid_until: if i % 10 == 0 { day(2026, 5, 1) } else { day(2099, 3, 31) },
                }],
            },
            data_range: ["fiber", "mobile"]
                .iter()
                .map(|s| DataRange { service: (*s).into(), categories: all_categories[..8 + i % 8].to_vec() })
                .collect(),
            purposes: purposes[..3 + i % 8].to_vec(),
            zones: vec!["hq".into()],
        })
        .collect();
    let subscribers: Vec<SubscriberFacts> = (0..2000)
        .map(|i| SubscriberFacts {
            id: fixture::subscriber_id(i),
            service: if i % 3 == 0 { "mobile".into() } else { "fiber".into() },
            contract: if i % 17 == 0 { Contract::Terminated { on: day(2026, 1, 1) } } else { Contract::Active },
            consents: [("marketing", i % 5 == 0), ("behavior_ads", i % 2 == 0)]
                .into_iter()
                .map(|(p, yes)| {
                    let choice = if yes { ConsentChoice::OptedIn } else { ConsentChoice::OptedOut };
                    (p.to_string(), Consent { choice, proof: format!("c{i}") })
                })
                .collect(),
        })
        .collect();
    let mut rng = Rng(0x5eed);
    let requests: Vec<(usize, usize, usize, Vec<String>)> = (0..4096)
        .map(|_| {
            let cats = (0..3).map(|_| all_categories[rng.below(all_categories.len())].clone()).collect();
            (rng.below(principals.len()), rng.below(subscribers.len()), rng.below(purposes.len()), cats)
        })
        .collect();
    let now = Timestamp::now();
    let ops = if settings.seconds < 1.0 { 20_000 } else { 100_000 };
    let run = |plain: bool| {
        let mut latencies = Vec::with_capacity(ops);
        for i in 0..ops {
            let (p, s, u, cats) = &requests[i % requests.len()];
            let req = AccessRequest {
                principal: &principals[*p],
                action: Action::Read,
                purpose: &purposes[*u],
                subscriber: &subscribers[*s],
                categories: cats,
                channel: None,
                zone: Some("hq"),
                export_approval: None,
                now,
            };
            let start = Instant::now();
            let d = if plain { gateway.decide_plain(&req) } else { gateway.decide(&req) };
            latencies.push(start.elapsed().as_secs_f64() * 1e6 / cats.len() as f64);
            std::hint::black_box(d);
        }
        quantile(&mut latencies, 0.5)
    };
    let (ours, plain) = alternate(settings.rounds, || run(false), || run(true));
    let stats = gateway.cache_stats();
    Ok(vec![Result::new(
        "policy decision p50",
        "µs per category",
        Better::Lower,
        ours,
        "plain cedar-policy, whole set",
        Some(plain),
        format!(
            "{rules} policies, largest slice {largest_slice}; 50 staff × 2000 subscribers × 10 purposes; cache {} hits / {} misses",
            stats.hits, stats.misses
        ),
    )])
}

/// Audited reads through the gateway (decision + durable audit append + decrypt) of one
/// subscriber × 3 categories with 64 concurrent clients, against raw SQLite point reads of
/// the same rows with 64 clients (the limit).
fn audited_read(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    const CLIENTS: usize = 64;
    let fx = fixture::build(settings.subscribers)?;
    let db = fx.dir.path().join("bench.sqlite3");
    let n = fx.subscribers.len();
    let p99s = std::sync::Mutex::new(Vec::new());
    let ours = || {
        let done = AtomicU64::new(0);
        let deadline = Instant::now() + Duration::from_secs_f64(settings.seconds);
        let started = Instant::now();
        let latencies = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..CLIENTS {
                let (fx, done, latencies) = (&fx, &done, &latencies);
                s.spawn(move || {
                    let mut rng = Rng(0x1234_5678 + t as u64);
                    let mut mine = Vec::new();
                    while Instant::now() < deadline {
                        let call = AccessCall {
                            principal: "call-centre".into(),
                            action: Action::Read,
                            purpose: "support".into(),
                            subscribers: vec![fixture::subscriber_id(rng.below(n))],
                            categories: CATEGORIES.map(String::from).to_vec(),
                            channel: None,
                            zone: None,
                            export_approval: None,
                            recipient: None,
                            client: "bench".into(),
                            now: Timestamp::now(),
                        };
                        let start = Instant::now();
                        let out = fx.service.read(&call).expect("audited read");
                        mine.push(start.elapsed().as_secs_f64() * 1e3);
                        assert!(out.all_allowed(), "the bench principal may read its range");
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    latencies.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
                });
            }
        });
        let mut l = latencies.into_inner().unwrap_or_default();
        p99s.lock().unwrap_or_else(|e| e.into_inner()).push(quantile(&mut l, 0.99));
        done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
    };
    let raw = || {
        let done = AtomicU64::new(0);
        let deadline = Instant::now() + Duration::from_secs_f64(settings.seconds);
        let started = Instant::now();
        std::thread::scope(|s| {
            for t in 0..CLIENTS {
                let (done, db) = (&done, &db);
                s.spawn(move || {
                    let conn = rusqlite::Connection::open(db).expect("open");
                    let mut stmt = conn
                        .prepare_cached(
                            "SELECT ciphertext FROM vault_values WHERE subscriber = ?1
                             AND category IN (?2, ?3, ?4) AND valid_until IS NULL",
                        )
                        .expect("prepare");
                    let mut rng = Rng(0x8765_4321 + t as u64);
                    while Instant::now() < deadline {
                        let id = fixture::subscriber_id(rng.below(n));
                        let rows: Vec<Vec<u8>> = stmt
                            .query_map(rusqlite::params![id, CATEGORIES[0], CATEGORIES[1], CATEGORIES[2]], |r| r.get(0))
                            .expect("query")
                            .collect::<rusqlite::Result<_>>()
                            .expect("rows");
                        assert_eq!(rows.len(), 3);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
    };
    let (a, b) = alternate(settings.rounds, ours, raw);
    let p99 = p99s.into_inner().unwrap_or_default();
    let p99_spread = crate::harness::Spread::of(p99.clone());
    let size = fx.service.ledger().tree_size()?;
    Ok(vec![
        Result::new(
            "audited read, embedded (64 clients)",
            "reads/s",
            Better::Higher,
            a,
            "raw SQLite point read, same rows (the limit)",
            Some(b),
            format!("1 subscriber × 3 categories; {} subscribers; {size} audit entries written", n),
        ),
        Result::new(
            "audited read p99 (64 clients)",
            "ms",
            Better::Lower,
            p99,
            "—",
            None,
            format!("target ≤ 5 ms; median {:.2} ms", p99_spread.median),
        ),
    ])
}

/// Durable audit appends with 1, 8 and 64 appenders against the raw fsync rate of the disk.
fn audit_append(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    let dir = tempfile::tempdir()?;
    let store = std::sync::Arc::new(tokutei_store_sqlite::SqliteStore::open(&dir.path().join("ledger.sqlite3"))?);
    let ledger = tokutei_store_sqlite::SqliteLedger::open(store)?;
    let fsync_path = dir.path().join("fsync.bin");
    let raw_fsync = || -> f64 {
        use std::io::Write;
        let mut file =
            std::fs::OpenOptions::new().create(true).write(true).truncate(true).open(&fsync_path).expect("file");
        let block = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs_f64(settings.seconds);
        let started = Instant::now();
        let mut n = 0u64;
        while Instant::now() < deadline {
            file.write_all(&block).expect("write");
            file.sync_data().expect("fsync");
            n += 1;
        }
        n as f64 / started.elapsed().as_secs_f64()
    };
    let mut results = Vec::new();
    let mut seq = 0u64;
    for appenders in [1usize, 8, 64] {
        let ledger = &ledger;
        let base = seq;
        let appends = || {
            let deadline = Instant::now() + Duration::from_secs_f64(settings.seconds);
            let started = Instant::now();
            let total: u64 = std::thread::scope(|s| {
                let handles: Vec<_> = (0..appenders)
                    .map(|t| {
                        s.spawn(move || {
                            let mut n = 0u64;
                            while Instant::now() < deadline {
                                let entry = synthetic_entry(base + t as u64 * 10_000_000 + n);
                                ledger.append(&entry).expect("append");
                                n += 1;
                            }
                            n
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("appender")).sum()
            });
            total as f64 / started.elapsed().as_secs_f64()
        };
        let (a, b) = alternate(settings.rounds, appends, raw_fsync);
        seq += 1_000_000_000;
        results.push(Result::new(
            &format!("durable audit appends, {appenders} appender(s)"),
            "appends/s",
            Better::Higher,
            a,
            "raw 4 KiB write + fdatasync",
            Some(b),
            "one entry per append call; group commit shares fsyncs".into(),
        ));
    }
    Ok(results)
}

fn synthetic_entry(n: u64) -> tokutei_ledger::Entry {
    tokutei_ledger::Entry::access(
        Timestamp::now(),
        tokutei_ledger::Actor::System("bench".into()),
        tokutei_ledger::AccessEvent {
            action: Action::Read,
            purpose: "support".into(),
            subscribers: vec![fixture::subscriber_id((n % 1_000_000) as usize)],
            categories: CATEGORIES.map(String::from).to_vec(),
            decision: tokutei_ledger::Decision::Allow,
            reasons: vec![],
            rules: vec!["permit.purpose.support".into()],
            policy_digest: [7; 32],
            request: tokutei_ledger::RequestMeta {
                channel: String::new(),
                zone: String::new(),
                client: "bench".into(),
            },
        },
    )
}

/// Sealing one value with its subscriber's data key (AES-256-GCM bound to subscriber,
/// category and version) against raw AES-256-GCM of the same bytes.
fn field_encryption(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = tokutei_crypto::DataKey::generate()?;
    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).map_err(|_| anyhow::anyhow!("key"))?);
    let value = b"090-1234-5678 / 4111-1111-1111-1111 / Tokyo".to_vec();
    let ops = if settings.seconds < 1.0 { 200_000 } else { 1_000_000 };
    let ours = || {
        let started = Instant::now();
        for i in 0..ops {
            let aad = tokutei_crypto::ValueAad {
                subscriber: "B00000001",
                category: "contract.phone",
                version: (i % 7) as u32 + 1,
            };
            std::hint::black_box(key.seal(&aad, &value).expect("seal"));
        }
        ops as f64 / started.elapsed().as_secs_f64()
    };
    let baseline = || {
        let started = Instant::now();
        for i in 0..ops {
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let mut buf = value.clone();
            raw.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(b"B00000001"), &mut buf)
                .expect("seal");
            std::hint::black_box(buf);
        }
        ops as f64 / started.elapsed().as_secs_f64()
    };
    let (a, b) = alternate(settings.rounds, ours, baseline);
    Ok(vec![Result::new(
        "field encryption (seal)",
        "values/s",
        Better::Higher,
        a,
        "raw AES-256-GCM (ring), same bytes",
        Some(b),
        "ours adds a random nonce and the subscriber/category/version binding".into(),
    )])
}

/// Verifying the whole ledger (stream every stored entry, recompute leaves and the tree)
/// against raw SHA-256 over the same bytes in memory; and inclusion proofs (generation from
/// stored nodes, and verification) at the ledger's size.
fn ledger_verify_and_proofs(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    use sha2::{Digest, Sha256};
    let size: u64 = if settings.seconds < 1.0 { 100_000 } else { 1_000_000 };
    let dir = tempfile::tempdir()?;
    let store = std::sync::Arc::new(tokutei_store_sqlite::SqliteStore::open(&dir.path().join("ledger.sqlite3"))?);
    let ledger = tokutei_store_sqlite::SqliteLedger::open(store)?;
    let mut next = 0u64;
    while next < size {
        let batch: Vec<_> = (next..(next + 10_000).min(size)).map(synthetic_entry).collect();
        next += batch.len() as u64;
        ledger.append_batch(&batch)?;
    }
    let signer = tokutei_ledger::CheckpointSigner::from_seed("bench", [1; 32]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut bodies: Vec<Vec<u8>> = Vec::with_capacity(size as usize);
    ledger.scan_entries(0, &mut |e| {
        bodies.push(e.encoded);
        Ok(true)
    })?;
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let verify = || {
        let started = Instant::now();
        let mut verifier = tokutei_ledger::StreamVerifier::new(&signer.verifier(), "bench", []).expect("verifier");
        ledger
            .scan_entries(0, &mut |e| {
                verifier.push(e.index, &e.encoded, Some(&e.leaf_hash)).expect("entry verifies");
                Ok(true)
            })
            .expect("scan");
        let summary = verifier.finish().expect("ledger verifies");
        summary.bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
    };
    let raw = || {
        let started = Instant::now();
        let mut h = Sha256::new();
        for b in &bodies {
            h.update(b);
        }
        std::hint::black_box(h.finalize());
        bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
    };
    let (a, b) = alternate(settings.rounds, verify, raw);
    let head = ledger.tree_head_at(size)?;
    let mut prove = Vec::new();
    let mut check = Vec::new();
    for round in 0..settings.rounds as u64 {
        let proofs: Vec<(u64, Vec<tokutei_ledger::Hash>)> = (0..1000u64)
            .map(|i| {
                let index = (round * 1_000 + i).wrapping_mul(7_919_993) % size;
                let started = Instant::now();
                let proof = ledger.prove_inclusion(index, size).expect("proof");
                prove.push(started.elapsed().as_secs_f64() * 1e6);
                (index, proof)
            })
            .collect();
        for (index, proof) in proofs {
            let leaf = ledger.ledger_entry(index).expect("entry").expect("stored").leaf_hash;
            let started = Instant::now();
            tokutei_ledger::tree::verify_inclusion(index, &leaf, &proof, &head).expect("proof verifies");
            check.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    Ok(vec![
        Result::new(
            "audit verify (whole ledger)",
            "MB/s",
            Better::Higher,
            a,
            "raw SHA-256 (sha2) of the same bytes, in memory",
            Some(b),
            format!("{size} entries, {:.1} MB; verify reads them back from SQLite", bytes as f64 / 1e6),
        ),
        Result::new(
            &format!("inclusion proof generation at {size} entries"),
            "µs",
            Better::Lower,
            prove,
            "—",
            None,
            "O(log n) stored-node reads; per proof, each sample one proof".into(),
        ),
        Result::new(
            &format!("inclusion proof verification at {size} entries"),
            "µs",
            Better::Lower,
            check,
            "—",
            None,
            "RFC 9162 verification of one proof".into(),
        ),
    ])
}
