//! Copying the database to and from another backend ([`SnapshotStore`]): the table list,
//! columns, keys and foreign keys come from SQLite's catalog (`sqlite_schema` and the
//! `pragma_*` table functions), an export reads every table in one read transaction (a WAL
//! snapshot, so writers may go on), and a load inserts in one `BEGIN IMMEDIATE` transaction on
//! the writer connection, with foreign keys and triggers left on. Also the online backup of
//! the whole file (SQLite's backup API) and its restore.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::MutexGuard;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokutei_store::snapshot::{BATCH_ROWS, Load, Row, SEEDED_TABLES, Schema, SnapshotStore, Table, Value, Visit};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

/// An identifier, quoted for SQL (names come from the catalog, never from input).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn schema_of(conn: &Connection) -> StoreResult<Schema> {
    let migrations = {
        let mut stmt = conn.prepare("SELECT name FROM schema_migrations ORDER BY version").map_err(backend)?;
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?
    };
    let names: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                 AND name <> 'schema_migrations' ORDER BY name",
            )
            .map_err(backend)?;
        stmt.query_map([], |r| r.get(0)).map_err(backend)?.collect::<Result<_, _>>().map_err(backend)?
    };
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let mut stmt = conn.prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid").map_err(backend)?;
        let info: Vec<(String, i64)> = stmt
            .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        let columns: Vec<String> = info.iter().map(|(c, _)| c.clone()).collect();
        let mut key: Vec<(i64, String)> = info.into_iter().filter(|(_, pk)| *pk > 0).map(|(c, pk)| (pk, c)).collect();
        key.sort();
        let mut stmt = conn.prepare("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)").map_err(backend)?;
        let references: BTreeSet<String> = stmt
            .query_map([&name], |r| r.get(0))
            .map_err(backend)?
            .collect::<Result<BTreeSet<String>, _>>()
            .map_err(backend)?
            .into_iter()
            .filter(|r| *r != name)
            .collect();
        tables.push(Table { name, columns, key: key.into_iter().map(|(_, c)| c).collect(), references });
    }
    Schema::new(migrations, tables)
}

fn row_counts_of(conn: &Connection) -> StoreResult<BTreeMap<String, u64>> {
    let schema = schema_of(conn)?;
    let mut counts = BTreeMap::new();
    for table in &schema.tables {
        let n: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {}", ident(&table.name)), [], |r| r.get(0))
            .map_err(backend)?;
        counts.insert(table.name.clone(), n as u64);
    }
    Ok(counts)
}

/// `SELECT` of every column of `table` in key order (every column when it has no key).
fn select_all(table: &Table) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
    let order: Vec<String> =
        if table.key.is_empty() { columns.clone() } else { table.key.iter().map(|c| ident(c)).collect() };
    format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), ident(&table.name), order.join(", "))
}

fn value(v: ValueRef<'_>) -> StoreResult<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(x) => Value::Real(x),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|_| StoreError::Corrupt("a text value is not UTF-8".into()))?,
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

/// A neutral value as a statement parameter.
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Integer(n) => ValueRef::Integer(*n),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

fn export_from(conn: &Connection, schema: &Schema, visit: Visit<'_>) -> StoreResult<()> {
    for table in &schema.tables {
        let mut stmt = conn.prepare(&select_all(table)).map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        let mut batch: Vec<Row> = Vec::with_capacity(BATCH_ROWS);
        while let Some(row) = rows.next().map_err(backend)? {
            let values = (0..table.columns.len())
                .map(|i| value(row.get_ref(i).map_err(backend)?))
                .collect::<StoreResult<Row>>()?;
            batch.push(values);
            if batch.len() == BATCH_ROWS {
                visit(table, &batch)?;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            visit(table, &batch)?;
        }
    }
    Ok(())
}

impl SnapshotStore for SqliteStore {
    fn schema(&self) -> StoreResult<Schema> {
        schema_of(&*self.reader()?)
    }

    fn row_counts(&self) -> StoreResult<BTreeMap<String, u64>> {
        row_counts_of(&*self.reader()?)
    }

    fn export(&self, schema: &Schema, visit: Visit<'_>) -> StoreResult<()> {
        // A connection of its own: the read transaction must not outlive a pooled reader's use.
        let conn = self.connect()?;
        conn.execute_batch("BEGIN").map_err(backend)?;
        let result = export_from(&conn, schema, visit);
        // Ending a read transaction cannot lose anything; its error is the lesser one.
        let end = conn.execute_batch("COMMIT").map_err(backend);
        result.and(end)
    }

    fn load(&self, _schema: &Schema) -> StoreResult<Box<dyn Load + '_>> {
        let conn = self.writer();
        conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
        let load = SqliteLoad { conn, open: true };
        for (table, rows) in row_counts_of(&load.conn)? {
            if SEEDED_TABLES.contains(&table.as_str()) {
                // No trigger guards these rows: the source's rows replace the seed.
                load.conn.execute(&format!("DELETE FROM {}", ident(&table)), []).map_err(backend)?;
            } else if rows > 0 {
                return Err(StoreError::Conflict(format!(
                    "the destination is not empty: table `{table}` holds {rows} rows"
                )));
            }
        }
        Ok(Box::new(load))
    }
}

/// A load on the writer connection; rolled back when dropped uncommitted.
struct SqliteLoad<'a> {
    conn: MutexGuard<'a, Connection>,
    open: bool,
}

