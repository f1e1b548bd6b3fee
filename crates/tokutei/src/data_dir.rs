//! The data directory (`--data DIR`, env `TOKUTEI_DATA`): the embedded SQLite database, the
//! key files (checkpoint signing key, key-encryption keys) and deployment configuration. With
//! `--database-url` the database is PostgreSQL and the directory holds keys and configuration
//! only ([`crate::backend`]).
//!
//! Key files are created with mode 0600 and refused when others can read them
//! ([`read_secret_file`], [`write_secret_file`], from the application layer's keyring).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub use tokutei_app::keyring::{read_secret_file, write_secret_file};

use crate::backend::{Database, DatabaseUrl};

/// File name of the embedded database inside the data directory.
pub const DATABASE_FILE: &str = "tokutei.sqlite3";

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// PostgreSQL instead of the embedded database.
    database_url: Option<DatabaseUrl>,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into(), database_url: None }
    }

    /// The data directory of a deployment whose database is PostgreSQL at `url` (or the
    /// embedded one when `None`).
    pub fn with_database_url(mut self, url: Option<DatabaseUrl>) -> DataDir {
        self.database_url = url;
        self
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.is_some()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn database_path(&self) -> PathBuf {
        self.root.join(DATABASE_FILE)
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    /// Whether `init` (or `demo`) prepared this directory: the embedded database exists, or —
    /// on PostgreSQL — the checkpoint signing key does and no embedded database (the keys
    /// belong to one database).
    pub fn is_initialised(&self) -> bool {
        match self.database_url {
            Some(_) => self.has_keys() && !self.database_path().exists(),
            None => self.database_path().is_file(),
        }
    }

    /// Whether anything of a deployment is here (an embedded database or keys), whichever
    /// backend it uses: `init` and `demo` start only where nothing is.
    pub fn is_in_use(&self) -> bool {
        self.database_path().exists() || self.has_keys()
    }

    fn has_keys(&self) -> bool {
        self.keys_dir().join(crate::audit_log::KEY_FILE).is_file()
    }

    /// Create the directory tree (for `init` and `demo`).
    pub fn create(&self) -> anyhow::Result<()> {
        fs::create_dir_all(self.keys_dir())
            .with_context(|| format!("cannot create data directory `{}`", self.root.display()))?;
        restrict_dir(&self.keys_dir())?;
        Ok(())
    }

    /// Open the store of an initialised data directory.
    pub fn open_store(&self) -> anyhow::Result<Database> {
        if !self.is_initialised() {
            let root = self.root.display();
            if self.is_postgres() && self.database_path().exists() {
                bail!(
                    "data directory `{root}` belongs to an embedded SQLite deployment; omit `--database-url`, or copy it to PostgreSQL with `tokutei migrate-store`"
                );
            }
            if !self.is_postgres() && self.has_keys() {
                bail!(
                    "data directory `{root}` holds keys but no embedded database (a PostgreSQL deployment?); pass `--database-url` or set `TOKUTEI_DATABASE_URL`"
                );
            }
            bail!("data directory `{root}` is not initialised; run `tokutei init --data {root}` first");
        }
        self.open_or_create_store()
    }

    /// Open the store, creating the database (or the PostgreSQL schema) if needed.
    pub fn open_or_create_store(&self) -> anyhow::Result<Database> {
        match &self.database_url {
            Some(url) => Database::postgres(url),
            None => Database::sqlite(&self.database_path())
                .with_context(|| format!("cannot open the database in `{}`", self.root.display())),
        }
    }
}

/// Copy `from` to a new file `to` readable only by its owner (a database staged for checking:
/// its contents are sealed, its metadata is still the deployment's).
pub fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut source = fs::File::open(from).with_context(|| format!("cannot read `{}`", from.display()))?;
    let mut file = options.open(to).with_context(|| format!("cannot create `{}`", to.display()))?;
    std::io::copy(&mut source, &mut file).with_context(|| format!("cannot copy to `{}`", to.display()))?;
    file.sync_all()?;
    Ok(())
}

fn restrict_dir(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict `{}`", path.display()))?;
    }
    Ok(())
}
