//! [`StaffStore`], [`ExportStore`], [`ConsentStore`], [`ProvisionStore`] and
//! [`FreshnessStore`] on PostgreSQL (`0004_staff_consent.sql`).
//!
//! Every change of a principal or token bumps `staff_generation` in the same transaction.

use jiff::Timestamp;
use postgres::Row;
use tokutei_policy::{Date, Role};
use tokutei_store::consent::{AccessFacts, Choice, ConsentRecord, ConsentStore, NewConsent};
use tokutei_store::provision::{LegalBasis, NewProvision, ProvisionRecord, ProvisionStore};
use tokutei_store::staff::{
    ExportRequest, ExportStore, Grants, NewExportRequest, NewPrincipal, NewToken, PrincipalKind, StaffStore,
    StoredPrincipal, StoredToken, Training,
};
use tokutei_store::{Freshness, FreshnessStore};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, date, get, limit, micros, timestamp, timestamp_opt, u32_col, u64_col, u64_opt};
use crate::db::{Conn, Tx, backend};
use crate::vault::{SUBSCRIBER_COLUMNS, key_row, subscriber_row};

fn role_id(role: Role) -> String {
    serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A JSON text column, decoded into the type the context asks for.
macro_rules! json_col {
    ($row:expr, $idx:expr) => {{
        let text: &str = get($row, $idx)?;
        serde_json::from_str(text).map_err(|e| corrupt($row, $idx, e))
    }};
}

const PRINCIPAL_COLUMNS: &str = "id, display_name, kind, role, system_name, grants, version, created_at, disabled_at";

fn principal_row(row: &Row) -> StoreResult<StoredPrincipal> {
    let kind: &str = get(row, 2)?;
    let kind = match kind {
        "person" => {
            let role: String = get(row, 3)?;
            let role = serde_json::from_value(serde_json::Value::String(role.clone()))
                .map_err(|_| corrupt(row, 3, format!("unknown role `{role}`")))?;
            PrincipalKind::Person { role }
        }
        "system" => PrincipalKind::System { name: get(row, 4)? },
        other => return Err(corrupt(row, 2, format!("unknown principal kind `{other}`"))),
    };
    Ok(StoredPrincipal {
        id: get(row, 0)?,
        display_name: get(row, 1)?,
        kind,
        grants: json_col!(row, 5)?,
        training: Vec::new(),
        version: u64_col(row, 6)?,
        created_at: timestamp(row, 7)?,
        disabled_at: timestamp_opt(row, 8)?,
    })
}

fn training_of(conn: &mut Conn, principal: &str) -> StoreResult<Vec<Training>> {
    let rows = conn
        .query(
            "SELECT course, completed, valid_until FROM staff_training WHERE principal = $1 ORDER BY seq",
            &[&principal],
        )
        .map_err(backend)?;
    rows.iter().map(|r| Ok(Training { course: get(r, 0)?, completed: date(r, 1)?, valid_until: date(r, 2)? })).collect()
}

fn bump(tx: &mut Tx<'_>, id: &str) -> StoreResult<u64> {
    let row = tx
        .query_opt("UPDATE staff_principals SET version = version + 1 WHERE id = $1 RETURNING version", &[&id])
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound(format!("principal `{id}`")))?;
    let version = u64_col(&row, 0)?;
    bump_generation(tx)?;
    Ok(version)
}

fn bump_generation(tx: &mut Tx<'_>) -> StoreResult<()> {
    tx.execute("UPDATE staff_generation SET generation = generation + 1", &[]).map_err(backend)?;
    Ok(())
}

const TOKEN_COLUMNS: &str = "id, principal, hash, created_at, expires_at, revoked_at";

