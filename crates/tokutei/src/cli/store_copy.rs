//! `tokutei migrate-store --from … --to …`: copy a whole deployment between backends
//! (SQLite ⇄ PostgreSQL) into an empty database, and prove the audit ledger came across
//! intact: its size, root hash and latest signed checkpoint are printed before and after and
//! must match, and the copy is verified in full (every leaf, node and checkpoint signature)
//! with the deployment's checkpoint key when the data directory has it.
//!
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;
use serde::Serialize;
use tokutei_app::checkpoints::{LedgerHead, Verified};
use tokutei_store::snapshot::{self, CopyError};

use super::GlobalArgs;
use crate::copying::{self, Opened, describe_head, describe_verified};
use crate::data_dir::DATABASE_FILE;
use crate::output::Report;

#[derive(Debug, Args)]
pub struct MigrateStoreArgs {
    /// Where the deployment is now: `sqlite:PATH` (the database file or the data directory)
    /// or a `postgres://…` URL.
    #[arg(long, value_name = "STORE")]
    from: StoreSpec,
    /// Where it goes: an empty database (`sqlite:PATH` is created if missing) of the same
    /// schema version; anything else is refused.
    #[arg(long, value_name = "STORE")]
    to: StoreSpec,
}

/// A backend named on the command line. The URL may hold a password: never printed.
#[derive(Clone)]
pub enum StoreSpec {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::str::FromStr for StoreSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<StoreSpec, String> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("`sqlite:` needs a path, e.g. `sqlite:./tokutei-data`".into());
            }
            return Ok(StoreSpec::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(StoreSpec::Postgres(s.to_owned()));
        }
        Err("expected `sqlite:PATH` or a `postgres://…` URL".into())
    }
}

impl StoreSpec {
    /// How it is shown: the backend and, for SQLite, the file (never a URL).
    fn describe(&self) -> String {
        match self {
            StoreSpec::Sqlite(path) => format!("sqlite:{}", path.display()),
            StoreSpec::Postgres(_) => "postgresql".to_owned(),
        }
    }
}

/// A directory means the data directory's database file.
fn sqlite_file(path: &Path) -> PathBuf {
    if path.is_dir() { path.join(DATABASE_FILE) } else { path.to_path_buf() }
}

/// Open one end of the copy; the source must exist.
fn open(spec: &StoreSpec, must_exist: bool) -> anyhow::Result<Opened> {
    match spec {
        StoreSpec::Sqlite(path) => {
            let file = sqlite_file(path);
            if must_exist && !file.is_file() {
                bail!("there is no database at `{}`", file.display());
            }
            Opened::sqlite(&file)
        }
        StoreSpec::Postgres(url) => Opened::postgres(url),
    }
}

#[derive(Debug, Serialize)]
struct Migrated {
    from: String,
    to: String,
    ok: bool,
    before: LedgerHead,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<LedgerHead>,
    tables: Vec<(String, u64)>,
    ledger_entries: u64,
    checkpoints: u64,
    verification: Option<Verified>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mismatch: Option<String>,
}

pub fn run(global: &GlobalArgs, args: MigrateStoreArgs) -> anyhow::Result<Report> {
    if let (StoreSpec::Sqlite(a), StoreSpec::Sqlite(b)) = (&args.from, &args.to)
        && sqlite_file(a) == sqlite_file(b)
    {
        bail!("`--from` and `--to` name the same database");
    }
    let data = global.data_dir();
    let from = open(&args.from, true)?;
    let to = open(&args.to, false)?;
    let before = LedgerHead::of(from.ledger())?;
    let mut report = Migrated {
        from: args.from.describe(),
        to: args.to.describe(),
        ok: false,
        before,
        after: None,
        tables: Vec::new(),
        ledger_entries: 0,
        checkpoints: 0,
        verification: None,
        mismatch: None,
    };
    let mut human = format!("source ledger:      {}\n", describe_head(&report.before));
    match snapshot::copy(from.deployment(), to.deployment()) {
        Ok(summary) => {
            human.push_str(&format!(
                "copied {} rows in {} tables, {} ledger entries, {} checkpoints\n",
                summary.rows(),
                summary.tables.len(),
                summary.ledger_entries,
                summary.checkpoints
            ));
            report.tables = summary.tables;
            report.ledger_entries = summary.ledger_entries;
            report.checkpoints = summary.checkpoints;
        }
        Err(e @ (CopyError::NotEmpty { .. } | CopyError::SchemaDiffers(_))) => {
            return Err(anyhow::Error::new(e).context(format!("cannot copy into {}", args.to.describe())));
        }
        Err(e) => report.mismatch = Some(e.to_string()),
    }
    if report.mismatch.is_none() {
        let after = LedgerHead::of(to.ledger())?;
        human.push_str(&format!("destination ledger: {}\n", describe_head(&after)));
        if after != report.before {
            report.mismatch = Some("the destination's ledger differs from the source's".into());
        }
        report.after = Some(after);
    }
    if report.mismatch.is_none() {
        let verified = copying::verify(&data, to.ledger())?;
        human.push_str(&describe_verified(&verified, &data));
        human.push('\n');
        if !verified.ok {
            report.mismatch = Some("the copied ledger does not verify".into());
        }
        report.verification = Some(verified);
    }
    report.ok = report.mismatch.is_none();
    match &report.mismatch {
        None => human.push_str(&format!("deployment copied from {} to {}\n", report.from, report.to)),
        Some(m) => human.push_str(&format!("copy failed: {m}\n")),
    }
    let ok = report.ok;
    Ok(Report::new(human, report).passed_if(ok))
}
