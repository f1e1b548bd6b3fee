//! The keyring: key-encryption keys (KEKs) and the blind-index key, kept as 0600 files under
//! `keys/` in the data directory, never in the database.
//!
//! Files: `keys/kek-<id>.key` (`tokutei-kek v1 <id> <hex>`), `keys/active-kek` (the id new
//! data keys are wrapped with), `keys/blind-index.key` (`tokutei-blind-index v1 <hex>`). The
//! environment variable `TOKUTEI_KEK_FILE` may name a KEK file kept elsewhere (e.g. a mounted
//! secret); it is then the active KEK.
//!
//! Also here: opening a subscriber's values (unwrap its data key, decrypt, check blob hashes),
//! the one internal read path the access gateway builds on; and sealing the TOTP secrets that
//! an older tokutei stored in clear ([`seal_clear_totp`], run by `tokutei serve` at start).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tokutei_crypto::{BlindIndexKey, DataKey, Kek, WrappedKey};
use tokutei_store::vault::{StoredValue, VaultStore, WrappedDataKey};
use zeroize::Zeroizing;

use crate::data_dir::{DataDir, read_secret_file, write_secret_file};

/// The environment variable naming an external KEK file.
pub const KEK_FILE_ENV: &str = "TOKUTEI_KEK_FILE";

const KEK_MAGIC: &str = "tokutei-kek v1";
const BLIND_MAGIC: &str = "tokutei-blind-index v1";

/// The loaded keys.
#[derive(Debug)]
pub struct Keyring {
    dir: PathBuf,
    keks: BTreeMap<String, Kek>,
    active: String,
    /// The active KEK comes from `TOKUTEI_KEK_FILE`.
    external: bool,
    blind: BlindIndexKey,
}

fn kek_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("kek-{id}.key"))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_kek(path: &Path, text: &str) -> anyhow::Result<Kek> {
    let mut parts = text.trim().rsplitn(3, ' ');
    let (Some(hex_key), Some(id), Some(magic)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("key file `{}` is not a tokutei key-encryption key", path.display());
    };
    if magic != KEK_MAGIC || !valid_id(id) {
        bail!("key file `{}` is not a tokutei key-encryption key", path.display());
    }
    let raw =
        Zeroizing::new(hex::decode(hex_key).with_context(|| format!("key file `{}` is damaged", path.display()))?);
    Kek::from_bytes(id, &raw).with_context(|| format!("key file `{}` is damaged", path.display()))
}

fn kek_file_text(kek: &Kek) -> Zeroizing<String> {
    Zeroizing::new(format!("{KEK_MAGIC} {} {}\n", kek.id(), hex::encode(kek.secret_bytes())))
}

/// A new KEK id: the UTC time of its creation.
fn new_kek_id(existing: &BTreeMap<String, Kek>, dir: &Path) -> String {
    let base = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let mut id = base.clone();
    let mut n = 1;
    while existing.contains_key(&id) || kek_path(dir, &id).exists() {
        n += 1;
        id = format!("{base}-{n}");
    }
    id
}

impl Keyring {
    /// Load the keyring of `data`, creating the first KEK and the blind-index key if there
    /// are none yet.
    pub fn open_or_create(data: &DataDir) -> anyhow::Result<Keyring> {
        let dir = data.keys_dir();
        fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
        let blind_path = dir.join("blind-index.key");
        if !blind_path.exists() {
            let key = BlindIndexKey::generate()?;
            let text = Zeroizing::new(format!("{BLIND_MAGIC} {}\n", hex::encode(key.secret_bytes())));
            write_secret_file(&blind_path, text.as_bytes())?;
        }
        let has_kek = std::env::var_os(KEK_FILE_ENV).is_some() || dir.join("active-kek").exists();
        if !has_kek {
            let kek = Kek::generate(new_kek_id(&BTreeMap::new(), &dir))?;
            write_secret_file(&kek_path(&dir, kek.id()), kek_file_text(&kek).as_bytes())?;
            set_active_file(&dir, kek.id())?;
        }
        Keyring::open(data)
    }

