//! Connecting: a small pool of `postgres::Client`s (each with its prepared statements),
//! migrations at connect, and the mapping of driver errors to [`StoreError`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use postgres::error::{Severity, SqlState};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};
use tokutei_store::{StoreError, StoreResult};

use crate::migrations;

/// Idle connections kept for reuse. More may be open at once (one per concurrent caller);
/// those beyond this bound are closed when returned. It matches the concurrency a `serve`
/// instance runs at (its blocking pool, the benchmark's 64 clients): with fewer kept, every
/// request beyond them paid for a new server backend (a fork and authentication) and the
/// audited PostgreSQL read ran at less than half its rate (`tokutei-bench --only postgres`).
/// Several instances on one server need `max_connections` ≥ instances × this + the ledger's
/// one dedicated connection each (docs/scaling.md).
const MAX_POOLED: usize = 64;

/// Query parameters, as the driver takes them.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The PostgreSQL store. Cheap to share behind an `Arc`.
pub struct PgStore {
    url: Arc<str>,
    pool: Mutex<Vec<Conn>>,
}

impl std::fmt::Debug for PgStore {
    // The URL may hold a password: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self.pool.lock().map(|p| p.len()).unwrap_or(0);
        f.debug_struct("PgStore").field("idle_connections", &idle).finish_non_exhaustive()
    }
}

pub(crate) fn backend(err: postgres::Error) -> StoreError {
    StoreError::backend(BackendError(err))
}

/// A driver error whose message leaves out the server's `DETAIL`, `WHERE` and `HINT`: a
/// detail can quote a whole failing row, and a message carries ids only. The full error
/// stays reachable as the source.
#[derive(Debug)]
struct BackendError(postgres::Error);

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
            None => self.0.fmt(f),
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// An integrity-constraint violation (unique, foreign key, check, not null): SQLite's
/// `ConstraintViolation`.
pub(crate) fn is_constraint(err: &postgres::Error) -> bool {
    err.code().is_some_and(|c| c.code().starts_with("23"))
}

/// A unique violation (duplicate key).
pub(crate) fn is_unique(err: &postgres::Error) -> bool {
    err.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Whether `err` says the connection is gone (the server ended it, the socket broke), rather
/// than that the statement failed.
pub(crate) fn connection_lost(err: &postgres::Error) -> bool {
    err.is_closed()
        || err
            .as_db_error()
            .is_some_and(|e| e.parsed_severity() == Some(Severity::Fatal) || e.code().code().starts_with("57P"))
        || std::error::Error::source(err).is_some_and(|s| s.is::<std::io::Error>())
}

impl PgStore {
    /// Connect to the database at `url` (a `postgresql://` URL or `key=value` pairs) and bring
    /// its schema up to date. Refuses a database written by a newer tokutei.
    pub fn connect(url: &str) -> StoreResult<PgStore> {
        let url: Arc<str> = Arc::from(url);
        let mut first = Conn::open(url.clone()).map_err(backend)?;
        migrations::migrate(&mut first.client)?;
        Ok(PgStore { url, pool: Mutex::new(vec![first]) })
    }

    /// A new connection outside the pool, for a caller that keeps it (the ledger sequencer).
    pub(crate) fn dedicated(&self) -> Result<Client, postgres::Error> {
        Client::connect(&self.url, NoTls)
    }

    /// A connection from the pool (a new one when none is idle); returned on drop.
    pub(crate) fn conn(&self) -> StoreResult<Pooled<'_>> {
        let idle = {
            let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
            // A connection the server closed (restart, idle timeout) is dropped here.
            loop {
                match pool.pop() {
                    Some(c) if c.client.is_closed() => continue,
                    other => break other,
                }
            }
        };
        let conn = match idle {
            Some(c) => Conn { idle: true, ..c },
            None => Conn::open(self.url.clone()).map_err(backend)?,
        };
        Ok(Pooled { store: self, conn: Some(conn) })
    }
}

/// One connection and the statements prepared on it.
pub(crate) struct Conn {
    client: Client,
    statements: Statements,
    url: Arc<str>,
    /// Just taken from the pool: if the server closed it while it waited there (restart,
    /// idle timeout), its first statement fails without effect, so the connection is
    /// reopened and the statement run again.
    idle: bool,
    /// A transaction on it could not be rolled back: it is never reused.
    broken: bool,
}

