//! The account network end to end against the real binary: posts from
//! made-up accounts sharing a wallet, a t.me channel, a rare hashtag and a
//! hashtag everyone uses, then the neighbourhood, the accounts sharing
//! indicators and the top connectors, through the Rust client and grpcurl.

mod support;

use std::collections::HashSet;

use support::{Vigil, grpcurl};
use tonic::Code;
use vigil_proto::tonic;
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::network_client::NetworkClient;
use vigil_proto::v1::network_node::Entity;
use vigil_proto::v1::network_node_selector::{Indicator, Selector};
use vigil_proto::v1::*;

/// BIP-173's test vector: a valid checksum, nobody's wallet.
const WALLET: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
/// One more account than the default hub cap on accounts (100).
const CROWD: usize = 101;

fn post(id: usize, handle: &str, text: &str) -> Post {
    Post {
        platform: "telegram".into(),
        platform_post_id: id.to_string(),
        author: Some(AccountRef {
            platform: "telegram".into(),
            handle: handle.into(),
            platform_account_id: String::new(),
        }),
        text: text.into(),
        ..Post::default()
    }
}

fn handle_of(node: &NetworkNode) -> Option<&str> {
    match &node.entity {
        Some(Entity::Account(account)) => Some(account.handle.as_str()),
        _ => None,
    }
}

fn indicator_of(node: &NetworkNode) -> Option<&NetworkIndicator> {
    match &node.entity {
        Some(Entity::Indicator(indicator)) => Some(indicator),
        _ => None,
    }
}

