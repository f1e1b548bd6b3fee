//! The policy file: one TOML document that is both the published 特定利用者情報の取扱方針 and the
//! source of the rules the gateway enforces.
//!
//! This crate owns the model ([`model`]), parsing with positions ([`parse`]), validation
//! ([`check`]), import from a published text ([`import`]), the text rendering ([`render`]) and
//! the section-aware difference of two versions ([`diff`]), and the internal rules (情報取扱規程,
//! [`rules`]) that carry the policy's measures out.
//!
//! Architecture Invariant: this crate does no IO. It takes and returns strings; reading files,
//! printing and storing versions belong to the binary and the store crates.

pub mod check;
pub mod diff;
pub mod import;
pub mod leaks;
pub mod model;
pub mod render;
pub mod rules;
pub mod source;
pub mod tokyo;

pub use model::*;
pub use source::{ParseError, PolicyDigest, Position, digest_bytes, digest_of, parse, to_toml};
