//! Counts for the transparency report: accounts tracked, reported, suspended and re-created, sites taken down, tips received, over a time range.
//!
//! Every figure is read in one read transaction, so the figures of one
//! report agree with each other. Counts only: nothing here names an
//! account, a site or a tipster.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::{StoreError, UnixSeconds};

/// What the statistics queries read.
#[async_trait]
pub trait StatisticsStore: Send + Sync + std::fmt::Debug + 'static {
    /// The transparency report over `range`, stamped `generated_at`.
    async fn transparency_report(
        &self,
        range: ReportRange,
        generated_at: UnixSeconds,
    ) -> Result<TransparencyReport, StoreError>;
}

/// `[from, until)` in Unix seconds: `from` counts, `until` does not, so
/// consecutive reports never count an event twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportRange {
    pub from: UnixSeconds,
    pub until: UnixSeconds,
}

impl ReportRange {
    pub fn contains(&self, at: UnixSeconds) -> bool {
        self.from <= at && at < self.until
    }
}

/// The site kinds the schema allows, each always reported (zeros included)
/// so that the report's shape does not depend on the data.
pub const SITE_KINDS: [&str; 2] = ["domain", "url"];

#[derive(Clone, Debug, PartialEq)]
pub struct TransparencyReport {
    pub range: ReportRange,
    pub generated_at: UnixSeconds,
    /// One entry per platform vigil knew an account on by the end of the
    /// range, by platform name.
    pub platforms: Vec<PlatformCounts>,
    /// Every platform together; its `platform` is empty. Durations are
    /// pooled over all platforms, not a median of medians.
    pub all_platforms: PlatformCounts,
    pub tips: TipCounts,
    pub sites: SiteCounts,
}

/// Account figures on one platform (the platform of the account itself; for
/// successors, of the new account).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlatformCounts {
    pub platform: String,
    /// Accounts known by the end of the range (first seen before `until`).
    pub accounts_tracked: u64,
    /// Accounts first seen in the range.
    pub accounts_first_seen: u64,
    /// Accounts with at least one change to that status in the range; an
    /// account reported twice counts once.
    pub accounts_reported: u64,
    pub accounts_suspended: u64,
    pub accounts_reappeared: u64,
    /// Per account, from its first report to the first suspension at or
    /// after it; counted when that suspension falls in the range.
    pub report_to_suspension: DurationSummary,
    /// Successor proposals found in the range, by their state now.
    pub successors: SuccessorCounts,
    /// From the new account's first sighting to vigil proposing it, over
    /// proposals found in the range and not rejected.
    pub successor_detection: DurationSummary,
    /// From the predecessor's latest suspension at or before the new
    /// account's first sighting, to that sighting; same proposals, those
    /// whose predecessor was suspended before.
    pub recreation_gap: DurationSummary,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SuccessorCounts {
    pub pending: u64,
    pub confirmed: u64,
    pub rejected: u64,
}

impl SuccessorCounts {
    pub fn total(&self) -> u64 {
        self.pending + self.confirmed + self.rejected
    }
}

/// A distribution of durations in seconds. `median` and `p90` are `None`
/// when `count` is 0. The median of an even count is the mean of the two
/// middle values; p90 is the nearest rank (a value that occurred).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DurationSummary {
    pub count: u64,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

impl DurationSummary {
    pub fn of(mut seconds: Vec<i64>) -> DurationSummary {
        seconds.sort_unstable();
        let count = seconds.len();
        if count == 0 {
            return DurationSummary::default();
        }
        let middle = count / 2;
        let median = if count % 2 == 1 {
            seconds[middle] as f64
        } else {
            (seconds[middle - 1] as f64 + seconds[middle] as f64) / 2.0
        };
        // Nearest rank: the smallest value at or above 90% of the values.
        let rank = (9 * count).div_ceil(10);
        DurationSummary {
            count: count as u64,
            median_seconds: Some(median),
            p90_seconds: Some(seconds[rank - 1] as f64),
        }
    }
}

