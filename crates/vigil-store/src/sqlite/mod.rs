//! The embedded engine: SQLite in WAL mode, one writer connection and a few
//! readers, each call run on tokio's blocking pool so the async runtime never
//! waits on disk.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params, params_from_iter};

use crate::audit::entries;
use crate::import::*;
use crate::known_keys::{self, KnownKeys, KnownKeysState};
use crate::model::*;
use crate::referral::*;
use crate::{IndicatorKind, Span, Store, StoreError};
use crate::{full_text, history, migrations};

mod access;
mod actors;
mod import;
mod network;
mod referrals;
mod sites;
mod statistics;
mod tracking;

/// How to open a [`SqliteStore`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// The database file; its directory must exist.
    pub path: PathBuf,
    /// Read connections; readers never block the writer nor each other.
    pub readers: usize,
    /// The draft a stored document with a `threat` category opens; none
    /// when unset.
    pub urgent_lane: Option<UrgentReferral>,
}

impl SqliteOptions {
    pub fn in_directory(data_dir: &Path) -> SqliteOptions {
        SqliteOptions { path: data_dir.join("vigil.sqlite3"), readers: 4, urgent_lane: None }
    }
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    known_keys: Arc<KnownKeys>,
    urgent_lane: Option<UrgentReferral>,
    path: PathBuf,
    /// Other processes' commits (`vigil import`, `vigil keys`), announced
    /// as [`StoreChange::Resync`] once someone listens.
    changes: tokio::sync::broadcast::Sender<StoreChange>,
    watching: Once,
}

/// How often the file is checked for other processes' commits.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Watches for commits by other processes: their keys are then loaded
/// again, and listeners told to read everything again, as a PostgreSQL
/// replica is told of another's writes. SQLite's `data_version` on the
/// writer connection changes only when another connection commits, and
/// this process's readers never do. Ends when the store is dropped.
fn watch_other_processes(inner: Weak<Inner>) {
    let data_version = |inner: &Inner| {
        let writer = inner.writer.lock().ok()?;
        writer.query_row("PRAGMA data_version", [], |row| row.get::<_, i64>(0)).ok()
    };
    // Read before returning to the first listener: a commit after it
    // subscribed is then seen as a change.
    let Some(first) = inner.upgrade() else { return };
    let initial = data_version(&first);
    drop(first);
    let spawned = std::thread::Builder::new().name("vigil-sqlite-watch".to_owned()).spawn(move || {
        let mut last = initial;
        loop {
            std::thread::sleep(WATCH_INTERVAL);
            let Some(inner) = inner.upgrade() else { return };
            let version = data_version(&inner);
            if let (Some(previous), Some(now)) = (last, version)
                && previous != now
            {
                tracing::info!("another process wrote to the database; reloading what is kept in memory");
                inner.known_keys.mark_incomplete();
                if let Err(error) = load_known_keys(&inner.path, Arc::clone(&inner.known_keys)) {
                    tracing::warn!(%error, "known keys not reloaded; content checks read storage");
                }
                let _ = inner.changes.send(StoreChange::Resync);
            }
            last = version.or(last);
        }
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot watch for other processes' writes");
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database. Blocking.
    pub fn open(options: &SqliteOptions) -> Result<SqliteStore, StoreError> {
        let path = options.path.display().to_string();
        let open_error = |source| StoreError::Open { path: path.clone(), source };
        let mut writer = Connection::open(&options.path).map_err(open_error)?;
        // FULL: a write acknowledged to a client survives power loss, not
        // only a crash of the process. A 64 MiB page cache and reads through
        // a memory map (up to 1 GiB of the file; the rest is read as usual)
        // keep indexes in memory instead of copying pages in per lookup.
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;
                 PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY;",
            )
            .map_err(open_error)?;
        migrations::migrate(&mut writer)?;
        let readers = (0..options.readers.max(1))
            .map(|_| {
                let reader = Connection::open_with_flags(
                    &options.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(open_error)?;
                reader
                    .execute_batch(
                        "PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384; PRAGMA mmap_size = 1073741824;",
                    )
                    .map_err(open_error)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let known_keys = Arc::new(KnownKeys::default());
        load_known_keys(&options.path, Arc::clone(&known_keys))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                known_keys,
                urgent_lane: options.urgent_lane.clone(),
                path: options.path.clone(),
                changes: tokio::sync::broadcast::channel(16).0,
                watching: Once::new(),
            }),
        })
    }

    /// Folds the write-ahead log into the database file; called at shutdown
    /// so that a stopped server leaves one self-contained file.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let writer = self.inner.writer.lock().map_err(|_| StoreError::Worker("writer lock poisoned".into()))?;
        writer.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }

    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let mut writer = inner.writer.lock().map_err(|_| StoreError::Worker("writer lock poisoned".into()))?;
            let transaction = writer.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let result = work(&transaction)?;
            transaction.commit()?;
            Ok(result)
        })
        .await
    }

    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let start = inner.next_reader.fetch_add(1, Ordering::Relaxed);
            let count = inner.readers.len();
            // Take the first idle reader, else wait for the one we were dealt.
            let mut reader = (0..count)
                .find_map(|offset| inner.readers[(start + offset) % count].try_lock().ok())
                .map_or_else(|| inner.readers[start % count].lock(), Ok)
                .map_err(|_| StoreError::Worker("reader lock poisoned".into()))?;
            // One read transaction: every query of a call sees one snapshot.
            let transaction = reader.transaction()?;
            work(&transaction)
        })
        .await
    }
}

