//! Forward-only schema migrations, with the same names and numbers as the SQLite backend's.
//! Each migration runs in its own transaction that also records it, under a transaction-level
//! advisory lock so that instances starting at once migrate one after the other; a database
//! whose recorded version is newer than [`SCHEMA_VERSION`] is refused.

use postgres::Client;
use tokutei_store::{StoreError, StoreResult};

use crate::db::backend;

/// `(name, sql)` in order. Never edit a migration that has shipped; add a new one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_policy_versions", include_str!("../migrations/0001_policy_versions.sql")),
    ("0002_ledger", include_str!("../migrations/0002_ledger.sql")),
    ("0003_vault", include_str!("../migrations/0003_vault.sql")),
    ("0004_staff_consent", include_str!("../migrations/0004_staff_consent.sql")),
    ("0005_auth", include_str!("../migrations/0005_auth.sql")),
    ("0006_inquiries", include_str!("../migrations/0006_inquiries.sql")),
    ("0007_ledger_partitions", include_str!("../migrations/0007_ledger_partitions.sql")),
    ("0009_append_only_records", include_str!("../migrations/0009_append_only_records.sql")),
    ("0010_auth_hardening", include_str!("../migrations/0010_auth_hardening.sql")),
    ("0011_ledger_subjects_guard", include_str!("../migrations/0011_ledger_subjects_guard.sql")),
    ("0012_incidents", include_str!("../migrations/0012_incidents.sql")),
    ("0013_alerts", include_str!("../migrations/0013_alerts.sql")),
    ("0014_oversight", include_str!("../migrations/0014_oversight.sql")),
    ("0015_violations", include_str!("../migrations/0015_violations.sql")),
    ("0017_inspections", include_str!("../migrations/0017_inspections.sql")),
    ("0018_training_assessment", include_str!("../migrations/0018_training_assessment.sql")),
    ("0019_internal_rules", include_str!("../migrations/0019_internal_rules.sql")),
    ("0020_requests", include_str!("../migrations/0020_requests.sql")),
    ("0021_portal", include_str!("../migrations/0021_portal.sql")),
    ("0022_zones", include_str!("../migrations/0022_zones.sql")),
    ("0023_exports_media", include_str!("../migrations/0023_exports_media.sql")),
];

/// The schema version this build writes: the number of migrations.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Bring the schema up to date, one migration per transaction.
pub(crate) fn migrate(client: &mut Client) -> StoreResult<()> {
    loop {
        let mut tx = client.transaction().map_err(backend)?;
        // The key is arbitrary but fixed: every tokutei instance takes the same lock, held
        // until this transaction ends.
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7402117355);
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY,
                 name TEXT NOT NULL,
                 applied_at TEXT NOT NULL
             );",
        )
        .map_err(backend)?;
        let current: i64 =
            tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).map_err(backend)?.get(0);
        if current > i64::from(SCHEMA_VERSION) {
            return Err(StoreError::SchemaTooNew {
                found: u32::try_from(current).unwrap_or(u32::MAX),
                supported: SCHEMA_VERSION,
            });
        }
        let Some((name, sql)) = usize::try_from(current).ok().and_then(|c| MIGRATIONS.get(c)) else {
            return tx.commit().map_err(backend);
        };
        tx.batch_execute(sql).map_err(backend)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&(current + 1), name, &jiff::Timestamp::now().to_string()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
}
