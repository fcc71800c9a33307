//! The one place where errors become gRPC statuses.

use tonic::{Code, Status};
use vigil_proto::tonic;
use vigil_query::QueryError;
use vigil_query::access::AuditError;
use vigil_store::StoreError;

use crate::access::Refusal;

pub fn status_of_query_error(error: QueryError) -> Status {
    match error {
        QueryError::Invalid { .. } => Status::invalid_argument(error.to_string()),
        QueryError::TooLarge { .. } => Status::resource_exhausted(error.to_string()),
        QueryError::NotFound(_) => Status::not_found(error.to_string()),
        QueryError::Conflict { .. } => Status::failed_precondition(error.to_string()),
        QueryError::Forbidden { .. } => Status::permission_denied(error.to_string()),
        QueryError::Store(store) => status_of_store_error(store),
        QueryError::Sealing(sealing) => {
            tracing::error!(error = %sealing, "sealing a tip failed");
            Status::internal("the tip could not be sealed; nothing was stored")
        }
    }
}

pub fn status_of_store_error(error: StoreError) -> Status {
    match error {
        StoreError::Unavailable(_) => {
            tracing::warn!(error = %error, "storage refused a write");
            Status::unavailable(error.to_string())
        }
        other => {
            // The details stay in the log: they may name tables or paths.
            tracing::error!(error = %other, "storage failed");
            Status::internal("storage failed; the server log has the details")
        }
    }
}

/// A broken chain is DATA_LOSS, naming the first entry that does not hold.
pub fn status_of_audit_error(error: AuditError) -> Status {
    match error {
        AuditError::Broken(broken) => {
            tracing::error!(error = %broken, "the audit log does not verify");
            Status::data_loss(broken.to_string())
        }
        AuditError::Store(store) => status_of_store_error(store),
    }
}

/// No key or a bad key is UNAUTHENTICATED; a good key of the wrong role,
/// PERMISSION_DENIED.
pub fn status_of_refusal(refusal: Refusal) -> Status {
    let message = refusal.to_string();
    match refusal {
        Refusal::NoKey { .. } | Refusal::UnknownKey | Refusal::UnknownCertificate => Status::unauthenticated(message),
        Refusal::NoRule { .. } | Refusal::WrongRole { .. } => Status::permission_denied(message),
        Refusal::NotReady => Status::unavailable(message),
        Refusal::RateLimited { .. } => Status::resource_exhausted(message),
    }
}

/// A request field that is missing or out of range, found while converting
/// from the wire form.
/// A certificate a request carries that is not one is the caller's mistake;
/// files the server cannot read are not.
pub fn status_of_tls_error(error: crate::tls::TlsError) -> Status {
    match error {
        crate::tls::TlsError::NotPem { .. } | crate::tls::TlsError::TooLarge { .. } => {
            Status::invalid_argument(error.to_string())
        }
        crate::tls::TlsError::Read { .. } | crate::tls::TlsError::NoCertificate { .. } => {
            Status::internal(error.to_string())
        }
    }
}

pub fn invalid_field(field: &str, reason: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field} {reason}"))
}

/// What vigil answers for a request message tonic could not read: one over
/// the size limit (tonic: OUT_OF_RANGE) is RESOURCE_EXHAUSTED naming the
/// limit; one that is not valid protobuf (tonic: INTERNAL, as prost's decode
/// error is mapped) is the client's mistake, INVALID_ARGUMENT. `None` for
/// any other status.
pub fn unreadable_message_status(code: Code, message: &str, limit: usize) -> Option<Status> {
    match code {
        Code::OutOfRange if message.contains("message length too large") => Some(Status::resource_exhausted(format!(
            "request message is over the {limit}-byte limit (max_message_bytes)"
        ))),
        Code::Internal if message.starts_with("failed to decode Protobuf message") => {
            let detail = message.trim_start_matches("failed to decode Protobuf message").trim_start_matches(": ");
            Some(Status::invalid_argument(format!("request message is not valid protobuf for this method: {detail}")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_code() {
        let check = |error: QueryError, code: Code| assert_eq!(status_of_query_error(error).code(), code);
        check(QueryError::Invalid { field: "text".into(), reason: "is empty".into() }, Code::InvalidArgument);
        check(QueryError::TooLarge { field: "posts".into(), reason: "over".into() }, Code::ResourceExhausted);
        check(QueryError::NotFound("x".into()), Code::NotFound);
        check(
            QueryError::Conflict { field: "successor_id".into(), reason: "reviewed".into() },
            Code::FailedPrecondition,
        );
        check(QueryError::Forbidden { field: "posts[0].platform".into(), reason: "x".into() }, Code::PermissionDenied);
        check(QueryError::Store(StoreError::Unavailable("disk full".into())), Code::Unavailable);
        check(QueryError::Store(StoreError::Worker("gone".into())), Code::Internal);
        let status = status_of_query_error(QueryError::Invalid { field: "text".into(), reason: "is empty".into() });
        assert_eq!(status.message(), "text is empty");
        assert!(
            unreadable_message_status(Code::OutOfRange, "Error, decoded message length too large: found", 10).is_some()
        );
        assert!(unreadable_message_status(Code::OutOfRange, "other", 10).is_none());
        let undecodable =
            unreadable_message_status(Code::Internal, "failed to decode Protobuf message: invalid wire type", 10);
        assert_eq!(undecodable.map(|status| status.code()), Some(Code::InvalidArgument));
        assert!(unreadable_message_status(Code::Internal, "database error", 10).is_none());
        let tls = |error| status_of_tls_error(error).code();
        let field = || "client_certificate_pem".to_owned();
        assert_eq!(tls(crate::tls::TlsError::NotPem { field: field(), reason: "x".into() }), Code::InvalidArgument);
        assert_eq!(tls(crate::tls::TlsError::TooLarge { field: field(), bytes: 2, limit: 1 }), Code::InvalidArgument);
    }
}
