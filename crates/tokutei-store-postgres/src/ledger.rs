//! The audit ledger on PostgreSQL (`0002_ledger.sql`, partitioned by month in
//! `0007_ledger_partitions.sql`), with group commit per instance and any number of instances
//! appending to one ledger.
//!
//! Appends go through the shared sequencer (`tokutei_store::sequencer`: batching up to
//! [`MAX_BATCH`] entries, indexes, encoding, leaf hashes, the tree's right edge and its reload
//! when another instance appended, replies, and the retry of a batch whose connection was lost
//! before commit), one sequencer thread per [`PgLedger`] with its own connection. This module
//! supplies what is native to PostgreSQL: each batch's transaction takes the ledger's
//! transaction-level advisory lock (so the sequencers of all instances write one after the
//! other), reads the stored size, writes the entries, their subscriber rows, every interior
//! node they complete and the batch's run row, each table in one statement, and commits
//! (`synchronous_commit = on`: durable); a driver error is a lost connection when the
//! connection closed or the server ended the session ([`connection_lost`]), and the connection
//! is then opened again for the next attempt. The lock is released only once the commit is
//! visible, and each statement of a READ COMMITTED transaction reads the latest committed
//! state, so the size read after taking the lock is always the true one.
//!
//! Entries and their subscriber rows live in one partition per month (Japan time). Before a
//! batch whose entries fall in a month it has not seen, the sequencer asks the database to
//! make sure that month's partitions and the next month's exist (`tokutei_ledger_partition`),
//! so appends never fail for lack of a partition and the DDL normally runs a month ahead.
//! Every group commit also records its run of indexes and its time span in `ledger_batches`:
//! the stored size is read there, a lookup by index reads only the partitions of its run's
//! time span, and the table's exclusion constraint keeps indexes unique across partitions.
//!
//! Reads use pooled connections; scans and queries stream in index order, one page at a time.
//! A query with a time range (`since`/`until`) reads only the partitions of that range.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, Row, Statement, Transaction};
use tokutei_ledger::{Entry, Hash, NodeId};
use tokutei_store::ledger::{
    Appended, IndexedEntry, LedgerQuery, LedgerStore, StoredCheckpoint, StoredEntry, Visit, VisitIndexed, decision_code,
};
pub use tokutei_store::sequencer::MAX_BATCH;
use tokutei_store::sequencer::{Rows, Sequencer, SequencerBackend, SequencerTx};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, get, u64_col};
use crate::db::{Params, backend, connection_lost};

/// Serialises the sequencers of every instance (a transaction-level advisory lock; the key is
/// arbitrary but fixed, and differs from the migration lock's).
const APPEND_LOCK: i64 = 7_402_117_356;

/// Serialises checkpoint writers, so that ids follow the order of commits.
const CHECKPOINT_LOCK: i64 = 7_402_117_357;

/// Rows of the first page of a scan; later pages double up to [`MAX_PAGE`].
const FIRST_PAGE: u64 = 256;
const MAX_PAGE: u64 = 8_192;

const STORED_SIZE: &str =
    "SELECT COALESCE((SELECT first_idx + size FROM ledger_batches ORDER BY first_idx DESC LIMIT 1), 0)";

/// `columns` of the entries whose indexes are in the array `$1`, reading only the partitions
/// of the time span of the group commits that stored them: the bounds come from subqueries
/// (init plans), so the executor prunes the other partitions before it starts.
fn by_index(columns: &str) -> String {
    let span = |aggregate: &str, column: &str| {
        format!(
            "(SELECT {aggregate}(b.{column}) FROM unnest($1::bigint[]) AS w (idx) CROSS JOIN LATERAL
                 (SELECT b.{column} FROM ledger_batches b WHERE b.first_idx <= w.idx ORDER BY b.first_idx DESC LIMIT 1) b)"
        )
    };
    format!(
        "SELECT {columns} FROM ledger_entries WHERE idx = ANY($1) AND time >= {} AND time <= {}",
        span("MIN", "min_time"),
        span("MAX", "max_time")
    )
}

/// The audit ledger of a [`PgStore`]; owns the sequencer thread (stopped on drop).
#[derive(Debug)]
pub struct PgLedger {
    store: Arc<PgStore>,
    sequencer: Sequencer,
}

