//! The account network: neighbourhoods, shared indicators and top connectors, read from documents, sightings and accounts.
//!
//! The graph has three kinds of node: accounts, indicators and documents.
//! Its edges come from what is stored: an account authored a document
//! (`document_account` role `author`), a document mentions an account (role
//! `mention`), a document contains an indicator (`sighting`). An `account`
//! indicator ("telegram:example_channel") and the account row with that
//! platform and handle are one node, the account: otherwise a channel named
//! in a link and the channel posting would be two nodes analysts must join by
//! eye. An `account` indicator with no account row stays an indicator node.
//!
//! Hubs would connect everything, so two rules keep them out:
//! - A benign indicator (the caller's [`BenignIndicators`]: platform and
//!   infrastructure hosts) is never a node, never traversed and never counted.
//! - A hub is shown as a node but never expanded, and never connects
//!   accounts: an indicator seen in more than `hub_max_documents` documents or
//!   in documents of more than `hub_max_accounts` accounts (both all time), or
//!   an account named (not authored) in more than `hub_max_documents` of its
//!   newest `2 × hub_max_documents` documents. Domains derived from URLs are
//!   indicators like any other: a host shared by few accounts connects them, a
//!   popular host is a hub.
//!
//! Shared indicators: another account shares an indicator when one of its
//! documents that the account is not in contains it (two accounts in one
//! document are a direct edge, not shared evidence); each shared indicator
//! weighs `1 / ln(1 + accounts linked to it)`, so rare evidence outweighs
//! common. An account's own `account` indicator is no evidence.
//!
//! The start of a neighbourhood is always expanded, hub or benign: the
//! analyst asked for it. Every expansion reads at most `max_links_per_node`
//! links, newest documents first, so every query is bounded by its caps and
//! uses the existing indexes (`document_account_by_account`,
//! `sighting_by_time`, `sighting_by_document`, `document_by_time`).
//!
//! Pages of one query read the same documents: the first page records the
//! newest document id (`as_of`) and later pages ignore documents stored
//! after it. Hub status is read live.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    AccountId, AccountRecord, DocumentId, DocumentSummary, IndicatorKey, IndicatorKind, StoreError, UnixSeconds,
};

/// What the network queries read.
#[async_trait]
pub trait NetworkStore: Send + Sync + std::fmt::Debug + 'static {
    /// The nodes around `query.start` in breadth-first order, with the
    /// edges between them; `None` when the start is not stored.
    async fn neighbourhood(&self, query: NeighbourhoodQuery) -> Result<Option<Neighbourhood>, StoreError>;

    /// Accounts whose documents contain indicators that the account's
    /// documents contain, best first; `None` when there is no such account.
    async fn shared_indicator_accounts(
        &self,
        query: SharedIndicatorQuery,
    ) -> Result<Option<SharedIndicatorAccounts>, StoreError>;

    /// Accounts and indicators with the most neighbours in a time window.
    async fn top_connectors(&self, query: TopConnectorQuery) -> Result<TopConnectors, StoreError>;
}

/// Says which indicators are benign infrastructure (a platform's own host,
/// a search engine): never traversed nor counted.
pub trait BenignIndicators: Send + Sync + fmt::Debug {
    fn is_benign(&self, kind: IndicatorKind, value: &str) -> bool;
}

/// The limits that keep hubs from connecting everything; see the module doc.
#[derive(Clone, Debug)]
pub struct GraphCaps {
    pub hub_max_documents: u64,
    pub hub_max_accounts: u64,
    /// Links read when a node is expanded, newest documents first.
    pub max_links_per_node: usize,
    pub benign: Arc<dyn BenignIndicators>,
}

/// Documents observed in `[from, until)`; unbounded on a side that is `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphWindow {
    pub from: Option<UnixSeconds>,
    pub until: Option<UnixSeconds>,
}

impl GraphWindow {
    fn bounds(self) -> (UnixSeconds, UnixSeconds) {
        (self.from.unwrap_or(UnixSeconds::MIN), self.until.unwrap_or(UnixSeconds::MAX))
    }
}

/// Where a neighbourhood starts, as a caller names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphStart {
    Account(AccountId),
    /// Normalized; an `account` indicator names the account when it is stored.
    Indicator(IndicatorKey),
    Document(DocumentId),
}

/// A node's identity; indicators by their row id, since values can be long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GraphNodeId {
    Account(AccountId),
    Indicator(i64),
    Document(DocumentId),
}

