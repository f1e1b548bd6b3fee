//! `tokutei keys …`: key-encryption key rotation (re-wrap every data key without
//! re-encrypting values), listing, and retiring a KEK once no data key uses it.

use anyhow::bail;
use clap::Subcommand;
use serde::Serialize;
use tokutei_store::vault::{VaultStore, WrappedDataKey};

use crate::cli::GlobalArgs;
use crate::keyring::Keyring;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key-encryption key and re-wrap every subscriber's data key with it.
    Rotate,
    /// List key-encryption keys and how many data keys each wraps.
    List,
    /// Delete a key-encryption key that no data key uses any more.
    Retire {
        /// The key id.
        id: String,
    },
}

pub fn run(global: &GlobalArgs, cmd: KeysCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    match cmd {
        KeysCommand::Rotate => {
            let mut keyring = Keyring::open_or_create(&data)?;
            let rewrapped = rotate(&*store, &mut keyring)?;
            let id = keyring.active().id().to_string();
            Ok(Report::new(
                format!("new key-encryption key `{id}` is active; re-wrapped {rewrapped} data keys\n"),
                serde_json::json!({ "id": id, "rewrapped": rewrapped }),
            ))
        }
        KeysCommand::List => list(&*store, &Keyring::open(&data)?),
        KeysCommand::Retire { id } => {
            let mut keyring = Keyring::open(&data)?;
            let in_use = store.kek_usage()?.into_iter().find(|(k, _)| *k == id).map_or(0, |(_, n)| n);
            if in_use > 0 {
                bail!("key-encryption key `{id}` still wraps {in_use} data keys; run `tokutei keys rotate` first");
            }
            keyring.retire(&id)?;
            Ok(Report::new(format!("retired key-encryption key `{id}`\n"), serde_json::json!({ "id": id })))
        }
    }
}

/// Make a new KEK active and re-wrap all data keys under it, page by page (each page one
/// transaction). Values are not touched. Safe to re-run after an interruption: keys already
/// under the active KEK are skipped.
pub fn rotate(store: &(impl VaultStore + ?Sized), keyring: &mut Keyring) -> anyhow::Result<u64> {
    keyring.add_active_kek()?;
    let active = keyring.active().id().to_string();
    let mut after: Option<String> = None;
    let mut rewrapped = 0u64;
    loop {
        let page = store.wrapped_keys(after.as_deref(), 1000)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        let mut batch = Vec::with_capacity(page.len());
        for (subscriber, wrapped) in page {
            if wrapped.kek_id == active {
                continue;
            }
            let key = keyring.unwrap(&subscriber, &wrapped)?;
            let new = keyring.active().wrap(&subscriber, &key)?;
            batch.push((subscriber, WrappedDataKey { kek_id: new.kek_id, bytes: new.bytes }));
        }
        rewrapped += batch.len() as u64;
        store.rewrap_keys(&batch)?;
    }
    Ok(rewrapped)
}

#[derive(Debug, Serialize)]
struct KekRow {
    id: String,
    active: bool,
    data_keys: u64,
    key_file: bool,
}

fn list(store: &(impl VaultStore + ?Sized), keyring: &Keyring) -> anyhow::Result<Report> {
    let usage = store.kek_usage()?;
    let mut rows: Vec<KekRow> = keyring
        .kek_ids()
        .map(|(id, active)| KekRow {
            id: id.to_string(),
            active,
            data_keys: usage.iter().find(|(k, _)| k == id).map_or(0, |(_, n)| *n),
            key_file: true,
        })
        .collect();
    for (id, n) in &usage {
        if !rows.iter().any(|r| r.id == *id) {
            rows.push(KekRow { id: id.clone(), active: false, data_keys: *n, key_file: false });
        }
    }
    let mut human = String::from("key-encryption keys:\n");
    for r in &rows {
        human.push_str(&format!(
            "  {:<24} {:>10} data keys{}{}\n",
            r.id,
            r.data_keys,
            if r.active { "  (active)" } else { "" },
            if r.key_file { "" } else { "  MISSING KEY FILE" }
        ));
    }
    let ok = rows.iter().all(|r| r.key_file);
    Ok(Report::new(human, rows).passed_if(ok))
}
