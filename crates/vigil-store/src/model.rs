//! The records the store keeps and returns. Times are Unix seconds.

use vigil_extract::{IndicatorKind, Span};

pub type DocumentId = i64;
pub type AccountId = i64;
pub type UnixSeconds = i64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Tip,
    Post,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Tip => "tip",
            DocumentKind::Post => "post",
        }
    }

    pub fn from_name(name: &str) -> Option<DocumentKind> {
        match name {
            "tip" => Some(DocumentKind::Tip),
            "post" => Some(DocumentKind::Post),
            _ => None,
        }
    }
}

/// An account as a caller names it: a platform and a handle, a platform id,
/// or both. Values are normalized.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountKey {
    pub platform: String,
    pub handle: Option<String>,
    pub platform_account_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IndicatorKey {
    pub kind: IndicatorKind,
    pub value: String,
}

/// An indicator seen in a document; `span` is unset when it did not come
/// from the text (a media hash, a URL field, the author).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSighting {
    pub indicator: IndicatorKey,
    pub span: Option<Span>,
}

#[derive(Clone, Debug)]
pub struct NewDocument {
    pub kind: DocumentKind,
    /// Posts: the platform and its id for the post, unique together.
    pub platform: Option<String>,
    pub platform_post_id: Option<String>,
    pub author: Option<AccountKey>,
    pub url: Option<String>,
    pub text: String,
    pub text_sha256: String,
    pub language: Option<String>,
    pub observed_at: UnixSeconds,
    /// The text as full-text search should index it.
    pub search_text: String,
    /// One per indicator; the caller keeps the first occurrence.
    pub sightings: Vec<NewSighting>,
    /// Content categories (`threat`, `financing`, ...) with their scores.
    pub categories: Vec<(String, f64)>,
    pub mentioned_accounts: Vec<AccountKey>,
    /// A sealed tip's text, encrypted to the operator's key; `text` and
    /// `search_text` are then empty.
    pub sealed_text: Option<Vec<u8>>,
}

#[derive(Clone, Debug)]
pub struct NewTip {
    pub document: NewDocument,
    pub receipt: ReceiptDigest,
}

/// What is kept of a tip's receipt code; the code itself never is.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiptDigest {
    /// SHA-256 of the part of the code that finds the tip (of the whole
    /// code, for codes issued before receipt secrets).
    pub locator_hash: [u8; 32],
    /// The Argon2id hash, in PHC form, of the secret part of the code;
    /// `None` for codes issued before receipt secrets.
    pub secret_hash: Option<String>,
}

impl std::fmt::Debug for ReceiptDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Even hashed, a receipt has no business in a log.
        f.write_str("ReceiptDigest(..)")
    }
}

/// A tip found by its receipt's locator, with what proves the rest.
#[derive(Clone, PartialEq, Eq)]
pub struct TipReceiptRecord {
    pub document: DocumentId,
    pub secret_hash: Option<String>,
    pub state: TipState,
}

impl std::fmt::Debug for TipReceiptRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TipReceiptRecord")
            .field("document", &self.document)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A tipster's follow-up to their own tip, stored as a tip document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUpStored {
    pub document: DocumentId,
    /// Follow-ups the tip has now, this one included.
    pub follow_up_count: u32,
    pub first_seen_accounts: Vec<AccountId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TipStatus {
    Received,
    UnderReview,
    ActedOn,
}

