//! Who is calling: API keys (created, listed, revoked, and checked on every
//! call), and the audit log's verification.
//!
//! A token is 256 random bits, shown once. vigil keeps only its SHA-256:
//! a token that strong needs no slow hash, and a stolen database yields no
//! usable key. A key may also be bound to a TLS client certificate (by the
//! SHA-256 of its DER form, as `openssl x509 -fingerprint -sha256` shows
//! it): over mutual TLS, the certificate stands for the key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use vigil_store::audit::{ChainBreak, ChainVerifier};
use vigil_store::{ApiKeyRecord, KeyRevocation, NewApiKey, Role, Store, StoreError, UnixSeconds};

use crate::QueryError;
use crate::limits::check_bytes;
use crate::sightings::normalize_platform;

/// What every token starts with, so that secret scanners and people can
/// tell a vigil key when one leaks into a paste or a repository.
pub const TOKEN_PREFIX: &str = "vigil_";
const TOKEN_BYTES: usize = 32;
const MAX_KEY_NAME: usize = 64;
/// Cached answers at most: a flood of made-up tokens must not grow memory.
const MAX_CACHED: usize = 10_000;

/// An authenticated caller: the key's name, which is who the audit log and
/// every history name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// A partner key bound to a platform touches only that platform.
    pub platform: Option<String>,
}

impl Caller {
    /// Refuses a partner bound to another platform than `platform`.
    pub fn check_platform(&self, field: &str, platform: &str) -> Result<(), QueryError> {
        match &self.platform {
            Some(own) if self.role == Role::Partner && own != platform => Err(QueryError::Forbidden {
                field: field.into(),
                reason: format!("is {platform:?}, but key {:?} may only act on {own:?}", self.name),
            }),
            _ => Ok(()),
        }
    }

    /// Who a change is recorded as: always the key's name. A request may
    /// repeat that name or leave the field empty; naming anyone else is
    /// refused, so that no record claims an author who did not make it.
    pub fn recorded_as(&self, field: &str, claimed: &str) -> Result<String, QueryError> {
        let claimed = claimed.trim();
        // Checked first, because the refusal below quotes the claim; no
        // longer one can be a key's name.
        check_bytes(field, claimed, MAX_KEY_NAME)?;
        match claimed {
            "" => Ok(self.name.clone()),
            claimed if claimed == self.name => Ok(self.name.clone()),
            claimed => Err(QueryError::invalid(
                field,
                format!(
                    "is {claimed:?}, but the API key is {:?}: leave it empty, vigil records the key's name",
                    self.name
                ),
            )),
        }
    }

    /// A partner key without a platform (a crawler) sends posts, but changes
    /// no account's status: only a platform speaks for its accounts. `field`
    /// is where the request named the platform (or the account).
    pub fn check_may_change_status(&self, field: &str, platform: &str) -> Result<(), QueryError> {
        if self.role == Role::Partner && self.platform.is_none() {
            return Err(QueryError::Forbidden {
                field: "account".into(),
                reason: format!("status changes need an analyst key or a partner key bound to {platform:?}"),
            });
        }
        self.check_platform(field, platform)
    }
}

/// A key as created: the token is in no log and in no Debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedKey {
    pub record: ApiKeyRecord,
    pub token: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey").field("record", &self.record).finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct NewKeyRequest {
    pub name: String,
    pub role: Role,
    pub platform: String,
    /// The DER form of a TLS client certificate that stands for the key.
    pub client_certificate: Option<Vec<u8>>,
}

/// How a caller proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Credential {
    Token,
    ClientCertificate,
}

#[derive(Clone, Debug)]
struct Cached {
    caller: Option<Caller>,
    until: Instant,
}

/// API keys, checked on every call. Answers are cached for `cache_for`, so
/// the hot path reads no storage; a revocation made through this process
/// applies at once, one made elsewhere (another replica, `vigil keys
/// revoke`) within `cache_for`.
#[derive(Clone, Debug)]
pub struct Keys {
    store: Arc<dyn Store>,
    cache_for: Duration,
    cache: Arc<Mutex<HashMap<CredentialHash, Cached>>>,
}

/// A credential by the SHA-256 it is stored under.
type CredentialHash = (Credential, [u8; 32]);

