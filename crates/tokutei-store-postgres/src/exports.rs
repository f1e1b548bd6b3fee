//! [`ArtefactStore`] and [`MediaExceptionStore`] on PostgreSQL (`0023_exports_media.sql`): a
//! download is one statement that locks the artefact while it is not downloaded, marks it
//! downloaded, drops its ciphertext and returns the bytes it held — a concurrent download
//! waits for the row and then finds it downloaded, so exactly one receives the bytes; a
//! revocation is one conditional update. The triggers keep both one-way, whoever writes.

use postgres::Row;
use tokutei_store::exports::{
    Artefact, ArtefactStore, Download, MediaException, MediaExceptionStore, NewArtefact, NewMediaException, Revocation,
};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, date, get, micros, timestamp, timestamp_opt, u64_col};
use crate::db::{backend, is_constraint};

const ARTEFACT_COLUMNS: &str = "export, produced_by, produced_at, recipient_key, sha256, bytes, audit_index, \
     downloaded_by, downloaded_at, medium, exception, download_audit_index";

fn artefact_row(r: &Row) -> StoreResult<Artefact> {
    let download = match timestamp_opt(r, 8)? {
        None => None,
        Some(at) => Some(Download {
            by: get(r, 7)?,
            at,
            medium: get(r, 9)?,
            exception: get(r, 10)?,
            audit_index: u64_col(r, 11)?,
        }),
    };
    Ok(Artefact {
        export: get(r, 0)?,
        produced_by: get(r, 1)?,
        produced_at: timestamp(r, 2)?,
        recipient_key: get(r, 3)?,
        sha256: get(r, 4)?,
        bytes: u64_col(r, 5)?,
        audit_index: u64_col(r, 6)?,
        download,
    })
}

impl ArtefactStore for PgStore {
    fn add_artefact(&self, a: &NewArtefact) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO export_artefacts
                 (export, produced_by, produced_at, recipient_key, sha256, bytes, audit_index, ciphertext)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &a.export,
                &a.produced_by,
                &micros(a.produced_at),
                &a.recipient_key,
                &a.sha256,
                &bigint(a.ciphertext.len() as u64)?,
                &bigint(a.audit_index)?,
                &a.ciphertext,
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("export `{}` already has an artefact", a.export))
            } else {
                backend(e)
            }
        })?;
        Ok(())
    }

    fn artefact(&self, export: &str) -> StoreResult<Option<Artefact>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(&format!("SELECT {ARTEFACT_COLUMNS} FROM export_artefacts WHERE export = $1"), &[&export])
            .map_err(backend)?;
        row.as_ref().map(artefact_row).transpose()
    }

    fn artefacts(&self) -> StoreResult<Vec<Artefact>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!("SELECT {ARTEFACT_COLUMNS} FROM export_artefacts ORDER BY produced_at DESC, export DESC"),
                &[],
            )
            .map_err(backend)?;
        rows.iter().map(artefact_row).collect()
    }

    fn claim_artefact(&self, export: &str, d: &Download) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "WITH taken AS (
                     SELECT export, ciphertext FROM export_artefacts
                     WHERE export = $1 AND downloaded_at IS NULL FOR UPDATE
                 )
                 UPDATE export_artefacts a
                 SET downloaded_by = $2, downloaded_at = $3, medium = $4, exception = $5,
                     download_audit_index = $6, ciphertext = NULL
                 FROM taken
                 WHERE a.export = taken.export AND a.downloaded_at IS NULL
                 RETURNING taken.ciphertext",
                &[&export, &d.by, &micros(d.at), &d.medium, &d.exception, &bigint(d.audit_index)?],
            )
            .map_err(backend)?;
        row.map(|r| get::<Vec<u8>>(&r, 0)).transpose()
    }
}

const EXCEPTION_COLUMNS: &str = "id, person, medium, reason, approved_by, valid_from, valid_until, granted_at, \
     audit_index, revoked_by, revoked_at, revoke_audit_index";

fn exception_row(r: &Row) -> StoreResult<MediaException> {
    let revoked = match timestamp_opt(r, 10)? {
        None => None,
        Some(at) => Some(Revocation { by: get(r, 9)?, at, audit_index: u64_col(r, 11)? }),
    };
    Ok(MediaException {
        exception: NewMediaException {
            id: get(r, 0)?,
            person: get(r, 1)?,
            medium: get(r, 2)?,
            reason: get(r, 3)?,
            approved_by: get(r, 4)?,
            valid_from: date(r, 5)?,
            valid_until: date(r, 6)?,
            granted_at: timestamp(r, 7)?,
            audit_index: u64_col(r, 8)?,
        },
        revoked,
    })
}

impl MediaExceptionStore for PgStore {
    fn add_media_exception(&self, e: &NewMediaException) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO media_exceptions
                 (id, person, medium, reason, approved_by, valid_from, valid_until, granted_at, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &e.id,
                &e.person,
                &e.medium,
                &e.reason,
                &e.approved_by,
                &e.valid_from.to_string(),
                &e.valid_until.to_string(),
                &micros(e.granted_at),
                &bigint(e.audit_index)?,
            ],
        )
        .map_err(|err| {
            if is_constraint(&err) {
                StoreError::Conflict(format!("media exception `{}` already exists", e.id))
            } else {
                backend(err)
            }
        })?;
        Ok(())
    }

    fn media_exception(&self, id: &str) -> StoreResult<Option<MediaException>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(&format!("SELECT {EXCEPTION_COLUMNS} FROM media_exceptions WHERE id = $1"), &[&id])
            .map_err(backend)?;
        row.as_ref().map(exception_row).transpose()
    }

    fn media_exceptions(&self) -> StoreResult<Vec<MediaException>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(&format!("SELECT {EXCEPTION_COLUMNS} FROM media_exceptions ORDER BY granted_at DESC, id DESC"), &[])
            .map_err(backend)?;
        rows.iter().map(exception_row).collect()
    }

    fn revoke_media_exception(&self, id: &str, r: &Revocation) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        let marked = conn
            .execute(
                "UPDATE media_exceptions SET revoked_by = $2, revoked_at = $3, revoke_audit_index = $4
                 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &r.by, &micros(r.at), &bigint(r.audit_index)?],
            )
            .map_err(backend)?;
        Ok(marked == 1)
    }
}
