//! The public entry of an incident (`/leaks`, `/en/leaks`, the policy page's 事故内容): it is
//! listed from its publication until the last day of the policy's window — `years` after it
//! occurred, for leaks on or after the rule's `since` date (`tokutei_policy::leaks`). Inside
//! that window it cannot be withdrawn or hidden: a correction publishes a new version and the
//! old text stays in its public history; a withdrawal is refused here, naming the date the
//! window ends, and by the database itself. Outside it, the entry drops off by itself.
//!
//! The date of occurrence published is the incident's (the last day of a range: it occurred
//! until then), so a leak that went on past the rule's start date is listed, for the longest
//! window.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use tokutei_ledger::AdminAction;
use tokutei_policy::leaks::{self, PublishedLeak};
use tokutei_policy::{Date, LeakRule, Text, tokyo};
use tokutei_store::StoreResult;
use tokutei_store::incident::{IncidentStore, Occurrence, Publication, Regime, Withdrawal};

use super::{PublicationView, TEXT_MAX, TITLE_MAX, WithdrawalView, subject, text};
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::IncidentId;

/// An entry of the public list, with its earlier versions (its public history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicEntry {
    /// The entry as it reads now (its latest version), listed from its first publication.
    pub leak: PublishedLeak,
    /// The latest version's number (1 when never corrected).
    pub version: u32,
    /// When the latest version was published (a correction's date).
    pub updated: Date,
    /// The earlier versions, oldest first.
    pub history: Vec<Publication>,
}

/// Every public entry of the register that was not withdrawn, as the policy page lists leaks:
/// the latest text of each, published on the date of its first publication. The policy's
/// rule decides which are listed on a day (`tokutei_policy::leaks::listed`).
pub fn published_leaks(store: &(impl IncidentStore + ?Sized)) -> StoreResult<Vec<PublishedLeak>> {
    Ok(grouped(store)?.into_values().filter_map(|versions| entry(versions).map(|e| e.leak)).collect())
}

/// The entries listed on `today` under `rule`, oldest occurrence first, each with its public
/// history.
pub fn public_entries(
    store: &(impl IncidentStore + ?Sized),
    rule: &LeakRule,
    today: Date,
) -> StoreResult<Vec<PublicEntry>> {
    let entries: Vec<PublicEntry> = grouped(store)?.into_values().filter_map(entry).collect();
    let leaks: Vec<PublishedLeak> = entries.iter().map(|e| e.leak.clone()).collect();
    let listed: Vec<String> = leaks::listed(rule, &leaks, today).into_iter().map(|l| l.id.clone()).collect();
    let mut by_id: BTreeMap<String, PublicEntry> = entries.into_iter().map(|e| (e.leak.id.clone(), e)).collect();
    Ok(listed.iter().filter_map(|id| by_id.remove(id)).collect())
}

fn grouped(store: &(impl IncidentStore + ?Sized)) -> StoreResult<BTreeMap<String, Vec<Publication>>> {
    let mut by_incident: BTreeMap<String, Vec<Publication>> = BTreeMap::new();
    for p in store.published_incidents()? {
        by_incident.entry(p.incident.clone()).or_default().push(p);
    }
    Ok(by_incident)
}

fn entry(mut versions: Vec<Publication>) -> Option<PublicEntry> {
    versions.sort_by_key(|p| p.version);
    let latest = versions.pop()?;
    let first_published = versions.first().map_or(latest.published_on, |p| p.published_on);
    Some(PublicEntry {
        leak: PublishedLeak {
            id: latest.incident.clone(),
            occurred: latest.occurred,
            published: first_published,
            summary: latest.summary.clone(),
        },
        version: latest.version,
        updated: latest.published_on,
        history: versions,
    })
}

fn summary(value: &Text) -> ActionResult<Text> {
    let ja = text("summary", &value.ja, TEXT_MAX, true)?.ok_or_else(|| ActionError::invalid("summary", "is empty"))?;
    let en = match &value.en {
        Some(en) => text("summary", en, TEXT_MAX, true)?,
        None => None,
    };
    Ok(Text { ja, en })
}

