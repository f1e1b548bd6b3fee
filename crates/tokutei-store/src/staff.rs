//! The staff registry: the principals that may use subscriber information through the
//! gateway — people (with a role and training records) and internal systems — their data
//! ranges (services × categories), the purposes they may act under, their handling zones,
//! and their API tokens (stored only as SHA-256 hashes, with an expiry, revocable).
//!
//! Every change bumps the principal's `version` and the registry's generation, so a server
//! caching principals (and the decision cache keyed on the version) sees the change on the
//! very next request, even when another process made it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokutei_ledger::Action;
use tokutei_policy::{Date, Role};

use crate::StoreResult;

/// Person or internal system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A member of staff with a role.
    Person { role: Role },
    /// An internal system (billing, call centre, marketing, ad platform…), by name.
    System { name: String },
}

/// One service and the categories of it a principal may touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeGrant {
    pub service: String,
    pub categories: Vec<String>,
}

/// What a principal may do: kept together because every change replaces it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grants {
    pub data_range: Vec<RangeGrant>,
    pub purposes: Vec<String>,
    pub zones: Vec<String>,
    /// The actions granted (`read`, `update`, `export`, `erase`). Grants stored before this
    /// field existed read as every use without erasure, which must be granted explicitly.
    pub actions: Vec<Action>,
}

impl Default for Grants {
    fn default() -> Grants {
        Grants {
            data_range: Vec::new(),
            purposes: Vec::new(),
            zones: Vec::new(),
            actions: vec![Action::Read, Action::Update, Action::Export],
        }
    }
}

/// Whether `id` is a valid principal id: 1–64 ASCII letters, digits, `-`, `_`, `.` (the
/// one rule the CLI and the API both apply).
pub fn valid_principal_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A principal to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPrincipal {
    pub id: String,
    /// How people see this principal in the console (a staff member's name, a system's label).
    pub display_name: String,
    pub kind: PrincipalKind,
    pub grants: Grants,
    pub created_at: Timestamp,
}

/// One completed training course and until when it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Training {
    pub course: String,
    #[serde(serialize_with = "plain_date")]
    pub completed: Date,
    /// The last day on which this training is valid.
    #[serde(serialize_with = "plain_date")]
    pub valid_until: Date,
}

/// A date as the string `YYYY-MM-DD`. [`Date`] serialises itself as a TOML local date (for
/// policy files), which JSON — the API's staff registry, `staff show --json` — would show as
/// TOML's private wrapper object `{"$__toml_private_datetime": …}`.
fn plain_date<S: serde::Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(date)
}

/// A registered principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPrincipal {
    pub id: String,
    pub display_name: String,
    pub kind: PrincipalKind,
    pub grants: Grants,
    /// Training records, oldest first (people only).
    pub training: Vec<Training>,
    /// 1 on creation, +1 on every change.
    pub version: u64,
    pub created_at: Timestamp,
    /// Set when the principal was disabled: it can no longer act, its tokens no longer work.
    pub disabled_at: Option<Timestamp>,
}

/// An API token to store: only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The public part of the token, shown in listings (`tkt_<id>_…`).
    pub id: String,
    pub principal: String,
    pub hash: [u8; 32],
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A stored API token (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredToken {
    pub id: String,
    pub principal: String,
    #[serde(skip)]
    pub hash: [u8; 32],
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// The staff registry.
pub trait StaffStore {
    /// Register a principal (version 1). An existing id is a conflict.
    fn create_principal(&self, principal: &NewPrincipal) -> StoreResult<StoredPrincipal>;

    /// One principal with its training records.
    fn principal(&self, id: &str) -> StoreResult<Option<StoredPrincipal>>;

    /// Every principal, in id order.
    fn principals(&self) -> StoreResult<Vec<StoredPrincipal>>;

    /// Replace a principal's grants. Returns the new version.
    fn set_grants(&self, id: &str, grants: &Grants) -> StoreResult<u64>;

    /// Record a completed training course. Returns the new version.
    fn add_training(&self, id: &str, training: &Training) -> StoreResult<u64>;

    /// Disable a principal (and with it all its tokens). Returns the new version.
    fn disable_principal(&self, id: &str, at: Timestamp) -> StoreResult<u64>;

    /// Store a token for an enabled principal.
    fn add_token(&self, token: &NewToken) -> StoreResult<()>;

    /// A token by its public id.
    fn token(&self, id: &str) -> StoreResult<Option<StoredToken>>;

    /// A principal's tokens, newest first.
    fn tokens(&self, principal: &str) -> StoreResult<Vec<StoredToken>>;

    /// Revoke a token; revoking twice keeps the first time.
    fn revoke_token(&self, id: &str, at: Timestamp) -> StoreResult<()>;

    /// A counter bumped by every change of any principal or token: a cache of principals is
    /// current exactly while this is unchanged.
    fn staff_generation(&self) -> StoreResult<u64>;
}

/// A request to export subscriber information (持出し申請): who, for which purpose, which
/// categories of which subscribers, until when. Exports happen only under an approved request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewExportRequest {
    pub id: String,
    pub requested_by: String,
    pub purpose: String,
    pub categories: Vec<String>,
    /// The subscribers covered; `None` means every subscriber (bulk provision).
    pub subscribers: Option<Vec<String>>,
    /// Why (shown to the approver; ids and business words, no personal data).
    pub reason: String,
    /// The third party receiving the data, when the export is a provision.
    pub recipient: Option<String>,
    pub requested_at: Timestamp,
    pub valid_until: Timestamp,
}

/// A stored export request with its approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRequest {
    #[serde(flatten)]
    pub request: NewExportRequest,
    pub approved_by: Option<String>,
    pub approved_at: Option<Timestamp>,
}

impl ExportRequest {
    /// Whether this request, approved and in force at `now`, covers exporting `categories`
    /// of `subscriber` for `purpose` by `principal`.
    pub fn covers(
        &self,
        principal: &str,
        purpose: &str,
        subscriber: &str,
        categories: &[String],
        now: Timestamp,
    ) -> bool {
        let r = &self.request;
        self.approved_at.is_some_and(|at| at <= now)
            && now <= r.valid_until
            && r.requested_by == principal
            && r.purpose == purpose
            && categories.iter().all(|c| r.categories.contains(c))
            && r.subscribers.as_ref().is_none_or(|s| s.iter().any(|id| id == subscriber))
    }
}

/// Export requests and their approvals.
pub trait ExportStore {
    /// File a request (unapproved). An existing id is a conflict.
    fn create_export_request(&self, request: &NewExportRequest) -> StoreResult<()>;

    /// Approve a request. The approver must not be the requester, and a request is approved
    /// once (both conflicts).
    fn approve_export(&self, id: &str, approver: &str, at: Timestamp) -> StoreResult<ExportRequest>;

    fn export_request(&self, id: &str) -> StoreResult<Option<ExportRequest>>;

    /// Every request, newest first.
    fn export_requests(&self) -> StoreResult<Vec<ExportRequest>>;
}
