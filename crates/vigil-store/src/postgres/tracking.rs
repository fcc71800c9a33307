//! Tracking on PostgreSQL: account status and profiles, account history,
//! successor proposals and alerts. Every function runs inside the caller's
//! transaction, so a change and its history event are stored together.
//!
//! Each function answers exactly what its SQLite twin (`sqlite/tracking.rs`)
//! answers, in the same order; what both engines encode the same way lives
//! in `history.rs`.

use std::collections::{HashMap, HashSet};

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{ACCOUNT_COLUMNS, Tx, account_from_row, account_record, find_account, sql_limit, upsert_account};
use crate::history::{VIGIL, decode_evidence, decode_links, encode_evidence, encode_links, plain_event};
use crate::model::*;
use crate::{IndicatorKind, StoreError};

/// The advisory lock every vigil process takes at the start of a proposal
/// transaction and holds to its commit ("vigil\0" then 2; the migration
/// lock is 1). Alert ids come from a sequence, in the order transactions
/// insert; under this lock they are also committed in that order, so a
/// watcher that has seen alert N and resumes after it never misses a
/// smaller id committed later.
pub(crate) const ALERT_LOCK: i64 = 0x7669_6769_6c00_0002;

/// The columns [`event_from_row`] reads, in its order.
const EVENT_COLUMNS: &str = "id, account_id, kind, at, changed_by, status, reported_to, display_name, bio,
     avatar_sha256, links, related_account_id, note";

/// The columns [`successor_records`] reads, in its order, of `successor s`.
const SUCCESSOR_COLUMNS: &str =
    "s.id, s.account_id, s.predecessor_id, s.score, s.evidence, s.explanation, s.state, s.found_at, s.reviewed_by,
     s.reviewed_at";

async fn resolve(tx: &Tx<'_>, selector: &AccountSelector) -> Result<Option<AccountId>, StoreError> {
    match selector {
        AccountSelector::Id(id) => {
            let statement = tx.prepare_cached("SELECT id FROM account WHERE id = $1").await?;
            Ok(tx.query_opt(&statement, &[id]).await?.map(|row| row.get(0)))
        }
        AccountSelector::Key(key) => find_account(tx, key).await,
    }
}

async fn record_event(tx: &Tx<'_>, event: &AccountEvent) -> Result<i64, StoreError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO account_event (account_id, kind, at, changed_by, status, reported_to,
                 display_name, bio, avatar_sha256, links, related_account_id, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .await?;
    let snapshot = event.snapshot.as_ref();
    let row = tx
        .query_one(
            &statement,
            &[
                &event.account_id,
                &event.kind.as_str(),
                &event.at,
                &event.changed_by,
                &event.status.map(AccountStatus::as_str),
                &event.reported_to,
                &snapshot.and_then(|s| s.display_name.as_deref()),
                &snapshot.and_then(|s| s.bio.as_deref()),
                &snapshot.and_then(|s| s.avatar_sha256.as_deref()),
                &snapshot.map(|s| encode_links(&s.links)),
                &event.related_account_id,
                &event.note,
            ],
        )
        .await?;
    Ok(row.get(0))
}

pub(crate) async fn change_status(
    tx: &Tx<'_>,
    change: &StatusChange,
) -> Result<Option<(AccountRecord, AccountEvent)>, StoreError> {
    let Some(id) = resolve(tx, &change.account).await? else { return Ok(None) };
    let statement = tx.prepare_cached("UPDATE account SET status = $2, status_changed_at = $3 WHERE id = $1").await?;
    tx.execute(&statement, &[&id, &change.status.as_str(), &change.at]).await?;
    let mut event = AccountEvent {
        status: Some(change.status),
        reported_to: change.reported_to.clone(),
        note: change.note.clone(),
        ..plain_event(id, AccountEventKind::StatusChanged, change.at, &change.changed_by)
    };
    event.id = record_event(tx, &event).await?;
    Ok(Some((account_record(tx, id).await?, event)))
}

