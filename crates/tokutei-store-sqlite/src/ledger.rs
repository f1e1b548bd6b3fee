//! The audit ledger on SQLite, with group commit.
//!
//! Appends go through the shared sequencer (`tokutei_store::sequencer`: batching, indexes,
//! encoding, leaf hashes, the tree's right edge, replies), which runs on its own thread with
//! its own connection. This module supplies what is native to SQLite: the writer lock and
//! the transaction (`BEGIN IMMEDIATE`), the stored size, the frontier nodes, the rows, and
//! the commit (WAL with `synchronous = FULL`, so the commit is fsynced; one fsync serves the
//! whole batch). Another process appending to the same file moves the stored size, and the
//! sequencer then reloads the right edge inside the write transaction, so several processes
//! may append to one database file.
//!
//! SQLite has no connection to lose (the database is a file opened in this process), so no
//! error counts as a lost connection and a failed batch is never retried: what fails here
//! (disk full, IO error, a writer lock held past the busy timeout, a damaged file) fails the
//! same way again.

use std::sync::Arc;

use jiff::Timestamp;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokutei_ledger::{Entry, Hash, NodeId};
use tokutei_store::ledger::{
    Appended, IndexedEntry, LedgerQuery, LedgerStore, StoredCheckpoint, StoredEntry, Visit, VisitIndexed, decision_code,
};
use tokutei_store::sequencer::{Rows, Sequencer, SequencerBackend, SequencerTx};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

/// The audit ledger of a [`SqliteStore`]; owns the sequencer thread (stopped on drop).
#[derive(Debug)]
pub struct SqliteLedger {
    store: Arc<SqliteStore>,
    sequencer: Sequencer,
}

impl SqliteLedger {
    /// Start the sequencer on a dedicated connection of `store`.
    pub fn open(store: Arc<SqliteStore>) -> StoreResult<SqliteLedger> {
        let sequencer = Sequencer::start(Writer(store.connect()?))?;
        Ok(SqliteLedger { store, sequencer })
    }

    /// The store this ledger lives in.
    pub fn store(&self) -> &Arc<SqliteStore> {
        &self.store
    }
}

fn stored_size(conn: &Connection) -> StoreResult<u64> {
    conn.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(backend)
}

fn bytes_of(value: ValueRef<'_>) -> Vec<u8> {
    match value {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        ValueRef::Integer(i) => i.to_be_bytes().to_vec(),
        ValueRef::Real(f) => f.to_be_bytes().to_vec(),
        ValueRef::Null => Vec::new(),
    }
}

/// A stored hash; anything that is not 32 bytes reads as zeros (and fails verification).
fn hash_of(value: ValueRef<'_>) -> Hash {
    match value {
        ValueRef::Blob(b) => b.try_into().unwrap_or([0; 32]),
        _ => [0; 32],
    }
}

fn read_nodes(conn: &Connection, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
    let mut leaves = conn.prepare_cached("SELECT leaf FROM ledger_entries WHERE idx = ?1").map_err(backend)?;
    let mut nodes =
        conn.prepare_cached("SELECT hash FROM ledger_nodes WHERE level = ?1 AND idx = ?2").map_err(backend)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let hash = if id.level == 0 {
            leaves.query_row([id.index as i64], |r| Ok(hash_of(r.get_ref(0)?))).optional()
        } else {
            nodes.query_row(params![id.level, id.index as i64], |r| Ok(hash_of(r.get_ref(0)?))).optional()
        }
        .map_err(backend)?;
        out.push(hash.ok_or_else(|| {
            StoreError::Corrupt(format!("ledger node at level {} index {} is missing", id.level, id.index))
        })?);
    }
    Ok(out)
}

/// The sequencer's connection.
struct Writer(Connection);

/// One group commit's transaction; rolled back when dropped uncommitted.
struct WriteTx<'a>(Transaction<'a>);

impl SequencerBackend for Writer {
    type Error = StoreError;
    type Tx<'a> = WriteTx<'a>;

    fn begin(&mut self, _entries: &[&Entry]) -> StoreResult<WriteTx<'_>> {
        // IMMEDIATE takes the database's writer lock now, waiting up to the busy timeout.
        crate::db::write_tx(&mut self.0).map(WriteTx)
    }

    fn connection_lost(_: &StoreError) -> bool {
        false
    }
}

