//! Full-text search the same way on every engine: vigil cuts texts and
//! queries into terms itself, so SQLite's FTS5 and PostgreSQL's text search
//! index and match the same terms, and builds snippets itself, so a hit reads
//! the same whichever engine found it.
//!
//! A term is a run of letters and digits, lowercased, with Latin accents
//! folded (`é` → `e`, `œ` → `oe`). Arabic spelling variants are folded by the
//! caller before the text reaches the store (`vigil_extract::fold_for_search`).

use vigil_extract::fold_for_search;

/// Terms of a text with their byte ranges in it.
pub(crate) fn terms(text: &str) -> impl Iterator<Item = (usize, usize, String)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = chars.by_ref().find(|(_, c)| c.is_alphanumeric())?;
        let mut end = text.len();
        while let Some(&(at, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                end = at;
                break;
            }
            chars.next();
        }
        let term = fold_term(&text[start..end]);
        Some((start, end, term))
    })
}

/// The text as space-separated terms: what both engines index.
pub(crate) fn indexed_text(search_text: &str) -> String {
    let mut out = String::with_capacity(search_text.len());
    for (_, _, term) in terms(search_text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&term);
    }
    out
}

/// A PostgreSQL `tsvector` literal holding the text's terms at their
/// positions, so PostgreSQL's own parser never re-cuts them. Positions stop
/// at PostgreSQL's maximum (16,383); terms beyond it still match as words.
pub(crate) fn tsvector_literal(search_text: &str) -> String {
    const MAX_POSITION: usize = 16_383;
    let mut out = String::with_capacity(search_text.len() + search_text.len() / 2);
    for (index, (_, _, term)) in terms(search_text).enumerate() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('\'');
        out.push_str(&term);
        out.push_str("':");
        out.push_str(&(index + 1).min(MAX_POSITION).to_string());
    }
    out
}

/// The terms of each phrase; phrases without any term are dropped.
pub(crate) fn phrase_terms(phrases: &[String]) -> Vec<Vec<String>> {
    phrases
        .iter()
        .map(|phrase| terms(phrase).map(|(_, _, term)| term).collect::<Vec<_>>())
        .filter(|terms| !terms.is_empty())
        .collect()
}

/// An FTS5 query: every phrase must occur.
pub(crate) fn fts5_query(phrases: &[Vec<String>]) -> String {
    phrases.iter().map(|terms| format!("\"{}\"", terms.join(" "))).collect::<Vec<_>>().join(" ")
}

