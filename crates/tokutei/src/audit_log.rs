//! Opening the audit ledger of a data directory: the backend's ledger (SQLite or PostgreSQL,
//! each with its group-commit sequencer), the checkpoint signing key `keys/checkpoint.ed25519` (a C2SP signer key,
//! created 0600 on first use, refused when others can read it), and the log's origin line
//! (`tokutei.local/<random id>`, kept in `ledger-origin`).
//!
//! The server publishes checkpoints every second while entries arrive ([`run_checkpoints`])
//! and other commands sign one when they end ([`sign_if_grown`]); the rules — sign when the
//! ledger grew, trust a note only when this ledger's key signed it, refuse a ledger that does
//! not extend a trusted checkpoint — are the application layer's
//! (`tokutei_app::checkpoints`); this module keeps their files.
//!
//! Every checkpoint signed is also *remembered* outside the database, in the file
//! `checkpoint` of the data directory (the latest signed note, replaced atomically): `serve`
//! refuses to start on a ledger that does not extend it, and `audit verify` checks the ledger
//! against it (or against an operator's copy, `--trusted FILE`), so a database whose tail
//! was cut, or whose history was rewritten together with its stored checkpoints, is named.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use jiff::Timestamp;
use rand_core::{OsRng, RngCore};
use tokutei_app::checkpoints::{CheckpointError, Checkpoints};
use tokutei_ledger::{Checkpoint, CheckpointSigner, CheckpointVerifier};
use tokutei_store::ledger::{LedgerStore, StoredCheckpoint};

use crate::backend::Database;
use crate::data_dir::{DataDir, read_secret_file, write_secret_file};

/// The checkpoint signing key file, under `keys/`.
pub const KEY_FILE: &str = "checkpoint.ed25519";
/// The origin file, in the data directory.
pub const ORIGIN_FILE: &str = "ledger-origin";
/// The remembered latest checkpoint, in the data directory.
pub const CHECKPOINT_FILE: &str = "checkpoint";

/// The audit ledger of one data directory.
pub struct AuditLog {
    checkpoints: Checkpoints,
    remembered: PathBuf,
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
        Ok(AuditLog { checkpoints: Checkpoints::new(ledger, signer), remembered: data.root().join(CHECKPOINT_FILE) })
    }

    pub fn ledger(&self) -> &dyn LedgerStore {
        self.checkpoints.ledger().as_ref()
    }

    /// The ledger, shared (for the server's read-only endpoints).
    pub fn shared_ledger(&self) -> Arc<dyn LedgerStore> {
        Arc::clone(self.checkpoints.ledger())
    }

    /// The origin line of checkpoints (also the key name).
    pub fn origin(&self) -> &str {
        self.checkpoints.origin()
    }

    /// The public key auditors and witnesses trust.
    pub fn verifier(&self) -> CheckpointVerifier {
        self.checkpoints.verifier()
    }

    /// The latest checkpoint, signing a fresh one first when entries were added since (or
    /// when there is none yet), and remembered.
    pub fn checkpoint(&self) -> anyhow::Result<StoredCheckpoint> {
        let latest = self.checkpoints.latest(Timestamp::now())?;
        self.remember(&latest)?;
        Ok(latest)
    }

    /// Where the latest signed checkpoint is remembered outside the database.
    pub fn remembered_path(&self) -> &std::path::Path {
        &self.remembered
    }

    /// Keep `checkpoint` as the remembered one unless a larger one is remembered already.
    fn remember(&self, checkpoint: &StoredCheckpoint) -> anyhow::Result<()> {
        if let Ok(Some(current)) = self.remembered()
            && current.size >= checkpoint.size
        {
            return Ok(());
        }
        self.replace_remembered(&checkpoint.note)
    }

    /// Replace the remembered checkpoint (written beside it, then renamed: never half a note;
    /// the partial file is this process's own, so a command and `serve` signing at the same
    /// moment cannot write into each other's).
    pub fn replace_remembered(&self, note: &str) -> anyhow::Result<()> {
        let partial = self.remembered.with_extension(format!("partial-{}", std::process::id()));
        fs::write(&partial, note).with_context(|| format!("cannot write `{}`", partial.display()))?;
        fs::rename(&partial, &self.remembered)
            .with_context(|| format!("cannot write the remembered checkpoint `{}`", self.remembered.display()))
    }

    /// The remembered checkpoint, signature and origin checked; `None` before the first.
    pub fn remembered(&self) -> anyhow::Result<Option<Checkpoint>> {
        match fs::read_to_string(&self.remembered) {
            Ok(note) => self.trusted_note(&note, &self.remembered).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read `{}`", self.remembered.display())),
        }
    }

    /// A checkpoint note from `source` (a file), checked to be this ledger's.
    pub fn trusted_note(&self, note: &str, source: &std::path::Path) -> anyhow::Result<Checkpoint> {
        self.checkpoints.trusted(note).map_err(|e| match e {
            CheckpointError::NotSigned { origin, problem } => anyhow::anyhow!(
                "`{}` is not a checkpoint signed by this ledger's key `{origin}`: {problem}",
                source.display()
            ),
            CheckpointError::OtherLog { theirs, ours } => {
                anyhow::anyhow!("`{}` is a checkpoint of `{theirs}`, not of this ledger `{ours}`", source.display())
            }
            other => other.into(),
        })
    }

    /// Refuse a ledger that does not extend the remembered checkpoint (for `serve`): its
    /// size must reach the checkpoint's and its stored tree give the same root there.
    pub fn check_remembered(&self) -> anyhow::Result<()> {
        let Some(remembered) = self.remembered()? else {
            return Ok(());
        };
        let path = self.remembered.display();
        match self.checkpoints.check_extends(&remembered) {
            Ok(()) => Ok(()),
            Err(CheckpointError::Truncated { size, signed }) => bail!(
                "the audit ledger holds {size} entries but the checkpoint remembered in `{path}` signed {signed}: \
                 entries {size}..{signed} are gone (run `tokutei audit verify`; restore the database from a backup)"
            ),
            Err(CheckpointError::Forked { size }) => bail!(
                "the audit ledger's first {size} entries are not the ones the checkpoint remembered in `{path}` signed: \
                 the ledger was forked or rewritten (run `tokutei audit verify`)"
            ),
            Err(e) => Err(e.into()),
        }
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

/// The data directory's checkpoint key, to check signatures with; `None` when it has none
/// (never created here: for commands that read a ledger copy, such as `backup`).
pub fn checkpoint_verifier(data: &DataDir) -> anyhow::Result<Option<CheckpointVerifier>> {
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

/// Sign (and remember) a checkpoint if entries were added since the latest, when a command
/// that may have appended ends: the tail of the ledger is not left unsigned until the next
/// server start. Best effort: a failure is a warning, the command's outcome stands.
pub fn sign_if_grown(data: &DataDir) {
    if !data.is_initialised() || !data.keys_dir().join(KEY_FILE).exists() {
        return;
    }
    let signed = AuditLog::open(data).and_then(|log| log.checkpoint());
    if let Err(err) = signed {
        tracing::warn!(error = %format!("{err:#}"), "cannot sign an audit checkpoint");
    }
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