impl SequencerTx for WriteTx<'_> {
    type Error = StoreError;

    fn stored_size(&mut self) -> StoreResult<u64> {
        stored_size(&self.0)
    }

    fn read_nodes(&mut self, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
        read_nodes(&self.0, ids)
    }

    fn write(&mut self, rows: &Rows<'_>) -> StoreResult<()> {
        let tx = &self.0;
        let mut insert_entry = tx
            .prepare_cached(
                "INSERT INTO ledger_entries (idx, time, staff, purpose, decision, body, leaf)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(backend)?;
        let mut insert_subject = tx
            .prepare_cached("INSERT OR IGNORE INTO ledger_subjects (subscriber, idx) VALUES (?1, ?2)")
            .map_err(backend)?;
        let mut insert_node =
            tx.prepare_cached("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?1, ?2, ?3)").map_err(backend)?;
        for new in &rows.entries {
            let (entry, index) = (new.entry, new.index as i64);
            insert_entry
                .execute(params![
                    index,
                    entry.time.as_microsecond(),
                    entry.staff(),
                    entry.purpose(),
                    entry.decision().map(decision_code),
                    &new.encoded,
                    &new.leaf_hash[..],
                ])
                .map_err(backend)?;
            for subscriber in entry.subscribers() {
                insert_subject.execute(params![subscriber, index]).map_err(backend)?;
            }
        }
        for (id, hash) in &rows.nodes {
            insert_node.execute(params![id.level, id.index as i64, &hash[..]]).map_err(backend)?;
        }
        Ok(())
    }

    fn commit(self) -> StoreResult<()> {
        self.0.commit().map_err(backend)
    }
}

fn stored_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        index: row.get::<_, i64>(0)? as u64,
        encoded: bytes_of(row.get_ref(1)?),
        leaf_hash: hash_of(row.get_ref(2)?),
    })
}

fn stream(stmt: &mut rusqlite::Statement<'_>, params: &[&dyn rusqlite::ToSql], visit: Visit<'_>) -> StoreResult<()> {
    let mut rows = stmt.query(params).map_err(backend)?;
    while let Some(row) = rows.next().map_err(backend)? {
        if !visit(stored_entry(row).map_err(backend)?)? {
            break;
        }
    }
    Ok(())
}

impl LedgerStore for SqliteLedger {
    fn append_batch(&self, entries: &[Entry]) -> StoreResult<Vec<Appended>> {
        self.sequencer.append(entries)
    }

    fn tree_size(&self) -> StoreResult<u64> {
        stored_size(&*self.store.reader()?)
    }

    fn ledger_nodes(&self, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
        read_nodes(&*self.store.reader()?, ids)
    }

    fn ledger_entry(&self, index: u64) -> StoreResult<Option<StoredEntry>> {
        let conn = self.store.reader()?;
        conn.query_row("SELECT idx, body, leaf FROM ledger_entries WHERE idx = ?1", [index as i64], stored_entry)
            .optional()
            .map_err(backend)
    }

    fn scan_entries(&self, from: u64, visit: Visit<'_>) -> StoreResult<()> {
        let conn = self.store.reader()?;
        let mut stmt =
            conn.prepare("SELECT idx, body, leaf FROM ledger_entries WHERE idx >= ?1 ORDER BY idx").map_err(backend)?;
        stream(&mut stmt, &[&(from as i64)], visit)
    }

    fn scan_indexed(&self, from: u64, visit: VisitIndexed<'_>) -> StoreResult<()> {
        let conn = self.store.reader()?;
        // `char(31)` (unit separator) cannot occur in an id: ids are checked printable.
        let mut stmt = conn
            .prepare(
                "SELECT e.idx, e.body, e.leaf, e.time, e.staff, e.purpose, e.decision,
                        (SELECT group_concat(subscriber, char(31)) FROM
                            (SELECT s.subscriber FROM ledger_subjects s WHERE s.idx = e.idx ORDER BY s.subscriber))
                 FROM ledger_entries e WHERE e.idx >= ?1 ORDER BY e.idx",
            )
            .map_err(backend)?;
        let mut rows = stmt.query([from as i64]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let subscribers: Option<String> = row.get(7).map_err(backend)?;
            let indexed = IndexedEntry {
                entry: stored_entry(row).map_err(backend)?,
                time: row.get(3).map_err(backend)?,
                staff: row.get(4).map_err(backend)?,
                purpose: row.get(5).map_err(backend)?,
                decision: row.get(6).map_err(backend)?,
                subscribers: subscribers.map(|s| s.split('\u{1f}').map(str::to_owned).collect()).unwrap_or_default(),
            };
            if !visit(indexed)? {
                break;
            }
        }
        Ok(())
    }

