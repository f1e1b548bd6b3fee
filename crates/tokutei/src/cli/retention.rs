//! `tokutei retention run [--dry-run]`: apply each category's retention rule from the active
//! policy, destroy expired values and record every purge.
//!
//! Audit first: each page of purges is a `retention_purge` entry (category, count, policy
//! version), durable before the page is destroyed; every purge record names its entry, and
//! the database refuses to delete a value version whose purge is not recorded.
//!
//! Rules: a category kept from collection expires `months` after each value was collected; one
//! kept from the contract end expires `months` after termination. After termination a category
//! that no purpose continuing after termination uses is not kept at all (legal §7.4).

use clap::Args;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;
use tokutei_ledger::{Actor, AdminAction};
use tokutei_policy::{Date, Policy, RetentionStart};
use tokutei_store::vault::{PurgeRule, ValueRef, VaultStore};

use crate::audit_log::AuditLog;
use crate::backend::Store;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// List what would be destroyed, destroy nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// Apply the active policy's retention rules now.
    Run(RetentionArgs),
}

pub fn run(global: &GlobalArgs, cmd: RetentionCommand) -> anyhow::Result<Report> {
    let RetentionCommand::Run(args) = cmd;
    let data = global.data_dir();
    let store = data.open_store()?;
    let outcome = if args.dry_run {
        let (version, policy) = crate::cli::subscribers::active_policy(&*store)?;
        apply(&*store, &policy, version, Timestamp::now(), tokutei_policy::tokyo::today(), None)?
    } else {
        let audit = AuditLog::open_with_store(&data, &store)?;
        apply_and_record(&*store, &audit, "cli")?
    };
    Ok(Report::new(outcome.human(args.dry_run), &outcome))
}

/// Apply the active policy's retention rules now, each page of purges audited in the ledger
/// before it is destroyed (category and count, never values). Used by `retention run` and the
/// server's schedule.
pub fn apply_and_record(store: &dyn Store, audit: &AuditLog, by: &str) -> anyhow::Result<Outcome> {
    let (version, policy) = crate::cli::subscribers::active_policy(store)?;
    apply(store, &policy, version, Timestamp::now(), tokutei_policy::tokyo::today(), Some((audit, by)))
}

/// A rule with the reason recorded for each purge it causes.
#[derive(Debug, Clone)]
pub struct Rule {
    pub rule: PurgeRule,
    pub reason: String,
}

/// The purge rules of `policy` on `today` (`now` for collection-based cutoffs).
pub fn rules(policy: &Policy, now: Timestamp, today: Date) -> Vec<Rule> {
    let mut out = Vec::new();
    for c in &policy.categories {
        let months = i64::from(c.retention.months);
        let continues =
            policy.purposes.list.iter().any(|p| p.continues_after_termination && p.categories.contains(&c.id));
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

#[derive(Debug, Default, Serialize)]
pub struct Outcome {
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

impl Outcome {
    fn human(&self, dry_run: bool) -> String {
        let verb = if dry_run { "would destroy" } else { "destroyed" };
        let mut out = format!("retention (policy version {}): {verb} {} values\n", self.policy_version, self.total);
        for c in &self.categories {
            out.push_str(&format!("  {:<24} {:>8}\n", c.id, c.expired));
            for r in &c.sample {
                out.push_str(&format!("      {} version {}\n", r.subscriber, r.version));
            }
        }
        out
    }
}

/// Apply every rule, auditing each page in `audit` (with the acting system's name) before
/// destroying it; without `audit`, a dry run that only lists. Each page of purges is one
/// transaction with one purge record per value.
pub fn apply(
    store: &(impl VaultStore + ?Sized),
    policy: &Policy,
    policy_version: u32,
    now: Timestamp,
    today: Date,
    audit: Option<(&AuditLog, &str)>,
) -> anyhow::Result<Outcome> {
    const PAGE: usize = 1000;
    let dry_run = audit.is_none();
    let mut outcome = Outcome { policy_version, dry_run, ..Outcome::default() };
    for rule in rules(policy, now, today) {
        let mut count = 0u64;
        let mut sample = Vec::new();
        let mut after: Option<ValueRef> = None;
        loop {
            let page = store.expired_values(&rule.rule, after.as_ref(), PAGE)?;
            let Some(last) = page.last() else { break };
            match audit {
                None => {
                    after = Some(last.clone());
                    count += page.len() as u64;
                    sample.extend(page.into_iter().take(20usize.saturating_sub(sample.len())));
                }
                Some((audit, by)) => {
                    let entry = audit.append_admin(
                        Actor::System(by.to_string()),
                        AdminAction::RetentionPurge,
                        &format!("retention/policy-v{policy_version}"),
                        None,
                        vec![
                            ("category".to_string(), rule.rule.category().to_string()),
                            ("values".to_string(), page.len().to_string()),
                            ("policy_version".to_string(), policy_version.to_string()),
                        ],
                    )?;
                    // Purged values leave the result set, so the next page starts at the beginning.
                    count += store.purge_values(&page, &rule.reason, policy_version, now, Some(entry.index))?;
                }
            }
        }
        if count == 0 {
            continue;
        }
        let category = rule.rule.category().to_string();
        match outcome.categories.iter_mut().find(|c| c.id == category) {
            Some(c) => {
                c.expired += count;
                c.reasons.push(rule.reason);
                c.sample.extend(sample);
            }
            None => outcome.categories.push(CategoryOutcome {
                id: category,
                expired: count,
                reasons: vec![rule.reason],
                sample,
            }),
        }
        outcome.total += count;
    }
    Ok(outcome)
}
