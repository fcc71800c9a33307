//! Character folding shared by handles and display names: a small table in
//! place of full NFKC, covering what people use to dodge an exact match
//! (look-alike Cyrillic and Greek letters, full-width and "fancy" math
//! letters, Latin accents, Arabic spelling variants).

/// Characters read from any one input: handles and names are short, so a
/// longer text is cut rather than folded whole (no time spent on huge input).
pub(crate) const MAX_INPUT_CHARS: usize = 256;

/// Appends the folded, lowercase form of `c` to `out`; characters that carry
/// no identity (zero-width, combining marks, tatweel, harakat) add nothing.
pub(crate) fn push_folded(c: char, out: &mut String) {
    if is_invisible(c) {
        return;
    }
    if let Some(ascii) = ascii_variant(c) {
        out.push(ascii.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        if let Some(latin) = look_alike(lower) {
            out.push_str(latin);
        } else if let Some(arabic) = arabic_variant(lower) {
            out.push(arabic);
        } else {
            out.push(lower);
        }
    }
}

/// Folds a whole string (at most [`MAX_INPUT_CHARS`] characters of it).
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_INPUT_CHARS * 2));
    for c in text.chars().take(MAX_INPUT_CHARS) {
        push_folded(c, &mut out);
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{0300}'..='\u{036F}'   // combining accents: a decomposed é is an e
        | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' // harakat, superscript alef, tatweel
    )
}

/// Full-width forms, mathematical alphanumerics and circled letters: the
/// compatibility forms NFKC would map to plain ASCII.
fn ascii_variant(c: char) -> Option<char> {
    let code = c as u32;
    let offset = |base: u32| char::from_u32(code - base);
    match code {
        0xFF01..=0xFF5E => offset(0xFEE0),
        // Bold, italic, script, fraktur, double-struck, sans-serif and
        // monospace alphabets: 13 runs of 52 letters (A-Z then a-z).
        0x1D400..=0x1D6A3 => char::from_u32('a' as u32 + (code - 0x1D400) % 52 % 26),
        0x1D7CE..=0x1D7FF => char::from_u32('0' as u32 + (code - 0x1D7CE) % 10),
        0x24B6..=0x24CF => char::from_u32('a' as u32 + code - 0x24B6),
        0x24D0..=0x24E9 => char::from_u32('a' as u32 + code - 0x24D0),
        0x0660..=0x0669 => char::from_u32('0' as u32 + code - 0x0660),
        0x06F0..=0x06F9 => char::from_u32('0' as u32 + code - 0x06F0),
        _ => None,
    }
}

/// Lowercase letters that render like a Latin letter, and Latin letters with
/// accents, to their plain Latin form.
fn look_alike(c: char) -> Option<&'static str> {
    Some(match c {
        // Cyrillic
        'а' => "a",
        'в' => "b",
        'е' | 'ё' | 'є' => "e",
        'і' | 'ї' => "i",
        'ј' => "j",
        'к' => "k",
        'м' => "m",
        'н' | 'һ' => "h",
        'о' => "o",
        'р' => "p",
        'с' => "c",
        'т' => "t",
        'у' | 'ү' => "y",
        'х' => "x",
        'ѕ' => "s",
        'ԁ' => "d",
        'ԛ' => "q",
        'ԝ' => "w",
        'ӏ' => "l",
        // Greek
        'α' | 'ά' => "a",
        'β' => "b",
        'ε' | 'έ' => "e",
        'η' => "n",
        'ι' | 'ί' => "i",
        'κ' => "k",
        'ν' => "v",
        'ο' | 'ό' => "o",
        'ρ' => "p",
        'τ' => "t",
        'υ' | 'ύ' => "u",
        'χ' => "x",
        'γ' => "y",
        'ω' => "w",
        // Latin look-alikes and accents
        'ı' | 'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => "i",
        'ɑ' | 'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' | 'ĝ' | 'ġ' | 'ɡ' => "g",
        'ħ' => "h",
        'ł' | 'ℓ' | 'ľ' | 'ĺ' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'ř' | 'ŕ' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ť' | 'ţ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    })
}

/// Arabic letters written several ways, to one form (the same choices as
/// full-text search, `vigil_extract::fold_for_search`, plus Persian forms).
fn arabic_variant(c: char) -> Option<char> {
    Some(match c {
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' | 'ئ' | 'ی' => 'ي',
        'ة' => 'ه',
        'ؤ' => 'و',
        'ک' => 'ك',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(fold(input), expected, "fold({input:?})");
    }

    #[test]
    fn folds_look_alikes_and_compatibility_forms() {
        check("Abu_X", "abu_x");
        check("аbu_х", "abu_x"); // Cyrillic a and x
        check("ΑΒU", "abu"); // Greek capitals
        check("ａｂｕ＿ｘ", "abu_x"); // full-width
        check("𝐚𝐛𝐮", "abu"); // mathematical bold
        check("𝕬𝖇𝖚", "abu"); // fraktur bold
        check("ⓐⒷu", "abu");
        check("a\u{200B}bu", "abu");
        check("Mohamed Éloïse", "mohamed eloise");
        check("e\u{0301}", "e");
        check("٢٠٢٤", "2024");
    }

    #[test]
    fn folds_arabic_variants() {
        check("أبو", "ابو");
        check("إسلام", "اسلام");
        check("مدرسة", "مدرسه");
        check("مصطفى", "مصطفي");
        check("مُحَمَّد", "محمد");
        check("محـــمد", "محمد");
    }

    #[test]
    fn huge_input_is_cut() {
        let long = "a".repeat(100_000);
        assert_eq!(fold(&long).len(), MAX_INPUT_CHARS);
    }
}
