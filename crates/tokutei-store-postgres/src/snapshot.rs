//! Copying the database to and from another backend ([`SnapshotStore`]): tables, columns,
//! primary keys and foreign keys come from the catalog (`pg_class`, `pg_attribute`,
//! `pg_index`, `pg_constraint`; partitions are read through their parent), an export reads
//! every table in one `REPEATABLE READ` read-only transaction through cursors, and a load
//! inserts in one transaction with triggers and foreign keys left on, then moves every
//! identity sequence past the ids it loaded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::error::Error;

use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, IsolationLevel, Statement};
use tokutei_store::snapshot::{BATCH_ROWS, Load, Row, SEEDED_TABLES, Schema, SnapshotStore, Table, Value, Visit};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::db::backend;

/// The most parameters one statement may carry (the protocol counts them in 16 bits).
const MAX_PARAMS: usize = 65_535;

/// An identifier, quoted for SQL (names come from the catalog, never from input).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The schema's tables (partitioned tables as one; partitions are not listed).
const TABLES: &str = "SELECT c.oid, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relname <> 'schema_migrations'
     ORDER BY c.relname";

fn schema_of(client: &mut Client) -> StoreResult<Schema> {
    let migrations: Vec<String> = client
        .query("SELECT name FROM schema_migrations ORDER BY version", &[])
        .map_err(backend)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut tables = Vec::new();
    for row in client.query(TABLES, &[]).map_err(backend)? {
        let oid: u32 = row.get(0);
        let name: String = row.get(1);
        let columns = client
            .query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped
                 ORDER BY attnum",
                &[&oid],
            )
            .map_err(backend)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let key = client
            .query(
                "SELECT a.attname::text FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord",
                &[&oid],
            )
            .map_err(backend)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let references: BTreeSet<String> = client
            .query(
                "SELECT DISTINCT f.relname::text FROM pg_constraint c JOIN pg_class f ON f.oid = c.confrelid
                 WHERE c.conrelid = $1 AND c.contype = 'f' AND c.confrelid <> c.conrelid",
                &[&oid],
            )
            .map_err(backend)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tables.push(Table { name, columns, key, references });
    }
    Schema::new(migrations, tables)
}

fn row_counts_of(client: &mut Client) -> StoreResult<BTreeMap<String, u64>> {
    let names: Vec<String> = client.query(TABLES, &[]).map_err(backend)?.iter().map(|r| r.get(1)).collect();
    let mut counts = BTreeMap::new();
    for name in names {
        let n: i64 = client.query_one(&format!("SELECT COUNT(*) FROM {}", ident(&name)), &[]).map_err(backend)?.get(0);
        counts.insert(name, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// A column value read into a neutral [`Value`].
struct PgValue(Value);

impl<'a> FromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<PgValue, Box<dyn Error + Sync + Send>> {
        Ok(PgValue(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Bytes(Vec::from_sql(ty, raw)?),
            _ => Value::Text(String::from_sql(ty, raw)?),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<PgValue, Box<dyn Error + Sync + Send>> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(ty: &Type) -> bool {
        accepted(ty)
    }
}

fn accepted(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::INT8
            | Type::INT4
            | Type::INT2
            | Type::BOOL
            | Type::FLOAT8
            | Type::FLOAT4
            | Type::BYTEA
            | Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
    )
}

/// A neutral value as a parameter of the column's type.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match (self.0, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Integer(n), &Type::INT8) => n.to_sql(ty, out),
            (Value::Integer(n), &Type::INT4) => i32::try_from(*n)?.to_sql(ty, out),
            (Value::Integer(n), &Type::INT2) => i16::try_from(*n)?.to_sql(ty, out),
            (Value::Integer(n @ (0 | 1)), &Type::BOOL) => (*n == 1).to_sql(ty, out),
            (Value::Integer(n), &Type::FLOAT8) => (*n as f64).to_sql(ty, out),
            (Value::Real(x), &Type::FLOAT8) => x.to_sql(ty, out),
            (Value::Real(x), &Type::FLOAT4) => (*x as f32).to_sql(ty, out),
            (Value::Text(t), &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME) => t.as_str().to_sql(ty, out),
            (Value::Bytes(b), &Type::BYTEA) => b.as_slice().to_sql(ty, out),
            (value, ty) => Err(format!("a {} value does not fit a `{ty}` column", kind(value)).into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        accepted(ty)
    }

    to_sql_checked!();
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytes",
    }
}

fn export_from(client: &mut Client, schema: &Schema, visit: Visit<'_>) -> StoreResult<()> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(backend)?;
    for table in &schema.tables {
        let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
        let order: Vec<String> =
            if table.key.is_empty() { columns.clone() } else { table.key.iter().map(|c| ident(c)).collect() };
        let sql = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), ident(&table.name), order.join(", "));
        let portal = tx.bind(sql.as_str(), &[]).map_err(backend)?;
        loop {
            let rows = tx.query_portal(&portal, BATCH_ROWS as i32).map_err(backend)?;
            if rows.is_empty() {
                break;
            }
            let batch = rows
                .iter()
                .map(|row| {
                    (0..columns.len())
                        .map(|i| {
                            row.try_get::<_, PgValue>(i).map(|v| v.0).map_err(|e| {
                                StoreError::Corrupt(format!("column `{}` of `{}`: {e}", table.columns[i], table.name))
                            })
                        })
                        .collect::<StoreResult<Row>>()
                })
                .collect::<StoreResult<Vec<Row>>>()?;
            visit(table, &batch)?;
            if rows.len() < BATCH_ROWS {
                break;
            }
        }
    }
    tx.commit().map_err(backend)
}