/// Tips received in the range. Counts by language only: a tip's time is
/// already truncated to the hour, and nothing finer is ever reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TipCounts {
    pub received: u64,
    /// Most tips first, then by code; "und" when the language is unknown.
    pub by_language: Vec<LanguageCounts>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanguageCounts {
    pub language: String,
    pub tips_received: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteCounts {
    /// One entry per kind in [`SITE_KINDS`], in that order.
    pub by_kind: Vec<SiteKindCounts>,
    /// Every kind together; its `kind` is empty.
    pub all: SiteKindCounts,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SiteKindCounts {
    pub kind: String,
    /// Sites first seen in the range.
    pub sites_first_seen: u64,
    /// Takedown requests sent in the range (a site may have several).
    pub takedown_requests: u64,
    /// Sites marked taken down in the range; a site counts once.
    pub sites_taken_down: u64,
    /// Per site, from its first takedown request to the first takedown at
    /// or after it; counted when that takedown falls in the range.
    pub request_to_takedown: DurationSummary,
}

/// The rows of the report's queries, as each engine reads them; the
/// figures are made of them by the shared code below, so both engines
/// report alike.
pub(crate) trait ReportSource {
    /// The rows `sql` (one of the queries below) returns over `[$1, $2)`.
    async fn rows<R: ReportRow>(&self, sql: &'static str, range: ReportRange) -> Result<Vec<R>, StoreError>;
}

/// A row of a report query: a tuple of columns both engines can read.
pub(crate) trait ReportRow: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
    fn from_postgres(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error>;
}

macro_rules! report_row {
    ($($column:ident $index:tt),+) => {
        impl<$($column),+> ReportRow for ($($column,)+)
        where
            $($column: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a>,)+
        {
            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get($index)?,)+))
            }

            fn from_postgres(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
                Ok(($(row.try_get($index)?,)+))
            }
        }
    };
}

report_row!(A 0, B 1);
report_row!(A 0, B 1, C 2);
report_row!(A 0, B 1, C 2, D 3);

// The report's queries, in SQL both engines run as written, over
// `[$1, $2)` (SQLite numbers its parameters `?1`).

/// Platform, accounts known by `$2`, of which first seen in the range.
pub(crate) const ACCOUNTS: &str = "SELECT platform, count(*), count(*) FILTER (WHERE first_seen >= $1)
     FROM account WHERE first_seen < $2 GROUP BY platform";

/// Platform, status, accounts changed to it in the range.
pub(crate) const STATUS_CHANGES: &str = "SELECT a.platform, e.status, count(DISTINCT e.account_id)
     FROM account_event e JOIN account a ON a.id = e.account_id
     WHERE e.kind = 'status_changed' AND e.status IN ('reported', 'suspended', 'reappeared')
       AND e.at >= $1 AND e.at < $2
     GROUP BY a.platform, e.status";

/// Platform, seconds from an account's first report to the first
/// suspension at or after it, where that suspension is in the range. Only
/// the first report counts, so that a report filed again after a
/// suspension does not start a second, shorter clock.
pub(crate) const REPORT_TO_SUSPENSION: &str = "WITH first_report AS (
         SELECT account_id, min(at) AS reported_at FROM account_event
         WHERE kind = 'status_changed' AND status = 'reported' GROUP BY account_id
     ), suspension AS (
         SELECT r.account_id, r.reported_at,
                (SELECT min(e.at) FROM account_event e
                 WHERE e.account_id = r.account_id AND e.kind = 'status_changed'
                   AND e.status = 'suspended' AND e.at >= r.reported_at) AS suspended_at
         FROM first_report r
     )
     SELECT a.platform, s.suspended_at - s.reported_at
     FROM suspension s JOIN account a ON a.id = s.account_id
     WHERE s.suspended_at >= $1 AND s.suspended_at < $2";

/// Per proposal found in the range: the new account's platform, the state,
/// seconds from its first sighting to the proposal, and from the
/// predecessor's latest suspension at or before that sighting to it.
pub(crate) const SUCCESSORS: &str = "SELECT a.platform, s.state, s.found_at - a.first_seen,
            a.first_seen - (SELECT max(e.at) FROM account_event e
                            WHERE e.account_id = s.predecessor_id AND e.kind = 'status_changed'
                              AND e.status = 'suspended' AND e.at <= a.first_seen)
     FROM successor s JOIN account a ON a.id = s.account_id
     WHERE s.found_at >= $1 AND s.found_at < $2";

/// Language ("und" when unknown), tips received in the range.
pub(crate) const TIPS: &str = "SELECT coalesce(nullif(language, ''), 'und') AS code, count(*) FROM document
     WHERE kind = 'tip' AND observed_at >= $1 AND observed_at < $2
     GROUP BY code";