impl PgLedger {
    /// Start the sequencer on a dedicated connection to `store`'s database.
    pub fn open(store: Arc<PgStore>) -> StoreResult<PgLedger> {
        let writer = Writer::connect(&store)?;
        let sequencer =
            Sequencer::start(Appender { store: Arc::clone(&store), writer: Some(writer), months: Vec::new() })?;
        Ok(PgLedger { store, sequencer })
    }

    /// The store this ledger lives in.
    pub fn store(&self) -> &Arc<PgStore> {
        &self.store
    }
}

/// The statements the sequencer prepares on its connection.
struct Statements {
    lock: Statement,
    size: Statement,
    partition: Statement,
    entries: Statement,
    subjects: Statement,
    nodes: Statement,
    batches: Statement,
}

/// The sequencer's connection and the statements prepared on it.
struct Writer {
    client: Client,
    statements: Statements,
}

impl Writer {
    fn connect(store: &PgStore) -> StoreResult<Writer> {
        let mut client = store.dedicated().map_err(backend)?;
        // An append returns only once its commit is flushed, whatever the server's default.
        client.batch_execute("SET synchronous_commit = on").map_err(backend)?;
        let mut prepare = |sql: &str| client.prepare(sql).map_err(backend);
        let lock = prepare("SELECT pg_advisory_xact_lock($1)")?;
        let size = prepare(STORED_SIZE)?;
        let partition = prepare("SELECT lo, hi FROM tokutei_ledger_partition($1)")?;
        let entries = prepare(
            "INSERT INTO ledger_entries (idx, time, staff, purpose, decision, body, leaf)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bytea[],
                 $7::bytea[])",
        )?;
        // An entry may name a subscriber twice; its row is written once.
        let subjects = prepare(
            "INSERT INTO ledger_subjects (subscriber, idx, time)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
             ON CONFLICT DO NOTHING",
        )?;
        let nodes = prepare(
            "INSERT INTO ledger_nodes (level, idx, hash) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])",
        )?;
        let batches =
            prepare("INSERT INTO ledger_batches (first_idx, size, min_time, max_time) VALUES ($1, $2, $3, $4)")?;
        Ok(Writer { client, statements: Statements { lock, size, partition, entries, subjects, nodes, batches } })
    }
}

/// What the sequencer needs of PostgreSQL.
struct Appender {
    store: Arc<PgStore>,
    /// `None` after the connection was lost; opened again for the next attempt.
    writer: Option<Writer>,
    /// `[lo, hi)` of the months whose partitions (and the next month's) are known to exist.
    months: Vec<(i64, i64)>,
}

/// An error of the sequencer's statements: the driver's own (which may be a lost connection)
/// or one of the store's (never one).
enum AppendError {
    Driver(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for AppendError {
    fn from(e: postgres::Error) -> AppendError {
        AppendError::Driver(e)
    }
}

impl From<StoreError> for AppendError {
    fn from(e: StoreError) -> AppendError {
        AppendError::Store(e)
    }
}

impl From<AppendError> for StoreError {
    fn from(e: AppendError) -> StoreError {
        match e {
            AppendError::Driver(e) => backend(e),
            AppendError::Store(e) => e,
        }
    }
}

/// One group commit's transaction, under the append lock; rolled back when dropped
/// uncommitted.
struct AppendTx<'a> {
    tx: Transaction<'a>,
    statements: &'a Statements,
}

impl SequencerBackend for Appender {
    type Error = AppendError;
    type Tx<'a> = AppendTx<'a>;

    fn begin(&mut self, entries: &[&Entry]) -> Result<AppendTx<'_>, AppendError> {
        let writer = match self.writer.take() {
            Some(w) if !w.client.is_closed() => self.writer.insert(w),
            _ => self.writer.insert(Writer::connect(&self.store)?),
        };
        let Writer { client, statements } = writer;
        // Partitions first, each in its own short transaction: never under the append lock.
        for time in entries.iter().map(|entry| entry.time.as_microsecond()) {
            if !self.months.iter().any(|&(lo, hi)| lo <= time && time < hi) {
                let row = client.query_one(&statements.partition, &[&time])?;
                self.months.push((get(&row, 0)?, get(&row, 1)?));
            }
        }
        // READ COMMITTED whatever the server's default: the size is read after the lock is
        // taken, in a snapshot that includes the previous holder's commit.
        let mut tx = client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start()?;
        tx.execute(&statements.lock, &[&APPEND_LOCK])?;
        Ok(AppendTx { tx, statements })
    }

    fn connection_lost(error: &AppendError) -> bool {
        matches!(error, AppendError::Driver(e) if connection_lost(e))
    }

