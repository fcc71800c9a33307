//! Referrals as analysts drive them: drafting, the four-eyes approval, the
//! steps after it, and exports for recipients. Requests are checked here;
//! the lifecycle itself is enforced by the store, in the transaction that
//! takes each step, so that two replicas cannot both approve one draft.

use std::time::{SystemTime, UNIX_EPOCH};

use vigil_extract::{Category, IndicatorKind, Span, normalize};
use vigil_store::audit::NewAuditEntry;
use vigil_store::{
    AccountKey, ActorRecord, ChangeNote, IndicatorKey, NewReferral, NewReferralItem, RecipientKind, ReferralEntity,
    ReferralFilter, ReferralId, ReferralOutcome, ReferralPriority, ReferralRecord, ReferralStatus, ReferralStep,
    ReferralSubject, ReferralView, Tlp, UnixSeconds,
};

use crate::exchange::{self, ExportSet, ExportSubject, Marked, Withheld};
use crate::limits::{MAX_FILTER_ENTRIES, MAX_INDICATOR_BYTES, check_bytes, check_count};
use crate::sightings::account_key;
use crate::tracking::{
    bounded, checked_label, next_token, optional_label, optional_text, page_fingerprint, parse_page_token,
};
use crate::{AccountRef, ChangeBy, QueryError, Tracking};

/// Items in one request; a referral is read whole, so it stays readable.
const MAX_ITEMS_PER_REQUEST: usize = 1_000;
/// Indicators and accounts in one ExportRecords request.
const MAX_EXPORT_RECORDS: usize = 1_000;
/// Indicators an actor export carries at most: the newest its accounts
/// posted.
const MAX_ACTOR_INDICATORS: usize = 5_000;
/// A referral's reason: a paragraph, not a document.
const MAX_REASON_BYTES: usize = 4 * 1024;

/// An item as a caller names it: ids as text, indicators as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemSubject {
    Account(String),
    Site(String),
    Indicator { kind: IndicatorKind, value: String },
    Excerpt { document_id: String, span: Option<Span> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRequest {
    /// `None`: the caller named nothing.
    pub subject: Option<ItemSubject>,
    pub tlp: Option<Tlp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralDraft {
    pub recipient: String,
    pub recipient_kind: Option<RecipientKind>,
    pub reason: String,
    pub categories: Vec<Category>,
    pub priority: Option<ReferralPriority>,
    pub tlp: Option<Tlp>,
    pub items: Vec<ItemRequest>,
}

#[derive(Clone, Debug, Default)]
pub struct ListReferrals {
    pub statuses: Vec<ReferralStatus>,
    pub priority: Option<ReferralPriority>,
    pub page_size: u32,
    pub page_token: String,
}

#[derive(Clone, Debug)]
pub struct ReferralPage {
    pub referrals: Vec<ReferralRecord>,
    pub next_page_token: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Stix,
    Misp,
    Csv,
}

impl ExportFormat {
    fn media_type(self) -> &'static str {
        match self {
            ExportFormat::Stix => "application/stix+json;version=2.1",
            ExportFormat::Misp => "application/json",
            ExportFormat::Csv => "text/csv",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Stix => "stix.json",
            ExportFormat::Misp => "misp.json",
            ExportFormat::Csv => "csv",
        }
    }

    fn name(self) -> &'static str {
        match self {
            ExportFormat::Stix => "stix",
            ExportFormat::Misp => "misp",
            ExportFormat::Csv => "csv",
        }
    }
}

/// A rendered export, ready to hand to the recipient.
#[derive(Clone, Debug)]
pub struct Export {
    pub format: ExportFormat,
    pub media_type: &'static str,
    pub file_name: String,
    pub content: Vec<u8>,
    pub withheld: Withheld,
    /// ExportRecords: indicators and accounts asked for that vigil has
    /// never seen.
    pub not_found: Vec<IndicatorKey>,
    pub accounts_not_found: Vec<AccountKey>,
}

/// The referral service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Referrals {
    tracking: Tracking,
    /// The organisation running vigil, named as the author of exports.
    producer: String,
}

impl Referrals {
    pub fn new(tracking: Tracking, producer: impl Into<String>) -> Referrals {
        Referrals { tracking, producer: producer.into() }
    }

