//! Finds indicators in text. The text is refanged first, every pattern runs
//! on the refanged copy, and each match is mapped back to the original bytes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::account::{PLATFORM_MENTIONS, Platform, account_of_url, account_of_url_parts, normalize_account_handle};
use crate::byte_classes::ByteClasses;
use crate::ip::{ipv4_in_prose, parse_ipv6};
use crate::normalize::{
    SimpleUrl, is_host_name, is_plausible_bare_domain, normalize_domain, normalize_email, normalize_url,
    registrable_domain,
};
use crate::phone::phone;
use crate::refang::{Refanged, refang_authority};
use crate::wallet::wallet;
use crate::{Extraction, Finding, IndicatorKind, Lexicon, Span, detect_language};

// Word boundaries are ASCII ones, `(?-u:\b)`: Unicode boundaries would keep
// the regex engine off its fast path on French and Arabic text, and an
// Arabic letter touching a URL should not hide it anyway.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?:https?|ftp)://[\p{L}\p{N}.\-]+(?::\d{1,5})?(?:[/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?",
    )
    .expect("URL pattern compiles")
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)\b[a-z0-9][a-z0-9._%+\-]*@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,63}\b")
        .expect("e-mail pattern compiles")
});
/// A whole hashtag body, for normalizing a hashtag given on its own.
pub(crate) static HASHTAG_BODY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{M}\p{N}_]+$").expect("hashtag body pattern compiles"));
static HASHTAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#[\p{L}\p{M}\p{N}_]+").expect("hashtag pattern compiles"));
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,62}[A-Za-z0-9_])?").expect("handle pattern compiles")
});
static TELEGRAM_APP_LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?-u:\b)tg://resolve\?domain=[A-Za-z0-9_]+").expect("tg link pattern compiles"));
/// The platform names of [`PLATFORM_MENTIONS`], found in one pass without
/// lowercasing the sentence (ASCII case is ignored; Arabic has none). No
/// name ends with the start of another, so matches never overlap and the
/// plain search (which has a vectorized prefilter) finds every one.
static PLATFORM_NAMES: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(PLATFORM_MENTIONS.iter().map(|(word, _)| word))
        .expect("platform names build")
});

/// Wallet addresses and file hashes in one pass: both are whole tokens of
/// letters and digits, told apart afterwards.
static LONG_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:[bB][cC]1[a-zA-Z0-9]{8,87}|[13][1-9A-HJ-NP-Za-km-z]{25,34}|0x[0-9a-fA-F]{40}|T[1-9A-HJ-NP-Za-km-z]{33}|[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?|[0-9A-Fa-f]{32,64})(?-u:\b)",
    )
    .expect("long token pattern compiles")
});
/// `+` or `00`, then digits with the separators people write between them.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|(?-u:\b)00)[1-9][0-9]{0,3}(?:[ .\-]?(?:\(0\)|\([0-9]{1,4}\)|[0-9]{1,6})){1,6}")
        .expect("phone pattern compiles")
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?-u:\b)").expect("IPv4 pattern compiles")
});
static IPV6: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{2,38}").expect("IPv6 pattern compiles"));

/// Every indicator in `text`, its language and its categories under the
/// built-in lexicons.
pub fn extract(text: &str) -> Extraction {
    extract_with(Lexicon::builtin(), text)
}

/// [`extract`], with categories under `lexicon`.
pub fn extract_with(lexicon: &Lexicon, text: &str) -> Extraction {
    let findings = extract_indicators(text);
    let language = detect_language(&text_without(text, &findings));
    let categories = lexicon.categorize(text, &findings);
    Extraction { language, findings, categories }
}

