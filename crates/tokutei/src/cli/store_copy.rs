//! `tokutei migrate-store --from … --to …`: copy a whole deployment between backends
//! (SQLite ⇄ PostgreSQL) into an empty database, and prove the audit ledger came across
//! intact: its size, root hash and latest signed checkpoint are printed before and after and
//! must match, and the copy is verified in full (every leaf, node and checkpoint signature)
//! with the deployment's checkpoint key when the data directory has it.
//!
//! Also the ledger checks `backup` and `restore` share: [`LedgerHead`] and [`Verified`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use tokutei_ledger::{CheckpointSigner, CheckpointVerifier};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::snapshot::{self, CopyError, Deployment, SnapshotStore};
use tokutei_store_postgres::{PgLedger, PgStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

use super::GlobalArgs;
use crate::audit_log::KEY_FILE;
use crate::data_dir::{DATABASE_FILE, DataDir, read_secret_file};
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

/// One open end of a copy.
pub(crate) enum Opened {
    Sqlite(Arc<SqliteStore>, SqliteLedger),
    Postgres(Arc<PgStore>, PgLedger),
}

impl Opened {
    pub(crate) fn sqlite(file: &Path) -> anyhow::Result<Opened> {
        let store = Arc::new(
            SqliteStore::open(file).with_context(|| format!("cannot open the database `{}`", file.display()))?,
        );
        let ledger = SqliteLedger::open(Arc::clone(&store)).context("cannot open the audit ledger")?;
        Ok(Opened::Sqlite(store, ledger))
    }

    fn open(spec: &StoreSpec, must_exist: bool) -> anyhow::Result<Opened> {
        match spec {
            StoreSpec::Sqlite(path) => {
                let file = sqlite_file(path);
                if must_exist && !file.is_file() {
                    bail!("there is no database at `{}`", file.display());
                }
                Opened::sqlite(&file)
            }
            StoreSpec::Postgres(url) => {
                let store = Arc::new(PgStore::connect(url).map_err(|e| anyhow::anyhow!("PostgreSQL: {e}"))?);
                let ledger = PgLedger::open(Arc::clone(&store)).context("cannot open the audit ledger")?;
                Ok(Opened::Postgres(store, ledger))
            }
        }
    }

    pub(crate) fn tables(&self) -> &dyn SnapshotStore {
        match self {
            Opened::Sqlite(store, _) => store.as_ref(),
            Opened::Postgres(store, _) => store.as_ref(),
        }
    }

    pub(crate) fn ledger(&self) -> &dyn LedgerStore {
        match self {
            Opened::Sqlite(_, ledger) => ledger,
            Opened::Postgres(_, ledger) => ledger,
        }
    }

    fn deployment(&self) -> Deployment<'_> {
        Deployment { tables: self.tables(), ledger: self.ledger() }
    }
}

/// What identifies a ledger's state: size, root hash and the latest signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LedgerHead {
    pub size: u64,
    pub root: String,
    /// The latest checkpoint's id, size and signed note.
    pub checkpoint: Option<(u64, u64, String)>,
}

impl LedgerHead {
    pub(crate) fn of(ledger: &dyn LedgerStore) -> anyhow::Result<LedgerHead> {
        let size = ledger.tree_size()?;
        let head = ledger.tree_head_at(size)?;
        let checkpoint = ledger.latest_checkpoint()?.map(|c| (c.id, c.size, c.note));
        Ok(LedgerHead { size, root: hex::encode(head.root), checkpoint })
    }

    pub(crate) fn describe(&self) -> String {
        let checkpoint = match &self.checkpoint {
            Some((id, size, note)) => {
                let signature = note.lines().last().unwrap_or_default();
                format!("checkpoint {id} at size {size} ({signature})")
            }
            None => "no checkpoint".to_owned(),
        };
        format!("{} entries, root {}, {checkpoint}", self.size, self.root)
    }
}

/// The deployment's checkpoint key, to check signatures with; `None` when the data directory
/// has none (never created here).
pub(crate) fn checkpoint_verifier(data: &DataDir) -> anyhow::Result<Option<CheckpointVerifier>> {
    let path = data.keys_dir().join(KEY_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = String::from_utf8(read_secret_file(&path)?)
        .with_context(|| format!("key file `{}` is damaged", path.display()))?;
    let signer = CheckpointSigner::parse(&text)
        .with_context(|| format!("key file `{}` is not a checkpoint signing key", path.display()))?;
    Ok(Some(signer.verifier()))
}

/// The outcome of a full verification, for reports.
#[derive(Debug, Serialize)]
pub(crate) struct Verified {
    pub ok: bool,
    /// False when the data directory has no checkpoint key (signatures not checked).
    pub checked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Verified {
    /// Verify `ledger` with the data directory's key, if it has one.
    pub(crate) fn run(data: &DataDir, ledger: &dyn LedgerStore) -> anyhow::Result<Verified> {
        let Some(verifier) = checkpoint_verifier(data)? else {
            return Ok(Verified { ok: true, checked: false, failure: None });
        };
        Ok(match tokutei_store::ledger::verify_ledger(ledger, &verifier, verifier.name(), None, &mut |_| {})? {
            Ok(_) => Verified { ok: true, checked: true, failure: None },
            Err(f) => Verified { ok: false, checked: true, failure: Some(f.to_string()) },
        })
    }

    pub(crate) fn describe(&self, data: &DataDir) -> String {
        match (&self.failure, self.checked) {
            (Some(f), _) => format!("audit ledger is damaged: {f}"),
            (None, true) => {
                "audit ledger verified (every entry, tree node, index row and checkpoint signature)".to_owned()
            }
            (None, false) => format!(
                "checkpoint signatures not checked: no checkpoint key in `{}` (pass `--data DIR`)",
                data.root().display()
            ),
        }
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
    let from = Opened::open(&args.from, true)?;
    let to = Opened::open(&args.to, false)?;
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
    let mut human = format!("source ledger:      {}\n", report.before.describe());
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
        human.push_str(&format!("destination ledger: {}\n", after.describe()));
        if after != report.before {
            report.mismatch = Some("the destination's ledger differs from the source's".into());
        }
        report.after = Some(after);
    }
    if report.mismatch.is_none() {
        let verified = Verified::run(&data, to.ledger())?;
        human.push_str(&verified.describe(&data));
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
