//! The `tokutei` binary: parses the command line, runs one command, prints its report (human
//! text or one JSON document with `--json`) and maps the outcome to an exit code:
//! 0 success, 1 a check failed (denied, tampered, invalid policy), 2 bad usage or input.

mod access;
mod audit_log;
mod backend;
mod cli;
mod copying;
mod data_dir;
mod keyring;
mod medium;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging();
    let json = cli.global.json;
    match cli::run(cli) {
        Ok(report) => output::print_report(&report, json),
        Err(err) => output::print_error(&err, json),
    }
}

/// Logs go to stderr, filtered by `TOKUTEI_LOG` (default `warn`; `serve` raises it to `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOKUTEI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,tokutei=info,tokutei_web=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