/// Every indicator in `text`, without the language: for the paths that do
/// not need it, since detection costs more than finding indicators.
pub fn extract_indicators(text: &str) -> Vec<Finding> {
    let refanged = Refanged::new(text);
    let scanned = refanged.text.as_ref();
    let mut finder =
        Finder { refanged: &refanged, taken: BTreeMap::new(), findings: Vec::new(), sentence_platform: None };

    let profile = TextProfile::of(scanned, refanged.classes);
    if profile.scheme_separator {
        for found in URL.find_iter(scanned) {
            let end = found.start() + before_script_change(found.as_str());
            let span = trim_url_end(scanned, Span { start: found.start(), end });
            finder.url(span, false);
        }
    }
    if profile.telegram_scheme {
        for found in TELEGRAM_APP_LINK.find_iter(scanned) {
            let span = Span { start: found.start(), end: found.end() };
            let account = url::Url::parse(found.as_str()).ok().and_then(|url| account_of_url(&url));
            if let (true, Some((platform, handle))) = (finder.is_free(span), account) {
                finder.take(span, IndicatorKind::Account, format!("{platform}:{handle}"));
            }
        }
    }
    // Hashes are taken last, after e-mails and hashtags that may hold one.
    let mut hash_candidates = Vec::new();
    if profile.long_word {
        for found in LONG_TOKEN.find_iter(scanned) {
            let span = Span { start: found.start(), end: found.end() };
            match wallet(found.as_str()) {
                Some((kind, value)) if finder.is_free(span) => finder.take(span, kind, value),
                Some(_) => {}
                None => hash_candidates.push(span),
            }
        }
    }
    if profile.plus || profile.international_zeros {
        for found in PHONE.find_iter(scanned) {
            let span = Span { start: found.start(), end: found.end() };
            let after = scanned[span.end..].chars().next();
            if after.is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            if let (true, Some(number)) = (finder.is_free(span), phone(found.as_str())) {
                finder.take(span, IndicatorKind::Phone, number);
            }
        }
    }
    if profile.digit_dot_digit {
        for found in IPV4.find_iter(scanned) {
            let span = Span { start: found.start(), end: found.end() };
            let defanged = refanged.was_defanged(span);
            if let (true, Some(address)) =
                (finder.is_free(span), ipv4_in_prose(scanned, span.start, span.end, defanged))
            {
                finder.take(span, IndicatorKind::Ipv4, address);
            }
        }
    }
    if profile.colon_before_hex {
        for found in IPV6.find_iter(scanned) {
            let span = Span { start: found.start(), end: found.end() };
            let before = scanned[..span.start].chars().next_back();
            let after = scanned[span.end..].chars().next();
            let bounded = !before.is_some_and(|c| c.is_alphanumeric() || c == ':' || c == '.')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '.');
            if let (true, true, Some(address)) = (bounded, finder.is_free(span), parse_ipv6(found.as_str())) {
                finder.take(span, IndicatorKind::Ipv6, address);
            }
        }
    }
    if profile.at {
        for found in EMAIL.find_iter(scanned) {
            let span = Span { start: found.start(), end: found.end() };
            // What normalize(Email) does, less refanging again: the pattern's
            // bytes (ASCII letters, digits, "._%+-@") hold nothing to rewrite.
            if let (true, Ok(email)) = (finder.is_free(span), normalize_email(found.as_str())) {
                finder.take(span, IndicatorKind::Email, email);
            }
        }
    }
    for span in domain_candidates(scanned, |dot| finder.is_free(Span { start: dot, end: dot + 1 })) {
        if finder.is_free(span) && !touches(scanned, span) {
            finder.bare_domain(scanned, span);
        }
    }
    if profile.hash {
        for found in HASHTAG.find_iter(scanned) {
            let span = Span { start: found.start(), end: found.end() };
            let tag = &found.as_str()[1..];
            let preceded_by_word =
                scanned[..span.start].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "_&#/".contains(c));
            if finder.is_free(span) && !preceded_by_word && tag.chars().any(char::is_alphabetic) {
                finder.take(span, IndicatorKind::Hashtag, tag.to_lowercase());
            }
        }
    }
    if profile.at {
        for found in HANDLE.find_iter(scanned) {
            let span = Span { start: found.start(), end: found.end() };
            let preceded_by_word =
                scanned[..span.start].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "_.@/".contains(c));
            if finder.is_free(span) && !preceded_by_word {
                finder.handle(scanned, &found.as_str()[1..], span);
            }
        }
    }
    for span in hash_candidates {
        let hex = &scanned[span.start..span.end];
        let kind = match hex.len() {
            32 => IndicatorKind::Md5,
            40 => IndicatorKind::Sha1,
            64 => IndicatorKind::Sha256,
            _ => continue,
        };
        // A real digest has both letters and digits with near certainty;
        // requiring both keeps long numbers and words out.
        let is_digest = hex.bytes().all(|b| b.is_ascii_hexdigit())
            && hex.bytes().any(|b| b.is_ascii_digit())
            && hex.bytes().any(|b| b.is_ascii_alphabetic());
        if is_digest && finder.is_free(span) {
            finder.take(span, kind, hex.to_ascii_lowercase());
        }
    }

    let mut findings = finder.findings;
    findings.sort_by_key(|a| (a.span, a.kind));
    findings
}

/// What a text could hold, so that a pattern that cannot match is never
/// run: most texts hold no '@', no '#', no ':' and no digit, and the one
/// pass of [`ByteClasses`] says so; the finer tests run only behind it.
struct TextProfile {
    at: bool,
    hash: bool,
    /// "://", which every URL pattern needs.
    scheme_separator: bool,
    /// "tg://", ASCII case ignored: the Telegram app's links.
    telegram_scheme: bool,
    /// A ':' followed by two hex digits or ':': what the IPv6 pattern needs.
    colon_before_hex: bool,
    plus: bool,
    international_zeros: bool,
    /// A run of at least 14 ASCII letters and digits: the shortest wallet.
    long_word: bool,
    /// A '.' between two digits: what a dotted quad needs.
    digit_dot_digit: bool,
}

