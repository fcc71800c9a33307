//! The Admin service's thin gRPC adapter: API keys and the audit log, with
//! the conversion of keys between their domain and wire forms.

use tonic::{Request, Response, Status};
use vigil_proto::tonic;
use vigil_proto::v1 as pb;
use vigil_query::access::{NewKeyRequest, verify_audit_log};
use vigil_store::{ApiKeyRecord, Role};

use crate::convert::timestamp;
use crate::grpc::{ReadyServices, caller_of};
use crate::status::{invalid_field, status_of_audit_error, status_of_query_error, status_of_tls_error};

#[derive(Clone, Debug)]
pub struct AdminAdapter(pub ReadyServices);

#[tonic::async_trait]
impl pb::admin_server::Admin for AdminAdapter {
    async fn create_key(
        &self,
        request: Request<pb::CreateKeyRequest>,
    ) -> Result<Response<pb::CreateKeyResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let role = role_of("role", request.role)?;
        let client_certificate = match request.client_certificate_pem.trim() {
            "" => None,
            pem => {
                Some(crate::tls::request_certificate_der("client_certificate_pem", pem).map_err(status_of_tls_error)?)
            }
        };
        let new_key = NewKeyRequest { name: request.name, role, platform: request.platform, client_certificate };
        let created = self.0.get()?.keys.create(new_key, &caller.name).await.map_err(status_of_query_error)?;
        tracing::info!(key = %created.record.name, role = role.as_str(), "API key created");
        Ok(Response::new(pb::CreateKeyResponse { key: Some(api_key(created.record)), token: created.token }))
    }

    async fn list_keys(
        &self,
        _request: Request<pb::ListKeysRequest>,
    ) -> Result<Response<pb::ListKeysResponse>, Status> {
        let keys = self.0.get()?.keys.list().await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::ListKeysResponse { keys: keys.into_iter().map(api_key).collect() }))
    }

    async fn revoke_key(
        &self,
        request: Request<pb::RevokeKeyRequest>,
    ) -> Result<Response<pb::RevokeKeyResponse>, Status> {
        let caller = caller_of(&request)?;
        let name = request.into_inner().name;
        let revoked = self.0.get()?.keys.revoke(&name, &caller.name).await.map_err(status_of_query_error)?;
        tracing::info!(key = %revoked.name, "API key revoked");
        Ok(Response::new(pb::RevokeKeyResponse { key: Some(api_key(revoked)) }))
    }

    async fn verify_audit_log(
        &self,
        _request: Request<pb::VerifyAuditLogRequest>,
    ) -> Result<Response<pb::VerifyAuditLogResponse>, Status> {
        let verified = verify_audit_log(self.0.get()?.store.as_ref()).await.map_err(status_of_audit_error)?;
        Ok(Response::new(pb::VerifyAuditLogResponse {
            entries: verified.entries,
            head_id: verified.head_id,
            head_hash: verified.head_hash,
        }))
    }
}

pub fn role_of(field: &str, value: i32) -> Result<Role, Status> {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Partner) => Ok(Role::Partner),
        Ok(pb::Role::Analyst) => Ok(Role::Analyst),
        Ok(pb::Role::Admin) => Ok(Role::Admin),
        Ok(pb::Role::Unspecified) => Err(invalid_field(field, "is required: PARTNER, ANALYST or ADMIN")),
        Err(_) => Err(invalid_field(field, format!("has unknown value {value}"))),
    }
}

fn role(role: Role) -> pb::Role {
    match role {
        Role::Partner => pb::Role::Partner,
        Role::Analyst => pb::Role::Analyst,
        Role::Admin => pb::Role::Admin,
    }
}

fn api_key(key: ApiKeyRecord) -> pb::ApiKey {
    pb::ApiKey {
        name: key.name,
        role: role(key.role) as i32,
        platform: key.platform.unwrap_or_default(),
        created_at: timestamp(key.created_at),
        created_by: key.created_by,
        revoked_at: key.revoked_at.and_then(timestamp),
        revoked_by: key.revoked_by.unwrap_or_default(),
        client_certificate_sha256: key
            .client_certificate_sha256
            .map(|sha256| crate::keys_command::hex(&sha256))
            .unwrap_or_default(),
    }
}
