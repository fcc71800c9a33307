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
    #[error("cannot connect to PostgreSQL at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("database migration {version} failed: {}", describe(source))]
    PostgresMigration { version: usize, source: tokio_postgres::Error },
    #[error("database error: {}", describe(.0))]
    Postgres(tokio_postgres::Error),
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

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let unavailable = match error.code() {
            // Disk full, a read-only standby or server, too many connections,
            // or the server shutting down: a retry may succeed.
            Some(code) => [
                SqlState::DISK_FULL,
                SqlState::READ_ONLY_SQL_TRANSACTION,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::OUT_OF_MEMORY,
            ]
            .contains(code),
            // No SQLSTATE: the connection itself failed.
            None => {
                error.is_closed()
                    || std::error::Error::source(&error).is_some_and(|source| source.is::<std::io::Error>())
            }
        };
        if unavailable { StoreError::Unavailable(describe(&error)) } else { StoreError::Postgres(error) }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(error) => error.into(),
            other => StoreError::Unavailable(format!("no database connection: {other}")),
        }
    }
}

/// A PostgreSQL error with the server's code and message, which its own
/// `Display` leaves out ("db error").
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({}): {}", db.message(), db.code().code(), db.detail().unwrap_or_default()),
        None => error.to_string(),
    }
}
