//! The scale-out engine: PostgreSQL through a pool of `tokio-postgres`
//! connections. Several `vigil serve` replicas may share one database: every
//! write is one transaction whose conflicts are settled by unique keys
//! (`ON CONFLICT`), and a transaction that loses a deadlock or a
//! serialization race is run again from the start.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use crate::full_text;
use crate::model::*;
use crate::{IndicatorKind, Span, Store, StoreError};

/// Attempts of a transaction that keeps losing races before giving up.
const MAX_ATTEMPTS: usize = 8;

// Defined before the submodules so that they see these macros too.

/// Runs `$body` in a transaction on a pooled connection and commits it when
/// `$commit` holds for its value (rolls it back otherwise); runs it again
/// when PostgreSQL aborts it for a deadlock, a serialization failure or a
/// unique key taken by a concurrent transaction, which concurrent replicas
/// make routine rather than exceptional: every write finds existing rows
/// before inserting, so the second attempt sees the winner's rows.
macro_rules! in_transaction {
    ($store:expr, $isolation:expr, read_only = $read_only:expr, commit_if = $commit:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = $store.pool.get().await?;
            let $tx = client.build_transaction().isolation_level($isolation).read_only($read_only).start().await?;
            let result: Result<_, StoreError> = async { $body }.await;
            let result = match result {
                Ok(value) if $commit(&value) => $tx.commit().await.map(|()| value).map_err(StoreError::from),
                Ok(value) => $tx.rollback().await.map(|()| value).map_err(StoreError::from),
                Err(error) => Err(error),
            };
            match result {
                Err(error) if attempt < MAX_ATTEMPTS && $crate::postgres::is_transient(&error) => {
                    tokio::time::sleep(Duration::from_millis(2 * attempt as u64)).await;
                    continue;
                }
                other => break other,
            }
        }
    }};
}

/// A write: read committed, retried when it loses a race.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        in_transaction!($store, IsolationLevel::ReadCommitted, read_only = false, commit_if = |_: &_| true, |$tx| $body)
    };
}

/// A read: one snapshot for every query of the call.
macro_rules! read_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        in_transaction!($store, IsolationLevel::RepeatableRead, read_only = true, commit_if = |_: &_| true, |$tx| $body)
    };
}

mod actors;
mod migrations;
mod network;
mod sites;
mod statistics;
mod tracking;

/// The transaction every PostgreSQL function runs in.
pub(crate) type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// How to reach a [`PostgresStore`].
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// A `postgres://` URL (or key=value connection string).
    pub url: String,
    /// Connections kept open, shared by all requests of this process.
    pub max_connections: usize,
    /// The schema vigil's tables live in; the server's default search path
    /// when unset. Tests give each run its own.
    pub schema: Option<String>,
}

impl PostgresOptions {
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions { url: url.into(), max_connections: 16, schema: None }
    }
}

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("pool", &self.pool.status()).finish()
    }
}

pub(crate) fn is_transient(error: &StoreError) -> bool {
    match error {
        StoreError::Postgres(error) => {
            matches!(error.code(), Some(code) if [SqlState::T_R_SERIALIZATION_FAILURE, SqlState::T_R_DEADLOCK_DETECTED, SqlState::UNIQUE_VIOLATION].contains(code))
        }
        _ => false,
    }
}

impl PostgresStore {
    /// Connects, checks the server answers, and migrates the schema.
    pub async fn connect(options: &PostgresOptions) -> Result<PostgresStore, StoreError> {
        let shown_url = redact(&options.url);
        let connect_error = |reason: String| StoreError::Connect { url: shown_url.clone(), reason };
        let mut config: tokio_postgres::Config =
            options.url.parse().map_err(|error: tokio_postgres::Error| connect_error(error.to_string()))?;
        if let Some(schema) = &options.schema {
            config.options(format!("-c search_path={schema}"));
        }
        config.application_name("vigil");
        config.connect_timeout(Duration::from_secs(10));
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|error| connect_error(error.to_string()))?;
        let mut client = pool.get().await.map_err(|error| connect_error(error.to_string()))?;
        migrations::migrate(&mut client).await?;
        drop(client);
        Ok(PostgresStore { pool })
    }
}