    fn reset(&mut self, connection_lost: bool) {
        // A partition dropped behind this instance's back is made again.
        self.months.clear();
        if connection_lost || self.writer.as_ref().is_some_and(|w| w.client.is_closed()) {
            self.writer = None;
        }
    }
}

impl SequencerTx for AppendTx<'_> {
    type Error = AppendError;

    fn stored_size(&mut self) -> Result<u64, AppendError> {
        Ok(u64_col(&self.tx.query_one(&self.statements.size, &[])?, 0)?)
    }

    fn read_nodes(&mut self, ids: &[NodeId]) -> Result<Vec<Hash>, AppendError> {
        read_nodes(|sql, params| self.tx.query(sql, params).map_err(AppendError::Driver), ids)
    }

    fn write(&mut self, rows: &Rows<'_>) -> Result<(), AppendError> {
        let (tx, statements) = (&mut self.tx, self.statements);
        let columns = Columns::of(rows)?;
        if let (Some(&first), Some(&min), Some(&max)) =
            (columns.idx.first(), columns.time.iter().min(), columns.time.iter().max())
        {
            let size = columns.idx.len() as i64;
            tx.execute(&statements.batches, &[&first, &size, &min, &max])?;
            tx.execute(
                &statements.entries,
                &[
                    &columns.idx,
                    &columns.time,
                    &columns.staff,
                    &columns.purpose,
                    &columns.decision,
                    &columns.body,
                    &columns.leaf,
                ],
            )?;
        }
        if !columns.subject_idx.is_empty() {
            tx.execute(&statements.subjects, &[&columns.subjects, &columns.subject_idx, &columns.subject_time])?;
        }
        if !columns.node_level.is_empty() {
            tx.execute(&statements.nodes, &[&columns.node_level, &columns.node_idx, &columns.node_hash])?;
        }
        Ok(())
    }

    fn commit(self) -> Result<(), AppendError> {
        Ok(self.tx.commit()?)
    }
}

/// The rows of one group commit, column by column (each table is written in one statement).
struct Columns<'a> {
    idx: Vec<i64>,
    time: Vec<i64>,
    staff: Vec<Option<&'a str>>,
    purpose: Vec<Option<&'a str>>,
    decision: Vec<Option<i64>>,
    body: Vec<&'a [u8]>,
    leaf: Vec<&'a [u8]>,
    subjects: Vec<&'a str>,
    subject_idx: Vec<i64>,
    subject_time: Vec<i64>,
    node_level: Vec<i64>,
    node_idx: Vec<i64>,
    node_hash: Vec<&'a [u8]>,
}

impl<'a> Columns<'a> {
    fn of(rows: &'a Rows<'a>) -> StoreResult<Columns<'a>> {
        let n = rows.entries.len();
        let mut c = Columns {
            idx: Vec::with_capacity(n),
            time: Vec::with_capacity(n),
            staff: Vec::with_capacity(n),
            purpose: Vec::with_capacity(n),
            decision: Vec::with_capacity(n),
            body: Vec::with_capacity(n),
            leaf: Vec::with_capacity(n),
            subjects: Vec::with_capacity(n),
            subject_idx: Vec::with_capacity(n),
            subject_time: Vec::with_capacity(n),
            node_level: Vec::with_capacity(rows.nodes.len()),
            node_idx: Vec::with_capacity(rows.nodes.len()),
            node_hash: Vec::with_capacity(rows.nodes.len()),
        };
        for new in &rows.entries {
            let (idx, entry) = (bigint(new.index)?, new.entry);
            let time = entry.time.as_microsecond();
            c.idx.push(idx);
            c.time.push(time);
            c.staff.push(entry.staff());
            c.purpose.push(entry.purpose());
            c.decision.push(entry.decision().map(decision_code));
            c.body.push(&new.encoded);
            c.leaf.push(&new.leaf_hash);
            for subscriber in entry.subscribers() {
                c.subjects.push(subscriber);
                c.subject_idx.push(idx);
                c.subject_time.push(time);
            }
        }
        for (id, hash) in &rows.nodes {
            c.node_level.push(i64::from(id.level));
            c.node_idx.push(bigint(id.index)?);
            c.node_hash.push(hash);
        }
        Ok(c)
    }
}

/// A stored hash; anything that is not 32 bytes reads as zeros (and fails verification).
fn hash_of(bytes: &[u8]) -> Hash {
    bytes.try_into().unwrap_or([0; 32])
}

