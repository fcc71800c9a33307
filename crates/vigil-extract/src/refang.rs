//! Undoes the "defanging" analysts and propagandists apply to links
//! (`hxxps://example[.]org`) and drops invisible characters that would split
//! an indicator, while remembering where each byte came from so that spans
//! point into the original text.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::Span;
use crate::byte_classes::ByteClasses;

/// A text made scannable, and the way back to the original's byte offsets.
#[derive(Debug)]
pub(crate) struct Refanged<'a> {
    pub original: &'a str,
    pub text: Cow<'a, str>,
    /// Every rewrite, in text order: the rest of `text` is the original
    /// copied as it is, so offsets between rewrites shift by a constant.
    rewrites: Vec<Rewrite>,
    /// The byte classes of `text`, for the patterns that run on it.
    pub classes: ByteClasses,
}

#[derive(Clone, Copy, Debug)]
struct Rewrite {
    /// What the rewrite produced in `text` (empty for a dropped character).
    scanned: Span,
    /// What it replaced in the original.
    original: Span,
}

impl<'a> Refanged<'a> {
    pub fn new(original: &'a str) -> Refanged<'a> {
        let classes = ByteClasses::of(original.as_bytes());
        if !needs_rewrite(original, classes) {
            return Refanged { original, text: Cow::Borrowed(original), rewrites: Vec::new(), classes };
        }
        let bytes = original.as_bytes();
        let mut text = String::with_capacity(original.len());
        let mut rewrites = Vec::new();
        let (mut copied_to, mut position) = (0, 0);
        while position < bytes.len() {
            // Most of a text is prose that no rewrite starts in: passed over
            // sixteen bytes at a time, and the others read byte by byte.
            if let Some(window) = bytes[position..].first_chunk::<17>()
                && !may_start_a_rewrite_within(window)
            {
                position += 16;
                continue;
            }
            let window_end = (position + 16).min(bytes.len());
            while position < window_end {
                // Only ASCII bytes and UTF-8 lead bytes can start a rewrite, so
                // `position` is on a character boundary whenever one is tried.
                if MAY_START_A_REWRITE[usize::from(bytes[position])]
                    && let Some((consumed, replacement)) = rewrite_at(original, position)
                {
                    text.push_str(&original[copied_to..position]);
                    let start = text.len();
                    text.push_str(replacement);
                    rewrites.push(Rewrite {
                        scanned: Span { start, end: text.len() },
                        original: Span { start: position, end: position + consumed },
                    });
                    position += consumed;
                    copied_to = position;
                    continue;
                }
                position += 1;
            }
        }
        text.push_str(&original[copied_to..]);
        // A rewrite only adds the bytes of its replacement, so these classes
        // hold every class of `text` (and perhaps a bracket or an 'x' it
        // took away, which only refanging itself looks at).
        let classes = rewrites.iter().fold(classes, |classes, rewrite| {
            classes.with(ByteClasses::of(&text.as_bytes()[rewrite.scanned.start..rewrite.scanned.end]))
        });
        Refanged { original, text: Cow::Owned(text), rewrites, classes }
    }

    /// The original byte range of a non-empty range of `text`.
    pub fn original_span(&self, span: Span) -> Span {
        if self.rewrites.is_empty() {
            return span;
        }
        let start = match self.rewrites.partition_point(|r| r.scanned.start <= span.start) {
            0 => span.start,
            i => {
                let rewrite = self.rewrites[i - 1];
                if span.start < rewrite.scanned.end {
                    rewrite.original.start
                } else {
                    span.start - rewrite.scanned.end + rewrite.original.end
                }
            }
        };
        let end = match self.rewrites.partition_point(|r| r.scanned.start < span.end) {
            0 => span.end,
            i => {
                let rewrite = self.rewrites[i - 1];
                if span.end <= rewrite.scanned.end {
                    rewrite.original.end
                } else {
                    span.end - rewrite.scanned.end + rewrite.original.end
                }
            }
        };
        Span { start, end }
    }

    /// Whether `span` of `text` is the original's bytes as they are: no
    /// rewrite, not even a dropped character, falls inside it.
    pub fn is_verbatim(&self, span: Span) -> bool {
        let first = self.rewrites.partition_point(|r| r.scanned.end < span.start);
        self.rewrites.get(first).is_none_or(|r| r.scanned.start > span.end)
    }

    /// Whether a rewrite produced any byte of `span` (of `text`).
    pub fn was_defanged(&self, span: Span) -> bool {
        let first = self.rewrites.partition_point(|r| r.scanned.end <= span.start);
        self.rewrites[first..]
            .iter()
            .take_while(|r| r.scanned.start < span.end)
            .any(|r| r.scanned.start < r.scanned.end)
    }
}

/// Built once: building a substring searcher costs more than a short search.
static SPACED_SEPARATOR: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(":/ /"));

