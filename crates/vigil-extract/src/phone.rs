//! Phone numbers, in E.164. Only numbers written in international form
//! (`+33 …` or `0033 …`) are taken: a national number does not say its
//! country, and guessing one would name the wrong subscriber. The number
//! must be valid for its country in libphonenumber's metadata (through the
//! `phonenumber` crate), which also rules out dates and prices.

use phonenumber::Mode;

/// Digits in an E.164 number, country code included.
const DIGITS: std::ops::RangeInclusive<usize> = 8..=15;

/// The E.164 form of a phone number candidate, if it is one.
pub(crate) fn phone(candidate: &str) -> Option<String> {
    let international = candidate.strip_prefix('+').or_else(|| candidate.strip_prefix("00"))?;
    let digits = international.bytes().filter(u8::is_ascii_digit).count();
    if !DIGITS.contains(&digits) || international.starts_with(|c: char| !c.is_ascii_digit()) {
        return None;
    }
    let number = phonenumber::parse(None, format!("+{international}")).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    // The parser may drop digits it reads as a national prefix; the result
    // must itself be a number this function accepts, so that normalizing a
    // normalized number changes nothing.
    let e164 = number.format().mode(Mode::E164).to_string();
    let reparsed = phonenumber::parse(None, &e164).ok()?;
    (DIGITS.contains(&(e164.len() - 1)) && phonenumber::is_valid(&reparsed)).then_some(e164)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers from ranges set aside for drama and examples (Ofcom's
    /// 020 7946 0xxx and 0113 496 0xxx).
    #[test]
    fn international_numbers_in_e164() {
        assert_eq!(phone("+44 20 7946 0018").as_deref(), Some("+442079460018"));
        assert_eq!(phone("0044 113 496 0123").as_deref(), Some("+441134960123"));
        assert_eq!(phone("+44 (0)20 7946 0018").as_deref(), Some("+442079460018"));
    }

    #[test]
    fn not_phone_numbers() {
        assert_eq!(phone("06 12 34 56 78"), None, "national: no country");
        assert_eq!(phone("+44 12"), None, "too short");
        assert_eq!(phone("+999 1234 5678"), None, "no such country code");
        assert_eq!(phone("+1 2026"), None);
        // Found by the fuzzer: the parser dropped "00" and left 7 digits.
        assert_eq!(phone("+43 00192"), None);
    }
}
