//! Referrals: evidence packages for one recipient (a platform's abuse desk,
//! a hosting provider, an authority), drafted by one analyst and approved by
//! another before anything leaves.
//!
//! The store enforces the lifecycle, not the caller: a step out of order or
//! an approval by the drafter changes nothing and says why
//! ([`ReferralOutcome`]). Every step is a `referral_event` and an audit entry
//! in the transaction that makes it, and the steps that change the world
//! feed the tracking of what was referred: `sent` marks accounts `reported`
//! and counts a takedown request on sites, `actioned` marks accounts
//! `suspended` and sites `taken_down`.
//!
//! Items are copied when added (an excerpt keeps its text and the SHA-256
//! the document had at intake), so that what was approved is what is sent,
//! whatever happens to the records later.

use async_trait::async_trait;

use crate::model::named;
use crate::{
    AccountId, AccountRecord, ChangeNote, DocumentId, DocumentSummary, IndicatorKey, IndicatorKind, IndicatorRecord,
    SiteId, SiteRecord, Span, StoreError, UnixSeconds,
};

pub type ReferralId = i64;

named!(
    /// A Traffic Light Protocol 2.0 marking: who may receive a record.
    /// Ordered from least to most restricted.
    Tlp { Clear = "clear", Green = "green", Amber = "amber", AmberStrict = "amber+strict", Red = "red" }
);

impl Tlp {
    /// How restricted: a recipient cleared for `a` may receive `b` when
    /// `b.rank() <= a.rank()`.
    pub fn rank(self) -> u8 {
        match self {
            Tlp::Clear => 0,
            Tlp::Green => 1,
            Tlp::Amber => 2,
            Tlp::AmberStrict => 3,
            Tlp::Red => 4,
        }
    }

    /// The stricter of two markings.
    pub fn stricter(self, other: Tlp) -> Tlp {
        if other.rank() > self.rank() { other } else { self }
    }

    /// TLP 2.0's own spelling, as in `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }
}

named!(
    /// Where a referral stands. `draft -> approved -> sent -> acknowledged
    /// -> actioned`; `rejected` from any step before `actioned`.
    ReferralStatus {
        Draft = "draft",
        Approved = "approved",
        Sent = "sent",
        Acknowledged = "acknowledged",
        Actioned = "actioned",
        Rejected = "rejected",
    }
);

impl ReferralStatus {
    /// Whether a referral may move from `self` to `next`.
    pub fn may_become(self, next: ReferralStatus) -> bool {
        use ReferralStatus::*;
        matches!(
            (self, next),
            (Draft, Approved)
                | (Approved, Sent)
                | (Sent, Acknowledged)
                | (Sent | Acknowledged, Actioned)
                | (Draft | Approved | Sent | Acknowledged, Rejected)
        )
    }

    /// Approved at some point: its package may leave vigil.
    pub fn is_approved(self) -> bool {
        matches!(
            self,
            ReferralStatus::Approved | ReferralStatus::Sent | ReferralStatus::Acknowledged | ReferralStatus::Actioned
        )
    }
}

named!(
    /// Who a referral goes to.
    RecipientKind { Platform = "platform", HostingProvider = "hosting_provider", Authority = "authority" }
);

named!(ReferralPriority { Routine = "routine", High = "high", Urgent = "urgent" });

named!(ReferralEventKind {
    Drafted = "drafted",
    ItemsAdded = "items_added",
    Approved = "approved",
    Sent = "sent",
    Acknowledged = "acknowledged",
    Actioned = "actioned",
    Rejected = "rejected",
});

impl ReferralEventKind {
    /// The event that records a move to `status`.
    pub fn of_status(status: ReferralStatus) -> ReferralEventKind {
        match status {
            ReferralStatus::Draft => ReferralEventKind::Drafted,
            ReferralStatus::Approved => ReferralEventKind::Approved,
            ReferralStatus::Sent => ReferralEventKind::Sent,
            ReferralStatus::Acknowledged => ReferralEventKind::Acknowledged,
            ReferralStatus::Actioned => ReferralEventKind::Actioned,
            ReferralStatus::Rejected => ReferralEventKind::Rejected,
        }
    }
}

