//! The account network: neighbourhoods, shared indicators and top connectors, read from documents, sightings and accounts.
//!
//! Requests are checked here (every limit named in its error) and the hub
//! rules are configured here; the graph itself is read by
//! [`vigil_store::NetworkStore`], whose module doc describes the nodes, the
//! edges and the rules. In short:
//! - Benign indicators are never nodes, never traversed, never counted: a
//!   domain in [`BUILTIN_BENIGN_DOMAINS`] or [`NetworkSettings::extra_benign_domains`]
//!   (or a subdomain of one), a URL that is only such a host's home page (a
//!   specific page on it, a video or a post, still connects), and any value in
//!   [`NetworkSettings::extra_benign_indicators`] (an operator's everyday hashtag).
//! - A hub (an indicator in more than `hub_max_documents` documents or
//!   documents of more than `hub_max_accounts` accounts; an account named in
//!   more than `hub_max_documents` documents) is shown but neither expanded
//!   nor counted as shared evidence.
//! - Every expansion reads at most `max_links_per_node` links, newest first.
//!
//! Page tokens are bound to the request (a hash of its fields) and to the
//! newest document when the first page was read, so later pages read the
//! same documents.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use vigil_extract::{IndicatorKind, normalize};
pub use vigil_store::{
    BenignIndicators, Connector, ConnectorOrder, GraphEdge, GraphEdgeKind, GraphEntity, GraphIndicator, GraphNode,
    GraphNodeId, SharedIndicator, SharingAccount,
};
use vigil_store::{
    DocumentId, GraphCaps, GraphStart, GraphWindow, IndicatorKey, NeighbourhoodQuery, NetworkStore,
    SharedIndicatorQuery, TopConnectorQuery, UnixSeconds,
};

use crate::limits::{MAX_FILTER_ENTRIES, MAX_INDICATOR_BYTES, check_bytes, check_count};
use crate::sightings::normalize_platform;
use crate::{QueryError, page_token};

/// Hosts of platforms and everyday infrastructure: every account links to
/// them, so they say nothing about who is connected to whom. Subdomains
/// match too (`www.youtube.com`, `m.facebook.com`).
pub const BUILTIN_BENIGN_DOMAINS: &[&str] = &[
    "t.me",
    "telegram.me",
    "telegram.org",
    "telegra.ph",
    "youtube.com",
    "youtu.be",
    "x.com",
    "twitter.com",
    "t.co",
    "facebook.com",
    "fb.com",
    "fb.me",
    "instagram.com",
    "tiktok.com",
    "whatsapp.com",
    "wa.me",
    "google.com",
    "goo.gl",
    "wikipedia.org",
    "wikimedia.org",
    "archive.org",
    "bit.ly",
    "linkedin.com",
    "reddit.com",
    "vk.com",
    "discord.com",
    "discord.gg",
    "github.com",
    "apple.com",
    "microsoft.com",
    "amazon.com",
    "cloudflare.com",
];

/// How the network reads: hub caps, benign additions and scan budgets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSettings {
    /// An indicator in more documents than this (all time) is a hub; so is
    /// an account named in more documents than this.
    pub hub_max_documents: u64,
    /// An indicator in documents of more accounts than this is a hub.
    pub hub_max_accounts: u64,
    /// Links read when a node is expanded, newest documents first.
    pub max_links_per_node: usize,
    /// Benign hosts added to [`BUILTIN_BENIGN_DOMAINS`], lowercase.
    pub extra_benign_domains: Vec<String>,
    /// Exact benign values of any kind, normalized (e.g. a hashtag).
    pub extra_benign_indicators: Vec<(IndicatorKind, String)>,
    /// Shared indicators: the account's newest documents read.
    pub shared_max_documents: usize,
    /// Shared indicators: the account's indicators used, rarest first.
    pub shared_max_indicators: usize,
    /// Shared indicators listed per account.
    pub shared_max_listed: usize,
    /// Top connectors: the newest documents of the window read.
    pub top_max_documents: usize,
    /// Top connectors: the window when the request gives no start.
    pub top_default_window_secs: i64,
}

