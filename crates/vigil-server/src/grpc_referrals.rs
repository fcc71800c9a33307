//! The Referrals service's thin gRPC adapter, and the conversions of
//! referral types. Every step is recorded as the caller's key name: four
//! eyes compares keys, never a name a caller claims.

use tonic::{Request, Response, Status};
use vigil_proto::tonic;
use vigil_proto::v1 as pb;
use vigil_query::{AccountRef, ChangeBy, Export, ExportFormat, ItemRequest, ItemSubject, ListReferrals, ReferralDraft};
use vigil_store::{
    RecipientKind, ReferralEntity, ReferralEvent, ReferralEventKind, ReferralItem, ReferralPriority, ReferralRecord,
    ReferralStatus, ReferralView, Tlp,
};

use crate::convert::{self, timestamp};
use crate::grpc::{ReadyServices, caller_of};
use crate::status::{invalid_field, status_of_query_error};

#[derive(Clone, Debug)]
pub struct ReferralsAdapter(pub ReadyServices);

fn by<T>(request: &Request<T>, note: &str) -> Result<ChangeBy, Status> {
    Ok(ChangeBy { changed_by: caller_of(request)?.name, note: note.to_owned() })
}

#[tonic::async_trait]
impl pb::referrals_server::Referrals for ReferralsAdapter {
    async fn create_referral(
        &self,
        request: Request<pb::CreateReferralRequest>,
    ) -> Result<Response<pb::ReferralResponse>, Status> {
        let by = by(&request, &request.get_ref().note)?;
        let request = request.into_inner();
        let draft = ReferralDraft {
            recipient: request.recipient,
            recipient_kind: recipient_kind_of("recipient_kind", request.recipient_kind)?,
            reason: request.reason,
            categories: request
                .categories
                .iter()
                .enumerate()
                .map(|(index, category)| convert::category_of(&format!("categories[{index}]"), *category))
                .collect::<Result<_, _>>()?,
            priority: priority_of("priority", request.priority)?,
            tlp: tlp_of("tlp", request.tlp)?,
            items: items_of(request.items)?,
        };
        let view = self.0.get()?.referrals.create(draft, by).await.map_err(status_of_query_error)?;
        Ok(Response::new(referral_response(view)))
    }

    async fn add_referral_items(
        &self,
        request: Request<pb::AddReferralItemsRequest>,
    ) -> Result<Response<pb::ReferralResponse>, Status> {
        let by = by(&request, &request.get_ref().note)?;
        let request = request.into_inner();
        let items = items_of(request.items)?;
        let view =
            self.0.get()?.referrals.add_items(&request.referral_id, items, by).await.map_err(status_of_query_error)?;
        Ok(Response::new(referral_response(view)))
    }

    async fn approve_referral(
        &self,
        request: Request<pb::ApproveReferralRequest>,
    ) -> Result<Response<pb::ReferralResponse>, Status> {
        let by = by(&request, &request.get_ref().note)?;
        let id = request.into_inner().referral_id;
        let view = self.0.get()?.referrals.approve(&id, by).await.map_err(status_of_query_error)?;
        Ok(Response::new(referral_response(view)))
    }

    async fn mark_referral_sent(
        &self,
        request: Request<pb::MarkReferralSentRequest>,
    ) -> Result<Response<pb::ReferralResponse>, Status> {
        let by = by(&request, &request.get_ref().note)?;
        let id = request.into_inner().referral_id;
        let view = self.0.get()?.referrals.mark_sent(&id, by).await.map_err(status_of_query_error)?;
        Ok(Response::new(referral_response(view)))
    }

    async fn acknowledge_referral(
        &self,
        request: Request<pb::AcknowledgeReferralRequest>,
    ) -> Result<Response<pb::ReferralResponse>, Status> {
        let by = by(&request, &request.get_ref().note)?;
        let request = request.into_inner();
        let view = self
            .0
            .get()?
            .referrals
            .acknowledge(&request.referral_id, &request.recipient_reference, by)
            .await
            .map_err(status_of_query_error)?;
        Ok(Response::new(referral_response(view)))
    }

    async fn close_referral(
        &self,
        request: Request<pb::CloseReferralRequest>,
    ) -> Result<Response<pb::ReferralResponse>, Status> {
        let by = by(&request, &request.get_ref().note)?;
        let request = request.into_inner();
        let outcome = status_of("outcome", request.outcome)?;
        let view =
            self.0.get()?.referrals.close(&request.referral_id, outcome, by).await.map_err(status_of_query_error)?;
        Ok(Response::new(referral_response(view)))
    }

