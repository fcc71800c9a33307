//! Sealed tips: when an operator gives vigil a public key, a tip's text is
//! stored encrypted to it, and only the holder of the private key, away from
//! the server, can read it. Extraction still runs at intake, so the tip's
//! indicators are found and searchable; its words are not.
//!
//! The box is libsodium's sealed box (X25519, XSalsa20-Poly1305; RustCrypto's
//! `crypto_box`), so a sealed text also opens with libsodium or PyNaCl's
//! `SealedBox`. Keys are written as `vigil-seal-public:` or
//! `vigil-seal-secret:` and 32 bytes of base64url, so that one pasted in the
//! wrong place is named, not misread.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SecretKey};
use thiserror::Error;

const PUBLIC_PREFIX: &str = "vigil-seal-public:";
const SECRET_PREFIX: &str = "vigil-seal-secret:";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a {what} key is {prefix} and 32 bytes of base64url")]
    MalformedKey { what: &'static str, prefix: &'static str },
    #[error("this text was not sealed to this key, or it was altered")]
    CannotOpen,
    #[error("sealing failed")]
    CannotSeal,
}

/// The public key tips are sealed to.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey(PublicKey);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.0.as_bytes()))
    }
}

impl SealKey {
    pub fn parse(text: &str) -> Result<SealKey, SealError> {
        key_bytes(text, PUBLIC_PREFIX, "public").map(|bytes| SealKey(PublicKey::from_bytes(bytes)))
    }

    pub fn seal(&self, text: &str) -> Result<Vec<u8>, SealError> {
        self.0.seal(&mut OsRng, text.as_bytes()).map_err(|_| SealError::CannotSeal)
    }
}

/// The private key that opens sealed tips. It belongs on an analyst's
/// machine, never in the server's configuration.
pub struct UnsealKey(SecretKey);

impl std::fmt::Debug for UnsealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsealKey(..)")
    }
}

impl UnsealKey {
    pub fn generate() -> UnsealKey {
        UnsealKey(SecretKey::generate(&mut OsRng))
    }

    pub fn parse(text: &str) -> Result<UnsealKey, SealError> {
        key_bytes(text, SECRET_PREFIX, "secret").map(|bytes| UnsealKey(SecretKey::from_bytes(bytes)))
    }

    /// As written to the key file.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.0.to_bytes()))
    }

    pub fn seal_key(&self) -> SealKey {
        SealKey(self.0.public_key())
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, SealError> {
        let text = self.0.unseal(sealed).map_err(|_| SealError::CannotOpen)?;
        String::from_utf8(text).map_err(|_| SealError::CannotOpen)
    }
}

fn key_bytes(text: &str, prefix: &'static str, what: &'static str) -> Result<[u8; 32], SealError> {
    let malformed = || SealError::MalformedKey { what, prefix };
    let body = text.trim().strip_prefix(prefix).ok_or_else(malformed)?;
    URL_SAFE_NO_PAD.decode(body).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secret_key_opens_what_its_public_key_sealed() {
        let secret = UnsealKey::generate();
        let public = SealKey::parse(&secret.seal_key().to_string()).unwrap();
        let text = "Une chaîne relaie https://example.org/appel — قناة";
        let sealed = public.seal(text).unwrap();
        assert!(!sealed.windows(6).any(|window| window == "chaîne".as_bytes()), "no plaintext in the box");
        assert_ne!(sealed, public.seal(text).unwrap(), "each seal has its own ephemeral key");
        let reread = UnsealKey::parse(&secret.to_text()).unwrap();
        assert_eq!(reread.open(&sealed).unwrap(), text);
        assert_eq!(UnsealKey::generate().open(&sealed), Err(SealError::CannotOpen));
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(reread.open(&altered), Err(SealError::CannotOpen));
    }

    #[test]
    fn keys_pasted_in_the_wrong_place_are_named() {
        let secret = UnsealKey::generate();
        let error = SealKey::parse(&secret.to_text()).unwrap_err();
        assert_eq!(error.to_string(), "a public key is vigil-seal-public: and 32 bytes of base64url");
        assert!(UnsealKey::parse(&secret.seal_key().to_string()).is_err());
        assert!(SealKey::parse("vigil-seal-public:c2hvcnQ").is_err());
    }
}
