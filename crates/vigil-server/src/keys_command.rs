//! `vigil keys` and `vigil audit`: key management and the audit log's check,
//! on the database directly, so that the first admin key can be made before
//! any server runs, and a chain can be checked with no server at all.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use vigil_query::Keys;
use vigil_query::QueryError;
use vigil_query::access::{AuditError, NewKeyRequest, verify_audit_log};
use vigil_store::{Role, Store, StoreError};

use crate::config::{AuditAction, DatabaseLocation, KeysAction, RoleArg};
use crate::storage::Storage;

#[derive(Debug, Error)]
pub enum CommandError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("the audit log does not verify: {0}")]
    Audit(String),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("{path}: {reason}")]
    Import { path: String, reason: String },
}

/// Who the console is, for the audit log: the operating-system user.
pub(crate) fn console_user(environment: &std::collections::HashMap<String, String>) -> String {
    let user = environment.get("USER").or_else(|| environment.get("LOGNAME")).map(String::as_str).unwrap_or("");
    if user.is_empty() { "console".to_owned() } else { format!("console:{user}") }
}

pub(crate) async fn open(location: &DatabaseLocation) -> Result<Storage, CommandError> {
    if location.database_url.is_none() {
        std::fs::create_dir_all(&location.data_dir)
            .map_err(|source| CommandError::DataDir { path: location.data_dir.display().to_string(), source })?;
    }
    Ok(Storage::open(&location.data_dir, location.database_url.as_deref(), 1, None).await?)
}

/// Runs one `vigil keys` action; what a script wants (a token) goes to
/// `out`, what a person wants to `err`.
pub async fn run_keys(
    action: &KeysAction,
    location: &DatabaseLocation,
    environment: &std::collections::HashMap<String, String>,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let storage = open(location).await?;
    let keys = Keys::new(storage.store(), Duration::ZERO);
    let by = console_user(environment);
    let result = match action {
        KeysAction::Create { name, role, platform, client_cert } => {
            let role = match role {
                RoleArg::Partner => Role::Partner,
                RoleArg::Analyst => Role::Analyst,
                RoleArg::Admin => Role::Admin,
            };
            let client_certificate = match client_cert {
                Some(path) => Some(crate::tls::certificate_der_from_file(path)?),
                None => None,
            };
            let request = NewKeyRequest {
                name: name.clone(),
                role,
                platform: platform.clone().unwrap_or_default(),
                client_certificate,
            };
            keys.create(request, &by).await.map(|created| {
                let platform = created.record.platform.as_deref().map(|p| format!(" for {p}")).unwrap_or_default();
                let _ = writeln!(
                    err,
                    "created {} key {:?}{platform}; its token, below, is shown this once",
                    created.record.role.as_str(),
                    created.record.name
                );
                let _ = writeln!(out, "{}", created.token);
            })
        }
        KeysAction::List => keys.list().await.map(|all| {
            let _ = writeln!(
                out,
                "name\trole\tplatform\tclient_certificate_sha256\tcreated_at\tcreated_by\trevoked_at\trevoked_by"
            );
            for key in all {
                let _ = writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    key.name,
                    key.role.as_str(),
                    key.platform.unwrap_or_default(),
                    key.client_certificate_sha256.map(|sha256| hex(&sha256)).unwrap_or_default(),
                    key.created_at,
                    key.created_by,
                    key.revoked_at.map(|at| at.to_string()).unwrap_or_default(),
                    key.revoked_by.unwrap_or_default()
                );
            }
        }),
        KeysAction::Revoke { name } => keys.revoke(name, &by).await.map(|revoked| {
            let _ = writeln!(err, "revoked {} key {:?}", revoked.role.as_str(), revoked.name);
        }),
    };
    storage.close().await?;
    Ok(result?)
}

/// Runs `vigil audit verify`.
pub async fn run_audit(
    action: &AuditAction,
    location: &DatabaseLocation,
    out: &mut dyn std::io::Write,
) -> Result<(), CommandError> {
    let AuditAction::Verify = action;
    let storage = open(location).await?;
    let store: Arc<dyn Store> = storage.store();
    let verified = verify_audit_log(store.as_ref()).await;
    storage.close().await?;
    let verified = verified.map_err(|error| match error {
        AuditError::Broken(broken) => CommandError::Audit(broken.to_string()),
        AuditError::Store(store) => CommandError::Store(store),
    })?;
    let _ = writeln!(
        out,
        "audit log verified: {} entries; head entry {} has hash {}",
        verified.entries, verified.head_id, verified.head_hash
    );
    Ok(())
}

/// Lowercase hex, as `openssl x509 -fingerprint -sha256` shows a
/// certificate's hash once its colons are dropped.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
