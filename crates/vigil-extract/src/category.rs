//! Content categories: which lexicon terms a text contains, where, and how
//! much they weigh. Terms come from data files (see `lexicons/` at the
//! repository root); all of them are matched in one Aho-Corasick pass over
//! a folded copy of the text, whose offsets map back to the original.

use std::fmt;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use thiserror::Error;

use crate::{Finding, IndicatorKind, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Names of the group's media outlets and publications.
    Propaganda,
    Recruitment,
    WeaponsInstructions,
    /// Donation appeals, and wallets next to them.
    Financing,
    /// Incitement and threats to life: what makes a case urgent.
    Threat,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Propaganda,
        Category::Recruitment,
        Category::WeaponsInstructions,
        Category::Financing,
        Category::Threat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Propaganda => "propaganda",
            Category::Recruitment => "recruitment",
            Category::WeaponsInstructions => "weapons_instructions",
            Category::Financing => "financing",
            Category::Threat => "threat",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|category| category.as_str() == name)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is in a category: a lexicon term as written in the lexicon,
/// or `wallet` for a wallet address next to a financing term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub term: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CategoryMatch {
    pub category: Category,
    /// 0 to 1: `1 - exp(-w)`, with `w` the summed weights of the distinct
    /// terms found (one strong term gives 0.63, two give 0.86).
    pub score: f64,
    /// Every match, in text order.
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("lexicon {source_name} line {line}: {reason}")]
pub struct LexiconError {
    pub source_name: String,
    pub line: usize,
    pub reason: String,
}

#[derive(Clone, Debug)]
struct Term {
    category: Category,
    written: String,
    weight: f64,
}

/// Every category term, ready to match.
#[derive(Clone, Debug)]
pub struct Lexicon {
    automaton: AhoCorasick,
    /// For each automaton pattern, the terms that fold to it.
    patterns: Vec<Vec<Term>>,
}

/// A wallet this close (in bytes) to a financing term counts as evidence.
const WALLET_NEIGHBOURHOOD: usize = 300;

const BUILTIN: [(&str, &str); 3] = [
    ("lexicons/en.txt", include_str!("../../../lexicons/en.txt")),
    ("lexicons/fr.txt", include_str!("../../../lexicons/fr.txt")),
    ("lexicons/ar.txt", include_str!("../../../lexicons/ar.txt")),
];

static BUILTIN_LEXICON: LazyLock<Lexicon> =
    LazyLock::new(|| Lexicon::parse(&BUILTIN).expect("the built-in lexicons parse"));

