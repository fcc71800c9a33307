//! What a recipient may receive: the records of a set its clearance covers,
//! and nothing of the others, not even through an excerpt that names them.
//!
//! An excerpt's text is left as it was referred: its SHA-256 is what lets a
//! recipient check it against the document, so it cannot be redacted here.
//! Text that must not reach a recipient is an excerpt to mark stricter.

use std::collections::HashSet;

use vigil_extract::IndicatorKind;
use vigil_store::{AccountId, AccountRecord, IndicatorKey, Tlp};

use super::{ExchangeError, ExportSet, Marked};

/// How many records of each kind a recipient was not cleared for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Withheld {
    pub accounts: usize,
    pub sites: usize,
    pub indicators: usize,
    pub excerpts: usize,
}

impl Withheld {
    pub fn total(&self) -> usize {
        self.accounts + self.sites + self.indicators + self.excerpts
    }
}

/// The part of `set` a recipient cleared for `clearance` may receive, and
/// what was withheld. RED is never cleared (it stays inside the
/// organisation), nor is a recipient below the set's own marking.
pub fn for_recipient(set: ExportSet, clearance: Tlp) -> Result<(ExportSet, Withheld), ExchangeError> {
    if clearance == Tlp::Red {
        return Err(ExchangeError::Clearance("RED never leaves vigil".to_owned()));
    }
    if set.tlp.rank() > clearance.rank() {
        return Err(ExchangeError::Clearance(format!(
            "the set is {}, stricter than a {} clearance",
            set.tlp.label(),
            clearance.label()
        )));
    }
    let cleared = |tlp: Tlp| tlp.rank() <= clearance.rank();
    let ExportSet { accounts, sites, indicators, .. } = &set;

    // What the recipient may learn from the records it receives: an excerpt
    // may still name a withheld record's key when another record that is
    // sent carries the same key.
    let mut sent_keys: HashSet<IndicatorKey> = HashSet::new();
    let mut withheld_keys: HashSet<IndicatorKey> = HashSet::new();
    let mut withheld_authors: HashSet<AccountId> = HashSet::new();
    for account in accounts {
        let keys = if cleared(account.tlp) { &mut sent_keys } else { &mut withheld_keys };
        keys.extend(account_indicator(&account.record));
        if !cleared(account.tlp) {
            withheld_authors.insert(account.record.id);
        }
    }
    for site in sites {
        let keys = if cleared(site.tlp) { &mut sent_keys } else { &mut withheld_keys };
        keys.insert(site.record.key.clone());
    }
    for indicator in indicators {
        let keys = if cleared(indicator.tlp) { &mut sent_keys } else { &mut withheld_keys };
        keys.insert(IndicatorKey { kind: indicator.record.kind, value: indicator.record.value.clone() });
    }
    withheld_keys.retain(|key| !sent_keys.contains(key));

    let mut withheld = Withheld::default();
    let ExportSet { subject, title, description, tlp, producer, created_at, accounts, sites, indicators, excerpts } =
        set;
    let accounts = keep_cleared(accounts, cleared, &mut withheld.accounts);
    let sites = keep_cleared(sites, cleared, &mut withheld.sites);
    let indicators = keep_cleared(indicators, cleared, &mut withheld.indicators);
    let mut excerpts = keep_cleared(excerpts, cleared, &mut withheld.excerpts);
    for excerpt in &mut excerpts {
        let excerpt = &mut excerpt.record;
        if excerpt.author.as_ref().is_some_and(|author| withheld_authors.contains(&author.id)) {
            excerpt.author = None;
        }
        excerpt.indicators.retain(|key| !withheld_keys.contains(key));
    }
    let set =
        ExportSet { subject, title, description, tlp, producer, created_at, accounts, sites, indicators, excerpts };
    Ok((set, withheld))
}

/// The `platform:handle` indicator an account is named by in texts.
fn account_indicator(account: &AccountRecord) -> Option<IndicatorKey> {
    let handle = account.handle.as_ref()?;
    Some(IndicatorKey { kind: IndicatorKind::Account, value: format!("{}:{handle}", account.platform) })
}

fn keep_cleared<T>(records: Vec<Marked<T>>, cleared: impl Fn(Tlp) -> bool, withheld: &mut usize) -> Vec<Marked<T>> {
    let before = records.len();
    let kept: Vec<Marked<T>> = records.into_iter().filter(|record| cleared(record.tlp)).collect();
    *withheld = before - kept.len();
    kept
}

#[cfg(test)]
mod tests {
    use vigil_store::{
        AccountStatus, DocumentKind, DocumentSummary, IndicatorRecord, ReferralExcerpt, SiteRecord, SiteStatus,
    };

    use super::*;
    use crate::exchange::ExportSubject;

