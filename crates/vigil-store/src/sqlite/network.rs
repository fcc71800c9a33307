//! The account network on SQLite: [`crate::NetworkStore`] for [`SqliteStore`].
//! The traversal is `crate::network`'s; this file holds SQLite's reads, each
//! a single-row query repeated where the engine-neutral code asks for many.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteStore;
use crate::network::{self, GraphSource};
use crate::{
    AccountId, AccountRecord, DocumentId, DocumentSummary, GraphIndicator, IndicatorKey, IndicatorKind, Neighbourhood,
    NeighbourhoodQuery, NetworkStore, SharedIndicatorAccounts, SharedIndicatorQuery, StoreError, TopConnectorQuery,
    TopConnectors, UnixSeconds,
};

#[async_trait]
impl NetworkStore for SqliteStore {
    async fn neighbourhood(&self, query: NeighbourhoodQuery) -> Result<Option<Neighbourhood>, StoreError> {
        self.read(move |tx| run_ready(network::neighbourhood(&SqliteGraph(tx), &query))).await
    }

    async fn shared_indicator_accounts(
        &self,
        query: SharedIndicatorQuery,
    ) -> Result<Option<SharedIndicatorAccounts>, StoreError> {
        self.read(move |tx| run_ready(network::shared_indicator_accounts(&SqliteGraph(tx), &query))).await
    }

    async fn top_connectors(&self, query: TopConnectorQuery) -> Result<TopConnectors, StoreError> {
        self.read(move |tx| run_ready(network::top_connectors(&SqliteGraph(tx), &query))).await
    }
}

/// Runs engine-neutral code, which is async for PostgreSQL's sake, over
/// SQLite's reads, which answer at once: the future is done on its first
/// poll, on the blocking thread the read transaction lives on.
pub(super) fn run_ready<T>(future: impl Future<Output = T>) -> T {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("engine-neutral code over SQLite never waits"),
    }
}

/// Shared SQL written with PostgreSQL's `$1` parameters, as SQLite numbers
/// them (`?1`).
pub(super) fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

struct SqliteGraph<'t, 'c>(&'t Transaction<'c>);

impl SqliteGraph<'_, '_> {
    fn ids<P: rusqlite::Params>(&self, sql: &str, params: P) -> Result<Vec<i64>, StoreError> {
        Ok(self.0.prepare_cached(sql)?.query_map(params, |row| row.get(0))?.collect::<Result<_, _>>()?)
    }
}

impl GraphSource for SqliteGraph<'_, '_> {
    async fn newest_document(&self) -> Result<DocumentId, StoreError> {
        Ok(self.0.query_row(network::NEWEST_DOCUMENT, [], |row| row.get(0))?)
    }

    async fn document_exists(&self, id: DocumentId, as_of: DocumentId) -> Result<bool, StoreError> {
        Ok(self.0.prepare_cached(&sqlite_sql(network::DOCUMENT_EXISTS))?.exists(params![id, as_of])?)
    }

