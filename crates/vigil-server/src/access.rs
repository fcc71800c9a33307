//! Who may call what: the rule for every RPC, and the tower layer that
//! checks the caller's API key against it before a request is decoded.
//!
//! A method without a rule is refused to everyone, so a new RPC is closed
//! until someone decides who may call it (and the role matrix test fails
//! until they do).

use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::codegen::{BoxFuture, http};
use tower_layer::Layer;
use tower_service::Service;
use vigil_proto::tonic;
use vigil_query::Caller;
use vigil_store::Role;

use crate::grpc::ReadyServices;
use crate::rate_limit::PublicLimiter;
use crate::status::status_of_refusal;

/// Why the access layer turned a call away.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{path} has no access rule, so nobody may call it")]
    NoRule { path: String },
    #[error("this method needs a key with the {} role: send `authorization: Bearer <key>`", required.as_str())]
    NoKey { required: Access },
    #[error("the API key is unknown or revoked")]
    UnknownKey,
    #[error("the client certificate is bound to no key, or to a revoked one; send `authorization: Bearer <key>`")]
    UnknownCertificate,
    #[error("this method needs the {} role; key {:?} has the {} role", required.as_str(), caller.name, caller.role.as_str())]
    WrongRole { required: Access, caller: Caller },
    #[error("storage is still opening; retry shortly")]
    NotReady,
    #[error(
        "public requests from this address are over the limit of {burst} at once, then one every {every_seconds} s; retry later"
    )]
    RateLimited { burst: u32, every_seconds: u32 },
}

/// Who may call a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a key: tips, health, reflection.
    Public,
    /// Partner and analyst keys.
    Partner,
    Analyst,
    Admin,
}

impl Access {
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public => true,
            Access::Partner => matches!(role, Role::Partner | Role::Analyst),
            Access::Analyst => role == Role::Analyst,
            Access::Admin => role == Role::Admin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Partner => "partner",
            Access::Analyst => "analyst",
            Access::Admin => "admin",
        }
    }
}

/// The rule for a gRPC path (`/package.Service/Method`); `None` when the
/// method has none, which refuses it.
pub fn access_of(path: &str) -> Option<Access> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    let access = match (service, method) {
        ("grpc.health.v1.Health", "Check" | "Watch") => Access::Public,
        (
            "grpc.reflection.v1.ServerReflection" | "grpc.reflection.v1alpha.ServerReflection",
            "ServerReflectionInfo",
        ) => Access::Public,
        ("vigil.v1.Intake", "SubmitTip" | "GetTipStatus" | "AddTipFollowUp") => Access::Public,
        ("vigil.v1.Intake", "IngestPosts") => Access::Partner,
        ("vigil.v1.Query", "CheckContent") => Access::Partner,
        ("vigil.v1.Query", "LookupIndicator" | "Search" | "GetSealedText") => Access::Analyst,
        ("vigil.v1.Extraction", "Extract") => Access::Partner,
        // Partners report their own platform's suspensions and profiles;
        // the tracking layer holds them to that platform.
        ("vigil.v1.Tracking", "UpdateAccountStatus" | "RecordProfileSnapshot") => Access::Partner,
        (
            "vigil.v1.Tracking",
            "GetAccount"
            | "ListAccounts"
            | "ReviewSuccessor"
            | "WatchAlerts"
            | "GetActor"
            | "ListActors"
            | "CreateActor"
            | "RenameActor"
            | "AssignAccounts"
            | "MergeActors"
            | "SplitActor"
            | "GetSite"
            | "ListSites"
            | "RecordSite"
            | "UpdateSiteStatus"
            | "RecordTakedownRequest",
        ) => Access::Analyst,
        ("vigil.v1.Network", "GetNeighbourhood" | "ListSharedIndicatorAccounts" | "ListTopConnectors") => {
            Access::Analyst
        }
        ("vigil.v1.Statistics", "GetTransparencyReport") => Access::Analyst,
        // Referrals carry evidence out of vigil: analysts only, and the
        // store holds each step to four eyes.
        (
            "vigil.v1.Referrals",
            "CreateReferral"
            | "AddReferralItems"
            | "ApproveReferral"
            | "MarkReferralSent"
            | "AcknowledgeReferral"
            | "CloseReferral"
            | "GetReferral"
            | "ListReferrals"
            | "ExportReferral"
            | "ExportActor"
            | "ExportRecords",
        ) => Access::Analyst,
        ("vigil.v1.Admin", "CreateKey" | "ListKeys" | "RevokeKey" | "VerifyAuditLog") => Access::Admin,
        _ => return None,
    };
    Some(access)
}