/// Stored node hashes (level 0 from the entries' leaves), in the order of `ids`: two
/// statements, whatever the number of ids. `query` runs a statement (the error type is the
/// caller's, so the sequencer keeps the driver's error to tell a lost connection).
fn read_nodes<E: From<StoreError>>(
    mut query: impl FnMut(&str, Params<'_>) -> Result<Vec<Row>, E>,
    ids: &[NodeId],
) -> Result<Vec<Hash>, E> {
    let mut found: HashMap<NodeId, Hash> = HashMap::with_capacity(ids.len());
    let mut leaves = Vec::new();
    let (mut levels, mut indexes) = (Vec::new(), Vec::new());
    for id in ids {
        if id.level == 0 {
            leaves.push(bigint(id.index)?);
        } else {
            levels.push(i64::from(id.level));
            indexes.push(bigint(id.index)?);
        }
    }
    if !leaves.is_empty() {
        for row in query(&by_index("idx, leaf"), &[&leaves])? {
            let hash: &[u8] = get(&row, 1)?;
            found.insert(NodeId::new(0, u64_col(&row, 0)?), hash_of(hash));
        }
    }
    if !levels.is_empty() {
        let rows = query(
            "SELECT n.level, n.idx, n.hash FROM ledger_nodes n
             JOIN unnest($1::bigint[], $2::bigint[]) AS w (level, idx) ON n.level = w.level AND n.idx = w.idx",
            &[&levels, &indexes],
        )?;
        for row in rows {
            let level = u64_col(&row, 0)?;
            let level = u8::try_from(level).map_err(|_| corrupt(&row, 0, format!("{level} is out of range")))?;
            let hash: &[u8] = get(&row, 2)?;
            found.insert(NodeId::new(level, u64_col(&row, 1)?), hash_of(hash));
        }
    }
    let hashes: StoreResult<Vec<Hash>> = ids
        .iter()
        .map(|id| {
            found.get(id).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("ledger node at level {} index {} is missing", id.level, id.index))
            })
        })
        .collect();
    hashes.map_err(E::from)
}

fn stored_entry(row: &Row) -> StoreResult<StoredEntry> {
    let leaf: &[u8] = get(row, 2)?;
    Ok(StoredEntry { index: u64_col(row, 0)?, encoded: get(row, 1)?, leaf_hash: hash_of(leaf) })
}

fn checkpoint_row(row: &Row) -> StoreResult<StoredCheckpoint> {
    let created_at: &str = get(row, 3)?;
    Ok(StoredCheckpoint {
        id: u64_col(row, 0)?,
        size: u64_col(row, 1)?,
        note: get(row, 2)?,
        created_at: created_at.parse().map_err(|e| corrupt(row, 3, e))?,
    })
}

impl PgLedger {
    /// Run `sql` (whose last two parameters are the first index and the page size, after
    /// `args`) page by page from index `from`, visiting at most `limit` rows in index order.
    /// Each page is read on a pooled connection that is given back before visiting.
    fn pages(
        &self,
        sql: &str,
        args: &[Box<dyn ToSql + Sync>],
        from: u64,
        limit: Option<u64>,
        visit: Visit<'_>,
    ) -> StoreResult<()> {
        self.pages_of(sql, args, from, limit, stored_entry, &mut |e| Ok((e.index, visit(e)?)))
    }

    /// [`PgLedger::pages`] with any row type: `row` reads one, `visit` returns its index and
    /// whether to go on.
    fn pages_of<T>(
        &self,
        sql: &str,
        args: &[Box<dyn ToSql + Sync>],
        from: u64,
        limit: Option<u64>,
        row: fn(&Row) -> StoreResult<T>,
        visit: &mut dyn FnMut(T) -> StoreResult<(u64, bool)>,
    ) -> StoreResult<()> {
        let mut cursor = bigint(from)?;
        let mut remaining = limit.unwrap_or(u64::MAX);
        let mut page = FIRST_PAGE;
        while remaining > 0 {
            let want = page.min(remaining);
            let want_sql = bigint(want)?;
            let rows = {
                let mut params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
                params.push(&cursor);
                params.push(&want_sql);
                self.store.conn()?.query(sql, &params).map_err(backend)?
            };
            let got = rows.len() as u64;
            for r in &rows {
                let (index, go_on) = visit(row(r)?)?;
                cursor = bigint(index)?.saturating_add(1);
                if !go_on {
                    return Ok(());
                }
            }
            if got < want {
                break;
            }
            remaining -= got;
            page = (page * 2).min(MAX_PAGE);
        }
        Ok(())
    }
}

