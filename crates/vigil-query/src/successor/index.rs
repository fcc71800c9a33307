//! The index of known accounts, and the scoring of one new account against it.

use std::collections::{HashMap, HashSet};

use super::evidence::Evidence;
use super::handle::{HandleForms, HandleRelation, RarityKey, handle_forms};
use super::name::{NameForms, name_forms};
use super::postings::{Key, KeyKind, PostingLists, key};
use super::{AccountProfile, AccountStatus, SuccessorCandidate, SuccessorSettings};

/// Known accounts, findable by what a re-created account tends to keep.
#[derive(Debug)]
pub struct SuccessorIndex {
    settings: SuccessorSettings,
    accounts: HashMap<i64, KnownAccount>,
    /// Kept apart from `accounts`: posts may be recorded before the profile.
    posted: HashMap<i64, Vec<PostedItem>>,
    postings: PostingLists,
}

impl SuccessorIndex {
    pub fn new(settings: SuccessorSettings) -> Self {
        let postings = PostingLists::new(settings.max_accounts_per_key);
        SuccessorIndex { settings, accounts: HashMap::new(), posted: HashMap::new(), postings }
    }

    pub fn settings(&self) -> &SuccessorSettings {
        &self.settings
    }

    /// Adds an account, or replaces what is known of it (a new status, a new
    /// snapshot of its profile). What it posted is kept.
    pub fn upsert(&mut self, profile: AccountProfile) {
        self.forget_profile(profile.account_id);
        let features = Features::of(&profile, self.settings.max_links_per_account);
        let keys = features.keys();
        for &key in &keys {
            self.postings.add(key, profile.account_id);
        }
        self.accounts.insert(profile.account_id, KnownAccount { profile, features, keys });
    }

    /// Forgets an account and what it posted.
    pub fn remove(&mut self, account_id: i64) {
        self.forget_profile(account_id);
        for item in self.posted.remove(&account_id).unwrap_or_default() {
            self.postings.remove(item.key, account_id);
        }
    }

    /// Remembers that `account_id` posted `indicator` ("hashtag:appel",
    /// "url:https://..."), keeping its most recent
    /// [`SuccessorSettings::max_posted_per_account`] indicators.
    pub fn record_posted(&mut self, account_id: i64, indicator: &str, at: i64) {
        let limit = self.settings.max_posted_per_account;
        if indicator.is_empty() || indicator.len() > MAX_VALUE_BYTES || limit == 0 {
            return;
        }
        let key = key(KeyKind::Posted, indicator);
        let items = self.posted.entry(account_id).or_default();
        if let Some(item) = items.iter_mut().find(|item| item.key == key && item.value == indicator) {
            item.at = item.at.max(at);
            return;
        }
        if items.len() >= limit
            && let Some(oldest) = items.iter().enumerate().min_by_key(|(_, item)| item.at).map(|(i, _)| i)
        {
            let evicted = items.swap_remove(oldest);
            self.postings.remove(evicted.key, account_id);
        }
        items.push(PostedItem { key, value: indicator.to_owned(), at });
        self.postings.add(key, account_id);
    }

    /// Known accounts (profiles upserted).
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Known accounts `new` is probably a re-creation of, best first, scoring
    /// at least the threshold. `posted` is what the new account posted so far
    /// (indicator, unix time); `is_rejected(predecessor, successor)` says an
    /// analyst already rejected that pair, which is then never proposed.
    /// `new` is never its own candidate, whether it is indexed or not.
    pub fn successors_of(
        &self,
        new: &AccountProfile,
        posted: &[(String, i64)],
        now: i64,
        is_rejected: &dyn Fn(i64, i64) -> bool,
    ) -> Vec<SuccessorCandidate> {
        let query = NewAccount::of(self, new, posted, now);
        let gathered = self.gather(&query);
        let mut candidates: Vec<SuccessorCandidate> = gathered
            .accounts
            .iter()
            .filter_map(|id| {
                let old = self.accounts.get(id)?;
                let shared_posted = gathered.shared_posted.get(id).map_or(&[][..], Vec::as_slice);
                self.score(&query, old, shared_posted)
            })
            .filter(|candidate| candidate.score >= self.settings.threshold)
            .filter(|candidate| !is_rejected(candidate.predecessor, new.account_id))
            .collect();
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.predecessor.cmp(&b.predecessor)));
        candidates.truncate(self.settings.max_candidates);
        candidates
    }
}

