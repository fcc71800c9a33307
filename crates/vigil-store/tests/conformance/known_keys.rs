//! The keys each store holds in memory so that content checks of unknown
//! content need no read: once complete they must never hide a stored key,
//! whoever wrote it.

use std::time::{Duration, Instant};

use tokio_postgres::NoTls;
use vigil_store::{AccountKey, IndicatorKey, IndicatorKind, Known, Store};

use crate::data::{ingested, key, post, sighting, snapshot, telegram, tip};
use crate::harness::Engine;

conformance!(checks_answer_exactly_once_the_keys_are_loaded, a_reopened_store_loads_every_stored_key);

async fn checks_answer_exactly_once_the_keys_are_loaded(engine: Engine) {
    let store = &engine.store;
    wait_until_complete(store.as_ref()).await;
    let written = write_everything(store.as_ref(), "a").await;
    assert_knows(store.as_ref(), &written).await;
    let state = store.known_keys_state();
    // Four indicators and five accounts written (the renamed key finds an
    // account through its platform id).
    assert!(state.complete && state.hashes >= 9, "{state:?}");
}

async fn a_reopened_store_loads_every_stored_key(engine: Engine) {
    let written = write_everything(engine.store.as_ref(), "b").await;
    let reopened = engine.reopen().await;
    wait_until_complete(reopened.as_ref()).await;
    assert_knows(reopened.as_ref(), &written).await;
}