pub(crate) async fn record_snapshot(tx: &Tx<'_>, snapshot: &NewProfileSnapshot) -> Result<SnapshotStored, StoreError> {
    let mut first_seen = Vec::new();
    // Finding or creating the account locks its row until commit, so two
    // snapshots of one account are applied one after the other, whole.
    let id = upsert_account(tx, &snapshot.account, snapshot.observed_at, &mut first_seen).await?;
    let profile = &snapshot.snapshot;
    let statement =
        tx.prepare_cached("UPDATE account SET display_name = $2, bio = $3, avatar_sha256 = $4 WHERE id = $1").await?;
    tx.execute(&statement, &[&id, &profile.display_name, &profile.bio, &profile.avatar_sha256]).await?;
    let statement = tx.prepare_cached("DELETE FROM account_link WHERE account_id = $1").await?;
    tx.execute(&statement, &[&id]).await?;
    if !profile.links.is_empty() {
        let statement = tx
            .prepare_cached(
                "INSERT INTO account_link (account_id, kind, value)
                 SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT DO NOTHING",
            )
            .await?;
        let kinds: Vec<&str> = profile.links.iter().map(|link| link.kind.as_str()).collect();
        let values: Vec<&str> = profile.links.iter().map(|link| link.value.as_str()).collect();
        tx.execute(&statement, &[&id, &kinds, &values]).await?;
    }
    let event = AccountEvent {
        snapshot: Some(profile.clone()),
        ..plain_event(id, AccountEventKind::ProfileSnapshot, snapshot.observed_at, &snapshot.changed_by)
    };
    record_event(tx, &event).await?;
    Ok(SnapshotStored { account: account_record(tx, id).await?, first_seen: !first_seen.is_empty() })
}

pub(crate) async fn history(
    tx: &Tx<'_>,
    selector: &AccountSelector,
    max_events: usize,
) -> Result<Option<AccountHistory>, StoreError> {
    let Some(id) = resolve(tx, selector).await? else { return Ok(None) };
    let events = events(tx, &[id], max_events).await?;
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {SUCCESSOR_COLUMNS} FROM successor s WHERE s.predecessor_id = $1 ORDER BY s.score DESC, s.id"
        ))
        .await?;
    let successors = successor_records(tx, &tx.query(&statement, &[&id]).await?).await?;
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {SUCCESSOR_COLUMNS} FROM successor s WHERE s.account_id = $1 ORDER BY s.score DESC, s.id"
        ))
        .await?;
    let predecessors = successor_records(tx, &tx.query(&statement, &[&id]).await?).await?;
    Ok(Some(AccountHistory { account: account_record(tx, id).await?, events, successors, predecessors }))
}

/// The newest `max_events` events of each account of `ids`, newest first,
/// accounts in the order given: one account's history, or what an actor's
/// timeline gathers from its accounts.
pub(crate) async fn events(tx: &Tx<'_>, ids: &[AccountId], max_events: usize) -> Result<Vec<AccountEvent>, StoreError> {
    let rows = match ids {
        [] => return Ok(Vec::new()),
        [id] => {
            let statement = tx
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM account_event WHERE account_id = $1 ORDER BY id DESC LIMIT $2"
                ))
                .await?;
            tx.query(&statement, &[id, &sql_limit(max_events)]).await?
        }
        _ => {
            let statement = tx
                .prepare_cached(&format!(
                    "SELECT e.* FROM unnest($1::int8[]) WITH ORDINALITY AS k (id, position)
                     CROSS JOIN LATERAL (
                         SELECT {EVENT_COLUMNS} FROM account_event WHERE account_id = k.id ORDER BY id DESC LIMIT $2
                     ) e
                     ORDER BY k.position, e.id DESC"
                ))
                .await?;
            tx.query(&statement, &[&ids, &sql_limit(max_events)]).await?
        }
    };
    Ok(rows.iter().map(event_from_row).collect())
}

