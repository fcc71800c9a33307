use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The data directory cannot take writes now (disk full, read-only);
    /// reads still work and a retry may succeed.
    #[error("storage cannot take writes: {0}")]
    Unavailable(String),
    #[error("cannot open the database at {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("database migration {version} failed: {source}")]
    Migration { version: usize, source: rusqlite::Error },
    #[error("database is newer than this binary: schema version {found}, this binary knows up to {known}")]
    SchemaTooNew { found: usize, known: usize },
    #[error("database error: {0}")]
    Database(rusqlite::Error),
    #[error("storage worker stopped: {0}")]
    Worker(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match error.sqlite_error_code() {
            Some(ErrorCode::DiskFull | ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::SystemIoFailure) => {
                StoreError::Unavailable(error.to_string())
            }
            _ => StoreError::Database(error),
        }
    }
}
