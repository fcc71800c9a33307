//! The transparency report, from data written through the public API.

use vigil_store::{
    AccountKey, AccountSelector, AccountStatus, DurationSummary, NewSuccessor, PlatformCounts, ReportRange,
    ReviewOutcome, SITE_KINDS, SiteChange, SiteSelector, SiteStatus, StatusChange, SuccessorCounts, SuccessorReview,
    TipCounts, TransparencyReport,
};

use crate::data::{ingested, key, note, post, snapshot, tip};
use crate::harness::Engine;

conformance!(
    accounts_and_successors_are_counted_by_platform_in_the_range,
    tips_are_counted_by_language_with_unknown_as_und,
    sites_taken_down_and_requests_are_counted_by_kind,
    an_empty_database_reports_zeros_and_every_site_kind,
);

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;
/// 2024-01-01T00:00:00Z: every time is an offset from it.
const T0: i64 = 1_704_067_200;

async fn report_over(engine: &Engine, from: i64, until: i64) -> TransparencyReport {
    engine.statistics().transparency_report(ReportRange { from, until }, until).await.expect("the report reads")
}

fn platform<'a>(report: &'a TransparencyReport, name: &str) -> &'a PlatformCounts {
    report.platforms.iter().find(|p| p.platform == name).unwrap_or_else(|| panic!("no {name} in {report:?}"))
}

fn summary(count: u64, median: f64, p90: f64) -> DurationSummary {
    DurationSummary { count, median_seconds: Some(median), p90_seconds: Some(p90) }
}

fn account(platform: &str, handle: &str) -> AccountKey {
    AccountKey { platform: platform.into(), handle: Some(handle.into()), platform_account_id: None }
}

async fn status(engine: &Engine, id: i64, status: AccountStatus, at: i64) {
    let change = StatusChange {
        account: AccountSelector::Id(id),
        status,
        reported_to: (status == AccountStatus::Reported).then(|| "platform-example".into()),
        at,
        changed_by: "analyst-a".into(),
        note: None,
    };
    engine.store.change_account_status(change).await.unwrap().expect("the account exists");
}

