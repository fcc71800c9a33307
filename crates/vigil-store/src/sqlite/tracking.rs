//! Tracking on SQLite: account status and profiles, account history,
//! successor proposals and alerts. Every function runs inside the caller's
//! transaction, so a change and its history event are stored together.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

use super::{account_record, find_account, upsert_account};
use crate::history::{VIGIL, decode_evidence, decode_links, encode_evidence, encode_links, plain_event};
use crate::model::*;
use crate::{IndicatorKind, StoreError};

pub(crate) fn resolve(tx: &Transaction<'_>, selector: &AccountSelector) -> Result<Option<AccountId>, StoreError> {
    match selector {
        AccountSelector::Id(id) => Ok(tx
            .prepare_cached("SELECT id FROM account WHERE id = ?1")?
            .query_row(params![id], |row| row.get(0))
            .optional()?),
        AccountSelector::Key(key) => find_account(tx, key),
    }
}

pub(crate) fn record_event(tx: &Transaction<'_>, event: &AccountEvent) -> Result<i64, StoreError> {
    let snapshot = event.snapshot.as_ref();
    Ok(tx
        .prepare_cached(
            "INSERT INTO account_event (account_id, kind, at, changed_by, status, reported_to,
                 display_name, bio, avatar_sha256, links, related_account_id, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
        )?
        .query_row(
            params![
                event.account_id,
                event.kind.as_str(),
                event.at,
                event.changed_by,
                event.status.map(AccountStatus::as_str),
                event.reported_to,
                snapshot.and_then(|s| s.display_name.as_deref()),
                snapshot.and_then(|s| s.bio.as_deref()),
                snapshot.and_then(|s| s.avatar_sha256.as_deref()),
                snapshot.map(|s| encode_links(&s.links)),
                event.related_account_id,
                event.note,
            ],
            |row| row.get(0),
        )?)
}

pub(crate) fn change_status(
    tx: &Transaction<'_>,
    change: &StatusChange,
) -> Result<Option<(AccountRecord, AccountEvent)>, StoreError> {
    let Some(id) = resolve(tx, &change.account)? else { return Ok(None) };
    tx.prepare_cached("UPDATE account SET status = ?2, status_changed_at = ?3 WHERE id = ?1")?.execute(params![
        id,
        change.status.as_str(),
        change.at
    ])?;
    let mut event = AccountEvent {
        status: Some(change.status),
        reported_to: change.reported_to.clone(),
        note: change.note.clone(),
        ..plain_event(id, AccountEventKind::StatusChanged, change.at, &change.changed_by)
    };
    event.id = record_event(tx, &event)?;
    Ok(Some((account_record(tx, id)?, event)))
}

pub(crate) fn record_snapshot(
    tx: &Transaction<'_>,
    snapshot: &NewProfileSnapshot,
) -> Result<(SnapshotStored, Vec<AccountId>), StoreError> {
    let mut first_seen = Vec::new();
    let id = upsert_account(tx, &snapshot.account, snapshot.observed_at, &mut first_seen)?;
    let profile = &snapshot.snapshot;
    tx.prepare_cached("UPDATE account SET display_name = ?2, bio = ?3, avatar_sha256 = ?4 WHERE id = ?1")?
        .execute(params![id, profile.display_name, profile.bio, profile.avatar_sha256])?;
    tx.prepare_cached("DELETE FROM account_link WHERE account_id = ?1")?.execute(params![id])?;
    let mut link =
        tx.prepare_cached("INSERT OR IGNORE INTO account_link (account_id, kind, value) VALUES (?1, ?2, ?3)")?;
    for key in &profile.links {
        link.execute(params![id, key.kind.as_str(), key.value])?;
    }
    let event = AccountEvent {
        snapshot: Some(profile.clone()),
        ..plain_event(id, AccountEventKind::ProfileSnapshot, snapshot.observed_at, &snapshot.changed_by)
    };
    record_event(tx, &event)?;
    let stored = SnapshotStored { account: account_record(tx, id)?, first_seen: !first_seen.is_empty() };
    Ok((stored, first_seen))
}

