//! Imports on PostgreSQL, as on SQLite (`sqlite/import.rs`). Rows are found
//! before they are inserted, so a replica importing the same source at once
//! loses the race on a unique key and its transaction runs again, finding
//! the winner's rows.

use super::{Tx, find_account, upsert_account};
use crate::import::*;
use crate::model::*;
use crate::{StoreError, Tlp};

pub(crate) async fn import(
    tx: &Tx<'_>,
    source: &ImportSource,
    records: &[ImportRecord],
) -> Result<ImportOutcome, StoreError> {
    let at = source.imported.at;
    // Created with its first object, as on SQLite.
    let find_source = tx.prepare_cached("SELECT id FROM import_source WHERE source = $1").await?;
    let mut source_row: Option<i64> = tx.query_opt(&find_source, &[&source.source]).await?.map(|row| row.get(0));
    let known = tx.prepare_cached("SELECT 1 FROM import_object WHERE import_source_id = $1 AND object_id = $2").await?;
    let find_indicator = tx.prepare_cached("SELECT id, tlp FROM indicator WHERE kind = $1 AND value = $2").await?;
    let insert_object = tx
        .prepare_cached(
            "INSERT INTO import_object (import_source_id, object_id, indicator_id, account_id, seen_at, count)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    let mut outcome = ImportOutcome::default();
    for record in records {
        let seen_before = match source_row {
            Some(row) => tx.query_opt(&known, &[&row, &record.object_id()]).await?.is_some(),
            None => false,
        };
        if seen_before {
            outcome.already_imported += 1;
            continue;
        }
        let (indicator_id, account_id, seen_at, count): (Option<i64>, Option<i64>, Option<i64>, Option<i64>) =
            match record {
                ImportRecord::Indicator { key, tlp, first_seen, last_seen, .. } => {
                    let id = match tx.query_opt(&find_indicator, &[&key.kind.as_str(), &key.value]).await? {
                        Some(row) => {
                            let (id, stored): (i64, Option<String>) = (row.get(0), row.get(1));
                            let marking = merged_marking(stored.as_deref(), *tlp);
                            let update = tx.prepare_cached("UPDATE indicator SET tlp = $2 WHERE id = $1").await?;
                            tx.execute(&update, &[&id, &marking.map(Tlp::as_str)]).await?;
                            id
                        }
                        None => {
                            outcome.indicators_created += 1;
                            let first = first_seen.or(*last_seen).unwrap_or(at);
                            let last = last_seen.unwrap_or(first);
                            let insert = tx
                                .prepare_cached(
                                    "INSERT INTO indicator (kind, value, first_seen, last_seen, sighting_count, tlp)
                                     VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
                                )
                                .await?;
                            tx.query_one(
                                &insert,
                                &[&key.kind.as_str(), &key.value, &first, &last.max(first), &tlp.map(Tlp::as_str)],
                            )
                            .await?
                            .get(0)
                        }
                    };
                    (Some(id), None, None, None)
                }
                ImportRecord::Account { key, tlp, .. } => {
                    let id = match find_account(tx, key).await? {
                        Some(id) => id,
                        None => {
                            outcome.accounts_created += 1;
                            upsert_account(tx, key, at, &mut outcome.first_seen_accounts).await?
                        }
                    };
                    let read = tx.prepare_cached("SELECT tlp FROM account WHERE id = $1").await?;
                    let stored: Option<String> = tx.query_one(&read, &[&id]).await?.get(0);
                    let marking = merged_marking(stored.as_deref(), *tlp);
                    let update = tx.prepare_cached("UPDATE account SET tlp = $2 WHERE id = $1").await?;
                    tx.execute(&update, &[&id, &marking.map(Tlp::as_str)]).await?;
                    (None, Some(id), None, None)
                }
                ImportRecord::Sighting { indicator, seen_at, count, .. } => {
                    match tx.query_opt(&find_indicator, &[&indicator.kind.as_str(), &indicator.value]).await? {
                        Some(row) => (Some(row.get(0)), None, Some(*seen_at), Some(*count as i64)),
                        None => {
                            outcome.sightings_skipped += 1;
                            continue;
                        }
                    }
                }
            };
        let row = match source_row {
            Some(row) => row,
            None => {
                let insert = tx
                    .prepare_cached(
                        "INSERT INTO import_source (source, title, format, tlp, first_imported_at, imported_by)
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .await?;
                let row: i64 = tx
                    .query_one(
                        &insert,
                        &[
                            &source.source,
                            &source.title,
                            &source.format.as_str(),
                            &source.tlp.map(Tlp::as_str),
                            &at,
                            &source.imported.changed_by,
                        ],
                    )
                    .await?
                    .get(0);
                source_row = Some(row);
                row
            }
        };
        tx.execute(&insert_object, &[&row, &record.object_id(), &indicator_id, &account_id, &seen_at, &count]).await?;
        outcome.imported += 1;
    }
    if let Some(row) = source_row
        && outcome.imported > 0
    {
        super::access::append_audit(tx, imported_entry(source, row, &outcome)).await?;
    }
    Ok(outcome)
}

pub(crate) async fn markings(
    tx: &Tx<'_>,
    indicators: &[IndicatorKey],
    accounts: &[AccountId],
) -> Result<Markings, StoreError> {
    let by_key = tx.prepare_cached("SELECT tlp FROM indicator WHERE kind = $1 AND value = $2").await?;
    let mut found = Markings::default();
    for key in indicators {
        let stored: Option<String> =
            tx.query_opt(&by_key, &[&key.kind.as_str(), &key.value]).await?.and_then(|row| row.get(0));
        found.indicators.push(merged_marking(stored.as_deref(), None));
    }
    let by_id = tx.prepare_cached("SELECT tlp FROM account WHERE id = $1").await?;
    for id in accounts {
        let stored: Option<String> = tx.query_opt(&by_id, &[id]).await?.and_then(|row| row.get(0));
        found.accounts.push(merged_marking(stored.as_deref(), None));
    }
    Ok(found)
}
