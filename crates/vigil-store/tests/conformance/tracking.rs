//! Tracking: accounts, their status and profiles, history, successor
//! proposals and reviews, alerts.

use std::collections::BTreeSet;

use vigil_store::{
    AccountEventKind, AccountFilter, AccountId, AccountKey, AccountSelector, AccountStatus, IndicatorKind,
    NewSuccessor, ProfileSnapshot, ReviewOutcome, StatusChange, SuccessorReview, SuccessorState,
};

use crate::data::{ingested, key, post_by, sighting, snapshot, telegram};
use crate::harness::Engine;

conformance!(
    status_changes_and_snapshots_are_history,
    accounts_met_in_posts_start_with_a_first_seen_event,
    list_accounts_filters_and_pages,
    a_snapshot_replaces_the_current_profile,
    tracked_accounts_show_links_and_recent_posts,
    successors_are_proposed_once_reviewed_once_and_alerted_in_order,
    a_rejected_successor_is_remembered,
    alerts_resume_after_an_id,
);

fn change(account: AccountSelector, status: AccountStatus, at: i64) -> StatusChange {
    StatusChange { account, status, reported_to: None, at, changed_by: "analyst-a".into(), note: None }
}

fn proposal(account: AccountId, predecessor: AccountId, found_at: i64) -> NewSuccessor {
    NewSuccessor {
        account,
        predecessor,
        score: 0.9,
        evidence: vec!["handle abu_example_2 ~ abu_example".into(), "same avatar".into()],
        explanation: "handle abu_example_2 ~ abu_example; same avatar".into(),
        found_at,
    }
}

fn review(successor: i64, confirm: bool, at: i64) -> SuccessorReview {
    SuccessorReview { successor, confirm, reviewed_by: "analyst-a".into(), note: Some("checked".into()), at }
}

async fn status_changes_and_snapshots_are_history(engine: Engine) {
    let store = &engine.store;
    let first = store.record_profile_snapshot(snapshot(telegram("abu_example"), "Abu Example", 1_000)).await.unwrap();
    assert!(first.first_seen);
    assert_eq!(first.account.display_name.as_deref(), Some("Abu Example"));
    assert_eq!((first.account.first_seen, first.account.status), (1_000, AccountStatus::Active));
    let again = store.record_profile_snapshot(snapshot(telegram("abu_example"), "Abu Example 2", 1_100)).await.unwrap();
    assert!(!again.first_seen);
    assert_eq!(again.account.id, first.account.id);

    let reported = StatusChange {
        reported_to: Some("telegram".into()),
        note: Some("threatens a journalist".into()),
        ..change(AccountSelector::Key(telegram("abu_example")), AccountStatus::Reported, 2_000)
    };
    let (account, event) = store.change_account_status(reported.clone()).await.unwrap().unwrap();
    assert_eq!((account.status, account.status_changed_at), (AccountStatus::Reported, 2_000));
    assert_eq!((event.kind, event.at, event.account_id), (AccountEventKind::StatusChanged, 2_000, account.id));
    assert_eq!((event.status, event.reported_to.as_deref()), (Some(AccountStatus::Reported), Some("telegram")));
    assert_eq!((event.changed_by.as_str(), event.note.as_deref()), ("analyst-a", Some("threatens a journalist")));
    let unknown = StatusChange { account: AccountSelector::Key(telegram("nobody_example")), ..reported.clone() };
    assert_eq!(store.change_account_status(unknown).await.unwrap(), None);
    let unknown_id = StatusChange { account: AccountSelector::Id(987_654), ..reported };
    assert_eq!(store.change_account_status(unknown_id).await.unwrap(), None);

    let history = store.account_history(AccountSelector::Id(account.id), 10).await.unwrap().unwrap();
    assert_eq!(history.account, account);
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
    assert_eq!(history.events[0], event);
    let snapshot = history.events[1].snapshot.as_ref().unwrap();
    assert_eq!(snapshot.display_name.as_deref(), Some("Abu Example 2"));
    assert_eq!(snapshot.bio.as_deref(), Some("canal https://example.org/a"));
    assert_eq!(snapshot.avatar_sha256, Some("ab".repeat(32)));
    assert_eq!(snapshot.links, vec![key(IndicatorKind::Url, "https://example.org/a")]);
    assert_eq!((history.events[1].changed_by.as_str(), history.events[1].at), ("crawler-example", 1_100));
    assert!(history.successors.is_empty() && history.predecessors.is_empty());

    let reported =
        AccountFilter { statuses: vec![AccountStatus::Reported], platform: None, actor: None, after: None, limit: 10 };
    assert_eq!(store.list_accounts(reported.clone()).await.unwrap(), vec![account.clone()]);
    let after = AccountFilter { after: Some(account.id), ..reported };
    assert!(store.list_accounts(after).await.unwrap().is_empty());
}

