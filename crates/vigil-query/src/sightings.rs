//! From extraction findings and request fields to what the store records.

use std::collections::HashSet;

use sha2::{Digest, Sha256};
use vigil_extract::{Finding, IndicatorKind, Platform, Span, normalize, normalize_account_handle};
use vigil_store::{AccountKey, IndicatorKey, NewSighting};

use crate::{AccountRef, QueryError};

/// The sightings of one document: the first occurrence of each indicator,
/// in order of first appearance.
#[derive(Debug, Default)]
pub(crate) struct Sightings {
    sightings: Vec<NewSighting>,
    seen: HashSet<IndicatorKey>,
}

impl Sightings {
    pub(crate) fn add(&mut self, kind: IndicatorKind, value: String, span: Option<Span>) {
        let indicator = IndicatorKey { kind, value };
        if !self.seen.contains(&indicator) {
            self.seen.insert(indicator.clone());
            self.sightings.push(NewSighting { indicator, span });
        }
    }

    pub(crate) fn add_findings(&mut self, findings: &[Finding], with_spans: bool) {
        for finding in findings {
            self.add(finding.kind, finding.value.clone(), with_spans.then_some(finding.span));
        }
    }

    pub(crate) fn into_vec(self) -> Vec<NewSighting> {
        self.sightings
    }
}

/// Accounts the findings name, each once.
pub(crate) fn mentioned_accounts<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> Vec<AccountKey> {
    let mut seen: HashSet<&str> = HashSet::new();
    findings
        .into_iter()
        .filter(|finding| finding.kind == IndicatorKind::Account && seen.insert(finding.value.as_str()))
        .filter_map(|finding| {
            let (platform, handle) = finding.value.split_once(':')?;
            Some(AccountKey {
                platform: platform.to_owned(),
                handle: Some(handle.to_owned()),
                platform_account_id: None,
            })
        })
        .collect()
}

/// Lowercase platform name; "twitter" is "x".
pub(crate) fn normalize_platform(field: &str, platform: &str) -> Result<String, QueryError> {
    let lower = platform.trim().to_ascii_lowercase();
    if let Some(known) = Platform::from_name(&lower) {
        return Ok(known.as_str().to_owned());
    }
    let valid = (1..=32).contains(&lower.len())
        && lower.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && lower.as_bytes()[0].is_ascii_alphanumeric();
    if valid { Ok(lower) } else { Err(QueryError::invalid(field, "must be 1 to 32 letters, digits, '_', '.' or '-'")) }
}

/// A caller's account reference as a store key; `None` when it is empty.
pub(crate) fn account_key(field: &str, account: &AccountRef) -> Result<Option<AccountKey>, QueryError> {
    if account.platform.is_empty() && account.handle.is_empty() && account.platform_account_id.is_empty() {
        return Ok(None);
    }
    let platform = normalize_platform(&format!("{field}.platform"), &account.platform)?;
    let handle = match account.handle.trim() {
        "" => None,
        raw => Some(match Platform::from_name(&platform) {
            Some(known) => normalize_account_handle(known, raw).ok_or_else(|| {
                QueryError::invalid(format!("{field}.handle"), format!("is not a valid {platform} handle"))
            })?,
            None => {
                let handle = raw.strip_prefix('@').unwrap_or(raw);
                if handle.len() > 256 || handle.chars().any(char::is_whitespace) {
                    return Err(QueryError::invalid(
                        format!("{field}.handle"),
                        "must be at most 256 bytes without spaces",
                    ));
                }
                handle.to_owned()
            }
        }),
    };
    let platform_account_id = match account.platform_account_id.trim() {
        "" => None,
        id if id.len() > 256 => {
            return Err(QueryError::invalid(format!("{field}.platform_account_id"), "is over the 256-byte limit"));
        }
        id => Some(id.to_owned()),
    };
    if handle.is_none() && platform_account_id.is_none() {
        return Err(QueryError::invalid(field, "needs a handle or a platform_account_id"));
    }
    Ok(Some(AccountKey { platform, handle, platform_account_id }))
}

/// The account indicator value of a key with a handle.
pub(crate) fn account_value(key: &AccountKey) -> Option<String> {
    key.handle.as_ref().map(|handle| format!("{}:{handle}", key.platform))
}

/// Media hashes, normalized; the field is named with its index on error.
pub(crate) fn media_hashes(field: &str, hashes: &[String]) -> Result<Vec<String>, QueryError> {
    hashes
        .iter()
        .enumerate()
        .map(|(index, hash)| {
            normalize(IndicatorKind::Sha256, hash)
                .map_err(|_| QueryError::invalid(format!("{field}[{index}]"), "must be 64 hex digits (a SHA-256)"))
        })
        .collect()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}