fn token_row(row: &Row) -> StoreResult<StoredToken> {
    let hash: Vec<u8> = get(row, 2)?;
    Ok(StoredToken {
        id: get(row, 0)?,
        principal: get(row, 1)?,
        hash: hash.try_into().map_err(|_| corrupt(row, 2, "token hash is not 32 bytes"))?,
        created_at: timestamp(row, 3)?,
        expires_at: timestamp(row, 4)?,
        revoked_at: timestamp_opt(row, 5)?,
    })
}

impl StaffStore for PgStore {
    fn create_principal(&self, p: &NewPrincipal) -> StoreResult<StoredPrincipal> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let (kind, role, system) = match &p.kind {
            PrincipalKind::Person { role } => ("person", Some(role_id(*role)), None),
            PrincipalKind::System { name } => ("system", None, Some(name.as_str())),
        };
        let grants = serde_json::to_string(&p.grants).map_err(json_err)?;
        let inserted = tx
            .execute(
                "INSERT INTO staff_principals (id, display_name, kind, role, system_name, grants, version, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (id) DO NOTHING",
                &[&p.id, &p.display_name, &kind, &role, &system, &grants, &micros(p.created_at)],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("principal `{}` already exists", p.id)));
        }
        bump_generation(&mut tx)?;
        tx.commit()?;
        Ok(StoredPrincipal {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            kind: p.kind.clone(),
            grants: p.grants.clone(),
            training: Vec::new(),
            version: 1,
            created_at: p.created_at,
            disabled_at: None,
        })
    }

    fn principal(&self, id: &str) -> StoreResult<Option<StoredPrincipal>> {
        let mut conn = self.conn()?;
        let found = conn
            .query_opt(&format!("SELECT {PRINCIPAL_COLUMNS} FROM staff_principals WHERE id = $1"), &[&id])
            .map_err(backend)?;
        let Some(row) = found else { return Ok(None) };
        let mut principal = principal_row(&row)?;
        principal.training = training_of(&mut conn, id)?;
        Ok(Some(principal))
    }

    fn principals(&self) -> StoreResult<Vec<StoredPrincipal>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(&format!("SELECT {PRINCIPAL_COLUMNS} FROM staff_principals ORDER BY id"), &[])
            .map_err(backend)?;
        let mut all: Vec<StoredPrincipal> = rows.iter().map(principal_row).collect::<StoreResult<_>>()?;
        for p in &mut all {
            p.training = training_of(&mut conn, &p.id)?;
        }
        Ok(all)
    }

    fn set_grants(&self, id: &str, grants: &Grants) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let json = serde_json::to_string(grants).map_err(json_err)?;
        tx.execute("UPDATE staff_principals SET grants = $2 WHERE id = $1", &[&id, &json]).map_err(backend)?;
        let version = bump(&mut tx, id)?;
        tx.commit()?;
        Ok(version)
    }

    fn add_training(&self, id: &str, training: &Training) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // The bump locks the principal's row, so concurrent additions number one by one.
        let version = bump(&mut tx, id)?;
        tx.execute(
            "INSERT INTO staff_training (principal, course, completed, valid_until, seq)
             VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM staff_training WHERE principal = $1))",
            &[&id, &training.course, &training.completed.to_string(), &training.valid_until.to_string()],
        )
        .map_err(backend)?;
        tx.commit()?;
        Ok(version)
    }

    fn disable_principal(&self, id: &str, at: Timestamp) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "UPDATE staff_principals SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
            &[&id, &micros(at)],
        )
        .map_err(backend)?;
        let version = bump(&mut tx, id)?;
        tx.commit()?;
        Ok(version)
    }

    fn add_token(&self, token: &NewToken) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // FOR SHARE: a concurrent disable waits for this token (or this waits for it).
        let principal = tx
            .query_opt("SELECT disabled_at FROM staff_principals WHERE id = $1 FOR SHARE", &[&token.principal])
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound(format!("principal `{}`", token.principal)))?;
        if timestamp_opt(&principal, 0)?.is_some() {
            return Err(StoreError::Conflict(format!("principal `{}` is disabled", token.principal)));
        }
        let inserted = tx
            .execute(
                "INSERT INTO staff_tokens (id, principal, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO NOTHING",
                &[&token.id, &token.principal, &&token.hash[..], &micros(token.created_at), &micros(token.expires_at)],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("token `{}` already exists", token.id)));
        }
        bump_generation(&mut tx)?;
        tx.commit()
    }

    fn token(&self, id: &str) -> StoreResult<Option<StoredToken>> {
        let mut conn = self.conn()?;
        conn.query_opt(&format!("SELECT {TOKEN_COLUMNS} FROM staff_tokens WHERE id = $1"), &[&id])
            .map_err(backend)?
            .as_ref()
            .map(token_row)
            .transpose()
    }

    fn tokens(&self, principal: &str) -> StoreResult<Vec<StoredToken>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!("SELECT {TOKEN_COLUMNS} FROM staff_tokens WHERE principal = $1 ORDER BY created_at DESC, id"),
                &[&principal],
            )
            .map_err(backend)?;
        rows.iter().map(token_row).collect()
    }

    fn revoke_token(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let changed = tx
            .execute("UPDATE staff_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", &[&id, &micros(at)])
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("token `{id}`")));
        }
        bump_generation(&mut tx)?;
        tx.commit()
    }

    fn staff_generation(&self) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let row = conn.query_one("SELECT generation FROM staff_generation", &[]).map_err(backend)?;
        u64_col(&row, 0)
    }
}