async fn accounts_met_in_posts_start_with_a_first_seen_event(engine: Engine) {
    let store = &engine.store;
    let mut document = post_by("1", "alpha_example", "un", 500);
    document.mentioned_accounts = vec![telegram("bravo_example")];
    store.insert_posts(vec![document], ingested()).await.unwrap();
    for handle in ["alpha_example", "bravo_example"] {
        let history = store.account_history(AccountSelector::Key(telegram(handle)), 10).await.unwrap().unwrap();
        assert_eq!(history.events.len(), 1, "{handle}: {history:?}");
        let event = &history.events[0];
        assert_eq!((event.kind, event.at, event.changed_by.as_str()), (AccountEventKind::FirstSeen, 500, "vigil"));
        assert_eq!(event.account_id, history.account.id);
        assert_eq!((event.status, event.snapshot.as_ref(), event.related_account_id), (None, None, None));
        let by_id = store.account_history(AccountSelector::Id(history.account.id), 10).await.unwrap().unwrap();
        assert_eq!(by_id, history);
    }
    let alpha = AccountSelector::Key(telegram("alpha_example"));
    for (at, status) in [(600, AccountStatus::Reported), (700, AccountStatus::Suspended)] {
        store.change_account_status(change(alpha.clone(), status, at)).await.unwrap().unwrap();
    }
    let newest = store.account_history(alpha.clone(), 2).await.unwrap().unwrap();
    let statuses: Vec<_> = newest.events.iter().map(|e| (e.at, e.status)).collect();
    assert_eq!(statuses, [(700, Some(AccountStatus::Suspended)), (600, Some(AccountStatus::Reported))]);
    assert_eq!(newest.account.status, AccountStatus::Suspended);
    assert_eq!(store.account_history(alpha, 0).await.unwrap().unwrap().events, vec![]);
    assert!(store.account_history(AccountSelector::Key(telegram("nobody_example")), 10).await.unwrap().is_none());
    assert!(store.account_history(AccountSelector::Id(987_654), 10).await.unwrap().is_none());
}

async fn list_accounts_filters_and_pages(engine: Engine) {
    let store = &engine.store;
    let mut ids = Vec::new();
    for (n, platform) in ["telegram", "x", "telegram", "telegram", "x", "tiktok"].iter().enumerate() {
        let account = AccountKey {
            platform: (*platform).into(),
            handle: Some(format!("user_{n}_example")),
            platform_account_id: None,
        };
        let stored = store.record_profile_snapshot(snapshot(account, "User", 100 + n as i64)).await.unwrap();
        ids.push(stored.account.id);
    }
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids grow: {ids:?}");
    for (index, status) in [(1, AccountStatus::Reported), (2, AccountStatus::Suspended), (4, AccountStatus::Suspended)]
    {
        store.change_account_status(change(AccountSelector::Id(ids[index]), status, 1_000)).await.unwrap().unwrap();
    }
    let filter = AccountFilter { statuses: vec![], platform: None, actor: None, after: None, limit: 100 };
    let listed = |filter: AccountFilter| {
        let store = store.clone();
        async move { store.list_accounts(filter).await.unwrap().into_iter().map(|a| a.id).collect::<Vec<_>>() }
    };
    assert_eq!(listed(filter.clone()).await, ids);
    assert_eq!(
        listed(AccountFilter { statuses: vec![AccountStatus::Suspended], ..filter.clone() }).await,
        [ids[2], ids[4]]
    );
    let two = vec![AccountStatus::Suspended, AccountStatus::Reported];
    assert_eq!(listed(AccountFilter { statuses: two.clone(), ..filter.clone() }).await, [ids[1], ids[2], ids[4]]);
    assert_eq!(
        listed(AccountFilter { statuses: vec![AccountStatus::Active], ..filter.clone() }).await,
        [ids[0], ids[3], ids[5]]
    );
    assert_eq!(
        listed(AccountFilter { platform: Some("telegram".into()), ..filter.clone() }).await,
        [ids[0], ids[2], ids[3]]
    );
    let x_suspended =
        AccountFilter { platform: Some("x".into()), statuses: vec![AccountStatus::Suspended], ..filter.clone() };
    assert_eq!(listed(x_suspended).await, [ids[4]]);
    assert!(listed(AccountFilter { platform: Some("mastodon".into()), ..filter.clone() }).await.is_empty());

    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = listed(AccountFilter { after, limit: 4, ..filter.clone() }).await;
        assert!(page.len() <= 4);
        let Some(&last) = page.last() else { break };
        after = Some(last);
        walked.extend(page);
    }
    assert_eq!(walked, ids);
    assert_eq!(listed(AccountFilter { limit: 0, ..filter }).await, Vec::<AccountId>::new());
}