    pub async fn create(&self, draft: ReferralDraft, by: ChangeBy) -> Result<ReferralView, QueryError> {
        let drafted = change_note(&by)?;
        check_count("items", draft.items.len(), MAX_ITEMS_PER_REQUEST)?;
        check_count("categories", draft.categories.len(), MAX_FILTER_ENTRIES)?;
        let reason = optional_text("reason", &draft.reason, MAX_REASON_BYTES)?
            .ok_or_else(|| QueryError::invalid("reason", "is empty: say why the recipient should act"))?;
        let mut categories: Vec<String> = Vec::new();
        for category in &draft.categories {
            if !categories.iter().any(|known| known == category.as_str()) {
                categories.push(category.as_str().to_owned());
            }
        }
        let referral = NewReferral {
            recipient: checked_label("recipient", &draft.recipient, true)?,
            recipient_kind: draft.recipient_kind.ok_or_else(|| QueryError::invalid("recipient_kind", "is unset"))?,
            reason,
            categories,
            priority: draft.priority.unwrap_or(ReferralPriority::Routine),
            tlp: draft.tlp.ok_or_else(|| {
                QueryError::invalid("tlp", "is unset: mark who may receive it (CLEAR, GREEN, AMBER, AMBER_STRICT, RED)")
            })?,
            items: items_of(&draft.items)?,
            drafted,
        };
        let items = referral.items.clone();
        outcome(self.tracking.store.create_referral(referral).await?, None, &items)
    }

    pub async fn add_items(
        &self,
        referral_id: &str,
        items: Vec<ItemRequest>,
        by: ChangeBy,
    ) -> Result<ReferralView, QueryError> {
        let id = referral_id_of(referral_id)?;
        let note = change_note(&by)?;
        if items.is_empty() {
            return Err(QueryError::invalid("items", "is empty"));
        }
        check_count("items", items.len(), MAX_ITEMS_PER_REQUEST)?;
        let items = items_of(&items)?;
        outcome(self.tracking.store.add_referral_items(id, items.clone(), note).await?, Some(id), &items)
    }

    pub async fn approve(&self, referral_id: &str, by: ChangeBy) -> Result<ReferralView, QueryError> {
        self.step(referral_id, ReferralStatus::Approved, None, by).await
    }

    pub async fn mark_sent(&self, referral_id: &str, by: ChangeBy) -> Result<ReferralView, QueryError> {
        self.step(referral_id, ReferralStatus::Sent, None, by).await
    }

    pub async fn acknowledge(
        &self,
        referral_id: &str,
        recipient_reference: &str,
        by: ChangeBy,
    ) -> Result<ReferralView, QueryError> {
        let reference = optional_label("recipient_reference", recipient_reference)?;
        self.step(referral_id, ReferralStatus::Acknowledged, reference, by).await
    }

    /// `outcome` is `actioned` or `rejected`.
    pub async fn close(
        &self,
        referral_id: &str,
        outcome: Option<ReferralStatus>,
        by: ChangeBy,
    ) -> Result<ReferralView, QueryError> {
        match outcome {
            Some(status @ (ReferralStatus::Actioned | ReferralStatus::Rejected)) => {
                self.step(referral_id, status, None, by).await
            }
            _ => Err(QueryError::invalid("outcome", "is neither ACTIONED nor REJECTED")),
        }
    }

    async fn step(
        &self,
        referral_id: &str,
        status: ReferralStatus,
        recipient_reference: Option<String>,
        by: ChangeBy,
    ) -> Result<ReferralView, QueryError> {
        let id = referral_id_of(referral_id)?;
        let step = ReferralStep { referral: id, status, note: change_note(&by)?, recipient_reference };
        let view = outcome(self.tracking.store.change_referral_status(step).await?, Some(id), &[])?;
        if matches!(status, ReferralStatus::Sent | ReferralStatus::Actioned) {
            // Their status changed: successor detection reads it.
            let accounts: Vec<i64> = view
                .items
                .iter()
                .filter_map(|item| match &item.entity {
                    ReferralEntity::Account(account) => Some(account.id),
                    _ => None,
                })
                .collect();
            if !accounts.is_empty() {
                self.tracking.refresh(&accounts).await?;
            }
        }
        tracing::info!(referral_id = id, status = status.as_str(), "referral step");
        Ok(view)
    }