impl NetworkSettings {
    /// Adds an operator's benign list: one entry per line, a domain
    /// (`example.net`, its subdomains included) or `kind:value` for any
    /// other indicator (`hashtag:actu`); a line starting with `#`, and what
    /// follows ` #`, are comments. An entry that
    /// does not normalize is refused with its line number, so a typo cannot
    /// silently leave a hub connecting everything.
    pub fn with_benign_list(mut self, text: &str) -> Result<NetworkSettings, String> {
        for (index, line) in text.lines().enumerate() {
            // A comment is a line that starts with '#', or what follows " #":
            // a hashtag entry holds a '#' of its own.
            let entry = line.split(" #").next().unwrap_or_default().trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let line = index + 1;
            match entry.split_once(':').and_then(|(kind, value)| Some((IndicatorKind::from_name(kind)?, value))) {
                Some((kind, value)) => {
                    let value = vigil_extract::normalize(kind, value)
                        .map_err(|error| format!("line {line}: {entry:?} is not a valid {}: {error}", kind.as_str()))?;
                    self.extra_benign_indicators.push((kind, value));
                }
                None => {
                    let domain = vigil_extract::normalize(IndicatorKind::Domain, entry)
                        .map_err(|error| format!("line {line}: {entry:?} is not a domain or kind:value ({error})"))?;
                    self.extra_benign_domains.push(domain);
                }
            }
        }
        Ok(self)
    }
}

impl Default for NetworkSettings {
    fn default() -> NetworkSettings {
        NetworkSettings {
            hub_max_documents: 1_000,
            hub_max_accounts: 100,
            max_links_per_node: 50,
            extra_benign_domains: Vec::new(),
            extra_benign_indicators: Vec::new(),
            shared_max_documents: 500,
            shared_max_indicators: 500,
            shared_max_listed: 10,
            top_max_documents: 20_000,
            top_default_window_secs: 30 * 86_400,
        }
    }
}

const DEFAULT_DEPTH: u32 = 2;
const MAX_DEPTH: u32 = 3;
const DEFAULT_NODES: u32 = 200;
const MAX_NODES: u32 = 1_000;
const DEFAULT_SHARED_PAGE: u32 = 20;
const MAX_SHARED_PAGE: u32 = 100;
const DEFAULT_CONNECTORS: u32 = 20;
const MAX_CONNECTORS: u32 = 200;

#[derive(Clone, Debug)]
pub struct Network {
    store: Arc<dyn NetworkStore>,
    settings: NetworkSettings,
    caps: GraphCaps,
}

