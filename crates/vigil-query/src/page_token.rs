//! Page tokens, shared by every paginated call: `v1|fingerprint|position`
//! in URL-safe base64, where the fingerprint binds a token to the request
//! it was issued for, so it cannot be replayed against another one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::QueryError;

/// 16 hex digits of SHA-256 over a description of the request.
pub(crate) fn fingerprint(described: &str) -> String {
    Sha256::digest(described.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn encode(fingerprint: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{fingerprint}|{position}"))
}

/// The position a token resumes at; `mismatch` says why a token issued for
/// another request is refused.
pub(crate) fn decode(token: &str, expected_fingerprint: &str, mismatch: &str) -> Result<String, QueryError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let mut parts = text.splitn(3, '|');
    let (Some("v1"), Some(fingerprint), Some(position)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed());
    };
    if fingerprint != expected_fingerprint {
        return Err(QueryError::invalid("page_token", mismatch));
    }
    Ok(position.to_owned())
}

pub(crate) fn malformed() -> QueryError {
    QueryError::invalid("page_token", "is malformed: pass next_page_token from the previous response as it is")
}
