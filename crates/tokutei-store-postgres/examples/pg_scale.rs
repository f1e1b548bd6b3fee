//! What one audited read costs on PostgreSQL, for the projection in `docs/scaling.md` (quick
//! measurements, not a benchmark harness): durable ledger appends/s, then audited gateway
//! reads (`App::read` of one subscriber × three categories, closed loop) with, per
//! request, the CPU time of this process, the CPU time of the PostgreSQL backends serving
//! this database (from `/proc/<pid>/stat`, so the server must run on this machine), the
//! transactions and rows of this database (`pg_stat_database`), and WAL records, bytes,
//! writes and syncs (`pg_stat_wal`: the whole server, so run it on a quiet server); then the
//! stored bytes per ledger entry and per subscriber. Runs in a database created for it and
//! dropped afterwards.
//!
//! `cargo run --release -p tokutei-store-postgres --example pg_scale -- [SECONDS] [CLIENTS]
//! [SUBSCRIBERS] [CONNINFO]` (defaults 10, 32, 10000, `host=127.0.0.1 port=5432 user=postgres
//! dbname=test`; CONNINFO in `key=value` form).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use postgres::{Client, NoTls};
use tokutei_app::{AccessCall, App, KeyAccess};
use tokutei_crypto::{BlindIndexKey, DataKey, Kek, ValueAad, WrappedKey};
use tokutei_gateway::Deployment;
use tokutei_ledger::entry::Action;
use tokutei_policy::{AcquisitionMethod, Date};
use tokutei_store::conformance::ledger::access;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, RangeGrant, StaffStore};
use tokutei_store::vault::{
    Contract, ContractState, ImportBatch, NewSubscriber, NewValue, Provenance, Sealed, Source, VaultStore,
    WrappedDataKey,
};
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_postgres::{PgLedger, PgStore};

const POLICY: &str = include_str!("../../tokutei-policy/policies/hoshizora-tsushin.toml");
const CATEGORIES: [&str; 3] = ["contract.name", "contract.phone", "billing.payment"];
/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 per second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let clients: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let subscribers: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let admin = args.next().unwrap_or_else(|| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_string());
    let name = format!("tokutei_pg_scale_{}", std::process::id());
    let mut client = Client::connect(&admin, NoTls).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let result = std::panic::catch_unwind(|| run(&admin, &name, seconds, clients, subscribers));
    client.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn run(admin: &str, name: &str, seconds: f64, clients: usize, subscribers: usize) {
    let url = format!("{admin} dbname={name}");
    let mut stats = Client::connect(&url, NoTls).unwrap();
    let store = Arc::new(PgStore::connect(&url).unwrap());
    let started = Instant::now();
    let keys = populate(&store, subscribers);
    println!(
        "{subscribers} subscribers × {} categories imported in {:.1} s",
        CATEGORIES.len(),
        started.elapsed().as_secs_f64()
    );

    // Durable appends: 64 appenders on one instance (group commit), stamped now as real
    // entries are (so a group commit writes into one partition).
    let ledger = Arc::new(PgLedger::open(Arc::clone(&store)).unwrap());
    let before = Snapshot::take(&mut stats, name);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let appended = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..64u64 {
            let (ledger, appended) = (&ledger, &appended);
            s.spawn(move || {
                let mut k = 0;
                while Instant::now() < deadline {
                    let mut entry = access(t * 10_000_000 + k);
                    entry.time = Timestamp::now();
                    ledger.append(&entry).unwrap();
                    k += 1;
                }
                appended.fetch_add(k, Ordering::Relaxed);
            });
        }
    });
    let span = started.elapsed().as_secs_f64();
    let after = Snapshot::take(&mut stats, name);
    after.since(&before).print("appends, 64 appenders, one instance", appended.into_inner(), span, "append");

    // Audited reads through the gateway.
    let deployment =
        Deployment { zones_required: false, required_training: vec!["privacy-basics".into()], ..Default::default() };
    let service = App::new(Arc::clone(&store) as _, Arc::clone(&ledger) as _, Arc::new(keys), deployment, Vec::new());
    read_loop(&service, 1, subscribers, 1.0); // warm the caches and the pool
    let before = Snapshot::take(&mut stats, name);
    let tables_before = table_reads(&mut stats);
    let started = Instant::now();
    let reads = read_loop(&service, clients, subscribers, seconds);
    let span = started.elapsed().as_secs_f64();
    let after = Snapshot::take(&mut stats, name);
    after.since(&before).print(&format!("audited reads, {clients} clients, one instance"), reads, span, "read");
    for (table, (seq, seq_rows, idx)) in table_reads(&mut stats) {
        let (seq0, rows0, idx0) = tables_before.get(&table).copied().unwrap_or_default();
        let per = |x: f64| x / reads as f64;
        if per(seq - seq0) > 0.01 || per(idx - idx0) > 0.01 {
            println!(
                "  per read on {table}: {:.2} sequential scans ({:.1} rows read), {:.2} index scans",
                per(seq - seq0),
                per(seq_rows - rows0),
                per(idx - idx0)
            );
        }
    }

    // What is stored: the ledger per entry, the vault per subscriber.
    let entries = ledger.tree_size().unwrap();
    let row = stats
        .query_one(
            "SELECT
                 (SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c
                  WHERE c.relkind = 'r' AND c.relname ~ '^ledger_(entries|subjects|nodes|batches)')::float8,
                 (SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c
                  WHERE c.relkind = 'r' AND c.relname ~ '^vault_')::float8,
                 pg_database_size(current_database())::float8",
            &[],
        )
        .unwrap();
    let (ledger_bytes, vault_bytes, database): (f64, f64, f64) = (row.get(0), row.get(1), row.get(2));
    println!(
        "stored: ledger {entries} entries, {:.0} bytes/entry (entries, subjects, nodes, batches with indexes); \
         vault {:.0} bytes/subscriber ({} categories); database {:.1} MB",
        ledger_bytes / entries as f64,
        vault_bytes / subscribers as f64,
        CATEGORIES.len(),
        database / 1e6
    );
}

