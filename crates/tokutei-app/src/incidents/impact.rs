//! The impact of an incident, from the audit ledger: which subscribers and which categories
//! a principal, an API token or a set of categories read (allowed reads and exports) in a
//! time window, how many times, by entry index. The affected set is kept on the incident as
//! ids, each count backed by the indexes of the entries behind it, and an inclusion proof of
//! any of them can be made against a signed checkpoint. The number of persons the reports
//! give can be taken from it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokutei_ledger::{Action, AdminAction, Decision, Event, Proof};
use tokutei_store::incident::{Impact, ImpactItem, ImpactScope, Persons};
use tokutei_store::ledger::{LedgerQuery, StoredCheckpoint};
use tokutei_store::staff::PrincipalKind;

use super::register::IncidentPatch;
use super::{IncidentView, subject};
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{CategoryId, IncidentId, PrincipalId};
use crate::{App, limits};

/// What to look for: reads by a principal or through an API token, or reads of categories, in
/// a window.
#[derive(Debug, Clone)]
pub struct ImpactQuery {
    pub principal: Option<PrincipalId>,
    /// An API token's id (its reads carry the client `api:<id>`).
    pub token: Option<String>,
    /// Only these categories (every one when empty; alone, they are the scope).
    pub categories: Vec<CategoryId>,
    /// Inclusive.
    pub since: Timestamp,
    /// Exclusive.
    pub until: Timestamp,
    /// Take the number of persons of the reports from the affected set (an exact count).
    pub set_persons: bool,
}

/// A computed impact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactOutcome {
    pub incident: String,
    pub number: u32,
    pub scope: ImpactScope,
    /// Entries below this index were looked at.
    pub tree_size: u64,
    /// The affected subscribers, sorted.
    pub subscribers: Vec<String>,
    /// Per category, how many subscribers were read.
    pub categories: BTreeMap<String, usize>,
    /// Every (subscriber, category) read, with the indexes of the entries that read it.
    pub items: Vec<ImpactItemView>,
    /// The ledger index of `incident_impact_computed`.
    pub audit_index: u64,
    /// The incident after the number of persons was taken from the impact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_after: Option<Box<IncidentView>>,
}

/// One (subscriber, category) read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactItemView {
    pub subscriber: String,
    pub category: String,
    pub count: usize,
    pub indexes: Vec<u64>,
}

/// What the ledger entry commits to: every item with its indexes, one line each.
fn impact_digest(items: &[ImpactItem]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for item in items {
        let indexes: Vec<String> = item.indexes.iter().map(u64::to_string).collect();
        hash.update(format!("{}\t{}\t{}\n", item.subscriber, item.category, indexes.join(",")).as_bytes());
    }
    hash.finalize().into()
}

