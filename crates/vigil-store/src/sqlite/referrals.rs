//! Referrals on SQLite. Every function runs inside the caller's
//! transaction; items are checked before anything is written, so a refused
//! request leaves no trace.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{DOCUMENT_COLUMNS, account_record, document_summary, sites, tracking};
use crate::audit::referral_entries;
use crate::model::*;
use crate::referral::*;
use crate::{IndicatorKind, Span, StoreError};

fn resolve(
    tx: &Transaction<'_>,
    subject: &ReferralSubject,
) -> Result<Result<ResolvedItem, ReferralOutcome>, StoreError> {
    let not_found = || Ok(Err(ReferralOutcome::SubjectNotFound(subject.clone())));
    let exists = |sql: &str, id: i64| -> Result<bool, StoreError> {
        Ok(tx.prepare_cached(sql)?.query_row(params![id], |_| Ok(())).optional()?.is_some())
    };
    Ok(Ok(match subject {
        ReferralSubject::Account(id) => {
            if !exists("SELECT 1 FROM account WHERE id = ?1", *id)? {
                return not_found();
            }
            ResolvedItem::Account(*id)
        }
        ReferralSubject::Site(id) => {
            if !exists("SELECT 1 FROM site WHERE id = ?1", *id)? {
                return not_found();
            }
            ResolvedItem::Site(*id)
        }
        ReferralSubject::Indicator(key) => {
            let id = tx
                .prepare_cached("SELECT id FROM indicator WHERE kind = ?1 AND value = ?2")?
                .query_row(params![key.kind.as_str(), key.value], |row| row.get(0))
                .optional()?;
            match id {
                Some(id) => ResolvedItem::Indicator(id),
                None => return not_found(),
            }
        }
        ReferralSubject::Excerpt { document, span } => {
            let row: Option<(String, bool)> = tx
                .prepare_cached("SELECT text, sealed_text IS NOT NULL FROM document WHERE id = ?1")?
                .query_row(params![document], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let Some((text, sealed)) = row else { return not_found() };
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

/// Checks every item, then inserts them all; nothing is inserted when one
/// is refused.
fn insert_items(
    tx: &Transaction<'_>,
    referral: ReferralId,
    items: &[NewReferralItem],
    note: &ChangeNote,
) -> Result<Option<ReferralOutcome>, StoreError> {
    let mut resolved = Vec::with_capacity(items.len());
    for item in items {
        match resolve(tx, &item.subject)? {
            Ok(found) => resolved.push((found, item.tlp)),
            Err(refused) => return Ok(Some(refused)),
        }
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO referral_item (referral_id, tlp, added_by, added_at, account_id, site_id, indicator_id,
             document_id, span_start, span_end, excerpt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (found, tlp) in resolved {
        let row = found.into_columns();
        insert.execute(params![
            referral,
            tlp.map(Tlp::as_str),
            note.changed_by,
            note.at,
            row.account,
            row.site,
            row.indicator,
            row.document,
            row.span_start,
            row.span_end,
            row.excerpt
        ])?;
    }
    Ok(None)
}

fn record_event(
    tx: &Transaction<'_>,
    referral: ReferralId,
    kind: ReferralEventKind,
    note: &ChangeNote,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO referral_event (referral_id, kind, at, changed_by, note) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![referral, kind.as_str(), note.at, note.changed_by, note.note])?;
    Ok(())
}

/// Drafts a referral; `opened_by` is the document that opened it in the
/// urgent lane.
pub(crate) fn create(
    tx: &Transaction<'_>,
    referral: &NewReferral,
    opened_by: Option<DocumentId>,
) -> Result<ReferralOutcome, StoreError> {
    // Checked before the referral row exists, so a refusal writes nothing.
    for item in &referral.items {
        if let Err(refused) = resolve(tx, &item.subject)? {
            return Ok(refused);
        }
    }
    let at = referral.drafted.at;
    let id: ReferralId = tx
        .prepare_cached(
            "INSERT INTO referral (recipient, recipient_kind, reason, categories, priority, tlp, status,
                 status_changed_at, drafted_by, drafted_at, opened_by_document)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', ?7, ?8, ?7, ?9) RETURNING id",
        )?
        .query_row(
            params![
                referral.recipient,
                referral.recipient_kind.as_str(),
                referral.reason,
                encode_categories(&referral.categories),
                referral.priority.as_str(),
                referral.tlp.as_str(),
                at,
                referral.drafted.changed_by,
                opened_by
            ],
            |row| row.get(0),
        )?;
    if let Some(refused) = insert_items(tx, id, &referral.items, &referral.drafted)? {
        return Err(StoreError::Worker(format!("referral item checked and then refused: {refused:?}")));
    }
    record_event(tx, id, ReferralEventKind::Drafted, &referral.drafted)?;
    let view = view(tx, id)?.ok_or_else(|| missing(id))?;
    super::access::append_audit(tx, referral_entries::created(&view))?;
    Ok(ReferralOutcome::Changed(view))
}

pub(crate) fn add_items(
    tx: &Transaction<'_>,
    id: ReferralId,
    items: &[NewReferralItem],
    note: &ChangeNote,
) -> Result<ReferralOutcome, StoreError> {
    let Some(record) = record(tx, id)? else { return Ok(ReferralOutcome::NotFound) };
    if record.status != ReferralStatus::Draft {
        return Ok(ReferralOutcome::NotDraft(record.status));
    }
    if let Some(refused) = insert_items(tx, id, items, note)? {
        return Ok(refused);
    }
    record_event(tx, id, ReferralEventKind::ItemsAdded, note)?;
    super::access::append_audit(tx, referral_entries::items_added(id, items.len(), note))?;
    Ok(ReferralOutcome::Changed(view(tx, id)?.ok_or_else(|| missing(id))?))
}

pub(crate) fn change_status(tx: &Transaction<'_>, step: &ReferralStep) -> Result<ReferralOutcome, StoreError> {
    let Some(current) = view(tx, step.referral)? else { return Ok(ReferralOutcome::NotFound) };
    let authors = authors(tx, step.referral)?;
    if let Some(refused) = refusal(&current.referral, &authors, step) {
        return Ok(refused);
    }
    let id = step.referral;
    let at = step.note.at;
    tx.prepare_cached(
        "UPDATE referral SET status = ?2, status_changed_at = ?3,
             approved_by = CASE WHEN ?2 = 'approved' THEN ?4 ELSE approved_by END,
             approved_at = CASE WHEN ?2 = 'approved' THEN ?3 ELSE approved_at END,
             recipient_reference = coalesce(?5, recipient_reference)
         WHERE id = ?1",
    )?
    .execute(params![id, step.status.as_str(), at, step.note.changed_by, step.recipient_reference])?;
    record_event(tx, id, ReferralEventKind::of_status(step.status), &step.note)?;
    let (mut accounts, mut sites_changed) = (Vec::new(), Vec::new());
    // A record named by two items is still one request to the recipient.
    for item in &current.items {
        match &item.entity {
            ReferralEntity::Account(account) if accounts.contains(&account.id) => {}
            ReferralEntity::Site(site) if sites_changed.contains(&site.id) => {}
            ReferralEntity::Account(account) => {
                if let Some(change) = account_effect(&current.referral, step, account) {
                    tracking::change_status(tx, &change)?;
                    accounts.push(account.id);
                }
            }
            ReferralEntity::Site(site) => {
                if let Some(change) = site_effect(&current.referral, step, site) {
                    let note = ChangeNote { note: Some(format!("referral {id}")), ..step.note.clone() };
                    sites::change(tx, &SiteSelector::Id(site.id), &change, &note)?;
                    sites_changed.push(site.id);
                }
            }
            ReferralEntity::Indicator(_) | ReferralEntity::Excerpt(_) => {}
        }
    }
    super::access::append_audit(tx, referral_entries::step(step, &accounts, &sites_changed))?;
    Ok(ReferralOutcome::Changed(view(tx, id)?.ok_or_else(|| missing(id))?))
}

/// The drafter and everyone who added items: none of them may approve.
fn authors(tx: &Transaction<'_>, id: ReferralId) -> Result<Vec<String>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT drafted_by FROM referral WHERE id = ?1
             UNION SELECT added_by FROM referral_item WHERE referral_id = ?1",
        )?
        .query_map(params![id], |row| row.get(0))?
        .collect::<Result<_, _>>()?)
}

fn missing(id: ReferralId) -> StoreError {
    StoreError::Worker(format!("referral {id} vanished within its transaction"))
}

const REFERRAL_COLUMNS: &str =
    "r.id, r.recipient, r.recipient_kind, r.reason, r.categories, r.priority, r.tlp, r.status,
    r.status_changed_at, r.drafted_by, r.drafted_at, r.approved_by, r.approved_at, r.recipient_reference,
    r.opened_by_document, (SELECT count(*) FROM referral_item i WHERE i.referral_id = r.id)";

fn referral_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReferralRecord> {
    let text = |index: usize| -> rusqlite::Result<String> { row.get(index) };
    let (kind, priority, tlp, status) = (text(2)?, text(5)?, text(6)?, text(7)?);
    Ok(ReferralRecord {
        id: row.get(0)?,
        recipient: row.get(1)?,
        recipient_kind: RecipientKind::from_name(&kind).unwrap_or(RecipientKind::Platform),
        reason: row.get(3)?,
        categories: decode_categories(&text(4)?),
        priority: ReferralPriority::from_name(&priority).unwrap_or(ReferralPriority::Routine),
        // Unknown markings read as the strictest: a record is never shared
        // more widely than it was marked.
        tlp: Tlp::from_name(&tlp).unwrap_or(Tlp::Red),
        status: ReferralStatus::from_name(&status).unwrap_or(ReferralStatus::Draft),
        status_changed_at: row.get(8)?,
        drafted_by: row.get(9)?,
        drafted_at: row.get(10)?,
        approved_by: row.get(11)?,
        approved_at: row.get(12)?,
        recipient_reference: row.get(13)?,
        opened_by_document: row.get(14)?,
        item_count: row.get(15)?,
    })
}

pub(crate) fn record(tx: &Transaction<'_>, id: ReferralId) -> Result<Option<ReferralRecord>, StoreError> {
    Ok(tx
        .prepare_cached(&format!("SELECT {REFERRAL_COLUMNS} FROM referral r WHERE r.id = ?1"))?
        .query_row(params![id], referral_from_row)
        .optional()?)
}

pub(crate) fn view(tx: &Transaction<'_>, id: ReferralId) -> Result<Option<ReferralView>, StoreError> {
    let Some(referral) = record(tx, id)? else { return Ok(None) };
    type ItemRow = (i64, Option<String>, String, i64, [Option<i64>; 6], Option<String>);
    let rows: Vec<ItemRow> = tx
        .prepare_cached(
            "SELECT id, tlp, added_by, added_at, account_id, site_id, indicator_id, document_id, span_start, span_end,
                    excerpt
             FROM referral_item WHERE referral_id = ?1 ORDER BY id",
        )?
        .query_map(params![id], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                [row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?, row.get(9)?],
                row.get(10)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut items = Vec::with_capacity(rows.len());
    for (item_id, tlp, added_by, added_at, [account, site, indicator, document, start, end], excerpt) in rows {
        let entity = match (account, site, indicator, document) {
            (Some(account), _, _, _) => ReferralEntity::Account(account_record(tx, account)?),
            (_, Some(site), _, _) => ReferralEntity::Site(
                sites::site_record(tx, site)?.ok_or_else(|| StoreError::Worker(format!("site {site} vanished")))?,
            ),
            (_, _, Some(indicator), _) => ReferralEntity::Indicator(indicator_record(tx, indicator)?),
            (_, _, _, Some(document)) => {
                let span = start.zip(end).map(|(start, end)| Span { start: start as usize, end: end as usize });
                ReferralEntity::Excerpt(Box::new(excerpt_of(tx, document, span, excerpt.unwrap_or_default())?))
            }
            _ => return Err(StoreError::Worker(format!("referral item {item_id} names nothing"))),
        };
        let tlp = tlp.as_deref().and_then(Tlp::from_name).map_or(referral.tlp, |own| own.stricter(referral.tlp));
        items.push(ReferralItem { id: item_id, tlp, added_by, added_at, entity });
    }
    let events = tx
        .prepare_cached("SELECT id, kind, at, changed_by, note FROM referral_event WHERE referral_id = ?1 ORDER BY id")?
        .query_map(params![id], |row| {
            let kind: String = row.get(1)?;
            Ok(ReferralEvent {
                id: row.get(0)?,
                kind: ReferralEventKind::from_name(&kind).unwrap_or(ReferralEventKind::Drafted),
                at: row.get(2)?,
                by: row.get(3)?,
                note: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(ReferralView { referral, items, events }))
}

fn indicator_record(tx: &Transaction<'_>, id: i64) -> Result<IndicatorRecord, StoreError> {
    let (kind, value, first_seen, last_seen, count): (String, String, i64, i64, i64) = tx
        .prepare_cached("SELECT kind, value, first_seen, last_seen, sighting_count FROM indicator WHERE id = ?1")?
        .query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?;
    let kind = IndicatorKind::from_name(&kind)
        .ok_or_else(|| StoreError::Worker(format!("indicator {id} has an unknown kind {kind:?}")))?;
    Ok(IndicatorRecord { kind, value, first_seen, last_seen, sighting_count: count as u64 })
}

fn excerpt_of(
    tx: &Transaction<'_>,
    id: DocumentId,
    span: Option<Span>,
    text: String,
) -> Result<ReferralExcerpt, StoreError> {
    let (document, document_text, author): (DocumentSummary, String, Option<AccountId>) = tx
        .prepare_cached(&format!(
            "SELECT {DOCUMENT_COLUMNS}, d.text, d.author_account_id FROM document d WHERE d.id = ?1"
        ))?
        .query_row(params![id], |row| Ok((document_summary(row)?, row.get(11)?, row.get(12)?)))?;
    let author = author.map(|author| account_record(tx, author)).transpose()?;
    let sightings: Vec<(String, String, Option<i64>, Option<i64>)> = tx
        .prepare_cached(
            "SELECT i.kind, i.value, s.span_start, s.span_end FROM sighting s JOIN indicator i ON i.id = s.indicator_id
             WHERE s.document_id = ?1 ORDER BY s.span_start, i.id",
        )?
        .query_map(params![id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let indicators = within_span(sightings, span);
    Ok(ReferralExcerpt { text_sha256: sha256_hex(&text), document, author, span, text, document_text, indicators })
}

pub(crate) fn list(tx: &Transaction<'_>, filter: &ReferralFilter) -> Result<Vec<ReferralRecord>, StoreError> {
    // At most six statuses: a fixed statement with the unused slots empty.
    let slot = |i: usize| filter.statuses.get(i).map(|status| status.as_str());
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM referral r
             WHERE r.id < ?1 AND (?2 IS NULL OR r.status IN (?2, ?3, ?4, ?5, ?6, ?7))
               AND (?8 IS NULL OR r.priority = ?8)
             ORDER BY r.id DESC LIMIT ?9"
        ))?
        .query_map(
            params![
                filter.before.unwrap_or(i64::MAX),
                slot(0),
                slot(1),
                slot(2),
                slot(3),
                slot(4),
                slot(5),
                filter.priority.map(ReferralPriority::as_str),
                filter.limit as i64
            ],
            referral_from_row,
        )?
        .collect::<Result<_, _>>()?)
}

/// Opens the urgent lane's draft for a document just stored, with its
/// alert; `None` when the document has no `threat` category.
pub(crate) fn open_urgent(
    tx: &Transaction<'_>,
    lane: &UrgentReferral,
    document_id: DocumentId,
    document: &NewDocument,
    author: Option<AccountId>,
    at: UnixSeconds,
) -> Result<Option<AlertId>, StoreError> {
    let Some(draft) = urgent_draft(lane, document_id, document, author, at) else { return Ok(None) };
    let ReferralOutcome::Changed(view) = create(tx, &draft, Some(document_id))? else {
        return Err(StoreError::Worker(format!("the urgent draft for document {document_id} was refused")));
    };
    let alert = tx
        .prepare_cached(
            "INSERT INTO alert (raised_at, kind, referral_id) VALUES (?1, 'urgent_referral', ?2) RETURNING id",
        )?
        .query_row(params![at, view.referral.id], |row| row.get(0))?;
    Ok(Some(alert))
}
