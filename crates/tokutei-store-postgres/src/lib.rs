//! The PostgreSQL backend, for deployments that scale out: versioned forward-only migrations
//! (named and numbered as SQLite's), a small pool of connections, and native implementations
//! of the policy, vault, staff, export, consent, provision, freshness, sign-in (auth),
//! inquiry, settings, incident, alert outbox and oversight stores, and of the audit ledger ([`PgLedger`]: group commit per
//! instance, any number of instances appending to one ledger).
//!
//! Architecture Invariant: this crate and the SQLite crate are the only places that know
//! SQL. Nothing here knows HTTP, the CLI or how to decide an access.

mod assessment;
mod auth;
mod columns;
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

pub use db::PgStore;
pub use ledger::{MAX_BATCH, PgLedger};
pub use migrations::{MIGRATIONS, SCHEMA_VERSION};
