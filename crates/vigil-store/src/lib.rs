//! The vigil knowledge base: documents, indicators, sightings, accounts,
//! actors, sites, referrals and the audit log.
//!
//! [`Store`] is the contract every storage engine keeps; [`SqliteStore`] is
//! the embedded default and [`PostgresStore`] the engine replicas share.
//! Each write method is one transaction: it is applied whole or not at all. Values arrive already normalized by `vigil-extract`;
//! the store never interprets text.

mod access;
pub mod audit;
mod error;
mod full_text;
mod history;
mod import;
mod known_keys;
mod migrations;
mod model;
mod network;
mod postgres;
mod referral;
mod sqlite;
mod statistics;

use async_trait::async_trait;

pub use access::*;
pub use error::StoreError;
pub use import::*;
pub use known_keys::KnownKeysState;
pub use model::*;
pub use network::*;
pub use postgres::{PostgresOptions, PostgresStore};
pub use referral::*;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use statistics::*;
pub use vigil_extract::{IndicatorKind, Span};

/// What vigil keeps, and how it is read back. Every write a key holder
/// makes is audited in the transaction that makes it ([`AccessStore`]);
/// referrals and imports have their own parts of the contract
/// ([`ReferralStore`], [`ImportStore`]).
#[async_trait]
pub trait Store: AccessStore + ReferralStore + ImportStore + Send + Sync + std::fmt::Debug + 'static {
    /// Stores a tip and what was extracted from it.
    async fn insert_tip(&self, tip: NewTip) -> Result<TipStored, StoreError>;

    /// The tip whose receipt locator hashes to `locator_hash`.
    async fn tip_by_receipt(&self, locator_hash: [u8; 32]) -> Result<Option<TipReceiptRecord>, StoreError>;

    /// A sealed document's text as sealed; `None` when there is no such
    /// document or its text is not sealed.
    async fn sealed_text(&self, document: DocumentId) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `follow_up` as a tip document added to `tip`, and counts it on
    /// `tip`, in one transaction. `None` when `tip` is not a stored tip.
    async fn add_tip_follow_up(
        &self,
        tip: DocumentId,
        follow_up: NewDocument,
    ) -> Result<Option<FollowUpStored>, StoreError>;

    /// Stores posts in one transaction. A post whose (platform, platform post
    /// id) is already stored, or earlier in `posts`, is a duplicate and
    /// changes nothing. Outcomes are in the order of `posts`. The posts
    /// stored are audited as `ingested`'s.
    async fn insert_posts(&self, posts: Vec<NewDocument>, ingested: ChangeNote) -> Result<PostsStored, StoreError>;

    /// One indicator with its most recent documents and the accounts in them.
    async fn indicator_report(
        &self,
        kind: IndicatorKind,
        value: String,
        max_documents: usize,
    ) -> Result<Option<IndicatorReport>, StoreError>;

    /// Which of `keys` are known indicators, in no particular order.
    async fn known_indicators(&self, keys: Vec<IndicatorKey>) -> Result<Vec<IndicatorRecord>, StoreError>;

    /// The stored account for each key, where there is one, in key order.
    async fn known_accounts(&self, keys: Vec<AccountKey>) -> Result<Vec<Option<AccountRecord>>, StoreError>;

    /// Both look-ups above in one read: what a content check needs, in one
    /// round trip to storage.
    async fn known(&self, indicators: Vec<IndicatorKey>, accounts: Vec<AccountKey>) -> Result<Known, StoreError>;

    /// Documents matching a full-text query and filters.
    async fn search(&self, query: SearchQuery) -> Result<Vec<SearchHit>, StoreError>;

    /// An account with its newest `max_events` events and its successor
    /// links; `None` when there is no such account.
    async fn account_history(
        &self,
        account: AccountSelector,
        max_events: usize,
    ) -> Result<Option<AccountHistory>, StoreError>;

    /// Accounts passing `filter`, by id.
    async fn list_accounts(&self, filter: AccountFilter) -> Result<Vec<AccountRecord>, StoreError>;

    /// Sets an account's status and records the change in its history, in
    /// one transaction; `None` when there is no such account.
    async fn change_account_status(
        &self,
        change: StatusChange,
    ) -> Result<Option<(AccountRecord, AccountEvent)>, StoreError>;

    /// Stores a profile snapshot as the account's current profile and in its
    /// history, creating the account when it is new.
    async fn record_profile_snapshot(&self, snapshot: NewProfileSnapshot) -> Result<SnapshotStored, StoreError>;

    /// Accounts as successor detection sees them, with what they posted
    /// since `posted_since` (at most `max_posted` each); all when `ids` is
    /// `None`.
    async fn tracked_accounts(
        &self,
        ids: Option<Vec<AccountId>>,
        posted_since: UnixSeconds,
        max_posted: usize,
    ) -> Result<Vec<TrackedAccount>, StoreError>;

    /// Every (predecessor, account) pair ever proposed as a successor.
    async fn proposed_successor_pairs(&self) -> Result<Vec<(AccountId, AccountId)>, StoreError>;

    /// Stores the proposals not made before, each with its history events
    /// and an alert, in one transaction; the alerts raised, in order.
    async fn propose_successors(&self, proposals: Vec<NewSuccessor>) -> Result<Vec<AlertRecord>, StoreError>;

    /// An analyst's decision on a pending successor; confirming one makes
    /// its predecessor `reappeared`.
    async fn review_successor(&self, review: SuccessorReview) -> Result<ReviewOutcome, StoreError>;

    /// Up to `limit` alerts raised after alert `after`, oldest first.
    async fn alerts_after(&self, after: AlertId, limit: usize) -> Result<Vec<AlertRecord>, StoreError>;

    /// The id of the newest alert; 0 when none was raised.
    async fn last_alert_id(&self) -> Result<AlertId, StoreError>;

    /// Creates, renames, merges or splits actors, or moves accounts between
    /// them, with an event for each change, in one transaction. Nothing is
    /// written when the outcome is not [`ActorOutcome::Changed`].
    async fn change_actors(&self, change: ActorChange, note: ChangeNote) -> Result<ActorOutcome, StoreError>;

    /// An actor, its accounts and its timeline (`max_entries` newest).
    async fn actor(&self, id: ActorId, max_entries: usize) -> Result<Option<ActorView>, StoreError>;

    /// Actors by id after `after`.
    async fn list_actors(
        &self,
        after: Option<ActorId>,
        include_merged: bool,
        limit: usize,
    ) -> Result<Vec<ActorRecord>, StoreError>;

    /// Applies a change to a site, creating it when a key names a new one;
    /// `None` when an id names no site.
    async fn change_site(
        &self,
        site: SiteSelector,
        change: SiteChange,
        note: ChangeNote,
    ) -> Result<Option<SiteChanged>, StoreError>;

    /// A site and its newest `max_events` events.
    async fn site_history(
        &self,
        site: SiteSelector,
        max_events: usize,
    ) -> Result<Option<(SiteRecord, Vec<SiteEvent>)>, StoreError>;

    /// Sites in one of `statuses` (all when empty; at most three), by id.
    async fn list_sites(
        &self,
        statuses: Vec<SiteStatus>,
        after: Option<SiteId>,
        limit: usize,
    ) -> Result<Vec<SiteRecord>, StoreError>;

    /// Whether content checks are answered from the keys held in memory
    /// yet, and how many: storage is read while the set is incomplete.
    fn known_keys_state(&self) -> KnownKeysState;

    /// Changes other processes make to this store, as they commit: other
    /// replicas on PostgreSQL, `vigil import` and `vigil keys` on a SQLite
    /// file (announced as a resync); `None` when nobody else can write.
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<StoreChange>> {
        None
    }
}