const CONSENT_COLUMNS: &str =
    "id, subscriber, purpose, choice, channel, notice_version, recorded_at, recorded_by, evidence, audit_index";

/// A consent record read from the columns starting at `at` (in [`CONSENT_COLUMNS`] order).
fn consent_row_at(row: &Row, at: usize) -> StoreResult<ConsentRecord> {
    let choice: &str = get(row, at + 3)?;
    Ok(ConsentRecord {
        id: u64_col(row, at)?,
        record: NewConsent {
            subscriber: get(row, at + 1)?,
            purpose: get(row, at + 2)?,
            choice: Choice::from_id(choice)
                .ok_or_else(|| corrupt(row, at + 3, format!("unknown choice `{choice}`")))?,
            channel: get(row, at + 4)?,
            notice_version: u32_col(row, at + 5)?,
            recorded_at: timestamp(row, at + 6)?,
            recorded_by: get(row, at + 7)?,
            evidence: get(row, at + 8)?,
        },
        audit_index: u64_opt(row, at + 9)?,
    })
}

fn consent_row(row: &Row) -> StoreResult<ConsentRecord> {
    consent_row_at(row, 0)
}

/// The columns of `list` prefixed with `alias.`.
fn qualified(list: &str, alias: &str) -> String {
    list.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

impl ConsentStore for PgStore {
    fn access_facts(&self, subscriber: &str, purpose: &str) -> StoreResult<Option<AccessFacts>> {
        let mut conn = self.conn()?;
        let columns = qualified(SUBSCRIBER_COLUMNS, "s");
        let consent = qualified(CONSENT_COLUMNS, "c");
        // Whether the latest stop of `{kind}` for the purpose (`$2`) or every purpose is in force.
        const STOPPED_SQL: &str = "EXISTS (SELECT 1 FROM use_stops u
                 WHERE u.subscriber = s.id AND u.kind = '{kind}' AND u.purpose IN ($2, '*') AND u.stopped
                   AND u.number = (SELECT MAX(l.number) FROM use_stops l
                                   WHERE l.subscriber = u.subscriber AND l.kind = u.kind AND l.purpose = u.purpose))";
        let use_stopped = STOPPED_SQL.replace("{kind}", "use");
        let provision_stopped = STOPPED_SQL.replace("{kind}", "provision");
        let stops_at = 10 + CONSENT_COLUMNS.split(", ").count();
        let row = conn
            .query_opt(
                &format!(
                    "SELECT {columns}, k.kek_id, k.wrapped, {consent}, {use_stopped}, {provision_stopped}
                     FROM vault_subscribers s
                     LEFT JOIN vault_data_keys k ON k.subscriber = s.id
                     LEFT JOIN consent_records c
                         ON c.id = (SELECT MAX(id) FROM consent_records WHERE subscriber = s.id AND purpose = $2)
                     WHERE s.id = $1"
                ),
                &[&subscriber, &purpose],
            )
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let kek: Option<&str> = get(&row, 8)?;
        let consent_id: Option<i64> = get(&row, 10)?;
        Ok(Some(AccessFacts {
            subscriber: subscriber_row(&row)?,
            key: kek.map(|_| key_row(&row, 8)).transpose()?,
            consent: consent_id.map(|_| consent_row_at(&row, 10)).transpose()?,
            use_stopped: get(&row, stops_at)?,
            provision_stopped: get(&row, stops_at + 1)?,
        }))
    }

    fn record_consent(&self, c: &NewConsent, audit_index: Option<u64>) -> StoreResult<ConsentRecord> {
        let mut conn = self.conn()?;
        // In a transaction although it is one statement: only a BEGIN is ever retried on a
        // reopened connection, never a write. The subscriber check and the insert see the
        // same snapshot, and the foreign key refuses a subscriber deleted in between.
        let mut tx = conn.transaction()?;
        let row = tx
            .query_opt(
                "INSERT INTO consent_records
                     (subscriber, purpose, choice, channel, notice_version, recorded_at, recorded_by, evidence,
                      audit_index)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
                 WHERE EXISTS (SELECT 1 FROM vault_subscribers WHERE id = $1)
                 RETURNING id",
                &[
                    &c.subscriber,
                    &c.purpose,
                    &c.choice.id(),
                    &c.channel,
                    &i64::from(c.notice_version),
                    &micros(c.recorded_at),
                    &c.recorded_by,
                    &c.evidence,
                    &audit_index.map(bigint).transpose()?,
                ],
            )
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound(format!("subscriber `{}`", c.subscriber)))?;
        let id = u64_col(&row, 0)?;
        tx.commit()?;
        Ok(ConsentRecord { id, record: c.clone(), audit_index })
    }

    fn current_consents(&self, subscriber: &str) -> StoreResult<Vec<ConsentRecord>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {CONSENT_COLUMNS} FROM consent_records WHERE id IN (
                         SELECT MAX(id) FROM consent_records WHERE subscriber = $1 GROUP BY purpose)
                     ORDER BY purpose"
                ),
                &[&subscriber],
            )
            .map_err(backend)?;
        rows.iter().map(consent_row).collect()
    }

    fn current_consent(&self, subscriber: &str, purpose: &str) -> StoreResult<Option<ConsentRecord>> {
        let mut conn = self.conn()?;
        conn.query_opt(
            &format!(
                "SELECT {CONSENT_COLUMNS} FROM consent_records WHERE subscriber = $1 AND purpose = $2
                 ORDER BY id DESC LIMIT 1"
            ),
            &[&subscriber, &purpose],
        )
        .map_err(backend)?
        .as_ref()
        .map(consent_row)
        .transpose()
    }

    fn consent_history(&self, subscriber: &str) -> StoreResult<Vec<ConsentRecord>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!("SELECT {CONSENT_COLUMNS} FROM consent_records WHERE subscriber = $1 ORDER BY id"),
                &[&subscriber],
            )
            .map_err(backend)?;
        rows.iter().map(consent_row).collect()
    }

    fn consent_records(&self, after: Option<u64>, limit_: usize) -> StoreResult<Vec<ConsentRecord>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {CONSENT_COLUMNS} FROM consent_records WHERE $1::bigint IS NULL OR id > $1
                     ORDER BY id LIMIT $2"
                ),
                &[&after.map(bigint).transpose()?, &limit(limit_)],
            )
            .map_err(backend)?;
        rows.iter().map(consent_row).collect()
    }
}

