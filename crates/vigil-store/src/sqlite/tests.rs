use super::*;

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&SqliteOptions::in_directory(dir)).expect("store opens")
}

fn sighting(kind: IndicatorKind, value: &str) -> NewSighting {
    NewSighting { indicator: IndicatorKey { kind, value: value.to_owned() }, span: Some(Span { start: 0, end: 1 }) }
}

fn post(platform_post_id: &str, text: &str, observed_at: UnixSeconds, sightings: Vec<NewSighting>) -> NewDocument {
    NewDocument {
        kind: DocumentKind::Post,
        platform: Some("telegram".into()),
        platform_post_id: Some(platform_post_id.into()),
        author: Some(AccountKey {
            platform: "telegram".into(),
            handle: Some("example_channel".into()),
            platform_account_id: None,
        }),
        url: None,
        text: text.into(),
        text_sha256: "00".repeat(32),
        language: Some("fr".into()),
        observed_at,
        search_text: text.into(),
        sightings,
        categories: vec![],
        mentioned_accounts: vec![],
    }
}

fn tip(text: &str, receipt_hash: [u8; 32]) -> NewTip {
    let mut document = post("unused", text, 3600, vec![sighting(IndicatorKind::Url, "https://example.org/x")]);
    document.kind = DocumentKind::Tip;
    document.platform = None;
    document.platform_post_id = None;
    document.author = None;
    NewTip { document, receipt_hash }
}

#[tokio::test]
async fn tips_are_found_by_receipt_hash_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.insert_tip(tip("un signalement", [7; 32])).await.unwrap();
    let state = store.tip_state([7; 32]).await.unwrap().unwrap();
    assert_eq!(state, TipState { status: TipStatus::Received, follow_up_count: 0 });
    assert_eq!(store.tip_state([8; 32]).await.unwrap(), None);
}

#[tokio::test]
async fn posts_are_idempotent_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let url = || sighting(IndicatorKind::Url, "https://example.org/x");
    let outcomes = store
        .insert_posts(vec![
            post("1", "a", 100, vec![url()]),
            post("2", "b", 200, vec![url()]),
            post("1", "a", 100, vec![url()]),
        ])
        .await
        .unwrap();
    assert!(matches!(
        outcomes.outcomes[..],
        [PostOutcome::Stored(_), PostOutcome::Stored(_), PostOutcome::Duplicate(_)]
    ));
    // The author is new in the first post only.
    assert_eq!(outcomes.first_seen_accounts.len(), 1);
    let again = store.insert_posts(vec![post("2", "b", 200, vec![url()])]).await.unwrap();
    assert!(matches!(again.outcomes[..], [PostOutcome::Duplicate(_)]));
    assert!(again.first_seen_accounts.is_empty());

    let report = store.indicator_report(IndicatorKind::Url, "https://example.org/x".into(), 10).await.unwrap().unwrap();
    assert_eq!(
        (report.indicator.first_seen, report.indicator.last_seen, report.indicator.sighting_count),
        (100, 200, 2)
    );
    assert_eq!(report.recent_documents.iter().map(|d| d.observed_at).collect::<Vec<_>>(), vec![200, 100]);
    assert_eq!(report.accounts.len(), 1);
    assert_eq!(report.accounts[0].handle.as_deref(), Some("example_channel"));
    assert_eq!(report.accounts[0].document_count, 2);
}

#[tokio::test]
async fn a_failing_batch_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut broken = post("2", "b", 200, vec![]);
    broken.platform = None; // violates the schema's post check
    let result =
        store.insert_posts(vec![post("1", "a", 100, vec![sighting(IndicatorKind::Hashtag, "x")]), broken]).await;
    assert!(result.is_err());
    let hits = store.search(search_all()).await.unwrap();
    assert!(hits.is_empty(), "nothing of the failed batch is visible: {hits:?}");
    assert!(
        store
            .known_indicators(vec![IndicatorKey { kind: IndicatorKind::Hashtag, value: "x".into() }])
            .await
            .unwrap()
            .is_empty()
    );
}

