//! `tokutei audit …`: verify the ledger, print inclusion and consistency proofs, query entries,
//! show the latest signed checkpoint and the checkpoint public key, and check a proof against a
//! checkpoint with no database at all (the auditor's tool).

use super::parse_time;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde::Serialize;
use tokutei_app::checkpoints;
use tokutei_app::ledger_load::{self, LoadOptions};
use tokutei_ledger::Proof;
use tokutei_ledger::tree::hex_hash;
use tokutei_ledger::{Actor, CheckpointVerifier, Decision, Entry, Hash, VerifyFailure, WitnessVerifier};
use tokutei_store::ledger::{LedgerQuery, StoredCheckpoint, verify_ledger};

use super::GlobalArgs;
use crate::audit_log::AuditLog;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every leaf and the tree, check every checkpoint; exit 1 naming the first bad index.
    Verify(VerifyArgs),
    /// Print the inclusion proof of entry N (JSON), against the latest checkpoint by default.
    Prove {
        #[arg(long, value_name = "N")]
        index: u64,
        /// Tree size to prove against (default: the latest checkpoint, signed now if needed).
        #[arg(long, value_name = "M")]
        size: Option<u64>,
    },
    /// Print the consistency proof from tree size N to M (JSON).
    Consistency {
        #[arg(long, value_name = "N")]
        old: u64,
        /// Default: the latest checkpoint, signed now if needed.
        #[arg(long, value_name = "M")]
        new: Option<u64>,
    },
    /// List entries by staff, subscriber, purpose, decision and time (index order).
    Query(QueryArgs),
    /// The latest signed checkpoint (C2SP signed note); signs a fresh one if entries were added.
    Checkpoint,
    /// The checkpoint public key (C2SP verifier key).
    Key,
    /// Check a proof printed by `prove` or `consistency` against a signed checkpoint and a public
    /// key. Needs no database.
    CheckProof(CheckProofArgs),
    /// Ask the configured witnesses (`[witnesses]`) to cosign the latest checkpoint now (`serve`
    /// does so every second); exit 1 when one refused (a sign of a fork or a rollback).
    Witness,
    /// Append synthetic entries from many threads (load and crash tests; prints appends/s).
    #[command(hide = true)]
    AppendLoad(AppendLoadArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A checkpoint kept outside the database (a copy of `checkpoint` or of `audit checkpoint`'s
    /// output, or a witness's): the ledger must extend it, else the truncation or fork is named.
    /// Default: the checkpoint remembered in the data directory.
    #[arg(long, value_name = "CHECKPOINT_FILE")]
    trusted: Option<PathBuf>,
    /// Also measure raw SHA-256 speed on this machine for comparison.
    #[arg(long, hide = true)]
    measure: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[arg(long, value_name = "ID")]
    staff: Option<String>,
    #[arg(long, value_name = "ID")]
    subscriber: Option<String>,
    #[arg(long, value_name = "ID")]
    purpose: Option<String>,
    #[arg(long, value_enum)]
    decision: Option<DecisionArg>,
    /// Inclusive: RFC 3339 (2026-04-01T00:00:00+09:00), or a date or date-time in Tokyo
    /// (2026-04-01, 2026-04-01T09:00).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    since: Option<Timestamp>,
    /// Exclusive; written like `--since`.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    until: Option<Timestamp>,
    /// At most this many entries.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    limit: u64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DecisionArg {
    Allow,
    Deny,
}

#[derive(Debug, Args)]
pub struct CheckProofArgs {
    /// The proof: a JSON file, `-` for stdin, or the JSON itself.
    #[arg(value_name = "PROOF_JSON")]
    proof: String,
    /// The signed checkpoint file (C2SP signed note). Default: the checkpoint the proof
    /// carries (a subscriber's downloaded proof has it); its signature is checked either way.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// The public key (`name+id+key`), or a file holding it.
    #[arg(long, value_name = "PUBKEY")]
    key: String,
    /// A witness's public key (`name+id+key`, type 0x04), or a file holding it: the checkpoint
    /// must carry its cosignature. Repeat for several.
    #[arg(long = "witness", value_name = "KEY")]
    witnesses: Vec<String>,
    /// How many of the `--witness` keys must have cosigned (default: all of them).
    #[arg(long, value_name = "N", requires = "witnesses")]
    quorum: Option<usize>,
}

#[derive(Debug, Args)]
pub struct AppendLoadArgs {
    #[arg(long, default_value_t = 8)]
    appenders: usize,
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Stop after this many entries in total.
    #[arg(long)]
    count: Option<u64>,
    /// Print `appended N` on stdout as soon as each index is durable.
    #[arg(long)]
    print: bool,
    /// Also sign (and remember) a checkpoint every this many milliseconds meanwhile, as
    /// `serve` does (to measure what checkpoints cost appends).
    #[arg(long, value_name = "MS")]
    checkpoint_every_ms: Option<u64>,
}

pub fn run(global: &GlobalArgs, cmd: AuditCommand) -> anyhow::Result<Report> {
    match cmd {
        AuditCommand::CheckProof(args) => check_proof(args),
        AuditCommand::AppendLoad(args) => append_load(global, args),
        AuditCommand::Witness => witness(global),
        cmd => {
            let log = AuditLog::open(&global.data_dir())?;
            match cmd {
                AuditCommand::Verify(args) => verify(&log, args),
                AuditCommand::Prove { index, size } => prove(&log, index, size),
                AuditCommand::Consistency { old, new } => consistency(&log, old, new),
                AuditCommand::Query(args) => query(&log, args),
                AuditCommand::Checkpoint => checkpoint(&log),
                AuditCommand::Key => key(&log),
                AuditCommand::CheckProof(_) | AuditCommand::AppendLoad(_) | AuditCommand::Witness => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

#[derive(Debug, Serialize)]
struct VerifyOutcome {
    ok: bool,
    entries: u64,
    checkpoints: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    /// The checkpoint kept outside the database that the ledger was checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted: Option<TrustedUsed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<VerifyFailure>,
    /// The first bad index, when the failure names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_bad_index: Option<u64>,
    seconds: f64,
    entries_per_second: f64,
    mb_per_second: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256_mb_per_second: Option<f64>,
}

#[derive(Debug, Serialize)]
struct TrustedUsed {
    file: String,
    size: u64,
}

/// The trusted checkpoint to verify against: `--trusted FILE`, else the remembered one.
fn trusted_checkpoint(
    log: &AuditLog,
    file: Option<&std::path::Path>,
) -> Result<Option<(TrustedUsed, tokutei_ledger::Checkpoint)>, VerifyFailure> {
    let bad = |e: anyhow::Error| VerifyFailure::Trusted { size: 0, problem: format!("{e:#}") };
    let (path, checkpoint) = match file {
        Some(path) => {
            let note = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))
                .map_err(bad)?;
            (path.to_path_buf(), log.trusted_note(&note, path).map_err(bad)?)
        }
        None => match log.remembered().map_err(bad)? {
            Some(c) => (log.remembered_path().to_path_buf(), c),
            None => return Ok(None),
        },
    };
    Ok(Some((TrustedUsed { file: path.display().to_string(), size: checkpoint.size }, checkpoint)))
}

fn verify(log: &AuditLog, args: VerifyArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let store = log.ledger();
    let checkpoints = store.checkpoints()?;
    let size = store.tree_size()?;
    let (trusted, outcome) = match trusted_checkpoint(log, args.trusted.as_deref()) {
        Ok(trusted) => {
            let (used, checkpoint) = trusted.unzip();
            (used, Ok(checkpoint))
        }
        Err(failure) => (None, Err(failure)),
    };
    let progress = indicatif::ProgressBar::new(size);
    progress.set_style(
        indicatif::ProgressStyle::with_template("verifying {bar:40} {pos}/{len} entries ({per_sec}, {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let outcome = match outcome {
        Ok(trusted_checkpoint) => {
            verify_ledger(store, &log.verifier(), log.origin(), trusted_checkpoint, &mut |index| {
                if index % 65_536 == 0 {
                    progress.set_position(index);
                }
            })?
        }
        Err(failure) => Err(failure),
    };
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let sha256 = args.measure.then(raw_sha256_mb_per_second);
    let rate = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
    match outcome {
        Ok(summary) => {
            let against = trusted
                .as_ref()
                .map(|t| format!("extends the trusted checkpoint of {} entries (`{}`)\n", t.size, t.file))
                .unwrap_or_else(|| {
                    "no trusted checkpoint outside the database (keep a copy of `checkpoint`; see docs/operations.md)\n"
                        .to_owned()
                });
            let human = format!(
                "audit ledger verified: {} entries, {} checkpoints, root {}\n{against}{:.0} entries/s, {:.1} MB/s{}\n",
                summary.entries,
                summary.checkpoints,
                hex::encode(summary.head.root),
                rate(summary.entries as f64),
                rate(summary.bytes as f64) / 1e6,
                sha256.map(|s| format!(" (raw SHA-256 on this machine: {s:.1} MB/s)")).unwrap_or_default()
            );
            Ok(Report::new(
                human,
                VerifyOutcome {
                    ok: true,
                    entries: summary.entries,
                    checkpoints: summary.checkpoints,
                    root: Some(hex::encode(summary.head.root)),
                    trusted,
                    failure: None,
                    first_bad_index: None,
                    seconds,
                    entries_per_second: rate(summary.entries as f64),
                    mb_per_second: rate(summary.bytes as f64) / 1e6,
                    sha256_mb_per_second: sha256,
                },
            ))
        }
        Err(failure) => {
            let human = format!("audit ledger is damaged: {failure}\n");
            Ok(Report::new(
                human,
                VerifyOutcome {
                    ok: false,
                    entries: size,
                    checkpoints: checkpoints.len() as u64,
                    root: None,
                    trusted,
                    first_bad_index: failure.index(),
                    failure: Some(failure),
                    seconds,
                    entries_per_second: 0.0,
                    mb_per_second: 0.0,
                    sha256_mb_per_second: sha256,
                },
            )
            .failed())
        }
    }
}

/// SHA-256 over 64 MiB in 4 KiB updates.
fn raw_sha256_mb_per_second() -> f64 {
    use sha2::{Digest, Sha256};
    let block = vec![0x5au8; 4096];
    let started = Instant::now();
    let mut h = Sha256::new();
    for _ in 0..16_384 {
        h.update(&block);
    }
    std::hint::black_box(h.finalize());
    64.0 * 1024.0 * 1024.0 / started.elapsed().as_secs_f64() / 1e6
}

/// The checkpoint to prove against: the one at `size`, or the latest (signed now if needed).
fn checkpoint_for(log: &AuditLog, size: Option<u64>) -> anyhow::Result<(u64, Option<StoredCheckpoint>)> {
    match size {
        Some(size) => {
            let cp = log.ledger().checkpoints()?.into_iter().rev().find(|c| c.size == size);
            Ok((size, cp))
        }
        None => {
            let cp = log.checkpoint()?;
            Ok((cp.size, Some(cp)))
        }
    }
}

fn prove(log: &AuditLog, index: u64, size: Option<u64>) -> anyhow::Result<Report> {
    let (size, cp) = checkpoint_for(log, size)?;
    let proof = checkpoints::inclusion_proof(log.ledger(), log.origin(), index, size, cp.map(|c| c.note))?;
    let human = serde_json::to_string_pretty(&proof)? + "\n";
    Ok(Report::new(human, proof))
}

fn consistency(log: &AuditLog, old: u64, new: Option<u64>) -> anyhow::Result<Report> {
    let (new, cp) = checkpoint_for(log, new)?;
    let proof = checkpoints::consistency_proof(log.ledger(), log.origin(), old, new, cp.map(|c| c.note))?;
    let human = serde_json::to_string_pretty(&proof)? + "\n";
    Ok(Report::new(human, proof))
}

#[derive(Debug, Serialize)]
struct QueryRow {
    id: u64,
    index: u64,
    #[serde(with = "hex_hash")]
    leaf_hash: Hash,
    #[serde(flatten)]
    entry: Entry,
}

fn query(log: &AuditLog, args: QueryArgs) -> anyhow::Result<Report> {
    let q = LedgerQuery {
        staff: args.staff,
        subscriber: args.subscriber,
        purpose: args.purpose,
        decision: args.decision.map(|d| match d {
            DecisionArg::Allow => Decision::Allow,
            DecisionArg::Deny => Decision::Deny,
        }),
        since: args.since,
        until: args.until,
        from_index: None,
        limit: Some(args.limit),
    };
    let mut rows = Vec::new();
    let mut human = String::new();
    log.ledger().query_entries(&q, &mut |stored| {
        let entry = stored.decode()?;
        human.push_str(&describe(stored.index, &entry));
        rows.push(QueryRow { id: stored.index, index: stored.index, leaf_hash: stored.leaf_hash, entry });
        Ok(true)
    })?;
    if rows.is_empty() {
        human.push_str("no matching audit entries\n");
    }
    Ok(Report::new(human, rows))
}

fn describe(index: u64, entry: &Entry) -> String {
    let actor = match &entry.actor {
        Actor::Staff(id) => format!("staff {id}"),
        Actor::System(id) => format!("system {id}"),
    };
    let tail = match &entry.event {
        tokutei_ledger::Event::Access(a) => format!(
            "{} purpose={} subscribers={} categories={} {}{}",
            entry.action_label(),
            a.purpose,
            a.subscribers.join(","),
            a.categories.join(","),
            a.decision.as_str(),
            if a.reasons.is_empty() { String::new() } else { format!(" ({})", a.reasons.join(",")) }
        ),
        tokutei_ledger::Event::Admin(a) => format!("{} {}", a.action.as_str(), a.subject),
    };
    format!("{index}\t{}\t{actor}\t{tail}\n", entry.time)
}

#[derive(Debug, Serialize)]
struct CheckpointOut {
    id: u64,
    origin: String,
    size: u64,
    root: String,
    created_at: Timestamp,
    note: String,
}

fn checkpoint(log: &AuditLog) -> anyhow::Result<Report> {
    let cp = log.checkpoint()?;
    let root = hex::encode(log.ledger().tree_head_at(cp.size)?.root);
    let out = CheckpointOut {
        id: cp.id,
        origin: log.origin().to_owned(),
        size: cp.size,
        root,
        created_at: cp.created_at,
        note: cp.note.clone(),
    };
    Ok(Report::new(cp.note, out))
}

fn key(log: &AuditLog) -> anyhow::Result<Report> {
    let key = log.verifier().to_string();
    Ok(Report::new(format!("{key}\n"), serde_json::json!({ "key": key, "name": log.origin(), "algorithm": "ed25519" })))
}

fn read_arg(text: &str, what: &str) -> anyhow::Result<String> {
    if text == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).context("cannot read stdin")?;
        return Ok(s);
    }
    std::fs::read_to_string(text).with_context(|| format!("cannot read {what} `{text}`"))
}

fn check_proof(args: CheckProofArgs) -> anyhow::Result<Report> {
    let proof_text =
        if args.proof.trim_start().starts_with('{') { args.proof.clone() } else { read_arg(&args.proof, "proof")? };
    let proof: Proof = serde_json::from_str(&proof_text).context("the proof is not a tokutei proof JSON document")?;
    let key_text = if args.key.contains('+') && !std::path::Path::new(&args.key).exists() {
        args.key.clone()
    } else {
        read_arg(&args.key, "key file")?
    };
    let verifier = CheckpointVerifier::parse(&key_text).context("the public key is not valid")?;
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| {
            let text = if w.contains('+') && !std::path::Path::new(w).exists() {
                w.clone()
            } else {
                read_arg(w, "witness key file")?
            };
            WitnessVerifier::parse(&text)
                .with_context(|| format!("`--witness`: `{}` is not a witness key", text.trim()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let quorum = args.quorum.unwrap_or(witnesses.len());
    if quorum == 0 && !witnesses.is_empty() || quorum > witnesses.len() {
        anyhow::bail!("`--quorum`: is {quorum}; use 1 to the number of `--witness` keys ({})", witnesses.len());
    }
    let note = match &args.checkpoint {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read checkpoint `{}`", path.display()))?
        }
        None => match &proof {
            Proof::Inclusion { checkpoint: Some(note), .. } | Proof::Consistency { checkpoint: Some(note), .. } => {
                note.clone()
            }
            _ => anyhow::bail!("`--checkpoint`: the proof carries no checkpoint; give the signed checkpoint file"),
        },
    };
    let outcome = checkpoints::check_proof(&proof, &note, &verifier).witnessed(&note, &witnesses, quorum);
    let human = if outcome.ok {
        format!("{}\n", outcome.message)
    } else {
        format!("proof does NOT check: {}\n", outcome.message)
    };
    let ok = outcome.ok;
    Ok(Report::new(human, outcome).passed_if(ok))
}

/// One round of witnessing now: sign the latest checkpoint (when the ledger grew), ask every
/// configured witness, publish the quorum's cosigned checkpoint; refusals are reported (an
/// alert to the configured channels) and fail the command.
fn witness(global: &GlobalArgs) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let log = AuditLog::open_with_store(&data, &store)?;
    let app = std::sync::Arc::new(crate::access::open_service(&data, &store, &log)?);
    if app.witness_rules().witnesses.is_empty() {
        anyhow::bail!("no witness is configured (`[witnesses]` in the data directory's deployment.toml)");
    }
    log.checkpoint()?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime")?;
    let round = runtime.block_on(tokutei_web::witness::Witnessing::new(app).round())?;
    let mut human = format!(
        "チェックポイント（サイズ {}） / checkpoint of size {}: {}\n",
        round.size.unwrap_or(0),
        round.size.unwrap_or(0),
        if round.published {
            "公開済み（定足数の連署あり） / published (cosigned by a quorum)"
        } else {
            "未公開 / not published"
        }
    );
    for name in &round.cosigned {
        human.push_str(&format!("  連署 / cosigned: {name}\n"));
    }
    for (name, why) in &round.refused {
        human.push_str(&format!("  拒否 / REFUSED by {name}: {why}\n"));
    }
    let ok = round.refused.is_empty() && round.published;
    Ok(Report::new(human, &round).passed_if(ok))
}

fn append_load(global: &GlobalArgs, args: AppendLoadArgs) -> anyhow::Result<Report> {
    let data = global.data_dir();
    if !data.is_initialised() {
        data.create()?;
    }
    let store = data.open_or_create_store()?;
    let log = AuditLog::open_with_store(&data, &store)?;
    let options = LoadOptions {
        appenders: args.appenders,
        duration: Duration::from_secs_f64(args.seconds),
        count: args.count,
        checkpoint_every: args.checkpoint_every_ms.map(Duration::from_millis),
    };
    let sign = || log.checkpoint().map(drop).map_err(|e| format!("{e:#}"));
    let stdout = std::io::stdout();
    let print = |index: u64| -> std::io::Result<()> {
        if args.print {
            let mut out = stdout.lock();
            writeln!(out, "appended {index}")?;
            out.flush()?;
        }
        Ok(())
    };
    let summary = ledger_load::run(log.ledger(), &options, Some(&sign), &print)?;
    let size = log.ledger().tree_size()?;
    Ok(Report::new(
        format!(
            "{} durable appends in {:.2} s with {} appenders: {:.0}/s\n",
            summary.appended, summary.seconds, args.appenders, summary.appends_per_second
        ),
        serde_json::json!({
            "appenders": args.appenders, "appended": summary.appended, "seconds": summary.seconds,
            "appends_per_second": summary.appends_per_second, "tree_size": size,
            "checkpoints_signed": summary.checkpoints_signed,
        }),
    ))
}
