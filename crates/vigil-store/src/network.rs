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
use rusqlite::{OptionalExtension, Transaction, params};

use crate::{
    AccountId, AccountRecord, DocumentId, DocumentSummary, IndicatorKey, IndicatorKind, SqliteStore, StoreError,
    UnixSeconds,
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

#[async_trait]
impl NetworkStore for SqliteStore {
    async fn neighbourhood(&self, query: NeighbourhoodQuery) -> Result<Option<Neighbourhood>, StoreError> {
        self.read(move |tx| neighbourhood(tx, &query)).await
    }

    async fn shared_indicator_accounts(
        &self,
        query: SharedIndicatorQuery,
    ) -> Result<Option<SharedIndicatorAccounts>, StoreError> {
        self.read(move |tx| shared_indicator_accounts(tx, &query)).await
    }

    async fn top_connectors(&self, query: TopConnectorQuery) -> Result<TopConnectors, StoreError> {
        self.read(move |tx| top_connectors(tx, &query)).await
    }
}

fn neighbourhood(tx: &Transaction<'_>, query: &NeighbourhoodQuery) -> Result<Option<Neighbourhood>, StoreError> {
    let as_of = match query.as_of {
        Some(as_of) => as_of,
        None => newest_document(tx)?,
    };
    let mut graph = Graph::new(tx, &query.caps, query.window, as_of);
    let Some(start) = graph.resolve(&query.start)? else { return Ok(None) };
    let mut nodes = vec![graph.node(start, 0)?];
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
        let (links, capped) = graph.links(id)?;
        nodes[cursor - 1].links_capped = capped;
        for (neighbour, edge) in links {
            if !collected.contains(&neighbour) {
                if nodes.len() >= query.max_nodes {
                    more = true;
                    continue;
                }
                collected.insert(neighbour);
                nodes.push(graph.node(neighbour, hops + 1)?);
            }
            if seen_edges.insert((edge.from, edge.to)) {
                edges.push(edge);
            }
        }
    }
    Ok(Some(Neighbourhood { nodes, edges, more, as_of }))
}