async fn a_snapshot_replaces_the_current_profile(engine: Engine) {
    let store = &engine.store;
    store.insert_posts(vec![post_by("1", "abu_example", "un", 100)], ingested()).await.unwrap();
    let first = store.record_profile_snapshot(snapshot(telegram("abu_example"), "Abu", 200)).await.unwrap();
    assert!(!first.first_seen, "known from a post already");
    assert_eq!((first.account.first_seen, first.account.last_seen), (100, 200));
    assert_eq!(first.account.avatar_sha256, Some("ab".repeat(32)));
    assert_eq!(first.account.document_count, 1);

    let mut next = snapshot(telegram("abu_example"), "Abu (nouveau)", 300);
    next.snapshot = ProfileSnapshot {
        display_name: Some("Abu (nouveau)".into()),
        bio: None,
        avatar_sha256: None,
        links: vec![key(IndicatorKind::Domain, "example.net"), key(IndicatorKind::Btc, "bc1qexamplewallet")],
    };
    let second = store.record_profile_snapshot(next).await.unwrap();
    assert_eq!(second.account.display_name.as_deref(), Some("Abu (nouveau)"));
    assert_eq!(second.account.avatar_sha256, None, "a snapshot is the whole profile");
    let tracked = store.tracked_accounts(Some(vec![second.account.id]), 0, 10).await.unwrap();
    let links: BTreeSet<_> = tracked[0].links.iter().map(|l| (l.kind.as_str(), l.value.clone())).collect();
    assert_eq!(links, BTreeSet::from([("btc", "bc1qexamplewallet".into()), ("domain", "example.net".into())]));
    let history = store.account_history(AccountSelector::Id(second.account.id), 10).await.unwrap().unwrap();
    let kinds: Vec<_> = history.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [AccountEventKind::ProfileSnapshot, AccountEventKind::ProfileSnapshot, AccountEventKind::FirstSeen]
    );
    let newest = history.events[0].snapshot.clone().unwrap();
    assert_eq!((newest.bio, newest.avatar_sha256, newest.links.len()), (None, None, 2));

    // A snapshot by platform id creates an account with that id only.
    let by_id = AccountKey { platform: "x".into(), handle: None, platform_account_id: Some("4242".into()) };
    let created = store.record_profile_snapshot(snapshot(by_id.clone(), "Sans nom", 400)).await.unwrap();
    assert!(created.first_seen);
    assert_eq!(
        (created.account.handle.as_deref(), created.account.platform_account_id.as_deref()),
        (None, Some("4242"))
    );
    assert_eq!(store.known_accounts(vec![by_id]).await.unwrap()[0].as_ref().map(|a| a.id), Some(created.account.id));
}

async fn tracked_accounts_show_links_and_recent_posts(engine: Engine) {
    let store = &engine.store;
    let mut posts = Vec::new();
    for (n, at) in [100, 200, 300].into_iter().enumerate() {
        let mut document = post_by(&n.to_string(), "abu_example", "texte", at);
        document.sightings = vec![sighting(IndicatorKind::Hashtag, &format!("tag_{n}"))];
        posts.push(document);
    }
    // Named in someone else's post: not something the account posted.
    let mut other = post_by("9", "other_example", "texte", 400);
    other.sightings = vec![sighting(IndicatorKind::Hashtag, "not_posted")];
    other.mentioned_accounts = vec![telegram("abu_example")];
    posts.push(other);
    store.insert_posts(posts, ingested()).await.unwrap();
    let abu = store.record_profile_snapshot(snapshot(telegram("abu_example"), "Abu", 500)).await.unwrap().account;

    let tracked = store.tracked_accounts(Some(vec![abu.id]), 150, 10).await.unwrap();
    assert_eq!(tracked.len(), 1);
    assert_eq!(tracked[0].record, abu);
    assert_eq!(tracked[0].links, vec![key(IndicatorKind::Url, "https://example.org/a")]);
    let posted: Vec<_> = tracked[0].posted.iter().map(|(k, at)| (k.value.as_str(), *at)).collect();
    assert_eq!(posted, [("tag_2", 300), ("tag_1", 200)], "since 150, newest first, authored only");
    let newest = store.tracked_accounts(Some(vec![abu.id]), 0, 1).await.unwrap();
    assert_eq!(newest[0].posted.iter().map(|(k, _)| k.value.as_str()).collect::<Vec<_>>(), ["tag_2"]);

    let all = store.tracked_accounts(None, 0, 10).await.unwrap();
    let handles: BTreeSet<_> = all.iter().filter_map(|t| t.record.handle.clone()).collect();
    assert_eq!(handles, BTreeSet::from(["abu_example".to_owned(), "other_example".to_owned()]));
    let other = all.iter().find(|t| t.record.handle.as_deref() == Some("other_example")).unwrap();
    assert!(other.links.is_empty());
    assert_eq!(other.posted.len(), 1);
}

