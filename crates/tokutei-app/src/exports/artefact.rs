//! The export artefact (持出しファイル): an approved export carried out by tokutei itself,
//! encrypted to its recipient, downloaded once.
//!
//! Producing: the request exists, is approved and in force, has no artefact yet, the one acting
//! filed it, and the recipient's key is an age X25519 recipient (`age1…`) → the export runs
//! through the gateway exactly as an access call with action `export` under this approval
//! ([`App::read`]: every decision audited durably before any value is opened), one call per
//! [`MAX_SUBSCRIBERS`] subscribers (a request for every subscriber pages through the vault's
//! listing) → the allowed values are written into the document and encrypted to the recipient
//! piece by piece, each piece in [`Zeroizing`] memory and the values wiped once written, so the
//! plaintext exists only in memory and never as a whole → the `export_produced` entry
//! (`export/<id>`: the ciphertext's SHA-256 and size, the recipient's public key, counts) is
//! durable → the ciphertext is stored.
//!
//! Downloading: the requester only; an artefact produced and not downloaded; onto an external
//! medium only under a media exception in force ([`super::media`]) → the `export_downloaded`
//! entry (digest, medium, the exception) durable → the store passes the artefact from not
//! downloaded to downloaded in one step and hands the bytes only to the step that made that
//! transition (then drops them). Of two concurrent downloads one gets the bytes; the other is
//! a conflict, and its entry stays in the ledger as an attempt (the artefact names the entry of
//! the download that took it).
//!
//! The document (`format` `tokutei-export/1`, UTF-8 JSON):
//!
//! ```text
//! { "export": { "format", "request", "purpose", "categories", "third_party", "requested_by",
//!               "approved_by", "produced_by", "produced_at", "policy_version", "policy_digest" },
//!   "subscribers": [ { "id", "items": [
//!       { "category", "allowed": true, "audit_index",
//!         "values": [ { "version", "value", "encoding", "masked", "provenance", "valid_from" } ] },
//!       { "category", "allowed": false, "audit_index", "reasons": [ reason codes ] } ] } ] }
//! ```

use std::io::Write;

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokutei_ledger::{Action, AdminAction};
use tokutei_policy::Channel;
use tokutei_store::exports::{Artefact, Download, NewArtefact};
use tokutei_store::staff::ExportRequest;
use zeroize::{Zeroize, Zeroizing};

use super::media::Medium;
use crate::App;
use crate::access::{AccessCall, SubscriberOutcome, ValueOut};
use crate::acting::{ALL_ROLES, Acting};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{CategoryId, ExportId, PrincipalId, PurposeId, SubscriberId};
use crate::limits::MAX_SUBSCRIBERS;

/// The document's format name.
pub const FORMAT: &str = "tokutei-export/1";

/// What a front end asks to produce. The producer is the one acting.
#[derive(Debug, Clone)]
pub struct Produce {
    pub id: ExportId,
    /// The recipient's age X25519 public key (`age1…`).
    pub recipient_key: String,
    /// The channel the export goes through, for a purpose that lists its channels.
    pub channel: Option<Channel>,
    /// The handling zone a system's export is made from (a person's is derived, see
    /// [`AccessCall::terminal`]).
    pub zone: Option<String>,
    /// The address the requester works from (the console's or the API's client, the command
    /// line's own host).
    pub terminal: Option<std::net::IpAddr>,
    /// Where the call came from (`cli`, `api:<token id>`, `console:<session>`), for the audit.
    pub client: String,
}

/// An artefact produced.
#[derive(Debug, Clone, Serialize)]
pub struct Produced {
    pub export: String,
    /// SHA-256 of the ciphertext, lowercase hex: what the recipient compares.
    pub sha256: String,
    pub bytes: u64,
    pub recipient_key: String,
    /// The `export_produced` entry.
    pub audit_index: u64,
    pub subscribers: u64,
    /// Categories exported and categories refused, over every subscriber.
    pub allowed: u64,
    pub denied: u64,
}

/// An artefact downloaded: the ciphertext and what the ledger says of it.
#[derive(Clone, Serialize)]
pub struct Downloaded {
    pub export: String,
    #[serde(skip)]
    pub ciphertext: Vec<u8>,
    pub sha256: String,
    pub bytes: u64,
    pub medium: Medium,
    /// The media exception relied on, for an external medium.
    pub exception: Option<String>,
    /// The `export_downloaded` entry.
    pub audit_index: u64,
}

impl std::fmt::Debug for Downloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downloaded")
            .field("export", &self.export)
            .field("sha256", &self.sha256)
            .field("medium", &self.medium)
            .field("exception", &self.exception)
            .finish_non_exhaustive()
    }
}

