//! IP addresses in prose. Dotted quads are also version numbers, so an IPv4
//! address is reported only with evidence that it is an address:
//! - it was defanged (`192.0.2[.]1`), or
//! - a port (`:8080`) or a CIDR prefix length (`/24`) follows it, or
//! - a cue word (ip, address, adresse, server, serveur, host, hôte, عنوان,
//!   خادم) stands in the 32 bytes before it,
//!
//! and never when "version", "ver" or "v" stands right before it. An address
//! in a URL's host is always reported. IPv6 needs no cue: a valid address
//! with at least two groups does not occur in prose by chance.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Words that say a dotted quad is an address; matched on lowercased text.
const CUES: &[&str] = &["ip", "address", "adresse", "addr", "server", "serveur", "host", "hôte", "عنوان", "خادم"];
const VERSION_WORDS: &[&str] = &["version", "ver", "v", "versión"];

/// The normalized value of a dotted quad at `[start, end)` of `text`, when
/// the evidence rules above hold. `defanged` says whether refanging
/// produced part of it.
pub(crate) fn ipv4_in_prose(text: &str, start: usize, end: usize, defanged: bool) -> Option<String> {
    let address = parse_ipv4(&text[start..end])?;
    let before = &text[..start];
    let after = &text[end..];
    // Part of a longer dotted run (1.2.3.4.5) or a word: no address.
    if before.ends_with(|c: char| c.is_alphanumeric() || c == '.') || after.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    if after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let lead: String =
        before.chars().rev().take(32).collect::<Vec<_>>().into_iter().rev().collect::<String>().to_lowercase();
    let last_word = lead.split(|c: char| !c.is_alphanumeric()).rfind(|w| !w.is_empty()).unwrap_or_default();
    if VERSION_WORDS.contains(&last_word) || lead.ends_with('v') {
        return None;
    }
    let port_or_prefix = {
        let digits_after = |prefix: char| {
            after.strip_prefix(prefix).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        };
        digits_after(':') || digits_after('/')
    };
    let cue = lead.split(|c: char| !c.is_alphanumeric()).any(|word| CUES.contains(&word));
    (defanged || port_or_prefix || cue).then(|| address.to_string())
}

/// A dotted quad with each part 0 to 255 and no leading zeros (which some
/// parsers read as octal, so they are ambiguous).
pub(crate) fn parse_ipv4(candidate: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = candidate.split('.').collect();
    if parts.len() != 4 || parts.iter().any(|p| p.is_empty() || p.len() > 3 || (p.len() > 1 && p.starts_with('0'))) {
        return None;
    }
    candidate.parse().ok()
}

/// An IPv6 address in its canonical text form (RFC 5952), excluding the
/// unspecified address.
pub(crate) fn parse_ipv6(candidate: &str) -> Option<String> {
    if candidate.matches(':').count() < 2 {
        return None;
    }
    let address: Ipv6Addr = candidate.parse().ok()?;
    (!address.is_unspecified()).then(|| address.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<&str>) {
        let start = text.find(|c: char| c.is_ascii_digit()).unwrap();
        let end = start + text[start..].find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len() - start);
        assert_eq!(ipv4_in_prose(text, start, end, false).as_deref(), expected, "{text:?}");
    }

    #[test]
    fn addresses_need_evidence() {
        check("le serveur 192.0.2.10 héberge", Some("192.0.2.10"));
        check("connect to 198.51.100.7:8443 now", Some("198.51.100.7"));
        check("block 203.0.113.0/24", Some("203.0.113.0"));
        check("IP: 192.0.2.1", Some("192.0.2.1"));
        check("mise à jour 1.2.3.4 disponible", None);
        check("version 1.2.3.4 of the server", None);
        check("v1.2.3.4", None);
        check("ip 1.2.3.4.5", None);
        check("ip 256.1.1.1", None);
        check("ip 01.2.3.4", None);
    }

    #[test]
    fn ipv6_in_canonical_form() {
        assert_eq!(parse_ipv6("2001:DB8:0:0:0:0:0:1").as_deref(), Some("2001:db8::1"));
        assert_eq!(parse_ipv6("2001:db8::"), Some("2001:db8::".into()));
        assert_eq!(parse_ipv6("::"), None);
        assert_eq!(parse_ipv6("10:30"), None);
        assert_eq!(parse_ipv6("12:30:45"), None);
    }
}