impl TextProfile {
    fn of(text: &str, classes: ByteClasses) -> TextProfile {
        let bytes = text.as_bytes();
        let digit = classes.has(ByteClasses::DIGIT);
        let (mut scheme_separator, mut telegram_scheme, mut colon_before_hex) = (false, false, false);
        if classes.has(ByteClasses::COLON) {
            let is_hex_or_colon = |i: usize| bytes.get(i).is_some_and(|b| b.is_ascii_hexdigit() || *b == b':');
            for colon in memchr::memchr_iter(b':', bytes) {
                if bytes[colon + 1..].starts_with(b"//") {
                    scheme_separator = true;
                    telegram_scheme |= colon >= 2 && bytes[colon - 2..colon].eq_ignore_ascii_case(b"tg");
                }
                colon_before_hex |= is_hex_or_colon(colon + 1) && is_hex_or_colon(colon + 2);
            }
        }
        TextProfile {
            at: classes.has(ByteClasses::AT),
            hash: classes.has(ByteClasses::HASH),
            scheme_separator,
            telegram_scheme,
            colon_before_hex,
            plus: classes.has(ByteClasses::PLUS),
            // As the phone pattern wants it: "00" starting a word, then 1-9.
            international_zeros: digit
                && DOUBLE_ZERO.find_iter(bytes).any(|i| {
                    (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
                        && bytes.get(i + 2).is_some_and(|b| (b'1'..=b'9').contains(b))
                }),
            // Every wallet and every digest has a digit.
            long_word: digit && has_long_word(bytes),
            digit_dot_digit: digit
                && classes.has(ByteClasses::DOT)
                && memchr::memchr_iter(b'.', bytes).any(|i| {
                    i > 0 && bytes[i - 1].is_ascii_digit() && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                }),
        }
    }
}

/// Whether 14 ASCII letters and digits stand in a row. Each window of 14
/// bytes is read from its end backwards: the first byte that is no letter
/// or digit rules out every run through it, and the next window starts
/// after it. Prose words are short, so most windows end at a space at once
/// and most bytes are never read; none is read more than twice.
fn has_long_word(bytes: &[u8]) -> bool {
    const RUN: usize = 14;
    let mut start = 0;
    while start + RUN <= bytes.len() {
        match bytes[start..start + RUN].iter().rposition(|b| !b.is_ascii_alphanumeric()) {
            None => return true,
            Some(breaking) => start += breaking + 1,
        }
    }
    false
}

/// Built once: building a substring searcher costs more than a short search.
static DOUBLE_ZERO: LazyLock<memchr::memmem::Finder<'static>> = LazyLock::new(|| memchr::memmem::Finder::new("00"));

struct Finder<'r, 'a> {
    refanged: &'r Refanged<'a>,
    /// Ranges of the refanged text already claimed by an indicator, so that
    /// a domain inside a URL or an @ inside an e-mail is not found twice.
    /// Kept as start -> end; taken spans never overlap, so the one taken
    /// span that could overlap a candidate is the last one starting before
    /// the candidate ends.
    taken: BTreeMap<usize, usize>,
    findings: Vec<Finding>,
    /// The sentence last asked about and the platform it names, so that a
    /// line of many @handles is read once, not once per handle.
    sentence_platform: Option<(Span, Option<Platform>)>,
}

impl Finder<'_, '_> {
    fn is_free(&self, span: Span) -> bool {
        self.taken.range(..span.end).next_back().is_none_or(|(_, &end)| end <= span.start)
    }

    fn claim(&mut self, span: Span) {
        self.taken.insert(span.start, span.end);
    }

    fn take(&mut self, span: Span, kind: IndicatorKind, value: String) {
        self.claim(span);
        self.push(span, kind, value);
    }

    fn push(&mut self, span: Span, kind: IndicatorKind, value: String) {
        self.findings.push(Finding { kind, value, span: self.refanged.original_span(span) });
    }