fn indexed_entry(row: &Row) -> StoreResult<IndexedEntry> {
    Ok(IndexedEntry {
        entry: stored_entry(row)?,
        time: get(row, 3)?,
        staff: get(row, 4)?,
        purpose: get(row, 5)?,
        decision: get(row, 6)?,
        subscribers: get(row, 7)?,
    })
}

/// Statement arguments, owned.
type Args = Vec<Box<dyn ToSql + Sync>>;

/// The statement of `query` (its last two parameters are the first index and the page size,
/// after the returned arguments) and the first index; `None` when nothing can match.
///
/// Time bounds are put on both tables, and a subject row is joined on the entry's time as
/// well as its index, so the planner keeps only the partitions of the period on both sides.
fn query_sql(query: &LedgerQuery) -> Option<(String, Args, u64)> {
    let from = query.from_index.unwrap_or(0);
    i64::try_from(from).ok()?;
    let mut sql = String::from("SELECT e.idx, e.body, e.leaf FROM ledger_entries e");
    let mut args: Args = Vec::new();
    let mut times = vec!["e.time"];
    if let Some(subscriber) = &query.subscriber {
        args.push(Box::new(subscriber.clone()));
        sql.push_str(&format!(
            " JOIN ledger_subjects s ON s.idx = e.idx AND s.time = e.time AND s.subscriber = ${}",
            args.len()
        ));
        times.push("s.time");
    }
    sql.push_str(" WHERE TRUE");
    let mut filter = |columns: &[&str], op: &str, value: Box<dyn ToSql + Sync>| {
        args.push(value);
        for column in columns {
            sql.push_str(&format!(" AND {column} {op} ${}", args.len()));
        }
    };
    if let Some(staff) = &query.staff {
        filter(&["e.staff"], "=", Box::new(staff.clone()));
    }
    if let Some(purpose) = &query.purpose {
        filter(&["e.purpose"], "=", Box::new(purpose.clone()));
    }
    if let Some(decision) = query.decision {
        filter(&["e.decision"], "=", Box::new(decision_code(decision)));
    }
    if let Some(since) = query.since {
        filter(&times, ">=", Box::new(since.as_microsecond()));
    }
    if let Some(until) = query.until {
        filter(&times, "<", Box::new(until.as_microsecond()));
    }
    sql.push_str(&format!(" AND e.idx >= ${} ORDER BY e.idx LIMIT ${}", args.len() + 1, args.len() + 2));
    Some((sql, args, from))
}

impl PgLedger {
    /// The server's plan for the first page of `query` (`EXPLAIN`, without costs), one line
    /// per string: shows which partitions the query reads.
    pub fn explain_query(&self, query: &LedgerQuery) -> StoreResult<Vec<String>> {
        let Some((sql, args, from)) = query_sql(query) else {
            return Ok(Vec::new());
        };
        let (from, page) = (bigint(from)?, bigint(query.limit.unwrap_or(FIRST_PAGE).min(FIRST_PAGE))?);
        let mut params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        params.push(&from);
        params.push(&page);
        let rows = self.store.conn()?.query(&format!("EXPLAIN (COSTS OFF) {sql}"), &params).map_err(backend)?;
        rows.iter().map(|row| get(row, 0)).collect()
    }

    /// The plan of reading entry `index` as it ran (`EXPLAIN ANALYZE`, without costs or
    /// timings): partitions pruned at run time show as never executed.
    pub fn explain_entry(&self, index: u64) -> StoreResult<Vec<String>> {
        let sql = format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {}", by_index("idx, body, leaf"));
        let rows = self.store.conn()?.query(&sql, &[&vec![bigint(index)?]]).map_err(backend)?;
        rows.iter().map(|row| get(row, 0)).collect()
    }
}

impl LedgerStore for PgLedger {
    fn append_batch(&self, entries: &[Entry]) -> StoreResult<Vec<Appended>> {
        self.sequencer.append(entries)
    }

    fn tree_size(&self) -> StoreResult<u64> {
        let row = self.store.conn()?.query_one(STORED_SIZE, &[]).map_err(backend)?;
        u64_col(&row, 0)
    }

    fn ledger_nodes(&self, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
        let mut conn = self.store.conn()?;
        read_nodes(|sql, params| conn.query(sql, params).map_err(backend), ids)
    }

