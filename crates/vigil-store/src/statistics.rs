//! Counts for the transparency report: accounts tracked, reported, suspended and re-created, sites taken down, tips received, over a time range.
//!
//! Every figure is read in one read transaction, so the figures of one
//! report agree with each other. Counts only: nothing here names an
//! account, a site or a tipster.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::{Transaction, params};

use crate::{SqliteStore, StoreError, UnixSeconds};

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

#[async_trait]
impl StatisticsStore for SqliteStore {
    async fn transparency_report(
        &self,
        range: ReportRange,
        generated_at: UnixSeconds,
    ) -> Result<TransparencyReport, StoreError> {
        self.read(move |tx| {
            let (platforms, all_platforms) = platform_counts(tx, range)?;
            Ok(TransparencyReport {
                range,
                generated_at,
                platforms,
                all_platforms,
                tips: tip_counts(tx, range)?,
                sites: site_counts(tx, range)?,
            })
        })
        .await
    }
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

fn platform_counts(
    tx: &Transaction<'_>,
    range: ReportRange,
) -> Result<(Vec<PlatformCounts>, PlatformCounts), StoreError> {
    let mut tallies: BTreeMap<String, PlatformTally> = BTreeMap::new();
    let ReportRange { from, until } = range;

    let mut statement = tx.prepare(
        "SELECT platform, count(*), count(*) FILTER (WHERE first_seen >= ?1)
         FROM account WHERE first_seen < ?2 GROUP BY platform",
    )?;
    let mut rows = statement.query(params![from, until])?;
    while let Some(row) = rows.next()? {
        let tally = tallies.entry(row.get(0)?).or_default();
        tally.counts.accounts_tracked = row.get::<_, i64>(1)? as u64;
        tally.counts.accounts_first_seen = row.get::<_, i64>(2)? as u64;
    }

    let mut statement = tx.prepare(
        "SELECT a.platform, e.status, count(DISTINCT e.account_id)
         FROM account_event e JOIN account a ON a.id = e.account_id
         WHERE e.kind = 'status_changed' AND e.status IN ('reported', 'suspended', 'reappeared')
           AND e.at >= ?1 AND e.at < ?2
         GROUP BY a.platform, e.status",
    )?;
    let mut rows = statement.query(params![from, until])?;
    while let Some(row) = rows.next()? {
        let counts = &mut tallies.entry(row.get(0)?).or_default().counts;
        let accounts = row.get::<_, i64>(2)? as u64;
        match row.get::<_, String>(1)?.as_str() {
            "reported" => counts.accounts_reported = accounts,
            "suspended" => counts.accounts_suspended = accounts,
            _ => counts.accounts_reappeared = accounts,
        }
    }

    // Only the first report of an account counts, so that a report filed
    // again after a suspension does not start a second, shorter clock.
    let mut statement = tx.prepare(
        "WITH first_report AS (
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
         WHERE s.suspended_at >= ?1 AND s.suspended_at < ?2",
    )?;
    let mut rows = statement.query(params![from, until])?;
    while let Some(row) = rows.next()? {
        tallies.entry(row.get(0)?).or_default().report_to_suspension.push(row.get(1)?);
    }

    let mut statement = tx.prepare(
        "SELECT a.platform, s.state, s.found_at - a.first_seen,
                a.first_seen - (SELECT max(e.at) FROM account_event e
                                WHERE e.account_id = s.predecessor_id AND e.kind = 'status_changed'
                                  AND e.status = 'suspended' AND e.at <= a.first_seen)
         FROM successor s JOIN account a ON a.id = s.account_id
         WHERE s.found_at >= ?1 AND s.found_at < ?2",
    )?;
    let mut rows = statement.query(params![from, until])?;
    while let Some(row) = rows.next()? {
        let tally = tallies.entry(row.get(0)?).or_default();
        let state: String = row.get(1)?;
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
            tally.successor_detection.push(row.get::<_, i64>(2)?.max(0));
            if let Some(gap) = row.get::<_, Option<i64>>(3)? {
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

fn tip_counts(tx: &Transaction<'_>, range: ReportRange) -> Result<TipCounts, StoreError> {
    let by_language: Vec<LanguageCounts> = tx
        .prepare(
            "SELECT coalesce(nullif(language, ''), 'und') AS code, count(*) AS tips FROM document
             WHERE kind = 'tip' AND observed_at >= ?1 AND observed_at < ?2
             GROUP BY code ORDER BY tips DESC, code",
        )?
        .query_map(params![range.from, range.until], |row| {
            Ok(LanguageCounts { language: row.get(0)?, tips_received: row.get::<_, i64>(1)? as u64 })
        })?
        .collect::<Result<_, _>>()?;
    let received = by_language.iter().map(|language| language.tips_received).sum();
    Ok(TipCounts { received, by_language })
}

fn site_counts(tx: &Transaction<'_>, range: ReportRange) -> Result<SiteCounts, StoreError> {
    let ReportRange { from, until } = range;
    let mut kinds: BTreeMap<String, (SiteKindCounts, Vec<i64>)> = SITE_KINDS
        .iter()
        .map(|kind| {
            (kind.to_string(), (SiteKindCounts { kind: kind.to_string(), ..SiteKindCounts::default() }, vec![]))
        })
        .collect();

    let mut statement =
        tx.prepare("SELECT kind, count(*) FROM site WHERE first_seen >= ?1 AND first_seen < ?2 GROUP BY kind")?;
    let mut rows = statement.query(params![from, until])?;
    while let Some(row) = rows.next()? {
        site_entry(&mut kinds, row.get(0)?).0.sites_first_seen = row.get::<_, i64>(1)? as u64;
    }

    let mut statement = tx.prepare(
        "SELECT s.kind,
                count(*) FILTER (WHERE e.kind = 'takedown_requested'),
                count(DISTINCT e.site_id) FILTER (WHERE e.kind = 'status_changed' AND e.status = 'taken_down')
         FROM site_event e JOIN site s ON s.id = e.site_id
         WHERE e.at >= ?1 AND e.at < ?2
         GROUP BY s.kind",
    )?;
    let mut rows = statement.query(params![from, until])?;
    while let Some(row) = rows.next()? {
        let counts = &mut site_entry(&mut kinds, row.get(0)?).0;
        counts.takedown_requests = row.get::<_, i64>(1)? as u64;
        counts.sites_taken_down = row.get::<_, i64>(2)? as u64;
    }

    let mut statement = tx.prepare(
        "WITH first_request AS (
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
         WHERE t.taken_down_at >= ?1 AND t.taken_down_at < ?2",
    )?;
    let mut rows = statement.query(params![from, until])?;
    while let Some(row) = rows.next()? {
        site_entry(&mut kinds, row.get(0)?).1.push(row.get(1)?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteOptions;

    const HOUR: i64 = 3_600;
    /// 2024-01-01T00:00:00Z: every seeded time is an offset from it.
    const T0: i64 = 1_704_067_200;

    fn open(dir: &std::path::Path) -> SqliteStore {
        SqliteStore::open(&SqliteOptions::in_directory(dir)).expect("store opens")
    }

    /// Seeds rows the public API cannot write yet (sites) or cannot write
    /// at chosen times (successors, events), in one transaction.
    async fn seed(store: &SqliteStore, sql: &'static str) {
        store.write(move |tx| Ok(tx.execute_batch(sql)?)).await.expect("seed SQL runs");
    }

    async fn report_over(store: &SqliteStore, from: i64, until: i64) -> TransparencyReport {
        store.transparency_report(ReportRange { from, until }, until).await.expect("report reads")
    }

    fn platform<'a>(report: &'a TransparencyReport, name: &str) -> &'a PlatformCounts {
        report.platforms.iter().find(|p| p.platform == name).unwrap_or_else(|| panic!("no {name} in {report:?}"))
    }

    fn summary(count: u64, median: f64, p90: f64) -> DurationSummary {
        DurationSummary { count, median_seconds: Some(median), p90_seconds: Some(p90) }
    }

    #[test]
    fn medians_and_p90_of_odd_even_and_empty_counts() {
        let check = |values: &[i64], expected: DurationSummary| {
            assert_eq!(DurationSummary::of(values.to_vec()), expected, "{values:?}");
        };
        check(&[], DurationSummary::default());
        check(&[7], summary(1, 7.0, 7.0));
        check(&[30, 10, 20], summary(3, 20.0, 30.0));
        check(&[40, 10, 30, 20], summary(4, 25.0, 40.0));
        check(&[1, 2], summary(2, 1.5, 2.0));
        check(&(1..=10).collect::<Vec<_>>(), summary(10, 5.5, 9.0));
        check(&(1..=20).rev().collect::<Vec<_>>(), summary(20, 10.5, 18.0));
    }

    const ACCOUNTS: &str = "
        INSERT INTO account (id, platform, handle, first_seen, last_seen, status_changed_at) VALUES
            (1, 'telegram', 'relais_exemple', 1704067200 - 86400, 1704067200, 1704067200),
            (2, 'telegram', 'relais_exemple_2', 1704067200 + 36000, 1704067200, 1704067200),
            (3, 'telegram', 'canal_exemple', 1704067200, 1704067200, 1704067200),
            (4, 'x', 'compte_exemple', 1704067200 + 3600, 1704067200, 1704067200),
            (5, 'x', 'compte_exemple_bis', 1704067200 + 86400, 1704067200, 1704067200),
            (6, 'x', 'avant_exemple', 1704067200 - 7200, 1704067200, 1704067200),
            (7, 'tiktok', 'plus_tard_exemple', 1704067200 + 10 * 86400, 1704067200, 1704067200);
        INSERT INTO account_event (account_id, kind, at, changed_by, status, reported_to) VALUES
            -- 1: reported before the range, suspended twice in it: one account, 2 h.
            (1, 'status_changed', 1704067200 - 3600, 'analyst-a', 'reported', 'platform-example'),
            (1, 'status_changed', 1704067200 + 3600, 'platform-example', 'suspended', NULL),
            (1, 'status_changed', 1704067200 + 7200, 'platform-example', 'suspended', NULL),
            (1, 'status_changed', 1704067200 + 7200, 'analyst-a', 'reported', 'platform-example'),
            -- 3: reported and suspended in the range, 4 h.
            (3, 'status_changed', 1704067200, 'analyst-a', 'reported', 'platform-example'),
            (3, 'status_changed', 1704067200 + 14400, 'platform-example', 'suspended', NULL),
            -- 4: suspended before it was reported: no report-to-suspension time.
            (4, 'status_changed', 1704067200 + 3600, 'platform-example', 'suspended', NULL),
            (4, 'status_changed', 1704067200 + 7200, 'analyst-a', 'reported', 'platform-example'),
            -- 6: reported, suspended exactly at the end of the range: outside it.
            (6, 'status_changed', 1704067200 + 100, 'analyst-a', 'reported', 'platform-example'),
            (6, 'status_changed', 1704067200 + 86400, 'platform-example', 'suspended', NULL),
            -- 1 reappeared once a successor was confirmed.
            (1, 'status_changed', 1704067200 + 40000, 'analyst-a', 'reappeared', NULL);
        INSERT INTO successor (account_id, predecessor_id, score, evidence, explanation, state, found_at) VALUES
            -- found 600 s after first seen, 10 h - 2 h = 8 h after the latest suspension.
            (2, 1, 0.9, 'handle', 'handle stem', 'confirmed', 1704067200 + 36600),
            -- predecessor never suspended: a detection time, no gap.
            (3, 2, 0.6, 'handle', 'handle stem', 'pending', 1704067200 + 5000),
            -- found 1 s before the new account's first sighting; 23 h after 4's suspension.
            (5, 4, 0.8, 'handle', 'handle stem', 'pending', 1704067200 + 86400 - 1),
            (5, 6, 0.7, 'handle', 'handle stem', 'rejected', 1704067200 + 86400 - 1);
    ";

    #[tokio::test]
    async fn accounts_and_successors_are_counted_by_platform_in_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        seed(&store, ACCOUNTS).await;
        let report = report_over(&store, T0, T0 + 24 * HOUR).await;

        let names: Vec<&str> = report.platforms.iter().map(|p| p.platform.as_str()).collect();
        assert_eq!(names, ["telegram", "x"], "tiktok's only account is first seen after the range");

        let telegram = platform(&report, "telegram");
        assert_eq!((telegram.accounts_tracked, telegram.accounts_first_seen), (3, 2));
        assert_eq!((telegram.accounts_reported, telegram.accounts_suspended, telegram.accounts_reappeared), (2, 2, 1));
        assert_eq!(telegram.report_to_suspension, summary(2, 3.0 * HOUR as f64, 4.0 * HOUR as f64));
        assert_eq!(telegram.successors, SuccessorCounts { pending: 1, confirmed: 1, rejected: 0 });
        assert_eq!(telegram.successor_detection, summary(2, 2800.0, 5000.0));
        assert_eq!(telegram.recreation_gap, summary(1, 8.0 * HOUR as f64, 8.0 * HOUR as f64));

        let x = platform(&report, "x");
        // 5 is first seen at the exclusive end; 6 before the start.
        assert_eq!((x.accounts_tracked, x.accounts_first_seen), (2, 1));
        assert_eq!((x.accounts_reported, x.accounts_suspended, x.accounts_reappeared), (2, 1, 0));
        assert_eq!(x.report_to_suspension, DurationSummary::default());
        // Proposals count by the new account's platform, whatever their state.
        assert_eq!(x.successors, SuccessorCounts { pending: 1, confirmed: 0, rejected: 1 });
        // The rejected one is left out of the timings; found 1 s before the
        // new account's first sighting counts as immediate.
        assert_eq!(x.successor_detection, summary(1, 0.0, 0.0));
        assert_eq!(x.recreation_gap, summary(1, 23.0 * HOUR as f64, 23.0 * HOUR as f64));

        let all = &report.all_platforms;
        assert_eq!(all.platform, "");
        assert_eq!((all.accounts_tracked, all.accounts_first_seen), (5, 3));
        assert_eq!((all.accounts_reported, all.accounts_suspended, all.accounts_reappeared), (4, 3, 1));
        assert_eq!(all.successors, SuccessorCounts { pending: 2, confirmed: 1, rejected: 1 });
        // Pooled, not a median of medians.
        assert_eq!(all.successor_detection, summary(3, 600.0, 5000.0));
        assert_eq!(all.recreation_gap, summary(2, 15.5 * HOUR as f64, 23.0 * HOUR as f64));

        // The next day starts where this one ended: 6's suspension and 5's
        // first sighting fall there, and nothing is counted twice.
        let next = report_over(&store, T0 + 24 * HOUR, T0 + 48 * HOUR).await;
        let x = platform(&next, "x");
        assert_eq!((x.accounts_first_seen, x.accounts_suspended), (1, 1));
        assert_eq!(x.report_to_suspension, summary(1, (24 * HOUR - 100) as f64, (24 * HOUR - 100) as f64));
        assert_eq!(next.all_platforms.successors.total(), 0);
    }

    #[tokio::test]
    async fn tips_are_counted_by_language_with_unknown_as_und() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        seed(
            &store,
            "INSERT INTO document (kind, text, text_sha256, language, observed_at) VALUES
                 ('tip', 'a', '00', 'fr', 1704067200),
                 ('tip', 'b', '00', 'fr', 1704067200 + 3600),
                 ('tip', 'c', '00', 'ar', 1704067200 + 7200),
                 ('tip', 'd', '00', NULL, 1704067200 + 7200),
                 ('tip', 'e', '00', 'en', 1704067200 - 3600),
                 ('tip', 'f', '00', 'en', 1704067200 + 86400);
             INSERT INTO document (kind, platform, platform_post_id, text, text_sha256, language, observed_at)
                 VALUES ('post', 'telegram', '1', 'g', '00', 'fr', 1704067200);",
        )
        .await;
        let tips = report_over(&store, T0, T0 + 24 * HOUR).await.tips;
        assert_eq!(tips.received, 4, "posts and tips outside [from, until) are not tips received");
        let by_language: Vec<(&str, u64)> =
            tips.by_language.iter().map(|l| (l.language.as_str(), l.tips_received)).collect();
        assert_eq!(by_language, [("fr", 2), ("ar", 1), ("und", 1)]);
    }

    #[tokio::test]
    async fn sites_taken_down_and_requests_are_counted_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        seed(
            &store,
            "INSERT INTO site (id, kind, value, status, status_changed_at, first_seen) VALUES
                 (1, 'domain', 'example.org', 'taken_down', 1704067200, 1704067200 - 86400),
                 (2, 'domain', 'example.com', 'taken_down', 1704067200, 1704067200),
                 (3, 'url', 'https://example.net/a', 'online', 1704067200, 1704067200 + 60),
                 (4, 'domain', 'example.net', 'taken_down', 1704067200, 1704067200 - 86400);
             INSERT INTO site_event (site_id, kind, at, changed_by, status) VALUES
                 -- 1: requested twice, taken down 2 h after the first request, and again later.
                 (1, 'takedown_requested', 1704067200 - 3600, 'analyst-a', NULL),
                 (1, 'takedown_requested', 1704067200, 'analyst-a', NULL),
                 (1, 'status_changed', 1704067200 + 3600, 'analyst-a', 'taken_down'),
                 (1, 'status_changed', 1704067200 + 7200, 'analyst-a', 'taken_down'),
                 -- 2: taken down without a request.
                 (2, 'status_changed', 1704067200 + 60, 'analyst-a', 'taken_down'),
                 -- 3: requested, still online.
                 (3, 'takedown_requested', 1704067200 + 120, 'analyst-a', NULL),
                 -- 4: taken down before the range.
                 (4, 'takedown_requested', 1704067200 - 7200, 'analyst-a', NULL),
                 (4, 'status_changed', 1704067200 - 1, 'analyst-a', 'taken_down');",
        )
        .await;
        let sites = report_over(&store, T0, T0 + 24 * HOUR).await.sites;
        let kinds: Vec<&str> = sites.by_kind.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(kinds, SITE_KINDS);
        let domain = &sites.by_kind[0];
        assert_eq!((domain.sites_first_seen, domain.takedown_requests, domain.sites_taken_down), (1, 1, 2));
        assert_eq!(domain.request_to_takedown, summary(1, 2.0 * HOUR as f64, 2.0 * HOUR as f64));
        let url = &sites.by_kind[1];
        assert_eq!((url.sites_first_seen, url.takedown_requests, url.sites_taken_down), (1, 1, 0));
        assert_eq!(url.request_to_takedown, DurationSummary::default());
        assert_eq!(sites.all.kind, "");
        assert_eq!((sites.all.sites_first_seen, sites.all.takedown_requests, sites.all.sites_taken_down), (2, 2, 2));
        assert_eq!(sites.all.request_to_takedown.count, 1);
    }

    #[tokio::test]
    async fn an_empty_database_reports_zeros_and_every_site_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let report = report_over(&store, T0, T0 + HOUR).await;
        assert!(report.platforms.is_empty());
        assert_eq!(report.all_platforms, PlatformCounts::default());
        assert_eq!(report.tips, TipCounts::default());
        assert_eq!(report.sites.by_kind.len(), SITE_KINDS.len());
        assert_eq!(report.range, ReportRange { from: T0, until: T0 + HOUR });
        assert_eq!(report.generated_at, T0 + HOUR);
    }
}
