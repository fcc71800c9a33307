//! Page tokens, shared by every paginated call: `v1|fingerprint|position`
//! in URL-safe base64, where the fingerprint binds a token to the request
//! it was issued for, so it cannot be replayed against another one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::QueryError;
use crate::limits::{MAX_PAGE_TOKEN_BYTES, check_bytes};

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
    check_bytes("page_token", token, MAX_PAGE_TOKEN_BYTES)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_long_ones_are_refused_before_decoding() {
        let token = encode("abcd", "n:1:2");
        assert_eq!(decode(&token, "abcd", "mismatch").unwrap(), "n:1:2");
        let long = "A".repeat(MAX_PAGE_TOKEN_BYTES + 1);
        assert_eq!(
            decode(&long, "abcd", "mismatch").unwrap_err().to_string(),
            "page_token is 257 bytes, over the 256-byte limit"
        );
    }
}
