//! What an audit entry says, and its canonical binary encoding (the bytes that are hashed
//! into the tree).
//!
//! An entry is either an [`AccessEvent`] (a gateway decision: who, for which purpose, on
//! which subscribers and categories, allowed or denied by which rules under which policy
//! digest) or an [`AdminEvent`] (policy published, staff changed, key rotated, incident
//! published, retention purge, import batch…). Entries hold ids and hashes only, never
//! plaintext personal data.
//!
//! Encoding, version 1 (all integers big-endian; `str` = u16 length + UTF-8; `list<T>` = u16
//! count + items; `digest` = 32 bytes):
//!
//! ```text
//! u8 version = 1 | u8 kind (1 access, 2 admin) | u64 sequence | i64 time (µs since epoch, UTC)
//! u8 actor kind (1 staff, 2 system) | str actor id
//! access: u8 action | str purpose | list<str> subscribers | list<str> categories
//!         u8 decision (1 allow, 2 deny) | list<str> reasons | list<str> rules | digest policy
//!         str channel | str zone | str client
//! admin:  u8 action | str subject | u8 has digest (0/1) [digest] | list<(str, str)> details
//! ```
//!
//! Decoding is strict: unknown versions, kinds or codes, invalid UTF-8, and trailing bytes are
//! refused, so there is exactly one encoding of each entry. The sequence number is inside the
//! leaf, so moving an entry to another index changes its hash.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::hash::Hash;

/// The encoding version written by this build.
pub const ENCODING_VERSION: u8 = 1;

/// Who acted: a staff member or an internal system, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Staff(String),
    System(String),
}

impl Actor {
    pub fn id(&self) -> &str {
        match self {
            Actor::Staff(id) | Actor::System(id) => id,
        }
    }
}

/// What was done to the subscriber information (the gateway decides on the same actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Update,
    Export,
    Erase,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Read, Action::Update, Action::Export, Action::Erase];

    /// The stable id (`read`, `update`, `export`, `erase`).
    pub fn id(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Update => "update",
            Action::Export => "export",
            Action::Erase => "erase",
        }
    }

    /// Position in [`Action::ALL`], for tables indexed by action.
    pub fn index(self) -> usize {
        match self {
            Action::Read => 0,
            Action::Update => 1,
            Action::Export => 2,
            Action::Erase => 3,
        }
    }
}

/// The gateway's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// Where a request came from: channel (call centre, web, batch…), handling zone, and the
/// client (terminal or service id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMeta {
    pub channel: String,
    pub zone: String,
    pub client: String,
}

/// One access decision of the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEvent {
    pub action: Action,
    pub purpose: String,
    pub subscribers: Vec<String>,
    pub categories: Vec<String>,
    pub decision: Decision,
    /// Reason codes (e.g. `purpose_not_published`, `training_expired`).
    pub reasons: Vec<String>,
    /// Ids of the rules that decided.
    pub rules: Vec<String>,
    /// SHA-256 digest of the active policy version.
    #[serde(with = "crate::tree::hex_hash")]
    pub policy_digest: Hash,
    pub request: RequestMeta,
}

