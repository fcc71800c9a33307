//! The services together on a real SQLite store in a temporary directory.

use std::sync::Arc;
use std::time::Duration;

use vigil_store::{Role, SqliteOptions, SqliteStore};

use super::*;

fn caller(name: &str, role: Role, platform: Option<&str>) -> Caller {
    Caller { name: name.into(), role, platform: platform.map(str::to_owned) }
}

struct Services {
    _dir: tempfile::TempDir,
    intake: Intake,
    query: Query,
    tracking: Tracking,
}

async fn services() -> Services {
    services_with_stream_limit(Duration::from_secs(60)).await
}

async fn services_with_stream_limit(max_stream_duration: Duration) -> Services {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&SqliteOptions::in_directory(dir.path())).unwrap());
    let limits =
        Limits { max_text_bytes: 1000, max_posts_per_message: 3, max_posts_per_stream: 5, ..Limits::default() };
    let tracking = Tracking::open(Arc::clone(&store), TrackingSettings::default()).await.unwrap();
    Services {
        intake: Intake::new(
            Arc::clone(&store),
            IntakeSettings {
                limits: limits.clone(),
                lexicon: Arc::new(Lexicon::builtin().clone()),
                tip_status_floor: Duration::from_millis(20),
                seal_to: None,
                max_stream_duration,
            },
            tracking.clone(),
        ),
        query: Query::new(store, limits),
        tracking,
        _dir: dir,
    }
}

const TIP: &str = "Bonjour, cette chaîne diffuse de la propagande : hxxps://example[.]org/appel et sur Telegram @Canal_Exemple #Appel";

fn post(id: &str, text: &str) -> PostSubmission {
    PostSubmission {
        platform: "Telegram".into(),
        platform_post_id: id.into(),
        author: Some(AccountRef {
            platform: "telegram".into(),
            handle: "@Canal_Exemple".into(),
            ..AccountRef::default()
        }),
        text: text.into(),
        posted_at: Some(1_700_000_000),
        ..PostSubmission::default()
    }
}

#[tokio::test]
async fn a_tip_is_found_by_lookup_search_and_content_check() {
    let s = services().await;
    let receipt = s.intake.submit_tip(TipSubmission { text: TIP.into(), ..TipSubmission::default() }).await.unwrap();
    assert_eq!(s.intake.tip_status(&receipt.receipt_code).await.unwrap().status, TipStatus::Received);

    let report = s.query.lookup_indicator(IndicatorKind::Url, "https://example.org/appel", 0).await.unwrap();
    assert_eq!(report.indicator.sighting_count, 1);
    assert_eq!(report.recent_documents[0].id.to_string(), receipt.tip_id);
    assert_eq!(report.recent_documents[0].language.as_deref(), Some("fr"));
    assert_eq!(report.accounts[0].handle.as_deref(), Some("canal_exemple"));
    let account = s.query.lookup_indicator(IndicatorKind::Account, "https://t.me/canal_exemple", 0).await.unwrap();
    assert_eq!(account.indicator.value, "telegram:canal_exemple");

    let page =
        s.query.search(SearchRequest { query: "propagande chaine".into(), ..SearchRequest::default() }).await.unwrap();
    assert_eq!(page.hits.len(), 1, "accents do not matter");

    let check = ContentCheck {
        text: "nouveau lien example[.]org et hxxps://example[.]org/appel".into(),
        ..ContentCheck::default()
    };
    let matches = s.query.check_content(check).await.unwrap();
    let values: Vec<&str> = matches.indicators.iter().map(|m| m.value.as_str()).collect();
    assert_eq!(values, vec!["example.org", "https://example.org/appel"]);
}

#[tokio::test]
async fn unknown_receipts_are_not_found_no_faster_than_known_ones() {
    let s = services().await;
    let started = std::time::Instant::now();
    let error = s.intake.tip_status("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA").await.unwrap_err();
    assert!(matches!(error, QueryError::NotFound(_)));
    assert!(started.elapsed() >= Duration::from_millis(20));
}

