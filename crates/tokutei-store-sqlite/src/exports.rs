//! [`ArtefactStore`] and [`MediaExceptionStore`] on SQLite (`0023_exports_media.sql`): a
//! download is one `IMMEDIATE` transaction whose conditional update passes the artefact from
//! not downloaded to downloaded and drops its ciphertext, after reading it in the same
//! transaction; a revocation is one conditional update. The triggers keep both one-way,
//! whoever writes.

use rusqlite::{OptionalExtension, params};
use tokutei_store::exports::{
    Artefact, ArtefactStore, Download, MediaException, MediaExceptionStore, NewArtefact, NewMediaException, Revocation,
};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;
use crate::oversight::{bigint, date, index, is_constraint, ts};

const ARTEFACT_COLUMNS: &str = "export, produced_by, produced_at, recipient_key, sha256, bytes, audit_index, \
     downloaded_by, downloaded_at, medium, exception, download_audit_index";

fn artefact_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Artefact> {
    let download = match r.get::<_, Option<i64>>(8)? {
        None => None,
        Some(at) => Some(Download {
            by: r.get(7)?,
            at: ts(8, at)?,
            medium: r.get(9)?,
            exception: r.get(10)?,
            audit_index: index(11, r.get(11)?)?,
        }),
    };
    Ok(Artefact {
        export: r.get(0)?,
        produced_by: r.get(1)?,
        produced_at: ts(2, r.get(2)?)?,
        recipient_key: r.get(3)?,
        sha256: r.get(4)?,
        bytes: index(5, r.get(5)?)?,
        audit_index: index(6, r.get(6)?)?,
        download,
    })
}

impl ArtefactStore for SqliteStore {
    fn add_artefact(&self, a: &NewArtefact) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO export_artefacts
                 (export, produced_by, produced_at, recipient_key, sha256, bytes, audit_index, ciphertext)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                a.export,
                a.produced_by,
                a.produced_at.as_microsecond(),
                a.recipient_key,
                a.sha256,
                bigint(a.ciphertext.len() as u64)?,
                bigint(a.audit_index)?,
                a.ciphertext,
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("export `{}` already has an artefact", a.export))
            } else {
                backend(e)
            }
        })?;
        tx.commit().map_err(backend)
    }

    fn artefact(&self, export: &str) -> StoreResult<Option<Artefact>> {
        let conn = self.reader()?;
        conn.query_row(
            &format!("SELECT {ARTEFACT_COLUMNS} FROM export_artefacts WHERE export = ?1"),
            [export],
            artefact_row,
        )
        .optional()
        .map_err(backend)
    }

    fn artefacts(&self) -> StoreResult<Vec<Artefact>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(&format!("SELECT {ARTEFACT_COLUMNS} FROM export_artefacts ORDER BY produced_at DESC, export DESC"))
            .map_err(backend)?;
        let rows = stmt.query_map([], artefact_row).map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)
    }

    fn claim_artefact(&self, export: &str, d: &Download) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let bytes: Option<Vec<u8>> = tx
            .query_row(
                "SELECT ciphertext FROM export_artefacts WHERE export = ?1 AND downloaded_at IS NULL",
                [export],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let marked = tx
            .execute(
                "UPDATE export_artefacts
                 SET downloaded_by = ?2, downloaded_at = ?3, medium = ?4, exception = ?5,
                     download_audit_index = ?6, ciphertext = NULL
                 WHERE export = ?1 AND downloaded_at IS NULL",
                params![export, d.by, d.at.as_microsecond(), d.medium, d.exception, bigint(d.audit_index)?],
            )
            .map_err(backend)?;
        if marked == 0 {
            return Ok(None);
        }
        tx.commit().map_err(backend)?;
        Ok(Some(bytes))
    }
}

const EXCEPTION_COLUMNS: &str = "id, person, medium, reason, approved_by, valid_from, valid_until, granted_at, \
     audit_index, revoked_by, revoked_at, revoke_audit_index";

fn exception_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MediaException> {
    let revoked = match r.get::<_, Option<i64>>(10)? {
        None => None,
        Some(at) => Some(Revocation { by: r.get(9)?, at: ts(10, at)?, audit_index: index(11, r.get(11)?)? }),
    };
    Ok(MediaException {
        exception: NewMediaException {
            id: r.get(0)?,
            person: r.get(1)?,
            medium: r.get(2)?,
            reason: r.get(3)?,
            approved_by: r.get(4)?,
            valid_from: date(5, &r.get::<_, String>(5)?)?,
            valid_until: date(6, &r.get::<_, String>(6)?)?,
            granted_at: ts(7, r.get(7)?)?,
            audit_index: index(8, r.get(8)?)?,
        },
        revoked,
    })
}

impl MediaExceptionStore for SqliteStore {
    fn add_media_exception(&self, e: &NewMediaException) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO media_exceptions
                 (id, person, medium, reason, approved_by, valid_from, valid_until, granted_at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                e.id,
                e.person,
                e.medium,
                e.reason,
                e.approved_by,
                e.valid_from.to_string(),
                e.valid_until.to_string(),
                e.granted_at.as_microsecond(),
                bigint(e.audit_index)?,
            ],
        )
        .map_err(|err| {
            if is_constraint(&err) {
                StoreError::Conflict(format!("media exception `{}` already exists", e.id))
            } else {
                backend(err)
            }
        })?;
        tx.commit().map_err(backend)
    }

    fn media_exception(&self, id: &str) -> StoreResult<Option<MediaException>> {
        let conn = self.reader()?;
        conn.query_row(&format!("SELECT {EXCEPTION_COLUMNS} FROM media_exceptions WHERE id = ?1"), [id], exception_row)
            .optional()
            .map_err(backend)
    }

    fn media_exceptions(&self) -> StoreResult<Vec<MediaException>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(&format!("SELECT {EXCEPTION_COLUMNS} FROM media_exceptions ORDER BY granted_at DESC, id DESC"))
            .map_err(backend)?;
        let rows = stmt.query_map([], exception_row).map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)
    }

    fn revoke_media_exception(&self, id: &str, r: &Revocation) -> StoreResult<bool> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let marked = tx
            .execute(
                "UPDATE media_exceptions SET revoked_by = ?2, revoked_at = ?3, revoke_audit_index = ?4
                 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, r.by, r.at.as_microsecond(), bigint(r.audit_index)?],
            )
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(marked == 1)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_and_the_database_guards() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::exports::run(&store);
        tokutei_store::conformance::exports::run_concurrent_claims(&store);
        let conn = store.writer();
        for (sql, refusal) in [
            ("UPDATE export_artefacts SET ciphertext = x'00' WHERE export = 'EXP-1'", "downloaded once"),
            ("UPDATE export_artefacts SET sha256 = 'x' WHERE export = 'EXP-1'", "downloaded once"),
            ("DELETE FROM export_artefacts", "export artefacts are kept"),
            ("UPDATE media_exceptions SET revoked_at = NULL WHERE id = 'MX-1'", "revoked once"),
            ("UPDATE media_exceptions SET valid_until = '2027-12-31' WHERE id = 'MX-2'", "revoked once"),
            ("DELETE FROM media_exceptions", "media exceptions are kept"),
        ] {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(err.to_string().contains(refusal), "{sql}: {err}");
        }
    }
}
