//! The account network: neighbourhoods, shared indicators and top
//! connectors, with hubs and benign hosts kept out and every read capped.

use std::collections::HashSet;
use std::sync::Arc;

use vigil_store::{
    AccountId, BenignIndicators, ConnectorOrder, DocumentId, GraphCaps, GraphEdgeKind, GraphEntity, GraphNode,
    GraphNodeId, GraphStart, GraphWindow, IndicatorKind, Neighbourhood, NeighbourhoodQuery, NewDocument, NewSighting,
    PostOutcome, SharedIndicatorQuery, TopConnectorQuery, UnixSeconds,
};

use crate::data::{ingested, key, post_by, telegram};
use crate::harness::Engine;

conformance!(
    hubs_are_shown_but_not_expanded_and_benign_hosts_are_left_out,
    depth_and_size_caps_hold_and_keep_the_order,
    an_account_indicator_is_its_account,
    a_window_and_a_snapshot_leave_documents_out,
    an_account_named_everywhere_is_a_hub,
    rare_shared_indicators_rank_first_and_pages_continue,
    top_connectors_leave_hubs_out_and_respect_filters,
);

#[derive(Debug)]
struct BenignHosts(Vec<&'static str>);

impl BenignIndicators for BenignHosts {
    fn is_benign(&self, kind: IndicatorKind, value: &str) -> bool {
        kind == IndicatorKind::Domain && self.0.contains(&value)
    }
}

fn caps(hub_max_documents: u64, hub_max_accounts: u64) -> GraphCaps {
    GraphCaps {
        hub_max_documents,
        hub_max_accounts,
        max_links_per_node: 50,
        benign: Arc::new(BenignHosts(vec!["t.me"])),
    }
}

/// A post as intake stores it: the author is also an `account` sighting.
fn post(
    id: &str,
    author: &str,
    at: UnixSeconds,
    indicators: &[(IndicatorKind, &str)],
    mentions: &[&str],
) -> NewDocument {
    let mut sightings: Vec<NewSighting> =
        indicators.iter().map(|(kind, value)| NewSighting { indicator: key(*kind, value), span: None }).collect();
    for handle in mentions.iter().chain([&author]) {
        sightings
            .push(NewSighting { indicator: key(IndicatorKind::Account, &format!("telegram:{handle}")), span: None });
    }
    NewDocument {
        sightings,
        language: None,
        mentioned_accounts: mentions.iter().map(|handle| telegram(handle)).collect(),
        ..post_by(id, author, &format!("post {id}"), at)
    }
}

const WALLET: &str = "bc1qexamplewallet0000000000000000000000";
use IndicatorKind::{Btc, Domain, Hashtag, Url};

/// alpha and bravo share a rare wallet; everyone uses #common (a hub under
/// the caps of these tests); charlie and delta share #rare_tag with alpha;
/// echo posts a t.me link (benign host) like alpha. The documents' ids, in
/// the order above.
async fn seeded(engine: &Engine) -> Vec<DocumentId> {
    let mut posts = vec![
        post("1", "alpha", 1_000, &[(Btc, WALLET), (Hashtag, "common"), (Hashtag, "rare_tag"), (Domain, "t.me")], &[]),
        post("2", "bravo", 2_000, &[(Btc, WALLET), (Hashtag, "common")], &[]),
        post("3", "charlie", 3_000, &[(Hashtag, "rare_tag"), (Hashtag, "common")], &[]),
        post("4", "delta", 4_000, &[(Hashtag, "rare_tag")], &["relay_example"]),
        post("5", "echo", 5_000, &[(Domain, "t.me"), (Hashtag, "common")], &["relay_example"]),
    ];
    for n in 0..6 {
        posts.push(post(&format!("c{n}"), &format!("crowd_{n}"), 6_000 + n, &[(Hashtag, "common")], &[]));
    }
    document_ids(engine, posts).await
}

async fn document_ids(engine: &Engine, posts: Vec<NewDocument>) -> Vec<DocumentId> {
    let stored = engine.store.insert_posts(posts, ingested()).await.unwrap();
    stored
        .outcomes
        .into_iter()
        .map(|outcome| match outcome {
            PostOutcome::Stored(id) => id,
            other => panic!("stored: {other:?}"),
        })
        .collect()
}

async fn account_id(engine: &Engine, handle: &str) -> AccountId {
    engine.store.known_accounts(vec![telegram(handle)]).await.unwrap()[0].as_ref().unwrap().id
}

fn neighbourhood_query(start: GraphStart, max_hops: u32, max_nodes: usize) -> NeighbourhoodQuery {
    NeighbourhoodQuery { start, max_hops, max_nodes, window: GraphWindow::default(), caps: caps(5, 10), as_of: None }
}

fn handles(neighbourhood: &Neighbourhood) -> Vec<String> {
    let mut handles: Vec<String> = neighbourhood
        .nodes
        .iter()
        .filter_map(|node| match &node.entity {
            GraphEntity::Account(account) => account.handle.clone(),
            _ => None,
        })
        .collect();
    handles.sort();
    handles
}

fn indicator_node<'n>(neighbourhood: &'n Neighbourhood, value: &str) -> Option<&'n GraphNode> {
    neighbourhood.nodes.iter().find(|node| matches!(&node.entity, GraphEntity::Indicator(i) if i.value == value))
}

