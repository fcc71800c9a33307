//! A labelled set of known accounts and new accounts for successor detection,
//! shared by the accuracy test and the bench (included with `#[path]`).
//!
//! Deterministic (a seeded SplitMix64), made-up names only: words are built
//! from syllables that can be written in Latin or Arabic script, so a
//! display name can be transliterated; common stems are ordinary given names;
//! links stay on example.org/.com/.net, channels and wallets are made up.

#![allow(dead_code)]

use std::collections::HashSet;

use vigil_query::successor::{AccountProfile, AccountStatus};

/// The seed of the accuracy test and the bench.
pub const SEED: u64 = 0x5eed_5ecc;
pub const NOW: i64 = 1_767_225_600;
pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 24 * HOUR;

/// What a query is, for the per-category table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    // Re-creations of a suspended account (the predecessor is labelled).
    HandleOnly,
    LookAlikeAndAvatar,
    HandleAndLink,
    HandleAndPostedSame,
    TransliteratedName,
    OtherPlatform,
    LatestGeneration,
    NearMissAndAvatar,
    // Hard negatives (no predecessor).
    CommonName,
    /// A common name's exact handle, on another platform.
    CommonHandleOtherPlatform,
    ActiveLookAlike,
    /// One letter off a recently suspended handle, nothing else shared.
    OneEditOnly,
    PopularHashtagOnly,
    SameDisplayNameOnly,
    SuspendedLongAgo,
    DefaultAvatarAndLink,
    Unrelated,
}

pub struct Query {
    pub category: Category,
    pub account: AccountProfile,
    pub posted: Vec<(String, i64)>,
    pub now: i64,
    pub predecessor: Option<i64>,
}

pub struct EvaluationSet {
    pub population: Vec<AccountProfile>,
    /// (account, indicator, time) the known accounts posted.
    pub posted: Vec<(i64, String, i64)>,
    pub queries: Vec<Query>,
}

/// About 11,000 known accounts and 150 queries per category.
pub fn generate(seed: u64) -> EvaluationSet {
    generate_sized(seed, 8_000, 3_000, 150)
}

pub fn generate_sized(seed: u64, personas: usize, common_accounts: usize, per_category: usize) -> EvaluationSet {
    let mut generator = Generator::new(seed);
    for _ in 0..personas {
        generator.add_persona();
    }
    for _ in 0..common_accounts {
        generator.add_common_account();
    }
    // A previous generation for some suspended personas: the newest is the
    // predecessor of the next re-creation.
    let chains = per_category.min(generator.personas.len() / 10);
    let mut chained = Vec::new();
    for _ in 0..chains * 4 {
        if chained.len() >= chains {
            break;
        }
        if let Some(index) = generator.add_previous_generation() {
            chained.push(index);
        }
    }
    let mut queries = Vec::new();
    for category in CATEGORIES {
        let candidates = if category == Category::LatestGeneration { chained.clone() } else { Vec::new() };
        for n in 0..per_category {
            let chain = candidates.get(n).copied();
            if let Some(query) = generator.query(category, chain) {
                queries.push(query);
            }
        }
    }
    EvaluationSet { population: generator.population, posted: generator.posted, queries }
}