/// Where an export request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    Requested,
    Approved,
    Produced,
    Downloaded,
}

impl ExportState {
    pub fn code(self) -> &'static str {
        match self {
            ExportState::Requested => "requested",
            ExportState::Approved => "approved",
            ExportState::Produced => "produced",
            ExportState::Downloaded => "downloaded",
        }
    }

    /// The state's name for people, Japanese and English.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            ExportState::Requested => ("申請中", "requested"),
            ExportState::Approved => ("承認済", "approved"),
            ExportState::Produced => ("作成済", "produced"),
            ExportState::Downloaded => ("受領済", "downloaded"),
        }
    }
}

/// An export request with its artefact and state.
#[derive(Debug, Clone, Serialize)]
pub struct ExportView {
    pub state: ExportState,
    #[serde(flatten)]
    pub request: ExportRequest,
    pub artefact: Option<Artefact>,
}

impl ExportView {
    pub fn id(&self) -> &str {
        &self.request.request.id
    }
}

/// The document's header.
#[derive(Serialize)]
struct Header<'a> {
    format: &'static str,
    request: &'a str,
    purpose: &'a str,
    categories: &'a [String],
    third_party: Option<&'a str>,
    requested_by: &'a str,
    approved_by: Option<&'a str>,
    produced_by: &'a str,
    produced_at: Timestamp,
    policy_version: Option<u32>,
    policy_digest: Option<&'a str>,
}

/// One subscriber of the document.
#[derive(Serialize)]
struct SubscriberDoc<'a> {
    id: &'a str,
    items: Vec<ItemDoc<'a>>,
}

#[derive(Serialize)]
struct ItemDoc<'a> {
    category: &'a str,
    allowed: bool,
    audit_index: u64,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    values: &'a [ValueOut],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reasons: Vec<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    unreadable: &'a [(u32, String)],
}

/// The document, written into the recipient's encryption as it is assembled.
struct Sealing {
    writer: age::stream::StreamWriter<Vec<u8>>,
    subscribers: u64,
    allowed: u64,
    denied: u64,
}

impl Sealing {
    fn start(recipient: &age::x25519::Recipient, header: &Header<'_>) -> ActionResult<Sealing> {
        let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(|e| ActionError::BadRequest(format!("the artefact cannot be encrypted: {e}")))?;
        let writer = encryptor.wrap_output(Vec::new()).map_err(sealing)?;
        let mut sealing = Sealing { writer, subscribers: 0, allowed: 0, denied: 0 };
        let header = Zeroizing::new(serde_json::to_vec(header).map_err(sealing_json)?);
        sealing.write(b"{\"export\":")?;
        sealing.write(&header)?;
        sealing.write(b",\"subscribers\":[")?;
        Ok(sealing)
    }

    fn write(&mut self, bytes: &[u8]) -> ActionResult<()> {
        self.writer.write_all(bytes).map_err(sealing)
    }

    /// Write one subscriber's outcome, then wipe its values.
    fn subscriber(&mut self, outcome: &mut SubscriberOutcome) -> ActionResult<()> {
        {
            let doc = SubscriberDoc {
                id: &outcome.id,
                items: outcome
                    .items
                    .iter()
                    .map(|i| ItemDoc {
                        category: &i.category,
                        allowed: i.allowed,
                        audit_index: i.audit_index,
                        values: &i.values,
                        reasons: if i.allowed {
                            Vec::new()
                        } else {
                            i.reasons.iter().map(|r| r.code.as_str()).collect()
                        },
                        unreadable: &i.unreadable,
                    })
                    .collect(),
            };
            let piece = Zeroizing::new(serde_json::to_vec(&doc).map_err(sealing_json)?);
            if self.subscribers > 0 {
                self.write(b",")?;
            }
            self.write(&piece)?;
        }
        self.subscribers += 1;
        for item in &mut outcome.items {
            if item.allowed {
                self.allowed += 1;
            } else {
                self.denied += 1;
            }
            for value in &mut item.values {
                value.value.zeroize();
            }
        }
        Ok(())
    }

    fn finish(mut self) -> ActionResult<(Vec<u8>, u64, u64, u64)> {
        self.write(b"]}")?;
        let ciphertext = self.writer.finish().map_err(sealing)?;
        Ok((ciphertext, self.subscribers, self.allowed, self.denied))
    }
}

fn sealing(e: std::io::Error) -> ActionError {
    ActionError::BadRequest(format!("the artefact cannot be encrypted: {e}"))
}

