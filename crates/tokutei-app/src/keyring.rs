//! The keyring: key-encryption keys (KEKs) and the blind-index key, kept as 0600 files in a
//! directory the front end names (the data directory's `keys/`), never in the database.
//!
//! Files: `kek-<id>.key` (`tokutei-kek v1 <id> <hex>`), `active-kek` (the id new data keys are
//! wrapped with), `blind-index.key` (`tokutei-blind-index v1 <hex>`). An external KEK file (the
//! front end reads [`KEK_FILE_ENV`], e.g. a mounted secret) is then the active KEK.
//!
//! Key files are created readable by their owner only and refused when group or others can
//! read them ([`read_secret_file`], [`write_secret_file`]; the checkpoint signing key uses them
//! too). The keyring is the binary's [`KeyAccess`]; changing it — a new active KEK, a retired
//! one — is only done by the audited actions of [`crate::keys`].

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use tokutei_crypto::{BlindIndexKey, CryptoError, DataKey, Kek, WrappedKey};
use tokutei_store::vault::WrappedDataKey;
use zeroize::Zeroizing;

use crate::key_access::KeyAccess;

/// The environment variable naming an external KEK file (read by the front end).
pub const KEK_FILE_ENV: &str = "TOKUTEI_KEK_FILE";

const KEK_MAGIC: &str = "tokutei-kek v1";
const BLIND_MAGIC: &str = "tokutei-blind-index v1";
const ACTIVE_FILE: &str = "active-kek";
const BLIND_FILE: &str = "blind-index.key";

/// Why the keyring could not be read or changed. Messages name files and key ids, never
/// key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    #[error("cannot {what} `{}`: {source}", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("key file `{}` is readable by others (mode {mode:o}); run `chmod 600` on it", .path.display())]
    Exposed { path: PathBuf, mode: u32 },
    #[error("key file `{}` is not a tokutei {what}", .path.display())]
    NotAKey { path: PathBuf, what: &'static str },
    #[error("key file `{}` is damaged", .path.display())]
    Damaged { path: PathBuf },
    #[error("`{}` holds no vault keys yet; import subscribers first", .dir.display())]
    NoKeys { dir: PathBuf },
    #[error("the active key-encryption key `{id}` has no key file in `{}`", .dir.display())]
    ActiveMissing { id: String, dir: PathBuf },
    #[error("the key-encryption key `{kek}` of `{owner}` is not in the keyring")]
    UnknownKek { kek: String, owner: String },
    #[error("cannot unwrap the data key of `{owner}`: {source}")]
    Unwrap {
        owner: String,
        #[source]
        source: CryptoError,
    },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

type Result<T> = std::result::Result<T, KeyringError>;

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KeyringError {
    let path = path.to_path_buf();
    move |source| KeyringError::Io { what, path, source }
}

/// Where the keyring's files are: a directory, and optionally a KEK file kept elsewhere that
/// is then the active one.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    pub dir: PathBuf,
    pub external_kek: Option<PathBuf>,
}

impl KeyFiles {
    /// The keys in `dir`, the active KEK among them.
    pub fn in_dir(dir: impl Into<PathBuf>) -> KeyFiles {
        KeyFiles { dir: dir.into(), external_kek: None }
    }
}

/// The loaded keys.
#[derive(Debug)]
pub struct Keyring {
    dir: PathBuf,
    keks: BTreeMap<String, Kek>,
    active: String,
    /// The active KEK comes from an external file.
    external: bool,
    blind: BlindIndexKey,
}

fn kek_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("kek-{id}.key"))
}

/// Whether `id` can name a KEK (and its file).
pub fn valid_kek_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_kek(path: &Path, text: &str) -> Result<Kek> {
    let not_a_key = || KeyringError::NotAKey { path: path.to_path_buf(), what: "key-encryption key" };
    let mut parts = text.trim().rsplitn(3, ' ');
    let (Some(hex_key), Some(id), Some(magic)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(not_a_key());
    };
    if magic != KEK_MAGIC || !valid_kek_id(id) {
        return Err(not_a_key());
    }
    let damaged = |_| KeyringError::Damaged { path: path.to_path_buf() };
    let raw = Zeroizing::new(hex::decode(hex_key).map_err(damaged)?);
    Kek::from_bytes(id, &raw).map_err(|_| KeyringError::Damaged { path: path.to_path_buf() })
}

fn kek_file_text(kek: &Kek) -> Zeroizing<String> {
    Zeroizing::new(format!("{KEK_MAGIC} {} {}\n", kek.id(), hex::encode(kek.secret_bytes())))
}

