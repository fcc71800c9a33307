//! Exchange with the tools recipients already use: a set of records out as
//! a STIX 2.1 bundle, a MISP event or CSV, and STIX bundles and MISP events
//! in. Pure mapping: no I/O, no storage; the caller reads the records and
//! audits the export.
//!
//! An export goes through [`for_recipient`] first, which drops what the
//! recipient is not cleared for; the writers then carry every record under
//! its own marking. Ids are derived from the records (UUIDv5), so exporting
//! the same records twice gives the same ids, and a recipient that imports
//! both updates what it has instead of doubling it.

mod clearance;
mod csv;
mod misp;
pub(crate) mod rfc3339;
mod stix;
#[cfg(test)]
mod tests;

use thiserror::Error;
use uuid::Uuid;
use vigil_extract::IndicatorKind;
use vigil_store::{AccountRecord, IndicatorKey, IndicatorRecord, ReferralExcerpt, SiteRecord, Tlp, UnixSeconds};

pub use clearance::{Withheld, for_recipient};
pub use csv::to_csv;
pub use misp::{from_misp_event, from_misp_event_value, from_misp_feed_manifest, to_misp};
pub use stix::{MAX_STIX_OBJECTS, from_stix, from_stix_value, to_stix};

/// A record with the marking it travels under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marked<T> {
    pub tlp: Tlp,
    pub record: T,
}

/// What an export is of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportSubject {
    Referral {
        id: i64,
        recipient: String,
        /// `platform`, `hosting_provider` or `authority`.
        recipient_kind: String,
        /// `routine`, `high` or `urgent`.
        priority: String,
        categories: Vec<String>,
        approved_by: Option<String>,
    },
    Actor {
        id: i64,
        name: String,
        /// `person`, `outlet`, `network` or `unknown`.
        kind: String,
    },
    /// The indicators a caller asked for.
    Indicators,
}

/// The records one export carries, before the recipient's clearance is
/// applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSet {
    pub subject: ExportSubject,
    /// "Referral 12 to Example Platform abuse desk", an actor's name, ...
    pub title: String,
    /// The referral's reason, or empty.
    pub description: String,
    /// The set's own marking; each record may be stricter.
    pub tlp: Tlp,
    /// The organisation running vigil, as the export's author.
    pub producer: String,
    /// When the set was read; also the bundle's `created` time.
    pub created_at: UnixSeconds,
    pub accounts: Vec<Marked<AccountRecord>>,
    pub sites: Vec<Marked<SiteRecord>>,
    pub indicators: Vec<Marked<IndicatorRecord>>,
    pub excerpts: Vec<Marked<ReferralExcerpt>>,
}

/// A record read from a STIX bundle or a MISP event, with the source's own
/// id for it, which makes a second import of the same file change nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported<T> {
    /// The STIX object id, or the MISP attribute's or object's uuid.
    pub source_id: String,
    pub tlp: Option<Tlp>,
    pub record: T,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedIndicator {
    /// Normalized with `vigil_extract::normalize`.
    pub key: IndicatorKey,
    pub first_seen: Option<UnixSeconds>,
    pub last_seen: Option<UnixSeconds>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImportedAccount {
    /// Normalized as vigil names platforms (`telegram`, `x`, ...).
    pub platform: String,
    pub handle: Option<String>,
    pub platform_account_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedSighting {
    pub indicator: IndicatorKey,
    pub seen_at: UnixSeconds,
    pub count: u64,
}

/// What one STIX bundle or MISP event holds that vigil keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSet {
    /// The bundle's id or the event's uuid.
    pub source: String,
    /// The source's own title (the report's or event's name).
    pub title: String,
    pub tlp: Option<Tlp>,
    pub indicators: Vec<Imported<ImportedIndicator>>,
    pub accounts: Vec<Imported<ImportedAccount>>,
    pub sightings: Vec<Imported<ImportedSighting>>,
    /// Objects or attributes vigil has no kind for, skipped.
    pub skipped: u64,
}

/// What an export or import refused. Messages name the part of the input
/// and the limit: `stix bundle: objects[3].pattern: is not a string`.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExchangeError {
    /// The recipient may not receive the set at all.
    #[error("recipient clearance: {0}")]
    Clearance(String),
    #[error("stix bundle: {0}")]
    Stix(String),
    #[error("misp event: {0}")]
    Misp(String),
    #[error("misp feed manifest: {0}")]
    MispFeed(String),
}

