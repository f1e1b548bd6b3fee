//! The bulk-import row: subscribers/s through the real import path — `tokutei_app::import`,
//! the function `tokutei subscribers import` runs (validation pass, data key per subscriber,
//! AES-256-GCM per value, blind indexes, provenance, an audit entry per batch, one
//! transaction per 2,000 subscribers), called in process on a fresh store — against a raw
//! SQLite insert of the same CSV rows in plaintext (same batches, same pragmas), in the
//! same run. No process start and no `init` in the timing.

use std::io::{Read, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokutei_app::import::{ImportTarget, import};
use tokutei_ledger::Actor;
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

/// Subscribers per transaction, as the import's.
const BATCH: usize = tokutei_app::import::BATCH_SUBSCRIBERS;

/// The categories every generated subscriber has a value for (service `fiber`).
const COLUMNS: [&str; 7] = [
    "contract.name",
    "contract.name_kana",
    "contract.address",
    "contract.phone",
    "contract.email",
    "contract.number",
    "billing.payment",
];

/// Write `count` synthetic subscribers as import CSV (one row each, seven values).
pub fn write_csv(path: &Path, count: usize) -> anyhow::Result<()> {
    const SURNAMES: [(&str, &str); 8] = [
        ("佐藤", "サトウ"),
        ("鈴木", "スズキ"),
        ("高橋", "タカハシ"),
        ("田中", "タナカ"),
        ("伊藤", "イトウ"),
        ("渡辺", "ワタナベ"),
        ("山本", "ヤマモト"),
        ("中村", "ナカムラ"),
    ];
    const GIVEN: [(&str, &str); 8] = [
        ("翔太", "ショウタ"),
        ("陽菜", "ヒナ"),
        ("蓮", "レン"),
        ("結衣", "ユイ"),
        ("大輔", "ダイスケ"),
        ("美咲", "ミサキ"),
        ("健太", "ケンタ"),
        ("さくら", "サクラ"),
    ];
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "subscriber,service,state,started_on,method,collected_at,collected_by,{}", COLUMNS.join(","))?;
    for n in 0..count {
        let (sur, sur_kana) = SURNAMES[n % 8];
        let (given, given_kana) = GIVEN[(n / 8) % 8];
        writeln!(
            out,
            "I{n:09},fiber,active,2024-04-01,written,2024-04-01T10:00:00+09:00,shop-shinjuku,\
             {sur} {given},{sur_kana} {given_kana},東京都新宿区西新宿{}-{}-{},090-{:04}-{:04},user{n}@example.jp,\
             HS-{n:010},口座振替 星空銀行 新宿支店 普通 {:07}",
            1 + n % 9,
            1 + n % 20,
            1 + n % 30,
            n / 10_000 % 10_000,
            n % 10_000,
            n % 10_000_000
        )?;
    }
    out.flush()?;
    Ok(())
}

/// One timed import of `csv` into a fresh SQLite store under `scratch` (demo policy published,
/// not timed), in process through `tokutei_app::import::import` — the function
/// `tokutei subscribers import` runs — with a real ledger and keys: subscribers/s.
pub fn tokutei_import(csv: &Path, count: usize, scratch: &Path) -> anyhow::Result<f64> {
    let dir = scratch.join("data");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let seconds = {
        let store = Arc::new(SqliteStore::open(&dir.join("tokutei.sqlite3"))?);
        let policy = crate::fixture::publish(&*store)?;
        let ledger = SqliteLedger::open(Arc::clone(&store))?;
        let keys = crate::fixture::Keys::generate()?;
        let target =
            ImportTarget { store: &*store, ledger: &ledger, keys: &keys, actor: Actor::System("bench".into()) };
        let open = || -> std::io::Result<Box<dyn Read>> {
            Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(csv)?)))
        };
        let started = Instant::now();
        let summary = import(&target, &policy, 1, open, &mut |_| {})?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            summary.subscribers == count as u64,
            "the import stored {} subscribers, not {count}",
            summary.subscribers
        );
        seconds
    };
    std::fs::remove_dir_all(&dir)?;
    Ok(count as f64 / seconds)
}

/// One raw insert of the same CSV rows into plain SQLite tables (no validation, no
/// encryption, no blind index; WAL, `synchronous = FULL`, 2,000 subscribers per
/// transaction): subscribers/s.
pub fn raw_insert(csv_path: &Path, count: usize, scratch: &Path) -> anyhow::Result<f64> {
    let db = scratch.join("raw.sqlite3");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let started = Instant::now();
    let mut conn = rusqlite::Connection::open(&db)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE subscribers (id TEXT PRIMARY KEY, service TEXT, state TEXT, started_on TEXT) WITHOUT ROWID;
         CREATE TABLE vals (subscriber TEXT, category TEXT, version INTEGER, value BLOB, method TEXT,
             collected_at TEXT, collected_by TEXT, PRIMARY KEY (subscriber, category, version)) WITHOUT ROWID;",
    )?;
    let mut reader = csv::Reader::from_path(csv_path)?;
    let headers = reader.byte_headers()?.clone();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    let mut tx = conn.transaction()?;
    while reader.read_byte_record(&mut record)? {
        let field = |i: usize| std::str::from_utf8(&record[i]).unwrap_or_default();
        tx.prepare_cached("INSERT INTO subscribers VALUES (?1, ?2, ?3, ?4)")?.execute([
            field(0),
            field(1),
            field(2),
            field(3),
        ])?;
        let mut insert = tx.prepare_cached("INSERT INTO vals VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)")?;
        for i in 7..record.len() {
            let category = std::str::from_utf8(&headers[i]).unwrap_or_default();
            insert.execute(rusqlite::params![field(0), category, &record[i], field(4), field(5), field(6)])?;
        }
        drop(insert);
        rows += 1;
        if rows.is_multiple_of(BATCH) {
            tx.commit()?;
            tx = conn.transaction()?;
        }
    }
    tx.commit()?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(rows == count, "the raw insert stored {rows} rows, not {count}");
    Ok(count as f64 / seconds)
}
