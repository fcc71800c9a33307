//! The vigil knowledge base: documents, indicators, sightings and accounts.
//!
//! [`Store`] is the contract every storage engine keeps; [`SqliteStore`] is
//! the embedded default. Each write method is one transaction: it is applied
//! whole or not at all. Values arrive already normalized by `vigil-extract`;
//! the store never interprets text.

mod error;
mod migrations;
mod model;
mod sqlite;

use async_trait::async_trait;

pub use error::StoreError;
pub use model::*;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use vigil_extract::{IndicatorKind, Span};

/// What vigil keeps, and how it is read back.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a tip and what was extracted from it.
    async fn insert_tip(&self, tip: NewTip) -> Result<DocumentId, StoreError>;

    /// The state of the tip whose receipt code hashes to `receipt_hash`.
    async fn tip_state(&self, receipt_hash: [u8; 32]) -> Result<Option<TipState>, StoreError>;

    /// Stores posts in one transaction. A post whose (platform, platform post
    /// id) is already stored, or earlier in `posts`, is a duplicate and
    /// changes nothing. Outcomes are in the order of `posts`.
    async fn insert_posts(&self, posts: Vec<NewDocument>) -> Result<Vec<PostOutcome>, StoreError>;

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
}
