//! Imports on SQLite: every function runs inside the caller's transaction.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{find_account, upsert_account};
use crate::import::*;
use crate::model::*;
use crate::{StoreError, Tlp};

pub(crate) fn import(
    tx: &Transaction<'_>,
    source: &ImportSource,
    records: &[ImportRecord],
) -> Result<ImportOutcome, StoreError> {
    let at = source.imported.at;
    // Created with its first object, so that an import of nothing leaves
    // no row its audit entry does not name.
    let mut source_row: Option<i64> = tx
        .prepare_cached("SELECT id FROM import_source WHERE source = ?1")?
        .query_row(params![source.source], |row| row.get(0))
        .optional()?;
    let mut outcome = ImportOutcome::default();
    for record in records {
        let known = match source_row {
            Some(row) => tx
                .prepare_cached("SELECT 1 FROM import_object WHERE import_source_id = ?1 AND object_id = ?2")?
                .query_row(params![row, record.object_id()], |_| Ok(()))
                .optional()?
                .is_some(),
            None => false,
        };
        if known {
            outcome.already_imported += 1;
            continue;
        }
        let (indicator_id, account_id, seen_at, count) = match record {
            ImportRecord::Indicator { key, tlp, first_seen, last_seen, .. } => {
                let first = first_seen.or(*last_seen).unwrap_or(at);
                let id = mark_indicator(tx, key, *tlp, first, last_seen.unwrap_or(first), &mut outcome)?;
                (Some(id), None, None, None)
            }
            ImportRecord::Account { key, tlp, .. } => {
                let id = match find_account(tx, key)? {
                    Some(id) => id,
                    None => {
                        outcome.accounts_created += 1;
                        upsert_account(tx, key, at, &mut outcome.first_seen_accounts)?
                    }
                };
                let stored: Option<String> = tx
                    .prepare_cached("SELECT tlp FROM account WHERE id = ?1")?
                    .query_row(params![id], |row| row.get(0))?;
                let marking = merged_marking(stored.as_deref(), *tlp);
                tx.prepare_cached("UPDATE account SET tlp = ?2 WHERE id = ?1")?
                    .execute(params![id, marking.map(Tlp::as_str)])?;
                (None, Some(id), None, None)
            }
            ImportRecord::Sighting { indicator, seen_at, count, .. } => {
                let id: Option<i64> = tx
                    .prepare_cached("SELECT id FROM indicator WHERE kind = ?1 AND value = ?2")?
                    .query_row(params![indicator.kind.as_str(), indicator.value], |row| row.get(0))
                    .optional()?;
                let Some(id) = id else {
                    outcome.sightings_skipped += 1;
                    continue;
                };
                (Some(id), None, Some(*seen_at), Some(*count as i64))
            }
        };
        let row = match source_row {
            Some(row) => row,
            None => {
                let row = insert_source(tx, source)?;
                source_row = Some(row);
                row
            }
        };
        tx.prepare_cached(
            "INSERT INTO import_object (import_source_id, object_id, indicator_id, account_id, seen_at, count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![row, record.object_id(), indicator_id, account_id, seen_at, count])?;
        outcome.imported += 1;
    }
    if let Some(row) = source_row
        && outcome.imported > 0
    {
        super::access::append_audit(tx, imported_entry(source, row, &outcome))?;
    }
    Ok(outcome)
}

fn insert_source(tx: &Transaction<'_>, source: &ImportSource) -> Result<i64, StoreError> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO import_source (source, title, format, tlp, first_imported_at, imported_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![
                source.source,
                source.title,
                source.format.as_str(),
                source.tlp.map(Tlp::as_str),
                source.imported.at,
                source.imported.changed_by
            ],
            |row| row.get(0),
        )?)
}

/// The indicator's id, created unseen by vigil's documents when it is new,
/// with its marking merged.
fn mark_indicator(
    tx: &Transaction<'_>,
    key: &IndicatorKey,
    tlp: Option<Tlp>,
    first_seen: UnixSeconds,
    last_seen: UnixSeconds,
    outcome: &mut ImportOutcome,
) -> Result<i64, StoreError> {
    let found: Option<(i64, Option<String>)> = tx
        .prepare_cached("SELECT id, tlp FROM indicator WHERE kind = ?1 AND value = ?2")?
        .query_row(params![key.kind.as_str(), key.value], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match found {
        Some((id, stored)) => {
            let marking = merged_marking(stored.as_deref(), tlp);
            tx.prepare_cached("UPDATE indicator SET tlp = ?2 WHERE id = ?1")?
                .execute(params![id, marking.map(Tlp::as_str)])?;
            Ok(id)
        }
        None => {
            outcome.indicators_created += 1;
            Ok(tx
                .prepare_cached(
                    "INSERT INTO indicator (kind, value, first_seen, last_seen, sighting_count, tlp)
                     VALUES (?1, ?2, ?3, ?4, 0, ?5) RETURNING id",
                )?
                .query_row(
                    params![key.kind.as_str(), key.value, first_seen, last_seen.max(first_seen), tlp.map(Tlp::as_str)],
                    |row| row.get(0),
                )?)
        }
    }
}

pub(crate) fn markings(
    tx: &Transaction<'_>,
    indicators: &[IndicatorKey],
    accounts: &[AccountId],
) -> Result<Markings, StoreError> {
    let read = |stored: Option<Option<String>>| merged_marking(stored.flatten().as_deref(), None);
    let mut by_key = tx.prepare_cached("SELECT tlp FROM indicator WHERE kind = ?1 AND value = ?2")?;
    let indicators = indicators
        .iter()
        .map(|key| Ok(read(by_key.query_row(params![key.kind.as_str(), key.value], |row| row.get(0)).optional()?)))
        .collect::<Result<_, StoreError>>()?;
    let mut by_id = tx.prepare_cached("SELECT tlp FROM account WHERE id = ?1")?;
    let accounts = accounts
        .iter()
        .map(|id| Ok(read(by_id.query_row(params![id], |row| row.get(0)).optional()?)))
        .collect::<Result<_, StoreError>>()?;
    Ok(Markings { indicators, accounts })
}