impl SnapshotStore for PgStore {
    fn schema(&self) -> StoreResult<Schema> {
        schema_of(&mut self.dedicated().map_err(backend)?)
    }

    fn row_counts(&self) -> StoreResult<BTreeMap<String, u64>> {
        row_counts_of(&mut self.dedicated().map_err(backend)?)
    }

    fn export(&self, schema: &Schema, visit: Visit<'_>) -> StoreResult<()> {
        export_from(&mut self.dedicated().map_err(backend)?, schema, visit)
    }

    fn load(&self, _schema: &Schema) -> StoreResult<Box<dyn Load + '_>> {
        let mut client = self.dedicated().map_err(backend)?;
        client.batch_execute("BEGIN").map_err(backend)?;
        let mut load = PgLoad { client, open: true, statements: HashMap::new() };
        for (table, rows) in row_counts_of(&mut load.client)? {
            if SEEDED_TABLES.contains(&table.as_str()) {
                // No trigger guards these rows: the source's rows replace the seed.
                load.client.batch_execute(&format!("DELETE FROM {}", ident(&table))).map_err(backend)?;
            } else if rows > 0 {
                return Err(StoreError::Conflict(format!(
                    "the destination is not empty: table `{table}` holds {rows} rows"
                )));
            }
        }
        Ok(Box::new(load))
    }
}

/// A load on a connection of its own; rolled back when dropped uncommitted.
struct PgLoad {
    client: Client,
    open: bool,
    /// Multi-row inserts by table and row count.
    statements: HashMap<(String, usize), Statement>,
}

impl Load for PgLoad {
    fn insert(&mut self, table: &Table, rows: &[Row]) -> StoreResult<()> {
        let width = table.columns.len().max(1);
        for chunk in rows.chunks((MAX_PARAMS / width).max(1)) {
            let key = (table.name.clone(), chunk.len());
            let stmt = match self.statements.get(&key) {
                Some(s) => s.clone(),
                None => {
                    let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
                    let tuples: Vec<String> = (0..chunk.len())
                        .map(|r| {
                            let marks: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
                            format!("({})", marks.join(", "))
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO {} ({}) VALUES {}",
                        ident(&table.name),
                        columns.join(", "),
                        tuples.join(", ")
                    );
                    let stmt = self.client.prepare(&sql).map_err(backend)?;
                    self.statements.insert(key, stmt.clone());
                    stmt
                }
            };
            let mut params: Vec<Param<'_>> = Vec::with_capacity(chunk.len() * width);
            for row in chunk {
                if row.len() != table.columns.len() {
                    return Err(StoreError::Corrupt(format!("a row of `{}` has {} values", table.name, row.len())));
                }
                params.extend(row.iter().map(Param));
            }
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            self.client.execute(&stmt, &refs).map_err(backend)?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        // Identity and serial columns: the next id follows the largest loaded one.
        let sequences = self
            .client
            .query(
                "SELECT c.relname::text, a.attname::text, s.seq FROM pg_attribute a
                 JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 CROSS JOIN LATERAL pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) AS s(seq)
                 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                   AND a.attnum > 0 AND NOT a.attisdropped AND s.seq IS NOT NULL",
                &[],
            )
            .map_err(backend)?;
        for row in sequences {
            let (table, column, sequence): (String, String, String) = (row.get(0), row.get(1), row.get(2));
            self.client
                .execute(
                    &format!(
                        "SELECT setval($1::text::regclass, COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
                        ident(&column),
                        ident(&table)
                    ),
                    &[&sequence],
                )
                .map_err(backend)?;
        }
        self.open = false;
        self.client.batch_execute("COMMIT").map_err(backend)
    }
}

impl Drop for PgLoad {
    fn drop(&mut self) {
        if self.open {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}
