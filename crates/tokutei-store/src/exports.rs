//! Carrying 特定利用者情報 out (security measure (5)): the artefacts of approved export
//! requests and the register of exceptions to the ban on external media.
//!
//! An artefact is the export's document already encrypted to its recipient (the store never
//! sees plaintext): one per export request, kept with its SHA-256 until it is downloaded.
//! The download is one atomic step on every backend — the row passes from "not downloaded"
//! to "downloaded" only once, and only the step that made that transition receives the
//! bytes, which the same step drops from the store (the digest, the size and who took it
//! stay). Two concurrent downloads: exactly one gets the artefact.
//!
//! A media exception allows one person to write artefacts to one kind of external medium
//! (USB, optical, SD card, external disk, other) between two Tokyo dates; it is revoked at
//! most once, and neither artefacts nor exceptions are ever deleted.

use jiff::Timestamp;
use serde::Serialize;
use tokutei_policy::Date;

use crate::StoreResult;

/// An artefact as produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArtefact {
    /// The export request it carries out (one artefact per request).
    pub export: String,
    pub produced_by: String,
    pub produced_at: Timestamp,
    /// The recipient's public key (`age1…`).
    pub recipient_key: String,
    /// SHA-256 of the ciphertext, lowercase hex.
    pub sha256: String,
    pub ciphertext: Vec<u8>,
    /// The `export_produced` entry.
    pub audit_index: u64,
}

/// Who took an artefact, when, onto what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Download {
    pub by: String,
    pub at: Timestamp,
    /// The medium's code (`network`, `local`, `usb`…).
    pub medium: String,
    /// The media exception the download relied on, for an external medium.
    pub exception: Option<String>,
    /// The `export_downloaded` entry.
    pub audit_index: u64,
}

/// An artefact as stored, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artefact {
    pub export: String,
    pub produced_by: String,
    pub produced_at: Timestamp,
    pub recipient_key: String,
    pub sha256: String,
    /// The ciphertext's length in bytes.
    pub bytes: u64,
    pub audit_index: u64,
    pub download: Option<Download>,
}

/// The artefacts of export requests.
pub trait ArtefactStore {
    /// Store an artefact. A second artefact for one export request is a conflict.
    fn add_artefact(&self, artefact: &NewArtefact) -> StoreResult<()>;

    /// The artefact of export request `export`, without its bytes.
    fn artefact(&self, export: &str) -> StoreResult<Option<Artefact>>;

    /// Every artefact, newest first, without their bytes.
    fn artefacts(&self) -> StoreResult<Vec<Artefact>>;

    /// Mark the artefact of `export` downloaded as `download` says and return its bytes —
    /// only when it was not downloaded yet, in one step that also drops the bytes from the
    /// store; `None` (and nothing written) otherwise.
    fn claim_artefact(&self, export: &str, download: &Download) -> StoreResult<Option<Vec<u8>>>;
}

/// An exception to the ban on external media, as granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMediaException {
    pub id: String,
    /// The person allowed (a principal id).
    pub person: String,
    /// The medium's code (`usb`, `optical`, `sd_card`, `external_disk`, `other`).
    pub medium: String,
    /// Why (ids and business words, 1–200 characters).
    pub reason: String,
    /// The person who approved it.
    pub approved_by: String,
    /// The first and last Tokyo day it is in force.
    #[serde(serialize_with = "plain_date")]
    pub valid_from: Date,
    #[serde(serialize_with = "plain_date")]
    pub valid_until: Date,
    pub granted_at: Timestamp,
    /// The `media_exception_granted` entry.
    pub audit_index: u64,
}

/// The revocation of an exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revocation {
    pub by: String,
    pub at: Timestamp,
    /// The `media_exception_revoked` entry.
    pub audit_index: u64,
}

/// An exception as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaException {
    #[serde(flatten)]
    pub exception: NewMediaException,
    pub revoked: Option<Revocation>,
}

impl MediaException {
    /// Whether it allows `person` to write to `medium` on the Tokyo day `today`.
    pub fn allows(&self, person: &str, medium: &str, today: Date) -> bool {
        let e = &self.exception;
        self.revoked.is_none()
            && e.person == person
            && e.medium == medium
            && e.valid_from <= today
            && today <= e.valid_until
    }
}

/// A date as the string `YYYY-MM-DD` (see `staff::Training`).
fn plain_date<S: serde::Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(date)
}

/// The register of media exceptions.
pub trait MediaExceptionStore {
    /// Store a granted exception. An id already taken is a conflict.
    fn add_media_exception(&self, exception: &NewMediaException) -> StoreResult<()>;

    fn media_exception(&self, id: &str) -> StoreResult<Option<MediaException>>;

    /// Every exception, newest first.
    fn media_exceptions(&self) -> StoreResult<Vec<MediaException>>;

    /// Revoke an exception — only when it is not revoked yet; `false` (and nothing written)
    /// otherwise, or when there is no such exception.
    fn revoke_media_exception(&self, id: &str, revocation: &Revocation) -> StoreResult<bool>;
}
