//! Referrals on PostgreSQL, as on SQLite (`sqlite/referrals.rs`), whose
//! answers these functions repeat exactly. The referral row is locked
//! (`FOR UPDATE`) before a step, so two replicas cannot both take it.

use tokio_postgres::Row;

use super::tracking::ALERT_LOCK;
use super::{DOCUMENT_COLUMNS, Tx, account_record, document_summary, sites, sql_limit, tracking};
use crate::audit::referral_entries;
use crate::model::*;
use crate::referral::*;
use crate::{IndicatorKind, Span, StoreError};

async fn resolve(tx: &Tx<'_>, subject: &ReferralSubject) -> Result<Result<ResolvedItem, ReferralOutcome>, StoreError> {
    let not_found = || Ok(Err(ReferralOutcome::SubjectNotFound(subject.clone())));
    Ok(Ok(match subject {
        ReferralSubject::Account(id) => {
            let statement = tx.prepare_cached("SELECT 1 FROM account WHERE id = $1").await?;
            if tx.query_opt(&statement, &[id]).await?.is_none() {
                return not_found();
            }
            ResolvedItem::Account(*id)
        }
        ReferralSubject::Site(id) => {
            let statement = tx.prepare_cached("SELECT 1 FROM site WHERE id = $1").await?;
            if tx.query_opt(&statement, &[id]).await?.is_none() {
                return not_found();
            }
            ResolvedItem::Site(*id)
        }
        ReferralSubject::Indicator(key) => {
            let statement = tx.prepare_cached("SELECT id FROM indicator WHERE kind = $1 AND value = $2").await?;
            match tx.query_opt(&statement, &[&key.kind.as_str(), &key.value]).await? {
                Some(row) => ResolvedItem::Indicator(row.get(0)),
                None => return not_found(),
            }
        }
        ReferralSubject::Excerpt { document, span } => {
            let statement =
                tx.prepare_cached("SELECT text, sealed_text IS NOT NULL FROM document WHERE id = $1").await?;
            let Some(row) = tx.query_opt(&statement, &[document]).await? else { return not_found() };
            let (text, sealed): (String, bool) = (row.get(0), row.get(1));
            if sealed {
                return Ok(Err(ReferralOutcome::SealedDocument(*document)));
            }
            match quote(*document, &text, *span) {
                Ok(text) => ResolvedItem::Excerpt { document: *document, span: *span, text },
                Err(refused) => return Ok(Err(*refused)),
            }
        }
    }))
}

async fn insert_items(
    tx: &Tx<'_>,
    referral: ReferralId,
    items: &[NewReferralItem],
    note: &ChangeNote,
) -> Result<Option<ReferralOutcome>, StoreError> {
    let mut resolved = Vec::with_capacity(items.len());
    for item in items {
        match resolve(tx, &item.subject).await? {
            Ok(found) => resolved.push((found, item.tlp)),
            Err(refused) => return Ok(Some(refused)),
        }
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO referral_item (referral_id, tlp, added_by, added_at, account_id, site_id, indicator_id,
                 document_id, span_start, span_end, excerpt)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .await?;
    for (found, tlp) in resolved {
        let row = found.into_columns();
        tx.execute(
            &insert,
            &[
                &referral,
                &tlp.map(Tlp::as_str),
                &note.changed_by,
                &note.at,
                &row.account,
                &row.site,
                &row.indicator,
                &row.document,
                &row.span_start,
                &row.span_end,
                &row.excerpt,
            ],
        )
        .await?;
    }
    Ok(None)
}

async fn record_event(
    tx: &Tx<'_>,
    referral: ReferralId,
    kind: ReferralEventKind,
    note: &ChangeNote,
) -> Result<(), StoreError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO referral_event (referral_id, kind, at, changed_by, note) VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(&statement, &[&referral, &kind.as_str(), &note.at, &note.changed_by, &note.note]).await?;
    Ok(())
}