/// Administrative events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminAction {
    PolicyPublished,
    StaffChanged,
    /// A new key-encryption key became active and the data keys are re-wrapped under it
    /// (`kek/<id>`, the previous key and how many keys it moves).
    KeyRotated,
    IncidentPublished,
    RetentionPurge,
    ImportBatch,
    SubscriberErased,
    CheckpointKeyCreated,
    ConsentRecorded,
    ContractChanged,
    ExportRequested,
    ExportApproved,
    LoginSucceeded,
    LoginFailed,
    LockedOut,
    LoggedOut,
    PasswordChanged,
    /// An inquiry from the public was received (receipt number, category, deadline; never its contents).
    InquiryReceived,
    /// A member of staff opened (decrypted) an inquiry's contents.
    InquiryOpened,
    /// An inquiry's status changed (the note itself is sealed, never in the ledger).
    InquiryStatusChanged,
    /// A setting of the privacy office changed (key, old and new value).
    SettingChanged,
    /// A principal asked why uses would be decided as they are (the decisions reveal
    /// subscribers' existence, contract state and choices; no value was read).
    AccessExplained,
    /// Value versions written to a subscriber (each version's key and leaf hash; never a value).
    ValuesWritten,
    /// A key-encryption key that wraps no data key any more was destroyed (`kek/<id>`).
    KeyRetired,
    /// An operator looked subscribers up by the value of a searchable category through its
    /// blind index (`subscribers find`): the category and the ids found, never the value.
    SubscribersLookedUp,
    /// A leak incident was registered (`incident/<id>`; the digest is its first version's).
    IncidentOpened,
    /// An incident's fields changed: a new version (its digest), the names of the fields.
    IncidentUpdated,
    /// An incident was triaged: its flags, regimes and obligations recomputed.
    IncidentTriaged,
    /// A report to a regulator was submitted (the digest is the document's as submitted).
    IncidentReportSubmitted,
    /// The impact of an incident was computed from the ledger (the digest is the affected set's).
    IncidentImpactComputed,
    /// Notices to the persons concerned were recorded as sent (the digest is the list's).
    IncidentNoticesRecorded,
    /// An alternative measure to notices (publication…) was recorded with its reason.
    IncidentAlternativeRecorded,
    /// An incident's public entry was corrected: a new version, the old one kept public.
    IncidentCorrected,
    /// An incident's public entry was withdrawn, once its window had ended.
    IncidentWithdrawn,
    /// An alert was put in the outbox (`alert/<id>`: its kind, the subject it concerns, the
    /// channel and the event it reports; never the recipient's address or the text).
    AlertEnqueued,
    /// An attempt to deliver an alert (`alert/<id>`: the attempt number, the recipient's status
    /// code, and whether it was delivered, will be retried — when — or has failed).
    AlertAttempted,
    /// A failed alert was put back in the outbox by a person (`alert/<id>`).
    AlertRequeued,
    /// The carrier's designation was recorded or corrected (`designation`: the 告示 date and
    /// the services, by id).
    DesignationRecorded,
    /// The filing of the 情報取扱規程 with the ministry was recorded (`designation/rules`: the
    /// filing date, reference and, since rules are versioned, the version filed).
    RulesFiled,
    /// A chief manager (統括管理者) was appointed (`chief-manager/<appointment>`: the principal,
    /// the first day, the appointment it ended; the digest is the qualification evidence's).
    ChiefManagerAppointed,
    /// The notification of a chief manager's appointment was recorded
    /// (`chief-manager/<appointment>`: the filing date and reference).
    ChiefManagerNotified,
    /// A chief manager's opinion was recorded (`opinion/<id>`: the appointment and the date;
    /// the digest is the subject's and text's, never the text).
    OpinionRecorded,
    /// The company's response to an opinion was recorded (`opinion/<id>`: the date; the digest
    /// is the text's).
    OpinionResponded,
    /// A violation, or a sign of one, was reported (`violation/<id>`: the principal concerned,
    /// the measure, the acknowledgement due, the detector; the digest is the text's).
    ViolationReported,
    /// A violation report was acknowledged (`violation/<id>`).
    ViolationAcknowledged,
    /// A violation report was resolved (`violation/<id>`: the outcome, the incident; the
    /// digest is the text's).
    ViolationResolved,
    /// A self-inspection report (自己点検) of a Tokyo calendar month was made from the ledger
    /// (`inspection/<id>`: the period, the revision, the checkpoint size it covers; the digest
    /// is the report document's).
    InspectionReported,
    /// A finding of a self-inspection report was recorded (`inspection-finding/<id>`: the
    /// report, the owner, the due date; the digest is the text's).
    InspectionFindingAdded,
    /// A finding of a self-inspection report was closed (`inspection-finding/<id>`; the digest
    /// is the closing text's).
    InspectionFindingClosed,
    /// The annual assessment of a business year was opened (`assessment/FY<year>`: the year's
    /// first and last day).
    AssessmentOpened,
    /// A measure of an assessment was assessed (`assessment/FY<year>`: the measure, the result,
    /// the evidence links; the digest is the note's).
    AssessmentMeasureAssessed,
    /// A finding of an assessment was recorded (`assessment/FY<year>`: its id, the measure;
    /// the digest is the text's).
    AssessmentFindingRecorded,
    /// A remediation action of a finding was recorded (`assessment/FY<year>`: its id, the
    /// finding, the owner, the due date, the policy or rules version that carries it out; the
    /// digest is the action's text).
    AssessmentRemediationRecorded,
    /// An assessment was completed (`assessment/FY<year>`: each measure's result).
    AssessmentCompleted,
    /// A version of the 情報取扱規程 was registered (`rules/v<version>`: its effective date;
    /// the digest is the rules file's).
    RulesRegistered,
    /// A data-subject request was received (`request/<id>`: its type, channel, inquiry, due
    /// date).
    RequestOpened,
    /// The requester's identity was verified and the subscriber linked (`request/<id>`: the
    /// subscriber, the method, whether an agent; the digest is the evidence reference's).
    RequestVerified,
    /// A request's clock was paused while waiting for the person (`request/<id>`; the digest
    /// is the reason's).
    RequestPaused,
    /// A request's clock runs again (`request/<id>`: the days it was paused).
    RequestResumed,
    /// A request's deadline was extended (`request/<id>`: the days, the new due date; the
    /// digest is the reason's).
    RequestExtended,
    /// A request's outcome was decided (`request/<id>`: fulfilled, partly or refused, and the
    /// ground of a refusal; the digest is the note's).
    RequestDecided,
    /// The notice of a request's outcome was sent (`request/<id>`: the method, the date).
    RequestNotified,
    /// The stops a request put in force were lifted (`request/<id>`: the subscriber, the
    /// stops; the digest is the reason's).
    RequestStopLifted,
    /// The document a request was answered with was read by a member of staff
    /// (`request/<id>`; the digest is the document's).
    RequestDocumentRead,
    /// A one-time link to a subscriber's own page was issued (the subscriber's id: who issued
    /// it, until when it works; the digest is the token's hash, never the token).
    PortalLinkIssued,
    /// A subscriber opened their own page with a link (the subscriber's id: the session's end;
    /// the digest is the link's token hash).
    PortalOpened,
    /// A subscriber's own page listed the uses of their information (the subscriber's id: the
    /// period shown, how many entries, the checkpoint size the proofs are against).
    PortalViewed,
    /// A handling zone was registered or its register entry replaced (`zone/<id>`: its
    /// networks, whether secrecy of communications may be handled there).
    ZoneRegistered,
    /// A badge event of the entry/exit log (`presence/<person>`: the zone, enter or exit, the
    /// badge time).
    PresenceRecorded,
    /// An export's artefact was produced, encrypted to its recipient (`export/<id>`: the
    /// ciphertext's SHA-256 and size, the recipient's public key — never a value).
    ExportProduced,
    /// An export's artefact was downloaded, once (`export/<id>`: the ciphertext's SHA-256, the
    /// medium, the media exception relied on for an external medium).
    ExportDownloaded,
    /// An exception to the ban on external media was granted (`media-exception/<id>`: the
    /// person, the medium, the first and last day; the digest is the reason's).
    MediaExceptionGranted,
    /// A media exception was revoked (`media-exception/<id>`: the person, the medium).
    MediaExceptionRevoked,
}

