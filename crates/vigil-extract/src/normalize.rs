//! One normalized form per indicator, shared by extraction and look-ups.

use std::fmt::Write;

use thiserror::Error;
use url::Url;

use crate::IndicatorKind;
use crate::account::{Platform, account_of_url, normalize_account_handle};
use crate::finder::HASHTAG_BODY;
use crate::ip::{parse_ipv4, parse_ipv6};
use crate::phone::phone;
use crate::refang::{Refanged, refang_authority};
use crate::wallet::normalize_wallet;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("value is empty")]
    Empty,
    #[error("value is not a valid {kind}: {why}")]
    Invalid { kind: IndicatorKind, why: &'static str },
}

/// Parameters that only say who shared a link or how it was found.
const TRACKING_PARAMETERS: &[&str] =
    &["fbclid", "gclid", "dclid", "msclkid", "igshid", "igsh", "si", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "yclid"];

/// The normalized value of a raw indicator, exactly as [`crate::extract`]
/// would give it. Accepts defanged input, and for accounts either
/// `platform:handle` or a profile URL.
pub fn normalize(kind: IndicatorKind, raw: &str) -> Result<String, NormalizeError> {
    let refanged = match kind {
        IndicatorKind::Url => refang_authority(raw.trim()),
        _ => Refanged::new(raw.trim()).text,
    };
    let value = refanged.as_ref();
    if value.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let invalid = |why| NormalizeError::Invalid { kind, why };
    match kind {
        IndicatorKind::Url => {
            let has_scheme = ["http://", "https://", "ftp://"].iter().any(|s| value.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)));
            if !has_scheme {
                return Err(invalid("it must start with http://, https:// or ftp://"));
            }
            normalize_url_text(value).ok_or(invalid("it does not parse as a URL with a host"))
        }
        IndicatorKind::Domain => {
            normalize_domain(value.strip_suffix('.').unwrap_or(value)).ok_or(invalid("it is not a host name"))
        }
        IndicatorKind::Email => normalize_email(value).map_err(invalid),
        IndicatorKind::Hashtag => {
            let tag = value.strip_prefix('#').unwrap_or(value);
            let valid = HASHTAG_BODY.is_match(tag) && tag.chars().any(char::is_alphabetic);
            valid.then(|| tag.to_lowercase()).ok_or(invalid("it must be letters, digits and '_' with at least one letter"))
        }
        IndicatorKind::Handle => {
            let handle = value.strip_prefix('@').unwrap_or(value);
            let valid = !handle.is_empty() && handle.len() <= 64 && handle.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            valid.then(|| handle.to_ascii_lowercase()).ok_or(invalid("it must be 1 to 64 ASCII letters, digits, '_' or '.'"))
        }
        IndicatorKind::Account => normalize_account(value).ok_or(invalid(
            "it must be platform:handle (platform one of x, telegram, facebook, instagram, youtube, tiktok) or a profile URL",
        )),
        IndicatorKind::Md5 => normalize_hex(value, 32).ok_or(invalid("it must be 32 hex digits")),
        IndicatorKind::Sha1 => normalize_hex(value, 40).ok_or(invalid("it must be 40 hex digits")),
        IndicatorKind::Sha256 => normalize_hex(value, 64).ok_or(invalid("it must be 64 hex digits")),
        IndicatorKind::Ipv4 => parse_ipv4(value).map(|ip| ip.to_string()).ok_or(invalid("it must be a dotted quad")),
        IndicatorKind::Ipv6 => parse_ipv6(value).ok_or(invalid("it must be an IPv6 address")),
        IndicatorKind::Phone => {
            phone(value).ok_or(invalid("it must be a valid number in international form (+country code)"))
        }
        IndicatorKind::Btc | IndicatorKind::Eth | IndicatorKind::Xmr | IndicatorKind::Trx => {
            normalize_wallet(kind, value).ok_or(invalid("it is not an address, or its checksum does not hold"))
        }
    }
}

