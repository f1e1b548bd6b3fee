//! Opening the database file: pragmas, migrations, and a small pool of connections.
//!
//! SQLite allows one writer at a time, so writes share one connection behind a mutex;
//! reads take a connection from a pool and run in parallel thanks to WAL.
//!
//! The database file is created readable and writable by its owner only (0600), whatever
//! the umask; SQLite gives its `-wal`, `-shm` and `-journal` files the database file's mode,
//! so they are 0600 too. A file found readable by others is tightened to 0600 when opened.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;
use tokutei_store::{StoreError, StoreResult};

use crate::migrations;

/// Read connections kept for reuse. Opening one costs far more than a point read (file open,
/// pragmas, statement preparation), so the pool keeps as many as there are concurrent
/// readers, up to this bound.
const MAX_POOLED_READERS: usize = 256;

/// The SQLite store. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// A pooled read connection; returned to the pool on drop.
#[derive(Debug)]
pub struct Reader<'a> {
    store: &'a SqliteStore,
    conn: Option<Connection>,
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // INVARIANT: `conn` is only taken in `drop`.
        self.conn.as_ref().expect("reader connection present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && let Ok(mut pool) = self.store.readers.lock()
            && pool.len() < MAX_POOLED_READERS
        {
            pool.push(conn);
        }
    }
}

pub(crate) fn backend(err: rusqlite::Error) -> StoreError {
    StoreError::backend(err)
}

/// Begin a write transaction on `conn`, taking the database's write lock at once
/// (`BEGIN IMMEDIATE`), so it waits its turn under the busy timeout behind another process's
/// writer. A deferred transaction that reads before it writes fails at once with "database is
/// locked" when another process committed in between (WAL cannot upgrade its stale snapshot),
/// whatever the timeout: `serve`'s own retention run beside an API call, or a CLI command beside
/// `serve`. Every write transaction of this crate begins here (tidy checks it).
pub(crate) fn write_tx(conn: &mut Connection) -> StoreResult<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    /// Refuses a database written by a newer tokutei.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        create_private(path)?;
        let mut writer = connect(path)?;
        migrations::migrate(&mut writer)?;
        Ok(SqliteStore { path: path.to_path_buf(), writer: Mutex::new(writer), readers: Mutex::new(Vec::new()) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The write connection. Hold it only for the duration of one transaction.
    pub fn writer(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock means a panic mid-transaction; SQLite rolled it back, so the
        // connection is still usable.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A read connection from the pool.
    pub fn reader(&self) -> StoreResult<Reader<'_>> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        Ok(Reader { store: self, conn: Some(conn) })
    }

    /// Open a separate connection to the same file (for a dedicated writer thread such as
    /// the ledger sequencer).
    pub fn connect(&self) -> StoreResult<Connection> {
        connect(&self.path)
    }
}

/// Create `path` empty with mode 0600 if it does not exist (SQLite then fills it and makes
/// its side files with the same mode), or take group and other permissions away from it and
/// its side files if it does.
pub(crate) fn create_private(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    let Ok(meta) = std::fs::metadata(&file) else { continue };
                    let mode = meta.permissions().mode();
                    if meta.is_file() && mode & 0o077 != 0 {
                        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))
                            .map_err(StoreError::backend)?;
                    }
                }
            }
            Err(e) => return Err(StoreError::backend(e)),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn connect(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;
         PRAGMA mmap_size = 1073741824;",
    )
    .map_err(backend)?;
    Ok(conn)
}
