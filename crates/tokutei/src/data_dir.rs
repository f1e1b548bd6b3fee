//! The data directory (`--data DIR`, env `TOKUTEI_DATA`): the embedded SQLite database, the
//! key files (checkpoint signing key, key-encryption keys) and deployment configuration.
//!
//! Key files are created with mode 0600 and refused when others can read them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tokutei_store_sqlite::SqliteStore;

/// File name of the embedded database inside the data directory.
pub const DATABASE_FILE: &str = "tokutei.sqlite3";

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
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

    pub fn is_initialised(&self) -> bool {
        self.database_path().is_file()
    }

    /// Create the directory tree (for `init` and `demo`).
    pub fn create(&self) -> anyhow::Result<()> {
        fs::create_dir_all(self.keys_dir())
            .with_context(|| format!("cannot create data directory `{}`", self.root.display()))?;
        restrict_dir(&self.keys_dir())?;
        Ok(())
    }

    /// Open the store of an initialised data directory.
    pub fn open_store(&self) -> anyhow::Result<SqliteStore> {
        if !self.is_initialised() {
            bail!(
                "data directory `{}` is not initialised; run `tokutei init --data {}` first",
                self.root.display(),
                self.root.display()
            );
        }
        self.open_or_create_store()
    }

    /// Open the store, creating the database if needed.
    pub fn open_or_create_store(&self) -> anyhow::Result<SqliteStore> {
        SqliteStore::open(&self.database_path())
            .with_context(|| format!("cannot open the database in `{}`", self.root.display()))
    }
}

/// Write a secret file readable only by its owner. Fails if it exists (keys are never
/// overwritten by accident).
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("cannot create key file `{}`", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Read a secret file, refusing one that group or others can read.
pub fn read_secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).with_context(|| format!("cannot read key file `{}`", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!("key file `{}` is readable by others (mode {mode:o}); run `chmod 600` on it", path.display());
        }
    }
    fs::read(path).with_context(|| format!("cannot read key file `{}`", path.display()))
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
