//! Tip receipt codes: what a tipster holds to ask about their tip and to add
//! to it, and how vigil recognises one without keeping it.
//!
//! A code is 28 characters of Crockford's base32 in seven groups of four:
//! the first twelve (60 bits) locate the tip and are kept as a SHA-256; the
//! last sixteen (80 bits) are the secret, kept only as an Argon2id hash with
//! a salt of its own, so that a copy of the database does not give anyone
//! the power to read a tip's status or add to it in the tipster's name.
//! Codes of 24 characters, issued before, were kept as one SHA-256 and are
//! still recognised.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use vigil_store::{ReceiptDigest, StoreError, TipReceiptRecord};

use crate::QueryError;

/// Crockford's base32: no I, L, O or U, so a code read aloud or copied by
/// hand survives.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LOCATOR_CHARACTERS: usize = 12;
const SECRET_CHARACTERS: usize = 16;
const CODE_CHARACTERS: usize = LOCATOR_CHARACTERS + SECRET_CHARACTERS;
const LEGACY_CODE_CHARACTERS: usize = 24;

/// Argon2id at OWASP's first recommended setting (19 MiB, two passes, one
/// lane): memory-hard, so that with 80 random bits behind it a guesser
/// holding the database cannot walk the secrets, while one check per
/// request is nothing a tipster notices.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// A receipt code as read back: the tip it locates and the secret that
/// proves it was issued.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum ReceiptCode {
    Current {
        locator: String,
        secret: String,
    },
    /// 24 characters, kept as the SHA-256 of the grouped code.
    Legacy(String),
}

impl std::fmt::Debug for ReceiptCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never let a receipt code reach a log through a Debug print.
        f.write_str("ReceiptCode(..)")
    }
}

impl ReceiptCode {
    pub(crate) fn new() -> Result<ReceiptCode, QueryError> {
        let mut random = [0u8; CODE_CHARACTERS];
        getrandom::fill(&mut random)
            .map_err(|error| QueryError::Store(StoreError::Worker(format!("no randomness: {error}"))))?;
        // 256 is a multiple of 32, so every character is uniform.
        let characters: String = random.iter().map(|byte| ALPHABET[usize::from(byte % 32)] as char).collect();
        let (locator, secret) = characters.split_at(LOCATOR_CHARACTERS);
        Ok(ReceiptCode::Current { locator: locator.to_owned(), secret: secret.to_owned() })
    }

    /// The code as issued, whatever the case, spacing, hyphens or look-alike
    /// letters (O for 0, I and L for 1); `None` when it cannot be one.
    pub(crate) fn parse(code: &str) -> Option<ReceiptCode> {
        if code.len() > 4 * CODE_CHARACTERS {
            return None;
        }
        let characters: String = code
            .bytes()
            .filter(|b| !matches!(b, b'-' | b' '))
            .map(|b| match b.to_ascii_uppercase() {
                b'O' => '0',
                b'I' | b'L' => '1',
                other => other as char,
            })
            .collect();
        if !characters.bytes().all(|c| ALPHABET.contains(&c)) {
            return None;
        }
        match characters.len() {
            CODE_CHARACTERS => {
                let (locator, secret) = characters.split_at(LOCATOR_CHARACTERS);
                Some(ReceiptCode::Current { locator: locator.to_owned(), secret: secret.to_owned() })
            }
            LEGACY_CODE_CHARACTERS => Some(ReceiptCode::Legacy(grouped(&characters))),
            _ => None,
        }
    }

    /// As the tipster is shown it: groups of four joined by hyphens.
    pub(crate) fn display(&self) -> String {
        match self {
            ReceiptCode::Current { locator, secret } => grouped(&format!("{locator}{secret}")),
            ReceiptCode::Legacy(code) => code.clone(),
        }
    }

    /// What the tip row is found by.
    pub(crate) fn locator_hash(&self) -> [u8; 32] {
        match self {
            ReceiptCode::Current { locator, .. } => Sha256::digest(format!("vigil receipt locator\0{locator}")).into(),
            ReceiptCode::Legacy(code) => Sha256::digest(code.as_bytes()).into(),
        }
    }
}

