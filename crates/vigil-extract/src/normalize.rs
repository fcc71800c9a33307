//! One normalized form per indicator, shared by extraction and look-ups.

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
            normalize_url(value).map(String::from).ok_or(invalid("it does not parse as a URL with a host"))
        }
        IndicatorKind::Domain => {
            normalize_domain(value.strip_suffix('.').unwrap_or(value)).ok_or(invalid("it is not a host name"))
        }
        IndicatorKind::Email => {
            let (local, domain) = value.rsplit_once('@').ok_or(invalid("it has no '@'"))?;
            let domain = normalize_domain(domain).ok_or(invalid("its domain is not a host name"))?;
            if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c == '@') {
                return Err(invalid("its local part is empty or has spaces"));
            }
            Ok(format!("{}@{domain}", local.to_lowercase()))
        }
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

/// A host name in lowercase ASCII (punycode for internationalized names).
pub(crate) fn normalize_domain(candidate: &str) -> Option<String> {
    let domain = match plain_ascii_domain(candidate) {
        Some(plain) => plain.to_owned(),
        None => match url::Host::parse(candidate).ok()? {
            url::Host::Domain(domain) => domain,
            url::Host::Ipv4(_) | url::Host::Ipv6(_) => return None,
        },
    };
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63 && !label.starts_with('-') && !label.ends_with('-'));
    let tld_ok =
        domain.rsplit('.').next().is_some_and(|tld| tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit()));
    (labels_ok && tld_ok).then_some(domain)
}

/// `candidate` itself when host parsing could only give it back unchanged:
/// lowercase ASCII letters, digits, '-' and '.', no punycode label to check,
/// and a last label that cannot make it an IPv4 address (all digits, or
/// `0x` hex). Most hosts are such, and IDNA processing is the dearest part
/// of normalizing one.
fn plain_ascii_domain(candidate: &str) -> Option<&str> {
    let plain = candidate.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let last = candidate.rsplit('.').next().unwrap_or_default();
    let maybe_number = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    (plain && !candidate.contains("xn--") && !maybe_number).then_some(candidate)
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
        for case in &cases {
            if let Some(plain) = plain_ascii_domain(case) {
                assert_eq!(Some(plain.to_owned()), by_parsing(case), "{case:?}");
            }
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
