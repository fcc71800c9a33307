//! Sites on PostgreSQL: domains and URLs hosting propaganda, their status and
//! takedown requests. Every change is a `site_event` in the same
//! transaction, as on SQLite (`sqlite/sites.rs`), whose answers these
//! functions repeat exactly.

use tokio_postgres::Row;

use super::Tx;
use super::sql_limit;
use crate::StoreError;
use crate::history::{site_kind_from_name, site_kind_name};
use crate::model::*;

/// The columns [`site_from_row`] reads, in its order.
const SITE_COLUMNS: &str = "id, kind, value, status, status_changed_at, first_seen, host_abuse_contact,
     registrar_abuse_contact, takedown_requests";

/// Applies `change` to the site `selector` names, creating it when a key
/// names a new one; `None` when an id names no site.
pub(crate) async fn change(
    tx: &Tx<'_>,
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
    let (id, first_seen) = match (resolve(tx, selector).await?, selector) {
        (Some(id), _) => (id, false),
        (None, SiteSelector::Id(_)) => return Ok(None),
        (None, SiteSelector::Key(key)) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO site (kind, value, status_changed_at, first_seen) VALUES ($1, $2, $3, $3)
                     ON CONFLICT (kind, value) DO NOTHING RETURNING id",
                )
                .await?;
            match tx.query_opt(&statement, &[&site_kind_name(key), &key.value, &note.at]).await? {
                Some(row) => {
                    let id: SiteId = row.get(0);
                    record_event(tx, id, &event(SiteEventKind::FirstSeen, None, None)).await?;
                    (id, true)
                }
                // Another replica created it since the look-up: it is its
                // first sighting, and this change applies to its row.
                None => match resolve(tx, selector).await? {
                    Some(id) => (id, false),
                    None => return Err(StoreError::Worker(format!("site {key:?} was neither found nor created"))),
                },
            }
        }
    };
    match change {
        SiteChange::Contacts { host_abuse_contact, registrar_abuse_contact } => {
            if host_abuse_contact.is_some() || registrar_abuse_contact.is_some() {
                let statement = tx
                    .prepare_cached(
                        "UPDATE site SET host_abuse_contact = coalesce($2, host_abuse_contact),
                             registrar_abuse_contact = coalesce($3, registrar_abuse_contact) WHERE id = $1",
                    )
                    .await?;
                tx.execute(&statement, &[&id, host_abuse_contact, registrar_abuse_contact]).await?;
                record_event(tx, id, &event(SiteEventKind::ContactsChanged, None, note.note.clone())).await?;
            }
        }
        SiteChange::Status(status) => {
            let statement =
                tx.prepare_cached("UPDATE site SET status = $2, status_changed_at = $3 WHERE id = $1").await?;
            tx.execute(&statement, &[&id, &status.as_str(), &note.at]).await?;
            record_event(tx, id, &event(SiteEventKind::StatusChanged, Some(*status), note.note.clone())).await?;
        }
        SiteChange::TakedownRequested { sent_to } => {
            let statement =
                tx.prepare_cached("UPDATE site SET takedown_requests = takedown_requests + 1 WHERE id = $1").await?;
            tx.execute(&statement, &[&id]).await?;
            let text = Some(format!("sent to {sent_to}"));
            record_event(tx, id, &event(SiteEventKind::TakedownRequested, None, text)).await?;
        }
    }
    let site = site_record(tx, id).await?.ok_or_else(|| StoreError::Worker(format!("site {id} vanished")))?;
    Ok(Some(SiteChanged { site, first_seen }))
}

pub(crate) async fn history(
    tx: &Tx<'_>,
    selector: &SiteSelector,
    max_events: usize,
) -> Result<Option<(SiteRecord, Vec<SiteEvent>)>, StoreError> {
    let Some(id) = resolve(tx, selector).await? else { return Ok(None) };
    let Some(site) = site_record(tx, id).await? else { return Ok(None) };
    let statement = tx
        .prepare_cached(
            "SELECT id, kind, at, changed_by, status, note FROM site_event WHERE site_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .await?;
    let events = tx
        .query(&statement, &[&id, &sql_limit(max_events)])
        .await?
        .iter()
        .map(|row| {
            let (kind, status): (String, Option<String>) = (row.get(1), row.get(4));
            SiteEvent {
                id: row.get(0),
                kind: SiteEventKind::from_name(&kind).unwrap_or(SiteEventKind::FirstSeen),
                at: row.get(2),
                changed_by: row.get(3),
                status: status.as_deref().and_then(SiteStatus::from_name),
                note: row.get(5),
            }
        })
        .collect();
    Ok(Some((site, events)))
}

pub(crate) async fn list(
    tx: &Tx<'_>,
    statuses: &[SiteStatus],
    after: Option<SiteId>,
    limit: usize,
) -> Result<Vec<SiteRecord>, StoreError> {
    // At most three statuses count, as on SQLite; none means all.
    let statuses: Vec<&str> = statuses.iter().take(3).map(|status| status.as_str()).collect();
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {SITE_COLUMNS} FROM site
             WHERE id > $1 AND (cardinality($2::text[]) = 0 OR status = ANY($2::text[])) ORDER BY id LIMIT $3"
        ))
        .await?;
    let rows = tx.query(&statement, &[&after.unwrap_or(0), &statuses, &sql_limit(limit)]).await?;
    Ok(rows.iter().map(site_from_row).collect())
}

pub(crate) async fn site_record(tx: &Tx<'_>, id: SiteId) -> Result<Option<SiteRecord>, StoreError> {
    let statement = tx.prepare_cached(&format!("SELECT {SITE_COLUMNS} FROM site WHERE id = $1")).await?;
    Ok(tx.query_opt(&statement, &[&id]).await?.as_ref().map(site_from_row))
}

fn site_from_row(row: &Row) -> SiteRecord {
    let (kind, status): (String, String) = (row.get(1), row.get(3));
    SiteRecord {
        id: row.get(0),
        key: IndicatorKey { kind: site_kind_from_name(&kind), value: row.get(2) },
        status: SiteStatus::from_name(&status).unwrap_or(SiteStatus::Online),
        status_changed_at: row.get(4),
        first_seen: row.get(5),
        host_abuse_contact: row.get(6),
        registrar_abuse_contact: row.get(7),
        takedown_requests: u32::try_from(row.get::<_, i64>(8)).unwrap_or(u32::MAX),
    }
}

async fn resolve(tx: &Tx<'_>, selector: &SiteSelector) -> Result<Option<SiteId>, StoreError> {
    let row = match selector {
        SiteSelector::Id(id) => {
            let statement = tx.prepare_cached("SELECT id FROM site WHERE id = $1").await?;
            tx.query_opt(&statement, &[id]).await?
        }
        SiteSelector::Key(key) => {
            let statement = tx.prepare_cached("SELECT id FROM site WHERE kind = $1 AND value = $2").await?;
            tx.query_opt(&statement, &[&site_kind_name(key), &key.value]).await?
        }
    };
    Ok(row.map(|row| row.get(0)))
}

async fn record_event(tx: &Tx<'_>, site: SiteId, event: &SiteEvent) -> Result<(), StoreError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO site_event (site_id, kind, at, changed_by, status, note) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &site,
            &event.kind.as_str(),
            &event.at,
            &event.changed_by,
            &event.status.map(SiteStatus::as_str),
            &event.note,
        ],
    )
    .await?;
    Ok(())
}
