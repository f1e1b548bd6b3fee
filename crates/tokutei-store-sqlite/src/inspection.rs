//! [`InspectionStore`] on SQLite (`0017_inspections.sql`): reports, findings and closures are
//! append-only rows (the database's triggers refuse any edit or deletion, whoever writes).

use rusqlite::{OptionalExtension, params};
use tokutei_store::inspection::{
    InspectionStore, NewFindingClosure, NewInspection, NewInspectionFinding, StoredFinding,
};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn ts(column: usize, us: i64) -> rusqlite::Result<jiff::Timestamp> {
    jiff::Timestamp::from_microsecond(us).map_err(|e| conversion(column, e.to_string()))
}

fn index(column: usize, n: i64) -> rusqlite::Result<u64> {
    u64::try_from(n).map_err(|_| conversion(column, format!("{n} is out of range")))
}

fn bigint(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Conflict(format!("{n} is out of range")))
}

fn is_constraint(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

const INSPECTION_COLUMNS: &str =
    "id, period, revision, document, digest, checkpoint_size, made_by, made_at, audit_index";

fn inspection_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NewInspection> {
    let digest: Vec<u8> = r.get(4)?;
    let digest = <[u8; 32]>::try_from(digest).map_err(|_| conversion(4, "a digest is 32 bytes".into()))?;
    Ok(NewInspection {
        id: r.get(0)?,
        period: r.get(1)?,
        revision: r.get(2)?,
        document: r.get(3)?,
        digest,
        checkpoint_size: index(5, r.get(5)?)?,
        made_by: r.get(6)?,
        made_at: ts(7, r.get(7)?)?,
        audit_index: index(8, r.get(8)?)?,
    })
}

impl InspectionStore for SqliteStore {
    fn add_inspection(&self, i: &NewInspection) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            &format!("INSERT INTO inspections ({INSPECTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![
                i.id,
                i.period,
                i.revision,
                i.document,
                i.digest.to_vec(),
                bigint(i.checkpoint_size)?,
                i.made_by,
                i.made_at.as_microsecond(),
                bigint(i.audit_index)?
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!(
                    "inspection `{}` or revision {} of {} is recorded already",
                    i.id, i.revision, i.period
                ))
            } else {
                backend(e)
            }
        })?;
        tx.commit().map_err(backend)
    }

    fn inspections(&self) -> StoreResult<Vec<NewInspection>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare(&format!("SELECT {INSPECTION_COLUMNS} FROM inspections ORDER BY audit_index, id"))
            .map_err(backend)?;
        statement.query_map([], inspection_row).map_err(backend)?.collect::<Result<_, _>>().map_err(backend)
    }

    fn inspection(&self, id: &str) -> StoreResult<Option<NewInspection>> {
        let conn = self.reader()?;
        conn.query_row(&format!("SELECT {INSPECTION_COLUMNS} FROM inspections WHERE id = ?1"), [id], inspection_row)
            .optional()
            .map_err(backend)
    }

    fn add_inspection_finding(&self, f: &NewInspectionFinding) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM inspections WHERE id = ?1)", [&f.inspection], |r| r.get(0))
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("inspection `{}`", f.inspection)));
        }
        tx.execute(
            "INSERT INTO inspection_findings (id, inspection, text, owner, due, added_by, added_at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                f.id,
                f.inspection,
                f.text,
                f.owner,
                f.due.map(|d| d.to_string()),
                f.added_by,
                f.added_at.as_microsecond(),
                bigint(f.audit_index)?
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("finding `{}` is recorded already", f.id))
            } else {
                backend(e)
            }
        })?;
        tx.commit().map_err(backend)
    }

    fn add_finding_closure(&self, c: &NewFindingClosure) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM inspection_findings WHERE id = ?1)", [&c.finding], |r| r.get(0))
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("finding `{}`", c.finding)));
        }
        tx.execute(
            "INSERT INTO inspection_finding_closures (finding, text, by_principal, at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c.finding, c.text, c.by, c.at.as_microsecond(), bigint(c.audit_index)?],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("finding `{}` is closed already", c.finding))
            } else {
                backend(e)
            }
        })?;
        tx.commit().map_err(backend)
    }

    fn inspection_findings(&self) -> StoreResult<Vec<StoredFinding>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare(
                "SELECT f.id, f.inspection, f.text, f.owner, f.due, f.added_by, f.added_at, f.audit_index,
                        c.text, c.by_principal, c.at, c.audit_index
                 FROM inspection_findings f LEFT JOIN inspection_finding_closures c ON c.finding = f.id
                 ORDER BY f.number",
            )
            .map_err(backend)?;
        statement
            .query_map([], |r| {
                let id: String = r.get(0)?;
                let due: Option<String> = r.get(4)?;
                let closed_text: Option<String> = r.get(8)?;
                let closure = match closed_text {
                    Some(text) => Some(NewFindingClosure {
                        finding: id.clone(),
                        text,
                        by: r.get(9)?,
                        at: ts(10, r.get(10)?)?,
                        audit_index: index(11, r.get(11)?)?,
                    }),
                    None => None,
                };
                Ok(StoredFinding {
                    finding: NewInspectionFinding {
                        id,
                        inspection: r.get(1)?,
                        text: r.get(2)?,
                        owner: r.get(3)?,
                        due: due.map(|d| d.parse().map_err(|e: String| conversion(4, e))).transpose()?,
                        added_by: r.get(5)?,
                        added_at: ts(6, r.get(6)?)?,
                        audit_index: index(7, r.get(7)?)?,
                    },
                    closure,
                })
            })
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::inspection::run(&store);
        let conn = store.writer();
        for sql in [
            "UPDATE inspections SET document = '{}'",
            "DELETE FROM inspections",
            "UPDATE inspection_findings SET text = 'x'",
            "DELETE FROM inspection_findings",
            "UPDATE inspection_finding_closures SET text = 'x'",
            "DELETE FROM inspection_finding_closures",
        ] {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(err.to_string().contains("inspection records are append-only"), "{sql}: {err}");
        }
    }
}