pub(crate) async fn create(
    tx: &Tx<'_>,
    referral: &NewReferral,
    opened_by: Option<DocumentId>,
) -> Result<ReferralOutcome, StoreError> {
    for item in &referral.items {
        if let Err(refused) = resolve(tx, &item.subject).await? {
            return Ok(refused);
        }
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO referral (recipient, recipient_kind, reason, categories, priority, tlp, status,
                 status_changed_at, drafted_by, drafted_at, opened_by_document)
             VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $7, $9) RETURNING id",
        )
        .await?;
    let id: ReferralId = tx
        .query_one(
            &statement,
            &[
                &referral.recipient,
                &referral.recipient_kind.as_str(),
                &referral.reason,
                &encode_categories(&referral.categories),
                &referral.priority.as_str(),
                &referral.tlp.as_str(),
                &referral.drafted.at,
                &referral.drafted.changed_by,
                &opened_by,
            ],
        )
        .await?
        .get(0);
    if let Some(refused) = insert_items(tx, id, &referral.items, &referral.drafted).await? {
        return Err(StoreError::Worker(format!("referral item checked and then refused: {refused:?}")));
    }
    record_event(tx, id, ReferralEventKind::Drafted, &referral.drafted).await?;
    let view = view(tx, id).await?.ok_or_else(|| missing(id))?;
    super::access::append_audit(tx, referral_entries::created(&view)).await?;
    Ok(ReferralOutcome::Changed(view))
}

pub(crate) async fn add_items(
    tx: &Tx<'_>,
    id: ReferralId,
    items: &[NewReferralItem],
    note: &ChangeNote,
) -> Result<ReferralOutcome, StoreError> {
    let Some(record) = record(tx, id, true).await? else { return Ok(ReferralOutcome::NotFound) };
    if record.status != ReferralStatus::Draft {
        return Ok(ReferralOutcome::NotDraft(record.status));
    }
    if let Some(refused) = insert_items(tx, id, items, note).await? {
        return Ok(refused);
    }
    record_event(tx, id, ReferralEventKind::ItemsAdded, note).await?;
    super::access::append_audit(tx, referral_entries::items_added(id, items.len(), note)).await?;
    Ok(ReferralOutcome::Changed(view(tx, id).await?.ok_or_else(|| missing(id))?))
}

/// A step, and the accounts whose status it changed (for other replicas).
pub(crate) async fn change_status(
    tx: &Tx<'_>,
    step: &ReferralStep,
) -> Result<(ReferralOutcome, Vec<AccountId>), StoreError> {
    let id = step.referral;
    if record(tx, id, true).await?.is_none() {
        return Ok((ReferralOutcome::NotFound, Vec::new()));
    }
    let current = view(tx, id).await?.ok_or_else(|| missing(id))?;
    let statement = tx
        .prepare_cached(
            "SELECT drafted_by FROM referral WHERE id = $1 UNION SELECT added_by FROM referral_item WHERE referral_id = $1",
        )
        .await?;
    let authors: Vec<String> = tx.query(&statement, &[&id]).await?.iter().map(|row| row.get(0)).collect();
    if let Some(refused) = refusal(&current.referral, &authors, step) {
        return Ok((refused, Vec::new()));
    }
    let statement = tx
        .prepare_cached(
            "UPDATE referral SET status = $2, status_changed_at = $3,
                 approved_by = CASE WHEN $2 = 'approved' THEN $4 ELSE approved_by END,
                 approved_at = CASE WHEN $2 = 'approved' THEN $3 ELSE approved_at END,
                 recipient_reference = coalesce($5, recipient_reference)
             WHERE id = $1",
        )
        .await?;
    tx.execute(
        &statement,
        &[&id, &step.status.as_str(), &step.note.at, &step.note.changed_by, &step.recipient_reference],
    )
    .await?;
    record_event(tx, id, ReferralEventKind::of_status(step.status), &step.note).await?;
    let (mut accounts, mut sites_changed) = (Vec::new(), Vec::new());
    // A record named by two items is still one request to the recipient.
    for item in &current.items {
        match &item.entity {
            ReferralEntity::Account(account) if accounts.contains(&account.id) => {}
            ReferralEntity::Site(site) if sites_changed.contains(&site.id) => {}
            ReferralEntity::Account(account) => {
                if let Some(change) = account_effect(&current.referral, step, account) {
                    tracking::change_status(tx, &change).await?;
                    accounts.push(account.id);
                }
            }
            ReferralEntity::Site(site) => {
                if let Some(change) = site_effect(&current.referral, step, site) {
                    let note = ChangeNote { note: Some(format!("referral {id}")), ..step.note.clone() };
                    sites::change(tx, &SiteSelector::Id(site.id), &change, &note).await?;
                    sites_changed.push(site.id);
                }
            }
            ReferralEntity::Indicator(_) | ReferralEntity::Excerpt(_) => {}
        }
    }
    super::access::append_audit(tx, referral_entries::step(step, &accounts, &sites_changed)).await?;
    Ok((ReferralOutcome::Changed(view(tx, id).await?.ok_or_else(|| missing(id))?), accounts))
}