impl FreshnessStore for PgStore {
    fn freshness(&self, today: Date) -> StoreResult<Freshness> {
        let mut conn = self.conn()?;
        let row = conn
            .query_one(
                "SELECT (SELECT number FROM policy_versions WHERE effective <= $1 ORDER BY number DESC LIMIT 1),
                        (SELECT generation FROM staff_generation)",
                &[&today.to_string()],
            )
            .map_err(backend)?;
        let active: Option<i64> = get(&row, 0)?;
        Ok(Freshness {
            active_policy: active
                .map(|n| u32::try_from(n).map_err(|_| corrupt(&row, 0, format!("{n} is out of range"))))
                .transpose()?,
            staff_generation: u64_col(&row, 1)?,
        })
    }
}

const PROVISION_COLUMNS: &str = "id, provided_at, recipient, subscriber, categories, purpose, basis, consent_proof, \
     record_type, audit_index, keep_until";

fn provision_row(row: &Row) -> StoreResult<ProvisionRecord> {
    let basis = match get::<&str>(row, 6)? {
        "consent" => LegalBasis::Consent,
        "opt_out" => LegalBasis::OptOut,
        other => return Err(corrupt(row, 6, format!("unknown legal basis `{other}`"))),
    };
    Ok(ProvisionRecord {
        id: u64_col(row, 0)?,
        record: NewProvision {
            provided_at: timestamp(row, 1)?,
            recipient: get(row, 2)?,
            subscriber: get(row, 3)?,
            categories: json_col!(row, 4)?,
            purpose: get(row, 5)?,
            basis,
            consent_proof: u64_opt(row, 7)?,
            record_type: json_col!(row, 8)?,
            audit_index: u64_opt(row, 9)?,
            keep_until: date(row, 10)?,
        },
    })
}