    /// Takes the URL at `span` with its host (domain and registrable
    /// domain, or IP address) and the account of a profile URL; `https://`
    /// is put before a link written without its scheme. False when it is no
    /// URL with a real host. The value comes from the original text through
    /// [`normalize`]'s rules, so that normalizing it again changes nothing.
    fn url(&mut self, span: Span, add_scheme: bool) -> bool {
        // Most links are written plainly: then the scanned bytes are the
        // original ones and there is nothing to refang.
        let written = if self.refanged.is_verbatim(span) {
            Cow::Borrowed(&self.refanged.text[span.start..span.end])
        } else {
            let original = self.refanged.original_span(span);
            refang_authority(&self.refanged.original[original.start..original.end])
        };
        let candidate = if add_scheme { Cow::Owned(format!("https://{written}")) } else { written };
        // A host must be an address or a real domain (two labels at least,
        // an alphabetic top level): `https://word` in prose is no link.
        let (value, host, account) = match SimpleUrl::normalize(&candidate) {
            Some(simple) => {
                // What normalize_domain would say of a host this plain.
                if !is_host_name(simple.host()) {
                    return false;
                }
                let domain = simple.host().to_owned();
                let account = account_of_url_parts(simple.scheme(), Some(simple.host()), simple.path(), simple.query());
                (simple.text, (IndicatorKind::Domain, domain), account)
            }
            None => {
                let Some(url) = normalize_url(&candidate) else { return false };
                let host = match url.host() {
                    Some(url::Host::Domain(host)) => match normalize_domain(host) {
                        Some(domain) => (IndicatorKind::Domain, domain),
                        None => return false,
                    },
                    Some(url::Host::Ipv4(address)) => (IndicatorKind::Ipv4, address.to_string()),
                    Some(url::Host::Ipv6(address)) => (IndicatorKind::Ipv6, address.to_string()),
                    None => return false,
                };
                let account = account_of_url(&url);
                (String::from(url), host, account)
            }
        };
        self.claim(span);
        self.push(span, IndicatorKind::Url, value);
        if host.0 == IndicatorKind::Domain
            && let Some(registrable) = registrable_domain(&host.1)
        {
            self.push(span, IndicatorKind::Domain, registrable);
        }
        self.push(span, host.0, host.1);
        if let Some((platform, handle)) = account {
            self.push(span, IndicatorKind::Account, format!("{platform}:{handle}"));
        }
        true
    }

    /// A domain written without a scheme. Defanged ones are always taken;
    /// plain ones only when [`is_plausible_bare_domain`] and written in
    /// lowercase, so that file names (`rapport.pdf`) and missing spaces
    /// after a full stop (`fin.Le`) are not. Followed by a path, it is a
    /// link written without its scheme (`t.me/channel`), taken as https.
    fn bare_domain(&mut self, scanned: &str, span: Span) {
        let candidate = &scanned[span.start..span.end];
        let Some(domain) = normalize_domain(candidate) else { return };
        let lowercase_tld = candidate.rsplit('.').next().is_some_and(|tld| tld.chars().all(char::is_lowercase));
        let plausible = self.refanged.was_defanged(span) || (lowercase_tld && is_plausible_bare_domain(&domain));
        if !plausible {
            return;
        }
        let rest = &scanned[span.end..];
        if rest.starts_with('/') {
            let path_len = rest.find(|c: char| !is_url_path_char(c)).unwrap_or(rest.len());
            let url_span = trim_url_end(scanned, Span { start: span.start, end: span.end + path_len });
            if self.url(url_span, true) {
                return;
            }
        }
        self.claim(span);
        if let Some(registrable) = registrable_domain(&domain) {
            self.push(span, IndicatorKind::Domain, registrable);
        }
        self.push(span, IndicatorKind::Domain, domain);
    }