/// An event from the columns of [`EVENT_COLUMNS`], in order.
fn event_from_row(row: &Row) -> AccountEvent {
    let kind: String = row.get(2);
    let status: Option<String> = row.get(5);
    let links: Option<String> = row.get(10);
    AccountEvent {
        id: row.get(0),
        account_id: row.get(1),
        kind: AccountEventKind::from_name(&kind).unwrap_or(AccountEventKind::FirstSeen),
        at: row.get(3),
        changed_by: row.get(4),
        status: status.as_deref().and_then(AccountStatus::from_name),
        reported_to: row.get(6),
        snapshot: links.map(|links| ProfileSnapshot {
            display_name: row.get(7),
            bio: row.get(8),
            avatar_sha256: row.get(9),
            links: decode_links(&links),
        }),
        related_account_id: row.get(11),
        note: row.get(12),
    }
}

fn missing(what: &str, id: i64) -> StoreError {
    StoreError::Worker(format!("{what} {id} vanished inside a transaction"))
}

async fn successor_record(tx: &Tx<'_>, id: SuccessorId) -> Result<Option<SuccessorRecord>, StoreError> {
    let statement = tx.prepare_cached(&format!("SELECT {SUCCESSOR_COLUMNS} FROM successor s WHERE s.id = $1")).await?;
    let Some(row) = tx.query_opt(&statement, &[&id]).await? else { return Ok(None) };
    Ok(successor_records(tx, &[row]).await?.pop())
}

/// The successors of `rows` (each starting with [`SUCCESSOR_COLUMNS`]), in
/// order, with their accounts read in one query.
async fn successor_records(tx: &Tx<'_>, rows: &[Row]) -> Result<Vec<SuccessorRecord>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<AccountId> = rows.iter().flat_map(|row| [row.get(1), row.get(2)]).collect();
    ids.sort_unstable();
    ids.dedup();
    let accounts = accounts_by_id(tx, &ids).await?;
    let account = |id: AccountId| accounts.get(&id).cloned().ok_or_else(|| missing("account", id));
    rows.iter()
        .map(|row| {
            let state: String = row.get(6);
            let evidence: String = row.get(4);
            Ok(SuccessorRecord {
                id: row.get(0),
                account: account(row.get(1))?,
                predecessor: account(row.get(2))?,
                score: row.get(3),
                evidence: decode_evidence(&evidence),
                explanation: row.get(5),
                state: SuccessorState::from_name(&state).unwrap_or(SuccessorState::Pending),
                found_at: row.get(7),
                reviewed_by: row.get(8),
                reviewed_at: row.get(9),
            })
        })
        .collect()
}

async fn accounts_by_id(tx: &Tx<'_>, ids: &[AccountId]) -> Result<HashMap<AccountId, AccountRecord>, StoreError> {
    let statement =
        tx.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM account a WHERE a.id = ANY($1::int8[])")).await?;
    Ok(tx.query(&statement, &[&ids]).await?.iter().map(account_from_row).map(|account| (account.id, account)).collect())
}

pub(crate) async fn list(tx: &Tx<'_>, filter: &AccountFilter) -> Result<Vec<AccountRecord>, StoreError> {
    // One statement per combination of filters (eight at most, each cached),
    // so that each gets its own plan: by status, by actor or by id.
    let after = filter.after.unwrap_or(0);
    let statuses: Vec<&str> = filter.statuses.iter().map(|status| status.as_str()).collect();
    let limit = sql_limit(filter.limit);
    let mut conditions = vec!["a.id > $1::int8".to_owned()];
    let mut parameters: Vec<&(dyn ToSql + Sync)> = vec![&after];
    if !statuses.is_empty() {
        parameters.push(&statuses);
        conditions.push(format!("a.status = ANY(${}::text[])", parameters.len()));
    }
    if let Some(platform) = &filter.platform {
        parameters.push(platform);
        conditions.push(format!("a.platform = ${}::text", parameters.len()));
    }
    if let Some(actor) = &filter.actor {
        parameters.push(actor);
        conditions.push(format!("a.actor_id = ${}::int8", parameters.len()));
    }
    parameters.push(&limit);
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM account a WHERE {} ORDER BY a.id LIMIT ${}::int8",
        conditions.join(" AND "),
        parameters.len()
    );
    let statement = tx.prepare_cached(&sql).await?;
    Ok(tx.query(&statement, &parameters).await?.iter().map(account_from_row).collect())
}