/// A referral as drafted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReferral {
    pub recipient: String,
    pub recipient_kind: RecipientKind,
    pub reason: String,
    /// Content categories found (`threat`, `financing`, ...).
    pub categories: Vec<String>,
    pub priority: ReferralPriority,
    pub tlp: Tlp,
    pub items: Vec<NewReferralItem>,
    pub drafted: ChangeNote,
}

/// What an item names; the store copies what it needs when it is added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferralSubject {
    Account(AccountId),
    Site(SiteId),
    Indicator(IndicatorKey),
    /// A document's text, or the part of it `span` covers (byte offsets).
    Excerpt {
        document: DocumentId,
        span: Option<Span>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReferralItem {
    pub subject: ReferralSubject,
    /// Stricter than the referral's own marking when set: the item is then
    /// withheld from recipients not cleared for it.
    pub tlp: Option<Tlp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralRecord {
    pub id: ReferralId,
    pub recipient: String,
    pub recipient_kind: RecipientKind,
    pub reason: String,
    pub categories: Vec<String>,
    pub priority: ReferralPriority,
    pub tlp: Tlp,
    pub status: ReferralStatus,
    pub status_changed_at: UnixSeconds,
    pub drafted_by: String,
    pub drafted_at: UnixSeconds,
    pub approved_by: Option<String>,
    pub approved_at: Option<UnixSeconds>,
    /// The recipient's own reference (a ticket number), once acknowledged.
    pub recipient_reference: Option<String>,
    /// The document whose `threat` category opened it (the urgent lane).
    pub opened_by_document: Option<DocumentId>,
    pub item_count: u32,
}

/// A document's text, or part of it, as it was when referred.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralExcerpt {
    pub document: DocumentSummary,
    pub author: Option<AccountRecord>,
    /// Byte offsets into the document's text; `None` for the whole text.
    pub span: Option<Span>,
    pub text: String,
    /// SHA-256 of `text`, hex.
    pub text_sha256: String,
    /// The document's whole text, whose SHA-256 at intake is
    /// `document.text_sha256`: what lets a recipient check the excerpt.
    pub document_text: String,
    /// Indicators seen in the document within `span` (all, without one).
    pub indicators: Vec<IndicatorKey>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferralEntity {
    Account(AccountRecord),
    Site(SiteRecord),
    Indicator(IndicatorRecord),
    Excerpt(Box<ReferralExcerpt>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralItem {
    pub id: i64,
    /// The stricter of the item's own marking and the referral's.
    pub tlp: Tlp,
    pub added_by: String,
    pub added_at: UnixSeconds,
    pub entity: ReferralEntity,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralEvent {
    pub id: i64,
    pub kind: ReferralEventKind,
    pub at: UnixSeconds,
    pub by: String,
    pub note: Option<String>,
}

/// A referral with its items (as added) and its events (oldest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralView {
    pub referral: ReferralRecord,
    pub items: Vec<ReferralItem>,
    pub events: Vec<ReferralEvent>,
}

/// A step in a referral's lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralStep {
    pub referral: ReferralId,
    pub status: ReferralStatus,
    pub note: ChangeNote,
    /// `acknowledged`: the recipient's reference for it.
    pub recipient_reference: Option<String>,
}

// One per request, returned at once: boxing the view would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferralOutcome {
    Changed(ReferralView),
    NotFound,
    /// An item names a record that is not stored.
    SubjectNotFound(ReferralSubject),
    /// An excerpt's span is not within the text, or not on character
    /// boundaries.
    SpanOutOfRange {
        document: DocumentId,
        span: Span,
        text_bytes: usize,
    },
    /// A sealed text cannot be quoted: it is not readable here.
    SealedDocument(DocumentId),
    /// The step does not follow from where the referral stands.
    WrongStatus {
        status: ReferralStatus,
        wanted: ReferralStatus,
    },
    /// Items are added to drafts only: what was approved is what is sent.
    NotDraft(ReferralStatus),
    /// Four eyes: the analyst who drafted it may not approve it.
    SelfApproval {
        drafted_by: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralFilter {
    /// All when empty.
    pub statuses: Vec<ReferralStatus>,
    pub priority: Option<ReferralPriority>,
    /// Referrals with a smaller id only (lists run newest first).
    pub before: Option<ReferralId>,
    pub limit: usize,
}

/// What the urgent lane opens when a stored document has a `threat`
/// category: set by the caller, which knows the policy and the recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrgentReferral {
    pub recipient: String,
    pub recipient_kind: RecipientKind,
    pub tlp: Tlp,
    pub reason: String,
}

/// Referrals and their lifecycle.
#[async_trait]
pub trait ReferralStore: Send + Sync + std::fmt::Debug + 'static {
    /// Drafts a referral with its items, in one transaction.
    async fn create_referral(&self, referral: NewReferral) -> Result<ReferralOutcome, StoreError>;

    /// Adds items to a draft; nothing is added when one is refused.
    async fn add_referral_items(
        &self,
        referral: ReferralId,
        items: Vec<NewReferralItem>,
        note: ChangeNote,
    ) -> Result<ReferralOutcome, StoreError>;

    /// Moves a referral one step, with what the step feeds (module doc).
    async fn change_referral_status(&self, step: ReferralStep) -> Result<ReferralOutcome, StoreError>;

    async fn referral(&self, id: ReferralId) -> Result<Option<ReferralView>, StoreError>;

    /// Newest first.
    async fn list_referrals(&self, filter: ReferralFilter) -> Result<Vec<ReferralRecord>, StoreError>;
}

/// An item checked against what is stored, ready to insert.
pub(crate) enum ResolvedItem {
    Account(AccountId),
    Site(SiteId),
    Indicator(i64),
    Excerpt { document: DocumentId, span: Option<Span>, text: String },
}

/// A `referral_item` row's subject columns: one of the four ids, and for an
/// excerpt its span and the text quoted.
#[derive(Default)]
pub(crate) struct ItemColumns {
    pub account: Option<i64>,
    pub site: Option<i64>,
    pub indicator: Option<i64>,
    pub document: Option<i64>,
    pub span_start: Option<i64>,
    pub span_end: Option<i64>,
    pub excerpt: Option<String>,
}

impl ResolvedItem {
    pub(crate) fn into_columns(self) -> ItemColumns {
        match self {
            ResolvedItem::Account(id) => ItemColumns { account: Some(id), ..ItemColumns::default() },
            ResolvedItem::Site(id) => ItemColumns { site: Some(id), ..ItemColumns::default() },
            ResolvedItem::Indicator(id) => ItemColumns { indicator: Some(id), ..ItemColumns::default() },
            ResolvedItem::Excerpt { document, span, text } => {
                let (span_start, span_end) = span.map(|span| (span.start as i64, span.end as i64)).unzip();
                ItemColumns {
                    document: Some(document),
                    span_start,
                    span_end,
                    excerpt: Some(text),
                    ..ItemColumns::default()
                }
            }
        }
    }
}

/// Why a step may not be taken, the same for both engines; `None` when it
/// may. `authors` are the drafter and everyone who added items.
pub(crate) fn refusal(record: &ReferralRecord, authors: &[String], step: &ReferralStep) -> Option<ReferralOutcome> {
    if !record.status.may_become(step.status) {
        return Some(ReferralOutcome::WrongStatus { status: record.status, wanted: step.status });
    }
    if step.status == ReferralStatus::Approved && authors.contains(&step.note.changed_by) {
        return Some(ReferralOutcome::SelfApproval { drafted_by: record.drafted_by.clone() });
    }
    None
}

/// What a step does to a referred account: `sent` reports it (unless it is
/// already past that), `actioned` records it suspended.
pub(crate) fn account_effect(
    record: &ReferralRecord,
    step: &ReferralStep,
    account: &AccountRecord,
) -> Option<crate::StatusChange> {
    let status = match (step.status, account.status) {
        (ReferralStatus::Sent, crate::AccountStatus::Active | crate::AccountStatus::Reappeared) => {
            crate::AccountStatus::Reported
        }
        (ReferralStatus::Actioned, status) if status != crate::AccountStatus::Suspended => {
            crate::AccountStatus::Suspended
        }
        _ => return None,
    };
    Some(crate::StatusChange {
        account: crate::AccountSelector::Id(account.id),
        status,
        reported_to: (status == crate::AccountStatus::Reported).then(|| record.recipient.clone()),
        at: step.note.at,
        changed_by: step.note.changed_by.clone(),
        note: Some(format!("referral {}", record.id)),
    })
}

/// What a step does to a referred site: `sent` counts a takedown request,
/// `actioned` records it taken down.
pub(crate) fn site_effect(
    record: &ReferralRecord,
    step: &ReferralStep,
    site: &SiteRecord,
) -> Option<crate::SiteChange> {
    match step.status {
        ReferralStatus::Sent => Some(crate::SiteChange::TakedownRequested { sent_to: record.recipient.clone() }),
        ReferralStatus::Actioned if site.status != crate::SiteStatus::TakenDown => {
            Some(crate::SiteChange::Status(crate::SiteStatus::TakenDown))
        }
        _ => None,
    }
}

/// The part of `text` an excerpt quotes, or why it cannot.
pub(crate) fn quote(document: DocumentId, text: &str, span: Option<Span>) -> Result<String, Box<ReferralOutcome>> {
    let Some(span) = span else { return Ok(text.to_owned()) };
    match text.get(span.start..span.end) {
        Some(quoted) if span.start < span.end => Ok(quoted.to_owned()),
        _ => Err(Box::new(ReferralOutcome::SpanOutOfRange { document, span, text_bytes: text.len() })),
    }
}

/// The draft the urgent lane opens for a stored document, or `None` when
/// the document has no `threat` category. A sealed document is referred by
/// its indicators and author only: its text is not readable here.
pub(crate) fn urgent_draft(
    lane: &UrgentReferral,
    document_id: DocumentId,
    document: &crate::NewDocument,
    author: Option<AccountId>,
    at: UnixSeconds,
) -> Option<NewReferral> {
    if !document.categories.iter().any(|(category, _)| category == URGENT_CATEGORY) {
        return None;
    }
    let item = |subject| NewReferralItem { subject, tlp: None };
    let mut items = Vec::new();
    if document.sealed_text.is_none() {
        items.push(item(ReferralSubject::Excerpt { document: document_id, span: None }));
    }
    items.extend(author.map(|id| item(ReferralSubject::Account(id))));
    items
        .extend(document.sightings.iter().map(|sighting| item(ReferralSubject::Indicator(sighting.indicator.clone()))));
    Some(NewReferral {
        recipient: lane.recipient.clone(),
        recipient_kind: lane.recipient_kind,
        reason: lane.reason.clone(),
        categories: document.categories.iter().map(|(category, _)| category.clone()).collect(),
        priority: ReferralPriority::Urgent,
        tlp: lane.tlp,
        items,
        drafted: ChangeNote {
            changed_by: crate::history::VIGIL.to_owned(),
            note: Some(format!("opened by document {document_id}")),
            at,
        },
    })
}

/// The category that opens an urgent referral.
pub const URGENT_CATEGORY: &str = "threat";

/// Categories as one column: one per line.
pub(crate) fn encode_categories(categories: &[String]) -> String {
    categories.join("\n")
}

pub(crate) fn decode_categories(column: &str) -> Vec<String> {
    column.lines().filter(|line| !line.is_empty()).map(str::to_owned).collect()
}

/// The indicators seen within `span`; all of them for the whole text. One
/// found outside the text (a media hash) belongs to the whole text only.
pub(crate) fn within_span(
    sightings: Vec<(String, String, Option<i64>, Option<i64>)>,
    span: Option<Span>,
) -> Vec<IndicatorKey> {
    sightings
        .into_iter()
        .filter(|(_, _, start, end)| match (span, start, end) {
            (None, _, _) => true,
            (Some(span), Some(start), Some(end)) => *start >= span.start as i64 && *end <= span.end as i64,
            (Some(_), _, _) => false,
        })
        .filter_map(|(kind, value, _, _)| IndicatorKind::from_name(&kind).map(|kind| IndicatorKey { kind, value }))
        .collect()
}

pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}