impl TipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TipStatus::Received => "received",
            TipStatus::UnderReview => "under_review",
            TipStatus::ActedOn => "acted_on",
        }
    }

    pub fn from_name(name: &str) -> Option<TipStatus> {
        [TipStatus::Received, TipStatus::UnderReview, TipStatus::ActedOn].into_iter().find(|s| s.as_str() == name)
    }

    /// As both engines read it back: a name this binary does not know is a
    /// database it should not be running on.
    pub(crate) fn from_column(name: &str) -> Result<TipStatus, crate::StoreError> {
        TipStatus::from_name(name)
            .ok_or_else(|| crate::StoreError::Worker(format!("unknown tip status {name:?} in the database")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TipState {
    pub status: TipStatus,
    pub follow_up_count: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostOutcome {
    Stored(DocumentId),
    Duplicate(DocumentId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorRecord {
    pub kind: IndicatorKind,
    pub value: String,
    pub first_seen: UnixSeconds,
    pub last_seen: UnixSeconds,
    /// Documents the indicator was seen in.
    pub sighting_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: AccountId,
    pub platform: String,
    pub handle: Option<String>,
    pub platform_account_id: Option<String>,
    pub first_seen: UnixSeconds,
    pub last_seen: UnixSeconds,
    /// Documents the account authored or was named in.
    pub document_count: u64,
    pub status: AccountStatus,
    pub status_changed_at: UnixSeconds,
    /// From the latest profile snapshot.
    pub display_name: Option<String>,
    pub avatar_sha256: Option<String>,
    pub actor_id: Option<ActorId>,
}

/// What [`crate::Store::known`] finds: the known indicators in no
/// particular order, and the stored account for each key, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub indicators: Vec<IndicatorRecord>,
    pub accounts: Vec<Option<AccountRecord>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentSummary {
    pub id: DocumentId,
    pub kind: DocumentKind,
    pub platform: Option<String>,
    pub platform_post_id: Option<String>,
    pub url: Option<String>,
    pub language: Option<String>,
    pub observed_at: UnixSeconds,
    pub text_sha256: String,
    /// Content categories, by name.
    pub categories: Vec<String>,
    /// Follow-ups only: the tip this one adds to.
    pub follow_up_of: Option<DocumentId>,
    /// The text is sealed: only the operator's private key reads it.
    pub sealed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorReport {
    pub indicator: IndicatorRecord,
    /// Newest first.
    pub recent_documents: Vec<DocumentSummary>,
    pub accounts: Vec<AccountRecord>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchOrder {
    Newest,
    Relevance,
}

/// Where the previous page ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchCursor {
    Newest { observed_at: UnixSeconds, id: DocumentId },
    Relevance { offset: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// Phrases that must all occur, already folded for search; a single word
    /// is a phrase of one word. Empty: every document passing the filters.
    pub phrases: Vec<String>,
    pub kinds: Vec<DocumentKind>,
    pub languages: Vec<String>,
    /// Only documents in at least one of these categories; all when empty.
    pub categories: Vec<String>,
    pub observed_from: Option<UnixSeconds>,
    pub observed_until: Option<UnixSeconds>,
    pub order: SearchOrder,
    pub limit: usize,
    pub after: Option<SearchCursor>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchHit {
    pub document: DocumentSummary,
    pub snippet: String,
}

/// What [`crate::Store::insert_tip`] stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TipStored {
    pub document: DocumentId,
    /// Accounts the tip named that vigil had never seen.
    pub first_seen_accounts: Vec<AccountId>,
}

/// What [`crate::Store::insert_posts`] stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostsStored {
    /// In the order of the posts given.
    pub outcomes: Vec<PostOutcome>,
    /// Authors and mentioned accounts that vigil had never seen.
    pub first_seen_accounts: Vec<AccountId>,
    /// The authors of the posts stored, each once.
    pub authors: Vec<AccountId>,
    /// Each post's author when the post was stored now, in the order of
    /// the posts given.
    pub post_authors: Vec<Option<AccountId>>,
}

/// Where an account stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    Active,
    Reported,
    Suspended,
    Reappeared,
}

impl AccountStatus {
    pub const ALL: [AccountStatus; 4] =
        [AccountStatus::Active, AccountStatus::Reported, AccountStatus::Suspended, AccountStatus::Reappeared];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Reported => "reported",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Reappeared => "reappeared",
        }
    }

    pub fn from_name(name: &str) -> Option<AccountStatus> {
        AccountStatus::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

/// A stored account, by vigil's id or as a caller names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountSelector {
    Id(AccountId),
    Key(AccountKey),
}

/// What a profile showed when a crawler saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileSnapshot {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_sha256: Option<String>,
    /// Links, channels and wallets in the bio, normalized.
    pub links: Vec<IndicatorKey>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProfileSnapshot {
    pub account: AccountKey,
    pub snapshot: ProfileSnapshot,
    pub observed_at: UnixSeconds,
    pub changed_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotStored {
    pub account: AccountRecord,
    /// True when the snapshot is how vigil first learned of the account.
    pub first_seen: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub account: AccountSelector,
    pub status: AccountStatus,
    pub reported_to: Option<String>,
    pub at: UnixSeconds,
    pub changed_by: String,
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountEventKind {
    FirstSeen,
    StatusChanged,
    ProfileSnapshot,
    SuccessorProposed,
    SuccessorConfirmed,
    SuccessorRejected,
}

impl AccountEventKind {
    const ALL: [AccountEventKind; 6] = [
        AccountEventKind::FirstSeen,
        AccountEventKind::StatusChanged,
        AccountEventKind::ProfileSnapshot,
        AccountEventKind::SuccessorProposed,
        AccountEventKind::SuccessorConfirmed,
        AccountEventKind::SuccessorRejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountEventKind::FirstSeen => "first_seen",
            AccountEventKind::StatusChanged => "status_changed",
            AccountEventKind::ProfileSnapshot => "profile_snapshot",
            AccountEventKind::SuccessorProposed => "successor_proposed",
            AccountEventKind::SuccessorConfirmed => "successor_confirmed",
            AccountEventKind::SuccessorRejected => "successor_rejected",
        }
    }

    pub fn from_name(name: &str) -> Option<AccountEventKind> {
        AccountEventKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One change in an account's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEvent {
    pub id: i64,
    pub account_id: AccountId,
    pub kind: AccountEventKind,
    pub at: UnixSeconds,
    pub changed_by: String,
    /// Status changes: the new status, and for `reported`, to whom.
    pub status: Option<AccountStatus>,
    pub reported_to: Option<String>,
    pub snapshot: Option<ProfileSnapshot>,
    /// Successor events: the other account of the pair.
    pub related_account_id: Option<AccountId>,
    pub note: Option<String>,
}

/// An account with its history and successor links, newest events first.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountHistory {
    pub account: AccountRecord,
    pub events: Vec<AccountEvent>,
    /// Pairs where this account is the predecessor.
    pub successors: Vec<SuccessorRecord>,
    /// Pairs where this account is the new one.
    pub predecessors: Vec<SuccessorRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountFilter {
    /// All statuses when empty.
    pub statuses: Vec<AccountStatus>,
    pub platform: Option<String>,
    pub actor: Option<ActorId>,
    /// Accounts with a greater id only: where the previous page ended.
    pub after: Option<AccountId>,
    pub limit: usize,
}

/// An account as successor detection sees it: its record, what its
/// profile links to, and what it posted lately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedAccount {
    pub record: AccountRecord,
    pub links: Vec<IndicatorKey>,
    /// Indicators in documents the account authored, with when.
    pub posted: Vec<(IndicatorKey, UnixSeconds)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SuccessorState {
    Pending,
    Confirmed,
    Rejected,
}

impl SuccessorState {
    pub fn as_str(self) -> &'static str {
        match self {
            SuccessorState::Pending => "pending",
            SuccessorState::Confirmed => "confirmed",
            SuccessorState::Rejected => "rejected",
        }
    }

    pub fn from_name(name: &str) -> Option<SuccessorState> {
        [SuccessorState::Pending, SuccessorState::Confirmed, SuccessorState::Rejected]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

pub type SuccessorId = i64;
pub type AlertId = i64;

/// A change another process made to a shared store, announced as it
/// commits, so that what a process keeps in memory stays fresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreChange {
    /// Accounts created or changed (status, profile, posts, reviews).
    Accounts(Vec<AccountId>),
    /// Alerts were raised, up to this id.
    Alerts(AlertId),
    /// Notices may have been missed (the listener reconnected): anything
    /// may have changed.
    Resync,
}

/// A probable re-creation found by successor detection.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSuccessor {
    pub account: AccountId,
    pub predecessor: AccountId,
    pub score: f64,
    pub evidence: Vec<String>,
    pub explanation: String,
    pub found_at: UnixSeconds,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SuccessorRecord {
    pub id: SuccessorId,
    pub account: AccountRecord,
    pub predecessor: AccountRecord,
    pub score: f64,
    pub evidence: Vec<String>,
    pub explanation: String,
    pub state: SuccessorState,
    pub found_at: UnixSeconds,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<UnixSeconds>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuccessorReview {
    pub successor: SuccessorId,
    /// True to confirm, false to reject.
    pub confirm: bool,
    pub reviewed_by: String,
    pub note: Option<String>,
    pub at: UnixSeconds,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReviewOutcome {
    Reviewed(SuccessorRecord),
    NotFound,
    /// Already confirmed or rejected: a decision is not taken twice.
    AlreadyReviewed(SuccessorRecord),
}

/// An alert for analysts; its id orders alerts and resumes a watch.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub id: AlertId,
    pub raised_at: UnixSeconds,
    pub subject: AlertSubject,
}

/// What an alert is about.
// Alerts pass one at a time, a few a minute: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum AlertSubject {
    /// A probable re-creation of a known account.
    Successor(SuccessorRecord),
    /// A document with a `threat` category opened an urgent referral draft.
    UrgentReferral(crate::ReferralRecord),
}

impl AlertRecord {
    pub fn successor(&self) -> Option<&SuccessorRecord> {
        match &self.subject {
            AlertSubject::Successor(successor) => Some(successor),
            AlertSubject::UrgentReferral(_) => None,
        }
    }
}

pub type ActorId = i64;
pub type SiteId = i64;

/// Declares a closed set of names stored as text: one name per variant,
/// the same in SQL, Rust and the docs.
macro_rules! named {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn from_name(name: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str() == name)
            }
        }
    };
}
pub(crate) use named;

named!(
    /// What an actor is.
    ActorKind { Person = "person", Outlet = "outlet", Network = "network", Unknown = "unknown" }
);

named!(ActorEventKind {
    Created = "created",
    Renamed = "renamed",
    AccountAdded = "account_added",
    AccountRemoved = "account_removed",
    Merged = "merged",
    Split = "split",
});

named!(
    /// Where a site stands.
    SiteStatus { Online = "online", Offline = "offline", TakenDown = "taken_down" }
);

named!(SiteEventKind {
    FirstSeen = "first_seen",
    StatusChanged = "status_changed",
    TakedownRequested = "takedown_requested",
    ContactsChanged = "contacts_changed",
});

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorRecord {
    pub id: ActorId,
    pub name: String,
    pub kind: ActorKind,
    pub created_at: UnixSeconds,
    pub merged_into: Option<ActorId>,
    pub account_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorEvent {
    pub id: i64,
    pub actor_id: ActorId,
    pub kind: ActorEventKind,
    pub at: UnixSeconds,
    pub changed_by: String,
    pub name: Option<String>,
    pub account_id: Option<AccountId>,
    pub related_actor_id: Option<ActorId>,
    pub note: Option<String>,
}

/// One entry of an actor's timeline: its own change or one of its accounts'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimelineEntry {
    Actor(ActorEvent),
    Account(AccountEvent),
}

impl TimelineEntry {
    pub fn at(&self) -> UnixSeconds {
        match self {
            TimelineEntry::Actor(event) => event.at,
            TimelineEntry::Account(event) => event.at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorView {
    pub actor: ActorRecord,
    pub accounts: Vec<AccountRecord>,
    /// Newest first.
    pub timeline: Vec<TimelineEntry>,
}

/// Who makes an actor change, when, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeNote {
    pub changed_by: String,
    pub note: Option<String>,
    pub at: UnixSeconds,
}

/// A change to actors, applied in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActorChange {
    Create {
        name: String,
        kind: ActorKind,
        accounts: Vec<AccountId>,
    },
    Rename {
        actor: ActorId,
        name: String,
    },
    /// `actor: None` takes the accounts from their actors.
    Assign {
        actor: Option<ActorId>,
        accounts: Vec<AccountId>,
    },
    Merge {
        source: ActorId,
        target: ActorId,
    },
    Split {
        actor: ActorId,
        accounts: Vec<AccountId>,
        name: String,
        kind: ActorKind,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActorOutcome {
    /// The actors changed: the one acted on, and for a split the new one.
    Changed(ActorRecord, Option<ActorRecord>),
    /// The accounts were taken from their actors and left without one.
    Unassigned,
    ActorNotFound(ActorId),
    AccountNotFound(AccountId),
    /// A merged actor takes no more changes; its accounts are elsewhere.
    ActorMerged(ActorId),
    /// A split names an account the actor does not hold.
    AccountNotInActor(AccountId),
    /// A merge of an actor into itself.
    SameActor,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteRecord {
    pub id: SiteId,
    pub key: IndicatorKey,
    pub status: SiteStatus,
    pub status_changed_at: UnixSeconds,
    pub first_seen: UnixSeconds,
    pub host_abuse_contact: Option<String>,
    pub registrar_abuse_contact: Option<String>,
    pub takedown_requests: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteEvent {
    pub id: i64,
    pub kind: SiteEventKind,
    pub at: UnixSeconds,
    pub changed_by: String,
    pub status: Option<SiteStatus>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteSelector {
    Id(SiteId),
    Key(IndicatorKey),
}

/// A change to a site; the site is created when a key names a new one
/// (except for a look-up by id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteChange {
    Contacts { host_abuse_contact: Option<String>, registrar_abuse_contact: Option<String> },
    Status(SiteStatus),
    TakedownRequested { sent_to: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteChanged {
    pub site: SiteRecord,
    pub first_seen: bool,
}
