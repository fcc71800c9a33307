//! End to end through grpcurl and server reflection, with no proto files:
//! what an analyst or a platform engineer would type.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{Vigil, grpcurl};

/// Calls as `analyst-a`; public methods ignore the key.
fn call(vigil: &Vigil, method: &str, body: &str) -> Value {
    call_as(vigil, "analyst-a", method, body)
}

fn call_as(vigil: &Vigil, key: &str, method: &str, body: &str) -> Value {
    let output = grpcurl()
        .arg("-plaintext")
        .args(vigil.grpcurl_key(key))
        .args(["-d", body, &vigil.address.to_string(), method])
        .output()
        .unwrap();
    assert!(output.status.success(), "grpcurl {method} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{method} answered non-JSON ({e}): {:?}", output.stdout))
}

fn plain(vigil: &Vigil, args: &[&str]) -> String {
    let address = vigil.address.to_string();
    let output =
        grpcurl().arg("-plaintext").args(vigil.grpcurl_key("analyst-a")).arg(&address).args(args).output().unwrap();
    assert!(output.status.success(), "grpcurl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn grpcurl_through_reflection() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;

    let services = plain(&vigil, &["list"]);
    for service in [
        "vigil.v1.Intake",
        "vigil.v1.Extraction",
        "vigil.v1.Query",
        "vigil.v1.Tracking",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(services.lines().any(|line| line == service), "{service} missing from {services}");
    }
    let described = plain(&vigil, &["describe", "vigil.v1.Intake"]);
    assert!(
        described.contains("rpc SubmitTip") && described.contains("stream .vigil.v1.IngestPostsRequest"),
        "{described}"
    );

    let health = call(&vigil, "grpc.health.v1.Health/Check", "{}");
    assert_eq!(health["status"], "SERVING");

    let tip = r#"{"text": "Cette chaîne diffuse de la propagande : hxxps://example[.]org/appel, relayée sur Telegram par @Canal_Exemple"}"#;
    let receipt = call(&vigil, "vigil.v1.Intake/SubmitTip", tip);
    let tip_id = receipt["tipId"].as_str().unwrap().to_owned();

    let url = call(
        &vigil,
        "vigil.v1.Query/LookupIndicator",
        r#"{"kind": "INDICATOR_KIND_URL", "value": "hxxps://example[.]org/appel"}"#,
    );
    assert_eq!(url["value"], "https://example.org/appel");
    assert_eq!(url["sightingCount"], "1");
    assert_eq!(url["recentDocuments"][0]["documentId"], tip_id.as_str());
    let account = call(
        &vigil,
        "vigil.v1.Query/LookupIndicator",
        r#"{"kind": "INDICATOR_KIND_ACCOUNT", "value": "telegram:canal_exemple"}"#,
    );
    assert_eq!(account["recentDocuments"][0]["documentId"], tip_id.as_str());

    let search = call(&vigil, "vigil.v1.Query/Search", r#"{"query": "propagande", "languages": ["fr"]}"#);
    assert_eq!(search["hits"][0]["document"]["documentId"], tip_id.as_str());

    let check = call(&vigil, "vigil.v1.Query/CheckContent", r#"{"text": "voir https://example.org/appel"}"#);
    assert_eq!(check["indicators"][0]["value"], "https://example.org/appel");

    let status = call(
        &vigil,
        "vigil.v1.Intake/GetTipStatus",
        &format!(r#"{{"receiptCode": "{}"}}"#, receipt["receiptCode"].as_str().unwrap()),
    );
    assert_eq!(status["status"], "TIP_STATUS_RECEIVED");
    vigil.stop().await;

    // The same data after a restart on the same directory.
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let url = call(
        &vigil,
        "vigil.v1.Query/LookupIndicator",
        r#"{"kind": "INDICATOR_KIND_URL", "value": "https://example.org/appel"}"#,
    );
    assert_eq!(url["recentDocuments"][0]["documentId"], tip_id.as_str());
    let search = call(&vigil, "vigil.v1.Query/Search", r#"{"query": "propagande"}"#);
    assert_eq!(search["hits"][0]["document"]["documentId"], tip_id.as_str());
    vigil.stop().await;
}

/// What an analyst does by hand: record an account, mark it suspended, and
/// watch the alert stream while the account comes back under a new name.
#[tokio::test]
async fn tracking_status_update_and_alert_stream_through_grpcurl() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let avatar = "5f1d7b2a9c3e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
    let snapshot = |handle: &str| {
        format!(
            r#"{{"account": {{"platform": "telegram", "handle": "{handle}"}}, "displayName": "Abu Exemple",
                "bio": "https://example.org/relais", "avatarSha256": "{avatar}"}}"#
        )
    };
    // A crawler records the account with its own partner key.
    call_as(&vigil, "crawler-example", "vigil.v1.Tracking/RecordProfileSnapshot", &snapshot("abu_exemple"));
    let updated = call(
        &vigil,
        "vigil.v1.Tracking/UpdateAccountStatus",
        r#"{"account": {"ref": {"platform": "telegram", "handle": "abu_exemple"}},
            "status": "ACCOUNT_STATUS_SUSPENDED", "changedBy": "analyst-a", "note": "observed gone"}"#,
    );
    assert_eq!(updated["account"]["status"], "ACCOUNT_STATUS_SUSPENDED");
    assert_eq!(updated["event"]["kind"], "KIND_STATUS_CHANGED");

    // Token "0": every alert from the first, so the watch cannot start too late.
    let mut watch = grpcurl()
        .arg("-plaintext")
        .args(vigil.grpcurl_key("analyst-a"))
        .args(["-d", r#"{"resumeToken": "0"}"#, &vigil.address.to_string()])
        .arg("vigil.v1.Tracking/WatchAlerts")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    call_as(&vigil, "crawler-example", "vigil.v1.Tracking/RecordProfileSnapshot", &snapshot("abu_exemple_2"));

    // grpcurl prints each message as one JSON object over several lines.
    let stdout = watch.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut object = String::new();
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            object.push_str(&line);
            if line == "}" {
                let _ = sender.send(std::mem::take(&mut object));
            }
        }
    });
    let alert = receiver.recv_timeout(std::time::Duration::from_secs(15));
    let _ = watch.kill();
    let _ = watch.wait();
    let alert: Value = serde_json::from_str(&alert.expect("grpcurl printed an alert within 15 s")).unwrap();
    assert_eq!(alert["successor"]["predecessor"]["handle"], "abu_exemple");
    assert_eq!(alert["successor"]["account"]["handle"], "abu_exemple_2");
    assert_eq!(alert["successor"]["state"], "SUCCESSOR_STATE_PENDING");
    assert!(!alert["resumeToken"].as_str().unwrap().is_empty());
    vigil.stop().await;
}

