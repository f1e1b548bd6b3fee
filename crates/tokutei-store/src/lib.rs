//! Storage capabilities in the domain's words: policy versions, the audit ledger, the
//! subscriber vault, the staff registry, consent records, third-party provision records,
//! inquiries from the public, the privacy office's settings, the leak-incident register, the
//! alert outbox, the oversight registers (designation, filings, chief manager, opinions, the
//! annual assessment), and the export artefacts with the register of media exceptions.
//! Each capability is a small trait; a backend implements them natively (the SQLite and
//! PostgreSQL crates), and [`conformance`] holds the one test suite every backend must pass.
//! [`sequencer`] is the ledger's group commit, shared by the backends: each supplies only its
//! lock, stored size, frontier nodes, row writes and commit.
//!
//! Architecture Invariant: no SQL here, and no backend type leaks through these traits.
//! Filters are domain enums, never query strings.

pub mod assessment;
pub mod auth;
pub mod consent;
pub mod error;
pub mod exports;
pub mod incident;
pub mod inquiry;
pub mod inspection;
pub mod ledger;
pub mod outbox;
pub mod oversight;
pub mod policy_versions;
pub mod portal;
pub mod provision;
pub mod requests;
pub mod sequencer;
pub mod snapshot;
pub mod staff;
pub mod vault;
pub mod zones;

#[cfg(feature = "test-suite")]
pub mod conformance;

pub use error::{StoreError, StoreResult};
pub use policy_versions::{Freshness, FreshnessStore, NewPolicyVersion, PolicyStore, PolicyVersion};
