//! Actors on SQLite: the person, outlet or network behind accounts. Every
//! change is an `actor_event` written in the same transaction.

use rusqlite::{OptionalExtension, Transaction, params};

use super::account_record;
use crate::StoreError;
use crate::history::{actor_event, sort_timeline};
use crate::model::*;

pub(crate) fn actor_record(tx: &Transaction<'_>, id: ActorId) -> Result<Option<ActorRecord>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT name, kind, created_at, merged_into, (SELECT count(*) FROM account WHERE actor_id = ?1)
             FROM actor WHERE id = ?1",
        )?
        .query_row(params![id], |row| {
            let kind: String = row.get(1)?;
            Ok(ActorRecord {
                id,
                name: row.get(0)?,
                kind: ActorKind::from_name(&kind).unwrap_or(ActorKind::Unknown),
                created_at: row.get(2)?,
                merged_into: row.get(3)?,
                account_count: row.get::<_, i64>(4)? as u64,
            })
        })
        .optional()?)
}

fn record_event(tx: &Transaction<'_>, event: &ActorEvent) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO actor_event (actor_id, kind, at, changed_by, name, account_id, related_actor_id, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        event.actor_id,
        event.kind.as_str(),
        event.at,
        event.changed_by,
        event.name,
        event.account_id,
        event.related_actor_id,
        event.note
    ])?;
    Ok(())
}

/// Moves `account` to `actor` (or to none), with an event on each side.
pub(crate) fn move_account(
    tx: &Transaction<'_>,
    account: AccountId,
    actor: Option<ActorId>,
    change: &ChangeNote,
) -> Result<(), StoreError> {
    let current: Option<ActorId> = tx
        .prepare_cached("SELECT actor_id FROM account WHERE id = ?1")?
        .query_row(params![account], |row| row.get(0))?;
    if current == actor {
        return Ok(());
    }
    tx.prepare_cached("UPDATE account SET actor_id = ?2 WHERE id = ?1")?.execute(params![account, actor])?;
    if let Some(from) = current {
        record_event(
            tx,
            &ActorEvent { account_id: Some(account), ..actor_event(from, ActorEventKind::AccountRemoved, change) },
        )?;
    }
    if let Some(to) = actor {
        record_event(
            tx,
            &ActorEvent { account_id: Some(account), ..actor_event(to, ActorEventKind::AccountAdded, change) },
        )?;
    }
    Ok(())
}