/// Accounts with their links and what they posted since `posted_since`
/// (at most `max_posted` indicators each, newest first); every account
/// when `ids` is `None`. Three queries, whatever the number of accounts:
/// start-up reads every account this way.
pub(crate) async fn tracked(
    tx: &Tx<'_>,
    ids: Option<&[AccountId]>,
    posted_since: UnixSeconds,
    max_posted: usize,
) -> Result<Vec<TrackedAccount>, StoreError> {
    let records: Vec<AccountRecord> = match ids {
        None => {
            let statement =
                tx.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM account a ORDER BY a.id")).await?;
            tx.query(&statement, &[]).await?.iter().map(account_from_row).collect()
        }
        Some(ids) => {
            let statement = tx
                .prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM unnest($1::int8[]) WITH ORDINALITY AS k (id, position)
                     JOIN account a ON a.id = k.id ORDER BY k.position"
                ))
                .await?;
            let records: Vec<AccountRecord> =
                tx.query(&statement, &[&ids]).await?.iter().map(account_from_row).collect();
            // An unknown id is an error, as on SQLite.
            if records.len() != ids.len() {
                let found: HashSet<AccountId> = records.iter().map(|record| record.id).collect();
                let id = ids.iter().find(|id| !found.contains(id)).copied().unwrap_or_default();
                return Err(StoreError::Worker(format!("account {id} is not stored")));
            }
            records
        }
    };
    let mut distinct: Vec<AccountId> = records.iter().map(|record| record.id).collect();
    distinct.sort_unstable();
    distinct.dedup();

    // What account_link's primary key orders on SQLite: bytes, not the
    // database's collation.
    let statement = tx
        .prepare_cached(
            "SELECT account_id, kind, value FROM account_link WHERE account_id = ANY($1::int8[])
             ORDER BY account_id, kind COLLATE \"C\", value COLLATE \"C\"",
        )
        .await?;
    let mut links: HashMap<AccountId, Vec<IndicatorKey>> = HashMap::new();
    for row in tx.query(&statement, &[&distinct]).await? {
        if let Some(key) = indicator_key(row.get(1), row.get(2)) {
            links.entry(row.get(0)).or_default().push(key);
        }
    }

    // SQLite sorts on time alone and leaves ties in the order it reads the
    // rows: documents by id, then their sightings by indicator id (the
    // keys of its indexes on document_account and sighting). Spelled out
    // here, so that the limit keeps the same rows and the order is the same.
    let statement = tx
        .prepare_cached(
            "SELECT k.id, p.kind, p.value, p.seen_at FROM unnest($1::int8[]) AS k (id)
             CROSS JOIN LATERAL (
                 SELECT i.kind, i.value, s.seen_at, s.document_id, s.indicator_id
                 FROM document_account da
                 JOIN sighting s ON s.document_id = da.document_id
                 JOIN indicator i ON i.id = s.indicator_id
                 WHERE da.account_id = k.id AND da.role = 'author' AND s.seen_at >= $2
                 ORDER BY s.seen_at DESC, s.document_id, s.indicator_id
                 LIMIT $3
             ) p
             ORDER BY k.id, p.seen_at DESC, p.document_id, p.indicator_id",
        )
        .await?;
    let mut posted: HashMap<AccountId, Vec<(IndicatorKey, UnixSeconds)>> = HashMap::new();
    for row in tx.query(&statement, &[&distinct, &posted_since, &sql_limit(max_posted)]).await? {
        // Unknown kinds are dropped after the limit, as on SQLite.
        if let Some(key) = indicator_key(row.get(1), row.get(2)) {
            posted.entry(row.get(0)).or_default().push((key, row.get(3)));
        }
    }

    Ok(records
        .into_iter()
        .map(|record| TrackedAccount {
            links: links.get(&record.id).cloned().unwrap_or_default(),
            posted: posted.get(&record.id).cloned().unwrap_or_default(),
            record,
        })
        .collect())
}