/// An e-mail address already refanged, with its local part and domain
/// lowercased; the error says why it is none.
pub(crate) fn normalize_email(value: &str) -> Result<String, &'static str> {
    let (local, domain) = value.rsplit_once('@').ok_or("it has no '@'")?;
    let domain = normalize_domain(domain).ok_or("its domain is not a host name")?;
    if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c == '@') {
        return Err("its local part is empty or has spaces");
    }
    let mut email = if local.is_ascii() { local.to_ascii_lowercase() } else { local.to_lowercase() };
    email.reserve(domain.len() + 1);
    email.push('@');
    email.push_str(&domain);
    Ok(email)
}

fn normalize_account(value: &str) -> Option<String> {
    if let Ok(url) = Url::parse(value)
        && url.has_host()
    {
        let url = normalize_url(value)?;
        return account_of_url(&url).map(|(platform, handle)| format!("{platform}:{handle}"));
    }
    let (platform, handle) = value.split_once(':')?;
    let platform = Platform::from_name(&platform.to_ascii_lowercase())?;
    normalize_account_handle(platform, handle).map(|handle| format!("{platform}:{handle}"))
}

/// A URL with scheme and host lowercased, internationalized hosts in
/// punycode, the default port and tracking parameters dropped.
pub(crate) fn normalize_url(candidate: &str) -> Option<Url> {
    let mut url = Url::parse(candidate).ok()?;
    url.host_str().filter(|host| !host.is_empty())?;
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| !key.starts_with("utm_") && !TRACKING_PARAMETERS.contains(&key.as_ref()))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(url)
}

/// [`normalize_url`]'s value as text: the simple path when it applies, the
/// `url` crate otherwise.
pub(crate) fn normalize_url_text(candidate: &str) -> Option<String> {
    match SimpleUrl::normalize(candidate) {
        Some(simple) => Some(simple.text),
        None => normalize_url(candidate).map(String::from),
    }
}

/// A URL normalized without the `url` crate, for the shape most links have:
/// `http` or `https`, a plain ASCII host name, perhaps a port, a path of
/// characters the `url` crate keeps as they are, and a query of plain
/// `key=value` pairs. [`SimpleUrl::normalize`] gives exactly the text
/// [`normalize_url`] would give, or `None` for anything else (internationalized
/// or numeric hosts, user info, percent signs, dot segments, fragments...),
/// which is then left to the `url` crate. Parsing with it, IDNA included,
/// cost more than the rest of handling a link.
#[derive(Debug)]
pub(crate) struct SimpleUrl {
    pub text: String,
    scheme_end: usize,
    host_end: usize,
    path_start: usize,
    path_end: usize,
}