/// Site kind, sites first seen in the range.
pub(crate) const SITES_FIRST_SEEN: &str =
    "SELECT kind, count(*) FROM site WHERE first_seen >= $1 AND first_seen < $2 GROUP BY kind";

/// Site kind, takedown requests sent and sites taken down in the range.
pub(crate) const SITE_EVENTS: &str = "SELECT s.kind,
            count(*) FILTER (WHERE e.kind = 'takedown_requested'),
            count(DISTINCT e.site_id) FILTER (WHERE e.kind = 'status_changed' AND e.status = 'taken_down')
     FROM site_event e JOIN site s ON s.id = e.site_id
     WHERE e.at >= $1 AND e.at < $2
     GROUP BY s.kind";

/// Site kind, seconds from a site's first takedown request to the first
/// takedown at or after it, where that takedown is in the range.
pub(crate) const REQUEST_TO_TAKEDOWN: &str = "WITH first_request AS (
         SELECT site_id, min(at) AS requested_at FROM site_event
         WHERE kind = 'takedown_requested' GROUP BY site_id
     ), takedown AS (
         SELECT r.site_id, r.requested_at,
                (SELECT min(e.at) FROM site_event e
                 WHERE e.site_id = r.site_id AND e.kind = 'status_changed'
                   AND e.status = 'taken_down' AND e.at >= r.requested_at) AS taken_down_at
         FROM first_request r
     )
     SELECT s.kind, t.taken_down_at - t.requested_at
     FROM takedown t JOIN site s ON s.id = t.site_id
     WHERE t.taken_down_at >= $1 AND t.taken_down_at < $2";

/// The report, from the rows `source` reads in one read transaction.
pub(crate) async fn transparency_report<S: ReportSource>(
    source: &S,
    range: ReportRange,
    generated_at: UnixSeconds,
) -> Result<TransparencyReport, StoreError> {
    let (platforms, all_platforms) = platform_counts(source, range).await?;
    Ok(TransparencyReport {
        range,
        generated_at,
        platforms,
        all_platforms,
        tips: tip_counts(source, range).await?,
        sites: site_counts(source, range).await?,
    })
}

/// Per-platform figures before the durations are summarized.
#[derive(Default)]
struct PlatformTally {
    counts: PlatformCounts,
    report_to_suspension: Vec<i64>,
    successor_detection: Vec<i64>,
    recreation_gap: Vec<i64>,
}

impl PlatformTally {
    fn finish(mut self) -> PlatformCounts {
        self.counts.report_to_suspension = DurationSummary::of(self.report_to_suspension);
        self.counts.successor_detection = DurationSummary::of(self.successor_detection);
        self.counts.recreation_gap = DurationSummary::of(self.recreation_gap);
        self.counts
    }

    fn add(&mut self, other: &PlatformTally) {
        let (total, part) = (&mut self.counts, &other.counts);
        total.accounts_tracked += part.accounts_tracked;
        total.accounts_first_seen += part.accounts_first_seen;
        total.accounts_reported += part.accounts_reported;
        total.accounts_suspended += part.accounts_suspended;
        total.accounts_reappeared += part.accounts_reappeared;
        total.successors.pending += part.successors.pending;
        total.successors.confirmed += part.successors.confirmed;
        total.successors.rejected += part.successors.rejected;
        self.report_to_suspension.extend_from_slice(&other.report_to_suspension);
        self.successor_detection.extend_from_slice(&other.successor_detection);
        self.recreation_gap.extend_from_slice(&other.recreation_gap);
    }
}

