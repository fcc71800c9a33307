//! CheckContent, the hot path platforms call on every new post: extract, then
//! batch look-ups by unique key, nothing else. It reads only.

use std::collections::HashMap;
use vigil_extract::{IndicatorKind, Span, extract_indicators};

use vigil_store::{AccountKey, AccountRecord, IndicatorKey, IndicatorRecord, UnixSeconds};

use crate::sightings::{Sightings, account_key, account_value, media_hashes, mentioned_accounts};
use crate::{AccountRef, Query, QueryError};

#[derive(Clone, Debug, Default)]
pub struct ContentCheck {
    pub text: String,
    pub author: Option<AccountRef>,
    pub media_sha256: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorMatch {
    pub kind: IndicatorKind,
    pub value: String,
    /// Where in the checked text; `None` for media hashes and the author.
    pub span: Option<Span>,
    pub first_seen: UnixSeconds,
    pub last_seen: UnixSeconds,
    pub sighting_count: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountMatchReason {
    Author,
    Mentioned,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountMatch {
    pub account: AccountRecord,
    pub reason: AccountMatchReason,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentMatches {
    pub indicators: Vec<IndicatorMatch>,
    pub accounts: Vec<AccountMatch>,
}

impl Query {
    pub async fn check_content(&self, check: ContentCheck) -> Result<ContentMatches, QueryError> {
        let author = check.author.as_ref().map(|author| account_key("author", author)).transpose()?.flatten();
        let may_be_empty = author.is_some() || !check.media_sha256.is_empty();
        self.limits.check_text("text", &check.text, may_be_empty)?;
        self.limits.check_count("media_sha256", check.media_sha256.len(), self.limits.max_media_per_post)?;
        let media = media_hashes("media_sha256", &check.media_sha256)?;

        let findings = extract_indicators(&check.text);
        let mut wanted = Sightings::default();
        wanted.add_findings(&findings, true);
        for hash in media {
            wanted.add(IndicatorKind::Sha256, hash, None);
        }
        if let Some(value) = author.as_ref().and_then(account_value) {
            wanted.add(IndicatorKind::Account, value, None);
        }
        let wanted = wanted.into_vec();

        let mut account_keys: Vec<(AccountKey, AccountMatchReason)> =
            author.into_iter().map(|key| (key, AccountMatchReason::Author)).collect();
        for key in mentioned_accounts(&findings) {
            // The author may be named in the text too; list it once.
            if account_keys.first().is_none_or(|(author, _)| *author != key) {
                account_keys.push((key, AccountMatchReason::Mentioned));
            }
        }

        // One read for indicators and accounts: one round trip to storage.
        let known = self
            .store
            .known(
                wanted.iter().map(|sighting| sighting.indicator.clone()).collect(),
                account_keys.iter().map(|(key, _)| key.clone()).collect(),
            )
            .await?;
        let records: HashMap<IndicatorKey, IndicatorRecord> = known
            .indicators
            .into_iter()
            .map(|record| (IndicatorKey { kind: record.kind, value: record.value.clone() }, record))
            .collect();
        let indicators = wanted
            .iter()
            .filter_map(|sighting| {
                let record = records.get(&sighting.indicator)?;
                Some(IndicatorMatch {
                    kind: record.kind,
                    value: record.value.clone(),
                    span: sighting.span,
                    first_seen: record.first_seen,
                    last_seen: record.last_seen,
                    sighting_count: record.sighting_count,
                })
            })
            .collect();
        let accounts = known
            .accounts
            .into_iter()
            .zip(account_keys)
            .filter_map(|(record, (_, reason))| record.map(|account| AccountMatch { account, reason }))
            .collect();
        Ok(ContentMatches { indicators, accounts })
    }
}