impl SimpleUrl {
    pub(crate) fn normalize(candidate: &str) -> Option<SimpleUrl> {
        let bytes = candidate.as_bytes();
        let (scheme, default_port) = if starts_with_ignore_ascii_case(bytes, b"https://") {
            ("https", 443)
        } else if starts_with_ignore_ascii_case(bytes, b"http://") {
            ("http", 80)
        } else {
            return None;
        };
        let rest = &candidate[scheme.len() + 3..];
        let host_len =
            rest.bytes().position(|b| !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-')).unwrap_or(rest.len());
        let (host, mut rest) = rest.split_at(host_len);
        let mut port = None;
        if let Some(after_colon) = rest.strip_prefix(':') {
            let digits = after_colon.bytes().take_while(u8::is_ascii_digit).count();
            // No digits, a leading zero or more than 5 digits: left to the full parser.
            if digits == 0 || digits > 5 || after_colon.starts_with('0') {
                return None;
            }
            let number: u32 = after_colon[..digits].parse().ok()?;
            if number > 65535 {
                return None;
            }
            port = (number != default_port).then_some(number);
            rest = &after_colon[digits..];
        }
        let path_len = memchr::memchr(b'?', rest.as_bytes()).unwrap_or(rest.len());
        let (path, query) = rest.split_at(path_len);
        let simple_path =
            path.is_empty() || (path.starts_with('/') && path.bytes().all(|b| SIMPLE_PATH_BYTES[usize::from(b)]));
        // Every dot segment starts with "/.", which few paths hold.
        let dot_segment = || path.split('/').any(|segment| segment == "." || segment == "..");
        if !simple_path || (path.as_bytes().windows(2).any(|pair| pair == b"/.") && dot_segment()) {
            return None;
        }

        let mut text = String::with_capacity(candidate.len() + 1);
        text.push_str(scheme);
        text.push_str("://");
        let host_start = text.len();
        text.push_str(host);
        text[host_start..].make_ascii_lowercase();
        plain_ascii_domain(&text[host_start..])?;
        let host_end = text.len();
        if let Some(port) = port {
            // Writing to a String cannot fail.
            let _ = write!(text, ":{port}");
        }
        let path_start = text.len();
        text.push_str(if path.is_empty() { "/" } else { path });
        let path_end = text.len();
        if let Some(query) = query.strip_prefix('?') {
            let mut first = true;
            for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                if !(key.bytes().all(is_form_byte) && value.bytes().all(is_form_byte)) {
                    return None;
                }
                if key.starts_with("utm_") || TRACKING_PARAMETERS.contains(&key) {
                    continue;
                }
                text.push(if first { '?' } else { '&' });
                first = false;
                text.push_str(key);
                text.push('=');
                text.push_str(value);
            }
        }
        Some(SimpleUrl { text, scheme_end: scheme.len(), host_end, path_start, path_end })
    }

    pub(crate) fn scheme(&self) -> &str {
        &self.text[..self.scheme_end]
    }

    /// Lowercase ASCII, and [`plain_ascii_domain`] holds for it.
    pub(crate) fn host(&self) -> &str {
        &self.text[self.scheme_end + 3..self.host_end]
    }

    pub(crate) fn path(&self) -> &str {
        &self.text[self.path_start..self.path_end]
    }

    pub(crate) fn query(&self) -> Option<&str> {
        self.text.get(self.path_end + 1..)
    }
}

/// Bytes the `url` crate keeps as they are in the path of an http(s) URL,
/// less '%' (percent-encoded dots are dot segments) and brackets.
static SIMPLE_PATH_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
            );
        byte += 1;
    }
    table
};

/// Bytes that decoding and re-encoding a query pair give back unchanged.
fn is_form_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_')
}

fn starts_with_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

/// A host name in lowercase ASCII (punycode for internationalized names).
pub(crate) fn normalize_domain(candidate: &str) -> Option<String> {
    if let Some(plain) = plain_ascii_domain(candidate) {
        return is_host_name(plain).then(|| plain.to_owned());
    }
    match url::Host::parse(candidate).ok()? {
        url::Host::Domain(domain) => is_host_name(&domain).then_some(domain),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => None,
    }
}