/// Another replica's writes reach this one's keys through its notices; one
/// written while this replica cannot hear them reaches it through the
/// reload that follows, and meanwhile checks read the database.
#[tokio::test]
async fn another_replicas_keys_arrive_by_notice_and_by_reload_after_a_lost_connection() {
    let engine = crate::harness::postgres().await;
    let (url, schema) = engine.postgres_schema().expect("a PostgreSQL engine");
    let writer = &engine.store;
    let follower = engine.reopen().await;
    wait_until_complete(follower.as_ref()).await;

    let heard = write_everything(writer.as_ref(), "c").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !knows_all(follower.as_ref(), &heard).await {
        assert!(Instant::now() < deadline, "the follower did not learn the other replica's keys within 5 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Cut every listener of this schema; the follower reconnects after 1 s.
    let (admin, connection) = tokio_postgres::connect(&url, NoTls).await.expect("an admin connection");
    tokio::spawn(connection);
    let cut = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&format!("vigil listener {schema}")],
        )
        .await
        .expect("listeners terminated");
    assert!(cut >= 2, "both stores listen ({cut} terminated)");
    let deadline = Instant::now() + Duration::from_secs(5);
    while follower.known_keys_state().complete {
        assert!(Instant::now() < deadline, "the follower did not notice its lost connection within 5 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Written while the follower hears nothing: its notice is lost.
    let unheard = write_everything(writer.as_ref(), "d").await;
    if !follower.known_keys_state().complete {
        assert_knows(follower.as_ref(), &unheard).await;
    }
    wait_until_complete(follower.as_ref()).await;
    assert_knows(follower.as_ref(), &unheard).await;
    assert_knows(follower.as_ref(), &heard).await;
}

/// Writes through every path that creates keys: posts (indicators, author
/// by handle and by platform id, mentions), a tip, a profile snapshot.
/// The keys written, and a few never written.
async fn write_everything(store: &dyn Store, tag: &str) -> (Vec<IndicatorKey>, Vec<AccountKey>) {
    let by_id = AccountKey { platform: "x".into(), handle: None, platform_account_id: Some(format!("{tag}77")) };
    let mut first = post(&format!("{tag}1"), "un message", 100);
    first.sightings = vec![
        sighting(IndicatorKind::Domain, &format!("{tag}.example.org")),
        sighting(IndicatorKind::Ipv4, "192.0.2.7"),
    ];
    first.mentioned_accounts = vec![telegram(&format!("{tag}_mentioned"))];
    let mut second = post(&format!("{tag}2"), "un autre", 200);
    second.author = Some(by_id.clone());
    second.sightings = vec![sighting(IndicatorKind::Hashtag, &format!("#{tag}appel"))];
    store.insert_posts(vec![first, second], ingested()).await.unwrap();
    let mut reported = tip("un signalement", 3_600, [tag.as_bytes()[0]; 32]);
    reported.document.sightings = vec![sighting(IndicatorKind::Url, &format!("https://example.org/{tag}"))];
    reported.document.mentioned_accounts = vec![telegram(&format!("{tag}_in_tip"))];
    store.insert_tip(reported).await.unwrap();
    store.record_profile_snapshot(snapshot(telegram(&format!("{tag}_crawled")), "Exemple", 400)).await.unwrap();
    let indicators = vec![
        key(IndicatorKind::Domain, &format!("{tag}.example.org")),
        key(IndicatorKind::Ipv4, "192.0.2.7"),
        key(IndicatorKind::Hashtag, &format!("#{tag}appel")),
        key(IndicatorKind::Url, &format!("https://example.org/{tag}")),
    ];
    let accounts = vec![
        telegram("example_channel"),
        telegram(&format!("{tag}_mentioned")),
        by_id,
        // Found by its platform id, though this handle is new.
        AccountKey {
            platform: "x".into(),
            handle: Some(format!("{tag}_renamed")),
            platform_account_id: Some(format!("{tag}77")),
        },
        telegram(&format!("{tag}_in_tip")),
        telegram(&format!("{tag}_crawled")),
    ];
    (indicators, accounts)
}

/// Asks for every key written with unknown ones between them: the written
/// ones are all found, the unknown ones never.
async fn assert_knows(store: &dyn Store, (indicators, accounts): &(Vec<IndicatorKey>, Vec<AccountKey>)) {
    let (asked_indicators, asked_accounts) = with_unknown_keys(indicators, accounts);
    let Known { indicators: found, accounts: found_accounts } =
        store.known(asked_indicators, asked_accounts.clone()).await.unwrap();
    let mut found: Vec<IndicatorKey> = found.into_iter().map(|record| key(record.kind, &record.value)).collect();
    found.sort_by(|a, b| a.value.cmp(&b.value));
    let mut expected = indicators.clone();
    expected.sort_by(|a, b| a.value.cmp(&b.value));
    assert_eq!(found, expected);
    let present: Vec<bool> = found_accounts.iter().map(Option::is_some).collect();
    let expected: Vec<bool> = asked_accounts.iter().map(|key| !key.platform.starts_with("unknown")).collect();
    assert_eq!(present, expected, "accounts asked: {asked_accounts:?}");
}

async fn knows_all(store: &dyn Store, (indicators, accounts): &(Vec<IndicatorKey>, Vec<AccountKey>)) -> bool {
    let known = store.known(indicators.clone(), accounts.clone()).await.unwrap();
    known.indicators.len() == indicators.len() && known.accounts.iter().all(Option::is_some)
}

fn with_unknown_keys(indicators: &[IndicatorKey], accounts: &[AccountKey]) -> (Vec<IndicatorKey>, Vec<AccountKey>) {
    let mut asked_indicators = Vec::new();
    for (index, indicator) in indicators.iter().enumerate() {
        asked_indicators.push(key(IndicatorKind::Url, &format!("https://example.net/never-{index}")));
        asked_indicators.push(indicator.clone());
    }
    let mut asked_accounts = Vec::new();
    for account in accounts {
        asked_accounts.push(AccountKey { platform: "unknown-platform".into(), ..account.clone() });
        asked_accounts.push(account.clone());
    }
    (asked_indicators, asked_accounts)
}

async fn wait_until_complete(store: &dyn Store) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store.known_keys_state().complete {
        assert!(Instant::now() < deadline, "the known keys were not loaded within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