async fn hubs_are_shown_but_not_expanded_and_benign_hosts_are_left_out(engine: Engine) {
    let documents = seeded(&engine).await;
    let network = engine.network();
    let alpha = account_id(&engine, "alpha").await;
    let found = network.neighbourhood(neighbourhood_query(GraphStart::Account(alpha), 4, 200)).await.unwrap().unwrap();
    assert_eq!(found.nodes[0].id, GraphNodeId::Account(alpha));
    // bravo through the wallet, charlie and delta through #rare_tag; not
    // echo (only #common and t.me), nor the crowd. relay_example is named
    // in delta's post.
    assert_eq!(handles(&found), vec!["alpha", "bravo", "charlie", "delta", "relay_example"]);
    let common = indicator_node(&found, "common").expect("the hub is shown");
    assert!(common.hub);
    // Not expanded: none of the crowd's documents is reached.
    let mut reached: Vec<GraphNodeId> =
        found.nodes.iter().map(|node| node.id).filter(|id| matches!(id, GraphNodeId::Document(_))).collect();
    reached.sort();
    assert_eq!(reached, documents[..4].iter().map(|&id| GraphNodeId::Document(id)).collect::<Vec<_>>());
    assert!(indicator_node(&found, "t.me").is_none(), "benign hosts are no nodes");
    assert!(!found.more);
    assert_eq!(found.as_of, *documents.iter().max().unwrap());
    // Every edge joins collected nodes, once.
    let ids: HashSet<GraphNodeId> = found.nodes.iter().map(|node| node.id).collect();
    assert!(found.edges.iter().all(|edge| ids.contains(&edge.from) && ids.contains(&edge.to)));
    let unique: HashSet<(GraphNodeId, GraphNodeId)> = found.edges.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(unique.len(), found.edges.len());
    assert!(found.edges.iter().any(|edge| edge.from == GraphNodeId::Account(alpha)
        && edge.to == GraphNodeId::Document(documents[0])
        && edge.kind == GraphEdgeKind::Authored));

    // Asked for directly, the hub is expanded (up to the link cap).
    let hub = GraphStart::Indicator(key(Hashtag, "common"));
    let around = network.neighbourhood(neighbourhood_query(hub, 1, 200)).await.unwrap().unwrap();
    assert_eq!(around.nodes.len(), 1 + 10);
    assert!(around.edges.iter().all(|edge| edge.kind == GraphEdgeKind::Contains));
}

async fn depth_and_size_caps_hold_and_keep_the_order(engine: Engine) {
    seeded(&engine).await;
    let network = engine.network();
    let alpha = account_id(&engine, "alpha").await;
    let two = network.neighbourhood(neighbourhood_query(GraphStart::Account(alpha), 2, 200)).await.unwrap().unwrap();
    assert_eq!(handles(&two), vec!["alpha"], "two hops reach the documents' indicators, not other accounts");
    assert!(two.nodes.iter().all(|node| node.hops <= 2));
    assert!(indicator_node(&two, WALLET).is_some());

    let full = network.neighbourhood(neighbourhood_query(GraphStart::Account(alpha), 6, 200)).await.unwrap().unwrap();
    let small = network.neighbourhood(neighbourhood_query(GraphStart::Account(alpha), 6, 5)).await.unwrap().unwrap();
    assert_eq!(small.nodes.len(), 5);
    assert!(small.more);
    let prefix: Vec<GraphNodeId> = full.nodes.iter().take(5).map(|node| node.id).collect();
    assert_eq!(small.nodes.iter().map(|node| node.id).collect::<Vec<_>>(), prefix);
    let hops: Vec<u32> = full.nodes.iter().map(|node| node.hops).collect();
    assert!(hops.windows(2).all(|pair| pair[0] <= pair[1]), "breadth first: {hops:?}");

    // A link cap of one: each node shows its newest link only.
    let mut capped = neighbourhood_query(GraphStart::Account(alpha), 1, 200);
    capped.caps.max_links_per_node = 1;
    let capped = network.neighbourhood(capped).await.unwrap().unwrap();
    assert_eq!(capped.nodes.len(), 2);
    assert!(!capped.nodes[0].links_capped, "alpha wrote one document");
    let mut capped_hub = neighbourhood_query(GraphStart::Indicator(key(Hashtag, "common")), 1, 200);
    capped_hub.caps.max_links_per_node = 3;
    let capped_hub = network.neighbourhood(capped_hub).await.unwrap().unwrap();
    assert_eq!(capped_hub.nodes.len(), 4);
    assert!(capped_hub.nodes[0].links_capped);
    // The newest documents: the crowd's last three.
    let times: Vec<i64> = capped_hub
        .nodes
        .iter()
        .filter_map(|node| match &node.entity {
            GraphEntity::Document(document) => Some(document.observed_at),
            _ => None,
        })
        .collect();
    assert_eq!(times, [6_005, 6_004, 6_003]);
}

