//! Handles: the forms two handles are compared in, and how two handles relate.
//!
//! A re-created account keeps the old handle's core and changes its edges:
//! `abu_x` comes back as `abu_x2`, `abu_x_3`, `_abu_x_`, `1abu_x`, `аbu_x`
//! (Cyrillic а) or `abu_x` with a 0 for an o. So a handle is kept as:
//! - `folded`: lowercase, look-alike letters folded, edge `_ . -` trimmed;
//! - `bases`: `folded` and the shorter handles left when trailing groups of
//!   digits or separators are cut off, and the same after a short numeric
//!   prefix is cut (`ahmed_1990_2` → `ahmed_1990`, `ahmed`); the last is the
//!   stem. Cuts fall between groups only, so `ahmed_19` is no base of
//!   `ahmed_1990`;
//! - `skeleton`: the stem without separators, with digit-for-letter swaps
//!   undone (0→o, 1 i l→l, 3→e, 4→a, 5→s, 7→t, 8→b) and doubled letters
//!   collapsed. It is a second, looser comparison: the swaps apply to the stem
//!   only, so `abu_x2` keeps its 2 as a suffix;
//! - `full_skeleton`: the same for the whole handle, for a digit swapped in
//!   where it looks like a suffix or prefix (`abu_jaked0_9` for
//!   `abu_jakedo_9`, `4bu_x` for `abu_x`);
//! - `consonants`: the display-name transliteration skeleton of the stem
//!   (see `name`), so `abou_mohamed` meets `abu_muhammad`.

use super::fold::fold;
use super::name::consonant_skeleton;

/// Characters of a handle kept; platforms allow at most about 32.
const MAX_HANDLE_CHARS: usize = 64;
/// Digits a numeric prefix may have and still be cut (`1abu_x`, `22_abu_x`).
const MAX_PREFIX_DIGITS: usize = 3;
/// Consonants the handle's transliteration skeleton needs to be compared.
const MIN_HANDLE_CONSONANTS: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HandleForms {
    pub folded: String,
    /// `folded` first, the stem last; no duplicates.
    pub bases: Vec<String>,
    pub skeleton: String,
    pub full_skeleton: String,
    pub consonants: Option<String>,
}

/// How a new account's handle relates to a known one, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandleRelation {
    /// Identical once look-alike letters are folded and edges trimmed.
    Same,
    /// One is the other with digits or separators added at an edge.
    Extended,
    /// Both are the same base with different digit or separator edges.
    SharedStem,
    /// The same once digit-for-letter swaps, separators and doubled letters
    /// are undone.
    LookAlike,
    /// The same consonants, as when one spells a transliterated name another way.
    Transliterated,
    /// One or two edits apart (typo-like), on the skeleton.
    NearMiss { edits: u8 },
}

pub(crate) fn handle_forms(handle: &str) -> Option<HandleForms> {
    let folded: String = fold(handle.trim_start_matches('@')).chars().take(MAX_HANDLE_CHARS).collect();
    let folded = folded.trim_matches(is_separator).to_owned();
    if folded.is_empty() {
        return None;
    }
    let mut bases = tail_cuts(&folded);
    let core = without_numeric_prefix(&folded);
    if core != folded {
        for base in tail_cuts(core) {
            if !bases.contains(&base) {
                bases.push(base);
            }
        }
    }
    let stem = tail_cuts(core).pop().unwrap_or_else(|| core.to_owned());
    let skeleton = skeleton_of(&stem);
    let full_skeleton = skeleton_of(&folded);
    let stem_consonants = consonant_skeleton(&stem.replace(is_separator, " "));
    let consonants = (stem_consonants.chars().count() >= MIN_HANDLE_CONSONANTS).then_some(stem_consonants);
    Some(HandleForms { folded, bases, skeleton, full_skeleton, consonants })
}