    pub async fn get(&self, referral_id: &str) -> Result<ReferralView, QueryError> {
        let id = referral_id_of(referral_id)?;
        self.tracking.store.referral(id).await?.ok_or_else(|| QueryError::NotFound(format!("referral {id}")))
    }

    pub async fn list(&self, request: ListReferrals) -> Result<ReferralPage, QueryError> {
        let limit = bounded("page_size", request.page_size, 50, 500)?;
        check_count("statuses", request.statuses.len(), ReferralStatus::ALL.len())?;
        let names: Vec<&str> = request.statuses.iter().map(|status| status.as_str()).collect();
        let fingerprint = page_fingerprint(&names, &format!("referrals|{:?}", request.priority));
        let before = match request.page_token.trim() {
            "" => None,
            token => Some(parse_page_token(token, &fingerprint)?),
        };
        let filter =
            ReferralFilter { statuses: request.statuses, priority: request.priority, before, limit: limit + 1 };
        let mut referrals = self.tracking.store.list_referrals(filter).await?;
        let next_page_token = next_token(&mut referrals, limit, &fingerprint, |referral| referral.id);
        Ok(ReferralPage { referrals, next_page_token })
    }

    /// An approved referral for its recipient, cleared for `clearance` (the
    /// referral's own marking when unset).
    pub async fn export_referral(
        &self,
        referral_id: &str,
        format: Option<ExportFormat>,
        clearance: Option<Tlp>,
        by: &str,
    ) -> Result<Export, QueryError> {
        let format = format.ok_or_else(|| QueryError::invalid("format", "is unset"))?;
        let view = self.get(referral_id).await?;
        let referral = &view.referral;
        if !referral.status.is_approved() {
            return Err(QueryError::Conflict {
                field: "referral_id".into(),
                reason: format!(
                    "names a referral that is {}: only an approved referral leaves vigil",
                    referral.status.as_str()
                ),
            });
        }
        let clearance = clearance.unwrap_or(referral.tlp);
        let mut set = self.empty_set(
            ExportSubject::Referral {
                id: referral.id,
                recipient: referral.recipient.clone(),
                recipient_kind: referral.recipient_kind.as_str().to_owned(),
                priority: referral.priority.as_str().to_owned(),
                categories: referral.categories.clone(),
                approved_by: referral.approved_by.clone(),
            },
            format!("Referral {} to {}", referral.id, referral.recipient),
            referral.reason.clone(),
            referral.tlp,
        );
        for item in &view.items {
            let tlp = item.tlp;
            match &item.entity {
                ReferralEntity::Account(record) => set.accounts.push(Marked { tlp, record: record.clone() }),
                ReferralEntity::Site(record) => set.sites.push(Marked { tlp, record: record.clone() }),
                ReferralEntity::Indicator(record) => set.indicators.push(Marked { tlp, record: record.clone() }),
                ReferralEntity::Excerpt(record) => set.excerpts.push(Marked { tlp, record: (**record).clone() }),
            }
        }
        let file_stem = format!("vigil-referral-{}", referral.id);
        self.render(set, format, clearance, &file_stem, format!("referral:{}", referral.id), by).await
    }