    async fn get_referral(
        &self,
        request: Request<pb::GetReferralRequest>,
    ) -> Result<Response<pb::ReferralResponse>, Status> {
        let id = request.into_inner().referral_id;
        let view = self.0.get()?.referrals.get(&id).await.map_err(status_of_query_error)?;
        Ok(Response::new(referral_response(view)))
    }

    async fn list_referrals(
        &self,
        request: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        let request = request.into_inner();
        let statuses = request
            .statuses
            .iter()
            .enumerate()
            .map(|(index, status)| {
                let field = format!("statuses[{index}]");
                status_of(&field, *status)?.ok_or_else(|| invalid_field(&field, "is unspecified"))
            })
            .collect::<Result<_, Status>>()?;
        let list = ListReferrals {
            statuses,
            priority: priority_of("priority", request.priority)?,
            page_size: request.page_size,
            page_token: request.page_token,
        };
        let page = self.0.get()?.referrals.list(list).await.map_err(status_of_query_error)?;
        Ok(Response::new(pb::ListReferralsResponse {
            referrals: page.referrals.into_iter().map(referral).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn export_referral(
        &self,
        request: Request<pb::ExportReferralRequest>,
    ) -> Result<Response<pb::ExportResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let export = self
            .0
            .get()?
            .referrals
            .export_referral(
                &request.referral_id,
                format_of(request.format)?,
                tlp_of("recipient_clearance", request.recipient_clearance)?,
                &caller.name,
            )
            .await
            .map_err(status_of_query_error)?;
        Ok(Response::new(export_response(export)))
    }

    async fn export_actor(
        &self,
        request: Request<pb::ExportActorRequest>,
    ) -> Result<Response<pb::ExportResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let export = self
            .0
            .get()?
            .referrals
            .export_actor(
                &request.actor_id,
                format_of(request.format)?,
                tlp_of("tlp", request.tlp)?,
                tlp_of("recipient_clearance", request.recipient_clearance)?,
                &caller.name,
            )
            .await
            .map_err(status_of_query_error)?;
        Ok(Response::new(export_response(export)))
    }

    async fn export_records(
        &self,
        request: Request<pb::ExportRecordsRequest>,
    ) -> Result<Response<pb::ExportResponse>, Status> {
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let indicators = request
            .indicators
            .into_iter()
            .enumerate()
            .map(|(index, indicator)| {
                Ok((convert::indicator_kind_of(&format!("indicators[{index}].kind"), indicator.kind)?, indicator.value))
            })
            .collect::<Result<Vec<_>, Status>>()?;
        let accounts: Vec<AccountRef> = request
            .accounts
            .into_iter()
            .map(|account| convert::account_ref(Some(account)).unwrap_or_default())
            .collect();
        let export = self
            .0
            .get()?
            .referrals
            .export_records(
                &indicators,
                &accounts,
                format_of(request.format)?,
                tlp_of("tlp", request.tlp)?,
                tlp_of("recipient_clearance", request.recipient_clearance)?,
                &caller.name,
            )
            .await
            .map_err(status_of_query_error)?;
        Ok(Response::new(export_response(export)))
    }
}

fn items_of(items: Vec<pb::ReferralItemRequest>) -> Result<Vec<ItemRequest>, Status> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            use pb::referral_item_request::Subject;
            let subject = match item.subject {
                None => None,
                Some(Subject::AccountId(id)) => Some(ItemSubject::Account(id)),
                Some(Subject::SiteId(id)) => Some(ItemSubject::Site(id)),
                Some(Subject::Indicator(indicator)) => Some(ItemSubject::Indicator {
                    kind: convert::indicator_kind_of(&format!("items[{index}].indicator.kind"), indicator.kind)?,
                    value: indicator.value,
                }),
                Some(Subject::Excerpt(excerpt)) => Some(ItemSubject::Excerpt {
                    document_id: excerpt.document_id,
                    span: excerpt
                        .span
                        .map(|span| vigil_extract::Span { start: span.start as usize, end: span.end as usize }),
                }),
            };
            Ok(ItemRequest { subject, tlp: tlp_of(&format!("items[{index}].tlp"), item.tlp)? })
        })
        .collect()
}

pub fn tlp_of(field: &str, value: i32) -> Result<Option<Tlp>, Status> {
    Ok(match pb::Tlp::try_from(value) {
        Ok(pb::Tlp::Unspecified) => None,
        Ok(pb::Tlp::Clear) => Some(Tlp::Clear),
        Ok(pb::Tlp::Green) => Some(Tlp::Green),
        Ok(pb::Tlp::Amber) => Some(Tlp::Amber),
        Ok(pb::Tlp::AmberStrict) => Some(Tlp::AmberStrict),
        Ok(pb::Tlp::Red) => Some(Tlp::Red),
        Err(_) => return Err(invalid_field(field, format!("is {value}, not a TLP marking"))),
    })
}