fn missing(id: ReferralId) -> StoreError {
    StoreError::Worker(format!("referral {id} vanished within its transaction"))
}

const REFERRAL_COLUMNS: &str =
    "r.id, r.recipient, r.recipient_kind, r.reason, r.categories, r.priority, r.tlp, r.status,
    r.status_changed_at, r.drafted_by, r.drafted_at, r.approved_by, r.approved_at, r.recipient_reference,
    r.opened_by_document, (SELECT count(*) FROM referral_item i WHERE i.referral_id = r.id)";

fn referral_from_row(row: &Row) -> ReferralRecord {
    let text = |index: usize| -> String { row.get(index) };
    ReferralRecord {
        id: row.get(0),
        recipient: row.get(1),
        recipient_kind: RecipientKind::from_name(&text(2)).unwrap_or(RecipientKind::Platform),
        reason: row.get(3),
        categories: decode_categories(&text(4)),
        priority: ReferralPriority::from_name(&text(5)).unwrap_or(ReferralPriority::Routine),
        // As on SQLite: an unknown marking reads as the strictest.
        tlp: Tlp::from_name(&text(6)).unwrap_or(Tlp::Red),
        status: ReferralStatus::from_name(&text(7)).unwrap_or(ReferralStatus::Draft),
        status_changed_at: row.get(8),
        drafted_by: row.get(9),
        drafted_at: row.get(10),
        approved_by: row.get(11),
        approved_at: row.get(12),
        recipient_reference: row.get(13),
        opened_by_document: row.get(14),
        item_count: row.get::<_, i64>(15) as u32,
    }
}

/// The referral; locked until the transaction ends when `lock` is set.
pub(crate) async fn record(tx: &Tx<'_>, id: ReferralId, lock: bool) -> Result<Option<ReferralRecord>, StoreError> {
    if lock {
        let statement = tx.prepare_cached("SELECT 1 FROM referral WHERE id = $1 FOR UPDATE").await?;
        if tx.query_opt(&statement, &[&id]).await?.is_none() {
            return Ok(None);
        }
    }
    let statement = tx.prepare_cached(&format!("SELECT {REFERRAL_COLUMNS} FROM referral r WHERE r.id = $1")).await?;
    Ok(tx.query_opt(&statement, &[&id]).await?.as_ref().map(referral_from_row))
}

pub(crate) async fn view(tx: &Tx<'_>, id: ReferralId) -> Result<Option<ReferralView>, StoreError> {
    let Some(referral) = record(tx, id, false).await? else { return Ok(None) };
    let statement = tx
        .prepare_cached(
            "SELECT id, tlp, added_by, added_at, account_id, site_id, indicator_id, document_id, span_start, span_end,
                    excerpt
             FROM referral_item WHERE referral_id = $1 ORDER BY id",
        )
        .await?;
    let rows = tx.query(&statement, &[&id]).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let item_id: i64 = row.get(0);
        let column = |index: usize| -> Option<i64> { row.get(index) };
        let entity = match (column(4), column(5), column(6), column(7)) {
            (Some(account), _, _, _) => ReferralEntity::Account(account_record(tx, account).await?),
            (_, Some(site), _, _) => ReferralEntity::Site(
                sites::site_record(tx, site)
                    .await?
                    .ok_or_else(|| StoreError::Worker(format!("site {site} vanished")))?,
            ),
            (_, _, Some(indicator), _) => ReferralEntity::Indicator(indicator_record(tx, indicator).await?),
            (_, _, _, Some(document)) => {
                let span =
                    column(8).zip(column(9)).map(|(start, end)| Span { start: start as usize, end: end as usize });
                let text: Option<String> = row.get(10);
                ReferralEntity::Excerpt(Box::new(excerpt_of(tx, document, span, text.unwrap_or_default()).await?))
            }
            _ => return Err(StoreError::Worker(format!("referral item {item_id} names nothing"))),
        };
        let own: Option<String> = row.get(1);
        let tlp = own.as_deref().and_then(Tlp::from_name).map_or(referral.tlp, |own| own.stricter(referral.tlp));
        items.push(ReferralItem { id: item_id, tlp, added_by: row.get(2), added_at: row.get(3), entity });
    }
    let statement = tx
        .prepare_cached("SELECT id, kind, at, changed_by, note FROM referral_event WHERE referral_id = $1 ORDER BY id")
        .await?;
    let events = tx
        .query(&statement, &[&id])
        .await?
        .iter()
        .map(|row| {
            let kind: String = row.get(1);
            ReferralEvent {
                id: row.get(0),
                kind: ReferralEventKind::from_name(&kind).unwrap_or(ReferralEventKind::Drafted),
                at: row.get(2),
                by: row.get(3),
                note: row.get(4),
            }
        })
        .collect();
    Ok(Some(ReferralView { referral, items, events }))
}

