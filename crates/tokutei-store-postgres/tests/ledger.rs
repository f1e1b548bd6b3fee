//! The audit ledger on PostgreSQL, each test in a fresh database: the ledger conformance
//! suite, several instances appending to one ledger at once (contiguous unique indexes, a
//! tree that verifies from scratch), entries that cannot be encoded, concurrent checkpoints,
//! a sequencer whose connection the server ended, and the monthly partitions: made ahead
//! across month boundaries, append-only on every partition, pruned by a subscriber's
//! one-year query, and filled from a ledger written before `0007_ledger_partitions`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{TestDb, admin_url};
use postgres::{Client, NoTls};
use tokutei_ledger::entry::{AccessEvent, Action, Actor, RequestMeta};
use tokutei_ledger::{Checkpoint, CheckpointSigner, Decision, Entry, StreamVerifier, leaf_hash};
use tokutei_store::StoreError;
use tokutei_store::conformance::ledger::access;
use tokutei_store::ledger::{Appended, LedgerQuery, LedgerStore};
use tokutei_store_postgres::{MIGRATIONS, PgLedger};

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

/// An instant given in Japan time (UTC+9).
fn jst(year: i16, month: i8, day: i8, hour: i8, minute: i8, second: i8, micro: i32) -> jiff::Timestamp {
    jiff::civil::date(year, month, day)
        .at(hour, minute, second, micro * 1_000)
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(9)))
        .unwrap()
        .timestamp()
}

/// An allowed read of `subscriber` by `staff` at `time`.
fn read_at(time: jiff::Timestamp, staff: &str, subscriber: &str) -> Entry {
    Entry::access(
        time,
        Actor::Staff(staff.into()),
        AccessEvent {
            action: Action::Read,
            purpose: "billing".into(),
            subscribers: vec![subscriber.into()],
            categories: vec!["contract".into()],
            decision: Decision::Allow,
            reasons: vec![],
            rules: vec!["r1".into()],
            policy_digest: [1; 32],
            request: RequestMeta { channel: "web".into(), zone: "z1".into(), client: "c1".into() },
        },
    )
}

/// The indexes `query` finds, in order.
fn indexes(ledger: &PgLedger, query: &LedgerQuery) -> Vec<u64> {
    let mut found = Vec::new();
    ledger
        .query_entries(query, &mut |e| {
            found.push(e.index);
            Ok(true)
        })
        .unwrap();
    found
}

/// `subscriber`'s entries from `since` (until `until`).
fn of_subscriber(subscriber: &str, since: jiff::Timestamp, until: Option<jiff::Timestamp>) -> LedgerQuery {
    LedgerQuery { subscriber: Some(subscriber.into()), since: Some(since), until, ..LedgerQuery::default() }
}

fn admin_client(db: &TestDb) -> Client {
    Client::connect(&db.url, NoTls).unwrap()
}

