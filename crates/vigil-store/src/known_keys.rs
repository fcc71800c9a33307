//! Which indicator and account keys may be stored, held in memory so that a
//! content check whose keys are all unknown (most checks) needs no read of
//! storage at all.
//!
//! The set holds a 64-bit hash of each key, never the key itself: about
//! 18 bytes a key, and nothing in memory names an account. A hash that
//! collides only sends a check on to storage, which answers it exactly, so
//! a collision costs a read and never a wrong answer. Keys are only ever
//! added (vigil deletes no indicator or account), which is what makes a set
//! that can only say "certainly not" or "perhaps" safe to keep up to date
//! by adding: every write adds its keys before it commits, so once a write
//! is acknowledged its keys are here.
//!
//! The set answers only while it is complete: from the moment its load
//! from storage finished until it may have missed a change (on PostgreSQL,
//! when the connection that hears other replicas' writes drops). While it
//! is incomplete every check goes to storage, as it would without the set.

use std::collections::HashSet;
use std::sync::RwLock;

use crate::StoreError;
use crate::model::{AccountKey, IndicatorKey, Known};

/// Hashes added under one write lock while loading, so that checks are
/// never held up by a whole load.
pub(crate) const LOAD_CHUNK: usize = 16_384;

#[derive(Debug, Default)]
pub(crate) struct KnownKeys {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    hashes: HashSet<u64>,
    complete: bool,
    /// Counts the times the set became incomplete, so that a load that
    /// started before the latest loss of changes cannot mark it complete.
    epoch: u64,
}

/// What a check still has to ask storage for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StillToRead {
    pub(crate) indicators: Vec<IndicatorKey>,
    /// The accounts that may be stored, with their places in the request.
    pub(crate) accounts: Vec<(usize, AccountKey)>,
}

/// How far the set is: for tests and the load bench.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownKeysState {
    pub complete: bool,
    pub hashes: usize,
}

impl KnownKeys {
    /// The set is incomplete from now on; the epoch a load starting now
    /// must present to complete it.
    pub(crate) fn mark_incomplete(&self) -> u64 {
        let mut state = self.write();
        state.complete = false;
        state.epoch += 1;
        state.epoch
    }

    /// The epoch a load starting now must present to complete the set.
    pub(crate) fn epoch(&self) -> u64 {
        self.read().epoch
    }

    pub(crate) fn add(&self, hashes: impl IntoIterator<Item = u64>) {
        self.write().hashes.extend(hashes);
    }

    /// Marks the set complete, unless changes may have been missed since
    /// the load of `epoch` began.
    pub(crate) fn finish_load(&self, epoch: u64) -> bool {
        let mut state = self.write();
        if state.epoch == epoch {
            state.complete = true;
        }
        state.complete
    }

    pub(crate) fn state(&self) -> KnownKeysState {
        let state = self.read();
        KnownKeysState { complete: state.complete, hashes: state.hashes.len() }
    }

    /// The keys that may be stored, or `None` when the set is incomplete and
    /// every key must be read.
    pub(crate) fn narrow(&self, indicators: &[IndicatorKey], accounts: &[AccountKey]) -> Option<StillToRead> {
        let state = self.read();
        if !state.complete {
            return None;
        }
        let indicators = indicators.iter().filter(|key| state.hashes.contains(&indicator_hash(key))).cloned().collect();
        let accounts = accounts
            .iter()
            .enumerate()
            .filter(|(_, key)| account_hashes(key).any(|hash| state.hashes.contains(&hash)))
            .map(|(index, key)| (index, key.clone()))
            .collect();
        Some(StillToRead { indicators, accounts })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock leaves a set that is still a
        // superset of what it held: safe to go on with.
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Answers a content check's look-ups, sending `read` only the keys that
/// may be stored (all of them while the set is incomplete), and no read at
/// all when none may be.
pub(crate) async fn known_through<Read, Answer>(
    keys: &KnownKeys,
    indicators: Vec<IndicatorKey>,
    accounts: Vec<AccountKey>,
    read: Read,
) -> Result<Known, StoreError>
where
    Read: FnOnce(Vec<IndicatorKey>, Vec<AccountKey>) -> Answer,
    Answer: std::future::Future<Output = Result<Known, StoreError>>,
{
    let Some(still) = keys.narrow(&indicators, &accounts) else { return read(indicators, accounts).await };
    let mut found_accounts = vec![None; accounts.len()];
    if still.indicators.is_empty() && still.accounts.is_empty() {
        return Ok(Known { indicators: Vec::new(), accounts: found_accounts });
    }
    let (places, account_keys): (Vec<usize>, Vec<AccountKey>) = still.accounts.into_iter().unzip();
    let found = read(still.indicators, account_keys).await?;
    for (place, record) in places.into_iter().zip(found.accounts) {
        found_accounts[place] = record;
    }
    Ok(Known { indicators: found.indicators, accounts: found_accounts })
}

/// The same on every process and every build, since replicas exchange
/// hashes: FNV-1a over the parts, each part closed by a byte UTF-8 never
/// holds, then a finalizer that spreads FNV's bits over the whole word.
fn stable_hash(tag: u8, parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    };
    eat(tag);
    for part in parts {
        part.bytes().for_each(&mut eat);
        eat(0xff);
    }
    let mut mixed = hash;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^ (mixed >> 31)
}

pub(crate) fn indicator_hash(key: &IndicatorKey) -> u64 {
    stored_indicator_hash(key.kind.as_str(), &key.value)
}

/// An indicator row's hash, from its stored kind name: loading hashes rows
/// as they are read, without building keys.
pub(crate) fn stored_indicator_hash(kind: &str, value: &str) -> u64 {
    stable_hash(b'i', &[kind, value])
}

/// An account is found by its handle or by its platform id, so it is known
/// under each of them.
pub(crate) fn account_hashes(key: &AccountKey) -> impl Iterator<Item = u64> + '_ {
    stored_account_hashes(&key.platform, key.handle.as_deref(), key.platform_account_id.as_deref())
}

