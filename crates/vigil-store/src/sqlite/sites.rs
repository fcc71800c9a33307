//! Sites on SQLite: domains and URLs hosting propaganda, their status and
//! takedown requests. Every change is a `site_event` in the same transaction.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::StoreError;
use crate::history::{site_kind_from_name, site_kind_name};
use crate::model::*;

pub(crate) fn site_record(tx: &Transaction<'_>, id: SiteId) -> Result<Option<SiteRecord>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT kind, value, status, status_changed_at, first_seen, host_abuse_contact, registrar_abuse_contact,
                    takedown_requests
             FROM site WHERE id = ?1",
        )?
        .query_row(params![id], |row| {
            let (kind, status): (String, String) = (row.get(0)?, row.get(2)?);
            Ok(SiteRecord {
                id,
                key: IndicatorKey { kind: site_kind_from_name(&kind), value: row.get(1)? },
                status: SiteStatus::from_name(&status).unwrap_or(SiteStatus::Online),
                status_changed_at: row.get(3)?,
                first_seen: row.get(4)?,
                host_abuse_contact: row.get(5)?,
                registrar_abuse_contact: row.get(6)?,
                takedown_requests: row.get(7)?,
            })
        })
        .optional()?)
}

fn resolve(tx: &Transaction<'_>, selector: &SiteSelector) -> Result<Option<SiteId>, StoreError> {
    Ok(match selector {
        SiteSelector::Id(id) => tx
            .prepare_cached("SELECT id FROM site WHERE id = ?1")?
            .query_row(params![id], |row| row.get(0))
            .optional()?,
        SiteSelector::Key(key) => tx
            .prepare_cached("SELECT id FROM site WHERE kind = ?1 AND value = ?2")?
            .query_row(params![site_kind_name(key), key.value], |row| row.get(0))
            .optional()?,
    })
}

fn record_event(tx: &Transaction<'_>, site: SiteId, event: &SiteEvent) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO site_event (site_id, kind, at, changed_by, status, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        site,
        event.kind.as_str(),
        event.at,
        event.changed_by,
        event.status.map(SiteStatus::as_str),
        event.note
    ])?;
    Ok(())
}

/// Applies `change` to the site `selector` names, creating it when a key
/// names a new one; `None` when an id names no site.
pub(crate) fn change(
    tx: &Transaction<'_>,
    selector: &SiteSelector,
    change: &SiteChange,
    note: &ChangeNote,
) -> Result<Option<SiteChanged>, StoreError> {
    let event = |kind, status, text: Option<String>| SiteEvent {
        id: 0,
        kind,
        at: note.at,
        changed_by: note.changed_by.clone(),
        status,
        note: text,
    };
    let (id, first_seen) = match (resolve(tx, selector)?, selector) {
        (Some(id), _) => (id, false),
        (None, SiteSelector::Id(_)) => return Ok(None),
        (None, SiteSelector::Key(key)) => {
            let id: SiteId = tx
                .prepare_cached(
                    "INSERT INTO site (kind, value, status_changed_at, first_seen) VALUES (?1, ?2, ?3, ?3) RETURNING id",
                )?
                .query_row(params![site_kind_name(key), key.value, note.at], |row| row.get(0))?;
            record_event(tx, id, &event(SiteEventKind::FirstSeen, None, None))?;
            (id, true)
        }
    };
    match change {
        SiteChange::Contacts { host_abuse_contact, registrar_abuse_contact } => {
            if host_abuse_contact.is_some() || registrar_abuse_contact.is_some() {
                tx.prepare_cached(
                    "UPDATE site SET host_abuse_contact = coalesce(?2, host_abuse_contact),
                         registrar_abuse_contact = coalesce(?3, registrar_abuse_contact) WHERE id = ?1",
                )?
                .execute(params![id, host_abuse_contact, registrar_abuse_contact])?;
                record_event(tx, id, &event(SiteEventKind::ContactsChanged, None, note.note.clone()))?;
            }
        }
        SiteChange::Status(status) => {
            tx.prepare_cached("UPDATE site SET status = ?2, status_changed_at = ?3 WHERE id = ?1")?
                .execute(params![id, status.as_str(), note.at])?;
            record_event(tx, id, &event(SiteEventKind::StatusChanged, Some(*status), note.note.clone()))?;
        }
        SiteChange::TakedownRequested { sent_to } => {
            tx.prepare_cached("UPDATE site SET takedown_requests = takedown_requests + 1 WHERE id = ?1")?
                .execute(params![id])?;
            record_event(tx, id, &event(SiteEventKind::TakedownRequested, None, Some(format!("sent to {sent_to}"))))?;
        }
    }
    let site = site_record(tx, id)?.ok_or_else(|| StoreError::Worker(format!("site {id} vanished")))?;
    Ok(Some(SiteChanged { site, first_seen }))
}

pub(crate) fn history(
    tx: &Transaction<'_>,
    selector: &SiteSelector,
    max_events: usize,
) -> Result<Option<(SiteRecord, Vec<SiteEvent>)>, StoreError> {
    let Some(id) = resolve(tx, selector)? else { return Ok(None) };
    let Some(site) = site_record(tx, id)? else { return Ok(None) };
    let events = tx
        .prepare_cached(
            "SELECT id, kind, at, changed_by, status, note FROM site_event WHERE site_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![id, max_events as i64], |row| {
            let (kind, status): (String, Option<String>) = (row.get(1)?, row.get(4)?);
            Ok(SiteEvent {
                id: row.get(0)?,
                kind: SiteEventKind::from_name(&kind).unwrap_or(SiteEventKind::FirstSeen),
                at: row.get(2)?,
                changed_by: row.get(3)?,
                status: status.as_deref().and_then(SiteStatus::from_name),
                note: row.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some((site, events)))
}

pub(crate) fn list(
    tx: &Transaction<'_>,
    statuses: &[SiteStatus],
    after: Option<SiteId>,
    limit: usize,
) -> Result<Vec<SiteRecord>, StoreError> {
    // At most three statuses: a fixed statement with the unused slots empty.
    let slot = |i: usize| statuses.get(i).map(|status| status.as_str());
    let ids: Vec<SiteId> = tx
        .prepare_cached(
            "SELECT id FROM site WHERE id > ?1 AND (?2 IS NULL OR status IN (?2, ?3, ?4)) ORDER BY id LIMIT ?5",
        )?
        .query_map(params![after.unwrap_or(0), slot(0), slot(1), slot(2), limit as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter()
        .map(|id| site_record(tx, id)?.ok_or_else(|| StoreError::Worker(format!("site {id} vanished"))))
        .collect()
}