async fn successors_are_proposed_once_reviewed_once_and_alerted_in_order(engine: Engine) {
    let store = &engine.store;
    let old = store.record_profile_snapshot(snapshot(telegram("abu_example"), "Abu", 1_000)).await.unwrap().account;
    let new = store.record_profile_snapshot(snapshot(telegram("abu_example_2"), "Abu", 5_000)).await.unwrap().account;
    let other = store.record_profile_snapshot(snapshot(telegram("abu_example_3"), "Abu", 5_100)).await.unwrap().account;
    assert_eq!(store.last_alert_id().await.unwrap(), 0);
    assert!(store.alerts_after(0, 10).await.unwrap().is_empty());
    assert!(store.proposed_successor_pairs().await.unwrap().is_empty());

    let alerts = store
        .propose_successors(vec![
            proposal(new.id, old.id, 5_000),
            proposal(new.id, old.id, 5_000),
            proposal(other.id, old.id, 5_200),
        ])
        .await
        .unwrap();
    assert_eq!(alerts.len(), 2, "a pair is proposed once");
    assert!(alerts[0].id < alerts[1].id);
    let first = alerts[0].successor().unwrap();
    assert_eq!((first.account.id, first.predecessor.id, first.state), (new.id, old.id, SuccessorState::Pending));
    assert_eq!(first.evidence, ["handle abu_example_2 ~ abu_example", "same avatar"]);
    assert_eq!((first.score, first.found_at, alerts[0].raised_at), (0.9, 5_000, 5_000));
    assert_eq!((first.reviewed_by.as_ref(), first.reviewed_at), (None, None));
    assert!(store.propose_successors(vec![proposal(new.id, old.id, 6_000)]).await.unwrap().is_empty());
    assert_eq!(store.alerts_after(alerts[0].id, 10).await.unwrap(), alerts[1..]);
    assert_eq!(store.alerts_after(0, 10).await.unwrap(), alerts);
    assert_eq!(store.last_alert_id().await.unwrap(), alerts[1].id);
    let pairs: BTreeSet<_> = store.proposed_successor_pairs().await.unwrap().into_iter().collect();
    assert_eq!(pairs, BTreeSet::from([(old.id, new.id), (old.id, other.id)]), "(predecessor, account)");

    // Both accounts of a proposal have it in their history.
    let history = store.account_history(AccountSelector::Id(new.id), 10).await.unwrap().unwrap();
    assert_eq!(history.events[0].kind, AccountEventKind::SuccessorProposed);
    assert_eq!(history.events[0].related_account_id, Some(old.id));
    assert_eq!(history.predecessors.len(), 1);
    assert!(history.successors.is_empty());

    let ReviewOutcome::Reviewed(confirmed) = store.review_successor(review(first.id, true, 6_000)).await.unwrap()
    else {
        panic!("a pending successor is reviewed");
    };
    assert_eq!(confirmed.state, SuccessorState::Confirmed);
    assert_eq!((confirmed.reviewed_by.as_deref(), confirmed.reviewed_at), (Some("analyst-a"), Some(6_000)));
    assert_eq!(confirmed.predecessor.status, AccountStatus::Reappeared);
    assert_eq!(confirmed.predecessor.status_changed_at, 6_000);
    let ReviewOutcome::AlreadyReviewed(unchanged) =
        store.review_successor(review(first.id, false, 7_000)).await.unwrap()
    else {
        panic!("a decision is not taken twice");
    };
    assert_eq!(unchanged, confirmed);
    assert_eq!(store.review_successor(review(987_654, true, 6_000)).await.unwrap(), ReviewOutcome::NotFound);

    let history = store.account_history(AccountSelector::Id(old.id), 50).await.unwrap().unwrap();
    assert_eq!(history.successors.len(), 2);
    assert!(history.predecessors.is_empty());
    assert!(history.events.iter().any(|e| e.kind == AccountEventKind::SuccessorConfirmed));
    let reappeared = history.events.iter().find(|e| e.kind == AccountEventKind::StatusChanged).unwrap();
    assert_eq!((reappeared.status, reappeared.at), (Some(AccountStatus::Reappeared), 6_000));
    let new_history = store.account_history(AccountSelector::Id(new.id), 50).await.unwrap().unwrap();
    let confirmed_event = new_history.events.iter().find(|e| e.kind == AccountEventKind::SuccessorConfirmed).unwrap();
    assert_eq!((confirmed_event.related_account_id, confirmed_event.changed_by.as_str()), (Some(old.id), "analyst-a"));
    assert_eq!(new_history.predecessors[0].state, SuccessorState::Confirmed);
}

