//! The storage backend of a deployment, chosen once per process: the embedded SQLite database
//! in the data directory (the default), or PostgreSQL when `--database-url` (env
//! `TOKUTEI_DATABASE_URL`) is given — then the data directory holds only keys and
//! configuration. Commands see one [`Database`]: the store behind [`Store`] (every capability
//! the access service and the web layer need, as one trait object) and the audit ledger
//! behind [`LedgerStore`]. Both backends migrate when opened and refuse a newer schema.
//!
//! The URL may carry a password: [`DatabaseUrl`] never shows it (not in `Debug`, not in
//! messages).

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use tokutei_store::ledger::LedgerStore;
use tokutei_store_postgres::{PgLedger, PgStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

/// Every storage capability the binary uses, from one backend: the access service's
/// ([`tokutei_app::Stores`]) and the web layer's ([`tokutei_web::Backend`]).
pub trait Store: tokutei_app::Stores + tokutei_web::Backend {}
impl<T: tokutei_app::Stores + tokutei_web::Backend> Store for T {}

/// A PostgreSQL connection URL (or `key=value` connection string). Never printed.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> DatabaseUrl {
        DatabaseUrl(url)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(..)")
    }
}

/// Which backend, with its concrete store (to open the matching ledger).
#[derive(Clone)]
enum Kind {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

/// An open backend: the store, and the audit ledger opened on first use (one per process, so
/// one group-commit sequencer). Cheap to clone.
#[derive(Clone)]
pub struct Database {
    store: Arc<dyn Store>,
    kind: Kind,
    ledger: Arc<OnceLock<Arc<dyn LedgerStore>>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("backend", &self.backend_name()).finish_non_exhaustive()
    }
}

impl Database {
    /// Open (creating and migrating) the SQLite database at `path`.
    pub fn sqlite(path: &std::path::Path) -> anyhow::Result<Database> {
        let store = Arc::new(SqliteStore::open(path)?);
        Ok(Database::new(store.clone(), Kind::Sqlite(store)))
    }

    /// Connect to PostgreSQL at `url` and migrate its schema.
    pub fn postgres(url: &DatabaseUrl) -> anyhow::Result<Database> {
        let store = Arc::new(PgStore::connect(url.expose()).context("cannot open the PostgreSQL database")?);
        Ok(Database::new(store.clone(), Kind::Postgres(store)))
    }

    fn new(store: Arc<dyn Store>, kind: Kind) -> Database {
        Database { store, kind, ledger: Arc::default() }
    }

    /// `sqlite` or `postgresql`.
    pub fn backend_name(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite(_) => "sqlite",
            Kind::Postgres(_) => "postgresql",
        }
    }

    /// The store, shared.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Refuse a database that already holds a deployment (for `init` and `demo` on
    /// PostgreSQL, whose data directory is new but whose database may not be).
    pub fn ensure_empty(&self) -> anyhow::Result<()> {
        let entries = self.ledger()?.tree_size()?;
        if entries > 0 || self.policy_version(1)?.is_some() {
            anyhow::bail!(
                "the {} database already holds a deployment ({entries} audit entries); `init` needs an empty one",
                self.backend_name()
            );
        }
        Ok(())
    }

    /// The audit ledger of this database (opened once, then shared).
    pub fn ledger(&self) -> anyhow::Result<Arc<dyn LedgerStore>> {
        if let Some(ledger) = self.ledger.get() {
            return Ok(Arc::clone(ledger));
        }
        let opened: Arc<dyn LedgerStore> = match &self.kind {
            Kind::Sqlite(store) => Arc::new(SqliteLedger::open(Arc::clone(store))?),
            Kind::Postgres(store) => Arc::new(PgLedger::open(Arc::clone(store))?),
        };
        // Two threads racing here keep the first; the other's ledger is dropped unused.
        Ok(Arc::clone(self.ledger.get_or_init(|| opened)))
    }
}

impl std::ops::Deref for Database {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        self.store.as_ref()
    }
}
