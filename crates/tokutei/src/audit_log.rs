//! Opening the audit ledger of a data directory: the backend's ledger (SQLite or PostgreSQL,
//! each with its group-commit sequencer), the checkpoint signing key `keys/checkpoint.ed25519` (a C2SP signer key,
//! created 0600 on first use, refused when others can read it), and the log's origin line
//! (`tokutei.local/<random id>`, kept in `ledger-origin`).
//!
//! Other commands record administrative events with [`AuditLog::append_admin`]; the server
//! publishes checkpoints periodically with [`run_checkpoints`].

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use jiff::Timestamp;
use rand_core::{OsRng, RngCore};
use tokutei_ledger::{Actor, AdminAction, AdminEvent, Checkpoint, CheckpointSigner, CheckpointVerifier, Entry, Hash};
use tokutei_store::StoreError;
use tokutei_store::ledger::{Appended, LedgerStore, StoredCheckpoint};

use crate::backend::Database;
use crate::data_dir::{DataDir, read_secret_file, write_secret_file};

/// The checkpoint signing key file, under `keys/`.
pub const KEY_FILE: &str = "checkpoint.ed25519";
/// The origin file, in the data directory.
pub const ORIGIN_FILE: &str = "ledger-origin";

/// The audit ledger of one data directory.
pub struct AuditLog {
    ledger: Arc<dyn LedgerStore>,
    signer: CheckpointSigner,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("origin", &self.origin()).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Open the ledger of an initialised data directory.
    pub fn open(data: &DataDir) -> anyhow::Result<AuditLog> {
        let store = data.open_store()?;
        AuditLog::open_with_store(data, &store)
    }

    /// Open the ledger on an already open store (the server shares one).
    pub fn open_with_store(data: &DataDir, store: &Database) -> anyhow::Result<AuditLog> {
        let signer = load_or_create_signer(data)?;
        let ledger = store.ledger().context("cannot open the audit ledger")?;
        Ok(AuditLog { ledger, signer })
    }

    pub fn ledger(&self) -> &dyn LedgerStore {
        self.ledger.as_ref()
    }

    /// The ledger, shared (for the server's read-only endpoints).
    pub fn shared_ledger(&self) -> Arc<dyn LedgerStore> {
        Arc::clone(&self.ledger)
    }

    /// The origin line of checkpoints (also the key name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The public key auditors and witnesses trust.
    pub fn verifier(&self) -> CheckpointVerifier {
        self.signer.verifier()
    }

    /// Append an entry; returns once it is durable.
    pub fn append(&self, entry: &Entry) -> anyhow::Result<Appended> {
        self.ledger.append(entry).context("cannot write the audit record")
    }

    /// Record an administrative event (ids and digests only, never personal data).
    pub fn append_admin(
        &self,
        actor: Actor,
        action: AdminAction,
        subject: &str,
        digest: Option<Hash>,
        details: Vec<(String, String)>,
    ) -> anyhow::Result<Appended> {
        let event = AdminEvent { action, subject: subject.to_owned(), digest, details };
        self.append(&Entry::admin(Timestamp::now(), actor, event))
    }

    /// The latest checkpoint, signing a fresh one first when entries were added since (or
    /// when there is none yet). Several instances on one database may race here: the store
    /// takes their checkpoints one at a time and refuses one that would go back, and then
    /// the newer one another instance stored is the answer.
    pub fn checkpoint(&self) -> anyhow::Result<StoredCheckpoint> {
        let size = self.ledger.tree_size()?;
        if let Some(latest) = self.ledger.latest_checkpoint()?
            && latest.size == size
        {
            return Ok(latest);
        }
        match self.sign_checkpoint(size) {
            Err(StoreError::Conflict(why)) => match self.ledger.latest_checkpoint()? {
                Some(latest) if latest.size >= size => Ok(latest),
                _ => Err(StoreError::Conflict(why).into()),
            },
            other => Ok(other?),
        }
    }

    /// Sign and store a checkpoint of the tree at `size`.
    fn sign_checkpoint(&self, size: u64) -> Result<StoredCheckpoint, StoreError> {
        let head = self.ledger.tree_head_at(size)?;
        let now = Timestamp::now();
        let note = self.signer.sign(&Checkpoint::new(self.origin(), head, Some(now)));
        self.ledger.add_checkpoint(size, &note, now)
    }
}

fn origin_path(data: &DataDir) -> PathBuf {
    data.root().join(ORIGIN_FILE)
}

fn load_or_create_signer(data: &DataDir) -> anyhow::Result<CheckpointSigner> {
    let key_path = data.keys_dir().join(KEY_FILE);
    let origin_path = origin_path(data);
    if key_path.exists() {
        let text = read_secret_file(&key_path)?;
        let text = String::from_utf8(text).with_context(|| format!("key file `{}` is damaged", key_path.display()))?;
        let signer = CheckpointSigner::parse(&text)
            .with_context(|| format!("key file `{}` is not a checkpoint signing key", key_path.display()))?;
        if let Ok(origin) = fs::read_to_string(&origin_path)
            && origin.trim() != signer.name()
        {
            bail!(
                "the checkpoint key `{}` belongs to `{}`, not to this ledger `{}`",
                key_path.display(),
                signer.name(),
                origin.trim()
            );
        }
        return Ok(signer);
    }
    let origin = match fs::read_to_string(&origin_path) {
        Ok(text) => text.trim().to_owned(),
        Err(_) => {
            let mut id = [0u8; 8];
            OsRng.fill_bytes(&mut id);
            let origin = format!("tokutei.local/{}", hex::encode(id));
            fs::write(&origin_path, format!("{origin}\n"))
                .with_context(|| format!("cannot write `{}`", origin_path.display()))?;
            origin
        }
    };
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(seed.as_mut());
    let signer = CheckpointSigner::from_seed(&origin, *seed)
        .with_context(|| format!("`{}` is not a valid ledger origin", origin_path.display()))?;
    fs::create_dir_all(data.keys_dir()).with_context(|| format!("cannot create `{}`", data.keys_dir().display()))?;
    let secret = zeroize::Zeroizing::new(format!("{}\n", signer.secret_string()));
    write_secret_file(&key_path, secret.as_bytes())?;
    tracing::info!(origin = %origin, "created the checkpoint signing key");
    Ok(signer)
}

/// Sign a checkpoint every `every` while entries keep arriving (for `serve`). Runs until the
/// task is dropped; failures are logged and retried at the next tick.
pub async fn run_checkpoints(log: Arc<AuditLog>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        let log = Arc::clone(&log);
        match tokio::task::spawn_blocking(move || log.checkpoint()).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!(error = %format!("{err:#}"), "cannot write an audit checkpoint"),
            Err(err) => tracing::warn!(error = %err, "checkpoint task failed"),
        }
    }
}