/// A PostgreSQL `tsquery` literal: every phrase must occur, its terms in a row.
pub(crate) fn tsquery_literal(phrases: &[Vec<String>]) -> String {
    phrases
        .iter()
        .map(|terms| {
            let quoted: Vec<String> = terms.iter().map(|term| format!("'{term}'")).collect();
            format!("({})", quoted.join(" <-> "))
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Characters shown when there is no query to centre a snippet on.
const PLAIN_SNIPPET_CHARS: usize = 200;
/// Terms shown around the first match.
const SNIPPET_TERMS: usize = 24;

/// A short excerpt of `text` around the first place a query phrase occurs,
/// the matched words in `[brackets]`, `…` where text was cut.
pub(crate) fn snippet(text: &str, phrases: &[Vec<String>]) -> String {
    if phrases.is_empty() {
        return text.chars().take(PLAIN_SNIPPET_CHARS).collect();
    }
    // Terms are located in the text as written and compared folded, since
    // Arabic folding drops characters and would shift the offsets.
    let located: Vec<(usize, usize, String)> =
        terms(text).map(|(start, end, _)| (start, end, fold_term(&fold_for_search(&text[start..end])))).collect();
    let mut matched = vec![false; located.len()];
    for phrase in phrases {
        if phrase.len() > located.len() {
            continue;
        }
        for first in 0..=located.len() - phrase.len() {
            if phrase.iter().zip(&located[first..]).all(|(want, (_, _, term))| want == term) {
                matched[first..first + phrase.len()].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    let Some(first_match) = matched.iter().position(|&m| m) else {
        return text.chars().take(PLAIN_SNIPPET_CHARS).collect();
    };
    let window_start = first_match.saturating_sub(SNIPPET_TERMS / 4);
    let window_end = (window_start + SNIPPET_TERMS).min(located.len());
    let mut out = String::new();
    if window_start > 0 {
        out.push('…');
    }
    let mut cursor = if window_start == 0 { 0 } else { located[window_start].0 };
    let mut index = window_start;
    while index < window_end {
        let (start, end, _) = located[index];
        if matched[index] {
            let mut last = index;
            while last + 1 < window_end && matched[last + 1] {
                last += 1;
            }
            out.push_str(&text[cursor..start]);
            out.push('[');
            out.push_str(&text[start..located[last].1]);
            out.push(']');
            cursor = located[last].1;
            index = last + 1;
        } else {
            out.push_str(&text[cursor..end]);
            cursor = end;
            index += 1;
        }
    }
    if window_end < located.len() {
        out.push('…');
    } else {
        out.push_str(&text[cursor..]);
    }
    out
}

/// Lowercase with Latin accents folded; Latin letters outside the common
/// accented set, and other scripts, are only lowercased.
fn fold_term(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        match fold_latin(c) {
            Some(folded) => out.push_str(folded),
            None => out.extend(c.to_lowercase()),
        }
    }
    out
}

fn fold_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => {
            "a"
        }
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' | 'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "c",
        'ď' | 'Ď' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => {
            "e"
        }
        'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "g",
        'ĥ' | 'Ĥ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => {
            "i"
        }
        'ĵ' | 'Ĵ' => "j",
        'ķ' | 'Ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'Ĺ' | 'Ļ' | 'Ľ' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ō' | 'ŏ' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ō' | 'Ŏ' | 'Ő' => {
            "o"
        }
        'œ' | 'Œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' | 'Ŕ' | 'Ŗ' | 'Ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'Ś' | 'Ŝ' | 'Ş' | 'Š' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'Ţ' | 'Ť' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů'
        | 'Ű' | 'Ų' => "u",
        'ŵ' | 'Ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' | 'Ý' | 'Ŷ' | 'Ÿ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_lowercased_and_unaccented_runs_of_letters_and_digits() {
        assert_eq!(
            indexed_text("Appel aux DONS: hxxps://x[.]org, Éléphant cœur 2024"),
            "appel aux dons hxxps x org elephant coeur 2024"
        );
        assert_eq!(indexed_text("الدولة-الاسلامية #نشر"), "الدولة الاسلامية نشر");
        assert_eq!(indexed_text(" ,;"), "");
    }

    #[test]
    fn postgres_literals_quote_terms_and_keep_positions() {
        assert_eq!(tsvector_literal("Appel aux dons"), "'appel':1 'aux':2 'dons':3");
        let phrases = phrase_terms(&["appel aux".into(), "...".into(), "Dons".into()]);
        assert_eq!(tsquery_literal(&phrases), "('appel' <-> 'aux') & ('dons')");
        assert_eq!(fts5_query(&phrases), "\"appel aux\" \"dons\"");
    }

    #[test]
    fn snippets_bracket_whole_phrases_around_the_first_match() {
        let phrases = phrase_terms(&["appel aux dons".into()]);
        assert_eq!(snippet("Un Appel aux dons, vite.", &phrases), "Un [Appel aux dons], vite.");
        let long = format!("{} propagande {}", "mot ".repeat(40), "fin ".repeat(40));
        let cut = snippet(&long, &phrase_terms(&["propagande".into()]));
        assert!(cut.starts_with('…') && cut.ends_with('…') && cut.contains("[propagande]"), "{cut}");
        assert_eq!(snippet("sans rapport", &phrase_terms(&["absent".into()])), "sans rapport");
        assert_eq!(snippet("émission spéciale", &phrase_terms(&["emission".into()])), "[émission] spéciale");
    }
}