    fn subject_rows(&self) -> StoreResult<u64> {
        let conn = self.store.reader()?;
        conn.query_row("SELECT COUNT(*) FROM ledger_subjects", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(backend)
    }

    fn query_entries(&self, query: &LedgerQuery, visit: Visit<'_>) -> StoreResult<()> {
        let mut sql = String::from("SELECT e.idx, e.body, e.leaf FROM ledger_entries e");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(subscriber) = &query.subscriber {
            args.push(Box::new(subscriber.clone()));
            sql.push_str(&format!(" JOIN ledger_subjects s ON s.idx = e.idx AND s.subscriber = ?{}", args.len()));
        }
        sql.push_str(" WHERE 1 = 1");
        let mut filter = |column: &str, op: &str, value: Box<dyn rusqlite::ToSql>| {
            args.push(value);
            sql.push_str(&format!(" AND {column} {op} ?{}", args.len()));
        };
        if let Some(staff) = &query.staff {
            filter("e.staff", "=", Box::new(staff.clone()));
        }
        if let Some(purpose) = &query.purpose {
            filter("e.purpose", "=", Box::new(purpose.clone()));
        }
        if let Some(decision) = query.decision {
            filter("e.decision", "=", Box::new(decision_code(decision)));
        }
        if let Some(since) = query.since {
            filter("e.time", ">=", Box::new(since.as_microsecond()));
        }
        if let Some(until) = query.until {
            filter("e.time", "<", Box::new(until.as_microsecond()));
        }
        if let Some(from) = query.from_index {
            filter("e.idx", ">=", Box::new(from as i64));
        }
        sql.push_str(" ORDER BY e.idx");
        if let Some(limit) = query.limit {
            sql.push_str(&format!(" LIMIT {}", limit.min(i64::MAX as u64)));
        }
        let conn = self.store.reader()?;
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let params: Vec<&dyn rusqlite::ToSql> = args.iter().map(|b| b.as_ref()).collect();
        stream(&mut stmt, &params, visit)
    }

    fn add_checkpoint(&self, size: u64, note: &str, created_at: Timestamp) -> StoreResult<StoredCheckpoint> {
        let conn = self.store.writer();
        let latest: Option<i64> =
            conn.query_row("SELECT MAX(size) FROM ledger_checkpoints", [], |r| r.get(0)).map_err(backend)?;
        if let Some(latest) = latest
            && (size as i64) < latest
        {
            return Err(StoreError::Conflict(format!(
                "a checkpoint of size {size} is older than the latest one ({latest}); checkpoints never go backwards"
            )));
        }
        conn.execute(
            "INSERT INTO ledger_checkpoints (size, note, created_at) VALUES (?1, ?2, ?3)",
            params![size as i64, note, created_at.to_string()],
        )
        .map_err(backend)?;
        Ok(StoredCheckpoint { id: conn.last_insert_rowid() as u64, size, note: note.to_owned(), created_at })
    }

    fn checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>> {
        let conn = self.store.reader()?;
        let mut stmt =
            conn.prepare("SELECT id, size, note, created_at FROM ledger_checkpoints ORDER BY id").map_err(backend)?;
        let rows = stmt.query_map([], checkpoint_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn recent_checkpoints(&self, limit: usize) -> StoreResult<Vec<StoredCheckpoint>> {
        let conn = self.store.reader()?;
        let mut stmt = conn
            .prepare("SELECT id, size, note, created_at FROM ledger_checkpoints ORDER BY id DESC LIMIT ?1")
            .map_err(backend)?;
        let rows = stmt.query_map([limit.min(i64::MAX as usize) as i64], checkpoint_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn latest_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        let conn = self.store.reader()?;
        conn.query_row(
            "SELECT id, size, note, created_at FROM ledger_checkpoints ORDER BY id DESC LIMIT 1",
            [],
            checkpoint_row,
        )
        .optional()
        .map_err(backend)
    }
}

fn checkpoint_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCheckpoint> {
    let created_at: String = row.get(3)?;
    Ok(StoredCheckpoint {
        id: row.get::<_, i64>(0)? as u64,
        size: row.get::<_, i64>(1)? as u64,
        note: String::from_utf8_lossy(&bytes_of(row.get_ref(2)?)).into_owned(),
        created_at: created_at.parse().map_err(|e: jiff::Error| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.to_string().into())
        })?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SqliteLedger;

    #[test]
    fn conformance_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::SqliteStore::open(&dir.path().join("tokutei.sqlite3")).unwrap());
        let ledger = SqliteLedger::open(store).unwrap();
        tokutei_store::conformance::ledger::run(&ledger);
    }

    #[test]
    fn two_ledgers_on_one_file_stay_contiguous() {
        use tokutei_store::ledger::LedgerStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokutei.sqlite3");
        let a = SqliteLedger::open(Arc::new(crate::SqliteStore::open(&path).unwrap())).unwrap();
        let b = SqliteLedger::open(Arc::new(crate::SqliteStore::open(&path).unwrap())).unwrap();
        let entry = tokutei_store::conformance::ledger::access;
        assert_eq!(a.append(&entry(0)).unwrap().index, 0);
        assert_eq!(b.append(&entry(1)).unwrap().index, 1);
        assert_eq!(a.append(&entry(2)).unwrap().index, 2);
        let mut reference = tokutei_ledger::tree::MemoryTree::new();
        for i in 0..3 {
            reference.push(a.ledger_entry(i).unwrap().unwrap().leaf_hash);
        }
        assert_eq!(b.tree_head_at(3).unwrap(), reference.head());
    }
}
