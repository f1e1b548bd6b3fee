//! `tokutei witness …`: run a transparency-log witness (C2SP `tlog-witness`) for partners'
//! ledgers — another carrier, an auditor, the regulator. Its directory (the global `--data DIR`,
//! its own: never a deployment's data directory) holds
//! `witness.toml` (its name and the logs it watches: origin keys), its cosigning key
//! `witness.ed25519` (0600), and per log the latest checkpoint it cosigned (`logs/<hash>`,
//! replaced atomically and synced before any cosignature is returned).
//!
//! - `--data DIR init --name NAME [--log KEY]…`: create the key and the configuration; prints
//!   the witness's public key (what logs configure in `[witnesses]`).
//! - `add-log --log KEY`, `key`.
//! - `serve --data DIR --listen ADDR`: answer `POST /add-checkpoint`.

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokutei_app::witness::{Witness, WitnessState};
use tokutei_ledger::witness::Witnessed;
use tokutei_ledger::{Checkpoint, CheckpointVerifier, WitnessSigner};

use crate::data_dir::{read_secret_file, write_secret_file};
use crate::output::Report;

const CONFIG: &str = "witness.toml";
const KEY: &str = "witness.ed25519";
const LOGS: &str = "logs";

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Create a witness: its cosigning key and configuration; prints its public key.
    Init(InitArgs),
    /// Watch one more log (its checkpoint verifier key, `origin+id+key`).
    AddLog {
        #[arg(long = "log", value_name = "KEY")]
        log: String,
    },
    /// The witness's public key (`name+id+key`, type 0x04).
    Key,
    /// Answer `add-checkpoint` requests (C2SP tlog-witness) until stopped.
    Serve {
        #[arg(long, value_name = "ADDR")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The witness's name (a schema-less URL such as `witness.auditor.example/w1`).
    #[arg(long, value_name = "NAME")]
    name: String,
    /// A log to watch: its checkpoint verifier key (`origin+id+key`, `tokutei audit key`).
    /// Repeat for several.
    #[arg(long = "log", value_name = "KEY")]
    logs: Vec<String>,
}

/// `witness.toml`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The checkpoint verifier keys of the logs watched.
    logs: Vec<String>,
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join(CONFIG)
}