fn text_digest(summary: &Text) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(summary.ja.as_bytes());
    hash.update([0]);
    hash.update(summary.en.as_deref().unwrap_or("").as_bytes());
    hash.finalize().into()
}

impl App {
    fn leak_rule(&self, now: Timestamp) -> ActionResult<LeakRule> {
        self.active_policy(now)?
            .map(|(_, p)| p.leaks.clone())
            .ok_or_else(|| ActionError::Conflict("no policy is in force: its leak rule decides the public list".into()))
    }

    /// Publish an incident's public entry for `by` (a manager): a 特定利用者情報 leak
    /// (regime `tokutei`) whose date of occurrence is known, on or after the policy's rule
    /// start date and inside its window; the text is the incident's summary unless `text` is
    /// given (事故内容, without personal data). `incident_published` (the text's digest, the
    /// last day listed) is durable first.
    pub fn publish_incident(
        &self,
        by: &Acting,
        id: &IncidentId,
        text: Option<&Text>,
        now: Timestamp,
    ) -> ActionResult<PublicationView> {
        let actor = self.authorize(by, MANAGERS, "publish incidents")?;
        let incident =
            self.stores().incident(id.as_str())?.ok_or_else(|| ActionError::NotFound(format!("incident `{id}`")))?;
        let fields = &incident.current.fields;
        if !fields.regimes.contains(&Regime::Tokutei) {
            return Err(ActionError::Conflict(format!(
                "incident `{id}` is not a leak of specified user information (regime tokutei): the public list is of those"
            )));
        }
        if !self.stores().publications(id.as_str())?.is_empty() {
            return Err(ActionError::Conflict(format!(
                "incident `{id}` is published already; correct its entry instead"
            )));
        }
        if self.stores().withdrawal(id.as_str())?.is_some() {
            return Err(ActionError::Conflict(format!("incident `{id}` was withdrawn from the public list")));
        }
        let occurred = match fields.occurred {
            Occurrence::Unknown => {
                return Err(ActionError::Conflict(format!(
                    "the date incident `{id}` occurred is not known: set it before publishing"
                )));
            }
            Occurrence::At { at } => tokyo::date_of(at),
            Occurrence::Between { to, .. } => tokyo::date_of(to),
        };
        let summary = match text {
            Some(t) => summary(t)?,
            None => fields.summary.as_ref().map(summary).transpose()?.ok_or_else(|| {
                ActionError::Conflict(format!("incident `{id}` has no summary to publish: give the text of the entry"))
            })?,
        };
        let rule = self.leak_rule(now)?;
        if occurred < rule.since {
            return Err(ActionError::Conflict(format!(
                "incident `{id}` occurred on {occurred}, before {}: the policy lists leaks from that date",
                rule.since
            )));
        }
        let today = tokyo::date_of(now);
        let leak = PublishedLeak { id: id.to_string(), occurred, published: today, summary: summary.clone() };
        let listed_until = leaks::listed_until(&rule, &leak);
        if listed_until < today {
            return Err(ActionError::Conflict(format!(
                "the window of incident `{id}` ended on {listed_until}: it is no longer listed"
            )));
        }
        let entry = AdminEntry::new(AdminAction::IncidentPublished, subject(id.as_str()))
            .digest(text_digest(&summary))
            .detail("version", 1)
            .detail("occurred", occurred)
            .detail("listed_until", listed_until);
        self.publish_version(actor, id, 1, occurred, summary, listed_until, entry, now)
    }