pub const CATEGORIES: [Category; 17] = [
    Category::HandleOnly,
    Category::LookAlikeAndAvatar,
    Category::HandleAndLink,
    Category::HandleAndPostedSame,
    Category::TransliteratedName,
    Category::OtherPlatform,
    Category::LatestGeneration,
    Category::NearMissAndAvatar,
    Category::CommonName,
    Category::CommonHandleOtherPlatform,
    Category::ActiveLookAlike,
    Category::OneEditOnly,
    Category::PopularHashtagOnly,
    Category::SameDisplayNameOnly,
    Category::SuspendedLongAgo,
    Category::DefaultAvatarAndLink,
    Category::Unrelated,
];

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Latin spelling (canonical first, then variants) and Arabic letter.
const CONSONANTS: [(&[&str], &str); 18] = [
    (&["b"], "ب"),
    (&["t"], "ت"),
    (&["d"], "د"),
    (&["r"], "ر"),
    (&["z"], "ز"),
    (&["s", "ss"], "س"),
    (&["f"], "ف"),
    (&["k", "q"], "ك"),
    (&["l", "ll"], "ل"),
    (&["m", "mm"], "م"),
    (&["n"], "ن"),
    (&["h"], "ه"),
    (&["j", "dj"], "ج"),
    (&["gh"], "غ"),
    (&["sh", "ch"], "ش"),
    (&["kh"], "خ"),
    (&["th", "t"], "ث"),
    (&["q", "k"], "ق"),
];

const VOWELS: [(&[&str], &str); 5] =
    [(&["a", "e"], "ا"), (&["i", "ee"], "ي"), (&["u", "ou", "o"], "و"), (&["o", "ou"], "و"), (&["e", "a"], "ي")];

const COMMON_STEMS: [&str; 10] = ["ahmed", "omar", "yusuf", "sara", "lina", "adam", "nour", "karim", "mariam", "ali"];
const POPULAR_HASHTAGS: [&str; 4] = ["hashtag:appel", "hashtag:news", "hashtag:info", "hashtag:video"];
const DEFAULT_AVATAR: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const POPULAR_LINK: &str = "url:https://example.com/";
const PLATFORMS: [&str; 2] = ["x", "telegram"];

/// A made-up word: (consonant, vowel) syllables.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Word(Vec<(usize, usize)>);

impl Word {
    fn latin(&self) -> String {
        self.0.iter().map(|&(c, v)| format!("{}{}", CONSONANTS[c].0[0], VOWELS[v].0[0])).collect()
    }

    fn latin_variant(&self, rng: &mut Rng) -> String {
        self.0.iter().map(|&(c, v)| format!("{}{}", rng.pick(CONSONANTS[c].0), rng.pick(VOWELS[v].0))).collect()
    }

