//! [`VaultStore`] on SQLite: subscribers, wrapped data keys, versioned encrypted values with
//! provenance, blobs, blind indexes, import batches and purge records (`0003_vault.sql`).
//!
//! Bulk import writes a whole batch in one transaction with cached prepared statements.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use tokutei_policy::{AcquisitionMethod, Date};
use tokutei_store::vault::{
    BatchOutcome, Contract, ContractState, ImportBatch, ImportRecord, IndirectSource, NewValue, Provenance,
    PurgeRecord, PurgeRule, Sealed, Source, StoredValue, Subscriber, ValueRef, ValueVersion, VaultStore,
    WrappedDataKey, value_leaf,
};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_micros(column: usize, us: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| corrupt(column, e.to_string()))
}

fn corrupt(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn date(column: usize, text: Option<String>) -> rusqlite::Result<Option<Date>> {
    text.map(|t| t.parse::<Date>().map_err(|e| corrupt(column, e))).transpose()
}

fn method_from(column: usize, id: &str) -> rusqlite::Result<AcquisitionMethod> {
    AcquisitionMethod::ALL
        .into_iter()
        .find(|m| m.id() == id)
        .ok_or_else(|| corrupt(column, format!("unknown acquisition method `{id}`")))
}

pub(crate) const SUBSCRIBER_COLUMNS: &str =
    "id, service, state, started_on, suspended_on, terminated_on, created_at, erased_at";

pub(crate) fn subscriber_row(row: &Row<'_>) -> rusqlite::Result<Subscriber> {
    let state: String = row.get(2)?;
    let erased: Option<i64> = row.get(7)?;
    Ok(Subscriber {
        id: row.get(0)?,
        service: row.get(1)?,
        contract: Contract {
            state: ContractState::from_id(&state).ok_or_else(|| corrupt(2, format!("unknown state `{state}`")))?,
            started_on: row.get::<_, String>(3)?.parse().map_err(|e| corrupt(3, e))?,
            suspended_on: date(4, row.get(4)?)?,
            terminated_on: date(5, row.get(5)?)?,
        },
        created_at: from_micros(6, row.get(6)?)?,
        erased_at: erased.map(|us| from_micros(7, us)).transpose()?,
    })
}

const VALUE_COLUMNS: &str = "v.subscriber, v.category, v.version, v.ciphertext, v.blob_hash, b.ciphertext, v.method, \
     v.indirect, v.provider_name, v.provider_address, v.provider_representative, v.provider_obtained_by, \
     v.collected_at, v.collected_by, v.notice_version, v.valid_from, v.valid_until, v.audit_index";

fn value_row(row: &Row<'_>) -> rusqlite::Result<StoredValue> {
    let inline: Option<Vec<u8>> = row.get(3)?;
    let hash: Option<Vec<u8>> = row.get(4)?;
    let blob: Option<Vec<u8>> = row.get(5)?;
    let sealed = match (inline, hash, blob) {
        (Some(c), None, _) => Sealed::Inline(c),
        (None, Some(h), Some(c)) => Sealed::Blob {
            content_hash: h.try_into().map_err(|_| corrupt(4, "content hash is not 32 bytes".into()))?,
            ciphertext: c,
        },
        _ => return Err(corrupt(3, "value has neither ciphertext nor blob".into())),
    };
    let method: String = row.get(6)?;
    let indirect: bool = row.get(7)?;
    let source = if indirect {
        Source::Indirect(IndirectSource {
            provider_name: row.get(8)?,
            provider_address: row.get(9)?,
            provider_representative: row.get(10)?,
            provider_obtained_by: row.get(11)?,
        })
    } else {
        Source::Direct
    };
    let until: Option<i64> = row.get(16)?;
    Ok(StoredValue {
        subscriber: row.get(0)?,
        category: row.get(1)?,
        version: row.get(2)?,
        sealed,
        provenance: Provenance {
            method: method_from(6, &method)?,
            source,
            collected_at: from_micros(12, row.get(12)?)?,
            collected_by: row.get(13)?,
            notice_version: row.get(14)?,
        },
        valid_from: from_micros(15, row.get(15)?)?,
        valid_until: until.map(|us| from_micros(16, us)).transpose()?,
        audit_index: row.get(17)?,
    })
}

/// The columns of [`version_row`]: key, sealed bytes (inline ciphertext or blob hash),
/// validity and writing entry.
const VERSION_COLUMNS: &str = "subscriber, category, version, ciphertext, blob_hash, valid_until, audit_index";

fn hash32(column: usize, bytes: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    bytes.try_into().map_err(|_| corrupt(column, "hash is not 32 bytes".into()))
}

/// The SHA-256 of a stored version's sealed bytes, from its `ciphertext` and `blob_hash`.
fn sealed_hash(column: usize, inline: Option<Vec<u8>>, blob_hash: Option<Vec<u8>>) -> rusqlite::Result<[u8; 32]> {
    match (inline, blob_hash) {
        (Some(c), None) => Ok(Sealed::Inline(c).sealed_hash()),
        (None, Some(h)) => hash32(column + 1, h),
        _ => Err(corrupt(column, "value has neither ciphertext nor blob".into())),
    }
}

fn version_row(row: &Row<'_>) -> rusqlite::Result<ValueVersion> {
    let value = ValueRef { subscriber: row.get(0)?, category: row.get(1)?, version: row.get(2)? };
    let sealed = sealed_hash(3, row.get(3)?, row.get(4)?)?;
    let until: Option<i64> = row.get(5)?;
    Ok(ValueVersion {
        leaf: value_leaf(&value, &sealed),
        value,
        valid_until: until.map(|us| from_micros(5, us)).transpose()?,
        audit_index: row.get(6)?,
    })
}

const PURGE_COLUMNS: &str =
    "id, subscriber, category, version, reason, policy_version, purged_at, audit_index, written_by, leaf";

fn purge_row(r: &Row<'_>) -> rusqlite::Result<PurgeRecord> {
    let leaf: Option<Vec<u8>> = r.get(9)?;
    Ok(PurgeRecord {
        id: r.get(0)?,
        value: ValueRef { subscriber: r.get(1)?, category: r.get(2)?, version: r.get(3)? },
        reason: r.get(4)?,
        policy_version: r.get(5)?,
        purged_at: from_micros(6, r.get(6)?)?,
        audit_index: r.get(7)?,
        written_by: r.get(8)?,
        leaf: leaf.map(|l| hash32(9, l)).transpose()?,
    })
}

fn conflict_or_backend(err: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(what())
        }
        _ => backend(err),
    }
}