/// Every grpcurl command in README.md runs as written against a fresh server
/// (only the address is swapped for the test server's).
#[tokio::test]
async fn readme_grpcurl_examples_work_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let commands = readme_commands(&readme);
    assert!(commands.len() >= 3, "README.md should show grpcurl examples, found {commands:?}");
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    grpcurl(); // fails with install instructions if grpcurl is missing
    for command in commands {
        let command = command.replace("localhost:50051", &vigil.address.to_string());
        let output =
            Command::new("bash").args(["-c", &command]).env("VIGIL_KEY", &vigil.tokens["analyst-a"]).output().unwrap();
        assert!(
            output.status.success(),
            "README example failed:\n{command}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    vigil.stop().await;
}

/// Commands starting with `grpcurl` in README's fenced shell blocks, with
/// backslash-continued lines joined. `console` blocks need a set-up this
/// server lacks (TLS files, a seal key); `tests/e2e_tls.rs` and the sealed
/// tip test in `tests/e2e_tipster.rs` make the same calls.
fn readme_commands(readme: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_block = false;
    let mut current = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = !in_block && (line.contains("sh") || line.contains("bash"));
            continue;
        }
        if !in_block {
            continue;
        }
        if current.is_empty() && !line.trim_start().starts_with("grpcurl") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(continued) => {
                current.push_str(continued);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}
