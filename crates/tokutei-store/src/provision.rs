//! Records of provision to third parties (APPI 29条; 規則19条–21条): one record per
//! provision, or one batch record covering a period of continuous provision, or a record
//! substituted by a contract. Each record keeps what the rules ask for — the date, the
//! recipient, the subject (subscriber id), the data items (categories), and the legal basis
//! (with the consent proof when the basis is consent) — and the date before which it may not
//! be deleted (`keep_until`), computed by the caller from the record type.
//!
//! Data-subject requests for disclosure (開示) of provision records read them from here.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokutei_policy::Date;

use crate::StoreResult;

/// Why a provision was lawful (decides whether a record is required and what it holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// The subscriber consented (the record names the consent proof).
    Consent,
    /// Opt-out provision notified to the PPC (the record holds the provision date).
    OptOut,
}

impl LegalBasis {
    pub fn id(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::OptOut => "opt_out",
        }
    }
}

/// How the record is kept (規則19条).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordType {
    /// One record per provision: kept 3 years from creation.
    Each,
    /// One record for continuous or repeated provision over a period: kept 3 years from the
    /// last provision.
    Batch { from: Date, until: Date },
    /// Substituted by a contract or similar document: kept 1 year from the last provision.
    ContractRef { contract: String },
}

/// A provision record to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProvision {
    pub provided_at: Timestamp,
    /// The recipient's id in the deployment's recipient register.
    pub recipient: String,
    pub subscriber: String,
    pub categories: Vec<String>,
    pub purpose: String,
    pub basis: LegalBasis,
    /// The consent record id when the basis is consent.
    pub consent_proof: Option<u64>,
    pub record_type: RecordType,
    /// The audit entry of the access that provided the data.
    pub audit_index: Option<u64>,
    /// The record may not be deleted before this day.
    pub keep_until: Date,
}

/// A stored provision record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvisionRecord {
    pub id: u64,
    #[serde(flatten)]
    pub record: NewProvision,
}

/// Provision records.
pub trait ProvisionStore {
    /// Write records in one transaction.
    fn add_provisions(&self, records: &[NewProvision]) -> StoreResult<Vec<u64>>;

    /// A subscriber's provision records, oldest first (for disclosure requests).
    fn provisions_of(&self, subscriber: &str) -> StoreResult<Vec<ProvisionRecord>>;

    /// Every record, oldest first, after `after`, at most `limit`.
    fn provisions(&self, after: Option<u64>, limit: usize) -> StoreResult<Vec<ProvisionRecord>>;
}