/// Longest link, avatar hash or posted indicator read; longer ones are not
/// real indicator values and are ignored.
const MAX_VALUE_BYTES: usize = 2048;

// Evidence weights (see the module documentation for the rule as a whole).
const SAME_HANDLE: f64 = 1.8;
const EXTENDED_HANDLE: f64 = 1.6;
const SHARED_STEM: f64 = 1.5;
const LOOK_ALIKE_HANDLE: f64 = 1.3;
const TRANSLITERATED_HANDLE: f64 = 0.8;
const ONE_EDIT_HANDLE: f64 = 0.9;
const TWO_EDITS_HANDLE: f64 = 0.6;
const SAME_NAME: f64 = 0.9;
const SIMILAR_NAME: f64 = 0.7;
const SAME_AVATAR: f64 = 2.0;
const SHARED_LINK: f64 = 1.5;
const SHARED_LINKS_AT_MOST: f64 = 3.0;
const POSTED_SAME: f64 = 0.7;
const POSTED_SAME_AT_MOST: f64 = 1.5;
/// An indicator posted long after the suspension, or by an account never
/// suspended, says less about a re-creation.
const POSTED_OUTSIDE_WINDOW: f64 = 0.5;
const RECENT_SUSPENSION: f64 = 0.6;

/// Accounts sharing a handle family before it counts as common: a few
/// generations of one re-created account share it.
const HANDLE_SHARE: f64 = 3.0;
/// Accounts sharing a name, avatar, link or posted indicator before it counts as common.
const VALUE_SHARE: f64 = 2.0;

// Priors by the predecessor's status.
const PRIOR_RECENTLY_SUSPENDED: f64 = 1.0;
/// What the recent prior falls to at the end of the window.
const PRIOR_END_OF_WINDOW: f64 = 0.8;
const PRIOR_SUSPENDED_LONG_AGO: f64 = 0.45;
const PRIOR_REPORTED: f64 = 0.5;
const PRIOR_UP: f64 = 0.3;

/// Longest skeleton whose one-edit neighbours are looked up (about 60 keys a character).
const MAX_NEIGHBOURHOOD_CHARS: usize = 24;
/// Letters a skeleton can hold (`i` is folded into `l`, and only these digits
/// survive the digit-for-letter swaps).
const SKELETON_ALPHABET: &str = "abcdefghjklmnopqrstuvwxyz269";

#[derive(Debug)]
struct KnownAccount {
    profile: AccountProfile,
    features: Features,
    /// Every key the account is listed under, to unlist it.
    keys: Vec<Key>,
}

#[derive(Debug)]
struct PostedItem {
    key: Key,
    value: String,
    at: i64,
}

/// A profile's values in the forms they are compared in.
#[derive(Debug)]
struct Features {
    handle: Option<HandleForms>,
    name: Option<NameForms>,
    avatar: Option<String>,
    links: Vec<String>,
}

impl Features {
    fn of(profile: &AccountProfile, max_links: usize) -> Self {
        let handle = profile.handle.as_deref().and_then(handle_forms);
        let name = profile.display_name.as_deref().and_then(name_forms);
        let avatar = profile
            .avatar_sha256
            .as_deref()
            .map(|hash| hash.trim().to_ascii_lowercase())
            .filter(|hash| !hash.is_empty() && hash.len() <= MAX_VALUE_BYTES);
        let mut links: Vec<String> = Vec::new();
        for link in &profile.links {
            let link = link.trim();
            if links.len() >= max_links {
                break;
            }
            if !link.is_empty() && link.len() <= MAX_VALUE_BYTES && !links.iter().any(|known| known == link) {
                links.push(link.to_owned());
            }
        }
        Features { handle, name, avatar, links }
    }