/// The bearer token of an `authorization: Bearer <token>` header.
fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|token| !token.is_empty())
}

enum Credential {
    Token(String),
    /// DER.
    ClientCertificate(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct AccessLayer {
    pub services: ReadyServices,
    /// Applied to the public vigil methods (tips), not to health checks.
    pub limiter: Arc<PublicLimiter>,
}

impl<S> Layer<S> for AccessLayer {
    type Service = AccessCheck<S>;

    fn layer(&self, inner: S) -> AccessCheck<S> {
        AccessCheck { inner, services: self.services.clone(), limiter: Arc::clone(&self.limiter) }
    }
}

#[derive(Clone, Debug)]
pub struct AccessCheck<S> {
    inner: S,
    services: ReadyServices,
    limiter: Arc<PublicLimiter>,
}

impl<S, RequestBody, ResponseBody> Service<http::Request<RequestBody>> for AccessCheck<S>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    RequestBody: Send + 'static,
    ResponseBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<RequestBody>) -> Self::Future {
        let refuse = |refusal: Refusal| -> Self::Future {
            let response = status_of_refusal(refusal).into_http();
            Box::pin(async move { Ok(response) })
        };
        let required = match access_of(request.uri().path()) {
            Some(Access::Public) => {
                // A caller cannot smuggle an identity into a public method.
                request.extensions_mut().remove::<Caller>();
                if request.uri().path().starts_with("/vigil.v1.") {
                    let source = crate::tls::peer_address(request.extensions());
                    if !self.limiter.admit(source.map(|address| address.ip())) {
                        let rate = self.limiter.rate();
                        return refuse(Refusal::RateLimited {
                            burst: rate.per_source_burst as u32,
                            every_seconds: (1.0 / rate.per_source_per_second).round() as u32,
                        });
                    }
                }
                return Box::pin(self.inner.call(request));
            }
            Some(required) => required,
            None => return refuse(Refusal::NoRule { path: request.uri().path().to_owned() }),
        };
        // A bearer token names the key; without one, a client certificate
        // bound to a key stands for it.
        let credential = match bearer_token(request.headers()) {
            Some(token) => Credential::Token(token.to_owned()),
            None => match crate::tls::peer_certificate(request.extensions()) {
                Some(certificate) => Credential::ClientCertificate(certificate.to_vec()),
                None => return refuse(Refusal::NoKey { required }),
            },
        };
        // The service that was polled ready goes with this call; the clone
        // stays for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let services = self.services.clone();
        Box::pin(async move {
            let Some(keys) = services.ready().map(|services| services.keys.clone()) else {
                return Ok(status_of_refusal(Refusal::NotReady).into_http());
            };
            let authenticated = match &credential {
                Credential::Token(token) => keys.authenticate(token).await,
                Credential::ClientCertificate(der) => keys.authenticate_certificate(der).await,
            };
            let caller = match authenticated {
                Ok(Some(caller)) => caller,
                Ok(None) => {
                    let refusal = match credential {
                        Credential::Token(_) => Refusal::UnknownKey,
                        Credential::ClientCertificate(_) => Refusal::UnknownCertificate,
                    };
                    return Ok(status_of_refusal(refusal).into_http());
                }
                Err(error) => return Ok(crate::status::status_of_query_error(error).into_http()),
            };
            if !required.allows(caller.role) {
                return Ok(status_of_refusal(Refusal::WrongRole { required, caller }).into_http());
            }
            request.extensions_mut().insert(caller);
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let check = |value: &str, expected: Option<&str>| {
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer_token(&headers), expected, "{value:?}");
        };
        check("Bearer vigil_abc", Some("vigil_abc"));
        check("bearer  vigil_abc ", Some("vigil_abc"));
        check("Basic dXNlcjpwYXNz", None);
        check("Bearer ", None);
        check("vigil_abc", None);
        assert_eq!(bearer_token(&http::HeaderMap::new()), None);
    }

    #[test]
    fn roles_climb_from_partner_to_analyst_and_admin_stands_apart() {
        assert!(Access::Partner.allows(Role::Analyst));
        assert!(!Access::Analyst.allows(Role::Partner));
        assert!(!Access::Analyst.allows(Role::Admin));
        assert!(!Access::Admin.allows(Role::Analyst));
        assert!(Access::Public.allows(Role::Admin));
        assert_eq!(access_of("/vigil.v1.Query/CheckContent"), Some(Access::Partner));
        assert_eq!(access_of("/vigil.v1.Query/Nothing"), None);
        assert_eq!(access_of("nonsense"), None);
    }
}