impl ExportSet {
    /// What the set is of, as a stable key: the same subject exported again
    /// (later, with more records) keeps its report's and event's ids.
    pub(crate) fn subject_key(&self) -> String {
        match &self.subject {
            ExportSubject::Referral { id, .. } => format!("referral:{id}"),
            ExportSubject::Actor { id, .. } => format!("actor:{id}"),
            ExportSubject::Indicators => {
                // No id to go by: the indicators asked for are the subject.
                let mut keys: Vec<String> = self
                    .indicators
                    .iter()
                    .map(|marked| format!("{}:{}", marked.record.kind, marked.record.value))
                    .collect();
                keys.sort_unstable();
                format!("indicators:{}", vigil_uuid(&keys.iter().map(String::as_str).collect::<Vec<_>>()))
            }
        }
    }
}

/// The namespace of every id vigil derives for objects it makes up (STIX
/// domain objects, MISP events, attributes and objects). STIX forbids its
/// own observable namespace for these.
const VIGIL_NAMESPACE: Uuid = Uuid::from_u128(0x7397a223_1079_42a9_b8a3_eb029c538636);

/// A UUIDv5 over `parts`, each prefixed with its length so that no two
/// lists of parts give the same name.
pub(crate) fn vigil_uuid(parts: &[&str]) -> Uuid {
    let mut name = String::new();
    for part in parts {
        name.push_str(&part.len().to_string());
        name.push(':');
        name.push_str(part);
    }
    Uuid::new_v5(&VIGIL_NAMESPACE, name.as_bytes())
}

/// A platform as vigil names it (`twitter` is `x`), with a handle and id as
/// vigil would store them; `None` when vigil would refuse the account.
pub(crate) fn imported_account(platform: &str, handle: Option<&str>, id: Option<&str>) -> Option<ImportedAccount> {
    let key = |handle: Option<&str>| {
        let reference = crate::AccountRef {
            platform: platform.to_owned(),
            handle: handle.unwrap_or_default().to_owned(),
            platform_account_id: id.unwrap_or_default().to_owned(),
        };
        crate::sightings::account_key("account", &reference).ok().flatten()
    };
    // A handle vigil would refuse does not lose the account when its id is good.
    let key = key(handle).or_else(|| key(None))?;
    Some(ImportedAccount { platform: key.platform, handle: key.handle, platform_account_id: key.platform_account_id })
}

/// The indicator a raw value names, normalized; `None` when it does not
/// normalize (the import counts it as skipped).
pub(crate) fn indicator_key(kind: IndicatorKind, raw: &str) -> Option<IndicatorKey> {
    vigil_extract::normalize(kind, raw).ok().map(|value| IndicatorKey { kind, value })
}

/// A TLP marking by its name in any common spelling: `amber`, `TLP:AMBER`,
/// `tlp:amber+strict`, and TLP 1.0's `white` for CLEAR.
pub(crate) fn tlp_of_name(name: &str) -> Option<Tlp> {
    let lower = name.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("tlp:").unwrap_or(&lower);
    match bare {
        "white" => Some(Tlp::Clear),
        other => Tlp::from_name(other),
    }
}

/// The strictest of some markings.
pub(crate) fn strictest(markings: impl IntoIterator<Item = Tlp>) -> Option<Tlp> {
    markings.into_iter().reduce(Tlp::stricter)
}

/// The members of a `json!` object literal, to add optional ones to.
pub(crate) fn members(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(members) => members,
        _ => serde_json::Map::new(),
    }
}

/// "1 document", "3 documents": for the sentences recipients read.
pub(crate) fn counted(count: u64, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

/// The ticker symbol of a wallet kind, as STIX and MISP name currencies.
pub(crate) fn wallet_currency(kind: IndicatorKind) -> Option<&'static str> {
    match kind {
        IndicatorKind::Btc => Some("BTC"),
        IndicatorKind::Eth => Some("ETH"),
        IndicatorKind::Xmr => Some("XMR"),
        IndicatorKind::Trx => Some("TRX"),
        _ => None,
    }
}

/// A wallet kind by its ticker symbol (or TRON, as some write Tron).
pub(crate) fn wallet_of_currency(currency: &str) -> Option<IndicatorKind> {
    match currency.to_ascii_uppercase().as_str() {
        "BTC" => Some(IndicatorKind::Btc),
        "ETH" => Some(IndicatorKind::Eth),
        "XMR" => Some(IndicatorKind::Xmr),
        "TRX" | "TRON" => Some(IndicatorKind::Trx),
        _ => None,
    }
}
