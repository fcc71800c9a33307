//! Both engines seeded alike must answer alike: the same hits in the same
//! order for newest-first search, the same reports, the same histories.
//! Ids may differ between engines, so records are compared by what they
//! name (a post by its platform key, an account by its handle).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;

use vigil_store::{
    AccountEvent, AccountFilter, AccountKey, AccountRecord, AccountSelector, AccountStatus, ActorChange, ActorKind,
    ActorOutcome, BenignIndicators, ConnectorOrder, DocumentKind, DocumentSummary, GraphCaps, GraphEntity, GraphNodeId,
    GraphStart, GraphWindow, IndicatorKey, IndicatorKind, NeighbourhoodQuery, NewDocument, NewSighting, NewSuccessor,
    PostOutcome, ReportRange, SearchCursor, SearchHit, SearchOrder, SearchQuery, SharedIndicatorQuery, SiteChange,
    SiteSelector, SiteStatus, StatusChange, SuccessorRecord, SuccessorReview, TimelineEntry, TopConnectorQuery,
};

use crate::data::{ingested, key, note, post_by, search, search_all, snapshot, telegram, tip};
use crate::harness::{self, Engine};

/// Seeds the documents both tests share, in batches with duplicates.
/// Returns what `insert_posts` and `insert_tip` said, with ids left out.
async fn seed_documents(engine: &Engine) -> Vec<String> {
    let texts = [
        ("fr", "Appel aux dons pour la cause, émission spéciale #soutien"),
        ("fr", "L'élection et le cœur du réseau, voir https://example.org/a"),
        ("en", "Fundraising campaign for the group, share widely #support"),
        ("en", "The group announced a new campaign on example.net"),
        ("ar", "بيان الدَّوْلَة الإسلامية عن الإعـــلام"),
        ("ar", "الدولة والاعلام في مدينة كبيرة"),
        ("fr", "rien à voir, météo du jour"),
        ("en", "weather report, nothing else"),
    ];
    let authors = ["alpha_example", "bravo_example", "charlie_example", "delta_example", "echo_example"];
    let indicators: [(IndicatorKind, &str); 6] = [
        (IndicatorKind::Hashtag, "soutien"),
        (IndicatorKind::Domain, "example.org"),
        (IndicatorKind::Url, "https://example.org/a"),
        (IndicatorKind::Btc, "bc1qexamplewallet0000000000000000000000"),
        (IndicatorKind::Ipv4, "192.0.2.7"),
        (IndicatorKind::Domain, "t.me"),
    ];
    let document = |n: usize| -> NewDocument {
        let (language, text) = texts[n % texts.len()];
        let author = authors[n % authors.len()];
        // Times with ties, out of id order.
        let at = 10_000 + ((n * 37) % 23) as i64 * 100;
        let mut document = post_by(&format!("p{n}"), author, &format!("{text} n{n}"), at);
        document.language = Some(language.into());
        document.sightings = indicators
            .iter()
            .enumerate()
            .filter(|(i, _)| (n + i).is_multiple_of(3))
            .map(|(_, (kind, value))| NewSighting { indicator: key(*kind, value), span: None })
            .chain([NewSighting { indicator: key(IndicatorKind::Account, &format!("telegram:{author}")), span: None }])
            .collect();
        if n.is_multiple_of(4) {
            let named = authors[(n + 2) % authors.len()];
            document.mentioned_accounts = vec![telegram(named)];
            document
                .sightings
                .push(NewSighting { indicator: key(IndicatorKind::Account, &format!("telegram:{named}")), span: None });
        }
        if n % 5 == 1 {
            document.mentioned_accounts.push(telegram(&format!("named_only_{n}_example")));
        }
        document.categories = match n % 3 {
            0 => vec![("threat".into(), 0.6)],
            1 => vec![("financing".into(), 0.8), ("propaganda".into(), 0.3)],
            _ => vec![],
        };
        document
    };
    let mut said = Vec::new();
    let batches: [&[usize]; 4] =
        [&[0, 1, 2, 3, 4, 5, 6, 7, 3], &[8, 9, 1, 10, 11, 12], &[13, 14, 15, 16, 17, 18, 19, 20], &[20, 21, 22, 23, 0]];
    for batch in batches {
        let stored = engine.store.insert_posts(batch.iter().map(|&n| document(n)).collect(), ingested()).await.unwrap();
        let outcomes: Vec<&str> = stored
            .outcomes
            .iter()
            .map(|outcome| match outcome {
                PostOutcome::Stored(_) => "stored",
                PostOutcome::Duplicate(_) => "duplicate",
            })
            .collect();
        said.push(format!(
            "{outcomes:?} first seen {} authors {}",
            stored.first_seen_accounts.len(),
            stored.authors.len()
        ));
    }
    for (n, (language, text)) in texts.iter().enumerate().take(4) {
        let mut tip = tip(&format!("signalement: {text}"), 12_000 + (n as i64 % 2) * 3_600, [n as u8 + 1; 32]);
        tip.document.language = Some((*language).into());
        tip.document.text_sha256 = format!("{n:064}");
        tip.document.mentioned_accounts = vec![telegram(authors[n]), telegram(&format!("tipped_{n}_example"))];
        let stored = engine.store.insert_tip(tip).await.unwrap();
        said.push(format!("tip first seen {}", stored.first_seen_accounts.len()));
    }
    said
}