/// In code order: a new action is only ever appended, so old entries keep their meaning.
const ADMIN_ACTIONS: [AdminAction; 73] = [
    AdminAction::PolicyPublished,
    AdminAction::StaffChanged,
    AdminAction::KeyRotated,
    AdminAction::IncidentPublished,
    AdminAction::RetentionPurge,
    AdminAction::ImportBatch,
    AdminAction::SubscriberErased,
    AdminAction::CheckpointKeyCreated,
    AdminAction::ConsentRecorded,
    AdminAction::ContractChanged,
    AdminAction::ExportRequested,
    AdminAction::ExportApproved,
    AdminAction::LoginSucceeded,
    AdminAction::LoginFailed,
    AdminAction::LockedOut,
    AdminAction::LoggedOut,
    AdminAction::PasswordChanged,
    AdminAction::InquiryReceived,
    AdminAction::InquiryOpened,
    AdminAction::InquiryStatusChanged,
    AdminAction::SettingChanged,
    AdminAction::AccessExplained,
    AdminAction::ValuesWritten,
    AdminAction::KeyRetired,
    AdminAction::SubscribersLookedUp,
    AdminAction::IncidentOpened,
    AdminAction::IncidentUpdated,
    AdminAction::IncidentTriaged,
    AdminAction::IncidentReportSubmitted,
    AdminAction::IncidentImpactComputed,
    AdminAction::IncidentNoticesRecorded,
    AdminAction::IncidentAlternativeRecorded,
    AdminAction::IncidentCorrected,
    AdminAction::IncidentWithdrawn,
    AdminAction::AlertEnqueued,
    AdminAction::AlertAttempted,
    AdminAction::AlertRequeued,
    AdminAction::DesignationRecorded,
    AdminAction::RulesFiled,
    AdminAction::ChiefManagerAppointed,
    AdminAction::ChiefManagerNotified,
    AdminAction::OpinionRecorded,
    AdminAction::OpinionResponded,
    AdminAction::ViolationReported,
    AdminAction::ViolationAcknowledged,
    AdminAction::ViolationResolved,
    AdminAction::InspectionReported,
    AdminAction::InspectionFindingAdded,
    AdminAction::InspectionFindingClosed,
    AdminAction::AssessmentOpened,
    AdminAction::AssessmentMeasureAssessed,
    AdminAction::AssessmentFindingRecorded,
    AdminAction::AssessmentRemediationRecorded,
    AdminAction::AssessmentCompleted,
    AdminAction::RulesRegistered,
    AdminAction::RequestOpened,
    AdminAction::RequestVerified,
    AdminAction::RequestPaused,
    AdminAction::RequestResumed,
    AdminAction::RequestExtended,
    AdminAction::RequestDecided,
    AdminAction::RequestNotified,
    AdminAction::RequestStopLifted,
    AdminAction::RequestDocumentRead,
    AdminAction::PortalLinkIssued,
    AdminAction::PortalOpened,
    AdminAction::PortalViewed,
    AdminAction::ZoneRegistered,
    AdminAction::PresenceRecorded,
    AdminAction::ExportProduced,
    AdminAction::ExportDownloaded,
    AdminAction::MediaExceptionGranted,
    AdminAction::MediaExceptionRevoked,
];