    /// A bare @handle is an account when its sentence names exactly one
    /// platform and the handle is valid there; otherwise it is a handle.
    fn handle(&mut self, scanned: &str, handle: &str, span: Span) {
        let platform = match self.sentence_platform {
            // Handles come in text order, so the sentence of the last one
            // usually holds this one too; no scan at all then.
            Some((cached, platform)) if cached.start <= span.start && span.end <= cached.end => platform,
            _ => {
                let sentence = sentence_around(scanned, span);
                let mut named = PLATFORM_NAMES
                    .find_iter(&scanned[sentence.start..sentence.end])
                    .map(|found| PLATFORM_MENTIONS[found.pattern().as_usize()].1);
                let first: Option<Platform> = named.next();
                let platform = first.filter(|first| named.all(|other| other == *first));
                self.sentence_platform = Some((sentence, platform));
                platform
            }
        };
        match platform.and_then(|platform| normalize_account_handle(platform, handle).map(|h| (platform, h))) {
            Some((platform, handle)) => self.take(span, IndicatorKind::Account, format!("{platform}:{handle}")),
            None => self.take(span, IndicatorKind::Handle, handle.to_ascii_lowercase()),
        }
    }
}

/// Whether two adjacent characters are a Latin letter or digit and an Arabic
/// letter, in either order.
fn script_changes(first: char, second: char) -> bool {
    // Two ASCII characters, or two others, are never Latin against Arabic.
    if first.is_ascii() == second.is_ascii() {
        return false;
    }
    (first.is_ascii_alphanumeric() && is_arabic(second)) || (is_arabic(first) && second.is_ascii_alphanumeric())
}

fn is_arabic(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

/// The length of `text` up to where Latin and Arabic letters first touch.
fn before_script_change(text: &str) -> usize {
    let mut previous = None;
    for (i, c) in text.char_indices() {
        if previous.is_some_and(|p| script_changes(p, c)) {
            return i;
        }
        previous = Some(c);
    }
    text.len()
}

/// Runs of `label.label.tld` in prose: found from each '.', which is far
/// cheaper than a regex of Unicode labels tried at every position.
/// Dots for which `is_free` is false (inside a URL or an e-mail already
/// taken) are passed over without reading around them.
fn domain_candidates(text: &str, is_free: impl Fn(usize) -> bool) -> Vec<Span> {
    let is_label_char = |c: char| c.is_alphanumeric() || c == '-';
    let mut candidates = Vec::new();
    let mut searched_to = 0;
    let bytes = text.as_bytes();
    for dot in memchr::memchr_iter(b'.', bytes) {
        // A full stop ending a sentence is most dots in prose. A run's first
        // dot with no label after it leaves one label at most: no domain.
        let ends_a_run =
            bytes.get(dot + 1).is_none_or(|&b| b.is_ascii() && !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        if dot < searched_to || ends_a_run || !is_free(dot) {
            continue;
        }
        // The run of label characters around the dot, cut where Latin and
        // Arabic letters touch: written without a space, they are two words.
        let mut start = dot;
        let mut after = '.';
        for (i, c) in text[..dot].char_indices().rev() {
            if !(is_label_char(c) || c == '.') || script_changes(c, after) {
                break;
            }
            (start, after) = (i, c);
        }
        if start == dot {
            continue;
        }
        let mut end = dot;
        let mut before = '.';
        for (i, c) in text[dot..].char_indices() {
            if !(is_label_char(c) || c == '.') || script_changes(before, c) {
                break;
            }
            (end, before) = (dot + i + c.len_utf8(), c);
        }
        searched_to = end;
        // Trim what cannot start or end a domain.
        let token = &text[start..end];
        let trimmed_start = token.len() - token.trim_start_matches(['.', '-']).len();
        let token = token.trim_matches(['.', '-']);
        if token.is_empty() {
            continue;
        }
        let span = Span { start: start + trimmed_start, end: start + trimmed_start + token.len() };
        let labels_ok = token.split('.').count() >= 2
            && token
                .split('.')
                .all(|label| (1..=63).contains(&label.len()) && !label.starts_with('-') && !label.ends_with('-'));
        let tld = token.rsplit('.').next().unwrap_or_default();
        if labels_ok && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic) {
            candidates.push(span);
        }
    }
    candidates
}

/// Cuts sentence punctuation and unbalanced closing brackets off the end of
/// a URL match: "see (https://example.org/a)." ends at "a".
fn trim_url_end(text: &str, mut span: Span) -> Span {
    let url = &text[span.start..span.end];
    // Counted once and kept up to date: recounting per trimmed character
    // would make a URL ending in a long run of ')' quadratic.
    let (mut open, mut close) = ([0usize; 2], [0usize; 2]);
    for &b in url.as_bytes() {
        match b {
            b'(' => open[0] += 1,
            b'[' => open[1] += 1,
            b')' => close[0] += 1,
            b']' => close[1] += 1,
            _ => {}
        }
    }
    while let Some(last) = text[span.start..span.end].chars().next_back() {
        let bracket = match last {
            ')' => Some(0),
            ']' => Some(1),
            _ => None,
        };
        let unbalanced = bracket.is_some_and(|b| open[b] < close[b]);
        if !(".,;:!?'\"".contains(last) || unbalanced) {
            break;
        }
        if let Some(b) = bracket {
            close[b] -= 1;
        }
        span.end -= last.len_utf8();
    }
    span
}

/// Whether a bare-domain match is part of something larger: a path, an
/// address, a file name, a longer word.
/// Arabic letters against Latin ones are a word boundary, not part of it.
fn touches(text: &str, span: Span) -> bool {
    let (first, last) = (text[span.start..].chars().next(), text[..span.end].chars().next_back());
    let before = text[..span.start].chars().next_back();
    let after = text[span.end..].chars().next();
    let joined = |c: char, edge: Option<char>| c.is_alphanumeric() && !edge.is_some_and(|e| script_changes(c, e));
    before.is_some_and(|c| joined(c, first) || "@/.-_\\".contains(c))
        || after.is_some_and(|c| joined(c, last) || "@-_\\".contains(c))
}

fn is_url_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

/// The sentence (or line) that contains `span`.
/// Read byte by byte: decoding characters to find an ending costs more than
/// the rest of a handle's handling.
fn sentence_around(text: &str, span: Span) -> Span {
    let bytes = text.as_bytes();
    // The last byte of each ending: '\n', '!', '?', then those of '؟'
    // (D8 9F) and '。' (E3 80 82), confirmed by the bytes before them.
    let ends_at = |i: usize| match bytes[i] {
        b'\n' | b'!' | b'?' => true,
        0x9F => i >= 1 && bytes[i - 1] == 0xD8,
        0x82 => i >= 2 && bytes[i - 2..i] == [0xE3, 0x80],
        _ => false,
    };
    let start = (0..span.start).rev().find(|&i| ends_at(i)).map_or(0, |i| i + 1);
    let end = (span.end..bytes.len())
        .find(|&i| match bytes[i] {
            b'\n' | b'!' | b'?' => true,
            0xD8 => bytes.get(i + 1) == Some(&0x9F),
            0xE3 => bytes.get(i + 1..i + 3) == Some(&[0x80, 0x82][..]),
            _ => false,
        })
        .unwrap_or(bytes.len());
    Span { start, end }
}

/// The text with every finding blanked out, so that URLs and handles do not
/// sway language detection.
fn text_without(text: &str, findings: &[Finding]) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut position = 0;
    for finding in findings {
        if finding.span.start >= position {
            kept.push_str(&text[position..finding.span.start]);
            kept.push(' ');
            position = finding.span.end;
        } else {
            position = position.max(finding.span.end);
        }
    }
    kept.push_str(&text[position.min(text.len())..]);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[(IndicatorKind, &str, &str)]) {
        let found: Vec<(IndicatorKind, String, String)> = extract(text)
            .findings
            .into_iter()
            .map(|f| (f.kind, f.value, text[f.span.start..f.span.end].to_owned()))
            .collect();
        let expected: Vec<(IndicatorKind, String, String)> =
            expected.iter().map(|(k, v, s)| (*k, v.to_string(), s.to_string())).collect();
        assert_eq!(found, expected, "extracting from {text:?}");
    }

