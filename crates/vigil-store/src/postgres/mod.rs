//! The scale-out engine: PostgreSQL through a pool of `tokio-postgres`
//! connections. Several `vigil serve` replicas may share one database: every
//! write is one transaction whose conflicts are settled by unique keys
//! (`ON CONFLICT`), and a transaction that loses a deadlock or a
//! serialization race is run again from the start.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::broadcast;
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use crate::audit::entries;
use crate::full_text;
use crate::import::*;
use crate::known_keys::{self, KnownKeys, KnownKeysState};
use crate::model::*;
use crate::referral::*;
use crate::{IndicatorKind, Span, Store, StoreError};

/// Attempts of a transaction that keeps losing races before giving up.
pub(crate) const MAX_ATTEMPTS: usize = 8;

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
            let builder = client.build_transaction().isolation_level($isolation);
            // A write leaves the access mode to the server: one an operator
            // (or a managed service, as its disk fills) set read-only with
            // `default_transaction_read_only` refuses it, and the caller is
            // told writes are unavailable, rather than overriding the lock.
            let builder = if $read_only { builder.read_only(true) } else { builder };
            let $tx = builder.start().await?;
            let result: Result<_, $crate::StoreError> = async { $body }.await;
            let result = match result {
                Ok(value) if $commit(&value) => $tx.commit().await.map(|()| value).map_err($crate::StoreError::from),
                Ok(value) => $tx.rollback().await.map(|()| value).map_err($crate::StoreError::from),
                Err(error) => Err(error),
            };
            match result {
                Err(error) if attempt < $crate::postgres::MAX_ATTEMPTS && $crate::postgres::is_transient(&error) => {
                    tokio::time::sleep(::std::time::Duration::from_millis(2 * attempt as u64)).await;
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
        in_transaction!(
            $store,
            ::tokio_postgres::IsolationLevel::ReadCommitted,
            read_only = false,
            commit_if = |_: &_| true,
            |$tx| $body
        )
    };
}

/// A read: one snapshot for every query of the call.
macro_rules! read_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        in_transaction!(
            $store,
            ::tokio_postgres::IsolationLevel::RepeatableRead,
            read_only = true,
            commit_if = |_: &_| true,
            |$tx| $body
        )
    };
}

mod access;
mod actors;
mod changes;
mod import;
mod migrations;
mod network;
mod referrals;
mod sites;
mod statistics;
mod tracking;

/// The transaction every PostgreSQL function runs in.
pub(crate) type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// A row count as SQL takes it. SQLite reads `usize::MAX as i64` (-1) as no
/// limit; PostgreSQL refuses a negative one, so a count past `i64::MAX` is
/// `i64::MAX`, which is no limit either.
pub(crate) fn sql_limit(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

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
    /// The draft a stored document with a `threat` category opens; none
    /// when unset.
    pub urgent_lane: Option<UrgentReferral>,
}

impl PostgresOptions {
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions { url: url.into(), max_connections: 16, schema: None, urgent_lane: None }
    }
}

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// For the connection that listens for other replicas' changes.
    config: Arc<tokio_postgres::Config>,
    channel: changes::Channel,
    changes: broadcast::Sender<StoreChange>,
    known_keys: Arc<KnownKeys>,
    fence: Arc<changes::Fence>,
    urgent_lane: Option<Arc<UrgentReferral>>,
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
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|error| connect_error(error.to_string()))?;
        let mut client = pool.get().await.map_err(|error| connect_error(error.to_string()))?;
        migrations::migrate(&mut client).await?;
        let schema: String = client.query_one("SELECT current_schema()", &[]).await?.get(0);
        drop(client);
        // Tells this process's notices from other processes'.
        let instance = RandomState::new().hash_one(std::process::id());
        let store = PostgresStore {
            pool,
            config: Arc::new(config),
            channel: changes::Channel::for_schema(&schema, instance),
            changes: broadcast::channel(1024).0,
            known_keys: Arc::new(KnownKeys::default()),
            fence: Arc::new(changes::Fence::default()),
            urgent_lane: options.urgent_lane.clone().map(Arc::new),
        };
        // From the start: the known keys are loaded once listening begins.
        let followers = changes::Followers {
            fence: Arc::clone(&store.fence),
            changes: store.changes.clone(),
            known_keys: Arc::downgrade(&store.known_keys),
            pool: store.pool.clone(),
        };
        tokio::spawn(changes::listen(Arc::clone(&store.config), store.channel.clone(), followers));
        Ok(store)
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

