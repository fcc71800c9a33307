//! Nothing that identifies a tipster is kept: a tip is submitted with
//! recognisable markers in every place a client can put them (headers a
//! browser, a proxy or a tool would send), then the data directory's files
//! and the server's whole log are searched for them. The tip's text is
//! evidence and is stored, but never logged; nor are receipt codes or keys.

mod support;

use vigil_proto::tonic::{self, Request};
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::{AddTipFollowUpRequest, GetTipStatusRequest, SubmitTipRequest};

use support::Vigil;

const TEXT_MARKER: &str = "QZXTEXTMARKERQZX";
const FOLLOW_UP_MARKER: &str = "QZXFOLLOWUPMARKERQZX";
const USER_AGENT: &str = "QZXAGENTQZX/1.0";
const FORWARDED_FOR: &str = "198.51.100.77";
const COOKIE: &str = "session=QZXCOOKIEQZX";

fn with_markers<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("user-agent", USER_AGENT.parse().unwrap());
    metadata.insert("x-forwarded-for", FORWARDED_FOR.parse().unwrap());
    metadata.insert("x-real-ip", FORWARDED_FOR.parse().unwrap());
    metadata.insert("cookie", COOKIE.parse().unwrap());
    request
}

/// Every file under `dir`, read whole (the database, its WAL, anything else).
fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn a_tip_leaves_no_trace_of_who_sent_it() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let mut intake = IntakeClient::new(vigil.public_channel().await);
    let tip = SubmitTipRequest {
        text: format!("Cette chaîne {TEXT_MARKER} diffuse hxxps://example[.]org/appel"),
        language_hint: "fr".into(),
        urls: vec!["https://example.org/appel".into()],
    };
    let receipt = intake.submit_tip(with_markers(tip)).await.unwrap().into_inner();
    let status = intake
        .get_tip_status(with_markers(GetTipStatusRequest { receipt_code: receipt.receipt_code.clone() }))
        .await
        .unwrap();
    assert_eq!(status.into_inner().follow_up_count, 0);
    let follow_up = AddTipFollowUpRequest {
        receipt_code: receipt.receipt_code.clone(),
        text: format!("Et aussi {FOLLOW_UP_MARKER}"),
        ..Default::default()
    };
    assert_eq!(intake.add_tip_follow_up(with_markers(follow_up)).await.unwrap().into_inner().follow_up_count, 1);
    // A wrong code is refused the same way, whatever the caller sends.
    let wrong = intake
        .get_tip_status(with_markers(GetTipStatusRequest { receipt_code: "0000-0000-0000-0000-0000-0000".into() }))
        .await;
    assert_eq!(wrong.unwrap_err().code(), tonic::Code::NotFound);
    let tokens: Vec<String> = vigil.tokens.values().cloned().collect();
    let logs = vigil.stop_keeping_logs().await;
    assert!(logs.len() > 3, "the log was captured: {logs:?}");
    for line in &logs {
        for marker in [TEXT_MARKER, FOLLOW_UP_MARKER, USER_AGENT, FORWARDED_FOR, "QZXCOOKIEQZX", &receipt.receipt_code]
        {
            assert!(!line.contains(marker), "the log holds {marker:?}: {line}");
        }
        assert!(!tokens.iter().any(|token| line.contains(token.as_str())), "the log holds an API key: {line}");
    }

    // Neither the code nor either of its parts is kept, in any spelling.
    let receipt_bare = receipt.receipt_code.replace('-', "");
    let (locator, secret) = receipt_bare.split_at(12);
    let mut texts_found = (false, false);
    for (path, bytes) in files_under(dir.path()) {
        for marker in [
            USER_AGENT,
            FORWARDED_FOR,
            "QZXCOOKIEQZX",
            "127.0.0.1",
            &receipt.receipt_code,
            &receipt_bare,
            locator,
            secret,
        ] {
            assert!(!contains(&bytes, marker), "{path} holds {marker:?}");
        }
        texts_found.0 |= contains(&bytes, TEXT_MARKER);
        texts_found.1 |= contains(&bytes, FOLLOW_UP_MARKER);
    }
    assert_eq!(texts_found, (true, true), "texts are evidence and are stored: the scan must see them to be trusted");

    // A tip's time, and a follow-up's, is the hour it came in, no finer.
    let database = rusqlite::Connection::open(dir.path().join("vigil.sqlite3")).unwrap();
    let mut times = database.prepare("SELECT observed_at FROM document WHERE kind = 'tip'").unwrap();
    let times: Vec<i64> = times.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(times.len(), 2);
    assert!(times.iter().all(|at| at % 3600 == 0), "{times:?}");
}

