//! vigil's domain services on top of a [`vigil_store::Store`]: intake of
//! tips and posts (validate, extract, store), and the read side (indicator
//! look-ups, full-text search, and content checks for platforms).
//!
//! Everything a request may get wrong is checked here, before anything is
//! stored, and reported as a [`QueryError`] naming the field and the limit.
//! The types here are vigil's own: gRPC types stop at the server crate.

pub mod access;
mod actors;
mod check;
mod error;
pub mod exchange;
pub mod imports;
mod intake;
mod limits;
mod lookup;
pub mod network;
mod page_token;
mod receipt;
mod referrals;
pub mod sealing;
mod search;
mod sightings;
pub mod statistics;
pub mod successor;
mod tracking;

use std::sync::Arc;

pub use access::{Caller, Keys};
pub use actors::{ActorChanged, ActorPage, ActorRequest, ChangeBy, SiteChoice, SitePage, SiteRequest};
pub use check::{AccountMatch, AccountMatchReason, ContentCheck, ContentMatches, IndicatorMatch};
pub use error::QueryError;
pub use intake::{
    DEFAULT_MAX_STREAM_DURATION, Ingest, IngestReport, Intake, IntakeSettings, PostSubmission, RejectedPost,
    TipReceipt, TipSubmission,
};
pub use limits::Limits;
pub use referrals::{
    Export, ExportFormat, ItemRequest, ItemSubject, ListReferrals, ReferralDraft, ReferralPage, Referrals,
};
pub use search::{SearchPage, SearchRequest};
pub use tracking::{
    AccountChoice, AccountPage, AlertWatch, ListAccounts, ReviewSubmission, SnapshotOutcome, SnapshotSubmission,
    StatusUpdate, Tracking, TrackingSettings, resume_token,
};
pub use vigil_extract::{Category, CategoryMatch, Extraction, IndicatorKind, Language, Lexicon, LexiconError};
use vigil_store::Store;
pub use vigil_store::{
    AccountEvent, AccountEventKind, AccountHistory, AccountRecord, AccountStatus, ActorEvent, ActorEventKind,
    ActorKind, ActorRecord, ActorView, AlertRecord, AlertSubject, DocumentKind, DocumentSummary, IndicatorReport,
    ProfileSnapshot, SearchOrder, SiteChanged, SiteEvent, SiteEventKind, SiteRecord, SiteStatus, SuccessorRecord,
    SuccessorState, TimelineEntry, TipState, TipStatus,
};

/// An account as a caller names it, before normalization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountRef {
    pub platform: String,
    pub handle: String,
    pub platform_account_id: String,
}

/// The read side: look-ups, search and content checks. Reads only.
#[derive(Clone, Debug)]
pub struct Query {
    store: Arc<dyn Store>,
    limits: Limits,
}

impl Query {
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Query {
        Query { store, limits }
    }

    /// A sealed tip's text as sealed, for the holder of the private key to
    /// open away from the server.
    pub async fn sealed_text(&self, document_id: &str) -> Result<Vec<u8>, QueryError> {
        let id: vigil_store::DocumentId = document_id
            .trim()
            .parse()
            .map_err(|_| QueryError::invalid("document_id", "is not a document id (digits, as search returns it)"))?;
        self.store.sealed_text(id).await?.ok_or_else(|| QueryError::NotFound(format!("sealed document {id}")))
    }
}

/// Indicators, language and categories of a text, without storing anything.
pub fn extract_text(lexicon: &Lexicon, limits: &Limits, text: &str) -> Result<Extraction, QueryError> {
    limits.check_text("text", text, false)?;
    Ok(vigil_extract::extract_with(lexicon, text))
}

#[cfg(test)]
mod tests;