impl Lexicon {
    /// The lexicons shipped in the repository, compiled into the binary.
    pub fn builtin() -> &'static Lexicon {
        &BUILTIN_LEXICON
    }

    /// The built-in lexicons and more sources, as (name, text) pairs.
    pub fn with_builtin_and(extra: &[(&str, &str)]) -> Result<Lexicon, LexiconError> {
        let sources: Vec<(&str, &str)> = BUILTIN.iter().copied().chain(extra.iter().copied()).collect();
        Lexicon::parse(&sources)
    }

    /// Parses lexicon sources, as (name, text) pairs; the name is for errors.
    pub fn parse(sources: &[(&str, &str)]) -> Result<Lexicon, LexiconError> {
        let mut folded_patterns: Vec<String> = Vec::new();
        let mut patterns: Vec<Vec<Term>> = Vec::new();
        for (source_name, text) in sources {
            let mut category = None;
            for (index, raw_line) in text.lines().enumerate() {
                let error =
                    |reason: String| LexiconError { source_name: source_name.to_string(), line: index + 1, reason };
                let line = raw_line.split('#').next().unwrap_or_default().trim();
                if line.is_empty() {
                    continue;
                }
                if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
                    category = Some(Category::from_name(name.trim()).ok_or_else(|| {
                        error(format!("unknown category {name:?}; known: propaganda, recruitment, weapons_instructions, financing, threat"))
                    })?);
                    continue;
                }
                let category = category.ok_or_else(|| error("a term before any [category] line".into()))?;
                let (written, weight) = match line.rsplit_once('|') {
                    Some((term, weight)) => {
                        let weight: f64 = weight
                            .trim()
                            .parse()
                            .map_err(|_| error(format!("weight {:?} is not a number", weight.trim())))?;
                        if !(0.0..=1.0).contains(&weight) || weight == 0.0 {
                            return Err(error(format!("weight {weight} is not in (0, 1]")));
                        }
                        (term.trim(), weight)
                    }
                    None => (line, 1.0),
                };
                let (folded, _) = fold(written);
                let folded = folded.trim().to_owned();
                if folded.is_empty() {
                    return Err(error("the term is empty once folded".into()));
                }
                let term = Term { category, written: written.to_owned(), weight };
                match folded_patterns.iter().position(|existing| *existing == folded) {
                    // The same term in two files (Dabiq in English and in French)
                    // is one term; the stronger weight wins.
                    Some(position) => match patterns[position].iter_mut().find(|t| t.category == category) {
                        Some(existing) => existing.weight = existing.weight.max(weight),
                        None => patterns[position].push(term),
                    },
                    None => {
                        folded_patterns.push(folded);
                        patterns.push(vec![term]);
                    }
                }
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&folded_patterns)
            .map_err(|error| LexiconError { source_name: "all".into(), line: 0, reason: error.to_string() })?;
        Ok(Lexicon { automaton, patterns })
    }

    /// The categories of `text`, given the indicators already found in it.
    pub fn categorize(&self, text: &str, findings: &[Finding]) -> Vec<CategoryMatch> {
        let (folded, origin) = fold(text);
        let mut matches: Vec<CategoryMatch> = Vec::new();
        for found in self.automaton.find_iter(&folded) {
            if !is_whole_word(&folded, found.start(), found.end()) {
                continue;
            }
            let span = Span { start: origin[found.start()].0 as usize, end: origin[found.end() - 1].1 as usize };
            for term in &self.patterns[found.pattern().as_usize()] {
                let index = match matches.iter().position(|m| m.category == term.category) {
                    Some(index) => index,
                    None => {
                        matches.push(CategoryMatch { category: term.category, score: 0.0, evidence: Vec::new() });
                        matches.len() - 1
                    }
                };
                matches[index].evidence.push(Evidence { term: term.written.clone(), span });
            }
        }
        if let Some(financing) = matches.iter_mut().find(|m| m.category == Category::Financing) {
            // Evidence comes in text order, and terms do not overlap, so the
            // nearest appeal before or after a wallet is found by bisection.
            let appeals = &financing.evidence;
            let near_appeal = |span: Span| {
                let next = appeals.partition_point(|e| e.span.start < span.start);
                let close = |e: &Evidence| {
                    span.start < e.span.end + WALLET_NEIGHBOURHOOD && e.span.start < span.end + WALLET_NEIGHBOURHOOD
                };
                appeals.get(next).is_some_and(close)
                    || next.checked_sub(1).and_then(|i| appeals.get(i)).is_some_and(close)
            };
            let wallets: Vec<Evidence> = findings
                .iter()
                .filter(|f| {
                    matches!(f.kind, IndicatorKind::Btc | IndicatorKind::Eth | IndicatorKind::Xmr | IndicatorKind::Trx)
                })
                .filter(|f| near_appeal(f.span))
                .map(|f| Evidence { term: "wallet".into(), span: f.span })
                .collect();
            financing.evidence.extend(wallets);
            financing.evidence.sort_by_key(|e| e.span);
        }
        for category_match in &mut matches {
            let mut counted: Vec<&str> = Vec::new();
            let mut weight = 0.0;
            for evidence in &category_match.evidence {
                if counted.contains(&evidence.term.as_str()) {
                    continue;
                }
                counted.push(&evidence.term);
                weight += self.weight_of(category_match.category, &evidence.term);
            }
            category_match.score = 1.0 - (-weight).exp();
        }
        matches.sort_by_key(|m| m.category);
        matches
    }

    fn weight_of(&self, category: Category, written: &str) -> f64 {
        if written == "wallet" {
            return 1.0;
        }
        self.patterns
            .iter()
            .flatten()
            .find(|term| term.category == category && term.written == written)
            .map_or(0.0, |term| term.weight)
    }
}

/// A whole word, or an Arabic word with a one-letter proclitic (و ف ب ل ك).
fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let clean_end = !after.is_some_and(char::is_alphanumeric);
    let clean_start = match before {
        None => true,
        Some(c) if !c.is_alphanumeric() => true,
        Some(c) if "وفبلك".contains(c) => {
            let before_proclitic = text[..start - c.len_utf8()].chars().next_back();
            !before_proclitic.is_some_and(char::is_alphanumeric)
        }
        Some(_) => false,
    };
    clean_start && clean_end
}