#[tokio::test]
async fn bad_tips_store_nothing() {
    let s = services().await;
    let cases = [
        (TipSubmission { text: "  ".into(), ..TipSubmission::default() }, "text is empty"),
        (
            TipSubmission { text: "x".repeat(1001), ..TipSubmission::default() },
            "text is 1001 bytes, over the 1000-byte limit",
        ),
        (
            TipSubmission { text: "ok #marqueur".into(), urls: vec!["pas une url".into()], ..TipSubmission::default() },
            "urls[0] is not a URL",
        ),
        (
            TipSubmission { text: "ok #marqueur".into(), language_hint: "french".into(), ..TipSubmission::default() },
            "language_hint",
        ),
    ];
    for (tip, expected) in cases {
        let error = s.intake.submit_tip(tip).await.unwrap_err();
        assert!(error.to_string().starts_with(expected), "{error} should start with {expected}");
    }
    assert!(s.query.lookup_indicator(IndicatorKind::Hashtag, "#marqueur", 0).await.is_err());
}

#[tokio::test]
async fn ingest_counts_duplicates_and_rejections() {
    let s = services().await;
    let mut ingest = s.intake.begin_ingest(caller("crawler-example", Role::Partner, None));
    ingest.add_message(vec![post("1", "premier #appel"), post("2", "deuxième"), post("1", "premier #appel")]).unwrap();
    ingest.add_message(vec![PostSubmission { text: String::new(), ..post("3", "") }]).unwrap();
    let report = ingest.finish().await.unwrap();
    assert_eq!((report.accepted, report.duplicates), (2, 1));
    assert_eq!(report.rejected.len(), 1);
    assert_eq!((report.rejected[0].index, report.rejected[0].field.as_str()), (3, "text"));

    let mut again = s.intake.begin_ingest(caller("crawler-example", Role::Partner, None));
    again.add_message(vec![post("2", "deuxième")]).unwrap();
    assert_eq!(again.finish().await.unwrap(), IngestReport { accepted: 0, duplicates: 1, rejected: vec![] });

    let author = AccountRef { platform: "telegram".into(), handle: "canal_exemple".into(), ..AccountRef::default() };
    let matches =
        s.query.check_content(ContentCheck { author: Some(author), ..ContentCheck::default() }).await.unwrap();
    assert_eq!(matches.accounts[0].account.document_count, 2);
    assert_eq!(matches.accounts[0].reason, AccountMatchReason::Author);
}

#[tokio::test]
async fn oversized_streams_fail_whole() {
    let s = services().await;
    let mut ingest = s.intake.begin_ingest(caller("crawler-example", Role::Partner, None));
    assert!(matches!(
        ingest.add_message((0..4).map(|i| post(&i.to_string(), "x")).collect()),
        Err(QueryError::Invalid { .. })
    ));
    ingest.add_message((0..3).map(|i| post(&i.to_string(), "x")).collect()).unwrap();
    assert!(matches!(
        ingest.add_message((3..6).map(|i| post(&i.to_string(), "x")).collect()),
        Err(QueryError::TooLarge { .. })
    ));
    // The stream failed, so finish is never called: nothing was stored.
    let page = s.query.search(SearchRequest::default()).await.unwrap();
    assert!(page.hits.is_empty());
}

#[tokio::test]
async fn search_pages_follow_their_query() {
    let s = services().await;
    let mut ingest = s.intake.begin_ingest(caller("crawler-example", Role::Partner, None));
    ingest.add_message((0..3).map(|i| post(&i.to_string(), "appel")).collect()).unwrap();
    ingest.finish().await.unwrap();
    let request = SearchRequest { query: "appel".into(), page_size: 2, ..SearchRequest::default() };
    let first = s.query.search(request.clone()).await.unwrap();
    assert_eq!(first.hits.len(), 2);
    let second =
        s.query.search(SearchRequest { page_token: first.next_page_token.clone(), ..request.clone() }).await.unwrap();
    assert_eq!((second.hits.len(), second.next_page_token.as_str()), (1, ""));
    let other = SearchRequest { query: "autre".into(), page_token: first.next_page_token, ..request };
    assert!(s.query.search(other).await.is_err());
}