    /// An actor and its accounts, marked `tlp` (AMBER when unset).
    pub async fn export_actor(
        &self,
        actor_id: &str,
        format: Option<ExportFormat>,
        tlp: Option<Tlp>,
        clearance: Option<Tlp>,
        by: &str,
    ) -> Result<Export, QueryError> {
        let format = format.ok_or_else(|| QueryError::invalid("format", "is unset"))?;
        let view = self.tracking.actor(actor_id, 1).await?;
        let tlp = tlp.unwrap_or(Tlp::Amber);
        let ActorRecord { id, name, kind, .. } = &view.actor;
        let mut set = self.empty_set(
            ExportSubject::Actor { id: *id, name: name.clone(), kind: kind.as_str().to_owned() },
            format!("Actor {name}"),
            String::new(),
            tlp,
        );
        set.accounts = view.accounts.iter().map(|record| Marked { tlp, record: record.clone() }).collect();
        // What its accounts posted: the newest indicators of each, all time,
        // as successor detection reads them.
        let ids: Vec<i64> = view.accounts.iter().map(|account| account.id).collect();
        if !ids.is_empty() {
            let tracked =
                self.tracking.store.tracked_accounts(Some(ids), UnixSeconds::MIN, MAX_ACTOR_INDICATORS).await?;
            let mut keys: Vec<IndicatorKey> = Vec::new();
            for (key, _) in tracked.into_iter().flat_map(|account| account.posted) {
                if keys.len() < MAX_ACTOR_INDICATORS && !keys.contains(&key) {
                    keys.push(key);
                }
            }
            let found = self.tracking.store.known_indicators(keys).await?;
            set.indicators = found.into_iter().map(|record| Marked { tlp, record }).collect();
            set.indicators.sort_by(|a, b| {
                (a.record.kind.as_str(), &a.record.value).cmp(&(b.record.kind.as_str(), &b.record.value))
            });
        }
        let file_stem = format!("vigil-actor-{id}");
        self.render(set, format, clearance.unwrap_or(tlp), &file_stem, format!("actor:{id}"), by).await
    }