fn read_config(dir: &Path) -> anyhow::Result<(Config, Vec<CheckpointVerifier>)> {
    let path = config_path(dir);
    let text = fs::read_to_string(&path).with_context(|| {
        format!("cannot read `{}` (create the witness with `tokutei witness init`)", path.display())
    })?;
    let config: Config = toml::from_str(&text).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
    let keys = config
        .logs
        .iter()
        .map(|k| CheckpointVerifier::parse(k).map_err(|e| anyhow::anyhow!("`{}`: `logs`: `{k}`: {e}", path.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((config, keys))
}

fn write_config(dir: &Path, config: &Config) -> anyhow::Result<()> {
    let text = toml::to_string(config).context("cannot write the witness configuration")?;
    atomic_write(&config_path(dir), text.as_bytes())
}

fn signer(dir: &Path) -> anyhow::Result<WitnessSigner> {
    let path = dir.join(KEY);
    let text =
        String::from_utf8(read_secret_file(&path)?).with_context(|| format!("`{}` is damaged", path.display()))?;
    WitnessSigner::parse(&text).with_context(|| format!("`{}` is not a witness key", path.display()))
}

fn parse_log(key: &str) -> anyhow::Result<CheckpointVerifier> {
    CheckpointVerifier::parse(key).with_context(|| format!("`--log`: `{key}` is not a checkpoint verifier key"))
}

/// Write `bytes` to `path` whole or not at all: beside it, synced, renamed, directory synced.
fn atomic_write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let mut file = fs::File::create(&partial).with_context(|| format!("cannot write `{}`", partial.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write `{}`", partial.display()))?;
    fs::rename(&partial, path).with_context(|| format!("cannot replace `{}`", path.display()))?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync `{}`", parent.display()))?;
    }
    Ok(())
}

/// The witness's state: per log, the latest cosigned checkpoint note in `logs/<sha256(origin)>`.
struct FileState {
    dir: PathBuf,
}

impl FileState {
    fn path(&self, origin: &str) -> PathBuf {
        self.dir.join(hex::encode(Sha256::digest(origin.as_bytes())))
    }
}

impl WitnessState for FileState {
    fn load(&self, origin: &str) -> Result<Option<Witnessed>, String> {
        let path = self.path(origin);
        let note = match fs::read_to_string(&path) {
            Ok(note) => note,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
        };
        let (text, _) =
            tokutei_ledger::checkpoint::split_note(&note).map_err(|e| format!("`{}`: {e}", path.display()))?;
        let cp = Checkpoint::parse_body(text).map_err(|e| format!("`{}`: {e}", path.display()))?;
        if cp.origin != origin {
            return Err(format!("`{}` holds a checkpoint of `{}`, not `{origin}`", path.display(), cp.origin));
        }
        Ok(Some(Witnessed { size: cp.size, root: cp.root }))
    }

    fn store(&self, origin: &str, _: &Witnessed, note: &str) -> Result<(), String> {
        atomic_write(&self.path(origin), note.as_bytes()).map_err(|e| format!("{e:#}"))
    }
}

/// `data`: the witness's directory (the global `--data`).
pub fn run(data: &Path, cmd: WitnessCommand) -> anyhow::Result<Report> {
    match cmd {
        WitnessCommand::Init(args) => {
            let logs = args.logs.iter().map(|k| parse_log(k)).collect::<anyhow::Result<Vec<_>>>()?;
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            OsRng.fill_bytes(seed.as_mut());
            let signer =
                WitnessSigner::from_seed(&args.name, *seed).with_context(|| format!("`--name`: `{}`", args.name))?;
            if data.join(KEY).exists() {
                bail!("`{}` holds a witness already", data.display());
            }
            if data.join(crate::audit_log::ORIGIN_FILE).exists() {
                bail!("`{}` is a deployment's data directory: give the witness a directory of its own", data.display());
            }
            fs::create_dir_all(data.join(LOGS)).with_context(|| format!("cannot create `{}`", data.display()))?;
            write_secret_file(&data.join(KEY), format!("{}\n", signer.secret_string()).as_bytes())?;
            write_config(data, &Config { logs: logs.iter().map(ToString::to_string).collect() })?;
            let key = signer.verifier().to_string();
            Ok(Report::new(format!("{key}\n"), serde_json::json!({ "key": key, "logs": args.logs })))
        }
        WitnessCommand::AddLog { log } => {
            let key = parse_log(&log)?;
            let (mut config, known) = read_config(data)?;
            if known.iter().any(|k| k.name() == key.name()) {
                bail!("`--log`: the log `{}` is watched already", key.name());
            }
            config.logs.push(key.to_string());
            write_config(data, &config)?;
            Ok(Report::new(format!("watching `{}`\n", key.name()), serde_json::json!({ "logs": config.logs })))
        }
        WitnessCommand::Key => {
            let key = signer(data)?.verifier().to_string();
            Ok(Report::new(format!("{key}\n"), serde_json::json!({ "key": key })))
        }
        WitnessCommand::Serve { listen } => {
            let signer = signer(data)?;
            let (_, logs) = read_config(data)?;
            if logs.is_empty() {
                bail!("`{}` watches no log: add one with `tokutei witness add-log`", config_path(data).display());
            }
            fs::create_dir_all(data.join(LOGS))
                .with_context(|| format!("cannot create `{}`", data.join(LOGS).display()))?;
            let state = FileState { dir: data.join(LOGS) };
            let witness = Arc::new(Witness::new(signer, logs, Box::new(state)));
            let runtime =
                tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on `{listen}`"))?;
                let addr = listener.local_addr()?;
                eprintln!("witness {} serving on http://{addr}/add-checkpoint", witness.verifier().name());
                tokutei_web::witness::serve_witness(listener, witness).await.context("witness server failed")
            })?;
            Ok(Report::new("", serde_json::json!({ "stopped": true })))
        }
    }
}
