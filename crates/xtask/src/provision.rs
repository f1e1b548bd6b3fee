//! Provisioning for the test suite on a fresh machine: make sure the local PostgreSQL answers
//! on 127.0.0.1:5432 (database `test`, trust auth); that Debian's `chromium`,
//! `chromium-driver`, a Japanese font (readable screenshots) and a Java runtime are installed
//! for the browser tests; and that the Nu HTML Checker (`vnu-jar` from the npm registry, pinned
//! to [`VNU_VERSION`]) sits in `~/.cache/tokutei/vnu-jar-<version>/`, where the browser tests
//! look for it; and that schemathesis (from PyPI, pinned to [`SCHEMATHESIS_VERSION`]) sits in
//! a Python virtual environment in `~/.cache/tokutei/schemathesis-<version>/`, where the
//! binary's API test (`crates/tokutei/tests/it/schemathesis.rs`) looks for it. Each step is
//! idempotent and only acts when something is missing.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::bail;

use crate::run;

pub(crate) fn all() -> anyhow::Result<()> {
    postgres()?;
    chromium()?;
    vnu()?;
    schemathesis()?;
    Ok(())
}

/// The pinned version of the `vnu-jar` npm package (the Nu HTML Checker).
pub(crate) const VNU_VERSION: &str = "26.9.27";

/// Where the pinned checker is installed: `~/.cache/tokutei/vnu-jar-<version>` (outside the
/// repository, so every checkout and target directory of the machine shares it).
fn vnu_prefix() -> anyhow::Result<PathBuf> {
    Ok(cache_dir("the Nu HTML Checker")?.join(format!("vnu-jar-{VNU_VERSION}")))
}

/// `~/.cache/tokutei`, shared by every checkout and target directory of the machine.
fn cache_dir(what: &str) -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
    let Some(home) = home else { bail!("HOME is not set: cannot choose where to install {what}") };
    Ok(PathBuf::from(home).join(".cache/tokutei"))
}

fn postgres_up() -> bool {
    let addr: SocketAddr = ([127, 0, 0, 1], 5432).into();
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

fn postgres() -> anyhow::Result<()> {
    if postgres_up() {
        return Ok(());
    }
    // Debian's cluster tooling, as the machine starts it.
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    for version in &versions {
        let _ = run("pg_ctlcluster", &["--skip-systemctl-redirect", version, "main", "start"]);
    }
    for _ in 0..30 {
        if postgres_up() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    bail!("PostgreSQL is not answering on 127.0.0.1:5432 and could not be started (clusters: {versions:?})")
}

/// Debian packages the browser tests need, each with a file that shows it is installed.
const BROWSER_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "/usr/bin/chromium"),
    ("chromium-driver", "/usr/bin/chromedriver"),
    ("fonts-ipafont-gothic", "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    ("default-jre-headless", "/usr/bin/java"),
];

fn chromium() -> anyhow::Result<()> {
    let missing: Vec<&str> =
        BROWSER_PACKAGES.iter().filter(|(_, file)| !Path::new(file).exists()).map(|(package, _)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    let sudo: &[&str] = if is_root { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut full: Vec<&str> = sudo.to_vec();
        full.push("apt-get");
        full.extend_from_slice(args);
        run(full[0], &full[1..])
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(packages);
    apt(&install)?;
    Ok(())
}

/// The Nu HTML Checker's jar, installed with npm when it is not there yet.
fn vnu() -> anyhow::Result<()> {
    let prefix = vnu_prefix()?;
    if prefix.join("node_modules/vnu-jar/build/dist/vnu.jar").exists() {
        return Ok(());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        apt_install(&["npm"])?;
    }
    std::fs::create_dir_all(&prefix)?;
    let prefix = prefix.to_string_lossy().into_owned();
    let package = format!("vnu-jar@{VNU_VERSION}");
    // `--ignore-scripts`: the package's install script would fetch a Java runtime of its own;
    // the machine's Java runs the jar.
    run("npm", &["install", "--prefix", &prefix, "--no-audit", "--no-fund", "--ignore-scripts", &package])
}

/// The pinned version of `schemathesis` (PyPI), the OpenAPI fuzzer the API test runs.
pub(crate) const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The file written once the virtual environment holds the pinned schemathesis: the test
/// looks for it, so a half-finished install is never used.
const SCHEMATHESIS_MARKER: &str = "tokutei-provisioned";

/// schemathesis in its own virtual environment, `~/.cache/tokutei/schemathesis-<version>/`
/// (`bin/schemathesis`), installed with pip when it is not there yet or an install stopped
/// half-way.
fn schemathesis() -> anyhow::Result<()> {
    let prefix = cache_dir("schemathesis")?.join(format!("schemathesis-{SCHEMATHESIS_VERSION}"));
    let marker = prefix.join(SCHEMATHESIS_MARKER);
    if marker.exists() && prefix.join("bin/schemathesis").exists() {
        return Ok(());
    }
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).args(["-c", "import venv, ensurepip"]).output().is_ok_and(|o| o.status.success()));
    let python = match python {
        Some(p) => p,
        None => {
            apt_install(&["python3", "python3-venv"])?;
            "python3"
        }
    };
    std::fs::create_dir_all(&prefix)?;
    let dir = prefix.to_string_lossy().into_owned();
    // `--clear` starts again from an empty environment when an earlier install stopped half-way.
    run(python, &["-m", "venv", "--clear", &dir])?;
    let pip = prefix.join("bin/pip").to_string_lossy().into_owned();
    let package = format!("schemathesis=={SCHEMATHESIS_VERSION}");
    run(&pip, &["install", "--quiet", "--disable-pip-version-check", "--no-input", &package])?;
    let version = Command::new(prefix.join("bin/schemathesis")).arg("--version").output()?;
    let printed = String::from_utf8_lossy(&version.stdout);
    if !version.status.success() || !printed.contains(SCHEMATHESIS_VERSION) {
        bail!("schemathesis was installed in `{dir}` but does not report version {SCHEMATHESIS_VERSION}: {printed}");
    }
    std::fs::write(&marker, format!("schemathesis {SCHEMATHESIS_VERSION}\n"))?;
    Ok(())
}