impl PostgresStore {
    /// The urgent lane for documents stored in `tx`, announced to other
    /// replicas as it commits.
    async fn open_urgent(
        &self,
        tx: &Tx<'_>,
        stored: &[(DocumentId, &NewDocument, Option<AccountId>)],
        at: impl Fn(&NewDocument) -> UnixSeconds,
    ) -> Result<(), StoreError> {
        let Some(lane) = &self.urgent_lane else { return Ok(()) };
        if let Some(newest) = referrals::open_urgent(tx, lane, stored, at).await? {
            self.channel.alerts_raised(tx, newest).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ImportStore for PostgresStore {
    async fn import(&self, source: ImportSource, records: Vec<ImportRecord>) -> Result<ImportOutcome, StoreError> {
        let mut hashes = Vec::new();
        for record in &records {
            match record {
                ImportRecord::Indicator { key, .. } => hashes.push(known_keys::indicator_hash(key)),
                ImportRecord::Account { key, .. } => hashes.extend(known_keys::account_hashes(key)),
                ImportRecord::Sighting { .. } => {}
            }
        }
        self.known_keys.add(hashes.iter().copied());
        write_tx!(self, |tx| {
            let outcome = import::import(&tx, &source, &records).await?;
            self.channel.keys_added(&tx, &hashes).await?;
            self.channel.accounts_changed(&tx, &outcome.first_seen_accounts).await?;
            Ok(outcome)
        })
    }

    async fn markings(&self, indicators: Vec<IndicatorKey>, accounts: Vec<AccountId>) -> Result<Markings, StoreError> {
        read_tx!(self, |tx| import::markings(&tx, &indicators, &accounts).await)
    }
}

#[async_trait]
impl ReferralStore for PostgresStore {
    async fn create_referral(&self, referral: NewReferral) -> Result<ReferralOutcome, StoreError> {
        write_tx!(self, |tx| referrals::create(&tx, &referral, None).await)
    }

    async fn add_referral_items(
        &self,
        referral: ReferralId,
        items: Vec<NewReferralItem>,
        note: ChangeNote,
    ) -> Result<ReferralOutcome, StoreError> {
        write_tx!(self, |tx| referrals::add_items(&tx, referral, &items, &note).await)
    }

    async fn change_referral_status(&self, step: ReferralStep) -> Result<ReferralOutcome, StoreError> {
        write_tx!(self, |tx| {
            let (outcome, accounts) = referrals::change_status(&tx, &step).await?;
            self.channel.accounts_changed(&tx, &accounts).await?;
            Ok(outcome)
        })
    }

    async fn referral(&self, id: ReferralId) -> Result<Option<ReferralView>, StoreError> {
        read_tx!(self, |tx| referrals::view(&tx, id).await)
    }

    async fn list_referrals(&self, filter: ReferralFilter) -> Result<Vec<ReferralRecord>, StoreError> {
        read_tx!(self, |tx| referrals::list(&tx, &filter).await)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert_tip(&self, tip: NewTip) -> Result<TipStored, StoreError> {
        let hashes = known_keys::document_hashes([&tip.document]);
        self.known_keys.add(hashes.iter().copied());
        write_tx!(self, |tx| {
            let stored = insert_documents(&tx, std::slice::from_ref(&tip.document)).await?;
            self.channel.keys_added(&tx, &hashes).await?;
            let id = stored.outcomes[0].0;
            let statement = tx
                .prepare_cached(
                    "INSERT INTO tip (document_id, receipt_locator_hash, receipt_secret_hash, status)
                     VALUES ($1, $2, $3, 'received')",
                )
                .await?;
            tx.execute(&statement, &[&id, &&tip.receipt.locator_hash[..], &tip.receipt.secret_hash]).await?;
            self.channel.accounts_changed(&tx, &stored.first_seen_accounts).await?;
            // A tip's time is its rounded `observed_at`, as on SQLite.
            self.open_urgent(&tx, &[(id, &tip.document, stored.outcomes[0].1)], |document| document.observed_at)
                .await?;
            Ok(TipStored { document: id, first_seen_accounts: stored.first_seen_accounts })
        })
    }

    async fn tip_by_receipt(&self, locator_hash: [u8; 32]) -> Result<Option<TipReceiptRecord>, StoreError> {
        read_tx!(self, |tx| {
            let statement = tx
                .prepare_cached(
                    "SELECT document_id, receipt_secret_hash, status, follow_up_count FROM tip
                     WHERE receipt_locator_hash = $1",
                )
                .await?;
            let Some(row) = tx.query_opt(&statement, &[&&locator_hash[..]]).await? else { return Ok(None) };
            let status: String = row.get(2);
            let follow_up_count: i32 = row.get(3);
            let status = TipStatus::from_column(&status)?;
            Ok(Some(TipReceiptRecord {
                document: row.get(0),
                secret_hash: row.get(1),
                state: TipState { status, follow_up_count: follow_up_count as u32 },
            }))
        })
    }

    async fn sealed_text(&self, document: DocumentId) -> Result<Option<Vec<u8>>, StoreError> {
        read_tx!(self, |tx| {
            let statement = tx.prepare_cached("SELECT sealed_text FROM document WHERE id = $1").await?;
            Ok(tx.query_opt(&statement, &[&document]).await?.and_then(|row| row.get::<_, Option<Vec<u8>>>(0)))
        })
    }

    async fn add_tip_follow_up(
        &self,
        tip: DocumentId,
        follow_up: NewDocument,
    ) -> Result<Option<FollowUpStored>, StoreError> {
        let hashes = known_keys::document_hashes([&follow_up]);
        self.known_keys.add(hashes.iter().copied());
        write_tx!(self, |tx| {
            let count = tx
                .prepare_cached(
                    "UPDATE tip SET follow_up_count = follow_up_count + 1 WHERE document_id = $1
                     RETURNING follow_up_count",
                )
                .await?;
            let Some(counted) = tx.query_opt(&count, &[&tip]).await? else { return Ok(None) };
            let follow_up_count: i32 = counted.get(0);
            let stored = insert_documents(&tx, std::slice::from_ref(&follow_up)).await?;
            self.channel.keys_added(&tx, &hashes).await?;
            let id = stored.outcomes[0].0;
            let link =
                tx.prepare_cached("INSERT INTO tip_follow_up (document_id, tip_document_id) VALUES ($1, $2)").await?;
            tx.execute(&link, &[&id, &tip]).await?;
            self.channel.accounts_changed(&tx, &stored.first_seen_accounts).await?;
            self.open_urgent(&tx, &[(id, &follow_up, stored.outcomes[0].1)], |document| document.observed_at).await?;
            Ok(Some(FollowUpStored {
                document: id,
                follow_up_count: follow_up_count as u32,
                first_seen_accounts: stored.first_seen_accounts,
            }))
        })
    }

    async fn insert_posts(&self, posts: Vec<NewDocument>, ingested: ChangeNote) -> Result<PostsStored, StoreError> {
        let hashes = known_keys::document_hashes(&posts);
        self.known_keys.add(hashes.iter().copied());
        write_tx!(self, |tx| {
            let stored = insert_documents(&tx, &posts).await?;
            self.channel.keys_added(&tx, &hashes).await?;
            let mut seen = HashSet::new();
            let authors: Vec<AccountId> =
                stored.outcomes.iter().filter_map(|&(_, author, _)| author).filter(|&id| seen.insert(id)).collect();
            let first_seen = &stored.first_seen_accounts;
            let changed: Vec<AccountId> =
                first_seen.iter().chain(authors.iter().filter(|id| !first_seen.contains(id))).copied().collect();
            self.channel.accounts_changed(&tx, &changed).await?;
            let outcomes = stored
                .outcomes
                .iter()
                .map(|&(id, _, new)| if new { PostOutcome::Stored(id) } else { PostOutcome::Duplicate(id) })
                .collect();
            let new: Vec<(DocumentId, &NewDocument, Option<AccountId>)> = stored
                .outcomes
                .iter()
                .zip(&posts)
                .filter(|((_, _, new), _)| *new)
                .map(|(&(id, author, _), post)| (id, post, author))
                .collect();
            self.open_urgent(&tx, &new, |_| ingested.at).await?;
            let post_authors = stored.outcomes.iter().map(|&(_, author, _)| author).collect();
            let stored =
                PostsStored { outcomes, first_seen_accounts: stored.first_seen_accounts, authors, post_authors };
            if let Some(entry) = entries::posts_ingested(ingested.at, &ingested.changed_by, &stored) {
                access::append_audit(&tx, entry).await?;
            }
            Ok(stored)
        })
    }

    async fn indicator_report(
        &self,
        kind: IndicatorKind,
        value: String,
        max_documents: usize,
    ) -> Result<Option<IndicatorReport>, StoreError> {
        // One statement, so one snapshot and one round trip, where three
        // statements in a read-only transaction took five.
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(&INDICATOR_REPORT).await?;
        let rows = client.query(&statement, &[&kind.as_str(), &value, &sql_limit(max_documents)]).await?;
        let mut parts = rows.iter().peekable();
        let Some(found) = parts.next_if(|row| row.get::<_, i32>(0) == 0) else { return Ok(None) };
        let indicator = IndicatorRecord {
            kind,
            value,
            first_seen: found.get(2),
            last_seen: found.get(3),
            sighting_count: found.get::<_, i64>(4) as u64,
        };
        let mut recent_documents = Vec::new();
        while let Some(row) = parts.next_if(|row| row.get::<_, i32>(0) == 1) {
            recent_documents.push(document_summary_from(row, REPORT_DOCUMENT));
        }
        let accounts = parts.map(|row| account_from_columns(row, REPORT_ACCOUNT)).collect();
        Ok(Some(IndicatorReport { indicator, recent_documents, accounts }))
    }

    async fn known_indicators(&self, keys: Vec<IndicatorKey>) -> Result<Vec<IndicatorRecord>, StoreError> {
        Ok(self.known(keys, Vec::new()).await?.indicators)
    }

    async fn known_accounts(&self, keys: Vec<AccountKey>) -> Result<Vec<Option<AccountRecord>>, StoreError> {
        Ok(self.known(Vec::new(), keys).await?.accounts)
    }

    /// The hot path of content checks: each answer is a point read, so no
    /// transaction is needed, and both statements go out together on one
    /// connection: one round trip to the server.
    /// What other replicas acknowledged before the call is seen: the known
    /// keys answer only once the fence shows their notices applied.
    async fn known(&self, indicators: Vec<IndicatorKey>, accounts: Vec<AccountKey>) -> Result<Known, StoreError> {
        let read = |indicators: Vec<IndicatorKey>, accounts: Vec<AccountKey>| async move {
            let client = self.pool.get().await?;
            let (indicators, accounts) =
                tokio::try_join!(known_indicators(&client, &indicators), known_accounts(&client, &accounts))?;
            Ok(Known { indicators, accounts })
        };
        if self.known_keys.state().complete && self.fence.pass().await {
            known_keys::known_through(&self.known_keys, indicators, accounts, read).await
        } else {
            read(indicators, accounts).await
        }
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
        write_tx!(self, |tx| {
            let changed = tracking::change_status(&tx, &change).await?;
            if let Some((account, _)) = &changed {
                self.channel.accounts_changed(&tx, &[account.id]).await?;
                access::append_audit(&tx, entries::status_changed(&change, account)).await?;
            }
            Ok(changed)
        })
    }

    async fn record_profile_snapshot(&self, snapshot: NewProfileSnapshot) -> Result<SnapshotStored, StoreError> {
        let hashes: Vec<u64> = known_keys::account_hashes(&snapshot.account).collect();
        self.known_keys.add(hashes.iter().copied());
        write_tx!(self, |tx| {
            let stored = tracking::record_snapshot(&tx, &snapshot).await?;
            self.channel.keys_added(&tx, &hashes).await?;
            self.channel.accounts_changed(&tx, &[stored.account.id]).await?;
            access::append_audit(&tx, entries::snapshot_recorded(&snapshot, &stored)).await?;
            Ok(stored)
        })
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
        write_tx!(self, |tx| {
            let alerts = tracking::propose(&tx, &proposals).await?;
            if let Some(newest) = alerts.iter().map(|alert| alert.id).max() {
                self.channel.alerts_raised(&tx, newest).await?;
            }
            if let Some(entry) = entries::successors_proposed(&alerts) {
                access::append_audit(&tx, entry).await?;
            }
            Ok(alerts)
        })
    }

    async fn review_successor(&self, review: SuccessorReview) -> Result<ReviewOutcome, StoreError> {
        write_tx!(self, |tx| {
            let outcome = tracking::review(&tx, &review).await?;
            if let ReviewOutcome::Reviewed(successor) = &outcome {
                self.channel.accounts_changed(&tx, &[successor.account.id, successor.predecessor.id]).await?;
                access::append_audit(&tx, entries::successor_reviewed(&review)).await?;
            }
            Ok(outcome)
        })
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
            |tx| {
                let outcome = actors::apply(&tx, &change, &note).await?;
                if let Some(entry) = entries::actors_changed(&change, &note, &outcome) {
                    access::append_audit(&tx, entry).await?;
                }
                Ok(outcome)
            }
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
        write_tx!(self, |tx| {
            let changed = sites::change(&tx, &site, &change, &note).await?;
            if let Some(changed) = &changed {
                access::append_audit(&tx, entries::site_changed(&change, &note, changed)).await?;
            }
            Ok(changed)
        })
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

    fn known_keys_state(&self) -> KnownKeysState {
        self.known_keys.state()
    }

    fn changes(&self) -> Option<broadcast::Receiver<StoreChange>> {
        Some(self.changes.subscribe())
    }
}

async fn known_indicators(
    client: &impl GenericClient,
    keys: &[IndicatorKey],
) -> Result<Vec<IndicatorRecord>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // One round trip for the whole batch: the keys go as two arrays.
    let statement = client
        .prepare_cached(
            "SELECT i.kind, i.value, i.first_seen, i.last_seen, i.sighting_count
             FROM unnest($1::text[], $2::text[]) AS k (kind, value)
             JOIN indicator i ON i.kind = k.kind AND i.value = k.value",
        )
        .await?;
    let kinds: Vec<&str> = keys.iter().map(|key| key.kind.as_str()).collect();
    let values: Vec<&str> = keys.iter().map(|key| key.value.as_str()).collect();
    let rows = client.query(&statement, &[&kinds, &values]).await?;
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

/// The stored account for each key, in key order: by handle, else by
/// platform id, as [`find_account`] looks.
async fn known_accounts(
    client: &impl GenericClient,
    keys: &[AccountKey],
) -> Result<Vec<Option<AccountRecord>>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let statement = client
        .prepare_cached(&format!(
            "SELECT k.n, {ACCOUNT_COLUMNS}
             FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k (platform, handle, platform_id, n)
             CROSS JOIN LATERAL (
                 (SELECT * FROM account a WHERE a.platform = k.platform AND a.handle = k.handle)
                 UNION ALL
                 (SELECT * FROM account a WHERE a.platform = k.platform AND a.platform_account_id = k.platform_id)
                 LIMIT 1
             ) a"
        ))
        .await?;
    let platforms: Vec<&str> = keys.iter().map(|key| key.platform.as_str()).collect();
    let handles: Vec<Option<&str>> = keys.iter().map(|key| key.handle.as_deref()).collect();
    let platform_ids: Vec<Option<&str>> = keys.iter().map(|key| key.platform_account_id.as_deref()).collect();
    let mut found = vec![None; keys.len()];
    for row in client.query(&statement, &[&platforms, &handles, &platform_ids]).await? {
        let n: i64 = row.get(0);
        found[n as usize - 1] = Some(account_from_columns(&row, 1));
    }
    Ok(found)
}

pub(crate) const DOCUMENT_COLUMNS: &str =
    "d.id, d.kind, d.platform, d.platform_post_id, d.url, d.language, d.observed_at, d.text_sha256,
     (SELECT string_agg(category, ',' ORDER BY category) FROM document_category c WHERE c.document_id = d.id),
     (SELECT f.tip_document_id FROM tip_follow_up f WHERE f.document_id = d.id), d.sealed_text IS NOT NULL";

pub(crate) fn document_summary(row: &Row) -> DocumentSummary {
    document_summary_from(row, 0)
}

/// A document from [`DOCUMENT_COLUMNS`], selected from column `first` on.
fn document_summary_from(row: &Row, first: usize) -> DocumentSummary {
    let kind: String = row.get(first + 1);
    DocumentSummary {
        id: row.get(first),
        kind: DocumentKind::from_name(&kind).unwrap_or(DocumentKind::Post),
        platform: row.get(first + 2),
        platform_post_id: row.get(first + 3),
        url: row.get(first + 4),
        language: row.get(first + 5),
        observed_at: row.get(first + 6),
        text_sha256: row.get(first + 7),
        categories: row
            .get::<_, Option<String>>(first + 8)
            .map(|names| names.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        follow_up_of: row.get(first + 9),
        sealed: row.get(first + 10),
    }
}

/// Where [`INDICATOR_REPORT`]'s rows keep a document's and an
/// account's columns.
const REPORT_DOCUMENT: usize = 5;
const REPORT_ACCOUNT: usize = 16;

/// An indicator, its newest documents and their accounts as one statement:
/// rows of part 0 (the indicator: columns 2 to 4), then part 1 (documents,
/// newest first, from [`REPORT_DOCUMENT`]), then part 2 (accounts in the
/// order the documents name them, from [`REPORT_ACCOUNT`]); the other
/// columns of each part are null. Every step is a lateral subquery on the
/// step before (`LIMIT` / `OFFSET 0` keep the planner from flattening them
/// into joins), so the plan is index look-ups of a few rows whatever the
/// statistics say: with plain joins, a generic plan on a freshly loaded
/// schema hash-joined the whole document and account tables (EXPLAIN on
/// 1,000,000 unanalyzed sightings: 250,000 documents scanned per look-up),
/// and an earlier form walked every sighting in time order. Built once:
/// look-ups are a hot path.
static INDICATOR_REPORT: std::sync::LazyLock<String> = std::sync::LazyLock::new(indicator_report_statement);

fn indicator_report_statement() -> String {
    let no_document =
        "NULL::int8, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::int8, NULL::text, NULL::text,
         NULL::int8, NULL::bool";
    let no_account = "NULL::int8, NULL::text, NULL::text, NULL::text, NULL::int8, NULL::int8, NULL::int8, NULL::text,
                      NULL::int8, NULL::text, NULL::text, NULL::int8";
    format!(
        "WITH found AS (
             SELECT id, first_seen, last_seen, sighting_count FROM indicator WHERE kind = $1 AND value = $2
         ),
         recent AS MATERIALIZED (
             SELECT s.document_id, row_number() OVER (ORDER BY s.seen_at DESC, s.document_id DESC) AS n
             FROM found CROSS JOIN LATERAL (
                 SELECT document_id, seen_at FROM sighting WHERE indicator_id = found.id
                 ORDER BY seen_at DESC, document_id DESC LIMIT $3
             ) s
         ),
         named AS (
             SELECT da.account_id, min(recent.n) AS first_named
             FROM recent CROSS JOIN LATERAL (
                 SELECT account_id FROM document_account WHERE document_id = recent.document_id OFFSET 0
             ) da
             GROUP BY da.account_id
         )
         SELECT 0, 0::int8, f.first_seen, f.last_seen, f.sighting_count, {no_document}, {no_account} FROM found f
         UNION ALL
         SELECT 1, r.n, NULL::int8, NULL::int8, NULL::int8, {DOCUMENT_COLUMNS}, {no_account}
         FROM recent r CROSS JOIN LATERAL (SELECT * FROM document WHERE id = r.document_id LIMIT 1) d
         UNION ALL
         SELECT 2, row_number() OVER (ORDER BY named.first_named, a.id), NULL::int8, NULL::int8, NULL::int8,
                {no_document}, {ACCOUNT_COLUMNS}
         FROM named CROSS JOIN LATERAL (SELECT * FROM account WHERE id = named.account_id LIMIT 1) a
         ORDER BY 1, 2"
    )
}

/// What [`insert_documents`] did with each document, in order: its id, its
/// author (when stored now) and whether it was stored now (`false`: a post
/// with the same key was stored before, or earlier in the batch).
struct DocumentsStored {
    outcomes: Vec<(DocumentId, Option<AccountId>, bool)>,
    first_seen_accounts: Vec<AccountId>,
}

/// Inserts documents with their sightings, accounts, categories and search
/// terms, a batch at a time: a few statements per batch rather than per
/// document. Rows are created in the order the documents and their
/// indicators come, as on SQLite, so both engines number them alike.
async fn insert_documents(tx: &Tx<'_>, documents: &[NewDocument]) -> Result<DocumentsStored, StoreError> {
    take_document_write_lock(tx).await?;

    // Posts stored before, or earlier in this batch, are duplicates.
    let posts: Vec<(&str, &str)> =
        documents.iter().filter_map(|d| Some((d.platform.as_deref()?, d.platform_post_id.as_deref()?))).collect();
    let mut stored_posts: HashMap<(String, String), DocumentId> = HashMap::new();
    if !posts.is_empty() {
        let statement = tx
            .prepare_cached(
                "SELECT d.platform, d.platform_post_id, d.id
                 FROM unnest($1::text[], $2::text[]) AS k (platform, post_id)
                 JOIN document d ON d.kind = 'post' AND d.platform = k.platform AND d.platform_post_id = k.post_id",
            )
            .await?;
        let (platforms, ids): (Vec<&str>, Vec<&str>) = posts.iter().copied().unzip();
        for row in tx.query(&statement, &[&platforms, &ids]).await? {
            stored_posts.insert((row.get(0), row.get(1)), row.get(2));
        }
    }
    let mut new: Vec<usize> = Vec::new();
    let mut earlier_in_batch: HashMap<(&str, &str), usize> = HashMap::new();
    // Per document: stored before (an id), a repeat of a new one (its
    // index), or new.
    enum Fate {
        Stored(DocumentId),
        Repeat(usize),
        New,
    }
    let fates: Vec<Fate> = documents
        .iter()
        .enumerate()
        .map(|(index, d)| match (d.platform.as_deref(), d.platform_post_id.as_deref()) {
            (Some(platform), Some(post_id)) => {
                if let Some(&id) = stored_posts.get(&(platform.to_owned(), post_id.to_owned())) {
                    Fate::Stored(id)
                } else if let Some(&first) = earlier_in_batch.get(&(platform, post_id)) {
                    Fate::Repeat(first)
                } else {
                    earlier_in_batch.insert((platform, post_id), index);
                    new.push(index);
                    Fate::New
                }
            }
            _ => {
                new.push(index);
                Fate::New
            }
        })
        .collect();

    // Accounts, in the order they are met: each post's author, then the
    // accounts it names.
    let mut first_seen_accounts = Vec::new();
    let named = |index: usize| {
        let document = &documents[index];
        let authors = document.author.iter().map(|key| (key, "author"));
        authors.chain(document.mentioned_accounts.iter().map(|key| (key, "mention")))
    };
    let met: Vec<(&AccountKey, UnixSeconds)> =
        new.iter().flat_map(|&index| named(index).map(move |(key, _)| (key, documents[index].observed_at))).collect();
    let account_ids = upsert_accounts(tx, &met, &mut first_seen_accounts).await?;
    let mut authors: HashMap<usize, AccountId> = HashMap::new();
    let mut links: Vec<(usize, AccountId, &str)> = Vec::new();
    for &index in &new {
        for (key, role) in named(index) {
            let id = account_ids[key];
            if role == "author" {
                authors.insert(index, id);
            }
            links.push((index, id, role));
        }
    }

    // The documents, numbered in batch order.
    let statement = tx
        .prepare_cached(
            "INSERT INTO document (kind, platform, platform_post_id, author_account_id, url, text, text_sha256,
                                   language, observed_at, search_terms, sealed_text)
             SELECT kind, platform, post_id, author, url, text, sha, language, observed_at, terms::tsvector, sealed
             FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::int8[], $10::text[], $11::bytea[])
                  WITH ORDINALITY AS d (kind, platform, post_id, author, url, text, sha, language, observed_at, terms,
                                        sealed, n)
             ORDER BY n
             RETURNING id",
        )
        .await?;
    let column = |f: fn(&NewDocument) -> Option<&str>| new.iter().map(|&i| f(&documents[i])).collect::<Vec<_>>();
    let kinds = column(|d| Some(d.kind.as_str()));
    let platforms = column(|d| d.platform.as_deref());
    let post_ids = column(|d| d.platform_post_id.as_deref());
    let urls = column(|d| d.url.as_deref());
    let texts = column(|d| Some(d.text.as_str()));
    let hashes = column(|d| Some(d.text_sha256.as_str()));
    let languages = column(|d| d.language.as_deref());
    let author_ids: Vec<Option<i64>> = new.iter().map(|i| authors.get(i).copied()).collect();
    let observed: Vec<i64> = new.iter().map(|&i| documents[i].observed_at).collect();
    let terms: Vec<String> = new.iter().map(|&i| full_text::tsvector_literal(&documents[i].search_text)).collect();
    let sealed: Vec<Option<&[u8]>> = new.iter().map(|&i| documents[i].sealed_text.as_deref()).collect();
    let rows = tx
        .query(
            &statement,
            &[
                &kinds,
                &platforms,
                &post_ids,
                &author_ids,
                &urls,
                &texts,
                &hashes,
                &languages,
                &observed,
                &terms,
                &sealed,
            ],
        )
        .await?;
    let mut ids: Vec<DocumentId> = rows.iter().map(|row| row.get(0)).collect();
    // RETURNING gives no order guarantee; identities were drawn in batch order.
    ids.sort_unstable();
    if ids.len() != new.len() {
        return Err(StoreError::Worker(format!("{} documents inserted of {}", ids.len(), new.len())));
    }
    let id_of: HashMap<usize, DocumentId> = new.iter().copied().zip(ids.iter().copied()).collect();

    // Categories.
    let (mut category_documents, mut category_names, mut category_scores) = (Vec::new(), Vec::new(), Vec::new());
    for &index in &new {
        for (name, score) in &documents[index].categories {
            category_documents.push(id_of[&index]);
            category_names.push(name.as_str());
            category_scores.push(*score);
        }
    }
    if !category_documents.is_empty() {
        let statement = tx
            .prepare_cached(
                "INSERT INTO document_category (document_id, category, score)
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::float8[])",
            )
            .await?;
        tx.execute(&statement, &[&category_documents, &category_names, &category_scores]).await?;
    }

    // Indicators, created in the order first met, then their sightings.
    let (mut kinds, mut values, mut sighting_documents, mut seen_at, mut starts, mut ends) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &index in &new {
        let document = &documents[index];
        let mut in_document = HashSet::new();
        for sighting in &document.sightings {
            if !in_document.insert(&sighting.indicator) {
                continue;
            }
            kinds.push(sighting.indicator.kind.as_str());
            values.push(sighting.indicator.value.as_str());
            sighting_documents.push(id_of[&index]);
            seen_at.push(document.observed_at);
            starts.push(sighting.span.map(|Span { start, .. }| start as i64));
            ends.push(sighting.span.map(|Span { end, .. }| end as i64));
        }
    }
    if !kinds.is_empty() {
        let statement = tx
            .prepare_cached(
                "WITH sighting_in AS (
                     SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[])
                          WITH ORDINALITY AS s (kind, value, document_id, seen_at, span_start, span_end, n)
                 ),
                 seen AS (
                     INSERT INTO indicator (kind, value, first_seen, last_seen, sighting_count)
                     SELECT kind, value, min(seen_at), max(seen_at), count(*)
                     FROM sighting_in GROUP BY kind, value ORDER BY min(n)
                     ON CONFLICT (kind, value) DO UPDATE SET
                         first_seen = least(indicator.first_seen, excluded.first_seen),
                         last_seen = greatest(indicator.last_seen, excluded.last_seen),
                         sighting_count = indicator.sighting_count + excluded.sighting_count
                     RETURNING id, kind, value
                 )
                 INSERT INTO sighting (indicator_id, document_id, seen_at, span_start, span_end)
                 SELECT seen.id, s.document_id, s.seen_at, s.span_start, s.span_end
                 FROM sighting_in s JOIN seen ON seen.kind = s.kind AND seen.value = s.value
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        tx.execute(&statement, &[&kinds, &values, &sighting_documents, &seen_at, &starts, &ends]).await?;
    }

