//! Documents, indicators, accounts met in them, and the look-ups a content
//! check makes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use vigil_store::{AccountKey, DocumentKind, IndicatorKind, PostOutcome, Store, TipState, TipStatus};

use crate::data::{ingested, key, post, post_by, search_all, sighting, telegram, tip};
use crate::harness::Engine;

conformance!(
    tips_are_found_by_receipt_locator_only,
    follow_ups_are_tip_documents_counted_on_their_tip,
    sealed_texts_are_kept_as_given_and_only_for_their_document,
    duplicate_posts_within_and_across_batches,
    first_seen_accounts_are_reported_once,
    indicator_counts_and_report_order,
    a_failing_batch_stores_nothing,
    accounts_learn_their_platform_id,
    known_finds_indicators_and_accounts_in_one_read,
);
conformance!(multi_thread concurrent_overlapping_batches_store_each_post_once);

async fn tips_are_found_by_receipt_locator_only(engine: Engine) {
    let store = &engine.store;
    let mut named = tip("un signalement sur telegram:abu_example", 3_600, [7; 32]);
    named.document.mentioned_accounts = vec![telegram("abu_example")];
    let stored = store.insert_tip(named).await.unwrap();
    assert_eq!(stored.first_seen_accounts.len(), 1, "the account named is new");
    let found = store.tip_by_receipt([7; 32]).await.unwrap().unwrap();
    assert_eq!(found.document, stored.document);
    assert_eq!(found.state, TipState { status: TipStatus::Received, follow_up_count: 0 });
    assert_eq!(found.secret_hash, tip("", 0, [7; 32]).receipt.secret_hash, "kept as given");
    assert_eq!(store.tip_by_receipt([8; 32]).await.unwrap(), None);

    let mut again = tip("encore telegram:abu_example", 7_200, [9; 32]);
    again.document.mentioned_accounts = vec![telegram("abu_example")];
    let second = store.insert_tip(again).await.unwrap();
    assert!(second.first_seen_accounts.is_empty());
    assert_ne!(second.document, stored.document);
    let account = store.known_accounts(vec![telegram("abu_example")]).await.unwrap().remove(0).unwrap();
    assert_eq!(account.id, stored.first_seen_accounts[0]);
    assert_eq!((account.first_seen, account.last_seen, account.document_count), (3_600, 7_200, 2));
    // Tips are documents: found by search, with their kind.
    let hits = store.search(search_all()).await.unwrap();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|hit| hit.document.kind == DocumentKind::Tip && hit.document.platform.is_none()));

    // A receipt hash is used once: a second tip with it is refused whole.
    let mut reused = tip("un autre texte", 10_800, [7; 32]);
    reused.document.mentioned_accounts = vec![telegram("reused_example")];
    assert!(store.insert_tip(reused).await.is_err());
    assert_eq!(store.search(search_all()).await.unwrap().len(), 2);
    assert_eq!(store.known_accounts(vec![telegram("reused_example")]).await.unwrap(), vec![None]);
}

async fn sealed_texts_are_kept_as_given_and_only_for_their_document(engine: Engine) {
    let store = &engine.store;
    let mut sealed = tip("", 3_600, [6; 32]);
    sealed.document.search_text = String::new();
    sealed.document.sealed_text = Some(vec![0, 159, 146, 150, 255]);
    let sealed_id = store.insert_tip(sealed).await.unwrap().document;
    let plain_id = store.insert_tip(tip("un signalement", 3_600, [5; 32])).await.unwrap().document;
    let posted = store.insert_posts(vec![post("1", "un message", 3_600)], ingested()).await.unwrap();
    assert_eq!(store.sealed_text(sealed_id).await.unwrap(), Some(vec![0, 159, 146, 150, 255]));
    assert_eq!(store.sealed_text(plain_id).await.unwrap(), None);
    assert_eq!(store.sealed_text(sealed_id + 1_000).await.unwrap(), None);
    let hits = store.search(search_all()).await.unwrap();
    let sealed_flags: BTreeMap<_, _> = hits.iter().map(|hit| (hit.document.id, hit.document.sealed)).collect();
    let PostOutcome::Stored(post_id) = posted.outcomes[0] else { panic!("{posted:?}") };
    assert_eq!(sealed_flags, BTreeMap::from([(sealed_id, true), (plain_id, false), (post_id, false)]));
    // A look-up reads the flag through its own statement.
    let report = store.indicator_report(IndicatorKind::Url, "https://example.org/x".into(), 10).await.unwrap().unwrap();
    let flags: BTreeSet<_> = report.recent_documents.iter().map(|d| (d.id, d.sealed)).collect();
    assert_eq!(flags, BTreeSet::from([(sealed_id, true), (plain_id, false)]));
}

