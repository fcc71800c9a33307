//! TLS from certificate files, and mutual TLS: a test CA signs the server's
//! certificate and two client certificates, one bound to a partner key with
//! `vigil keys create --client-cert`. Over TLS the bound certificate stands
//! for its key with no bearer token; an unbound one, or none, leaves the
//! caller to its token; plaintext is refused.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use vigil_proto::tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use vigil_proto::tonic::{self, Request};
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::query_client::QueryClient;
use vigil_proto::v1::statistics_client::StatisticsClient;
use vigil_proto::v1::{CheckContentRequest, GetTransparencyReportRequest, SubmitTipRequest};

use support::Vigil;

/// PEM files of a test PKI, in a directory of their own.
struct Pki {
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    bound_client: (PathBuf, PathBuf),
    unbound_client: (PathBuf, PathBuf),
}

fn write_pair(dir: &Path, name: &str, certificate: String, key: &KeyPair) -> (PathBuf, PathBuf) {
    let (cert_path, key_path) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    std::fs::write(&cert_path, certificate).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

fn make_pki(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "vigil test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();
    let leaf = |name: &str, names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let certificate = params.signed_by(&key, &ca).unwrap();
        write_pair(dir, name, certificate.pem(), &key)
    };
    Pki {
        server: leaf("server", vec!["localhost".into()]),
        bound_client: leaf("crawler-tls", vec![]),
        unbound_client: leaf("stranger", vec![]),
        ca: ca_path,
    }
}

async fn tls_channel(vigil: &Vigil, pki: &Pki, identity: Option<&(PathBuf, PathBuf)>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&pki.ca).unwrap()))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(std::fs::read(cert).unwrap(), std::fs::read(key).unwrap()));
    }
    Channel::from_shared(format!("https://{}", vigil.address))
        .unwrap()
        .tls_config(tls)
        .map_err(|error| error.to_string())?
        .connect()
        .await
        .map_err(|error| format!("{error:?}"))
}

fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn check() -> CheckContentRequest {
    CheckContentRequest { text: "voir https://example.org/appel".into(), ..Default::default() }
}

#[tokio::test]
async fn a_client_certificate_bound_to_a_key_stands_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = make_pki(pki_dir.path());
    let created = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["keys", "create", "--name", "crawler-tls", "--role", "partner", "--data-dir"])
        .arg(dir.path())
        .arg("--client-cert")
        .arg(&pki.bound_client.0)
        .env_remove("VIGIL_CONFIG")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let listed = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["keys", "list", "--data-dir"])
        .arg(dir.path())
        .env_remove("VIGIL_CONFIG")
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    let crawler_line = listed.lines().find(|line| line.starts_with("crawler-tls\t")).expect("listed");
    assert_eq!(crawler_line.split('\t').nth(3).map(str::len), Some(64), "its certificate's SHA-256: {listed}");

    let (cert, key) = (pki.server.0.to_str().unwrap(), pki.server.1.to_str().unwrap());
    let vigil =
        Vigil::start(dir.path(), &["--tls-cert", cert, "--tls-key", key, "--tls-client-ca", pki.ca.to_str().unwrap()]);
    let anonymous = wait_serving_tls(&vigil, &pki).await;

    // The bound certificate is the partner key: a partner method works with
    // no token, an analyst method is refused for the role, not the identity.
    let bound = tls_channel(&vigil, &pki, Some(&pki.bound_client)).await.unwrap();
    QueryClient::new(bound.clone()).check_content(check()).await.expect("the certificate stands for crawler-tls");
    let refused = StatisticsClient::new(bound.clone())
        .get_transparency_report(GetTransparencyReportRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("\"crawler-tls\""), "{refused:?}");
    // A token sent with it wins: the caller is the token's key.
    let analyst = vigil.tokens["analyst-a"].clone();
    StatisticsClient::new(bound)
        .get_transparency_report(bearer(GetTransparencyReportRequest::default(), &analyst))
        .await
        .expect("the analyst token is honoured over the certificate");

    // A certificate the CA signed but no key is bound to proves nothing.
    let stranger = tls_channel(&vigil, &pki, Some(&pki.unbound_client)).await.unwrap();
    let refused = QueryClient::new(stranger.clone()).check_content(check()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    assert!(refused.message().contains("client certificate"), "{refused:?}");
    QueryClient::new(stranger).check_content(bearer(check(), &analyst)).await.expect("a token still works");

    // Without a certificate: tips as ever, keyed methods need a token.
    let tip = SubmitTipRequest { text: "un signalement: https://example.org/appel".into(), ..Default::default() };
    IntakeClient::new(anonymous.clone()).submit_tip(tip).await.expect("the public submits tips over TLS");
    let refused = QueryClient::new(anonymous.clone()).check_content(check()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");

    // Plaintext gets no answer.
    let plaintext = Channel::from_shared(vigil.endpoint()).unwrap().connect_timeout(Duration::from_secs(2));
    let plain_answer = match plaintext.connect().await {
        Ok(channel) => {
            QueryClient::new(channel).check_content(check()).await.map(|_| ()).map_err(|status| status.code())
        }
        Err(_) => Err(tonic::Code::Unavailable),
    };
    assert!(plain_answer.is_err(), "a plaintext call must not be served over a TLS port");

    // grpcurl, as an operator would, trusting the CA.
    let port = vigil.address.port().to_string();
    let address = format!("127.0.0.1:{port}");
    let output = support::grpcurl()
        .args(["-cacert", pki.ca.to_str().unwrap(), "-servername", "localhost"])
        .args(["-cert", pki.bound_client.0.to_str().unwrap(), "-key", pki.bound_client.1.to_str().unwrap()])
        .args(["-d", r#"{"text": "voir https://example.org/appel"}"#, &address, "vigil.v1.Query/CheckContent"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    vigil.stop().await;
}

/// Health over TLS; returns a channel without a client certificate.
async fn wait_serving_tls(vigil: &Vigil, pki: &Pki) -> Channel {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(channel) = tls_channel(vigil, pki, None).await {
            let answer = HealthClient::new(channel.clone()).check(HealthCheckRequest { service: String::new() }).await;
            if answer.is_ok_and(|answer| answer.into_inner().status == ServingStatus::Serving as i32) {
                return channel;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("vigil never reported SERVING over TLS; logs: {:?}", vigil.logs.lock().unwrap());
}

#[tokio::test]
async fn a_missing_certificate_file_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--tls-cert", "/nonexistent/server.pem", "--tls-key", "/nonexistent/server.key"])
        .env_remove("VIGIL_CONFIG")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read tls_cert /nonexistent/server.pem"), "{stderr}");
}