fn grouped(characters: &str) -> String {
    characters
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Hashes and checks receipt secrets off the async workers, a few at a time:
/// Argon2id is meant to be slow, and a flood of public status requests must
/// not take the cores analysts and platforms are waiting on.
#[derive(Clone, Debug)]
pub(crate) struct ReceiptHasher {
    permits: Arc<Semaphore>,
}

/// Hashes computed or checked at once.
const CONCURRENT_HASHES: usize = 2;

impl Default for ReceiptHasher {
    fn default() -> Self {
        ReceiptHasher { permits: Arc::new(Semaphore::new(CONCURRENT_HASHES)) }
    }
}

impl ReceiptHasher {
    /// What is stored for a newly issued code.
    pub(crate) async fn digest(&self, code: &ReceiptCode) -> Result<ReceiptDigest, QueryError> {
        let ReceiptCode::Current { secret, .. } = code else {
            return Err(QueryError::Store(StoreError::Worker("legacy receipt codes are no longer issued".into())));
        };
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|error| QueryError::Store(StoreError::Worker(format!("no randomness: {error}"))))?;
        let secret = secret.clone();
        let secret_hash = self
            .run(move || {
                let salt = SaltString::encode_b64(&salt).map_err(|error| error.to_string())?;
                argon2()
                    .hash_password(secret.as_bytes(), &salt)
                    .map(|hash| hash.to_string())
                    .map_err(|error| error.to_string())
            })
            .await?;
        Ok(ReceiptDigest { locator_hash: code.locator_hash(), secret_hash: Some(secret_hash) })
    }

    /// Whether `code` is the one `record` was issued with. An unknown code
    /// costs the same hash as a known one, so timing tells them apart no
    /// better than the answer does.
    pub(crate) async fn matches(
        &self,
        code: &ReceiptCode,
        record: Option<&TipReceiptRecord>,
    ) -> Result<bool, QueryError> {
        let secret = match code {
            ReceiptCode::Current { secret, .. } => secret.clone(),
            // A legacy code is its own proof: its whole SHA-256 found the row.
            ReceiptCode::Legacy(_) => return Ok(record.is_some_and(|record| record.secret_hash.is_none())),
        };
        let stored = record.and_then(|record| record.secret_hash.clone());
        let known = stored.is_some();
        let verified = self
            .run(move || {
                let encoded = stored.as_deref().unwrap_or_else(|| decoy_hash());
                let hash = PasswordHash::new(encoded)
                    .map_err(|error| format!("a stored receipt hash is unreadable: {error}"))?;
                Ok(argon2().verify_password(secret.as_bytes(), &hash).is_ok())
            })
            .await?;
        Ok(known && verified)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Result<T, QueryError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| QueryError::Store(StoreError::Worker("receipt hashing stopped".into())))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| QueryError::Store(StoreError::Worker(format!("receipt hashing failed: {error}"))))?
            .map_err(|error| QueryError::Store(StoreError::Worker(error)))
    }
}

/// A hash of a secret nobody holds, checked when no tip matches a code.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"vigil decoy salt").expect("a 16-byte salt encodes");
        argon2()
            .hash_password(b"no tip has this secret", &salt)
            .expect("Argon2id hashes with default parameters")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::{TipState, TipStatus};

    fn record(digest: &ReceiptDigest) -> TipReceiptRecord {
        TipReceiptRecord {
            document: 1,
            secret_hash: digest.secret_hash.clone(),
            state: TipState { status: TipStatus::Received, follow_up_count: 0 },
        }
    }

    #[test]
    fn codes_are_random_and_read_back_leniently() {
        let code = ReceiptCode::new().unwrap();
        let shown = code.display();
        assert_eq!(shown.len(), CODE_CHARACTERS + 6, "{shown}");
        assert_ne!(code, ReceiptCode::new().unwrap());
        assert_eq!(ReceiptCode::parse(&shown.to_lowercase().replace('-', " ")), Some(code.clone()));
        assert_eq!(ReceiptCode::parse("short"), None);
        assert_eq!(ReceiptCode::parse(&"U".repeat(CODE_CHARACTERS)), None, "U is not in the alphabet");
        assert_eq!(
            ReceiptCode::parse("OOOO-IIII-LLLL-0000-0000-0000-0000").map(|code| code.display()),
            Some("0000-1111-1111-0000-0000-0000-0000".to_owned())
        );
        assert_eq!(
            ReceiptCode::parse("abcd efgh jkmn pqrs tvwx yz01").map(|code| code.display()),
            Some("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01".to_owned()),
            "24-character codes issued before are still read"
        );
    }

    #[test]
    fn the_locator_hash_does_not_depend_on_the_secret() {
        let ReceiptCode::Current { locator, .. } = ReceiptCode::new().unwrap() else { unreachable!() };
        let one = ReceiptCode::Current { locator: locator.clone(), secret: "0".repeat(SECRET_CHARACTERS) };
        let other = ReceiptCode::Current { locator, secret: "1".repeat(SECRET_CHARACTERS) };
        assert_eq!(one.locator_hash(), other.locator_hash());
    }

    #[tokio::test]
    async fn only_the_issued_secret_matches() {
        let hasher = ReceiptHasher::default();
        let code = ReceiptCode::new().unwrap();
        let digest = hasher.digest(&code).await.unwrap();
        let stored = digest.secret_hash.clone().unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        let ReceiptCode::Current { locator, secret } = &code else { unreachable!() };
        assert!(!stored.contains(secret.as_str()) && !stored.contains(locator.as_str()));
        assert!(hasher.matches(&code, Some(&record(&digest))).await.unwrap());

        let mut forged = secret.clone().into_bytes();
        forged[0] = if forged[0] == b'0' { b'1' } else { b'0' };
        let forged = ReceiptCode::Current { locator: locator.clone(), secret: String::from_utf8(forged).unwrap() };
        assert!(!hasher.matches(&forged, Some(&record(&digest))).await.unwrap());
        assert!(!hasher.matches(&code, None).await.unwrap(), "no tip found is no match");

        let other = hasher.digest(&code).await.unwrap();
        assert_ne!(other.secret_hash, digest.secret_hash, "each code hashes with its own salt");
    }

    #[tokio::test]
    async fn a_legacy_code_matches_only_a_legacy_row() {
        let hasher = ReceiptHasher::default();
        let legacy = ReceiptCode::parse("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01").unwrap();
        let legacy_row = ReceiptDigest { locator_hash: legacy.locator_hash(), secret_hash: None };
        assert!(hasher.matches(&legacy, Some(&record(&legacy_row))).await.unwrap());
        let current = hasher.digest(&ReceiptCode::new().unwrap()).await.unwrap();
        assert!(!hasher.matches(&legacy, Some(&record(&current))).await.unwrap());
        assert!(!hasher.matches(&legacy, None).await.unwrap());
    }
}