/// Insert values inside `tx`, each naming the audit entry `audit_index`: blobs once by hash,
/// value rows, blind-index entries, and the closing of superseded versions (after the newer
/// version is in: only a newer version closes one).
fn insert_values(tx: &Transaction<'_>, values: &[NewValue], audit_index: Option<u64>) -> StoreResult<()> {
    let mut insert_value = tx
        .prepare_cached(
            "INSERT INTO vault_values (subscriber, category, version, ciphertext, blob_hash, method, indirect,
                 provider_name, provider_address, provider_representative, provider_obtained_by,
                 collected_at, collected_by, notice_version, valid_from, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .map_err(backend)?;
    let mut insert_blob =
        tx.prepare_cached("INSERT OR IGNORE INTO vault_blobs (hash, ciphertext) VALUES (?1, ?2)").map_err(backend)?;
    let mut insert_token = tx
        .prepare_cached("INSERT INTO vault_blind_index (category, token, subscriber, version) VALUES (?1, ?2, ?3, ?4)")
        .map_err(backend)?;
    let mut close = tx
        .prepare_cached(
            "UPDATE vault_values SET valid_until = ?4
             WHERE subscriber = ?1 AND category = ?2 AND version < ?3 AND valid_until IS NULL",
        )
        .map_err(backend)?;
    for v in values {
        let (inline, hash) = match &v.sealed {
            Sealed::Inline(c) => (Some(c.as_slice()), None),
            Sealed::Blob { content_hash, ciphertext } => {
                insert_blob.execute(params![&content_hash[..], ciphertext]).map_err(backend)?;
                (None, Some(&content_hash[..]))
            }
        };
        let p = &v.provenance;
        let provider = match &p.source {
            Source::Direct => None,
            Source::Indirect(i) => Some(i),
        };
        insert_value
            .execute(params![
                v.subscriber,
                v.category,
                v.version,
                inline,
                hash,
                p.method.id(),
                provider.is_some(),
                provider.map(|i| &i.provider_name),
                provider.map(|i| &i.provider_address),
                provider.map(|i| &i.provider_representative),
                provider.map(|i| &i.provider_obtained_by),
                micros(p.collected_at),
                p.collected_by,
                p.notice_version,
                micros(v.valid_from),
                audit_index,
            ])
            .map_err(|e| {
                conflict_or_backend(e, || {
                    format!(
                        "value `{}` version {} of subscriber `{}` already exists or the subscriber does not",
                        v.category, v.version, v.subscriber
                    )
                })
            })?;
        if v.supersedes {
            close.execute(params![v.subscriber, v.category, v.version, micros(v.valid_from)]).map_err(backend)?;
        }
        if let Some(token) = &v.blind_index {
            insert_token.execute(params![v.category, &token[..], v.subscriber, v.version]).map_err(backend)?;
        }
    }
    Ok(())
}

impl VaultStore for SqliteStore {
    fn import_batch(&self, batch: &ImportBatch) -> StoreResult<BatchOutcome> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let done: bool = tx
            .query_row("SELECT 1 FROM vault_import_batches WHERE source_key = ?1", [&batch.source_key], |_| Ok(true))
            .optional()
            .map_err(backend)?
            .unwrap_or(false);
        if done {
            return Ok(BatchOutcome::AlreadyImported);
        }
        let now = micros(batch.imported_at);
        {
            let mut insert_subscriber = tx
                .prepare_cached(
                    "INSERT INTO vault_subscribers (id, service, state, started_on, suspended_on, terminated_on, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(backend)?;
            let mut insert_key = tx
                .prepare_cached("INSERT INTO vault_data_keys (subscriber, kek_id, wrapped) VALUES (?1, ?2, ?3)")
                .map_err(backend)?;
            for s in &batch.subscribers {
                let c = &s.contract;
                insert_subscriber
                    .execute(params![
                        s.id,
                        s.service,
                        c.state.id(),
                        c.started_on.to_string(),
                        c.suspended_on.map(|d| d.to_string()),
                        c.terminated_on.map(|d| d.to_string()),
                        now
                    ])
                    .map_err(|e| conflict_or_backend(e, || format!("subscriber `{}` already exists", s.id)))?;
                insert_key.execute(params![s.id, s.key.kek_id, s.key.bytes]).map_err(backend)?;
            }
        }
        insert_values(&tx, &batch.values, batch.audit_index)?;
        tx.execute(
            "INSERT INTO vault_import_batches (source_key, rows, subscribers, value_count, imported_at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                batch.source_key,
                batch.rows,
                batch.subscribers.len() as u64,
                batch.values.len() as u64,
                now,
                batch.audit_index
            ],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(BatchOutcome::Applied)
    }

    fn batch_imported(&self, source_key: &str) -> StoreResult<bool> {
        let conn = self.reader()?;
        conn.query_row("SELECT 1 FROM vault_import_batches WHERE source_key = ?1", [source_key], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(backend)
    }

    fn import_record(&self, source_key: &str) -> StoreResult<Option<ImportRecord>> {
        let conn = self.reader()?;
        conn.query_row(
            "SELECT source_key, rows, subscribers, value_count, imported_at, audit_index
             FROM vault_import_batches WHERE source_key = ?1",
            [source_key],
            |r| {
                Ok(ImportRecord {
                    source_key: r.get(0)?,
                    rows: r.get(1)?,
                    subscribers: r.get(2)?,
                    values: r.get(3)?,
                    imported_at: from_micros(4, r.get(4)?)?,
                    audit_index: r.get(5)?,
                })
            },
        )
        .optional()
        .map_err(backend)
    }

    fn subscriber(&self, id: &str) -> StoreResult<Option<Subscriber>> {
        let conn = self.reader()?;
        conn.query_row(
            &format!("SELECT {SUBSCRIBER_COLUMNS} FROM vault_subscribers WHERE id = ?1"),
            [id],
            subscriber_row,
        )
        .optional()
        .map_err(backend)
    }

    fn subscribers(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<Subscriber>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {SUBSCRIBER_COLUMNS} FROM vault_subscribers WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map(params![after, limit as i64], subscriber_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn subscriber_count(&self) -> StoreResult<u64> {
        let conn = self.reader()?;
        conn.query_row("SELECT COUNT(*) FROM vault_subscribers", [], |r| r.get(0)).map_err(backend)
    }

    fn set_contract(&self, id: &str, contract: &Contract) -> StoreResult<()> {
        let conn = self.writer();
        let changed = conn
            .execute(
                "UPDATE vault_subscribers SET state = ?2, started_on = ?3, suspended_on = ?4, terminated_on = ?5
                 WHERE id = ?1",
                params![
                    id,
                    contract.state.id(),
                    contract.started_on.to_string(),
                    contract.suspended_on.map(|d| d.to_string()),
                    contract.terminated_on.map(|d| d.to_string())
                ],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("subscriber `{id}`")));
        }
        Ok(())
    }

    fn data_key(&self, subscriber: &str) -> StoreResult<Option<WrappedDataKey>> {
        let conn = self.reader()?;
        conn.query_row("SELECT kek_id, wrapped FROM vault_data_keys WHERE subscriber = ?1", [subscriber], |r| {
            Ok(WrappedDataKey { kek_id: r.get(0)?, bytes: r.get(1)? })
        })
        .optional()
        .map_err(backend)
    }

    fn latest_versions(&self, subscriber: &str) -> StoreResult<Vec<(String, u32)>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT category, MAX(version) FROM vault_values WHERE subscriber = ?1 GROUP BY category ORDER BY category",
            )
            .map_err(backend)?;
        let rows = stmt.query_map([subscriber], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn add_values(&self, values: &[NewValue], audit_index: Option<u64>) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        insert_values(&tx, values, audit_index)?;
        tx.commit().map_err(backend)
    }

    fn value_versions(&self, subscriber: &str) -> StoreResult<Vec<ValueVersion>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM vault_values WHERE subscriber = ?1 ORDER BY category, version"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([subscriber], version_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn values_written_by(&self, audit_index: u64) -> StoreResult<Vec<ValueVersion>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM vault_values WHERE audit_index = ?1
                 ORDER BY subscriber, category, version"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([audit_index], version_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn values(&self, subscriber: &str, category: Option<&str>, history: bool) -> StoreResult<Vec<StoredValue>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VALUE_COLUMNS} FROM vault_values v LEFT JOIN vault_blobs b ON b.hash = v.blob_hash
                 WHERE v.subscriber = ?1 AND (?2 IS NULL OR v.category = ?2) AND (?3 OR v.valid_until IS NULL)
                 ORDER BY v.category, v.version"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map(params![subscriber, category, history], value_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn find_by_blind_index(&self, category: &str, token: &[u8; 32]) -> StoreResult<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT i.subscriber FROM vault_blind_index i
                 JOIN vault_values v ON v.subscriber = i.subscriber AND v.category = i.category AND v.version = i.version
                 WHERE i.category = ?1 AND i.token = ?2 AND v.valid_until IS NULL
                 ORDER BY i.subscriber",
            )
            .map_err(backend)?;
        let rows = stmt.query_map(params![category, &token[..]], |r| r.get(0)).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn wrapped_keys(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<(String, WrappedDataKey)>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT subscriber, kek_id, wrapped FROM vault_data_keys
                 WHERE ?1 IS NULL OR subscriber > ?1 ORDER BY subscriber LIMIT ?2",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok((r.get(0)?, WrappedDataKey { kek_id: r.get(1)?, bytes: r.get(2)? }))
            })
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn rewrap_keys(&self, keys: &[(String, WrappedDataKey)]) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        {
            let mut update = tx
                .prepare_cached("UPDATE vault_data_keys SET kek_id = ?2, wrapped = ?3 WHERE subscriber = ?1")
                .map_err(backend)?;
            for (subscriber, key) in keys {
                if update.execute(params![subscriber, key.kek_id, key.bytes]).map_err(backend)? == 0 {
                    return Err(StoreError::NotFound(format!("data key of subscriber `{subscriber}`")));
                }
            }
        }
        tx.commit().map_err(backend)
    }

    fn kek_usage(&self) -> StoreResult<Vec<(String, u64)>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached("SELECT kek_id, COUNT(*) FROM vault_data_keys GROUP BY kek_id ORDER BY kek_id")
            .map_err(backend)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn erase_subscriber(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let changed = tx
            .execute(
                "UPDATE vault_subscribers SET erased_at = COALESCE(erased_at, ?2) WHERE id = ?1",
                params![id, micros(at)],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("subscriber `{id}`")));
        }
        tx.execute("DELETE FROM vault_data_keys WHERE subscriber = ?1", [id]).map_err(backend)?;
        tx.execute("DELETE FROM vault_blind_index WHERE subscriber = ?1", [id]).map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn expired_values(&self, rule: &PurgeRule, after: Option<&ValueRef>, limit: usize) -> StoreResult<Vec<ValueRef>> {
        let conn = self.reader()?;
        let (a_sub, a_cat, a_ver) = match after {
            Some(r) => (Some(r.subscriber.as_str()), Some(r.category.as_str()), Some(r.version)),
            None => (None, None, None),
        };
        let map = |r: &Row<'_>| Ok(ValueRef { subscriber: r.get(0)?, category: r.get(1)?, version: r.get(2)? });
        let rows: rusqlite::Result<Vec<ValueRef>> = match rule {
            PurgeRule::CollectedBefore { category, cutoff } => {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT subscriber, category, version FROM vault_values
                         WHERE category = ?1 AND collected_at < ?2
                           AND (?3 IS NULL OR (subscriber, category, version) > (?3, ?4, ?5))
                         ORDER BY subscriber, category, version LIMIT ?6",
                    )
                    .map_err(backend)?;
                stmt.query_map(params![category, micros(*cutoff), a_sub, a_cat, a_ver, limit as i64], map)
                    .map_err(backend)?
                    .collect()
            }
            PurgeRule::ContractEndedBy { category, cutoff } => {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT v.subscriber, v.category, v.version FROM vault_values v
                         JOIN vault_subscribers s ON s.id = v.subscriber
                         WHERE v.category = ?1 AND s.state = 'terminated' AND s.terminated_on <= ?2
                           AND (?3 IS NULL OR (v.subscriber, v.category, v.version) > (?3, ?4, ?5))
                         ORDER BY v.subscriber, v.category, v.version LIMIT ?6",
                    )
                    .map_err(backend)?;
                stmt.query_map(params![category, cutoff.to_string(), a_sub, a_cat, a_ver, limit as i64], map)
                    .map_err(backend)?
                    .collect()
            }
        };
        rows.map_err(backend)
    }

    fn purge_values(
        &self,
        values: &[ValueRef],
        reason: &str,
        policy_version: u32,
        at: Timestamp,
        audit_index: Option<u64>,
    ) -> StoreResult<u64> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let mut purged = 0u64;
        {
            let mut find = tx
                .prepare_cached(
                    "SELECT ciphertext, blob_hash, audit_index FROM vault_values
                     WHERE subscriber = ?1 AND category = ?2 AND version = ?3",
                )
                .map_err(backend)?;
            let mut record = tx
                .prepare_cached(
                    "INSERT INTO vault_purges (subscriber, category, version, reason, policy_version, purged_at,
                         audit_index, written_by, leaf)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(backend)?;
            let mut delete = tx
                .prepare_cached("DELETE FROM vault_values WHERE subscriber = ?1 AND category = ?2 AND version = ?3")
                .map_err(backend)?;
            let mut drop_token = tx
                .prepare_cached(
                    "DELETE FROM vault_blind_index WHERE category = ?2 AND subscriber = ?1 AND version = ?3",
                )
                .map_err(backend)?;
            let mut drop_blob = tx
                .prepare_cached(
                    "DELETE FROM vault_blobs WHERE hash = ?1
                     AND NOT EXISTS (SELECT 1 FROM vault_values WHERE blob_hash = ?1)",
                )
                .map_err(backend)?;
            for v in values {
                let found = find
                    .query_row(params![v.subscriber, v.category, v.version], |r| {
                        let blob: Option<Vec<u8>> = r.get(1)?;
                        let sealed = sealed_hash(0, r.get(0)?, blob.clone())?;
                        let written_by: Option<u64> = r.get(2)?;
                        Ok((blob, sealed, written_by))
                    })
                    .optional()
                    .map_err(backend)?;
                let Some((blob, sealed, written_by)) = found else { continue };
                // The purge is recorded first: the database refuses to delete a version
                // whose purge is not.
                record
                    .execute(params![
                        v.subscriber,
                        v.category,
                        v.version,
                        reason,
                        policy_version,
                        micros(at),
                        audit_index,
                        written_by,
                        &value_leaf(v, &sealed)[..]
                    ])
                    .map_err(backend)?;
                delete.execute(params![v.subscriber, v.category, v.version]).map_err(backend)?;
                drop_token.execute(params![v.subscriber, v.category, v.version]).map_err(backend)?;
                if let Some(hash) = blob {
                    drop_blob.execute([hash]).map_err(backend)?;
                }
                purged += 1;
            }
        }
        tx.commit().map_err(backend)?;
        Ok(purged)
    }

    fn purges(&self, limit: usize) -> StoreResult<Vec<PurgeRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {PURGE_COLUMNS} FROM vault_purges ORDER BY id DESC LIMIT ?1"))
            .map_err(backend)?;
        let rows = stmt.query_map([limit as i64], purge_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn purge_records(&self, after: Option<u64>, limit: usize) -> StoreResult<Vec<PurgeRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {PURGE_COLUMNS} FROM vault_purges WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map(params![after, limit as i64], purge_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value;
    use tokutei_store::conformance::records::{Edit, Tamper};

    #[test]
    fn conformance_vault() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("tokutei.sqlite3")).unwrap();
        tokutei_store::conformance::vault::run(&store);
    }

    /// Edits the database file directly, beside the store.
    struct SqlTamper(rusqlite::Connection);

    impl Tamper for SqlTamper {
        fn tamper(&self, edit: &Edit) -> Result<(), String> {
            let key = |v: &tokutei_store::vault::ValueRef| {
                vec![Value::from(v.subscriber.clone()), Value::from(v.category.clone()), Value::from(v.version)]
            };
            let id = |n: &u64| vec![Value::from(*n as i64)];
            let text = |t: &String| vec![Value::from(t.clone())];
            const VALUE: &str = "WHERE subscriber = ?1 AND category = ?2 AND version = ?3";
            let (sql, params): (String, Vec<Value>) = match edit {
                Edit::DeleteConsent(n) => ("DELETE FROM consent_records WHERE id = ?1".into(), id(n)),
                Edit::ChangeConsent(n) => (
                    "UPDATE consent_records SET choice = CASE choice WHEN 'opted_in' THEN 'opted_out'
                     ELSE 'opted_in' END WHERE id = ?1"
                        .into(),
                    id(n),
                ),
                Edit::DeleteAllConsents => ("DELETE FROM consent_records".into(), vec![]),
                Edit::DeleteValue(v) => (format!("DELETE FROM vault_values {VALUE}"), key(v)),
                Edit::DeleteAllValues => ("DELETE FROM vault_values".into(), vec![]),
                Edit::ReopenValue(v) => (format!("UPDATE vault_values SET valid_until = NULL {VALUE}"), key(v)),
                Edit::CloseValue(v) => (format!("UPDATE vault_values SET valid_until = 1 {VALUE}"), key(v)),
                Edit::ChangeCiphertext(v) => (format!("UPDATE vault_values SET ciphertext = X'00' {VALUE}"), key(v)),
                Edit::ChangeProvenance(v) => {
                    (format!("UPDATE vault_values SET collected_by = 'someone-else' {VALUE}"), key(v))
                }
                Edit::DeleteImportRecord(k) => {
                    ("DELETE FROM vault_import_batches WHERE source_key = ?1".into(), text(k))
                }
                Edit::DeleteAllImportRecords => ("DELETE FROM vault_import_batches".into(), vec![]),
                Edit::DeleteDataKey(s) => ("DELETE FROM vault_data_keys WHERE subscriber = ?1".into(), text(s)),
                Edit::DeleteSubscriber(s) => ("DELETE FROM vault_subscribers WHERE id = ?1".into(), text(s)),
                Edit::UneraseSubscriber(s) => {
                    ("UPDATE vault_subscribers SET erased_at = NULL WHERE id = ?1".into(), text(s))
                }
                Edit::DeleteAllPurges => ("DELETE FROM vault_purges".into(), vec![]),
                Edit::ChangeProvision(n) => {
                    ("UPDATE provision_records SET recipient = 'elsewhere' WHERE id = ?1".into(), id(n))
                }
                Edit::DeleteProvision(n) => ("DELETE FROM provision_records WHERE id = ?1".into(), id(n)),
                Edit::DeleteAllProvisions => ("DELETE FROM provision_records".into(), vec![]),
            };
            self.0.execute(&sql, rusqlite::params_from_iter(params)).map(drop).map_err(|e| e.to_string())
        }
    }

    #[test]
    fn conformance_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokutei.sqlite3");
        let store = crate::SqliteStore::open(&path).unwrap();
        let tamper = SqlTamper(rusqlite::Connection::open(&path).unwrap());
        tokutei_store::conformance::records::run(&store, &tamper);
    }
}