/// The URL without its password, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &credentials[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert_tip(&self, tip: NewTip) -> Result<TipStored, StoreError> {
        write_tx!(self, |tx| {
            let mut first_seen_accounts = Vec::new();
            let (id, _) = insert_document(&tx, &tip.document, &mut first_seen_accounts)
                .await?
                .expect("a tip has no post key, so it is never a duplicate");
            let statement = tx
                .prepare_cached("INSERT INTO tip (document_id, receipt_hash, status) VALUES ($1, $2, 'received')")
                .await?;
            tx.execute(&statement, &[&id, &&tip.receipt_hash[..]]).await?;
            Ok(TipStored { document: id, first_seen_accounts })
        })
    }

    async fn tip_state(&self, receipt_hash: [u8; 32]) -> Result<Option<TipState>, StoreError> {
        read_tx!(self, |tx| {
            let statement =
                tx.prepare_cached("SELECT status, follow_up_count FROM tip WHERE receipt_hash = $1").await?;
            let Some(row) = tx.query_opt(&statement, &[&&receipt_hash[..]]).await? else { return Ok(None) };
            let status: String = row.get(0);
            let follow_up_count: i32 = row.get(1);
            let status = TipStatus::from_name(&status)
                .ok_or_else(|| StoreError::Worker(format!("unknown tip status {status:?} in the database")))?;
            Ok(Some(TipState { status, follow_up_count: follow_up_count as u32 }))
        })
    }

    async fn insert_posts(&self, posts: Vec<NewDocument>) -> Result<PostsStored, StoreError> {
        write_tx!(self, |tx| {
            let mut first_seen_accounts = Vec::new();
            let find_existing = tx
                .prepare_cached(
                    "SELECT id FROM document WHERE kind = 'post' AND platform = $1 AND platform_post_id = $2",
                )
                .await?;
            let mut outcomes = Vec::with_capacity(posts.len());
            let (mut authors, mut seen) = (Vec::new(), HashSet::new());
            for post in &posts {
                let existing = tx.query_opt(&find_existing, &[&post.platform, &post.platform_post_id]).await?;
                let outcome = match existing {
                    Some(row) => PostOutcome::Duplicate(row.get(0)),
                    None => match insert_document(&tx, post, &mut first_seen_accounts).await? {
                        Some((id, author)) => {
                            if let Some(author) = author
                                && seen.insert(author)
                            {
                                authors.push(author);
                            }
                            PostOutcome::Stored(id)
                        }
                        // Another replica stored it since the check above.
                        None => {
                            let row = tx.query_one(&find_existing, &[&post.platform, &post.platform_post_id]).await?;
                            PostOutcome::Duplicate(row.get(0))
                        }
                    },
                };
                outcomes.push(outcome);
            }
            Ok(PostsStored { outcomes, first_seen_accounts, authors })
        })
    }

    async fn indicator_report(
        &self,
        kind: IndicatorKind,
        value: String,
        max_documents: usize,
    ) -> Result<Option<IndicatorReport>, StoreError> {
        read_tx!(self, |tx| {
            let statement = tx
                .prepare_cached(
                    "SELECT id, first_seen, last_seen, sighting_count FROM indicator WHERE kind = $1 AND value = $2",
                )
                .await?;
            let Some(row) = tx.query_opt(&statement, &[&kind.as_str(), &value]).await? else { return Ok(None) };
            let (indicator_id, first_seen, last_seen, sighting_count): (i64, i64, i64, i64) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let statement = tx
                .prepare_cached(&format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM sighting s JOIN document d ON d.id = s.document_id
                     WHERE s.indicator_id = $1 ORDER BY s.seen_at DESC, s.document_id DESC LIMIT $2"
                ))
                .await?;
            let recent_documents: Vec<DocumentSummary> = tx
                .query(&statement, &[&indicator_id, &(max_documents as i64)])
                .await?
                .iter()
                .map(document_summary)
                .collect();
            let accounts = accounts_in_documents(&tx, recent_documents.iter().map(|d| d.id)).await?;
            Ok(Some(IndicatorReport {
                indicator: IndicatorRecord {
                    kind,
                    value: value.clone(),
                    first_seen,
                    last_seen,
                    sighting_count: sighting_count as u64,
                },
                recent_documents,
                accounts,
            }))
        })
    }

    async fn known_indicators(&self, keys: Vec<IndicatorKey>) -> Result<Vec<IndicatorRecord>, StoreError> {
        read_tx!(self, |tx| known_indicators(&tx, &keys).await)
    }

    async fn known_accounts(&self, keys: Vec<AccountKey>) -> Result<Vec<Option<AccountRecord>>, StoreError> {
        read_tx!(self, |tx| known_accounts(&tx, &keys).await)
    }

    async fn known(&self, indicators: Vec<IndicatorKey>, accounts: Vec<AccountKey>) -> Result<Known, StoreError> {
        read_tx!(self, |tx| {
            Ok(Known {
                indicators: known_indicators(&tx, &indicators).await?,
                accounts: known_accounts(&tx, &accounts).await?,
            })
        })
    }

    async fn search(&self, query: SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        read_tx!(self, |tx| search(&tx, &query).await)
    }

    async fn account_history(
        &self,
        account: AccountSelector,
        max_events: usize,
    ) -> Result<Option<AccountHistory>, StoreError> {
        read_tx!(self, |tx| tracking::history(&tx, &account, max_events).await)
    }

    async fn list_accounts(&self, filter: AccountFilter) -> Result<Vec<AccountRecord>, StoreError> {
        read_tx!(self, |tx| tracking::list(&tx, &filter).await)
    }

    async fn change_account_status(
        &self,
        change: StatusChange,
    ) -> Result<Option<(AccountRecord, AccountEvent)>, StoreError> {
        write_tx!(self, |tx| tracking::change_status(&tx, &change).await)
    }

    async fn record_profile_snapshot(&self, snapshot: NewProfileSnapshot) -> Result<SnapshotStored, StoreError> {
        write_tx!(self, |tx| tracking::record_snapshot(&tx, &snapshot).await)
    }

    async fn tracked_accounts(
        &self,
        ids: Option<Vec<AccountId>>,
        posted_since: UnixSeconds,
        max_posted: usize,
    ) -> Result<Vec<TrackedAccount>, StoreError> {
        read_tx!(self, |tx| tracking::tracked(&tx, ids.as_deref(), posted_since, max_posted).await)
    }

    async fn proposed_successor_pairs(&self) -> Result<Vec<(AccountId, AccountId)>, StoreError> {
        read_tx!(self, |tx| tracking::proposed_pairs(&tx).await)
    }

    async fn propose_successors(&self, proposals: Vec<NewSuccessor>) -> Result<Vec<AlertRecord>, StoreError> {
        write_tx!(self, |tx| tracking::propose(&tx, &proposals).await)
    }

    async fn review_successor(&self, review: SuccessorReview) -> Result<ReviewOutcome, StoreError> {
        write_tx!(self, |tx| tracking::review(&tx, &review).await)
    }

    async fn alerts_after(&self, after: AlertId, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        read_tx!(self, |tx| tracking::alerts_after(&tx, after, limit).await)
    }

    async fn last_alert_id(&self) -> Result<AlertId, StoreError> {
        read_tx!(self, |tx| tracking::last_alert_id(&tx).await)
    }

    async fn change_actors(&self, change: ActorChange, note: ChangeNote) -> Result<ActorOutcome, StoreError> {
        // Nothing is written unless the whole change applies.
        in_transaction!(
            self,
            IsolationLevel::ReadCommitted,
            read_only = false,
            commit_if =
                |outcome: &ActorOutcome| matches!(outcome, ActorOutcome::Changed(..) | ActorOutcome::Unassigned),
            |tx| actors::apply(&tx, &change, &note).await
        )
    }

    async fn actor(&self, id: ActorId, max_entries: usize) -> Result<Option<ActorView>, StoreError> {
        read_tx!(self, |tx| actors::view(&tx, id, max_entries).await)
    }

    async fn list_actors(
        &self,
        after: Option<ActorId>,
        include_merged: bool,
        limit: usize,
    ) -> Result<Vec<ActorRecord>, StoreError> {
        read_tx!(self, |tx| actors::list(&tx, after, include_merged, limit).await)
    }

    async fn change_site(
        &self,
        site: SiteSelector,
        change: SiteChange,
        note: ChangeNote,
    ) -> Result<Option<SiteChanged>, StoreError> {
        write_tx!(self, |tx| sites::change(&tx, &site, &change, &note).await)
    }

    async fn site_history(
        &self,
        site: SiteSelector,
        max_events: usize,
    ) -> Result<Option<(SiteRecord, Vec<SiteEvent>)>, StoreError> {
        read_tx!(self, |tx| sites::history(&tx, &site, max_events).await)
    }

    async fn list_sites(
        &self,
        statuses: Vec<SiteStatus>,
        after: Option<SiteId>,
        limit: usize,
    ) -> Result<Vec<SiteRecord>, StoreError> {
        read_tx!(self, |tx| sites::list(&tx, &statuses, after, limit).await)
    }
}

