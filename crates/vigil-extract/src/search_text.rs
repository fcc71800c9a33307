//! The form of a text that full-text search indexes and matches.

use std::borrow::Cow;

/// Folds Arabic spelling variants that readers treat as one word: diacritics
/// (harakat) and tatweel are dropped, alef, yeh and teh marbuta variants are
/// unified. Latin accents are left to the search engine's own folding.
pub fn fold_for_search(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter(|c| !matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}'))
            .map(|c| match c {
                'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
                'ى' => 'ي',
                'ة' => 'ه',
                'ؤ' => 'و',
                'ئ' => 'ي',
                other => other,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_arabic_variants() {
        assert_eq!(fold_for_search("الدَّوْلَة"), "الدوله");
        assert_eq!(fold_for_search("إعـــلام"), "اعلام");
        assert_eq!(fold_for_search("café"), "café");
    }
}