async fn follow_ups_are_tip_documents_counted_on_their_tip(engine: Engine) {
    let store = &engine.store;
    let original = store.insert_tip(tip("un signalement", 3_600, [4; 32])).await.unwrap();
    let mut more = tip("la suite: telegram:relais_example", 7_200, [0; 32]).document;
    more.mentioned_accounts = vec![telegram("relais_example")];
    let first = store.add_tip_follow_up(original.document, more.clone()).await.unwrap().unwrap();
    assert_eq!(first.follow_up_count, 1);
    assert_eq!(first.first_seen_accounts.len(), 1, "a follow-up's accounts are tracked like a tip's");
    let second = store.add_tip_follow_up(original.document, more.clone()).await.unwrap().unwrap();
    assert_eq!(second.follow_up_count, 2);
    assert!(second.first_seen_accounts.is_empty());
    let found = store.tip_by_receipt([4; 32]).await.unwrap().unwrap();
    assert_eq!(found.state.follow_up_count, 2);

    // Follow-ups are tip documents that name their tip; the tip names none.
    let hits = store.search(search_all()).await.unwrap();
    let follow_up_of: BTreeMap<_, _> = hits.iter().map(|hit| (hit.document.id, hit.document.follow_up_of)).collect();
    assert_eq!(
        follow_up_of,
        BTreeMap::from([
            (original.document, None),
            (first.document, Some(original.document)),
            (second.document, Some(original.document))
        ])
    );
    assert!(hits.iter().all(|hit| hit.document.kind == DocumentKind::Tip));

    // Not a tip: a post, or no document at all. Nothing is stored.
    let post = store.insert_posts(vec![post("1", "un message", 3_600)], ingested()).await.unwrap();
    let PostOutcome::Stored(post_id) = post.outcomes[0] else { panic!("{post:?}") };
    assert_eq!(store.add_tip_follow_up(post_id, more.clone()).await.unwrap(), None);
    assert_eq!(store.add_tip_follow_up(post_id + 1_000, more.clone()).await.unwrap(), None);
    assert_eq!(store.search(search_all()).await.unwrap().len(), 4);

    // A follow-up the schema refuses counts for nothing.
    let mut broken = more;
    broken.platform = Some("telegram".into());
    broken.platform_post_id = Some("9".into());
    assert!(store.add_tip_follow_up(original.document, broken).await.is_err());
    assert_eq!(store.tip_by_receipt([4; 32]).await.unwrap().unwrap().state.follow_up_count, 2);
    assert_eq!(store.search(search_all()).await.unwrap().len(), 4);
}

