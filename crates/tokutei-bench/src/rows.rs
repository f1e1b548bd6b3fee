//! The rows of the table. Each builds what it needs, runs its two sides in alternation and
//! returns one or more results.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokutei_app::{AccessCall, App};
use tokutei_ledger::Action;
use tokutei_store::ledger::LedgerStore;

use crate::fixture::{self, CATEGORIES};
use crate::harness::{Better, Result, Settings, alternate, quantile};
use crate::mix::{Mix, Rng, Variant};
use crate::pg;

pub struct Row {
    pub name: &'static str,
    pub run: fn(&Settings) -> anyhow::Result<Vec<Result>>,
}

pub fn all() -> Vec<Row> {
    vec![
        Row { name: "decision", run: decision },
        Row { name: "audited-read-embedded", run: audited_read },
        Row { name: "audited-read-postgres", run: audited_read_postgres },
        Row { name: "instances-postgres", run: instances_postgres },
        Row { name: "audit-append", run: audit_append },
        Row { name: "bulk-import", run: bulk_import },
        Row { name: "field-encryption", run: field_encryption },
        Row { name: "ledger-verify-proofs", run: ledger_verify_and_proofs },
    ]
}

/// The gateway's decision (sliced, cached) against the same rules evaluated in full by plain
/// `cedar-policy`, and by `regorus` from a Rego module generated from them, over a realistic
/// mix of principals, subscribers and purposes.
fn decision(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    let mix = Mix::new()?;
    let gateway = &mix.gateway;
    let (rules, largest_slice) = gateway.policy_counts();
    // The Rego baseline decides from a module generated from the same compiled policies; it
    // must agree with the gateway on the sampled requests before it is timed.
    let module = crate::rego::module(&gateway.cedar_text())?;
    let mut rego = crate::rego::Rego::new(&mix.policy, &module)?;
    let every: Vec<usize> = (0..mix.len()).collect();
    let some: Vec<usize> = (0..mix.len()).step_by(64).collect();
    let variants = Variant::all();
    let timed = crate::rego::agree(&mix, &mut rego, &every, &[Variant::TIMED])?;
    let varied = crate::rego::agree(&mix, &mut rego, &some, &variants)?;
    let ops = if settings.seconds < 1.0 { 10_000 } else { 100_000 };
    #[derive(Clone, Copy)]
    enum Engine {
        Ours,
        Plain,
        Rego,
    }
    let mut run = |engine: Engine, ops: usize| {
        let mut latencies = Vec::with_capacity(ops);
        for i in 0..ops {
            let req = mix.request(i, Variant::TIMED);
            let start = Instant::now();
            match engine {
                Engine::Ours => drop(std::hint::black_box(gateway.decide(&req))),
                Engine::Plain => drop(std::hint::black_box(gateway.decide_plain(&req))),
                Engine::Rego => drop(std::hint::black_box(rego.decide(&req).expect("rego evaluates"))),
            }
            latencies.push(start.elapsed().as_secs_f64() * 1e6 / req.categories.len() as f64);
        }
        quantile(&mut latencies, 0.5)
    };
    let (mut ours, mut plain, mut regos) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..settings.rounds {
        ours.push(run(Engine::Ours, ops));
        plain.push(run(Engine::Plain, ops));
        // Rego is far slower per decision; a fifth of the requests gives a stable median.
        regos.push(run(Engine::Rego, ops / 5));
    }
    let stats = gateway.cache_stats();
    let described = "50 staff × 2000 subscribers × 10 purposes";
    Ok(vec![
        Result::new(
            "policy decision p50",
            "µs per category",
            Better::Lower,
            ours.clone(),
            "plain cedar-policy, whole set",
            Some(plain),
            format!(
                "{rules} policies, largest slice {largest_slice}; {described}; cache {} hits / {} misses",
                stats.hits, stats.misses
            ),
        ),
        Result::new(
            "policy decision p50 (vs Rego)",
            "µs per category",
            Better::Lower,
            ours,
            "regorus (Rego), whole set",
            Some(regos),
            format!(
                "{}; same decisions and deciding policies as the gateway on all {} timed requests and on {} \
                 of them × {} variants of action, zone, channel and approval ({} allowed, {} denied categories); {described}",
                crate::rego::describe(&module),
                every.len(),
                some.len(),
                variants.len(),
                timed.0 + varied.0,
                timed.1 + varied.1
            ),
        ),
    ])
}

/// Audited reads through `services` (client `t` uses `services[t % len]`): `clients` threads
/// each reading one random subscriber × 3 categories in a closed loop for `seconds`.
/// Returns reads/s and the p99 latency in ms.
fn gateway_reads(services: &[&App], clients: usize, subscribers: usize, seconds: f64) -> (f64, f64) {
    let done = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let latencies = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..clients {
            let (service, done, latencies) = (services[t % services.len()], &done, &latencies);
            s.spawn(move || {
                let mut rng = Rng(0x1234_5678 + t as u64);
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let call = read_call(fixture::subscriber_id(rng.below(subscribers)));
                    let start = Instant::now();
                    let out = service.read(&call).expect("audited read");
                    mine.push(start.elapsed().as_secs_f64() * 1e3);
                    assert!(out.all_allowed(), "the bench principal may read its range");
                    done.fetch_add(1, Ordering::Relaxed);
                }
                latencies.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
            });
        }
    });
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let mut l = latencies.into_inner().unwrap_or_default();
    (rate, quantile(&mut l, 0.99))
}

