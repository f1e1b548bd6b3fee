//! [`InspectionStore`] on PostgreSQL (`0017_inspections.sql`): reports, findings and closures
//! are append-only rows (row triggers refuse any edit or deletion, statement triggers any
//! `TRUNCATE`, whoever writes).

use postgres::Row;
use tokutei_store::inspection::{
    InspectionStore, NewFindingClosure, NewInspection, NewInspectionFinding, StoredFinding,
};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, date_opt, get, micros, timestamp, u32_col, u64_col};
use crate::db::{backend, is_constraint};

const INSPECTION_COLUMNS: &str =
    "id, period, revision, document, digest, checkpoint_size, made_by, made_at, audit_index";

fn inspection_row(row: &Row) -> StoreResult<NewInspection> {
    let digest: Vec<u8> = get(row, 4)?;
    Ok(NewInspection {
        id: get(row, 0)?,
        period: get(row, 1)?,
        revision: u32_col(row, 2)?,
        document: get(row, 3)?,
        digest: digest.try_into().map_err(|_| corrupt(row, 4, "a digest is 32 bytes"))?,
        checkpoint_size: u64_col(row, 5)?,
        made_by: get(row, 6)?,
        made_at: timestamp(row, 7)?,
        audit_index: u64_col(row, 8)?,
    })
}

impl InspectionStore for PgStore {
    fn add_inspection(&self, i: &NewInspection) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            &format!("INSERT INTO inspections ({INSPECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
            &[
                &i.id,
                &i.period,
                &i64::from(i.revision),
                &i.document,
                &i.digest.to_vec(),
                &bigint(i.checkpoint_size)?,
                &i.made_by,
                &micros(i.made_at),
                &bigint(i.audit_index)?,
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
        Ok(())
    }

    fn inspections(&self) -> StoreResult<Vec<NewInspection>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(&format!("SELECT {INSPECTION_COLUMNS} FROM inspections ORDER BY audit_index, id"), &[])
            .map_err(backend)?;
        rows.iter().map(inspection_row).collect()
    }

    fn inspection(&self, id: &str) -> StoreResult<Option<NewInspection>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(&format!("SELECT {INSPECTION_COLUMNS} FROM inspections WHERE id = $1"), &[&id])
            .map_err(backend)?;
        row.as_ref().map(inspection_row).transpose()
    }

    fn add_inspection_finding(&self, f: &NewInspectionFinding) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let known =
            tx.query_opt("SELECT 1 FROM inspections WHERE id = $1", &[&f.inspection]).map_err(backend)?.is_some();
        if !known {
            return Err(StoreError::NotFound(format!("inspection `{}`", f.inspection)));
        }
        tx.execute(
            "INSERT INTO inspection_findings (id, inspection, text, owner, due, added_by, added_at, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &f.id,
                &f.inspection,
                &f.text,
                &f.owner,
                &f.due.map(|d| d.to_string()),
                &f.added_by,
                &micros(f.added_at),
                &bigint(f.audit_index)?,
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("finding `{}` is recorded already", f.id))
            } else {
                backend(e)
            }
        })?;
        tx.commit()?;
        Ok(())
    }

    fn add_finding_closure(&self, c: &NewFindingClosure) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let known =
            tx.query_opt("SELECT 1 FROM inspection_findings WHERE id = $1", &[&c.finding]).map_err(backend)?.is_some();
        if !known {
            return Err(StoreError::NotFound(format!("finding `{}`", c.finding)));
        }
        tx.execute(
            "INSERT INTO inspection_finding_closures (finding, text, by_principal, at, audit_index)
             VALUES ($1, $2, $3, $4, $5)",
            &[&c.finding, &c.text, &c.by, &micros(c.at), &bigint(c.audit_index)?],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("finding `{}` is closed already", c.finding))
            } else {
                backend(e)
            }
        })?;
        tx.commit()?;
        Ok(())
    }

    fn inspection_findings(&self) -> StoreResult<Vec<StoredFinding>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT f.id, f.inspection, f.text, f.owner, f.due, f.added_by, f.added_at, f.audit_index,
                        c.text, c.by_principal, c.at, c.audit_index
                 FROM inspection_findings f LEFT JOIN inspection_finding_closures c ON c.finding = f.id
                 ORDER BY f.number",
                &[],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let id: String = get(row, 0)?;
                let closed_text: Option<String> = get(row, 8)?;
                let closure = match closed_text {
                    Some(text) => Some(NewFindingClosure {
                        finding: id.clone(),
                        text,
                        by: get(row, 9)?,
                        at: timestamp(row, 10)?,
                        audit_index: u64_col(row, 11)?,
                    }),
                    None => None,
                };
                Ok(StoredFinding {
                    finding: NewInspectionFinding {
                        id,
                        inspection: get(row, 1)?,
                        text: get(row, 2)?,
                        owner: get(row, 3)?,
                        due: date_opt(row, 4)?,
                        added_by: get(row, 5)?,
                        added_at: timestamp(row, 6)?,
                        audit_index: u64_col(row, 7)?,
                    },
                    closure,
                })
            })
            .collect()
    }
}