async fn an_account_indicator_is_its_account(engine: Engine) {
    seeded(&engine).await;
    let network = engine.network();
    let relay = account_id(&engine, "relay_example").await;
    let start = GraphStart::Indicator(key(IndicatorKind::Account, "telegram:relay_example"));
    let found = network.neighbourhood(neighbourhood_query(start, 2, 200)).await.unwrap().unwrap();
    assert_eq!(found.nodes[0].id, GraphNodeId::Account(relay));
    assert_eq!(handles(&found), vec!["delta", "echo", "relay_example"]);
    assert!(
        found
            .nodes
            .iter()
            .all(|node| !matches!(&node.entity, GraphEntity::Indicator(i) if i.kind == IndicatorKind::Account))
    );
    assert!(
        found.edges.iter().any(|edge| edge.to == GraphNodeId::Account(relay) && edge.kind == GraphEdgeKind::Mentions)
    );

    let missing = GraphStart::Indicator(key(Url, "https://example.org/none"));
    assert!(network.neighbourhood(neighbourhood_query(missing, 2, 200)).await.unwrap().is_none());
    assert!(network.neighbourhood(neighbourhood_query(GraphStart::Account(987_654), 2, 200)).await.unwrap().is_none());
    assert!(network.neighbourhood(neighbourhood_query(GraphStart::Document(987_654), 2, 200)).await.unwrap().is_none());
}

async fn a_window_and_a_snapshot_leave_documents_out(engine: Engine) {
    let documents = seeded(&engine).await;
    let network = engine.network();
    let wallet = GraphStart::Indicator(key(Btc, WALLET));
    let mut query = neighbourhood_query(wallet.clone(), 2, 200);
    query.window = GraphWindow { from: Some(1_500), until: None };
    let found = network.neighbourhood(query).await.unwrap().unwrap();
    assert_eq!(handles(&found), vec!["bravo"]);
    let mut query = neighbourhood_query(wallet.clone(), 2, 200);
    query.window = GraphWindow { from: None, until: Some(2_000) };
    assert_eq!(handles(&network.neighbourhood(query).await.unwrap().unwrap()), vec!["alpha"], "until is exclusive");

    let mut before = neighbourhood_query(wallet, 2, 200);
    before.as_of = Some(documents[0]);
    let found = network.neighbourhood(before).await.unwrap().unwrap();
    assert_eq!(handles(&found), vec!["alpha"]);
    assert_eq!(found.as_of, documents[0]);
    // A document stored after the snapshot is no start either.
    let mut later = neighbourhood_query(GraphStart::Document(documents[1]), 1, 200);
    later.as_of = Some(documents[0]);
    assert!(network.neighbourhood(later).await.unwrap().is_none());
    let start = network.neighbourhood(neighbourhood_query(GraphStart::Document(documents[1]), 1, 200)).await;
    assert_eq!(handles(&start.unwrap().unwrap()), vec!["bravo"]);
}

async fn an_account_named_everywhere_is_a_hub(engine: Engine) {
    let posts = (0..8).map(|n| post(&n.to_string(), &format!("fan_{n}"), 100 + n, &[], &["famous_example"])).collect();
    document_ids(&engine, posts).await;
    let fan = account_id(&engine, "fan_0").await;
    let found = engine.network().neighbourhood(neighbourhood_query(GraphStart::Account(fan), 4, 200)).await;
    let found = found.unwrap().unwrap();
    assert_eq!(handles(&found), vec!["famous_example", "fan_0"]);
    assert!(found.nodes.iter().any(|node| node.hub && matches!(node.id, GraphNodeId::Account(_))));
}

fn shared_query(account: AccountId, offset: usize, limit: usize) -> SharedIndicatorQuery {
    SharedIndicatorQuery {
        account,
        window: GraphWindow::default(),
        caps: caps(5, 10),
        max_documents: 100,
        max_indicators: 100,
        max_listed: 10,
        offset,
        limit,
        as_of: None,
    }
}

