//! Retention: each category's rule from the policy in force, the values it lets expire, and
//! their purge — [`App::plan_retention`] lists (nothing written), [`App::purge_expired`]
//! destroys, for `tokutei retention run` and the server's schedule alike.
//!
//! Audit first: each page of purges is a `retention_purge` entry (category, count, policy
//! version), durable before the page is destroyed; every purge record names its entry, and
//! the database refuses to delete a value version whose purge is not recorded.
//!
//! Rules: a category kept from collection expires `months` after each value was collected; one
//! kept from the contract end expires `months` after termination. After termination a category
//! that no purpose continuing after termination uses is not kept at all (legal §7.4).

use jiff::{Timestamp, ToSpan};
use serde::Serialize;
use tokutei_ledger::AdminAction;
use tokutei_policy::{Date, Policy, RetentionStart};
use tokutei_store::vault::{PurgeRule, ValueRef};

use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};

/// Values listed or purged per page (each purged page one audit entry and one transaction).
const PAGE: usize = 1000;
/// Expired values a plan names per category.
const SAMPLE: usize = 20;

/// A rule with the reason recorded for each purge it causes.
#[derive(Debug, Clone)]
pub struct Rule {
    pub rule: PurgeRule,
    pub reason: String,
}

/// The purge rules of `policy` at `now` (collection-based cutoffs) on `today`. The purpose
/// `answering` data-subject requests reads whatever is still kept after a contract ends (a
/// terminated subscriber may ask for a disclosure) but keeps nothing longer: it does not count
/// as a purpose that continues after termination.
pub fn rules(policy: &Policy, now: Timestamp, today: Date, answering: &str) -> Vec<Rule> {
    let mut out = Vec::new();
    for c in &policy.categories {
        let months = i64::from(c.retention.months);
        let continues = policy
            .purposes
            .list
            .iter()
            .any(|p| p.id != answering && p.continues_after_termination && p.categories.contains(&c.id));
        match c.retention.from {
            RetentionStart::Collection => {
                let cutoff = tokutei_policy::tokyo::months_before(now, months);
                out.push(Rule {
                    rule: PurgeRule::CollectedBefore { category: c.id.clone(), cutoff },
                    reason: format!("{}: kept {months} months from collection; collected before {cutoff}", c.id),
                });
            }
            RetentionStart::ContractEnd if continues => {
                let cutoff = today.0.checked_sub(months.months()).map(Date).unwrap_or(today);
                out.push(Rule {
                    rule: PurgeRule::ContractEndedBy { category: c.id.clone(), cutoff },
                    reason: format!("{}: kept {months} months after the contract ends; ended by {cutoff}", c.id),
                });
            }
            // Superseded by the termination rule below.
            RetentionStart::ContractEnd => {}
        }
        if !continues {
            out.push(Rule {
                rule: PurgeRule::ContractEndedBy { category: c.id.clone(), cutoff: today },
                reason: format!("{}: no purpose that continues after termination uses it; contract ended", c.id),
            });
        }
    }
    out
}

/// What a retention run found (and, unless a plan, destroyed).
#[derive(Debug, Default, Serialize)]
pub struct RetentionOutcome {
    pub policy_version: u32,
    pub dry_run: bool,
    /// Per category: how many values expired (and were destroyed unless dry run).
    pub categories: Vec<CategoryOutcome>,
    pub total: u64,
}

#[derive(Debug, Serialize)]
pub struct CategoryOutcome {
    pub id: String,
    pub expired: u64,
    pub reasons: Vec<String>,
    /// The first expired values (dry run), by key.
    pub sample: Vec<ValueRef>,
}

impl RetentionOutcome {
    fn add(&mut self, rule: Rule, count: u64, sample: Vec<ValueRef>) {
        if count == 0 {
            return;
        }
        let category = rule.rule.category().to_string();
        match self.categories.iter_mut().find(|c| c.id == category) {
            Some(c) => {
                c.expired += count;
                c.reasons.push(rule.reason);
                c.sample.extend(sample);
            }
            None => self.categories.push(CategoryOutcome {
                id: category,
                expired: count,
                reasons: vec![rule.reason],
                sample,
            }),
        }
        self.total += count;
    }
}

impl App {
    /// The policy in force on `now`'s date in Tokyo and its version number, as stored (parsed,
    /// not compiled for the gateway: retention, the import and the checks need its
    /// categories, not its decisions).
    pub fn policy_in_force(&self, now: Timestamp) -> ActionResult<(u32, Policy)> {
        let version = self
            .stores()
            .active_policy(tokutei_policy::tokyo::date_of(now))?
            .ok_or_else(|| ActionError::BadRequest("no policy version is in force; publish one first".into()))?;
        let policy = tokutei_policy::parse(&version.source)
            .map_err(|e| ActionError::Policy { version: version.number, message: e.to_string() })?;
        Ok((version.number, policy))
    }

    /// What the rules of the policy in force let expire at `now`: counts per category and the
    /// first values by key. Nothing is written.
    pub fn plan_retention(&self, now: Timestamp) -> ActionResult<RetentionOutcome> {
        let (policy_version, policy) = self.policy_in_force(now)?;
        let mut outcome = RetentionOutcome { policy_version, dry_run: true, ..RetentionOutcome::default() };
        for rule in rules(&policy, now, tokutei_policy::tokyo::date_of(now), &self.request_rules.purpose) {
            let (mut count, mut sample, mut after) = (0u64, Vec::new(), None::<ValueRef>);
            loop {
                let page = self.stores().expired_values(&rule.rule, after.as_ref(), PAGE)?;
                let Some(last) = page.last() else { break };
                after = Some(last.clone());
                count += page.len() as u64;
                sample.extend(page.into_iter().take(SAMPLE.saturating_sub(sample.len())));
            }
            outcome.add(rule, count, sample);
        }
        Ok(outcome)
    }

    /// Destroy every value the rules of the policy in force let expire at `now`: per page a
    /// `retention_purge` entry (category, count, policy version) durable first, then one
    /// transaction recording a purge per value (naming the entry) and destroying them. `by`
    /// is a manager, or the system running it (the command line, the server's schedule).
    pub fn purge_expired(&self, by: &Acting, now: Timestamp) -> ActionResult<RetentionOutcome> {
        let actor = self.authorize(by, MANAGERS, "purge expired values")?;
        let (policy_version, policy) = self.policy_in_force(now)?;
        let mut outcome = RetentionOutcome { policy_version, dry_run: false, ..RetentionOutcome::default() };
        for rule in rules(&policy, now, tokutei_policy::tokyo::date_of(now), &self.request_rules.purpose) {
            let mut count = 0u64;
            loop {
                // Purged values leave the result set, so every page starts at the beginning.
                let page = self.stores().expired_values(&rule.rule, None, PAGE)?;
                if page.is_empty() {
                    break;
                }
                let entry = AdminEntry::new(AdminAction::RetentionPurge, format!("retention/policy-v{policy_version}"))
                    .detail("category", rule.rule.category())
                    .detail("values", page.len())
                    .detail("policy_version", policy_version);
                let index = self.audit_admin(actor.clone(), entry, now)?;
                let destroyed = self.stores().purge_values(&page, &rule.reason, policy_version, now, Some(index))?;
                count += destroyed;
                if destroyed == 0 {
                    // Nothing left the result set: another page would only repeat this one.
                    break;
                }
            }
            outcome.add(rule, count, Vec::new());
        }
        Ok(outcome)
    }
}