    use IndicatorKind::*;

    #[test]
    fn urls_defanged_or_not_with_their_domains() {
        check(
            "Voir hxxps://example[.]org/x et https://Example.NET:443/a?utm_source=t&id=2.",
            &[
                (Url, "https://example.org/x", "hxxps://example[.]org/x"),
                (Domain, "example.org", "hxxps://example[.]org/x"),
                (Url, "https://example.net/a?id=2", "https://Example.NET:443/a?utm_source=t&id=2"),
                (Domain, "example.net", "https://Example.NET:443/a?utm_source=t&id=2"),
            ],
        );
        check(
            "(see https://example.org/a_(b))",
            &[
                (Url, "https://example.org/a_(b)", "https://example.org/a_(b)"),
                (Domain, "example.org", "https://example.org/a_(b)"),
            ],
        );
    }

    #[test]
    fn profile_urls_yield_accounts() {
        check(
            "canal: https://t.me/Example_Channel",
            &[
                (Url, "https://t.me/Example_Channel", "https://t.me/Example_Channel"),
                (Domain, "t.me", "https://t.me/Example_Channel"),
                (Account, "telegram:example_channel", "https://t.me/Example_Channel"),
            ],
        );
    }

    #[test]
    fn bare_domains_but_not_file_names() {
        check("site example[.]org et rapport.pdf, photo.jpg, v1.2.3", &[(Domain, "example.org", "example[.]org")]);
        check("mirror at example.org now", &[(Domain, "example.org", "example.org")]);
        check("fin de phrase.Le reste", &[]);
    }

    #[test]
    fn emails_hashtags_and_handles() {
        check(
            "write to Contact@Example.org #Appel #النصر #1 a#b",
            &[
                (Email, "contact@example.org", "Contact@Example.org"),
                (Hashtag, "appel", "#Appel"),
                (Hashtag, "النصر", "#النصر"),
            ],
        );
        check("suivez @Example_User", &[(Handle, "example_user", "@Example_User")]);
        check("sur Telegram: @Example_Channel", &[(Account, "telegram:example_channel", "@Example_Channel")]);
        check("on twitter and telegram: @example_user", &[(Handle, "example_user", "@example_user")]);
    }