    /// Indicators and accounts as a caller names them, with what vigil
    /// knows of each, marked `tlp` (AMBER when unset). Those never seen are
    /// named in `not_found` and `accounts_not_found`.
    pub async fn export_records(
        &self,
        indicators: &[(IndicatorKind, String)],
        accounts: &[AccountRef],
        format: Option<ExportFormat>,
        tlp: Option<Tlp>,
        clearance: Option<Tlp>,
        by: &str,
    ) -> Result<Export, QueryError> {
        let format = format.ok_or_else(|| QueryError::invalid("format", "is unset"))?;
        if indicators.is_empty() && accounts.is_empty() {
            return Err(QueryError::invalid("indicators", "and accounts are both empty"));
        }
        let asked = indicators.len() + accounts.len();
        if asked > MAX_EXPORT_RECORDS {
            return Err(QueryError::invalid(
                "indicators",
                format!("and accounts have {asked} entries, over the limit of {MAX_EXPORT_RECORDS}"),
            ));
        }
        let mut keys = Vec::with_capacity(indicators.len());
        for (index, (kind, value)) in indicators.iter().enumerate() {
            let key = indicator_key(&format!("indicators[{index}]"), *kind, value)?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let mut account_keys = Vec::with_capacity(accounts.len());
        for (index, account) in accounts.iter().enumerate() {
            let field = format!("accounts[{index}]");
            let key = account_key(&field, account)?.ok_or_else(|| QueryError::invalid(&field, "is empty"))?;
            account_keys.push(key);
        }
        let known = self.tracking.store.known(keys.clone(), account_keys.clone()).await?;
        let not_found: Vec<IndicatorKey> = keys
            .into_iter()
            .filter(|key| !known.indicators.iter().any(|record| record.kind == key.kind && record.value == key.value))
            .collect();
        let mut accounts_not_found = Vec::new();
        let mut found_accounts: Vec<vigil_store::AccountRecord> = Vec::new();
        for (key, record) in account_keys.into_iter().zip(known.accounts) {
            match record {
                Some(record) if !found_accounts.iter().any(|found| found.id == record.id) => {
                    found_accounts.push(record)
                }
                Some(_) => {}
                None => accounts_not_found.push(key),
            }
        }
        let tlp = tlp.unwrap_or(Tlp::Amber);
        let mut set = self.empty_set(ExportSubject::Indicators, "Indicators and accounts".into(), String::new(), tlp);
        set.indicators = known.indicators.into_iter().map(|record| Marked { tlp, record }).collect();
        set.accounts = found_accounts.into_iter().map(|record| Marked { tlp, record }).collect();
        let records = vigil_store::audit::records_of("account", set.accounts.iter().map(|marked| marked.record.id));
        let mut export = self.render(set, format, clearance.unwrap_or(tlp), "vigil-records", records, by).await?;
        export.not_found = not_found;
        export.accounts_not_found = accounts_not_found;
        Ok(export)
    }

    /// A record imported under a marking keeps it, whatever the export is
    /// marked: what another organisation restricted stays restricted.
    async fn apply_imported_markings(&self, set: &mut ExportSet) -> Result<(), QueryError> {
        let indicators: Vec<IndicatorKey> = set
            .indicators
            .iter()
            .map(|marked| IndicatorKey { kind: marked.record.kind, value: marked.record.value.clone() })
            .collect();
        let accounts: Vec<i64> = set.accounts.iter().map(|marked| marked.record.id).collect();
        if indicators.is_empty() && accounts.is_empty() {
            return Ok(());
        }
        let markings = self.tracking.store.markings(indicators, accounts).await?;
        for (marked, stored) in set.indicators.iter_mut().zip(markings.indicators) {
            marked.tlp = stored.map_or(marked.tlp, |stored| stored.stricter(marked.tlp));
        }
        for (marked, stored) in set.accounts.iter_mut().zip(markings.accounts) {
            marked.tlp = stored.map_or(marked.tlp, |stored| stored.stricter(marked.tlp));
        }
        Ok(())
    }

    fn empty_set(&self, subject: ExportSubject, title: String, description: String, tlp: Tlp) -> ExportSet {
        ExportSet {
            subject,
            title,
            description,
            tlp,
            producer: self.producer.clone(),
            created_at: now(),
            accounts: Vec::new(),
            sites: Vec::new(),
            indicators: Vec::new(),
            excerpts: Vec::new(),
        }
    }

    /// Applies the clearance, renders the set and audits the export: what
    /// left vigil, for whom, and what was withheld.
    #[allow(clippy::too_many_arguments)]
    async fn render(
        &self,
        set: ExportSet,
        format: ExportFormat,
        clearance: Tlp,
        file_stem: &str,
        records: String,
        by: &str,
    ) -> Result<Export, QueryError> {
        let mut set = set;
        self.apply_imported_markings(&mut set).await?;
        let (set, withheld) = exchange::for_recipient(set, clearance).map_err(|error| match error {
            exchange::ExchangeError::Clearance(reason) => {
                QueryError::invalid("recipient_clearance", format!("is {}: {reason}", clearance.label()))
            }
            other => QueryError::invalid("recipient_clearance", other.to_string()),
        })?;
        let content = match format {
            ExportFormat::Stix => exchange::to_stix(&set).to_string().into_bytes(),
            ExportFormat::Misp => exchange::to_misp(&set).to_string().into_bytes(),
            ExportFormat::Csv => exchange::to_csv(&set).into_bytes(),
        };
        let detail = format!(
            "{} for clearance {}, {} accounts, {} sites, {} indicators, {} excerpts, {} withheld",
            format.name(),
            clearance.label(),
            set.accounts.len(),
            set.sites.len(),
            set.indicators.len(),
            set.excerpts.len(),
            withheld.total(),
        );
        let entry =
            NewAuditEntry { at: set.created_at, actor: by.to_owned(), action: "export".into(), records, detail };
        self.tracking.store.append_audit(entry).await?;
        Ok(Export {
            format,
            media_type: format.media_type(),
            file_name: format!("{file_stem}.{}", format.extension()),
            content,
            withheld,
            not_found: Vec::new(),
            accounts_not_found: Vec::new(),
        })
    }
}

fn change_note(by: &ChangeBy) -> Result<ChangeNote, QueryError> {
    Ok(ChangeNote {
        changed_by: checked_label("changed_by", &by.changed_by, true)?,
        note: optional_label("note", &by.note)?,
        at: now(),
    })
}

fn referral_id_of(id: &str) -> Result<ReferralId, QueryError> {
    id.trim().parse().ok().filter(|id| *id > 0).ok_or_else(|| {
        QueryError::invalid("referral_id", "is not a referral id (digits, as CreateReferral returns it)")
    })
}

fn row_id_of(field: &str, id: &str, what: &str) -> Result<i64, QueryError> {
    id.trim().parse().ok().filter(|id| *id > 0).ok_or_else(|| QueryError::invalid(field, format!("is not {what}")))
}

fn indicator_key(field: &str, kind: IndicatorKind, value: &str) -> Result<IndicatorKey, QueryError> {
    check_bytes(&format!("{field}.value"), value, MAX_INDICATOR_BYTES)?;
    let value = normalize(kind, value)
        .map_err(|error| QueryError::invalid(format!("{field}.value"), format!("is wrong: {error}")))?;
    Ok(IndicatorKey { kind, value })
}

fn items_of(items: &[ItemRequest]) -> Result<Vec<NewReferralItem>, QueryError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let field = format!("items[{index}]");
            let subject = match &item.subject {
                None => {
                    return Err(QueryError::invalid(
                        &field,
                        "names nothing: set an account, site, indicator or excerpt",
                    ));
                }
                Some(ItemSubject::Account(id)) => {
                    ReferralSubject::Account(row_id_of(&format!("{field}.account_id"), id, "an account id")?)
                }
                Some(ItemSubject::Site(id)) => {
                    ReferralSubject::Site(row_id_of(&format!("{field}.site_id"), id, "a site id")?)
                }
                Some(ItemSubject::Indicator { kind, value }) => {
                    ReferralSubject::Indicator(indicator_key(&format!("{field}.indicator"), *kind, value)?)
                }
                Some(ItemSubject::Excerpt { document_id, span }) => {
                    if let Some(span) = span
                        && span.start >= span.end
                    {
                        return Err(QueryError::invalid(
                            format!("{field}.excerpt.span"),
                            format!("is {}..{}: start must be before end", span.start, span.end),
                        ));
                    }
                    ReferralSubject::Excerpt {
                        document: row_id_of(&format!("{field}.excerpt.document_id"), document_id, "a document id")?,
                        span: *span,
                    }
                }
            };
            Ok(NewReferralItem { subject, tlp: item.tlp })
        })
        .collect()
}