pub fn wire_tlp(tlp: Tlp) -> i32 {
    (match tlp {
        Tlp::Clear => pb::Tlp::Clear,
        Tlp::Green => pb::Tlp::Green,
        Tlp::Amber => pb::Tlp::Amber,
        Tlp::AmberStrict => pb::Tlp::AmberStrict,
        Tlp::Red => pb::Tlp::Red,
    }) as i32
}

fn recipient_kind_of(field: &str, value: i32) -> Result<Option<RecipientKind>, Status> {
    Ok(match pb::RecipientKind::try_from(value) {
        Ok(pb::RecipientKind::Unspecified) => None,
        Ok(pb::RecipientKind::Platform) => Some(RecipientKind::Platform),
        Ok(pb::RecipientKind::HostingProvider) => Some(RecipientKind::HostingProvider),
        Ok(pb::RecipientKind::Authority) => Some(RecipientKind::Authority),
        Err(_) => return Err(invalid_field(field, format!("is {value}, not a recipient kind"))),
    })
}

fn priority_of(field: &str, value: i32) -> Result<Option<ReferralPriority>, Status> {
    Ok(match pb::ReferralPriority::try_from(value) {
        Ok(pb::ReferralPriority::Unspecified) => None,
        Ok(pb::ReferralPriority::Routine) => Some(ReferralPriority::Routine),
        Ok(pb::ReferralPriority::High) => Some(ReferralPriority::High),
        Ok(pb::ReferralPriority::Urgent) => Some(ReferralPriority::Urgent),
        Err(_) => return Err(invalid_field(field, format!("is {value}, not a referral priority"))),
    })
}

fn status_of(field: &str, value: i32) -> Result<Option<ReferralStatus>, Status> {
    Ok(match pb::ReferralStatus::try_from(value) {
        Ok(pb::ReferralStatus::Unspecified) => None,
        Ok(pb::ReferralStatus::Draft) => Some(ReferralStatus::Draft),
        Ok(pb::ReferralStatus::Approved) => Some(ReferralStatus::Approved),
        Ok(pb::ReferralStatus::Sent) => Some(ReferralStatus::Sent),
        Ok(pb::ReferralStatus::Acknowledged) => Some(ReferralStatus::Acknowledged),
        Ok(pb::ReferralStatus::Actioned) => Some(ReferralStatus::Actioned),
        Ok(pb::ReferralStatus::Rejected) => Some(ReferralStatus::Rejected),
        Err(_) => return Err(invalid_field(field, format!("is {value}, not a referral status"))),
    })
}

fn format_of(value: i32) -> Result<Option<ExportFormat>, Status> {
    Ok(match pb::ExportFormat::try_from(value) {
        Ok(pb::ExportFormat::Unspecified) => None,
        Ok(pb::ExportFormat::Stix) => Some(ExportFormat::Stix),
        Ok(pb::ExportFormat::Misp) => Some(ExportFormat::Misp),
        Ok(pb::ExportFormat::Csv) => Some(ExportFormat::Csv),
        Err(_) => return Err(invalid_field("format", format!("is {value}, not an export format"))),
    })
}

pub fn referral(record: ReferralRecord) -> pb::Referral {
    let recipient_kind = match record.recipient_kind {
        RecipientKind::Platform => pb::RecipientKind::Platform,
        RecipientKind::HostingProvider => pb::RecipientKind::HostingProvider,
        RecipientKind::Authority => pb::RecipientKind::Authority,
    };
    let priority = match record.priority {
        ReferralPriority::Routine => pb::ReferralPriority::Routine,
        ReferralPriority::High => pb::ReferralPriority::High,
        ReferralPriority::Urgent => pb::ReferralPriority::Urgent,
    };
    let status = match record.status {
        ReferralStatus::Draft => pb::ReferralStatus::Draft,
        ReferralStatus::Approved => pb::ReferralStatus::Approved,
        ReferralStatus::Sent => pb::ReferralStatus::Sent,
        ReferralStatus::Acknowledged => pb::ReferralStatus::Acknowledged,
        ReferralStatus::Actioned => pb::ReferralStatus::Actioned,
        ReferralStatus::Rejected => pb::ReferralStatus::Rejected,
    };
    pb::Referral {
        referral_id: record.id.to_string(),
        recipient: record.recipient,
        recipient_kind: recipient_kind as i32,
        reason: record.reason,
        categories: record
            .categories
            .iter()
            .filter_map(|name| vigil_extract::Category::from_name(name))
            .map(convert::wire_category)
            .collect(),
        priority: priority as i32,
        tlp: wire_tlp(record.tlp),
        status: status as i32,
        status_changed_at: timestamp(record.status_changed_at),
        drafted_by: record.drafted_by,
        drafted_at: timestamp(record.drafted_at),
        approved_by: record.approved_by.unwrap_or_default(),
        approved_at: record.approved_at.and_then(timestamp),
        recipient_reference: record.recipient_reference.unwrap_or_default(),
        opened_by_document_id: record.opened_by_document.map(|id| id.to_string()).unwrap_or_default(),
        item_count: record.item_count,
    }
}