async fn a_rejected_successor_is_remembered(engine: Engine) {
    let store = &engine.store;
    let old = store.record_profile_snapshot(snapshot(telegram("abu_example"), "Abu", 1_000)).await.unwrap().account;
    let new = store.record_profile_snapshot(snapshot(telegram("abu_example_2"), "Abu", 2_000)).await.unwrap().account;
    let alerts = store.propose_successors(vec![proposal(new.id, old.id, 2_500)]).await.unwrap();
    let ReviewOutcome::Reviewed(rejected) =
        store.review_successor(review(alerts[0].successor().unwrap().id, false, 3_000)).await.unwrap()
    else {
        panic!("reviewed");
    };
    assert_eq!(rejected.state, SuccessorState::Rejected);
    assert_eq!(rejected.predecessor.status, AccountStatus::Active, "a rejection changes no status");
    assert!(store.propose_successors(vec![proposal(new.id, old.id, 4_000)]).await.unwrap().is_empty());
    assert_eq!(store.proposed_successor_pairs().await.unwrap(), vec![(old.id, new.id)]);
    assert!(matches!(
        store.review_successor(review(alerts[0].successor().unwrap().id, true, 5_000)).await.unwrap(),
        ReviewOutcome::AlreadyReviewed(record) if record.state == SuccessorState::Rejected
    ));
    for id in [old.id, new.id] {
        let history = store.account_history(AccountSelector::Id(id), 50).await.unwrap().unwrap();
        let rejected: Vec<_> =
            history.events.iter().filter(|e| e.kind == AccountEventKind::SuccessorRejected).collect();
        assert_eq!(rejected.len(), 1);
        assert_eq!((rejected[0].note.as_deref(), rejected[0].at), (Some("checked"), 3_000));
    }
    // The reverse pair is another pair.
    assert_eq!(store.propose_successors(vec![proposal(old.id, new.id, 6_000)]).await.unwrap().len(), 1);
}

async fn alerts_resume_after_an_id(engine: Engine) {
    let store = &engine.store;
    let mut accounts = Vec::new();
    for n in 0..6 {
        let handle = format!("relay_{n}_example");
        accounts.push(
            store.record_profile_snapshot(snapshot(telegram(&handle), "Relay", 100 + n)).await.unwrap().account.id,
        );
    }
    let mut raised = store
        .propose_successors((1..4).map(|n| proposal(accounts[n], accounts[0], 1_000 + n as i64)).collect())
        .await
        .unwrap();
    raised.extend(
        store.propose_successors((4..6).map(|n| proposal(accounts[n], accounts[0], 2_000)).collect()).await.unwrap(),
    );
    assert_eq!(raised.len(), 5);
    assert!(raised.windows(2).all(|pair| pair[0].id < pair[1].id), "alert ids grow across calls");
    let mut resumed = Vec::new();
    let mut after = 0;
    loop {
        let page = store.alerts_after(after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        resumed.extend(page);
    }
    assert_eq!(resumed, raised);
    assert_eq!(store.last_alert_id().await.unwrap(), raised[4].id);
    assert!(store.alerts_after(raised[4].id, 10).await.unwrap().is_empty());
    assert_eq!(store.alerts_after(raised[1].id, 10).await.unwrap(), raised[2..]);
}