impl AdminAction {
    fn code(self) -> u8 {
        ADMIN_ACTIONS.iter().position(|a| *a == self).map_or(0, |p| p as u8 + 1)
    }

    fn from_code(code: u8) -> Option<AdminAction> {
        ADMIN_ACTIONS.get(usize::from(code).checked_sub(1)?).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::PolicyPublished => "policy_published",
            AdminAction::StaffChanged => "staff_changed",
            AdminAction::KeyRotated => "key_rotated",
            AdminAction::IncidentPublished => "incident_published",
            AdminAction::RetentionPurge => "retention_purge",
            AdminAction::ImportBatch => "import_batch",
            AdminAction::SubscriberErased => "subscriber_erased",
            AdminAction::CheckpointKeyCreated => "checkpoint_key_created",
            AdminAction::ConsentRecorded => "consent_recorded",
            AdminAction::ContractChanged => "contract_changed",
            AdminAction::ExportRequested => "export_requested",
            AdminAction::ExportApproved => "export_approved",
            AdminAction::LoginSucceeded => "login_succeeded",
            AdminAction::LoginFailed => "login_failed",
            AdminAction::LockedOut => "locked_out",
            AdminAction::LoggedOut => "logged_out",
            AdminAction::PasswordChanged => "password_changed",
            AdminAction::InquiryReceived => "inquiry_received",
            AdminAction::InquiryOpened => "inquiry_opened",
            AdminAction::InquiryStatusChanged => "inquiry_status_changed",
            AdminAction::SettingChanged => "setting_changed",
            AdminAction::AccessExplained => "access_explained",
            AdminAction::ValuesWritten => "values_written",
            AdminAction::KeyRetired => "key_retired",
            AdminAction::SubscribersLookedUp => "subscribers_looked_up",
            AdminAction::IncidentOpened => "incident_opened",
            AdminAction::IncidentUpdated => "incident_updated",
            AdminAction::IncidentTriaged => "incident_triaged",
            AdminAction::IncidentReportSubmitted => "incident_report_submitted",
            AdminAction::IncidentImpactComputed => "incident_impact_computed",
            AdminAction::IncidentNoticesRecorded => "incident_notices_recorded",
            AdminAction::IncidentAlternativeRecorded => "incident_alternative_recorded",
            AdminAction::IncidentCorrected => "incident_corrected",
            AdminAction::IncidentWithdrawn => "incident_withdrawn",
            AdminAction::AlertEnqueued => "alert_enqueued",
            AdminAction::AlertAttempted => "alert_attempted",
            AdminAction::AlertRequeued => "alert_requeued",
            AdminAction::DesignationRecorded => "designation_recorded",
            AdminAction::RulesFiled => "rules_filed",
            AdminAction::ChiefManagerAppointed => "chief_manager_appointed",
            AdminAction::ChiefManagerNotified => "chief_manager_notified",
            AdminAction::OpinionRecorded => "opinion_recorded",
            AdminAction::OpinionResponded => "opinion_responded",
            AdminAction::ViolationReported => "violation_reported",
            AdminAction::ViolationAcknowledged => "violation_acknowledged",
            AdminAction::ViolationResolved => "violation_resolved",
            AdminAction::InspectionReported => "inspection_reported",
            AdminAction::InspectionFindingAdded => "inspection_finding_added",
            AdminAction::InspectionFindingClosed => "inspection_finding_closed",
            AdminAction::AssessmentOpened => "assessment_opened",
            AdminAction::AssessmentMeasureAssessed => "assessment_measure_assessed",
            AdminAction::AssessmentFindingRecorded => "assessment_finding_recorded",
            AdminAction::AssessmentRemediationRecorded => "assessment_remediation_recorded",
            AdminAction::AssessmentCompleted => "assessment_completed",
            AdminAction::RulesRegistered => "rules_registered",
            AdminAction::RequestOpened => "request_opened",
            AdminAction::RequestVerified => "request_verified",
            AdminAction::RequestPaused => "request_paused",
            AdminAction::RequestResumed => "request_resumed",
            AdminAction::RequestExtended => "request_extended",
            AdminAction::RequestDecided => "request_decided",
            AdminAction::RequestNotified => "request_notified",
            AdminAction::RequestStopLifted => "request_stop_lifted",
            AdminAction::RequestDocumentRead => "request_document_read",
            AdminAction::PortalLinkIssued => "portal_link_issued",
            AdminAction::PortalOpened => "portal_opened",
            AdminAction::PortalViewed => "portal_viewed",
            AdminAction::ZoneRegistered => "zone_registered",
            AdminAction::PresenceRecorded => "presence_recorded",
            AdminAction::ExportProduced => "export_produced",
            AdminAction::ExportDownloaded => "export_downloaded",
            AdminAction::MediaExceptionGranted => "media_exception_granted",
            AdminAction::MediaExceptionRevoked => "media_exception_revoked",
        }
    }
}

