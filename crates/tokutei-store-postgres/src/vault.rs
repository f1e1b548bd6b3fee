//! [`VaultStore`] on PostgreSQL: subscribers, wrapped data keys, versioned encrypted values
//! with provenance, blobs, blind indexes, import batches and purge records (`0003_vault.sql`).
//!
//! Bulk import writes a whole batch in one transaction with prepared statements.

use jiff::Timestamp;
use postgres::Row;
use tokutei_policy::AcquisitionMethod;
use tokutei_store::vault::{
    BatchOutcome, Contract, ContractState, ImportBatch, ImportRecord, IndirectSource, NewSubscriber, NewValue,
    Provenance, PurgeRecord, PurgeRule, Sealed, Source, StoredValue, Subscriber, ValueRef, ValueVersion, VaultStore,
    WrappedDataKey, value_leaf,
};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{
    bigint, corrupt, date, date_opt, get, limit, micros, timestamp, timestamp_opt, u32_col, u64_col, u64_opt,
};
use crate::db::{Tx, backend, is_constraint};

pub(crate) const SUBSCRIBER_COLUMNS: &str =
    "id, service, state, started_on, suspended_on, terminated_on, created_at, erased_at";

pub(crate) fn subscriber_row(row: &Row) -> StoreResult<Subscriber> {
    let state: &str = get(row, 2)?;
    Ok(Subscriber {
        id: get(row, 0)?,
        service: get(row, 1)?,
        contract: Contract {
            state: ContractState::from_id(state).ok_or_else(|| corrupt(row, 2, format!("unknown state `{state}`")))?,
            started_on: date(row, 3)?,
            suspended_on: date_opt(row, 4)?,
            terminated_on: date_opt(row, 5)?,
        },
        created_at: timestamp(row, 6)?,
        erased_at: timestamp_opt(row, 7)?,
    })
}

pub(crate) fn key_row(row: &Row, at: usize) -> StoreResult<WrappedDataKey> {
    Ok(WrappedDataKey { kek_id: get(row, at)?, bytes: get(row, at + 1)? })
}

const VALUE_COLUMNS: &str = "v.subscriber, v.category, v.version, v.ciphertext, v.blob_hash, b.ciphertext, v.method, \
     v.indirect, v.provider_name, v.provider_address, v.provider_representative, v.provider_obtained_by, \
     v.collected_at, v.collected_by, v.notice_version, v.valid_from, v.valid_until, v.audit_index";

fn value_row(row: &Row) -> StoreResult<StoredValue> {
    let inline: Option<Vec<u8>> = get(row, 3)?;
    let hash: Option<Vec<u8>> = get(row, 4)?;
    let blob: Option<Vec<u8>> = get(row, 5)?;
    let sealed = match (inline, hash, blob) {
        (Some(c), None, _) => Sealed::Inline(c),
        (None, Some(h), Some(c)) => Sealed::Blob {
            content_hash: h.try_into().map_err(|_| corrupt(row, 4, "content hash is not 32 bytes"))?,
            ciphertext: c,
        },
        _ => return Err(corrupt(row, 3, "value has neither ciphertext nor blob")),
    };
    let method: &str = get(row, 6)?;
    let method = AcquisitionMethod::ALL
        .into_iter()
        .find(|m| m.id() == method)
        .ok_or_else(|| corrupt(row, 6, format!("unknown acquisition method `{method}`")))?;
    let indirect: i64 = get(row, 7)?;
    let source = if indirect != 0 {
        Source::Indirect(IndirectSource {
            provider_name: get(row, 8)?,
            provider_address: get(row, 9)?,
            provider_representative: get(row, 10)?,
            provider_obtained_by: get(row, 11)?,
        })
    } else {
        Source::Direct
    };
    Ok(StoredValue {
        subscriber: get(row, 0)?,
        category: get(row, 1)?,
        version: u32_col(row, 2)?,
        sealed,
        provenance: Provenance {
            method,
            source,
            collected_at: timestamp(row, 12)?,
            collected_by: get(row, 13)?,
            notice_version: u32_col(row, 14)?,
        },
        valid_from: timestamp(row, 15)?,
        valid_until: timestamp_opt(row, 16)?,
        audit_index: u64_opt(row, 17)?,
    })
}