impl Keys {
    pub fn new(store: Arc<dyn Store>, cache_for: Duration) -> Keys {
        Keys { store, cache_for, cache: Arc::default() }
    }

    /// The caller a token belongs to; `None` for an unknown or revoked key.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>, QueryError> {
        self.caller_of((Credential::Token, token_hash(token))).await
    }

    /// The caller a TLS client certificate (DER) stands for; `None` when it
    /// stands for no key, or a revoked one.
    pub async fn authenticate_certificate(&self, certificate_der: &[u8]) -> Result<Option<Caller>, QueryError> {
        self.caller_of((Credential::ClientCertificate, Sha256::digest(certificate_der).into())).await
    }

    async fn caller_of(&self, credential: CredentialHash) -> Result<Option<Caller>, QueryError> {
        let now = Instant::now();
        if let Some(cached) = self.cached(&credential, now) {
            return Ok(cached);
        }
        let key = match credential.0 {
            Credential::Token => self.store.api_key_by_token(credential.1).await?,
            Credential::ClientCertificate => self.store.api_key_by_client_certificate(credential.1).await?,
        };
        let caller = key.filter(|key| key.revoked_at.is_none()).map(|key| Caller {
            name: key.name,
            role: key.role,
            platform: key.platform,
        });
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(credential, Cached { caller: caller.clone(), until: now + self.cache_for });
        Ok(caller)
    }

    fn cached(&self, credential: &CredentialHash, now: Instant) -> Option<Option<Caller>> {
        let cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(credential).filter(|cached| cached.until > now).map(|cached| cached.caller.clone())
    }

    pub async fn create(&self, request: NewKeyRequest, created_by: &str) -> Result<CreatedKey, QueryError> {
        let name = checked_key_name(&request.name)?;
        let platform = match (request.role, request.platform.trim()) {
            (_, "") => None,
            (Role::Partner, platform) => Some(normalize_platform("platform", platform)?),
            (role, _) => {
                return Err(QueryError::invalid(
                    "platform",
                    format!("is for partner keys only, not {}", role.as_str()),
                ));
            }
        };
        let client_certificate_sha256: Option<[u8; 32]> =
            request.client_certificate.as_deref().map(|der| Sha256::digest(der).into());
        if let Some(sha256) = client_certificate_sha256
            && let Some(holder) = self.store.api_key_by_client_certificate(sha256).await?
        {
            return Err(QueryError::Conflict {
                field: "client_certificate".into(),
                reason: format!("already stands for key {:?}", holder.name),
            });
        }
        let token = new_token()?;
        let key = NewApiKey {
            name: name.to_owned(),
            role: request.role,
            platform,
            token_sha256: token_hash(&token),
            client_certificate_sha256,
            created_at: now(),
            created_by: created_by.to_owned(),
        };
        match self.store.create_api_key(key).await? {
            Some(record) => Ok(CreatedKey { record, token }),
            None => Err(QueryError::Conflict {
                field: "name".into(),
                reason: format!("{name:?} is taken (names are never reused, revoked or not)"),
            }),
        }
    }

    pub async fn list(&self) -> Result<Vec<ApiKeyRecord>, QueryError> {
        Ok(self.store.list_api_keys().await?)
    }

    pub async fn revoke(&self, name: &str, revoked_by: &str) -> Result<ApiKeyRecord, QueryError> {
        // No key has a name that breaks the rule, and the answers below
        // quote the name.
        let name = checked_key_name(name)?;
        match self.store.revoke_api_key(name.to_owned(), revoked_by.to_owned(), now()).await? {
            KeyRevocation::Revoked(record) => {
                // This process stops honouring it at once.
                self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
                Ok(record)
            }
            KeyRevocation::AlreadyRevoked(_) => {
                Err(QueryError::Conflict { field: "name".into(), reason: format!("{name:?} is already revoked") })
            }
            KeyRevocation::NoSuchKey => Err(QueryError::NotFound(format!("key {name:?}"))),
        }
    }
}

/// What `vigil audit verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditVerified {
    pub entries: u64,
    pub head_id: i64,
    /// Hex; an operator who records it elsewhere can later tell whether
    /// entries were cut off the end, which the chain alone cannot show.
    pub head_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Walks the whole audit log from its first entry and checks every link.