/// Fills `keys` with every stored indicator and account on a thread of its
/// own, so that opening a large database does not wait for it. Writes made
/// meanwhile add their keys themselves; checks read storage until the load
/// is done.
fn load_known_keys(path: &Path, keys: Arc<KnownKeys>) -> Result<(), StoreError> {
    let connection =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
    let epoch = keys.epoch();
    let started = std::time::Instant::now();
    let load = move || -> rusqlite::Result<()> {
        let mut chunk = Vec::with_capacity(known_keys::LOAD_CHUNK);
        let flush = |chunk: &mut Vec<u64>| keys.add(chunk.drain(..));
        let transaction = connection.unchecked_transaction()?;
        let mut indicators = transaction.prepare("SELECT kind, value FROM indicator")?;
        let mut rows = indicators.query([])?;
        while let Some(row) = rows.next()? {
            chunk.push(known_keys::stored_indicator_hash(row.get_ref(0)?.as_str()?, row.get_ref(1)?.as_str()?));
            if chunk.len() == known_keys::LOAD_CHUNK {
                flush(&mut chunk);
            }
        }
        let mut accounts = transaction.prepare("SELECT platform, handle, platform_account_id FROM account")?;
        let mut rows = accounts.query([])?;
        while let Some(row) = rows.next()? {
            chunk.extend(known_keys::stored_account_hashes(
                row.get_ref(0)?.as_str()?,
                row.get_ref(1)?.as_str_or_null()?,
                row.get_ref(2)?.as_str_or_null()?,
            ));
            if chunk.len() >= known_keys::LOAD_CHUNK {
                flush(&mut chunk);
            }
        }
        flush(&mut chunk);
        if keys.finish_load(epoch) {
            let hashes = keys.state().hashes;
            tracing::info!(hashes, elapsed_ms = started.elapsed().as_millis() as u64, "known keys loaded");
        }
        Ok(())
    };
    std::thread::Builder::new()
        .name("vigil-known-keys".to_owned())
        .spawn(move || {
            if let Err(error) = load() {
                // Checks keep reading storage: slower, never wrong.
                tracing::warn!(%error, "known keys not loaded; content checks read storage");
            }
        })
        .map_err(|error| StoreError::Worker(format!("cannot start the known-keys loader: {error}")))?;
    Ok(())
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| StoreError::Worker(error.to_string()))?
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_tip(&self, tip: NewTip) -> Result<TipStored, StoreError> {
        self.inner.known_keys.add(known_keys::document_hashes([&tip.document]));
        let lane = self.inner.urgent_lane.clone();
        self.write(move |tx| {
            let mut first_seen_accounts = Vec::new();
            let (id, author) = insert_document(tx, &tip.document, &mut first_seen_accounts)?
                .expect("a tip has no post key, so it is never a duplicate");
            // A tip's time is its rounded `observed_at`, never the moment it
            // arrived: that would say when the tipster wrote.
            if let Some(lane) = &lane {
                referrals::open_urgent(tx, lane, id, &tip.document, author, tip.document.observed_at)?;
            }
            tx.execute(
                "INSERT INTO tip (document_id, receipt_locator_hash, receipt_secret_hash, status)
                 VALUES (?1, ?2, ?3, 'received')",
                params![id, &tip.receipt.locator_hash[..], tip.receipt.secret_hash],
            )?;
            Ok(TipStored { document: id, first_seen_accounts })
        })
        .await
    }

    async fn tip_by_receipt(&self, locator_hash: [u8; 32]) -> Result<Option<TipReceiptRecord>, StoreError> {
        self.read(move |tx| {
            let row = tx
                .query_row(
                    "SELECT document_id, receipt_secret_hash, status, follow_up_count FROM tip
                     WHERE receipt_locator_hash = ?1",
                    params![&locator_hash[..]],
                    |row| {
                        Ok((
                            row.get::<_, DocumentId>(0)?,
                            row.get::<_, Option<String>>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, u32>(3)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(document, secret_hash, status, follow_up_count)| {
                Ok(TipReceiptRecord {
                    document,
                    secret_hash,
                    state: TipState { status: TipStatus::from_column(&status)?, follow_up_count },
                })
            })
            .transpose()
        })
        .await
    }

    async fn sealed_text(&self, document: DocumentId) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(move |tx| {
            let sealed = tx
                .query_row("SELECT sealed_text FROM document WHERE id = ?1", params![document], |row| row.get(0))
                .optional()?;
            Ok(sealed.flatten())
        })
        .await
    }

    async fn add_tip_follow_up(
        &self,
        tip: DocumentId,
        follow_up: NewDocument,
    ) -> Result<Option<FollowUpStored>, StoreError> {
        self.inner.known_keys.add(known_keys::document_hashes([&follow_up]));
        let lane = self.inner.urgent_lane.clone();
        self.write(move |tx| {
            let counted = tx
                .query_row(
                    "UPDATE tip SET follow_up_count = follow_up_count + 1 WHERE document_id = ?1
                     RETURNING follow_up_count",
                    params![tip],
                    |row| row.get::<_, u32>(0),
                )
                .optional()?;
            let Some(follow_up_count) = counted else { return Ok(None) };
            let mut first_seen_accounts = Vec::new();
            let (id, author) = insert_document(tx, &follow_up, &mut first_seen_accounts)?
                .expect("a tip has no post key, so it is never a duplicate");
            tx.execute("INSERT INTO tip_follow_up (document_id, tip_document_id) VALUES (?1, ?2)", params![id, tip])?;
            if let Some(lane) = &lane {
                referrals::open_urgent(tx, lane, id, &follow_up, author, follow_up.observed_at)?;
            }
            Ok(Some(FollowUpStored { document: id, follow_up_count, first_seen_accounts }))
        })
        .await
    }

    async fn insert_posts(&self, posts: Vec<NewDocument>, ingested: ChangeNote) -> Result<PostsStored, StoreError> {
        self.inner.known_keys.add(known_keys::document_hashes(&posts));
        let lane = self.inner.urgent_lane.clone();
        self.write(move |tx| {
            let mut first_seen_accounts = Vec::new();
            let mut find_existing = tx.prepare_cached(
                "SELECT id FROM document WHERE kind = 'post' AND platform = ?1 AND platform_post_id = ?2",
            )?;
            let mut outcomes = Vec::with_capacity(posts.len());
            let mut post_authors = Vec::with_capacity(posts.len());
            let (mut authors, mut seen) = (Vec::new(), HashSet::new());
            for post in &posts {
                let existing: Option<DocumentId> = find_existing
                    .query_row(params![post.platform, post.platform_post_id], |row| row.get(0))
                    .optional()?;
                outcomes.push(match existing {
                    Some(id) => {
                        post_authors.push(None);
                        PostOutcome::Duplicate(id)
                    }
                    None => {
                        let (id, author) = insert_document(tx, post, &mut first_seen_accounts)?
                            .expect("the post key was checked free in this transaction");
                        if let Some(lane) = &lane {
                            referrals::open_urgent(tx, lane, id, post, author, ingested.at)?;
                        }
                        post_authors.push(author);
                        if let Some(author) = author
                            && seen.insert(author)
                        {
                            authors.push(author);
                        }
                        PostOutcome::Stored(id)
                    }
                });
            }
            let stored = PostsStored { outcomes, first_seen_accounts, authors, post_authors };
            if let Some(entry) = entries::posts_ingested(ingested.at, &ingested.changed_by, &stored) {
                access::append_audit(tx, entry)?;
            }
            Ok(stored)
        })
        .await
    }

    async fn indicator_report(
        &self,
        kind: IndicatorKind,
        value: String,
        max_documents: usize,
    ) -> Result<Option<IndicatorReport>, StoreError> {
        self.read(move |tx| {
            let found = tx
                .query_row(
                    "SELECT id, first_seen, last_seen, sighting_count FROM indicator WHERE kind = ?1 AND value = ?2",
                    params![kind.as_str(), value],
                    |row| Ok((row.get::<_, i64>(0)?, row.get(1)?, row.get(2)?, row.get::<_, i64>(3)?)),
                )
                .optional()?;
            let Some((indicator_id, first_seen, last_seen, sighting_count)) = found else { return Ok(None) };
            let mut statement = tx.prepare_cached(&format!(
                "SELECT {DOCUMENT_COLUMNS} FROM sighting s JOIN document d ON d.id = s.document_id
                 WHERE s.indicator_id = ?1 ORDER BY s.seen_at DESC, s.document_id DESC LIMIT ?2"
            ))?;
            let recent_documents = statement
                .query_map(params![indicator_id, max_documents as i64], document_summary)?
                .collect::<Result<Vec<_>, _>>()?;
            let accounts = accounts_in_documents(tx, recent_documents.iter().map(|d| d.id))?;
            Ok(Some(IndicatorReport {
                indicator: IndicatorRecord {
                    kind,
                    value,
                    first_seen,
                    last_seen,
                    sighting_count: sighting_count as u64,
                },
                recent_documents,
                accounts,
            }))
        })
        .await
    }

    async fn known_indicators(&self, keys: Vec<IndicatorKey>) -> Result<Vec<IndicatorRecord>, StoreError> {
        self.read(move |tx| known_indicators(tx, keys)).await
    }

    async fn known_accounts(&self, keys: Vec<AccountKey>) -> Result<Vec<Option<AccountRecord>>, StoreError> {
        self.read(move |tx| known_accounts(tx, &keys)).await
    }

    async fn known(&self, indicators: Vec<IndicatorKey>, accounts: Vec<AccountKey>) -> Result<Known, StoreError> {
        known_keys::known_through(&self.inner.known_keys, indicators, accounts, |indicators, accounts| {
            self.read(move |tx| {
                Ok(Known { indicators: known_indicators(tx, indicators)?, accounts: known_accounts(tx, &accounts)? })
            })
        })
        .await
    }

    async fn search(&self, query: SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        self.read(move |tx| search(tx, &query)).await
    }

    async fn account_history(
        &self,
        account: AccountSelector,
        max_events: usize,
    ) -> Result<Option<AccountHistory>, StoreError> {
        self.read(move |tx| tracking::history(tx, &account, max_events)).await
    }

    async fn list_accounts(&self, filter: AccountFilter) -> Result<Vec<AccountRecord>, StoreError> {
        self.read(move |tx| tracking::list(tx, &filter)).await
    }

    async fn change_account_status(
        &self,
        change: StatusChange,
    ) -> Result<Option<(AccountRecord, AccountEvent)>, StoreError> {
        self.write(move |tx| {
            let changed = tracking::change_status(tx, &change)?;
            if let Some((account, _)) = &changed {
                access::append_audit(tx, entries::status_changed(&change, account))?;
            }
            Ok(changed)
        })
        .await
    }

    async fn record_profile_snapshot(&self, snapshot: NewProfileSnapshot) -> Result<SnapshotStored, StoreError> {
        self.inner.known_keys.add(known_keys::account_hashes(&snapshot.account));
        self.write(move |tx| {
            let stored = tracking::record_snapshot(tx, &snapshot)?.0;
            access::append_audit(tx, entries::snapshot_recorded(&snapshot, &stored))?;
            Ok(stored)
        })
        .await
    }

    async fn tracked_accounts(
        &self,
        ids: Option<Vec<AccountId>>,
        posted_since: UnixSeconds,
        max_posted: usize,
    ) -> Result<Vec<TrackedAccount>, StoreError> {
        self.read(move |tx| tracking::tracked(tx, ids.as_deref(), posted_since, max_posted)).await
    }

    async fn proposed_successor_pairs(&self) -> Result<Vec<(AccountId, AccountId)>, StoreError> {
        self.read(tracking::proposed_pairs).await
    }

    async fn propose_successors(&self, proposals: Vec<NewSuccessor>) -> Result<Vec<AlertRecord>, StoreError> {
        self.write(move |tx| {
            let alerts = tracking::propose(tx, &proposals)?;
            if let Some(entry) = entries::successors_proposed(&alerts) {
                access::append_audit(tx, entry)?;
            }
            Ok(alerts)
        })
        .await
    }

    async fn review_successor(&self, review: SuccessorReview) -> Result<ReviewOutcome, StoreError> {
        self.write(move |tx| {
            let outcome = tracking::review(tx, &review)?;
            if let ReviewOutcome::Reviewed(_) = outcome {
                access::append_audit(tx, entries::successor_reviewed(&review))?;
            }
            Ok(outcome)
        })
        .await
    }

    async fn alerts_after(&self, after: AlertId, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        self.read(move |tx| tracking::alerts_after(tx, after, limit)).await
    }

    async fn last_alert_id(&self) -> Result<AlertId, StoreError> {
        self.read(tracking::last_alert_id).await
    }

    async fn change_actors(&self, change: ActorChange, note: ChangeNote) -> Result<ActorOutcome, StoreError> {
        self.write(move |tx| {
            let outcome = actors::apply(tx, &change, &note)?;
            if let Some(entry) = entries::actors_changed(&change, &note, &outcome) {
                access::append_audit(tx, entry)?;
            }
            Ok(outcome)
        })
        .await
    }

    async fn actor(&self, id: ActorId, max_entries: usize) -> Result<Option<ActorView>, StoreError> {
        self.read(move |tx| actors::view(tx, id, max_entries)).await
    }

    async fn list_actors(
        &self,
        after: Option<ActorId>,
        include_merged: bool,
        limit: usize,
    ) -> Result<Vec<ActorRecord>, StoreError> {
        self.read(move |tx| actors::list(tx, after, include_merged, limit)).await
    }

    async fn change_site(
        &self,
        site: SiteSelector,
        change: SiteChange,
        note: ChangeNote,
    ) -> Result<Option<SiteChanged>, StoreError> {
        self.write(move |tx| {
            let changed = sites::change(tx, &site, &change, &note)?;
            if let Some(changed) = &changed {
                access::append_audit(tx, entries::site_changed(&change, &note, changed))?;
            }
            Ok(changed)
        })
        .await
    }

    async fn site_history(
        &self,
        site: SiteSelector,
        max_events: usize,
    ) -> Result<Option<(SiteRecord, Vec<SiteEvent>)>, StoreError> {
        self.read(move |tx| sites::history(tx, &site, max_events)).await
    }

    async fn list_sites(
        &self,
        statuses: Vec<SiteStatus>,
        after: Option<SiteId>,
        limit: usize,
    ) -> Result<Vec<SiteRecord>, StoreError> {
        self.read(move |tx| sites::list(tx, &statuses, after, limit)).await
    }

    fn known_keys_state(&self) -> KnownKeysState {
        self.inner.known_keys.state()
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<StoreChange>> {
        // Subscribed before the watch starts, so that no commit after this
        // call goes unannounced.
        let receiver = self.inner.changes.subscribe();
        self.inner.watching.call_once(|| watch_other_processes(Arc::downgrade(&self.inner)));
        Some(receiver)
    }
}

#[async_trait]
impl ImportStore for SqliteStore {
    async fn import(&self, source: ImportSource, records: Vec<ImportRecord>) -> Result<ImportOutcome, StoreError> {
        // Added first, as every write that can create a key does.
        for record in &records {
            match record {
                ImportRecord::Indicator { key, .. } => self.inner.known_keys.add([known_keys::indicator_hash(key)]),
                ImportRecord::Account { key, .. } => self.inner.known_keys.add(known_keys::account_hashes(key)),
                ImportRecord::Sighting { .. } => {}
            }
        }
        self.write(move |tx| import::import(tx, &source, &records)).await
    }

    async fn markings(&self, indicators: Vec<IndicatorKey>, accounts: Vec<AccountId>) -> Result<Markings, StoreError> {
        self.read(move |tx| import::markings(tx, &indicators, &accounts)).await
    }
}

#[async_trait]
impl ReferralStore for SqliteStore {
    async fn create_referral(&self, referral: NewReferral) -> Result<ReferralOutcome, StoreError> {
        self.write(move |tx| referrals::create(tx, &referral, None)).await
    }

    async fn add_referral_items(
        &self,
        referral: ReferralId,
        items: Vec<NewReferralItem>,
        note: ChangeNote,
    ) -> Result<ReferralOutcome, StoreError> {
        self.write(move |tx| referrals::add_items(tx, referral, &items, &note)).await
    }

    async fn change_referral_status(&self, step: ReferralStep) -> Result<ReferralOutcome, StoreError> {
        self.write(move |tx| referrals::change_status(tx, &step)).await
    }

    async fn referral(&self, id: ReferralId) -> Result<Option<ReferralView>, StoreError> {
        self.read(move |tx| referrals::view(tx, id)).await
    }

    async fn list_referrals(&self, filter: ReferralFilter) -> Result<Vec<ReferralRecord>, StoreError> {
        self.read(move |tx| referrals::list(tx, &filter)).await
    }
}

fn known_indicators(tx: &Transaction<'_>, keys: Vec<IndicatorKey>) -> Result<Vec<IndicatorRecord>, StoreError> {
    let mut statement = tx
        .prepare_cached("SELECT first_seen, last_seen, sighting_count FROM indicator WHERE kind = ?1 AND value = ?2")?;
    let mut known = Vec::new();
    for key in keys {
        let found = statement
            .query_row(params![key.kind.as_str(), key.value], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)?))
            })
            .optional()?;
        if let Some((first_seen, last_seen, sighting_count)) = found {
            known.push(IndicatorRecord {
                kind: key.kind,
                value: key.value,
                first_seen,
                last_seen,
                sighting_count: sighting_count as u64,
            });
        }
    }
    Ok(known)
}

