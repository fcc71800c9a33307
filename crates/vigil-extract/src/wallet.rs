//! Cryptocurrency addresses, reported only when their checksum holds: a
//! typo'd or made-up address names nobody's wallet.

use tiny_keccak::{Hasher, Keccak};

use crate::IndicatorKind;

/// The kind and normalized value of a wallet address, or `None` when the
/// candidate is no valid address of any supported currency.
pub(crate) fn wallet(candidate: &str) -> Option<(IndicatorKind, String)> {
    let first = candidate.as_bytes().first()?;
    match first {
        b'b' | b'B' if candidate.len() >= 14 && candidate[..3].eq_ignore_ascii_case("bc1") => {
            bitcoin_segwit(candidate).map(|value| (IndicatorKind::Btc, value))
        }
        b'1' | b'3' => bitcoin_base58(candidate).map(|value| (IndicatorKind::Btc, value)),
        b'0' => ethereum(candidate).map(|value| (IndicatorKind::Eth, value)),
        b'T' => tron(candidate).map(|value| (IndicatorKind::Trx, value)),
        b'4' | b'8' => monero(candidate).map(|value| (IndicatorKind::Xmr, value)),
        _ => None,
    }
}

/// Normalizes a raw value of one wallet kind.
pub(crate) fn normalize_wallet(kind: IndicatorKind, raw: &str) -> Option<String> {
    wallet(raw).filter(|(found, _)| *found == kind).map(|(_, value)| value)
}

/// bech32 (SegWit v0) or bech32m (v1+), mainnet `bc`; lowercase.
fn bitcoin_segwit(candidate: &str) -> Option<String> {
    let (hrp, _, _) = bech32::segwit::decode(candidate).ok()?;
    (hrp.to_lowercase() == "bc").then(|| candidate.to_ascii_lowercase())
}

/// Base58Check P2PKH (version 0) or P2SH (version 5); case-sensitive.
fn bitcoin_base58(candidate: &str) -> Option<String> {
    if !(26..=35).contains(&candidate.len()) {
        return None;
    }
    let payload = bs58::decode(candidate).with_check(None).into_vec().ok()?;
    (payload.len() == 21 && matches!(payload[0], 0x00 | 0x05)).then(|| candidate.to_owned())
}

/// Tron: Base58Check, version 0x41, 21 bytes.
fn tron(candidate: &str) -> Option<String> {
    if candidate.len() != 34 {
        return None;
    }
    let payload = bs58::decode(candidate).with_check(Some(0x41)).into_vec().ok()?;
    (payload.len() == 21).then(|| candidate.to_owned())
}

/// Ethereum: 0x and 40 hex digits. Mixed case carries an EIP-55 checksum,
/// which must hold; one case carries none. Normalized to lowercase.
fn ethereum(candidate: &str) -> Option<String> {
    let hex = candidate.strip_prefix("0x")?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let lower = hex.to_ascii_lowercase();
    let mixed = hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        let hash = keccak256(lower.as_bytes());
        let checksum_holds = hex.bytes().enumerate().all(|(i, b)| {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            !b.is_ascii_alphabetic() || (nibble >= 8) == b.is_ascii_uppercase()
        });
        if !checksum_holds {
            return None;
        }
    }
    Some(format!("0x{lower}"))
}

/// Monero: standard (95 characters) or integrated (106) address in Monero's
/// block-wise Base58, whose last 4 bytes are a Keccak-256 checksum.
fn monero(candidate: &str) -> Option<String> {
    let bytes = monero_base58_decode(candidate)?;
    let expected_len = match candidate.len() {
        95 => 69,
        106 => 77,
        _ => return None,
    };
    if bytes.len() != expected_len || !matches!(bytes[0], 0x12 | 0x13 | 0x2a) {
        return None;
    }
    let (body, checksum) = bytes.split_at(bytes.len() - 4);
    (keccak256(body)[..4] == *checksum).then(|| candidate.to_owned())
}

const BASE58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Monero encodes 8-byte blocks as 11 characters; the last partial block
/// uses as few characters as its size needs.
fn monero_base58_decode(text: &str) -> Option<Vec<u8>> {
    const ENCODED_BLOCK_SIZES: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];
    let mut bytes = Vec::with_capacity(text.len() * 8 / 11 + 8);
    for block in text.as_bytes().chunks(11) {
        let decoded_len = ENCODED_BLOCK_SIZES.iter().position(|&size| size == block.len())?;
        let mut value: u128 = 0;
        for &character in block {
            let digit = BASE58_ALPHABET.iter().position(|&c| c == character)? as u128;
            value = value * 58 + digit;
        }
        if value >> (8 * decoded_len) != 0 {
            return None;
        }
        bytes.extend_from_slice(&value.to_be_bytes()[16 - decoded_len..]);
    }
    Some(bytes)
}

fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak::v256();
    hasher.update(data);
    let mut output = [0u8; 32];
    hasher.finalize(&mut output);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(candidate: &str, expected: Option<(IndicatorKind, &str)>) {
        assert_eq!(wallet(candidate), expected.map(|(k, v)| (k, v.to_owned())), "wallet {candidate:?}");
    }

    /// Test vectors from the specifications (BIP-173, BIP-350, EIP-55) and
    /// well-known example addresses; none is anyone's wallet here.
    #[test]
    fn valid_addresses_with_their_checksums() {
        use IndicatorKind::*;
        check("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", Some((Btc, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")));
        check(
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            Some((Btc, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")),
        );
        check("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", Some((Btc, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")));
        check("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", Some((Btc, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")));
        check("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", Some((Eth, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")));
        check("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", Some((Eth, "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359")));
        check("0x52908400098527886e0f7030069857d2e4169ee7", Some((Eth, "0x52908400098527886e0f7030069857d2e4169ee7")));
    }

    #[test]
    fn bad_checksums_are_not_wallets() {
        check("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", None);
        check("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", None);
        check("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", None);
        check(&format!("4{}", "A".repeat(94)), None);
    }

    /// Monero is checked with generated valid and broken addresses in the
    /// accuracy test (tests/accuracy.rs), which carries the encoder.
    #[test]
    fn generated_tron_addresses_round_trip() {
        let tron = bs58::encode([0x41u8; 21]).with_check().into_string();
        assert_eq!(wallet(&tron), Some((IndicatorKind::Trx, tron.clone())));
        let mut broken_tron = tron.clone().into_bytes();
        broken_tron[20] = if broken_tron[20] == b'2' { b'3' } else { b'2' };
        assert_eq!(wallet(std::str::from_utf8(&broken_tron).unwrap()), None);
    }
}
