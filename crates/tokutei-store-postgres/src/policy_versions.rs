//! [`PolicyStore`] on PostgreSQL (`0001_policy_versions.sql`).

use postgres::Row;
use tokutei_policy::{Date, PolicyDigest};
use tokutei_store::{NewPolicyVersion, PolicyStore, PolicyVersion, StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{corrupt, date, get, u32_col};
use crate::db::{backend, is_unique};

const COLUMNS: &str = "number, digest, source, effective, published_by, published_at";

fn from_row(row: &Row) -> StoreResult<PolicyVersion> {
    let published_at: &str = get(row, 5)?;
    Ok(PolicyVersion {
        number: u32_col(row, 0)?,
        digest: PolicyDigest(get(row, 1)?),
        source: get(row, 2)?,
        effective: date(row, 3)?,
        published_by: get(row, 4)?,
        published_at: published_at.parse().map_err(|e| corrupt(row, 5, e))?,
    })
}

impl PolicyStore for PgStore {
    fn publish_policy(&self, version: NewPolicyVersion) -> StoreResult<PolicyVersion> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Another instance publishing at the same time makes the insert a duplicate number.
        let latest = tx
            .query_opt("SELECT number, digest FROM policy_versions ORDER BY number DESC LIMIT 1", &[])
            .map_err(backend)?;
        let number = match &latest {
            Some(row) => {
                let digest: &str = get(row, 1)?;
                if digest == version.digest.0 {
                    return Err(StoreError::Conflict(format!(
                        "policy `{}` is already the latest published version",
                        version.digest.short()
                    )));
                }
                u32_col(row, 0)? + 1
            }
            None => 1,
        };
        tx.execute(
            "INSERT INTO policy_versions (number, digest, source, effective, published_by, published_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &i64::from(number),
                &version.digest.0,
                &version.source,
                &version.effective.to_string(),
                &version.published_by,
                &version.published_at.to_string(),
            ],
        )
        .map_err(|e| {
            if is_unique(&e) {
                StoreError::Conflict(format!("policy version {number} was published concurrently"))
            } else {
                backend(e)
            }
        })?;
        tx.commit()?;
        Ok(PolicyVersion {
            number,
            digest: version.digest,
            source: version.source,
            effective: version.effective,
            published_by: version.published_by,
            published_at: version.published_at,
        })
    }

    fn policy_versions(&self) -> StoreResult<Vec<PolicyVersion>> {
        let mut conn = self.conn()?;
        let rows =
            conn.query(&format!("SELECT {COLUMNS} FROM policy_versions ORDER BY number"), &[]).map_err(backend)?;
        rows.iter().map(from_row).collect()
    }

    fn policy_version(&self, number: u32) -> StoreResult<Option<PolicyVersion>> {
        let mut conn = self.conn()?;
        conn.query_opt(&format!("SELECT {COLUMNS} FROM policy_versions WHERE number = $1"), &[&i64::from(number)])
            .map_err(backend)?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    fn active_policy(&self, today: Date) -> StoreResult<Option<PolicyVersion>> {
        let mut conn = self.conn()?;
        conn.query_opt(
            &format!("SELECT {COLUMNS} FROM policy_versions WHERE effective <= $1 ORDER BY number DESC LIMIT 1"),
            &[&today.to_string()],
        )
        .map_err(backend)?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    fn active_policy_number(&self, today: Date) -> StoreResult<Option<u32>> {
        let mut conn = self.conn()?;
        conn.query_opt(
            "SELECT number FROM policy_versions WHERE effective <= $1 ORDER BY number DESC LIMIT 1",
            &[&today.to_string()],
        )
        .map_err(backend)?
        .map(|row| u32_col(&row, 0))
        .transpose()
    }
}