async fn platform_counts<S: ReportSource>(
    source: &S,
    range: ReportRange,
) -> Result<(Vec<PlatformCounts>, PlatformCounts), StoreError> {
    let mut tallies: BTreeMap<String, PlatformTally> = BTreeMap::new();

    for (platform, tracked, first_seen) in source.rows::<(String, i64, i64)>(ACCOUNTS, range).await? {
        let tally = tallies.entry(platform).or_default();
        tally.counts.accounts_tracked = tracked as u64;
        tally.counts.accounts_first_seen = first_seen as u64;
    }

    for (platform, status, accounts) in source.rows::<(String, String, i64)>(STATUS_CHANGES, range).await? {
        let counts = &mut tallies.entry(platform).or_default().counts;
        let accounts = accounts as u64;
        match status.as_str() {
            "reported" => counts.accounts_reported = accounts,
            "suspended" => counts.accounts_suspended = accounts,
            _ => counts.accounts_reappeared = accounts,
        }
    }

    for (platform, seconds) in source.rows::<(String, i64)>(REPORT_TO_SUSPENSION, range).await? {
        tallies.entry(platform).or_default().report_to_suspension.push(seconds);
    }

    let successors = source.rows::<(String, String, i64, Option<i64>)>(SUCCESSORS, range).await?;
    for (platform, state, detection, gap) in successors {
        let tally = tallies.entry(platform).or_default();
        match state.as_str() {
            "pending" => tally.counts.successors.pending += 1,
            "confirmed" => tally.counts.successors.confirmed += 1,
            _ => tally.counts.successors.rejected += 1,
        }
        // A rejected proposal was not a re-creation: its timings would
        // describe a false match.
        if state != "rejected" {
            // An older post ingested later can move first_seen before the
            // proposal's own sighting; the detection was then immediate.
            tally.successor_detection.push(detection.max(0));
            if let Some(gap) = gap {
                tally.recreation_gap.push(gap);
            }
        }
    }

    let mut all = PlatformTally::default();
    for tally in tallies.values() {
        all.add(tally);
    }
    let platforms = tallies
        .into_iter()
        .map(|(platform, mut tally)| {
            tally.counts.platform = platform;
            tally.finish()
        })
        .collect();
    Ok((platforms, all.finish()))
}

async fn tip_counts<S: ReportSource>(source: &S, range: ReportRange) -> Result<TipCounts, StoreError> {
    let mut by_language: Vec<LanguageCounts> = source
        .rows::<(String, i64)>(TIPS, range)
        .await?
        .into_iter()
        .map(|(language, tips)| LanguageCounts { language, tips_received: tips as u64 })
        .collect();
    // Sorted here, by bytes, whatever collation the database has.
    by_language.sort_by(|a, b| b.tips_received.cmp(&a.tips_received).then_with(|| a.language.cmp(&b.language)));
    let received = by_language.iter().map(|language| language.tips_received).sum();
    Ok(TipCounts { received, by_language })
}

async fn site_counts<S: ReportSource>(source: &S, range: ReportRange) -> Result<SiteCounts, StoreError> {
    let mut kinds: BTreeMap<String, (SiteKindCounts, Vec<i64>)> = SITE_KINDS
        .iter()
        .map(|kind| {
            (kind.to_string(), (SiteKindCounts { kind: kind.to_string(), ..SiteKindCounts::default() }, vec![]))
        })
        .collect();

    for (kind, sites) in source.rows::<(String, i64)>(SITES_FIRST_SEEN, range).await? {
        site_entry(&mut kinds, kind).0.sites_first_seen = sites as u64;
    }

    for (kind, requests, taken_down) in source.rows::<(String, i64, i64)>(SITE_EVENTS, range).await? {
        let counts = &mut site_entry(&mut kinds, kind).0;
        counts.takedown_requests = requests as u64;
        counts.sites_taken_down = taken_down as u64;
    }

    for (kind, seconds) in source.rows::<(String, i64)>(REQUEST_TO_TAKEDOWN, range).await? {
        site_entry(&mut kinds, kind).1.push(seconds);
    }

    let mut all = SiteKindCounts::default();
    let mut all_durations = Vec::new();
    let mut by_kind = Vec::with_capacity(kinds.len());
    for (_, (mut counts, durations)) in kinds {
        all.sites_first_seen += counts.sites_first_seen;
        all.takedown_requests += counts.takedown_requests;
        all.sites_taken_down += counts.sites_taken_down;
        all_durations.extend_from_slice(&durations);
        counts.request_to_takedown = DurationSummary::of(durations);
        by_kind.push(counts);
    }
    all.request_to_takedown = DurationSummary::of(all_durations);
    Ok(SiteCounts { by_kind, all })
}

/// The tally of `kind`, created for a kind the schema may allow one day.
fn site_entry(
    kinds: &mut BTreeMap<String, (SiteKindCounts, Vec<i64>)>,
    kind: String,
) -> &mut (SiteKindCounts, Vec<i64>) {
    kinds.entry(kind.clone()).or_insert_with(|| (SiteKindCounts { kind, ..SiteKindCounts::default() }, vec![]))
}