async fn duplicate_posts_within_and_across_batches(engine: Engine) {
    let store = &engine.store;
    let url = || sighting(IndicatorKind::Url, "https://example.org/x");
    let with_url = |id: &str, text: &str, at| vigil_store::NewDocument { sightings: vec![url()], ..post(id, text, at) };
    let first = store
        .insert_posts(vec![with_url("1", "a", 100), with_url("2", "b", 200), with_url("1", "a again", 150)], ingested())
        .await
        .unwrap();
    let [PostOutcome::Stored(one), PostOutcome::Stored(two), PostOutcome::Duplicate(dup)] = first.outcomes[..] else {
        panic!("stored, stored, duplicate: {:?}", first.outcomes);
    };
    assert_ne!(one, two);
    assert_eq!(dup, one, "a duplicate names the document stored");
    // The author is new in the first post only, and is listed once.
    assert_eq!(first.first_seen_accounts.len(), 1);
    assert_eq!(first.authors, first.first_seen_accounts);

    let again = store.insert_posts(vec![with_url("2", "b", 200), with_url("3", "c", 300)], ingested()).await.unwrap();
    let [PostOutcome::Duplicate(dup), PostOutcome::Stored(three)] = again.outcomes[..] else {
        panic!("duplicate, stored: {:?}", again.outcomes);
    };
    assert_eq!(dup, two);
    assert!(three != one && three != two);
    assert!(again.first_seen_accounts.is_empty());
    assert_eq!(again.authors, first.authors, "the author of the post stored");

    // A batch of duplicates only stores nothing and names no author.
    let none = store.insert_posts(vec![with_url("1", "a", 100)], ingested()).await.unwrap();
    assert_eq!(none.outcomes, vec![PostOutcome::Duplicate(one)]);
    assert!(none.authors.is_empty() && none.first_seen_accounts.is_empty());

    // The same platform post id on another platform is another post.
    let elsewhere = vigil_store::NewDocument {
        platform: Some("x".into()),
        author: Some(AccountKey {
            platform: "x".into(),
            handle: Some("example_user".into()),
            platform_account_id: None,
        }),
        ..with_url("1", "a", 400)
    };
    let other = store.insert_posts(vec![elsewhere], ingested()).await.unwrap();
    assert!(matches!(other.outcomes[..], [PostOutcome::Stored(id)] if id != one));

    let report = store.indicator_report(IndicatorKind::Url, "https://example.org/x".into(), 10).await.unwrap().unwrap();
    assert_eq!(report.indicator.sighting_count, 4, "duplicates are not sightings");
    assert_eq!(store.search(search_all()).await.unwrap().len(), 4);
    let channel = store.known_accounts(vec![telegram("example_channel")]).await.unwrap().remove(0).unwrap();
    assert_eq!(channel.document_count, 3);
}

async fn first_seen_accounts_are_reported_once(engine: Engine) {
    let store = &engine.store;
    let mut a = post_by("1", "alpha_example", "un", 100);
    a.mentioned_accounts = vec![telegram("bravo_example"), telegram("alpha_example")];
    let mut b = post_by("2", "bravo_example", "deux", 200);
    b.mentioned_accounts = vec![telegram("charlie_example")];
    let c = post_by("3", "alpha_example", "trois", 300);
    let stored = store.insert_posts(vec![a, b, c], ingested()).await.unwrap();
    let ids = store
        .known_accounts(vec![telegram("alpha_example"), telegram("bravo_example"), telegram("charlie_example")])
        .await
        .unwrap()
        .into_iter()
        .map(|account| account.expect("every account is stored").id)
        .collect::<Vec<_>>();
    let first_seen: BTreeSet<_> = stored.first_seen_accounts.iter().copied().collect();
    assert_eq!(first_seen.len(), stored.first_seen_accounts.len(), "each account once: {stored:?}");
    assert_eq!(first_seen, ids.iter().copied().collect());
    assert_eq!(stored.authors, vec![ids[0], ids[1]], "authors in the order of their first post, each once");

    let mut d = post_by("4", "delta_example", "quatre", 400);
    d.mentioned_accounts = vec![telegram("alpha_example")];
    let later = store.insert_posts(vec![d], ingested()).await.unwrap();
    assert_eq!(later.first_seen_accounts.len(), 1, "only delta is new: {later:?}");
    assert_eq!(later.authors, later.first_seen_accounts);

    let alpha = store.known_accounts(vec![telegram("alpha_example")]).await.unwrap().remove(0).unwrap();
    // Authored 1 and 3 (named in 1 too: one link), named in 4.
    assert_eq!((alpha.first_seen, alpha.last_seen, alpha.document_count), (100, 400, 3));
}

