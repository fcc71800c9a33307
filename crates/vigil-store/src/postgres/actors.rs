//! Actors on PostgreSQL: the person, outlet or network behind accounts. Every
//! change is an `actor_event` written in the same transaction, as on SQLite
//! (`sqlite/actors.rs`), whose answers these functions repeat exactly.
//!
//! Replicas may change the same actors at once. A change locks the actors
//! and accounts it names (in id order, before deciding anything) and every
//! account it moves, so that each decision rests on rows no one else can
//! change before it commits, and history records what really happened.

use std::collections::HashMap;

use tokio_postgres::Row;

use super::ACCOUNT_COLUMNS;
use super::sql_limit;
use super::tracking::events;
use super::{Tx, account_from_row};
use crate::StoreError;
use crate::history::{actor_event, sort_timeline};
use crate::model::*;

/// The columns [`actor_from_row`] reads, in its order, of `actor r`.
const ACTOR_COLUMNS: &str =
    "r.id, r.name, r.kind, r.created_at, r.merged_into, (SELECT count(*) FROM account a WHERE a.actor_id = r.id)";

pub(crate) async fn apply(tx: &Tx<'_>, change: &ActorChange, note: &ChangeNote) -> Result<ActorOutcome, StoreError> {
    // Every named actor and account must exist, and no actor may have been
    // merged away, before anything is written.
    let (actors, accounts): (Vec<ActorId>, &[AccountId]) = match change {
        ActorChange::Create { accounts, .. } => (vec![], accounts),
        ActorChange::Rename { actor, .. } => (vec![*actor], &[]),
        ActorChange::Assign { actor, accounts } => (actor.iter().copied().collect(), accounts),
        ActorChange::Merge { source, target } => (vec![*source, *target], &[]),
        ActorChange::Split { actor, accounts, .. } => (vec![*actor], accounts),
    };
    if !actors.is_empty() {
        let statement = tx
            .prepare_cached(
                "SELECT id, merged_into FROM actor WHERE id = ANY($1::int8[]) ORDER BY id FOR NO KEY UPDATE",
            )
            .await?;
        let found: HashMap<ActorId, Option<ActorId>> =
            tx.query(&statement, &[&actors]).await?.iter().map(|row| (row.get(0), row.get(1))).collect();
        // Refused for the first actor named that fails, as on SQLite.
        for &actor in &actors {
            match found.get(&actor) {
                None => return Ok(ActorOutcome::ActorNotFound(actor)),
                Some(Some(_)) => return Ok(ActorOutcome::ActorMerged(actor)),
                Some(None) => {}
            }
        }
    }
    if !accounts.is_empty() {
        let statement = tx
            .prepare_cached("SELECT id, actor_id FROM account WHERE id = ANY($1::int8[]) ORDER BY id FOR NO KEY UPDATE")
            .await?;
        let holders: HashMap<AccountId, Option<ActorId>> =
            tx.query(&statement, &[&accounts]).await?.iter().map(|row| (row.get(0), row.get(1))).collect();
        for &account in accounts {
            let Some(&holder) = holders.get(&account) else { return Ok(ActorOutcome::AccountNotFound(account)) };
            if let ActorChange::Split { actor, .. } = change
                && holder != Some(*actor)
            {
                return Ok(ActorOutcome::AccountNotInActor(account));
            }
        }
    }
    match change {
        ActorChange::Create { name, kind, accounts } => {
            let id = create(tx, name, *kind, note).await?;
            for &account in accounts {
                move_account(tx, account, Some(id), note).await?;
            }
            Ok(ActorOutcome::Changed(existing(tx, id).await?, None))
        }
        ActorChange::Rename { actor, name } => {
            let statement = tx.prepare_cached("UPDATE actor SET name = $2 WHERE id = $1").await?;
            tx.execute(&statement, &[actor, name]).await?;
            let event = ActorEvent { name: Some(name.clone()), ..actor_event(*actor, ActorEventKind::Renamed, note) };
            record_event(tx, &event).await?;
            Ok(ActorOutcome::Changed(existing(tx, *actor).await?, None))
        }
        ActorChange::Assign { actor, accounts } => {
            for &account in accounts {
                move_account(tx, account, *actor, note).await?;
            }
            match actor {
                Some(actor) => Ok(ActorOutcome::Changed(existing(tx, *actor).await?, None)),
                None => Ok(ActorOutcome::Unassigned),
            }
        }
        ActorChange::Merge { source, target } => {
            if source == target {
                return Ok(ActorOutcome::SameActor);
            }
            // Locked, and read again after any wait: an account that left
            // the source meanwhile is not taken along.
            let statement =
                tx.prepare_cached("SELECT id FROM account WHERE actor_id = $1 ORDER BY id FOR NO KEY UPDATE").await?;
            let members: Vec<AccountId> = tx.query(&statement, &[source]).await?.iter().map(|row| row.get(0)).collect();
            for account in members {
                move_account(tx, account, Some(*target), note).await?;
            }
            let statement = tx.prepare_cached("UPDATE actor SET merged_into = $2 WHERE id = $1").await?;
            tx.execute(&statement, &[source, target]).await?;
            for (subject, other) in [(*source, *target), (*target, *source)] {
                let event =
                    ActorEvent { related_actor_id: Some(other), ..actor_event(subject, ActorEventKind::Merged, note) };
                record_event(tx, &event).await?;
            }
            Ok(ActorOutcome::Changed(existing(tx, *target).await?, None))
        }
        ActorChange::Split { actor, accounts, name, kind } => {
            let new = create(tx, name, *kind, note).await?;
            for (subject, other) in [(*actor, new), (new, *actor)] {
                let event =
                    ActorEvent { related_actor_id: Some(other), ..actor_event(subject, ActorEventKind::Split, note) };
                record_event(tx, &event).await?;
            }
            for &account in accounts {
                move_account(tx, account, Some(new), note).await?;
            }
            Ok(ActorOutcome::Changed(existing(tx, *actor).await?, Some(existing(tx, new).await?)))
        }
    }
}