    const TLPS: [Tlp; 5] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];

    fn name(tlp: Tlp) -> &'static str {
        match tlp {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "strict",
            Tlp::Red => "red",
        }
    }

    fn account(id: AccountId, handle: &str) -> AccountRecord {
        AccountRecord {
            id,
            platform: "telegram".to_owned(),
            handle: Some(handle.to_owned()),
            platform_account_id: None,
            first_seen: 1_700_000_000,
            last_seen: 1_700_000_000,
            document_count: 1,
            status: AccountStatus::Active,
            status_changed_at: 1_700_000_000,
            display_name: None,
            avatar_sha256: None,
            actor_id: None,
        }
    }

    fn excerpt(document: i64, author: AccountRecord, indicators: Vec<IndicatorKey>) -> ReferralExcerpt {
        ReferralExcerpt {
            document: DocumentSummary {
                id: document,
                kind: DocumentKind::Post,
                platform: Some("telegram".to_owned()),
                platform_post_id: None,
                url: None,
                language: None,
                observed_at: 1_700_000_000,
                text_sha256: "00".repeat(32),
                categories: Vec::new(),
                follow_up_of: None,
                sealed: false,
            },
            author: Some(author),
            span: None,
            text: "text".to_owned(),
            text_sha256: "00".repeat(32),
            document_text: "text".to_owned(),
            indicators,
        }
    }

    fn key(kind: IndicatorKind, value: String) -> IndicatorKey {
        IndicatorKey { kind, value }
    }

    /// One account, site, indicator and excerpt at each marking; every
    /// excerpt is written by the account of its own marking and names every
    /// key of the set, so what a clearance withholds shows in each of them.
    fn fixture(set_tlp: Tlp) -> ExportSet {
        let mut set = ExportSet {
            subject: ExportSubject::Indicators,
            title: "fixture".to_owned(),
            description: String::new(),
            tlp: set_tlp,
            producer: "Example Org".to_owned(),
            created_at: 1_700_000_000,
            accounts: Vec::new(),
            sites: Vec::new(),
            indicators: Vec::new(),
            excerpts: Vec::new(),
        };
        let mut every_key = Vec::new();
        for (index, tlp) in TLPS.into_iter().enumerate() {
            let handle = format!("{}_channel", name(tlp));
            set.accounts.push(Marked { tlp, record: account(index as AccountId + 1, &handle) });
            every_key.push(key(IndicatorKind::Account, format!("telegram:{handle}")));
            let site = key(IndicatorKind::Domain, format!("{}.example.net", name(tlp)));
            every_key.push(site.clone());
            set.sites.push(Marked {
                tlp,
                record: SiteRecord {
                    id: index as i64 + 1,
                    key: site,
                    status: SiteStatus::Online,
                    status_changed_at: 1_700_000_000,
                    first_seen: 1_700_000_000,
                    host_abuse_contact: None,
                    registrar_abuse_contact: None,
                    takedown_requests: 0,
                },
            });
            let value = format!("https://{}.example.org/", name(tlp));
            every_key.push(key(IndicatorKind::Url, value.clone()));
            set.indicators.push(Marked {
                tlp,
                record: IndicatorRecord {
                    kind: IndicatorKind::Url,
                    value,
                    first_seen: 1_700_000_000,
                    last_seen: 1_700_000_000,
                    sighting_count: 1,
                },
            });
        }
        for (index, tlp) in TLPS.into_iter().enumerate() {
            let author = set.accounts[index].record.clone();
            set.excerpts.push(Marked { tlp, record: excerpt(index as i64 + 1, author, every_key.clone()) });
        }
        set
    }

    fn all(count: usize) -> Withheld {
        Withheld { accounts: count, sites: count, indicators: count, excerpts: count }
    }

    /// Runs the clearance, compares the counts or the error, and checks on
    /// every answer that nothing stricter than the clearance is left, in a
    /// record or through an excerpt.
    fn check(set: ExportSet, clearance: Tlp, expected: Result<Withheld, &str>) {
        let original = set.clone();
        let answer = for_recipient(set, clearance);
        let (kept, withheld) = match (answer, expected) {
            (Ok(answer), Ok(expected)) => {
                assert_eq!(answer.1, expected, "withheld at {clearance:?}");
                answer
            }
            (Err(error), Err(expected)) => return assert_eq!(error.to_string(), expected),
            (answer, expected) => panic!("at {clearance:?}: got {answer:?}, expected {expected:?}"),
        };
        let cleared = |tlp: Tlp| tlp.rank() <= clearance.rank();
        assert!(kept.accounts.iter().all(|record| cleared(record.tlp)));
        assert!(kept.sites.iter().all(|record| cleared(record.tlp)));
        assert!(kept.indicators.iter().all(|record| cleared(record.tlp)));
        assert!(kept.excerpts.iter().all(|record| cleared(record.tlp)));
        let kept_count = kept.accounts.len() + kept.sites.len() + kept.indicators.len() + kept.excerpts.len();
        let original_count =
            original.accounts.len() + original.sites.len() + original.indicators.len() + original.excerpts.len();
        assert_eq!(kept_count + withheld.total(), original_count);

        let mut sent: HashSet<IndicatorKey> =
            kept.accounts.iter().filter_map(|a| account_indicator(&a.record)).collect();
        sent.extend(kept.sites.iter().map(|site| site.record.key.clone()));
        sent.extend(kept.indicators.iter().map(|i| key(i.record.kind, i.record.value.clone())));
        let sent_authors: HashSet<AccountId> = kept.accounts.iter().map(|account| account.record.id).collect();
        let set_authors: HashSet<AccountId> = original.accounts.iter().map(|account| account.record.id).collect();
        let mut set_keys: HashSet<IndicatorKey> =
            original.accounts.iter().filter_map(|a| account_indicator(&a.record)).collect();
        set_keys.extend(original.sites.iter().map(|site| site.record.key.clone()));
        set_keys.extend(original.indicators.iter().map(|i| key(i.record.kind, i.record.value.clone())));
        for (excerpt, before) in kept.excerpts.iter().zip(original.excerpts.iter().filter(|e| cleared(e.tlp))) {
            let excerpt = &excerpt.record;
            if let Some(author) = &excerpt.author {
                assert!(!set_authors.contains(&author.id) || sent_authors.contains(&author.id), "author leaked");
            }
            let expected: Vec<&IndicatorKey> =
                before.record.indicators.iter().filter(|k| !set_keys.contains(k) || sent.contains(k)).collect();
            assert_eq!(excerpt.indicators.iter().collect::<Vec<_>>(), expected, "excerpt {}", excerpt.document.id);
        }
    }

    #[test]
    fn a_clearance_withholds_what_is_stricter() {
        check(fixture(Tlp::Clear), Tlp::Clear, Ok(all(4)));
        check(fixture(Tlp::Clear), Tlp::Green, Ok(all(3)));
        check(fixture(Tlp::Clear), Tlp::Amber, Ok(all(2)));
        check(fixture(Tlp::Clear), Tlp::AmberStrict, Ok(all(1)));
        check(fixture(Tlp::Amber), Tlp::Amber, Ok(all(2)));
        check(fixture(Tlp::AmberStrict), Tlp::AmberStrict, Ok(all(1)));
        check(fixture(Tlp::Clear), Tlp::Red, Err("recipient clearance: RED never leaves vigil"));
        check(fixture(Tlp::Red), Tlp::Red, Err("recipient clearance: RED never leaves vigil"));
        check(
            fixture(Tlp::Amber),
            Tlp::Green,
            Err("recipient clearance: the set is TLP:AMBER, stricter than a TLP:GREEN clearance"),
        );
        check(
            fixture(Tlp::Red),
            Tlp::AmberStrict,
            Err("recipient clearance: the set is TLP:RED, stricter than a TLP:AMBER+STRICT clearance"),
        );
    }

    #[test]
    fn excerpts_lose_what_was_withheld_and_keep_what_was_sent() {
        check(fixture(Tlp::Clear), Tlp::Green, Ok(all(3)));
        let (kept, _) = for_recipient(fixture(Tlp::Clear), Tlp::Green).unwrap();
        let clear = &kept.excerpts[0].record;
        assert_eq!(clear.author.as_ref().map(|author| author.id), Some(1));
        let values: Vec<&str> = clear.indicators.iter().map(|key| key.value.as_str()).collect();
        assert_eq!(values.len(), 6, "{values:?}");
        assert!(values.iter().all(|value| value.contains("clear") || value.contains("green")), "{values:?}");

        // An author stricter than its excerpt is dropped from it.
        let mut set = fixture(Tlp::Clear);
        set.excerpts[0].record.author = Some(set.accounts[4].record.clone());
        let (kept, _) = for_recipient(set, Tlp::AmberStrict).unwrap();
        assert_eq!(kept.excerpts[0].record.author, None);

        // A withheld site's domain that a sent indicator also carries is no
        // secret: the excerpt keeps it.
        let mut set = fixture(Tlp::Clear);
        set.indicators.push(Marked {
            tlp: Tlp::Clear,
            record: IndicatorRecord {
                kind: IndicatorKind::Domain,
                value: "red.example.net".to_owned(),
                first_seen: 1_700_000_000,
                last_seen: 1_700_000_000,
                sighting_count: 1,
            },
        });
        check(set.clone(), Tlp::Clear, Ok(all(4)));
        let (kept, _) = for_recipient(set, Tlp::Clear).unwrap();
        assert!(kept.excerpts[0].record.indicators.iter().any(|key| key.value == "red.example.net"));

        // An author that is no record of the set goes with its excerpt.
        let mut set = fixture(Tlp::Clear);
        set.excerpts[0].record.author = Some(account(99, "elsewhere_channel"));
        let (kept, _) = for_recipient(set, Tlp::Clear).unwrap();
        assert_eq!(kept.excerpts[0].record.author.as_ref().map(|author| author.id), Some(99));
    }
}