impl App {
    /// Compute, for `by` (a manager), which subscribers and categories were read within the
    /// query's scope, from the ledger as it stands (entries below its current size), and keep
    /// the affected set on the incident: `incident_impact_computed` (the counts, the tree size,
    /// the digest of the set) is durable first. With `set_persons`, the number of persons then
    /// becomes the number of subscribers affected (an audited update).
    pub fn compute_impact(
        &self,
        by: &Acting,
        id: &IncidentId,
        query: &ImpactQuery,
        now: Timestamp,
    ) -> ActionResult<ImpactOutcome> {
        let actor = self.authorize(by, MANAGERS, "compute the impact of incidents")?;
        if query.since >= query.until {
            return Err(ActionError::invalid("until", "the window ends before it starts"));
        }
        if let Some(token) = &query.token {
            limits::id("token", token)?;
        }
        if query.principal.is_none() && query.token.is_none() && query.categories.is_empty() {
            return Err(ActionError::invalid("principal", "name a principal, an API token or categories"));
        }
        let incident =
            self.stores().incident(id.as_str())?.ok_or_else(|| ActionError::NotFound(format!("incident `{id}`")))?;
        let number = self.stores().impacts(id.as_str())?.last().map_or(1, |i| i.number + 1);
        let categories: BTreeSet<&str> = query.categories.iter().map(CategoryId::as_str).collect();
        let principal = query.principal.as_ref().map(PrincipalId::as_str);
        // A person's entries are found through the staff index; a system's through the window.
        let person = match principal {
            Some(p) => self.stores().principal(p)?.is_some_and(|s| matches!(s.kind, PrincipalKind::Person { .. })),
            None => false,
        };
        let client = query.token.as_ref().map(|t| format!("api:{t}"));
        let tree_size = self.ledger().tree_size()?;
        let ledger_query = LedgerQuery {
            staff: if person { principal.map(str::to_string) } else { None },
            since: Some(query.since),
            until: Some(query.until),
            ..LedgerQuery::default()
        };
        let mut found: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
        self.ledger().query_entries(&ledger_query, &mut |stored| {
            if stored.index >= tree_size {
                return Ok(false);
            }
            let entry = stored.decode()?;
            let Event::Access(access) = &entry.event else { return Ok(true) };
            if access.decision != Decision::Allow || !matches!(access.action, Action::Read | Action::Export) {
                return Ok(true);
            }
            if principal.is_some_and(|p| entry.actor.id() != p) {
                return Ok(true);
            }
            if client.as_ref().is_some_and(|c| &access.request.client != c) {
                return Ok(true);
            }
            for category in &access.categories {
                if !categories.is_empty() && !categories.contains(category.as_str()) {
                    continue;
                }
                for subscriber in &access.subscribers {
                    let indexes = found.entry((subscriber.clone(), category.clone())).or_default();
                    if indexes.last() != Some(&stored.index) {
                        indexes.push(stored.index);
                    }
                }
            }
            Ok(true)
        })?;
        let items: Vec<ImpactItem> = found
            .into_iter()
            .map(|((subscriber, category), indexes)| ImpactItem { subscriber, category, indexes })
            .collect();
        let subscribers: Vec<String> = {
            let set: BTreeSet<&str> = items.iter().map(|i| i.subscriber.as_str()).collect();
            set.into_iter().map(str::to_string).collect()
        };
        let scope = ImpactScope {
            principal: principal.map(str::to_string),
            token: query.token.clone(),
            categories: categories.iter().map(|c| c.to_string()).collect(),
            since: query.since,
            until: query.until,
        };
        let entry = AdminEntry::new(AdminAction::IncidentImpactComputed, subject(id.as_str()))
            .digest(impact_digest(&items))
            .detail("number", number)
            .detail("tree_size", tree_size)
            .detail("subscribers", subscribers.len())
            .detail("items", items.len())
            .detail("reads", items.iter().map(|i| i.indexes.len()).sum::<usize>());
        let staff = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let impact = Impact {
            incident: incident.id.clone(),
            number,
            scope,
            tree_size,
            computed_by: staff,
            computed_at: now,
            audit_index,
            items,
        };
        self.stores().add_impact(&impact)?;
        let incident_after = if query.set_persons {
            let patch = IncidentPatch {
                persons: Some(Persons { count: subscribers.len() as u64, estimated: false }),
                ..IncidentPatch::default()
            };
            match self.update_incident(by, id, &patch, now) {
                Ok(view) => Some(Box::new(view)),
                // The count is already the incident's.
                Err(ActionError::BadRequest(_)) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        Ok(outcome(&impact, subscribers, incident_after))
    }

    /// The impacts computed for an incident, oldest first (the last is current).
    pub fn incident_impacts(&self, id: &IncidentId) -> ActionResult<Vec<ImpactOutcome>> {
        if self.stores().incident(id.as_str())?.is_none() {
            return Err(ActionError::NotFound(format!("incident `{id}`")));
        }
        Ok(self
            .stores()
            .impacts(id.as_str())?
            .iter()
            .map(|i| {
                let subscribers: BTreeSet<&str> = i.items.iter().map(|i| i.subscriber.as_str()).collect();
                outcome(i, subscribers.into_iter().map(str::to_string).collect(), None)
            })
            .collect())
    }

    /// The inclusion proof of ledger entry `index`, one of those behind the incident's impacts,
    /// against `checkpoint` (a signed note of this ledger, `origin`): what an auditor checks
    /// without the database.
    pub fn impact_proof(
        &self,
        id: &IncidentId,
        index: u64,
        origin: &str,
        checkpoint: &StoredCheckpoint,
    ) -> ActionResult<Proof> {
        let impacts = self.stores().impacts(id.as_str())?;
        if !impacts.iter().flat_map(|i| &i.items).any(|item| item.indexes.contains(&index)) {
            return Err(ActionError::NotFound(format!("entry {index} among the impacts of incident `{id}`")));
        }
        crate::checkpoints::inclusion_proof(
            self.ledger().as_ref(),
            origin,
            index,
            checkpoint.size,
            Some(checkpoint.note.clone()),
        )
        .map_err(|e| match e {
            crate::checkpoints::CheckpointError::Store(s) => ActionError::Store(s),
            other => ActionError::Conflict(other.to_string()),
        })
    }
}

fn outcome(impact: &Impact, subscribers: Vec<String>, incident_after: Option<Box<IncidentView>>) -> ImpactOutcome {
    let mut categories: BTreeMap<String, usize> = BTreeMap::new();
    for item in &impact.items {
        *categories.entry(item.category.clone()).or_default() += 1;
    }
    ImpactOutcome {
        incident: impact.incident.clone(),
        number: impact.number,
        scope: impact.scope.clone(),
        tree_size: impact.tree_size,
        subscribers,
        categories,
        items: impact
            .items
            .iter()
            .map(|i| ImpactItemView {
                subscriber: i.subscriber.clone(),
                category: i.category.clone(),
                count: i.indexes.len(),
                indexes: i.indexes.clone(),
            })
            .collect(),
        audit_index: impact.audit_index,
        incident_after,
    }
}
