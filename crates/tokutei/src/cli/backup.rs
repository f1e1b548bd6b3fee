//! `tokutei backup --to FILE` and `tokutei restore --from FILE [--force]`: the embedded
//! SQLite database as one file, taken online (SQLite's backup API: one consistent point in
//! time while `serve` keeps writing), and put back. Each verifies the audit ledger of what it
//! wrote with the data directory's checkpoint key; a restore verifies a staged copy of the
//! backup first, so a damaged backup never replaces the database.
//!
//! Keys are files in the data directory, not in the database: a backup does not hold them,
//! and a restore needs them in place first. PostgreSQL deployments use `pg_dump -Fc` and
//! `pg_restore` (docs/operations.md).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use tokutei_store::snapshot::{self, CopyError};
use tokutei_store_sqlite::SqliteStore;

use tokutei_app::checkpoints::{LedgerHead, Verified};

use super::GlobalArgs;
use crate::audit_log::{AuditLog, KEY_FILE, checkpoint_verifier};
use crate::copying::{self, Opened, describe_head, describe_verified};
use crate::data_dir::{DataDir, copy_private};
use crate::output::Report;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `tokutei backup`.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Replace a database that already holds data.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Serialize)]
struct Outcome {
    file: String,
    bytes: u64,
    ledger: LedgerHead,
    verification: Verified,
}

const POSTGRES_HINT: &str = "for PostgreSQL use `pg_dump -Fc` and `pg_restore` (see docs/operations.md)";

fn refuse_postgres(global: &GlobalArgs, command: &str) -> anyhow::Result<()> {
    if global.database_url.is_some() {
        bail!("`tokutei {command}` copies the embedded SQLite database; {POSTGRES_HINT}");
    }
    Ok(())
}

fn finish(data: &DataDir, opened: &Opened, file: String, bytes: u64, what: &str) -> anyhow::Result<Report> {
    let ledger = LedgerHead::of(opened.ledger())?;
    let verification = copying::verify(data, opened.ledger())?;
    let human = format!(
        "{what} `{file}` ({bytes} bytes)\nledger: {}\n{}\n",
        describe_head(&ledger),
        describe_verified(&verification, data)
    );
    let ok = verification.ok;
    Ok(Report::new(human, Outcome { file, bytes, ledger, verification }).passed_if(ok))
}

pub fn backup(global: &GlobalArgs, args: BackupArgs) -> anyhow::Result<Report> {
    refuse_postgres(global, "backup")?;
    let data = global.data_dir();
    if args.to.exists() {
        bail!("`{}` exists; a backup never overwrites a file", args.to.display());
    }
    if !data.is_initialised() {
        bail!("data directory `{}` is not initialised; there is nothing to back up", data.root().display());
    }
    let store = SqliteStore::open(&data.database_path())
        .with_context(|| format!("cannot open the database in `{}`", data.root().display()))?;
    // Written beside the target and renamed once verified: a half-written or damaged backup
    // never has the name asked for.
    let partial = args.to.with_extension("partial");
    if partial.exists() {
        bail!("`{}` exists (left by an interrupted backup?); remove it first", partial.display());
    }
    let result = (|| -> anyhow::Result<Report> {
        store.backup_to(&partial).with_context(|| format!("cannot write the backup `{}`", partial.display()))?;
        drop(store);
        let report = {
            let opened = Opened::sqlite(&partial)?;
            let bytes = std::fs::metadata(&partial)?.len();
            finish(&data, &opened, args.to.display().to_string(), bytes, "backup written to")?
        };
        if report.passed {
            std::fs::rename(&partial, &args.to)
                .with_context(|| format!("cannot rename the backup to `{}`", args.to.display()))?;
        }
        Ok(report)
    })();
    if !matches!(&result, Ok(r) if r.passed) {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

pub fn restore(global: &GlobalArgs, args: RestoreArgs) -> anyhow::Result<Report> {
    refuse_postgres(global, "restore")?;
    let data = global.data_dir();
    if !args.from.is_file() {
        bail!("there is no backup file `{}`", args.from.display());
    }
    tokutei_store_sqlite::check_backup(&args.from)
        .with_context(|| format!("`{}` cannot be restored", args.from.display()))?;
    // The ledger's checkpoints are verified with the deployment's key, and the vault's values
    // need its key-encryption keys: both are files, restored before the database.
    if checkpoint_verifier(&data)?.is_none() {
        bail!(
            "`{}` has no checkpoint key (`keys/{KEY_FILE}`); restore the data directory's keys first (see docs/operations.md)",
            data.root().display()
        );
    }
    // Verified as a staged copy beside the database first (opening it may migrate it, so
    // never the backup itself): a damaged backup leaves the database as it was.
    let staged = data.database_path().with_extension("restore-check");
    let remove_staged = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", staged.display()));
        }
    };
    remove_staged();
    let checked = (|| -> anyhow::Result<(Verified, LedgerHead)> {
        copy_private(&args.from, &staged)?;
        let opened = Opened::sqlite(&staged)?;
        Ok((copying::verify(&data, opened.ledger())?, LedgerHead::of(opened.ledger())?))
    })();
    remove_staged();
    let (verification, head) = checked?;
    if !verification.ok {
        let human = format!(
            "`{}` is not restored: {}\nthe database in `{}` was not changed\n",
            args.from.display(),
            describe_verified(&verification, &data),
            data.root().display()
        );
        let bytes = std::fs::metadata(&args.from)?.len();
        return Ok(Report::new(
            human,
            Outcome { file: args.from.display().to_string(), bytes, ledger: head, verification },
        )
        .failed());
    }
    {
        let store = SqliteStore::open(&data.database_path())
            .with_context(|| format!("cannot open the database in `{}`", data.root().display()))?;
        match snapshot::check_empty(&store) {
            Ok(()) => {}
            Err(CopyError::NotEmpty { table, rows }) if !args.force => bail!(
                "the database in `{}` is not empty (table `{table}` holds {rows} rows); pass `--force` to replace it",
                data.root().display()
            ),
            Err(CopyError::NotEmpty { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        store.restore_from(&args.from).with_context(|| format!("cannot restore from `{}`", args.from.display()))?;
    }
    // Reopened: migrates a backup taken by an older tokutei.
    let opened = Opened::sqlite(&data.database_path())?;
    let bytes = std::fs::metadata(data.database_path())?.len();
    let mut report = finish(&data, &opened, args.from.display().to_string(), bytes, "restored from")?;
    drop(opened);
    report.human.push_str(&remember_restored(&data)?);
    Ok(report)
}

/// After a restore the ledger may be shorter than the checkpoint the data directory
/// remembers (the entries after the backup are gone: that is what a restore does). The
/// remembered checkpoint is kept beside as `checkpoint.before-restore` and replaced by the
/// restored ledger's, so `serve` starts; what was lost is said.
fn remember_restored(data: &DataDir) -> anyhow::Result<String> {
    let log = AuditLog::open(data)?;
    let before = log.remembered().ok().flatten();
    let latest = log.checkpoint()?;
    match before {
        Some(before) if before.size > latest.size || log.check_remembered().is_err() => {
            let kept = log.remembered_path().with_extension("before-restore");
            std::fs::copy(log.remembered_path(), &kept).with_context(|| format!("cannot keep `{}`", kept.display()))?;
            log.replace_remembered(&latest.note)?;
            Ok(format!(
                "the remembered checkpoint signed {} entries; the restored ledger has {}: entries after the backup are not in it \
                 (the old checkpoint is kept in `{}`)\n",
                before.size,
                latest.size,
                kept.display()
            ))
        }
        _ => Ok(String::new()),
    }
}
