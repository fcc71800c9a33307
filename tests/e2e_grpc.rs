//! End to end through the generated Rust client, against the real binary.

mod support;

use support::Vigil;
use tonic::Code;
use vigil_proto::tonic;
use vigil_proto::v1::extraction_client::ExtractionClient;
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::query_client::QueryClient;
use vigil_proto::v1::*;

const TIP: &str = "Bonjour, je vous signale une chaîne qui diffuse de la propagande et appelle aux dons : hxxps://example[.]org/appel\n\
Elle est relayée sur Telegram par @Canal_Exemple depuis hier.\n\
Un soutien signe ses messages @Soutien_Exemple #Appel";

async fn lookup(
    query: &mut QueryClient<support::Authed>,
    kind: IndicatorKind,
    value: &str,
) -> Result<LookupIndicatorResponse, tonic::Status> {
    query
        .lookup_indicator(LookupIndicatorRequest { kind: kind as i32, value: value.into(), max_documents: 0 })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_tip_is_found_by_lookup_search_and_check_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;
    let mut intake = IntakeClient::new(channel.clone());
    let mut query = QueryClient::new(channel.clone());

    let receipt = intake
        .submit_tip(SubmitTipRequest {
            text: TIP.into(),
            language_hint: "fr".into(),
            urls: vec!["hxxp://miroir.example[.]net/page".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!receipt.tip_id.is_empty());
    assert_eq!(receipt.receipt_code.len(), 34, "28 characters in groups of four: {}", receipt.receipt_code);
    let status = intake
        .get_tip_status(GetTipStatusRequest { receipt_code: receipt.receipt_code.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, TipStatus::Received as i32);

    let check_found = |report: LookupIndicatorResponse| {
        assert_eq!(report.sighting_count, 1);
        assert_eq!(report.recent_documents[0].document_id, receipt.tip_id);
        assert_eq!(report.recent_documents[0].kind, DocumentKind::Tip as i32);
        assert_eq!(report.recent_documents[0].language, "fr");
    };
    // The defanged form finds what the plain form names, and the other way round.
    let url = lookup(&mut query, IndicatorKind::Url, "https://example.org/appel").await.unwrap();
    assert_eq!(url.value, "https://example.org/appel");
    check_found(url.clone());
    assert!(url.accounts.iter().any(|a| a.platform == "telegram" && a.handle == "canal_exemple"));
    check_found(lookup(&mut query, IndicatorKind::Url, "hxxps://example[.]org/appel").await.unwrap());
    check_found(lookup(&mut query, IndicatorKind::Domain, "example[.]org").await.unwrap());
    check_found(lookup(&mut query, IndicatorKind::Domain, "miroir.example.net").await.unwrap());
    check_found(lookup(&mut query, IndicatorKind::Account, "https://t.me/canal_exemple").await.unwrap());
    check_found(lookup(&mut query, IndicatorKind::Handle, "@soutien_exemple").await.unwrap());
    check_found(lookup(&mut query, IndicatorKind::Hashtag, "#appel").await.unwrap());
    let unknown = lookup(&mut query, IndicatorKind::Domain, "inconnu.example.com").await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let search = SearchRequest {
        query: "propagande chaine".into(),
        kinds: vec![DocumentKind::Tip as i32],
        languages: vec!["fr".into()],
        ..SearchRequest::default()
    };
    let hits = query.search(search.clone()).await.unwrap().into_inner().hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].document.as_ref().unwrap().document_id, receipt.tip_id);
    assert!(hits[0].snippet.contains("[propagande]"), "{}", hits[0].snippet);
    let posts_only = SearchRequest { kinds: vec![DocumentKind::Post as i32], ..search.clone() };
    assert!(query.search(posts_only).await.unwrap().into_inner().hits.is_empty());

    let check = CheckContentRequest {
        text: "Nouveau lien : https://example.org/appel, rejoignez Telegram @canal_exemple".into(),
        ..CheckContentRequest::default()
    };
    let matches = query.check_content(check.clone()).await.unwrap().into_inner();
    let values: Vec<&str> = matches.indicators.iter().map(|m| m.value.as_str()).collect();
    assert_eq!(values, vec!["https://example.org/appel", "example.org", "telegram:canal_exemple"]);
    assert!(matches.indicators.iter().all(|m| m.sighting_count == 1 && m.span.is_some()));
    assert_eq!(matches.accounts.len(), 1);
    assert_eq!(matches.accounts[0].reason, AccountMatchReason::Mentioned as i32);

    vigil.stop().await;
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;
    let mut query = QueryClient::new(channel.clone());
    check_found(lookup(&mut query, IndicatorKind::Url, "hxxps://example[.]org/appel").await.unwrap());
    assert_eq!(query.search(search).await.unwrap().into_inner().hits.len(), 1);
    assert_eq!(query.check_content(check).await.unwrap().into_inner().indicators.len(), 3);
    let status =
        IntakeClient::new(channel).get_tip_status(GetTipStatusRequest { receipt_code: receipt.receipt_code }).await;
    assert_eq!(status.unwrap().into_inner().status, TipStatus::Received as i32);
    vigil.stop().await;
}

fn post(id: &str, text: &str) -> Post {
    Post {
        platform: "telegram".into(),
        platform_post_id: id.into(),
        author: Some(AccountRef {
            platform: "telegram".into(),
            handle: "@Canal_Exemple".into(),
            platform_account_id: String::new(),
        }),
        url: format!("https://t.me/canal_exemple/{id}"),
        text: text.into(),
        posted_at: Some(prost_types::Timestamp { seconds: 1_767_225_600, nanos: 0 }),
        media_sha256: vec!["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()],
    }
}

use vigil_proto::prost_types;

#[tokio::test]
async fn ingesting_posts_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;
    let mut intake = IntakeClient::new(channel.clone());
    let batches = || {
        tokio_stream::iter(vec![
            IngestPostsRequest {
                posts: vec![post("1", "premier message #Appel"), post("2", "second message example[.]org")],
            },
            IngestPostsRequest {
                posts: vec![post("1", "premier message #Appel"), Post { platform: String::new(), ..post("3", "x") }],
            },
        ])
    };
    let first = intake.ingest_posts(batches()).await.unwrap().into_inner();
    assert_eq!((first.accepted, first.duplicates), (2, 1));
    assert_eq!(first.rejected.len(), 1);
    assert_eq!((first.rejected[0].index, first.rejected[0].field.as_str()), (3, "platform"));
    let again = intake.ingest_posts(batches()).await.unwrap().into_inner();
    assert_eq!((again.accepted, again.duplicates), (0, 3));

    let mut query = QueryClient::new(channel);
    let media =
        lookup(&mut query, IndicatorKind::Sha256, "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08")
            .await
            .unwrap();
    assert_eq!(media.sighting_count, 2);
    assert_eq!(media.accounts[0].document_count, 2);
    let author = CheckContentRequest {
        author: Some(AccountRef {
            platform: "telegram".into(),
            handle: "canal_exemple".into(),
            ..AccountRef::default()
        }),
        ..CheckContentRequest::default()
    };
    let matches = query.check_content(author).await.unwrap().into_inner();
    assert_eq!(matches.accounts[0].reason, AccountMatchReason::Author as i32);
    assert_eq!(matches.indicators[0].value, "telegram:canal_exemple");
    vigil.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_and_limit_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--max-text-bytes", "1000", "--max-posts-per-message", "2", "--max-message-bytes", "65536"];
    let vigil = Vigil::start(dir.path(), &flags);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;
    let mut intake = IntakeClient::new(channel.clone());
    let mut query = QueryClient::new(channel.clone());
    let mut extraction = ExtractionClient::new(channel);

    let tip = |text: String| SubmitTipRequest { text, ..SubmitTipRequest::default() };
    refused(intake.submit_tip(tip(String::new())).await, Code::InvalidArgument, "text is empty");
    refused(
        intake.submit_tip(tip(format!("#marqueur {}", "x".repeat(1000)))).await,
        Code::InvalidArgument,
        "text is 1010 bytes, over the 1000-byte limit",
    );
    refused(
        intake.submit_tip(tip(format!("#marqueur {}", "x".repeat(100_000)))).await,
        Code::ResourceExhausted,
        "65536-byte limit",
    );
    refused(
        extraction.extract(ExtractRequest { text: "x".repeat(1001) }).await,
        Code::InvalidArgument,
        "1000-byte limit",
    );
    let too_many = tokio_stream::iter(vec![
        IngestPostsRequest { posts: vec![post("1", "#marqueur")] },
        IngestPostsRequest { posts: vec![post("2", "#marqueur"), post("3", "#marqueur"), post("4", "#marqueur")] },
    ]);
    refused(
        intake.ingest_posts(too_many).await,
        Code::InvalidArgument,
        "posts has 3 posts in one message, over the limit of 2",
    );
    let unknown_kind = LookupIndicatorRequest { kind: 99, value: "x".into(), max_documents: 0 };
    refused(query.lookup_indicator(unknown_kind).await, Code::InvalidArgument, "kind 99");
    let bad_token = SearchRequest { page_token: "garbage!".into(), ..SearchRequest::default() };
    refused(query.search(bad_token).await, Code::InvalidArgument, "page_token is malformed");
    let unknown_receipt = GetTipStatusRequest { receipt_code: "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA".into() };
    refused(intake.get_tip_status(unknown_receipt).await, Code::NotFound, "receipt_code");

    // Nothing of any refused request was stored, and the server still answers.
    let everything = query.search(SearchRequest::default()).await.unwrap().into_inner();
    assert!(everything.hits.is_empty(), "{:?}", everything.hits);
    let marker = lookup(&mut query, IndicatorKind::Hashtag, "marqueur").await.unwrap_err();
    assert_eq!(marker.code(), Code::NotFound);
    vigil.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_stream_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let mut intake = IntakeClient::new(vigil.channel().await);
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    sender.send(IngestPostsRequest { posts: vec![post("1", "avant l'arrêt")] }).await.unwrap();
    let call =
        tokio::spawn(async move { intake.ingest_posts(tokio_stream::wrappers::ReceiverStream::new(receiver)).await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    vigil.terminate();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    sender.send(IngestPostsRequest { posts: vec![post("2", "pendant l'arrêt")] }).await.unwrap();
    drop(sender);
    let report = call.await.unwrap().expect("the stream in flight completes").into_inner();
    assert_eq!(report.accepted, 2);
    assert!(vigil.exit_status().await.success());

    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let mut query = QueryClient::new(vigil.channel().await);
    let author = lookup(&mut query, IndicatorKind::Account, "telegram:canal_exemple").await.unwrap();
    assert_eq!(author.sighting_count, 2);
    vigil.stop().await;
}

#[tokio::test]
async fn categories_come_from_built_in_and_operator_lexicons() {
    let dir = tempfile::tempdir().unwrap();
    let lexicons = dir.path().join("lexicons");
    std::fs::create_dir(&lexicons).unwrap();
    std::fs::write(lexicons.join("local.txt"), "[recruitment]\nexample recruiting phrase\n").unwrap();
    let data = dir.path().join("data");
    let vigil = Vigil::start(&data, &["--lexicon-dir", lexicons.to_str().unwrap()]);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;

    let text = "Nouveau numéro de Dabiq. Example recruiting phrase. Ils écrivent : nous allons égorger.";
    let extraction = ExtractionClient::new(channel.clone())
        .extract(ExtractRequest { text: text.into() })
        .await
        .unwrap()
        .into_inner();
    let found: Vec<(i32, Vec<String>)> = extraction
        .categories
        .iter()
        .map(|m| (m.category, m.evidence.iter().map(|e| e.term.clone()).collect()))
        .collect();
    assert_eq!(
        found,
        vec![
            (Category::Propaganda as i32, vec!["Dabiq".to_string()]),
            (Category::Recruitment as i32, vec!["example recruiting phrase".to_string()]),
            (Category::Threat as i32, vec!["nous allons égorger".to_string()]),
        ]
    );
    let evidence = extraction.categories[2].evidence[0].span.unwrap();
    assert_eq!(&text[evidence.start as usize..evidence.end as usize], "nous allons égorger");

    let receipt = IntakeClient::new(channel.clone())
        .submit_tip(SubmitTipRequest { text: text.into(), ..SubmitTipRequest::default() })
        .await
        .unwrap()
        .into_inner();
    let mut query = QueryClient::new(channel);
    let threats = SearchRequest { categories: vec![Category::Threat as i32], ..SearchRequest::default() };
    let hits = query.search(threats).await.unwrap().into_inner().hits;
    assert_eq!(hits.len(), 1);
    let document = hits[0].document.as_ref().unwrap();
    assert_eq!(document.document_id, receipt.tip_id);
    assert!(document.categories.contains(&(Category::Threat as i32)));
    let financing = SearchRequest { categories: vec![Category::Financing as i32], ..SearchRequest::default() };
    assert!(query.search(financing).await.unwrap().into_inner().hits.is_empty());
    vigil.stop().await;

    std::fs::write(lexicons.join("broken.txt"), "[hate]\nterm\n").unwrap();
    let mut broken = Vigil::start(&data, &["--lexicon-dir", lexicons.to_str().unwrap()]);
    assert!(!broken.exit_status().await.success());
    broken.wait_for_log("unknown category").await;
}

#[tokio::test]
async fn a_data_directory_that_cannot_be_used_stops_the_server_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_directory = dir.path().join("file");
    std::fs::write(&not_a_directory, "not a directory").unwrap();
    let mut vigil = Vigil::start(&not_a_directory, &[]);
    let exit = vigil.exit_status().await;
    assert!(!exit.success());
    vigil.wait_for_log("cannot create data directory").await;
}

fn refused<T>(result: Result<T, tonic::Status>, code: Code, message: &str) {
    let Err(status) = result else { panic!("expected {code:?} containing {message:?}, got a success") };
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(message), "{:?} should contain {message:?}", status.message());
}

#[tokio::test]
async fn over_limit_fields_and_streams_open_too_long_are_refused_whole() {
    use std::time::{Duration, Instant};
    use vigil_proto::v1::admin_client::AdminClient;
    use vigil_proto::v1::tracking_client::TrackingClient;

    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &["--max-stream-seconds", "1"]);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;
    let mut intake = IntakeClient::new(channel.clone());
    let mut query = QueryClient::new(channel.clone());
    let mut tracking = TrackingClient::new(channel);
    let mut admin = AdminClient::new(vigil.channel_as("admin-a").await);

    let many_kinds = SearchRequest { kinds: vec![DocumentKind::Tip as i32; 33], ..SearchRequest::default() };
    refused(query.search(many_kinds).await, Code::InvalidArgument, "kinds has 33 entries, over the limit of 32");
    let many_statuses =
        ListAccountsRequest { statuses: vec![AccountStatus::Active as i32; 33], ..ListAccountsRequest::default() };
    refused(
        tracking.list_accounts(many_statuses).await,
        Code::InvalidArgument,
        "statuses has 33 entries, over the limit of 32",
    );
    let long_claim = CreateActorRequest {
        name: "Réseau exemple".into(),
        changed_by: "x".repeat(5_000),
        ..CreateActorRequest::default()
    };
    refused(
        tracking.create_actor(long_claim).await,
        Code::InvalidArgument,
        "changed_by is 5000 bytes, over the 64-byte limit",
    );
    let long_url = format!("https://example.org/{}", "x".repeat(9_000));
    let site = RecordSiteRequest {
        site: Some(SiteSelector { selector: Some(site_selector::Selector::Url(long_url)) }),
        ..RecordSiteRequest::default()
    };
    refused(
        tracking.record_site(site).await,
        Code::InvalidArgument,
        "site.url is 9020 bytes, over the 8192-byte limit",
    );
    let revoke = RevokeKeyRequest { name: "n".repeat(5_000) };
    refused(admin.revoke_key(revoke).await, Code::InvalidArgument, "name must be 1 to 64 lowercase letters");

    // A stream that ends in time is stored; one left open past the limit is
    // refused whole, though its posts were valid.
    let in_time = tokio_stream::iter(vec![IngestPostsRequest { posts: vec![post("1", "à temps #dans_les_temps")] }]);
    assert_eq!(intake.ingest_posts(in_time).await.unwrap().into_inner().accepted, 1);
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    sender.send(IngestPostsRequest { posts: vec![post("2", "trop long #marqueur")] }).await.unwrap();
    let started = Instant::now();
    let open_too_long = tokio::time::timeout(
        Duration::from_secs(10),
        intake.ingest_posts(tokio_stream::wrappers::ReceiverStream::new(receiver)),
    )
    .await
    .expect("the server ends the stream itself");
    refused(
        open_too_long,
        Code::ResourceExhausted,
        "stream stayed open over the 1-second limit (max_stream_seconds); nothing was stored",
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    drop(sender);

    // Nothing of any refused request was stored.
    let marker = lookup(&mut query, IndicatorKind::Hashtag, "marqueur").await.unwrap_err();
    assert_eq!(marker.code(), Code::NotFound);
    lookup(&mut query, IndicatorKind::Hashtag, "dans_les_temps").await.unwrap();
    let everything = query.search(SearchRequest::default()).await.unwrap().into_inner();
    assert_eq!(everything.hits.len(), 1, "{:?}", everything.hits);
    assert!(tracking.list_actors(ListActorsRequest::default()).await.unwrap().into_inner().actors.is_empty());
    assert!(tracking.list_sites(ListSitesRequest::default()).await.unwrap().into_inner().sites.is_empty());
    let keys = admin.list_keys(ListKeysRequest {}).await.unwrap().into_inner().keys;
    assert!(keys.iter().all(|key| key.revoked_at.is_none()), "{keys:?}");
    vigil.stop().await;
}

/// Sends its bytes as they are, as a broken or hostile client would.
#[derive(Debug, Default)]
struct RawBytes;

#[derive(Debug, Default)]
struct RawEncoder;

#[derive(Debug, Default)]
struct Discard;

impl tonic::codec::Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = Discard;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Discard {
        Discard
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, buffer: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use vigil_proto::prost::bytes::BufMut;
        buffer.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Discard {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, buffer: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        use vigil_proto::prost::bytes::Buf;
        buffer.advance(buffer.remaining());
        Ok(Some(()))
    }
}

/// A request that is not protobuf at all is the client's mistake:
/// INVALID_ARGUMENT, on a public, a partner and a streaming method alike,
/// never INTERNAL.
#[tokio::test]
async fn a_message_that_is_not_protobuf_is_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    // Field 1, length-delimited, 255 bytes long, with none following.
    let garbage = vec![0x0a, 0xff, 0x01];
    for (method, channel) in [
        ("/vigil.v1.Intake/SubmitTip", vigil.channel().await),
        ("/vigil.v1.Extraction/Extract", vigil.channel_as("crawler-example").await),
    ] {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let answer =
            grpc.unary(tonic::Request::new(garbage.clone()), method.parse().unwrap(), RawBytes).await.map(|_| ());
        refused(answer, Code::InvalidArgument, "request message is not valid protobuf");
    }
    let mut grpc = tonic::client::Grpc::new(vigil.channel_as("crawler-example").await);
    grpc.ready().await.unwrap();
    let stream = tokio_stream::iter(vec![garbage]);
    let answer = grpc
        .client_streaming(tonic::Request::new(stream), "/vigil.v1.Intake/IngestPosts".parse().unwrap(), RawBytes)
        .await
        .map(|_| ());
    refused(answer, Code::InvalidArgument, "request message is not valid protobuf");
    vigil.stop().await;
}