/// An actor with its accounts and its timeline: its own events and those of
/// its current accounts, newest first, `max_entries` at most.
pub(crate) async fn view(tx: &Tx<'_>, id: ActorId, max_entries: usize) -> Result<Option<ActorView>, StoreError> {
    let Some(actor) = actor_record(tx, id).await? else { return Ok(None) };
    let statement = tx
        .prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM account a WHERE a.actor_id = $1 ORDER BY a.id"))
        .await?;
    let accounts: Vec<AccountRecord> = tx.query(&statement, &[&id]).await?.iter().map(account_from_row).collect();
    let statement = tx
        .prepare_cached(
            "SELECT id, kind, at, changed_by, name, account_id, related_actor_id, note
             FROM actor_event WHERE actor_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .await?;
    let mut timeline: Vec<TimelineEntry> = tx
        .query(&statement, &[&id, &sql_limit(max_entries)])
        .await?
        .iter()
        .map(|row| {
            let kind: String = row.get(1);
            TimelineEntry::Actor(ActorEvent {
                id: row.get(0),
                actor_id: id,
                kind: ActorEventKind::from_name(&kind).unwrap_or(ActorEventKind::Created),
                at: row.get(2),
                changed_by: row.get(3),
                name: row.get(4),
                account_id: row.get(5),
                related_actor_id: row.get(6),
                note: row.get(7),
            })
        })
        .collect();
    let account_ids: Vec<AccountId> = accounts.iter().map(|account| account.id).collect();
    timeline.extend(events(tx, &account_ids, max_entries).await?.into_iter().map(TimelineEntry::Account));
    sort_timeline(&mut timeline, max_entries);
    Ok(Some(ActorView { actor, accounts, timeline }))
}

pub(crate) async fn list(
    tx: &Tx<'_>,
    after: Option<ActorId>,
    include_merged: bool,
    limit: usize,
) -> Result<Vec<ActorRecord>, StoreError> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {ACTOR_COLUMNS} FROM actor r
             WHERE r.id > $1 AND ($2::bool OR r.merged_into IS NULL) ORDER BY r.id LIMIT $3"
        ))
        .await?;
    let rows = tx.query(&statement, &[&after.unwrap_or(0), &include_merged, &sql_limit(limit)]).await?;
    Ok(rows.iter().map(actor_from_row).collect())
}