/// An account row's hashes, from its columns.
pub(crate) fn stored_account_hashes<'a>(
    platform: &'a str,
    handle: Option<&'a str>,
    platform_account_id: Option<&'a str>,
) -> impl Iterator<Item = u64> + 'a {
    let by_handle = handle.map(|handle| account_handle_hash(platform, handle));
    let by_id = platform_account_id.map(|id| account_platform_id_hash(platform, id));
    by_handle.into_iter().chain(by_id)
}

fn account_handle_hash(platform: &str, handle: &str) -> u64 {
    stable_hash(b'h', &[platform, handle])
}

fn account_platform_id_hash(platform: &str, platform_account_id: &str) -> u64 {
    stable_hash(b'p', &[platform, platform_account_id])
}

/// Every key a write of these documents may create.
pub(crate) fn document_hashes<'d>(documents: impl IntoIterator<Item = &'d crate::model::NewDocument>) -> Vec<u64> {
    let mut hashes = Vec::new();
    for document in documents {
        hashes.extend(document.sightings.iter().map(|sighting| indicator_hash(&sighting.indicator)));
        for account in document.author.iter().chain(&document.mentioned_accounts) {
            hashes.extend(account_hashes(account));
        }
    }
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IndicatorKind;

    fn url(value: &str) -> IndicatorKey {
        IndicatorKey { kind: IndicatorKind::Url, value: value.to_owned() }
    }

    fn account(handle: Option<&str>, id: Option<&str>) -> AccountKey {
        AccountKey {
            platform: "telegram".to_owned(),
            handle: handle.map(str::to_owned),
            platform_account_id: id.map(str::to_owned),
        }
    }

    #[test]
    fn an_incomplete_set_sends_every_key_to_storage() {
        let keys = KnownKeys::default();
        keys.add([indicator_hash(&url("https://example.org/a"))]);
        assert_eq!(keys.narrow(&[url("https://example.org/a")], &[]), None);
        assert!(keys.finish_load(keys.epoch()));
        assert!(keys.narrow(&[url("https://example.org/a")], &[]).is_some());
        keys.mark_incomplete();
        assert_eq!(keys.narrow(&[url("https://example.org/a")], &[]), None);
    }

    #[test]
    fn a_load_begun_before_changes_were_lost_does_not_complete_the_set() {
        let keys = KnownKeys::default();
        let epoch = keys.epoch();
        keys.mark_incomplete();
        assert!(!keys.finish_load(epoch));
        assert!(!keys.state().complete);
        assert!(keys.finish_load(keys.epoch()));
    }

    #[test]
    fn only_keys_that_may_be_stored_are_read() {
        let keys = KnownKeys::default();
        keys.add([indicator_hash(&url("https://example.org/known"))]);
        keys.add(account_hashes(&account(None, Some("1001"))));
        keys.add(account_hashes(&account(Some("canal_exemple"), None)));
        keys.finish_load(keys.epoch());
        let still = keys
            .narrow(
                &[url("https://example.org/known"), url("https://example.org/unknown")],
                &[
                    account(Some("someone_else"), None),
                    // Found by its platform id though its handle is new.
                    account(Some("new_name"), Some("1001")),
                    account(Some("canal_exemple"), None),
                    account(None, Some("1002")),
                ],
            )
            .unwrap();
        assert_eq!(still.indicators, vec![url("https://example.org/known")]);
        let places: Vec<usize> = still.accounts.iter().map(|(index, _)| *index).collect();
        assert_eq!(places, vec![1, 2]);
    }

    #[test]
    fn hashes_keep_kinds_platforms_and_parts_apart() {
        let domain = IndicatorKey { kind: IndicatorKind::Domain, value: "example.org".to_owned() };
        let as_url = url("example.org");
        assert_ne!(indicator_hash(&domain), indicator_hash(&as_url));
        assert_ne!(account_handle_hash("x", "abc"), account_platform_id_hash("x", "abc"));
        assert_ne!(account_handle_hash("x", "yabc"), account_handle_hash("xy", "abc"));
        // Pinned: replicas of different builds exchange these.
        assert_eq!(format!("{:016x}", stable_hash(b'h', &["telegram", "canal_exemple"])), PINNED_HANDLE_HASH);
    }

    // Computed independently (FNV-1a 64 then the splitmix64 finalizer).
    const PINNED_HANDLE_HASH: &str = "25bde494cdc0d516";
}
