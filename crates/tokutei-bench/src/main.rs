//! `cargo run --release -p tokutei-bench -- [--quick] [--only NAME] [--json FILE]`: tokutei
//! against its baselines, side by side in one run. Each row runs its tokutei side and its
//! baseline in alternation (A B A B …, at least 5 rounds) on the same data set, and reports
//! medians with min and max, and the ratio between them. Absolute figures on a shared machine
//! are noise; the ratios measured in the same run are the result.
//!
//! Rows: `decision` (the gateway's sliced, cached decision vs the same rules evaluated in
//! full by plain `cedar-policy`, and by `regorus` from a Rego module generated from them),
//! `audited-read-embedded` (decision + durable audit + decrypt with 64 clients vs raw SQLite
//! point reads of the same rows), `audited-read-postgres` (the same on PostgreSQL vs
//! row-level security + an audit row per read), `instances-postgres` (three gateway
//! instances vs one on one database), `audit-append` (durable appends with 1/8/64 appenders
//! vs the raw fsync rate), `bulk-import` (the release binary's import vs a raw plaintext
//! SQLite insert), `field-encryption` (sealing a value vs raw AES-256-GCM of the same bytes),
//! `ledger-verify-proofs` (verification vs raw SHA-256; proof generation and checking).

mod fixture;
mod harness;
mod import;
mod mix;
mod pg;
mod rego;
mod rows;

use std::path::PathBuf;

use clap::Parser;

/// Benchmarks of tokutei against baselines measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "tokutei-bench")]
struct Args {
    /// Short rounds and a small data set: a smoke check in under two minutes.
    #[arg(long)]
    quick: bool,
    /// Run only the rows whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Rounds per side (at least 5).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Subscribers per bulk-import round (default 20,000 with --quick, else 1,000,000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    import_subscribers: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rounds = args.rounds.max(5);
    let mut settings = if args.quick { harness::Settings::quick(rounds) } else { harness::Settings::full(rounds) };
    if let Some(n) = args.import_subscribers {
        settings.import_subscribers = usize::try_from(n)?;
    }
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    for row in rows::all() {
        if args.only.as_deref().is_some_and(|only| !row.name.contains(only)) {
            continue;
        }
        eprintln!("running {} …", row.name);
        let row_started = std::time::Instant::now();
        results.extend((row.run)(&settings)?);
        eprintln!("{} done in {:.0} s", row.name, row_started.elapsed().as_secs_f64());
    }
    if results.is_empty() {
        anyhow::bail!("no row matches `--only {}`", args.only.unwrap_or_default());
    }
    print!("{}", harness::markdown(&results));
    println!(
        "\n{} rounds per side, {} mode, {:.0} s in all, {} cores",
        rounds,
        if args.quick { "quick" } else { "full" },
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&results)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
