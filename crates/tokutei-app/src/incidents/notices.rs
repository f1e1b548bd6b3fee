//! Notices to the persons concerned (APPI 26条2項, 規則10条): the recipients come from the
//! incident's affected set; their contact details are read through the gateway under a
//! purpose the policy allows ([`App::read`], audited like any use) and handed back with a
//! Japanese letter carrying the required items — never stored; what was sent is logged per
//! person; and when notice is impossible, the alternative measure (publication…) is recorded
//! with its reason.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokutei_ledger::{Action, AdminAction};
use tokutei_policy::Channel;
use tokutei_store::incident::{NoticeSent, StoredIncident};

use super::rules::{Item, ReportContext, item_value};
use super::{AlternativeView, TEXT_MAX, TITLE_MAX, subject, text};
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{CategoryId, IncidentId, PrincipalId, PurposeId, SubscriberId};
use crate::limits::MAX_SUBSCRIBERS;
use crate::{AccessCall, App};

/// How the contacts are read: through the gateway, by the one acting, for a purpose of the
/// policy that covers the contact category.
#[derive(Debug, Clone)]
pub struct NoticeRead {
    pub purpose: PurposeId,
    /// The contact category (`contract.email`, `contract.address`…).
    pub contact: CategoryId,
    pub channel: Option<Channel>,
    pub zone: Option<String>,
    /// The address the reader works from (see [`AccessCall::terminal`]).
    pub terminal: Option<std::net::IpAddr>,
    /// Only these affected subscribers (every affected one when empty).
    pub subscribers: Vec<SubscriberId>,
    /// Where the call came from, for the audit (`cli`, `console:<session>`).
    pub client: String,
}

/// A letter to one person.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Letter {
    pub subscriber: String,
    /// The contact read through the gateway (`None` when it was denied or there is none).
    pub contact: Option<String>,
    /// The notice in Japanese.
    pub text: String,
}

impl std::fmt::Debug for Letter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letter").field("subscriber", &self.subscriber).finish_non_exhaustive()
    }
}

/// The letters of an incident's notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeLetters {
    pub letters: Vec<Letter>,
    /// The ledger indexes of the gateway's entries for the contacts read.
    pub audit: Vec<u64>,
}

/// How a notice was sent. The codes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeMethod {
    Email,
    Post,
    Phone,
    Sms,
    Other,
}

impl NoticeMethod {
    pub const ALL: [NoticeMethod; 5] =
        [NoticeMethod::Email, NoticeMethod::Post, NoticeMethod::Phone, NoticeMethod::Sms, NoticeMethod::Other];