/// The account events the successor confirmation makes: the new account
/// joins its predecessor's actor, when it has one.
pub(crate) async fn follow_predecessor(
    tx: &Tx<'_>,
    account: AccountId,
    predecessor: AccountId,
    note: &ChangeNote,
) -> Result<(), StoreError> {
    let read = tx.prepare_cached("SELECT actor_id FROM account WHERE id = $1").await?;
    let lock = tx.prepare_cached("SELECT id FROM actor WHERE id = $1 FOR NO KEY UPDATE").await?;
    // The actor is locked as a change of actors locks it, then the
    // predecessor's actor read again: a merge that moved the predecessor
    // meanwhile is seen, and none can move it until this commits, so the
    // new account never joins an actor merged away.
    let mut actor: Option<ActorId> = tx.query_one(&read, &[&predecessor]).await?.get(0);
    while let Some(candidate) = actor {
        tx.query_opt(&lock, &[&candidate]).await?;
        actor = tx.query_one(&read, &[&predecessor]).await?.get(0);
        if actor == Some(candidate) {
            return move_account(tx, account, Some(candidate), note).await;
        }
    }
    Ok(())
}

async fn actor_record(tx: &Tx<'_>, id: ActorId) -> Result<Option<ActorRecord>, StoreError> {
    let statement = tx.prepare_cached(&format!("SELECT {ACTOR_COLUMNS} FROM actor r WHERE r.id = $1")).await?;
    Ok(tx.query_opt(&statement, &[&id]).await?.as_ref().map(actor_from_row))
}

/// An actor this transaction has seen or made.
async fn existing(tx: &Tx<'_>, id: ActorId) -> Result<ActorRecord, StoreError> {
    actor_record(tx, id).await?.ok_or_else(|| StoreError::Worker(format!("actor {id} vanished inside a transaction")))
}

fn actor_from_row(row: &Row) -> ActorRecord {
    let kind: String = row.get(2);
    ActorRecord {
        id: row.get(0),
        name: row.get(1),
        kind: ActorKind::from_name(&kind).unwrap_or(ActorKind::Unknown),
        created_at: row.get(3),
        merged_into: row.get(4),
        account_count: row.get::<_, i64>(5) as u64,
    }
}

async fn record_event(tx: &Tx<'_>, event: &ActorEvent) -> Result<(), StoreError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO actor_event (actor_id, kind, at, changed_by, name, account_id, related_actor_id, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &event.actor_id,
            &event.kind.as_str(),
            &event.at,
            &event.changed_by,
            &event.name,
            &event.account_id,
            &event.related_actor_id,
            &event.note,
        ],
    )
    .await?;
    Ok(())
}

async fn create(tx: &Tx<'_>, name: &str, kind: ActorKind, note: &ChangeNote) -> Result<ActorId, StoreError> {
    let statement =
        tx.prepare_cached("INSERT INTO actor (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id").await?;
    let id: ActorId = tx.query_one(&statement, &[&name, &kind.as_str(), &note.at]).await?.get(0);
    record_event(tx, &ActorEvent { name: Some(name.to_owned()), ..actor_event(id, ActorEventKind::Created, note) })
        .await?;
    Ok(id)
}

/// Moves `account` to `actor` (or to none), with an event on each side. The
/// account is locked before its actor is read, so two moves of one account
/// record where each really took it from.
async fn move_account(
    tx: &Tx<'_>,
    account: AccountId,
    actor: Option<ActorId>,
    change: &ChangeNote,
) -> Result<(), StoreError> {
    let statement = tx.prepare_cached("SELECT actor_id FROM account WHERE id = $1 FOR NO KEY UPDATE").await?;
    let current: Option<ActorId> = tx.query_one(&statement, &[&account]).await?.get(0);
    if current == actor {
        return Ok(());
    }
    let statement = tx.prepare_cached("UPDATE account SET actor_id = $2 WHERE id = $1").await?;
    tx.execute(&statement, &[&account, &actor]).await?;
    if let Some(from) = current {
        let event =
            ActorEvent { account_id: Some(account), ..actor_event(from, ActorEventKind::AccountRemoved, change) };
        record_event(tx, &event).await?;
    }
    if let Some(to) = actor {
        let event = ActorEvent { account_id: Some(account), ..actor_event(to, ActorEventKind::AccountAdded, change) };
        record_event(tx, &event).await?;
    }
    Ok(())
}
