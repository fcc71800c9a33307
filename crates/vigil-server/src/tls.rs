//! TLS from certificate files (rustls), and the client certificate a caller
//! presented over mutual TLS.

use std::path::Path;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use thiserror::Error;
use tonic::codegen::http;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use vigil_proto::tonic;

use crate::config::TlsFiles;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read { what: &'static str, path: String, source: std::io::Error },
    #[error("{what} {path} holds no PEM certificate")]
    NoCertificate { what: &'static str, path: String },
    #[error("{field} holds no PEM certificate ({reason})")]
    NotPem { field: String, reason: String },
    #[error("{field} is {bytes} bytes, over the {limit}-byte limit")]
    TooLarge { field: String, bytes: usize, limit: usize },
}

/// Longest certificate a request may carry: one certificate in PEM, even
/// with a large key and many names, is a few KiB.
pub const MAX_REQUEST_CERTIFICATE_BYTES: usize = 16 * 1024;

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.display().to_string(), source })
}

/// The server's TLS settings. Files are read and checked now, so a wrong
/// path stops the server at start, not at the first handshake.
pub fn server_config(files: &TlsFiles) -> Result<ServerTlsConfig, TlsError> {
    let cert = read("tls_cert", &files.cert)?;
    if CertificateDer::pem_slice_iter(&cert).next().is_none() {
        return Err(TlsError::NoCertificate { what: "tls_cert", path: files.cert.display().to_string() });
    }
    let key = read("tls_key", &files.key)?;
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    if let Some(path) = &files.client_ca {
        let ca = read("tls_client_ca", path)?;
        if CertificateDer::pem_slice_iter(&ca).next().is_none() {
            return Err(TlsError::NoCertificate { what: "tls_client_ca", path: path.display().to_string() });
        }
        // Optional: public tipsters and bearer-token callers have none.
        config = config.client_ca_root(Certificate::from_pem(ca)).client_auth_optional(true);
    }
    Ok(config)
}

/// The first certificate of a PEM text, in DER form: what a key is bound to.
pub fn certificate_der(field: &str, pem: &[u8]) -> Result<Vec<u8>, TlsError> {
    let not_pem = |reason: String| TlsError::NotPem { field: field.to_owned(), reason };
    match CertificateDer::pem_slice_iter(pem).next() {
        Some(Ok(der)) => Ok(der.to_vec()),
        Some(Err(error)) => Err(not_pem(error.to_string())),
        None => Err(not_pem("no BEGIN CERTIFICATE block".into())),
    }
}

/// The one certificate a request carries (PEM), in DER form.
pub fn request_certificate_der(field: &str, pem: &str) -> Result<Vec<u8>, TlsError> {
    if pem.len() > MAX_REQUEST_CERTIFICATE_BYTES {
        return Err(TlsError::TooLarge {
            field: field.to_owned(),
            bytes: pem.len(),
            limit: MAX_REQUEST_CERTIFICATE_BYTES,
        });
    }
    certificate_der(field, pem.as_bytes())
}

/// Reads `path` for `vigil keys create --client-cert`.
pub fn certificate_der_from_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read("client certificate", path)?;
    certificate_der(&path.display().to_string(), &pem)
}

/// The leaf certificate the client presented, when it connected over TLS
/// with one the client CAs signed.
pub fn peer_certificate(extensions: &http::Extensions) -> Option<CertificateDer<'static>> {
    let certificates = extensions.get::<TlsConnectInfo<TcpConnectInfo>>()?.peer_certs()?;
    certificates.first().cloned()
}

/// The caller's address, over TLS or not: only the rate limiter sees it.
pub fn peer_address(extensions: &http::Extensions) -> Option<std::net::SocketAddr> {
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|info| info.get_ref().remote_addr()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_certificate_is_refused_over_its_limit_before_it_is_parsed() {
        let refused = request_certificate_der("client_certificate_pem", &"x".repeat(MAX_REQUEST_CERTIFICATE_BYTES + 1))
            .unwrap_err()
            .to_string();
        assert_eq!(refused, "client_certificate_pem is 16385 bytes, over the 16384-byte limit");
        let not_pem = request_certificate_der("client_certificate_pem", "not a certificate").unwrap_err();
        assert!(matches!(not_pem, TlsError::NotPem { .. }), "{not_pem}");
    }
}