#[tokio::test]
async fn documents_are_categorized_and_searchable_by_category() {
    let s = services().await;
    let tip = TipSubmission {
        text: "Un nouveau numéro de Dabiq circule, ils disent : nous allons égorger".into(),
        ..TipSubmission::default()
    };
    let receipt = s.intake.submit_tip(tip).await.unwrap();
    let threats = SearchRequest { categories: vec!["threat".into()], ..SearchRequest::default() };
    let page = s.query.search(threats).await.unwrap();
    assert_eq!(page.hits.len(), 1);
    assert_eq!(page.hits[0].document.id.to_string(), receipt.tip_id);
    let mut categories = page.hits[0].document.categories.clone();
    categories.sort();
    assert_eq!(categories, vec!["propaganda", "threat"]);
    let unknown = SearchRequest { categories: vec!["hate".into()], ..SearchRequest::default() };
    assert_eq!(
        s.query.search(unknown).await.unwrap_err().to_string(),
        "categories[0] must be one of propaganda, recruitment, weapons_instructions, financing, threat"
    );
}

#[tokio::test]
async fn a_handle_named_in_a_tip_after_a_suspension_is_proposed_as_a_successor() {
    let s = services().await;
    let reference =
        |handle: &str| AccountRef { platform: "telegram".into(), handle: handle.into(), ..AccountRef::default() };
    s.tracking
        .record_snapshot(
            SnapshotSubmission {
                account: reference("abu_exemple"),
                display_name: "Abu Exemple".into(),
                bio: String::new(),
                avatar_sha256: String::new(),
                observed_at: None,
                changed_by: "crawler-example".into(),
            },
            &caller("crawler-example", Role::Partner, None),
        )
        .await
        .unwrap();
    let mut watch = s.tracking.watch_alerts("").await.unwrap();
    s.tracking
        .update_status(
            StatusUpdate {
                account: AccountChoice::Ref(reference("abu_exemple")),
                status: AccountStatus::Suspended,
                reported_to: String::new(),
                at: None,
                changed_by: "platform-example".into(),
                note: String::new(),
            },
            &caller("platform-example", Role::Partner, Some("telegram")),
        )
        .await
        .unwrap();
    s.intake
        .submit_tip(TipSubmission {
            text: "Il est revenu sur Telegram sous le nom @abu_exemple_2".into(),
            language_hint: String::new(),
            urls: vec![],
        })
        .await
        .unwrap();
    let alert = tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(alert.successor().unwrap().predecessor.handle.as_deref(), Some("abu_exemple"));
    assert_eq!(alert.successor().unwrap().account.handle.as_deref(), Some("abu_exemple_2"));

    // The same account named again raises nothing new.
    s.intake
        .submit_tip(TipSubmission {
            text: "Encore @abu_exemple_2 sur Telegram".into(),
            language_hint: String::new(),
            urls: vec![],
        })
        .await
        .unwrap();
    let history = s.tracking.account(AccountChoice::Ref(reference("abu_exemple")), 0).await.unwrap();
    assert_eq!(history.successors.len(), 1, "one proposal for the pair");
    assert_eq!(history.account.status, AccountStatus::Suspended);
    // At shutdown a watch ends rather than waiting for more.
    s.tracking.stop_watches();
    assert!(watch.next().await.unwrap().is_none());
}

#[tokio::test]
async fn a_stream_open_past_its_limit_is_refused_whole() {
    let s = services_with_stream_limit(Duration::from_secs(1)).await;
    let mut ingest = s.intake.begin_ingest(caller("crawler-example", Role::Partner, None));
    ingest.add_message(vec![post("1", "avant #marqueur")]).unwrap();
    tokio::time::sleep_until(ingest.deadline() + Duration::from_millis(10)).await;
    let expected = "stream stayed open over the 1-second limit (max_stream_seconds); nothing was stored: send the \
                    feed in shorter streams";
    let late = ingest.add_message(vec![post("2", "après #marqueur")]).unwrap_err();
    assert!(matches!(late, QueryError::TooLarge { .. }));
    assert_eq!(late.to_string(), expected);
    assert_eq!(ingest.finish().await.unwrap_err().to_string(), expected);
    assert!(s.query.lookup_indicator(IndicatorKind::Hashtag, "marqueur", 0).await.is_err());
}