    // Accounts in documents, each counted once per document.
    if !links.is_empty() {
        let statement = tx
            .prepare_cached(
                "WITH linked AS (
                     INSERT INTO document_account (document_id, account_id, role)
                     SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[])
                     ON CONFLICT DO NOTHING RETURNING account_id
                 ),
                 counted AS (SELECT account_id, count(*) AS documents FROM linked GROUP BY account_id)
                 UPDATE account SET document_count = document_count + counted.documents
                 FROM counted WHERE account.id = counted.account_id",
            )
            .await?;
        let link_documents: Vec<i64> = links.iter().map(|(index, _, _)| id_of[index]).collect();
        let link_accounts: Vec<i64> = links.iter().map(|&(_, id, _)| id).collect();
        let roles: Vec<&str> = links.iter().map(|&(_, _, role)| role).collect();
        tx.execute(&statement, &[&link_documents, &link_accounts, &roles]).await?;
    }

    let outcomes = fates
        .iter()
        .enumerate()
        .map(|(index, fate)| match *fate {
            Fate::Stored(id) => (id, None, false),
            Fate::Repeat(first) => (id_of[&first], None, false),
            Fate::New => (id_of[&index], authors.get(&index).copied(), true),
        })
        .collect();
    Ok(DocumentsStored { outcomes, first_seen_accounts })
}

