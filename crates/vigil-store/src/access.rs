//! API keys and the audit log, as stored. A key is kept only as the SHA-256
//! of its token: the token itself is shown once, when it is created.

use async_trait::async_trait;

use crate::audit::{AuditEntry, NewAuditEntry};
use crate::{StoreError, UnixSeconds};

/// What a key may do; the rules per RPC live in the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A platform or crawler integration: sends posts, checks content.
    Partner,
    /// Reads everything, tracks accounts, actors and sites.
    Analyst,
    /// Manages keys and configuration; reads no intelligence.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Partner, Role::Analyst, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

pub type ApiKeyId = i64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiKey {
    pub name: String,
    pub role: Role,
    /// A partner key bound to one platform may only touch that platform's
    /// posts and accounts.
    pub platform: Option<String>,
    pub token_sha256: [u8; 32],
    /// SHA-256 of the DER form of a TLS client certificate that stands for
    /// the key, for partners that authenticate with mutual TLS.
    pub client_certificate_sha256: Option<[u8; 32]>,
    pub created_at: UnixSeconds,
    pub created_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    pub platform: Option<String>,
    pub client_certificate_sha256: Option<[u8; 32]>,
    pub created_at: UnixSeconds,
    pub created_by: String,
    pub revoked_at: Option<UnixSeconds>,
    pub revoked_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRevocation {
    Revoked(ApiKeyRecord),
    /// Revoked before; nothing changed.
    AlreadyRevoked(ApiKeyRecord),
    NoSuchKey,
}

/// Keys and the audit log.
#[async_trait]
pub trait AccessStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a key and audits it; `None` when the name is taken (names are
    /// never reused, so that the audit log names one key each).
    async fn create_api_key(&self, key: NewApiKey) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// The key whose token hashes to `token_sha256`, revoked or not.
    async fn api_key_by_token(&self, token_sha256: [u8; 32]) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// The key a TLS client certificate stands for, revoked or not.
    async fn api_key_by_client_certificate(
        &self,
        certificate_sha256: [u8; 32],
    ) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Every key, by id.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;

    /// Revokes the key named `name`, and audits it.
    async fn revoke_api_key(
        &self,
        name: String,
        revoked_by: String,
        at: UnixSeconds,
    ) -> Result<KeyRevocation, StoreError>;

    /// Appends an entry for something that wrote nothing else (an export).
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError>;

    /// Up to `limit` entries after entry `after`, oldest first.
    async fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The entries both engines write for key changes: one wording, one place.
pub(crate) fn key_created_entry(key: &NewApiKey, id: i64) -> NewAuditEntry {
    let platform = key.platform.as_deref().map(|p| format!(" for {p}")).unwrap_or_default();
    let certificate = key
        .client_certificate_sha256
        .map(|sha256| {
            format!(
                ", client certificate sha256:{}",
                sha256.iter().map(|byte| format!("{byte:02x}")).collect::<String>()
            )
        })
        .unwrap_or_default();
    NewAuditEntry {
        at: key.created_at,
        actor: key.created_by.clone(),
        action: "key.create".into(),
        records: format!("api_key:{id}"),
        detail: format!("{} key {:?}{platform}{certificate}", key.role.as_str(), key.name),
    }
}

pub(crate) fn key_revoked_entry(key: &ApiKeyRecord, revoked_by: &str, at: UnixSeconds) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: revoked_by.to_owned(),
        action: "key.revoke".into(),
        records: format!("api_key:{}", key.id),
        detail: format!("{} key {:?}", key.role.as_str(), key.name),
    }
}