fn referral_response(view: ReferralView) -> pb::ReferralResponse {
    pb::ReferralResponse {
        referral: Some(referral(view.referral)),
        items: view.items.into_iter().map(item).collect(),
        events: view.events.into_iter().map(event).collect(),
    }
}

fn item(item: ReferralItem) -> pb::ReferralItem {
    use pb::referral_item::Entity;
    let entity = match item.entity {
        ReferralEntity::Account(record) => Entity::Account(convert::account(record)),
        ReferralEntity::Site(record) => Entity::Site(convert::site(record)),
        ReferralEntity::Indicator(record) => Entity::Indicator(pb::ReferredIndicator {
            kind: convert::wire_indicator_kind(record.kind),
            value: record.value,
            first_seen: timestamp(record.first_seen),
            last_seen: timestamp(record.last_seen),
            sighting_count: record.sighting_count,
        }),
        ReferralEntity::Excerpt(excerpt) => {
            let excerpt = *excerpt;
            Entity::Excerpt(pb::Excerpt {
                document: Some(convert::document_summary(excerpt.document)),
                author: excerpt.author.map(convert::account),
                span: excerpt.span.map(convert::span),
                text: excerpt.text,
                text_sha256: excerpt.text_sha256,
                document_text: excerpt.document_text,
                indicators: excerpt
                    .indicators
                    .into_iter()
                    .map(|key| pb::IndicatorRef { kind: convert::wire_indicator_kind(key.kind), value: key.value })
                    .collect(),
            })
        }
    };
    pb::ReferralItem {
        item_id: item.id.to_string(),
        tlp: wire_tlp(item.tlp),
        added_by: item.added_by,
        added_at: timestamp(item.added_at),
        entity: Some(entity),
    }
}

fn event(event: ReferralEvent) -> pb::ReferralEvent {
    use pb::referral_event::Kind;
    let kind = match event.kind {
        ReferralEventKind::Drafted => Kind::Drafted,
        ReferralEventKind::ItemsAdded => Kind::ItemsAdded,
        ReferralEventKind::Approved => Kind::Approved,
        ReferralEventKind::Sent => Kind::Sent,
        ReferralEventKind::Acknowledged => Kind::Acknowledged,
        ReferralEventKind::Actioned => Kind::Actioned,
        ReferralEventKind::Rejected => Kind::Rejected,
    };
    pb::ReferralEvent {
        event_id: event.id.to_string(),
        kind: kind as i32,
        at: timestamp(event.at),
        by: event.by,
        note: event.note.unwrap_or_default(),
    }
}

fn export_response(export: Export) -> pb::ExportResponse {
    let format = match export.format {
        ExportFormat::Stix => pb::ExportFormat::Stix,
        ExportFormat::Misp => pb::ExportFormat::Misp,
        ExportFormat::Csv => pb::ExportFormat::Csv,
    };
    let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    pb::ExportResponse {
        format: format as i32,
        media_type: export.media_type.to_owned(),
        file_name: export.file_name,
        content: export.content,
        withheld: Some(pb::Withheld {
            accounts: count(export.withheld.accounts as u64),
            sites: count(export.withheld.sites as u64),
            indicators: count(export.withheld.indicators as u64),
            excerpts: count(export.withheld.excerpts as u64),
        }),
        not_found: export
            .not_found
            .into_iter()
            .map(|key| pb::IndicatorRef { kind: convert::wire_indicator_kind(key.kind), value: key.value })
            .collect(),
        accounts_not_found: export
            .accounts_not_found
            .into_iter()
            .map(|key| pb::AccountRef {
                platform: key.platform,
                handle: key.handle.unwrap_or_default(),
                platform_account_id: key.platform_account_id.unwrap_or_default(),
            })
            .collect(),
    }
}