fn shared_indicator_accounts(
    tx: &Transaction<'_>,
    query: &SharedIndicatorQuery,
) -> Result<Option<SharedIndicatorAccounts>, StoreError> {
    let as_of = match query.as_of {
        Some(as_of) => as_of,
        None => newest_document(tx)?,
    };
    let mut graph = Graph::new(tx, &query.caps, query.window, as_of);
    if account_record(tx, query.account)?.is_none() {
        return Ok(None);
    }
    let (documents, mut capped) = graph.account_documents(query.account, query.max_documents)?;
    let mut indicator_ids = Vec::new();
    let mut seen = HashSet::new();
    for (document, _) in &documents {
        for id in graph.document_indicator_ids(*document)? {
            if seen.insert(id) {
                indicator_ids.push(id);
            }
        }
    }
    let mut candidates = Vec::new();
    let (mut benign_skipped, mut hubs_skipped) = (0, 0);
    for id in indicator_ids {
        let indicator = graph.indicator(id)?;
        if query.caps.benign.is_benign(indicator.kind, &indicator.value) {
            benign_skipped += 1;
            continue;
        }
        let names =
            if indicator.kind == IndicatorKind::Account { graph.account_named(&indicator.value)? } else { None };
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
    let mut scores: HashMap<AccountId, (f64, Vec<SharedIndicator>)> = HashMap::new();
    let mut indicators_used = 0;
    let mut own_documents: HashMap<DocumentId, bool> =
        documents.iter().map(|(document, _)| (*document, true)).collect();
    for (id, indicator, names) in candidates {
        if indicator.sighting_count > query.caps.hub_max_documents {
            hubs_skipped += 1;
            continue;
        }
        let links = graph.indicator_accounts(id)?;
        let all_time: HashSet<AccountId> = links.iter().map(|(account, _, _)| *account).collect();
        if all_time.len() as u64 > query.caps.hub_max_accounts {
            hubs_skipped += 1;
            continue;
        }
        indicators_used += 1;
        let weight = 1.0 / (1.0 + all_time.len() as f64).ln();
        let mut in_window: HashSet<AccountId> = HashSet::new();
        for (account, seen_at, document) in &links {
            if !(lo..hi).contains(seen_at) || *account == query.account || names == Some(*account) {
                continue;
            }
            // Evidence is a document of the other account's that the
            // account is not in: being named together is a direct edge.
            let own = match own_documents.get(document) {
                Some(own) => *own,
                None => {
                    let own = graph.account_in_document(query.account, *document)?;
                    own_documents.insert(*document, own);
                    own
                }
            };
            if !own {
                in_window.insert(*account);
            }
        }
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
    let mut accounts = Vec::new();
    for (account, score, mut shared) in ranking.into_iter().skip(query.offset).take(query.limit) {
        let Some(record) = account_record(tx, account)? else { continue };
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

fn top_connectors(tx: &Transaction<'_>, query: &TopConnectorQuery) -> Result<TopConnectors, StoreError> {
    let window = GraphWindow { from: Some(query.from), until: Some(query.until) };
    let mut graph = Graph::new(tx, &query.caps, window, DocumentId::MAX);
    let mut documents: Vec<DocumentId> = tx
        .prepare_cached(
            "SELECT id FROM document WHERE observed_at >= ?1 AND observed_at < ?2
             ORDER BY observed_at DESC, id DESC LIMIT ?3",
        )?
        .query_map(params![query.from, query.until, query.max_documents as i64 + 1], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let documents_capped = documents.len() > query.max_documents;
    documents.truncate(query.max_documents);

    // Pass one: who and what each document links, and which accounts each
    // indicator reaches in the window (for the hub rule and for bridging).
    let mut members_of: Vec<Vec<GraphNodeId>> = Vec::with_capacity(documents.len());
    let mut accounts_of: HashMap<i64, HashSet<AccountId>> = HashMap::new();
    for document in &documents {
        let (links, _) = graph.document_links(*document, usize::MAX)?;
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
        if graph.indicator(*id)?.sighting_count > query.caps.hub_max_documents
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
    let mut connectors = Vec::new();
    for (id, degree, accounts_bridged, documents) in scored {
        if connectors.len() >= query.limit {
            break;
        }
        let entity = match id {
            GraphNodeId::Account(account) if query.include_accounts => {
                let Some(record) = account_record(tx, account)? else { continue };
                if !query.platforms.is_empty() && !query.platforms.contains(&record.platform) {
                    continue;
                }
                GraphEntity::Account(record)
            }
            GraphNodeId::Indicator(indicator) if query.include_indicators => {
                let indicator = graph.indicator(indicator)?;
                if !query.indicator_kinds.is_empty() && !query.indicator_kinds.contains(&indicator.kind) {
                    continue;
                }
                GraphEntity::Indicator(indicator)
            }
            _ => continue,
        };
        connectors.push(Connector { id, entity, degree, accounts_bridged, documents });
    }
    Ok(TopConnectors { connectors, documents_read: documents.len(), documents_capped, hubs_excluded: hubs.len() })
}

/// What one query reads of the graph, with the look-ups it repeats cached.
struct Graph<'t, 'c> {
    tx: &'t Transaction<'c>,
    caps: &'t GraphCaps,
    window: (UnixSeconds, UnixSeconds),
    as_of: DocumentId,
    indicators: HashMap<i64, GraphIndicator>,
    accounts_by_value: HashMap<String, Option<AccountId>>,
}

/// A neighbour and the edge that leads to it.
type Link = (GraphNodeId, GraphEdge);

impl<'t, 'c> Graph<'t, 'c> {
    fn new(tx: &'t Transaction<'c>, caps: &'t GraphCaps, window: GraphWindow, as_of: DocumentId) -> Graph<'t, 'c> {
        Graph {
            tx,
            caps,
            window: window.bounds(),
            as_of,
            indicators: HashMap::new(),
            accounts_by_value: HashMap::new(),
        }
    }

    fn resolve(&mut self, start: &GraphStart) -> Result<Option<GraphNodeId>, StoreError> {
        Ok(match start {
            GraphStart::Account(id) => account_record(self.tx, *id)?.map(|_| GraphNodeId::Account(*id)),
            GraphStart::Document(id) => self
                .tx
                .prepare_cached("SELECT id FROM document WHERE id = ?1 AND id <= ?2")?
                .query_row(params![id, self.as_of], |row| row.get(0))
                .optional()?
                .map(GraphNodeId::Document),
            GraphStart::Indicator(key) => {
                if key.kind == IndicatorKind::Account
                    && let Some(account) = self.account_named(&key.value)?
                {
                    return Ok(Some(GraphNodeId::Account(account)));
                }
                self.tx
                    .prepare_cached("SELECT id FROM indicator WHERE kind = ?1 AND value = ?2")?
                    .query_row(params![key.kind.as_str(), key.value], |row| row.get(0))
                    .optional()?
                    .map(GraphNodeId::Indicator)
            }
        })
    }

    fn node(&mut self, id: GraphNodeId, hops: u32) -> Result<GraphNode, StoreError> {
        let (entity, hub) = match id {
            GraphNodeId::Account(account) => {
                let record = account_record(self.tx, account)?
                    .ok_or_else(|| StoreError::Worker(format!("account {account} vanished in a read")))?;
                let hub = self.account_is_hub(&record)?;
                (GraphEntity::Account(record), hub)
            }
            GraphNodeId::Indicator(indicator) => {
                let hub = self.indicator_is_hub(indicator)?;
                (GraphEntity::Indicator(self.indicator(indicator)?), hub)
            }
            GraphNodeId::Document(document) => (GraphEntity::Document(document_summary(self.tx, document)?), false),
        };
        Ok(GraphNode { id, hops, entity, hub, links_capped: false })
    }

    /// The node's links, newest documents first, and whether there were
    /// more than `max_links_per_node`.
    fn links(&mut self, id: GraphNodeId) -> Result<(Vec<Link>, bool), StoreError> {
        let cap = self.caps.max_links_per_node;
        match id {
            GraphNodeId::Account(account) => {
                let (documents, capped) = self.account_documents(account, cap)?;
                let links = documents
                    .into_iter()
                    .map(|(document, authored)| {
                        (GraphNodeId::Document(document), account_edge(account, document, authored))
                    })
                    .collect();
                Ok((links, capped))
            }
            GraphNodeId::Indicator(indicator) => {
                let (lo, hi) = self.window;
                let mut documents: Vec<DocumentId> = self
                    .tx
                    .prepare_cached(
                        "SELECT document_id FROM sighting
                         WHERE indicator_id = ?1 AND seen_at >= ?2 AND seen_at < ?3 AND document_id <= ?4
                         ORDER BY seen_at DESC, document_id DESC LIMIT ?5",
                    )?
                    .query_map(params![indicator, lo, hi, self.as_of, cap as i64 + 1], |row| row.get(0))?
                    .collect::<Result<_, _>>()?;
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
            GraphNodeId::Document(document) => self.document_links(document, cap),
        }
    }

    /// The account's documents in the window, newest stored first, with
    /// whether it authored each. At most `limit`; a scan of at most
    /// `SCAN_FACTOR × limit` rows of the account's index keeps a narrow
    /// window from reading an account's whole history.
    fn account_documents(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(DocumentId, bool)>, bool), StoreError> {
        const SCAN_FACTOR: usize = 20;
        let (lo, hi) = self.window;
        let scan = limit.saturating_mul(SCAN_FACTOR).min(i64::MAX as usize - 1) as i64;
        let mut documents: Vec<(DocumentId, bool)> = self
            .tx
            .prepare_cached(
                "SELECT x.document_id, x.role = 'author' FROM (
                     SELECT document_id, role FROM document_account
                     WHERE account_id = ?1 AND document_id <= ?2 ORDER BY document_id DESC LIMIT ?3
                 ) x JOIN document d ON d.id = x.document_id
                 WHERE d.observed_at >= ?4 AND d.observed_at < ?5
                 ORDER BY x.document_id DESC LIMIT ?6",
            )?
            .query_map(
                params![account, self.as_of, scan, lo, hi, limit.min(i64::MAX as usize - 1) as i64 + 1],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?
            .collect::<Result<_, _>>()?;
        let capped = documents.len() > limit;
        documents.truncate(limit);
        Ok((documents, capped))
    }

    fn document_indicator_ids(&self, document: DocumentId) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT indicator_id FROM sighting WHERE document_id = ?1 ORDER BY indicator_id")?
            .query_map(params![document], |row| row.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// A document's accounts, then its indicators; benign indicators are
    /// left out and `account` indicators become their accounts.
    fn document_links(&mut self, document: DocumentId, cap: usize) -> Result<(Vec<Link>, bool), StoreError> {
        let accounts: Vec<(AccountId, bool)> = self
            .tx
            .prepare_cached(
                "SELECT account_id, role = 'author' FROM document_account WHERE document_id = ?1 ORDER BY account_id",
            )?
            .query_map(params![document], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut linked: HashSet<AccountId> = accounts.iter().map(|(account, _)| *account).collect();
        let mut links: Vec<Link> = accounts
            .into_iter()
            .map(|(account, authored)| (GraphNodeId::Account(account), account_edge(account, document, authored)))
            .collect();
        let from = GraphNodeId::Document(document);
        for indicator_id in self.document_indicator_ids(document)? {
            if links.len() > cap {
                break;
            }
            let indicator = self.indicator(indicator_id)?;
            if self.caps.benign.is_benign(indicator.kind, &indicator.value) {
                continue;
            }
            if indicator.kind == IndicatorKind::Account
                && let Some(account) = self.account_named(&indicator.value)?
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
        Ok((links, capped))
    }

    fn indicator(&mut self, id: i64) -> Result<GraphIndicator, StoreError> {
        if let Some(found) = self.indicators.get(&id) {
            return Ok(found.clone());
        }
        let (kind, value, first_seen, last_seen, sighting_count): (String, String, i64, i64, i64) = self
            .tx
            .prepare_cached("SELECT kind, value, first_seen, last_seen, sighting_count FROM indicator WHERE id = ?1")?
            .query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?;
        let kind = IndicatorKind::from_name(&kind)
            .ok_or_else(|| StoreError::Worker(format!("unknown indicator kind {kind:?} in the database")))?;
        let indicator = GraphIndicator { kind, value, first_seen, last_seen, sighting_count: sighting_count as u64 };
        self.indicators.insert(id, indicator.clone());
        Ok(indicator)
    }

    /// The stored account an `account` indicator value names.
    fn account_named(&mut self, value: &str) -> Result<Option<AccountId>, StoreError> {
        if let Some(found) = self.accounts_by_value.get(value) {
            return Ok(*found);
        }
        let found = match value.split_once(':') {
            Some((platform, handle)) => self
                .tx
                .prepare_cached("SELECT id FROM account WHERE platform = ?1 AND handle = ?2")?
                .query_row(params![platform, handle], |row| row.get(0))
                .optional()?,
            None => None,
        };
        self.accounts_by_value.insert(value.to_owned(), found);
        Ok(found)
    }

    /// Accounts in documents containing the indicator, with when; at most
    /// `hub_max_documents` documents are read, so call it on non-hubs.
    fn indicator_accounts(&self, indicator: i64) -> Result<Vec<(AccountId, UnixSeconds, DocumentId)>, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT da.account_id, s.seen_at, s.document_id FROM (
                     SELECT document_id, seen_at FROM sighting WHERE indicator_id = ?1 AND document_id <= ?2 LIMIT ?3
                 ) s JOIN document_account da ON da.document_id = s.document_id",
            )?
            .query_map(params![indicator, self.as_of, self.caps.hub_max_documents as i64], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<Result<_, _>>()?)
    }

    fn account_in_document(&self, account: AccountId, document: DocumentId) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM document_account WHERE document_id = ?1 AND account_id = ?2")?
            .query_row(params![document, account], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn indicator_is_hub(&mut self, id: i64) -> Result<bool, StoreError> {
        let indicator = self.indicator(id)?;
        if self.caps.benign.is_benign(indicator.kind, &indicator.value)
            || indicator.sighting_count > self.caps.hub_max_documents
        {
            return Ok(true);
        }
        // Stops at the first account over the cap.
        let accounts: i64 = self
            .tx
            .prepare_cached(
                "SELECT count(*) FROM (
                     SELECT DISTINCT da.account_id FROM sighting s JOIN document_account da ON da.document_id = s.document_id
                     WHERE s.indicator_id = ?1 LIMIT ?2
                 )",
            )?
            .query_row(params![id, self.caps.hub_max_accounts as i64 + 1], |row| row.get(0))?;
        Ok(accounts as u64 > self.caps.hub_max_accounts)
    }

    fn account_is_hub(&self, record: &AccountRecord) -> Result<bool, StoreError> {
        let cap = self.caps.hub_max_documents;
        if record.document_count <= cap {
            return Ok(false);
        }
        let named: i64 = self
            .tx
            .prepare_cached(
                "SELECT count(*) FROM (
                     SELECT role FROM document_account WHERE account_id = ?1 ORDER BY document_id DESC LIMIT ?2
                 ) WHERE role = 'mention'",
            )?
            .query_row(params![record.id, cap.saturating_mul(2).min(i64::MAX as u64) as i64], |row| row.get(0))?;
        Ok(named as u64 > cap)
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

fn newest_document(tx: &Transaction<'_>) -> Result<DocumentId, StoreError> {
    Ok(tx.query_row("SELECT coalesce(max(id), 0) FROM document", [], |row| row.get(0))?)
}

/// The account, or `None` when no account has this id.
fn account_record(tx: &Transaction<'_>, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
    let exists = tx.prepare_cached("SELECT 1 FROM account WHERE id = ?1")?.exists(params![id])?;
    exists.then(|| crate::sqlite::account_record(tx, id)).transpose()
}

fn document_summary(tx: &Transaction<'_>, id: DocumentId) -> Result<DocumentSummary, StoreError> {
    let sql = format!("SELECT {} FROM document d WHERE d.id = ?1", crate::sqlite::DOCUMENT_COLUMNS);
    Ok(tx.prepare_cached(&sql)?.query_row(params![id], crate::sqlite::document_summary)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DocumentKind;
    use crate::{AccountKey, NewDocument, NewSighting, SqliteOptions, Store};

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

    fn telegram(handle: &str) -> AccountKey {
        AccountKey { platform: "telegram".into(), handle: Some(handle.into()), platform_account_id: None }
    }

    /// A post as intake stores it: the author is also an `account` sighting.
    fn post(
        id: &str,
        author: &str,
        at: UnixSeconds,
        indicators: &[(IndicatorKind, &str)],
        mentions: &[&str],
    ) -> NewDocument {
        let mut sightings: Vec<NewSighting> = indicators
            .iter()
            .map(|(kind, value)| NewSighting {
                indicator: IndicatorKey { kind: *kind, value: (*value).into() },
                span: None,
            })
            .collect();
        for handle in mentions {
            sightings.push(NewSighting {
                indicator: IndicatorKey { kind: IndicatorKind::Account, value: format!("telegram:{handle}") },
                span: None,
            });
        }
        sightings.push(NewSighting {
            indicator: IndicatorKey { kind: IndicatorKind::Account, value: format!("telegram:{author}") },
            span: None,
        });
        NewDocument {
            kind: DocumentKind::Post,
            platform: Some("telegram".into()),
            platform_post_id: Some(id.into()),
            author: Some(telegram(author)),
            url: None,
            text: format!("post {id}"),
            text_sha256: "00".repeat(32),
            language: None,
            observed_at: at,
            search_text: format!("post {id}"),
            sightings,
            categories: vec![],
            mentioned_accounts: mentions.iter().map(|handle| telegram(handle)).collect(),
        }
    }

    const WALLET: &str = "bc1qexamplewallet0000000000000000000000";
    use IndicatorKind::{Btc, Domain, Hashtag, Url};

    /// alpha and bravo share a rare wallet; everyone uses #common (a hub
    /// under the caps of these tests); charlie and delta share #rare_tag
    /// with alpha; echo posts a t.me link (benign host) like alpha.
    async fn seeded() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteOptions::in_directory(dir.path())).unwrap();
        let mut posts = vec![
            post(
                "1",
                "alpha",
                1_000,
                &[(Btc, WALLET), (Hashtag, "common"), (Hashtag, "rare_tag"), (Domain, "t.me")],
                &[],
            ),
            post("2", "bravo", 2_000, &[(Btc, WALLET), (Hashtag, "common")], &[]),
            post("3", "charlie", 3_000, &[(Hashtag, "rare_tag"), (Hashtag, "common")], &[]),
            post("4", "delta", 4_000, &[(Hashtag, "rare_tag")], &["relay_example"]),
            post("5", "echo", 5_000, &[(Domain, "t.me"), (Hashtag, "common")], &["relay_example"]),
        ];
        for n in 0..6 {
            posts.push(post(&format!("c{n}"), &format!("crowd_{n}"), 6_000 + n, &[(Hashtag, "common")], &[]));
        }
        store.insert_posts(posts).await.unwrap();
        (dir, store)
    }

    async fn account_id(store: &SqliteStore, handle: &str) -> AccountId {
        store.known_accounts(vec![telegram(handle)]).await.unwrap()[0].as_ref().unwrap().id
    }

    fn neighbourhood_query(start: GraphStart, max_hops: u32, max_nodes: usize) -> NeighbourhoodQuery {
        NeighbourhoodQuery {
            start,
            max_hops,
            max_nodes,
            window: GraphWindow::default(),
            caps: caps(5, 10),
            as_of: None,
        }
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

    #[tokio::test]
    async fn hubs_are_shown_but_not_expanded_and_benign_hosts_are_left_out() {
        let (_dir, store) = seeded().await;
        let alpha = account_id(&store, "alpha").await;
        let found =
            store.neighbourhood(neighbourhood_query(GraphStart::Account(alpha), 4, 200)).await.unwrap().unwrap();
        assert_eq!(found.nodes[0].id, GraphNodeId::Account(alpha));
        // bravo through the wallet, charlie and delta through #rare_tag; not
        // echo (only #common and t.me), nor the crowd.
        // relay_example is named in delta's post with #rare_tag.
        assert_eq!(handles(&found), vec!["alpha", "bravo", "charlie", "delta", "relay_example"]);
        let common = indicator_node(&found, "common").expect("the hub is shown");
        assert!(common.hub);
        // Not expanded: none of the crowd's documents is reached.
        let mut documents: Vec<GraphNodeId> =
            found.nodes.iter().map(|node| node.id).filter(|id| matches!(id, GraphNodeId::Document(_))).collect();
        documents.sort();
        assert_eq!(documents, (1..=4).map(GraphNodeId::Document).collect::<Vec<_>>());
        assert!(indicator_node(&found, "t.me").is_none(), "benign hosts are no nodes");
        assert!(!found.more);
        // Every edge joins collected nodes, once.
        let ids: HashSet<GraphNodeId> = found.nodes.iter().map(|node| node.id).collect();
        assert!(found.edges.iter().all(|edge| ids.contains(&edge.from) && ids.contains(&edge.to)));
        let unique: HashSet<(GraphNodeId, GraphNodeId)> = found.edges.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(unique.len(), found.edges.len());

        // Asked for directly, the hub is expanded (up to the link cap).
        let hub = GraphStart::Indicator(IndicatorKey { kind: Hashtag, value: "common".into() });
        let around = store.neighbourhood(neighbourhood_query(hub, 1, 200)).await.unwrap().unwrap();
        assert_eq!(around.nodes.len(), 1 + 10);
    }

    #[tokio::test]
    async fn depth_and_size_caps_hold_and_keep_the_order() {
        let (_dir, store) = seeded().await;
        let alpha = account_id(&store, "alpha").await;
        let two = store.neighbourhood(neighbourhood_query(GraphStart::Account(alpha), 2, 200)).await.unwrap().unwrap();
        assert_eq!(handles(&two), vec!["alpha"], "two hops reach the documents' indicators, not other accounts");
        assert!(two.nodes.iter().all(|node| node.hops <= 2));
        assert!(indicator_node(&two, WALLET).is_some());

        let full = store.neighbourhood(neighbourhood_query(GraphStart::Account(alpha), 6, 200)).await.unwrap().unwrap();
        let small = store.neighbourhood(neighbourhood_query(GraphStart::Account(alpha), 6, 5)).await.unwrap().unwrap();
        assert_eq!(small.nodes.len(), 5);
        assert!(small.more);
        let prefix: Vec<GraphNodeId> = full.nodes.iter().take(5).map(|node| node.id).collect();
        assert_eq!(small.nodes.iter().map(|node| node.id).collect::<Vec<_>>(), prefix);
        let hops: Vec<u32> = full.nodes.iter().map(|node| node.hops).collect();
        assert!(hops.windows(2).all(|pair| pair[0] <= pair[1]), "breadth first: {hops:?}");

        // A link cap of one: each node shows its newest link only.
        let mut capped = neighbourhood_query(GraphStart::Account(alpha), 1, 200);
        capped.caps.max_links_per_node = 1;
        let capped = store.neighbourhood(capped).await.unwrap().unwrap();
        assert_eq!(capped.nodes.len(), 2);
        assert!(!capped.nodes[0].links_capped, "alpha wrote one document");
    }

    #[tokio::test]
    async fn an_account_indicator_is_its_account() {
        let (_dir, store) = seeded().await;
        let relay = account_id(&store, "relay_example").await;
        let start = GraphStart::Indicator(IndicatorKey {
            kind: IndicatorKind::Account,
            value: "telegram:relay_example".into(),
        });
        let found = store.neighbourhood(neighbourhood_query(start, 2, 200)).await.unwrap().unwrap();
        assert_eq!(found.nodes[0].id, GraphNodeId::Account(relay));
        assert_eq!(handles(&found), vec!["delta", "echo", "relay_example"]);
        assert!(
            found
                .nodes
                .iter()
                .all(|node| !matches!(&node.entity, GraphEntity::Indicator(i) if i.kind == IndicatorKind::Account))
        );
        assert!(
            found
                .edges
                .iter()
                .any(|edge| edge.to == GraphNodeId::Account(relay) && edge.kind == GraphEdgeKind::Mentions)
        );

        let missing = GraphStart::Indicator(IndicatorKey { kind: Url, value: "https://example.org/none".into() });
        assert!(store.neighbourhood(neighbourhood_query(missing, 2, 200)).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_window_and_a_snapshot_leave_documents_out() {
        let (_dir, store) = seeded().await;
        let wallet = GraphStart::Indicator(IndicatorKey { kind: Btc, value: WALLET.into() });
        let mut query = neighbourhood_query(wallet.clone(), 2, 200);
        query.window = GraphWindow { from: Some(1_500), until: None };
        let found = store.neighbourhood(query).await.unwrap().unwrap();
        assert_eq!(handles(&found), vec!["bravo"]);

        let mut before = neighbourhood_query(wallet, 2, 200);
        before.as_of = Some(1);
        let found = store.neighbourhood(before).await.unwrap().unwrap();
        assert_eq!(handles(&found), vec!["alpha"]);
        assert_eq!(found.as_of, 1);
    }

    #[tokio::test]
    async fn an_account_named_everywhere_is_a_hub() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteOptions::in_directory(dir.path())).unwrap();
        let posts =
            (0..8).map(|n| post(&n.to_string(), &format!("fan_{n}"), 100 + n, &[], &["famous_example"])).collect();
        store.insert_posts(posts).await.unwrap();
        let fan = account_id(&store, "fan_0").await;
        let found = store.neighbourhood(neighbourhood_query(GraphStart::Account(fan), 4, 200)).await.unwrap().unwrap();
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

    #[tokio::test]
    async fn rare_shared_indicators_rank_first_and_pages_continue() {
        let (_dir, store) = seeded().await;
        let alpha = account_id(&store, "alpha").await;
        let shared = store.shared_indicator_accounts(shared_query(alpha, 0, 10)).await.unwrap().unwrap();
        let ranked: Vec<&str> = shared.accounts.iter().map(|a| a.account.handle.as_deref().unwrap()).collect();
        // The wallet (2 accounts) outweighs #rare_tag (4 accounts); #common is
        // a hub, t.me benign, alpha's own account indicator no evidence.
        // relay_example is named in delta's post with #rare_tag: it ties with
        // delta and comes after it by id.
        assert_eq!(ranked, vec!["bravo", "charlie", "delta", "relay_example"]);
        assert_eq!(shared.total, 4);
        assert_eq!((shared.hubs_skipped, shared.benign_skipped, shared.indicators_used), (1, 1, 2));
        let bravo = &shared.accounts[0];
        assert_eq!(bravo.shared.len(), 1);
        assert_eq!(bravo.shared[0].indicator.value, WALLET);
        assert!((bravo.score - 1.0 / 3f64.ln()).abs() < 1e-9);
        assert!(shared.accounts[1].score < bravo.score);

        let mut paged = Vec::new();
        for offset in 0..5 {
            let page = store.shared_indicator_accounts(shared_query(alpha, offset, 1)).await.unwrap().unwrap();
            paged.extend(page.accounts.into_iter().map(|a| a.account.id));
        }
        assert_eq!(paged, shared.accounts.iter().map(|a| a.account.id).collect::<Vec<_>>());
        assert!(store.shared_indicator_accounts(shared_query(999_999, 0, 10)).await.unwrap().is_none());
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

    #[tokio::test]
    async fn top_connectors_leave_hubs_out_and_respect_filters() {
        let (_dir, store) = seeded().await;
        let top = store.top_connectors(top_query(ConnectorOrder::AccountsBridged)).await.unwrap();
        assert_eq!(top.documents_read, 11);
        assert_eq!(top.hubs_excluded, 1);
        // Ties on accounts bridged (4) go to the higher degree.
        let order: Vec<(GraphNodeId, u64, u64)> =
            top.connectors.iter().map(|c| (c.id, c.accounts_bridged, c.degree)).collect();
        let (alpha, relay) = (account_id(&store, "alpha").await, account_id(&store, "relay_example").await);
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
        let top = store.top_connectors(hashtags).await.unwrap();
        assert_eq!(top.connectors.len(), 1);
        assert!(matches!(&top.connectors[0].entity, GraphEntity::Indicator(i) if i.value == "rare_tag"));
        assert_eq!((top.connectors[0].documents, top.connectors[0].accounts_bridged), (3, 4));

        let mut narrow = top_query(ConnectorOrder::Degree);
        narrow.max_documents = 2;
        let top = store.top_connectors(narrow).await.unwrap();
        assert!(top.documents_capped);
        assert_eq!(top.documents_read, 2);
    }
}