/// The columns of [`version_row`]: key, sealed bytes (inline ciphertext or blob hash),
/// validity and writing entry.
const VERSION_COLUMNS: &str = "subscriber, category, version, ciphertext, blob_hash, valid_until, audit_index";

fn hash32(row: &Row, column: usize, bytes: Vec<u8>) -> StoreResult<[u8; 32]> {
    bytes.try_into().map_err(|_| corrupt(row, column, "hash is not 32 bytes"))
}

/// The SHA-256 of a stored version's sealed bytes, from its `ciphertext` and `blob_hash`
/// columns at `at` and `at + 1`.
fn sealed_hash(row: &Row, at: usize) -> StoreResult<[u8; 32]> {
    let inline: Option<Vec<u8>> = get(row, at)?;
    let blob: Option<Vec<u8>> = get(row, at + 1)?;
    match (inline, blob) {
        (Some(c), None) => Ok(Sealed::Inline(c).sealed_hash()),
        (None, Some(h)) => hash32(row, at + 1, h),
        _ => Err(corrupt(row, at, "value has neither ciphertext nor blob")),
    }
}

fn version_row(row: &Row) -> StoreResult<ValueVersion> {
    let value = value_ref_row(row)?;
    let sealed = sealed_hash(row, 3)?;
    Ok(ValueVersion {
        leaf: value_leaf(&value, &sealed),
        value,
        valid_until: timestamp_opt(row, 5)?,
        audit_index: u64_opt(row, 6)?,
    })
}

const PURGE_COLUMNS: &str =
    "id, subscriber, category, version, reason, policy_version, purged_at, audit_index, written_by, leaf";

fn purge_row(r: &Row) -> StoreResult<PurgeRecord> {
    let leaf: Option<Vec<u8>> = get(r, 9)?;
    Ok(PurgeRecord {
        id: u64_col(r, 0)?,
        value: ValueRef { subscriber: get(r, 1)?, category: get(r, 2)?, version: u32_col(r, 3)? },
        reason: get(r, 4)?,
        policy_version: u32_col(r, 5)?,
        purged_at: timestamp(r, 6)?,
        audit_index: u64_opt(r, 7)?,
        written_by: u64_opt(r, 8)?,
        leaf: leaf.map(|l| hash32(r, 9, l)).transpose()?,
    })
}

fn value_ref_row(row: &Row) -> StoreResult<ValueRef> {
    Ok(ValueRef { subscriber: get(row, 0)?, category: get(row, 1)?, version: u32_col(row, 2)? })
}

fn conflict_or_backend(err: postgres::Error, what: impl FnOnce() -> String) -> StoreError {
    if is_constraint(&err) { StoreError::Conflict(what()) } else { backend(err) }
}