/// Refused with `expected`, the field first.
fn refused<T: std::fmt::Debug>(result: Result<T, QueryError>, expected: &str) {
    match result {
        Ok(answer) => panic!("expected {expected:?}, got {answer:?}"),
        Err(error) => assert_eq!(error.to_string(), expected),
    }
}

#[tokio::test]
async fn over_limit_requests_name_the_field_and_the_limit_and_store_nothing() {
    let s = services().await;
    let long_token = "A".repeat(300);
    let search = |request: SearchRequest| s.query.search(request);
    refused(
        search(SearchRequest { kinds: vec![DocumentKind::Tip; 33], ..SearchRequest::default() }).await,
        "kinds has 33 entries, over the limit of 32",
    );
    refused(
        search(SearchRequest { languages: vec!["fr".into(); 33], ..SearchRequest::default() }).await,
        "languages has 33 entries, over the limit of 32",
    );
    refused(
        search(SearchRequest { categories: vec!["threat".into(); 33], ..SearchRequest::default() }).await,
        "categories has 33 entries, over the limit of 32",
    );
    refused(
        search(SearchRequest { page_token: long_token.clone(), ..SearchRequest::default() }).await,
        "page_token is 300 bytes, over the 256-byte limit",
    );
    let list = |request: ListAccounts| s.tracking.list_accounts(request);
    refused(
        list(ListAccounts { statuses: vec![AccountStatus::Active; 33], ..ListAccounts::default() }).await,
        "statuses has 33 entries, over the limit of 32",
    );
    refused(
        list(ListAccounts { platform: "p".repeat(33), ..ListAccounts::default() }).await,
        "platform must be 1 to 32 letters, digits, '_', '.' or '-'",
    );
    refused(
        list(ListAccounts { page_token: long_token.clone(), ..ListAccounts::default() }).await,
        "page_token is 300 bytes, over the 256-byte limit",
    );
    refused(
        s.tracking.list_sites(vec![SiteStatus::Online; 33], 0, "").await,
        "statuses has 33 entries, over the limit of 32",
    );
    refused(s.tracking.list_actors(0, &long_token, false).await, "page_token is 300 bytes, over the 256-byte limit");
    let long_url = format!("https://example.org/{}", "x".repeat(8 * 1024));
    let by = ChangeBy { changed_by: "analyst-a".into(), note: String::new() };
    let record = SiteRequest::Record { host_abuse_contact: String::new(), registrar_abuse_contact: String::new() };
    refused(
        s.tracking.change_site(SiteChoice::Url(long_url.clone()), record, by).await,
        "site.url is 8212 bytes, over the 8192-byte limit",
    );
    refused(s.tracking.site(SiteChoice::Url(long_url), 0).await, "site.url is 8212 bytes, over the 8192-byte limit");
    assert!(s.tracking.list_sites(Vec::new(), 0, "").await.unwrap().sites.is_empty());

    // A post over a limit is rejected with its reason; what is sent back of
    // it is cut to 256 bytes.
    let mut ingest = s.intake.begin_ingest(caller("crawler-example", Role::Partner, None));
    ingest.add_message(vec![post(&"9".repeat(10_000), "#marqueur")]).unwrap();
    let report = ingest.finish().await.unwrap();
    assert_eq!(report.accepted, 0);
    let rejected = &report.rejected[0];
    assert_eq!(
        (rejected.field.as_str(), rejected.reason.as_str()),
        ("platform_post_id", "is 10000 bytes, over the 256-byte limit")
    );
    assert_eq!(rejected.platform_post_id, "9".repeat(256));
    assert!(s.query.lookup_indicator(IndicatorKind::Hashtag, "marqueur", 0).await.is_err());
}