/// One administrative event: what happened to which object (by id), with an optional
/// content digest and id-only details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminEvent {
    pub action: AdminAction,
    /// The object acted on: policy version, staff id, key id, incident id, batch id…
    pub subject: String,
    #[serde(with = "opt_hex_hash", default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Hash>,
    /// Further ids or counts, never personal data.
    pub details: Vec<(String, String)>,
}

/// The event an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Access(AccessEvent),
    Admin(AdminEvent),
}

/// An audit entry as appended (its sequence number is given by the ledger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When it happened; kept to the microsecond.
    pub time: Timestamp,
    pub actor: Actor,
    pub event: Event,
}

/// Why bytes are not an entry, or an entry cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    #[error("entry encoding version {0} is not supported")]
    UnknownVersion(u8),
    #[error("unknown {what} code {code}")]
    UnknownCode { what: &'static str, code: u8 },
    #[error("entry ends early")]
    Truncated,
    #[error("entry has {0} bytes after its end")]
    TrailingBytes(usize),
    #[error("entry field is not UTF-8")]
    NotUtf8,
    #[error("entry time is out of range")]
    TimeOutOfRange,
    #[error("entry field `{0}` is too long to encode")]
    TooLong(&'static str),
}

impl Entry {
    pub fn access(time: Timestamp, actor: Actor, event: AccessEvent) -> Entry {
        Entry { time, actor, event: Event::Access(event) }
    }

    pub fn admin(time: Timestamp, actor: Actor, event: AdminEvent) -> Entry {
        Entry { time, actor, event: Event::Admin(event) }
    }

    /// The staff id when a staff member acted.
    pub fn staff(&self) -> Option<&str> {
        match &self.actor {
            Actor::Staff(id) => Some(id),
            Actor::System(_) => None,
        }
    }

    pub fn purpose(&self) -> Option<&str> {
        match &self.event {
            Event::Access(a) => Some(&a.purpose),
            Event::Admin(_) => None,
        }
    }

    pub fn decision(&self) -> Option<Decision> {
        match &self.event {
            Event::Access(a) => Some(a.decision),
            Event::Admin(_) => None,
        }
    }

    pub fn subscribers(&self) -> &[String] {
        match &self.event {
            Event::Access(a) => &a.subscribers,
            Event::Admin(_) => &[],
        }
    }

    /// A short label of what happened (`read`, `policy_published`…).
    pub fn action_label(&self) -> &'static str {
        match &self.event {
            Event::Access(a) => a.action.id(),
            Event::Admin(a) => a.action.as_str(),
        }
    }

    /// The canonical bytes of this entry at `sequence`.
    pub fn encode(&self, sequence: u64) -> Result<Vec<u8>, EntryError> {
        let mut w = Writer(Vec::with_capacity(160));
        w.u8(ENCODING_VERSION);
        w.u8(match self.event {
            Event::Access(_) => 1,
            Event::Admin(_) => 2,
        });
        w.0.extend_from_slice(&sequence.to_be_bytes());
        w.0.extend_from_slice(&self.time.as_microsecond().to_be_bytes());
        match &self.actor {
            Actor::Staff(id) => {
                w.u8(1);
                w.str(id, "actor")?;
            }
            Actor::System(id) => {
                w.u8(2);
                w.str(id, "actor")?;
            }
        }
        match &self.event {
            Event::Access(a) => {
                w.u8(match a.action {
                    Action::Read => 1,
                    Action::Update => 2,
                    Action::Export => 3,
                    Action::Erase => 4,
                });
                w.str(&a.purpose, "purpose")?;
                w.list(&a.subscribers, "subscribers")?;
                w.list(&a.categories, "categories")?;
                w.u8(match a.decision {
                    Decision::Allow => 1,
                    Decision::Deny => 2,
                });
                w.list(&a.reasons, "reasons")?;
                w.list(&a.rules, "rules")?;
                w.0.extend_from_slice(&a.policy_digest);
                w.str(&a.request.channel, "channel")?;
                w.str(&a.request.zone, "zone")?;
                w.str(&a.request.client, "client")?;
            }
            Event::Admin(a) => {
                w.u8(a.action.code());
                w.str(&a.subject, "subject")?;
                match &a.digest {
                    None => w.u8(0),
                    Some(d) => {
                        w.u8(1);
                        w.0.extend_from_slice(d);
                    }
                }
                w.len(a.details.len(), "details")?;
                for (k, v) in &a.details {
                    w.str(k, "details")?;
                    w.str(v, "details")?;
                }
            }
        }
        Ok(w.0)
    }

    /// Decode canonical bytes into `(sequence, entry)`.
    pub fn decode(bytes: &[u8]) -> Result<(u64, Entry), EntryError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.u8()?;
        if version != ENCODING_VERSION {
            return Err(EntryError::UnknownVersion(version));
        }
        let kind = r.u8()?;
        let sequence = u64::from_be_bytes(r.array()?);
        let micros = i64::from_be_bytes(r.array()?);
        let time = Timestamp::from_microsecond(micros).map_err(|_| EntryError::TimeOutOfRange)?;
        let actor = match r.u8()? {
            1 => Actor::Staff(r.str()?),
            2 => Actor::System(r.str()?),
            code => return Err(EntryError::UnknownCode { what: "actor", code }),
        };
        let event = match kind {
            1 => {
                let action = match r.u8()? {
                    1 => Action::Read,
                    2 => Action::Update,
                    3 => Action::Export,
                    4 => Action::Erase,
                    code => return Err(EntryError::UnknownCode { what: "action", code }),
                };
                let purpose = r.str()?;
                let subscribers = r.list()?;
                let categories = r.list()?;
                let decision = match r.u8()? {
                    1 => Decision::Allow,
                    2 => Decision::Deny,
                    code => return Err(EntryError::UnknownCode { what: "decision", code }),
                };
                let reasons = r.list()?;
                let rules = r.list()?;
                let policy_digest = r.array()?;
                let request = RequestMeta { channel: r.str()?, zone: r.str()?, client: r.str()? };
                Event::Access(AccessEvent {
                    action,
                    purpose,
                    subscribers,
                    categories,
                    decision,
                    reasons,
                    rules,
                    policy_digest,
                    request,
                })
            }
            2 => {
                let code = r.u8()?;
                let action =
                    AdminAction::from_code(code).ok_or(EntryError::UnknownCode { what: "admin action", code })?;
                let subject = r.str()?;
                let digest = match r.u8()? {
                    0 => None,
                    1 => Some(r.array()?),
                    code => return Err(EntryError::UnknownCode { what: "digest flag", code }),
                };
                let count = r.u16()?;
                let mut details = Vec::with_capacity(usize::from(count).min(64));
                for _ in 0..count {
                    details.push((r.str()?, r.str()?));
                }
                Event::Admin(AdminEvent { action, subject, digest, details })
            }
            code => return Err(EntryError::UnknownCode { what: "entry kind", code }),
        };
        if r.at != bytes.len() {
            return Err(EntryError::TrailingBytes(bytes.len() - r.at));
        }
        Ok((sequence, Entry { time, actor, event }))
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn len(&mut self, n: usize, field: &'static str) -> Result<(), EntryError> {
        let n = u16::try_from(n).map_err(|_| EntryError::TooLong(field))?;
        self.0.extend_from_slice(&n.to_be_bytes());
        Ok(())
    }

    fn str(&mut self, s: &str, field: &'static str) -> Result<(), EntryError> {
        self.len(s.len(), field)?;
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn list(&mut self, items: &[String], field: &'static str) -> Result<(), EntryError> {
        self.len(items.len(), field)?;
        for s in items {
            self.str(s, field)?;
        }
        Ok(())
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], EntryError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or(EntryError::Truncated)?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, EntryError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, EntryError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EntryError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn str(&mut self) -> Result<String, EntryError> {
        let n = usize::from(self.u16()?);
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| EntryError::NotUtf8)
    }

    fn list(&mut self) -> Result<Vec<String>, EntryError> {
        let n = self.u16()?;
        let mut out = Vec::with_capacity(usize::from(n).min(64));
        for _ in 0..n {
            out.push(self.str()?);
        }
        Ok(out)
    }
}