/// The scenario of the SQLite unit test, written through the API: accounts
/// first seen at chosen times by profile snapshots, status changes at
/// chosen times, successors found and reviewed.
async fn accounts_and_successors_are_counted_by_platform_in_the_range(engine: Engine) {
    let first_seen = [
        ("telegram", "relais_exemple", T0 - DAY),
        ("telegram", "relais_exemple_2", T0 + 36_000),
        ("telegram", "canal_exemple", T0),
        ("x", "compte_exemple", T0 + HOUR),
        ("x", "compte_exemple_bis", T0 + DAY),
        ("x", "avant_exemple", T0 - 2 * HOUR),
        ("tiktok", "plus_tard_exemple", T0 + 10 * DAY),
    ];
    let mut ids = vec![0]; // ids[n] is account n of the unit test
    for (platform, handle, at) in first_seen {
        let stored =
            engine.store.record_profile_snapshot(snapshot(account(platform, handle), "Nom", at)).await.unwrap();
        ids.push(stored.account.id);
    }
    use AccountStatus::{Reported, Suspended};
    // 1: reported before the range, suspended twice in it: one account, 2 h.
    status(&engine, ids[1], Reported, T0 - HOUR).await;
    status(&engine, ids[1], Suspended, T0 + HOUR).await;
    status(&engine, ids[1], Suspended, T0 + 2 * HOUR).await;
    status(&engine, ids[1], Reported, T0 + 2 * HOUR).await;
    // 3: reported and suspended in the range, 4 h.
    status(&engine, ids[3], Reported, T0).await;
    status(&engine, ids[3], Suspended, T0 + 4 * HOUR).await;
    // 4: suspended before it was reported: no report-to-suspension time.
    status(&engine, ids[4], Suspended, T0 + HOUR).await;
    status(&engine, ids[4], Reported, T0 + 2 * HOUR).await;
    // 6: reported, suspended exactly at the end of the range: outside it.
    status(&engine, ids[6], Reported, T0 + 100).await;
    status(&engine, ids[6], Suspended, T0 + DAY).await;

    let proposal = |account: usize, predecessor: usize, found_at: i64| NewSuccessor {
        account: ids[account],
        predecessor: ids[predecessor],
        score: 0.9,
        evidence: vec!["handle".into()],
        explanation: "handle stem".into(),
        found_at,
    };
    let alerts = engine
        .store
        .propose_successors(vec![
            // found 600 s after first seen, 10 h - 2 h = 8 h after the latest suspension.
            proposal(2, 1, T0 + 36_600),
            // predecessor never suspended: a detection time, no gap.
            proposal(3, 2, T0 + 5_000),
            // found 1 s before the new account's first sighting; 23 h after 4's suspension.
            proposal(5, 4, T0 + DAY - 1),
            proposal(5, 6, T0 + DAY - 1),
        ])
        .await
        .unwrap();
    assert_eq!(alerts.len(), 4);
    let review = |index: usize, confirm: bool, at: i64| SuccessorReview {
        successor: alerts[index].successor().unwrap().id,
        confirm,
        reviewed_by: "analyst-a".into(),
        note: None,
        at,
    };
    // Confirming (2, 1) makes 1 reappear, at T0 + 40_000.
    assert!(matches!(
        engine.store.review_successor(review(0, true, T0 + 40_000)).await.unwrap(),
        ReviewOutcome::Reviewed(_)
    ));
    assert!(matches!(
        engine.store.review_successor(review(3, false, T0 + 2 * DAY)).await.unwrap(),
        ReviewOutcome::Reviewed(_)
    ));

    let report = report_over(&engine, T0, T0 + DAY).await;
    let names: Vec<&str> = report.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(names, ["telegram", "x"], "tiktok's only account is first seen after the range");

    let telegram = platform(&report, "telegram");
    assert_eq!((telegram.accounts_tracked, telegram.accounts_first_seen), (3, 2));
    assert_eq!((telegram.accounts_reported, telegram.accounts_suspended, telegram.accounts_reappeared), (2, 2, 1));
    assert_eq!(telegram.report_to_suspension, summary(2, 3.0 * HOUR as f64, 4.0 * HOUR as f64));
    assert_eq!(telegram.successors, SuccessorCounts { pending: 1, confirmed: 1, rejected: 0 });
    assert_eq!(telegram.successor_detection, summary(2, 2_800.0, 5_000.0));
    assert_eq!(telegram.recreation_gap, summary(1, 8.0 * HOUR as f64, 8.0 * HOUR as f64));

    let x = platform(&report, "x");
    // 5 is first seen at the exclusive end; 6 before the start.
    assert_eq!((x.accounts_tracked, x.accounts_first_seen), (2, 1));
    assert_eq!((x.accounts_reported, x.accounts_suspended, x.accounts_reappeared), (2, 1, 0));
    assert_eq!(x.report_to_suspension, DurationSummary::default());
    // Proposals count by the new account's platform, whatever their state.
    assert_eq!(x.successors, SuccessorCounts { pending: 1, confirmed: 0, rejected: 1 });
    assert_eq!(x.successor_detection, summary(1, 0.0, 0.0));
    assert_eq!(x.recreation_gap, summary(1, 23.0 * HOUR as f64, 23.0 * HOUR as f64));

    let all = &report.all_platforms;
    assert_eq!(all.platform, "");
    assert_eq!((all.accounts_tracked, all.accounts_first_seen), (5, 3));
    assert_eq!((all.accounts_reported, all.accounts_suspended, all.accounts_reappeared), (4, 3, 1));
    assert_eq!(all.successors, SuccessorCounts { pending: 2, confirmed: 1, rejected: 1 });
    // Pooled, not a median of medians.
    assert_eq!(all.successor_detection, summary(3, 600.0, 5_000.0));
    assert_eq!(all.recreation_gap, summary(2, 15.5 * HOUR as f64, 23.0 * HOUR as f64));
    assert_eq!((report.range, report.generated_at), (ReportRange { from: T0, until: T0 + DAY }, T0 + DAY));

    // The next day starts where this one ended: nothing is counted twice.
    let next = report_over(&engine, T0 + DAY, T0 + 2 * DAY).await;
    let x = platform(&next, "x");
    assert_eq!((x.accounts_first_seen, x.accounts_suspended), (1, 1));
    assert_eq!(x.report_to_suspension, summary(1, (DAY - 100) as f64, (DAY - 100) as f64));
    assert_eq!(next.all_platforms.successors.total(), 0);
}

