//! Re-created (successor) account detection: scores a newly seen account
//! against the accounts vigil knows, suspended ones first, through an
//! in-memory index, and says why.
//!
//! Pure: plain values in and out, no I/O, no clock (callers pass `now`). The
//! service holds one [`SuccessorIndex`] behind a lock and upserts accounts as
//! they are stored.
//!
//! # Scoring
//! Candidates are gathered from bounded posting lists (handle bases,
//! skeleton and its one-edit neighbours, transliteration skeleton, avatar,
//! links, display name, posted indicators), at most
//! [`SuccessorSettings::max_scored`] of them, and each is scored as
//! `1 - exp(-(evidence + recency) * prior)`:
//! - evidence: a sum of weights, each times its rarity `min(1, sqrt(k / n))`
//!   where `n` is how many known accounts share the value (so a common stem
//!   like `ahmed`, a default avatar or a popular hashtag count for little);
//!   a handle's rarity is the geometric mean of its family's (`abu_x`,
//!   `abu_x2`...) and its stem's, so `mariam_87` is not rare just because
//!   nobody else has that number.
//!   Handle: same 1.8, extended 1.6, shared stem 1.5, look-alike 1.3,
//!   transliterated 0.8, one edit 0.9, two 0.6 (`k` = 3, a few generations of
//!   one account are not a common name); same display name 0.9, same
//!   skeleton 0.7; same avatar 2.0; each shared link 1.5 (at most 3.0); each
//!   indicator both posted 0.7, halved unless posted within the recent window
//!   after the suspension (at most 1.5) (`k` = 2 for all of these);
//! - recency: 0.6 when the predecessor was suspended within
//!   `recent_window_secs` of the new account's first sighting (either side: a
//!   backup made just before a ban counts too), times the rarity of
//!   the strongest identity evidence (handle, avatar or link), so a recent
//!   suspension never lifts a common name or a shared hashtag;
//! - prior: 1.0 for a suspension just before the new account appeared,
//!   falling to 0.8 at the end of the window; 0.45 for a suspension further
//!   away; 0.5 reported; 0.3 active or reappeared; times
//!   `other_platform_prior` (0.6) across platforms.
//!
//! With the default threshold of 0.8 a rare handle variant of an account
//! suspended hours ago passes on its own (1.6 + 0.6 → 0.89); the same variant
//! of an active account (0.38), of one suspended long ago (0.51), or of a
//! common name (about 0.5) does not, and neither does a display name or
//! posted indicators alone.

mod evidence;
mod fold;
mod handle;
mod index;
mod name;
mod postings;

pub use evidence::{Evidence, describe_evidence};
pub use handle::HandleRelation;
pub use index::SuccessorIndex;

/// Where an account stands on its platform (active, reported, suspended,
/// reappeared). The store's own enum: a plain value with no storage behaviour,
/// so the service hands it over without a conversion to keep in step.
pub use vigil_store::AccountStatus;

/// A known or newly seen account, as the index needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountProfile {
    pub account_id: i64,
    /// Lowercase platform name: "x", "telegram", ...
    pub platform: String,
    /// Normalized: lowercase, no '@'.
    pub handle: Option<String>,
    /// Free text in any script.
    pub display_name: Option<String>,
    pub avatar_sha256: Option<String>,
    /// What the profile points to, as normalized indicator values:
    /// "url:https://example.org/x", "account:telegram:chan", "btc:bc1...".
    pub links: Vec<String>,
    pub status: AccountStatus,
    /// Unix seconds; for `Suspended`, when it was suspended.
    pub status_changed_at: i64,
    /// Unix seconds; 0 when unknown.
    pub first_seen: i64,
}

impl Default for AccountProfile {
    fn default() -> Self {
        AccountProfile {
            account_id: 0,
            platform: String::new(),
            handle: None,
            display_name: None,
            avatar_sha256: None,
            links: Vec::new(),
            status: AccountStatus::Active,
            status_changed_at: 0,
            first_seen: 0,
        }
    }
}

/// How candidates are found and judged.
#[derive(Clone, Debug, PartialEq)]
pub struct SuccessorSettings {
    /// Score (0 to 1) a candidate needs to be proposed.
    pub threshold: f64,
    /// Candidates returned per new account, best first.
    pub max_candidates: usize,
    /// A suspension this recent before the new account appeared is a strong prior.
    pub recent_window_secs: i64,
    /// A key (handle stem, avatar, link, posted indicator...) shared by more
    /// accounts than this is not used to gather candidates: it stays in the
    /// rarity counts, where it weighs next to nothing anyway.
    pub max_accounts_per_key: usize,
    /// Known accounts scored per new account at most, gathered strongest keys first.
    pub max_scored: usize,
    /// Posted indicators remembered per account (the most recent ones).
    pub max_posted_per_account: usize,
    /// Links per profile and posted indicators per new account that are read.
    pub max_links_per_account: usize,
    /// Prior of a predecessor on another platform, relative to the same platform.
    pub other_platform_prior: f64,
}

impl Default for SuccessorSettings {
    fn default() -> Self {
        SuccessorSettings {
            threshold: 0.8,
            max_candidates: 5,
            recent_window_secs: 7 * 24 * 3600,
            max_accounts_per_key: 100,
            max_scored: 200,
            max_posted_per_account: 64,
            max_links_per_account: 32,
            other_platform_prior: 0.6,
        }
    }
}

/// A known account the new one probably re-creates.
#[derive(Clone, Debug, PartialEq)]
pub struct SuccessorCandidate {
    pub predecessor: i64,
    /// 0 to 1; at least the threshold.
    pub score: f64,
    /// Strongest first, the predecessor's status last.
    pub evidence: Vec<Evidence>,
}

impl SuccessorCandidate {
    /// The evidence in one line (see [`describe_evidence`]).
    pub fn summary(&self) -> String {
        describe_evidence(&self.evidence)
    }
}