    fn ledger_entry(&self, index: u64) -> StoreResult<Option<StoredEntry>> {
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        let row = self.store.conn()?.query_opt(&by_index("idx, body, leaf"), &[&vec![index]]).map_err(backend)?;
        row.as_ref().map(stored_entry).transpose()
    }

    fn scan_entries(&self, from: u64, visit: Visit<'_>) -> StoreResult<()> {
        if i64::try_from(from).is_err() {
            return Ok(());
        }
        self.pages(
            "SELECT idx, body, leaf FROM ledger_entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
            &[],
            from,
            None,
            visit,
        )
    }

    fn scan_indexed(&self, from: u64, visit: VisitIndexed<'_>) -> StoreResult<()> {
        if i64::try_from(from).is_err() {
            return Ok(());
        }
        // Subscriber rows are joined on the entry's time too, which keeps each lookup in the
        // entry's own partition.
        self.pages_of(
            "SELECT e.idx, e.body, e.leaf, e.time, e.staff, e.purpose, e.decision,
                    ARRAY(SELECT s.subscriber FROM ledger_subjects s
                          WHERE s.idx = e.idx AND s.time = e.time ORDER BY s.subscriber)
             FROM ledger_entries e WHERE e.idx >= $1 ORDER BY e.idx LIMIT $2",
            &[],
            from,
            None,
            indexed_entry,
            &mut |e| {
                let index = e.entry.index;
                Ok((index, visit(e)?))
            },
        )
    }

    fn subject_rows(&self) -> StoreResult<u64> {
        let row = self.store.conn()?.query_one("SELECT COUNT(*) FROM ledger_subjects", &[]).map_err(backend)?;
        u64_col(&row, 0)
    }

    fn query_entries(&self, query: &LedgerQuery, visit: Visit<'_>) -> StoreResult<()> {
        let Some((sql, args, from)) = query_sql(query) else {
            return Ok(());
        };
        self.pages(&sql, &args, from, query.limit, visit)
    }

    fn add_checkpoint(&self, size: u64, note: &str, created_at: Timestamp) -> StoreResult<StoredCheckpoint> {
        let size_sql = bigint(size)?;
        let mut conn = self.store.conn()?;
        let mut tx = conn.transaction()?;
        // Writers take turns, so ids follow the order of commits; the latest size is read
        // after the lock is taken (READ COMMITTED: a fresh snapshot per statement).
        tx.batch_execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHECKPOINT_LOCK]).map_err(backend)?;
        let latest = tx
            .query_opt("SELECT size FROM ledger_checkpoints ORDER BY id DESC LIMIT 1", &[])
            .map_err(backend)?
            .map(|row| u64_col(&row, 0))
            .transpose()?;
        // Checkpoint sizes never go back (a verifier refuses that): a checkpoint signed
        // before another instance stored one of a larger tree is not stored after it.
        if let Some(latest) = latest
            && latest > size
        {
            return Err(StoreError::Conflict(format!(
                "a checkpoint of tree size {latest} is already stored; one of size {size} would go back"
            )));
        }
        let row = tx
            .query_one(
                "INSERT INTO ledger_checkpoints (size, note, created_at) VALUES ($1, $2, $3) RETURNING id",
                &[&size_sql, &note, &created_at.to_string()],
            )
            .map_err(backend)?;
        let id = u64_col(&row, 0)?;
        tx.commit()?;
        Ok(StoredCheckpoint { id, size, note: note.to_owned(), created_at })
    }

    fn checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>> {
        let rows = self
            .store
            .conn()?
            .query("SELECT id, size, note, created_at FROM ledger_checkpoints ORDER BY id", &[])
            .map_err(backend)?;
        rows.iter().map(checkpoint_row).collect()
    }

    fn recent_checkpoints(&self, limit: usize) -> StoreResult<Vec<StoredCheckpoint>> {
        let rows = self
            .store
            .conn()?
            .query(
                "SELECT id, size, note, created_at FROM ledger_checkpoints ORDER BY id DESC LIMIT $1",
                &[&(limit.min(i64::MAX as usize) as i64)],
            )
            .map_err(backend)?;
        rows.iter().map(checkpoint_row).collect()
    }

    fn latest_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        let row = self
            .store
            .conn()?
            .query_opt("SELECT id, size, note, created_at FROM ledger_checkpoints ORDER BY id DESC LIMIT 1", &[])
            .map_err(backend)?;
        row.as_ref().map(checkpoint_row).transpose()
    }
}