async fn indicator_record(tx: &Tx<'_>, id: i64) -> Result<IndicatorRecord, StoreError> {
    let statement = tx
        .prepare_cached("SELECT kind, value, first_seen, last_seen, sighting_count FROM indicator WHERE id = $1")
        .await?;
    let row = tx.query_one(&statement, &[&id]).await?;
    let kind: String = row.get(0);
    let kind = IndicatorKind::from_name(&kind)
        .ok_or_else(|| StoreError::Worker(format!("indicator {id} has an unknown kind {kind:?}")))?;
    Ok(IndicatorRecord {
        kind,
        value: row.get(1),
        first_seen: row.get(2),
        last_seen: row.get(3),
        sighting_count: row.get::<_, i64>(4) as u64,
    })
}

async fn excerpt_of(
    tx: &Tx<'_>,
    id: DocumentId,
    span: Option<Span>,
    text: String,
) -> Result<ReferralExcerpt, StoreError> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {DOCUMENT_COLUMNS}, d.text, d.author_account_id FROM document d WHERE d.id = $1"
        ))
        .await?;
    let row = tx.query_one(&statement, &[&id]).await?;
    let document = document_summary(&row);
    let document_text: String = row.get(11);
    let author: Option<AccountId> = row.get(12);
    let author = match author {
        Some(author) => Some(account_record(tx, author).await?),
        None => None,
    };
    let statement = tx
        .prepare_cached(
            "SELECT i.kind, i.value, s.span_start, s.span_end FROM sighting s JOIN indicator i ON i.id = s.indicator_id
             WHERE s.document_id = $1 ORDER BY s.span_start NULLS FIRST, i.id",
        )
        .await?;
    let sightings = tx
        .query(&statement, &[&id])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    let indicators = within_span(sightings, span);
    Ok(ReferralExcerpt { text_sha256: sha256_hex(&text), document, author, span, text, document_text, indicators })
}

pub(crate) async fn list(tx: &Tx<'_>, filter: &ReferralFilter) -> Result<Vec<ReferralRecord>, StoreError> {
    let statuses: Vec<&str> = filter.statuses.iter().map(|status| status.as_str()).collect();
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM referral r
             WHERE r.id < $1 AND (cardinality($2::text[]) = 0 OR r.status = ANY ($2))
               AND ($3::text IS NULL OR r.priority = $3)
             ORDER BY r.id DESC LIMIT $4"
        ))
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &filter.before.unwrap_or(i64::MAX),
                &statuses,
                &filter.priority.map(ReferralPriority::as_str),
                &sql_limit(filter.limit),
            ],
        )
        .await?;
    Ok(rows.iter().map(referral_from_row).collect())
}

/// The urgent lane for documents just stored: a draft and an alert for each
/// with a `threat` category; the newest alert's id, when one was raised.
pub(crate) async fn open_urgent(
    tx: &Tx<'_>,
    lane: &UrgentReferral,
    stored: &[(DocumentId, &NewDocument, Option<AccountId>)],
    at: impl Fn(&NewDocument) -> UnixSeconds,
) -> Result<Option<AlertId>, StoreError> {
    let drafts: Vec<(DocumentId, NewReferral, UnixSeconds)> = stored
        .iter()
        .filter_map(|&(id, document, author)| {
            let at = at(document);
            urgent_draft(lane, id, document, author, at).map(|draft| (id, draft, at))
        })
        .collect();
    if drafts.is_empty() {
        return Ok(None);
    }
    // Alerts are numbered and committed in one order across replicas; see
    // ALERT_LOCK.
    let statement = tx.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    tx.execute(&statement, &[&ALERT_LOCK]).await?;
    let raise = tx
        .prepare_cached(
            "INSERT INTO alert (raised_at, kind, referral_id) VALUES ($1, 'urgent_referral', $2) RETURNING id",
        )
        .await?;
    let mut newest = None;
    for (document, draft, at) in drafts {
        let ReferralOutcome::Changed(view) = create(tx, &draft, Some(document)).await? else {
            return Err(StoreError::Worker(format!("the urgent draft for document {document} was refused")));
        };
        newest = Some(tx.query_one(&raise, &[&at, &view.referral.id]).await?.get(0));
    }
    Ok(newest)
}