/// Per table of this database: sequential scans, rows they read, index scans.
fn table_reads(stats: &mut Client) -> std::collections::BTreeMap<String, (f64, f64, f64)> {
    stats
        .query(
            "SELECT relname::text, seq_scan::float8, seq_tup_read::float8, COALESCE(idx_scan, 0)::float8
             FROM pg_stat_user_tables",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect()
}

/// Reads by `clients` threads for `seconds`; returns how many were done.
fn read_loop(service: &App, clients: usize, subscribers: usize, seconds: f64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let done = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..clients {
            let done = &done;
            s.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ t as u64;
                while Instant::now() < deadline {
                    // xorshift: a subscriber picked uniformly
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let call = AccessCall {
                        principal: tokutei_app::PrincipalId::known("call-centre"),
                        action: Action::Read,
                        purpose: tokutei_app::PurposeId::known("support"),
                        subscribers: vec![tokutei_app::SubscriberId::known(subscriber_id(x as usize % subscribers))],
                        categories: CATEGORIES.map(tokutei_app::CategoryId::known).to_vec(),
                        channel: Some(tokutei_policy::Channel::Phone),
                        zone: None,
                        terminal: None,
                        export_approval: None,
                        recipient: None,
                        client: "pg_scale".into(),
                        now: Timestamp::now(),
                    };
                    assert!(service.read(&call).unwrap().all_allowed());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    done.into_inner()
}

/// Counters at one moment.
#[derive(Clone, Copy)]
struct Snapshot {
    /// CPU seconds of this process.
    own_cpu: f64,
    /// CPU seconds of the server processes connected to this database.
    backend_cpu: f64,
    /// CPU seconds of the WAL writer, checkpointer and background writer.
    aux_cpu: f64,
    commits: f64,
    inserted: f64,
    /// Connections opened to this database (a short-lived one's CPU is not in `backend_cpu`).
    sessions: f64,
    wal_records: f64,
    wal_bytes: f64,
    wal_writes: f64,
    wal_syncs: f64,
}

impl Snapshot {
    fn take(stats: &mut Client, db: &str) -> Snapshot {
        // Cumulative statistics reach the shared counters within a second of a transaction.
        std::thread::sleep(Duration::from_millis(1_500));
        let backends: Vec<i32> = stats
            .query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", &[&db])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let aux: Vec<i32> = stats
            .query(
                "SELECT pid FROM pg_stat_activity WHERE backend_type IN ('walwriter', 'checkpointer', 'background writer')",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let db_row = stats
            .query_one(
                "SELECT xact_commit::float8, tup_inserted::float8, sessions::float8 FROM pg_stat_database WHERE datname = $1",
                &[&db],
            )
            .unwrap();
        let wal = stats
            .query_one(
                "SELECT wal_records::float8, wal_bytes::float8, wal_write::float8, wal_sync::float8 FROM pg_stat_wal",
                &[],
            )
            .unwrap();
        Snapshot {
            own_cpu: cpu_seconds("self"),
            backend_cpu: backends.iter().map(|pid| cpu_seconds(&pid.to_string())).sum(),
            aux_cpu: aux.iter().map(|pid| cpu_seconds(&pid.to_string())).sum(),
            commits: db_row.get(0),
            inserted: db_row.get(1),
            sessions: db_row.get(2),
            wal_records: wal.get(0),
            wal_bytes: wal.get(1),
            wal_writes: wal.get(2),
            wal_syncs: wal.get(3),
        }
    }

    /// The change from `earlier`.
    fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            own_cpu: self.own_cpu - earlier.own_cpu,
            backend_cpu: self.backend_cpu - earlier.backend_cpu,
            aux_cpu: self.aux_cpu - earlier.aux_cpu,
            commits: self.commits - earlier.commits,
            inserted: self.inserted - earlier.inserted,
            sessions: self.sessions - earlier.sessions,
            wal_records: self.wal_records - earlier.wal_records,
            wal_bytes: self.wal_bytes - earlier.wal_bytes,
            wal_writes: self.wal_writes - earlier.wal_writes,
            wal_syncs: self.wal_syncs - earlier.wal_syncs,
        }
    }

    /// `n` operations done in `seconds` (measured around the work, without settling waits).
    fn print(&self, label: &str, n: u64, seconds: f64, unit: &str) {
        let n = n as f64;
        println!("{label}: {n:.0} {unit}s in {seconds:.1} s = {:.0}/s", n / seconds);
        println!(
            "  per {unit}: tokutei CPU {:.0} µs, PostgreSQL backends CPU {:.0} µs, WAL writer/checkpointer/bgwriter CPU {:.1} µs",
            self.own_cpu / n * 1e6,
            self.backend_cpu / n * 1e6,
            self.aux_cpu / n * 1e6
        );
        println!(
            "  per {unit}: {:.4} connections opened, {:.3} commits, {:.2} rows inserted, {:.2} WAL records, {:.0} WAL bytes, {:.3} WAL writes, {:.3} WAL syncs (fsync)",
            self.sessions / n,
            self.commits / n,
            self.inserted / n,
            self.wal_records / n,
            self.wal_bytes / n,
            self.wal_writes / n,
            self.wal_syncs / n
        );
    }
}

/// utime + stime of process `pid` (`self` for this one), in seconds; 0 if it is gone.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at field 3 (state);
    // utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse().ok()).collect();
    fields.iter().sum::<f64>() / TICKS_PER_SECOND
}

fn subscriber_id(n: usize) -> String {
    format!("S{n:08}")
}

struct Keys {
    kek: Kek,
    blind: BlindIndexKey,
}

impl KeyAccess for Keys {
    fn unwrap_key(&self, subscriber: &str, wrapped: &WrappedDataKey) -> Result<DataKey, String> {
        let w = WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        self.kek.unwrap(subscriber, &w).map_err(|e| e.to_string())
    }
    fn blind_token(&self, category: &str, value: &str) -> Option<[u8; 32]> {
        self.blind.token(category, value).map(|t| t.0)
    }
}

/// The demo policy, `subscribers` sealed subscribers and the call-centre system principal.
fn populate(store: &PgStore, subscribers: usize) -> Keys {
    let policy = tokutei_policy::parse(POLICY).unwrap();
    let now = Timestamp::now();
    store
        .publish_policy(NewPolicyVersion {
            digest: tokutei_policy::PolicyDigest::of(&policy),
            source: POLICY.to_string(),
            effective: Date::new(2025, 7, 1).unwrap(),
            published_by: "pg_scale".into(),
            published_at: now,
        })
        .unwrap();
    let kek = Kek::generate("pg-scale-kek").unwrap();
    let provenance = Provenance {
        method: AcquisitionMethod::Written,
        source: Source::Direct,
        collected_at: now,
        collected_by: "shop".into(),
        notice_version: 1,
    };
    let started_on = Date::new(2020, 1, 1).unwrap();
    for (b, chunk) in (0..subscribers).collect::<Vec<_>>().chunks(2_000).enumerate() {
        let mut batch = ImportBatch {
            source_key: format!("pg-scale-{b}"),
            subscribers: Vec::new(),
            values: Vec::new(),
            rows: chunk.len() as u64,
            imported_at: now,
            audit_index: None,
        };
        for id in chunk.iter().map(|&n| subscriber_id(n)) {
            let key = DataKey::generate().unwrap();
            let wrapped = kek.wrap(&id, &key).unwrap();
            let contract =
                Contract { state: ContractState::Active, started_on, suspended_on: None, terminated_on: None };
            for category in CATEGORIES {
                let aad = ValueAad { subscriber: &id, category, version: 1 };
                let sealed = key.seal(&aad, format!("{category} of {id}").as_bytes()).unwrap();
                batch.values.push(NewValue {
                    subscriber: id.clone(),
                    category: category.into(),
                    version: 1,
                    sealed: Sealed::Inline(sealed),
                    provenance: provenance.clone(),
                    valid_from: now,
                    supersedes: false,
                    blind_index: None,
                });
            }
            let key = WrappedDataKey { kek_id: wrapped.kek_id, bytes: wrapped.bytes };
            batch.subscribers.push(NewSubscriber { id, service: "fiber".into(), contract, key });
        }
        store.import_batch(&batch).unwrap();
    }
    store
        .create_principal(&NewPrincipal {
            id: "call-centre".into(),
            display_name: "call centre".into(),
            kind: PrincipalKind::System { name: "call_centre".into() },
            grants: Grants {
                data_range: vec![RangeGrant {
                    service: "fiber".into(),
                    categories: CATEGORIES.map(String::from).to_vec(),
                }],
                purposes: vec!["support".into()],
                zones: vec![],
                ..Grants::default()
            },
            created_at: now,
        })
        .unwrap();
    Keys { kek, blind: BlindIndexKey::generate().unwrap() }
}
