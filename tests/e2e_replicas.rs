//! Two `vigil serve` replicas on one PostgreSQL database, started at once and
//! fed overlapping posts concurrently: each post, indicator, account and
//! sighting is stored once, the counts are exact, and what one replica
//! acknowledged the other answers at once in CheckContent and lookups. What a
//! replica keeps in memory (the successor index, the alert stream) follows
//! what the other one changes.

mod support;

use std::collections::HashMap;

use support::{PostgresSchema, Vigil};
use vigil_proto::prost_types;
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::query_client::QueryClient;
use vigil_proto::v1::tracking_client::TrackingClient;
use vigil_proto::v1::*;

const POSTS: usize = 400;
const AUTHORS: usize = 20;
const TAGS: usize = 10;

fn post(number: usize) -> Post {
    Post {
        platform: "telegram".into(),
        platform_post_id: format!("r{number}"),
        author: Some(AccountRef {
            platform: "telegram".into(),
            handle: format!("canal_replique_{}", number % AUTHORS),
            platform_account_id: String::new(),
        }),
        url: String::new(),
        text: format!(
            "Relais {number}: https://example.org/r/{number} #replique{} via @canal_relais_{} sur Telegram",
            number % TAGS,
            number % 3
        ),
        posted_at: Some(prost_types::Timestamp { seconds: 1_767_225_600 + number as i64, nanos: 0 }),
        media_sha256: vec![],
    }
}

/// Sends `numbers` in batches of `batch` posts, one request per batch, and
/// after each acknowledged batch checks that `other` already knows its posts.
async fn ingest(writer: support::Authed, other: support::Authed, numbers: Vec<usize>, batch: usize) -> (u64, u64) {
    let mut intake = IntakeClient::new(writer);
    let mut query = QueryClient::new(other);
    let (mut accepted, mut duplicates) = (0, 0);
    for chunk in numbers.chunks(batch) {
        let request = IngestPostsRequest { posts: chunk.iter().map(|&n| post(n)).collect() };
        let response = intake.ingest_posts(tokio_stream::iter([request])).await.unwrap().into_inner();
        accepted += response.accepted;
        duplicates += response.duplicates;
        for &number in chunk {
            let check = CheckContentRequest {
                text: format!("vu ailleurs : https://example.org/r/{number}"),
                ..CheckContentRequest::default()
            };
            let matches = query.check_content(check).await.unwrap().into_inner();
            let url = format!("https://example.org/r/{number}");
            assert!(
                matches.indicators.iter().any(|found| found.value == url && found.sighting_count == 1),
                "the other replica does not know {url} right after it was acknowledged: {matches:?}"
            );
        }
    }
    (accepted, duplicates)
}