fn known_accounts(tx: &Transaction<'_>, keys: &[AccountKey]) -> Result<Vec<Option<AccountRecord>>, StoreError> {
    keys.iter().map(|key| find_account(tx, key)?.map(|id| account_record(tx, id)).transpose()).collect()
}

pub(crate) const DOCUMENT_COLUMNS: &str =
    "d.id, d.kind, d.platform, d.platform_post_id, d.url, d.language, d.observed_at, d.text_sha256,
     (SELECT group_concat(category, ',') FROM document_category c WHERE c.document_id = d.id),
     (SELECT f.tip_document_id FROM tip_follow_up f WHERE f.document_id = d.id), d.sealed_text IS NOT NULL";

pub(crate) fn document_summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<DocumentSummary> {
    let kind: String = row.get(1)?;
    Ok(DocumentSummary {
        id: row.get(0)?,
        kind: DocumentKind::from_name(&kind).unwrap_or(DocumentKind::Post),
        platform: row.get(2)?,
        platform_post_id: row.get(3)?,
        url: row.get(4)?,
        language: row.get(5)?,
        observed_at: row.get(6)?,
        text_sha256: row.get(7)?,
        categories: row
            .get::<_, Option<String>>(8)?
            .map(|names| names.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        follow_up_of: row.get(9)?,
        sealed: row.get(10)?,
    })
}

/// Inserts a document with its sightings, accounts and full-text entry.
/// Its id and its author's, or `None` when a post with the same key is
/// already stored. Accounts stored for the first time are added to
/// `first_seen`.
fn insert_document(
    tx: &Transaction<'_>,
    document: &NewDocument,
    first_seen: &mut Vec<AccountId>,
) -> Result<Option<(DocumentId, Option<AccountId>)>, StoreError> {
    let author_id = document
        .author
        .as_ref()
        .map(|author| upsert_account(tx, author, document.observed_at, first_seen))
        .transpose()?;
    let id: Option<DocumentId> = tx
        .prepare_cached(
            "INSERT INTO document (kind, platform, platform_post_id, author_account_id, url, text, text_sha256, language, observed_at, sealed_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT DO NOTHING RETURNING id",
        )?
        .query_row(
            params![
                document.kind.as_str(),
                document.platform,
                document.platform_post_id,
                author_id,
                document.url,
                document.text,
                document.text_sha256,
                document.language,
                document.observed_at,
                document.sealed_text,
            ],
            |row| row.get(0),
        )
        .optional()?;
    let Some(id) = id else { return Ok(None) };

    tx.prepare_cached("INSERT INTO document_fts (rowid, text) VALUES (?1, ?2)")?
        .execute(params![id, full_text::indexed_text(&document.search_text)])?;
    let mut categorize =
        tx.prepare_cached("INSERT INTO document_category (document_id, category, score) VALUES (?1, ?2, ?3)")?;
    for (category, score) in &document.categories {
        categorize.execute(params![id, category, score])?;
    }

    let mut upsert_indicator = tx.prepare_cached(
        "INSERT INTO indicator (kind, value, first_seen, last_seen, sighting_count) VALUES (?1, ?2, ?3, ?3, 1)
         ON CONFLICT (kind, value) DO UPDATE SET
             first_seen = min(first_seen, excluded.first_seen),
             last_seen = max(last_seen, excluded.last_seen),
             sighting_count = sighting_count + 1
         RETURNING id",
    )?;
    let mut insert_sighting = tx.prepare_cached(
        "INSERT OR IGNORE INTO sighting (indicator_id, document_id, seen_at, span_start, span_end) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for sighting in &document.sightings {
        let indicator_id: i64 = upsert_indicator.query_row(
            params![sighting.indicator.kind.as_str(), sighting.indicator.value, document.observed_at],
            |row| row.get(0),
        )?;
        let (start, end) = sighting.span.map(|Span { start, end }| (start as i64, end as i64)).unzip();
        insert_sighting.execute(params![indicator_id, id, document.observed_at, start, end])?;
    }

    let mut link = tx
        .prepare_cached("INSERT OR IGNORE INTO document_account (document_id, account_id, role) VALUES (?1, ?2, ?3)")?;
    let mut count = tx.prepare_cached("UPDATE account SET document_count = document_count + 1 WHERE id = ?1")?;
    let mut linked = author_id.map(|id| (id, "author")).into_iter().collect::<Vec<_>>();
    for account in &document.mentioned_accounts {
        linked.push((upsert_account(tx, account, document.observed_at, first_seen)?, "mention"));
    }
    for (account_id, role) in linked {
        if link.execute(params![id, account_id, role])? == 1 {
            count.execute(params![account_id])?;
        }
    }
    Ok(Some((id, author_id)))
}

fn find_account(tx: &Transaction<'_>, key: &AccountKey) -> Result<Option<AccountId>, StoreError> {
    let by_handle = key
        .handle
        .as_ref()
        .map(|handle| {
            tx.prepare_cached("SELECT id FROM account WHERE platform = ?1 AND handle = ?2")?
                .query_row(params![key.platform, handle], |row| row.get(0))
                .optional()
        })
        .transpose()?
        .flatten();
    if by_handle.is_some() {
        return Ok(by_handle);
    }
    let by_platform_id = key
        .platform_account_id
        .as_ref()
        .map(|platform_id| {
            tx.prepare_cached("SELECT id FROM account WHERE platform = ?1 AND platform_account_id = ?2")?
                .query_row(params![key.platform, platform_id], |row| row.get(0))
                .optional()
        })
        .transpose()?
        .flatten();
    Ok(by_platform_id)
}

/// The account's id, creating it or widening its seen range. A handle or
/// platform id learned for the first time is filled in; one already known
/// is never overwritten (a rename is a tracking event, not a side effect).
/// A new account gets its first event and is added to `first_seen`.
fn upsert_account(
    tx: &Transaction<'_>,
    key: &AccountKey,
    seen_at: UnixSeconds,
    first_seen: &mut Vec<AccountId>,
) -> Result<AccountId, StoreError> {
    if let Some(id) = find_account(tx, key)? {
        tx.prepare_cached(
            "UPDATE account SET
                 first_seen = min(first_seen, ?2), last_seen = max(last_seen, ?2),
                 handle = coalesce(handle, ?3), platform_account_id = coalesce(platform_account_id, ?4)
             WHERE id = ?1",
        )?
        .execute(params![id, seen_at, key.handle, key.platform_account_id])
        .or_else(|error| match error.sqlite_error_code() {
            // The other key belongs to another account already: keep both.
            Some(rusqlite::ErrorCode::ConstraintViolation) => Ok(0),
            _ => Err(error),
        })?;
        return Ok(id);
    }
    let id = tx
        .prepare_cached(
            "INSERT INTO account (platform, handle, platform_account_id, first_seen, last_seen, status_changed_at)
             VALUES (?1, ?2, ?3, ?4, ?4, ?4) RETURNING id",
        )?
        .query_row(params![key.platform, key.handle, key.platform_account_id, seen_at], |row| row.get(0))?;
    tracking::record_event(tx, &history::plain_event(id, AccountEventKind::FirstSeen, seen_at, history::VIGIL))?;
    first_seen.push(id);
    Ok(id)
}

pub(crate) fn account_record(tx: &Transaction<'_>, id: AccountId) -> Result<AccountRecord, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT id, platform, handle, platform_account_id, first_seen, last_seen, document_count,
                    status, status_changed_at, display_name, avatar_sha256, actor_id
             FROM account WHERE id = ?1",
        )?
        .query_row(params![id], |row| {
            let status: String = row.get(7)?;
            Ok(AccountRecord {
                id: row.get(0)?,
                platform: row.get(1)?,
                handle: row.get(2)?,
                platform_account_id: row.get(3)?,
                first_seen: row.get(4)?,
                last_seen: row.get(5)?,
                document_count: row.get::<_, i64>(6)? as u64,
                status: AccountStatus::from_name(&status).unwrap_or(AccountStatus::Active),
                status_changed_at: row.get(8)?,
                display_name: row.get(9)?,
                avatar_sha256: row.get(10)?,
                actor_id: row.get(11)?,
            })
        })?)
}

