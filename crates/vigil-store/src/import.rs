//! Records imported from other tools (a STIX bundle, a MISP event), kept
//! with their source and their markings.
//!
//! Each imported object is keyed by its source (the bundle's or event's id)
//! and its own id there, so importing the same file twice changes nothing.
//! An indicator or account already known keeps its row; its marking becomes
//! the stricter of its own and the import's, because a record someone else
//! restricted must stay restricted here.

use async_trait::async_trait;

use crate::model::named;
use crate::{AccountId, AccountKey, ChangeNote, IndicatorKey, StoreError, Tlp, UnixSeconds};

named!(
    /// What an import was read from.
    ImportFormat { Stix = "stix", Misp = "misp" }
);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSource {
    /// The bundle's id or the event's uuid.
    pub source: String,
    pub title: String,
    pub format: ImportFormat,
    pub tlp: Option<Tlp>,
    pub imported: ChangeNote,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportRecord {
    Indicator {
        object_id: String,
        key: IndicatorKey,
        tlp: Option<Tlp>,
        first_seen: Option<UnixSeconds>,
        last_seen: Option<UnixSeconds>,
    },
    Account {
        object_id: String,
        key: AccountKey,
        tlp: Option<Tlp>,
    },
    /// Seen by the source: kept with the source, never counted as a vigil
    /// document's sighting.
    Sighting {
        object_id: String,
        indicator: IndicatorKey,
        seen_at: UnixSeconds,
        count: u64,
    },
}

impl ImportRecord {
    pub fn object_id(&self) -> &str {
        match self {
            ImportRecord::Indicator { object_id, .. }
            | ImportRecord::Account { object_id, .. }
            | ImportRecord::Sighting { object_id, .. } => object_id,
        }
    }
}

/// What one import call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Objects imported now.
    pub imported: u64,
    /// Objects this source had given before: left as they were.
    pub already_imported: u64,
    pub indicators_created: u64,
    pub accounts_created: u64,
    /// Sightings of an indicator neither stored nor imported.
    pub sightings_skipped: u64,
    /// Accounts created, for successor detection.
    pub first_seen_accounts: Vec<AccountId>,
}

/// The markings imported records carry, for exports to honour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Markings {
    /// In the order asked; `None` for a record with no imported marking.
    pub indicators: Vec<Option<Tlp>>,
    pub accounts: Vec<Option<Tlp>>,
}

#[async_trait]
pub trait ImportStore: Send + Sync + std::fmt::Debug + 'static {
    /// Imports `records` from `source` in one transaction, with an audit
    /// entry; objects the source gave before are skipped. A sighting finds
    /// its indicator among those stored or earlier in `records`. An account
    /// found by one of its keys keeps the keys it has: an import never
    /// rewrites who an account is.
    async fn import(&self, source: ImportSource, records: Vec<ImportRecord>) -> Result<ImportOutcome, StoreError>;

    /// The imported markings of these indicators and accounts.
    async fn markings(&self, indicators: Vec<IndicatorKey>, accounts: Vec<AccountId>) -> Result<Markings, StoreError>;
}

/// The marking a record keeps: the stricter of what it had and what came.
pub(crate) fn merged_marking(stored: Option<&str>, imported: Option<Tlp>) -> Option<Tlp> {
    let stored = stored.map(|name| Tlp::from_name(name).unwrap_or(Tlp::Red));
    match (stored, imported) {
        (Some(stored), Some(imported)) => Some(stored.stricter(imported)),
        (stored, imported) => stored.or(imported),
    }
}

pub(crate) fn imported_entry(
    source: &ImportSource,
    source_row: i64,
    outcome: &ImportOutcome,
) -> crate::audit::NewAuditEntry {
    crate::audit::NewAuditEntry {
        at: source.imported.at,
        actor: source.imported.changed_by.clone(),
        action: "import".into(),
        records: format!("import_source:{source_row}"),
        detail: format!(
            "{} {} {:?}: {} objects imported, {} already imported, {} indicators and {} accounts created",
            source.format.as_str(),
            source.source,
            source.title,
            outcome.imported,
            outcome.already_imported,
            outcome.indicators_created,
            outcome.accounts_created
        ),
    }
}
