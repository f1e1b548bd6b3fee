//! `tokutei subscribers …`: the bulk import into the vault (`docs/import-format.md`; the
//! import itself is `tokutei_app::import`, shown here with a progress bar), listing,
//! integrity verification (`tokutei_app::verify`: every value decrypted, and the vault, the
//! consent, import and purge records checked against the ledger; presented here),
//! blind-index search and erasure (crypto-shredding).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use jiff::Timestamp;
use serde::Serialize;
use tokutei_app::import::{ImportSummary, ImportTarget, import};
use tokutei_app::verify::VaultReport;
use tokutei_app::{Acting, SubscriberId};
use tokutei_ledger::Actor;
use tokutei_policy::Policy;
use tokutei_store::vault::ContractState;

use crate::audit_log::AuditLog;
use crate::backend::Store;
use crate::cli::GlobalArgs;
use crate::keyring::Keyring;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Import subscribers and their values from a CSV file (see docs/import-format.md).
    Import {
        /// The CSV file (UTF-8).
        csv_file: PathBuf,
    },
    /// List subscribers (ids, service, contract state; never values).
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this subscriber id.
        #[arg(long)]
        after: Option<String>,
    },
    /// Decrypt every stored value and report any that does not authenticate (no values are shown).
    Verify {
        /// Only this subscriber.
        #[arg(long)]
        subscriber: Option<String>,
    },
    /// Find subscribers by a searchable field through its blind index (audited: who looked,
    /// the category and the ids found; never the value).
    Find {
        /// The category id, e.g. `contract.phone`.
        #[arg(long)]
        category: String,
        /// The value as typed (全角/半角, hyphens and case do not matter).
        value: String,
        /// Who looks: a chief manager or responsible person of the staff registry.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
    /// Erase a subscriber: destroy its data key so its values can never be decrypted again.
    Erase {
        #[arg(long)]
        subscriber: String,
        /// Who erases: a chief manager or responsible person of the staff registry.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
}

pub fn run(global: &GlobalArgs, cmd: SubscribersCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    let now = Timestamp::now();
    match cmd {
        SubscribersCommand::Import { csv_file } => {
            let keyring = Keyring::open_or_create(&data)?;
            let app = crate::access::open_service(&data, &store, &audit)?;
            let (version, policy) = app.policy_in_force(now)?;
            let ledger = store.ledger()?;
            let target =
                ImportTarget { store: &*store, ledger: &*ledger, keys: &keyring, actor: Actor::System("cli".into()) };
            let summary = import_file(&target, &policy, version, &csv_file, !global.json)?;
            Ok(Report::new(summary_human(&summary), &summary))
        }
        SubscribersCommand::List { limit, after } => list(&*store, after.as_deref(), limit),
        SubscribersCommand::Verify { subscriber } => {
            let only = subscriber.map(SubscriberId::parse).transpose()?;
            // Verification needs the keys that exist; it never creates any.
            Keyring::open(&data)?;
            let app = crate::access::open_service(&data, &store, &audit)?;
            Ok(verify_report(&app.verify_vault(only.as_ref(), now)?))
        }
        SubscribersCommand::Find { category, value, by } => {
            let category = tokutei_app::CategoryId::parse(category)?;
            Keyring::open(&data)?;
            let app = crate::access::open_service(&data, &store, &audit)?;
            let ids = app.find_subscribers(&Acting::Person(by), &category, &value, now)?;
            let mut human = format!("{} subscribers match\n", ids.len());
            for id in &ids {
                human.push_str(&format!("  {id}\n"));
            }
            let rows: Vec<_> = ids.iter().map(|id| serde_json::json!({ "id": id })).collect();
            Ok(Report::new(human, rows))
        }
        SubscribersCommand::Erase { subscriber, by } => {
            let subscriber = SubscriberId::parse(subscriber)?;
            // Audit first (`App::erase_subscriber`): the ledger keeps the subscriber's id
            // only, and still verifies after the key is gone.
            let app = crate::access::open_service(&data, &store, &audit)?;
            app.erase_subscriber(&Acting::Person(by), &subscriber, now)?;
            Ok(Report::new(
                format!(
                    "erased subscriber `{subscriber}`: its data key is destroyed and its values can no longer be decrypted\n"
                ),
                serde_json::json!({ "id": subscriber, "erased_at": now.to_string() }),
            ))
        }
    }
}

/// What an import did, for a person.
fn summary_human(s: &ImportSummary) -> String {
    let rate = if s.seconds > 0.0 { s.rows as f64 / s.seconds } else { 0.0 };
    let mut out = format!(
        "imported {} rows: {} subscribers, {} values in {} batches ({} already imported, skipped) in {:.1}s ({:.0} rows/s)\n",
        s.rows, s.subscribers, s.values, s.batches_applied, s.batches_skipped, s.seconds, rate
    );
    if let (Some(first), Some(last)) =
        (s.batches.iter().filter_map(|b| b.audit_index).min(), s.batches.iter().filter_map(|b| b.audit_index).max())
    {
        out.push_str(&format!("audit entries of the batches: {first}–{last}\n"));
    }
    out
}

/// Import a CSV file, with a progress bar on stderr when `progress`.
fn import_file(
    target: &ImportTarget<'_>,
    policy: &Policy,
    policy_version: u32,
    file: &Path,
    progress: bool,
) -> anyhow::Result<ImportSummary> {
    let open = || -> std::io::Result<Box<dyn Read>> {
        let f = std::fs::File::open(file)
            .map_err(|e| std::io::Error::new(e.kind(), format!("`{}`: {e}", file.display())))?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
    };
    crate::progress::with_import_bar(progress, |on_progress| {
        import(target, policy, policy_version, open, on_progress).map_err(anyhow::Error::from)
    })
    .with_context(|| format!("import of `{}` failed", file.display()))
}

#[derive(Debug, Serialize)]
struct SubscriberRow {
    id: String,
    service: String,
    state: ContractState,
    started_on: String,
    suspended_on: Option<String>,
    terminated_on: Option<String>,
    erased_at: Option<String>,
}

fn list(store: &dyn Store, after: Option<&str>, limit: usize) -> anyhow::Result<Report> {
    let subscribers = store.subscribers(after, limit)?;
    let total = store.subscriber_count()?;
    let mut human = format!("{} of {total} subscribers\n", subscribers.len());
    let rows: Vec<SubscriberRow> = subscribers
        .into_iter()
        .map(|s| SubscriberRow {
            id: s.id,
            service: s.service,
            state: s.contract.state,
            started_on: s.contract.started_on.to_string(),
            suspended_on: s.contract.suspended_on.map(|d| d.to_string()),
            terminated_on: s.contract.terminated_on.map(|d| d.to_string()),
            erased_at: s.erased_at.map(|t| t.to_string()),
        })
        .collect();
    for r in &rows {
        human.push_str(&format!(
            "  {:<14} {:<10} {:<10} since {}{}{}\n",
            r.id,
            r.service,
            r.state.id(),
            r.started_on,
            r.terminated_on.as_ref().map(|d| format!(", ended {d}")).unwrap_or_default(),
            if r.erased_at.is_some() { ", erased" } else { "" }
        ));
    }
    Ok(Report::new(human, rows))
}

/// The verification's findings, for a person and as JSON; exit 1 when anything failed.
fn verify_report(report: &VaultReport) -> Report {
    let coverage = &report.ledger;
    let mut human = format!(
        "checked {} subscribers: {} values decrypt and authenticate; {} erased subscribers ({} values unrecoverable by design)\n\
         checked against the audit ledger: {} import batches, {} written versions, {} consent records, {} purge records ({} from before audit links)\n",
        report.subscribers,
        report.readable,
        report.erased_subscribers,
        report.erased_values,
        coverage.import_batches,
        coverage.written_versions,
        coverage.consent_records,
        coverage.purge_records,
        coverage.unlinked
    );
    for f in &report.failures {
        match f.audit_index {
            Some(index) => human.push_str(&format!("FAILED {} (ledger entry {index}): {}\n", f.id, f.reason)),
            None => human.push_str(&format!(
                "FAILED {} version {} of `{}`: {}\n",
                f.category, f.version, f.subscriber, f.reason
            )),
        }
    }
    let ok = report.ok();
    Report::new(
        human,
        serde_json::json!({
            "ok": ok, "subscribers": report.subscribers, "readable": report.readable,
            "erased_subscribers": report.erased_subscribers, "erased_values": report.erased_values,
            "ledger": coverage, "failures": report.failures,
        }),
    )
    .passed_if(ok)
}
