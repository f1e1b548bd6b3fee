//! The key actions, audited first like every administrative action: rotating the
//! key-encryption key (a new KEK becomes active and every data key — the subscribers' and
//! those of the staff's sealed TOTP secrets — is re-wrapped under it, values untouched),
//! retiring a KEK no key uses any more, sealing the TOTP secrets an older tokutei stored in
//! clear, and the usage of each KEK (a read).
//!
//! Rotation is one `key_rotated` entry (`kek/<new id>`, the previous KEK, how many data keys
//! and TOTP keys it moves), durable before the new key file is written; then the data keys
//! move page by page, each page one transaction. An interrupted rotation is finished by the
//! next one: it re-wraps every key not under its own new KEK, wherever the first one stopped.

use jiff::Timestamp;
use serde::Serialize;
use tokutei_ledger::AdminAction;
use tokutei_store::auth::TotpSecret;
use tokutei_store::vault::WrappedDataKey;
use zeroize::Zeroizing;

use crate::access::{App, Stores};
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::key_access::totp_owner;
use crate::keyring::{Keyring, valid_kek_id};

/// Data keys re-wrapped per transaction.
const PAGE: usize = 1000;

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotated {
    /// The new active KEK.
    pub kek_id: String,
    /// The KEK that was active before.
    pub previous: String,
    /// Subscribers' data keys re-wrapped.
    pub data_keys: u64,
    /// Keys of sealed TOTP secrets re-wrapped.
    pub totp_keys: u64,
    /// The `key_rotated` entry.
    pub audit_index: u64,
}

/// What a retirement did.
#[derive(Debug, Clone, Serialize)]
pub struct Retired {
    pub kek_id: String,
    /// The `key_retired` entry.
    pub audit_index: u64,
}

/// One KEK, from the keyring or named by a stored key, and what it wraps.
#[derive(Debug, Clone, Serialize)]
pub struct KekUsage {
    pub id: String,
    pub active: bool,
    pub data_keys: u64,
    /// Keys of sealed TOTP secrets of the staff wrapped by it.
    pub totp_secrets: u64,
    /// False when stored keys name a KEK the keyring does not have: they cannot be opened.
    pub key_file: bool,
}

impl App {
    /// Make a new KEK active and re-wrap every data key under it, audited first: by a chief
    /// manager or a responsible person (`by`), refused when the active KEK comes from an
    /// external file (rotate by pointing at a new file there).
    pub fn rotate_keys(&self, by: &Acting, keyring: &mut Keyring, at: Timestamp) -> ActionResult<Rotated> {
        let actor = self.authorize(by, MANAGERS, "rotate keys")?;
        if keyring.is_external() {
            return Err(ActionError::Conflict(format!(
                "the active key-encryption key comes from `{}`; unset it to rotate keys in the data directory",
                crate::keyring::KEK_FILE_ENV
            )));
        }
        let stores = self.stores().as_ref();
        let previous = keyring.active().id().to_string();
        let data_keys: u64 = stores.kek_usage()?.iter().map(|(_, n)| n).sum();
        let totp_keys = stores.totp_keys()?.len() as u64;
        let kek = keyring.next_kek(at)?;
        let entry = AdminEntry::new(AdminAction::KeyRotated, format!("kek/{}", kek.id()))
            .detail("previous", &previous)
            .detail("data_keys", data_keys)
            .detail("totp_keys", totp_keys);
        let audit_index = self.audit_admin(actor, entry, at)?;
        keyring.install_active(kek)?;
        let data_keys = rewrap_data_keys(stores, keyring)?;
        let totp_keys = rewrap_totp_keys(stores, keyring)?;
        Ok(Rotated { kek_id: keyring.active().id().to_string(), previous, data_keys, totp_keys, audit_index })
    }

    /// Destroy the key file of KEK `kek_id`, audited first: by a chief manager or a
    /// responsible person, never the active KEK, and only once no data key or TOTP key uses it.
    pub fn retire_key(&self, by: &Acting, keyring: &mut Keyring, kek_id: &str, at: Timestamp) -> ActionResult<Retired> {
        let actor = self.authorize(by, MANAGERS, "retire keys")?;
        if !valid_kek_id(kek_id) {
            return Err(ActionError::invalid("kek", format!("`{kek_id}` is not a key-encryption key id")));
        }
        if kek_id == keyring.active().id() {
            return Err(ActionError::Conflict(format!(
                "key-encryption key `{kek_id}` is the active one; rotate first"
            )));
        }
        if !keyring.has_key_file(kek_id) {
            return Err(ActionError::NotFound(format!("key-encryption key `{kek_id}`")));
        }
        let usage = self.key_usage(keyring)?;
        let in_use = usage.iter().find(|u| u.id == kek_id).map_or(0, |u| u.data_keys + u.totp_secrets);
        if in_use > 0 {
            return Err(ActionError::Conflict(format!(
                "key-encryption key `{kek_id}` still wraps {in_use} data keys; rotate the keys first"
            )));
        }
        let entry =
            AdminEntry::new(AdminAction::KeyRetired, format!("kek/{kek_id}")).detail("active", keyring.active().id());
        let audit_index = self.audit_admin(actor, entry, at)?;
        keyring.destroy(kek_id)?;
        Ok(Retired { kek_id: kek_id.to_string(), audit_index })
    }