fn document_label(document: &DocumentSummary) -> String {
    match document.kind {
        DocumentKind::Post => format!(
            "post {}:{}",
            document.platform.as_deref().unwrap_or("?"),
            document.platform_post_id.as_deref().unwrap_or("?")
        ),
        DocumentKind::Tip => format!("tip {}", document.text_sha256),
    }
}

/// A document as compared: everything but its id.
fn document(document: &DocumentSummary) -> String {
    let mut categories = document.categories.clone();
    categories.sort();
    format!(
        "{} url={:?} language={:?} at={} sha={} categories={categories:?}",
        document_label(document),
        document.url,
        document.language,
        document.observed_at,
        document.text_sha256
    )
}

fn hits(hits: &[SearchHit]) -> Vec<String> {
    hits.iter().map(|hit| format!("{} | {}", document(&hit.document), hit.snippet)).collect()
}

fn account_label(account: &AccountRecord) -> String {
    format!(
        "{}:{}",
        account.platform,
        account.handle.clone().or(account.platform_account_id.clone()).unwrap_or_default()
    )
}

/// An account as compared: everything but its id and its actor's id.
fn account(account: &AccountRecord) -> String {
    format!(
        "{} pid={:?} seen={}..{} documents={} status={:?}@{} name={:?} avatar={:?} actor={}",
        account_label(account),
        account.platform_account_id,
        account.first_seen,
        account.last_seen,
        account.document_count,
        account.status,
        account.status_changed_at,
        account.display_name,
        account.avatar_sha256,
        account.actor_id.is_some()
    )
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

/// Asserts both engines give the same normalized answer.
fn same<T: PartialEq + Debug>(what: &str, sqlite: T, postgres: T) {
    assert_eq!(sqlite, postgres, "{what}: SQLite (left) and PostgreSQL (right) differ");
}

/// Asserts both engines describe the same state, line by line, showing
/// every line that differs.
fn same_lines(what: &str, sqlite: Vec<String>, postgres: Vec<String>) {
    if sqlite == postgres {
        return;
    }
    let mut differences = String::new();
    for line in 0..sqlite.len().max(postgres.len()) {
        let (a, b) = (sqlite.get(line), postgres.get(line));
        if a != b {
            differences.push_str(&format!("line {line}:\n  SQLite:     {a:?}\n  PostgreSQL: {b:?}\n"));
        }
    }
    panic!("{what}: SQLite and PostgreSQL differ\n{differences}");
}

fn queries() -> Vec<(&'static str, SearchQuery)> {
    vec![
        ("all", search_all()),
        ("appel", search(&["appel"])),
        ("emission folded", search(&["emission"])),
        ("campaign", search(&["campaign"])),
        ("phrase", search(&["campaign for the group"])),
        ("two words", search(&["group", "campaign"])),
        ("arabic", search(&["الدولة"])),
        ("arabic variant", search(&["الإعلام"])),
        (
            "posts in english",
            SearchQuery { kinds: vec![DocumentKind::Post], languages: vec!["en".into()], ..search_all() },
        ),
        ("tips", SearchQuery { kinds: vec![DocumentKind::Tip], ..search_all() }),
        ("threat", SearchQuery { categories: vec!["threat".into(), "propaganda".into()], ..search_all() }),
        ("window", SearchQuery { observed_from: Some(10_500), observed_until: Some(11_700), ..search(&["n1"]) }),
        ("limited", SearchQuery { limit: 5, ..search_all() }),
    ]
}

/// Newest-first pages of four, to the end.
async fn walk(engine: &Engine, query: SearchQuery) -> Vec<String> {
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = engine.store.search(SearchQuery { limit: 4, after, ..query.clone() }).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(SearchCursor::Newest { observed_at: last.document.observed_at, id: last.document.id });
        walked.extend(hits(&page));
    }
    walked
}

