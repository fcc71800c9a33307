//! Thin gRPC adapters: unwrap the request, call the domain service, convert
//! the answer. No logic lives here.

use std::sync::Arc;

use tokio::sync::OnceCell;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use vigil_proto::tonic;
use vigil_proto::v1 as pb;
use vigil_query::{
    ActorRequest, Caller, ChangeBy, ContentCheck, Intake, Keys, Lexicon, Limits, ListAccounts, PostSubmission, Query,
    Referrals, ReviewSubmission, SearchRequest, SiteRequest, SnapshotSubmission, StatusUpdate, TipSubmission, Tracking,
};

use vigil_query::network::Network;
use vigil_query::statistics::Statistics;
use vigil_store::Store;

use crate::convert;
use crate::status::{invalid_field, status_of_query_error, unreadable_message_status};

/// The domain services, available once storage is open and migrated.
#[derive(Clone, Debug)]
pub struct Services {
    pub keys: Keys,
    /// For what no domain service wraps: the audit log's verification.
    pub store: Arc<dyn Store>,
    pub intake: Intake,
    pub query: Query,
    pub referrals: Referrals,
    pub tracking: Tracking,
    pub network: Network,
    pub statistics: Statistics,
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

    pub fn ready(&self) -> Option<&Services> {
        self.0.get()
    }

    pub(crate) fn get(&self) -> Result<&Services, Status> {
        self.0.get().ok_or_else(|| Status::unavailable("storage is still opening; retry shortly"))
    }
}

/// The caller the access layer authenticated for a method that needs a key.
pub(crate) fn caller_of<T>(request: &Request<T>) -> Result<Caller, Status> {
    request.extensions().get::<Caller>().cloned().ok_or_else(|| Status::internal("no authenticated caller"))
}

