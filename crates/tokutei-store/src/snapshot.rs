//! Copying a whole deployment from one backend to another (`tokutei migrate-store`): every
//! table's rows as backend-neutral values, read in one consistent snapshot and loaded into an
//! empty store of the same schema version in one transaction; and the audit ledger through
//! its own capability ([`LedgerStore`]), entry by entry.
//!
//! The table list is never written down here: each backend reads it from its catalog (the
//! tables its migrations created), so a new migration's tables are copied without a change
//! here, and two backends whose migrations or tables disagree are refused before anything is
//! written. The ledger's tables (named `ledger_*`) are the exception: their layout is the
//! backend's own (PostgreSQL partitions them and keeps a table of batches), so the entries
//! are appended to the destination's ledger, which recomputes every leaf hash and interior
//! node, and the checkpoints are stored again as signed; the copy fails unless every leaf
//! hash comes out as stored.
//! Loading only inserts: no append-only or delete-refusing trigger is disabled, and foreign
//! keys stay checked (tables are loaded after the tables they reference).

use std::collections::{BTreeMap, BTreeSet};

use crate::ledger::{Entry, LedgerStore, StoredCheckpoint};
use crate::{StoreError, StoreResult};

/// Tables whose name starts with this belong to the audit ledger: copied through
/// [`LedgerStore`], not row by row.
pub const LEDGER_PREFIX: &str = "ledger_";

/// Entries per append when copying the ledger.
pub const LEDGER_BATCH: usize = 4096;

/// Tables whose migrations insert rows (so a fresh database is not empty there): a load
/// replaces their rows with the source's. Checked against both backends' catalogs by tests.
pub const SEEDED_TABLES: &[&str] = &["staff_generation"];

/// Rows per batch handed from an export to a load.
pub const BATCH_ROWS: usize = 1000;

/// One column value, in the few types both backends' schemas use.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// One row: values in the order of [`Table::columns`].
pub type Row = Vec<Value>;

/// A table as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// Column names in the order rows carry them.
    pub columns: Vec<String>,
    /// The primary key's columns, in key order: the stable order rows are read in.
    pub key: Vec<String>,
    /// Tables this one references by foreign key (other than itself).
    pub references: BTreeSet<String>,
}

/// A store's schema: the migrations applied (by name, in order) and its tables, each after
/// the tables it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub migrations: Vec<String>,
    pub tables: Vec<Table>,
}

impl Schema {
    /// A schema with `tables` put in load order: every table after the ones it references,
    /// otherwise by name. A reference cycle (which no migration creates) is a corrupt schema.
    pub fn new(migrations: Vec<String>, tables: Vec<Table>) -> StoreResult<Schema> {
        let mut pending: BTreeMap<String, Table> = tables.into_iter().map(|t| (t.name.clone(), t)).collect();
        let mut ordered: Vec<Table> = Vec::with_capacity(pending.len());
        while !pending.is_empty() {
            let ready = pending
                .values()
                .find(|t| t.references.iter().all(|r| !pending.contains_key(r)))
                .map(|t| t.name.clone())
                .ok_or_else(|| StoreError::Corrupt("the tables' foreign keys form a cycle".into()))?;
            ordered.extend(pending.remove(&ready));
        }
        Ok(Schema { migrations, tables: ordered })
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// How `other` (the destination) differs from this schema (the source): migrations, tables
    /// or columns. Empty when a copy can go ahead.
    pub fn differences(&self, other: &Schema) -> Vec<String> {
        let mut out = Vec::new();
        if self.migrations != other.migrations {
            out.push(format!(
                "migrations differ (source at `{}`, destination at `{}`)",
                self.migrations.last().map_or("none", String::as_str),
                other.migrations.last().map_or("none", String::as_str)
            ));
        }
        for table in self.tables.iter().filter(|t| !is_ledger_table(&t.name)) {
            match other.table(&table.name) {
                None => out.push(format!("table `{}` is missing", table.name)),
                Some(theirs) => {
                    let ours: BTreeSet<&String> = table.columns.iter().collect();
                    let them: BTreeSet<&String> = theirs.columns.iter().collect();
                    if ours != them {
                        out.push(format!("table `{}` has other columns", table.name));
                    }
                }
            }
        }
        for table in other.tables.iter().filter(|t| !is_ledger_table(&t.name)) {
            if self.table(&table.name).is_none() {
                out.push(format!("table `{}` is not in the source", table.name));
            }
        }
        out
    }
}

/// Whether `table` belongs to the audit ledger (copied through [`LedgerStore`]).
pub fn is_ledger_table(table: &str) -> bool {
    table.starts_with(LEDGER_PREFIX)
}

/// Receives one table's rows, batch by batch, in key order.
pub type Visit<'a> = &'a mut dyn FnMut(&Table, &[Row]) -> StoreResult<()>;

/// A load in progress: one transaction, rolled back when dropped without [`Load::commit`].
pub trait Load {
    /// Insert rows of `table` (columns in the table's order).
    fn insert(&mut self, table: &Table, rows: &[Row]) -> StoreResult<()>;
    /// Finish (on PostgreSQL: move identity sequences past the loaded ids) and commit.
    fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// A backend that can be copied from and into.
pub trait SnapshotStore: Send + Sync {
    /// The applied migrations and the tables, from the catalog.
    fn schema(&self) -> StoreResult<Schema>;

