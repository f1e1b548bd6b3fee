//! The application layer: every action that changes state or reveals subscriber information
//! lives here, one function each — validate → durable audit entry → change → typed outcome —
//! and the CLI, the console and the API call the same function. Front ends parse, call and
//! present; no domain rule lives in them.
//!
//! Every use of subscriber information — read, update, export, erase — goes through
//! [`App`]: it loads the principal (staff registry), the subscriber's facts
//! (contract, current consent for the declared purpose), checks an export against its
//! approved request, asks the compiled gateway for a decision per (subscriber, category),
//! **appends the audit entries and waits until they are durable**, and only then decrypts
//! and returns the allowed values (masked where the purpose asks for it) or writes the new
//! ones. Provision to third parties writes the APPI 29条 record.
//!
//! ```text
//! AccessCall ─▶ principal + facts ─▶ Gateway::decide ─▶ ledger.append_batch (durable)
//!            ─▶ unwrap data key ─▶ open values ─▶ mask ─▶ AccessOutcome
//! ```
//!
//! Architecture Invariant: no value leaves this crate, and no value is written, before its
//! audit entry is durable; denied categories are never read from the vault at all.
//! Architecture Invariant: no SQL and no HTTP here; storage is reached only through the
//! `tokutei-store` capability traits, keys only through [`KeyAccess`].
//!
//! The administrative actions live here too, one function each, validated → audited
//! (durable) → changed, whichever front end calls them: [`App::publish_policy`]
//! ([`policy`]), [`App::register_principal`] and the staff registry's other actions
//! ([`staff`]: grants, training, disabling, passwords, TOTP, API tokens; [`demo`] sets up the
//! demo's staff through them), [`App::record_consent`] ([`consent`]), [`App::change_contract`]
//! ([`contract`]), [`App::request_export`] and [`App::approve_export`] ([`exports`]), and
//! [`App::erase_subscriber`]; [`acting`] says who acts and whether they may.
//!
//! [`auth`] holds the console's sign-in, sessions and password changes, and the rate limits
//! of sign-in and the API, the same way: every success, failure, lockout, sign-out and
//! password change audited before it changes anything.
//!
//! The keys ([`keys`]: rotation, retirement, sealing TOTP secrets stored in clear, over the
//! [`keyring`]'s files), retention ([`retention`]: plan and purge) and the vault's
//! verification against the ledger ([`verify`]) live here too; [`synth`] generates the
//! demo's subscribers for the import and [`ledger_load`] loads the ledger for crash tests;
//! [`checkpoints`] signs the ledger's checkpoints and holds the rules that anchor it to them.
//!
//! [`inquiry`] handles inquiries from the public the same way: contents sealed under their
//! own data key, every opening audited before anything is decrypted; [`settings`] holds the
//! privacy office's settings and their validation.
//!
//! [`alerts`] is the alert outbox the registers with deadlines share: alerts enqueued
//! (audited, once per event and recipient), claimed by the delivering `serve` instances, each
//! attempt audited and logged with the retry policy deciding what comes next, failed ones
//! re-queued by a person; and the escalation of open deadlines at T−7, T−1 and overdue.
//!
//! [`oversight`] holds the registers of a designated carrier's oversight: the designation and
//! its three statutory deadlines, the filings that meet them, the chief manager register (one
//! appointee at a time, each appointment's notification task) and the chief manager's
//! opinions with the company's responses; their open deadlines join the escalation.

//! [`portal`] is the subscriber's own page: one-time links issued by the carrier's systems,
//! the sessions they open, and the uses of the subscriber's information read from the ledger
//! with an inclusion proof each against the published checkpoint. [`witnessing`] asks the
//! deployment's witnesses to cosign its checkpoints and publishes the one a quorum cosigned;
//! [`witness`] is the witness itself (`tokutei witness serve`).

mod access;
pub mod acting;
pub mod alerts;
mod audit;
pub mod auth;
pub mod checkpoints;
pub mod codec;
pub mod consent;
pub mod contract;
mod dates;
pub mod demo;
mod error;
pub mod exports;
pub mod ids;
pub mod import;
pub mod incidents;
pub mod inquiry;
mod key_access;
pub mod keyring;
pub mod keys;
pub mod ledger_load;
pub mod limits;
pub mod mask;
pub mod oversight;
pub mod policy;
pub mod portal;
pub mod requests;
pub mod retention;
pub mod settings;
pub mod staff;
pub mod synth;
pub mod tokens;
pub mod verify;
pub mod witness;
pub mod witnessing;
pub mod zones;

pub use access::{
    AccessCall, AccessOutcome, App, ItemOutcome, NewPlainValue, Stores, SubscriberOutcome, ValueOut, WriteCall,
};
pub use acting::{Acting, MANAGERS};
pub use error::{ActionError, ActionResult};
pub use ids::{
    AlertId, AppointmentId, CategoryId, ExportId, IncidentId, MediaExceptionId, OpinionId, PrincipalId, PurposeId,
    RequestId, ServiceId, SubscriberId, ZoneId,
};
pub use key_access::{KeyAccess, totp_owner};