/// Who a change is recorded as: the caller's key name (see
/// [`Caller::recorded_as`]).
pub(crate) fn changed_by(caller: &Caller, field: &str, claimed: &str) -> Result<String, Status> {
    caller.recorded_as(field, claimed).map_err(status_of_query_error)
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
        // No tip id: with the log line's time to the second, it would undo
        // the hour the tip record is rounded to.
        tracing::info!("tip received");
        Ok(Response::new(pb::SubmitTipResponse { tip_id: receipt.tip_id, receipt_code: receipt.receipt_code }))
    }

    async fn add_tip_follow_up(
        &self,
        request: Request<pb::AddTipFollowUpRequest>,
    ) -> Result<Response<pb::AddTipFollowUpResponse>, Status> {
        let request = request.into_inner();
        let follow_up = TipSubmission { text: request.text, language_hint: request.language_hint, urls: request.urls };
        let follow_up_count = self
            .0
            .get()?
            .intake
            .add_tip_follow_up(&request.receipt_code, follow_up)
            .await
            .map_err(status_of_query_error)?;
        Ok(Response::new(pb::AddTipFollowUpResponse { follow_up_count }))
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
        let caller = caller_of(&request)?;
        let mut stream = request.into_inner();
        let mut ingest = services.intake.begin_ingest(caller);
        // A client that sends nothing, or trickles, is cut off at the
        // deadline too, not only when its next message comes.
        while let Some(message) = tokio::time::timeout_at(ingest.deadline(), stream.next())
            .await
            .map_err(|_| status_of_query_error(ingest.expired()))?
        {
            let message = message.map_err(|status| {
                unreadable_message_status(status.code(), status.message(), services.max_message_bytes).unwrap_or(status)
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

    async fn get_sealed_text(
        &self,
        request: Request<pb::GetSealedTextRequest>,
    ) -> Result<Response<pb::GetSealedTextResponse>, Status> {
        let document_id = request.into_inner().document_id;
        let sealed_text = self.0.get()?.query.sealed_text(&document_id).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::GetSealedTextResponse { sealed_text }))
    }
}

#[derive(Clone, Debug)]
pub struct TrackingAdapter(pub ReadyServices);

/// Alerts queued per watcher between the domain service and the socket.
const ALERT_QUEUE: usize = 64;

#[tonic::async_trait]
impl pb::tracking_server::Tracking for TrackingAdapter {
    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let request = request.into_inner();
        let account = convert::account_choice("account", request.account)?;
        let history =
            self.0.get()?.tracking.account(account, request.max_events).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::GetAccountResponse {
            account: Some(convert::account(history.account)),
            events: history.events.into_iter().map(convert::account_event).collect(),
            successors: history.successors.into_iter().map(convert::successor).collect(),
            predecessors: history.predecessors.into_iter().map(convert::successor).collect(),
        }))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let request = request.into_inner();
        let statuses = request
            .statuses
            .iter()
            .enumerate()
            .map(|(i, status)| convert::account_status_of(&format!("statuses[{i}]"), *status))
            .collect::<Result<Vec<_>, Status>>()?;
        let list = ListAccounts {
            statuses,
            platform: request.platform,
            actor_id: request.actor_id,
            page_size: request.page_size,
            page_token: request.page_token,
        };
        let page = self.0.get()?.tracking.list_accounts(list).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: page.accounts.into_iter().map(convert::account).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_account_status(
        &self,
        request: Request<pb::UpdateAccountStatusRequest>,
    ) -> Result<Response<pb::UpdateAccountStatusResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let update = StatusUpdate {
            account: convert::account_choice("account", request.account)?,
            status: convert::account_status_of("status", request.status)?,
            reported_to: request.reported_to,
            at: convert::seconds_of("at", request.at.as_ref())?,
            changed_by: changed_by(&caller, "changed_by", &request.changed_by)?,
            note: request.note,
        };
        let (account, event) =
            self.0.get()?.tracking.update_status(update, &caller).await.map_err(status_of_query_error)?;
        tracing::info!(account_id = account.id, status = account.status.as_str(), "account status changed");
        Ok(Response::new(pb::UpdateAccountStatusResponse {
            account: Some(convert::account(account)),
            event: Some(convert::account_event(event)),
        }))
    }

    async fn record_profile_snapshot(
        &self,
        request: Request<pb::RecordProfileSnapshotRequest>,
    ) -> Result<Response<pb::RecordProfileSnapshotResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let snapshot = SnapshotSubmission {
            account: convert::account_ref(request.account).unwrap_or_default(),
            display_name: request.display_name,
            bio: request.bio,
            avatar_sha256: request.avatar_sha256,
            observed_at: convert::seconds_of("observed_at", request.observed_at.as_ref())?,
            changed_by: changed_by(&caller, "changed_by", &request.changed_by)?,
        };
        let outcome = self.0.get()?.tracking.record_snapshot(snapshot, &caller).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::RecordProfileSnapshotResponse {
            account: Some(convert::account(outcome.account)),
            first_seen: outcome.first_seen,
            successors: outcome.successors.into_iter().map(convert::successor).collect(),
        }))
    }

    async fn review_successor(
        &self,
        request: Request<pb::ReviewSuccessorRequest>,
    ) -> Result<Response<pb::ReviewSuccessorResponse>, Status> {
        use pb::review_successor_request::Decision;
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let confirm = match Decision::try_from(request.decision) {
            Ok(Decision::Confirm) => true,
            Ok(Decision::Reject) => false,
            Ok(Decision::Unspecified) => return Err(invalid_field("decision", "is required: CONFIRM or REJECT")),
            Err(_) => return Err(invalid_field("decision", format!("has unknown value {}", request.decision))),
        };
        let review = ReviewSubmission {
            successor_id: request.successor_id,
            confirm,
            reviewed_by: changed_by(&caller, "reviewed_by", &request.reviewed_by)?,
            note: request.note,
        };
        let successor = self.0.get()?.tracking.review_successor(review).await.map_err(status_of_query_error)?;
        tracing::info!(successor_id = successor.id, state = successor.state.as_str(), "successor reviewed");
        Ok(Response::new(pb::ReviewSuccessorResponse { successor: Some(convert::successor(successor)) }))
    }

    type WatchAlertsStream = ReceiverStream<Result<pb::Alert, Status>>;

    async fn watch_alerts(
        &self,
        request: Request<pb::WatchAlertsRequest>,
    ) -> Result<Response<Self::WatchAlertsStream>, Status> {
        let token = request.into_inner().resume_token;
        let mut watch = self.0.get()?.tracking.watch_alerts(&token).await.map_err(status_of_query_error)?;
        let (sender, receiver) = tokio::sync::mpsc::channel(ALERT_QUEUE);
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    next = watch.next() => next,
                    // The client went away: stop reading alerts for it.
                    () = sender.closed() => return,
                };
                let item = match next {
                    Ok(Some(alert)) => Ok(convert::alert(alert)),
                    Ok(None) => return,
                    Err(error) => Err(status_of_query_error(error)),
                };
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn get_actor(&self, request: Request<pb::GetActorRequest>) -> Result<Response<pb::GetActorResponse>, Status> {
        let request = request.into_inner();
        let view =
            self.0.get()?.tracking.actor(&request.actor_id, request.max_events).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::GetActorResponse {
            actor: Some(convert::actor(view.actor)),
            accounts: view.accounts.into_iter().map(convert::account).collect(),
            timeline: view.timeline.into_iter().map(convert::timeline_entry).collect(),
        }))
    }

    async fn list_actors(
        &self,
        request: Request<pb::ListActorsRequest>,
    ) -> Result<Response<pb::ListActorsResponse>, Status> {
        let request = request.into_inner();
        let page = self
            .0
            .get()?
            .tracking
            .list_actors(request.page_size, &request.page_token, request.include_merged)
            .await
            .map_err(status_of_query_error)?;
        Ok(Response::new(pb::ListActorsResponse {
            actors: page.actors.into_iter().map(convert::actor).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn create_actor(
        &self,
        request: Request<pb::CreateActorRequest>,
    ) -> Result<Response<pb::ActorResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let change = ActorRequest::Create {
            name: request.name,
            kind: convert::actor_kind_of("kind", request.kind)?,
            account_ids: request.account_ids,
        };
        self.actor_change(change, changed_by(&caller, "changed_by", &request.changed_by)?, request.note).await
    }

    async fn rename_actor(
        &self,
        request: Request<pb::RenameActorRequest>,
    ) -> Result<Response<pb::ActorResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let change = ActorRequest::Rename { actor_id: request.actor_id, name: request.name };
        self.actor_change(change, changed_by(&caller, "changed_by", &request.changed_by)?, request.note).await
    }

    async fn assign_accounts(
        &self,
        request: Request<pb::AssignAccountsRequest>,
    ) -> Result<Response<pb::ActorResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let change = ActorRequest::Assign { actor_id: request.actor_id, account_ids: request.account_ids };
        self.actor_change(change, changed_by(&caller, "changed_by", &request.changed_by)?, request.note).await
    }

    async fn merge_actors(
        &self,
        request: Request<pb::MergeActorsRequest>,
    ) -> Result<Response<pb::ActorResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let change =
            ActorRequest::Merge { source_actor_id: request.source_actor_id, target_actor_id: request.target_actor_id };
        self.actor_change(change, changed_by(&caller, "changed_by", &request.changed_by)?, request.note).await
    }

    async fn split_actor(
        &self,
        request: Request<pb::SplitActorRequest>,
    ) -> Result<Response<pb::SplitActorResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let change = ActorRequest::Split {
            actor_id: request.actor_id,
            account_ids: request.account_ids,
            name: request.new_actor_name,
            kind: convert::actor_kind_of("new_actor_kind", request.new_actor_kind)?,
        };
        let by = ChangeBy { changed_by: changed_by(&caller, "changed_by", &request.changed_by)?, note: request.note };
        let changed = self.0.get()?.tracking.change_actors(change, by).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::SplitActorResponse {
            actor: changed.actor.map(convert::actor),
            new_actor: changed.new_actor.map(convert::actor),
        }))
    }

    async fn get_site(&self, request: Request<pb::GetSiteRequest>) -> Result<Response<pb::GetSiteResponse>, Status> {
        let request = request.into_inner();
        let site = convert::site_choice("site", request.site)?;
        let (site, events) =
            self.0.get()?.tracking.site(site, request.max_events).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::GetSiteResponse {
            site: Some(convert::site(site)),
            events: events.into_iter().map(convert::site_event).collect(),
        }))
    }

    async fn list_sites(
        &self,
        request: Request<pb::ListSitesRequest>,
    ) -> Result<Response<pb::ListSitesResponse>, Status> {
        let request = request.into_inner();
        let statuses = request
            .statuses
            .iter()
            .enumerate()
            .map(|(i, status)| convert::site_status_of(&format!("statuses[{i}]"), *status))
            .collect::<Result<Vec<_>, Status>>()?;
        let page = self
            .0
            .get()?
            .tracking
            .list_sites(statuses, request.page_size, &request.page_token)
            .await
            .map_err(status_of_query_error)?;
        Ok(Response::new(pb::ListSitesResponse {
            sites: page.sites.into_iter().map(convert::site).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn record_site(&self, request: Request<pb::RecordSiteRequest>) -> Result<Response<pb::SiteResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let change = SiteRequest::Record {
            host_abuse_contact: request.host_abuse_contact,
            registrar_abuse_contact: request.registrar_abuse_contact,
        };
        self.site_change(request.site, change, changed_by(&caller, "changed_by", &request.changed_by)?, String::new())
            .await
    }

    async fn update_site_status(
        &self,
        request: Request<pb::UpdateSiteStatusRequest>,
    ) -> Result<Response<pb::SiteResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let change = SiteRequest::Status {
            status: convert::site_status_of("status", request.status)?,
            at: convert::seconds_of("at", request.at.as_ref())?,
        };
        self.site_change(request.site, change, changed_by(&caller, "changed_by", &request.changed_by)?, request.note)
            .await
    }

    async fn record_takedown_request(
        &self,
        request: Request<pb::RecordTakedownRequestRequest>,
    ) -> Result<Response<pb::SiteResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let change = SiteRequest::TakedownRequested {
            sent_to: request.sent_to,
            at: convert::seconds_of("at", request.at.as_ref())?,
        };
        self.site_change(request.site, change, changed_by(&caller, "changed_by", &request.changed_by)?, String::new())
            .await
    }
}

impl TrackingAdapter {
    async fn actor_change(
        &self,
        change: ActorRequest,
        changed_by: String,
        note: String,
    ) -> Result<Response<pb::ActorResponse>, Status> {
        let by = ChangeBy { changed_by, note };
        let changed = self.0.get()?.tracking.change_actors(change, by).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::ActorResponse { actor: changed.actor.map(convert::actor) }))
    }

    async fn site_change(
        &self,
        site: Option<pb::SiteSelector>,
        change: SiteRequest,
        changed_by: String,
        note: String,
    ) -> Result<Response<pb::SiteResponse>, Status> {
        let site = convert::site_choice("site", site)?;
        let by = ChangeBy { changed_by, note };
        let changed = self.0.get()?.tracking.change_site(site, change, by).await.map_err(status_of_query_error)?;
        tracing::info!(site_id = changed.site.id, status = changed.site.status.as_str(), "site changed");
        Ok(Response::new(pb::SiteResponse { site: Some(convert::site(changed.site)), first_seen: changed.first_seen }))
    }
}