async fn rare_shared_indicators_rank_first_and_pages_continue(engine: Engine) {
    seeded(&engine).await;
    let network = engine.network();
    let alpha = account_id(&engine, "alpha").await;
    let shared = network.shared_indicator_accounts(shared_query(alpha, 0, 10)).await.unwrap().unwrap();
    let ranked: Vec<&str> = shared.accounts.iter().map(|a| a.account.handle.as_deref().unwrap()).collect();
    // The wallet (2 accounts) outweighs #rare_tag (4 accounts); #common is a
    // hub, t.me benign, alpha's own account indicator no evidence.
    // relay_example ties with delta and comes after it by id.
    assert_eq!(ranked, vec!["bravo", "charlie", "delta", "relay_example"]);
    assert_eq!(shared.total, 4);
    assert_eq!((shared.hubs_skipped, shared.benign_skipped, shared.indicators_used), (1, 1, 2));
    assert!(!shared.capped);
    let bravo = &shared.accounts[0];
    assert_eq!((bravo.shared.len(), bravo.shared_count), (1, 1));
    assert_eq!(bravo.shared[0].indicator.value, WALLET);
    assert_eq!(bravo.shared[0].accounts, 2);
    assert!((bravo.score - 1.0 / 3f64.ln()).abs() < 1e-9);
    assert!(shared.accounts[1].score < bravo.score);

    let mut paged = Vec::new();
    for offset in 0..5 {
        let page = network.shared_indicator_accounts(shared_query(alpha, offset, 1)).await.unwrap().unwrap();
        assert_eq!(page.total, 4);
        paged.extend(page.accounts.into_iter().map(|a| a.account.id));
    }
    assert_eq!(paged, shared.accounts.iter().map(|a| a.account.id).collect::<Vec<_>>());

    let mut narrow = shared_query(alpha, 0, 10);
    narrow.max_indicators = 1;
    let narrow = network.shared_indicator_accounts(narrow).await.unwrap().unwrap();
    assert!(narrow.capped);
    assert!(network.shared_indicator_accounts(shared_query(987_654, 0, 10)).await.unwrap().is_none());
}

fn top_query(order: ConnectorOrder) -> TopConnectorQuery {
    TopConnectorQuery {
        from: 0,
        until: 100_000,
        max_documents: 1_000,
        include_accounts: true,
        include_indicators: true,
        platforms: vec![],
        indicator_kinds: vec![],
        order,
        limit: 3,
        caps: caps(5, 10),
    }
}

async fn top_connectors_leave_hubs_out_and_respect_filters(engine: Engine) {
    seeded(&engine).await;
    let network = engine.network();
    let top = network.top_connectors(top_query(ConnectorOrder::AccountsBridged)).await.unwrap();
    assert_eq!(top.documents_read, 11);
    assert!(!top.documents_capped);
    assert_eq!(top.hubs_excluded, 1);
    // Ties on accounts bridged (4) go to the higher degree.
    let order: Vec<(GraphNodeId, u64, u64)> =
        top.connectors.iter().map(|c| (c.id, c.accounts_bridged, c.degree)).collect();
    let (alpha, relay) = (account_id(&engine, "alpha").await, account_id(&engine, "relay_example").await);
    assert_eq!(order[1..], [(GraphNodeId::Account(relay), 4, 3), (GraphNodeId::Account(alpha), 4, 2)]);
    assert!(matches!(&top.connectors[0].entity, GraphEntity::Indicator(i) if i.value == "rare_tag"));
    assert!(
        top.connectors
            .iter()
            .all(|c| !matches!(&c.entity, GraphEntity::Indicator(i) if i.value == "common" || i.value == "t.me"))
    );

    let mut hashtags = top_query(ConnectorOrder::Degree);
    hashtags.include_accounts = false;
    hashtags.indicator_kinds = vec![Hashtag];
    let top = network.top_connectors(hashtags).await.unwrap();
    assert_eq!(top.connectors.len(), 1);
    assert!(matches!(&top.connectors[0].entity, GraphEntity::Indicator(i) if i.value == "rare_tag"));
    assert_eq!((top.connectors[0].documents, top.connectors[0].accounts_bridged), (3, 4));

    let mut accounts_only = top_query(ConnectorOrder::Degree);
    accounts_only.include_indicators = false;
    accounts_only.platforms = vec!["x".into()];
    assert!(network.top_connectors(accounts_only).await.unwrap().connectors.is_empty(), "no account on x");

    let mut narrow = top_query(ConnectorOrder::Degree);
    narrow.max_documents = 2;
    let top = network.top_connectors(narrow).await.unwrap();
    assert!(top.documents_capped);
    assert_eq!(top.documents_read, 2);

    let mut window = top_query(ConnectorOrder::Degree);
    (window.from, window.until) = (1_000, 2_000);
    assert_eq!(network.top_connectors(window).await.unwrap().documents_read, 1, "until is exclusive");
}