    fn arabic(&self) -> String {
        self.0.iter().map(|&(c, v)| format!("{}{}", CONSONANTS[c].1, VOWELS[v].1)).collect()
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameStyle {
    Abu,
    Plain,
    Media,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prefix {
    Abu,
    None,
    News,
    Umm,
    MediaSuffix,
}

/// A made-up person or outlet behind one known account.
struct Persona {
    index: usize,
    word: Word,
    prefix: Prefix,
    name_style: NameStyle,
    arabic_name: bool,
    unique_links: Vec<String>,
    unique_posts: Vec<String>,
}

struct Generator {
    rng: Rng,
    population: Vec<AccountProfile>,
    posted: Vec<(i64, String, i64)>,
    personas: Vec<Persona>,
    words: HashSet<String>,
    handles: HashSet<String>,
    next_id: i64,
    next_query_id: i64,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Generator {
            rng: Rng::new(seed),
            population: Vec::new(),
            posted: Vec::new(),
            personas: Vec::new(),
            words: HashSet::new(),
            handles: HashSet::new(),
            next_id: 1,
            next_query_id: 10_000_000,
        }
    }

    fn fresh_word(&mut self) -> Word {
        loop {
            let syllables = if self.rng.chance(0.5) { 3 } else { 4 };
            let word = Word(
                (0..syllables).map(|_| (self.rng.below(CONSONANTS.len()), self.rng.below(VOWELS.len()))).collect(),
            );
            if self.words.insert(word.latin()) {
                return word;
            }
        }
    }

    fn handle_of(prefix: Prefix, word: &str) -> String {
        match prefix {
            Prefix::Abu => format!("abu_{word}"),
            Prefix::None => word.to_owned(),
            Prefix::News => format!("news_{word}"),
            Prefix::Umm => format!("umm_{word}"),
            Prefix::MediaSuffix => format!("{word}_media"),
        }
    }

    fn display_name(&mut self, word: &Word, style: NameStyle, arabic: bool, variant: bool) -> String {
        let latin = if variant { word.latin_variant(&mut self.rng) } else { word.latin() };
        match (style, arabic) {
            (NameStyle::Abu, false) => format!("{} {}", if variant { "Abou" } else { "Abu" }, capitalized(&latin)),
            (NameStyle::Abu, true) => format!("أبو {}", word.arabic()),
            (NameStyle::Plain, false) => capitalized(&latin),
            (NameStyle::Plain, true) => word.arabic(),
            (NameStyle::Media, false) => format!("{} Media", capitalized(&latin)),
            (NameStyle::Media, true) => format!("مؤسسة {}", word.arabic()),
        }
    }

    fn avatar(&mut self) -> String {
        format!("{:016x}{:016x}{:016x}{:016x}", self.rng.next(), self.rng.next(), self.rng.next(), self.rng.next())
    }

    fn status(&mut self) -> (AccountStatus, i64) {
        let roll = self.rng.below(100);
        if roll < 25 {
            (AccountStatus::Suspended, NOW - self.rng.between(HOUR, 150 * DAY))
        } else if roll < 30 {
            (AccountStatus::Reported, NOW - self.rng.between(HOUR, 60 * DAY))
        } else {
            (AccountStatus::Active, NOW - self.rng.between(30 * DAY, 400 * DAY))
        }
    }

    fn push_account(&mut self, mut account: AccountProfile, posts: &[String]) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        account.account_id = id;
        let last_active = if account.status == AccountStatus::Suspended { account.status_changed_at } else { NOW };
        for post in posts {
            let at = last_active - self.rng.between(HOUR, 20 * DAY);
            self.posted.push((id, post.clone(), at));
        }
        self.population.push(account);
        id
    }

    fn add_persona(&mut self) {
        let word = self.fresh_word();
        let prefix = match self.rng.below(20) {
            0..=7 => Prefix::Abu,
            8..=11 => Prefix::None,
            12..=14 => Prefix::News,
            15..=16 => Prefix::Umm,
            _ => Prefix::MediaSuffix,
        };
        let mut handle = Self::handle_of(prefix, &word.latin());
        if self.rng.chance(0.25) {
            handle = match self.rng.below(3) {
                0 => format!("{handle}{}", self.rng.between(1, 99)),
                1 => format!("{handle}_{}", self.rng.between(1, 9)),
                _ => format!("{handle}_{}", self.rng.between(1970, 2010)),
            };
        }
        let name_style = match self.rng.below(10) {
            0..=5 => NameStyle::Abu,
            6..=8 => NameStyle::Plain,
            _ => NameStyle::Media,
        };
        let arabic_name = self.rng.chance(0.35);
        let display_name = self.display_name(&word, name_style, arabic_name, false);
        let latin = word.latin();
        let mut unique_links = Vec::new();
        if self.rng.chance(0.45) {
            let options = [
                format!("url:https://{latin}.example.org/"),
                format!("account:telegram:{latin}_channel"),
                format!("btc:bc1qexample{latin}"),
            ];
            let first = self.rng.below(3);
            unique_links.push(options[first].clone());
            if self.rng.chance(0.4) {
                unique_links.push(options[(first + 1) % 3].clone());
            }
        }
        let mut links = unique_links.clone();
        if self.rng.chance(0.1) {
            links.push(POPULAR_LINK.to_owned());
        }
        let unique_posts: Vec<String> =
            (0..self.rng.between(1, 3)).map(|n| format!("url:https://{latin}.example.net/v/{n}")).collect();
        let mut posts = unique_posts.clone();
        for _ in 0..self.rng.between(1, 3) {
            posts.push((*self.rng.pick(&POPULAR_HASHTAGS)).to_owned());
        }
        posts.dedup();
        let avatar = if self.rng.chance(0.2) { DEFAULT_AVATAR.to_owned() } else { self.avatar() };
        let (status, status_changed_at) = self.status();
        self.handles.insert(handle.clone());
        let account = AccountProfile {
            account_id: 0,
            platform: (*self.rng.pick(&PLATFORMS)).to_owned(),
            handle: Some(handle),
            display_name: Some(display_name),
            avatar_sha256: Some(avatar),
            links,
            status,
            status_changed_at,
            first_seen: status_changed_at.min(NOW - 30 * DAY) - self.rng.between(DAY, 300 * DAY),
        };
        let id = self.push_account(account, &posts);
        let index = self.population.len() - 1;
        debug_assert_eq!(self.population[index].account_id, id);
        self.personas.push(Persona { index, word, prefix, name_style, arabic_name, unique_links, unique_posts });
    }

    /// A common stem with a number; about 110,000 exist, enough for the bench's population.
    fn common_handle(&mut self) -> (String, &'static str) {
        loop {
            let stem = *self.rng.pick(&COMMON_STEMS);
            let handle = match self.rng.below(3) {
                0 => format!("{stem}_{}", self.rng.between(1970, 2010)),
                1 => format!("{stem}{}", self.rng.between(1, 9_999)),
                _ => format!("{stem}_{}", self.rng.between(1, 999)),
            };
            if self.handles.insert(handle.clone()) {
                return (handle, stem);
            }
        }
    }

    fn add_common_account(&mut self) {
        let (handle, stem) = self.common_handle();
        let display_name = if self.rng.chance(0.5) {
            capitalized(stem)
        } else {
            format!("{} {}", capitalized(stem), capitalized(COMMON_STEMS[self.rng.below(COMMON_STEMS.len())]))
        };
        let avatar = if self.rng.chance(0.5) { DEFAULT_AVATAR.to_owned() } else { self.avatar() };
        let (status, status_changed_at) = self.status();
        let posts: Vec<String> = (0..2).map(|_| (*self.rng.pick(&POPULAR_HASHTAGS)).to_owned()).collect();
        let account = AccountProfile {
            account_id: 0,
            platform: (*self.rng.pick(&PLATFORMS)).to_owned(),
            handle: Some(handle),
            display_name: Some(display_name),
            avatar_sha256: Some(avatar),
            links: if self.rng.chance(0.1) { vec![POPULAR_LINK.to_owned()] } else { Vec::new() },
            status,
            status_changed_at,
            first_seen: NOW - self.rng.between(30 * DAY, 400 * DAY),
        };
        self.push_account(account, &posts);
    }

    /// Gives a recently suspended persona without a digit suffix an older,
    /// long-suspended generation under the bare handle, and renames the
    /// persona `<handle>2`. Returns the persona's index.
    fn add_previous_generation(&mut self) -> Option<usize> {
        let persona = self.rng.below(self.personas.len());
        let index = self.personas[persona].index;
        let current = &self.population[index];
        let handle = current.handle.clone()?;
        if current.status != AccountStatus::Suspended
            || handle.ends_with(|c: char| c.is_ascii_digit())
            || self.handles.contains(&format!("{handle}2"))
        {
            return None;
        }
        let mut previous = current.clone();
        previous.status_changed_at = current.status_changed_at - self.rng.between(30 * DAY, 90 * DAY);
        previous.first_seen = previous.status_changed_at - self.rng.between(30 * DAY, 200 * DAY);
        let renamed = format!("{handle}2");
        self.handles.insert(renamed.clone());
        self.population[index].handle = Some(renamed);
        self.push_account(previous, &[]);
        Some(persona)
    }

    fn personas_where(&self, keep: impl Fn(&Persona, &AccountProfile) -> bool) -> Vec<usize> {
        (0..self.personas.len())
            .filter(|&p| keep(&self.personas[p], &self.population[self.personas[p].index]))
            .collect()
    }

    fn query(&mut self, category: Category, chain: Option<usize>) -> Option<Query> {
        let suspended = |_: &Persona, account: &AccountProfile| account.status == AccountStatus::Suspended;
        let persona = match category {
            Category::LatestGeneration => chain?,
            Category::HandleOnly | Category::HandleAndPostedSame | Category::TransliteratedName => {
                self.random_persona(suspended)?
            }
            Category::LookAlikeAndAvatar | Category::NearMissAndAvatar => self.random_persona(|persona, account| {
                suspended(persona, account) && account.avatar_sha256.as_deref() != Some(DEFAULT_AVATAR)
            })?,
            Category::HandleAndLink | Category::OtherPlatform => self.random_persona(|persona, account| {
                suspended(persona, account)
                    && !persona.unique_links.is_empty()
                    && account.avatar_sha256.as_deref() != Some(DEFAULT_AVATAR)
            })?,
            Category::ActiveLookAlike => self.random_persona(|_, account| account.status == AccountStatus::Active)?,
            Category::SuspendedLongAgo
            | Category::OneEditOnly
            | Category::SameDisplayNameOnly
            | Category::PopularHashtagOnly
            | Category::CommonName
            | Category::CommonHandleOtherPlatform
            | Category::DefaultAvatarAndLink
            | Category::Unrelated => self.random_persona(suspended)?,
        };
        let old = self.population[self.personas[persona].index].clone();
        let old_handle = old.handle.clone().unwrap_or_default();
        // Most re-creations come within hours; some take days.
        let delay =
            if self.rng.chance(0.85) { self.rng.between(HOUR, 48 * HOUR) } else { self.rng.between(2 * DAY, 6 * DAY) };
        let recent = old.status_changed_at + delay;
        let mut new = AccountProfile {
            account_id: self.next_query_id,
            platform: old.platform.clone(),
            handle: None,
            display_name: None,
            avatar_sha256: Some(self.avatar()),
            links: Vec::new(),
            status: AccountStatus::Active,
            status_changed_at: recent,
            first_seen: recent,
        };
        self.next_query_id += 1;
        let mut posted = Vec::new();
        let mut predecessor = Some(old.account_id);
        match category {
            Category::HandleOnly => {
                new.handle = Some(self.any_variant(&old_handle));
            }
            Category::LookAlikeAndAvatar => {
                new.handle = Some(self.look_alike(&old_handle));
                new.avatar_sha256 = old.avatar_sha256.clone();
            }
            Category::NearMissAndAvatar => {
                new.handle = Some(self.one_vowel_changed(&old_handle));
                new.avatar_sha256 = old.avatar_sha256.clone();
            }
            Category::HandleAndLink => {
                new.handle = Some(self.any_variant(&old_handle));
                new.links = vec![self.rng.pick(&self.personas[persona].unique_links).clone()];
                new.display_name = old.display_name.clone().filter(|_| self.rng.chance(0.5));
            }
            Category::HandleAndPostedSame => {
                new.handle = Some(self.any_variant(&old_handle));
                let posts = self.personas[persona].unique_posts.clone();
                for post in posts.iter().take(2) {
                    posted.push((post.clone(), recent + self.rng.between(0, 2 * HOUR)));
                }
                posted.push(((*self.rng.pick(&POPULAR_HASHTAGS)).to_owned(), recent + HOUR));
            }
            Category::TransliteratedName => {
                let p = &self.personas[persona];
                let (word, style, arabic) = (p.word.clone(), p.name_style, p.arabic_name);
                let style = if style == NameStyle::Media { NameStyle::Plain } else { style };
                new.display_name = Some(self.display_name(&word, style, !arabic, true));
                new.handle = Some(self.any_variant(&old_handle));
            }
            Category::OtherPlatform => {
                new.platform = if old.platform == "x" { "telegram".into() } else { "x".into() };
                new.handle = Some(self.suffix_variant(&old_handle));
                new.avatar_sha256 = old.avatar_sha256.clone();
                new.links = self.personas[persona].unique_links.clone();
            }
            Category::LatestGeneration => {
                let bare = old_handle.trim_end_matches('2').to_owned();
                new.handle = Some(format!("{bare}_3"));
            }
            Category::CommonName => {
                predecessor = None;
                let (handle, stem) = self.common_handle();
                self.handles.remove(&handle);
                new.handle = Some(handle);
                new.display_name = Some(capitalized(stem)).filter(|_| self.rng.chance(0.6));
                if self.rng.chance(0.5) {
                    new.avatar_sha256 = Some(DEFAULT_AVATAR.to_owned());
                }
                posted.push(((*self.rng.pick(&POPULAR_HASHTAGS)).to_owned(), recent + HOUR));
            }
            Category::CommonHandleOtherPlatform => {
                predecessor = None;
                let common = self.random_common_suspended()?;
                let account = self.population[common].clone();
                new.platform = if account.platform == "x" { "telegram".into() } else { "x".into() };
                new.handle = account.handle.clone();
                new.display_name = account.display_name.clone().filter(|_| self.rng.chance(0.5));
                new.first_seen = account.status_changed_at + self.rng.between(HOUR, 48 * HOUR);
            }
            Category::ActiveLookAlike => {
                predecessor = None;
                new.handle = Some(self.any_variant(&old_handle));
                new.display_name = old.display_name.clone().filter(|_| self.rng.chance(0.5));
                new.first_seen = NOW + self.rng.between(0, 48 * HOUR);
            }
            Category::OneEditOnly => {
                predecessor = None;
                new.handle = Some(self.one_vowel_changed(&old_handle));
            }
            Category::PopularHashtagOnly => {
                predecessor = None;
                new.handle = Some(self.fresh_handle());
                for hashtag in POPULAR_HASHTAGS {
                    posted.push((hashtag.to_owned(), recent + HOUR));
                }
            }
            Category::SameDisplayNameOnly => {
                predecessor = None;
                new.handle = Some(self.fresh_handle());
                new.display_name = old.display_name.clone();
            }
            Category::SuspendedLongAgo => {
                predecessor = None;
                new.handle = Some(self.any_variant(&old_handle));
                new.display_name = old.display_name.clone().filter(|_| self.rng.chance(0.5));
                new.first_seen = old.status_changed_at + self.rng.between(21 * DAY, 90 * DAY);
            }
            Category::DefaultAvatarAndLink => {
                predecessor = None;
                new.handle = Some(self.fresh_handle());
                new.avatar_sha256 = Some(DEFAULT_AVATAR.to_owned());
                new.links = vec![POPULAR_LINK.to_owned()];
            }
            Category::Unrelated => {
                predecessor = None;
                new.handle = Some(self.fresh_handle());
                let word = self.fresh_word();
                let arabic = self.rng.chance(0.3);
                new.display_name = Some(self.display_name(&word, NameStyle::Plain, arabic, false));
            }
        }
        new.status_changed_at = new.first_seen;
        let now = new.first_seen + 2 * HOUR;
        Some(Query { category, account: new, posted, now, predecessor })
    }

    fn random_persona(&mut self, keep: impl Fn(&Persona, &AccountProfile) -> bool) -> Option<usize> {
        let matching = self.personas_where(keep);
        (!matching.is_empty()).then(|| matching[self.rng.below(matching.len())])
    }

    fn random_common_suspended(&mut self) -> Option<usize> {
        let start = self.personas.last().map_or(0, |persona| persona.index + 1);
        let matching: Vec<usize> = (start..self.population.len())
            .filter(|&i| {
                let account = &self.population[i];
                account.status == AccountStatus::Suspended
                    && account
                        .handle
                        .as_deref()
                        .is_some_and(|handle| COMMON_STEMS.iter().any(|stem| handle.starts_with(stem)))
            })
            .collect();
        (!matching.is_empty()).then(|| matching[self.rng.below(matching.len())])
    }

    fn fresh_handle(&mut self) -> String {
        let word = self.fresh_word();
        let prefix = *self.rng.pick(&[Prefix::Abu, Prefix::None, Prefix::News, Prefix::Umm]);
        Self::handle_of(prefix, &word.latin())
    }

    fn any_variant(&mut self, handle: &str) -> String {
        match self.rng.below(20) {
            0..=9 => self.suffix_variant(handle),
            _ => self.look_alike(handle),
        }
    }

    /// Another person's handle: one vowel of the name changed (`abu_karimo`
    /// and `abu_karima` are two names).
    fn one_vowel_changed(&mut self, handle: &str) -> String {
        let mut chars: Vec<char> = handle.chars().collect();
        let vowels: Vec<usize> =
            (0..chars.len()).filter(|&i| matches!(chars[i], 'a' | 'e' | 'i' | 'o' | 'u')).collect();
        let Some(&at) = vowels.get(self.rng.below(vowels.len())) else {
            return format!("{handle}x");
        };
        let choices: Vec<char> = ['a', 'e', 'i', 'o', 'u'].into_iter().filter(|&v| v != chars[at]).collect();
        chars[at] = *self.rng.pick(&choices);
        chars.into_iter().collect()
    }

    /// Digits or underscores added at an edge.
    fn suffix_variant(&mut self, handle: &str) -> String {
        match self.rng.below(6) {
            0 => format!("{handle}{}", self.rng.between(2, 9)),
            1 => format!("{handle}_{}", self.rng.between(2, 9)),
            2 => format!("{handle}_{}", self.rng.between(10, 99)),
            3 => format!("_{handle}_"),
            4 => format!("{handle}__"),
            _ => format!("{}{handle}", self.rng.between(1, 9)),
        }
    }

    /// Look-alike letters, a digit for a letter, or separators changed.
    fn look_alike(&mut self, handle: &str) -> String {
        let chars: Vec<char> = handle.chars().collect();
        // The last letter is left alone: a digit there would read as a suffix.
        let inner = chars.len().saturating_sub(1);
        let positions = |swap: fn(char) -> Option<char>| -> Vec<usize> {
            (0..inner).filter(|&i| swap(chars[i]).is_some()).collect()
        };
        let replace = |rng: &mut Rng, swap: fn(char) -> Option<char>| -> Option<String> {
            let candidates = positions(swap);
            let &at = candidates.get(rng.below(candidates.len().max(1)))?;
            let mut out = chars.clone();
            out[at] = swap(chars[at])?;
            Some(out.into_iter().collect())
        };
        let changed = match self.rng.below(4) {
            0 => replace(&mut self.rng, cyrillic_look_alike),
            1 => replace(&mut self.rng, digit_for_letter),
            2 => handle.contains('_').then(|| handle.replacen('_', if self.rng.chance(0.5) { "." } else { "" }, 1)),
            _ => {
                let candidates = positions(|c| c.is_ascii_alphabetic().then_some(c));
                candidates.get(self.rng.below(candidates.len().max(1))).map(|&at| {
                    let mut out = chars.clone();
                    out.insert(at, chars[at]);
                    out.into_iter().collect()
                })
            }
        };
        changed.unwrap_or_else(|| self.suffix_variant(handle))
    }
}

fn cyrillic_look_alike(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'e' => 'е',
        'o' => 'о',
        'c' => 'с',
        'p' => 'р',
        'x' => 'х',
        'y' => 'у',
        'i' => 'і',
        _ => return None,
    })
}

fn digit_for_letter(c: char) -> Option<char> {
    Some(match c {
        'o' => '0',
        'e' => '3',
        'a' => '4',
        's' => '5',
        'i' | 'l' => '1',
        't' => '7',
        _ => return None,
    })
}