/// Whether a host, already in lowercase ASCII, is a host name: two labels
/// at least, each of 1 to 63 bytes that neither starts nor ends with '-',
/// and a top level of two bytes at least that is not all digits.
pub(crate) fn is_host_name(domain: &str) -> bool {
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in domain.as_bytes().split(|&b| b == b'.') {
        let (Some(&first), Some(&end)) = (label.first(), label.last()) else { return false };
        if label.len() > 63 || first == b'-' || end == b'-' {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && !last.iter().all(u8::is_ascii_digit)
}

/// `candidate` itself when host parsing could only give it back unchanged:
/// lowercase ASCII letters, digits, '-' and '.', no punycode label to check,
/// and a last label that cannot make it an IPv4 address (all digits, or
/// `0x` hex). Most hosts are such, and IDNA processing is the dearest part
/// of normalizing one.
fn plain_ascii_domain(candidate: &str) -> Option<&str> {
    let bytes = candidate.as_bytes();
    let plain = bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let last = bytes.rsplit(|&b| b == b'.').next().unwrap_or_default();
    let maybe_number = last.iter().all(u8::is_ascii_digit) || last.starts_with(b"0x");
    let punycode = bytes.windows(4).any(|window| window == b"xn--");
    (plain && !punycode && !maybe_number).then_some(candidate)
}

/// Whether a domain written in prose, without a scheme, is likely a domain:
/// its suffix is on the Public Suffix List, something is registered under
/// it, and its top level is not also a common file extension (`.zip`,
/// `.py`: real top-level domains, but in prose mostly file names).
pub(crate) fn is_plausible_bare_domain(domain: &str) -> bool {
    const FILE_EXTENSIONS: &[&str] =
        &["zip", "mov", "py", "sh", "md", "rs", "ps", "gz", "exe", "pdf", "doc", "jpg", "png"];
    let tld = domain.rsplit('.').next().unwrap_or_default();
    !FILE_EXTENSIONS.contains(&tld)
        && psl::suffix(domain.as_bytes()).is_some_and(|suffix| suffix.is_known())
        && psl::domain(domain.as_bytes()).is_some()
}

/// The registrable domain of a host (`example.org` for `www.example.org`),
/// when it differs from the host.
pub(crate) fn registrable_domain(host: &str) -> Option<String> {
    let registrable = psl::domain_str(host)?;
    (registrable != host).then(|| registrable.to_owned())
}

fn normalize_hex(value: &str, digits: usize) -> Option<String> {
    (value.len() == digits && value.bytes().all(|b| b.is_ascii_hexdigit())).then(|| value.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_ascii_shortcut_agrees_with_host_parsing() {
        let by_parsing = |candidate: &str| match url::Host::parse(candidate) {
            Ok(url::Host::Domain(domain)) => Some(domain),
            _ => None,
        };
        let mut cases: Vec<String> = [
            "example.org",
            "a.b",
            "1.2.3.4",
            "example.0x1f",
            "example.0x",
            "xn--mnchen-3ya.example",
            "-a.example",
            "a-.example",
            "a..b",
            ".example.org",
            "example.org.",
            "0x7f.1",
            "ex--ample.org",
            "",
            ".",
            "-",
            "a",
        ]
        .iter()
        .map(|case| (*case).to_owned())
        .collect();
        // Every string of up to 6 bytes over the bytes that matter.
        let alphabet = b"a0x.-9";
        let mut strings = vec![String::new()];
        for _ in 0..6 {
            strings = strings
                .iter()
                .flat_map(|prefix| alphabet.iter().map(move |&b| format!("{prefix}{}", b as char)))
                .collect();
            cases.extend(strings.iter().cloned());
        }
        // normalize_domain as it was written before the shortcuts: parse,
        // then count and check labels with string splits.
        let reference = |candidate: &str| {
            let domain = by_parsing(candidate)?;
            let labels_ok = domain.split('.').count() >= 2
                && domain.split('.').all(|label| {
                    !label.is_empty() && label.len() <= 63 && !label.starts_with('-') && !label.ends_with('-')
                });
            let tld = domain.rsplit('.').next().unwrap_or_default();
            let tld_ok = tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit());
            (labels_ok && tld_ok).then_some(domain)
        };
        cases.extend(["Example.ORG", "a.B", "ÉCOLE.example", "école.example", "a.bc", "ab.c-d.ef"].map(String::from));
        for case in &cases {
            if let Some(plain) = plain_ascii_domain(case) {
                assert_eq!(Some(plain.to_owned()), by_parsing(case), "{case:?}");
            }
            assert_eq!(normalize_domain(case), reference(case), "{case:?}");
        }
    }

    /// Differential test of the simple URL path against the `url` crate:
    /// on URLs put together from pieces that are plain, unusual or wrong,
    /// whenever the simple path accepts one, it gives the same text, host,
    /// path and query as the full path.
    #[test]
    fn the_simple_url_path_agrees_with_the_url_crate() {
        const SCHEMES: &[&str] =
            &["https://", "http://", "HTTPS://", "Http://", "ftp://", "https:/", "https:", "tg://"];
        const HOSTS: &[&str] = &[
            "example.org",
            "Example.ORG",
            "news5.example.org",
            "a.b",
            "t.me",
            "www.youtube.com",
            "x.com",
            "xn--mnchen-3ya.example",
            "XN--mnchen-3ya.example",
            "münchen.example",
            "1.2.3.4",
            "198.51.100.7",
            "example.0x1f",
            "example.0X1F",
            "example.org.",
            "-a.example",
            "a-.example",
            "a..b",
            ".example.org",
            "",
            "user@example.org",
            "user:pw@example.org",
            "[::1]",
            "exa_mple.org",
            "exa%41mple.org",
            "localhost",
            "0x7f.1",
            "a.b.c.d.e.f.example.co.uk",
        ];
        const PORTS: &[&str] =
            &["", ":80", ":443", ":8080", ":0", ":08080", ":65535", ":65536", ":", ":99999", ":1", ":21"];
        const PATHS: &[&str] = &[
            "",
            "/",
            "/a",
            "/a/b/",
            "/./a",
            "/a/..",
            "/a/../b",
            "/.well-known/x",
            "/%2e/",
            "/a%20b",
            "/a%zz",
            "/a b",
            "/a\\b",
            "\\a",
            "/a'b",
            "/a(b)",
            "/@x",
            "/~u",
            "/a:b",
            "/é",
            "/[x]",
            "/a|b",
            "/a^b",
            "/a`b",
            "/{x}",
            "/a\"b",
            "/a<b>",
            "//a",
            "/Example_Channel",
            "/s/abc_def/12",
            "/profile.php",
            "/people/x/100000000000001",
            "/@ExampleChannel",
            "/channel/UCabcdefghijklmnopqrstuv",
            "/a!$&*+,;=b",
            "/a\tb",
            "/a\nb",
        ];
        const QUERIES: &[&str] = &[
            "",
            "?",
            "?a=1",
            "?id=2",
            "?utm_source=x",
            "?a=1&utm_medium=y&b=2",
            "?fbclid=1",
            "?si=x&t=10",
            "?a",
            "?a=",
            "?=b",
            "?a=1&&b=2",
            "?&",
            "?a=b=c",
            "?a=%41",
            "?a=+",
            "?a=b c",
            "?A-b.c_d*=X.y-z_*",
            "?id=100000000000001",
            "?utm_=1&UTM_source=2",
            "?a=1&",
            "?a=é",
            "?a=1;b=2",
            "?a='",
            "?domain=x",
            "?a=1?b=2",
            "?a=1/b",
        ];
        const FRAGMENTS: &[&str] = &["", "#x", "#", "#a?b=1"];
        let check = |candidate: &str| -> bool {
            let Some(simple) = SimpleUrl::normalize(candidate) else { return false };
            let full = normalize_url(candidate);
            let full = full.as_ref();
            assert_eq!(Some(simple.text.as_str()), full.map(Url::as_str), "{candidate:?}");
            let full = full.unwrap();
            assert_eq!(simple.scheme(), full.scheme(), "{candidate:?}");
            assert_eq!(Some(simple.host()), full.host_str(), "{candidate:?}");
            assert!(matches!(full.host(), Some(url::Host::Domain(_))), "{candidate:?}");
            assert_eq!(simple.path(), full.path(), "{candidate:?}");
            assert_eq!(simple.query(), full.query(), "{candidate:?}");
            true
        };
        let mut accepted = 0;
        // Every scheme, host and port with a few paths and queries...
        for scheme in SCHEMES {
            for host in HOSTS {
                for port in PORTS {
                    for tail in ["", "/a?b=1", "?utm_source=x"] {
                        accepted += usize::from(check(&format!("{scheme}{host}{port}{tail}")));
                    }
                }
            }
        }
        // ...every path, query and fragment with a few hosts...
        for host in ["example.org", "t.me", "Example.ORG:8080", "1.2.3.4"] {
            for path in PATHS {
                for query in QUERIES {
                    for fragment in FRAGMENTS {
                        accepted += usize::from(check(&format!("https://{host}{path}{query}{fragment}")));
                    }
                }
            }
        }
        // ...and random mixes of every piece.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut pick = |pieces: &'static [&'static str]| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            pieces[(state % pieces.len() as u64) as usize]
        };
        for _ in 0..5_000 {
            let candidate =
                [pick(SCHEMES), pick(HOSTS), pick(PORTS), pick(PATHS), pick(QUERIES), pick(QUERIES), pick(FRAGMENTS)]
                    .concat();
            accepted += usize::from(check(&candidate));
        }
        // The simple path must carry the common shapes, or it is no use.
        assert!(accepted > 1_000, "only {accepted} URLs took the simple path");
        for common in [
            "https://news5.example.org/article/5",
            "HTTPS://Example.NET:443/a?utm_source=t&id=2",
            "https://t.me/canal_exemple_5",
            "http://example.org",
            "https://mirror1.example.net/video?id=1&utm_source=tg",
        ] {
            assert!(check(common), "{common:?} did not take the simple path");
        }
    }

    fn check(kind: IndicatorKind, raw: &str, expected: Result<&str, ()>) {
        assert_eq!(normalize(kind, raw).map_err(|_| ()), expected.map(str::to_owned), "normalizing {kind} {raw:?}");
    }

    #[test]
    fn defanged_and_plain_forms_are_one_value() {
        check(IndicatorKind::Url, "hxxps://example[.]org/x", Ok("https://example.org/x"));
        check(IndicatorKind::Url, "HTTPS://EXAMPLE.ORG:443/x", Ok("https://example.org/x"));
        check(IndicatorKind::Url, "https://example.org/x?utm_source=a&fbclid=b", Ok("https://example.org/x"));
        check(IndicatorKind::Url, "https://münchen.example/", Ok("https://xn--mnchen-3ya.example/"));
        check(IndicatorKind::Domain, "Example[.]ORG.", Ok("example.org"));
        check(IndicatorKind::Email, "Name[@]Example[.]org", Ok("name@example.org"));
        check(IndicatorKind::Hashtag, "#النصر", Ok("النصر"));
        check(IndicatorKind::Handle, "@Example_User", Ok("example_user"));
        check(IndicatorKind::Account, "telegram:@Example_Channel", Ok("telegram:example_channel"));
        check(IndicatorKind::Account, "https://t.me/Example_Channel", Ok("telegram:example_channel"));
        check(IndicatorKind::Account, "twitter:Example", Ok("x:example"));
        check(IndicatorKind::Sha256, &"AB".repeat(32), Ok(&"ab".repeat(32)));
        check(IndicatorKind::Ipv4, "192.0.2[.]1", Ok("192.0.2.1"));
        check(IndicatorKind::Ipv6, "2001:DB8::1", Ok("2001:db8::1"));
        check(
            IndicatorKind::Eth,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            Ok("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
        );
    }

    #[test]
    fn rejects_what_is_not_the_kind() {
        check(IndicatorKind::Url, "example.org/x", Err(()));
        check(IndicatorKind::Url, "", Err(()));
        check(IndicatorKind::Domain, "not a domain", Err(()));
        check(IndicatorKind::Domain, "1.2.3.4", Err(()));
        check(IndicatorKind::Hashtag, "#1", Err(()));
        check(IndicatorKind::Account, "myspace:someone", Err(()));
        check(IndicatorKind::Account, "https://t.me/joinchat/x", Err(()));
        check(IndicatorKind::Md5, "xyz", Err(()));
        check(IndicatorKind::Btc, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", Err(()));
        check(IndicatorKind::Eth, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", Err(()));
        check(IndicatorKind::Ipv4, "1.2.3", Err(()));
    }
}