    #[test]
    fn file_hashes() {
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        check(&format!("media {sha}"), &[(Sha256, sha, sha)]);
        check(
            "d41d8cd98f00b204e9800998ecf8427e",
            &[(Md5, "d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e")],
        );
        check("12345678901234567890123456789012", &[]);
    }

    #[test]
    fn wallets_ips_and_links_without_scheme() {
        check(
            "dons: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed ou bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            &[
                (Eth, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
                (Btc, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
            ],
        );
        check("faux: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", &[]);
        check("serveur 192.0.2[.]44 et version 4.2.0.1", &[(Ipv4, "192.0.2.44", "192.0.2[.]44")]);
        check(
            "http://198.51.100.7:8080/x",
            &[
                (Url, "http://198.51.100.7:8080/x", "http://198.51.100.7:8080/x"),
                (Ipv4, "198.51.100.7", "http://198.51.100.7:8080/x"),
            ],
        );
        check("v6 2001:db8::10 à 10:30:00", &[(Ipv6, "2001:db8::10", "2001:db8::10")]);
        check(
            "rejoindre t.me/Example_Channel.",
            &[
                (Url, "https://t.me/Example_Channel", "t.me/Example_Channel"),
                (Domain, "t.me", "t.me/Example_Channel"),
                (Account, "telegram:example_channel", "t.me/Example_Channel"),
            ],
        );
        check(
            "miroir sur www.news.example.co.uk",
            &[
                (Domain, "example.co.uk", "www.news.example.co.uk"),
                (Domain, "www.news.example.co.uk", "www.news.example.co.uk"),
            ],
        );
    }

    #[test]
    fn phone_numbers_in_international_form() {
        check("WhatsApp : +44 20 7946 0018, merci", &[(Phone, "+442079460018", "+44 20 7946 0018")]);
        check("appelez le 06 12 34 56 78 ou 1.800.555.0199", &[]);
    }

    #[test]
    fn platform_names_never_overlap_in_text() {
        // What lets a sentence be searched without overlapping matches: no
        // name ends with the beginning of another (or of itself).
        for (first, _) in PLATFORM_MENTIONS {
            for (second, _) in PLATFORM_MENTIONS {
                let (first, second) = (first.to_lowercase(), second.to_lowercase());
                let overlap = (1..first.len().min(second.len()))
                    .filter(|&n| first.is_char_boundary(first.len() - n) && second.is_char_boundary(n))
                    .any(|n| first[first.len() - n..] == second[..n]);
                assert!(!overlap, "{first:?} ends with the start of {second:?}");
                assert!(first == second || !first.contains(&second), "{second:?} inside {first:?}");
            }
        }
    }

    #[test]
    fn sentences_end_at_line_breaks_and_latin_arabic_and_cjk_marks() {
        let text = "Un.\nSur Telegram @a_b! Puis؟ ثم @c_d。 fin? @e";
        let around = |handle: &str| {
            let start = text.find(handle).unwrap();
            let sentence = sentence_around(text, Span { start, end: start + handle.len() });
            &text[sentence.start..sentence.end]
        };
        assert_eq!(around("@a_b"), "Sur Telegram @a_b");
        assert_eq!(around("@c_d"), " ثم @c_d");
        assert_eq!(around("@e"), " @e");
        // The bytes of an ending's last byte, met inside other characters,
        // end nothing: 0x9F and 0x82 close many Arabic and Latin letters.
        let arabic = "ٟقال @x_y وٟ";
        let start = arabic.find("@x_y").unwrap();
        assert_eq!(sentence_around(arabic, Span { start, end: start + 4 }), Span { start: 0, end: arabic.len() });
    }

    #[test]
    fn long_words_are_found_across_window_edges() {
        for length in [13, 14, 15, 64, 70] {
            for offset in [0, 1, 40, 50, 51, 60, 63, 64, 100] {
                let text = format!("{}{}{}", " ".repeat(offset), "a".repeat(length), " ".repeat(20));
                assert_eq!(has_long_word(text.as_bytes()), length >= 14, "{length} letters at {offset}");
            }
        }
        assert!(!has_long_word(b""));
        // Against a plain count of the longest run, on texts of short and
        // long words and separators in every arrangement a small seed makes.
        let mut seed = 0x9E37_79B9_u32;
        for _ in 0..2_000 {
            let text: Vec<u8> = (0..(seed % 90) as usize)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    if seed.is_multiple_of(9) { b' ' } else { b'a' }
                })
                .collect();
            let longest = text.split(|&b| b == b' ').map(<[u8]>::len).max().unwrap_or(0);
            assert_eq!(has_long_word(&text), longest >= 14, "{:?}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn telegram_app_links_are_accounts() {
        check(
            "ouvrir tg://resolve?domain=Canal_Exemple",
            &[(Account, "telegram:canal_exemple", "tg://resolve?domain=Canal_Exemple")],
        );
    }

    #[test]
    fn arabic_letters_touching_latin_ones_end_the_indicator() {
        check(
            "رابطhttps://example.org/aمرحبا",
            &[
                (Url, "https://example.org/a", "https://example.org/a"),
                (Domain, "example.org", "https://example.org/a"),
            ],
        );
        check("الموقعexample[.]orgالجديد", &[(Domain, "example.org", "example[.]org")]);
        check("site example.orgمرحبا", &[(Domain, "example.org", "example.org")]);
    }

    #[test]
    fn arabic_text_touching_indicators() {
        check(
            "انضموا\u{200F} hxxps://example[.]org/a",
            &[
                (Url, "https://example.org/a", "hxxps://example[.]org/a"),
                (Domain, "example.org", "hxxps://example[.]org/a"),
            ],
        );
    }

    /// Random texts built from the pieces that make indicators and the
    /// characters that break them: extraction never panics, every span
    /// slices the original, and every value normalizes to itself.
    #[test]
    fn random_texts_never_break_extraction() {
        const PIECES: &[&str] = &[
            "+44",
            " 20 7946 0018",
            "00",
            "(0)",
            ":/ /",
            "tg://resolve?domain=",
            "hxxps",
            "http",
            "://",
            "[.]",
            "(.)",
            "[dot]",
            "[:]",
            ".",
            "/",
            "@",
            "#",
            "example",
            "org",
            "t.me",
            "x.com/",
            "ا",
            "النصر",
            "é",
            "\u{200B}",
            "\u{200F}",
            "\u{FF0E}",
            " ",
            "\n",
            "(",
            ")",
            "[",
            "]",
            "_",
            "-",
            "1",
            "a",
            "Z",
            "?utm_source=x",
            "9f86d081884c7d659a2feaa0c55ad015",
            "telegram",
            "'",
            "\"",
            "\u{0301}",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3_000 {
            let length = (next() % 24) as usize;
            let text: String = (0..length).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            let extraction = extract(&text);
            for finding in extraction.findings {
                assert!(text.get(finding.span.start..finding.span.end).is_some(), "{text:?} {finding:?}");
                assert!(finding.span.start < finding.span.end, "{text:?} {finding:?}");
                let again = crate::normalize(finding.kind, &finding.value);
                assert_eq!(again.as_deref(), Ok(finding.value.as_str()), "{text:?} {finding:?}");
            }
        }
    }

    /// Repetitions that would expose work per match that grows with the
    /// text: eight times the input must cost far less than 64 times the
    /// time, which is what a quadratic path would take.
    #[test]
    fn pathological_inputs_take_linear_time() {
        let units = [
            ".",
            "[.]",
            "@a ",
            "#a ",
            "a.",
            ")",
            "1.1.1.1 ",
            ":",
            "0x",
            "a@b.co ",
            "\u{200B}",
            "hxxp:",
            "@a\n",
            "t.me/a_b ",
        ];
        for unit in units {
            let time = |repetitions: usize| {
                let text = format!("http://example.org/{}", unit.repeat(repetitions));
                (0..3)
                    .map(|_| {
                        let started = std::time::Instant::now();
                        std::hint::black_box(extract_indicators(&text));
                        started.elapsed()
                    })
                    .min()
                    .unwrap()
            };
            let small = time(2_000);
            let large = time(16_000);
            let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
            assert!(ratio < 24.0, "{unit:?} x16000 took {ratio:.1}x the time of x2000 ({large:?})");
        }
        // Categories too: many wallets, then many appeals far from most of
        // them, so that pairing every wallet with every appeal would show.
        let time = |repetitions: usize| {
            let wallets = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed ".repeat(repetitions);
            let text = format!("{wallets}{}", "faites un don aux moudjahidines ".repeat(repetitions));
            let findings = extract_indicators(&text);
            let started = std::time::Instant::now();
            std::hint::black_box(crate::Lexicon::builtin().categorize(&text, &findings));
            started.elapsed()
        };
        let ratio = time(8_000).as_secs_f64() / time(1_000).as_secs_f64().max(1e-6);
        assert!(ratio < 24.0, "categorizing 8x the text took {ratio:.1}x the time");
    }

    #[test]
    fn spans_always_slice_the_original() {
        for text in ["", "@", "#", "hxxp", "[.]", "é@x.fr", "ا@ب", "x[.]y[.]z", "\u{200B}@a\u{200B}"] {
            for finding in extract(text).findings {
                assert!(text.get(finding.span.start..finding.span.end).is_some(), "{text:?} {finding:?}");
            }
        }
    }
}