/// A node as a caller names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeChoice {
    Account(String),
    /// Any spelling the extractor understands; an `account` value
    /// ("telegram:handle") names the account.
    Indicator {
        kind: IndicatorKind,
        value: String,
    },
    Document(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeighbourhoodRequest {
    pub start: Option<NodeChoice>,
    /// Documents away from the start: 1 reaches the start's documents and
    /// what they name and contain; 0 means 2; at most 3.
    pub max_depth: u32,
    /// 0 means 200; at most 1000.
    pub max_nodes: u32,
    pub observed_from: Option<UnixSeconds>,
    pub observed_until: Option<UnixSeconds>,
    /// Nodes per page; 0 means `max_nodes`.
    pub page_size: u32,
    pub page_token: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NeighbourhoodPage {
    /// Breadth-first; the start first on the first page.
    pub nodes: Vec<GraphNode>,
    /// Edges whose later end is on this page: each edge once over all pages,
    /// after both its ends.
    pub edges: Vec<GraphEdge>,
    /// On the last page: `max_nodes` left nodes within reach out.
    pub truncated: bool,
    pub next_page_token: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedIndicatorsRequest {
    pub account_id: String,
    pub observed_from: Option<UnixSeconds>,
    pub observed_until: Option<UnixSeconds>,
    /// 0 means 20; at most 100.
    pub page_size: u32,
    pub page_token: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SharedIndicatorsPage {
    pub accounts: Vec<SharingAccount>,
    /// Accounts in the whole ranking.
    pub total: usize,
    pub indicators_used: usize,
    pub hubs_skipped: usize,
    pub benign_skipped: usize,
    /// The account had more documents or indicators than the settings read.
    pub capped: bool,
    pub next_page_token: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopConnectorsRequest {
    /// `top_default_window_secs` before `observed_until` when unset.
    pub observed_from: Option<UnixSeconds>,
    /// Now when unset.
    pub observed_until: Option<UnixSeconds>,
    /// Both when neither is set.
    pub accounts: bool,
    pub indicators: bool,
    pub platforms: Vec<String>,
    pub indicator_kinds: Vec<IndicatorKind>,
    /// Degree when unset.
    pub order: Option<ConnectorOrder>,
    /// 0 means 20; at most 200.
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TopConnectorsAnswer {
    pub connectors: Vec<Connector>,
    pub observed_from: UnixSeconds,
    pub observed_until: UnixSeconds,
    pub documents_read: usize,
    pub documents_capped: bool,
    pub hubs_excluded: usize,
}

impl Network {
    pub fn new(store: Arc<dyn NetworkStore>) -> Network {
        Network::with_settings(store, NetworkSettings::default())
    }

    pub fn with_settings(store: Arc<dyn NetworkStore>, settings: NetworkSettings) -> Network {
        let benign = BenignList::new(&settings.extra_benign_domains, &settings.extra_benign_indicators);
        let caps = GraphCaps {
            hub_max_documents: settings.hub_max_documents,
            hub_max_accounts: settings.hub_max_accounts,
            max_links_per_node: settings.max_links_per_node.max(1),
            benign: Arc::new(benign),
        };
        Network { store, settings, caps }
    }

    pub async fn neighbourhood(&self, request: NeighbourhoodRequest) -> Result<NeighbourhoodPage, QueryError> {
        let start = match &request.start {
            None => return Err(QueryError::invalid("start", "is required: an account, an indicator or a document")),
            Some(choice) => checked_start(choice)?,
        };
        let max_depth = bounded("max_depth", request.max_depth, DEFAULT_DEPTH, MAX_DEPTH)?;
        let max_nodes = bounded("max_nodes", request.max_nodes, DEFAULT_NODES, MAX_NODES)? as usize;
        let page_size = bounded("page_size", request.page_size, max_nodes as u32, MAX_NODES)? as usize;
        let window = checked_window(request.observed_from, request.observed_until)?;
        let fingerprint =
            page_token::fingerprint(&format!("n|{start:?}|{max_depth}|{max_nodes}|{window:?}|{page_size}"));
        let (as_of, offset) = match request.page_token.as_str() {
            "" => (None, 0),
            token => {
                let (as_of, offset) = decode_token(token, &fingerprint)?;
                (Some(as_of), offset)
            }
        };
        let collect = (offset + page_size).min(max_nodes);
        let query = NeighbourhoodQuery {
            start: start.clone(),
            max_hops: 2 * max_depth,
            max_nodes: collect,
            window,
            caps: self.caps.clone(),
            as_of,
        };
        let found = self.store.neighbourhood(query).await?.ok_or_else(|| QueryError::NotFound(describe(&start)))?;
        let position: std::collections::HashMap<GraphNodeId, usize> =
            found.nodes.iter().enumerate().map(|(index, node)| (node.id, index)).collect();
        let edges =
            found.edges.into_iter().filter(|edge| position[&edge.from].max(position[&edge.to]) >= offset).collect();
        let nodes: Vec<GraphNode> = found.nodes.into_iter().skip(offset).collect();
        let more_pages = found.more && collect < max_nodes;
        let next_page_token = if more_pages { encode_token(&fingerprint, found.as_of, collect) } else { String::new() };
        Ok(NeighbourhoodPage { nodes, edges, truncated: found.more && !more_pages, next_page_token })
    }

    pub async fn shared_indicator_accounts(
        &self,
        request: SharedIndicatorsRequest,
    ) -> Result<SharedIndicatorsPage, QueryError> {
        let account = checked_id("account_id", &request.account_id)?;
        let page_size = bounded("page_size", request.page_size, DEFAULT_SHARED_PAGE, MAX_SHARED_PAGE)? as usize;
        let window = checked_window(request.observed_from, request.observed_until)?;
        let fingerprint = page_token::fingerprint(&format!("s|{account}|{window:?}|{page_size}"));
        let (as_of, offset) = match request.page_token.as_str() {
            "" => (None, 0),
            token => {
                let (as_of, offset) = decode_token(token, &fingerprint)?;
                (Some(as_of), offset)
            }
        };
        let query = SharedIndicatorQuery {
            account,
            window,
            caps: self.caps.clone(),
            max_documents: self.settings.shared_max_documents,
            max_indicators: self.settings.shared_max_indicators,
            max_listed: self.settings.shared_max_listed,
            offset,
            limit: page_size,
            as_of,
        };
        let found = self
            .store
            .shared_indicator_accounts(query)
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("account {account}")))?;
        let end = offset + page_size;
        let next_page_token =
            if end < found.total { encode_token(&fingerprint, found.as_of, end) } else { String::new() };
        Ok(SharedIndicatorsPage {
            accounts: found.accounts,
            total: found.total,
            indicators_used: found.indicators_used,
            hubs_skipped: found.hubs_skipped,
            benign_skipped: found.benign_skipped,
            capped: found.capped,
            next_page_token,
        })
    }

    pub async fn top_connectors(&self, request: TopConnectorsRequest) -> Result<TopConnectorsAnswer, QueryError> {
        let limit = bounded("limit", request.limit, DEFAULT_CONNECTORS, MAX_CONNECTORS)? as usize;
        let until = request.observed_until.unwrap_or_else(|| now() + 1);
        let from = request.observed_from.unwrap_or(until.saturating_sub(self.settings.top_default_window_secs));
        if from >= until {
            return Err(QueryError::invalid("observed_until", "must be after observed_from"));
        }
        check_count("platforms", request.platforms.len(), MAX_FILTER_ENTRIES)?;
        check_count("indicator_kinds", request.indicator_kinds.len(), MAX_FILTER_ENTRIES)?;
        let platforms = request
            .platforms
            .iter()
            .enumerate()
            .map(|(index, platform)| normalize_platform(&format!("platforms[{index}]"), platform))
            .collect::<Result<Vec<_>, _>>()?;
        let (accounts, indicators) = match (request.accounts, request.indicators) {
            (false, false) => (true, true),
            both => both,
        };
        let query = TopConnectorQuery {
            from,
            until,
            max_documents: self.settings.top_max_documents,
            include_accounts: accounts,
            include_indicators: indicators,
            platforms,
            indicator_kinds: request.indicator_kinds,
            order: request.order.unwrap_or(ConnectorOrder::Degree),
            limit,
            caps: self.caps.clone(),
        };
        let found = self.store.top_connectors(query).await?;
        Ok(TopConnectorsAnswer {
            connectors: found.connectors,
            observed_from: from,
            observed_until: until,
            documents_read: found.documents_read,
            documents_capped: found.documents_capped,
            hubs_excluded: found.hubs_excluded,
        })
    }
}

/// The benign list: built-in hosts, the operator's hosts and exact values.
#[derive(Debug)]
pub struct BenignList {
    domains: HashSet<String>,
    indicators: HashSet<(IndicatorKind, String)>,
}

impl BenignList {
    pub fn new(extra_domains: &[String], extra_indicators: &[(IndicatorKind, String)]) -> BenignList {
        let domains = BUILTIN_BENIGN_DOMAINS
            .iter()
            .map(|domain| (*domain).to_owned())
            .chain(extra_domains.iter().map(|domain| domain.trim().trim_end_matches('.').to_ascii_lowercase()))
            .filter(|domain| !domain.is_empty())
            .collect();
        BenignList { domains, indicators: extra_indicators.iter().cloned().collect() }
    }

    fn host_is_benign(&self, host: &str) -> bool {
        let mut rest = host;
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return false,
            }
        }
    }
}

impl BenignIndicators for BenignList {
    fn is_benign(&self, kind: IndicatorKind, value: &str) -> bool {
        if self.indicators.contains(&(kind, value.to_owned())) {
            return true;
        }
        match kind {
            IndicatorKind::Domain => self.host_is_benign(value),
            // Only a home page: a page on the host (a video, a post) is as
            // specific as any other URL.
            IndicatorKind::Url => {
                let Some((_, rest)) = value.split_once("://") else { return false };
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                let (authority, path) = rest.split_at(end);
                let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
                let host = host.split_once(':').map_or(host, |(host, _)| host);
                (path.is_empty() || path == "/") && self.host_is_benign(host)
            }
            _ => false,
        }
    }
}

fn checked_start(choice: &NodeChoice) -> Result<GraphStart, QueryError> {
    Ok(match choice {
        NodeChoice::Account(id) => GraphStart::Account(checked_id("start.account_id", id)?),
        NodeChoice::Document(id) => GraphStart::Document(checked_id("start.document_id", id)?),
        NodeChoice::Indicator { kind, value } => {
            check_bytes("start.indicator.value", value, MAX_INDICATOR_BYTES)?;
            let value = normalize(*kind, value)
                .map_err(|error| QueryError::invalid("start.indicator.value", format!("is wrong: {error}")))?;
            GraphStart::Indicator(IndicatorKey { kind: *kind, value })
        }
    })
}

fn checked_id(field: &str, id: &str) -> Result<i64, QueryError> {
    id.trim().parse().ok().filter(|id| *id > 0).ok_or_else(|| QueryError::invalid(field, "is not an id"))
}

fn bounded(field: &str, value: u32, default: u32, limit: u32) -> Result<u32, QueryError> {
    match value {
        0 => Ok(default),
        n if n > limit => Err(QueryError::invalid(field, format!("is {n}, over the limit of {limit}"))),
        n => Ok(n),
    }
}

fn checked_window(from: Option<UnixSeconds>, until: Option<UnixSeconds>) -> Result<GraphWindow, QueryError> {
    if let (Some(from), Some(until)) = (from, until)
        && from >= until
    {
        return Err(QueryError::invalid("observed_until", "must be after observed_from"));
    }
    Ok(GraphWindow { from, until })
}

fn describe(start: &GraphStart) -> String {
    match start {
        GraphStart::Account(id) => format!("account {id}"),
        GraphStart::Document(id) => format!("document {id}"),
        GraphStart::Indicator(key) => format!("{} {}", key.kind, key.value),
    }
}

fn encode_token(fingerprint: &str, as_of: DocumentId, offset: usize) -> String {
    page_token::encode(fingerprint, &format!("{as_of}:{offset}"))
}

fn decode_token(token: &str, expected_fingerprint: &str) -> Result<(DocumentId, usize), QueryError> {
    let malformed = page_token::malformed;
    let position = page_token::decode(token, expected_fingerprint, "belongs to a different request")?;
    let (as_of, offset) = position.split_once(':').ok_or_else(malformed)?;
    let offset: usize = offset.parse().map_err(|_| malformed())?;
    if offset > MAX_NODES as usize * 100 {
        return Err(malformed());
    }
    Ok((as_of.parse().map_err(|_| malformed())?, offset))
}

fn now() -> UnixSeconds {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn an_operators_benign_list_adds_domains_and_values_and_names_a_bad_line() {
        let text = "# hosts everyone links to\nExample.NET\nhashtag:#Actu  # a daily news tag\n\nurl:hxxps://example[.]org/home\n";
        let settings = super::NetworkSettings::default().with_benign_list(text).unwrap();
        assert_eq!(settings.extra_benign_domains, ["example.net"]);
        assert_eq!(
            settings.extra_benign_indicators,
            [
                (super::IndicatorKind::Hashtag, "actu".to_owned()),
                (super::IndicatorKind::Url, "https://example.org/home".to_owned())
            ]
        );
        let error = super::NetworkSettings::default().with_benign_list("example.org\nnot a domain\n").unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
    }

    use vigil_store::{SqliteOptions, SqliteStore, Store};

    use super::*;
    use crate::{AccountRef, Intake, IntakeSettings, Lexicon, Limits, PostSubmission, Tracking, TrackingSettings};

    /// BIP-173's test vector: a valid checksum, nobody's wallet.
    const WALLET: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";

    #[test]
    fn the_benign_list_matches_hosts_their_subdomains_and_home_pages() {
        let list =
            BenignList::new(&["Partner.Example.NET.".to_owned()], &[(IndicatorKind::Hashtag, "news".to_owned())]);
        let check = |kind: IndicatorKind, value: &str, expected: bool| {
            assert_eq!(list.is_benign(kind, value), expected, "{kind} {value}");
        };
        check(IndicatorKind::Domain, "t.me", true);
        check(IndicatorKind::Domain, "www.youtube.com", true);
        check(IndicatorKind::Domain, "cdn.partner.example.net", true);
        check(IndicatorKind::Domain, "example.org", false);
        check(IndicatorKind::Domain, "notyoutube.com", false);
        check(IndicatorKind::Url, "https://www.google.com/", true);
        check(IndicatorKind::Url, "https://www.google.com", true);
        check(IndicatorKind::Url, "https://t.me/relais_exemple", false);
        check(IndicatorKind::Url, "https://youtube.com/watch?v=abc", false);
        check(IndicatorKind::Hashtag, "news", true);
        check(IndicatorKind::Hashtag, "actu", false);
        check(IndicatorKind::Account, "telegram:t.me", false);
    }

    #[test]
    fn page_tokens_are_bound_to_their_request() {
        let token = encode_token("abcd", 42, 200);
        assert_eq!(decode_token(&token, "abcd").unwrap(), (42, 200));
        assert_eq!(decode_token(&token, "other").unwrap_err().to_string(), "page_token belongs to a different request");
        assert!(decode_token("not a token!", "abcd").is_err());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode("v1|abcd|x:1"), "abcd").is_err());
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        network: Network,
        ids: HashMap<String, String>,
    }

    /// alpha_exemple and bravo_exemple share a wallet; alpha and
    /// charlie_exemple share a rare hashtag; everyone uses #actu, a hub
    /// under these settings; alpha links a t.me channel (t.me is benign).
    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&SqliteOptions::in_directory(dir.path())).unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite.clone());
        let tracking = Tracking::open(Arc::clone(&store), TrackingSettings::default()).await.unwrap();
        let settings = IntakeSettings {
            limits: Limits::default(),
            lexicon: Arc::new(Lexicon::builtin().clone()),
            tip_status_floor: Duration::ZERO,
            seal_to: None,
            max_stream_duration: crate::DEFAULT_MAX_STREAM_DURATION,
        };
        let intake = Intake::new(Arc::clone(&store), settings, tracking);
        let mut posts = vec![
            ("alpha_exemple", format!("Soutenez le relais {WALLET} #rare_exemple #actu https://t.me/relais_exemple")),
            ("bravo_exemple", format!("dons ici {WALLET} #actu")),
            ("charlie_exemple", "#rare_exemple #actu".to_owned()),
        ];
        for n in 0..6 {
            posts.push(("crowd_exemple", format!("message {n} #actu")));
        }
        let mut ingest = intake.begin_ingest(crate::Caller {
            name: "crawler-example".into(),
            role: vigil_store::Role::Partner,
            platform: None,
        });
        let submissions = posts
            .into_iter()
            .enumerate()
            .map(|(n, (handle, text))| PostSubmission {
                platform: "telegram".into(),
                platform_post_id: n.to_string(),
                author: Some(AccountRef {
                    platform: "telegram".into(),
                    handle: handle.into(),
                    ..AccountRef::default()
                }),
                text,
                ..PostSubmission::default()
            })
            .collect();
        ingest.add_message(submissions).unwrap();
        assert!(ingest.finish().await.unwrap().rejected.is_empty());
        let settings = NetworkSettings { hub_max_documents: 4, hub_max_accounts: 10, ..NetworkSettings::default() };
        let network = Network::with_settings(Arc::new(sqlite.clone()), settings);
        let mut ids = HashMap::new();
        for handle in ["alpha_exemple", "bravo_exemple", "charlie_exemple", "relais_exemple"] {
            let key = vigil_store::AccountKey {
                platform: "telegram".into(),
                handle: Some(handle.into()),
                platform_account_id: None,
            };
            let record = sqlite.known_accounts(vec![key]).await.unwrap().remove(0).unwrap();
            ids.insert(handle.to_owned(), record.id.to_string());
        }
        Fixture { _dir: dir, network, ids }
    }

    fn from_alpha(fixture: &Fixture, page_size: u32, page_token: String) -> NeighbourhoodRequest {
        NeighbourhoodRequest {
            start: Some(NodeChoice::Account(fixture.ids["alpha_exemple"].clone())),
            page_size,
            page_token,
            ..NeighbourhoodRequest::default()
        }
    }

    #[tokio::test]
    async fn pages_of_a_neighbourhood_add_up_to_the_whole() {
        let fixture = fixture().await;
        let whole = fixture.network.neighbourhood(from_alpha(&fixture, 0, String::new())).await.unwrap();
        assert!(whole.next_page_token.is_empty() && !whole.truncated);
        let handles: HashSet<String> = whole
            .nodes
            .iter()
            .filter_map(|node| match &node.entity {
                GraphEntity::Account(account) => account.handle.clone(),
                _ => None,
            })
            .collect();
        let expected = ["alpha_exemple", "bravo_exemple", "charlie_exemple", "relais_exemple"];
        assert_eq!(handles, expected.iter().map(|h| (*h).to_owned()).collect());
        assert!(whole.nodes.iter().all(|node| !matches!(&node.entity, GraphEntity::Indicator(i) if i.value == "t.me")));
        assert!(
            whole
                .nodes
                .iter()
                .any(|node| node.hub && matches!(&node.entity, GraphEntity::Indicator(i) if i.value == "actu"))
        );

        let (mut nodes, mut edges, mut token, mut pages) = (Vec::new(), Vec::new(), String::new(), 0);
        loop {
            let page = fixture.network.neighbourhood(from_alpha(&fixture, 3, token)).await.unwrap();
            assert!(page.nodes.len() <= 3);
            nodes.extend(page.nodes.into_iter().map(|node| node.id));
            let delivered: HashSet<GraphNodeId> = nodes.iter().copied().collect();
            assert!(page.edges.iter().all(|edge| delivered.contains(&edge.from) && delivered.contains(&edge.to)));
            edges.extend(page.edges);
            pages += 1;
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert!(pages > 2);
        assert_eq!(nodes, whole.nodes.iter().map(|node| node.id).collect::<Vec<_>>());
        let sorted = |mut edges: Vec<GraphEdge>| {
            edges.sort_by_key(|edge| (edge.from, edge.to));
            edges
        };
        assert_eq!(sorted(edges), sorted(whole.edges));

        let capped = NeighbourhoodRequest { max_nodes: 4, ..from_alpha(&fixture, 0, String::new()) };
        let capped = fixture.network.neighbourhood(capped).await.unwrap();
        assert_eq!(capped.nodes.len(), 4);
        assert!(capped.truncated && capped.next_page_token.is_empty());
    }

    #[tokio::test]
    async fn requests_are_checked_and_tokens_stay_with_their_request() {
        let fixture = fixture().await;
        let check = |request: NeighbourhoodRequest, message: &str| {
            let network = fixture.network.clone();
            let message = message.to_owned();
            async move {
                assert_eq!(network.neighbourhood(request).await.unwrap_err().to_string(), message);
            }
        };
        check(NeighbourhoodRequest::default(), "start is required: an account, an indicator or a document").await;
        check(
            NeighbourhoodRequest { max_depth: 4, ..from_alpha(&fixture, 0, String::new()) },
            "max_depth is 4, over the limit of 3",
        )
        .await;
        check(
            NeighbourhoodRequest { max_nodes: 1001, ..from_alpha(&fixture, 0, String::new()) },
            "max_nodes is 1001, over the limit of 1000",
        )
        .await;
        check(
            NeighbourhoodRequest { start: Some(NodeChoice::Document("x".into())), ..NeighbourhoodRequest::default() },
            "start.document_id is not an id",
        )
        .await;
        check(
            NeighbourhoodRequest {
                observed_from: Some(10),
                observed_until: Some(10),
                ..from_alpha(&fixture, 0, String::new())
            },
            "observed_until must be after observed_from",
        )
        .await;
        let first = fixture.network.neighbourhood(from_alpha(&fixture, 2, String::new())).await.unwrap();
        let other = NeighbourhoodRequest { max_depth: 1, ..from_alpha(&fixture, 2, first.next_page_token) };
        check(other, "page_token belongs to a different request").await;
        let missing = NeighbourhoodRequest {
            start: Some(NodeChoice::Account("999999".into())),
            ..NeighbourhoodRequest::default()
        };
        assert!(matches!(fixture.network.neighbourhood(missing).await, Err(QueryError::NotFound(_))));

        // A defanged spelling reaches the same wallet.
        let wallet = NeighbourhoodRequest {
            start: Some(NodeChoice::Indicator { kind: IndicatorKind::Btc, value: format!(" {WALLET} ") }),
            max_depth: 1,
            ..NeighbourhoodRequest::default()
        };
        let found = fixture.network.neighbourhood(wallet).await.unwrap();
        // alpha, bravo, and the channel alpha's post names.
        assert_eq!(found.nodes.iter().filter(|node| matches!(node.id, GraphNodeId::Account(_))).count(), 3);
    }

    #[tokio::test]
    async fn shared_indicators_rank_the_wallet_partner_first_and_page() {
        let fixture = fixture().await;
        let request = |page_token: String| SharedIndicatorsRequest {
            account_id: fixture.ids["alpha_exemple"].clone(),
            page_size: 1,
            page_token,
            ..SharedIndicatorsRequest::default()
        };
        let first = fixture.network.shared_indicator_accounts(request(String::new())).await.unwrap();
        assert_eq!(first.accounts[0].account.handle.as_deref(), Some("bravo_exemple"));
        assert_eq!(first.total, 2);
        assert_eq!(first.hubs_skipped, 1, "#actu");
        let second = fixture.network.shared_indicator_accounts(request(first.next_page_token)).await.unwrap();
        assert_eq!(second.accounts[0].account.handle.as_deref(), Some("charlie_exemple"));
        assert!(second.next_page_token.is_empty());
        let too_big = SharedIndicatorsRequest { page_size: 101, ..request(String::new()) };
        assert_eq!(
            fixture.network.shared_indicator_accounts(too_big).await.unwrap_err().to_string(),
            "page_size is 101, over the limit of 100"
        );
    }

    #[tokio::test]
    async fn top_connectors_default_to_the_last_thirty_days() {
        let fixture = fixture().await;
        let top = fixture
            .network
            .top_connectors(TopConnectorsRequest {
                accounts: true,
                order: Some(ConnectorOrder::AccountsBridged),
                limit: 1,
                ..TopConnectorsRequest::default()
            })
            .await
            .unwrap();
        assert_eq!(top.observed_until - top.observed_from, 30 * 86_400);
        assert_eq!(top.documents_read, 9);
        assert!(
            matches!(&top.connectors[0].entity, GraphEntity::Account(a) if a.handle.as_deref() == Some("alpha_exemple"))
        );
        let bad =
            TopConnectorsRequest { platforms: vec!["no spaces allowed".into()], ..TopConnectorsRequest::default() };
        assert!(fixture.network.top_connectors(bad).await.unwrap_err().to_string().starts_with("platforms[0] "));
        let kinds = TopConnectorsRequest {
            indicator_kinds: vec![IndicatorKind::Hashtag; MAX_FILTER_ENTRIES + 1],
            ..TopConnectorsRequest::default()
        };
        assert_eq!(
            fixture.network.top_connectors(kinds).await.unwrap_err().to_string(),
            "indicator_kinds has 33 entries, over the limit of 32"
        );
    }

    #[tokio::test]
    async fn long_page_tokens_and_values_are_refused_before_they_are_read() {
        let fixture = fixture().await;
        let long_token = from_alpha(&fixture, 2, "A".repeat(1_000));
        assert_eq!(
            fixture.network.neighbourhood(long_token).await.unwrap_err().to_string(),
            "page_token is 1000 bytes, over the 256-byte limit"
        );
        let long_value = NeighbourhoodRequest {
            start: Some(NodeChoice::Indicator { kind: IndicatorKind::Url, value: "x".repeat(MAX_INDICATOR_BYTES + 1) }),
            ..NeighbourhoodRequest::default()
        };
        assert_eq!(
            fixture.network.neighbourhood(long_value).await.unwrap_err().to_string(),
            "start.indicator.value is 8193 bytes, over the 8192-byte limit"
        );
    }
}
