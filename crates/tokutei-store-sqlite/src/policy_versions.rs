//! [`PolicyStore`] on SQLite.

use rusqlite::{OptionalExtension, Row, params};
use tokutei_policy::{Date, PolicyDigest};
use tokutei_store::{NewPolicyVersion, PolicyStore, PolicyVersion, StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

const COLUMNS: &str = "number, digest, source, effective, published_by, published_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<PolicyVersion> {
    let effective: String = row.get(3)?;
    let published_at: String = row.get(5)?;
    Ok(PolicyVersion {
        number: row.get(0)?,
        digest: PolicyDigest(row.get(1)?),
        source: row.get(2)?,
        effective: effective.parse().map_err(|e: String| corrupt(3, e))?,
        published_by: row.get(4)?,
        published_at: published_at.parse().map_err(|e: jiff::Error| corrupt(5, e.to_string()))?,
    })
}

fn corrupt(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

impl PolicyStore for SqliteStore {
    fn publish_policy(&self, version: NewPolicyVersion) -> StoreResult<PolicyVersion> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let latest: Option<(u32, String)> = tx
            .query_row("SELECT number, digest FROM policy_versions ORDER BY number DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(backend)?;
        if let Some((_, digest)) = &latest
            && *digest == version.digest.0
        {
            return Err(StoreError::Conflict(format!(
                "policy `{}` is already the latest published version",
                version.digest.short()
            )));
        }
        let number = latest.map_or(1, |(n, _)| n + 1);
        tx.execute(
            "INSERT INTO policy_versions (number, digest, source, effective, published_by, published_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                number,
                version.digest.0,
                version.source,
                version.effective.to_string(),
                version.published_by,
                version.published_at.to_string()
            ],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
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
        let conn = self.reader()?;
        let mut stmt =
            conn.prepare(&format!("SELECT {COLUMNS} FROM policy_versions ORDER BY number")).map_err(backend)?;
        let rows = stmt.query_map([], from_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn policy_version(&self, number: u32) -> StoreResult<Option<PolicyVersion>> {
        let conn = self.reader()?;
        conn.query_row(&format!("SELECT {COLUMNS} FROM policy_versions WHERE number = ?1"), [number], from_row)
            .optional()
            .map_err(backend)
    }

    fn active_policy(&self, today: Date) -> StoreResult<Option<PolicyVersion>> {
        let conn = self.reader()?;
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM policy_versions WHERE effective <= ?1 ORDER BY number DESC LIMIT 1"),
            [today.to_string()],
            from_row,
        )
        .optional()
        .map_err(backend)
    }

    fn active_policy_number(&self, today: Date) -> StoreResult<Option<u32>> {
        let conn = self.reader()?;
        conn.prepare_cached("SELECT number FROM policy_versions WHERE effective <= ?1 ORDER BY number DESC LIMIT 1")
            .map_err(backend)?
            .query_row([today.to_string()], |r| r.get(0))
            .optional()
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_policy_versions() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("tokutei.sqlite3")).unwrap();
        tokutei_store::conformance::policy_versions::run(&store);
    }
}