async fn indicator_counts_and_report_order(engine: Engine) {
    let store = &engine.store;
    let wallet = || sighting(IndicatorKind::Btc, "bc1qexamplewallet0000000000000000000000");
    let mut newer = post_by("1", "alpha_example", "don", 500);
    newer.sightings = vec![wallet(), sighting(IndicatorKind::Hashtag, "example_tag")];
    newer.mentioned_accounts = vec![telegram("relay_example")];
    let mut older = post_by("2", "bravo_example", "don", 100);
    older.sightings = vec![wallet()];
    let mut tie = post_by("3", "charlie_example", "don", 500);
    tie.sightings = vec![wallet()];
    let stored = store.insert_posts(vec![newer, older], ingested()).await.unwrap();
    let tied = store.insert_posts(vec![tie], ingested()).await.unwrap();
    let ids: Vec<_> = stored
        .outcomes
        .iter()
        .chain(&tied.outcomes)
        .map(|outcome| match outcome {
            PostOutcome::Stored(id) => *id,
            other => panic!("stored: {other:?}"),
        })
        .collect();

    let report = store
        .indicator_report(IndicatorKind::Btc, "bc1qexamplewallet0000000000000000000000".into(), 10)
        .await
        .unwrap()
        .unwrap();
    // An older post stored later moves first_seen back.
    assert_eq!(
        (report.indicator.first_seen, report.indicator.last_seen, report.indicator.sighting_count),
        (100, 500, 3)
    );
    // Newest first; equal times, the greater id first.
    let order: Vec<_> = report.recent_documents.iter().map(|d| d.id).collect();
    assert_eq!(order, vec![ids[2], ids[0], ids[1]]);
    let mut handles: Vec<_> = report.accounts.iter().filter_map(|a| a.handle.clone()).collect();
    handles.sort();
    assert_eq!(handles, ["alpha_example", "bravo_example", "charlie_example", "relay_example"]);

    let newest_two = store
        .indicator_report(IndicatorKind::Btc, "bc1qexamplewallet0000000000000000000000".into(), 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest_two.recent_documents.iter().map(|d| d.id).collect::<Vec<_>>(), order[..2]);
    let mut handles: Vec<_> = newest_two.accounts.iter().filter_map(|a| a.handle.clone()).collect();
    handles.sort();
    assert_eq!(handles, ["alpha_example", "charlie_example", "relay_example"], "accounts of the documents shown");
    assert_eq!(newest_two.indicator.sighting_count, 3, "the count is all time");

    let tag = store.indicator_report(IndicatorKind::Hashtag, "example_tag".into(), 10).await.unwrap().unwrap();
    assert_eq!(tag.indicator.sighting_count, 1);
    assert!(store.indicator_report(IndicatorKind::Hashtag, "absent_tag".into(), 10).await.unwrap().is_none());
    // The kind is part of the key.
    assert!(store.indicator_report(IndicatorKind::Domain, "example_tag".into(), 10).await.unwrap().is_none());
}

async fn a_failing_batch_stores_nothing(engine: Engine) {
    let store = &engine.store;
    let mut good = post_by("1", "alpha_example", "a", 100);
    good.sightings = vec![sighting(IndicatorKind::Hashtag, "x")];
    good.mentioned_accounts = vec![telegram("bravo_example")];
    good.categories = vec![("threat".into(), 0.5)];
    let mut broken = post_by("2", "charlie_example", "b", 200);
    broken.platform = None; // a post without its platform breaks the schema's rule
    let result = store.insert_posts(vec![good.clone(), broken], ingested()).await;
    assert!(result.is_err(), "{result:?}");
    assert_nothing_stored(store).await;

    // The same with a tip: one that breaks the rule (a tip with a platform
    // post key) leaves nothing behind either.
    let mut bad_tip = tip("signalement", 3_600, [3; 32]);
    bad_tip.document.platform = Some("telegram".into());
    bad_tip.document.platform_post_id = Some("9".into());
    bad_tip.document.mentioned_accounts = vec![telegram("alpha_example")];
    assert!(store.insert_tip(bad_tip).await.is_err());
    assert_nothing_stored(store).await;
    assert_eq!(store.tip_by_receipt([3; 32]).await.unwrap(), None);

    // The store still works, and the good post alone goes in.
    let stored = store.insert_posts(vec![good], ingested()).await.unwrap();
    assert!(matches!(stored.outcomes[..], [PostOutcome::Stored(_)]));
    assert_eq!(stored.first_seen_accounts.len(), 2);
}

