//! Provisioning for the test suite on a fresh machine: make sure the local PostgreSQL answers
//! on 127.0.0.1:5432 (database `test`, trust auth) and that Debian's `chromium` and
//! `chromium-driver` are installed for the browser tests. Each step is idempotent and only
//! acts when something is missing.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::bail;

use crate::run;

pub(crate) fn all() -> anyhow::Result<()> {
    postgres()?;
    chromium()?;
    Ok(())
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

fn chromium() -> anyhow::Result<()> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    let sudo: &[&str] = if is_root { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut full: Vec<&str> = sudo.to_vec();
        full.push("apt-get");
        full.extend_from_slice(args);
        run(full[0], &full[1..])
    };
    apt(&["update", "-q"])?;
    apt(&["install", "-y", "-q", "--no-install-recommends", "chromium", "chromium-driver"])?;
    Ok(())
}