/// The store's answer as the caller's: a refusal names the item at fault.
fn outcome(
    outcome: ReferralOutcome,
    referral: Option<ReferralId>,
    items: &[NewReferralItem],
) -> Result<ReferralView, QueryError> {
    let item_field = |subject: &ReferralSubject| {
        let index = items.iter().position(|item| item.subject == *subject).unwrap_or(0);
        format!("items[{index}]")
    };
    let describe = |status: ReferralStatus| status.as_str().to_owned();
    match outcome {
        ReferralOutcome::Changed(view) => Ok(view),
        ReferralOutcome::NotFound => {
            Err(QueryError::NotFound(format!("referral {}", referral.map_or(String::new(), |id| id.to_string()))))
        }
        ReferralOutcome::SubjectNotFound(subject) => {
            let what = match &subject {
                ReferralSubject::Account(id) => format!("account {id}"),
                ReferralSubject::Site(id) => format!("site {id}"),
                ReferralSubject::Indicator(key) => format!("{} indicator {:?}", key.kind.as_str(), key.value),
                ReferralSubject::Excerpt { document, .. } => format!("document {document}"),
            };
            Err(QueryError::NotFound(format!("{}: {what}", item_field(&subject))))
        }
        ReferralOutcome::SpanOutOfRange { document, span, text_bytes } => {
            let subject = ReferralSubject::Excerpt { document, span: Some(span) };
            Err(QueryError::invalid(
                format!("{}.excerpt.span", item_field(&subject)),
                format!(
                    "is {}..{}, not within document {document}'s {text_bytes}-byte text on character boundaries",
                    span.start, span.end
                ),
            ))
        }
        ReferralOutcome::SealedDocument(document) => {
            let index = items
                .iter()
                .position(|item| matches!(item.subject, ReferralSubject::Excerpt { document: d, .. } if d == document))
                .unwrap_or(0);
            Err(QueryError::Conflict {
                field: format!("items[{index}].excerpt.document_id"),
                reason: format!("names sealed document {document}: its text cannot be quoted; refer its indicators"),
            })
        }
        ReferralOutcome::WrongStatus { status, wanted } => Err(QueryError::Conflict {
            field: "referral_id".into(),
            reason: format!("names a referral that is {}: it cannot become {}", describe(status), describe(wanted)),
        }),
        ReferralOutcome::NotDraft(status) => Err(QueryError::Conflict {
            field: "referral_id".into(),
            reason: format!("names a referral that is {}: items are added to drafts only", describe(status)),
        }),
        ReferralOutcome::SelfApproval { drafted_by } => Err(QueryError::Conflict {
            field: "referral_id".into(),
            reason: format!(
                "names a referral you drafted or added to (drafted by {drafted_by:?}): four eyes, another analyst approves it"
            ),
        }),
    }
}

fn now() -> UnixSeconds {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}