/// One audited read outside any measurement (compiles the policy, fills the caches).
fn warm(service: &App, subscriber: &str) {
    let out = service.read(&read_call(subscriber.to_string())).expect("audited read");
    assert!(out.all_allowed(), "the bench principal may read its range");
}

/// The call-centre system reading one subscriber's three categories for support.
fn read_call(subscriber: String) -> AccessCall {
    AccessCall {
        principal: tokutei_app::PrincipalId::known("call-centre"),
        action: Action::Read,
        purpose: tokutei_app::PurposeId::known("support"),
        subscribers: vec![tokutei_app::SubscriberId::known(subscriber)],
        categories: CATEGORIES.map(tokutei_app::CategoryId::known).to_vec(),
        channel: Some(tokutei_policy::Channel::Phone),
        zone: None,
        terminal: None,
        export_approval: None,
        recipient: None,
        client: "bench".into(),
        now: Timestamp::now(),
    }
}

/// Audited reads through the gateway (decision + durable audit append + decrypt) of one
/// subscriber × 3 categories with 64 concurrent clients, against raw SQLite point reads of
/// the same rows with 64 clients (the limit).
fn audited_read(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    let fx = fixture::build(settings.subscribers)?;
    let db = fx.dir.path().join("bench.sqlite3");
    let n = fx.subscribers.len();
    let mut p99 = Vec::new();
    let ours = || {
        let (rate, p) = gateway_reads(&[&fx.service], CLIENTS, n, settings.seconds);
        p99.push(p);
        rate
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

/// Concurrent clients of the audited-read rows.
const CLIENTS: usize = 64;

/// Audited reads through the gateway on PostgreSQL (`PgStore` + `PgLedger`), against what
/// users do today: row-level security by role and purpose on a plaintext table, read through
/// a function that inserts an audit row per read. Same rows, same client count.
fn audited_read_postgres(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    let db = pg::TempDb::create("read")?;
    let (keys, ids) = pg::populate(&db, settings.subscribers)?;
    let rls = pg::RlsBaseline::create(&ids)?;
    let n = ids.len();
    let mut p99 = Vec::new();
    // The gateway instance is started before and stopped after each of its rounds (not
    // timed; it reads once first, compiling its policy), and so are the baseline's 64
    // connections, so that the two sides' connections never add up beyond the server's limit.
    let ours = || {
        let service = pg::instance(&db, &keys).expect("a gateway instance");
        warm(&service, &ids[0]);
        let (rate, p) = gateway_reads(&[&service], CLIENTS, n, settings.seconds);
        p99.push(p);
        rate
    };
    let baseline = || {
        let mut clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let mut client = rls.client("support").expect("a baseline connection");
                let statement = client.prepare(pg::RlsBaseline::READ).expect("prepare");
                (client, statement)
            })
            .collect();
        let done = AtomicU64::new(0);
        let deadline = Instant::now() + Duration::from_secs_f64(settings.seconds);
        let started = Instant::now();
        std::thread::scope(|s| {
            for (t, (client, statement)) in clients.iter_mut().enumerate() {
                let done = &done;
                s.spawn(move || {
                    let mut rng = Rng(0x8765_4321 + t as u64);
                    while Instant::now() < deadline {
                        let id = fixture::subscriber_id(rng.below(n));
                        let rows = pg::RlsBaseline::read(client, statement, &id).expect("audited read");
                        assert_eq!(rows, 3);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
    };
    let (a, b) = alternate(settings.rounds, ours, baseline);
    let size = pg::instance(&db, &keys)?.ledger().tree_size()?;
    let audited = rls.audited()?;
    let p99 = crate::harness::Spread::of(p99);
    Ok(vec![Result::new(
        "audited read, PostgreSQL (64 clients)",
        "reads/s",
        Better::Higher,
        a,
        "PostgreSQL RLS by role/purpose + audit row per read (plpgsql), plaintext",
        Some(b),
        format!(
            "1 subscriber × 3 categories; {n} subscribers; gateway p99 {:.1} ms; {size} ledger entries vs {audited} audit rows written",
            p99.median
        ),
    )])
}

/// One gateway instance against three on one PostgreSQL database, the same 64 clients in all
/// (spread evenly over the instances).
fn instances_postgres(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    let db = pg::TempDb::create("inst")?;
    let (keys, ids) = pg::populate(&db, settings.subscribers)?;
    let n = ids.len();
    // Instances are started before and stopped after each of their rounds (not timed; each
    // reads once first, compiling its policy), so that both sides' connections never add up
    // beyond the server's limit.
    let start = |count: usize| -> Vec<App> {
        let services: Vec<App> = (0..count).map(|_| pg::instance(&db, &keys).expect("a gateway instance")).collect();
        for service in &services {
            warm(service, &ids[0]);
        }
        services
    };
    let run = |count: usize| {
        let services = start(count);
        let refs: Vec<&App> = services.iter().collect();
        gateway_reads(&refs, CLIENTS, n, settings.seconds).0
    };
    let (a, b) = alternate(settings.rounds, || run(3), || run(1));
    let one = start(1).pop().expect("an instance");
    let size = one.ledger().tree_size()?;
    let verified = verify_pg_ledger(&one)?;
    Ok(vec![Result::new(
        "audited reads, 3 instances vs 1 (PostgreSQL, 64 clients)",
        "reads/s",
        Better::Higher,
        a,
        "1 instance, same database and clients",
        Some(b),
        format!(
            "target 3 ≥ 0.9 × 1; three `App`s in one process, each with its own pool and `PgLedger`: their \
             sequencers take turns through PostgreSQL advisory locks exactly as across processes; \
             {size} ledger entries, indexes contiguous and the tree verified ({verified})"
        ),
    )])
}

/// Every stored entry of a PostgreSQL ledger in index order, each leaf recomputed, and the
/// stored tree head against the root recomputed from the leaves.
fn verify_pg_ledger(service: &App) -> anyhow::Result<String> {
    let ledger = service.ledger();
    let size = ledger.tree_size()?;
    let mut tree = tokutei_ledger::CompactRange::new();
    let mut problem = None;
    ledger.scan_entries(0, &mut |e| {
        if e.index != tree.size() {
            problem = Some(format!("index {} where {} was expected", e.index, tree.size()));
        } else if tokutei_ledger::leaf_hash(&e.encoded) != e.leaf_hash {
            problem = Some(format!("leaf {} does not match its entry", e.index));
        }
        tree.push(e.leaf_hash, |_, _| {});
        Ok(problem.is_none())
    })?;
    if let Some(problem) = problem {
        anyhow::bail!("the PostgreSQL ledger does not verify: {problem}");
    }
    anyhow::ensure!(tree.size() == size, "{} entries stored for a tree of {size}", tree.size());
    anyhow::ensure!(ledger.tree_head_at(size)? == tree.head(), "the stored tree head differs from the recomputed root");
    Ok("ok".into())
}

/// Bulk import in process (validation, a data key per subscriber, sealed values, blind
/// indexes, provenance, an audit entry per batch) against a raw plaintext SQLite insert of the
/// same CSV.
fn bulk_import(settings: &Settings) -> anyhow::Result<Vec<Result>> {
    let count = settings.import_subscribers;
    let scratch = tempfile::tempdir()?;
    let csv = scratch.path().join("subscribers.csv");
    crate::import::write_csv(&csv, count)?;
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..settings.rounds {
        ours.push(crate::import::tokutei_import(&csv, count, scratch.path())?);
        raw.push(crate::import::raw_insert(&csv, count, scratch.path())?);
    }
    let median = crate::harness::Spread::of(ours.clone()).median;
    let minutes = 10_000_000.0 / median / 60.0;
    Ok(vec![Result::new(
        &format!("bulk import, {count} subscribers"),
        "subscribers/s",
        Better::Higher,
        ours,
        "raw SQLite insert of the same rows, plaintext (the limit)",
        Some(raw),
        format!(
            "`tokutei_app::import` in process, as `tokutei subscribers import` runs it (incl. its validation pass \
             and an audit entry per batch; 7 values each, 3 of them blind-indexed); 10M subscribers extrapolated: \
             {minutes:.1} min (target ≤ 10 min)"
        ),
    )])
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
/// stored nodes, and verification) at the ledger's size and, in a full run, at 10 million.
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
    let mut results = vec![Result::new(
        "audit verify (whole ledger)",
        "MB/s",
        Better::Higher,
        a,
        "raw SHA-256 (sha2) of the same bytes, in memory",
        Some(b),
        format!("{size} entries, {:.1} MB; verify reads them back from SQLite", bytes as f64 / 1e6),
    )];
    drop(bodies);
    results.extend(proofs_at(&ledger, size, settings.rounds)?);
    // The full run also grows the same ledger to ten million entries for the proofs (not
    // verified again: that is the same per-entry work ten times over).
    if settings.seconds >= 1.0 {
        let large = 10_000_000u64;
        while next < large {
            let batch: Vec<_> = (next..(next + 10_000).min(large)).map(synthetic_entry).collect();
            next += batch.len() as u64;
            ledger.append_batch(&batch)?;
        }
        results.extend(proofs_at(&ledger, large, settings.rounds)?);
    }
    Ok(results)
}

/// Inclusion proofs at `size` entries: 1,000 generated from stored nodes per round (spread
/// over the whole ledger), each then verified against the tree head.
fn proofs_at(ledger: &tokutei_store_sqlite::SqliteLedger, size: u64, rounds: usize) -> anyhow::Result<Vec<Result>> {
    let head = ledger.tree_head_at(size)?;
    let mut prove = Vec::new();
    let mut check = Vec::new();
    for round in 0..rounds as u64 {
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
