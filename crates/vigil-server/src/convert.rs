//! Between the wire (prost) types and vigil's domain types. Nothing else in
//! vigil sees a prost type.

use prost_types::Timestamp;
use tonic::Status;
use vigil_proto::v1 as pb;
use vigil_proto::{prost_types, tonic};
use vigil_query::{
    AccountChoice, AccountEvent, AccountEventKind, AccountMatchReason, AccountRecord, AccountRef, AccountStatus,
    ActorEvent, ActorEventKind, ActorKind, ActorRecord, AlertRecord, AlertSubject, Category, CategoryMatch,
    ContentMatches, DocumentKind, DocumentSummary, IndicatorKind, IndicatorReport, Language, SearchOrder, SiteChoice,
    SiteEvent, SiteEventKind, SiteRecord, SiteStatus, SuccessorRecord, SuccessorState, TimelineEntry, TipStatus,
    resume_token,
};

use crate::status::invalid_field;

pub fn timestamp(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

pub fn seconds_of(field: &str, timestamp: Option<&Timestamp>) -> Result<Option<i64>, Status> {
    match timestamp {
        None => Ok(None),
        Some(t) if !(0..1_000_000_000).contains(&t.nanos) => Err(invalid_field(field, "has nanos out of range")),
        Some(t) => Ok(Some(t.seconds)),
    }
}

pub fn indicator_kind_of(field: &str, value: i32) -> Result<IndicatorKind, Status> {
    use pb::IndicatorKind as Wire;
    match Wire::try_from(value) {
        Ok(Wire::Unspecified) => Err(invalid_field(field, "is required")),
        Ok(Wire::Url) => Ok(IndicatorKind::Url),
        Ok(Wire::Domain) => Ok(IndicatorKind::Domain),
        Ok(Wire::Email) => Ok(IndicatorKind::Email),
        Ok(Wire::Hashtag) => Ok(IndicatorKind::Hashtag),
        Ok(Wire::Handle) => Ok(IndicatorKind::Handle),
        Ok(Wire::Account) => Ok(IndicatorKind::Account),
        Ok(Wire::Md5) => Ok(IndicatorKind::Md5),
        Ok(Wire::Sha1) => Ok(IndicatorKind::Sha1),
        Ok(Wire::Sha256) => Ok(IndicatorKind::Sha256),
        Ok(Wire::Ipv4) => Ok(IndicatorKind::Ipv4),
        Ok(Wire::Ipv6) => Ok(IndicatorKind::Ipv6),
        Ok(Wire::Btc) => Ok(IndicatorKind::Btc),
        Ok(Wire::Eth) => Ok(IndicatorKind::Eth),
        Ok(Wire::Xmr) => Ok(IndicatorKind::Xmr),
        Ok(Wire::Trx) => Ok(IndicatorKind::Trx),
        Ok(Wire::Phone) => Ok(IndicatorKind::Phone),
        Err(_) => Err(invalid_field(field, format!("{value} is not a known indicator kind"))),
    }
}

pub fn wire_indicator_kind(kind: IndicatorKind) -> i32 {
    use pb::IndicatorKind as Wire;
    let wire = match kind {
        IndicatorKind::Url => Wire::Url,
        IndicatorKind::Domain => Wire::Domain,
        IndicatorKind::Email => Wire::Email,
        IndicatorKind::Hashtag => Wire::Hashtag,
        IndicatorKind::Handle => Wire::Handle,
        IndicatorKind::Account => Wire::Account,
        IndicatorKind::Md5 => Wire::Md5,
        IndicatorKind::Sha1 => Wire::Sha1,
        IndicatorKind::Sha256 => Wire::Sha256,
        IndicatorKind::Ipv4 => Wire::Ipv4,
        IndicatorKind::Ipv6 => Wire::Ipv6,
        IndicatorKind::Btc => Wire::Btc,
        IndicatorKind::Eth => Wire::Eth,
        IndicatorKind::Xmr => Wire::Xmr,
        IndicatorKind::Trx => Wire::Trx,
        IndicatorKind::Phone => Wire::Phone,
    };
    wire as i32
}

pub fn document_kind_of(field: &str, value: i32) -> Result<DocumentKind, Status> {
    match pb::DocumentKind::try_from(value) {
        Ok(pb::DocumentKind::Tip) => Ok(DocumentKind::Tip),
        Ok(pb::DocumentKind::Post) => Ok(DocumentKind::Post),
        Ok(pb::DocumentKind::Unspecified) => Err(invalid_field(field, "is unspecified")),
        Err(_) => Err(invalid_field(field, format!("{value} is not a known document kind"))),
    }
}

pub fn category_of(field: &str, value: i32) -> Result<Category, Status> {
    use pb::Category as Wire;
    match Wire::try_from(value) {
        Ok(Wire::Unspecified) => Err(invalid_field(field, "is unspecified")),
        Ok(Wire::Propaganda) => Ok(Category::Propaganda),
        Ok(Wire::Recruitment) => Ok(Category::Recruitment),
        Ok(Wire::WeaponsInstructions) => Ok(Category::WeaponsInstructions),
        Ok(Wire::Financing) => Ok(Category::Financing),
        Ok(Wire::Threat) => Ok(Category::Threat),
        Err(_) => Err(invalid_field(field, format!("{value} is not a known category"))),
    }
}

pub fn wire_category(category: Category) -> i32 {
    use pb::Category as Wire;
    let wire = match category {
        Category::Propaganda => Wire::Propaganda,
        Category::Recruitment => Wire::Recruitment,
        Category::WeaponsInstructions => Wire::WeaponsInstructions,
        Category::Financing => Wire::Financing,
        Category::Threat => Wire::Threat,
    };
    wire as i32
}

pub fn category_matches(matches: Vec<CategoryMatch>) -> Vec<pb::CategoryMatch> {
    matches
        .into_iter()
        .map(|m| pb::CategoryMatch {
            category: wire_category(m.category),
            score: m.score,
            evidence: m.evidence.into_iter().map(|e| pb::Evidence { term: e.term, span: Some(span(e.span)) }).collect(),
        })
        .collect()
}

pub fn search_order_of(value: i32) -> Result<Option<SearchOrder>, Status> {
    match pb::SearchOrder::try_from(value) {
        Ok(pb::SearchOrder::Unspecified) => Ok(None),
        Ok(pb::SearchOrder::Newest) => Ok(Some(SearchOrder::Newest)),
        Ok(pb::SearchOrder::Relevance) => Ok(Some(SearchOrder::Relevance)),
        Err(_) => Err(invalid_field("order", format!("{value} is not a known search order"))),
    }
}

pub fn tip_status(status: TipStatus) -> i32 {
    let wire = match status {
        TipStatus::Received => pb::TipStatus::Received,
        TipStatus::UnderReview => pb::TipStatus::UnderReview,
        TipStatus::ActedOn => pb::TipStatus::ActedOn,
    };
    wire as i32
}

pub fn account_ref(account: Option<pb::AccountRef>) -> Option<AccountRef> {
    account.map(|a| AccountRef { platform: a.platform, handle: a.handle, platform_account_id: a.platform_account_id })
}

pub fn language(language: Option<Language>) -> Option<pb::Language> {
    Some(
        language
            .map_or_else(pb::Language::default, |l| pb::Language { code: l.code.to_owned(), confidence: l.confidence }),
    )
}

pub fn span(span: vigil_extract::Span) -> pb::Span {
    pb::Span { start: span.start as u32, end: span.end as u32 }
}

pub fn account(record: AccountRecord) -> pb::Account {
    pb::Account {
        account_id: record.id.to_string(),
        platform: record.platform,
        handle: record.handle.unwrap_or_default(),
        platform_account_id: record.platform_account_id.unwrap_or_default(),
        first_seen: timestamp(record.first_seen),
        last_seen: timestamp(record.last_seen),
        document_count: record.document_count,
        status: wire_account_status(record.status),
        status_changed_at: timestamp(record.status_changed_at),
        display_name: record.display_name.unwrap_or_default(),
        avatar_sha256: record.avatar_sha256.unwrap_or_default(),
        actor_id: record.actor_id.map(|id| id.to_string()).unwrap_or_default(),
    }
}

pub fn actor_kind_of(field: &str, value: i32) -> Result<ActorKind, Status> {
    use pb::ActorKind as Wire;
    match Wire::try_from(value) {
        Ok(Wire::Unspecified) | Ok(Wire::Unknown) => Ok(ActorKind::Unknown),
        Ok(Wire::Person) => Ok(ActorKind::Person),
        Ok(Wire::Outlet) => Ok(ActorKind::Outlet),
        Ok(Wire::Network) => Ok(ActorKind::Network),
        Err(_) => Err(invalid_field(field, format!("has unknown value {value}"))),
    }
}

pub fn actor(record: ActorRecord) -> pb::Actor {
    let kind = match record.kind {
        ActorKind::Person => pb::ActorKind::Person,
        ActorKind::Outlet => pb::ActorKind::Outlet,
        ActorKind::Network => pb::ActorKind::Network,
        ActorKind::Unknown => pb::ActorKind::Unknown,
    };
    pb::Actor {
        actor_id: record.id.to_string(),
        name: record.name,
        kind: kind as i32,
        created_at: timestamp(record.created_at),
        merged_into: record.merged_into.map(|id| id.to_string()).unwrap_or_default(),
        account_count: record.account_count,
    }
}

pub fn actor_event(event: ActorEvent) -> pb::ActorEvent {
    use pb::actor_event::Kind;
    let kind = match event.kind {
        ActorEventKind::Created => Kind::Created,
        ActorEventKind::Renamed => Kind::Renamed,
        ActorEventKind::AccountAdded => Kind::AccountAdded,
        ActorEventKind::AccountRemoved => Kind::AccountRemoved,
        ActorEventKind::Merged => Kind::Merged,
        ActorEventKind::Split => Kind::Split,
    };
    pb::ActorEvent {
        event_id: event.id.to_string(),
        kind: kind as i32,
        at: timestamp(event.at),
        changed_by: event.changed_by,
        name: event.name.unwrap_or_default(),
        account_id: event.account_id.map(|id| id.to_string()).unwrap_or_default(),
        related_actor_id: event.related_actor_id.map(|id| id.to_string()).unwrap_or_default(),
        note: event.note.unwrap_or_default(),
    }
}

pub fn timeline_entry(entry: TimelineEntry) -> pb::TimelineEntry {
    use pb::timeline_entry::Entry;
    let at = timestamp(entry.at());
    match entry {
        TimelineEntry::Actor(event) => {
            pb::TimelineEntry { at, entry: Some(Entry::ActorEvent(actor_event(event))), account_id: String::new() }
        }
        TimelineEntry::Account(event) => pb::TimelineEntry {
            at,
            account_id: event.account_id.to_string(),
            entry: Some(Entry::AccountEvent(account_event(event))),
        },
    }
}

pub fn wire_site_status(status: SiteStatus) -> i32 {
    let wire = match status {
        SiteStatus::Online => pb::SiteStatus::Online,
        SiteStatus::Offline => pb::SiteStatus::Offline,
        SiteStatus::TakenDown => pb::SiteStatus::TakenDown,
    };
    wire as i32
}

pub fn site_status_of(field: &str, value: i32) -> Result<SiteStatus, Status> {
    use pb::SiteStatus as Wire;
    match Wire::try_from(value) {
        Ok(Wire::Unspecified) => Err(invalid_field(field, "is required")),
        Ok(Wire::Online) => Ok(SiteStatus::Online),
        Ok(Wire::Offline) => Ok(SiteStatus::Offline),
        Ok(Wire::TakenDown) => Ok(SiteStatus::TakenDown),
        Err(_) => Err(invalid_field(field, format!("has unknown value {value}"))),
    }
}

pub fn site_choice(field: &str, selector: Option<pb::SiteSelector>) -> Result<SiteChoice, Status> {
    use pb::site_selector::Selector;
    match selector.and_then(|s| s.selector) {
        Some(Selector::SiteId(id)) => Ok(SiteChoice::Id(id)),
        Some(Selector::Url(url)) => Ok(SiteChoice::Url(url)),
        Some(Selector::Domain(domain)) => Ok(SiteChoice::Domain(domain)),
        None => Err(invalid_field(field, "is required: give a site_id, a url or a domain")),
    }
}

pub fn site(record: SiteRecord) -> pb::Site {
    pb::Site {
        site_id: record.id.to_string(),
        kind: wire_indicator_kind(record.key.kind),
        value: record.key.value,
        status: wire_site_status(record.status),
        status_changed_at: timestamp(record.status_changed_at),
        first_seen: timestamp(record.first_seen),
        host_abuse_contact: record.host_abuse_contact.unwrap_or_default(),
        registrar_abuse_contact: record.registrar_abuse_contact.unwrap_or_default(),
        takedown_requests: record.takedown_requests,
    }
}

pub fn site_event(event: SiteEvent) -> pb::SiteEvent {
    use pb::site_event::Kind;
    let kind = match event.kind {
        SiteEventKind::FirstSeen => Kind::FirstSeen,
        SiteEventKind::StatusChanged => Kind::StatusChanged,
        SiteEventKind::TakedownRequested => Kind::TakedownRequested,
        SiteEventKind::ContactsChanged => Kind::ContactsChanged,
    };
    pb::SiteEvent {
        event_id: event.id.to_string(),
        kind: kind as i32,
        at: timestamp(event.at),
        changed_by: event.changed_by,
        status: event.status.map_or(0, wire_site_status),
        note: event.note.unwrap_or_default(),
    }
}

pub fn wire_account_status(status: AccountStatus) -> i32 {
    let wire = match status {
        AccountStatus::Active => pb::AccountStatus::Active,
        AccountStatus::Reported => pb::AccountStatus::Reported,
        AccountStatus::Suspended => pb::AccountStatus::Suspended,
        AccountStatus::Reappeared => pb::AccountStatus::Reappeared,
    };
    wire as i32
}

pub fn account_status_of(field: &str, value: i32) -> Result<AccountStatus, Status> {
    use pb::AccountStatus as Wire;
    match Wire::try_from(value) {
        Ok(Wire::Unspecified) => Err(invalid_field(field, "is required")),
        Ok(Wire::Active) => Ok(AccountStatus::Active),
        Ok(Wire::Reported) => Ok(AccountStatus::Reported),
        Ok(Wire::Suspended) => Ok(AccountStatus::Suspended),
        Ok(Wire::Reappeared) => Ok(AccountStatus::Reappeared),
        Err(_) => Err(invalid_field(field, format!("has unknown value {value}"))),
    }
}

/// The account a selector names; `field` is the selector's own name.
pub fn account_choice(field: &str, selector: Option<pb::AccountSelector>) -> Result<AccountChoice, Status> {
    use pb::account_selector::Selector;
    match selector.and_then(|s| s.selector) {
        Some(Selector::AccountId(id)) => Ok(AccountChoice::Id(id)),
        Some(Selector::Ref(reference)) => Ok(AccountChoice::Ref(account_ref(Some(reference)).unwrap_or_default())),
        None => Err(invalid_field(field, "is required: give an account_id or a ref")),
    }
}

pub fn account_event(event: AccountEvent) -> pb::AccountEvent {
    use pb::account_event::Kind;
    let kind = match event.kind {
        AccountEventKind::FirstSeen => Kind::FirstSeen,
        AccountEventKind::StatusChanged => Kind::StatusChanged,
        AccountEventKind::ProfileSnapshot => Kind::ProfileSnapshot,
        AccountEventKind::SuccessorProposed => Kind::SuccessorProposed,
        AccountEventKind::SuccessorConfirmed => Kind::SuccessorConfirmed,
        AccountEventKind::SuccessorRejected => Kind::SuccessorRejected,
    };
    pb::AccountEvent {
        event_id: event.id.to_string(),
        kind: kind as i32,
        at: timestamp(event.at),
        changed_by: event.changed_by,
        status: event.status.map_or(0, wire_account_status),
        reported_to: event.reported_to.unwrap_or_default(),
        snapshot: event.snapshot.map(|snapshot| pb::ProfileSnapshot {
            display_name: snapshot.display_name.unwrap_or_default(),
            bio: snapshot.bio.unwrap_or_default(),
            avatar_sha256: snapshot.avatar_sha256.unwrap_or_default(),
            links: snapshot
                .links
                .into_iter()
                .map(|link| pb::IndicatorRef { kind: wire_indicator_kind(link.kind), value: link.value })
                .collect(),
        }),
        related_account_id: event.related_account_id.map(|id| id.to_string()).unwrap_or_default(),
        note: event.note.unwrap_or_default(),
    }
}

pub fn successor(record: SuccessorRecord) -> pb::Successor {
    let state = match record.state {
        SuccessorState::Pending => pb::SuccessorState::Pending,
        SuccessorState::Confirmed => pb::SuccessorState::Confirmed,
        SuccessorState::Rejected => pb::SuccessorState::Rejected,
    };
    pb::Successor {
        successor_id: record.id.to_string(),
        account: Some(account(record.account)),
        predecessor: Some(account(record.predecessor)),
        score: record.score,
        evidence: record.evidence,
        explanation: record.explanation,
        state: state as i32,
        found_at: timestamp(record.found_at),
        reviewed_by: record.reviewed_by.unwrap_or_default(),
        reviewed_at: record.reviewed_at.and_then(timestamp),
    }
}

pub fn alert(record: AlertRecord) -> pb::Alert {
    pb::Alert {
        alert_id: record.id.to_string(),
        resume_token: resume_token(&record),
        raised_at: timestamp(record.raised_at),
        detail: Some(match record.subject {
            AlertSubject::Successor(record) => pb::alert::Detail::Successor(successor(record)),
            AlertSubject::UrgentReferral(record) => {
                pb::alert::Detail::UrgentReferral(crate::grpc_referrals::referral(record))
            }
        }),
    }
}

pub fn document_summary(document: DocumentSummary) -> pb::DocumentSummary {
    let kind = match document.kind {
        DocumentKind::Tip => pb::DocumentKind::Tip,
        DocumentKind::Post => pb::DocumentKind::Post,
    };
    pb::DocumentSummary {
        follow_up_of: document.follow_up_of.map(|tip| tip.to_string()).unwrap_or_default(),
        sealed: document.sealed,
        document_id: document.id.to_string(),
        kind: kind as i32,
        platform: document.platform.unwrap_or_default(),
        platform_post_id: document.platform_post_id.unwrap_or_default(),
        url: document.url.unwrap_or_default(),
        language: document.language.unwrap_or_default(),
        observed_at: timestamp(document.observed_at),
        text_sha256: document.text_sha256,
        // A name the store holds but this binary does not know is left out.
        categories: document
            .categories
            .iter()
            .filter_map(|name| Category::from_name(name))
            .map(wire_category)
            .collect(),
    }
}

pub fn indicator_report(report: IndicatorReport) -> pb::LookupIndicatorResponse {
    pb::LookupIndicatorResponse {
        kind: wire_indicator_kind(report.indicator.kind),
        value: report.indicator.value,
        first_seen: timestamp(report.indicator.first_seen),
        last_seen: timestamp(report.indicator.last_seen),
        sighting_count: report.indicator.sighting_count,
        recent_documents: report.recent_documents.into_iter().map(document_summary).collect(),
        accounts: report.accounts.into_iter().map(account).collect(),
    }
}

pub fn content_matches(matches: ContentMatches) -> pb::CheckContentResponse {
    pb::CheckContentResponse {
        indicators: matches
            .indicators
            .into_iter()
            .map(|m| pb::IndicatorMatch {
                kind: wire_indicator_kind(m.kind),
                value: m.value,
                span: m.span.map(span),
                first_seen: timestamp(m.first_seen),
                last_seen: timestamp(m.last_seen),
                sighting_count: m.sighting_count,
            })
            .collect(),
        accounts: matches
            .accounts
            .into_iter()
            .map(|m| pb::AccountMatch {
                account: Some(account(m.account)),
                reason: match m.reason {
                    AccountMatchReason::Author => pb::AccountMatchReason::Author,
                    AccountMatchReason::Mentioned => pb::AccountMatchReason::Mentioned,
                } as i32,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_indicator_kind_round_trips() {
        for kind in IndicatorKind::ALL {
            assert_eq!(indicator_kind_of("kind", wire_indicator_kind(kind)).unwrap(), kind);
        }
        assert_eq!(indicator_kind_of("kind", 0).unwrap_err().message(), "kind is required");
        assert_eq!(indicator_kind_of("kind", 99).unwrap_err().message(), "kind 99 is not a known indicator kind");
    }

    #[test]
    fn every_category_round_trips() {
        for category in Category::ALL {
            assert_eq!(category_of("categories[0]", wire_category(category)).unwrap(), category);
        }
        assert_eq!(category_of("categories[0]", 42).unwrap_err().message(), "categories[0] 42 is not a known category");
    }
}
