//! The register itself: opening an incident with its obligations computed, changing its fields
//! (a new version each time, deadlines following the facts), triage, and reading it back —
//! one incident, the list, the history, and every open obligation with its days left.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use tokutei_ledger::AdminAction;
use tokutei_policy::{Date, Text, tokyo};
use tokutei_store::incident::{
    Flags, IncidentFields, IncidentStatus, IncidentVersion, NewObligation, Occurrence, Persons, ProcessorLink, Regime,
    Report, StoredIncident,
};

use super::rules::{Facts, triage};
use super::{
    AlternativeView, ImpactSummary, IncidentView, ObligationView, PublicationView, TEXT_MAX, TITLE_MAX, WithdrawalView,
    fields_digest, subject, text,
};
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{CategoryId, IncidentId, ServiceId};

/// The most persons an incident may count (more than every subscriber a carrier has).
pub const PERSONS_MAX: u64 = 10_000_000_000;

/// A new incident, as far as known when it is registered.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub title: Text,
    pub summary: Option<Text>,
    /// The moment the carrier knew: the report clocks run from it.
    pub known_at: Timestamp,
    pub discovered_at: Option<Timestamp>,
    pub occurred: Occurrence,
    /// At least one.
    pub regimes: Vec<Regime>,
    pub persons: Option<Persons>,
    pub flags: Flags,
    pub categories: Vec<CategoryId>,
    pub services: Vec<ServiceId>,
    pub discovery: Option<String>,
}

/// A change of some fields; `None` leaves a field as it is, an empty text clears it.
#[derive(Debug, Clone, Default)]
pub struct IncidentPatch {
    pub title: Option<Text>,
    pub summary: Option<Text>,
    pub occurred: Option<Occurrence>,
    pub discovered_at: Option<Timestamp>,
    pub known_at: Option<Timestamp>,
    pub discovery: Option<String>,
    pub categories: Option<Vec<CategoryId>>,
    pub services: Option<Vec<ServiceId>>,
    pub content: Option<String>,
    pub persons: Option<Persons>,
    pub cause: Option<String>,
    pub secondary_damage: Option<String>,
    pub response: Option<String>,
    pub prevention: Option<String>,
    pub other: Option<String>,
    pub status: Option<IncidentStatus>,
    /// Processors to link (added to those linked, by name).
    pub processors: Vec<ProcessorLink>,
    /// Values of the deployment's own report items, by item id (empty clears one).
    pub extra: BTreeMap<String, String>,
}

/// A triage: the flags as now known, and optionally the number of persons and the regimes.
#[derive(Debug, Clone, Default)]
pub struct TriageInput {
    pub flags: Flags,
    pub persons: Option<Persons>,
    pub regimes: Option<Vec<Regime>>,
}

/// A report not yet submitted, with its clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenObligation {
    pub incident: String,
    /// The incident's title in Japanese.
    pub title: String,
    /// Its English title, where one was given.
    pub title_en: Option<String>,
    pub status: IncidentStatus,
    pub regime: Regime,
    pub report: Report,
    #[serde(serialize_with = "crate::dates::text")]
    pub due: Date,
    pub recipient: String,
    pub unconfirmed: bool,
    /// Days from today to the due date; negative once overdue.
    pub days_left: i64,
    pub overdue: bool,
}

/// Whether an incident in `from` may move to `to`: open → reported → closed, forward only.
pub fn may_move(from: IncidentStatus, to: IncidentStatus) -> bool {
    use IncidentStatus::*;
    from == to || matches!((from, to), (Open, Reported) | (Open, Closed) | (Reported, Closed))
}

/// The alphabet of incident ids' random part: no 0/O, 1/I/L to misread.
const ID_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

fn new_id(today: Date) -> String {
    let mut bytes = [0u8; 4];
    OsRng.fill_bytes(&mut bytes);
    let code: String = bytes.iter().map(|b| ID_ALPHABET[usize::from(*b) % ID_ALPHABET.len()] as char).collect();
    format!("INC-{}-{code}", today.0.strftime("%Y%m%d"))
}

fn title(field: &'static str, value: &Text) -> ActionResult<Text> {
    let ja = text(field, &value.ja, TITLE_MAX, false)?.ok_or_else(|| ActionError::invalid(field, "is empty"))?;
    let en = match &value.en {
        Some(en) => text(field, en, TITLE_MAX, false)?,
        None => None,
    };
    Ok(Text { ja, en })
}