/// A follow-up needs the tip's whole receipt code: the locator alone, with
/// another secret, finds nothing, and nothing is stored.
#[tokio::test]
async fn only_the_receipt_holder_adds_to_a_tip() {
    use vigil_proto::v1::query_client::QueryClient;
    use vigil_proto::v1::{IndicatorKind, LookupIndicatorRequest};
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let mut intake = IntakeClient::new(vigil.public_channel().await);
    let tip = SubmitTipRequest { text: "Une chaîne relaie https://example.org/premier".into(), ..Default::default() };
    let receipt = intake.submit_tip(tip).await.unwrap().into_inner();
    assert_eq!(receipt.receipt_code.len(), 34, "28 characters in groups of four: {}", receipt.receipt_code);

    let follow_up = |receipt_code: &str, text: &str| AddTipFollowUpRequest {
        receipt_code: receipt_code.into(),
        text: text.into(),
        ..Default::default()
    };
    // The last secret character changed: the locator still finds the tip.
    let mut forged = receipt.receipt_code.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'Z' { b'Y' } else { b'Z' };
    let forged = String::from_utf8(forged).unwrap();
    for (code, text) in [
        (forged.as_str(), "https://example.org/faux"),
        ("pas un code", "https://example.org/faux"),
        ("0000-0000-0000-0000-0000-0000-0000", "https://example.org/faux"),
    ] {
        let refused = intake.add_tip_follow_up(follow_up(code, text)).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::NotFound, "{code}: {refused:?}");
        assert!(refused.message().contains("receipt_code"), "{refused:?}");
    }
    let empty = intake.add_tip_follow_up(follow_up(&receipt.receipt_code, "")).await.unwrap_err();
    assert_eq!(empty.code(), tonic::Code::InvalidArgument, "{empty:?}");
    assert!(empty.message().contains("text"), "{empty:?}");

    // Read back leniently, as the tipster may type it.
    let typed = receipt.receipt_code.to_lowercase().replace('-', " ");
    let added = intake.add_tip_follow_up(follow_up(&typed, "Puis https://example.org/suite")).await.unwrap();
    assert_eq!(added.into_inner().follow_up_count, 1);
    let status = intake.get_tip_status(GetTipStatusRequest { receipt_code: receipt.receipt_code.clone() }).await;
    assert_eq!(status.unwrap().into_inner().follow_up_count, 1);
    let forged_status = intake.get_tip_status(GetTipStatusRequest { receipt_code: forged }).await.unwrap_err();
    assert_eq!(forged_status.code(), tonic::Code::NotFound);

    // Analysts see the follow-up as a tip naming the tip it adds to, and
    // nothing of the refused ones.
    let mut query = QueryClient::new(vigil.channel().await);
    let lookup =
        |value: &str| LookupIndicatorRequest { kind: IndicatorKind::Url as i32, value: value.into(), max_documents: 0 };
    let found = query.lookup_indicator(lookup("https://example.org/suite")).await.unwrap().into_inner();
    let [document] = &found.recent_documents[..] else { panic!("{found:?}") };
    assert_eq!(document.follow_up_of, receipt.tip_id);
    let refused = query.lookup_indicator(lookup("https://example.org/faux")).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    let original = query.lookup_indicator(lookup("https://example.org/premier")).await.unwrap().into_inner();
    assert_eq!(original.recent_documents[0].follow_up_of, "", "a tip names no tip");
    vigil.stop().await;
}

/// A flood of public requests from one address is cut off at its burst;
/// keyed callers and health checks go on unaffected.
#[tokio::test]
async fn a_public_flood_is_cut_off_while_analysts_keep_working() {
    use vigil_proto::v1::query_client::QueryClient;
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &["--public-burst", "3"]);
    vigil.wait_serving().await;
    let mut intake = IntakeClient::new(vigil.public_channel().await);
    let mut query = QueryClient::new(vigil.channel().await);
    let mut codes = Vec::new();
    for n in 0..8 {
        let tip = SubmitTipRequest { text: format!("message {n} https://example.org/f"), ..Default::default() };
        codes.push(intake.submit_tip(tip).await.map(|_| ()));
        let check = vigil_proto::v1::CheckContentRequest { text: "https://example.org/f".into(), ..Default::default() };
        query.check_content(check).await.expect("an analyst is not limited by the public flood");
    }
    let admitted = codes.iter().filter(|code| code.is_ok()).count();
    // Refilled at one every 2 s: a slow run may earn one more.
    assert!((3..=4).contains(&admitted), "{codes:?}");
    let refused = codes.last().unwrap().as_ref().unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("limit of 3 at once"), "{refused:?}");
    vigil.stop().await;
}