pub(crate) fn apply(tx: &Transaction<'_>, change: &ActorChange, note: &ChangeNote) -> Result<ActorOutcome, StoreError> {
    // Every named actor and account must exist, and no actor may have been
    // merged away, before anything is written.
    let (actors, accounts): (Vec<ActorId>, &[AccountId]) = match change {
        ActorChange::Create { accounts, .. } => (vec![], accounts),
        ActorChange::Rename { actor, .. } => (vec![*actor], &[]),
        ActorChange::Assign { actor, accounts } => (actor.iter().copied().collect(), accounts),
        ActorChange::Merge { source, target } => (vec![*source, *target], &[]),
        ActorChange::Split { actor, accounts, .. } => (vec![*actor], accounts),
    };
    for &actor in &actors {
        match actor_record(tx, actor)? {
            None => return Ok(ActorOutcome::ActorNotFound(actor)),
            Some(record) if record.merged_into.is_some() => return Ok(ActorOutcome::ActorMerged(actor)),
            Some(_) => {}
        }
    }
    let mut exists = tx.prepare_cached("SELECT actor_id FROM account WHERE id = ?1")?;
    for &account in accounts {
        let Some(holder) = exists.query_row(params![account], |row| row.get::<_, Option<ActorId>>(0)).optional()?
        else {
            return Ok(ActorOutcome::AccountNotFound(account));
        };
        if let ActorChange::Split { actor, .. } = change
            && holder != Some(*actor)
        {
            return Ok(ActorOutcome::AccountNotInActor(account));
        }
    }
    let missing = |id| StoreError::Worker(format!("actor {id} vanished inside a transaction"));
    match change {
        ActorChange::Create { name, kind, accounts } => {
            let id = create(tx, name, *kind, note)?;
            for &account in accounts {
                move_account(tx, account, Some(id), note)?;
            }
            Ok(ActorOutcome::Changed(actor_record(tx, id)?.ok_or_else(|| missing(id))?, None))
        }
        ActorChange::Rename { actor, name } => {
            tx.prepare_cached("UPDATE actor SET name = ?2 WHERE id = ?1")?.execute(params![actor, name])?;
            record_event(
                tx,
                &ActorEvent { name: Some(name.clone()), ..actor_event(*actor, ActorEventKind::Renamed, note) },
            )?;
            Ok(ActorOutcome::Changed(actor_record(tx, *actor)?.ok_or_else(|| missing(*actor))?, None))
        }
        ActorChange::Assign { actor, accounts } => {
            for &account in accounts {
                move_account(tx, account, *actor, note)?;
            }
            match actor {
                Some(actor) => {
                    Ok(ActorOutcome::Changed(actor_record(tx, *actor)?.ok_or_else(|| missing(*actor))?, None))
                }
                None => Ok(ActorOutcome::Unassigned),
            }
        }
        ActorChange::Merge { source, target } => {
            if source == target {
                return Ok(ActorOutcome::SameActor);
            }
            let members: Vec<AccountId> = tx
                .prepare_cached("SELECT id FROM account WHERE actor_id = ?1 ORDER BY id")?
                .query_map(params![source], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            for account in members {
                move_account(tx, account, Some(*target), note)?;
            }
            tx.prepare_cached("UPDATE actor SET merged_into = ?2 WHERE id = ?1")?.execute(params![source, target])?;
            for (subject, other) in [(*source, *target), (*target, *source)] {
                record_event(
                    tx,
                    &ActorEvent { related_actor_id: Some(other), ..actor_event(subject, ActorEventKind::Merged, note) },
                )?;
            }
            Ok(ActorOutcome::Changed(actor_record(tx, *target)?.ok_or_else(|| missing(*target))?, None))
        }
        ActorChange::Split { actor, accounts, name, kind } => {
            let new = create(tx, name, *kind, note)?;
            for (subject, other) in [(*actor, new), (new, *actor)] {
                record_event(
                    tx,
                    &ActorEvent { related_actor_id: Some(other), ..actor_event(subject, ActorEventKind::Split, note) },
                )?;
            }
            for &account in accounts {
                move_account(tx, account, Some(new), note)?;
            }
            Ok(ActorOutcome::Changed(
                actor_record(tx, *actor)?.ok_or_else(|| missing(*actor))?,
                Some(actor_record(tx, new)?.ok_or_else(|| missing(new))?),
            ))
        }
    }
}

fn create(tx: &Transaction<'_>, name: &str, kind: ActorKind, note: &ChangeNote) -> Result<ActorId, StoreError> {
    let id: ActorId = tx
        .prepare_cached("INSERT INTO actor (name, kind, created_at) VALUES (?1, ?2, ?3) RETURNING id")?
        .query_row(params![name, kind.as_str(), note.at], |row| row.get(0))?;
    record_event(tx, &ActorEvent { name: Some(name.to_owned()), ..actor_event(id, ActorEventKind::Created, note) })?;
    Ok(id)
}

/// An actor with its accounts and its timeline: its own events and those of
/// its current accounts, newest first, `max_entries` at most.
pub(crate) fn view(tx: &Transaction<'_>, id: ActorId, max_entries: usize) -> Result<Option<ActorView>, StoreError> {
    let Some(actor) = actor_record(tx, id)? else { return Ok(None) };
    let account_ids: Vec<AccountId> = tx
        .prepare_cached("SELECT id FROM account WHERE actor_id = ?1 ORDER BY id")?
        .query_map(params![id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let accounts = account_ids.iter().map(|&account| account_record(tx, account)).collect::<Result<Vec<_>, _>>()?;
    let mut timeline: Vec<TimelineEntry> = tx
        .prepare_cached(
            "SELECT id, kind, at, changed_by, name, account_id, related_actor_id, note
             FROM actor_event WHERE actor_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![id, max_entries as i64], |row| {
            let kind: String = row.get(1)?;
            Ok(TimelineEntry::Actor(ActorEvent {
                id: row.get(0)?,
                actor_id: id,
                kind: ActorEventKind::from_name(&kind).unwrap_or(ActorEventKind::Created),
                at: row.get(2)?,
                changed_by: row.get(3)?,
                name: row.get(4)?,
                account_id: row.get(5)?,
                related_actor_id: row.get(6)?,
                note: row.get(7)?,
            }))
        })?
        .collect::<Result<_, _>>()?;
    for &account in &account_ids {
        timeline.extend(super::tracking::events(tx, account, max_entries)?.into_iter().map(TimelineEntry::Account));
    }
    sort_timeline(&mut timeline, max_entries);
    Ok(Some(ActorView { actor, accounts, timeline }))
}

pub(crate) fn list(
    tx: &Transaction<'_>,
    after: Option<ActorId>,
    include_merged: bool,
    limit: usize,
) -> Result<Vec<ActorRecord>, StoreError> {
    let ids: Vec<ActorId> = tx
        .prepare_cached("SELECT id FROM actor WHERE id > ?1 AND (?2 OR merged_into IS NULL) ORDER BY id LIMIT ?3")?
        .query_map(params![after.unwrap_or(0), include_merged, limit as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter()
        .map(|id| actor_record(tx, id)?.ok_or_else(|| StoreError::Worker(format!("actor {id} vanished"))))
        .collect()
}

/// The account events the successor confirmation makes: the new account
/// joins its predecessor's actor, when it has one.
pub(crate) fn follow_predecessor(
    tx: &Transaction<'_>,
    account: AccountId,
    predecessor: AccountId,
    note: &ChangeNote,
) -> Result<(), StoreError> {
    let actor: Option<ActorId> = tx
        .prepare_cached("SELECT actor_id FROM account WHERE id = ?1")?
        .query_row(params![predecessor], |row| row.get(0))?;
    if let Some(actor) = actor {
        move_account(tx, account, Some(actor), note)?;
    }
    Ok(())
}