fn long_text(field: &'static str, value: &Text) -> ActionResult<Option<Text>> {
    let Some(ja) = text(field, &value.ja, TEXT_MAX, true)? else { return Ok(None) };
    let en = match &value.en {
        Some(en) => text(field, en, TEXT_MAX, true)?,
        None => None,
    };
    Ok(Some(Text { ja, en }))
}

fn persons(value: Persons) -> ActionResult<Persons> {
    if value.count > PERSONS_MAX {
        return Err(ActionError::invalid("persons", format!("{} is more than {PERSONS_MAX}", value.count)));
    }
    Ok(value)
}

fn regimes(list: &[Regime]) -> ActionResult<Vec<Regime>> {
    let mut out = list.to_vec();
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        return Err(ActionError::invalid("regime", "name at least one regime: secrecy, tokutei or appi"));
    }
    Ok(out)
}

impl App {
    fn stored_incident(&self, id: &str) -> ActionResult<StoredIncident> {
        self.stores().incident(id)?.ok_or_else(|| ActionError::NotFound(format!("incident `{id}`")))
    }

    /// Category and service ids against the policy in force (when one is).
    fn check_policy_ids(&self, categories: &[CategoryId], services: &[ServiceId], now: Timestamp) -> ActionResult<()> {
        let Some((_, policy)) = self.active_policy(now)? else { return Ok(()) };
        if let Some(c) = categories.iter().find(|c| policy.category(c.as_str()).is_none()) {
            return Err(ActionError::invalid("category", format!("`{c}` is not a category of the policy in force")));
        }
        if let Some(s) = services.iter().find(|s| policy.service(s.as_str()).is_none()) {
            return Err(ActionError::invalid("service", format!("`{s}` is not a service of the policy in force")));
        }
        Ok(())
    }

    /// The checks every version passes: times in order and not in the future.
    fn check_times(fields: &IncidentFields, now: Timestamp) -> ActionResult<()> {
        if fields.known_at > now {
            return Err(ActionError::invalid("known_at", "is in the future"));
        }
        if let Some(discovered) = fields.discovered_at
            && discovered > fields.known_at
        {
            return Err(ActionError::invalid("discovered_at", "is after `known_at`, when the carrier knew"));
        }
        match fields.occurred {
            Occurrence::Unknown => {}
            Occurrence::At { at } if at > now => return Err(ActionError::invalid("occurred_at", "is in the future")),
            Occurrence::At { .. } => {}
            Occurrence::Between { from, to } => {
                if from > to {
                    return Err(ActionError::invalid("occurred_at", "the range ends before it starts"));
                }
                if from > now {
                    return Err(ActionError::invalid("occurred_at", "is in the future"));
                }
            }
        }
        Ok(())
    }

    /// Register an incident for `by` (a manager), as far as known: its obligations are
    /// computed from its regimes, flags and clocks; `incident_opened` (the first version's
    /// digest, the regimes) is durable before anything is stored.
    pub fn open_incident(&self, by: &Acting, new: &NewIncident, now: Timestamp) -> ActionResult<IncidentView> {
        let actor = self.authorize(by, MANAGERS, "open incidents")?;
        self.check_policy_ids(&new.categories, &new.services, now)?;
        let fields = IncidentFields {
            title: title("title", &new.title)?,
            summary: match &new.summary {
                Some(s) => long_text("summary", s)?,
                None => None,
            },
            occurred: new.occurred,
            discovered_at: new.discovered_at,
            known_at: new.known_at,
            discovery: match &new.discovery {
                Some(d) => text("discovery", d, TEXT_MAX, true)?,
                None => None,
            },
            categories: sorted(new.categories.iter().map(|c| c.to_string())),
            services: sorted(new.services.iter().map(|s| s.to_string())),
            content: None,
            persons: new.persons.map(persons).transpose()?,
            cause: None,
            secondary_damage: None,
            response: None,
            prevention: None,
            other: None,
            status: IncidentStatus::Open,
            processors: Vec::new(),
            regimes: regimes(&new.regimes)?,
            flags: new.flags,
            extra: BTreeMap::new(),
        };
        Self::check_times(&fields, now)?;
        let today = tokyo::date_of(now);
        let id = (0..5)
            .map(|_| new_id(today))
            .find_map(|id| match self.stores().incident(&id) {
                Ok(None) => Some(Ok(id)),
                Ok(Some(_)) => None,
                Err(e) => Some(Err(e)),
            })
            .ok_or_else(|| ActionError::Conflict("no free incident id; try again".into()))??;
        let obligations = self.incident_rules().obligations(&Facts::of(&fields));
        let entry = AdminEntry::new(AdminAction::IncidentOpened, subject(&id))
            .digest(fields_digest(&fields))
            .detail("version", 1)
            .detail("regimes", codes(fields.regimes.iter().map(|r| r.code())))
            .detail("obligations", obligations.len());
        let staff = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let first = IncidentVersion {
            incident: id.clone(),
            version: 1,
            fields,
            change: "opened".into(),
            changed_by: staff,
            changed_at: now,
            audit_index,
        };
        self.stores().create_incident(&first, &obligations)?;
        self.incident(&IncidentId::known(id), now)
    }

