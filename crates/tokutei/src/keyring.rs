//! The data directory's keyring: [`tokutei_app::keyring`] over the key files in `keys/`, with
//! the environment variable `TOKUTEI_KEK_FILE` naming an external key-encryption key (a
//! mounted secret) that is then the active one.

use std::path::PathBuf;

pub use tokutei_app::keyring::Keyring;
use tokutei_app::keyring::{KEK_FILE_ENV, KeyFiles};

use crate::data_dir::DataDir;

impl From<&DataDir> for KeyFiles {
    fn from(data: &DataDir) -> KeyFiles {
        KeyFiles { dir: data.keys_dir(), external_kek: std::env::var_os(KEK_FILE_ENV).map(PathBuf::from) }
    }
}
