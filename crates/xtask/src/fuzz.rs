//! `cargo xtask fuzz [TARGET] [SECONDS]`: run the coverage-guided fuzz targets of `fuzz/`
//! (cargo-fuzz, libFuzzer) for a while each, seeded with the parsers' test fixtures
//! (`docs/testing.md`). cargo-fuzz is installed with `cargo install` when it is missing.
//!
//! libFuzzer builds need flags the stable compiler accepts only with `RUSTC_BOOTSTRAP=1`
//! (`-Zsanitizer=address`); the machine has only the stable toolchain, so the fuzz build sets
//! it — for that build only, never for the workspace's own builds and tests.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::run;

/// The pinned version of cargo-fuzz.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Each target and the directories (from the repository root) its corpus is seeded from.
pub(crate) const TARGETS: &[(&str, &[&str])] = &[
    ("policy_file", &["crates/tokutei-policy/tests/invalid", "crates/tokutei-policy/policies"]),
    ("policy_text_import", &["crates/tokutei-policy/tests/import", "../shared/seed"]),
];

pub(crate) fn fuzz(args: &[String]) -> anyhow::Result<()> {
    let mut only = None;
    let mut seconds = 60u64;
    for a in args {
        match a.parse::<u64>() {
            Ok(n) => seconds = n,
            Err(_) if TARGETS.iter().any(|(t, _)| t == a) => only = Some(a.as_str()),
            Err(_) => {
                let names: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
                bail!("`{a}` is neither a fuzz target ({}) nor a number of seconds", names.join(", "));
            }
        }
    }
    cargo_fuzz()?;
    // Paths below are from the repository root, wherever the command was started.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::set_current_dir(&root).with_context(|| format!("cannot enter `{}`", root.display()))?;
    for (target, seeds) in TARGETS.iter().filter(|(t, _)| only.is_none_or(|o| o == *t)) {
        let corpus = format!("fuzz/corpus/{target}");
        std::fs::create_dir_all(&corpus).with_context(|| format!("cannot create `{corpus}`"))?;
        let mut args: Vec<String> = vec!["fuzz".into(), "run".into(), (*target).into(), corpus];
        args.extend(seeds.iter().filter(|s| Path::new(s).is_dir()).map(|s| (*s).to_string()));
        args.extend(["--".into(), format!("-max_total_time={seconds}"), "-print_final_stats=1".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        eprintln!("$ RUSTC_BOOTSTRAP=1 cargo {}", args.join(" "));
        let status = Command::new("cargo")
            .args(&args)
            .env("RUSTC_BOOTSTRAP", "1")
            .status()
            .context("cannot run `cargo fuzz`")?;
        if !status.success() {
            bail!("fuzz target `{target}` failed with {status}: see fuzz/artifacts/{target}/");
        }
    }
    Ok(())
}

/// cargo-fuzz, installed from crates.io when `cargo fuzz` does not answer.
fn cargo_fuzz() -> anyhow::Result<()> {
    let installed = Command::new("cargo").args(["fuzz", "--version"]).output();
    if installed.is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ_VERSION)) {
        return Ok(());
    }
    run("cargo", &["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked"])
}