pub async fn verify_audit_log(store: &dyn Store) -> Result<AuditVerified, AuditError> {
    const PAGE: usize = 1_000;
    let mut verifier = ChainVerifier::default();
    loop {
        let page = store.audit_entries(verifier.last_id(), PAGE).await?;
        for entry in &page {
            verifier.check(entry)?;
        }
        if page.len() < PAGE {
            break;
        }
    }
    let (head_id, head_hash) = verifier.head();
    let head_hash = head_hash.iter().map(|b| format!("{b:02x}")).collect();
    Ok(AuditVerified { entries: verifier.checked(), head_id, head_hash })
}

/// A key's name, trimmed: 1 to [`MAX_KEY_NAME`] of a-z, 0-9, '.', '_', '-'.
fn checked_key_name(name: &str) -> Result<&str, QueryError> {
    let name = name.trim();
    let valid = (1..=MAX_KEY_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !valid {
        return Err(QueryError::invalid(
            "name",
            format!("must be 1 to {MAX_KEY_NAME} lowercase letters, digits, '.', '_' or '-'"),
        ));
    }
    Ok(name)
}

fn new_token() -> Result<String, QueryError> {
    let mut random = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut random)
        .map_err(|error| QueryError::Store(StoreError::Worker(format!("no randomness: {error}"))))?;
    Ok(format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)))
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

fn now() -> UnixSeconds {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_random_bits_behind_the_prefix() {
        let token = new_token().unwrap();
        let body = token.strip_prefix(TOKEN_PREFIX).expect("the prefix");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_ne!(token, new_token().unwrap());
    }

    #[test]
    fn partners_bound_to_a_platform_stay_on_it() {
        let partner = Caller { name: "platform-x".into(), role: Role::Partner, platform: Some("telegram".into()) };
        assert!(partner.check_platform("posts[0].platform", "telegram").is_ok());
        let refused = partner.check_platform("posts[0].platform", "x").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "posts[0].platform is \"x\", but key \"platform-x\" may only act on \"telegram\""
        );
        assert!(partner.check_may_change_status("account.ref.platform", "telegram").is_ok());
        let elsewhere = partner.check_may_change_status("account.ref.platform", "x").unwrap_err();
        assert!(elsewhere.to_string().starts_with("account.ref.platform is \"x\""), "{elsewhere}");
        let crawler = Caller { platform: None, name: "crawler-a".into(), ..partner.clone() };
        assert!(crawler.check_platform("posts[0].platform", "x").is_ok());
        assert!(crawler.check_may_change_status("account.ref.platform", "telegram").is_err());
        let analyst = Caller { role: Role::Analyst, platform: None, ..partner };
        assert!(analyst.check_may_change_status("account.account_id", "x").is_ok());
    }

    #[test]
    fn changes_are_recorded_as_the_key_and_long_claims_are_not_quoted_back() {
        let analyst = Caller { name: "analyst-a".into(), role: Role::Analyst, platform: None };
        let check = |claimed: &str, expected: Result<&str, &str>| {
            let recorded = analyst.recorded_as("changed_by", claimed).map_err(|error| error.to_string());
            assert_eq!(recorded.as_deref().map_err(String::as_str), expected, "{claimed:?}");
        };
        check("", Ok("analyst-a"));
        check(" analyst-a ", Ok("analyst-a"));
        check(
            "analyst-b",
            Err(
                "changed_by is \"analyst-b\", but the API key is \"analyst-a\": leave it empty, vigil records the key's name",
            ),
        );
        check(&"x".repeat(65), Err("changed_by is 65 bytes, over the 64-byte limit"));
    }

    #[test]
    fn key_names_follow_one_rule() {
        assert_eq!(checked_key_name(" crawler-example.2 ").unwrap(), "crawler-example.2");
        for bad in ["", "Upper", "with space", &"a".repeat(65)] {
            let refused = checked_key_name(bad).unwrap_err().to_string();
            assert_eq!(refused, "name must be 1 to 64 lowercase letters, digits, '.', '_' or '-'", "{bad:?}");
        }
    }
}