/// The accounts met in a batch (each with the time of the document it was
/// met in, in the order met), found or created, their seen range widened:
/// a few statements for the whole batch. New accounts are created in the
/// order met, each with its `first_seen` event, as on SQLite.
async fn upsert_accounts<'k>(
    tx: &Tx<'_>,
    met: &[(&'k AccountKey, UnixSeconds)],
    first_seen: &mut Vec<AccountId>,
) -> Result<HashMap<&'k AccountKey, AccountId>, StoreError> {
    // Each key once: when first met, and the range it was met over.
    let mut keys: Vec<&'k AccountKey> = Vec::new();
    let mut times: HashMap<&'k AccountKey, (UnixSeconds, UnixSeconds, UnixSeconds)> = HashMap::new();
    for &(key, at) in met {
        times.entry(key).and_modify(|(_, low, high)| (*low, *high) = ((*low).min(at), (*high).max(at))).or_insert_with(
            || {
                keys.push(key);
                (at, at, at)
            },
        );
    }
    let owned: Vec<AccountKey> = keys.iter().map(|&key| key.clone()).collect();
    let found = known_accounts(tx, &owned).await?;
    let mut ids: HashMap<&'k AccountKey, AccountId> = HashMap::new();
    // Accounts found whose key adds a handle or platform id they lack get
    // the slow path, which fills it in.
    let mut slow: Vec<&'k AccountKey> = Vec::new();
    for (&key, record) in keys.iter().zip(&found) {
        if let Some(record) = record {
            ids.insert(key, record.id);
            let adds = (key.handle.is_some() && record.handle.is_none())
                || (key.platform_account_id.is_some() && record.platform_account_id.is_none());
            if adds {
                slow.push(key);
            }
        }
    }
    let missing: Vec<&'k AccountKey> = keys.iter().zip(&found).filter(|(_, r)| r.is_none()).map(|(&k, _)| k).collect();
    if !missing.is_empty() {
        let statement = tx
            .prepare_cached(
                "INSERT INTO account (platform, handle, platform_account_id, first_seen, last_seen, status_changed_at)
                 SELECT platform, handle, platform_id, at, at, at
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) WITH ORDINALITY
                      AS k (platform, handle, platform_id, at, n)
                 ORDER BY n
                 ON CONFLICT DO NOTHING
                 RETURNING id, platform, handle, platform_account_id",
            )
            .await?;
        let platforms: Vec<&str> = missing.iter().map(|key| key.platform.as_str()).collect();
        let handles: Vec<Option<&str>> = missing.iter().map(|key| key.handle.as_deref()).collect();
        let platform_ids: Vec<Option<&str>> = missing.iter().map(|key| key.platform_account_id.as_deref()).collect();
        let first_at: Vec<UnixSeconds> = missing.iter().map(|key| times[key].0).collect();
        let rows = tx.query(&statement, &[&platforms, &handles, &platform_ids, &first_at]).await?;
        let mut created: Vec<(AccountId, UnixSeconds)> = Vec::new();
        for row in &rows {
            let key = AccountKey { platform: row.get(1), handle: row.get(2), platform_account_id: row.get(3) };
            if let Some(&met_key) = missing.iter().find(|&&candidate| *candidate == key) {
                ids.insert(met_key, row.get(0));
                created.push((row.get(0), times[met_key].0));
            }
        }
        // Identities were drawn in the order met.
        created.sort_unstable();
        if !created.is_empty() {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO account_event (account_id, kind, at, changed_by)
                     SELECT id, 'first_seen', at, 'vigil' FROM unnest($1::int8[], $2::int8[]) AS e (id, at)",
                )
                .await?;
            let (created_ids, at): (Vec<AccountId>, Vec<UnixSeconds>) = created.iter().copied().unzip();
            tx.execute(&statement, &[&created_ids, &at]).await?;
            first_seen.extend(created_ids);
        }
        // A key that met another key of this batch (or of a concurrent
        // writer) on the way in: the slow path finds the account it names.
        for key in missing {
            if !ids.contains_key(key) {
                let id = upsert_account(tx, key, times[key].0, first_seen).await?;
                ids.insert(key, id);
            }
        }
    }
    for key in slow {
        widen_account(tx, ids[key], key, times[key].0).await?;
    }
    // Every account's seen range, once per account.
    let mut ranges: HashMap<AccountId, (UnixSeconds, UnixSeconds)> = HashMap::new();
    for key in &keys {
        let (_, low, high) = times[key];
        ranges.entry(ids[key]).and_modify(|(l, h)| (*l, *h) = ((*l).min(low), (*h).max(high))).or_insert((low, high));
    }
    let mut ranges: Vec<(AccountId, (UnixSeconds, UnixSeconds))> = ranges.into_iter().collect();
    ranges.sort_unstable();
    let statement = tx
        .prepare_cached(
            "UPDATE account a SET first_seen = least(a.first_seen, r.low), last_seen = greatest(a.last_seen, r.high)
             FROM unnest($1::int8[], $2::int8[], $3::int8[]) AS r (id, low, high)
             WHERE a.id = r.id AND (r.low < a.first_seen OR r.high > a.last_seen)",
        )
        .await?;
    let range_ids: Vec<AccountId> = ranges.iter().map(|(id, _)| *id).collect();
    let lows: Vec<UnixSeconds> = ranges.iter().map(|(_, (low, _))| *low).collect();
    let highs: Vec<UnixSeconds> = ranges.iter().map(|(_, (_, high))| *high).collect();
    tx.execute(&statement, &[&range_ids, &lows, &highs]).await?;
    Ok(ids)
}

