//! [`InquiryStore`] and [`SettingsStore`] on PostgreSQL (`0006_inquiries.sql`).

use jiff::Timestamp;
use postgres::Row;
use tokutei_store::inquiry::{
    InquiryCategory, InquiryStatus, InquiryStore, NewInquiry, Setting, SettingsStore, StoredInquiry,
};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{corrupt, date, get, limit, micros, timestamp, timestamp_opt};
use crate::db::{backend, is_unique};

const COLUMNS: &str =
    "receipt, category, received_at, deadline, kek_id, wrapped_key, sealed, status, note, updated_by, updated_at";

fn from_row(row: &Row) -> StoreResult<StoredInquiry> {
    let category: &str = get(row, 1)?;
    let status: &str = get(row, 7)?;
    let updated_by: Option<String> = get(row, 9)?;
    Ok(StoredInquiry {
        inquiry: NewInquiry {
            receipt: get(row, 0)?,
            category: InquiryCategory::from_code(category)
                .ok_or_else(|| corrupt(row, 1, format!("unknown inquiry category `{category}`")))?,
            received_at: timestamp(row, 2)?,
            deadline: date(row, 3)?,
            key: WrappedDataKey { kek_id: get(row, 4)?, bytes: get(row, 5)? },
            sealed: get(row, 6)?,
        },
        status: InquiryStatus::from_code(status)
            .ok_or_else(|| corrupt(row, 7, format!("unknown inquiry status `{status}`")))?,
        note: get(row, 8)?,
        updated: match (updated_by, timestamp_opt(row, 10)?) {
            (Some(by), Some(at)) => Some((by, at)),
            _ => None,
        },
    })
}

impl InquiryStore for PgStore {
    fn add_inquiry(&self, i: &NewInquiry) -> StoreResult<()> {
        let mut conn = self.conn()?;
        // In a transaction: an insert retried after a lost connection would be a duplicate.
        let mut tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO inquiries (receipt, category, received_at, deadline, kek_id, wrapped_key, sealed, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open')",
            &[
                &i.receipt,
                &i.category.code(),
                &micros(i.received_at),
                &i.deadline.to_string(),
                &i.key.kek_id,
                &i.key.bytes,
                &i.sealed,
            ],
        )
        .map_err(|e| {
            if is_unique(&e) {
                StoreError::Conflict(format!("receipt number `{}` is already used", i.receipt))
            } else {
                backend(e)
            }
        })?;
        tx.commit()
    }

    fn inquiry(&self, receipt: &str) -> StoreResult<Option<StoredInquiry>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(&format!("SELECT {COLUMNS} FROM inquiries WHERE receipt = $1"), &[&receipt])
            .map_err(backend)?;
        row.as_ref().map(from_row).transpose()
    }

    fn inquiries(&self, status: Option<InquiryStatus>, n: usize) -> StoreResult<Vec<StoredInquiry>> {
        let mut conn = self.conn()?;
        let rows = match status {
            Some(s) => conn.query(
                &format!(
                    "SELECT {COLUMNS} FROM inquiries WHERE status = $1
                     ORDER BY received_at DESC, receipt DESC LIMIT $2"
                ),
                &[&s.code(), &limit(n)],
            ),
            None => conn.query(
                &format!("SELECT {COLUMNS} FROM inquiries ORDER BY received_at DESC, receipt DESC LIMIT $1"),
                &[&limit(n)],
            ),
        }
        .map_err(backend)?;
        rows.iter().map(from_row).collect()
    }

    fn set_inquiry_status(
        &self,
        receipt: &str,
        status: InquiryStatus,
        note: Option<&[u8]>,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let changed = conn
            .execute(
                "UPDATE inquiries SET status = $2, note = $3, updated_by = $4, updated_at = $5 WHERE receipt = $1",
                &[&receipt, &status.code(), &note, &by, &micros(at)],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("inquiry `{receipt}`")));
        }
        Ok(())
    }
}

impl SettingsStore for PgStore {
    fn settings(&self) -> StoreResult<Vec<Setting>> {
        let mut conn = self.conn()?;
        let rows =
            conn.query("SELECT key, value, changed_by, changed_at FROM settings ORDER BY key", &[]).map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(Setting {
                    key: get(row, 0)?,
                    value: get(row, 1)?,
                    changed_by: get(row, 2)?,
                    changed_at: timestamp(row, 3)?,
                })
            })
            .collect()
    }

    fn set_settings(&self, values: &[(String, String)], by: &str, at: Timestamp) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        for (key, value) in values {
            tx.execute(
                "INSERT INTO settings (key, value, changed_by, changed_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, changed_by = EXCLUDED.changed_by,
                     changed_at = EXCLUDED.changed_at",
                &[key, value, &by, &micros(at)],
            )
            .map_err(backend)?;
        }
        tx.commit()
    }
}
