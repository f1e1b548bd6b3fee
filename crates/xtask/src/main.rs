//! `cargo xtask`: the project's automation, in Rust rather than shell.
//!
//! - `cargo xtask ci` — the one test command (README, `.ci/run`): provisions what the tests
//!   need (the local PostgreSQL on 127.0.0.1:5432, Debian's `chromium` and `chromium-driver`,
//!   the Nu HTML Checker, schemathesis), then runs rustfmt, clippy with warnings denied, and
//!   the whole test suite.
//! - `cargo xtask provision` — only the provisioning step.
//! - `cargo xtask fuzz [TARGET] [SECONDS]` — the coverage-guided fuzz targets of `fuzz/`, for
//!   a while each (`docs/testing.md`).

mod fuzz;
mod provision;

use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "ci" => ci(),
        "provision" => provision::all(),
        "fuzz" => fuzz::fuzz(&std::env::args().skip(2).collect::<Vec<_>>()),
        _ => {
            eprintln!("usage: cargo xtask <ci|provision|fuzz [TARGET] [SECONDS]>");
            std::process::exit(2);
        }
    }
}

fn ci() -> anyhow::Result<()> {
    provision::all()?;
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    run("cargo", &["test", "--workspace", "--locked"])?;
    Ok(())
}

pub(crate) fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program).args(args).status().with_context(|| format!("cannot run `{program}`"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}