impl HandleForms {
    /// The relation and the key whose rarity says how much it is worth.
    pub(crate) fn relate<'a>(&'a self, old: &'a HandleForms) -> Option<(HandleRelation, RarityKey<'a>)> {
        if self.folded == old.folded {
            return Some((HandleRelation::Same, RarityKey::Base(&self.folded)));
        }
        if self.bases.contains(&old.folded) {
            return Some((HandleRelation::Extended, RarityKey::Base(&old.folded)));
        }
        if old.bases.contains(&self.folded) {
            return Some((HandleRelation::Extended, RarityKey::Base(&self.folded)));
        }
        // Bases run from longest to shortest, so the first shared one is the
        // most specific family both belong to.
        if let Some(shared) = self.bases.iter().find(|base| old.bases.contains(base)) {
            return Some((HandleRelation::SharedStem, RarityKey::Base(shared)));
        }
        if self.skeleton.chars().count() >= 3 && self.skeleton == old.skeleton {
            return Some((HandleRelation::LookAlike, RarityKey::Skeleton(&self.skeleton)));
        }
        if self.full_skeleton.chars().count() >= 3 && self.full_skeleton == old.full_skeleton {
            return Some((HandleRelation::LookAlike, RarityKey::Skeleton(&self.full_skeleton)));
        }
        if let (Some(new), Some(known)) = (&self.consonants, &old.consonants)
            && new == known
        {
            return Some((HandleRelation::Transliterated, RarityKey::Consonants(new)));
        }
        let shorter = self.skeleton.chars().count().min(old.skeleton.chars().count());
        let allowed = match shorter {
            0..=4 => return None,
            5..=8 => 1,
            _ => 2,
        };
        let edits = edit_distance_within(&self.skeleton, &old.skeleton, allowed)?;
        Some((HandleRelation::NearMiss { edits }, RarityKey::Skeleton(&self.skeleton)))
    }
}