async fn assert_nothing_stored(store: &Arc<dyn Store>) {
    let hits = store.search(search_all()).await.unwrap();
    assert!(hits.is_empty(), "nothing of the failed request is visible: {hits:?}");
    let known = store
        .known(
            vec![key(IndicatorKind::Hashtag, "x"), key(IndicatorKind::Url, "https://example.org/x")],
            vec![telegram("alpha_example"), telegram("bravo_example"), telegram("charlie_example")],
        )
        .await
        .unwrap();
    assert!(known.indicators.is_empty(), "{known:?}");
    assert_eq!(known.accounts, vec![None, None, None]);
}

async fn accounts_learn_their_platform_id(engine: Engine) {
    let store = &engine.store;
    let by_id = AccountKey { platform: "x".into(), handle: None, platform_account_id: Some("42".into()) };
    let both = AccountKey {
        platform: "x".into(),
        handle: Some("example_user".into()),
        platform_account_id: Some("42".into()),
    };
    let first =
        vigil_store::NewDocument { author: Some(by_id.clone()), platform: Some("x".into()), ..post("1", "a", 100) };
    let second = vigil_store::NewDocument { author: Some(both), platform: Some("x".into()), ..post("2", "b", 200) };
    let stored = store.insert_posts(vec![first, second], ingested()).await.unwrap();
    assert_eq!(stored.first_seen_accounts.len(), 1, "one account, met twice");
    let by_handle = AccountKey { platform: "x".into(), handle: Some("example_user".into()), platform_account_id: None };
    let found = store.known_accounts(vec![by_handle, by_id]).await.unwrap();
    let account = found[0].clone().unwrap();
    assert_eq!((account.platform_account_id.as_deref(), account.document_count), (Some("42"), 2));
    assert_eq!(found[1].as_ref().map(|a| a.id), Some(account.id));
    // A known handle is never overwritten by another one.
    let renamed = AccountKey {
        platform: "x".into(),
        handle: Some("example_user_2".into()),
        platform_account_id: Some("42".into()),
    };
    let third = vigil_store::NewDocument { author: Some(renamed), platform: Some("x".into()), ..post("3", "c", 300) };
    store.insert_posts(vec![third], ingested()).await.unwrap();
    let account = store
        .known_accounts(vec![AccountKey { platform: "x".into(), handle: None, platform_account_id: Some("42".into()) }])
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(account.handle.as_deref(), Some("example_user"));
    assert_eq!(account.document_count, 3);
}