async fn known_indicators(tx: &Tx<'_>, keys: &[IndicatorKey]) -> Result<Vec<IndicatorRecord>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // One round trip for the whole batch: the keys go as two arrays.
    let statement = tx
        .prepare_cached(
            "SELECT i.kind, i.value, i.first_seen, i.last_seen, i.sighting_count
             FROM unnest($1::text[], $2::text[]) AS k (kind, value)
             JOIN indicator i ON i.kind = k.kind AND i.value = k.value",
        )
        .await?;
    let kinds: Vec<&str> = keys.iter().map(|key| key.kind.as_str()).collect();
    let values: Vec<&str> = keys.iter().map(|key| key.value.as_str()).collect();
    let rows = tx.query(&statement, &[&kinds, &values]).await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.get(0);
            Ok(IndicatorRecord {
                kind: IndicatorKind::from_name(&kind)
                    .ok_or_else(|| StoreError::Worker(format!("unknown indicator kind {kind:?} in the database")))?,
                value: row.get(1),
                first_seen: row.get(2),
                last_seen: row.get(3),
                sighting_count: row.get::<_, i64>(4) as u64,
            })
        })
        .collect()
}

async fn known_accounts(tx: &Tx<'_>, keys: &[AccountKey]) -> Result<Vec<Option<AccountRecord>>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for key in keys {
        found.push(match find_account(tx, key).await? {
            Some(id) => Some(account_record(tx, id).await?),
            None => None,
        });
    }
    Ok(found)
}