fn search_all() -> SearchQuery {
    SearchQuery {
        phrases: vec![],
        kinds: vec![],
        languages: vec![],
        categories: vec![],
        observed_from: None,
        observed_until: None,
        order: SearchOrder::Newest,
        limit: 10,
        after: None,
    }
}

#[tokio::test]
async fn search_filters_orders_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .insert_posts(vec![
            post("1", "appel aux dons pour la cause", 100, vec![]),
            post("2", "un autre appel, urgent", 200, vec![]),
            post("3", "rien à voir", 300, vec![]),
        ])
        .await
        .unwrap();
    store.insert_tip(tip("appel signalé par un témoin", [1; 32])).await.unwrap();

    let found = |hits: Vec<SearchHit>| hits.into_iter().map(|h| h.document.observed_at).collect::<Vec<_>>();
    let query = SearchQuery { phrases: vec!["appel".into()], ..search_all() };
    assert_eq!(found(store.search(query.clone()).await.unwrap()), vec![3600, 200, 100]);
    let posts_only = SearchQuery { kinds: vec![DocumentKind::Post], ..query.clone() };
    assert_eq!(found(store.search(posts_only).await.unwrap()), vec![200, 100]);
    let window = SearchQuery { observed_from: Some(150), observed_until: Some(3600), ..query.clone() };
    assert_eq!(found(store.search(window).await.unwrap()), vec![200]);

    let first = store.search(SearchQuery { limit: 2, ..query.clone() }).await.unwrap();
    let last = &first[1].document;
    let after = SearchCursor::Newest { observed_at: last.observed_at, id: last.id };
    let second = store.search(SearchQuery { limit: 2, after: Some(after), ..query.clone() }).await.unwrap();
    assert_eq!(found(second), vec![100]);

    let phrase = SearchQuery { phrases: vec!["appel aux dons".into()], ..search_all() };
    let hits = store.search(phrase).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("[appel aux dons]"), "{}", hits[0].snippet);
    let relevance = SearchQuery { order: SearchOrder::Relevance, ..query };
    assert_eq!(store.search(relevance).await.unwrap().len(), 3);
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store
            .insert_posts(vec![post("1", "texte", 100, vec![sighting(IndicatorKind::Domain, "example.org")])])
            .await
            .unwrap();
        store.checkpoint().unwrap();
    }
    let store = open(dir.path());
    let known = store
        .known_indicators(vec![IndicatorKey { kind: IndicatorKind::Domain, value: "example.org".into() }])
        .await
        .unwrap();
    assert_eq!(known.len(), 1);
    let account =
        AccountKey { platform: "telegram".into(), handle: Some("example_channel".into()), platform_account_id: None };
    let accounts = store.known_accounts(vec![account]).await.unwrap();
    assert_eq!(accounts[0].as_ref().map(|a| a.document_count), Some(1));
}

#[tokio::test]
async fn accounts_learn_their_platform_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut first = post("1", "a", 100, vec![]);
    first.author = Some(AccountKey { platform: "x".into(), handle: None, platform_account_id: Some("42".into()) });
    let mut second = post("2", "b", 200, vec![]);
    second.author = Some(AccountKey {
        platform: "x".into(),
        handle: Some("example_user".into()),
        platform_account_id: Some("42".into()),
    });
    store.insert_posts(vec![first, second]).await.unwrap();
    let by_handle = AccountKey { platform: "x".into(), handle: Some("example_user".into()), platform_account_id: None };
    let account = store.known_accounts(vec![by_handle]).await.unwrap().remove(0).unwrap();
    assert_eq!((account.platform_account_id.as_deref(), account.document_count), (Some("42"), 2));
}