impl ProvisionStore for PgStore {
    fn add_provisions(&self, records: &[NewProvision]) -> StoreResult<Vec<u64>> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let mut ids = Vec::with_capacity(records.len());
        for r in records {
            let row = tx
                .query_one(
                    "INSERT INTO provision_records (provided_at, recipient, subscriber, categories, purpose, basis,
                         consent_proof, record_type, audit_index, keep_until)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    &[
                        &micros(r.provided_at),
                        &r.recipient,
                        &r.subscriber,
                        &serde_json::to_string(&r.categories).map_err(json_err)?,
                        &r.purpose,
                        &r.basis.id(),
                        &r.consent_proof.map(bigint).transpose()?,
                        &serde_json::to_string(&r.record_type).map_err(json_err)?,
                        &r.audit_index.map(bigint).transpose()?,
                        &r.keep_until.to_string(),
                    ],
                )
                .map_err(backend)?;
            ids.push(u64_col(&row, 0)?);
        }
        tx.commit()?;
        Ok(ids)
    }

    fn provisions_of(&self, subscriber: &str) -> StoreResult<Vec<ProvisionRecord>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!("SELECT {PROVISION_COLUMNS} FROM provision_records WHERE subscriber = $1 ORDER BY id"),
                &[&subscriber],
            )
            .map_err(backend)?;
        rows.iter().map(provision_row).collect()
    }

    fn provisions(&self, after: Option<u64>, limit_: usize) -> StoreResult<Vec<ProvisionRecord>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!("SELECT {PROVISION_COLUMNS} FROM provision_records WHERE id > $1 ORDER BY id LIMIT $2"),
                &[&bigint(after.unwrap_or(0))?, &limit(limit_)],
            )
            .map_err(backend)?;
        rows.iter().map(provision_row).collect()
    }
}

const EXPORT_COLUMNS: &str = "id, requested_by, purpose, categories, subscribers, reason, recipient, requested_at, \
     valid_until, approved_by, approved_at";

