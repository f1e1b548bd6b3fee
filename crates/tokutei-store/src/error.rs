//! The one error type of the storage layer.

/// What can go wrong in a store. Messages are lowercase with no final period and never
/// contain personal data (only ids and counts).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A write conflicts with what is stored (duplicate id, stale version).
    #[error("{0}")]
    Conflict(String),
    /// The database was written by a newer tokutei.
    #[error("database schema version {found} is newer than this tokutei supports ({supported}); upgrade tokutei")]
    SchemaTooNew { found: u32, supported: u32 },
    /// Stored data does not decode: it was edited outside tokutei or is damaged.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed (IO, connection, constraint the domain did not expect).
    #[error("storage backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Backend(Box::new(err))
    }
}
