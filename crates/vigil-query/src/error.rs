use thiserror::Error;
use vigil_store::StoreError;

#[derive(Debug, Error)]
pub enum QueryError {
    /// The request is wrong; `field` names what, `reason` says why.
    #[error("{field} {reason}")]
    Invalid { field: String, reason: String },
    /// The request is over a size limit, or a stream over its time limit.
    #[error("{field} {reason}")]
    TooLarge { field: String, reason: String },
    #[error("{0} is not known")]
    NotFound(String),
    /// The request is well formed but the state it acts on forbids it
    /// (a successor already reviewed).
    #[error("{field} {reason}")]
    Conflict { field: String, reason: String },
    /// The caller's key may not do this (a partner acting on another
    /// platform).
    #[error("{field} {reason}")]
    Forbidden { field: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sealing(#[from] crate::sealing::SealError),
}

impl QueryError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> QueryError {
        QueryError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn too_large(field: impl Into<String>, reason: impl Into<String>) -> QueryError {
        QueryError::TooLarge { field: field.into(), reason: reason.into() }
    }
}
