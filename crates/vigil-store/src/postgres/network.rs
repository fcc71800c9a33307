//! The account network on PostgreSQL: [`crate::NetworkStore`] for
//! [`PostgresStore`]. The traversal is `crate::network`'s; this file holds
//! PostgreSQL's reads, each batch of look-ups one query over an array.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use tokio_postgres::types::ToSql;

use super::{DOCUMENT_COLUMNS, PostgresStore, Tx, account_from_row, document_summary};
use crate::network::{self, GraphSource};
use crate::{
    AccountId, AccountRecord, DocumentId, DocumentSummary, GraphIndicator, IndicatorKey, IndicatorKind, Neighbourhood,
    NeighbourhoodQuery, NetworkStore, SharedIndicatorAccounts, SharedIndicatorQuery, StoreError, TopConnectorQuery,
    TopConnectors, UnixSeconds,
};

#[async_trait]
impl NetworkStore for PostgresStore {
    async fn neighbourhood(&self, query: NeighbourhoodQuery) -> Result<Option<Neighbourhood>, StoreError> {
        read_tx!(self, |tx| network::neighbourhood(&PostgresGraph(&tx), &query).await)
    }

    async fn shared_indicator_accounts(
        &self,
        query: SharedIndicatorQuery,
    ) -> Result<Option<SharedIndicatorAccounts>, StoreError> {
        read_tx!(self, |tx| network::shared_indicator_accounts(&PostgresGraph(&tx), &query).await)
    }

    async fn top_connectors(&self, query: TopConnectorQuery) -> Result<TopConnectors, StoreError> {
        read_tx!(self, |tx| network::top_connectors(&PostgresGraph(&tx), &query).await)
    }
}

struct PostgresGraph<'t, 'c>(&'t Tx<'c>);

impl PostgresGraph<'_, '_> {
    async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let statement = self.0.prepare_cached(sql).await?;
        Ok(self.0.query(&statement, params).await?)
    }

    /// The first column of every row.
    async fn column<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<T>, StoreError> {
        Ok(self.rows(sql, params).await?.iter().map(|row| row.get(0)).collect())
    }

    /// Rows keyed by their first column, gathered per key in the order of
    /// `keys`, each in the order of the query.
    async fn grouped<T>(
        &self,
        sql: &str,
        keys: &[i64],
        params: &[&(dyn ToSql + Sync)],
        value: impl Fn(&tokio_postgres::Row) -> T,
    ) -> Result<Vec<Vec<T>>, StoreError> {
        let mut groups: HashMap<i64, Vec<T>> = HashMap::new();
        for row in self.rows(sql, params).await? {
            groups.entry(row.get(0)).or_default().push(value(&row));
        }
        Ok(keys.iter().map(|key| groups.remove(key).unwrap_or_default()).collect())
    }

    /// Counts keyed by their first column, in the order of `keys`.
    async fn counts(&self, sql: &str, keys: &[i64], params: &[&(dyn ToSql + Sync)]) -> Result<Vec<u64>, StoreError> {
        let counts = self.grouped(sql, keys, params, |row| row.get::<_, i64>(1) as u64).await?;
        Ok(counts.into_iter().map(|count| count.into_iter().sum()).collect())
    }
}

impl GraphSource for PostgresGraph<'_, '_> {
    async fn newest_document(&self) -> Result<DocumentId, StoreError> {
        Ok(self.column(network::NEWEST_DOCUMENT, &[]).await?[0])
    }

    async fn document_exists(&self, id: DocumentId, as_of: DocumentId) -> Result<bool, StoreError> {
        Ok(!self.rows(network::DOCUMENT_EXISTS, &[&id, &as_of]).await?.is_empty())
    }

    async fn indicator_id(&self, key: &IndicatorKey) -> Result<Option<i64>, StoreError> {
        Ok(self.column(network::INDICATOR_ID, &[&key.kind.as_str(), &key.value]).await?.pop())
    }

    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<AccountRecord>>, StoreError> {
        let rows = self
            .rows(
                "SELECT id, platform, handle, platform_account_id, first_seen, last_seen, document_count,
                        status, status_changed_at, display_name, avatar_sha256, actor_id
                 FROM account WHERE id = ANY($1::int8[])",
                &[&ids],
            )
            .await?;
        let mut found: HashMap<AccountId, AccountRecord> =
            rows.iter().map(account_from_row).map(|account| (account.id, account)).collect();
        Ok(ids.iter().map(|id| found.remove(id)).collect())
    }

    async fn accounts_by_handle(&self, names: &[(&str, &str)]) -> Result<Vec<Option<AccountId>>, StoreError> {
        let (platforms, handles): (Vec<&str>, Vec<&str>) = names.iter().copied().unzip();
        let rows = self
            .rows(
                "SELECT k.n, a.id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (platform, handle, n)
                 JOIN account a ON a.platform = k.platform AND a.handle = k.handle",
                &[&platforms, &handles],
            )
            .await?;
        let mut found = vec![None; names.len()];
        for row in rows {
            found[row.get::<_, i64>(0) as usize - 1] = Some(row.get(1));
        }
        Ok(found)
    }