    async fn indicator_id(&self, key: &IndicatorKey) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&sqlite_sql(network::INDICATOR_ID))?
            .query_row(params![key.kind.as_str(), key.value], |row| row.get(0))
            .optional()?)
    }

    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<AccountRecord>>, StoreError> {
        let mut exists = self.0.prepare_cached("SELECT 1 FROM account WHERE id = ?1")?;
        ids.iter()
            .map(|id| if exists.exists(params![id])? { super::account_record(self.0, *id).map(Some) } else { Ok(None) })
            .collect()
    }

    async fn accounts_by_handle(&self, names: &[(&str, &str)]) -> Result<Vec<Option<AccountId>>, StoreError> {
        let mut statement = self.0.prepare_cached("SELECT id FROM account WHERE platform = ?1 AND handle = ?2")?;
        Ok(names
            .iter()
            .map(|(platform, handle)| statement.query_row(params![platform, handle], |row| row.get(0)).optional())
            .collect::<Result<_, _>>()?)
    }

    async fn documents(&self, ids: &[DocumentId]) -> Result<Vec<DocumentSummary>, StoreError> {
        let sql = format!("SELECT {} FROM document d WHERE d.id = ?1", super::DOCUMENT_COLUMNS);
        let mut statement = self.0.prepare_cached(&sql)?;
        Ok(ids.iter().map(|id| statement.query_row(params![id], super::document_summary)).collect::<Result<_, _>>()?)
    }

    async fn indicators(&self, ids: &[i64]) -> Result<Vec<GraphIndicator>, StoreError> {
        let mut statement = self
            .0
            .prepare_cached("SELECT kind, value, first_seen, last_seen, sighting_count FROM indicator WHERE id = ?1")?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let (kind, value, first_seen, last_seen, sighting_count): (String, String, i64, i64, i64) =
                statement.query_row(params![id], |row| row.try_into())?;
            found.push(GraphIndicator {
                kind: indicator_kind(&kind)?,
                value,
                first_seen,
                last_seen,
                sighting_count: sighting_count as u64,
            });
        }
        Ok(found)
    }

    async fn document_accounts(&self, documents: &[DocumentId]) -> Result<Vec<Vec<(AccountId, bool)>>, StoreError> {
        let mut statement = self.0.prepare_cached(
            "SELECT account_id, role = 'author' FROM document_account WHERE document_id = ?1 ORDER BY account_id",
        )?;
        documents
            .iter()
            .map(|document| {
                Ok(statement.query_map(params![document], |row| row.try_into())?.collect::<Result<_, _>>()?)
            })
            .collect()
    }

    async fn document_indicators(&self, documents: &[DocumentId]) -> Result<Vec<Vec<i64>>, StoreError> {
        documents
            .iter()
            .map(|document| {
                self.ids("SELECT indicator_id FROM sighting WHERE document_id = ?1 ORDER BY indicator_id", [document])
            })
            .collect()
    }

    async fn account_documents(
        &self,
        account: AccountId,
        as_of: DocumentId,
        (lo, hi): (UnixSeconds, UnixSeconds),
        scan: i64,
        limit: i64,
    ) -> Result<Vec<(DocumentId, bool)>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&sqlite_sql(network::ACCOUNT_DOCUMENTS))?
            .query_map(params![account, as_of, scan, lo, hi, limit], |row| row.try_into())?
            .collect::<Result<_, _>>()?)
    }

    async fn indicator_documents(
        &self,
        indicator: i64,
        (lo, hi): (UnixSeconds, UnixSeconds),
        as_of: DocumentId,
        limit: i64,
    ) -> Result<Vec<DocumentId>, StoreError> {
        self.ids(&sqlite_sql(network::INDICATOR_DOCUMENTS), params![indicator, lo, hi, as_of, limit])
    }

    async fn indicator_accounts(
        &self,
        indicators: &[i64],
        as_of: DocumentId,
        limit: i64,
    ) -> Result<Vec<Vec<(AccountId, UnixSeconds, DocumentId)>>, StoreError> {
        let mut statement = self.0.prepare_cached(
            "SELECT da.account_id, s.seen_at, s.document_id FROM (
                 SELECT document_id, seen_at FROM sighting WHERE indicator_id = ?1 AND document_id <= ?2 LIMIT ?3
             ) s JOIN document_account da ON da.document_id = s.document_id",
        )?;
        indicators
            .iter()
            .map(|indicator| {
                Ok(statement
                    .query_map(params![indicator, as_of, limit], |row| row.try_into())?
                    .collect::<Result<_, _>>()?)
            })
            .collect()
    }

    async fn documents_with_account(
        &self,
        account: AccountId,
        documents: &[DocumentId],
    ) -> Result<Vec<bool>, StoreError> {
        let mut statement =
            self.0.prepare_cached("SELECT 1 FROM document_account WHERE document_id = ?1 AND account_id = ?2")?;
        Ok(documents.iter().map(|document| statement.exists(params![document, account])).collect::<Result<_, _>>()?)
    }

    async fn indicator_account_counts(&self, indicators: &[i64], limit: i64) -> Result<Vec<u64>, StoreError> {
        let mut statement = self.0.prepare_cached(
            "SELECT count(*) FROM (
                 SELECT DISTINCT da.account_id FROM sighting s JOIN document_account da ON da.document_id = s.document_id
                 WHERE s.indicator_id = ?1 LIMIT ?2
             )",
        )?;
        counts(indicators, |indicator| statement.query_row(params![indicator, limit], |row| row.get(0)))
    }

    async fn mention_counts(&self, accounts: &[AccountId], newest: i64) -> Result<Vec<u64>, StoreError> {
        let mut statement = self.0.prepare_cached(
            "SELECT count(*) FROM (
                 SELECT role FROM document_account WHERE account_id = ?1 ORDER BY document_id DESC LIMIT ?2
             ) WHERE role = 'mention'",
        )?;
        counts(accounts, |account| statement.query_row(params![account, newest], |row| row.get(0)))
    }

    async fn window_documents(
        &self,
        from: UnixSeconds,
        until: UnixSeconds,
        limit: i64,
    ) -> Result<Vec<DocumentId>, StoreError> {
        self.ids(&sqlite_sql(network::WINDOW_DOCUMENTS), params![from, until, limit])
    }
}

fn counts(ids: &[i64], mut count: impl FnMut(i64) -> rusqlite::Result<i64>) -> Result<Vec<u64>, StoreError> {
    Ok(ids.iter().map(|id| count(*id).map(|count| count as u64)).collect::<Result<_, _>>()?)
}

fn indicator_kind(name: &str) -> Result<IndicatorKind, StoreError> {
    IndicatorKind::from_name(name)
        .ok_or_else(|| StoreError::Worker(format!("unknown indicator kind {name:?} in the database")))
}