    /// Load the keyring of `data`; fails when it has no keys.
    pub fn open(data: &DataDir) -> anyhow::Result<Keyring> {
        let dir = data.keys_dir();
        let blind_path = dir.join("blind-index.key");
        if !blind_path.exists() {
            bail!("data directory `{}` has no vault keys yet; import subscribers first", data.root().display());
        }
        let text = Zeroizing::new(String::from_utf8(read_secret_file(&blind_path)?).unwrap_or_default());
        let hex_key = text
            .trim()
            .strip_prefix(BLIND_MAGIC)
            .with_context(|| format!("key file `{}` is not a blind-index key", blind_path.display()))?;
        let raw = Zeroizing::new(
            hex::decode(hex_key.trim()).with_context(|| format!("key file `{}` is damaged", blind_path.display()))?,
        );
        let blind = BlindIndexKey::from_bytes(&raw)?;

        let mut keks = BTreeMap::new();
        for entry in fs::read_dir(&dir).with_context(|| format!("cannot read `{}`", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with("kek-") && name.ends_with(".key") {
                let text = Zeroizing::new(String::from_utf8(read_secret_file(&path)?).unwrap_or_default());
                let kek = parse_kek(&path, &text)?;
                keks.insert(kek.id().to_string(), kek);
            }
        }
        let (active, external) = match std::env::var_os(KEK_FILE_ENV) {
            Some(path) => {
                let path = PathBuf::from(path);
                let text = Zeroizing::new(String::from_utf8(read_secret_file(&path)?).unwrap_or_default());
                let kek = parse_kek(&path, &text)?;
                let id = kek.id().to_string();
                keks.insert(id.clone(), kek);
                (id, true)
            }
            None => {
                let active_path = dir.join("active-kek");
                let id = fs::read_to_string(&active_path)
                    .with_context(|| format!("cannot read `{}`", active_path.display()))?
                    .trim()
                    .to_string();
                if !keks.contains_key(&id) {
                    bail!("the active key-encryption key `{id}` has no key file in `{}`", dir.display());
                }
                (id, false)
            }
        };
        Ok(Keyring { dir, keks, active, external, blind })
    }

    /// The KEK new data keys are wrapped with.
    pub fn active(&self) -> &Kek {
        // INVARIANT: `open` checks the active id has a loaded key.
        &self.keks[&self.active]
    }

    pub fn blind(&self) -> &BlindIndexKey {
        &self.blind
    }

    /// Ids of the loaded KEKs and whether each is the active one.
    pub fn kek_ids(&self) -> impl Iterator<Item = (&str, bool)> {
        self.keks.keys().map(|id| (id.as_str(), *id == self.active))
    }

    /// Unwrap a subscriber's data key with whichever KEK wrapped it.
    pub fn unwrap(&self, subscriber: &str, wrapped: &WrappedDataKey) -> anyhow::Result<DataKey> {
        let Some(kek) = self.keks.get(&wrapped.kek_id) else {
            bail!("the key-encryption key `{}` of subscriber `{subscriber}` is not in the keyring", wrapped.kek_id);
        };
        let wrapped = WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        kek.unwrap(subscriber, &wrapped)
            .with_context(|| format!("cannot unwrap the data key of subscriber `{subscriber}`"))
    }

    /// Wrap a fresh data key for `subscriber` with the active KEK.
    pub fn new_data_key(&self, subscriber: &str) -> anyhow::Result<(DataKey, WrappedDataKey)> {
        let key = DataKey::generate()?;
        let wrapped = self.active().wrap(subscriber, &key)?;
        Ok((key, WrappedDataKey { kek_id: wrapped.kek_id, bytes: wrapped.bytes }))
    }

    /// Create a new KEK and make it the active one. Refused when the active KEK comes from
    /// `TOKUTEI_KEK_FILE` (rotate by pointing it at a new file instead).
    pub fn add_active_kek(&mut self) -> anyhow::Result<&Kek> {
        if self.external {
            bail!(
                "the active key-encryption key comes from `{KEK_FILE_ENV}`; unset it to rotate keys in the data directory"
            );
        }
        let kek = Kek::generate(new_kek_id(&self.keks, &self.dir))?;
        write_secret_file(&kek_path(&self.dir, kek.id()), kek_file_text(&kek).as_bytes())?;
        set_active_file(&self.dir, kek.id())?;
        let id = kek.id().to_string();
        self.keks.insert(id.clone(), kek);
        self.active = id;
        Ok(self.active())
    }

    /// Delete a KEK's key file. The caller checks no data key uses it.
    pub fn retire(&mut self, id: &str) -> anyhow::Result<()> {
        if id == self.active {
            bail!("key-encryption key `{id}` is the active one; rotate first");
        }
        let path = kek_path(&self.dir, id);
        if !self.keks.contains_key(id) || !path.exists() {
            bail!("key-encryption key `{id}` is not in `{}`", self.dir.display());
        }
        // Overwrite before unlinking, so the bytes do not linger in the file's blocks.
        fs::write(&path, [0u8; 96]).with_context(|| format!("cannot overwrite `{}`", path.display()))?;
        fs::remove_file(&path).with_context(|| format!("cannot delete `{}`", path.display()))?;
        self.keks.remove(id);
        Ok(())
    }
}

fn set_active_file(dir: &Path, id: &str) -> anyhow::Result<()> {
    let tmp = dir.join("active-kek.tmp");
    fs::write(&tmp, format!("{id}\n")).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    fs::rename(&tmp, dir.join("active-kek")).with_context(|| format!("cannot write `{}`", dir.display()))?;
    Ok(())
}

/// Seal every TOTP secret still stored in clear (enrolled before migration `0010`, which
/// cannot seal: the keys are not in the database) under the active KEK, for
/// `staff/<id>/totp`; each gets its audit entry first. Returns how many were sealed. Safe to
/// run again after an interruption: a sealed secret is not in clear any more.
pub fn seal_clear_totp(
    store: &dyn crate::backend::Store,
    keys: &dyn tokutei_app::KeyAccess,
    audit: &crate::audit_log::AuditLog,
) -> anyhow::Result<usize> {
    let mut sealed = 0;
    for principal in store.clear_totp_principals()? {
        let Some(tokutei_store::auth::TotpSecret::Clear(raw)) = store.credentials(&principal)?.and_then(|c| c.totp)
        else {
            continue;
        };
        let raw = Zeroizing::new(raw);
        let secret = keys.seal_secret(&tokutei_app::totp_owner(&principal), &raw).map_err(anyhow::Error::msg)?;
        audit.append_admin(
            tokutei_ledger::Actor::System("serve".into()),
            tokutei_ledger::AdminAction::StaffChanged,
            &format!("staff/{principal}"),
            None,
            vec![("change".into(), "totp_sealed".into())],
        )?;
        store.set_totp(&principal, &secret)?;
        sealed += 1;
    }
    Ok(sealed)
}

/// A decrypted value. The plaintext is wiped on drop.
#[derive(Debug)]
#[allow(dead_code, reason = "the access gateway reads the values; `subscribers verify` only counts them")]
pub struct OpenedValue {
    pub stored: StoredValue,
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// Why a value did not open.
#[derive(Debug)]
pub struct UnreadableValue {
    pub category: String,
    pub version: u32,
    pub reason: String,
}

/// What opening a subscriber's values gave.
#[derive(Debug, Default)]
pub struct Opened {
    pub values: Vec<OpenedValue>,
    pub unreadable: Vec<UnreadableValue>,
    /// The subscriber was erased: its values exist only as ciphertext nobody can open.
    pub erased: bool,
}

/// Decrypt a subscriber's values (current only unless `history`). Every value that does not
/// authenticate (altered, moved between rows, blob hash mismatch) is reported, never skipped.
pub fn open_values(
    store: &(impl VaultStore + ?Sized),
    keyring: &Keyring,
    subscriber: &str,
    history: bool,
) -> anyhow::Result<Opened> {
    let stored = store.values(subscriber, None, history)?;
    let Some(wrapped) = store.data_key(subscriber)? else {
        return Ok(Opened {
            erased: true,
            unreadable: stored
                .into_iter()
                .map(|v| UnreadableValue { category: v.category, version: v.version, reason: "erased".into() })
                .collect(),
            values: Vec::new(),
        });
    };
    let key = keyring.unwrap(subscriber, &wrapped)?;
    let mut out = Opened::default();
    for v in stored {
        let slot = tokutei_app::codec::ValueSlot { subscriber, category: &v.category, version: v.version };
        match tokutei_app::codec::open(&key, slot, &v.sealed) {
            Ok(plaintext) => out.values.push(OpenedValue { stored: v, plaintext }),
            Err(e) => out.unreadable.push(UnreadableValue {
                category: v.category.clone(),
                version: v.version,
                reason: e.to_string(),
            }),
        }
    }
    Ok(out)
}