    /// Rows per table (all tables of [`SnapshotStore::schema`]).
    fn row_counts(&self) -> StoreResult<BTreeMap<String, u64>>;

    /// Read every table of `schema` in its order, in one consistent read snapshot, handing
    /// rows to `visit` in batches of at most [`BATCH_ROWS`].
    fn export(&self, schema: &Schema, visit: Visit<'_>) -> StoreResult<()>;

    /// Begin a load into this store: one transaction that first checks, inside it, that every
    /// table but the [`SEEDED_TABLES`] is empty (a conflict otherwise) and clears those.
    fn load(&self, schema: &Schema) -> StoreResult<Box<dyn Load + '_>>;
}

/// Why a copy did not happen or did not match.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the destination is not empty: table `{table}` holds {rows} rows")]
    NotEmpty { table: String, rows: u64 },
    #[error("the destination's schema differs from the source's: {0}")]
    SchemaDiffers(String),
    #[error("table `{table}`: {copied} rows were copied but the destination holds {found}")]
    CountMismatch { table: String, copied: u64, found: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a copy moved: rows per table (in load order), then ledger entries and checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    pub tables: Vec<(String, u64)>,
    pub ledger_entries: u64,
    pub checkpoints: u64,
}

impl CopySummary {
    /// Rows of the tables copied row by row.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Whether a store holds nothing but what its migrations seed; `Err` names a table with rows.
pub fn check_empty(store: &dyn SnapshotStore) -> Result<(), CopyError> {
    for (table, rows) in store.row_counts()? {
        if rows > 0 && !SEEDED_TABLES.contains(&table.as_str()) {
            return Err(CopyError::NotEmpty { table, rows });
        }
    }
    Ok(())
}

/// One end of a copy: its tables and its audit ledger.
#[derive(Clone, Copy)]
pub struct Deployment<'a> {
    pub tables: &'a dyn SnapshotStore,
    pub ledger: &'a dyn LedgerStore,
}

impl std::fmt::Debug for Deployment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment").finish_non_exhaustive()
    }
}

/// Copy every table of `from` into the empty store `to` (same migrations) in one load
/// transaction, check that every table holds as many rows as were read, then append every
/// ledger entry and store every checkpoint in the destination's ledger.
///
/// The ledger is copied after the tables' transaction has committed: a copy that fails there
/// leaves a destination that is not empty, which a new attempt refuses (start again from an
/// empty database).
pub fn copy(from: Deployment<'_>, to: Deployment<'_>) -> Result<CopySummary, CopyError> {
    let mut schema = from.tables.schema()?;
    let differences = schema.differences(&to.tables.schema()?);
    if !differences.is_empty() {
        return Err(CopyError::SchemaDiffers(differences.join("; ")));
    }
    check_empty(to.tables)?;
    schema.tables.retain(|t| !is_ledger_table(&t.name));
    let mut load = to.tables.load(&schema)?;
    let mut copied: BTreeMap<String, u64> = schema.tables.iter().map(|t| (t.name.clone(), 0)).collect();
    from.tables.export(&schema, &mut |table, rows| {
        load.insert(table, rows)?;
        *copied.entry(table.name.clone()).or_default() += rows.len() as u64;
        Ok(())
    })?;
    load.commit()?;
    let found = to.tables.row_counts()?;
    let mut tables = Vec::with_capacity(schema.tables.len());
    for table in &schema.tables {
        let copied = copied.get(&table.name).copied().unwrap_or(0);
        let found = found.get(&table.name).copied().unwrap_or(0);
        if copied != found {
            return Err(CopyError::CountMismatch { table: table.name.clone(), copied, found });
        }
        tables.push((table.name.clone(), copied));
    }
    let (ledger_entries, checkpoints) = copy_ledger(from.ledger, to.ledger)?;
    Ok(CopySummary { tables, ledger_entries, checkpoints })
}

/// Append every entry of `from` to the empty ledger `to`, storing each checkpoint once the
/// entries it covers are in. Returns the entries and checkpoints copied.
fn copy_ledger(from: &dyn LedgerStore, to: &dyn LedgerStore) -> Result<(u64, u64), CopyError> {
    let size = from.tree_size()?;
    let mut checkpoints = from.checkpoints()?.into_iter().peekable();
    let mut pending: Vec<(u64, Entry, crate::ledger::Hash)> = Vec::with_capacity(LEDGER_BATCH);
    let mut appended = 0u64;
    let mut stored = 0u64;
    let mut flush = |pending: &mut Vec<(u64, Entry, crate::ledger::Hash)>,
                     checkpoints: &mut std::iter::Peekable<std::vec::IntoIter<StoredCheckpoint>>|
     -> StoreResult<()> {
        if !pending.is_empty() {
            let entries: Vec<Entry> = pending.iter().map(|(_, e, _)| e.clone()).collect();
            let out = to.append_batch(&entries)?;
            for ((index, _, leaf), got) in pending.iter().zip(&out) {
                if got.index != *index || got.leaf_hash != *leaf {
                    return Err(StoreError::Corrupt(format!(
                        "audit entry {index} came out as entry {} with another leaf hash in the destination",
                        got.index
                    )));
                }
            }
            appended += pending.len() as u64;
            pending.clear();
        }
        while let Some(cp) = checkpoints.next_if(|c| c.size <= appended) {
            to.add_checkpoint(cp.size, &cp.note, cp.created_at)?;
            stored += 1;
        }
        Ok(())
    };
    flush(&mut pending, &mut checkpoints)?;
    from.scan_entries(0, &mut |stored_entry| {
        let (sequence, entry) = Entry::decode(&stored_entry.encoded)
            .map_err(|e| StoreError::Corrupt(format!("audit entry {}: {e}", stored_entry.index)))?;
        // The destination stores the entry's encoding: it must be the stored bytes exactly.
        let again = entry.encode(stored_entry.index).ok();
        if sequence != stored_entry.index || again.as_deref() != Some(stored_entry.encoded.as_slice()) {
            return Err(StoreError::Corrupt(format!(
                "audit entry {} does not encode back to its stored bytes",
                stored_entry.index
            )));
        }
        pending.push((stored_entry.index, entry, stored_entry.leaf_hash));
        let checkpoint_due = checkpoints.peek().is_some_and(|c| c.size == stored_entry.index + 1);
        if pending.len() == LEDGER_BATCH || checkpoint_due {
            flush(&mut pending, &mut checkpoints)?;
        }
        Ok(true)
    })?;
    flush(&mut pending, &mut checkpoints)?;
    let found = to.tree_size()?;
    if appended != size || found != size {
        return Err(CopyError::CountMismatch { table: "ledger_entries".into(), copied: appended, found });
    }
    if let Some(cp) = checkpoints.next() {
        return Err(StoreError::Corrupt(format!(
            "checkpoint {} is of size {} but the ledger holds {size} entries",
            cp.id, cp.size
        ))
        .into());
    }
    Ok((appended, stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, references: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: vec!["id".into()],
            key: vec!["id".into()],
            references: references.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[track_caller]
    fn check_order(tables: Vec<Table>, expected: &[&str]) {
        let schema = Schema::new(vec![], tables).unwrap();
        let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn tables_load_after_the_tables_they_reference() {
        check_order(vec![table("b", &[]), table("a", &[])], &["a", "b"]);
        check_order(vec![table("a", &["c"]), table("c", &[]), table("b", &["a"])], &["c", "a", "b"]);
        check_order(
            vec![table("values", &["blobs", "subscribers"]), table("subscribers", &[]), table("blobs", &[])],
            &["blobs", "subscribers", "values"],
        );
    }

    #[test]
    fn a_reference_cycle_is_refused() {
        assert!(Schema::new(vec![], vec![table("a", &["b"]), table("b", &["a"])]).is_err());
    }

    #[track_caller]
    fn check_differences(source: &Schema, destination: &Schema, expected: &[&str]) {
        assert_eq!(source.differences(destination), expected);
    }

    #[test]
    fn differences_name_migrations_tables_and_columns() {
        let base = Schema::new(vec!["0001_a".into()], vec![table("a", &[]), table("b", &[])]).unwrap();
        check_differences(&base, &base, &[]);
        let newer = Schema { migrations: vec!["0001_a".into(), "0002_b".into()], ..base.clone() };
        check_differences(&base, &newer, &["migrations differ (source at `0001_a`, destination at `0002_b`)"]);
        let fewer = Schema::new(vec!["0001_a".into()], vec![table("a", &[]), table("c", &[])]).unwrap();
        check_differences(&base, &fewer, &["table `b` is missing", "table `c` is not in the source"]);
        let mut wider = base.clone();
        wider.tables[0].columns.push("extra".into());
        check_differences(&base, &wider, &["table `a` has other columns"]);
        // Column order does not matter: rows are loaded by column name.
        let mut reordered = wider.clone();
        reordered.tables[0].columns.reverse();
        check_differences(&wider, &reordered, &[]);
    }
}