mod opt_hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::hash::Hash;

    pub fn serialize<S: Serializer>(hash: &Option<Hash>, s: S) -> Result<S::Ok, S::Error> {
        match hash {
            Some(h) => s.serialize_str(&hex::encode(h)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Hash>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| crate::tree::hex_hash::parse(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ident() -> impl Strategy<Value = String> {
        "[a-z0-9_.-]{0,12}|[ぁ-ん]{0,4}"
    }

    fn arb_entry() -> impl Strategy<Value = Entry> {
        let actor = prop_oneof![ident().prop_map(Actor::Staff), ident().prop_map(Actor::System)];
        let access = (
            prop_oneof![Just(Action::Read), Just(Action::Update), Just(Action::Export), Just(Action::Erase)],
            ident(),
            prop::collection::vec(ident(), 0..4),
            prop::collection::vec(ident(), 0..4),
            any::<bool>(),
            prop::collection::vec(ident(), 0..3),
            prop::collection::vec(ident(), 0..3),
            any::<[u8; 32]>(),
            (ident(), ident(), ident()),
        )
            .prop_map(|(action, purpose, subscribers, categories, allow, reasons, rules, policy_digest, r)| {
                Event::Access(AccessEvent {
                    action,
                    purpose,
                    subscribers,
                    categories,
                    decision: if allow { Decision::Allow } else { Decision::Deny },
                    reasons,
                    rules,
                    policy_digest,
                    request: RequestMeta { channel: r.0, zone: r.1, client: r.2 },
                })
            });
        let admin = (
            0..ADMIN_ACTIONS.len(),
            ident(),
            any::<Option<[u8; 32]>>(),
            prop::collection::vec((ident(), ident()), 0..3),
        )
            .prop_map(|(a, subject, digest, details)| {
                Event::Admin(AdminEvent { action: ADMIN_ACTIONS[a], subject, digest, details })
            });
        (-10_000_000_000_000_000i64..10_000_000_000_000_000, actor, prop_oneof![access, admin]).prop_map(
            |(micros, actor, event)| Entry { time: Timestamp::from_microsecond(micros).unwrap(), actor, event },
        )
    }

    fn sample() -> Entry {
        Entry::access(
            Timestamp::from_second(1_700_000_000).unwrap(),
            Actor::Staff("s-001".into()),
            AccessEvent {
                action: Action::Read,
                purpose: "billing".into(),
                subscribers: vec!["sub-42".into()],
                categories: vec!["contract".into()],
                decision: Decision::Allow,
                reasons: vec![],
                rules: vec!["rule-1".into()],
                policy_digest: [7; 32],
                request: RequestMeta { channel: "callcenter".into(), zone: "zone-a".into(), client: "t-9".into() },
            },
        )
    }

    const PINNED_LEAF: &str = "8d34f1324c1b1846c1c18669e8fcebc87b9e709c054780cc790dd0468204f231";

    #[test]
    fn encoding_is_pinned() {
        // The exact bytes of a known entry: changing the encoding must be a new version.
        let bytes = sample().encode(5).unwrap();
        assert_eq!(hex::encode(&bytes[..27]), "0101000000000000000500060a24181e4000010005732d30303101");
        assert_eq!(hex::encode(crate::hash::leaf_hash(&bytes)), PINNED_LEAF);
        assert_ne!(sample().encode(6).unwrap(), bytes, "the sequence number is part of the leaf");
        assert_eq!(bytes.len(), 128);
    }

    #[test]
    fn admin_actions_keep_their_codes_and_names() {
        // Codes are stored in every entry: an action is only ever appended, never moved.
        let appended = [
            (AdminAction::AlertRequeued, 37, "alert_requeued"),
            (AdminAction::DesignationRecorded, 38, "designation_recorded"),
            (AdminAction::RulesFiled, 39, "rules_filed"),
            (AdminAction::ChiefManagerAppointed, 40, "chief_manager_appointed"),
            (AdminAction::ChiefManagerNotified, 41, "chief_manager_notified"),
            (AdminAction::OpinionRecorded, 42, "opinion_recorded"),
            (AdminAction::OpinionResponded, 43, "opinion_responded"),
            (AdminAction::ViolationReported, 44, "violation_reported"),
            (AdminAction::ViolationAcknowledged, 45, "violation_acknowledged"),
            (AdminAction::ViolationResolved, 46, "violation_resolved"),
            (AdminAction::InspectionReported, 47, "inspection_reported"),
            (AdminAction::InspectionFindingAdded, 48, "inspection_finding_added"),
            (AdminAction::InspectionFindingClosed, 49, "inspection_finding_closed"),
            (AdminAction::AssessmentOpened, 50, "assessment_opened"),
            (AdminAction::AssessmentMeasureAssessed, 51, "assessment_measure_assessed"),
            (AdminAction::AssessmentFindingRecorded, 52, "assessment_finding_recorded"),
            (AdminAction::AssessmentRemediationRecorded, 53, "assessment_remediation_recorded"),
            (AdminAction::AssessmentCompleted, 54, "assessment_completed"),
            (AdminAction::RulesRegistered, 55, "rules_registered"),
            (AdminAction::RequestOpened, 56, "request_opened"),
            (AdminAction::RequestVerified, 57, "request_verified"),
            (AdminAction::RequestPaused, 58, "request_paused"),
            (AdminAction::RequestResumed, 59, "request_resumed"),
            (AdminAction::RequestExtended, 60, "request_extended"),
            (AdminAction::RequestDecided, 61, "request_decided"),
            (AdminAction::RequestNotified, 62, "request_notified"),
            (AdminAction::RequestStopLifted, 63, "request_stop_lifted"),
            (AdminAction::RequestDocumentRead, 64, "request_document_read"),
            (AdminAction::PortalLinkIssued, 65, "portal_link_issued"),
            (AdminAction::PortalOpened, 66, "portal_opened"),
            (AdminAction::PortalViewed, 67, "portal_viewed"),
            (AdminAction::ZoneRegistered, 68, "zone_registered"),
            (AdminAction::PresenceRecorded, 69, "presence_recorded"),
            (AdminAction::ExportProduced, 70, "export_produced"),
            (AdminAction::ExportDownloaded, 71, "export_downloaded"),
            (AdminAction::MediaExceptionGranted, 72, "media_exception_granted"),
            (AdminAction::MediaExceptionRevoked, 73, "media_exception_revoked"),
        ];
        for (action, code, name) in appended {
            assert_eq!((action.code(), action.as_str()), (code, name));
            assert_eq!(AdminAction::from_code(code), Some(action));
        }
        assert_eq!(AdminAction::from_code(ADMIN_ACTIONS.len() as u8 + 1), None);
        let mut names: Vec<&str> = ADMIN_ACTIONS.iter().map(|a| a.as_str()).collect();
        for (action, name) in ADMIN_ACTIONS.iter().zip(&names) {
            assert_eq!(serde_json::to_value(action).unwrap(), serde_json::json!(name), "serde and as_str agree");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ADMIN_ACTIONS.len(), "every action has its own name");
    }

    #[test]
    fn bad_bytes_are_refused() {
        let good = sample().encode(1).unwrap();
        let check = |bytes: &[u8], expected: EntryError| assert_eq!(Entry::decode(bytes).unwrap_err(), expected);
        check(&[], EntryError::Truncated);
        let mut v2 = good.clone();
        v2[0] = 2;
        check(&v2, EntryError::UnknownVersion(2));
        let mut kind = good.clone();
        kind[1] = 9;
        check(&kind, EntryError::UnknownCode { what: "entry kind", code: 9 });
        check(&good[..good.len() - 1], EntryError::Truncated);
        let mut long = good.clone();
        long.push(0);
        check(&long, EntryError::TrailingBytes(1));
    }

    proptest! {
        /// Encoding is canonical: decode ∘ encode is the identity, and encode ∘ decode too.
        #[test]
        fn encoding_round_trips(entry in arb_entry(), seq in any::<u64>()) {
            let bytes = entry.encode(seq).unwrap();
            let (seq2, back) = Entry::decode(&bytes).unwrap();
            prop_assert_eq!(seq2, seq);
            prop_assert_eq!(&back, &entry);
            prop_assert_eq!(back.encode(seq).unwrap(), bytes);
        }

        /// Arbitrary bytes never panic the decoder, and what decodes re-encodes identically.
        #[test]
        fn decoder_is_total(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok((seq, entry)) = Entry::decode(&bytes) {
                prop_assert_eq!(entry.encode(seq).unwrap(), bytes);
            }
        }
    }
}