/// The text in matching form, and for each of its bytes the original range
/// it came from: lowercase, Latin accents and Arabic diacritics and tatweel
/// dropped, Arabic letter variants unified, hyphens, underscores and
/// apostrophes as spaces, runs of spaces as one.
fn fold(text: &str) -> (String, Vec<(u32, u32)>) {
    let mut folded = String::with_capacity(text.len());
    let mut origin: Vec<(u32, u32)> = Vec::with_capacity(text.len());
    for (position, character) in text.char_indices() {
        let source = (position as u32, (position + character.len_utf8()) as u32);
        let mut push = |c: char| {
            if c == ' ' && folded.ends_with(' ') {
                return;
            }
            folded.push(c);
            origin.extend(std::iter::repeat_n(source, c.len_utf8()));
        };
        match character {
            '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | '\u{0300}'..='\u{036F}' => {}
            'أ' | 'إ' | 'آ' | 'ٱ' => push('ا'),
            'ى' | 'ئ' => push('ي'),
            'ة' => push('ه'),
            'ؤ' => push('و'),
            '-' | '_' | '\'' | '’' | 'ʿ' | 'ʾ' | '`' | '‘' => push(' '),
            c if c.is_whitespace() => push(' '),
            c => {
                for lower in c.to_lowercase() {
                    match strip_latin_accent(lower) {
                        Some(plain) => plain.chars().for_each(&mut push),
                        None => push(lower),
                    }
                }
            }
        }
    }
    (folded, origin)
}

fn strip_latin_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'î' | 'ï' | 'í' | 'ì' => "i",
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
        'ù' | 'û' | 'ü' | 'ú' => "u",
        'ç' => "c",
        'ñ' => "n",
        'ÿ' => "y",
        'œ' => "oe",
        'æ' => "ae",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories(text: &str) -> Vec<(Category, Vec<String>)> {
        let findings = crate::extract_indicators(text);
        Lexicon::builtin()
            .categorize(text, &findings)
            .into_iter()
            .map(|m| (m.category, m.evidence.iter().map(|e| text[e.span.start..e.span.end].to_owned()).collect()))
            .collect()
    }

    #[test]
    fn terms_match_across_case_accents_and_arabic_variants() {
        assert_eq!(categories("Nouveau numéro de DABIQ"), vec![(Category::Propaganda, vec!["DABIQ".into()])]);
        assert_eq!(
            categories("apprenez à fabriquer une Bombe"),
            vec![(Category::WeaponsInstructions, vec!["fabriquer une Bombe".into()])]
        );
        assert_eq!(categories("Nous allons EGORGER"), vec![(Category::Threat, vec!["Nous allons EGORGER".into()])]);
        assert_eq!(categories("إصدار جديد من وكالة اعماق"), vec![(Category::Propaganda, vec!["وكالة اعماق".into()])]);
        assert_eq!(
            categories("عدد جديد من صحيفة النبـــأ"),
            vec![(Category::Propaganda, vec!["صحيفة النبـــأ".into()])]
        );
        assert_eq!(categories("ودابق"), vec![(Category::Propaganda, vec!["دابق".into()])]);
        assert_eq!(
            categories("al Naba and al-naba"),
            vec![(Category::Propaganda, vec!["al Naba".into(), "al-naba".into()])]
        );
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(categories("the amaqorama festival"), vec![]);
        assert_eq!(categories("a pipe bombastic claim"), vec![]);
    }

    #[test]
    fn wallets_next_to_appeals_are_financing() {
        let text = "Faites un don aux moudjahidines : 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let findings = crate::extract_indicators(text);
        let matches = Lexicon::builtin().categorize(text, &findings);
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].category, Category::Financing);
        assert_eq!(
            matches[0].evidence.iter().map(|e| e.term.as_str()).collect::<Vec<_>>(),
            vec!["faites un don aux moudjahidines", "wallet"]
        );
        assert!(matches[0].score > 0.85, "{}", matches[0].score);
        // A wallet alone is no appeal.
        let alone = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert!(Lexicon::builtin().categorize(alone, &crate::extract_indicators(alone)).is_empty());
    }

    #[test]
    fn scores_grow_with_distinct_terms() {
        let one = Lexicon::builtin().categorize("Dabiq", &[]);
        let two = Lexicon::builtin().categorize("Dabiq et Rumiyah", &[]);
        let repeated = Lexicon::builtin().categorize("Dabiq Dabiq Dabiq", &[]);
        assert!((one[0].score - 0.632).abs() < 0.01);
        assert!(two[0].score > one[0].score);
        assert_eq!(repeated[0].score, one[0].score);
    }

    #[test]
    fn operators_extend_and_errors_name_the_line() {
        let lexicon = Lexicon::with_builtin_and(&[("local.txt", "[threat]\nexample threat phrase | 0.5\n")]).unwrap();
        let matches = lexicon.categorize("an Example Threat Phrase here", &[]);
        assert_eq!(matches[0].category, Category::Threat);
        let error = Lexicon::parse(&[("bad.txt", "[threat]\nx | 2\n")]).unwrap_err();
        assert_eq!(error.to_string(), "lexicon bad.txt line 2: weight 2 is not in (0, 1]");
        let error = Lexicon::parse(&[("bad.txt", "term\n")]).unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
        let error = Lexicon::parse(&[("bad.txt", "[hate]\n")]).unwrap_err();
        assert!(error.to_string().contains("unknown category"), "{error}");
    }
}