#[tokio::test]
async fn the_network_connects_rare_evidence_and_caps_hubs() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;

    let mut posts = vec![
        post(
            0,
            "alpha_exemple",
            &format!("Soutenez le relais : {WALLET} #rare_exemple #actu hxxps://t[.]me/relais_exemple"),
        ),
        post(1, "bravo_exemple", &format!("dons ici {WALLET} #actu")),
        post(2, "charlie_exemple", "on se retrouve #rare_exemple #actu"),
    ];
    posts.extend((0..CROWD).map(|n| post(100 + n, &format!("foule_{n}_exemple"), "rien de neuf #actu")));
    let ingested = IntakeClient::new(channel.clone())
        .ingest_posts(tokio_stream::iter(vec![IngestPostsRequest { posts }]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ingested.accepted, 3 + CROWD as u64, "{:?}", ingested.rejected);

    // From alpha, named by its ACCOUNT indicator, two pages at a time.
    let mut network = NetworkClient::new(channel);
    let start = NetworkNodeSelector {
        selector: Some(Selector::Indicator(Indicator {
            kind: IndicatorKind::Account as i32,
            value: "telegram:alpha_exemple".into(),
        })),
    };
    let (mut nodes, mut edges, mut page_token, mut pages) = (Vec::new(), Vec::new(), String::new(), 0);
    loop {
        let page = network
            .get_neighbourhood(GetNeighbourhoodRequest {
                start: Some(start.clone()),
                page_size: 5,
                page_token,
                ..GetNeighbourhoodRequest::default()
            })
            .await
            .unwrap()
            .into_inner();
        nodes.extend(page.nodes);
        let delivered: HashSet<&str> = nodes.iter().map(|node| node.node_id.as_str()).collect();
        assert!(
            page.edges
                .iter()
                .all(|e| delivered.contains(e.from_node_id.as_str()) && delivered.contains(e.to_node_id.as_str()))
        );
        edges.extend(page.edges);
        pages += 1;
        assert!(!page.truncated);
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert!(pages > 1);
    assert_eq!(handle_of(&nodes[0]), Some("alpha_exemple"));
    let mut handles: Vec<&str> = nodes.iter().filter_map(handle_of).collect();
    handles.sort();
    // The crowd is not reached: #actu is a hub.
    assert_eq!(handles, ["alpha_exemple", "bravo_exemple", "charlie_exemple", "relais_exemple"]);
    let actu = nodes.iter().find(|node| indicator_of(node).is_some_and(|i| i.value == "actu")).unwrap();
    assert!(actu.hub);
    assert_eq!(indicator_of(actu).unwrap().sighting_count, 3 + CROWD as u64);
    assert!(!nodes.iter().any(|node| indicator_of(node).is_some_and(|i| i.value == "t.me")), "t.me is benign");
    let alpha_id = nodes[0].node_id.strip_prefix("account:").unwrap().to_owned();
    assert!(edges.iter().any(|e| e.from_node_id == nodes[0].node_id && e.kind == NetworkEdgeKind::Authored as i32));

    // Bravo shares the wallet (two accounts), charlie the rarer hashtag.
    let shared = network
        .list_shared_indicator_accounts(ListSharedIndicatorAccountsRequest {
            account_id: alpha_id.clone(),
            ..ListSharedIndicatorAccountsRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ranked: Vec<&str> = shared.accounts.iter().map(|a| a.account.as_ref().unwrap().handle.as_str()).collect();
    assert_eq!(ranked, ["bravo_exemple", "charlie_exemple"]);
    assert_eq!(shared.accounts[0].shared[0].indicator.as_ref().unwrap().value, WALLET);
    assert_eq!((shared.hubs_skipped, shared.benign_skipped), (1, 1));

    let top = network
        .list_top_connectors(ListTopConnectorsRequest {
            accounts: true,
            order: ConnectorOrder::AccountsBridged as i32,
            limit: 1,
            ..ListTopConnectorsRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(top.documents_read, 3 + CROWD as u32);
    assert_eq!(top.hubs_excluded, 1);
    match &top.connectors[0].entity {
        Some(connector::Entity::Account(account)) => assert_eq!(account.handle, "alpha_exemple"),
        other => panic!("expected alpha first, got {other:?}"),
    }

    let too_deep = GetNeighbourhoodRequest { start: Some(start), max_depth: 4, ..GetNeighbourhoodRequest::default() };
    let refused = network.get_neighbourhood(too_deep).await.unwrap_err();
    assert_eq!((refused.code(), refused.message()), (Code::InvalidArgument, "max_depth is 4, over the limit of 3"));
    let unknown = ListSharedIndicatorAccountsRequest { account_id: "999999".into(), ..Default::default() };
    assert_eq!(network.list_shared_indicator_accounts(unknown).await.unwrap_err().code(), Code::NotFound);

    // What an analyst would type, through reflection.
    let output = grpcurl()
        .arg("-plaintext")
        .args(vigil.grpcurl_key("analyst-a"))
        .args(["-d", &format!(r#"{{"accountId": "{alpha_id}", "pageSize": 1}}"#)])
        .arg(vigil.address.to_string())
        .arg("vigil.v1.Network/ListSharedIndicatorAccounts")
        .output()
        .unwrap();
    assert!(output.status.success(), "grpcurl failed: {}", String::from_utf8_lossy(&output.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["accounts"][0]["account"]["handle"], "bravo_exemple");
    assert_eq!(answer["accounts"][0]["shared"][0]["indicator"]["kind"], "INDICATOR_KIND_BTC");
    assert_eq!(answer["total"], 2);
    assert!(!answer["nextPageToken"].as_str().unwrap().is_empty());

    vigil.stop().await;
}

/// An operator's benign list with a line that is neither a domain nor
/// `kind:value` stops the server at start, naming the file and the line.
#[tokio::test]
async fn a_broken_benign_list_stops_the_server_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("benign.txt");
    std::fs::write(&list, "# hosts everyone links to\nexample.net\nhashtag:actu\nnot a domain\n").unwrap();
    let data = dir.path().join("data");
    let mut vigil = Vigil::start(&data, &["--benign-list", list.to_str().unwrap()]);
    assert!(!vigil.exit_status().await.success());
    vigil.wait_for_log("line 4").await;
    vigil.wait_for_log("benign list").await;
}