fn read_text(path: &Path) -> Result<Zeroizing<String>> {
    Ok(Zeroizing::new(String::from_utf8(read_secret_file(path)?).unwrap_or_default()))
}

impl Keyring {
    /// Load the keyring in `files`, creating the first KEK and the blind-index key if there
    /// are none yet.
    pub fn open_or_create(files: impl Into<KeyFiles>) -> Result<Keyring> {
        let files = files.into();
        let dir = &files.dir;
        fs::create_dir_all(dir).map_err(io("create", dir))?;
        let blind_path = dir.join(BLIND_FILE);
        if !blind_path.exists() {
            let key = BlindIndexKey::generate()?;
            let text = Zeroizing::new(format!("{BLIND_MAGIC} {}\n", hex::encode(key.secret_bytes())));
            write_secret_file(&blind_path, text.as_bytes())?;
        }
        if files.external_kek.is_none() && !dir.join(ACTIVE_FILE).exists() {
            let kek = Kek::generate(new_kek_id(&BTreeMap::new(), dir, Timestamp::now()))?;
            write_secret_file(&kek_path(dir, kek.id()), kek_file_text(&kek).as_bytes())?;
            set_active_file(dir, kek.id())?;
        }
        Keyring::open(files)
    }

    /// Load the keyring in `files`; fails when it has no keys.
    pub fn open(files: impl Into<KeyFiles>) -> Result<Keyring> {
        let KeyFiles { dir, external_kek } = files.into();
        let blind_path = dir.join(BLIND_FILE);
        if !blind_path.exists() {
            return Err(KeyringError::NoKeys { dir });
        }
        let text = read_text(&blind_path)?;
        let hex_key = text
            .trim()
            .strip_prefix(BLIND_MAGIC)
            .ok_or_else(|| KeyringError::NotAKey { path: blind_path.clone(), what: "blind-index key" })?;
        let raw = Zeroizing::new(
            hex::decode(hex_key.trim()).map_err(|_| KeyringError::Damaged { path: blind_path.clone() })?,
        );
        let blind = BlindIndexKey::from_bytes(&raw)?;

        let mut keks = BTreeMap::new();
        for entry in fs::read_dir(&dir).map_err(io("read", &dir))? {
            let path = entry.map_err(io("read", &dir))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with("kek-") && name.ends_with(".key") {
                let kek = parse_kek(&path, &read_text(&path)?)?;
                keks.insert(kek.id().to_string(), kek);
            }
        }
        let (active, external) = match external_kek {
            Some(path) => {
                let kek = parse_kek(&path, &read_text(&path)?)?;
                let id = kek.id().to_string();
                keks.insert(id.clone(), kek);
                (id, true)
            }
            None => {
                let active_path = dir.join(ACTIVE_FILE);
                let id = fs::read_to_string(&active_path).map_err(io("read", &active_path))?.trim().to_string();
                if !keks.contains_key(&id) {
                    return Err(KeyringError::ActiveMissing { id, dir });
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

    /// Whether the active KEK comes from an external file (rotation happens there then).
    pub fn is_external(&self) -> bool {
        self.external
    }

    /// The directory of the key files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Ids of the loaded KEKs and whether each is the active one.
    pub fn kek_ids(&self) -> impl Iterator<Item = (&str, bool)> {
        self.keks.keys().map(|id| (id.as_str(), *id == self.active))
    }

    /// Whether a KEK of this id is loaded.
    pub fn has_kek(&self, id: &str) -> bool {
        self.keks.contains_key(id)
    }

    /// Unwrap `owner`'s data key with whichever KEK wrapped it.
    pub fn unwrap(&self, owner: &str, wrapped: &WrappedDataKey) -> Result<DataKey> {
        let Some(kek) = self.keks.get(&wrapped.kek_id) else {
            return Err(KeyringError::UnknownKek { kek: wrapped.kek_id.clone(), owner: owner.to_string() });
        };
        let wrapped = WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        kek.unwrap(owner, &wrapped).map_err(|source| KeyringError::Unwrap { owner: owner.to_string(), source })
    }

    /// Wrap a fresh data key for `owner` with the active KEK.
    pub fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedDataKey)> {
        let key = DataKey::generate()?;
        let wrapped = self.wrap_active(owner, &key)?;
        Ok((key, wrapped))
    }

    /// `key` wrapped for `owner` by the active KEK.
    pub(crate) fn wrap_active(&self, owner: &str, key: &DataKey) -> Result<WrappedDataKey> {
        let wrapped = self.active().wrap(owner, key)?;
        Ok(WrappedDataKey { kek_id: wrapped.kek_id, bytes: wrapped.bytes })
    }

    /// A new KEK, named for `at`, not yet written nor active ([`Keyring::install_active`]).
    pub(crate) fn next_kek(&self, at: Timestamp) -> Result<Kek> {
        Ok(Kek::generate(new_kek_id(&self.keks, &self.dir, at))?)
    }

    /// Write `kek`'s file and make it the active one.
    pub(crate) fn install_active(&mut self, kek: Kek) -> Result<()> {
        write_secret_file(&kek_path(&self.dir, kek.id()), kek_file_text(&kek).as_bytes())?;
        set_active_file(&self.dir, kek.id())?;
        let id = kek.id().to_string();
        self.keks.insert(id.clone(), kek);
        self.active = id;
        Ok(())
    }

    /// Whether `id` has a key file in the keyring's directory.
    pub(crate) fn has_key_file(&self, id: &str) -> bool {
        valid_kek_id(id) && kek_path(&self.dir, id).is_file()
    }

    /// Destroy a KEK's key file (overwritten, then removed). The caller checked it is not the
    /// active one and that no key uses it.
    pub(crate) fn destroy(&mut self, id: &str) -> Result<()> {
        let path = kek_path(&self.dir, id);
        // Overwrite before unlinking, so the bytes do not linger in the file's blocks.
        fs::write(&path, [0u8; 96]).map_err(io("overwrite", &path))?;
        fs::remove_file(&path).map_err(io("delete", &path))?;
        self.keks.remove(id);
        Ok(())
    }
}

impl KeyAccess for Keyring {
    fn unwrap_key(&self, subscriber: &str, wrapped: &WrappedDataKey) -> std::result::Result<DataKey, String> {
        self.unwrap(subscriber, wrapped).map_err(|e| e.to_string())
    }

    fn blind_token(&self, category: &str, value: &str) -> Option<[u8; 32]> {
        self.blind.token(category, value).map(|t| t.0)
    }

    fn new_data_key(&self, owner: &str) -> std::result::Result<(DataKey, WrappedDataKey), String> {
        Keyring::new_data_key(self, owner).map_err(|e| e.to_string())
    }
}

/// A new KEK id: the UTC time `at`, with a counter when that id is taken.
fn new_kek_id(existing: &BTreeMap<String, Kek>, dir: &Path, at: Timestamp) -> String {
    let base = at.strftime("%Y%m%dT%H%M%SZ").to_string();
    let mut id = base.clone();
    let mut n = 1;
    while existing.contains_key(&id) || kek_path(dir, &id).exists() {
        n += 1;
        id = format!("{base}-{n}");
    }
    id
}

fn set_active_file(dir: &Path, id: &str) -> Result<()> {
    let tmp = dir.join("active-kek.tmp");
    fs::write(&tmp, format!("{id}\n")).map_err(io("write", &tmp))?;
    fs::rename(&tmp, dir.join(ACTIVE_FILE)).map_err(io("write", &dir.join(ACTIVE_FILE)))?;
    Ok(())
}

/// Write a secret file readable only by its owner. Fails if it exists (keys are never
/// overwritten by accident).
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io("create key file", path))?;
    file.write_all(bytes).map_err(io("write key file", path))?;
    file.sync_all().map_err(io("write key file", path))?;
    Ok(())
}

/// Read a secret file, refusing one that group or others can read.
pub fn read_secret_file(path: &Path) -> Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(io("read key file", path))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyringError::Exposed { path: path.to_path_buf(), mode });
        }
    }
    fs::read(path).map_err(io("read key file", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_private_and_refused_when_others_can_read_them() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = Keyring::open_or_create(KeyFiles::in_dir(dir.path().join("keys"))).unwrap();
        let active = keyring.active().id().to_string();
        let again = Keyring::open(KeyFiles::in_dir(dir.path().join("keys"))).unwrap();
        assert_eq!(again.active().id(), active);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = kek_path(&dir.path().join("keys"), &active);
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let err = Keyring::open(KeyFiles::in_dir(dir.path().join("keys"))).unwrap_err();
            assert!(matches!(err, KeyringError::Exposed { mode: 0o644, .. }), "{err}");
        }
    }

    #[test]
    fn a_keyring_without_keys_is_refused_and_ids_are_unique_per_second() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Keyring::open(KeyFiles::in_dir(dir.path())), Err(KeyringError::NoKeys { .. })));
        let mut keyring = Keyring::open_or_create(KeyFiles::in_dir(dir.path())).unwrap();
        let at = Timestamp::from_second(1_780_272_000).unwrap();
        let first = keyring.next_kek(at).unwrap();
        assert_eq!(first.id(), "20260601T000000Z");
        keyring.install_active(first).unwrap();
        assert_eq!(keyring.next_kek(at).unwrap().id(), "20260601T000000Z-2");
    }
}
