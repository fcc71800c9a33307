//! Between the wire (prost) types and vigil's domain types. Nothing else in
//! vigil sees a prost type.

use prost_types::Timestamp;
use tonic::Status;
use vigil_proto::v1 as pb;
use vigil_proto::{prost_types, tonic};
use vigil_query::{
    AccountMatchReason, AccountRecord, AccountRef, Category, CategoryMatch, ContentMatches, DocumentKind,
    DocumentSummary, IndicatorKind, IndicatorReport, Language, SearchOrder, TipStatus,
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
    }
}

pub fn document_summary(document: DocumentSummary) -> pb::DocumentSummary {
    let kind = match document.kind {
        DocumentKind::Tip => pb::DocumentKind::Tip,
        DocumentKind::Post => pb::DocumentKind::Post,
    };
    pb::DocumentSummary {
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
