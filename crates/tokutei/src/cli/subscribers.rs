//! `tokutei subscribers …`: the bulk import into the vault (`docs/import-format.md`; the
//! import itself is `tokutei_app::import`, shown here with a progress bar), listing,
//! integrity verification, blind-index search and erasure (crypto-shredding).
//!
//! `verify` decrypts every value, then checks the vault and the consent records against the
//! ledger entries that wrote them (`ledger_check`).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use jiff::Timestamp;
use serde::Serialize;
use tokutei_app::import::{ImportProgress, ImportSummary, ImportTarget, import};
use tokutei_ledger::Actor;
use tokutei_policy::Policy;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::vault::ContractState;

use self::ledger_check::Failure;
use crate::backend::Store;
use crate::cli::GlobalArgs;
use crate::keyring::{self, Keyring};
use crate::output::Report;

mod ledger_check;

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
    /// Find subscribers by a searchable field through its blind index.
    Find {
        /// The category id, e.g. `contract.phone`.
        #[arg(long)]
        category: String,
        /// The value as typed (全角/半角, hyphens and case do not matter).
        value: String,
    },
    /// Erase a subscriber: destroy its data key so its values can never be decrypted again.
    Erase {
        #[arg(long)]
        subscriber: String,
    },
}

pub fn run(global: &GlobalArgs, cmd: SubscribersCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    match cmd {
        SubscribersCommand::Import { csv_file } => {
            let keyring = Keyring::open_or_create(&data)?;
            let (version, policy) = active_policy(&*store)?;
            let ledger = store.ledger()?;
            let target =
                ImportTarget { store: &*store, ledger: &*ledger, keys: &keyring, actor: Actor::System("cli".into()) };
            let summary = import_file(&target, &policy, version, &csv_file, !global.json)?;
            Ok(Report::new(summary_human(&summary), &summary))
        }
        SubscribersCommand::List { limit, after } => list(&*store, after.as_deref(), limit),
        SubscribersCommand::Verify { subscriber } => {
            let ledger = store.ledger()?;
            verify(&*store, &*ledger, &Keyring::open(&data)?, subscriber.as_deref())
        }
        SubscribersCommand::Find { category, value } => find(&*store, &Keyring::open(&data)?, &category, &value),
        SubscribersCommand::Erase { subscriber } => erase(&data, &store, &subscriber),
    }
}