/// The position in `wanted` of the first key not among `got`, counting repeats: the row an
/// `INSERT … ON CONFLICT DO NOTHING RETURNING key` skipped.
fn first_skipped<K: Eq + std::hash::Hash>(wanted: &[K], got: Vec<K>) -> usize {
    let mut left: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    for key in got {
        *left.entry(key).or_default() += 1;
    }
    wanted
        .iter()
        .position(|key| match left.get_mut(key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .unwrap_or(0)
}

/// Insert new subscribers and their wrapped data keys inside `tx`, in one statement each.
/// An id that exists (or repeats in `subscribers`) is a conflict naming it.
fn insert_subscribers(tx: &mut Tx<'_>, subscribers: &[NewSubscriber], now: i64) -> StoreResult<()> {
    if subscribers.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = subscribers.iter().map(|s| s.id.as_str()).collect();
    let services: Vec<&str> = subscribers.iter().map(|s| s.service.as_str()).collect();
    let states: Vec<&str> = subscribers.iter().map(|s| s.contract.state.id()).collect();
    let started: Vec<String> = subscribers.iter().map(|s| s.contract.started_on.to_string()).collect();
    let suspended: Vec<Option<String>> =
        subscribers.iter().map(|s| s.contract.suspended_on.map(|d| d.to_string())).collect();
    let terminated: Vec<Option<String>> =
        subscribers.iter().map(|s| s.contract.terminated_on.map(|d| d.to_string())).collect();
    let inserted = tx
        .query(
            "INSERT INTO vault_subscribers (id, service, state, started_on, suspended_on, terminated_on, created_at)
             SELECT u.*, $7 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u
             ON CONFLICT (id) DO NOTHING RETURNING id",
            &[&ids, &services, &states, &started, &suspended, &terminated, &now],
        )
        .map_err(backend)?;
    if inserted.len() < ids.len() {
        let got = inserted.iter().map(|r| get::<&str>(r, 0)).collect::<StoreResult<Vec<_>>>()?;
        let clash = ids[first_skipped(&ids, got)];
        return Err(StoreError::Conflict(format!("subscriber `{clash}` already exists")));
    }
    let keks: Vec<&str> = subscribers.iter().map(|s| s.key.kek_id.as_str()).collect();
    let wrapped: Vec<&[u8]> = subscribers.iter().map(|s| s.key.bytes.as_slice()).collect();
    tx.execute(
        "INSERT INTO vault_data_keys (subscriber, kek_id, wrapped)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[])",
        &[&ids, &keks, &wrapped],
    )
    .map_err(backend)?;
    Ok(())
}

fn value_conflict(v: &NewValue) -> StoreError {
    StoreError::Conflict(format!(
        "value `{}` version {} of subscriber `{}` already exists or the subscriber does not",
        v.category, v.version, v.subscriber
    ))
}

/// Insert values inside `tx`, each naming the audit entry `audit_index`: blobs once by hash,
/// value rows, blind-index entries, and the closing of superseded versions. Values that
/// supersede nothing (an import's first versions, log entries) go in one statement per
/// table; a correction closes the version before it, so a slice holding one is written value
/// by value, in order.
fn insert_values(tx: &mut Tx<'_>, values: &[NewValue], audit_index: Option<u64>) -> StoreResult<()> {
    if values.is_empty() {
        return Ok(());
    }
    let audit_index = audit_index.map(bigint).transpose()?;
    if values.iter().any(|v| v.supersedes) {
        return insert_values_in_order(tx, values, audit_index);
    }
    let blobs: Vec<(&[u8], &[u8])> = values
        .iter()
        .filter_map(|v| match &v.sealed {
            Sealed::Blob { content_hash, ciphertext } => Some((&content_hash[..], ciphertext.as_slice())),
            Sealed::Inline(_) => None,
        })
        .collect();
    if !blobs.is_empty() {
        let (hashes, ciphertexts): (Vec<&[u8]>, Vec<&[u8]>) = blobs.into_iter().unzip();
        tx.execute(
            "INSERT INTO vault_blobs (hash, ciphertext) SELECT * FROM UNNEST($1::bytea[], $2::bytea[])
             ON CONFLICT (hash) DO NOTHING",
            &[&hashes, &ciphertexts],
        )
        .map_err(backend)?;
    }
    // The foreign key would refuse a value of an unknown subscriber, but without saying which.
    let subscribers: Vec<&str> = values.iter().map(|v| v.subscriber.as_str()).collect();
    let unknown = tx
        .query_opt(
            "SELECT u.id FROM UNNEST($1::text[]) WITH ORDINALITY AS u(id, n)
             WHERE NOT EXISTS (SELECT 1 FROM vault_subscribers s WHERE s.id = u.id) ORDER BY u.n LIMIT 1",
            &[&subscribers],
        )
        .map_err(backend)?;
    if let Some(row) = unknown {
        let id: &str = get(&row, 0)?;
        let v = values.iter().find(|v| v.subscriber == id).unwrap_or(&values[0]);
        return Err(value_conflict(v));
    }
    let mut columns = ValueColumns::default();
    for v in values {
        columns.push(v);
    }
    let c = &columns;
    let inserted = tx
        .query(
            "INSERT INTO vault_values (subscriber, category, version, ciphertext, blob_hash, method, indirect,
                 provider_name, provider_address, provider_representative, provider_obtained_by,
                 collected_at, collected_by, notice_version, valid_from, audit_index)
             SELECT u.*, $16::bigint FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bytea[],
                 $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[],
                 $13::text[], $14::bigint[], $15::bigint[]) AS u
             ON CONFLICT (subscriber, category, version) DO NOTHING RETURNING subscriber, category, version",
            &[
                &subscribers,
                &c.category,
                &c.version,
                &c.inline,
                &c.blob_hash,
                &c.method,
                &c.indirect,
                &c.provider_name,
                &c.provider_address,
                &c.provider_representative,
                &c.provider_obtained_by,
                &c.collected_at,
                &c.collected_by,
                &c.notice_version,
                &c.valid_from,
                &audit_index,
            ],
        )
        .map_err(|e| conflict_or_backend(e, || "a value of the batch conflicts with what is stored".to_string()))?;
    if inserted.len() < values.len() {
        let got = inserted
            .iter()
            .map(|r| Ok((get::<&str>(r, 0)?, get::<&str>(r, 1)?, get::<i64>(r, 2)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let wanted: Vec<(&str, &str, i64)> =
            values.iter().map(|v| (v.subscriber.as_str(), v.category.as_str(), i64::from(v.version))).collect();
        return Err(value_conflict(&values[first_skipped(&wanted, got)]));
    }
    let tokens: Vec<(&str, &[u8], &str, i64)> = values
        .iter()
        .filter_map(|v| {
            v.blind_index.as_ref().map(|t| (v.category.as_str(), &t[..], v.subscriber.as_str(), i64::from(v.version)))
        })
        .collect();
    if !tokens.is_empty() {
        let categories: Vec<&str> = tokens.iter().map(|t| t.0).collect();
        let token_bytes: Vec<&[u8]> = tokens.iter().map(|t| t.1).collect();
        let token_subscribers: Vec<&str> = tokens.iter().map(|t| t.2).collect();
        let versions: Vec<i64> = tokens.iter().map(|t| t.3).collect();
        tx.execute(
            "INSERT INTO vault_blind_index (category, token, subscriber, version)
             SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::text[], $4::bigint[])",
            &[&categories, &token_bytes, &token_subscribers, &versions],
        )
        .map_err(backend)?;
    }
    Ok(())
}

/// `vault_values` columns of a slice of values, as arrays.
#[derive(Default)]
struct ValueColumns<'a> {
    category: Vec<&'a str>,
    version: Vec<i64>,
    inline: Vec<Option<&'a [u8]>>,
    blob_hash: Vec<Option<&'a [u8]>>,
    method: Vec<&'static str>,
    indirect: Vec<i64>,
    provider_name: Vec<Option<&'a str>>,
    provider_address: Vec<Option<&'a str>>,
    provider_representative: Vec<Option<&'a str>>,
    provider_obtained_by: Vec<Option<&'a str>>,
    collected_at: Vec<i64>,
    collected_by: Vec<&'a str>,
    notice_version: Vec<i64>,
    valid_from: Vec<i64>,
}

impl<'a> ValueColumns<'a> {
    fn push(&mut self, v: &'a NewValue) {
        let (inline, hash) = match &v.sealed {
            Sealed::Inline(c) => (Some(c.as_slice()), None),
            Sealed::Blob { content_hash, .. } => (None, Some(&content_hash[..])),
        };
        let p = &v.provenance;
        let provider = match &p.source {
            Source::Direct => None,
            Source::Indirect(i) => Some(i),
        };
        self.category.push(&v.category);
        self.version.push(i64::from(v.version));
        self.inline.push(inline);
        self.blob_hash.push(hash);
        self.method.push(p.method.id());
        self.indirect.push(i64::from(provider.is_some()));
        self.provider_name.push(provider.map(|i| i.provider_name.as_str()));
        self.provider_address.push(provider.map(|i| i.provider_address.as_str()));
        self.provider_representative.push(provider.map(|i| i.provider_representative.as_str()));
        self.provider_obtained_by.push(provider.map(|i| i.provider_obtained_by.as_str()));
        self.collected_at.push(micros(p.collected_at));
        self.collected_by.push(&p.collected_by);
        self.notice_version.push(i64::from(p.notice_version));
        self.valid_from.push(micros(v.valid_from));
    }
}

/// Insert values one by one, in order (a correction closes the versions before it, once it
/// is stored: only a newer version closes one).
fn insert_values_in_order(tx: &mut Tx<'_>, values: &[NewValue], audit_index: Option<i64>) -> StoreResult<()> {
    for v in values {
        let version = i64::from(v.version);
        let (inline, hash) = match &v.sealed {
            Sealed::Inline(c) => (Some(c.as_slice()), None),
            Sealed::Blob { content_hash, ciphertext } => {
                tx.execute(
                    "INSERT INTO vault_blobs (hash, ciphertext) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
                    &[&&content_hash[..], ciphertext],
                )
                .map_err(backend)?;
                (None, Some(&content_hash[..]))
            }
        };
        let p = &v.provenance;
        let provider = match &p.source {
            Source::Direct => None,
            Source::Indirect(i) => Some(i),
        };
        tx.execute(
            "INSERT INTO vault_values (subscriber, category, version, ciphertext, blob_hash, method, indirect,
                 provider_name, provider_address, provider_representative, provider_obtained_by,
                 collected_at, collected_by, notice_version, valid_from, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            &[
                &v.subscriber,
                &v.category,
                &version,
                &inline,
                &hash,
                &p.method.id(),
                &i64::from(provider.is_some()),
                &provider.map(|i| i.provider_name.as_str()),
                &provider.map(|i| i.provider_address.as_str()),
                &provider.map(|i| i.provider_representative.as_str()),
                &provider.map(|i| i.provider_obtained_by.as_str()),
                &micros(p.collected_at),
                &p.collected_by,
                &i64::from(p.notice_version),
                &micros(v.valid_from),
                &audit_index,
            ],
        )
        .map_err(|e| if is_constraint(&e) { value_conflict(v) } else { backend(e) })?;
        if v.supersedes {
            tx.execute(
                "UPDATE vault_values SET valid_until = $4
                 WHERE subscriber = $1 AND category = $2 AND version < $3 AND valid_until IS NULL",
                &[&v.subscriber, &v.category, &version, &micros(v.valid_from)],
            )
            .map_err(backend)?;
        }
        if let Some(token) = &v.blind_index {
            tx.execute(
                "INSERT INTO vault_blind_index (category, token, subscriber, version) VALUES ($1, $2, $3, $4)",
                &[&v.category, &&token[..], &v.subscriber, &version],
            )
            .map_err(backend)?;
        }
    }
    Ok(())
}

impl VaultStore for PgStore {
    fn import_batch(&self, batch: &ImportBatch) -> StoreResult<BatchOutcome> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Instances importing the same input at once take turns on its source key, so the
        // later one sees the batch imported instead of clashing on its rows.
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7402117356))", &[&batch.source_key])
            .map_err(backend)?;
        let done = tx
            .query_opt("SELECT 1 FROM vault_import_batches WHERE source_key = $1", &[&batch.source_key])
            .map_err(backend)?
            .is_some();
        if done {
            return Ok(BatchOutcome::AlreadyImported);
        }
        let now = micros(batch.imported_at);
        insert_subscribers(&mut tx, &batch.subscribers, now)?;
        insert_values(&mut tx, &batch.values, batch.audit_index)?;
        tx.execute(
            "INSERT INTO vault_import_batches (source_key, rows, subscribers, value_count, imported_at, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &batch.source_key,
                &bigint(batch.rows)?,
                &bigint(batch.subscribers.len() as u64)?,
                &bigint(batch.values.len() as u64)?,
                &now,
                &batch.audit_index.map(bigint).transpose()?,
            ],
        )
        .map_err(|e| conflict_or_backend(e, || format!("batch `{}` was imported concurrently", batch.source_key)))?;
        tx.commit()?;
        Ok(BatchOutcome::Applied)
    }

    fn batch_imported(&self, source_key: &str) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        let found = conn
            .query_opt("SELECT 1 FROM vault_import_batches WHERE source_key = $1", &[&source_key])
            .map_err(backend)?;
        Ok(found.is_some())
    }

    fn import_record(&self, source_key: &str) -> StoreResult<Option<ImportRecord>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "SELECT source_key, rows, subscribers, value_count, imported_at, audit_index
                 FROM vault_import_batches WHERE source_key = $1",
                &[&source_key],
            )
            .map_err(backend)?;
        row.map(|r| {
            Ok(ImportRecord {
                source_key: get(&r, 0)?,
                rows: u64_col(&r, 1)?,
                subscribers: u64_col(&r, 2)?,
                values: u64_col(&r, 3)?,
                imported_at: timestamp(&r, 4)?,
                audit_index: u64_opt(&r, 5)?,
            })
        })
        .transpose()
    }

    fn subscriber(&self, id: &str) -> StoreResult<Option<Subscriber>> {
        let mut conn = self.conn()?;
        conn.query_opt(&format!("SELECT {SUBSCRIBER_COLUMNS} FROM vault_subscribers WHERE id = $1"), &[&id])
            .map_err(backend)?
            .as_ref()
            .map(subscriber_row)
            .transpose()
    }

    fn subscribers(&self, after: Option<&str>, limit_: usize) -> StoreResult<Vec<Subscriber>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {SUBSCRIBER_COLUMNS} FROM vault_subscribers
                     WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after, &limit(limit_)],
            )
            .map_err(backend)?;
        rows.iter().map(subscriber_row).collect()
    }

    fn subscriber_count(&self) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let row = conn.query_one("SELECT COUNT(*) FROM vault_subscribers", &[]).map_err(backend)?;
        u64_col(&row, 0)
    }

    fn set_contract(&self, id: &str, contract: &Contract) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let changed = conn
            .execute(
                "UPDATE vault_subscribers SET state = $2, started_on = $3, suspended_on = $4, terminated_on = $5
                 WHERE id = $1",
                &[
                    &id,
                    &contract.state.id(),
                    &contract.started_on.to_string(),
                    &contract.suspended_on.map(|d| d.to_string()),
                    &contract.terminated_on.map(|d| d.to_string()),
                ],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("subscriber `{id}`")));
        }
        Ok(())
    }

    fn data_key(&self, subscriber: &str) -> StoreResult<Option<WrappedDataKey>> {
        let mut conn = self.conn()?;
        conn.query_opt("SELECT kek_id, wrapped FROM vault_data_keys WHERE subscriber = $1", &[&subscriber])
            .map_err(backend)?
            .map(|row| key_row(&row, 0))
            .transpose()
    }

    fn latest_versions(&self, subscriber: &str) -> StoreResult<Vec<(String, u32)>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT category, MAX(version) FROM vault_values WHERE subscriber = $1 GROUP BY category ORDER BY category",
                &[&subscriber],
            )
            .map_err(backend)?;
        rows.iter().map(|r| Ok((get(r, 0)?, u32_col(r, 1)?))).collect()
    }

    fn add_values(&self, values: &[NewValue], audit_index: Option<u64>) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        insert_values(&mut tx, values, audit_index)?;
        tx.commit()
    }

    fn value_versions(&self, subscriber: &str) -> StoreResult<Vec<ValueVersion>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!("SELECT {VERSION_COLUMNS} FROM vault_values WHERE subscriber = $1 ORDER BY category, version"),
                &[&subscriber],
            )
            .map_err(backend)?;
        rows.iter().map(version_row).collect()
    }

    fn values_written_by(&self, audit_index: u64) -> StoreResult<Vec<ValueVersion>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM vault_values WHERE audit_index = $1
                     ORDER BY subscriber, category, version"
                ),
                &[&bigint(audit_index)?],
            )
            .map_err(backend)?;
        rows.iter().map(version_row).collect()
    }

    fn values(&self, subscriber: &str, category: Option<&str>, history: bool) -> StoreResult<Vec<StoredValue>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {VALUE_COLUMNS} FROM vault_values v LEFT JOIN vault_blobs b ON b.hash = v.blob_hash
                     WHERE v.subscriber = $1 AND ($2::text IS NULL OR v.category = $2)
                       AND ($3::boolean OR v.valid_until IS NULL)
                     ORDER BY v.category, v.version"
                ),
                &[&subscriber, &category, &history],
            )
            .map_err(backend)?;
        rows.iter().map(value_row).collect()
    }

    fn find_by_blind_index(&self, category: &str, token: &[u8; 32]) -> StoreResult<Vec<String>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT DISTINCT i.subscriber FROM vault_blind_index i
                 JOIN vault_values v ON v.subscriber = i.subscriber AND v.category = i.category AND v.version = i.version
                 WHERE i.category = $1 AND i.token = $2 AND v.valid_until IS NULL
                 ORDER BY i.subscriber",
                &[&category, &&token[..]],
            )
            .map_err(backend)?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    fn wrapped_keys(&self, after: Option<&str>, limit_: usize) -> StoreResult<Vec<(String, WrappedDataKey)>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT subscriber, kek_id, wrapped FROM vault_data_keys
                 WHERE $1::text IS NULL OR subscriber > $1 ORDER BY subscriber LIMIT $2",
                &[&after, &limit(limit_)],
            )
            .map_err(backend)?;
        rows.iter().map(|r| Ok((get(r, 0)?, key_row(r, 1)?))).collect()
    }

    fn rewrap_keys(&self, keys: &[(String, WrappedDataKey)]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        for (subscriber, key) in keys {
            let changed = tx
                .execute(
                    "UPDATE vault_data_keys SET kek_id = $2, wrapped = $3 WHERE subscriber = $1",
                    &[subscriber, &key.kek_id, &key.bytes],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("data key of subscriber `{subscriber}`")));
            }
        }
        tx.commit()
    }

    fn kek_usage(&self) -> StoreResult<Vec<(String, u64)>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query("SELECT kek_id, COUNT(*) FROM vault_data_keys GROUP BY kek_id ORDER BY kek_id", &[])
            .map_err(backend)?;
        rows.iter().map(|r| Ok((get(r, 0)?, u64_col(r, 1)?))).collect()
    }

    fn erase_subscriber(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let changed = tx
            .execute(
                "UPDATE vault_subscribers SET erased_at = COALESCE(erased_at, $2) WHERE id = $1",
                &[&id, &micros(at)],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("subscriber `{id}`")));
        }
        tx.execute("DELETE FROM vault_data_keys WHERE subscriber = $1", &[&id]).map_err(backend)?;
        tx.execute("DELETE FROM vault_blind_index WHERE subscriber = $1", &[&id]).map_err(backend)?;
        tx.commit()
    }

    fn expired_values(&self, rule: &PurgeRule, after: Option<&ValueRef>, limit_: usize) -> StoreResult<Vec<ValueRef>> {
        let mut conn = self.conn()?;
        let (a_sub, a_cat, a_ver) = match after {
            Some(r) => (Some(r.subscriber.as_str()), Some(r.category.as_str()), Some(i64::from(r.version))),
            None => (None, None, None),
        };
        let rows = match rule {
            PurgeRule::CollectedBefore { category, cutoff } => conn.query(
                "SELECT subscriber, category, version FROM vault_values
                 WHERE category = $1 AND collected_at < $2
                   AND ($3::text IS NULL OR (subscriber, category, version) > ($3, $4::text, $5::bigint))
                 ORDER BY subscriber, category, version LIMIT $6",
                &[category, &micros(*cutoff), &a_sub, &a_cat, &a_ver, &limit(limit_)],
            ),
            PurgeRule::ContractEndedBy { category, cutoff } => conn.query(
                "SELECT v.subscriber, v.category, v.version FROM vault_values v
                 JOIN vault_subscribers s ON s.id = v.subscriber
                 WHERE v.category = $1 AND s.state = 'terminated' AND s.terminated_on <= $2
                   AND ($3::text IS NULL OR (v.subscriber, v.category, v.version) > ($3, $4::text, $5::bigint))
                 ORDER BY v.subscriber, v.category, v.version LIMIT $6",
                &[category, &cutoff.to_string(), &a_sub, &a_cat, &a_ver, &limit(limit_)],
            ),
        }
        .map_err(backend)?;
        rows.iter().map(value_ref_row).collect()
    }

    fn purge_values(
        &self,
        values: &[ValueRef],
        reason: &str,
        policy_version: u32,
        at: Timestamp,
        audit_index: Option<u64>,
    ) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let audit_index = audit_index.map(bigint).transpose()?;
        let mut purged = 0u64;
        for v in values {
            let version = i64::from(v.version);
            let found = tx
                .query_opt(
                    "SELECT ciphertext, blob_hash, audit_index FROM vault_values
                     WHERE subscriber = $1 AND category = $2 AND version = $3 FOR UPDATE",
                    &[&v.subscriber, &v.category, &version],
                )
                .map_err(backend)?;
            let Some(found) = found else { continue };
            let sealed = sealed_hash(&found, 0)?;
            let blob: Option<Vec<u8>> = get(&found, 1)?;
            let written_by: Option<i64> = get(&found, 2)?;
            // The purge is recorded first: the database refuses to delete a version whose
            // purge is not.
            tx.execute(
                "INSERT INTO vault_purges (subscriber, category, version, reason, policy_version, purged_at,
                     audit_index, written_by, leaf)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &v.subscriber,
                    &v.category,
                    &version,
                    &reason,
                    &i64::from(policy_version),
                    &micros(at),
                    &audit_index,
                    &written_by,
                    &&value_leaf(v, &sealed)[..],
                ],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM vault_values WHERE subscriber = $1 AND category = $2 AND version = $3",
                &[&v.subscriber, &v.category, &version],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM vault_blind_index WHERE category = $2 AND subscriber = $1 AND version = $3",
                &[&v.subscriber, &v.category, &version],
            )
            .map_err(backend)?;
            if let Some(hash) = blob {
                tx.execute(
                    "DELETE FROM vault_blobs WHERE hash = $1
                     AND NOT EXISTS (SELECT 1 FROM vault_values WHERE blob_hash = $1)",
                    &[&hash],
                )
                .map_err(backend)?;
            }
            purged += 1;
        }
        tx.commit()?;
        Ok(purged)
    }

    fn purges(&self, limit_: usize) -> StoreResult<Vec<PurgeRecord>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(&format!("SELECT {PURGE_COLUMNS} FROM vault_purges ORDER BY id DESC LIMIT $1"), &[&limit(limit_)])
            .map_err(backend)?;
        rows.iter().map(purge_row).collect()
    }

    fn purge_records(&self, after: Option<u64>, limit_: usize) -> StoreResult<Vec<PurgeRecord>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {PURGE_COLUMNS} FROM vault_purges WHERE $1::bigint IS NULL OR id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after.map(bigint).transpose()?, &limit(limit_)],
            )
            .map_err(backend)?;
        rows.iter().map(purge_row).collect()
    }
}
