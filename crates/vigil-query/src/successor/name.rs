//! Display names: a folded form for "same name", and a consonant skeleton
//! that lets a name written in Arabic script meet its Latin transliterations.
//!
//! The skeleton rule: fold (see `fold`), then keep consonants only. Vowels
//! and the letters that stand for long vowels or glides (Latin a e i o u w y;
//! Arabic ا و ي ء ع) are dropped, because transliterations disagree most on
//! them (`abu`/`abou`, `muhammad`/`mohamed`). Latin digraphs collapse to the
//! Arabic letter they spell (sh ch → s, th → t, kh → k, dh → d, gh → g,
//! dj → j, ph → f), q and c → k, p → b, v → f, and each Arabic consonant maps
//! to its usual Latin letter (ث → t, ذ ض → d, ص ش → s, ظ → z, خ ق → k, ح ه → h).
//! A word-final h is dropped (ة and a silent ه are often not written in Latin),
//! doubled consonants collapse (shadda, `mm`), and word breaks are ignored so
//! `abdallah` meets `عبد الله`. Known misses: assimilated articles (`ash-shams`
//! against `الشمس`), and Egyptian g for ج. Names that differ only in vowels
//! share a skeleton (محمد and محمود are both `mhmd`), which is why a shared
//! skeleton weighs less than a same name and is weighted by its rarity.

use super::fold::fold;

/// Characters of a display name kept for comparison.
const MAX_NAME_CHARS: usize = 64;

/// Consonants a skeleton needs before two equal skeletons mean anything.
pub(crate) const MIN_SKELETON_CONSONANTS: usize = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameForms {
    /// Folded, lowercase, punctuation turned into single spaces.
    pub folded: String,
    /// The consonant skeleton, when it has enough consonants to compare.
    pub consonants: Option<String>,
}

pub(crate) fn name_forms(display_name: &str) -> Option<NameForms> {
    let mut folded = String::new();
    let mut pending_space = false;
    for c in fold(display_name).chars() {
        if c.is_alphanumeric() {
            if pending_space && !folded.is_empty() {
                folded.push(' ');
            }
            pending_space = false;
            folded.push(c);
            if folded.chars().count() >= MAX_NAME_CHARS {
                break;
            }
        } else {
            pending_space = true;
        }
    }
    if folded.is_empty() {
        return None;
    }
    let skeleton = consonant_skeleton(&folded);
    let consonants = (skeleton.chars().count() >= MIN_SKELETON_CONSONANTS).then_some(skeleton);
    Some(NameForms { folded, consonants })
}

/// The consonant skeleton of folded text (see the module comment for the rule).
pub(crate) fn consonant_skeleton(folded: &str) -> String {
    let mut out = String::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let letters: Vec<char> = word.chars().collect();
        let mut word_skeleton = String::new();
        for (i, &c) in letters.iter().enumerate() {
            let previous = if i > 0 { letters[i - 1] } else { ' ' };
            let next = letters.get(i + 1).copied().unwrap_or(' ');
            let consonant = match c {
                'a' | 'e' | 'i' | 'o' | 'u' | 'w' | 'y' => None,
                'h' if matches!(previous, 's' | 'c' | 'k' | 'g' | 't' | 'd' | 'z' | 'p') => None,
                'c' if next == 'h' => Some('s'),
                'c' | 'q' => Some('k'),
                'd' if next == 'j' => None,
                'p' if next == 'h' => Some('f'),
                'p' => Some('b'),
                'v' => Some('f'),
                other => arabic_consonant(other),
            };
            if let Some(consonant) = consonant
                && !word_skeleton.ends_with(consonant)
            {
                word_skeleton.push(consonant);
            }
        }
        if word_skeleton.len() > 1 && word_skeleton.ends_with('h') {
            word_skeleton.pop();
        }
        for c in word_skeleton.chars() {
            if !out.ends_with(c) {
                out.push(c);
            }
        }
    }
    out
}

/// An Arabic letter's Latin consonant, `None` for the vowel carriers; any
/// other character stands for itself.
fn arabic_consonant(c: char) -> Option<char> {
    Some(match c {
        'ا' | 'و' | 'ي' | 'ء' | 'ع' => return None,
        'ب' | 'پ' => 'b',
        'ت' | 'ث' | 'ط' => 't',
        'ج' => 'j',
        'ح' | 'ه' => 'h',
        'خ' | 'ق' | 'ك' => 'k',
        'د' | 'ذ' | 'ض' => 'd',
        'ر' => 'r',
        'ز' | 'ظ' | 'ژ' => 'z',
        'س' | 'ش' | 'ص' | 'چ' => 's',
        'غ' | 'گ' => 'g',
        'ف' | 'ڤ' => 'f',
        'ل' => 'l',
        'م' => 'm',
        'ن' => 'n',
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skeleton(name: &str) -> Option<String> {
        name_forms(name).and_then(|forms| forms.consonants)
    }

    fn check_same(a: &str, b: &str) {
        let (left, right) = (skeleton(a), skeleton(b));
        assert!(left.is_some() && left == right, "{a:?} -> {left:?} but {b:?} -> {right:?}");
    }

    #[test]
    fn arabic_meets_its_transliterations() {
        check_same("أبو محمد", "abu muhammad");
        check_same("أبو محمد", "Abou Mohamed");
        check_same("أبو مُحَمَّد", "abu mohammed");
        check_same("خالد", "Khaled");
        check_same("عبد الله", "Abdallah");
        check_same("أبو يوسف", "Abou Youssef");
        check_same("فاطمة", "Fatima");
        check_same("شريف", "Cherif");
        check_same("جمال", "Djamel");
    }

    #[test]
    fn different_names_keep_different_skeletons() {
        assert_ne!(skeleton("abu muhammad"), skeleton("abu khalid"));
        assert_ne!(skeleton("khaled"), skeleton("walid"));
    }

    #[test]
    fn folded_form_ignores_punctuation_and_case() {
        let forms = name_forms("  Abu—Karimo 🦅 ").expect("a name");
        assert_eq!(forms.folded, "abu karimo");
        assert_eq!(name_forms("🦅 ..."), None);
        assert_eq!(name_forms(""), None);
        assert_eq!(skeleton("Ali"), None, "too few consonants to compare");
    }

    #[test]
    fn odd_input_does_not_panic() {
        for input in ["\u{0301}", "ـــ", "ٱ", "\u{FEFF}", &"ش".repeat(10_000), "h", "hh"] {
            let _ = name_forms(input);
        }
    }
}
