//! Opening a database file or URL directly, with its audit ledger — for the commands that
//! copy a whole deployment (`migrate-store`, `backup`, `restore`; the only ones besides
//! `backend.rs` that name a backend type) — and how they present the ledger they checked
//! (`tokutei_app::checkpoints::{LedgerHead, Verified}`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokutei_app::checkpoints::{LedgerHead, Verified};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::snapshot::{Deployment, SnapshotStore};
use tokutei_store_postgres::{PgLedger, PgStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

use crate::data_dir::DataDir;

/// One open database: its tables and its ledger.
pub enum Opened {
    Sqlite(Arc<SqliteStore>, SqliteLedger),
    Postgres(Arc<PgStore>, PgLedger),
}

impl Opened {
    pub fn sqlite(file: &Path) -> anyhow::Result<Opened> {
        let store = Arc::new(
            SqliteStore::open(file).with_context(|| format!("cannot open the database `{}`", file.display()))?,
        );
        let ledger = SqliteLedger::open(Arc::clone(&store)).context("cannot open the audit ledger")?;
        Ok(Opened::Sqlite(store, ledger))
    }

    pub fn postgres(url: &str) -> anyhow::Result<Opened> {
        let store = Arc::new(PgStore::connect(url).map_err(|e| anyhow::anyhow!("PostgreSQL: {e}"))?);
        let ledger = PgLedger::open(Arc::clone(&store)).context("cannot open the audit ledger")?;
        Ok(Opened::Postgres(store, ledger))
    }

    pub fn tables(&self) -> &dyn SnapshotStore {
        match self {
            Opened::Sqlite(store, _) => store.as_ref(),
            Opened::Postgres(store, _) => store.as_ref(),
        }
    }

    pub fn ledger(&self) -> &dyn LedgerStore {
        match self {
            Opened::Sqlite(_, ledger) => ledger,
            Opened::Postgres(_, ledger) => ledger,
        }
    }

    pub fn deployment(&self) -> Deployment<'_> {
        Deployment { tables: self.tables(), ledger: self.ledger() }
    }
}

/// The ledger `opened` holds, verified in full with the data directory's checkpoint key.
pub fn verify(data: &DataDir, ledger: &dyn LedgerStore) -> anyhow::Result<Verified> {
    let key = crate::audit_log::checkpoint_verifier(data)?;
    Ok(Verified::run(ledger, key.as_ref())?)
}

/// A ledger's head, for a person.
pub fn describe_head(head: &LedgerHead) -> String {
    let checkpoint = match &head.checkpoint {
        Some((id, size, note)) => {
            let signature = note.lines().last().unwrap_or_default();
            format!("checkpoint {id} at size {size} ({signature})")
        }
        None => "no checkpoint".to_owned(),
    };
    format!("{} entries, root {}, {checkpoint}", head.size, head.root)
}

/// A verification's outcome, for a person.
pub fn describe_verified(verified: &Verified, data: &DataDir) -> String {
    match (&verified.failure, verified.checked) {
        (Some(f), _) => format!("audit ledger is damaged: {f}"),
        (None, true) => "audit ledger verified (every entry, tree node, index row and checkpoint signature)".to_owned(),
        (None, false) => format!(
            "checkpoint signatures not checked: no checkpoint key in `{}` (pass `--data DIR`)",
            data.root().display()
        ),
    }
}