async fn known_finds_indicators_and_accounts_in_one_read(engine: Engine) {
    let store = &engine.store;
    let mut a = post("1", "a", 100);
    a.sightings = vec![sighting(IndicatorKind::Domain, "example.org"), sighting(IndicatorKind::Ipv4, "192.0.2.1")];
    let mut b = post("2", "b", 200);
    b.sightings = vec![sighting(IndicatorKind::Domain, "example.org")];
    b.author = Some(AccountKey { platform: "x".into(), handle: None, platform_account_id: Some("77".into()) });
    store.insert_posts(vec![a, b], ingested()).await.unwrap();

    let asked = vec![
        key(IndicatorKind::Ipv4, "198.51.100.1"),
        key(IndicatorKind::Domain, "example.org"),
        key(IndicatorKind::Ipv4, "192.0.2.1"),
        key(IndicatorKind::Url, "example.org"),
    ];
    let accounts = vec![
        telegram("nobody_example"),
        telegram("example_channel"),
        AccountKey {
            platform: "x".into(),
            handle: Some("unknown_example".into()),
            platform_account_id: Some("77".into()),
        },
        AccountKey { platform: "telegram".into(), handle: None, platform_account_id: Some("77".into()) },
    ];
    let known = store.known(asked.clone(), accounts.clone()).await.unwrap();
    let found: BTreeMap<(String, String), (i64, i64, u64)> = known
        .indicators
        .iter()
        .map(|i| ((i.kind.as_str().to_owned(), i.value.clone()), (i.first_seen, i.last_seen, i.sighting_count)))
        .collect();
    let expected = BTreeMap::from([
        (("domain".to_owned(), "example.org".to_owned()), (100, 200, 2)),
        (("ipv4".to_owned(), "192.0.2.1".to_owned()), (100, 100, 1)),
    ]);
    assert_eq!(found, expected);
    let handles: Vec<Option<(String, Option<String>)>> = known
        .accounts
        .iter()
        .map(|a| a.as_ref().map(|a| (a.platform.clone(), a.handle.clone().or(a.platform_account_id.clone()))))
        .collect();
    assert_eq!(
        handles,
        vec![
            None,
            Some(("telegram".into(), Some("example_channel".into()))),
            Some(("x".into(), Some("77".into()))),
            None
        ],
        "in key order; a key matches by handle or by platform id, on its platform only"
    );
    // The two single look-ups agree with the combined one.
    let mut single = store.known_indicators(asked).await.unwrap();
    let mut combined = known.indicators.clone();
    single.sort_by(|a, b| a.value.cmp(&b.value));
    combined.sort_by(|a, b| a.value.cmp(&b.value));
    assert_eq!(single, combined);
    assert_eq!(store.known_accounts(accounts).await.unwrap(), known.accounts);
    let empty = store.known(vec![], vec![]).await.unwrap();
    assert!(empty.indicators.is_empty() && empty.accounts.is_empty());
}

