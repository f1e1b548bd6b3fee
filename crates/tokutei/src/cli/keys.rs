//! `tokutei keys …`: key-encryption key rotation (re-wrap every data key without
//! re-encrypting values — the subscribers' and those of the staff's sealed TOTP secrets),
//! listing, and retiring a KEK once no data key uses it.

use anyhow::bail;
use clap::Subcommand;
use serde::Serialize;
use tokutei_store::auth::AuthStore;
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
            let totp = rotate_totp(&*store, &keyring)?;
            let id = keyring.active().id().to_string();
            Ok(Report::new(
                format!(
                    "new key-encryption key `{id}` is active; re-wrapped {rewrapped} data keys and {totp} TOTP secrets' keys\n"
                ),
                serde_json::json!({ "id": id, "rewrapped": rewrapped, "rewrapped_totp": totp }),
            ))
        }
        KeysCommand::List => list(&*store, &Keyring::open(&data)?),
        KeysCommand::Retire { id } => {
            let mut keyring = Keyring::open(&data)?;
            let in_use = store.kek_usage()?.into_iter().find(|(k, _)| *k == id).map_or(0, |(_, n)| n)
                + store.totp_keys()?.iter().filter(|(_, k)| k.kek_id == id).count() as u64;
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

/// Re-wrap the data keys of the sealed TOTP secrets under the active KEK (after [`rotate`]
/// made a new one active); keys already under it are skipped. Returns how many moved.
pub fn rotate_totp(store: &(impl AuthStore + ?Sized), keyring: &Keyring) -> anyhow::Result<u64> {
    let active = keyring.active().id().to_string();
    let mut rewrapped = 0u64;
    for (principal, wrapped) in store.totp_keys()? {
        if wrapped.kek_id == active {
            continue;
        }
        let owner = tokutei_app::totp_owner(&principal);
        let key = keyring.unwrap(&owner, &wrapped)?;
        let new = keyring.active().wrap(&owner, &key)?;
        store.rewrap_totp_key(&principal, &WrappedDataKey { kek_id: new.kek_id, bytes: new.bytes })?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}

#[derive(Debug, Serialize)]
struct KekRow {
    id: String,
    active: bool,
    data_keys: u64,
    /// Keys of sealed TOTP secrets of the staff wrapped by it.
    totp_secrets: u64,
    key_file: bool,
}

fn list(store: &(impl VaultStore + AuthStore + ?Sized), keyring: &Keyring) -> anyhow::Result<Report> {
    let usage = store.kek_usage()?;
    let totp = store.totp_keys()?;
    let totp_of = |id: &str| totp.iter().filter(|(_, k)| k.kek_id == id).count() as u64;
    let mut rows: Vec<KekRow> = keyring
        .kek_ids()
        .map(|(id, active)| KekRow {
            id: id.to_string(),
            active,
            data_keys: usage.iter().find(|(k, _)| k == id).map_or(0, |(_, n)| *n),
            totp_secrets: totp_of(id),
            key_file: true,
        })
        .collect();
    let used = usage.iter().map(|(id, _)| id.clone()).chain(totp.iter().map(|(_, k)| k.kek_id.clone()));
    for id in used.collect::<std::collections::BTreeSet<_>>() {
        if !rows.iter().any(|r| r.id == id) {
            let data_keys = usage.iter().find(|(k, _)| *k == id).map_or(0, |(_, n)| *n);
            rows.push(KekRow { totp_secrets: totp_of(&id), id, active: false, data_keys, key_file: false });
        }
    }
    let mut human = String::from("key-encryption keys:\n");
    for r in &rows {
        human.push_str(&format!(
            "  {:<24} {:>10} data keys {:>4} TOTP secrets{}{}\n",
            r.id,
            r.data_keys,
            r.totp_secrets,
            if r.active { "  (active)" } else { "" },
            if r.key_file { "" } else { "  MISSING KEY FILE" }
        ));
    }
    let ok = rows.iter().all(|r| r.key_file);
    Ok(Report::new(human, rows).passed_if(ok))
}