pub(crate) const DOCUMENT_COLUMNS: &str =
    "d.id, d.kind, d.platform, d.platform_post_id, d.url, d.language, d.observed_at, d.text_sha256,
     (SELECT string_agg(category, ',' ORDER BY category) FROM document_category c WHERE c.document_id = d.id)";

pub(crate) fn document_summary(row: &Row) -> DocumentSummary {
    let kind: String = row.get(1);
    DocumentSummary {
        id: row.get(0),
        kind: DocumentKind::from_name(&kind).unwrap_or(DocumentKind::Post),
        platform: row.get(2),
        platform_post_id: row.get(3),
        url: row.get(4),
        language: row.get(5),
        observed_at: row.get(6),
        text_sha256: row.get(7),
        categories: row
            .get::<_, Option<String>>(8)
            .map(|names| names.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}

/// Inserts a document with its sightings, accounts and search terms. Its id
/// and its author's, or `None` when a post with the same key is already
/// stored. Accounts stored for the first time are added to `first_seen`.
async fn insert_document(
    tx: &Tx<'_>,
    document: &NewDocument,
    first_seen: &mut Vec<AccountId>,
) -> Result<Option<(DocumentId, Option<AccountId>)>, StoreError> {
    let author_id = match &document.author {
        Some(author) => Some(upsert_account(tx, author, document.observed_at, first_seen).await?),
        None => None,
    };
    let statement = tx
        .prepare_cached(
            "INSERT INTO document (kind, platform, platform_post_id, author_account_id, url, text, text_sha256,
                                   language, observed_at, search_terms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::tsvector)
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .await?;
    let terms = full_text::tsvector_literal(&document.search_text);
    let inserted = tx
        .query_opt(
            &statement,
            &[
                &document.kind.as_str(),
                &document.platform,
                &document.platform_post_id,
                &author_id,
                &document.url,
                &document.text,
                &document.text_sha256,
                &document.language,
                &document.observed_at,
                &terms,
            ],
        )
        .await?;
    let Some(row) = inserted else { return Ok(None) };
    let id: DocumentId = row.get(0);

    if !document.categories.is_empty() {
        let statement = tx
            .prepare_cached(
                "INSERT INTO document_category (document_id, category, score)
                 SELECT $1, * FROM unnest($2::text[], $3::float8[])",
            )
            .await?;
        let (names, scores): (Vec<&str>, Vec<f64>) =
            document.categories.iter().map(|(name, score)| (name.as_str(), *score)).unzip();
        tx.execute(&statement, &[&id, &names, &scores]).await?;
    }

    if !document.sightings.is_empty() {
        // Sorted, so that concurrent writers lock indicator rows in one
        // order and never deadlock on each other.
        let mut sightings: Vec<&NewSighting> = document.sightings.iter().collect();
        sightings.sort_by(|a, b| {
            (a.indicator.kind.as_str(), &a.indicator.value).cmp(&(b.indicator.kind.as_str(), &b.indicator.value))
        });
        sightings.dedup_by(|a, b| a.indicator == b.indicator);
        let kinds: Vec<&str> = sightings.iter().map(|s| s.indicator.kind.as_str()).collect();
        let values: Vec<&str> = sightings.iter().map(|s| s.indicator.value.as_str()).collect();
        let starts: Vec<Option<i64>> =
            sightings.iter().map(|s| s.span.map(|Span { start, .. }| start as i64)).collect();
        let ends: Vec<Option<i64>> = sightings.iter().map(|s| s.span.map(|Span { end, .. }| end as i64)).collect();
        let statement = tx
            .prepare_cached(
                "WITH seen AS (
                     INSERT INTO indicator (kind, value, first_seen, last_seen, sighting_count)
                     SELECT kind, value, $3, $3, 1 FROM unnest($1::text[], $2::text[]) AS k (kind, value)
                     ORDER BY kind, value
                     ON CONFLICT (kind, value) DO UPDATE SET
                         first_seen = least(indicator.first_seen, excluded.first_seen),
                         last_seen = greatest(indicator.last_seen, excluded.last_seen),
                         sighting_count = indicator.sighting_count + 1
                     RETURNING id, kind, value
                 )
                 INSERT INTO sighting (indicator_id, document_id, seen_at, span_start, span_end)
                 SELECT seen.id, $4, $3, k.span_start, k.span_end
                 FROM unnest($1::text[], $2::text[], $5::int8[], $6::int8[]) AS k (kind, value, span_start, span_end)
                 JOIN seen ON seen.kind = k.kind AND seen.value = k.value
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        tx.execute(&statement, &[&kinds, &values, &document.observed_at, &id, &starts, &ends]).await?;
    }

    let mut linked: Vec<(AccountId, &str)> = author_id.map(|id| (id, "author")).into_iter().collect();
    for account in &document.mentioned_accounts {
        linked.push((upsert_account(tx, account, document.observed_at, first_seen).await?, "mention"));
    }
    if !linked.is_empty() {
        let statement = tx
            .prepare_cached(
                "WITH linked AS (
                     INSERT INTO document_account (document_id, account_id, role)
                     SELECT $1, * FROM unnest($2::int8[], $3::text[])
                     ON CONFLICT DO NOTHING RETURNING account_id
                 )
                 UPDATE account SET document_count = document_count + 1 WHERE id IN (SELECT account_id FROM linked)",
            )
            .await?;
        let (ids, roles): (Vec<i64>, Vec<&str>) = linked.into_iter().unzip();
        tx.execute(&statement, &[&id, &ids, &roles]).await?;
    }
    Ok(Some((id, author_id)))
}

pub(crate) async fn find_account(tx: &Tx<'_>, key: &AccountKey) -> Result<Option<AccountId>, StoreError> {
    if let Some(handle) = &key.handle {
        let statement = tx.prepare_cached("SELECT id FROM account WHERE platform = $1 AND handle = $2").await?;
        if let Some(row) = tx.query_opt(&statement, &[&key.platform, handle]).await? {
            return Ok(Some(row.get(0)));
        }
    }
    if let Some(platform_id) = &key.platform_account_id {
        let statement =
            tx.prepare_cached("SELECT id FROM account WHERE platform = $1 AND platform_account_id = $2").await?;
        if let Some(row) = tx.query_opt(&statement, &[&key.platform, platform_id]).await? {
            return Ok(Some(row.get(0)));
        }
    }
    Ok(None)
}

/// The account's id, creating it or widening its seen range. A handle or
/// platform id learned for the first time is filled in; one already known
/// is never overwritten (a rename is a tracking event, not a side effect).
/// A new account gets its first event and is added to `first_seen`.
pub(crate) async fn upsert_account(
    tx: &Tx<'_>,
    key: &AccountKey,
    seen_at: UnixSeconds,
    first_seen: &mut Vec<AccountId>,
) -> Result<AccountId, StoreError> {
    // Two replicas may meet the same new account at once: the insert waits
    // for the other's commit and then finds its row, so one account results.
    for _ in 0..2 {
        if let Some(id) = find_account(tx, key).await? {
            widen_account(tx, id, key, seen_at).await?;
            return Ok(id);
        }
        let statement = tx
            .prepare_cached(
                "INSERT INTO account (platform, handle, platform_account_id, first_seen, last_seen, status_changed_at)
                 VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT DO NOTHING RETURNING id",
            )
            .await?;
        if let Some(row) =
            tx.query_opt(&statement, &[&key.platform, &key.handle, &key.platform_account_id, &seen_at]).await?
        {
            let id: AccountId = row.get(0);
            let statement = tx
                .prepare_cached(
                    "INSERT INTO account_event (account_id, kind, at, changed_by) VALUES ($1, 'first_seen', $2, 'vigil')",
                )
                .await?;
            tx.execute(&statement, &[&id, &seen_at]).await?;
            first_seen.push(id);
            return Ok(id);
        }
    }
    Err(StoreError::Worker(format!("account {key:?} was neither found nor created")))
}

async fn widen_account(tx: &Tx<'_>, id: AccountId, key: &AccountKey, seen_at: UnixSeconds) -> Result<(), StoreError> {
    let widen = tx
        .prepare_cached(
            "UPDATE account SET first_seen = least(first_seen, $2), last_seen = greatest(last_seen, $2) WHERE id = $1",
        )
        .await?;
    tx.execute(&widen, &[&id, &seen_at]).await?;
    // A key learned for the first time, unless another account holds it
    // already: then both accounts are kept as they are.
    let fill = tx
        .prepare_cached(
            "UPDATE account a SET handle = coalesce(a.handle, $2), platform_account_id = coalesce(a.platform_account_id, $3)
             WHERE a.id = $1
               AND ($2::text IS NULL OR a.handle IS NOT NULL OR NOT EXISTS (
                       SELECT 1 FROM account o WHERE o.platform = a.platform AND o.handle = $2))
               AND ($3::text IS NULL OR a.platform_account_id IS NOT NULL OR NOT EXISTS (
                       SELECT 1 FROM account o WHERE o.platform = a.platform AND o.platform_account_id = $3))",
        )
        .await?;
    tx.execute(&fill, &[&id, &key.handle, &key.platform_account_id]).await?;
    Ok(())
}

pub(crate) async fn account_record(tx: &Tx<'_>, id: AccountId) -> Result<AccountRecord, StoreError> {
    let statement = tx
        .prepare_cached(
            "SELECT id, platform, handle, platform_account_id, first_seen, last_seen, document_count,
                    status, status_changed_at, display_name, avatar_sha256, actor_id
             FROM account WHERE id = $1",
        )
        .await?;
    let row = tx.query_one(&statement, &[&id]).await?;
    Ok(account_from_row(&row))
}

/// An account from the twelve columns `account_record` selects, in order.
pub(crate) fn account_from_row(row: &Row) -> AccountRecord {
    let status: String = row.get(7);
    AccountRecord {
        id: row.get(0),
        platform: row.get(1),
        handle: row.get(2),
        platform_account_id: row.get(3),
        first_seen: row.get(4),
        last_seen: row.get(5),
        document_count: row.get::<_, i64>(6) as u64,
        status: AccountStatus::from_name(&status).unwrap_or(AccountStatus::Active),
        status_changed_at: row.get::<_, Option<i64>>(8).unwrap_or_default(),
        display_name: row.get(9),
        avatar_sha256: row.get(10),
        actor_id: row.get(11),
    }
}

async fn accounts_in_documents(
    tx: &Tx<'_>,
    documents: impl Iterator<Item = DocumentId>,
) -> Result<Vec<AccountRecord>, StoreError> {
    let statement =
        tx.prepare_cached("SELECT account_id FROM document_account WHERE document_id = $1 ORDER BY account_id").await?;
    let mut ids: Vec<AccountId> = Vec::new();
    let mut seen: HashSet<AccountId> = HashSet::new();
    for document in documents {
        for row in tx.query(&statement, &[&document]).await? {
            let id: AccountId = row.get(0);
            if seen.insert(id) {
                ids.push(id);
            }
        }
    }
    let mut accounts = Vec::with_capacity(ids.len());
    for id in ids {
        accounts.push(account_record(tx, id).await?);
    }
    Ok(accounts)
}

async fn search(tx: &Tx<'_>, query: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
    use tokio_postgres::types::ToSql;
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut bind = |value: Box<dyn ToSql + Sync + Send>| {
        values.push(value);
        format!("${}", values.len())
    };
    let phrases = full_text::phrase_terms(&query.phrases);
    let uses_text = !phrases.is_empty();
    let mut rank = String::new();
    if uses_text {
        let terms = bind(Box::new(full_text::tsquery_literal(&phrases)));
        conditions.push(format!("d.search_terms @@ {terms}::text::tsquery"));
        rank = format!("ts_rank(d.search_terms, {terms}::text::tsquery) DESC,");
    }
    if !query.kinds.is_empty() {
        let kinds: Vec<String> = query.kinds.iter().map(|kind| kind.as_str().to_owned()).collect();
        conditions.push(format!("d.kind = ANY({}::text[])", bind(Box::new(kinds))));
    }
    if !query.languages.is_empty() {
        conditions.push(format!("d.language = ANY({}::text[])", bind(Box::new(query.languages.clone()))));
    }
    if !query.categories.is_empty() {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM document_category c WHERE c.document_id = d.id AND c.category = ANY({}::text[]))",
            bind(Box::new(query.categories.clone()))
        ));
    }
    if let Some(from) = query.observed_from {
        conditions.push(format!("d.observed_at >= {}::int8", bind(Box::new(from))));
    }
    if let Some(until) = query.observed_until {
        conditions.push(format!("d.observed_at < {}::int8", bind(Box::new(until))));
    }
    let mut offset = 0;
    match query.after {
        Some(SearchCursor::Newest { observed_at, id }) => {
            let at = bind(Box::new(observed_at));
            let id = bind(Box::new(id));
            conditions.push(format!("(d.observed_at, d.id) < ({at}::int8, {id}::int8)"));
        }
        Some(SearchCursor::Relevance { offset: after }) => offset = after,
        None => {}
    }
    let limit = bind(Box::new(query.limit as i64));
    let offset = bind(Box::new(offset as i64));
    let order = match query.order {
        SearchOrder::Relevance if uses_text => format!("{rank} d.id DESC"),
        _ => "d.observed_at DESC, d.id DESC".to_owned(),
    };
    let where_clause =
        if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS}, d.text FROM document d {where_clause} ORDER BY {order} LIMIT {limit}::int8 OFFSET {offset}::int8"
    );
    let parameters: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect();
    let rows = tx.query(&sql, &parameters).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let text: String = row.get(9);
            SearchHit { document: document_summary(row), snippet: full_text::snippet(&text, &phrases) }
        })
        .collect())
}
