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
}

#[derive(Clone, Debug)]
pub struct NewTip {
    pub document: NewDocument,
    /// SHA-256 of the receipt code; the code itself is never stored.
    pub receipt_hash: [u8; 32],
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