    /// Every KEK of `keyring` and every KEK a stored key names, with how many keys each wraps.
    pub fn key_usage(&self, keyring: &Keyring) -> ActionResult<Vec<KekUsage>> {
        let stores = self.stores();
        let usage = stores.kek_usage()?;
        let totp = stores.totp_keys()?;
        let data_of = |id: &str| usage.iter().find(|(k, _)| k == id).map_or(0, |(_, n)| *n);
        let totp_of = |id: &str| totp.iter().filter(|(_, k)| k.kek_id == id).count() as u64;
        let mut rows: Vec<KekUsage> = keyring
            .kek_ids()
            .map(|(id, active)| KekUsage {
                id: id.to_string(),
                active,
                data_keys: data_of(id),
                totp_secrets: totp_of(id),
                key_file: true,
            })
            .collect();
        let used = usage.iter().map(|(id, _)| id.clone()).chain(totp.iter().map(|(_, k)| k.kek_id.clone()));
        for id in used.collect::<std::collections::BTreeSet<_>>() {
            if !rows.iter().any(|r| r.id == id) {
                rows.push(KekUsage {
                    data_keys: data_of(&id),
                    totp_secrets: totp_of(&id),
                    id,
                    active: false,
                    key_file: false,
                });
            }
        }
        Ok(rows)
    }

    /// Seal every TOTP secret still stored in clear (enrolled before migration `0010`, which
    /// cannot seal: the keys are not in the database) for `staff/<id>/totp`, each after its
    /// `staff_changed` entry (`totp_sealed`) is durable. `serve` runs it at start (`by` is
    /// then the server). Returns how many were sealed; safe to run again after an
    /// interruption: a sealed secret is not in clear any more.
    pub fn seal_clear_totp(&self, by: &Acting, at: Timestamp) -> ActionResult<usize> {
        let actor = self.authorize(by, MANAGERS, "seal TOTP secrets")?;
        let stores = self.stores();
        let mut sealed = 0;
        for principal in stores.clear_totp_principals()? {
            let Some(TotpSecret::Clear(raw)) = stores.credentials(&principal)?.and_then(|c| c.totp) else {
                continue;
            };
            let raw = Zeroizing::new(raw);
            let owner = totp_owner(&principal);
            let secret = self
                .keys()
                .seal_secret(&owner, &raw)
                .map_err(|message| ActionError::Key { subscriber: owner.clone(), message })?;
            let entry = AdminEntry::new(AdminAction::StaffChanged, format!("staff/{principal}"))
                .detail("change", "totp_sealed");
            self.audit_admin(actor.clone(), entry, at)?;
            stores.set_totp(&principal, &secret)?;
            sealed += 1;
        }
        Ok(sealed)
    }
}

/// Re-wrap every subscriber's data key not under the active KEK, page by page (each page one
/// transaction). Returns how many moved.
fn rewrap_data_keys(stores: &dyn Stores, keyring: &Keyring) -> ActionResult<u64> {
    let active = keyring.active().id().to_string();
    let mut after: Option<String> = None;
    let mut rewrapped = 0u64;
    loop {
        let page = stores.wrapped_keys(after.as_deref(), PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        let mut batch: Vec<(String, WrappedDataKey)> = Vec::with_capacity(page.len());
        for (subscriber, wrapped) in page {
            if wrapped.kek_id == active {
                continue;
            }
            let key = keyring.unwrap(&subscriber, &wrapped)?;
            let new = keyring.wrap_active(&subscriber, &key)?;
            batch.push((subscriber, new));
        }
        rewrapped += batch.len() as u64;
        stores.rewrap_keys(&batch)?;
    }
    Ok(rewrapped)
}

/// Re-wrap the data keys of the sealed TOTP secrets not under the active KEK. Returns how
/// many moved.
fn rewrap_totp_keys(stores: &dyn Stores, keyring: &Keyring) -> ActionResult<u64> {
    let active = keyring.active().id().to_string();
    let mut rewrapped = 0u64;
    for (principal, wrapped) in stores.totp_keys()? {
        if wrapped.kek_id == active {
            continue;
        }
        let owner = totp_owner(&principal);
        let key = keyring.unwrap(&owner, &wrapped)?;
        stores.rewrap_totp_key(&principal, &keyring.wrap_active(&owner, &key)?)?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}