async fn lookup(query: &mut QueryClient<support::Authed>, kind: IndicatorKind, value: &str) -> LookupIndicatorResponse {
    query
        .lookup_indicator(LookupIndicatorRequest { kind: kind as i32, value: value.into(), max_documents: 0 })
        .await
        .unwrap_or_else(|status| panic!("{value}: {status}"))
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_ingest_overlapping_posts_once() {
    let schema = PostgresSchema::create();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Started together: both migrate the empty schema at once.
    let a = Vigil::start(dir_a.path(), &["--database-url", &schema.url]);
    let b = Vigil::start(dir_b.path(), &["--database-url", &schema.url]);
    a.wait_serving().await;
    b.wait_serving().await;
    let (channel_a, channel_b) = (a.channel().await, b.channel().await);

    // A takes every post in order, B every post backwards, and a third
    // client every other post through A again, in other batch sizes.
    let forwards: Vec<usize> = (0..POSTS).collect();
    let backwards: Vec<usize> = (0..POSTS).rev().collect();
    let evens: Vec<usize> = (0..POSTS).step_by(2).collect();
    let (one, two, three) = tokio::join!(
        tokio::spawn(ingest(channel_a.clone(), channel_b.clone(), forwards, 25)),
        tokio::spawn(ingest(channel_b.clone(), channel_a.clone(), backwards, 20)),
        tokio::spawn(ingest(channel_a.clone(), channel_b.clone(), evens, 15)),
    );
    let results = [one.unwrap(), two.unwrap(), three.unwrap()];
    let accepted: u64 = results.iter().map(|(accepted, _)| accepted).sum();
    let duplicates: u64 = results.iter().map(|(_, duplicates)| duplicates).sum();
    assert_eq!(accepted, POSTS as u64, "each post is stored by exactly one request");
    assert_eq!(duplicates, (POSTS + POSTS / 2) as u64);

    let tables: HashMap<String, i64> = schema
        .counts(
            "SELECT 'documents', count(*) FROM document
         UNION ALL SELECT 'distinct posts', count(DISTINCT platform_post_id) FROM document
         UNION ALL SELECT 'accounts', count(*) FROM account
         UNION ALL SELECT 'sightings', count(*) FROM sighting
         UNION ALL SELECT 'sightings counted', coalesce(sum(sighting_count), 0)::bigint FROM indicator
         UNION ALL SELECT 'account links', count(*) FROM document_account
         UNION ALL SELECT 'documents counted', coalesce(sum(document_count), 0)::bigint FROM account
         UNION ALL SELECT 'first seen events', count(*) FROM account_event WHERE kind = 'first_seen'",
        )
        .into_iter()
        .collect();
    assert_eq!(tables["documents"], POSTS as i64);
    assert_eq!(tables["distinct posts"], POSTS as i64);
    // Authors, plus the three relay accounts every post names.
    assert_eq!(tables["accounts"], (AUTHORS + 3) as i64);
    assert_eq!(tables["first seen events"], (AUTHORS + 3) as i64);
    assert_eq!(tables["sightings counted"], tables["sightings"]);
    assert_eq!(tables["account links"], 2 * POSTS as i64);
    assert_eq!(tables["documents counted"], tables["account links"]);

    // Both replicas give the same exact counts.
    for channel in [channel_a, channel_b] {
        let mut query = QueryClient::new(channel);
        for tag in 0..TAGS {
            let found = lookup(&mut query, IndicatorKind::Hashtag, &format!("replique{tag}")).await;
            assert_eq!(found.sighting_count, (POSTS / TAGS) as u64, "#replique{tag}");
        }
        let url = lookup(&mut query, IndicatorKind::Url, "https://example.org/r/7").await;
        assert_eq!(url.sighting_count, 1);
        let domain = lookup(&mut query, IndicatorKind::Domain, "example.org").await;
        assert_eq!(domain.sighting_count, POSTS as u64);
        let author = lookup(&mut query, IndicatorKind::Account, "telegram:canal_replique_3").await;
        assert_eq!(author.sighting_count, (POSTS / AUTHORS) as u64);
    }
    a.stop().await;
    b.stop().await;
}

fn snapshot(handle: &str, bio: &str) -> RecordProfileSnapshotRequest {
    RecordProfileSnapshotRequest {
        account: Some(AccountRef {
            platform: "telegram".into(),
            handle: handle.into(),
            platform_account_id: String::new(),
        }),
        display_name: "Abu Exemple".into(),
        bio: bio.into(),
        avatar_sha256: "5f1d7b2a9c3e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8".into(),
        observed_at: None,
        changed_by: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_detects_successors_of_accounts_another_replica_tracks() {
    let schema = PostgresSchema::create();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Vigil::start(dir_a.path(), &["--database-url", &schema.url]);
    a.wait_serving().await;
    let b = Vigil::start(dir_b.path(), &["--database-url", &schema.url]);
    b.wait_serving().await;
    let (mut tracking_a, mut tracking_b) =
        (TrackingClient::new(a.channel().await), TrackingClient::new(b.channel().await));

    // An analyst watches on A; everything below happens on B.
    let mut alerts =
        tracking_a.watch_alerts(WatchAlertsRequest { resume_token: String::new() }).await.unwrap().into_inner();
    // Both replicas were running before this account existed: B learns of
    // it from A's notice, not from its start-up load.
    tracking_a.record_profile_snapshot(snapshot("abu_exemple", "canal hxxps://t[.]me/relais_exemple")).await.unwrap();
    tracking_a
        .update_account_status(UpdateAccountStatusRequest {
            account: Some(AccountSelector {
                selector: Some(account_selector::Selector::Ref(AccountRef {
                    platform: "telegram".into(),
                    handle: "abu_exemple".into(),
                    platform_account_id: String::new(),
                })),
            }),
            status: AccountStatus::Suspended as i32,
            reported_to: String::new(),
            at: None,
            changed_by: String::new(),
            note: String::new(),
        })
        .await
        .unwrap();
    // The notice travels asynchronously: B may take a moment to know it.
    let mut found = Vec::new();
    for attempt in 0..50 {
        let handle = format!("abu_exemple_{}", attempt + 2);
        let recreated = tracking_b
            .record_profile_snapshot(snapshot(&handle, "nouveau hxxps://t[.]me/relais_exemple"))
            .await
            .unwrap()
            .into_inner();
        if !recreated.successors.is_empty() {
            found = recreated.successors;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 1, "replica B never saw replica A's suspended account");
    let alert = tokio::time::timeout(std::time::Duration::from_secs(10), alerts.message())
        .await
        .expect("B's alert reaches A's watcher within 10 s")
        .unwrap()
        .expect("the stream is open");
    match alert.detail {
        Some(alert::Detail::Successor(successor)) => {
            assert_eq!(successor.predecessor.unwrap().handle, "abu_exemple");
        }
        other => panic!("not a successor alert: {other:?}"),
    }
    a.stop().await;
    b.stop().await;
}