/// The partitions of `parent`, by name suffix (`pYYYYMM`).
fn partitions(client: &mut Client, parent: &str) -> BTreeSet<String> {
    client
        .query("SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::text::regclass", &[&parent])
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0).trim_start_matches(&format!("{parent}_")).to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The partition each index was stored in.
fn stored_in(client: &mut Client, table: &str) -> BTreeMap<i64, String> {
    client
        .query(&format!("SELECT idx, tableoid::regclass::text FROM {table}"), &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[test]
fn partitions_are_made_ahead_across_month_boundaries() {
    let db = TestDb::new();
    let ledger = ledger(&db);
    let mut client = admin_client(&db);
    assert!(partitions(&mut client, "ledger_entries").is_empty(), "a fresh ledger has no partition yet");

    // The last microsecond of January and the first of February in Japan time (15:00 UTC),
    // in one group commit, then a month with nothing before it, then one back in the past.
    let batch = [
        read_at(jst(2026, 1, 31, 23, 59, 59, 999_999), "s1", "sub-a"),
        read_at(jst(2026, 2, 1, 0, 0, 0, 0), "s1", "sub-a"),
    ];
    ledger.append_batch(&batch).unwrap();
    assert_eq!(partitions(&mut client, "ledger_entries"), set(&["p202601", "p202602", "p202603"]));
    ledger.append(&read_at(jst(2026, 6, 15, 12, 0, 0, 0), "s2", "sub-b")).unwrap();
    ledger.append(&read_at(jst(2025, 12, 31, 23, 0, 0, 0), "s2", "sub-b")).unwrap();
    let expected = set(&["p202512", "p202601", "p202602", "p202603", "p202606", "p202607"]);
    assert_eq!(partitions(&mut client, "ledger_entries"), expected);
    assert_eq!(partitions(&mut client, "ledger_subjects"), expected);

    let check = |got: BTreeMap<i64, String>, table: &str| {
        let want: BTreeMap<i64, String> = [(0, "p202601"), (1, "p202602"), (2, "p202606"), (3, "p202512")]
            .into_iter()
            .map(|(idx, suffix)| (idx, format!("{table}_{suffix}")))
            .collect();
        assert_eq!(got, want, "{table}");
    };
    check(stored_in(&mut client, "ledger_entries"), "ledger_entries");
    check(stored_in(&mut client, "ledger_subjects"), "ledger_subjects");

    // A second instance (which has seen no month yet) appends into the same partitions, and
    // every entry reads back by index, also across the boundary inside one group commit.
    let other = PgLedger::open(Arc::new(db.store())).unwrap();
    assert_eq!(other.append(&read_at(jst(2026, 2, 28, 9, 0, 0, 0), "s1", "sub-a")).unwrap().index, 4);
    assert_eq!(partitions(&mut client, "ledger_entries"), expected);
    let mut tree = tokutei_ledger::tree::MemoryTree::new();
    let mut leaves = Vec::new();
    for index in 0..5 {
        let stored = other.ledger_entry(index).unwrap().unwrap();
        assert_eq!(Entry::decode(&stored.encoded).unwrap().0, index);
        tree.push(stored.leaf_hash);
        leaves.push(stored.leaf_hash);
    }
    assert!(ledger.ledger_entry(5).unwrap().is_none());
    let head = ledger.tree_head_at(5).unwrap();
    assert_eq!(head, tree.head());
    for index in 0..5 {
        let proof = ledger.prove_inclusion(index, 5).unwrap();
        tokutei_ledger::tree::verify_inclusion(index, &leaves[index as usize], &proof, &head).unwrap();
    }
    let february = of_subscriber("sub-a", jst(2026, 2, 1, 0, 0, 0, 0), Some(jst(2026, 3, 1, 0, 0, 0, 0)));
    let found = indexes(&ledger, &february);
    assert_eq!(found, [1, 4]);
}

#[test]
fn every_partition_is_append_only() {
    let db = TestDb::new();
    let ledger = ledger(&db);
    for month in 1..=3 {
        ledger.append(&read_at(jst(2026, month, 10, 12, 0, 0, 0), "s1", "sub-a")).unwrap();
    }
    let mut client = admin_client(&db);
    let mut tables = vec!["ledger_entries".to_string(), "ledger_subjects".to_string(), "ledger_batches".to_string()];
    for parent in ["ledger_entries", "ledger_subjects"] {
        // Including the partition made ahead, still empty.
        let parts = partitions(&mut client, parent);
        assert_eq!(parts.len(), 4, "{parent}: {parts:?}");
        tables.extend(parts.into_iter().map(|p| format!("{parent}_{p}")));
    }
    for table in &tables {
        for sql in [
            format!("UPDATE {table} SET idx = idx WHERE TRUE"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table}"),
        ] {
            let sql = sql
                .replace("SET idx = idx", if table == "ledger_batches" { "SET size = size" } else { "SET idx = idx" });
            match client.batch_execute(&sql) {
                Err(e) => assert!(
                    e.as_db_error().is_some_and(|d| d.message() == "the audit ledger is append-only"),
                    "{sql}: {e:?}"
                ),
                Ok(()) => {
                    // An UPDATE or DELETE of an empty partition touches no row: nothing to refuse.
                    let empty: bool =
                        client.query_one(&format!("SELECT NOT EXISTS (SELECT 1 FROM {table})"), &[]).unwrap().get(0);
                    assert!(empty && !sql.starts_with("TRUNCATE"), "{sql} was allowed");
                }
            }
        }
    }
    assert_eq!(ledger.tree_size().unwrap(), 3);
    // Another run over stored indexes is refused whoever writes it.
    let overlap =
        client.execute("INSERT INTO ledger_batches (first_idx, size, min_time, max_time) VALUES (2, 1, 0, 0)", &[]);
    assert!(overlap.is_err(), "a run overlapping a stored one is refused");
}

#[test]
fn one_subscribers_year_reads_only_that_years_partitions() {
    let db = TestDb::new();
    let ledger = ledger(&db);
    // 30 months, January 2024 to June 2026: every month three reads of sub-a and one of
    // sub-b, on the first and last day of the month (the boundaries are where pruning errs).
    let mut expected = Vec::new();
    let fiscal_2025 = (jst(2025, 4, 1, 0, 0, 0, 0), jst(2026, 4, 1, 0, 0, 0, 0));
    for k in 0..30 {
        let (year, month) = (2024 + k / 12, (k % 12 + 1) as i8);
        let last = jiff::civil::date(year, month, 1).last_of_month().day();
        let times = [
            jst(year, month, 1, 0, 0, 0, 0),
            jst(year, month, 15, 9, 0, 0, 0),
            jst(year, month, last, 23, 59, 59, 999_999),
        ];
        let mut batch: Vec<Entry> = times.iter().map(|&t| read_at(t, "s1", "sub-a")).collect();
        batch.push(read_at(times[1], "s1", "sub-b"));
        let appended = ledger.append_batch(&batch).unwrap();
        for (a, t) in appended.iter().zip(times) {
            if fiscal_2025.0 <= t && t < fiscal_2025.1 {
                expected.push(a.index);
            }
        }
    }
    let mut client = admin_client(&db);
    assert_eq!(partitions(&mut client, "ledger_entries").len(), 31);
    client.batch_execute("ANALYZE").unwrap();

    let query = of_subscriber("sub-a", fiscal_2025.0, Some(fiscal_2025.1));
    let found = indexes(&ledger, &query);
    assert_eq!(found, expected);
    assert_eq!(found.len(), 36);

    // The plan names exactly April 2025 … March 2026 on both tables.
    let plan = ledger.explain_query(&query).unwrap();
    let months: Vec<String> = (0..12).map(|k| format!("p{}{:02}", 2025 + (k + 3) / 12, (k + 3) % 12 + 1)).collect();
    for parent in ["ledger_entries", "ledger_subjects"] {
        let scanned: BTreeSet<String> = plan
            .iter()
            .flat_map(|line| line.split_whitespace())
            .filter_map(|word| word.strip_prefix(&format!("{parent}_")))
            .map(|suffix| suffix.chars().take(7).collect())
            .collect();
        let want: BTreeSet<String> = months.iter().cloned().collect();
        assert_eq!(scanned, want, "{parent} in the plan:\n{}", plan.join("\n"));
    }

    // A lookup by index (proofs, the console's entry view) reads one partition: the one of
    // its group commit's time span (here, each month was one group commit).
    let index = expected[5]; // the last of May 2025
    let plan = ledger.explain_entry(index).unwrap();
    let read: Vec<&String> =
        plan.iter().filter(|l| l.contains("on ledger_entries_p") && !l.contains("never executed")).collect();
    assert_eq!(read.len(), 1, "{}", plan.join("\n"));
    assert!(read[0].contains("ledger_entries_p202505"), "{}", plan.join("\n"));
    assert_eq!(Entry::decode(&ledger.ledger_entry(index).unwrap().unwrap().encoded).unwrap().0, index);

    // Staff, purpose and decision over a period prune the same way.
    let by_staff = LedgerQuery {
        staff: Some("s1".into()),
        purpose: Some("billing".into()),
        decision: Some(Decision::Allow),
        since: Some(jst(2026, 1, 1, 0, 0, 0, 0)),
        until: Some(jst(2026, 2, 1, 0, 0, 0, 0)),
        ..LedgerQuery::default()
    };
    let plan = ledger.explain_query(&by_staff).unwrap().join("\n");
    let named: BTreeSet<&str> = plan
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("ledger_entries_p"))
        .collect();
    assert!(!named.is_empty() && named.iter().all(|w| w.starts_with("ledger_entries_p202601")), "{plan}");
}

#[test]
fn a_ledger_written_before_partitioning_is_moved_into_partitions() {
    let db = TestDb::new();
    let mut client = admin_client(&db);
    // The schema as it was before 0007, then a ledger of 40 entries over four months written
    // in that schema's shape (entries, subject rows, interior nodes).
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .unwrap();
    let before = MIGRATIONS.iter().position(|(name, _)| *name == "0007_ledger_partitions").unwrap();
    for (version, (name, sql)) in MIGRATIONS[..before].iter().enumerate() {
        client.batch_execute(sql).unwrap();
        client
            .execute("INSERT INTO schema_migrations VALUES ($1, $2, 'then')", &[&(version as i64 + 1), name])
            .unwrap();
    }
    let mut range = tokutei_ledger::tree::CompactRange::new();
    let mut tree = tokutei_ledger::tree::MemoryTree::new();
    for i in 0..40i64 {
        // November 2025 to February 2026, ten entries a month.
        let (year, month) = [(2025, 11), (2025, 12), (2026, 1), (2026, 2)][(i / 10) as usize];
        let time = jst(year, month, 1 + (i % 10) as i8, 0, 0, 0, 0);
        let entry = read_at(time, "s1", if i % 2 == 0 { "sub-a" } else { "sub-b" });
        let body = entry.encode(i as u64).unwrap();
        let leaf = leaf_hash(&body);
        client
            .execute(
                "INSERT INTO ledger_entries (idx, time, staff, purpose, decision, body, leaf) VALUES ($1, $2, 's1', 'billing', 1, $3, $4)",
                &[&i, &time.as_microsecond(), &body, &leaf.to_vec()],
            )
            .unwrap();
        client
            .execute("INSERT INTO ledger_subjects (subscriber, idx) VALUES ($1, $2)", &[&entry.subscribers()[0], &i])
            .unwrap();
        let mut nodes = Vec::new();
        range.push(leaf, |id, hash| nodes.push((id, *hash)));
        for (id, hash) in nodes.into_iter().filter(|(id, _)| id.level > 0) {
            client
                .execute(
                    "INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)",
                    &[&i64::from(id.level), &(id.index as i64), &hash.to_vec()],
                )
                .unwrap();
        }
        tree.push(leaf);
    }

    // Opening the store migrates; the ledger then has the same entries, in their months.
    let ledger = ledger(&db);
    assert_eq!(ledger.tree_size().unwrap(), 40);
    assert_eq!(ledger.tree_head_at(40).unwrap(), tree.head());
    assert_eq!(
        partitions(&mut client, "ledger_entries"),
        set(&["p202511", "p202512", "p202601", "p202602", "p202603"])
    );
    assert_eq!(ledger.append(&read_at(jst(2026, 2, 20, 0, 0, 0, 0), "s1", "sub-a")).unwrap().index, 40);
    let mut scanned = 0u64;
    ledger
        .scan_entries(0, &mut |e| {
            assert_eq!(e.index, scanned);
            scanned += 1;
            Ok(true)
        })
        .unwrap();
    assert_eq!(scanned, 41);
    let mut reference = tokutei_ledger::tree::MemoryTree::new();
    for index in 0..41 {
        reference.push(ledger.ledger_entry(index).unwrap().unwrap().leaf_hash);
    }
    assert_eq!(ledger.tree_head_at(41).unwrap(), reference.head());
    let query = of_subscriber("sub-a", jst(2026, 2, 1, 0, 0, 0, 0), None);
    let found = indexes(&ledger, &query);
    assert_eq!(found, [30, 32, 34, 36, 38, 40]);
}