fn export_row(row: &Row) -> StoreResult<ExportRequest> {
    let subscribers: Option<&str> = get(row, 4)?;
    Ok(ExportRequest {
        request: NewExportRequest {
            id: get(row, 0)?,
            requested_by: get(row, 1)?,
            purpose: get(row, 2)?,
            categories: json_col!(row, 3)?,
            subscribers: subscribers.map(|s| serde_json::from_str(s).map_err(|e| corrupt(row, 4, e))).transpose()?,
            reason: get(row, 5)?,
            recipient: get(row, 6)?,
            requested_at: timestamp(row, 7)?,
            valid_until: timestamp(row, 8)?,
        },
        approved_by: get(row, 9)?,
        approved_at: timestamp_opt(row, 10)?,
    })
}

impl ExportStore for PgStore {
    fn create_export_request(&self, r: &NewExportRequest) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // FOR SHARE keeps the requester from disappearing before the insert.
        let known = tx
            .query_opt("SELECT 1 FROM staff_principals WHERE id = $1 FOR SHARE", &[&r.requested_by])
            .map_err(backend)?
            .is_some();
        if !known {
            return Err(StoreError::NotFound(format!("principal `{}`", r.requested_by)));
        }
        let subscribers = r.subscribers.as_ref().map(serde_json::to_string).transpose().map_err(json_err)?;
        let inserted = tx
            .execute(
                "INSERT INTO export_requests (id, requested_by, purpose, categories, subscribers, reason, recipient,
                     requested_at, valid_until)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                &[
                    &r.id,
                    &r.requested_by,
                    &r.purpose,
                    &serde_json::to_string(&r.categories).map_err(json_err)?,
                    &subscribers,
                    &r.reason,
                    &r.recipient,
                    &micros(r.requested_at),
                    &micros(r.valid_until),
                ],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("export request `{}` already exists", r.id)));
        }
        tx.commit()
    }

    fn approve_export(&self, id: &str, approver: &str, at: Timestamp) -> StoreResult<ExportRequest> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // FOR UPDATE: of two approvals at once, the second sees the first and is refused.
        let found = tx
            .query_opt(&format!("SELECT {EXPORT_COLUMNS} FROM export_requests WHERE id = $1 FOR UPDATE"), &[&id])
            .map_err(backend)?;
        let row = found.ok_or_else(|| StoreError::NotFound(format!("export request `{id}`")))?;
        let mut request = export_row(&row)?;
        if request.approved_by.is_some() {
            return Err(StoreError::Conflict(format!("export request `{id}` is already approved")));
        }
        if request.request.requested_by == approver {
            return Err(StoreError::Conflict(format!("export request `{id}` cannot be approved by its requester")));
        }
        let known = tx
            .query_opt("SELECT 1 FROM staff_principals WHERE id = $1 FOR SHARE", &[&approver])
            .map_err(backend)?
            .is_some();
        if !known {
            return Err(StoreError::NotFound(format!("principal `{approver}`")));
        }
        tx.execute(
            "UPDATE export_requests SET approved_by = $2, approved_at = $3 WHERE id = $1",
            &[&id, &approver, &micros(at)],
        )
        .map_err(backend)?;
        tx.commit()?;
        request.approved_by = Some(approver.to_string());
        request.approved_at = Some(at);
        Ok(request)
    }

    fn export_request(&self, id: &str) -> StoreResult<Option<ExportRequest>> {
        let mut conn = self.conn()?;
        conn.query_opt(&format!("SELECT {EXPORT_COLUMNS} FROM export_requests WHERE id = $1"), &[&id])
            .map_err(backend)?
            .as_ref()
            .map(export_row)
            .transpose()
    }

    fn export_requests(&self) -> StoreResult<Vec<ExportRequest>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(&format!("SELECT {EXPORT_COLUMNS} FROM export_requests ORDER BY requested_at DESC, id"), &[])
            .map_err(backend)?;
        rows.iter().map(export_row).collect()
    }
}
