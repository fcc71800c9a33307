//! API keys and the audit log on PostgreSQL, as on SQLite
//! (`sqlite/access.rs`). Replicas append to one chain, so an append takes a
//! transaction-scoped advisory lock: the next entry's id and previous hash
//! are read and written by one transaction at a time.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::{PostgresStore, Tx, sql_limit};
use crate::access::{AccessStore, ApiKeyRecord, KeyRevocation, NewApiKey, Role, key_created_entry, key_revoked_entry};
use crate::audit::{AuditEntry, GENESIS_HASH, NewAuditEntry, entry_hash};
use crate::{StoreError, UnixSeconds};

/// Held by every vigil process appending to the same audit log.
const AUDIT_LOCK: i64 = 0x7669_6769_6c00_0002;

/// Appends an entry inside the caller's write transaction.
pub(crate) async fn append_audit(tx: &Tx<'_>, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK]).await?;
    let statement = tx.prepare_cached("SELECT id, hash FROM audit_entry ORDER BY id DESC LIMIT 1").await?;
    let (id, previous_hash) = match tx.query_opt(&statement, &[]).await? {
        Some(row) => (row.get::<_, i64>(0) + 1, hash_of(row.get(1))?),
        None => (1, GENESIS_HASH),
    };
    let hash = entry_hash(id, &entry, &previous_hash);
    let statement = tx
        .prepare_cached(
            "INSERT INTO audit_entry (id, at, actor, action, records, detail, previous_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &statement,
        &[&id, &entry.at, &entry.actor, &entry.action, &entry.records, &entry.detail, &&previous_hash[..], &&hash[..]],
    )
    .await?;
    Ok(AuditEntry { id, entry, previous_hash, hash })
}

fn hash_of(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Worker("an audit hash in the database is not 32 bytes".into()))
}

const KEY_COLUMNS: &str =
    "id, name, role, platform, created_at, created_by, revoked_at, revoked_by, client_certificate_sha256";

fn key_record(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    let role: String = row.get(2);
    Ok(ApiKeyRecord {
        id: row.get(0),
        name: row.get(1),
        role: Role::from_name(&role)
            .ok_or_else(|| StoreError::Worker(format!("unknown key role {role:?} in the database")))?,
        platform: row.get(3),
        created_at: row.get(4),
        created_by: row.get(5),
        revoked_at: row.get(6),
        revoked_by: row.get(7),
        client_certificate_sha256: row
            .get::<_, Option<Vec<u8>>>(8)
            .map(|bytes| {
                bytes.try_into().map_err(|_| StoreError::Worker("a client certificate hash is not 32 bytes".into()))
            })
            .transpose()?,
    })
}

async fn key_where(
    tx: &Tx<'_>,
    condition: &str,
    value: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let statement = tx.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_key WHERE {condition}")).await?;
    tx.query_opt(&statement, &[value]).await?.as_ref().map(key_record).transpose()
}

#[async_trait]
impl AccessStore for PostgresStore {
    async fn create_api_key(&self, key: NewApiKey) -> Result<Option<ApiKeyRecord>, StoreError> {
        write_tx!(self, |tx| {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO api_key
                         (name, role, platform, token_sha256, created_at, created_by, client_certificate_sha256)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING RETURNING id",
                )
                .await?;
            let inserted = tx
                .query_opt(
                    &statement,
                    &[
                        &key.name,
                        &key.role.as_str(),
                        &key.platform,
                        &&key.token_sha256[..],
                        &key.created_at,
                        &key.created_by,
                        &key.client_certificate_sha256.as_ref().map(|sha256| &sha256[..]),
                    ],
                )
                .await?;
            let Some(row) = inserted else { return Ok(None) };
            let id: i64 = row.get(0);
            append_audit(&tx, key_created_entry(&key, id)).await?;
            key_where(&tx, "id = $1", &id).await
        })
    }

    async fn api_key_by_token(&self, token_sha256: [u8; 32]) -> Result<Option<ApiKeyRecord>, StoreError> {
        let client = self.pool.get().await?;
        let statement =
            client.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_key WHERE token_sha256 = $1")).await?;
        client.query_opt(&statement, &[&&token_sha256[..]]).await?.as_ref().map(key_record).transpose()
    }

    async fn api_key_by_client_certificate(
        &self,
        certificate_sha256: [u8; 32],
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        read_tx!(self, |tx| key_where(&tx, "client_certificate_sha256 = $1", &&certificate_sha256[..]).await)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        read_tx!(self, |tx| {
            let statement = tx.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_key ORDER BY id")).await?;
            tx.query(&statement, &[]).await?.iter().map(key_record).collect()
        })
    }

    async fn revoke_api_key(
        &self,
        name: String,
        revoked_by: String,
        at: UnixSeconds,
    ) -> Result<KeyRevocation, StoreError> {
        write_tx!(self, |tx| {
            let Some(key) = key_where(&tx, "name = $1 FOR UPDATE", &name).await? else {
                return Ok(KeyRevocation::NoSuchKey);
            };
            if key.revoked_at.is_some() {
                return Ok(KeyRevocation::AlreadyRevoked(key));
            }
            let statement =
                tx.prepare_cached("UPDATE api_key SET revoked_at = $1, revoked_by = $2 WHERE id = $3").await?;
            tx.execute(&statement, &[&at, &revoked_by, &key.id]).await?;
            append_audit(&tx, key_revoked_entry(&key, &revoked_by, at)).await?;
            Ok(KeyRevocation::Revoked(ApiKeyRecord {
                revoked_at: Some(at),
                revoked_by: Some(revoked_by.clone()),
                ..key
            }))
        })
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        write_tx!(self, |tx| append_audit(&tx, entry.clone()).await)
    }

    async fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        read_tx!(self, |tx| {
            let statement = tx
                .prepare_cached(
                    "SELECT id, at, actor, action, records, detail, previous_hash, hash
                     FROM audit_entry WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .await?;
            tx.query(&statement, &[&after, &sql_limit(limit)])
                .await?
                .iter()
                .map(|row| {
                    Ok(AuditEntry {
                        id: row.get(0),
                        entry: NewAuditEntry {
                            at: row.get(1),
                            actor: row.get(2),
                            action: row.get(3),
                            records: row.get(4),
                            detail: row.get(5),
                        },
                        previous_hash: hash_of(row.get(6))?,
                        hash: hash_of(row.get(7))?,
                    })
                })
                .collect()
        })
    }
}
