//! The error type of the access service. Messages never contain values, only ids.

use tokutei_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The request is malformed (unknown action for the call, no category, too many
    /// subscribers…): nothing was decided or written.
    #[error("{0}")]
    BadRequest(String),
    /// The principal is not in the staff registry.
    #[error("no principal `{0}` in the staff registry")]
    UnknownPrincipal(String),
    /// The active policy version does not compile (it was published by an older build or
    /// the deployment's Cedar policies do not fit it).
    #[error("the active policy version {version} cannot be enforced: {message}")]
    Policy { version: u32, message: String },
    /// A key could not be unwrapped or a value could not be sealed.
    #[error("key failure for subscriber `{subscriber}`: {message}")]
    Key { subscriber: String, message: String },
    /// The audit record could not be written: nothing was read or written.
    #[error("the audit record could not be written, so nothing was read or written: {0}")]
    Audit(#[source] StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type AccessResult<T> = Result<T, AccessError>;