    pub fn code(self) -> &'static str {
        match self {
            NoticeMethod::Email => "email",
            NoticeMethod::Post => "post",
            NoticeMethod::Phone => "phone",
            NoticeMethod::Sms => "sms",
            NoticeMethod::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<NoticeMethod> {
        NoticeMethod::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// Notices logged as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticesRecorded {
    pub incident: String,
    pub count: usize,
    pub method: NoticeMethod,
    pub audit_index: u64,
}

/// The affected subscribers of an incident (every impact's), with the categories read of each.
fn affected(app: &App, id: &str) -> ActionResult<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for impact in app.stores().impacts(id)? {
        for item in impact.items {
            out.entry(item.subscriber).or_default().insert(item.category);
        }
    }
    Ok(out)
}

fn chosen(
    affected: &BTreeMap<String, BTreeSet<String>>,
    wanted: &[SubscriberId],
    id: &IncidentId,
) -> ActionResult<Vec<String>> {
    if wanted.is_empty() {
        return Ok(affected.keys().cloned().collect());
    }
    let mut seen = BTreeSet::new();
    for s in wanted {
        if !affected.contains_key(s.as_str()) {
            return Err(ActionError::invalid("subscriber", format!("`{s}` is not affected by incident `{id}`")));
        }
        if !seen.insert(s.as_str()) {
            return Err(ActionError::invalid("subscriber", format!("`{s}` is named twice")));
        }
    }
    Ok(seen.into_iter().map(str::to_string).collect())
}

fn letter(incident: &StoredIncident, ctx: &ReportContext, categories: &BTreeSet<String>) -> String {
    let f = &incident.current.fields;
    let or_pending = |v: Option<String>| v.unwrap_or_else(|| "（調査中）".to_string());
    let items: Vec<String> =
        categories.iter().map(|c| ctx.category_names.get(c).cloned().unwrap_or_else(|| c.clone())).collect();
    let summary = f.summary.as_ref().map(|s| s.ja.clone());
    format!(
        "{}より大切なお知らせ\n個人データの漏えい等に関するお詫びとご報告\n\n\
         このたび、お客さまの個人データの漏えい等が発生し、又は発生したおそれがあることが判明しました。\
         深くお詫び申し上げます。\n\n\
         1. 概要\n{}\n\n2. 漏えい等が発生し、又は発生したおそれがある個人データの項目\n{}\n\n\
         3. 原因\n{}\n\n4. 二次被害又はそのおそれの有無及びその内容\n{}\n\n5. その他参考となる事項\n{}\n\n\
         事案番号: {}\n",
        ctx.company.as_deref().unwrap_or("当社"),
        or_pending(summary),
        if items.is_empty() { "（調査中）".to_string() } else { items.join("、") },
        or_pending(item_value(&Item::Cause, f, ctx)),
        or_pending(item_value(&Item::SecondaryDamage, f, ctx)),
        or_pending(item_value(&Item::Other, f, ctx)),
        incident.id
    )
}

impl App {
    /// The notices of an incident, for `by` (a manager, who reads the contacts through the
    /// gateway as its principal): one letter per affected person (or those named), with the
    /// contact read for `read.purpose` — each read audited by the gateway, denials too —
    /// handed back and never stored. Nothing is logged as sent: see [`App::record_notices`].
    pub fn notice_letters(
        &self,
        by: &Acting,
        id: &IncidentId,
        read: &NoticeRead,
        now: Timestamp,
    ) -> ActionResult<NoticeLetters> {
        self.authorize(by, MANAGERS, "read contacts for notices")?;
        let Acting::Person(person) = by else {
            return Err(ActionError::Forbidden("only a person reads contacts for notices".into()));
        };
        let incident =
            self.stores().incident(id.as_str())?.ok_or_else(|| ActionError::NotFound(format!("incident `{id}`")))?;
        let affected = affected(self, id.as_str())?;
        let recipients = chosen(&affected, &read.subscribers, id)?;
        if recipients.is_empty() {
            return Err(ActionError::Conflict(format!(
                "incident `{id}` has no affected subscribers; compute its impact first"
            )));
        }
        // A purpose that lists its channels is used only through one: without it every read
        // would be denied (`channel_required`), a denial per person, and no letter addressed.
        if read.channel.is_none()
            && let Some((_, policy)) = self.active_policy(now)?
            && let Some(purpose) = policy.purpose(read.purpose.as_str())
            && !purpose.channels.is_empty()
        {
            let listed: Vec<&str> = purpose.channels.iter().map(|c| c.id()).collect();
            return Err(ActionError::invalid(
                "channel",
                format!(
                    "the purpose `{}` is used only through a channel: choose one of {}",
                    read.purpose,
                    listed.join(", ")
                ),
            ));
        }
        let ctx = self.report_context(&incident, now)?;
        let mut letters = Vec::new();
        let mut audit = Vec::new();
        for chunk in recipients.chunks(MAX_SUBSCRIBERS) {
            let call = AccessCall {
                principal: PrincipalId::parse_as("by", person.clone())?,
                action: Action::Read,
                purpose: read.purpose.clone(),
                subscribers: chunk.iter().map(|s| SubscriberId::known(s.clone())).collect(),
                categories: vec![read.contact.clone()],
                channel: read.channel,
                zone: read.zone.clone(),
                terminal: read.terminal,
                export_approval: None,
                recipient: None,
                client: read.client.clone(),
                now,
            };
            let outcome = self.read(&call)?;
            audit.extend(outcome.audit.iter().copied());
            for s in outcome.subscribers {
                let contact =
                    s.items.iter().find(|i| i.allowed).and_then(|i| i.values.first()).map(|v| v.value.clone());
                let text = letter(&incident, &ctx, &affected[&s.id]);
                letters.push(Letter { subscriber: s.id, contact, text });
            }
        }
        audit.sort_unstable();
        audit.dedup();
        Ok(NoticeLetters { letters, audit })
    }