async fn all_indicators(engine: &Engine) -> Vec<IndicatorKey> {
    // Every indicator a report names, through the documents' own look-up.
    let mut keys = vec![
        key(IndicatorKind::Hashtag, "soutien"),
        key(IndicatorKind::Domain, "example.org"),
        key(IndicatorKind::Url, "https://example.org/a"),
        key(IndicatorKind::Btc, "bc1qexamplewallet0000000000000000000000"),
        key(IndicatorKind::Ipv4, "192.0.2.7"),
        key(IndicatorKind::Domain, "t.me"),
        key(IndicatorKind::Ipv4, "198.51.100.7"),
        key(IndicatorKind::Url, "https://example.org/x"),
    ];
    for account in engine.store.list_accounts(every_account()).await.unwrap() {
        if let Some(handle) = account.handle {
            keys.push(key(IndicatorKind::Account, &format!("{}:{handle}", account.platform)));
        }
    }
    keys
}

fn every_account() -> AccountFilter {
    AccountFilter { statuses: vec![], platform: None, actor: None, after: None, limit: 10_000 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_search_and_lookups_agree() {
    let (sqlite, postgres) = (harness::sqlite().await, harness::postgres().await);
    same("what the writes said", seed_documents(&sqlite).await, seed_documents(&postgres).await);

    for (name, query) in queries() {
        let (a, b) =
            (sqlite.store.search(query.clone()).await.unwrap(), postgres.store.search(query.clone()).await.unwrap());
        assert!(!a.is_empty() || name == "window", "query {name} finds something");
        same(&format!("search {name}"), hits(&a), hits(&b));
        same(&format!("pages of {name}"), walk(&sqlite, query.clone()).await, walk(&postgres, query.clone()).await);
        let relevance = SearchQuery { order: SearchOrder::Relevance, ..query };
        let (a, b) =
            (sqlite.store.search(relevance.clone()).await.unwrap(), postgres.store.search(relevance).await.unwrap());
        same(&format!("relevance set of {name}"), sorted(hits(&a)), sorted(hits(&b)));
    }

    let keys = all_indicators(&sqlite).await;
    same("indicator keys", keys.clone(), all_indicators(&postgres).await);
    for key in &keys {
        for max_documents in [2, 100] {
            let report = |engine: &Engine| {
                let store = engine.store.clone();
                let key = key.clone();
                async move {
                    store.indicator_report(key.kind, key.value, max_documents).await.unwrap().map(|report| {
                        (
                            report.indicator,
                            report.recent_documents.iter().map(document).collect::<Vec<_>>(),
                            sorted(report.accounts.iter().map(account).collect::<Vec<_>>()),
                        )
                    })
                }
            };
            same(&format!("indicator report of {key:?}"), report(&sqlite).await, report(&postgres).await);
        }
    }
    let account_keys: Vec<AccountKey> = ["alpha_example", "nobody_example", "named_only_1_example", "tipped_2_example"]
        .iter()
        .map(|handle| telegram(handle))
        .collect();
    let known = |engine: &Engine| {
        let (store, keys, accounts) = (engine.store.clone(), keys.clone(), account_keys.clone());
        async move {
            let known = store.known(keys, accounts).await.unwrap();
            let mut indicators = known.indicators;
            indicators.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
            (indicators, known.accounts.iter().map(|a| a.as_ref().map(account)).collect::<Vec<_>>())
        }
    };
    same("known", known(&sqlite).await, known(&postgres).await);
    let accounts = |engine: &Engine| {
        let store = engine.store.clone();
        async move { store.list_accounts(every_account()).await.unwrap().iter().map(account).collect::<Vec<_>>() }
    };
    same("every account", accounts(&sqlite).await, accounts(&postgres).await);
    for handle in ["alpha_example", "named_only_1_example", "tipped_0_example"] {
        let history = |engine: &Engine| {
            let store = engine.store.clone();
            async move {
                let history = store.account_history(AccountSelector::Key(telegram(handle)), 50).await.unwrap().unwrap();
                history
                    .events
                    .iter()
                    .map(|e| format!("{:?} at {} by {}", e.kind, e.at, e.changed_by))
                    .collect::<Vec<_>>()
            }
        };
        same(&format!("history of {handle}"), history(&sqlite).await, history(&postgres).await);
    }
}

#[derive(Debug)]
struct BenignHosts;

impl BenignIndicators for BenignHosts {
    fn is_benign(&self, kind: IndicatorKind, value: &str) -> bool {
        kind == IndicatorKind::Domain && value == "t.me"
    }
}

/// Tracking, actors and sites written alike in both engines.
async fn seed_tracking(engine: &Engine) {
    seed_documents(engine).await;
    let store = &engine.store;
    let id = |handle: &'static str| {
        let store = store.clone();
        async move { store.known_accounts(vec![telegram(handle)]).await.unwrap()[0].as_ref().unwrap().id }
    };
    store.record_profile_snapshot(snapshot(telegram("alpha_example"), "Alpha", 20_000)).await.unwrap();
    store.record_profile_snapshot(snapshot(telegram("alpha_example_2"), "Alpha", 30_000)).await.unwrap();
    store.record_profile_snapshot(snapshot(telegram("alpha_example_3"), "Alpha bis", 30_500)).await.unwrap();
    let by_id = AccountKey { platform: "x".into(), handle: None, platform_account_id: Some("4242".into()) };
    store.record_profile_snapshot(snapshot(by_id, "Sans nom", 31_000)).await.unwrap();
    let changes = [
        ("alpha_example", AccountStatus::Reported, 21_000),
        ("alpha_example", AccountStatus::Suspended, 25_000),
        ("bravo_example", AccountStatus::Reported, 22_000),
        ("charlie_example", AccountStatus::Suspended, 23_000),
    ];
    for (handle, status, at) in changes {
        let change = StatusChange {
            account: AccountSelector::Key(telegram(handle)),
            status,
            reported_to: (status == AccountStatus::Reported).then(|| "platform-example".into()),
            at,
            changed_by: "analyst-a".into(),
            note: Some(format!("{handle} {}", status.as_str())),
        };
        store.change_account_status(change).await.unwrap().unwrap();
    }
    let (alpha, alpha_2, alpha_3, bravo, charlie) = (
        id("alpha_example").await,
        id("alpha_example_2").await,
        id("alpha_example_3").await,
        id("bravo_example").await,
        id("charlie_example").await,
    );
    let actor = match store
        .change_actors(
            ActorChange::Create { name: "Alpha".into(), kind: ActorKind::Person, accounts: vec![alpha, bravo] },
            note(26_000),
        )
        .await
        .unwrap()
    {
        ActorOutcome::Changed(actor, None) => actor.id,
        other => panic!("created: {other:?}"),
    };
    let other = match store
        .change_actors(
            ActorChange::Create { name: "Autre".into(), kind: ActorKind::Outlet, accounts: vec![charlie] },
            note(26_500),
        )
        .await
        .unwrap()
    {
        ActorOutcome::Changed(actor, None) => actor.id,
        other => panic!("created: {other:?}"),
    };
    store.change_actors(ActorChange::Rename { actor: other, name: "Autre média".into() }, note(27_000)).await.unwrap();
    assert_eq!(
        store
            .change_actors(ActorChange::Assign { actor: Some(actor), accounts: vec![charlie, 987_654] }, note(27_500))
            .await
            .unwrap(),
        ActorOutcome::AccountNotFound(987_654)
    );
    let proposal = |account, found_at| NewSuccessor {
        account,
        predecessor: alpha,
        score: 0.85,
        evidence: vec!["handle alpha_example_2 ~ alpha_example".into(), "same avatar".into()],
        explanation: "handle stem; same avatar".into(),
        found_at,
    };
    let alerts = store.propose_successors(vec![proposal(alpha_2, 30_100), proposal(alpha_3, 30_600)]).await.unwrap();
    let review = |index: usize, confirm, at| SuccessorReview {
        successor: alerts[index].successor().unwrap().id,
        confirm,
        reviewed_by: "analyst-a".into(),
        note: Some("checked".into()),
        at,
    };
    store.review_successor(review(0, true, 32_000)).await.unwrap();
    store.review_successor(review(1, false, 32_500)).await.unwrap();
    let sites = [
        (
            SiteSelector::Key(key(IndicatorKind::Domain, "example.org")),
            SiteChange::TakedownRequested { sent_to: "abuse@example.net".into() },
            33_000,
        ),
        (
            SiteSelector::Key(key(IndicatorKind::Domain, "example.org")),
            SiteChange::Status(SiteStatus::TakenDown),
            34_000,
        ),
        (
            SiteSelector::Key(key(IndicatorKind::Url, "https://example.org/a")),
            SiteChange::Status(SiteStatus::Offline),
            33_500,
        ),
        (
            SiteSelector::Key(key(IndicatorKind::Domain, "example.net")),
            SiteChange::Contacts {
                host_abuse_contact: Some("abuse@example.net".into()),
                registrar_abuse_contact: None,
            },
            35_000,
        ),
    ];
    for (site, change, at) in sites {
        store.change_site(site, change, note(at)).await.unwrap().unwrap();
    }
}

fn event(event: &AccountEvent, labels: &BTreeMap<i64, String>) -> String {
    format!(
        "{:?} at {} by {} status={:?} to={:?} snapshot={:?} related={:?} note={:?}",
        event.kind,
        event.at,
        event.changed_by,
        event.status,
        event.reported_to,
        event.snapshot,
        event.related_account_id.map(|id| labels[&id].clone()),
        event.note
    )
}

fn successor(record: &SuccessorRecord) -> String {
    format!(
        "{} after {} score={} evidence={:?} {:?} found={} by={:?} at={:?} explanation={}",
        account(&record.account),
        account(&record.predecessor),
        record.score,
        record.evidence,
        record.state,
        record.found_at,
        record.reviewed_by,
        record.reviewed_at,
        record.explanation
    )
}

/// Account ids to labels, for comparing records that name other accounts.
async fn account_labels(engine: &Engine) -> BTreeMap<i64, String> {
    engine.store.list_accounts(every_account()).await.unwrap().iter().map(|a| (a.id, account_label(a))).collect()
}

async fn tracking_view(engine: &Engine) -> Vec<String> {
    let store = &engine.store;
    let labels = account_labels(engine).await;
    let mut view = Vec::new();
    for account_record in store.list_accounts(every_account()).await.unwrap() {
        let history = store.account_history(AccountSelector::Id(account_record.id), 100).await.unwrap().unwrap();
        view.push(account(&history.account));
        view.extend(history.events.iter().map(|e| event(e, &labels)));
        view.extend(history.successors.iter().map(|s| format!("successor {}", successor(s))));
        view.extend(history.predecessors.iter().map(|s| format!("predecessor {}", successor(s))));
    }
    for status in AccountStatus::ALL {
        let filter = AccountFilter { statuses: vec![status], ..every_account() };
        let listed: Vec<String> = store.list_accounts(filter).await.unwrap().iter().map(account_label).collect();
        view.push(format!("{status:?}: {listed:?}"));
    }
    let mut tracked: Vec<String> = store
        .tracked_accounts(None, 10_500, 5)
        .await
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{} links={:?} posted={:?}",
                account(&t.record),
                sorted(t.links.iter().map(|l| format!("{l:?}")).collect()),
                t.posted.len()
            )
        })
        .collect();
    tracked.sort();
    view.extend(tracked);
    let pairs: BTreeSet<(String, String)> = store
        .proposed_successor_pairs()
        .await
        .unwrap()
        .iter()
        .map(|(p, a)| (labels[p].clone(), labels[a].clone()))
        .collect();
    view.push(format!("pairs {pairs:?}"));
    let alerts = store.alerts_after(0, 100).await.unwrap();
    view.extend(
        alerts.iter().map(|alert| format!("alert at {}: {}", alert.raised_at, successor(alert.successor().unwrap()))),
    );
    view.push(format!(
        "last alert is the last listed: {}",
        alerts.last().map(|a| a.id) == Some(store.last_alert_id().await.unwrap())
    ));
    for actor in store.list_actors(None, true, 100).await.unwrap() {
        let actor_view = store.actor(actor.id, 100).await.unwrap().unwrap();
        view.push(format!(
            "actor {} {:?} at {} merged={:?} accounts={}",
            actor.name,
            actor.kind,
            actor.created_at,
            actor.merged_into.is_some(),
            actor.account_count
        ));
        view.extend(actor_view.accounts.iter().map(account));
        view.extend(actor_view.timeline.iter().map(|entry| match entry {
            TimelineEntry::Actor(e) => format!(
                "{:?} at {} by {} name={:?} account={:?} related={:?} note={:?}",
                e.kind,
                e.at,
                e.changed_by,
                e.name,
                e.account_id.map(|id| labels[&id].clone()),
                e.related_actor_id.is_some(),
                e.note
            ),
            TimelineEntry::Account(e) => event(e, &labels),
        }));
    }
    for site in store.list_sites(vec![], None, 100).await.unwrap() {
        let (record, events) = store.site_history(SiteSelector::Id(site.id), 100).await.unwrap().unwrap();
        assert_eq!(record, site);
        view.push(format!(
            "site {:?} {:?}@{} first={} host={:?} registrar={:?} requests={}",
            site.key,
            site.status,
            site.status_changed_at,
            site.first_seen,
            site.host_abuse_contact,
            site.registrar_abuse_contact,
            site.takedown_requests
        ));
        view.extend(
            events.iter().map(|e| format!("{:?} at {} by {} {:?} {:?}", e.kind, e.at, e.changed_by, e.status, e.note)),
        );
    }
    view
}