    fn keys(&self) -> Vec<Key> {
        let mut keys = Vec::new();
        if let Some(handle) = &self.handle {
            keys.extend(handle.bases.iter().map(|base| key(KeyKind::HandleBase, base)));
            keys.push(key(KeyKind::HandleSkeleton, &handle.skeleton));
            keys.push(key(KeyKind::HandleSkeleton, &handle.full_skeleton));
            keys.extend(handle.consonants.iter().map(|consonants| key(KeyKind::HandleConsonants, consonants)));
        }
        if let Some(name) = &self.name {
            keys.push(key(KeyKind::NameFolded, &name.folded));
            keys.extend(name.consonants.iter().map(|consonants| key(KeyKind::NameConsonants, consonants)));
        }
        keys.extend(self.avatar.iter().map(|avatar| key(KeyKind::Avatar, avatar)));
        keys.extend(self.links.iter().map(|link| key(KeyKind::Link, link)));
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// The new account, prepared once per query.
struct NewAccount<'a> {
    profile: &'a AccountProfile,
    features: Features,
    /// Distinct indicators with their earliest time, at most `max_posted_per_account`.
    posted: Vec<(Key, &'a str, i64)>,
    /// Keys the new account itself holds in the index, if it is indexed: it
    /// must not make its own values look common.
    own_keys: HashSet<Key>,
    /// When the new account appeared: its first sighting, or `now` if unknown.
    appeared_at: i64,
    now: i64,
}

impl<'a> NewAccount<'a> {
    fn of(index: &SuccessorIndex, profile: &'a AccountProfile, posted: &'a [(String, i64)], now: i64) -> Self {
        let settings = &index.settings;
        let features = Features::of(profile, settings.max_links_per_account);
        let mut distinct: Vec<(Key, &'a str, i64)> = Vec::new();
        for (indicator, at) in posted {
            if indicator.is_empty() || indicator.len() > MAX_VALUE_BYTES {
                continue;
            }
            let key = key(KeyKind::Posted, indicator);
            match distinct.iter().position(|&(known, value, _)| known == key && value == indicator) {
                Some(position) => distinct[position].2 = distinct[position].2.min(*at),
                None if distinct.len() < settings.max_posted_per_account => distinct.push((key, indicator, *at)),
                None => {}
            }
        }
        let mut own_keys = HashSet::new();
        if let Some(own) = index.accounts.get(&profile.account_id) {
            own_keys.extend(own.keys.iter().copied());
        }
        if let Some(own_posts) = index.posted.get(&profile.account_id) {
            own_keys.extend(own_posts.iter().map(|item| item.key));
        }
        let appeared_at = if profile.first_seen > 0 { profile.first_seen.min(now) } else { now };
        NewAccount { profile, features, posted: distinct, own_keys, appeared_at, now }
    }
}

struct Gathered {
    accounts: Vec<i64>,
    /// Per gathered account, which of the new account's posted indicators it posted too.
    shared_posted: HashMap<i64, Vec<usize>>,
}

impl SuccessorIndex {
    /// Accounts worth scoring, from the strongest keys to the weakest, at most
    /// `max_scored` of them, suspended ones first.
    fn gather(&self, query: &NewAccount<'_>) -> Gathered {
        let limit = self.settings.max_scored;
        // Gather past the limit, then keep suspended accounts first.
        let mut collector = Collector::new(query.profile.account_id, limit.saturating_mul(2));
        let features = &query.features;
        if let Some(handle) = &features.handle {
            for base in &handle.bases {
                collector.take(self.postings.accounts(key(KeyKind::HandleBase, base)));
            }
        }
        if let Some(avatar) = &features.avatar {
            collector.take(self.postings.accounts(key(KeyKind::Avatar, avatar)));
        }
        for link in &features.links {
            collector.take(self.postings.accounts(key(KeyKind::Link, link)));
        }
        if let Some(handle) = &features.handle {
            collector.take(self.postings.accounts(key(KeyKind::HandleSkeleton, &handle.skeleton)));
            if handle.full_skeleton != handle.skeleton {
                collector.take(self.postings.accounts(key(KeyKind::HandleSkeleton, &handle.full_skeleton)));
            }
            if let Some(consonants) = &handle.consonants {
                collector.take(self.postings.accounts(key(KeyKind::HandleConsonants, consonants)));
            }
            for_each_one_edit_neighbour(&handle.skeleton, |neighbour| {
                collector.take(self.postings.accounts(key(KeyKind::HandleSkeleton, neighbour)));
            });
        }
        if let Some(name) = &features.name {
            collector.take(self.postings.accounts(key(KeyKind::NameFolded, &name.folded)));
            if let Some(consonants) = &name.consonants {
                collector.take(self.postings.accounts(key(KeyKind::NameConsonants, consonants)));
            }
        }
        let mut shared_posted: HashMap<i64, Vec<usize>> = HashMap::new();
        for (position, &(posted_key, _, _)) in query.posted.iter().enumerate() {
            let accounts = self.postings.accounts(posted_key);
            collector.take(accounts);
            for &id in accounts {
                if collector.seen.contains(&id) {
                    shared_posted.entry(id).or_default().push(position);
                }
            }
        }
        let mut accounts = collector.accounts;
        if accounts.len() > limit {
            let is_suspended =
                |id: &i64| self.accounts.get(id).is_some_and(|known| known.profile.status == AccountStatus::Suspended);
            accounts.sort_by_key(|id| !is_suspended(id));
            accounts.truncate(limit);
        }
        Gathered { accounts, shared_posted }
    }

    fn forget_profile(&mut self, account_id: i64) {
        if let Some(known) = self.accounts.remove(&account_id) {
            for key in known.keys {
                self.postings.remove(key, account_id);
            }
        }
    }

    fn score(&self, query: &NewAccount<'_>, old: &KnownAccount, shared_posted: &[usize]) -> Option<SuccessorCandidate> {
        let new = query.profile;
        let profile = &old.profile;
        if profile.account_id == new.account_id {
            return None;
        }
        let window = self.settings.recent_window_secs.max(1);
        let mut evidence = Vec::new();
        let mut weight = 0.0;
        // The rarity of the strongest identity evidence: a recent suspension
        // counts only as much as what ties the accounts together is rare.
        let mut identity_rarity: f64 = 0.0;

        if let (Some(new_handle), Some(old_handle)) = (&query.features.handle, &old.features.handle)
            && let Some((relation, rarity_key)) = new_handle.relate(old_handle)
        {
            let (base_weight, count) = match relation {
                HandleRelation::Same => (SAME_HANDLE, self.handle_count(query, rarity_key)),
                HandleRelation::Extended => (EXTENDED_HANDLE, self.handle_count(query, rarity_key)),
                HandleRelation::SharedStem => (SHARED_STEM, self.handle_count(query, rarity_key)),
                HandleRelation::LookAlike => (LOOK_ALIKE_HANDLE, self.handle_count(query, rarity_key)),
                HandleRelation::Transliterated => (TRANSLITERATED_HANDLE, self.handle_count(query, rarity_key)),
                HandleRelation::NearMiss { edits } => {
                    // Either skeleton being common makes a near miss cheap.
                    let old_count = self.count(query, key(KeyKind::HandleSkeleton, &old_handle.skeleton));
                    let weight = if edits <= 1 { ONE_EDIT_HANDLE } else { TWO_EDITS_HANDLE };
                    (weight, self.handle_count(query, rarity_key).max(old_count))
                }
            };
            // A number added to a common name (`mariam_87`) is itself
            // common: the stem's rarity tempers that of the family.
            let stem_count =
                new_handle.bases.last().map_or(0, |stem| self.count(query, key(KeyKind::HandleBase, stem)));
            let rarity = (rarity(count, HANDLE_SHARE) * rarity(stem_count, HANDLE_SHARE)).sqrt();
            weight += base_weight * rarity;
            identity_rarity = identity_rarity.max(rarity);
            evidence.push(Evidence::SimilarHandle {
                new: new.handle.clone().unwrap_or_default(),
                old: profile.handle.clone().unwrap_or_default(),
                relation,
            });
        }

        if let (Some(new_name), Some(old_name)) = (&query.features.name, &old.features.name) {
            if new_name.folded == old_name.folded {
                let count = self.count(query, key(KeyKind::NameFolded, &new_name.folded));
                weight += SAME_NAME * rarity(count, VALUE_SHARE);
                evidence.push(Evidence::SameDisplayName { name: profile.display_name.clone().unwrap_or_default() });
            } else if let (Some(new_consonants), Some(old_consonants)) = (&new_name.consonants, &old_name.consonants)
                && new_consonants == old_consonants
            {
                let count = self.count(query, key(KeyKind::NameConsonants, new_consonants));
                weight += SIMILAR_NAME * rarity(count, VALUE_SHARE);
                evidence.push(Evidence::SimilarDisplayName {
                    new: new.display_name.clone().unwrap_or_default(),
                    old: profile.display_name.clone().unwrap_or_default(),
                });
            }
        }

        if let (Some(new_avatar), Some(old_avatar)) = (&query.features.avatar, &old.features.avatar)
            && new_avatar == old_avatar
        {
            let rarity = rarity(self.count(query, key(KeyKind::Avatar, new_avatar)), VALUE_SHARE);
            weight += SAME_AVATAR * rarity;
            identity_rarity = identity_rarity.max(rarity);
            evidence.push(Evidence::SameAvatar);
        }

        let mut links_weight = 0.0;
        for link in query.features.links.iter().filter(|link| old.features.links.contains(link)) {
            let rarity = rarity(self.count(query, key(KeyKind::Link, link)), VALUE_SHARE);
            links_weight += SHARED_LINK * rarity;
            identity_rarity = identity_rarity.max(rarity);
            evidence.push(Evidence::SharedLink { value: link.clone() });
        }
        weight += links_weight.min(SHARED_LINKS_AT_MOST);

        let suspended_at = (profile.status == AccountStatus::Suspended).then_some(profile.status_changed_at);
        let old_posts = self.posted.get(&profile.account_id).map_or(&[][..], Vec::as_slice);
        let mut posted_weight = 0.0;
        for &position in shared_posted {
            let Some(&(posted_key, value, at)) = query.posted.get(position) else { continue };
            if !old_posts.iter().any(|item| item.key == posted_key && item.value == value) {
                continue;
            }
            let after_suspension = suspended_at.map(|suspended| at.saturating_sub(suspended));
            let soon_after = after_suspension.is_some_and(|secs| (0..=window).contains(&secs));
            let rarity = rarity(self.count(query, posted_key), VALUE_SHARE);
            posted_weight += POSTED_SAME * rarity * if soon_after { 1.0 } else { POSTED_OUTSIDE_WINDOW };
            evidence.push(Evidence::PostedSame {
                value: value.to_owned(),
                hours_after_suspension: after_suspension.map(hours),
            });
        }
        weight += posted_weight.min(POSTED_SAME_AT_MOST);

        if evidence.is_empty() {
            return None;
        }

        let (mut prior, recency) = match suspended_at {
            Some(suspended) => {
                // Either side of the suspension: a backup made just before a
                // ban tells as much as a re-creation just after, and a first
                // sighting may be stamped with the hour, before the suspension.
                let gap = query.appeared_at.saturating_sub(suspended).saturating_abs();
                if gap <= window {
                    let fraction = gap as f64 / window as f64;
                    let prior = PRIOR_RECENTLY_SUSPENDED - (PRIOR_RECENTLY_SUSPENDED - PRIOR_END_OF_WINDOW) * fraction;
                    (prior, RECENT_SUSPENSION * identity_rarity)
                } else {
                    (PRIOR_SUSPENDED_LONG_AGO, 0.0)
                }
            }
            None if profile.status == AccountStatus::Reported => (PRIOR_REPORTED, 0.0),
            None => (PRIOR_UP, 0.0),
        };
        if profile.platform != new.platform {
            prior *= self.settings.other_platform_prior;
            evidence.push(Evidence::OtherPlatform { platform: profile.platform.clone() });
        }
        evidence.push(match suspended_at {
            Some(suspended) => Evidence::PredecessorSuspended { hours_ago: hours(query.now.saturating_sub(suspended)) },
            None => Evidence::PredecessorNotSuspended { status: profile.status },
        });

        let score = 1.0 - (-(weight + recency) * prior).exp();
        score.is_finite().then_some(SuccessorCandidate { predecessor: profile.account_id, score, evidence })
    }

    /// Accounts holding `key`, not counting the new account itself.
    fn count(&self, query: &NewAccount<'_>, key: Key) -> u32 {
        let count = self.postings.count(key);
        if query.own_keys.contains(&key) { count.saturating_sub(1) } else { count }
    }

    fn handle_count(&self, query: &NewAccount<'_>, rarity_key: RarityKey<'_>) -> u32 {
        let key = match rarity_key {
            RarityKey::Base(base) => key(KeyKind::HandleBase, base),
            RarityKey::Skeleton(skeleton) => key(KeyKind::HandleSkeleton, skeleton),
            RarityKey::Consonants(consonants) => key(KeyKind::HandleConsonants, consonants),
        };
        self.count(query, key)
    }
}

/// 1 for a value held by at most `share` accounts, then falling as
/// `sqrt(share / count)`: 100 accounts sharing a stem make it worth a sixth.
fn rarity(count: u32, share: f64) -> f64 {
    let count = f64::from(count.max(1));
    if count <= share { 1.0 } else { (share / count).sqrt() }
}

fn hours(secs: i64) -> f64 {
    secs as f64 / 3600.0
}

/// Gathers distinct accounts up to a limit, leaving out the new account.
struct Collector {
    new_account: i64,
    limit: usize,
    seen: HashSet<i64>,
    accounts: Vec<i64>,
}

impl Collector {
    fn new(new_account: i64, limit: usize) -> Self {
        Collector { new_account, limit, seen: HashSet::new(), accounts: Vec::new() }
    }

    fn take(&mut self, accounts: &[i64]) {
        for &id in accounts {
            if self.accounts.len() >= self.limit {
                return;
            }
            if id != self.new_account && self.seen.insert(id) {
                self.accounts.push(id);
            }
        }
    }
}

/// Calls `visit` with each string one deletion, substitution, insertion or
/// swap of neighbours away from `skeleton`, when the skeleton is long enough
/// for a near miss to count (see `HandleForms::relate`) and short enough to
/// keep the look-ups bounded. Some neighbours repeat; look-ups are idempotent.
fn for_each_one_edit_neighbour(skeleton: &str, mut visit: impl FnMut(&str)) {
    let letters: Vec<char> = skeleton.chars().collect();
    if letters.len() < 5 || letters.len() > MAX_NEIGHBOURHOOD_CHARS {
        return;
    }
    let mut buffer = String::with_capacity(skeleton.len() + 4);
    let mut emit = |parts: &[&[char]], middle: Option<char>, buffer: &mut String| {
        buffer.clear();
        buffer.extend(parts[0].iter());
        buffer.extend(middle);
        for part in &parts[1..] {
            buffer.extend(part.iter());
        }
        visit(buffer);
    };
    for i in 0..letters.len() {
        emit(&[&letters[..i], &letters[i + 1..]], None, &mut buffer);
        for letter in SKELETON_ALPHABET.chars().filter(|&letter| letter != letters[i]) {
            emit(&[&letters[..i], &letters[i + 1..]], Some(letter), &mut buffer);
        }
        if i + 1 < letters.len() && letters[i] != letters[i + 1] {
            emit(&[&letters[..i], &[letters[i + 1], letters[i]], &letters[i + 2..]], None, &mut buffer);
        }
    }
    for i in 0..=letters.len() {
        for letter in SKELETON_ALPHABET.chars() {
            emit(&[&letters[..i], &letters[i..]], Some(letter), &mut buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600;
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn account(id: i64, handle: &str, status: AccountStatus, changed_at: i64) -> AccountProfile {
        AccountProfile {
            account_id: id,
            platform: "x".into(),
            handle: Some(handle.into()),
            status,
            status_changed_at: changed_at,
            first_seen: changed_at - 30 * DAY,
            ..AccountProfile::default()
        }
    }

    fn suspended(id: i64, handle: &str, hours_ago: i64) -> AccountProfile {
        account(id, handle, AccountStatus::Suspended, NOW - hours_ago * HOUR)
    }

    fn new_account(id: i64, handle: &str) -> AccountProfile {
        AccountProfile { first_seen: NOW, ..account(id, handle, AccountStatus::Active, NOW) }
    }

    fn index_of(accounts: impl IntoIterator<Item = AccountProfile>) -> SuccessorIndex {
        let mut index = SuccessorIndex::new(SuccessorSettings::default());
        for account in accounts {
            index.upsert(account);
        }
        index
    }

    fn successors(index: &SuccessorIndex, new: &AccountProfile) -> Vec<SuccessorCandidate> {
        index.successors_of(new, &[], NOW, &|_, _| false)
    }

    fn predecessors(index: &SuccessorIndex, new: &AccountProfile) -> Vec<i64> {
        successors(index, new).iter().map(|candidate| candidate.predecessor).collect()
    }

    #[test]
    fn a_handle_variant_of_a_recent_suspension_is_a_successor() {
        let index = index_of([suspended(1, "abu_karimo", 3), suspended(2, "news_example", 3)]);
        for handle in ["abu_karimo2", "abu_karimo_3", "_abu_karimo_", "1abu_karimo", "аbu_karimo", "abu_kar1mo"] {
            let found = successors(&index, &new_account(10, handle));
            assert_eq!(found.len(), 1, "{handle}: {found:?}");
            assert_eq!(found[0].predecessor, 1);
            assert!(found[0].score >= 0.8);
        }
        let found = successors(&index, &new_account(10, "abu_karimo_3"));
        assert_eq!(found[0].summary(), "handle abu_karimo_3 ~ abu_karimo (suspended 3 h ago)");
    }

    #[test]
    fn weak_predecessors_are_not_proposed() {
        let index = index_of([
            account(1, "abu_karimo", AccountStatus::Active, NOW - 100 * DAY),
            suspended(2, "news_example", 24 * 90),
            account(3, "media_talvero", AccountStatus::Reported, NOW - DAY),
        ]);
        assert!(predecessors(&index, &new_account(10, "abu_karimo2")).is_empty(), "still active");
        assert!(predecessors(&index, &new_account(10, "news_example2")).is_empty(), "suspended long ago");
        assert!(predecessors(&index, &new_account(10, "media_talvero_1")).is_empty(), "only reported");
        assert!(predecessors(&index, &new_account(10, "unrelated_name")).is_empty());
    }

    #[test]
    fn the_new_account_is_never_its_own_candidate() {
        let mut index = index_of([suspended(1, "abu_karimo", 3)]);
        let new = new_account(10, "abu_karimo2");
        index.upsert(new.clone());
        index.record_posted(10, "url:https://karimo.example.org/a", NOW);
        assert_eq!(predecessors(&index, &new), vec![1]);
        let same_id_suspended = AccountProfile { first_seen: NOW - 2 * HOUR, ..suspended(10, "abu_karimo2", 1) };
        index.upsert(same_id_suspended.clone());
        assert_eq!(predecessors(&index, &same_id_suspended), vec![1]);
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn a_rejected_pair_is_never_proposed() {
        let index = index_of([suspended(1, "abu_karimo", 3), suspended(2, "abu_karimo1", 5)]);
        let new = new_account(10, "abu_karimo_2");
        let rejected: HashSet<(i64, i64)> = [(1, 10)].into();
        let found = index.successors_of(&new, &[], NOW, &|old, new| rejected.contains(&(old, new)));
        assert_eq!(found.iter().map(|candidate| candidate.predecessor).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn each_kind_of_evidence_is_spelled_out() {
        let mut old = suspended(1, "abu_karimo", 5);
        old.display_name = Some("أبو محمد".into());
        old.avatar_sha256 = Some("AB12".into());
        old.links = vec!["account:telegram:karimo_chan".into(), "url:https://karimo.example.org/".into()];
        let mut index = index_of([old]);
        index.record_posted(1, "url:https://karimo.example.org/v/1", NOW - 10 * HOUR);
        let mut new = new_account(10, "abu_karimo2");
        new.display_name = Some("Abou Mohamed".into());
        new.avatar_sha256 = Some("ab12".into());
        new.links = vec!["account:telegram:karimo_chan".into()];
        let posted = [("url:https://karimo.example.org/v/1".to_owned(), NOW - 2 * HOUR)];
        let found = index.successors_of(&new, &posted, NOW, &|_, _| false);
        assert_eq!(found.len(), 1);
        assert!(found[0].score > 0.99, "{}", found[0].score);
        assert_eq!(
            found[0].summary(),
            "handle abu_karimo2 ~ abu_karimo (suspended 5 h ago); display name Abou Mohamed ~ أبو محمد; \
             same avatar; same link account:telegram:karimo_chan; \
             posted url:https://karimo.example.org/v/1 3 h after the suspension"
        );
    }

    #[test]
    fn same_name_alone_or_posts_alone_are_not_enough() {
        let mut old = suspended(1, "abu_karimo", 5);
        old.display_name = Some("Talvero Brisk".into());
        let mut index = index_of([old]);
        index.record_posted(1, "url:https://karimo.example.org/v/1", NOW - 10 * HOUR);
        index.record_posted(1, "url:https://karimo.example.org/v/2", NOW - 10 * HOUR);
        let mut new = new_account(10, "quite_different");
        new.display_name = Some("talvero brisk".into());
        let posted = [
            ("url:https://karimo.example.org/v/1".to_owned(), NOW - HOUR),
            ("url:https://karimo.example.org/v/2".to_owned(), NOW - HOUR),
        ];
        assert!(index.successors_of(&new, &[], NOW, &|_, _| false).is_empty(), "same name only");
        new.display_name = None;
        assert!(index.successors_of(&new, &posted, NOW, &|_, _| false).is_empty(), "same posts only");
    }

    #[test]
    fn another_platform_needs_more_than_a_handle() {
        let mut old = suspended(1, "abu_karimo", 5);
        old.platform = "telegram".into();
        old.avatar_sha256 = Some("ab12".into());
        old.links = vec!["url:https://karimo.example.org/".into()];
        let index = index_of([old]);
        assert!(predecessors(&index, &new_account(10, "abu_karimo2")).is_empty());
        let mut new = new_account(10, "abu_karimo2");
        new.avatar_sha256 = Some("ab12".into());
        new.links = vec!["url:https://karimo.example.org/".into()];
        let found = successors(&index, &new);
        assert_eq!(found.len(), 1);
        assert!(found[0].evidence.contains(&Evidence::OtherPlatform { platform: "telegram".into() }));
    }

    #[test]
    fn common_values_count_for_little() {
        let settings = SuccessorSettings { max_accounts_per_key: 20, ..SuccessorSettings::default() };
        let mut index = SuccessorIndex::new(settings);
        for n in 0..200 {
            let mut common = suspended(n, &format!("ahmed_{}", 1900 + n), 4);
            common.avatar_sha256 = Some("default-avatar".into());
            index.upsert(common);
            index.record_posted(n, "hashtag:appel", NOW - 5 * HOUR);
        }
        let mut new = new_account(1_000, "ahmed_2150");
        assert!(predecessors(&index, &new).is_empty(), "a common stem");
        new.handle = Some("somebody_else".into());
        new.avatar_sha256 = Some("default-avatar".into());
        let posted = [("hashtag:appel".to_owned(), NOW)];
        assert!(index.successors_of(&new, &posted, NOW, &|_, _| false).is_empty(), "a default avatar, a popular tag");
        let mut new = new_account(1_000, "ahmed_1950_2");
        assert!(predecessors(&index, &new).is_empty(), "an extension of a common stem, alone");
        index.upsert(AccountProfile { avatar_sha256: Some("cd34".into()), ..suspended(50, "ahmed_1950", 4) });
        new.avatar_sha256 = Some("cd34".into());
        assert_eq!(predecessors(&index, &new), vec![50], "an extension of a common stem, and the same avatar");
    }

    #[test]
    fn the_most_recent_generation_comes_first() {
        let index = index_of([suspended(1, "abu_karimo", 24 * 5), suspended(2, "abu_karimo2", 2)]);
        assert_eq!(predecessors(&index, &new_account(10, "abu_karimo_3")), vec![2, 1]);
    }

    #[test]
    fn upsert_replaces_and_remove_forgets() {
        let mut index = index_of([account(1, "abu_karimo", AccountStatus::Active, NOW - DAY)]);
        let new = new_account(10, "abu_karimo2");
        assert!(predecessors(&index, &new).is_empty());
        index.upsert(suspended(1, "abu_karimo", 2));
        assert_eq!(predecessors(&index, &new), vec![1]);
        index.record_posted(1, "hashtag:appel", NOW);
        index.remove(1);
        assert!(predecessors(&index, &new).is_empty());
        assert!(index.is_empty());
    }

    #[test]
    fn posted_indicators_are_bounded_per_account() {
        let settings = SuccessorSettings { max_posted_per_account: 4, ..SuccessorSettings::default() };
        let mut index = SuccessorIndex::new(settings);
        index.upsert(suspended(1, "abu_karimo", 2));
        for n in 0..10 {
            index.record_posted(1, &format!("url:https://karimo.example.org/{n}"), NOW - 100 + n);
        }
        let posts = index.posted.get(&1).map_or(0, Vec::len);
        assert_eq!(posts, 4);
        let early = key(KeyKind::Posted, "url:https://karimo.example.org/0");
        let late = key(KeyKind::Posted, "url:https://karimo.example.org/9");
        assert_eq!((index.postings.count(early), index.postings.count(late)), (0, 1));
    }

    #[test]
    fn odd_input_does_not_panic() {
        let huge = "x".repeat(200_000);
        let mut odd = AccountProfile {
            account_id: i64::MIN,
            handle: Some(huge.clone()),
            display_name: Some(format!("{huge}\u{0301}ـ")),
            avatar_sha256: Some(String::new()),
            links: vec![String::new(), huge.clone()],
            status: AccountStatus::Suspended,
            status_changed_at: i64::MIN,
            first_seen: i64::MAX,
            ..AccountProfile::default()
        };
        let mut index = index_of([odd.clone(), suspended(1, "", 1), suspended(2, "@", 1), suspended(3, "٣٣٣", 1)]);
        index.record_posted(i64::MAX, "", i64::MIN);
        index.record_posted(i64::MAX, &huge, i64::MIN);
        for handle in ["", "_", "🦅", "\u{200B}", "٣٣٣", &huge] {
            odd.handle = Some(handle.into());
            let posted = [(huge.clone(), i64::MIN), (String::new(), i64::MAX)];
            let _ = index.successors_of(&odd, &posted, i64::MAX, &|_, _| false);
            let _ = index.successors_of(&odd, &posted, i64::MIN, &|_, _| false);
        }
    }
}
