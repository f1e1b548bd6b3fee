//! The purpose-bound gateway's decision core: the active policy file compiled into a Cedar
//! schema and Cedar policies, and decisions per (subscriber, category) with reasons in
//! Japanese and English that name the policy-file clause.
//!
//! Architecture Invariant: this crate does no IO. The caller loads principals, subscriber
//! facts and deployment policies, asks [`Gateway::decide`], writes the audit record and only
//! then reads values.
//!
//! ```text
//! Policy + Deployment + extra Cedar ──compile──▶ Gateway ──decide(AccessRequest)──▶ [Decision]
//! ```

pub mod cache;
pub mod compile;
pub mod gateway;
pub mod reason;
pub mod request;

pub use cache::CacheStats;
pub use compile::{CompileError, Problem, zone_clause};
pub use gateway::{Decision, ExplainedPolicy, Explanation, Gateway};
pub use reason::Reason;
pub use request::{
    AccessRequest, Action, Consent, ConsentChoice, Contract, DataRange, Deployment, Principal, PrincipalKind,
    SubscriberFacts, TrainingRecord, default_actions,
};