impl fmt::Display for GraphNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphNodeId::Account(id) => write!(f, "account:{id}"),
            GraphNodeId::Indicator(id) => write!(f, "indicator:{id}"),
            GraphNodeId::Document(id) => write!(f, "document:{id}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NeighbourhoodQuery {
    pub start: GraphStart,
    /// Edges from the start; documents count as one hop, so two hops lead
    /// from an account to the indicators and accounts of its documents.
    pub max_hops: u32,
    /// Nodes collected, start included.
    pub max_nodes: usize,
    pub window: GraphWindow,
    pub caps: GraphCaps,
    /// Ignore documents with a greater id; the newest document when `None`.
    pub as_of: Option<DocumentId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Neighbourhood {
    /// Breadth-first from the start, which is first.
    pub nodes: Vec<GraphNode>,
    /// Between collected nodes only, each once.
    pub edges: Vec<GraphEdge>,
    /// A node within reach was left out because `max_nodes` were collected.
    pub more: bool,
    pub as_of: DocumentId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GraphNode {
    pub id: GraphNodeId,
    pub hops: u32,
    pub entity: GraphEntity,
    /// Shown but not expanded (see the module doc).
    pub hub: bool,
    /// Expanded, with more links than `max_links_per_node`: the newest shown.
    pub links_capped: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum GraphEntity {
    Account(AccountRecord),
    Indicator(GraphIndicator),
    Document(DocumentSummary),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphIndicator {
    pub kind: IndicatorKind,
    pub value: String,
    pub first_seen: UnixSeconds,
    pub last_seen: UnixSeconds,
    /// Documents it was seen in, all time.
    pub sighting_count: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GraphEdge {
    pub from: GraphNodeId,
    pub to: GraphNodeId,
    pub kind: GraphEdgeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GraphEdgeKind {
    /// Account to document.
    Authored,
    /// Document to account.
    Mentions,
    /// Document to indicator.
    Contains,
}

#[derive(Clone, Debug)]
pub struct SharedIndicatorQuery {
    pub account: AccountId,
    pub window: GraphWindow,
    pub caps: GraphCaps,
    /// The account's documents read, newest first.
    pub max_documents: usize,
    /// Indicators of those documents used, rarest first.
    pub max_indicators: usize,
    /// Shared indicators listed per account, rarest first.
    pub max_listed: usize,
    pub offset: usize,
    pub limit: usize,
    pub as_of: Option<DocumentId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SharedIndicatorAccounts {
    /// `offset..offset + limit` of the ranking.
    pub accounts: Vec<SharingAccount>,
    /// Accounts in the whole ranking.
    pub total: usize,
    /// Indicators of the account's documents that could connect (neither
    /// benign, hubs nor the account itself).
    pub indicators_used: usize,
    pub hubs_skipped: usize,
    pub benign_skipped: usize,
    /// `max_documents` or `max_indicators` left some out.
    pub capped: bool,
    pub as_of: DocumentId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SharingAccount {
    pub account: AccountRecord,
    /// The sum of the shared indicators' weights.
    pub score: f64,
    pub shared_count: usize,
    /// At most `max_listed`, heaviest (rarest) first.
    pub shared: Vec<SharedIndicator>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SharedIndicator {
    pub indicator: GraphIndicator,
    /// Distinct accounts in documents containing it, all time.
    pub accounts: u64,
    /// `1 / ln(1 + accounts)`: an indicator two accounts share weighs 0.91,
    /// one a hundred share 0.22.
    pub weight: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorOrder {
    /// Distinct neighbours (accounts and indicators) through documents.
    Degree,
    /// Distinct other accounts reached through one document or one shared
    /// indicator.
    AccountsBridged,
}

#[derive(Clone, Debug)]
pub struct TopConnectorQuery {
    pub from: UnixSeconds,
    pub until: UnixSeconds,
    /// The newest documents of the window read.
    pub max_documents: usize,
    pub include_accounts: bool,
    pub include_indicators: bool,
    /// Accounts on these platforms only; all when empty.
    pub platforms: Vec<String>,
    /// Indicators of these kinds only; all when empty.
    pub indicator_kinds: Vec<IndicatorKind>,
    pub order: ConnectorOrder,
    pub limit: usize,
    pub caps: GraphCaps,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TopConnectors {
    pub connectors: Vec<Connector>,
    pub documents_read: usize,
    /// The window held more than `max_documents`: the newest were read.
    pub documents_capped: bool,
    /// Hub indicators left out of the ranking and of every count.
    pub hubs_excluded: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Connector {
    pub id: GraphNodeId,
    /// An account or an indicator.
    pub entity: GraphEntity,
    pub degree: u64,
    pub accounts_bridged: u64,
    /// Documents of the window it is in.
    pub documents: u64,
}

/// The reads the graph queries are made of, one method per query shape:
/// each engine writes its SQL, while the traversal, the hub rules and the
/// rankings below are shared, so both engines answer alike. A method taking
/// a slice answers for each element, in order: an engine may loop over
/// single reads or make one query of them.
pub(crate) trait GraphSource {
    /// The newest document's id; 0 when there is none.
    async fn newest_document(&self) -> Result<DocumentId, StoreError>;

    /// Whether document `id` is stored and not newer than `as_of`.
    async fn document_exists(&self, id: DocumentId, as_of: DocumentId) -> Result<bool, StoreError>;

    async fn indicator_id(&self, key: &IndicatorKey) -> Result<Option<i64>, StoreError>;

    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<AccountRecord>>, StoreError>;

    /// The account with each (platform, handle).
    async fn accounts_by_handle(&self, names: &[(&str, &str)]) -> Result<Vec<Option<AccountId>>, StoreError>;

    /// Fails when one is not stored.
    async fn documents(&self, ids: &[DocumentId]) -> Result<Vec<DocumentSummary>, StoreError>;

    /// Fails when one is not stored.
    async fn indicators(&self, ids: &[i64]) -> Result<Vec<GraphIndicator>, StoreError>;

    /// Each document's accounts by id, with whether it authored it.
    async fn document_accounts(&self, documents: &[DocumentId]) -> Result<Vec<Vec<(AccountId, bool)>>, StoreError>;

    /// Each document's indicators by id.
    async fn document_indicators(&self, documents: &[DocumentId]) -> Result<Vec<Vec<i64>>, StoreError>;

    /// [`ACCOUNT_DOCUMENTS`]: `scan` and `limit` as there.
    async fn account_documents(
        &self,
        account: AccountId,
        as_of: DocumentId,
        window: (UnixSeconds, UnixSeconds),
        scan: i64,
        limit: i64,
    ) -> Result<Vec<(DocumentId, bool)>, StoreError>;

    /// [`INDICATOR_DOCUMENTS`].
    async fn indicator_documents(
        &self,
        indicator: i64,
        window: (UnixSeconds, UnixSeconds),
        as_of: DocumentId,
        limit: i64,
    ) -> Result<Vec<DocumentId>, StoreError>;

    /// For each indicator, the accounts in documents containing it, with
    /// when and in which document: at most `limit` of its sightings are read.
    async fn indicator_accounts(
        &self,
        indicators: &[i64],
        as_of: DocumentId,
        limit: i64,
    ) -> Result<Vec<Vec<(AccountId, UnixSeconds, DocumentId)>>, StoreError>;

    /// Whether the account is in each document.
    async fn documents_with_account(
        &self,
        account: AccountId,
        documents: &[DocumentId],
    ) -> Result<Vec<bool>, StoreError>;

    /// For each indicator, the distinct accounts in its documents, counted
    /// up to `limit` (all time).
    async fn indicator_account_counts(&self, indicators: &[i64], limit: i64) -> Result<Vec<u64>, StoreError>;

    /// For each account, how many of its `newest` newest documents name it
    /// without it authoring them.
    async fn mention_counts(&self, accounts: &[AccountId], newest: i64) -> Result<Vec<u64>, StoreError>;

    /// [`WINDOW_DOCUMENTS`].
    async fn window_documents(
        &self,
        from: UnixSeconds,
        until: UnixSeconds,
        limit: i64,
    ) -> Result<Vec<DocumentId>, StoreError>;
}

// The single-row reads both engines run as written; SQLite numbers its
// parameters `?1` where PostgreSQL writes `$1`.

pub(crate) const NEWEST_DOCUMENT: &str = "SELECT coalesce(max(id), 0) FROM document";
pub(crate) const DOCUMENT_EXISTS: &str = "SELECT id FROM document WHERE id = $1 AND id <= $2";
pub(crate) const INDICATOR_ID: &str = "SELECT id FROM indicator WHERE kind = $1 AND value = $2";

/// An account's documents in the window, newest stored first, with whether
/// it authored each: `$6` at most, from a scan of at most `$3` rows of the
/// account's index, so that a narrow window never reads a whole history.
pub(crate) const ACCOUNT_DOCUMENTS: &str = "SELECT x.document_id, x.role = 'author' FROM (
         SELECT document_id, role FROM document_account
         WHERE account_id = $1 AND document_id <= $2 ORDER BY document_id DESC LIMIT $3
     ) x JOIN document d ON d.id = x.document_id
     WHERE d.observed_at >= $4 AND d.observed_at < $5
     ORDER BY x.document_id DESC LIMIT $6";

/// An indicator's documents in the window, newest sighting first.
pub(crate) const INDICATOR_DOCUMENTS: &str = "SELECT document_id FROM sighting
     WHERE indicator_id = $1 AND seen_at >= $2 AND seen_at < $3 AND document_id <= $4
     ORDER BY seen_at DESC, document_id DESC LIMIT $5";

/// The newest documents observed in `[$1, $2)`.
pub(crate) const WINDOW_DOCUMENTS: &str = "SELECT id FROM document WHERE observed_at >= $1 AND observed_at < $2
     ORDER BY observed_at DESC, id DESC LIMIT $3";

pub(crate) async fn neighbourhood<S: GraphSource>(
    source: &S,
    query: &NeighbourhoodQuery,
) -> Result<Option<Neighbourhood>, StoreError> {
    let as_of = match query.as_of {
        Some(as_of) => as_of,
        None => source.newest_document().await?,
    };
    let mut graph = Graph::new(source, &query.caps, query.window, as_of);
    let Some(start) = graph.resolve(&query.start).await? else { return Ok(None) };
    let mut nodes = graph.nodes(&[start], 0).await?;
    let mut collected: HashSet<GraphNodeId> = HashSet::from([start]);
    let mut edges = Vec::new();
    let mut seen_edges = HashSet::new();
    let mut more = false;
    let mut cursor = 0;
    while cursor < nodes.len() {
        let (id, hops, hub) = (nodes[cursor].id, nodes[cursor].hops, nodes[cursor].hub);
        let is_start = cursor == 0;
        cursor += 1;
        if hops >= query.max_hops || (hub && !is_start) {
            continue;
        }
        let (links, capped) = graph.links(id).await?;
        nodes[cursor - 1].links_capped = capped;
        let mut fresh = Vec::new();
        for (neighbour, edge) in links {
            if !collected.contains(&neighbour) {
                if collected.len() >= query.max_nodes {
                    more = true;
                    continue;
                }
                collected.insert(neighbour);
                fresh.push(neighbour);
            }
            if seen_edges.insert((edge.from, edge.to)) {
                edges.push(edge);
            }
        }
        nodes.extend(graph.nodes(&fresh, hops + 1).await?);
    }
    Ok(Some(Neighbourhood { nodes, edges, more, as_of }))
}

pub(crate) async fn shared_indicator_accounts<S: GraphSource>(
    source: &S,
    query: &SharedIndicatorQuery,
) -> Result<Option<SharedIndicatorAccounts>, StoreError> {
    let as_of = match query.as_of {
        Some(as_of) => as_of,
        None => source.newest_document().await?,
    };
    let mut graph = Graph::new(source, &query.caps, query.window, as_of);
    if source.accounts(&[query.account]).await?.pop().flatten().is_none() {
        return Ok(None);
    }
    let (documents, mut capped) = graph.account_documents(query.account, query.max_documents).await?;
    let document_ids: Vec<DocumentId> = documents.iter().map(|(document, _)| *document).collect();
    let mut indicator_ids = Vec::new();
    let mut seen = HashSet::new();
    for ids in graph.document_indicators(&document_ids).await? {
        for id in ids {
            if seen.insert(id) {
                indicator_ids.push(id);
            }
        }
    }
    graph.load_indicators(&indicator_ids).await?;
    graph.load_names_of_account_indicators(&indicator_ids).await?;
    let mut candidates = Vec::new();
    let (mut benign_skipped, mut hubs_skipped) = (0, 0);
    for id in indicator_ids {
        let indicator = graph.indicator(id).await?;
        if query.caps.benign.is_benign(indicator.kind, &indicator.value) {
            benign_skipped += 1;
            continue;
        }
        let names =
            if indicator.kind == IndicatorKind::Account { graph.account_named(&indicator.value).await? } else { None };
        if names == Some(query.account) {
            continue;
        }
        candidates.push((id, indicator, names));
    }
    // Rarest first, so that the cap keeps the indicators that say most.
    candidates.sort_by_key(|(id, indicator, _)| (indicator.sighting_count, *id));
    if candidates.len() > query.max_indicators {
        candidates.truncate(query.max_indicators);
        capped = true;
    }
    let (lo, hi) = query.window.bounds();
    // A hub by its documents needs no read; the others' accounts are read
    // at once, then whether the account is in their documents, at once.
    let readable: Vec<i64> = candidates
        .iter()
        .filter(|(_, indicator, _)| indicator.sighting_count <= query.caps.hub_max_documents)
        .map(|(id, _, _)| *id)
        .collect();
    let mut links_of: HashMap<i64, Vec<(AccountId, UnixSeconds, DocumentId)>> =
        readable.iter().copied().zip(graph.indicator_accounts(&readable).await?).collect();
    let all_time_of = |links: &[(AccountId, UnixSeconds, DocumentId)]| -> HashSet<AccountId> {
        links.iter().map(|(account, _, _)| *account).collect()
    };
    // Evidence is a document of the other account's that the account is
    // not in: being named together is a direct edge.
    let evidence = |account: AccountId, seen_at: UnixSeconds, names: Option<AccountId>| {
        (lo..hi).contains(&seen_at) && account != query.account && names != Some(account)
    };
    let mut own_documents: HashMap<DocumentId, bool> =
        documents.iter().map(|(document, _)| (*document, true)).collect();
    let mut unknown = Vec::new();
    for (id, _, names) in &candidates {
        let Some(links) = links_of.get(id) else { continue };
        if all_time_of(links).len() as u64 > query.caps.hub_max_accounts {
            continue;
        }
        for (account, seen_at, document) in links {
            if evidence(*account, *seen_at, *names) && !own_documents.contains_key(document) {
                own_documents.insert(*document, false);
                unknown.push(*document);
            }
        }
    }
    let inside = graph.documents_with_account(query.account, &unknown).await?;
    own_documents.extend(unknown.into_iter().zip(inside));

    let mut scores: HashMap<AccountId, (f64, Vec<SharedIndicator>)> = HashMap::new();
    let mut indicators_used = 0;
    for (id, indicator, names) in candidates {
        let Some(links) = links_of.remove(&id) else {
            hubs_skipped += 1;
            continue;
        };
        let all_time = all_time_of(&links);
        if all_time.len() as u64 > query.caps.hub_max_accounts {
            hubs_skipped += 1;
            continue;
        }
        indicators_used += 1;
        let weight = 1.0 / (1.0 + all_time.len() as f64).ln();
        let in_window: HashSet<AccountId> = links
            .iter()
            .filter(|(account, seen_at, document)| evidence(*account, *seen_at, names) && !own_documents[document])
            .map(|(account, _, _)| *account)
            .collect();
        for account in in_window {
            let entry = scores.entry(account).or_default();
            entry.0 += weight;
            entry.1.push(SharedIndicator { indicator: indicator.clone(), accounts: all_time.len() as u64, weight });
        }
    }
    let mut ranking: Vec<(AccountId, f64, Vec<SharedIndicator>)> =
        scores.into_iter().map(|(account, (score, shared))| (account, score, shared)).collect();
    ranking.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.len().cmp(&a.2.len())).then(a.0.cmp(&b.0)));
    let total = ranking.len();
    let page: Vec<(AccountId, f64, Vec<SharedIndicator>)> =
        ranking.into_iter().skip(query.offset).take(query.limit).collect();
    let page_ids: Vec<AccountId> = page.iter().map(|(account, _, _)| *account).collect();
    let records = graph.accounts(&page_ids).await?;
    let mut accounts = Vec::new();
    for ((_, score, mut shared), record) in page.into_iter().zip(records) {
        let Some(record) = record else { continue };
        shared.sort_by(|a, b| {
            b.weight.total_cmp(&a.weight).then_with(|| {
                (a.indicator.kind.as_str(), &a.indicator.value).cmp(&(b.indicator.kind.as_str(), &b.indicator.value))
            })
        });
        let shared_count = shared.len();
        shared.truncate(query.max_listed);
        accounts.push(SharingAccount { account: record, score, shared_count, shared });
    }
    Ok(Some(SharedIndicatorAccounts { accounts, total, indicators_used, hubs_skipped, benign_skipped, capped, as_of }))
}

pub(crate) async fn top_connectors<S: GraphSource>(
    source: &S,
    query: &TopConnectorQuery,
) -> Result<TopConnectors, StoreError> {
    let window = GraphWindow { from: Some(query.from), until: Some(query.until) };
    let mut graph = Graph::new(source, &query.caps, window, DocumentId::MAX);
    let mut documents = source.window_documents(query.from, query.until, query.max_documents as i64 + 1).await?;
    let documents_capped = documents.len() > query.max_documents;
    documents.truncate(query.max_documents);

    // Pass one: who and what each document links, and which accounts each
    // indicator reaches in the window (for the hub rule and for bridging).
    let mut members_of: Vec<Vec<GraphNodeId>> = Vec::with_capacity(documents.len());
    let mut accounts_of: HashMap<i64, HashSet<AccountId>> = HashMap::new();
    for (links, _) in graph.documents_links(&documents, usize::MAX).await? {
        let members: Vec<GraphNodeId> = links.into_iter().map(|(node, _)| node).collect();
        let accounts: Vec<AccountId> = members
            .iter()
            .filter_map(|node| match node {
                GraphNodeId::Account(id) => Some(*id),
                _ => None,
            })
            .collect();
        for node in &members {
            if let GraphNodeId::Indicator(id) = node {
                accounts_of.entry(*id).or_default().extend(accounts.iter().copied());
            }
        }
        members_of.push(members);
    }
    let mut hubs = HashSet::new();
    for (id, accounts) in &accounts_of {
        if graph.indicator(*id).await?.sighting_count > query.caps.hub_max_documents
            || accounts.len() as u64 > query.caps.hub_max_accounts
        {
            hubs.insert(*id);
        }
    }
    let is_hub = |node: &GraphNodeId| matches!(node, GraphNodeId::Indicator(id) if hubs.contains(id));

    // Pass two: neighbours and documents of every node, hubs left out.
    let mut neighbours: HashMap<GraphNodeId, HashSet<GraphNodeId>> = HashMap::new();
    let mut document_counts: HashMap<GraphNodeId, u64> = HashMap::new();
    for members in &members_of {
        let members: Vec<GraphNodeId> = members.iter().copied().filter(|node| !is_hub(node)).collect();
        for node in &members {
            *document_counts.entry(*node).or_default() += 1;
            let set = neighbours.entry(*node).or_default();
            set.extend(members.iter().copied().filter(|other| other != node));
        }
    }
    let mut scored: Vec<(GraphNodeId, u64, u64, u64)> = Vec::new();
    for (node, around) in &neighbours {
        let bridged: u64 = match node {
            GraphNodeId::Account(me) => {
                let mut reached: HashSet<AccountId> = HashSet::new();
                for other in around {
                    match other {
                        GraphNodeId::Account(id) => {
                            reached.insert(*id);
                        }
                        GraphNodeId::Indicator(id) => {
                            reached.extend(accounts_of.get(id).into_iter().flatten().copied());
                        }
                        GraphNodeId::Document(_) => {}
                    }
                }
                reached.remove(me);
                reached.len() as u64
            }
            GraphNodeId::Indicator(id) => accounts_of.get(id).map_or(0, |accounts| accounts.len() as u64),
            GraphNodeId::Document(_) => continue,
        };
        scored.push((*node, around.len() as u64, bridged, document_counts.get(node).copied().unwrap_or(0)));
    }
    scored.sort_by(|a, b| {
        let key = |s: &(GraphNodeId, u64, u64, u64)| match query.order {
            ConnectorOrder::Degree => (s.1, s.2, s.3),
            ConnectorOrder::AccountsBridged => (s.2, s.1, s.3),
        };
        key(b).cmp(&key(a)).then(a.0.cmp(&b.0))
    });
    // Read in chunks of the places left, so that filters never read far.
    let mut connectors = Vec::new();
    let mut rest = scored.as_slice();
    while connectors.len() < query.limit && !rest.is_empty() {
        let (chunk, tail) = rest.split_at((query.limit - connectors.len()).min(rest.len()));
        rest = tail;
        let account_ids: Vec<AccountId> = chunk
            .iter()
            .filter_map(|(id, ..)| match id {
                GraphNodeId::Account(account) if query.include_accounts => Some(*account),
                _ => None,
            })
            .collect();
        let mut records: HashMap<AccountId, Option<AccountRecord>> =
            account_ids.iter().copied().zip(graph.accounts(&account_ids).await?).collect();
        for &(id, degree, accounts_bridged, documents) in chunk {
            let entity = match id {
                GraphNodeId::Account(account) if query.include_accounts => {
                    let Some(record) = records.remove(&account).flatten() else { continue };
                    if !query.platforms.is_empty() && !query.platforms.contains(&record.platform) {
                        continue;
                    }
                    GraphEntity::Account(record)
                }
                GraphNodeId::Indicator(indicator) if query.include_indicators => {
                    let indicator = graph.indicator(indicator).await?;
                    if !query.indicator_kinds.is_empty() && !query.indicator_kinds.contains(&indicator.kind) {
                        continue;
                    }
                    GraphEntity::Indicator(indicator)
                }
                _ => continue,
            };
            connectors.push(Connector { id, entity, degree, accounts_bridged, documents });
        }
    }
    Ok(TopConnectors { connectors, documents_read: documents.len(), documents_capped, hubs_excluded: hubs.len() })
}

/// What one query reads of the graph, with the look-ups it repeats cached.
struct Graph<'q, S> {
    source: &'q S,
    caps: &'q GraphCaps,
    window: (UnixSeconds, UnixSeconds),
    as_of: DocumentId,
    indicators: HashMap<i64, GraphIndicator>,
    accounts_by_value: HashMap<String, Option<AccountId>>,
}

/// A neighbour and the edge that leads to it.
type Link = (GraphNodeId, GraphEdge);

impl<'q, S: GraphSource> Graph<'q, S> {
    fn new(source: &'q S, caps: &'q GraphCaps, window: GraphWindow, as_of: DocumentId) -> Graph<'q, S> {
        Graph {
            source,
            caps,
            window: window.bounds(),
            as_of,
            indicators: HashMap::new(),
            accounts_by_value: HashMap::new(),
        }
    }

    async fn resolve(&mut self, start: &GraphStart) -> Result<Option<GraphNodeId>, StoreError> {
        Ok(match start {
            GraphStart::Account(id) => {
                self.source.accounts(&[*id]).await?.pop().flatten().map(|_| GraphNodeId::Account(*id))
            }
            GraphStart::Document(id) => {
                self.source.document_exists(*id, self.as_of).await?.then_some(GraphNodeId::Document(*id))
            }
            GraphStart::Indicator(key) => {
                if key.kind == IndicatorKind::Account
                    && let Some(account) = self.account_named(&key.value).await?
                {
                    return Ok(Some(GraphNodeId::Account(account)));
                }
                self.source.indicator_id(key).await?.map(GraphNodeId::Indicator)
            }
        })
    }

    /// The nodes `ids` names, in that order, each id once.
    async fn nodes(&mut self, ids: &[GraphNodeId], hops: u32) -> Result<Vec<GraphNode>, StoreError> {
        let (mut account_ids, mut indicator_ids, mut document_ids) = (Vec::new(), Vec::new(), Vec::new());
        for id in ids {
            match id {
                GraphNodeId::Account(id) => account_ids.push(*id),
                GraphNodeId::Indicator(id) => indicator_ids.push(*id),
                GraphNodeId::Document(id) => document_ids.push(*id),
            }
        }
        let mut records = Vec::with_capacity(account_ids.len());
        for (id, record) in account_ids.iter().zip(self.accounts(&account_ids).await?) {
            records.push(record.ok_or_else(|| StoreError::Worker(format!("account {id} vanished in a read")))?);
        }
        let account_hubs = self.account_hubs(&records).await?;
        let mut accounts: HashMap<AccountId, (AccountRecord, bool)> =
            records.into_iter().zip(account_hubs).map(|(record, hub)| (record.id, (record, hub))).collect();
        let indicator_hubs: HashMap<i64, bool> =
            indicator_ids.iter().copied().zip(self.indicator_hubs(&indicator_ids).await?).collect();
        let mut documents: HashMap<DocumentId, DocumentSummary> = if document_ids.is_empty() {
            HashMap::new()
        } else {
            self.source.documents(&document_ids).await?.into_iter().map(|document| (document.id, document)).collect()
        };
        let mut nodes = Vec::with_capacity(ids.len());
        for &id in ids {
            let vanished = || StoreError::Worker(format!("{id} vanished in a read"));
            let (entity, hub) = match id {
                GraphNodeId::Account(account) => {
                    let (record, hub) = accounts.remove(&account).ok_or_else(vanished)?;
                    (GraphEntity::Account(record), hub)
                }
                GraphNodeId::Indicator(indicator) => {
                    (GraphEntity::Indicator(self.indicator(indicator).await?), indicator_hubs[&indicator])
                }
                GraphNodeId::Document(document) => {
                    (GraphEntity::Document(documents.remove(&document).ok_or_else(vanished)?), false)
                }
            };
            nodes.push(GraphNode { id, hops, entity, hub, links_capped: false });
        }
        Ok(nodes)
    }

    /// The node's links, newest documents first, and whether there were
    /// more than `max_links_per_node`.
    async fn links(&mut self, id: GraphNodeId) -> Result<(Vec<Link>, bool), StoreError> {
        let cap = self.caps.max_links_per_node;
        match id {
            GraphNodeId::Account(account) => {
                let (documents, capped) = self.account_documents(account, cap).await?;
                let links = documents
                    .into_iter()
                    .map(|(document, authored)| {
                        (GraphNodeId::Document(document), account_edge(account, document, authored))
                    })
                    .collect();
                Ok((links, capped))
            }
            GraphNodeId::Indicator(indicator) => {
                let mut documents =
                    self.source.indicator_documents(indicator, self.window, self.as_of, cap as i64 + 1).await?;
                let capped = documents.len() > cap;
                documents.truncate(cap);
                let links = documents
                    .into_iter()
                    .map(|document| {
                        let edge =
                            GraphEdge { from: GraphNodeId::Document(document), to: id, kind: GraphEdgeKind::Contains };
                        (GraphNodeId::Document(document), edge)
                    })
                    .collect();
                Ok((links, capped))
            }
            GraphNodeId::Document(document) => {
                Ok(self.documents_links(&[document], cap).await?.pop().unwrap_or_default())
            }
        }
    }

    /// The account's documents in the window, newest stored first, with
    /// whether it authored each. At most `limit`; a scan of at most
    /// `SCAN_FACTOR × limit` rows of the account's index keeps a narrow
    /// window from reading an account's whole history.
    async fn account_documents(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(DocumentId, bool)>, bool), StoreError> {
        const SCAN_FACTOR: usize = 20;
        let scan = limit.saturating_mul(SCAN_FACTOR).min(i64::MAX as usize - 1) as i64;
        let fetch = limit.min(i64::MAX as usize - 1) as i64 + 1;
        let mut documents = self.source.account_documents(account, self.as_of, self.window, scan, fetch).await?;
        let capped = documents.len() > limit;
        documents.truncate(limit);
        Ok((documents, capped))
    }

    /// Each document's links: its accounts, then its indicators; benign
    /// indicators are left out and `account` indicators become their
    /// accounts. At most `cap` each, with whether there were more.
    async fn documents_links(
        &mut self,
        documents: &[DocumentId],
        cap: usize,
    ) -> Result<Vec<(Vec<Link>, bool)>, StoreError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let accounts = self.source.document_accounts(documents).await?;
        let indicators = self.source.document_indicators(documents).await?;
        let all: Vec<i64> = indicators.iter().flatten().copied().collect();
        self.load_indicators(&all).await?;
        self.load_names_of_account_indicators(&all).await?;
        let mut found = Vec::with_capacity(documents.len());
        for ((&document, accounts), indicator_ids) in documents.iter().zip(accounts).zip(indicators) {
            let mut linked: HashSet<AccountId> = accounts.iter().map(|(account, _)| *account).collect();
            let mut links: Vec<Link> = accounts
                .into_iter()
                .map(|(account, authored)| (GraphNodeId::Account(account), account_edge(account, document, authored)))
                .collect();
            let from = GraphNodeId::Document(document);
            for indicator_id in indicator_ids {
                if links.len() > cap {
                    break;
                }
                let indicator = self.indicator(indicator_id).await?;
                if self.caps.benign.is_benign(indicator.kind, &indicator.value) {
                    continue;
                }
                if indicator.kind == IndicatorKind::Account
                    && let Some(account) = self.account_named(&indicator.value).await?
                {
                    if linked.insert(account) {
                        let to = GraphNodeId::Account(account);
                        links.push((to, GraphEdge { from, to, kind: GraphEdgeKind::Mentions }));
                    }
                    continue;
                }
                let to = GraphNodeId::Indicator(indicator_id);
                links.push((to, GraphEdge { from, to, kind: GraphEdgeKind::Contains }));
            }
            let capped = links.len() > cap;
            links.truncate(cap);
            found.push((links, capped));
        }
        Ok(found)
    }

    async fn document_indicators(&self, documents: &[DocumentId]) -> Result<Vec<Vec<i64>>, StoreError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        self.source.document_indicators(documents).await
    }

    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<AccountRecord>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.source.accounts(ids).await
    }

    async fn indicator_accounts(
        &self,
        indicators: &[i64],
    ) -> Result<Vec<Vec<(AccountId, UnixSeconds, DocumentId)>>, StoreError> {
        if indicators.is_empty() {
            return Ok(Vec::new());
        }
        self.source.indicator_accounts(indicators, self.as_of, self.caps.hub_max_documents as i64).await
    }

    async fn documents_with_account(
        &self,
        account: AccountId,
        documents: &[DocumentId],
    ) -> Result<Vec<bool>, StoreError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        self.source.documents_with_account(account, documents).await
    }

    /// Reads the indicators not read yet.
    async fn load_indicators(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let mut missing: Vec<i64> = ids.iter().copied().filter(|id| !self.indicators.contains_key(id)).collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let found = self.source.indicators(&missing).await?;
            self.indicators.extend(missing.into_iter().zip(found));
        }
        Ok(())
    }

    async fn indicator(&mut self, id: i64) -> Result<GraphIndicator, StoreError> {
        self.load_indicators(&[id]).await?;
        Ok(self.indicators[&id].clone())
    }

    /// Reads which accounts the loaded `account` indicators among `ids`
    /// name, benign ones left out.
    async fn load_names_of_account_indicators(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let values: Vec<String> = ids
            .iter()
            .filter_map(|id| self.indicators.get(id))
            .filter(|indicator| {
                indicator.kind == IndicatorKind::Account
                    && !self.caps.benign.is_benign(indicator.kind, &indicator.value)
            })
            .map(|indicator| indicator.value.clone())
            .collect();
        self.load_account_names(&values).await
    }

    async fn load_account_names(&mut self, values: &[String]) -> Result<(), StoreError> {
        let mut names: Vec<(&str, &str)> = Vec::new();
        let mut asked: Vec<&str> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for value in values {
            if self.accounts_by_value.contains_key(value) || !seen.insert(value) {
                continue;
            }
            match value.split_once(':') {
                Some(name) => {
                    names.push(name);
                    asked.push(value);
                }
                None => {
                    self.accounts_by_value.insert(value.clone(), None);
                }
            }
        }
        if !names.is_empty() {
            let found = self.source.accounts_by_handle(&names).await?;
            let asked: Vec<String> = asked.into_iter().map(str::to_owned).collect();
            self.accounts_by_value.extend(asked.into_iter().zip(found));
        }
        Ok(())
    }

    /// The stored account an `account` indicator value names.
    async fn account_named(&mut self, value: &str) -> Result<Option<AccountId>, StoreError> {
        if !self.accounts_by_value.contains_key(value) {
            self.load_account_names(&[value.to_owned()]).await?;
        }
        Ok(self.accounts_by_value[value])
    }

    async fn indicator_hubs(&mut self, ids: &[i64]) -> Result<Vec<bool>, StoreError> {
        self.load_indicators(ids).await?;
        let mut hubs = Vec::with_capacity(ids.len());
        let mut counted = Vec::new();
        for id in ids {
            let indicator = &self.indicators[id];
            let hub = self.caps.benign.is_benign(indicator.kind, &indicator.value)
                || indicator.sighting_count > self.caps.hub_max_documents;
            if !hub {
                counted.push(*id);
            }
            hubs.push(hub);
        }
        if counted.is_empty() {
            return Ok(hubs);
        }
        // Counting stops at the first account over the cap.
        let counts = self.source.indicator_account_counts(&counted, self.caps.hub_max_accounts as i64 + 1).await?;
        let over: HashMap<i64, bool> =
            counted.into_iter().zip(counts).map(|(id, count)| (id, count > self.caps.hub_max_accounts)).collect();
        for (hub, id) in hubs.iter_mut().zip(ids) {
            if let Some(over) = over.get(id) {
                *hub = *over;
            }
        }
        Ok(hubs)
    }

    async fn account_hubs(&self, records: &[AccountRecord]) -> Result<Vec<bool>, StoreError> {
        let cap = self.caps.hub_max_documents;
        let counted: Vec<AccountId> =
            records.iter().filter(|record| record.document_count > cap).map(|record| record.id).collect();
        let named: HashMap<AccountId, u64> = if counted.is_empty() {
            HashMap::new()
        } else {
            let newest = cap.saturating_mul(2).min(i64::MAX as u64) as i64;
            counted.iter().copied().zip(self.source.mention_counts(&counted, newest).await?).collect()
        };
        Ok(records.iter().map(|record| named.get(&record.id).is_some_and(|named| *named > cap)).collect())
    }
}

fn account_edge(account: AccountId, document: DocumentId, authored: bool) -> GraphEdge {
    if authored {
        GraphEdge {
            from: GraphNodeId::Account(account),
            to: GraphNodeId::Document(document),
            kind: GraphEdgeKind::Authored,
        }
    } else {
        GraphEdge {
            from: GraphNodeId::Document(document),
            to: GraphNodeId::Account(account),
            kind: GraphEdgeKind::Mentions,
        }
    }
}
