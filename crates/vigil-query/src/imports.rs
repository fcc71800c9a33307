//! Imports: what a STIX bundle or a MISP event holds, stored as indicators,
//! accounts and sightings with their source, in transactions of a bounded
//! size. Every object is keyed by its source and its own id, so an import
//! cut short is finished by running it again, and a second run changes
//! nothing.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use vigil_store::{AccountKey, ChangeNote, ImportFormat, ImportOutcome, ImportRecord, ImportSource, Store};

use crate::QueryError;
use crate::exchange::ImportSet;

/// Objects stored per transaction: large enough to amortize the commit,
/// small enough that a writer is never held for long.
pub const IMPORT_CHUNK: usize = 2_000;

/// Stores `set`, read from a file in `format`, as imported by `by`;
/// `progress` hears (objects done, objects in all) after each chunk.
pub async fn import_set(
    store: &Arc<dyn Store>,
    set: ImportSet,
    format: ImportFormat,
    by: &str,
    mut progress: impl FnMut(u64, u64),
) -> Result<ImportOutcome, QueryError> {
    if set.source.trim().is_empty() {
        return Err(QueryError::invalid("source", "is empty: the file names no bundle or event id"));
    }
    let at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64);
    let source = ImportSource {
        source: set.source.clone(),
        title: set.title.clone(),
        format,
        tlp: set.tlp,
        imported: ChangeNote { changed_by: by.to_owned(), note: None, at },
    };
    let records = records_of(set);
    let total = records.len() as u64;
    let mut outcome = ImportOutcome::default();
    let mut done = 0;
    for chunk in records.chunks(IMPORT_CHUNK) {
        let part = store.import(source.clone(), chunk.to_vec()).await?;
        outcome.imported += part.imported;
        outcome.already_imported += part.already_imported;
        outcome.indicators_created += part.indicators_created;
        outcome.accounts_created += part.accounts_created;
        outcome.sightings_skipped += part.sightings_skipped;
        outcome.first_seen_accounts.extend(part.first_seen_accounts);
        done += chunk.len() as u64;
        progress(done, total);
    }
    Ok(outcome)
}

/// Indicators first, then accounts, then sightings: a sighting finds its
/// indicator whichever chunk brought it. Object ids are qualified by what
/// vigil took from the object, since one MISP attribute gives both an
/// indicator and its sighting.
fn records_of(set: ImportSet) -> Vec<ImportRecord> {
    let mut records = Vec::with_capacity(set.indicators.len() + set.accounts.len() + set.sightings.len());
    for indicator in set.indicators {
        records.push(ImportRecord::Indicator {
            object_id: format!("indicator:{}", indicator.source_id),
            key: indicator.record.key,
            tlp: indicator.tlp.or(set.tlp),
            first_seen: indicator.record.first_seen,
            last_seen: indicator.record.last_seen,
        });
    }
    for account in set.accounts {
        records.push(ImportRecord::Account {
            object_id: format!("account:{}", account.source_id),
            key: AccountKey {
                platform: account.record.platform,
                handle: account.record.handle,
                platform_account_id: account.record.platform_account_id,
            },
            tlp: account.tlp.or(set.tlp),
        });
    }
    for sighting in set.sightings {
        records.push(ImportRecord::Sighting {
            object_id: format!("sighting:{}", sighting.source_id),
            indicator: sighting.record.indicator,
            seen_at: sighting.record.seen_at,
            count: sighting.record.count,
        });
    }
    records
}