/// Which posting list's size weighs a handle relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RarityKey<'a> {
    Base(&'a str),
    Skeleton(&'a str),
    Consonants(&'a str),
}

fn is_separator(c: char) -> bool {
    matches!(c, '_' | '.' | '-')
}

/// `handle` and each shorter handle left by cutting trailing groups of
/// digits or separators, longest first; `handle` alone when it is all digits.
fn tail_cuts(handle: &str) -> Vec<String> {
    let mut cuts = vec![handle.to_owned()];
    let tail_start = handle
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_ascii_digit() || is_separator(c))
        .last()
        .map_or(handle.len(), |(i, _)| i);
    if tail_start == 0 {
        return cuts;
    }
    let tail = &handle[tail_start..];
    let mut previous_is_digit = None;
    let mut group_starts = Vec::new();
    for (i, c) in tail.char_indices() {
        let is_digit = c.is_ascii_digit();
        if previous_is_digit != Some(is_digit) {
            group_starts.push(tail_start + i);
        }
        previous_is_digit = Some(is_digit);
    }
    for &start in group_starts.iter().rev() {
        let base = handle[..start].trim_end_matches(is_separator);
        if !base.is_empty() && !cuts.iter().any(|cut| cut == base) {
            cuts.push(base.to_owned());
        }
    }
    cuts
}

/// `folded` without a short numeric prefix (`1abu_x`, `22_abu_x`), when a
/// letter follows; otherwise `folded` itself.
fn without_numeric_prefix(folded: &str) -> &str {
    let digits = folded.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > MAX_PREFIX_DIGITS {
        return folded;
    }
    let rest = folded[digits..].trim_start_matches(is_separator);
    if rest.chars().next().is_some_and(char::is_alphabetic) { rest } else { folded }
}

fn skeleton_of(handle: &str) -> String {
    let mut out = String::with_capacity(handle.len());
    for c in handle.chars().filter(|&c| !is_separator(c)) {
        let letter = match c {
            '0' => 'o',
            '1' | 'i' | 'l' | '!' | '|' => 'l',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            '8' => 'b',
            other => other,
        };
        if !out.ends_with(letter) {
            out.push(letter);
        }
    }
    out
}

/// The optimal-string-alignment distance between `a` and `b` (a swap of two
/// neighbours is one edit) when it is at most `limit`, else `None`.
pub(crate) fn edit_distance_within(a: &str, b: &str, limit: u8) -> Option<u8> {
    let a: Vec<char> = a.chars().take(MAX_HANDLE_CHARS).collect();
    let b: Vec<char> = b.chars().take(MAX_HANDLE_CHARS).collect();
    let limit = usize::from(limit);
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let width = b.len() + 1;
    let mut rows = vec![vec![0usize; width]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (current, previous, before) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        rows[current][0] = i;
        let mut row_min = i;
        for j in 1..width {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut cost =
                (rows[previous][j] + 1).min(rows[current][j - 1] + 1).min(rows[previous][j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cost = cost.min(rows[before][j - 2] + 1);
            }
            rows[current][j] = cost;
            row_min = row_min.min(cost);
        }
        if row_min > limit {
            return None;
        }
    }
    let distance = rows[a.len() % 3][b.len()];
    if distance <= limit { u8::try_from(distance).ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(handle: &str) -> HandleForms {
        handle_forms(handle).expect("a handle")
    }

    fn relation(new: &str, old: &str) -> Option<HandleRelation> {
        forms(new).relate(&forms(old)).map(|(relation, _)| relation)
    }

    #[test]
    fn bases_cut_trailing_groups_and_short_prefixes() {
        let check = |handle: &str, bases: &[&str], skeleton: &str| {
            let forms = forms(handle);
            assert_eq!(forms.bases, bases, "bases of {handle}");
            assert_eq!(forms.skeleton, skeleton, "skeleton of {handle}");
        };
        check("abu_x", &["abu_x"], "abux");
        check("@Abu_X2", &["abu_x2", "abu_x"], "abux");
        check("abu_x_3", &["abu_x_3", "abu_x"], "abux");
        check("_abu_x_", &["abu_x"], "abux");
        check("__abu.x__12", &["abu.x__12", "abu.x"], "abux");
        check("ahmed_1990_2", &["ahmed_1990_2", "ahmed_1990", "ahmed"], "ahmed");
        check("1abu_x", &["1abu_x", "abu_x"], "abux");
        check("22_abu_x7", &["22_abu_x7", "22_abu_x", "abu_x7", "abu_x"], "abux");
        check("1990", &["1990"], "l9o");
        check("ab0u_x", &["ab0u_x"], "aboux");
        check("n3ws_ex4mple", &["n3ws_ex4mple"], "newsexample");
        check("аbu_х", &["abu_x"], "abux");
        check("ｎｅｗｓ＿ｘ", &["news_x"], "newsx");
    }

    #[test]
    fn relations_between_handles() {
        assert_eq!(relation("abu_x", "abu_x"), Some(HandleRelation::Same));
        assert_eq!(relation("аbu_x", "abu_x"), Some(HandleRelation::Same), "Cyrillic а");
        assert_eq!(relation("_abu_x_", "abu_x"), Some(HandleRelation::Same));
        assert_eq!(relation("abu_x_3", "abu_x"), Some(HandleRelation::Extended));
        assert_eq!(relation("abu_x", "abu_x2"), Some(HandleRelation::Extended));
        assert_eq!(relation("abu_x_3", "abu_x2"), Some(HandleRelation::SharedStem));
        assert_eq!(relation("ahmed_1990_2", "ahmed_1990"), Some(HandleRelation::Extended));
        assert_eq!(relation("ahmed_1991", "ahmed_1990"), Some(HandleRelation::SharedStem));
        assert_eq!(relation("n3ws_example", "news_example"), Some(HandleRelation::LookAlike));
        assert_eq!(relation("abuu.x", "abu_x"), Some(HandleRelation::LookAlike));
        assert_eq!(relation("abu_jaked0_9", "abu_jakedo_9"), Some(HandleRelation::LookAlike));
        assert_eq!(relation("4bu_karimo", "abu_karimo"), Some(HandleRelation::LookAlike));
        assert_eq!(relation("abou_mohamed", "abu_muhammad"), Some(HandleRelation::Transliterated));
        assert_eq!(relation("news_exanple", "news_example"), Some(HandleRelation::NearMiss { edits: 1 }));
        assert_eq!(relation("news_exaple", "news_example"), Some(HandleRelation::NearMiss { edits: 1 }));
        assert_eq!(relation("news_exampel", "news_example"), Some(HandleRelation::Transliterated), "vowels only");
        assert_eq!(relation("abu_y", "abu_x"), None, "short handles need more than one edit in common");
        assert_eq!(relation("media_center", "news_example"), None);
    }

    #[test]
    fn edit_distance_is_bounded() {
        assert_eq!(edit_distance_within("abcdef", "abcdef", 1), Some(0));
        assert_eq!(edit_distance_within("abcdef", "abdcef", 1), Some(1));
        assert_eq!(edit_distance_within("abcdef", "abcxyz", 2), None);
        assert_eq!(edit_distance_within("", "ab", 2), Some(2));
        assert_eq!(edit_distance_within("", "abc", 2), None);
    }

    #[test]
    fn odd_handles_do_not_panic() {
        for handle in ["", "@", "___", "...", "0", "٣", "\u{0301}", "a\u{200B}", "🦅🦅", "1_", "_1_"] {
            let _ = handle_forms(handle);
        }
        let huge = "x".repeat(1_000_000);
        assert_eq!(forms(&huge).folded.len(), MAX_HANDLE_CHARS);
        assert_eq!(handle_forms("___"), None);
    }
}