#[tokio::test]
async fn search_syntax_in_a_query_is_only_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.insert_posts(vec![post("1", "appel AND NEAR dons", 100, vec![])]).await.unwrap();
    for phrase in ["*", "-", "AND", "NEAR(", "\"", "a\"b", "()", "^", ":", "'", "..."] {
        let query = SearchQuery { phrases: vec![phrase.to_owned()], ..search_all() };
        assert!(store.search(query).await.is_ok(), "searching {phrase:?} fails");
    }
    let near = SearchQuery { phrases: vec!["NEAR".into()], ..search_all() };
    assert_eq!(store.search(near).await.unwrap().len(), 1, "an operator word is searched as a word");
}

#[tokio::test]
async fn documents_keep_their_categories_and_search_filters_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut threat = post("1", "menace", 100, vec![]);
    threat.categories = vec![("threat".into(), 0.63), ("propaganda".into(), 0.4)];
    store.insert_posts(vec![threat, post("2", "rien", 200, vec![])]).await.unwrap();
    let hits = store.search(SearchQuery { categories: vec!["threat".into()], ..search_all() }).await.unwrap();
    assert_eq!(hits.len(), 1);
    let mut categories = hits[0].document.categories.clone();
    categories.sort();
    assert_eq!(categories, vec!["propaganda", "threat"]);
    assert_eq!(store.search(search_all()).await.unwrap().len(), 2);
}

fn handle_key(handle: &str) -> AccountKey {
    AccountKey { platform: "telegram".into(), handle: Some(handle.into()), platform_account_id: None }
}

fn snapshot(handle: &str, display_name: &str, at: UnixSeconds) -> NewProfileSnapshot {
    NewProfileSnapshot {
        account: handle_key(handle),
        snapshot: ProfileSnapshot {
            display_name: Some(display_name.into()),
            bio: Some("canal https://example.org/a".into()),
            avatar_sha256: Some("ab".repeat(32)),
            links: vec![IndicatorKey { kind: IndicatorKind::Url, value: "https://example.org/a".into() }],
        },
        observed_at: at,
        changed_by: "crawler-example".into(),
    }
}

#[tokio::test]
async fn status_changes_and_snapshots_are_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = store.record_profile_snapshot(snapshot("abu_example", "Abu Example", 1_000)).await.unwrap();
    assert!(first.first_seen);
    assert_eq!(first.account.display_name.as_deref(), Some("Abu Example"));
    let again = store.record_profile_snapshot(snapshot("abu_example", "Abu Example 2", 1_100)).await.unwrap();
    assert!(!again.first_seen);
    assert_eq!(again.account.id, first.account.id);

    let change = StatusChange {
        account: AccountSelector::Key(handle_key("abu_example")),
        status: AccountStatus::Reported,
        reported_to: Some("telegram".into()),
        at: 2_000,
        changed_by: "analyst-a".into(),
        note: None,
    };
    let (account, event) = store.change_account_status(change.clone()).await.unwrap().unwrap();
    assert_eq!((account.status, account.status_changed_at), (AccountStatus::Reported, 2_000));
    assert_eq!(event.reported_to.as_deref(), Some("telegram"));
    let unknown = StatusChange { account: AccountSelector::Key(handle_key("nobody_example")), ..change };
    assert_eq!(store.change_account_status(unknown).await.unwrap(), None);

    let history = store.account_history(AccountSelector::Id(account.id), 10).await.unwrap().unwrap();
    let kinds: Vec<_> = history.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AccountEventKind::StatusChanged,
            AccountEventKind::ProfileSnapshot,
            AccountEventKind::ProfileSnapshot,
            AccountEventKind::FirstSeen
        ]
    );
    let snapshot = history.events[1].snapshot.as_ref().unwrap();
    assert_eq!(snapshot.display_name.as_deref(), Some("Abu Example 2"));
    assert_eq!(snapshot.links[0].value, "https://example.org/a");
    assert_eq!(history.events[1].changed_by, "crawler-example");

    let reported =
        AccountFilter { statuses: vec![AccountStatus::Reported], platform: None, actor: None, after: None, limit: 10 };
    assert_eq!(store.list_accounts(reported.clone()).await.unwrap().len(), 1);
    let after = AccountFilter { after: Some(account.id), ..reported };
    assert!(store.list_accounts(after).await.unwrap().is_empty());
}

