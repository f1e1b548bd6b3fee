//! `tokutei retention run [--dry-run]`: the application layer's retention
//! (`tokutei_app::retention`: each category's rule from the policy in force, every page of
//! purges audited before it is destroyed), run by the command line, and its outcome shown.

use clap::Args;
use tokutei_app::Acting;
use tokutei_app::retention::RetentionOutcome;

use crate::audit_log::AuditLog;
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
    let audit = AuditLog::open_with_store(&data, &store)?;
    let app = crate::access::open_service(&data, &store, &audit)?;
    let now = jiff::Timestamp::now();
    let outcome = if args.dry_run { app.plan_retention(now)? } else { app.purge_expired(&Acting::Setup("cli"), now)? };
    Ok(Report::new(human(&outcome), &outcome))
}

fn human(outcome: &RetentionOutcome) -> String {
    let verb = if outcome.dry_run { "would destroy" } else { "destroyed" };
    let mut out = format!("retention (policy version {}): {verb} {} values\n", outcome.policy_version, outcome.total);
    for c in &outcome.categories {
        out.push_str(&format!("  {:<24} {:>8}\n", c.id, c.expired));
        for r in &c.sample {
            out.push_str(&format!("      {} version {}\n", r.subscriber, r.version));
        }
    }
    out
}
