//! Posting lists: which accounts hold a key (a handle base, a skeleton, an
//! avatar, a link, a posted indicator), bounded so a popular key cannot make
//! a query slow.
//!
//! Keys are 64-bit hashes of a kind tag and the text, so the index holds no
//! copy of each key's text; a collision can only add a candidate (every
//! candidate is scored on its real values) or nudge a rarity count.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    HandleBase = 1,
    HandleSkeleton,
    HandleConsonants,
    NameFolded,
    NameConsonants,
    Avatar,
    Link,
    Posted,
}

pub(crate) type Key = u64;

/// The key of `text` as a `kind`: FNV-1a with a final avalanche, so the map
/// can use the key itself as its hash.
pub(crate) fn key(kind: KeyKind, text: &str) -> Key {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ (kind as u64);
    for &byte in text.as_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// Every key, per account: `count` is exact; `accounts` holds at most
/// `max_accounts` of them. A key held by more accounts than that is too
/// common to gather candidates from (its rarity weight would be near nothing
/// anyway) and only its count is used. If it later falls back under the bound
/// its list may miss accounts added while it was over: they are then found
/// through their other keys, or not at all, never wrongly.
#[derive(Debug)]
pub(crate) struct PostingLists {
    lists: HashMap<Key, Posting, BuildHasherDefault<KeyIsHash>>,
    max_accounts: usize,
}

#[derive(Debug, Default)]
struct Posting {
    count: u32,
    accounts: Vec<i64>,
}

impl PostingLists {
    pub(crate) fn new(max_accounts: usize) -> Self {
        PostingLists { lists: HashMap::default(), max_accounts }
    }

    /// Callers add each (key, account) pair once.
    pub(crate) fn add(&mut self, key: Key, account_id: i64) {
        let posting = self.lists.entry(key).or_default();
        posting.count = posting.count.saturating_add(1);
        if posting.accounts.len() < self.max_accounts {
            posting.accounts.push(account_id);
        }
    }

    pub(crate) fn remove(&mut self, key: Key, account_id: i64) {
        if let Some(posting) = self.lists.get_mut(&key) {
            posting.count = posting.count.saturating_sub(1);
            posting.accounts.retain(|&id| id != account_id);
            if posting.count == 0 {
                self.lists.remove(&key);
            }
        }
    }

    /// How many accounts hold `key`, including those not in its list.
    pub(crate) fn count(&self, key: Key) -> u32 {
        self.lists.get(&key).map_or(0, |posting| posting.count)
    }

    /// The accounts holding `key`, or nothing when it is too common to gather from.
    pub(crate) fn accounts(&self, key: Key) -> &[i64] {
        match self.lists.get(&key) {
            Some(posting) if posting.count as usize <= self.max_accounts => &posting.accounts,
            _ => &[],
        }
    }
}

/// Keys are already well-mixed hashes: hashing them again would be wasted work.
#[derive(Debug, Default)]
pub(crate) struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_popular_key_is_counted_but_not_gathered() {
        let mut lists = PostingLists::new(3);
        let popular = key(KeyKind::Posted, "hashtag:appel");
        for account in 0..10 {
            lists.add(popular, account);
        }
        assert_eq!(lists.count(popular), 10);
        assert!(lists.accounts(popular).is_empty());
        for account in 0..8 {
            lists.remove(popular, account);
        }
        assert_eq!(lists.count(popular), 2);
        assert!(lists.accounts(popular).len() <= 2, "back under the bound, possibly incomplete");
        lists.remove(popular, 8);
        lists.remove(popular, 9);
        assert_eq!(lists.count(popular), 0);
    }

    #[test]
    fn kinds_do_not_share_keys() {
        assert_ne!(key(KeyKind::HandleBase, "abu_x"), key(KeyKind::HandleSkeleton, "abu_x"));
        assert_ne!(key(KeyKind::Link, "a"), key(KeyKind::Link, "b"));
    }
}