fn indicator_key(kind: String, value: String) -> Option<IndicatorKey> {
    IndicatorKind::from_name(&kind).map(|kind| IndicatorKey { kind, value })
}

/// Every pair ever proposed, whatever became of it.
pub(crate) async fn proposed_pairs(tx: &Tx<'_>) -> Result<Vec<(AccountId, AccountId)>, StoreError> {
    // In the order SQLite reads them: its unique index on (account,
    // predecessor) covers the query.
    let statement = tx
        .prepare_cached("SELECT predecessor_id, account_id FROM successor ORDER BY account_id, predecessor_id")
        .await?;
    Ok(tx.query(&statement, &[]).await?.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Stores each proposal not made before, with an event on both accounts and
/// an alert; returns the alerts raised.
pub(crate) async fn propose(tx: &Tx<'_>, proposals: &[NewSuccessor]) -> Result<Vec<AlertRecord>, StoreError> {
    if proposals.is_empty() {
        return Ok(Vec::new());
    }
    // Taken first, before any row lock, so that two replicas proposing the
    // same pair queue here rather than deadlock; see ALERT_LOCK.
    let statement = tx.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    tx.execute(&statement, &[&ALERT_LOCK]).await?;
    // Found before inserting: an insert that conflicts would still take an
    // id from the sequence, and ids would no longer match SQLite's.
    let find = tx.prepare_cached("SELECT id FROM successor WHERE account_id = $1 AND predecessor_id = $2").await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO successor (account_id, predecessor_id, score, evidence, explanation, state, found_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6)
             ON CONFLICT (account_id, predecessor_id) DO NOTHING RETURNING id",
        )
        .await?;
    let raise = tx
        .prepare_cached("INSERT INTO alert (raised_at, kind, successor_id) VALUES ($1, 'successor', $2) RETURNING id")
        .await?;
    let mut alerts = Vec::new();
    for proposal in proposals {
        if tx.query_opt(&find, &[&proposal.account, &proposal.predecessor]).await?.is_some() {
            continue;
        }
        let inserted = tx
            .query_opt(
                &insert,
                &[
                    &proposal.account,
                    &proposal.predecessor,
                    &proposal.score,
                    &encode_evidence(&proposal.evidence),
                    &proposal.explanation,
                    &proposal.found_at,
                ],
            )
            .await?;
        let Some(row) = inserted else { continue };
        let id: SuccessorId = row.get(0);
        for (account, other) in [(proposal.account, proposal.predecessor), (proposal.predecessor, proposal.account)] {
            let event = AccountEvent {
                related_account_id: Some(other),
                note: Some(proposal.explanation.clone()),
                ..plain_event(account, AccountEventKind::SuccessorProposed, proposal.found_at, VIGIL)
            };
            record_event(tx, &event).await?;
        }
        let alert_id: AlertId = tx.query_one(&raise, &[&proposal.found_at, &id]).await?.get(0);
        let successor = successor_record(tx, id).await?.ok_or_else(|| missing("successor", id))?;
        alerts.push(AlertRecord {
            id: alert_id,
            raised_at: proposal.found_at,
            subject: AlertSubject::Successor(successor),
        });
    }
    Ok(alerts)
}

pub(crate) async fn review(tx: &Tx<'_>, review: &SuccessorReview) -> Result<ReviewOutcome, StoreError> {
    // Locked first: of two analysts deciding at once, the second waits and
    // then finds the decision taken.
    let statement = tx.prepare_cached("SELECT id FROM successor WHERE id = $1 FOR NO KEY UPDATE").await?;
    if tx.query_opt(&statement, &[&review.successor]).await?.is_none() {
        return Ok(ReviewOutcome::NotFound);
    }
    let current =
        successor_record(tx, review.successor).await?.ok_or_else(|| missing("successor", review.successor))?;
    if current.state != SuccessorState::Pending {
        return Ok(ReviewOutcome::AlreadyReviewed(current));
    }
    let (state, kind) = if review.confirm {
        (SuccessorState::Confirmed, AccountEventKind::SuccessorConfirmed)
    } else {
        (SuccessorState::Rejected, AccountEventKind::SuccessorRejected)
    };
    let statement =
        tx.prepare_cached("UPDATE successor SET state = $2, reviewed_by = $3, reviewed_at = $4 WHERE id = $1").await?;
    tx.execute(&statement, &[&review.successor, &state.as_str(), &review.reviewed_by, &review.at]).await?;
    let (account, predecessor) = (current.account.id, current.predecessor.id);
    for (subject, other) in [(account, predecessor), (predecessor, account)] {
        let event = AccountEvent {
            related_account_id: Some(other),
            note: review.note.clone(),
            ..plain_event(subject, kind, review.at, &review.reviewed_by)
        };
        record_event(tx, &event).await?;
    }
    if review.confirm {
        let note = ChangeNote {
            changed_by: review.reviewed_by.clone(),
            note: Some(format!("successor of account {predecessor} confirmed")),
            at: review.at,
        };
        super::actors::follow_predecessor(tx, account, predecessor, &note).await?;
        let change = StatusChange {
            account: AccountSelector::Id(predecessor),
            status: AccountStatus::Reappeared,
            reported_to: None,
            at: review.at,
            changed_by: review.reviewed_by.clone(),
            note: Some(format!("successor account {account} confirmed")),
        };
        change_status(tx, &change).await?;
    }
    let reviewed =
        successor_record(tx, review.successor).await?.ok_or_else(|| missing("successor", review.successor))?;
    Ok(ReviewOutcome::Reviewed(reviewed))
}

pub(crate) async fn alerts_after(tx: &Tx<'_>, after: AlertId, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {SUCCESSOR_COLUMNS}, al.id, al.raised_at
             FROM alert al JOIN successor s ON s.id = al.successor_id
             WHERE al.id > $1 ORDER BY al.id LIMIT $2"
        ))
        .await?;
    let rows = tx.query(&statement, &[&after, &sql_limit(limit)]).await?;
    let successors = successor_records(tx, &rows).await?;
    let mut alerts: Vec<AlertRecord> = rows
        .iter()
        .zip(successors)
        .map(|(row, successor)| AlertRecord {
            id: row.get(10),
            raised_at: row.get(11),
            subject: AlertSubject::Successor(successor),
        })
        .collect();
    // The page ends where the page of successor alerts ends, so that a page
    // is `limit` alerts of any kind in id order.
    let until = if alerts.len() == limit { alerts.last().map_or(AlertId::MAX, |alert| alert.id) } else { AlertId::MAX };
    let statement = tx
        .prepare_cached(
            "SELECT id, raised_at, referral_id FROM alert
             WHERE kind = 'urgent_referral' AND id > $1 AND id <= $2 ORDER BY id LIMIT $3",
        )
        .await?;
    for row in tx.query(&statement, &[&after, &until, &sql_limit(limit)]).await? {
        let referral: i64 = row.get(2);
        let record =
            super::referrals::record(tx, referral, false).await?.ok_or_else(|| missing("referral", referral))?;
        alerts.push(AlertRecord {
            id: row.get(0),
            raised_at: row.get(1),
            subject: AlertSubject::UrgentReferral(record),
        });
    }
    alerts.sort_by_key(|alert| alert.id);
    alerts.truncate(limit);
    Ok(alerts)
}

pub(crate) async fn last_alert_id(tx: &Tx<'_>) -> Result<AlertId, StoreError> {
    let statement = tx.prepare_cached("SELECT coalesce(max(id), 0)::int8 FROM alert").await?;
    Ok(tx.query_one(&statement, &[]).await?.get(0))
}
