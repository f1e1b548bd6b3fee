//! [`InquiryStore`] and [`SettingsStore`] on SQLite (`0006_inquiries.sql`).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tokutei_store::inquiry::{
    InquiryCategory, InquiryStatus, InquiryStore, NewInquiry, Setting, SettingsStore, StoredInquiry,
};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

const COLUMNS: &str =
    "receipt, category, received_at, deadline, kek_id, wrapped_key, sealed, status, note, updated_by, updated_at";

fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn ts(column: usize, us: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| conversion(column, e.to_string()))
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredInquiry> {
    let category: String = r.get(1)?;
    let deadline: String = r.get(3)?;
    let status: String = r.get(7)?;
    let updated_by: Option<String> = r.get(9)?;
    let updated_at: Option<i64> = r.get(10)?;
    Ok(StoredInquiry {
        inquiry: NewInquiry {
            receipt: r.get(0)?,
            category: InquiryCategory::from_code(&category)
                .ok_or_else(|| conversion(1, format!("unknown inquiry category `{category}`")))?,
            received_at: ts(2, r.get(2)?)?,
            deadline: deadline.parse::<tokutei_policy::Date>().map_err(|e| conversion(3, e.to_string()))?,
            key: WrappedDataKey { kek_id: r.get(4)?, bytes: r.get(5)? },
            sealed: r.get(6)?,
        },
        status: InquiryStatus::from_code(&status)
            .ok_or_else(|| conversion(7, format!("unknown inquiry status `{status}`")))?,
        note: r.get(8)?,
        updated: match (updated_by, updated_at) {
            (Some(by), Some(at)) => Some((by, ts(10, at)?)),
            _ => None,
        },
    })
}

impl InquiryStore for SqliteStore {
    fn add_inquiry(&self, i: &NewInquiry) -> StoreResult<()> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO inquiries (receipt, category, received_at, deadline, kek_id, wrapped_key, sealed, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open')",
            params![
                i.receipt,
                i.category.code(),
                i.received_at.as_microsecond(),
                i.deadline.to_string(),
                i.key.kek_id,
                i.key.bytes,
                i.sealed
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::Conflict(format!("receipt number `{}` is already used", i.receipt))
            }
            other => backend(other),
        })?;
        Ok(())
    }

    fn inquiry(&self, receipt: &str) -> StoreResult<Option<StoredInquiry>> {
        let conn = self.reader()?;
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM inquiries WHERE receipt = ?1"))
            .map_err(backend)?
            .query_row([receipt], from_row)
            .optional()
            .map_err(backend)
    }

    fn inquiries(&self, status: Option<InquiryStatus>, limit: usize) -> StoreResult<Vec<StoredInquiry>> {
        let conn = self.reader()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM inquiries WHERE ?1 IS NULL OR status = ?1
                 ORDER BY received_at DESC, receipt DESC LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = statement.query_map(params![status.map(InquiryStatus::code), limit], from_row).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn set_inquiry_status(
        &self,
        receipt: &str,
        status: InquiryStatus,
        note: Option<&[u8]>,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let conn = self.writer();
        let changed = conn
            .execute(
                "UPDATE inquiries SET status = ?2, note = ?3, updated_by = ?4, updated_at = ?5 WHERE receipt = ?1",
                params![receipt, status.code(), note, by, at.as_microsecond()],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("inquiry `{receipt}`")));
        }
        Ok(())
    }
}

impl SettingsStore for SqliteStore {
    fn settings(&self) -> StoreResult<Vec<Setting>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached("SELECT key, value, changed_by, changed_at FROM settings ORDER BY key")
            .map_err(backend)?;
        let rows = statement
            .query_map([], |r| {
                Ok(Setting { key: r.get(0)?, value: r.get(1)?, changed_by: r.get(2)?, changed_at: ts(3, r.get(3)?)? })
            })
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn set_settings(&self, values: &[(String, String)], by: &str, at: Timestamp) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        for (key, value) in values {
            tx.execute(
                "INSERT INTO settings (key, value, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET value = ?2, changed_by = ?3, changed_at = ?4",
                params![key, value, by, at.as_microsecond()],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_inquiry() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::inquiry::run(&store);
    }
}