/// Bytes at which `rewrite_at` may find something: brackets, the first
/// letters of defanged schemes, ':', and the lead bytes of invisible and
/// full-width characters.
static MAY_START_A_REWRITE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = matches!(byte as u8, b'[' | b'(' | b'{' | b'h' | b'H' | b'f' | b'F' | b':') || byte >= 0xE0;
        byte += 1;
    }
    table
};

/// Whether a rewrite may start at any of the first 16 positions of
/// `window`: a bracket, ':' or lead byte >= 0xE0 where it starts, or the 'x'
/// that every defanged scheme has second. Written over whole arrays, with
/// no early exit, so that it compiles to vector compares.
fn may_start_a_rewrite_within(window: &[u8; 17]) -> bool {
    let (Some(starts), Some(seconds)) = (window.first_chunk::<16>(), window.last_chunk::<16>()) else {
        return true;
    };
    let mut found = 0u8;
    for (&b, &second) in starts.iter().zip(seconds) {
        found |= u8::from(b == b'[')
            | u8::from(b == b'(')
            | u8::from(b == b'{')
            | u8::from(b == b':')
            | u8::from(b >= 0xE0)
            | u8::from(second | 0x20 == b'x');
    }
    found != 0
}

/// A URL with only its scheme and authority refanged: defanging is applied
/// to hosts, and a path is kept as written, so that normalizing a
/// normalized URL changes nothing.
pub(crate) fn refang_authority(raw: &str) -> Cow<'_, str> {
    let refanged = Refanged::new(raw);
    let text = refanged.text.as_ref();
    let Some(separator) = text.find("://") else { return Cow::Owned(text.to_owned()) };
    let authority_end = text[separator + 3..].find(['/', '?', '#']).map_or(text.len(), |offset| separator + 3 + offset);
    if authority_end == text.len() {
        return refanged.text;
    }
    let original_end = refanged.original_span(Span { start: 0, end: authority_end }).end;
    Cow::Owned(format!("{}{}", &text[..authority_end], &raw[original_end..]))
}

/// Whether any rewrite applies: most texts need none, and then no copy is
/// made. `classes` says which searches can find something at all.
fn needs_rewrite(original: &str, classes: ByteClasses) -> bool {
    let bytes = original.as_bytes();
    let applies = |position: usize| rewrite_at(original, position).is_some();
    (classes.has(ByteClasses::BRACKET) && memchr::memchr3_iter(b'[', b'(', b'{', bytes).any(applies))
        // A defanged scheme has an 'x' right after its first letter.
        || (classes.has(ByteClasses::X) && memchr::memchr2_iter(b'x', b'X', bytes).any(|x| x > 0 && applies(x - 1)))
        || (classes.has(ByteClasses::COLON) && SPACED_SEPARATOR.find(bytes).is_some())
        // Invisible and full-width characters all start with a byte >= 0xE0.
        || (classes.has(ByteClasses::HIGH) && bytes.iter().enumerate().any(|(i, &b)| b >= 0xE0 && applies(i)))
}

/// Bracketed tokens, matched without regard to ASCII case.
const BRACKETED: &[(&str, &str)] = &[
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("[:]", ":"),
    ("[://]", "://"),
    ("[@]", "@"),
    ("(@)", "@"),
    ("[at]", "@"),
];

/// Characters that are dropped: zero-width characters and bidirectional
/// controls, which hide nothing from a reader but split a token for a scanner.
const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
    '\u{202E}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
];