fn sealing_json(e: serde_json::Error) -> ActionError {
    ActionError::BadRequest(format!("the artefact's document cannot be written: {e}"))
}

/// `text` as an age X25519 recipient.
pub fn parse_recipient(text: &str) -> ActionResult<age::x25519::Recipient> {
    text.trim().parse::<age::x25519::Recipient>().map_err(|why| {
        ActionError::invalid("recipient_key", format!("not an age X25519 recipient key (`age1…`): {why}"))
    })
}

impl App {
    /// Produce the artefact of export request `p.id` as `by` at `now` (see the module docs).
    /// Refused, with nothing written: an invalid recipient key ([`ActionError::Invalid`]
    /// naming `recipient_key`), an unknown request ([`ActionError::NotFound`]), one acting who
    /// did not file it ([`ActionError::Forbidden`]), a request not approved, lapsed or already
    /// produced ([`ActionError::Conflict`]).
    pub fn produce_export(&self, by: &Acting, p: &Produce, now: Timestamp) -> ActionResult<Produced> {
        let recipient = parse_recipient(&p.recipient_key)?;
        let recipient_key = recipient.to_string();
        let actor = self.authorize_or_system(by, ALL_ROLES, "produce an export")?;
        let id = &p.id;
        let Some(found) = self.stores().export_request(id.as_str())? else {
            return Err(ActionError::NotFound(format!("export request `{id}`")));
        };
        let request = &found.request;
        if request.requested_by != actor.id() {
            return Err(ActionError::Forbidden(format!(
                "export request `{id}` was filed by `{}`; only its requester produces it",
                request.requested_by
            )));
        }
        if found.approved_at.is_none_or(|at| at > now) {
            return Err(ActionError::Conflict(format!("export request `{id}` is not approved")));
        }
        if request.valid_until < now {
            return Err(ActionError::Conflict(format!("export request `{id}` has lapsed; file a new one")));
        }
        if self.stores().artefact(id.as_str())?.is_some() {
            return Err(ActionError::Conflict(format!("export request `{id}` was produced already")));
        }
        let active = self.active(self.freshness(now)?)?;
        let header = Header {
            format: FORMAT,
            request: &request.id,
            purpose: &request.purpose,
            categories: &request.categories,
            third_party: request.recipient.as_deref(),
            requested_by: &request.requested_by,
            approved_by: found.approved_by.as_deref(),
            produced_by: actor.id(),
            produced_at: now,
            policy_version: active.as_deref().map(|a| a.number),
            policy_digest: active.as_deref().map(|a| a.digest_text.as_str()),
        };
        let mut sealing = Sealing::start(&recipient, &header)?;
        let mut call = AccessCall {
            principal: PrincipalId::known(actor.id()),
            action: Action::Export,
            purpose: PurposeId::known(request.purpose.as_str()),
            subscribers: Vec::new(),
            categories: request.categories.iter().map(CategoryId::known).collect(),
            channel: p.channel,
            zone: p.zone.clone(),
            terminal: p.terminal,
            export_approval: Some(id.to_string()),
            recipient: None,
            client: p.client.clone(),
            now,
        };
        let run = |call: &AccessCall, sealing: &mut Sealing| -> ActionResult<()> {
            if call.subscribers.is_empty() {
                return Ok(());
            }
            let mut outcome = self.read(call)?;
            for subscriber in &mut outcome.subscribers {
                sealing.subscriber(subscriber)?;
            }
            Ok(())
        };
        match &request.subscribers {
            Some(named) => {
                for batch in named.chunks(MAX_SUBSCRIBERS) {
                    call.subscribers = batch.iter().map(SubscriberId::known).collect();
                    run(&call, &mut sealing)?;
                }
            }
            None => {
                let mut after: Option<String> = None;
                loop {
                    let page = self.stores().subscribers(after.as_deref(), MAX_SUBSCRIBERS)?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.id.clone());
                    let full = page.len() == MAX_SUBSCRIBERS;
                    call.subscribers = page.into_iter().map(|s| SubscriberId::known(s.id)).collect();
                    run(&call, &mut sealing)?;
                    if !full {
                        break;
                    }
                }
            }
        }
        let (ciphertext, subscribers, allowed, denied) = sealing.finish()?;
        let sha256 = hex::encode(Sha256::digest(&ciphertext));
        let bytes = ciphertext.len() as u64;
        let entry = AdminEntry::new(AdminAction::ExportProduced, format!("export/{id}"))
            .detail("sha256", &sha256)
            .detail("bytes", bytes)
            .detail("recipient_key", &recipient_key)
            .detail("subscribers", subscribers)
            .detail("allowed", allowed)
            .detail("denied", denied);
        let produced_by = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        self.stores().add_artefact(&NewArtefact {
            export: id.to_string(),
            produced_by,
            produced_at: now,
            recipient_key: recipient_key.clone(),
            sha256: sha256.clone(),
            ciphertext,
            audit_index,
        })?;
        Ok(Produced { export: id.to_string(), sha256, bytes, recipient_key, audit_index, subscribers, allowed, denied })
    }

    /// Download the artefact of export request `id` onto `medium` as `by` at `now` (see the
    /// module docs). Refused, with nothing written: an unknown request
    /// ([`ActionError::NotFound`]), one acting who did not file it, an external medium without
    /// an exception in force ([`ActionError::Forbidden`]), an artefact not produced or already
    /// downloaded ([`ActionError::Conflict`]).
    pub fn download_export(
        &self,
        by: &Acting,
        id: &ExportId,
        medium: Medium,
        now: Timestamp,
    ) -> ActionResult<Downloaded> {
        let actor = self.authorize_or_system(by, ALL_ROLES, "download an export")?;
        let Some(found) = self.stores().export_request(id.as_str())? else {
            return Err(ActionError::NotFound(format!("export request `{id}`")));
        };
        if found.request.requested_by != actor.id() {
            return Err(ActionError::Forbidden(format!(
                "export request `{id}` was filed by `{}`; only its requester downloads it",
                found.request.requested_by
            )));
        }
        let Some(artefact) = self.stores().artefact(id.as_str())? else {
            return Err(ActionError::Conflict(format!("export request `{id}` has no artefact; produce it first")));
        };
        if let Some(taken) = &artefact.download {
            return Err(ActionError::Conflict(format!(
                "the artefact of export request `{id}` was downloaded already ({})",
                tokutei_policy::tokyo::minutes(taken.at)
            )));
        }
        // The approval covers carrying the data out, not only producing the file.
        if found.request.valid_until < now {
            return Err(ActionError::Conflict(format!(
                "export request `{id}` has lapsed; its artefact can no longer be downloaded"
            )));
        }
        let exception = if medium.is_external() {
            match self.media_exception_in_force(actor.id(), medium, now)? {
                Some(e) => Some(e.exception.id),
                None => {
                    return Err(ActionError::Forbidden(format!(
                        "writing to an external medium ({}, `{}`) is refused: no media exception is in force for `{}`",
                        medium.label(tokutei_policy::Lang::En),
                        medium.code(),
                        actor.id()
                    )));
                }
            }
        } else {
            None
        };
        let mut entry = AdminEntry::new(AdminAction::ExportDownloaded, format!("export/{id}"))
            .detail("sha256", &artefact.sha256)
            .detail("bytes", artefact.bytes)
            .detail("medium", medium.code());
        if let Some(e) = &exception {
            entry = entry.detail("exception", e);
        }
        let by = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let download =
            Download { by, at: now, medium: medium.code().to_string(), exception: exception.clone(), audit_index };
        let Some(ciphertext) = self.stores().claim_artefact(id.as_str(), &download)? else {
            return Err(ActionError::Conflict(format!("the artefact of export request `{id}` was downloaded already")));
        };
        Ok(Downloaded {
            export: id.to_string(),
            bytes: ciphertext.len() as u64,
            ciphertext,
            sha256: artefact.sha256,
            medium,
            exception,
            audit_index,
        })
    }

    /// Every export request with its artefact and state, newest first.
    pub fn export_views(&self) -> ActionResult<Vec<ExportView>> {
        let artefacts = self.stores().artefacts()?;
        Ok(self
            .stores()
            .export_requests()?
            .into_iter()
            .map(|request| {
                let artefact = artefacts.iter().find(|a| a.export == request.request.id).cloned();
                view(request, artefact)
            })
            .collect())
    }

    /// One export request with its artefact and state.
    pub fn export_view(&self, id: &ExportId) -> ActionResult<ExportView> {
        let Some(request) = self.stores().export_request(id.as_str())? else {
            return Err(ActionError::NotFound(format!("export request `{id}`")));
        };
        Ok(view(request, self.stores().artefact(id.as_str())?))
    }
}

fn view(request: ExportRequest, artefact: Option<Artefact>) -> ExportView {
    let state = match &artefact {
        Some(a) if a.download.is_some() => ExportState::Downloaded,
        Some(_) => ExportState::Produced,
        None if request.approved_by.is_some() => ExportState::Approved,
        None => ExportState::Requested,
    };
    ExportView { state, request, artefact }
}
