//! Thin gRPC adapters: unwrap the request, call the domain service, convert
//! the answer. No logic lives here.

use std::sync::Arc;

use tokio::sync::OnceCell;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};
use vigil_proto::tonic;
use vigil_proto::v1 as pb;
use vigil_query::{ContentCheck, Intake, Lexicon, Limits, PostSubmission, Query, SearchRequest, TipSubmission};

use crate::convert;
use crate::status::{oversized_message_status, status_of_query_error};

/// The domain services, available once storage is open and migrated.
#[derive(Clone, Debug)]
pub struct Services {
    pub intake: Intake,
    pub query: Query,
    pub lexicon: Arc<Lexicon>,
    pub limits: Limits,
    pub max_message_bytes: usize,
}

/// Services are set once storage is ready; until then every call is
/// UNAVAILABLE, as health says.
#[derive(Clone, Debug, Default)]
pub struct ReadyServices(Arc<OnceCell<Services>>);

impl ReadyServices {
    pub fn set(&self, services: Services) {
        let _ = self.0.set(services);
    }

    fn get(&self) -> Result<&Services, Status> {
        self.0.get().ok_or_else(|| Status::unavailable("storage is still opening; retry shortly"))
    }
}

#[derive(Clone, Debug)]
pub struct IntakeAdapter(pub ReadyServices);

#[tonic::async_trait]
impl pb::intake_server::Intake for IntakeAdapter {
    async fn submit_tip(
        &self,
        request: Request<pb::SubmitTipRequest>,
    ) -> Result<Response<pb::SubmitTipResponse>, Status> {
        let request = request.into_inner();
        let tip = TipSubmission { text: request.text, language_hint: request.language_hint, urls: request.urls };
        let receipt = self.0.get()?.intake.submit_tip(tip).await.map_err(status_of_query_error)?;
        tracing::info!(tip_id = %receipt.tip_id, "tip received");
        Ok(Response::new(pb::SubmitTipResponse { tip_id: receipt.tip_id, receipt_code: receipt.receipt_code }))
    }

    async fn get_tip_status(
        &self,
        request: Request<pb::GetTipStatusRequest>,
    ) -> Result<Response<pb::GetTipStatusResponse>, Status> {
        let state =
            self.0.get()?.intake.tip_status(&request.into_inner().receipt_code).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::GetTipStatusResponse {
            status: convert::tip_status(state.status),
            follow_up_count: state.follow_up_count,
        }))
    }

    async fn ingest_posts(
        &self,
        request: Request<Streaming<pb::IngestPostsRequest>>,
    ) -> Result<Response<pb::IngestPostsResponse>, Status> {
        let services = self.0.get()?;
        let mut stream = request.into_inner();
        let mut ingest = services.intake.begin_ingest();
        while let Some(message) = stream.next().await {
            let message = message.map_err(|status| {
                oversized_message_status(status.code(), status.message(), services.max_message_bytes).unwrap_or(status)
            })?;
            let posts = message.posts.into_iter().map(post_submission).collect::<Result<Vec<_>, Status>>()?;
            ingest.add_message(posts).map_err(status_of_query_error)?;
        }
        let report = ingest.finish().await.map_err(status_of_query_error)?;
        tracing::info!(
            accepted = report.accepted,
            duplicates = report.duplicates,
            rejected = report.rejected.len(),
            "posts ingested"
        );
        Ok(Response::new(pb::IngestPostsResponse {
            accepted: report.accepted,
            duplicates: report.duplicates,
            rejected: report
                .rejected
                .into_iter()
                .map(|r| pb::RejectedPost {
                    index: r.index,
                    platform: r.platform,
                    platform_post_id: r.platform_post_id,
                    field: r.field,
                    reason: r.reason,
                })
                .collect(),
        }))
    }
}

fn post_submission(post: pb::Post) -> Result<PostSubmission, Status> {
    Ok(PostSubmission {
        posted_at: convert::seconds_of("posted_at", post.posted_at.as_ref())?,
        platform: post.platform,
        platform_post_id: post.platform_post_id,
        author: convert::account_ref(post.author),
        url: post.url,
        text: post.text,
        media_sha256: post.media_sha256,
    })
}

#[derive(Clone, Debug)]
pub struct ExtractionAdapter(pub ReadyServices);

#[tonic::async_trait]
impl pb::extraction_server::Extraction for ExtractionAdapter {
    async fn extract(&self, request: Request<pb::ExtractRequest>) -> Result<Response<pb::ExtractResponse>, Status> {
        let services = self.0.get()?;
        let extraction = vigil_query::extract_text(&services.lexicon, &services.limits, &request.into_inner().text)
            .map_err(status_of_query_error)?;
        Ok(Response::new(pb::ExtractResponse {
            language: convert::language(extraction.language),
            indicators: extraction
                .findings
                .into_iter()
                .map(|finding| pb::ExtractedIndicator {
                    kind: convert::wire_indicator_kind(finding.kind),
                    platform: finding.platform().unwrap_or_default().to_owned(),
                    value: finding.value,
                    span: Some(convert::span(finding.span)),
                })
                .collect(),
            categories: convert::category_matches(extraction.categories),
        }))
    }
}

#[derive(Clone, Debug)]
pub struct QueryAdapter(pub ReadyServices);

#[tonic::async_trait]
impl pb::query_server::Query for QueryAdapter {
    async fn lookup_indicator(
        &self,
        request: Request<pb::LookupIndicatorRequest>,
    ) -> Result<Response<pb::LookupIndicatorResponse>, Status> {
        let request = request.into_inner();
        let kind = convert::indicator_kind_of("kind", request.kind)?;
        let report = self
            .0
            .get()?
            .query
            .lookup_indicator(kind, &request.value, request.max_documents as usize)
            .await
            .map_err(status_of_query_error)?;
        Ok(Response::new(convert::indicator_report(report)))
    }

    async fn search(&self, request: Request<pb::SearchRequest>) -> Result<Response<pb::SearchResponse>, Status> {
        let request = request.into_inner();
        let kinds = request
            .kinds
            .iter()
            .enumerate()
            .map(|(index, kind)| convert::document_kind_of(&format!("kinds[{index}]"), *kind))
            .collect::<Result<Vec<_>, Status>>()?;
        let categories = request
            .categories
            .iter()
            .enumerate()
            .map(|(index, category)| {
                convert::category_of(&format!("categories[{index}]"), *category).map(|c| c.as_str().to_owned())
            })
            .collect::<Result<Vec<_>, Status>>()?;
        let search = SearchRequest {
            query: request.query,
            kinds,
            languages: request.languages,
            categories,
            observed_from: convert::seconds_of("observed_from", request.observed_from.as_ref())?,
            observed_until: convert::seconds_of("observed_until", request.observed_until.as_ref())?,
            order: convert::search_order_of(request.order)?,
            page_size: request.page_size as usize,
            page_token: request.page_token,
        };
        let page = self.0.get()?.query.search(search).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::SearchResponse {
            hits: page
                .hits
                .into_iter()
                .map(|hit| pb::SearchHit {
                    document: Some(convert::document_summary(hit.document)),
                    snippet: hit.snippet,
                })
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn check_content(
        &self,
        request: Request<pb::CheckContentRequest>,
    ) -> Result<Response<pb::CheckContentResponse>, Status> {
        let request = request.into_inner();
        let check = ContentCheck {
            text: request.text,
            author: convert::account_ref(request.author),
            media_sha256: request.media_sha256,
        };
        let matches = self.0.get()?.query.check_content(check).await.map_err(status_of_query_error)?;
        Ok(Response::new(convert::content_matches(matches)))
    }
}