fn accounts_in_documents(
    tx: &Transaction<'_>,
    documents: impl Iterator<Item = DocumentId>,
) -> Result<Vec<AccountRecord>, StoreError> {
    let mut statement = tx.prepare_cached("SELECT account_id FROM document_account WHERE document_id = ?1")?;
    let mut ids: Vec<AccountId> = Vec::new();
    let mut seen: HashSet<AccountId> = HashSet::new();
    for document in documents {
        for id in statement.query_map(params![document], |row| row.get(0))? {
            let id = id?;
            if seen.insert(id) {
                ids.push(id);
            }
        }
    }
    ids.into_iter().map(|id| account_record(tx, id)).collect()
}

fn search(tx: &Transaction<'_>, query: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |value: Value| {
        values.push(value);
        format!("?{}", values.len())
    };
    // Terms are cut by vigil, the same way on every engine (full_text.rs).
    let phrases = full_text::phrase_terms(&query.phrases);
    let uses_text = !phrases.is_empty();
    if uses_text {
        conditions.push(format!("document_fts MATCH {}", bind(Value::Text(full_text::fts5_query(&phrases)))));
    }
    if !query.kinds.is_empty() {
        let kinds: Vec<String> = query.kinds.iter().map(|kind| bind(Value::Text(kind.as_str().to_owned()))).collect();
        conditions.push(format!("d.kind IN ({})", kinds.join(", ")));
    }
    if !query.languages.is_empty() {
        let languages: Vec<String> =
            query.languages.iter().map(|language| bind(Value::Text(language.clone()))).collect();
        conditions.push(format!("d.language IN ({})", languages.join(", ")));
    }
    if !query.categories.is_empty() {
        let categories: Vec<String> = query.categories.iter().map(|c| bind(Value::Text(c.clone()))).collect();
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM document_category c WHERE c.document_id = d.id AND c.category IN ({}))",
            categories.join(", ")
        ));
    }
    if let Some(from) = query.observed_from {
        conditions.push(format!("d.observed_at >= {}", bind(Value::Integer(from))));
    }
    if let Some(until) = query.observed_until {
        conditions.push(format!("d.observed_at < {}", bind(Value::Integer(until))));
    }
    let mut offset = 0;
    match query.after {
        Some(SearchCursor::Newest { observed_at, id }) => {
            let at = bind(Value::Integer(observed_at));
            let id = bind(Value::Integer(id));
            conditions.push(format!("(d.observed_at < {at} OR (d.observed_at = {at} AND d.id < {id}))"));
        }
        Some(SearchCursor::Relevance { offset: after }) => offset = after,
        None => {}
    }
    let limit = bind(Value::Integer(query.limit as i64));
    let offset = bind(Value::Integer(offset as i64));
    let from = if uses_text { "document_fts JOIN document d ON d.id = document_fts.rowid" } else { "document d" };
    let order = match query.order {
        SearchOrder::Relevance if uses_text => "bm25(document_fts), d.id DESC",
        _ => "d.observed_at DESC, d.id DESC",
    };
    let where_clause =
        if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS}, d.text FROM {from} {where_clause} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    let mut statement = tx.prepare(&sql)?;
    let hits = statement
        .query_map(params_from_iter(values), |row| {
            let text: String = row.get(11)?;
            Ok(SearchHit { document: document_summary(row)?, snippet: full_text::snippet(&text, &phrases) })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(hits)
}

#[cfg(test)]
mod tests;
