//! The embedded SQLite backend: one database file inside the data directory, WAL mode,
//! versioned forward-only migrations, and an implementation of every store capability.
//!
//! Architecture Invariant: this crate and the PostgreSQL crate are the only places that know
//! SQL. Nothing here knows HTTP, the CLI or how to decide an access.

mod assessment;
mod auth;
mod db;
mod exports;
mod incident;
mod inquiry;
mod inspection;
mod ledger;
mod migrations;
mod outbox;
mod oversight;
mod policy_versions;
mod portal;
mod requests;
mod snapshot;
mod staff;
mod vault;
mod zones;

pub use db::SqliteStore;
pub use ledger::SqliteLedger;
pub use migrations::{MIGRATIONS, SCHEMA_VERSION};
pub use snapshot::check_backup;
