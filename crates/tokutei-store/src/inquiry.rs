//! Inquiries from the public (お問い合わせ) and the privacy office's settings.
//!
//! An inquiry is kept with its receipt number (受付番号), category, when it was received, its
//! response deadline and its status; its personal contents (name, contact, message) and any
//! status note arrive here already sealed under the inquiry's own data key, which is stored
//! wrapped by a key-encryption key. The store never sees plaintext.
//!
//! Settings are `(key, value)` text pairs with who changed them and when; their meaning and
//! validation live with the code that uses them (`tokutei_app::settings`).

use jiff::Timestamp;
use tokutei_policy::Date;

use crate::StoreResult;
use crate::vault::WrappedDataKey;

/// What an inquiry is about. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InquiryCategory {
    Question,
    Complaint,
    /// 開示 (APPI 33条), including third-party provision records.
    Disclosure,
    /// 訂正・追加・削除 (APPI 34条).
    Correction,
    /// 利用停止 (APPI 35条).
    StopUse,
    /// 消去 (APPI 35条).
    Deletion,
    Other,
}

impl InquiryCategory {
    pub const ALL: [InquiryCategory; 7] = [
        InquiryCategory::Question,
        InquiryCategory::Complaint,
        InquiryCategory::Disclosure,
        InquiryCategory::Correction,
        InquiryCategory::StopUse,
        InquiryCategory::Deletion,
        InquiryCategory::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            InquiryCategory::Question => "question",
            InquiryCategory::Complaint => "complaint",
            InquiryCategory::Disclosure => "disclosure",
            InquiryCategory::Correction => "correction",
            InquiryCategory::StopUse => "stop_use",
            InquiryCategory::Deletion => "deletion",
            InquiryCategory::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<InquiryCategory> {
        InquiryCategory::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Where an inquiry stands. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InquiryStatus {
    Open,
    Answered,
    Closed,
}

impl InquiryStatus {
    pub const ALL: [InquiryStatus; 3] = [InquiryStatus::Open, InquiryStatus::Answered, InquiryStatus::Closed];

    pub fn code(self) -> &'static str {
        match self {
            InquiryStatus::Open => "open",
            InquiryStatus::Answered => "answered",
            InquiryStatus::Closed => "closed",
        }
    }

    pub fn from_code(code: &str) -> Option<InquiryStatus> {
        InquiryStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A received inquiry, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewInquiry {
    /// The receipt number given to the sender; unique.
    pub receipt: String,
    pub category: InquiryCategory,
    pub received_at: Timestamp,
    /// The date (Asia/Tokyo) by which it must be answered.
    pub deadline: Date,
    /// The inquiry's data key, wrapped.
    pub key: WrappedDataKey,
    /// The sealed contents (name, contact, message).
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for NewInquiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewInquiry")
            .field("receipt", &self.receipt)
            .field("category", &self.category)
            .finish_non_exhaustive()
    }
}

/// An inquiry with its current status.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredInquiry {
    pub inquiry: NewInquiry,
    pub status: InquiryStatus,
    /// The sealed note of the last status change.
    pub note: Option<Vec<u8>>,
    /// Who changed the status last, and when.
    pub updated: Option<(String, Timestamp)>,
}

impl std::fmt::Debug for StoredInquiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredInquiry")
            .field("inquiry", &self.inquiry)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The inquiry register.
pub trait InquiryStore {
    /// Keep a new inquiry; a receipt number already used is a conflict.
    fn add_inquiry(&self, inquiry: &NewInquiry) -> StoreResult<()>;

    fn inquiry(&self, receipt: &str) -> StoreResult<Option<StoredInquiry>>;

    /// Inquiries with `status` (all when `None`), newest first, at most `limit`.
    fn inquiries(&self, status: Option<InquiryStatus>, limit: usize) -> StoreResult<Vec<StoredInquiry>>;

    /// Change an inquiry's status with a sealed note; `NotFound` for an unknown receipt.
    fn set_inquiry_status(
        &self,
        receipt: &str,
        status: InquiryStatus,
        note: Option<&[u8]>,
        by: &str,
        at: Timestamp,
    ) -> StoreResult<()>;
}

/// One stored setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub changed_by: String,
    pub changed_at: Timestamp,
}

/// The privacy office's settings.
pub trait SettingsStore {
    /// Every stored setting, by key.
    fn settings(&self) -> StoreResult<Vec<Setting>>;

    /// Set (or replace) several settings at once, all or nothing.
    fn set_settings(&self, values: &[(String, String)], by: &str, at: Timestamp) -> StoreResult<()>;
}