/// The active policy and its version number.
pub fn active_policy(store: &dyn Store) -> anyhow::Result<(u32, Policy)> {
    let Some(version) = store.active_policy(tokutei_policy::tokyo::today())? else {
        bail!("no policy version is in force; publish one with `tokutei policy publish`");
    };
    let policy = tokutei_policy::parse(&version.source)
        .map_err(|e| anyhow::anyhow!("stored policy version {} does not parse: {e}", version.number))?;
    Ok((version.number, policy))
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
pub fn import_file(
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
    with_progress_bar(progress, |on_progress| {
        import(target, policy, policy_version, open, on_progress).map_err(anyhow::Error::from)
    })
    .with_context(|| format!("import of `{}` failed", file.display()))
}

/// Run an import with an `indicatif` bar on stderr (drawn only when stderr is a terminal).
pub fn with_progress_bar<T>(
    visible: bool,
    run: impl FnOnce(&mut dyn FnMut(ImportProgress)) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let bar = if visible {
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "importing [{bar:40}] {human_pos}/{human_len} rows  {per_sec}  ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = run(&mut |event| match event {
        ImportProgress::Validated { rows } => bar.set_length(rows),
        ImportProgress::Rows(n) => bar.set_position(n),
        ImportProgress::Batch(b) => bar.set_message(format!("batch {} {:?}", b.batch, b.state)),
    });
    bar.finish_and_clear();
    result
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

fn verify(
    store: &dyn Store,
    ledger: &dyn LedgerStore,
    keyring: &Keyring,
    only: Option<&str>,
) -> anyhow::Result<Report> {
    let policy = active_policy(store).ok().map(|(_, p)| p);
    let mut against = ledger_check::LedgerCheck::new(store, ledger, policy.as_ref(), only)?;
    let mut failures: Vec<Failure> = Vec::new();
    let (mut subscribers, mut readable, mut erased_values, mut erased) = (0u64, 0u64, 0u64, 0u64);
    let mut check = |id: &str| -> anyhow::Result<()> {
        subscribers += 1;
        against.check_subscriber(id)?;
        let opened = match keyring::open_values(store, keyring, id, true) {
            Ok(o) => o,
            Err(e) => {
                failures.push(Failure {
                    id: format!("{id}/*"),
                    subscriber: id.to_string(),
                    category: "*".into(),
                    version: 0,
                    audit_index: None,
                    reason: format!("{e:#}"),
                });
                return Ok(());
            }
        };
        readable += opened.values.len() as u64;
        if opened.erased {
            erased += 1;
            erased_values += opened.unreadable.len() as u64;
            return Ok(());
        }
        for u in opened.unreadable {
            failures.push(Failure {
                id: format!("{id}/{}/{}", u.category, u.version),
                subscriber: id.to_string(),
                category: u.category,
                version: u.version,
                audit_index: None,
                reason: u.reason,
            });
        }
        Ok(())
    };
    match only {
        Some(id) => {
            if store.subscriber(id)?.is_none() {
                bail!("subscriber `{id}` not found");
            }
            check(id)?;
        }
        None => {
            let mut after: Option<String> = None;
            loop {
                let page = store.subscribers(after.as_deref(), 1000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                for s in &page {
                    check(&s.id)?;
                }
            }
        }
    }
    let (ledger_failures, coverage) = against.finish()?;
    failures.extend(ledger_failures);
    let mut human = format!(
        "checked {subscribers} subscribers: {readable} values decrypt and authenticate; {erased} erased subscribers ({erased_values} values unrecoverable by design)\n\
         checked against the audit ledger: {} import batches, {} written versions, {} consent records, {} purge records ({} from before audit links)\n",
        coverage.import_batches,
        coverage.written_versions,
        coverage.consent_records,
        coverage.purge_records,
        coverage.unlinked
    );
    for f in &failures {
        match f.audit_index {
            Some(index) => human.push_str(&format!("FAILED {} (ledger entry {index}): {}\n", f.id, f.reason)),
            None => human.push_str(&format!(
                "FAILED {} version {} of `{}`: {}\n",
                f.category, f.version, f.subscriber, f.reason
            )),
        }
    }
    let ok = failures.is_empty();
    Ok(Report::new(
        human,
        serde_json::json!({
            "ok": ok, "subscribers": subscribers, "readable": readable, "erased_subscribers": erased,
            "erased_values": erased_values, "ledger": coverage, "failures": failures,
        }),
    )
    .passed_if(ok))
}

fn find(store: &dyn Store, keyring: &Keyring, category: &str, value: &str) -> anyhow::Result<Report> {
    let (_, policy) = active_policy(store)?;
    match policy.category(category) {
        Some(c) if c.searchable => {}
        Some(_) => bail!("category `{category}` is not searchable in the active policy"),
        None => bail!("category `{category}` is not in the active policy"),
    }
    let Some(token) = keyring.blind().token(category, value) else {
        bail!("nothing to search for once spaces and hyphens are removed");
    };
    let ids = store.find_by_blind_index(category, &token.0)?;
    let mut human = format!("{} subscribers match\n", ids.len());
    for id in &ids {
        human.push_str(&format!("  {id}\n"));
    }
    let rows: Vec<_> = ids.iter().map(|id| serde_json::json!({ "id": id })).collect();
    Ok(Report::new(human, rows))
}

fn erase(data: &crate::data_dir::DataDir, store: &crate::backend::Database, id: &str) -> anyhow::Result<Report> {
    let at = Timestamp::now();
    let audit = crate::audit_log::AuditLog::open_with_store(data, store)?;
    // Audit first (`App::erase_subscriber`): the ledger keeps the subscriber's id
    // only, and still verifies after the key is gone.
    let subscriber = tokutei_app::SubscriberId::parse(id)?;
    crate::access::open_service(data, store, &audit)?.erase_subscriber(Actor::System("cli".into()), &subscriber, at)?;
    Ok(Report::new(
        format!("erased subscriber `{id}`: its data key is destroyed and its values can no longer be decrypted\n"),
        serde_json::json!({ "id": id, "erased_at": at.to_string() }),
    ))
}