impl Load for SqliteLoad<'_> {
    fn insert(&mut self, table: &Table, rows: &[Row]) -> StoreResult<()> {
        let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT INTO {} ({}) VALUES ({})", ident(&table.name), columns.join(", "), marks.join(", "));
        let mut stmt = self.conn.prepare_cached(&sql).map_err(backend)?;
        for row in rows {
            if row.len() != columns.len() {
                return Err(StoreError::Corrupt(format!("a row of `{}` has {} values", table.name, row.len())));
            }
            let params: Vec<Param<'_>> = row.iter().map(Param).collect();
            stmt.execute(rusqlite::params_from_iter(params.iter())).map_err(backend)?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.open = false;
        self.conn.execute_batch("COMMIT").map_err(backend)
    }
}

impl Drop for SqliteLoad<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl SqliteStore {
    /// Write a consistent copy of the whole database to the new file `to` while the store
    /// stays in use: SQLite's online backup in one step (one read transaction, so writers in
    /// WAL mode are not held up and the copy is a single point in time). The file is created
    /// 0600, like the database.
    pub fn backup_to(&self, to: &Path) -> StoreResult<()> {
        crate::db::create_private(to)?;
        let source = self.connect()?;
        let mut dest =
            Connection::open_with_flags(to, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)
                .map_err(backend)?;
        copy_all(&source, &mut dest)?;
        // A backup file is one self-contained file (no WAL beside it).
        dest.pragma_update(None, "journal_mode", "DELETE").map_err(backend)?;
        Ok(())
    }

    /// Replace the whole database with the backup file `from` (SQLite's backup API in
    /// reverse, through the store's writer connection so the WAL stays consistent). The file
    /// must be a tokutei database whose schema this build can read; it is checked first
    /// (`quick_check`, schema version) and nothing is changed when it fails.
    pub fn restore_from(&self, from: &Path) -> StoreResult<()> {
        let (source, _) = open_backup(from)?;
        let mut conn = self.writer();
        copy_all(&source, &mut conn)
    }
}

/// Check that `file` is a sound tokutei database this build can read (`quick_check`, schema
/// version); returns its schema version. Nothing is written.
pub fn check_backup(file: &Path) -> StoreResult<u32> {
    open_backup(file).map(|(_, version)| version)
}

fn open_backup(file: &Path) -> StoreResult<(Connection, u32)> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(backend)?;
    let version = schema_version_of(&conn)?;
    Ok((conn, version))
}

fn schema_version_of(conn: &Connection) -> StoreResult<u32> {
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|_| StoreError::Corrupt("the file is not a SQLite database".into()))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!("the backup file fails SQLite's check: {check}")));
    }
    let version: u32 = conn
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))
        .map_err(|_| StoreError::Corrupt("the file is not a tokutei database".into()))?;
    if version > crate::SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found: version, supported: crate::SCHEMA_VERSION });
    }
    Ok(version)
}

/// Copy every page of `from` into `to` in one backup step (one read transaction on `from`).
/// A busy or locked database is retried for up to the connections' busy timeout.
fn copy_all(from: &Connection, to: &mut Connection) -> StoreResult<()> {
    use rusqlite::backup::{Backup, StepResult};
    let backup = Backup::new(from, to).map_err(backend)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match backup.step(-1).map_err(backend)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => {
                return Err(StoreError::Conflict(format!("the database stayed busy during the backup ({other:?})")));
            }
        }
    }
}
