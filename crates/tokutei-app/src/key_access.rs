//! The key material the application layer needs, kept by the caller (key files, a KMS):
//! subscribers' data keys, blind-index tokens, and small secrets sealed for an owner.

use tokutei_crypto::{DataKey, ValueAad};
use tokutei_store::vault::WrappedDataKey;

/// The key material the service needs; kept by the caller (key files, a KMS).
pub trait KeyAccess: Send + Sync {
    /// Unwrap a subscriber's data key.
    fn unwrap_key(&self, subscriber: &str, wrapped: &WrappedDataKey) -> Result<DataKey, String>;

    /// The blind-index token of a value of a searchable category.
    fn blind_token(&self, category: &str, value: &str) -> Option<[u8; 32]>;

    /// A fresh data key for `owner` (an inquiry, `inquiry/<receipt>`), and the same key
    /// wrapped by the active KEK for that owner. Key accesses that cannot create keys refuse.
    fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedDataKey), String> {
        Err(format!("this key access cannot create a data key for `{owner}`"))
    }

    /// Seal a small secret (a person's TOTP secret) for `owner` (`staff/<id>/totp`): a fresh
    /// data key from [`KeyAccess::new_data_key`] (wrapped by the active KEK for `owner`) seals
    /// it, with `owner` in the associated data of both, so a sealed secret copied onto another
    /// owner does not open. Key accesses that cannot create keys refuse.
    fn seal_secret(&self, owner: &str, secret: &[u8]) -> Result<tokutei_store::auth::SealedSecret, String> {
        let (key, wrapped) = self.new_data_key(owner)?;
        let aad = ValueAad { subscriber: owner, category: "secret", version: 1 };
        let ciphertext = key.seal(&aad, secret).map_err(|e| format!("cannot seal the secret of `{owner}`: {e}"))?;
        Ok(tokutei_store::auth::SealedSecret { key: wrapped, ciphertext })
    }

    /// Open a secret sealed by [`KeyAccess::seal_secret`] for `owner`; fails when it was
    /// sealed for another owner, altered, or its KEK is not available.
    fn open_secret(
        &self,
        owner: &str,
        sealed: &tokutei_store::auth::SealedSecret,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
        let key = self.unwrap_key(owner, &sealed.key)?;
        let aad = ValueAad { subscriber: owner, category: "secret", version: 1 };
        key.open(&aad, &sealed.ciphertext).map_err(|e| format!("cannot open the secret of `{owner}`: {e}"))
    }
}

/// The owner a person's TOTP secret is sealed for (associated data of its key and value).
pub fn totp_owner(principal: &str) -> String {
    format!("staff/{principal}/totp")
}