pub(crate) fn history(
    tx: &Transaction<'_>,
    selector: &AccountSelector,
    max_events: usize,
) -> Result<Option<AccountHistory>, StoreError> {
    let Some(id) = resolve(tx, selector)? else { return Ok(None) };
    let events = events(tx, id, max_events)?;
    let successors = successors_where(tx, "predecessor_id = ?1", id)?;
    let predecessors = successors_where(tx, "account_id = ?1", id)?;
    Ok(Some(AccountHistory { account: account_record(tx, id)?, events, successors, predecessors }))
}

/// An account's newest `max_events` events, newest first.
pub(crate) fn events(tx: &Transaction<'_>, id: AccountId, max_events: usize) -> Result<Vec<AccountEvent>, StoreError> {
    let mut statement = tx.prepare_cached(
        "SELECT id, account_id, kind, at, changed_by, status, reported_to, display_name, bio, avatar_sha256, links,
                related_account_id, note
         FROM account_event WHERE account_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let events = statement
        .query_map(params![id, max_events as i64], |row| {
            let kind: String = row.get(2)?;
            let status: Option<String> = row.get(5)?;
            let (display_name, bio, avatar_sha256, links): (
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
            ) = (row.get(7)?, row.get(8)?, row.get(9)?, row.get(10)?);
            Ok(AccountEvent {
                id: row.get(0)?,
                account_id: row.get(1)?,
                kind: AccountEventKind::from_name(&kind).unwrap_or(AccountEventKind::FirstSeen),
                at: row.get(3)?,
                changed_by: row.get(4)?,
                status: status.as_deref().and_then(AccountStatus::from_name),
                reported_to: row.get(6)?,
                snapshot: links.map(|links| ProfileSnapshot {
                    display_name,
                    bio,
                    avatar_sha256,
                    links: decode_links(&links),
                }),
                related_account_id: row.get(11)?,
                note: row.get(12)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(events)
}

fn successors_where(tx: &Transaction<'_>, condition: &str, id: i64) -> Result<Vec<SuccessorRecord>, StoreError> {
    let ids: Vec<SuccessorId> = tx
        .prepare_cached(&format!("SELECT id FROM successor WHERE {condition} ORDER BY score DESC, id"))?
        .query_map(params![id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| successor_record(tx, id)?.ok_or_else(|| missing("successor", id))).collect()
}

fn missing(what: &str, id: i64) -> StoreError {
    StoreError::Worker(format!("{what} {id} vanished inside a transaction"))
}

pub(crate) fn successor_record(tx: &Transaction<'_>, id: SuccessorId) -> Result<Option<SuccessorRecord>, StoreError> {
    let row = tx
        .prepare_cached(
            "SELECT account_id, predecessor_id, score, evidence, explanation, state, found_at, reviewed_by, reviewed_at
             FROM successor WHERE id = ?1",
        )?
        .query_row(params![id], |row| {
            Ok((
                row.get::<_, AccountId>(0)?,
                row.get::<_, AccountId>(1)?,
                row.get::<_, f64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, UnixSeconds>(6)?,
                row.get::<_, Option<String>>(7)?,
                row.get::<_, Option<UnixSeconds>>(8)?,
            ))
        })
        .optional()?;
    let Some((account, predecessor, score, evidence, explanation, state, found_at, reviewed_by, reviewed_at)) = row
    else {
        return Ok(None);
    };
    Ok(Some(SuccessorRecord {
        id,
        account: account_record(tx, account)?,
        predecessor: account_record(tx, predecessor)?,
        score,
        evidence: decode_evidence(&evidence),
        explanation,
        state: SuccessorState::from_name(&state).unwrap_or(SuccessorState::Pending),
        found_at,
        reviewed_by,
        reviewed_at,
    }))
}

pub(crate) fn list(tx: &Transaction<'_>, filter: &AccountFilter) -> Result<Vec<AccountRecord>, StoreError> {
    let mut conditions = vec!["id > ?1".to_owned()];
    let mut values = vec![Value::Integer(filter.after.unwrap_or(0))];
    if !filter.statuses.is_empty() {
        let placeholders: Vec<String> = filter
            .statuses
            .iter()
            .map(|status| {
                values.push(Value::Text(status.as_str().to_owned()));
                format!("?{}", values.len())
            })
            .collect();
        conditions.push(format!("status IN ({})", placeholders.join(", ")));
    }
    if let Some(platform) = &filter.platform {
        values.push(Value::Text(platform.clone()));
        conditions.push(format!("platform = ?{}", values.len()));
    }
    if let Some(actor) = filter.actor {
        values.push(Value::Integer(actor));
        conditions.push(format!("actor_id = ?{}", values.len()));
    }
    values.push(Value::Integer(filter.limit as i64));
    let sql = format!("SELECT id FROM account WHERE {} ORDER BY id LIMIT ?{}", conditions.join(" AND "), values.len());
    let ids: Vec<AccountId> =
        tx.prepare(&sql)?.query_map(params_from_iter(values), |row| row.get(0))?.collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| account_record(tx, id)).collect()
}

/// Accounts with their links and what they posted since `posted_since`
/// (at most `max_posted` indicators each, newest first); every account
/// when `ids` is `None`.
pub(crate) fn tracked(
    tx: &Transaction<'_>,
    ids: Option<&[AccountId]>,
    posted_since: UnixSeconds,
    max_posted: usize,
) -> Result<Vec<TrackedAccount>, StoreError> {
    let ids: Vec<AccountId> = match ids {
        Some(ids) => ids.to_vec(),
        None => tx
            .prepare("SELECT id FROM account ORDER BY id")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?,
    };
    let mut links = tx.prepare_cached("SELECT kind, value FROM account_link WHERE account_id = ?1")?;
    let mut posted = tx.prepare_cached(
        "SELECT i.kind, i.value, s.seen_at
         FROM document_account da
         JOIN sighting s ON s.document_id = da.document_id
         JOIN indicator i ON i.id = s.indicator_id
         WHERE da.account_id = ?1 AND da.role = 'author' AND s.seen_at >= ?2
         ORDER BY s.seen_at DESC LIMIT ?3",
    )?;
    let key = |kind: String, value: String| IndicatorKind::from_name(&kind).map(|kind| IndicatorKey { kind, value });
    ids.into_iter()
        .map(|id| {
            let links = links
                .query_map(params![id], |row| Ok(key(row.get(0)?, row.get(1)?)))?
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>, _>>()?;
            let posted = posted
                .query_map(params![id, posted_since, max_posted as i64], |row| {
                    Ok(key(row.get(0)?, row.get(1)?).map(|key| (key, row.get::<_, UnixSeconds>(2))))
                })?
                .filter_map(Result::transpose)
                .map(|entry| entry.and_then(|(key, at)| Ok((key, at?))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(TrackedAccount { record: account_record(tx, id)?, links, posted })
        })
        .collect()
}

/// Every pair ever proposed, whatever became of it.
pub(crate) fn proposed_pairs(tx: &Transaction<'_>) -> Result<Vec<(AccountId, AccountId)>, StoreError> {
    Ok(tx
        .prepare("SELECT predecessor_id, account_id FROM successor")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

/// Stores each proposal not made before, with an event on both accounts and
/// an alert; returns the alerts raised.
pub(crate) fn propose(tx: &Transaction<'_>, proposals: &[NewSuccessor]) -> Result<Vec<AlertRecord>, StoreError> {
    let mut alerts = Vec::new();
    for proposal in proposals {
        let id: Option<SuccessorId> = tx
            .prepare_cached(
                "INSERT INTO successor (account_id, predecessor_id, score, evidence, explanation, state, found_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)
                 ON CONFLICT (account_id, predecessor_id) DO NOTHING RETURNING id",
            )?
            .query_row(
                params![
                    proposal.account,
                    proposal.predecessor,
                    proposal.score,
                    encode_evidence(&proposal.evidence),
                    proposal.explanation,
                    proposal.found_at
                ],
                |row| row.get(0),
            )
            .optional()?;
        let Some(id) = id else { continue };
        for (account, other) in [(proposal.account, proposal.predecessor), (proposal.predecessor, proposal.account)] {
            let event = AccountEvent {
                related_account_id: Some(other),
                note: Some(proposal.explanation.clone()),
                ..plain_event(account, AccountEventKind::SuccessorProposed, proposal.found_at, VIGIL)
            };
            record_event(tx, &event)?;
        }
        let alert_id: AlertId = tx
            .prepare_cached(
                "INSERT INTO alert (raised_at, kind, successor_id) VALUES (?1, 'successor', ?2) RETURNING id",
            )?
            .query_row(params![proposal.found_at, id], |row| row.get(0))?;
        let successor = successor_record(tx, id)?.ok_or_else(|| missing("successor", id))?;
        alerts.push(AlertRecord {
            id: alert_id,
            raised_at: proposal.found_at,
            subject: AlertSubject::Successor(successor),
        });
    }
    Ok(alerts)
}

pub(crate) fn review(tx: &Transaction<'_>, review: &SuccessorReview) -> Result<ReviewOutcome, StoreError> {
    let Some(current) = successor_record(tx, review.successor)? else { return Ok(ReviewOutcome::NotFound) };
    if current.state != SuccessorState::Pending {
        return Ok(ReviewOutcome::AlreadyReviewed(current));
    }
    let (state, kind) = if review.confirm {
        (SuccessorState::Confirmed, AccountEventKind::SuccessorConfirmed)
    } else {
        (SuccessorState::Rejected, AccountEventKind::SuccessorRejected)
    };
    tx.prepare_cached("UPDATE successor SET state = ?2, reviewed_by = ?3, reviewed_at = ?4 WHERE id = ?1")?
        .execute(params![review.successor, state.as_str(), review.reviewed_by, review.at])?;
    let (account, predecessor) = (current.account.id, current.predecessor.id);
    for (subject, other) in [(account, predecessor), (predecessor, account)] {
        let event = AccountEvent {
            related_account_id: Some(other),
            note: review.note.clone(),
            ..plain_event(subject, kind, review.at, &review.reviewed_by)
        };
        record_event(tx, &event)?;
    }
    if review.confirm {
        let note = ChangeNote {
            changed_by: review.reviewed_by.clone(),
            note: Some(format!("successor of account {predecessor} confirmed")),
            at: review.at,
        };
        super::actors::follow_predecessor(tx, account, predecessor, &note)?;
        let change = StatusChange {
            account: AccountSelector::Id(predecessor),
            status: AccountStatus::Reappeared,
            reported_to: None,
            at: review.at,
            changed_by: review.reviewed_by.clone(),
            note: Some(format!("successor account {account} confirmed")),
        };
        change_status(tx, &change)?;
    }
    let reviewed = successor_record(tx, review.successor)?.ok_or_else(|| missing("successor", review.successor))?;
    Ok(ReviewOutcome::Reviewed(reviewed))
}

pub(crate) fn alerts_after(tx: &Transaction<'_>, after: AlertId, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
    type AlertRow = (AlertId, UnixSeconds, Option<SuccessorId>, Option<i64>);
    let rows: Vec<AlertRow> = tx
        .prepare_cached(
            "SELECT id, raised_at, successor_id, referral_id FROM alert WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![after, limit as i64], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(id, raised_at, successor, referral)| {
            let subject = match (successor, referral) {
                (Some(successor), _) => AlertSubject::Successor(
                    successor_record(tx, successor)?.ok_or_else(|| missing("successor", successor))?,
                ),
                (None, Some(referral)) => AlertSubject::UrgentReferral(
                    super::referrals::record(tx, referral)?.ok_or_else(|| missing("referral", referral))?,
                ),
                (None, None) => return Err(StoreError::Worker(format!("alert {id} is about nothing"))),
            };
            Ok(AlertRecord { id, raised_at, subject })
        })
        .collect()
}

pub(crate) fn last_alert_id(tx: &Transaction<'_>) -> Result<AlertId, StoreError> {
    Ok(tx.query_row("SELECT coalesce(max(id), 0) FROM alert", [], |row| row.get(0))?)
}