impl Conn {
    fn open(url: Arc<str>) -> Result<Conn, postgres::Error> {
        let client = Client::connect(&url, NoTls)?;
        Ok(Conn { client, statements: Statements::default(), url, idle: false, broken: false })
    }

    /// Run `op`, on a reopened connection when this one was closed while idle in the pool.
    /// Only reads, idempotent updates and `BEGIN` go through here: a write that is not
    /// idempotent runs in a transaction, so it is never run twice.
    fn run<T>(
        &mut self,
        mut op: impl FnMut(&mut Client, &mut Statements) -> Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        let was_idle = std::mem::replace(&mut self.idle, false);
        match op(&mut self.client, &mut self.statements) {
            Err(e) if was_idle && (self.client.is_closed() || connection_lost(&e)) => {
                *self = Conn::open(self.url.clone())?;
                op(&mut self.client, &mut self.statements)
            }
            result => result,
        }
    }

    /// Begin a transaction; it rolls back when dropped without [`Tx::commit`].
    pub(crate) fn transaction(&mut self) -> StoreResult<Tx<'_>> {
        self.run(|client, _| client.batch_execute("BEGIN")).map_err(backend)?;
        Ok(Tx { conn: self, open: true })
    }

    pub(crate) fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        self.run(|client, statements| {
            let stmt = statements.get(client, sql)?;
            client.query(&stmt, params)
        })
    }

    pub(crate) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        self.run(|client, statements| {
            let stmt = statements.get(client, sql)?;
            client.query_opt(&stmt, params)
        })
    }

    pub(crate) fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        self.run(|client, statements| {
            let stmt = statements.get(client, sql)?;
            client.query_one(&stmt, params)
        })
    }

    pub(crate) fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        self.run(|client, statements| {
            let stmt = statements.get(client, sql)?;
            client.execute(&stmt, params)
        })
    }
}

/// A transaction on a pooled connection, using the connection's prepared statements. Rolled
/// back when dropped uncommitted (an early return on error, a panic).
pub(crate) struct Tx<'a> {
    conn: &'a mut Conn,
    open: bool,
}

impl Tx<'_> {
    pub(crate) fn commit(mut self) -> StoreResult<()> {
        self.open = false;
        // A failed COMMIT ends the transaction too (rolled back), or the connection is closed.
        self.conn.client.batch_execute("COMMIT").map_err(backend)
    }

    /// Statements without parameters, sent as one simple query.
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.conn.client.batch_execute(sql)
    }

    pub(crate) fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let Conn { client, statements, .. } = &mut *self.conn;
        let stmt = statements.get(client, sql)?;
        client.query(&stmt, params)
    }

    pub(crate) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let Conn { client, statements, .. } = &mut *self.conn;
        let stmt = statements.get(client, sql)?;
        client.query_opt(&stmt, params)
    }

    pub(crate) fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let Conn { client, statements, .. } = &mut *self.conn;
        let stmt = statements.get(client, sql)?;
        client.query_one(&stmt, params)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let Conn { client, statements, .. } = &mut *self.conn;
        let stmt = statements.get(client, sql)?;
        client.execute(&stmt, params)
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open && self.conn.client.batch_execute("ROLLBACK").is_err() {
            self.conn.broken = true;
        }
    }
}

/// Statements prepared on one connection, by their SQL text. Prepared statements are not
/// transactional (a rollback keeps them), so they serve every later use of the connection.
#[derive(Default)]
struct Statements(HashMap<String, Statement>);

impl Statements {
    fn get(&mut self, client: &mut Client, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(stmt) = self.0.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = client.prepare(sql)?;
        self.0.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

/// A pooled connection; returned to the pool on drop unless the server closed it.
pub(crate) struct Pooled<'a> {
    store: &'a PgStore,
    conn: Option<Conn>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        // INVARIANT: `conn` is only taken in `drop`.
        self.conn.as_ref().expect("pooled connection present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("pooled connection present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !conn.broken
            && !conn.client.is_closed()
            && let Ok(mut pool) = self.store.pool.lock()
            && pool.len() < MAX_POOLED
        {
            pool.push(conn);
        }
    }
}