/// The rewrite that applies at `position`, as (bytes consumed, replacement).
fn rewrite_at(original: &str, position: usize) -> Option<(usize, &'static str)> {
    let rest = &original.as_bytes()[position..];
    match rest[0] {
        b'[' | b'(' | b'{' => BRACKETED
            .iter()
            .find(|(token, _)| starts_with_ignore_ascii_case(rest, token.as_bytes()))
            .map(|(token, replacement)| (token.len(), *replacement)),
        b'h' | b'H' | b'f' | b'F' => defanged_scheme(original, position),
        b':' => rest.starts_with(b":/ /").then_some((4, "://")),
        byte if byte >= 0xE0 => {
            let character = original[position..].chars().next()?;
            if INVISIBLE.contains(&character) {
                Some((character.len_utf8(), ""))
            } else if character == '\u{FF0E}' {
                // Full-width full stop, used to slip domains past filters.
                Some((character.len_utf8(), "."))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `hxxp`, `hxxps`, `hxtp`, `fxp` at the start of a word and followed by a
/// scheme separator (plain or bracketed), rewritten to `http`/`https`/`ftp`.
fn defanged_scheme(original: &str, position: usize) -> Option<(usize, &'static str)> {
    // Every defanged scheme has an 'x' second: most 'h' and 'f' in prose
    // are ruled out here, before a character is decoded.
    if original.as_bytes().get(position + 1).is_none_or(|b| b | 0x20 != b'x') {
        return None;
    }
    let preceded_by_word = original[..position].chars().next_back().is_some_and(|c| c.is_alphanumeric());
    if preceded_by_word {
        return None;
    }
    let rest = &original.as_bytes()[position..];
    const SCHEMES: &[(&str, &str)] =
        &[("hxxps", "https"), ("hxxp", "http"), ("hxtps", "https"), ("hxtp", "http"), ("fxp", "ftp")];
    let (token, replacement) =
        SCHEMES.iter().find(|(token, _)| starts_with_ignore_ascii_case(rest, token.as_bytes()))?;
    let after = &rest[token.len()..];
    let separator_follows = after.starts_with(b":") || after.starts_with(b"[:]") || after.starts_with(b"[://]");
    separator_follows.then_some((token.len(), *replacement))
}

fn starts_with_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(original: &str, expected: &str) {
        let refanged = Refanged::new(original);
        assert_eq!(refanged.text, expected, "refanging {original:?}");
        // The classes kept for the patterns must hold every class of the
        // text they run on, or a pattern would be skipped wrongly.
        let actual = ByteClasses::of(refanged.text.as_bytes());
        assert_eq!(refanged.classes.with(actual), refanged.classes, "classes of {original:?}");
    }

    /// Rewrites at every offset from the 16-byte windows that are passed
    /// over whole, and right at the end of the text.
    #[test]
    fn finds_rewrites_at_every_window_offset() {
        for (defanged, refanged) in [
            ("hxxps://example[.]org", "https://example.org"),
            ("HXXP[:]//a(.)b", "http://a.b"),
            ("fxp://x{dot}y", "ftp://x.y"),
            ("a\u{200B}b", "ab"),
            ("a\u{FF0E}b", "a.b"),
            ("x[at]y", "x@y"),
            ("http:/ /a", "http://a"),
        ] {
            for padding in 0..40 {
                for after in ["", " ", "0123456789abcdefghij"] {
                    let prose = " ".repeat(padding);
                    check(&format!("{prose}{defanged}{after}"), &format!("{prose}{refanged}{after}"));
                }
            }
        }
    }

    #[test]
    fn refangs_common_forms() {
        check("hxxps://example[.]org/x", "https://example.org/x");
        check("HXXP[:]//example(.)net", "http://example.net");
        check("fxp://example[dot]com", "ftp://example.com");
        check("hxxps[://]example{.}org", "https://example.org");
        check("hxxp:/ /example[.]org", "http://example.org");
        check("name[@]example[.]com", "name@example.com");
        check("example\u{FF0E}org", "example.org");
        check("exam\u{200B}ple.org", "example.org");
        check("mail[at]example[.]org", "mail@example.org");
        check("hxxps[:]//example[.]org", "https://example.org");
    }

    #[test]
    fn leaves_prose_alone() {
        check("the hxxp protocol (.) is odd", "the hxxp protocol . is odd");
        check("shxxp://x", "shxxp://x");
        check("plain text, nothing to do", "plain text, nothing to do");
        assert!(
            matches!(Refanged::new("the hour: 10:30 (later)").text, Cow::Borrowed(_)),
            "no copy when nothing changes"
        );
    }

    #[test]
    fn maps_spans_back_to_the_original() {
        let original = "voir hxxps://example[.]org/x ici";
        let refanged = Refanged::new(original);
        let start = refanged.text.find("https").unwrap();
        let end = start + "https://example.org/x".len();
        let span = refanged.original_span(Span { start, end });
        assert_eq!(&original[span.start..span.end], "hxxps://example[.]org/x");
        assert!(refanged.was_defanged(Span { start, end }));
    }

    #[test]
    fn refangs_only_the_authority_of_a_url() {
        assert_eq!(refang_authority("hxxps[://]example[.]org/a(.)b?q=[.]"), "https://example.org/a(.)b?q=[.]");
        assert_eq!(refang_authority("hxxp://example[.]org"), "http://example.org");
    }

    #[test]
    fn verbatim_spans_are_those_no_rewrite_touches() {
        let original = "voir https://example.org/a puis hxxp://example[.]net et exa\u{200B}mple.com";
        let refanged = Refanged::new(original);
        let text = refanged.text.as_ref();
        let span_of = |needle: &str| {
            let start = text.find(needle).unwrap();
            Span { start, end: start + needle.len() }
        };
        assert!(refanged.is_verbatim(span_of("https://example.org/a")));
        assert!(!refanged.is_verbatim(span_of("http://example.net")), "a rewritten scheme and dot");
        assert!(!refanged.is_verbatim(span_of("example.com")), "a dropped invisible character");
        assert!(Refanged::new("plain https://example.org").is_verbatim(Span { start: 6, end: 25 }));
    }

    #[test]
    fn maps_spans_across_multibyte_text() {
        let original = "رابط \u{200F}hxxp://example[.]org";
        let refanged = Refanged::new(original);
        let start = refanged.text.find("http").unwrap();
        let span = refanged.original_span(Span { start, end: refanged.text.len() });
        assert_eq!(&original[span.start..span.end], "hxxp://example[.]org");
    }
}