fn caps() -> GraphCaps {
    GraphCaps { hub_max_documents: 8, hub_max_accounts: 4, max_links_per_node: 6, benign: Arc::new(BenignHosts) }
}

async fn network_view(engine: &Engine) -> Vec<String> {
    let network = engine.network();
    let labels = account_labels(engine).await;
    let documents: BTreeMap<i64, String> = engine
        .store
        .search(search_all())
        .await
        .unwrap()
        .iter()
        .map(|hit| (hit.document.id, document_label(&hit.document)))
        .collect();
    let entity = |entity: &GraphEntity| match entity {
        GraphEntity::Account(a) => account(a),
        GraphEntity::Indicator(i) => format!("{i:?}"),
        GraphEntity::Document(d) => document(d),
    };
    let mut view = Vec::new();
    let alpha = engine.store.known_accounts(vec![telegram("alpha_example")]).await.unwrap()[0].as_ref().unwrap().id;
    let starts = [
        GraphStart::Account(alpha),
        GraphStart::Indicator(key(IndicatorKind::Btc, "bc1qexamplewallet0000000000000000000000")),
        GraphStart::Indicator(key(IndicatorKind::Account, "telegram:bravo_example")),
        GraphStart::Indicator(key(IndicatorKind::Hashtag, "soutien")),
    ];
    for start in starts {
        for (max_hops, max_nodes) in [(2, 100), (4, 100), (4, 12)] {
            let query = NeighbourhoodQuery {
                start: start.clone(),
                max_hops,
                max_nodes,
                window: GraphWindow { from: Some(10_200), until: None },
                caps: caps(),
                as_of: None,
            };
            let found = network.neighbourhood(query).await.unwrap().unwrap();
            let label = |id: &GraphNodeId| {
                let node = found.nodes.iter().find(|node| node.id == *id).unwrap();
                match id {
                    GraphNodeId::Account(id) => labels[id].clone(),
                    GraphNodeId::Document(id) => documents[id].clone(),
                    GraphNodeId::Indicator(_) => entity(&node.entity),
                }
            };
            view.push(format!("{start:?} {max_hops} {max_nodes}: more={}", found.more));
            // In breadth-first order; within a hop, the order follows row
            // ids, so it is compared as a set.
            let mut nodes: Vec<(u32, String)> = found
                .nodes
                .iter()
                .map(|n| {
                    (
                        n.hops,
                        format!("node {} hops={} hub={} capped={}", entity(&n.entity), n.hops, n.hub, n.links_capped),
                    )
                })
                .collect();
            assert!(nodes.windows(2).all(|pair| pair[0].0 <= pair[1].0), "breadth first");
            nodes.sort();
            view.extend(nodes.into_iter().map(|(_, node)| node));
            let edges: BTreeSet<String> =
                found.edges.iter().map(|e| format!("{} -{:?}-> {}", label(&e.from), e.kind, label(&e.to))).collect();
            view.push(format!("edges {edges:?}"));
        }
    }
    for handle in ["alpha_example", "bravo_example", "echo_example"] {
        let account_id = engine.store.known_accounts(vec![telegram(handle)]).await.unwrap()[0].as_ref().unwrap().id;
        let query = SharedIndicatorQuery {
            account: account_id,
            window: GraphWindow::default(),
            caps: caps(),
            max_documents: 20,
            max_indicators: 20,
            max_listed: 3,
            offset: 0,
            limit: 10,
            as_of: None,
        };
        let shared = network.shared_indicator_accounts(query).await.unwrap().unwrap();
        view.push(format!(
            "{handle} shares: total={} used={} hubs={} benign={} capped={}",
            shared.total, shared.indicators_used, shared.hubs_skipped, shared.benign_skipped, shared.capped
        ));
        view.extend(shared.accounts.iter().map(|a| {
            format!(
                "{} score={:.9} count={} shared={:?}",
                account(&a.account),
                a.score,
                a.shared_count,
                a.shared.iter().map(|s| (&s.indicator.value, s.accounts)).collect::<Vec<_>>()
            )
        }));
    }
    for order in [ConnectorOrder::Degree, ConnectorOrder::AccountsBridged] {
        let query = TopConnectorQuery {
            from: 10_000,
            until: 13_000,
            max_documents: 100,
            include_accounts: true,
            include_indicators: true,
            platforms: vec![],
            indicator_kinds: vec![],
            order,
            limit: 10,
            caps: caps(),
        };
        let top = network.top_connectors(query).await.unwrap();
        view.push(format!(
            "top {order:?}: read={} capped={} hubs={}",
            top.documents_read, top.documents_capped, top.hubs_excluded
        ));
        view.extend(top.connectors.iter().map(|c| {
            format!(
                "{} degree={} bridged={} documents={}",
                entity(&c.entity),
                c.degree,
                c.accounts_bridged,
                c.documents
            )
        }));
    }
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_actors_sites_network_and_reports_agree() {
    let (sqlite, postgres) = (harness::sqlite().await, harness::postgres().await);
    seed_tracking(&sqlite).await;
    seed_tracking(&postgres).await;
    same_lines("tracking", tracking_view(&sqlite).await, tracking_view(&postgres).await);
    for (from, until) in [(0, 100_000), (10_000, 12_000), (20_000, 32_100), (32_100, 40_000)] {
        let range = ReportRange { from, until };
        let report = |engine: &Engine| {
            let statistics = engine.statistics();
            async move { statistics.transparency_report(range, 99).await.unwrap() }
        };
        same(&format!("report over {range:?}"), report(&sqlite).await, report(&postgres).await);
    }
    same_lines("network", network_view(&sqlite).await, network_view(&postgres).await);
}
