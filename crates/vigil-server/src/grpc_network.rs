//! The Network service's thin gRPC adapter.

use tonic::{Request, Response, Status};
use vigil_proto::tonic;
use vigil_proto::v1 as pb;
use vigil_query::network::{
    Connector, ConnectorOrder, GraphEdge, GraphEdgeKind, GraphEntity, GraphIndicator, GraphNode, NeighbourhoodRequest,
    NodeChoice, SharedIndicatorsRequest, SharingAccount, TopConnectorsRequest,
};

use crate::convert;
use crate::grpc::ReadyServices;
use crate::status::{invalid_field, status_of_query_error};

#[derive(Clone, Debug)]
pub struct NetworkAdapter(pub ReadyServices);

#[tonic::async_trait]
impl pb::network_server::Network for NetworkAdapter {
    async fn get_neighbourhood(
        &self,
        request: Request<pb::GetNeighbourhoodRequest>,
    ) -> Result<Response<pb::GetNeighbourhoodResponse>, Status> {
        let request = request.into_inner();
        let neighbourhood = NeighbourhoodRequest {
            start: request.start.map(node_choice).transpose()?,
            max_depth: request.max_depth,
            max_nodes: request.max_nodes,
            observed_from: convert::seconds_of("observed_from", request.observed_from.as_ref())?,
            observed_until: convert::seconds_of("observed_until", request.observed_until.as_ref())?,
            page_size: request.page_size,
            page_token: request.page_token,
        };
        let page = self.0.get()?.network.neighbourhood(neighbourhood).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::GetNeighbourhoodResponse {
            nodes: page.nodes.into_iter().map(node).collect(),
            edges: page.edges.into_iter().map(edge).collect(),
            truncated: page.truncated,
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_shared_indicator_accounts(
        &self,
        request: Request<pb::ListSharedIndicatorAccountsRequest>,
    ) -> Result<Response<pb::ListSharedIndicatorAccountsResponse>, Status> {
        let request = request.into_inner();
        let shared = SharedIndicatorsRequest {
            account_id: request.account_id,
            observed_from: convert::seconds_of("observed_from", request.observed_from.as_ref())?,
            observed_until: convert::seconds_of("observed_until", request.observed_until.as_ref())?,
            page_size: request.page_size,
            page_token: request.page_token,
        };
        let page = self.0.get()?.network.shared_indicator_accounts(shared).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::ListSharedIndicatorAccountsResponse {
            accounts: page.accounts.into_iter().map(sharing_account).collect(),
            total: count(page.total),
            indicators_used: count(page.indicators_used),
            hubs_skipped: count(page.hubs_skipped),
            benign_skipped: count(page.benign_skipped),
            capped: page.capped,
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_top_connectors(
        &self,
        request: Request<pb::ListTopConnectorsRequest>,
    ) -> Result<Response<pb::ListTopConnectorsResponse>, Status> {
        let request = request.into_inner();
        let indicator_kinds = request
            .indicator_kinds
            .iter()
            .enumerate()
            .map(|(index, kind)| convert::indicator_kind_of(&format!("indicator_kinds[{index}]"), *kind))
            .collect::<Result<Vec<_>, Status>>()?;
        let order = match pb::ConnectorOrder::try_from(request.order) {
            Ok(pb::ConnectorOrder::Unspecified) => None,
            Ok(pb::ConnectorOrder::Degree) => Some(ConnectorOrder::Degree),
            Ok(pb::ConnectorOrder::AccountsBridged) => Some(ConnectorOrder::AccountsBridged),
            Err(_) => return Err(invalid_field("order", format!("{} is not a known connector order", request.order))),
        };
        let top = TopConnectorsRequest {
            observed_from: convert::seconds_of("observed_from", request.observed_from.as_ref())?,
            observed_until: convert::seconds_of("observed_until", request.observed_until.as_ref())?,
            accounts: request.accounts,
            indicators: request.indicators,
            platforms: request.platforms,
            indicator_kinds,
            order,
            limit: request.limit,
        };
        let answer = self.0.get()?.network.top_connectors(top).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::ListTopConnectorsResponse {
            connectors: answer.connectors.into_iter().filter_map(connector).collect(),
            observed_from: convert::timestamp(answer.observed_from),
            observed_until: convert::timestamp(answer.observed_until),
            documents_read: count(answer.documents_read),
            documents_capped: answer.documents_capped,
            hubs_excluded: count(answer.hubs_excluded),
        }))
    }
}

fn node_choice(selector: pb::NetworkNodeSelector) -> Result<NodeChoice, Status> {
    use pb::network_node_selector::Selector;
    match selector.selector {
        Some(Selector::AccountId(id)) => Ok(NodeChoice::Account(id)),
        Some(Selector::DocumentId(id)) => Ok(NodeChoice::Document(id)),
        Some(Selector::Indicator(indicator)) => Ok(NodeChoice::Indicator {
            kind: convert::indicator_kind_of("start.indicator.kind", indicator.kind)?,
            value: indicator.value,
        }),
        None => Err(invalid_field("start", "is required: an account_id, an indicator or a document_id")),
    }
}

/// Counts are bounded by the caps, far below u32::MAX.
fn count(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn indicator(indicator: GraphIndicator) -> pb::NetworkIndicator {
    pb::NetworkIndicator {
        kind: convert::wire_indicator_kind(indicator.kind),
        value: indicator.value,
        first_seen: convert::timestamp(indicator.first_seen),
        last_seen: convert::timestamp(indicator.last_seen),
        sighting_count: indicator.sighting_count,
    }
}

fn node(node: GraphNode) -> pb::NetworkNode {
    use pb::network_node::Entity;
    pb::NetworkNode {
        node_id: node.id.to_string(),
        hops: node.hops,
        entity: Some(match node.entity {
            GraphEntity::Account(account) => Entity::Account(convert::account(account)),
            GraphEntity::Indicator(found) => Entity::Indicator(indicator(found)),
            GraphEntity::Document(document) => Entity::Document(convert::document_summary(document)),
        }),
        hub: node.hub,
        links_capped: node.links_capped,
    }
}

fn edge(edge: GraphEdge) -> pb::NetworkEdge {
    let kind = match edge.kind {
        GraphEdgeKind::Authored => pb::NetworkEdgeKind::Authored,
        GraphEdgeKind::Mentions => pb::NetworkEdgeKind::Mentions,
        GraphEdgeKind::Contains => pb::NetworkEdgeKind::Contains,
    };
    pb::NetworkEdge { from_node_id: edge.from.to_string(), to_node_id: edge.to.to_string(), kind: kind as i32 }
}

fn sharing_account(sharing: SharingAccount) -> pb::SharingAccount {
    pb::SharingAccount {
        account: Some(convert::account(sharing.account)),
        score: sharing.score,
        shared_count: count(sharing.shared_count),
        shared: sharing
            .shared
            .into_iter()
            .map(|shared| pb::SharedIndicator {
                indicator: Some(indicator(shared.indicator)),
                account_count: shared.accounts,
                weight: shared.weight,
            })
            .collect(),
    }
}

/// `None` for a document, which is never a connector.
fn connector(connector: Connector) -> Option<pb::Connector> {
    use pb::connector::Entity;
    let entity = match connector.entity {
        GraphEntity::Account(account) => Entity::Account(convert::account(account)),
        GraphEntity::Indicator(found) => Entity::Indicator(indicator(found)),
        GraphEntity::Document(_) => return None,
    };
    Some(pb::Connector {
        entity: Some(entity),
        degree: connector.degree,
        accounts_bridged: connector.accounts_bridged,
        documents: connector.documents,
    })
}