/// Any key held by every vigil process storing documents.
const DOCUMENT_WRITE_LOCK: i64 = 0x7669_6769_6c00_0003;

/// Makes document writes from every replica take turns. Batches touch
/// many accounts and indicators in orders no two batches share, so running
/// them side by side deadlocks; and locking each key instead would take
/// thousands of locks per batch, more than PostgreSQL's lock table holds
/// (about 64 per connection). Extraction, the costly part of intake, still
/// runs on every replica at once; only the few set-based statements of a
/// batch are serialized, as they are on SQLite's single writer.
async fn take_document_write_lock(tx: &Tx<'_>) -> Result<(), StoreError> {
    let statement = tx.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    tx.execute(&statement, &[&DOCUMENT_WRITE_LOCK]).await?;
    Ok(())
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

/// The columns [`account_from_row`] reads, in its order.
pub(crate) const ACCOUNT_COLUMNS: &str = "a.id, a.platform, a.handle, a.platform_account_id, a.first_seen, a.last_seen,
     a.document_count, a.status, a.status_changed_at, a.display_name, a.avatar_sha256, a.actor_id";

/// An account from [`ACCOUNT_COLUMNS`], selected first in the row.
pub(crate) fn account_from_row(row: &Row) -> AccountRecord {
    account_from_columns(row, 0)
}

/// An account from [`ACCOUNT_COLUMNS`], selected from column `first` on.
fn account_from_columns(row: &Row, first: usize) -> AccountRecord {
    let status: String = row.get(first + 7);
    AccountRecord {
        id: row.get(first),
        platform: row.get(first + 1),
        handle: row.get(first + 2),
        platform_account_id: row.get(first + 3),
        first_seen: row.get(first + 4),
        last_seen: row.get(first + 5),
        document_count: row.get::<_, i64>(first + 6) as u64,
        status: AccountStatus::from_name(&status).unwrap_or(AccountStatus::Active),
        status_changed_at: row.get::<_, Option<i64>>(first + 8).unwrap_or_default(),
        display_name: row.get(first + 9),
        avatar_sha256: row.get(first + 10),
        actor_id: row.get(first + 11),
    }
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
            let text: String = row.get(11);
            SearchHit { document: document_summary(row), snippet: full_text::snippet(&text, &phrases) }
        })
        .collect())
}