    async fn documents(&self, ids: &[DocumentId]) -> Result<Vec<DocumentSummary>, StoreError> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM document d WHERE d.id = ANY($1::int8[])");
        let mut found: HashMap<DocumentId, DocumentSummary> =
            self.rows(&sql, &[&ids]).await?.iter().map(document_summary).map(|d| (d.id, d)).collect();
        ids.iter()
            .map(|id| found.remove(id).ok_or_else(|| StoreError::Worker(format!("document {id} vanished in a read"))))
            .collect()
    }

    async fn indicators(&self, ids: &[i64]) -> Result<Vec<GraphIndicator>, StoreError> {
        let rows = self
            .rows(
                "SELECT id, kind, value, first_seen, last_seen, sighting_count FROM indicator WHERE id = ANY($1::int8[])",
                &[&ids],
            )
            .await?;
        let mut found: HashMap<i64, GraphIndicator> = HashMap::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.get(1);
            let kind = IndicatorKind::from_name(&kind)
                .ok_or_else(|| StoreError::Worker(format!("unknown indicator kind {kind:?} in the database")))?;
            let indicator = GraphIndicator {
                kind,
                value: row.get(2),
                first_seen: row.get(3),
                last_seen: row.get(4),
                sighting_count: row.get::<_, i64>(5) as u64,
            };
            found.insert(row.get(0), indicator);
        }
        ids.iter()
            .map(|id| found.remove(id).ok_or_else(|| StoreError::Worker(format!("indicator {id} vanished in a read"))))
            .collect()
    }

    async fn document_accounts(&self, documents: &[DocumentId]) -> Result<Vec<Vec<(AccountId, bool)>>, StoreError> {
        self.grouped(
            "SELECT document_id, account_id, role = 'author' FROM document_account
             WHERE document_id = ANY($1::int8[]) ORDER BY document_id, account_id",
            documents,
            &[&documents],
            |row| (row.get(1), row.get(2)),
        )
        .await
    }

    async fn document_indicators(&self, documents: &[DocumentId]) -> Result<Vec<Vec<i64>>, StoreError> {
        self.grouped(
            "SELECT document_id, indicator_id FROM sighting
             WHERE document_id = ANY($1::int8[]) ORDER BY document_id, indicator_id",
            documents,
            &[&documents],
            |row| row.get(1),
        )
        .await
    }

    async fn account_documents(
        &self,
        account: AccountId,
        as_of: DocumentId,
        (lo, hi): (UnixSeconds, UnixSeconds),
        scan: i64,
        limit: i64,
    ) -> Result<Vec<(DocumentId, bool)>, StoreError> {
        let rows = self.rows(network::ACCOUNT_DOCUMENTS, &[&account, &as_of, &scan, &lo, &hi, &limit]).await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    async fn indicator_documents(
        &self,
        indicator: i64,
        (lo, hi): (UnixSeconds, UnixSeconds),
        as_of: DocumentId,
        limit: i64,
    ) -> Result<Vec<DocumentId>, StoreError> {
        self.column(network::INDICATOR_DOCUMENTS, &[&indicator, &lo, &hi, &as_of, &limit]).await
    }

    async fn indicator_accounts(
        &self,
        indicators: &[i64],
        as_of: DocumentId,
        limit: i64,
    ) -> Result<Vec<Vec<(AccountId, UnixSeconds, DocumentId)>>, StoreError> {
        self.grouped(
            "SELECT i.id, da.account_id, s.seen_at, s.document_id
             FROM unnest($1::int8[]) AS i (id)
             CROSS JOIN LATERAL (
                 SELECT document_id, seen_at FROM sighting WHERE indicator_id = i.id AND document_id <= $2 LIMIT $3
             ) s
             JOIN document_account da ON da.document_id = s.document_id",
            indicators,
            &[&indicators, &as_of, &limit],
            |row| (row.get(1), row.get(2), row.get(3)),
        )
        .await
    }

    async fn documents_with_account(
        &self,
        account: AccountId,
        documents: &[DocumentId],
    ) -> Result<Vec<bool>, StoreError> {
        let inside: HashSet<DocumentId> = self
            .column::<DocumentId>(
                "SELECT document_id FROM document_account WHERE account_id = $1 AND document_id = ANY($2::int8[])",
                &[&account, &documents],
            )
            .await?
            .into_iter()
            .collect();
        Ok(documents.iter().map(|document| inside.contains(document)).collect())
    }

    async fn indicator_account_counts(&self, indicators: &[i64], limit: i64) -> Result<Vec<u64>, StoreError> {
        self.counts(
            "SELECT i.id, (
                 SELECT count(*) FROM (
                     SELECT DISTINCT da.account_id FROM sighting s JOIN document_account da ON da.document_id = s.document_id
                     WHERE s.indicator_id = i.id LIMIT $2
                 ) x
             ) FROM unnest($1::int8[]) AS i (id)",
            indicators,
            &[&indicators, &limit],
        )
        .await
    }

    async fn mention_counts(&self, accounts: &[AccountId], newest: i64) -> Result<Vec<u64>, StoreError> {
        self.counts(
            "SELECT a.id, (
                 SELECT count(*) FROM (
                     SELECT role FROM document_account WHERE account_id = a.id ORDER BY document_id DESC LIMIT $2
                 ) x WHERE x.role = 'mention'
             ) FROM unnest($1::int8[]) AS a (id)",
            accounts,
            &[&accounts, &newest],
        )
        .await
    }

    async fn window_documents(
        &self,
        from: UnixSeconds,
        until: UnixSeconds,
        limit: i64,
    ) -> Result<Vec<DocumentId>, StoreError> {
        self.column(network::WINDOW_DOCUMENTS, &[&from, &until, &limit]).await
    }
}