    /// Correct an incident's public entry for `by` (a manager): a new version with `text`; the
    /// earlier versions stay in its public history, and its window stays. `incident_corrected`
    /// first.
    pub fn correct_publication(
        &self,
        by: &Acting,
        id: &IncidentId,
        text: &Text,
        now: Timestamp,
    ) -> ActionResult<PublicationView> {
        let actor = self.authorize(by, MANAGERS, "correct published incidents")?;
        let versions = self.stores().publications(id.as_str())?;
        let Some(latest) = versions.last() else {
            return Err(ActionError::NotFound(format!("a public entry of incident `{id}`")));
        };
        if self.stores().withdrawal(id.as_str())?.is_some() {
            return Err(ActionError::Conflict(format!("incident `{id}` was withdrawn from the public list")));
        }
        let summary = summary(text)?;
        if summary == latest.summary {
            return Err(ActionError::BadRequest(format!("the entry of incident `{id}` already reads so")));
        }
        let version = latest.version + 1;
        let entry = AdminEntry::new(AdminAction::IncidentCorrected, subject(id.as_str()))
            .digest(text_digest(&summary))
            .detail("version", version)
            .detail("listed_until", latest.listed_until);
        self.publish_version(actor, id, version, latest.occurred, summary, latest.listed_until, entry, now)
    }

    #[allow(clippy::too_many_arguments, reason = "one private step shared by publish and correct")]
    fn publish_version(
        &self,
        actor: tokutei_ledger::Actor,
        id: &IncidentId,
        version: u32,
        occurred: Date,
        summary: Text,
        listed_until: Date,
        entry: AdminEntry,
        now: Timestamp,
    ) -> ActionResult<PublicationView> {
        let staff = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let publication = Publication {
            incident: id.to_string(),
            version,
            occurred,
            summary,
            published_at: now,
            published_on: tokyo::date_of(now),
            listed_until,
            published_by: staff,
            audit_index,
        };
        self.stores().publish_incident(&publication)?;
        Ok(PublicationView::from(&publication))
    }

    /// Withdraw an incident's public entry for `by` (a manager), with a reason: refused while
    /// its window lasts — a conflict naming the last day it is listed — here and by the
    /// database. `incident_withdrawn` first.
    pub fn withdraw_incident(
        &self,
        by: &Acting,
        id: &IncidentId,
        reason: &str,
        now: Timestamp,
    ) -> ActionResult<WithdrawalView> {
        let actor = self.authorize(by, MANAGERS, "withdraw published incidents")?;
        let versions = self.stores().publications(id.as_str())?;
        let Some(listed_until) = versions.iter().map(|p| p.listed_until).max() else {
            return Err(ActionError::NotFound(format!("a public entry of incident `{id}`")));
        };
        if self.stores().withdrawal(id.as_str())?.is_some() {
            return Err(ActionError::Conflict(format!("incident `{id}` was withdrawn already")));
        }
        let today = tokyo::date_of(now);
        if today <= listed_until {
            return Err(ActionError::Conflict(format!(
                "incident `{id}` stays on the public list until {listed_until} and cannot be withdrawn before then"
            )));
        }
        let reason =
            text("reason", reason, TITLE_MAX, false)?.ok_or_else(|| ActionError::invalid("reason", "is empty"))?;
        let entry =
            AdminEntry::new(AdminAction::IncidentWithdrawn, subject(id.as_str())).detail("listed_until", listed_until);
        let staff = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let withdrawal = Withdrawal {
            incident: id.to_string(),
            withdrawn_at: now,
            withdrawn_on: today,
            reason,
            withdrawn_by: staff,
            audit_index,
        };
        self.stores().withdraw_incident(&withdrawal)?;
        Ok(WithdrawalView::from(&withdrawal))
    }

    /// The entries of the public list on `now`'s date, under the policy in force (none when no
    /// policy is in force).
    pub fn public_entries(&self, now: Timestamp) -> ActionResult<Vec<PublicEntry>> {
        let Some((_, policy)) = self.active_policy(now)? else { return Ok(Vec::new()) };
        Ok(public_entries(self.stores().as_ref(), &policy.leaks, tokyo::date_of(now))?)
    }
}