/// With a seal key configured, a tip's words are in no file of the data
/// directory, not even the full-text index, while its indicators are found;
/// the holder of the secret key opens the text away from the server.
#[tokio::test]
async fn a_sealed_tip_is_read_only_with_the_secret_key() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    use vigil_proto::v1::query_client::QueryClient;
    use vigil_proto::v1::{GetSealedTextRequest, IndicatorKind, LookupIndicatorRequest, SearchRequest};

    let keys = tempfile::tempdir().unwrap();
    let secret_key_file = keys.path().join("seal.key");
    let vigil_command = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
        command.args(args).arg("--secret-key-file").arg(&secret_key_file).env_remove("VIGIL_CONFIG");
        command
    };
    let made = vigil_command(&["seal", "new-key"]).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let public_key = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(public_key.starts_with("vigil-seal-public:"), "{public_key}");
    assert!(!vigil_command(&["seal", "new-key"]).status().unwrap().success(), "an existing key is never overwritten");

    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &["--tip-seal-key", &public_key]);
    vigil.wait_serving().await;
    let mut intake = IntakeClient::new(vigil.public_channel().await);
    let text = format!("Le canal {TEXT_MARKER} relaie https://example.org/scelle et @Relais_Exemple");
    let tip = SubmitTipRequest { text: text.clone(), ..Default::default() };
    let receipt = intake.submit_tip(tip).await.unwrap().into_inner();
    let follow_up = AddTipFollowUpRequest {
        receipt_code: receipt.receipt_code.clone(),
        text: format!("Aussi {FOLLOW_UP_MARKER}"),
        ..Default::default()
    };
    intake.add_tip_follow_up(follow_up).await.unwrap();

    // Indicators are found; the words are not.
    let mut query = QueryClient::new(vigil.channel().await);
    let lookup = LookupIndicatorRequest {
        kind: IndicatorKind::Url as i32,
        value: "https://example.org/scelle".into(),
        max_documents: 0,
    };
    let found = query.lookup_indicator(lookup).await.unwrap().into_inner();
    let [document] = &found.recent_documents[..] else { panic!("{found:?}") };
    assert!(document.sealed);
    assert_eq!(document.document_id, receipt.tip_id);
    let search = |words: &str| SearchRequest { query: words.into(), ..Default::default() };
    assert!(query.search(search(TEXT_MARKER)).await.unwrap().into_inner().hits.is_empty());
    assert!(query.search(search("canal relaie")).await.unwrap().into_inner().hits.is_empty());

    // The evidence hash is of the text as the tipster wrote it.
    use sha2::Digest as _;
    let sha256: String = sha2::Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(document.text_sha256, sha256);

    let sealed = query
        .get_sealed_text(GetSealedTextRequest { document_id: receipt.tip_id.clone() })
        .await
        .unwrap()
        .into_inner()
        .sealed_text;
    let bad_id = query.get_sealed_text(GetSealedTextRequest { document_id: "abc".into() }).await.unwrap_err();
    assert_eq!(bad_id.code(), tonic::Code::InvalidArgument, "{bad_id:?}");
    assert!(bad_id.message().contains("document_id"), "{bad_id:?}");
    vigil.stop().await;

    for (path, bytes) in files_under(dir.path()) {
        for marker in [TEXT_MARKER, FOLLOW_UP_MARKER, "relaie", "Le canal"] {
            assert!(!contains(&bytes, marker), "{path} holds {marker:?} of a sealed tip");
        }
    }

    use base64::Engine as _;
    let mut open = vigil_command(&["seal", "open"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&sealed);
    open.stdin.take().unwrap().write_all(format!("\"{encoded}\"\n").as_bytes()).unwrap();
    let opened = open.wait_with_output().unwrap();
    assert!(opened.status.success(), "{}", String::from_utf8_lossy(&opened.stderr));
    assert_eq!(String::from_utf8(opened.stdout).unwrap(), text);
}