    /// Log, for `by` (a manager), that notices were sent to `subscribers` (affected ones) by
    /// `method` at `sent_at` (default now): `incident_notices_recorded` (how many, the method,
    /// the digest of the list) is durable before the log.
    pub fn record_notices(
        &self,
        by: &Acting,
        id: &IncidentId,
        subscribers: &[SubscriberId],
        method: NoticeMethod,
        sent_at: Option<Timestamp>,
        now: Timestamp,
    ) -> ActionResult<NoticesRecorded> {
        let actor = self.authorize(by, MANAGERS, "record notices")?;
        if self.stores().incident(id.as_str())?.is_none() {
            return Err(ActionError::NotFound(format!("incident `{id}`")));
        }
        if subscribers.is_empty() {
            return Err(ActionError::invalid("subscriber", "name the subscribers notified"));
        }
        let sent_at = sent_at.unwrap_or(now);
        if sent_at > now {
            return Err(ActionError::invalid("sent_at", "is in the future"));
        }
        let affected = affected(self, id.as_str())?;
        let list = chosen(&affected, subscribers, id)?;
        let mut hash = Sha256::new();
        for s in &list {
            hash.update(format!("{s}\n").as_bytes());
        }
        let entry = AdminEntry::new(AdminAction::IncidentNoticesRecorded, subject(id.as_str()))
            .digest(hash.finalize().into())
            .detail("count", list.len())
            .detail("method", method.code());
        let staff = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let log: Vec<NoticeSent> = list
            .iter()
            .map(|s| NoticeSent {
                incident: id.to_string(),
                subscriber: s.clone(),
                method: method.code().to_string(),
                sent_at,
                recorded_by: staff.clone(),
                audit_index,
            })
            .collect();
        self.stores().record_notices(&log)?;
        Ok(NoticesRecorded { incident: id.to_string(), count: log.len(), method, audit_index })
    }

    /// Record, for `by` (a manager), the alternative measure taken where notice is impossible
    /// (publication, a contact point…) with its reason: `incident_alternative_recorded` first.
    pub fn record_alternative_measure(
        &self,
        by: &Acting,
        id: &IncidentId,
        measure: &str,
        reason: &str,
        now: Timestamp,
    ) -> ActionResult<AlternativeView> {
        let actor = self.authorize(by, MANAGERS, "record alternative measures")?;
        if self.stores().incident(id.as_str())?.is_none() {
            return Err(ActionError::NotFound(format!("incident `{id}`")));
        }
        let measure =
            text("measure", measure, TITLE_MAX, false)?.ok_or_else(|| ActionError::invalid("measure", "is empty"))?;
        let reason =
            text("reason", reason, TEXT_MAX, true)?.ok_or_else(|| ActionError::invalid("reason", "is empty"))?;
        let digest: [u8; 32] = Sha256::digest(format!("{measure}\n{reason}").as_bytes()).into();
        let entry = AdminEntry::new(AdminAction::IncidentAlternativeRecorded, subject(id.as_str())).digest(digest);
        let staff = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let recorded = tokutei_store::incident::AlternativeMeasure {
            incident: id.to_string(),
            measure,
            reason,
            recorded_by: staff,
            recorded_at: now,
            audit_index,
        };
        self.stores().record_alternative(&recorded)?;
        Ok(AlternativeView::from(&recorded))
    }
}
