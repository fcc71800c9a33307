//! API keys and the audit log on SQLite. The single writer connection
//! orders audit entries, so the chain needs no lock of its own.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteStore;
use crate::access::{AccessStore, ApiKeyRecord, KeyRevocation, NewApiKey, Role, key_created_entry, key_revoked_entry};
use crate::audit::{AuditEntry, GENESIS_HASH, NewAuditEntry, entry_hash};
use crate::{StoreError, UnixSeconds};

/// Appends an entry inside the caller's write transaction.
pub(crate) fn append_audit(tx: &Transaction<'_>, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT id, hash FROM audit_entry ORDER BY id DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (id, previous_hash) = match last {
        Some((id, hash)) => (id + 1, hash_of(hash)?),
        None => (1, GENESIS_HASH),
    };
    let hash = entry_hash(id, &entry, &previous_hash);
    tx.prepare_cached(
        "INSERT INTO audit_entry (id, at, actor, action, records, detail, previous_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        entry.at,
        entry.actor,
        entry.action,
        entry.records,
        entry.detail,
        &previous_hash[..],
        &hash[..]
    ])?;
    Ok(AuditEntry { id, entry, previous_hash, hash })
}

fn hash_of(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Worker("an audit hash in the database is not 32 bytes".into()))
}

const KEY_COLUMNS: &str =
    "id, name, role, platform, created_at, created_by, revoked_at, revoked_by, client_certificate_sha256";

fn key_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ApiKeyRecord, String)> {
    let role: String = row.get(2)?;
    Ok((
        ApiKeyRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            role: Role::Partner,
            platform: row.get(3)?,
            created_at: row.get(4)?,
            created_by: row.get(5)?,
            revoked_at: row.get(6)?,
            revoked_by: row.get(7)?,
            client_certificate_sha256: row.get::<_, Option<[u8; 32]>>(8)?,
        },
        role,
    ))
}

fn with_role((mut record, role): (ApiKeyRecord, String)) -> Result<ApiKeyRecord, StoreError> {
    record.role = Role::from_name(&role)
        .ok_or_else(|| StoreError::Worker(format!("unknown key role {role:?} in the database")))?;
    Ok(record)
}

fn key_where(
    tx: &Transaction<'_>,
    condition: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    tx.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_key WHERE {condition}"))?
        .query_row([value], key_record)
        .optional()?
        .map(with_role)
        .transpose()
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn create_api_key(&self, key: NewApiKey) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO api_key
                         (name, role, platform, token_sha256, created_at, created_by, client_certificate_sha256)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO NOTHING RETURNING id",
                )?
                .query_row(
                    params![
                        key.name,
                        key.role.as_str(),
                        key.platform,
                        &key.token_sha256[..],
                        key.created_at,
                        key.created_by,
                        key.client_certificate_sha256.as_ref().map(|sha256| &sha256[..])
                    ],
                    |row| row.get::<_, i64>(0),
                )
                .optional()?;
            let Some(id) = inserted else { return Ok(None) };
            append_audit(tx, key_created_entry(&key, id))?;
            key_where(tx, "id = ?1", &id)
        })
        .await
    }

    async fn api_key_by_token(&self, token_sha256: [u8; 32]) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.read(move |tx| key_where(tx, "token_sha256 = ?1", &&token_sha256[..])).await
    }

    async fn api_key_by_client_certificate(
        &self,
        certificate_sha256: [u8; 32],
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.read(move |tx| key_where(tx, "client_certificate_sha256 = ?1", &&certificate_sha256[..])).await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.read(|tx| {
            let mut statement = tx.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_key ORDER BY id"))?;
            let rows = statement.query_map([], key_record)?.collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(with_role).collect()
        })
        .await
    }

    async fn revoke_api_key(
        &self,
        name: String,
        revoked_by: String,
        at: UnixSeconds,
    ) -> Result<KeyRevocation, StoreError> {
        self.write(move |tx| {
            let Some(key) = key_where(tx, "name = ?1", &name)? else { return Ok(KeyRevocation::NoSuchKey) };
            if key.revoked_at.is_some() {
                return Ok(KeyRevocation::AlreadyRevoked(key));
            }
            tx.prepare_cached("UPDATE api_key SET revoked_at = ?1, revoked_by = ?2 WHERE id = ?3")?
                .execute(params![at, revoked_by, key.id])?;
            append_audit(tx, key_revoked_entry(&key, &revoked_by, at))?;
            Ok(KeyRevocation::Revoked(ApiKeyRecord { revoked_at: Some(at), revoked_by: Some(revoked_by), ..key }))
        })
        .await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        self.write(move |tx| append_audit(tx, entry)).await
    }

    async fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |tx| {
            let mut statement = tx.prepare_cached(
                "SELECT id, at, actor, action, records, detail, previous_hash, hash
                 FROM audit_entry WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = statement
                .query_map(params![after, limit as i64], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        NewAuditEntry {
                            at: row.get(1)?,
                            actor: row.get(2)?,
                            action: row.get(3)?,
                            records: row.get(4)?,
                            detail: row.get(5)?,
                        },
                        row.get::<_, Vec<u8>>(6)?,
                        row.get::<_, Vec<u8>>(7)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, entry, previous_hash, hash)| {
                    Ok(AuditEntry { id, entry, previous_hash: hash_of(previous_hash)?, hash: hash_of(hash)? })
                })
                .collect()
        })
        .await
    }
}