#[tokio::test]
async fn successors_are_proposed_once_reviewed_once_and_alerted_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let old = store.record_profile_snapshot(snapshot("abu_example", "Abu", 1_000)).await.unwrap().account;
    let new = store.record_profile_snapshot(snapshot("abu_example_2", "Abu", 5_000)).await.unwrap().account;
    let other = store.record_profile_snapshot(snapshot("abu_example_3", "Abu", 5_100)).await.unwrap().account;
    let proposal = |account: AccountId| NewSuccessor {
        account,
        predecessor: old.id,
        score: 0.9,
        evidence: vec!["handle abu_example_2 ~ abu_example".into(), "same avatar".into()],
        explanation: "handle abu_example_2 ~ abu_example; same avatar".into(),
        found_at: 5_000,
    };
    assert_eq!(store.last_alert_id().await.unwrap(), 0);
    let alerts = store.propose_successors(vec![proposal(new.id), proposal(new.id), proposal(other.id)]).await.unwrap();
    assert_eq!(alerts.len(), 2, "a pair is proposed once");
    assert!(alerts[0].id < alerts[1].id);
    assert_eq!(alerts[0].successor.evidence.len(), 2);
    assert!(store.propose_successors(vec![proposal(new.id)]).await.unwrap().is_empty());
    assert_eq!(store.alerts_after(alerts[0].id, 10).await.unwrap(), alerts[1..]);
    assert_eq!(store.last_alert_id().await.unwrap(), alerts[1].id);
    assert_eq!(store.proposed_successor_pairs().await.unwrap().len(), 2);

    let note = ChangeNote { changed_by: "analyst-a".into(), note: None, at: 5_500 };
    let outcome = store
        .change_actors(
            ActorChange::Create { name: "Abu".into(), kind: ActorKind::Person, accounts: vec![old.id] },
            note.clone(),
        )
        .await
        .unwrap();
    let ActorOutcome::Changed(actor, None) = outcome else { panic!("actor created: {outcome:?}") };
    // An unknown account anywhere in a request leaves every account as it was.
    let refused = ActorChange::Assign { actor: Some(actor.id), accounts: vec![new.id, 9_999] };
    assert_eq!(store.change_actors(refused, note).await.unwrap(), ActorOutcome::AccountNotFound(9_999));
    assert_eq!(store.actor(actor.id, 10).await.unwrap().unwrap().accounts.len(), 1);

    let review = |successor, confirm| SuccessorReview {
        successor,
        confirm,
        reviewed_by: "analyst-a".into(),
        note: None,
        at: 6_000,
    };
    let ReviewOutcome::Reviewed(confirmed) =
        store.review_successor(review(alerts[0].successor.id, true)).await.unwrap()
    else {
        panic!("pending successor is reviewed");
    };
    assert_eq!(confirmed.state, SuccessorState::Confirmed);
    assert_eq!(confirmed.predecessor.status, AccountStatus::Reappeared);
    // A confirmed successor joins its predecessor's actor.
    assert_eq!(confirmed.account.actor_id, Some(actor.id));
    assert!(matches!(
        store.review_successor(review(alerts[0].successor.id, false)).await.unwrap(),
        ReviewOutcome::AlreadyReviewed(_)
    ));
    assert_eq!(store.review_successor(review(9_999, true)).await.unwrap(), ReviewOutcome::NotFound);

    let history = store.account_history(AccountSelector::Id(old.id), 50).await.unwrap().unwrap();
    assert_eq!(history.successors.len(), 2);
    assert!(history.events.iter().any(|e| e.kind == AccountEventKind::SuccessorConfirmed));
    let tracked = store.tracked_accounts(Some(vec![new.id]), 0, 10).await.unwrap();
    assert_eq!(tracked[0].links.len(), 1);
}
