//! The store conformance suite: one function per capability, called by every backend's
//! tests with a fresh, empty store. A backend is correct when it passes all of them.

pub mod assessment;
pub mod auth;
pub mod exports;
pub mod incident;
pub mod inquiry;
pub mod inspection;
pub mod ledger;
pub mod outbox;
pub mod oversight;
pub mod policy_versions;
pub mod portal;
pub mod records;
pub mod requests;
pub mod staff;
pub mod vault;
pub mod zones;
