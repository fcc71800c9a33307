//! The engine a server or a command runs on, chosen by configuration: the
//! embedded SQLite file in the data directory, or a PostgreSQL database that
//! several replicas share.

use std::path::Path;
use std::sync::Arc;

use vigil_store::{
    NetworkStore, PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, StatisticsStore, Store, StoreError,
    UrgentReferral,
};

#[derive(Clone, Debug)]
pub enum Storage {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Storage {
    /// Opens PostgreSQL when `database_url` is set, else SQLite in
    /// `data_dir` (which must exist); either way migrated.
    /// `urgent_lane`: the draft a stored document with a `threat` category
    /// opens (the server's; commands that store no documents pass `None`).
    pub async fn open(
        data_dir: &Path,
        database_url: Option<&str>,
        sqlite_readers: usize,
        urgent_lane: Option<UrgentReferral>,
    ) -> Result<Storage, StoreError> {
        match database_url {
            Some(url) => {
                let options = PostgresOptions { urgent_lane, ..PostgresOptions::new(url) };
                Ok(Storage::Postgres(PostgresStore::connect(&options).await?))
            }
            None => {
                let options =
                    SqliteOptions { readers: sqlite_readers, urgent_lane, ..SqliteOptions::in_directory(data_dir) };
                let store = tokio::task::spawn_blocking(move || SqliteStore::open(&options))
                    .await
                    .map_err(|error| StoreError::Worker(error.to_string()))??;
                Ok(Storage::Sqlite(store))
            }
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Storage::Sqlite(store) => Arc::new(store.clone()),
            Storage::Postgres(store) => Arc::new(store.clone()),
        }
    }

    pub fn network(&self) -> Arc<dyn NetworkStore> {
        match self {
            Storage::Sqlite(store) => Arc::new(store.clone()),
            Storage::Postgres(store) => Arc::new(store.clone()),
        }
    }

    pub fn statistics(&self) -> Arc<dyn StatisticsStore> {
        match self {
            Storage::Sqlite(store) => Arc::new(store.clone()),
            Storage::Postgres(store) => Arc::new(store.clone()),
        }
    }

    /// Leaves the database self-contained: SQLite folds its write-ahead log
    /// into the file; PostgreSQL needs nothing.
    pub async fn close(self) -> Result<(), StoreError> {
        match self {
            Storage::Sqlite(store) => tokio::task::spawn_blocking(move || store.checkpoint())
                .await
                .map_err(|error| StoreError::Worker(error.to_string()))?,
            Storage::Postgres(_) => Ok(()),
        }
    }
}
