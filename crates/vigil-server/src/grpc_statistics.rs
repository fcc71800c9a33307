//! The Statistics service's thin gRPC adapter, with the conversion of the
//! transparency report between its domain and wire forms.

use tonic::{Request, Response, Status};
use vigil_proto::v1 as pb;
use vigil_proto::{prost_types, tonic};
use vigil_query::statistics::{DurationSummary, PlatformCounts, ReportRequest, SiteKindCounts, TransparencyReport};

use crate::convert::{seconds_of, timestamp};
use crate::grpc::ReadyServices;
use crate::status::status_of_query_error;

#[derive(Clone, Debug)]
pub struct StatisticsAdapter(pub ReadyServices);

#[tonic::async_trait]
impl pb::statistics_server::Statistics for StatisticsAdapter {
    async fn get_transparency_report(
        &self,
        request: Request<pb::GetTransparencyReportRequest>,
    ) -> Result<Response<pb::TransparencyReport>, Status> {
        let request = request.into_inner();
        let request = ReportRequest {
            from: whole_seconds_up("from", request.from.as_ref())?,
            until: whole_seconds_up("until", request.until.as_ref())?,
        };
        let report = self.0.get()?.statistics.transparency_report(request).await.map_err(status_of_query_error)?;
        Ok(Response::new(transparency_report(report)))
    }
}

/// Events are stored in whole seconds, so an event is in `[from, until)`
/// exactly when its second is in the range with both ends rounded up.
fn whole_seconds_up(field: &str, time: Option<&prost_types::Timestamp>) -> Result<Option<i64>, Status> {
    let seconds = seconds_of(field, time)?;
    Ok(seconds.map(|seconds| seconds + i64::from(time.is_some_and(|time| time.nanos > 0))))
}

pub fn transparency_report(report: TransparencyReport) -> pb::TransparencyReport {
    pb::TransparencyReport {
        from: timestamp(report.range.from),
        until: timestamp(report.range.until),
        generated_at: timestamp(report.generated_at),
        platforms: report.platforms.into_iter().map(platform_statistics).collect(),
        all_platforms: Some(platform_statistics(report.all_platforms)),
        tips_received: report.tips.received,
        tip_languages: report
            .tips
            .by_language
            .into_iter()
            .map(|language| pb::LanguageStatistics {
                language: language.language,
                tips_received: language.tips_received,
            })
            .collect(),
        sites: report.sites.by_kind.into_iter().map(site_statistics).collect(),
        all_sites: Some(site_statistics(report.sites.all)),
    }
}

fn platform_statistics(counts: PlatformCounts) -> pb::PlatformStatistics {
    pb::PlatformStatistics {
        platform: counts.platform,
        accounts_tracked: counts.accounts_tracked,
        accounts_first_seen: counts.accounts_first_seen,
        accounts_reported: counts.accounts_reported,
        accounts_suspended: counts.accounts_suspended,
        accounts_reappeared: counts.accounts_reappeared,
        report_to_suspension: Some(duration_statistics(counts.report_to_suspension)),
        successors_pending: counts.successors.pending,
        successors_confirmed: counts.successors.confirmed,
        successors_rejected: counts.successors.rejected,
        successor_detection: Some(duration_statistics(counts.successor_detection)),
        recreation_gap: Some(duration_statistics(counts.recreation_gap)),
    }
}

fn site_statistics(counts: SiteKindCounts) -> pb::SiteStatistics {
    pb::SiteStatistics {
        kind: counts.kind,
        sites_first_seen: counts.sites_first_seen,
        takedown_requests: counts.takedown_requests,
        sites_taken_down: counts.sites_taken_down,
        request_to_takedown: Some(duration_statistics(counts.request_to_takedown)),
    }
}

fn duration_statistics(summary: DurationSummary) -> pb::DurationStatistics {
    pb::DurationStatistics {
        count: summary.count,
        median: summary.median_seconds.map(duration),
        p90: summary.p90_seconds.map(duration),
    }
}

/// Medians are whole or half seconds, so nanos are exact.
fn duration(seconds: f64) -> prost_types::Duration {
    let whole = seconds.floor();
    prost_types::Duration { seconds: whole as i64, nanos: ((seconds - whole) * 1e9).round() as i32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_half_seconds_and_times_round_up_to_whole_seconds() {
        let check = |seconds: f64, expected: (i64, i32)| {
            let converted = duration(seconds);
            assert_eq!((converted.seconds, converted.nanos), expected, "{seconds}");
        };
        check(0.0, (0, 0));
        check(3600.0, (3600, 0));
        check(2.5, (2, 500_000_000));
        let empty = duration_statistics(DurationSummary::default());
        let time = |seconds, nanos| prost_types::Timestamp { seconds, nanos };
        assert_eq!(whole_seconds_up("from", Some(&time(10, 0))).unwrap(), Some(10));
        assert_eq!(whole_seconds_up("from", Some(&time(10, 1))).unwrap(), Some(11));
        assert_eq!(whole_seconds_up("from", None).unwrap(), None);
        let refused = whole_seconds_up("until", Some(&time(10, -1))).unwrap_err();
        assert!(refused.message().starts_with("until "), "{}", refused.message());
        assert_eq!((empty.count, empty.median, empty.p90), (0, None, None));
    }
}
