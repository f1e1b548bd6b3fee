//! The error type of the access service and the administrative actions. Messages never
//! contain values, only ids. Front ends match on the variant, never on the message: not
//! found, conflict, invalid (naming the field), forbidden.

use tokutei_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// The request is malformed (unknown action for the call, no category, too many
    /// subscribers…): nothing was decided or written.
    #[error("{0}")]
    BadRequest(String),
    /// One field of the input is not acceptable: nothing was decided or written.
    #[error("`{field}`: {message}")]
    Invalid { field: &'static str, message: String },
    /// What the action names does not exist (a subscriber, a principal to change).
    #[error("{0} not found")]
    NotFound(String),
    /// The action conflicts with what is stored (an id already taken, the version already
    /// published): nothing was written.
    #[error("{0}")]
    Conflict(String),
    /// The one acting may not do this (a handler publishing a policy): nothing was written.
    #[error("{0}")]
    Forbidden(String),
    /// A policy file that cannot be published: its diagnostics, or why it does not compile
    /// for this deployment, are in the preview.
    #[error("`source`: the policy file cannot be published: {0}")]
    Unpublishable(Box<crate::policy::PolicyPreview>),
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
    /// The keyring's files could not be read or written.
    #[error(transparent)]
    Keyring(#[from] crate::keyring::KeyringError),
}

impl ActionError {
    /// An invalid `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ActionError {
        ActionError::Invalid { field, message: message.into() }
    }
}

pub type ActionResult<T> = Result<T, ActionError>;