    /// Change an incident for `by` (a manager): a new version with the fields the patch names
    /// (an empty text clears one); when a clock or the number of persons changes, the
    /// obligations are recomputed (submitted ones kept). `incident_updated` (the new version's
    /// digest, the names of the fields changed) is durable first. A closed incident changes
    /// no more; it closes only once every report is submitted.
    pub fn update_incident(
        &self,
        by: &Acting,
        id: &IncidentId,
        patch: &IncidentPatch,
        now: Timestamp,
    ) -> ActionResult<IncidentView> {
        self.check_policy_ids(
            patch.categories.as_deref().unwrap_or_default(),
            patch.services.as_deref().unwrap_or_default(),
            now,
        )?;
        let custom: BTreeSet<&str> = self.incident_rules().custom_items.iter().map(|c| c.id.as_str()).collect();
        if let Some(unknown) = patch.extra.keys().find(|k| !custom.contains(k.as_str())) {
            return Err(ActionError::invalid("item", format!("`{unknown}` is not a report item of this deployment")));
        }
        self.change(by, id, AdminAction::IncidentUpdated, "updated", now, |fields, stored| {
            let mut changed = Vec::new();
            let mut set = |name: &'static str, slot: &mut Option<String>, value: &Option<String>| -> ActionResult<()> {
                if let Some(value) = value {
                    let value = text(name, value, TEXT_MAX, true)?;
                    if *slot != value {
                        *slot = value;
                        changed.push(name);
                    }
                }
                Ok(())
            };
            set("discovery", &mut fields.discovery, &patch.discovery)?;
            set("content", &mut fields.content, &patch.content)?;
            set("cause", &mut fields.cause, &patch.cause)?;
            set("secondary_damage", &mut fields.secondary_damage, &patch.secondary_damage)?;
            set("response", &mut fields.response, &patch.response)?;
            set("prevention", &mut fields.prevention, &patch.prevention)?;
            set("other", &mut fields.other, &patch.other)?;
            if let Some(t) = &patch.title {
                let t = title("title", t)?;
                if fields.title != t {
                    fields.title = t;
                    changed.push("title");
                }
            }
            if let Some(s) = &patch.summary {
                let s = long_text("summary", s)?;
                if fields.summary != s {
                    fields.summary = s;
                    changed.push("summary");
                }
            }
            if let Some(o) = patch.occurred
                && fields.occurred != o
            {
                fields.occurred = o;
                changed.push("occurred_at");
            }
            if let Some(t) = patch.discovered_at
                && fields.discovered_at != Some(t)
            {
                fields.discovered_at = Some(t);
                changed.push("discovered_at");
            }
            if let Some(t) = patch.known_at
                && fields.known_at != t
            {
                fields.known_at = t;
                changed.push("known_at");
            }
            if let Some(c) = &patch.categories {
                let c = sorted(c.iter().map(|c| c.to_string()));
                if fields.categories != c {
                    fields.categories = c;
                    changed.push("categories");
                }
            }
            if let Some(s) = &patch.services {
                let s = sorted(s.iter().map(|s| s.to_string()));
                if fields.services != s {
                    fields.services = s;
                    changed.push("services");
                }
            }
            if let Some(p) = patch.persons {
                let p = persons(p)?;
                if fields.persons != Some(p) {
                    fields.persons = Some(p);
                    changed.push("persons");
                }
            }
            for link in &patch.processors {
                let name = text("processor", &link.name, TITLE_MAX, false)?
                    .ok_or_else(|| ActionError::invalid("processor", "is empty"))?;
                match fields.processors.iter_mut().find(|p| p.name == name) {
                    Some(p) if p.notified_at == link.notified_at => {}
                    Some(p) => p.notified_at = link.notified_at,
                    None => fields.processors.push(ProcessorLink { name, notified_at: link.notified_at }),
                }
                if !changed.contains(&"processors") {
                    changed.push("processors");
                }
            }
            for (item, value) in &patch.extra {
                let value = text("item", value, TEXT_MAX, true)?;
                if fields.extra.get(item) != value.as_ref() {
                    match value {
                        Some(v) => fields.extra.insert(item.clone(), v),
                        None => fields.extra.remove(item),
                    };
                    if !changed.contains(&"items") {
                        changed.push("items");
                    }
                }
            }
            if let Some(to) = patch.status
                && fields.status != to
            {
                if !may_move(fields.status, to) {
                    return Err(ActionError::Conflict(format!(
                        "incident `{id}` cannot move from {} to {}",
                        fields.status.code(),
                        to.code()
                    )));
                }
                if to == IncidentStatus::Closed {
                    let open: Vec<String> = stored
                        .obligations
                        .iter()
                        .filter(|o| o.submission.is_none())
                        .map(|o| format!("{} {}", o.obligation.regime.code(), o.obligation.report.code()))
                        .collect();
                    if !open.is_empty() {
                        return Err(ActionError::Conflict(format!(
                            "incident `{id}` cannot be closed while reports are due: {}",
                            open.join(", ")
                        )));
                    }
                }
                fields.status = to;
                changed.push("status");
            }
            if changed.is_empty() {
                return Err(ActionError::BadRequest(format!("nothing changes in incident `{id}`")));
            }
            let clocks = changed.iter().any(|c| matches!(*c, "known_at" | "discovered_at" | "persons"));
            Ok((changed, clocks))
        })
    }

    /// Triage an incident for `by` (a manager): its APPI flags (and, when given, the number of
    /// persons and the regimes) as now known; the obligations are recomputed under the rules
    /// in force, a submitted one kept as it was. `incident_triaged` (flags, the triage's
    /// outcome, the number of obligations) is durable first.
    pub fn triage_incident(
        &self,
        by: &Acting,
        id: &IncidentId,
        input: &TriageInput,
        now: Timestamp,
    ) -> ActionResult<IncidentView> {
        let new_regimes = input.regimes.as_deref().map(regimes).transpose()?;
        let new_persons = input.persons.map(persons).transpose()?;
        self.change(by, id, AdminAction::IncidentTriaged, "triaged", now, |fields, _| {
            fields.flags = input.flags;
            if let Some(p) = new_persons {
                fields.persons = Some(p);
            }
            if let Some(r) = &new_regimes {
                fields.regimes = r.clone();
            }
            Ok((vec!["flags"], true))
        })
    }

    /// The one path of every change: who may, the incident as stored, the change applied to a
    /// copy of its fields (which names the fields changed and whether the clocks moved), the
    /// checks, the entry (durable), then the new version with its obligations.
    fn change(
        &self,
        by: &Acting,
        id: &IncidentId,
        action: AdminAction,
        change: &str,
        now: Timestamp,
        apply: impl FnOnce(&mut IncidentFields, &StoredIncident) -> ActionResult<(Vec<&'static str>, bool)>,
    ) -> ActionResult<IncidentView> {
        let actor = self.authorize(by, MANAGERS, "change incidents")?;
        let stored = self.stored_incident(id.as_str())?;
        if stored.current.fields.status == IncidentStatus::Closed {
            return Err(ActionError::Conflict(format!("incident `{id}` is closed")));
        }
        let mut fields = stored.current.fields.clone();
        let (changed, clocks) = apply(&mut fields, &stored)?;
        Self::check_times(&fields, now)?;
        let obligations: Option<Vec<NewObligation>> = (clocks || action == AdminAction::IncidentTriaged)
            .then(|| self.incident_rules().obligations(&Facts::of(&fields)));
        let version = stored.current.version + 1;
        let mut entry = AdminEntry::new(action, subject(id.as_str()))
            .digest(fields_digest(&fields))
            .detail("version", version)
            .detail("fields", changed.join(","));
        if action == AdminAction::IncidentTriaged {
            let f = fields.flags;
            let flags = [
                ("sensitive", f.sensitive),
                ("financial", f.financial),
                ("malicious", f.malicious),
                ("encrypted", f.encrypted),
            ];
            entry = entry
                .detail("flags", codes(flags.iter().filter(|(_, on)| *on).map(|(name, _)| *name)))
                .detail("appi", triage(&fields.flags, fields.persons).code())
                .detail("regimes", codes(fields.regimes.iter().map(|r| r.code())));
        }
        if let Some(o) = &obligations {
            entry = entry.detail("obligations", o.len());
        }
        let staff = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let new = IncidentVersion {
            incident: id.to_string(),
            version,
            fields,
            change: change.to_string(),
            changed_by: staff,
            changed_at: now,
            audit_index,
        };
        self.stores().add_incident_version(&new, obligations.as_deref())?;
        self.incident(id, now)
    }

    /// An incident as it stands on `now`'s date (Asia/Tokyo): its latest version, obligations
    /// with days left, latest impact, notices, alternative measures, public entry.
    pub fn incident(&self, id: &IncidentId, now: Timestamp) -> ActionResult<IncidentView> {
        let stored = self.stored_incident(id.as_str())?;
        self.incident_view(stored, tokyo::date_of(now), true)
    }

    /// The register, newest first, at most `limit` (without impacts and notices).
    pub fn incidents(&self, limit: usize, now: Timestamp) -> ActionResult<Vec<IncidentView>> {
        let today = tokyo::date_of(now);
        self.stores().incidents(limit)?.into_iter().map(|s| self.incident_view(s, today, false)).collect()
    }

    /// Every version of an incident, oldest first: the history of what was known when.
    pub fn incident_history(&self, id: &IncidentId) -> ActionResult<Vec<IncidentVersion>> {
        let versions = self.stores().incident_versions(id.as_str())?;
        if versions.is_empty() {
            return Err(ActionError::NotFound(format!("incident `{id}`")));
        }
        Ok(versions)
    }

    /// Every report not yet submitted, by due date, with its days left on `now`'s date and
    /// whether it is overdue (for the dashboard and the escalations).
    pub fn open_obligations(&self, now: Timestamp) -> ActionResult<Vec<OpenObligation>> {
        let today = tokyo::date_of(now);
        let mut titles: BTreeMap<String, (String, Option<String>, IncidentStatus)> = BTreeMap::new();
        let mut out = Vec::new();
        for (incident, o) in self.stores().open_obligations()? {
            if !titles.contains_key(&incident) {
                let stored = self.stored_incident(&incident)?;
                let fields = &stored.current.fields;
                titles.insert(incident.clone(), (fields.title.ja.clone(), fields.title.en.clone(), fields.status));
            }
            let (title, title_en, status) = titles[&incident].clone();
            let days_left = super::rules::days_left(o.due, today);
            out.push(OpenObligation {
                incident,
                title,
                title_en,
                status,
                regime: o.regime,
                report: o.report,
                due: o.due,
                recipient: o.recipient,
                unconfirmed: o.unconfirmed,
                days_left,
                overdue: days_left < 0,
            });
        }
        Ok(out)
    }

    fn incident_view(&self, stored: StoredIncident, today: Date, full: bool) -> ActionResult<IncidentView> {
        let id = stored.id.clone();
        let publications = self.stores().publications(&id)?;
        let withdrawal = self.stores().withdrawal(&id)?;
        let (impact, notices, alternatives) = if full {
            let impact = self.stores().impacts(&id)?.pop().map(|i| {
                let mut categories: BTreeMap<String, usize> = BTreeMap::new();
                let mut subscribers = BTreeSet::new();
                for item in &i.items {
                    *categories.entry(item.category.clone()).or_default() += 1;
                    subscribers.insert(item.subscriber.as_str());
                }
                ImpactSummary {
                    number: i.number,
                    subscribers: subscribers.len(),
                    categories,
                    reads: i.items.iter().map(|item| item.indexes.len()).sum(),
                    computed_at: i.computed_at,
                    audit_index: i.audit_index,
                }
            });
            let alternatives = self.stores().alternatives(&id)?.iter().map(AlternativeView::from).collect();
            (impact, self.stores().notices(&id)?.len(), alternatives)
        } else {
            (None, 0, Vec::new())
        };
        let fields = stored.current.fields;
        Ok(IncidentView {
            id,
            status: fields.status,
            version: stored.current.version,
            created_at: stored.created_at,
            changed_at: stored.current.changed_at,
            changed_by: stored.current.changed_by,
            triage: triage(&fields.flags, fields.persons),
            obligations: stored.obligations.iter().map(|o| ObligationView::of(o, today)).collect(),
            impact,
            notices,
            alternatives,
            listed_until: publications.iter().map(|p| p.listed_until).max(),
            publications: publications.iter().map(PublicationView::from).collect(),
            withdrawal: withdrawal.as_ref().map(WithdrawalView::from),
            fields,
        })
    }
}

fn sorted(ids: impl Iterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = ids.collect();
    set.into_iter().collect()
}

fn codes<'a>(list: impl Iterator<Item = &'a str>) -> String {
    list.collect::<Vec<_>>().join(",")
}