/// Many writers at once, with overlapping posts, indicators and accounts:
/// each post is stored once, every count is exact. On PostgreSQL this runs
/// the retry of transactions that lose a race; SQLite serializes writers.
async fn concurrent_overlapping_batches_store_each_post_once(engine: Engine) {
    const POSTS: usize = 60;
    const WRITERS: usize = 8;
    let document = |n: usize| {
        let mut post = post_by(&n.to_string(), &format!("author_{}", n % 7), &format!("texte {n}"), 1_000 + n as i64);
        post.sightings = vec![
            sighting(IndicatorKind::Hashtag, &format!("tag_{}", n % 5)),
            sighting(IndicatorKind::Domain, &format!("site{}.example.org", n % 11)),
            sighting(IndicatorKind::Hashtag, "everywhere"),
        ];
        post.mentioned_accounts =
            vec![telegram(&format!("named_{}", n % 3)), telegram(&format!("author_{}", (n + 1) % 7))];
        post
    };
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = engine.store.clone();
        writers.push(tokio::spawn(async move {
            // Each writer covers half the posts, from its own start, in
            // batches of five, forwards or backwards.
            let mut numbers: Vec<usize> = (0..POSTS / 2).map(|i| (writer * 7 + i) % POSTS).collect();
            if writer % 2 == 1 {
                numbers.reverse();
            }
            let mut results = Vec::new();
            for batch in numbers.chunks(5) {
                let posts = batch.iter().map(|&n| document(n)).collect();
                results.push((batch.to_vec(), store.insert_posts(posts, ingested()).await?));
            }
            Ok::<_, vigil_store::StoreError>(results)
        }));
    }
    // Every writer finishes before anything is asserted, so that a failure
    // leaves no transaction running when the schema is dropped.
    let mut finished = Vec::new();
    for writer in writers {
        finished.push(writer.await.expect("a writer task runs to its end"));
    }
    let mut stored_as: BTreeMap<usize, i64> = BTreeMap::new();
    let mut duplicates: Vec<(usize, i64)> = Vec::new();
    let mut first_seen: Vec<i64> = Vec::new();
    let failures: Vec<String> = finished.iter().filter_map(|f| f.as_ref().err()).map(describe).collect();
    assert!(failures.is_empty(), "{} of {WRITERS} writers failed; the first: {}", failures.len(), failures[0]);
    for results in finished {
        for (numbers, stored) in results.unwrap() {
            assert_eq!(numbers.len(), stored.outcomes.len());
            first_seen.extend(&stored.first_seen_accounts);
            for (n, outcome) in numbers.into_iter().zip(stored.outcomes) {
                match outcome {
                    PostOutcome::Stored(id) => assert!(stored_as.insert(n, id).is_none(), "post {n} stored twice"),
                    PostOutcome::Duplicate(id) => duplicates.push((n, id)),
                }
            }
        }
    }
    let covered: HashSet<usize> = (0..WRITERS).flat_map(|w| (0..POSTS / 2).map(move |i| (w * 7 + i) % POSTS)).collect();
    assert_eq!(stored_as.len(), covered.len(), "every post stored exactly once");
    for (n, id) in duplicates {
        assert_eq!(stored_as.get(&n), Some(&id), "a duplicate of post {n} names the stored one");
    }
    let ids: HashSet<i64> = stored_as.values().copied().collect();
    assert_eq!(ids.len(), stored_as.len(), "distinct documents have distinct ids");
    let hits = engine.store.search(search_all()).await.unwrap();
    assert_eq!(hits.len(), covered.len());

    // Counts, from the posts stored.
    let posts: Vec<usize> = covered.iter().copied().collect();
    let count = |predicate: &dyn Fn(usize) -> bool| posts.iter().filter(|&&n| predicate(n)).count() as u64;
    for tag in 0..5 {
        let found =
            engine.store.known_indicators(vec![key(IndicatorKind::Hashtag, &format!("tag_{tag}"))]).await.unwrap();
        assert_eq!(found[0].sighting_count, count(&|n| n % 5 == tag), "tag_{tag}");
    }
    let everywhere = engine.store.known_indicators(vec![key(IndicatorKind::Hashtag, "everywhere")]).await.unwrap();
    assert_eq!(everywhere[0].sighting_count, posts.len() as u64);
    let mut account_keys: Vec<String> = (0..7).map(|a| format!("author_{a}")).collect();
    account_keys.extend((0..3).map(|m| format!("named_{m}")));
    let accounts =
        engine.store.known_accounts(account_keys.iter().map(|handle| telegram(handle)).collect()).await.unwrap();
    for (handle, account) in account_keys.iter().zip(&accounts) {
        let account = account.as_ref().unwrap_or_else(|| panic!("{handle} is stored"));
        let expected = match handle.strip_prefix("author_") {
            Some(a) => {
                let a: usize = a.parse().unwrap();
                // Authored, or named as the next author; one link per document.
                count(&|n| n % 7 == a || (n + 1) % 7 == a)
            }
            None => {
                let m: usize = handle.strip_prefix("named_").unwrap().parse().unwrap();
                count(&|n| n % 3 == m)
            }
        };
        assert_eq!(account.document_count, expected, "{handle}");
    }
    let account_ids: BTreeSet<i64> = accounts.iter().map(|a| a.as_ref().unwrap().id).collect();
    let mut first_seen_sorted = first_seen.clone();
    first_seen_sorted.sort_unstable();
    assert_eq!(first_seen_sorted, account_ids.into_iter().collect::<Vec<_>>(), "every account first seen once");
}

/// The error with PostgreSQL's own code and message, which the error's
/// display leaves out.
fn describe(error: &vigil_store::StoreError) -> String {
    match error {
        vigil_store::StoreError::Postgres(postgres) => match postgres.as_db_error() {
            Some(db) => format!("{error} ({}: {})", db.code().code(), db.message()),
            None => format!("{error} ({postgres:?})"),
        },
        other => other.to_string(),
    }
}