async fn tips_are_counted_by_language_with_unknown_as_und(engine: Engine) {
    let tips = [
        (Some("fr"), T0),
        (Some("fr"), T0 + HOUR),
        (Some("ar"), T0 + 2 * HOUR),
        (None, T0 + 2 * HOUR),
        (Some(""), T0 + 3 * HOUR),
        (Some("en"), T0 - HOUR),
        (Some("en"), T0 + DAY),
    ];
    for (n, (language, at)) in tips.into_iter().enumerate() {
        let mut tip = tip("signalement", at, [n as u8; 32]);
        tip.document.language = language.map(str::to_owned);
        engine.store.insert_tip(tip).await.unwrap();
    }
    engine.store.insert_posts(vec![post("1", "g", T0)], ingested()).await.unwrap();
    let tips = report_over(&engine, T0, T0 + DAY).await.tips;
    assert_eq!(tips.received, 5, "posts and tips outside [from, until) are not tips received");
    let by_language: Vec<(&str, u64)> =
        tips.by_language.iter().map(|l| (l.language.as_str(), l.tips_received)).collect();
    assert_eq!(by_language, [("fr", 2), ("und", 2), ("ar", 1)], "most first, then by code");
}

async fn sites_taken_down_and_requests_are_counted_by_kind(engine: Engine) {
    let store = &engine.store;
    let domain = |value: &str| SiteSelector::Key(key(vigil_store::IndicatorKind::Domain, value));
    let url = |value: &str| SiteSelector::Key(key(vigil_store::IndicatorKind::Url, value));
    let none = || SiteChange::Contacts { host_abuse_contact: None, registrar_abuse_contact: None };
    let requested = || SiteChange::TakedownRequested { sent_to: "abuse@example.net".into() };
    let taken_down = || SiteChange::Status(SiteStatus::TakenDown);
    let changes = [
        // 1: requested twice, taken down 2 h after the first request, and again later.
        (domain("example.org"), none(), T0 - DAY),
        (domain("example.org"), requested(), T0 - HOUR),
        (domain("example.org"), requested(), T0),
        (domain("example.org"), taken_down(), T0 + HOUR),
        (domain("example.org"), taken_down(), T0 + 2 * HOUR),
        // 2: taken down without a request.
        (domain("example.com"), none(), T0),
        (domain("example.com"), taken_down(), T0 + 60),
        // 3: requested, still online.
        (url("https://example.net/a"), none(), T0 + 60),
        (url("https://example.net/a"), requested(), T0 + 120),
        // 4: taken down before the range.
        (domain("example.net"), none(), T0 - DAY),
        (domain("example.net"), requested(), T0 - 2 * HOUR),
        (domain("example.net"), taken_down(), T0 - 1),
    ];
    for (site, change, at) in changes {
        store.change_site(site, change, note(at)).await.unwrap().unwrap();
    }
    let sites = report_over(&engine, T0, T0 + DAY).await.sites;
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

async fn an_empty_database_reports_zeros_and_every_site_kind(engine: Engine) {
    let report = report_over(&engine, T0, T0 + HOUR).await;
    assert!(report.platforms.is_empty());
    assert_eq!(report.all_platforms, PlatformCounts::default());
    assert_eq!(report.tips, TipCounts::default());
    assert_eq!(report.sites.by_kind.len(), SITE_KINDS.len());
    assert!(report.sites.by_kind.iter().all(|k| k.sites_first_seen == 0 && k.request_to_takedown.count == 0));
    assert_eq!(report.range, ReportRange { from: T0, until: T0 + HOUR });
    assert_eq!(report.generated_at, T0 + HOUR);
}
