//! The transparency report end to end: figures made through the real RPCs
//! (and sites through SQL, until their RPCs land), read back through
//! `Statistics.GetTransparencyReport` and through `vigil report` as JSON,
//! CSV and HTML, which must all agree; and bad ranges refused by name.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;
use serde_json::{Value, json};
use support::Vigil;
use tonic::Code;
use vigil_proto::v1::account_selector::Selector;
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::statistics_client::StatisticsClient;
use vigil_proto::v1::tracking_client::TrackingClient;
use vigil_proto::v1::*;
use vigil_proto::{prost_types, tonic};
use vigil_query::statistics::format_utc;

const AVATAR: &str = "7c2e9a41b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f";
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn at(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn account(platform: &str, handle: &str) -> AccountRef {
    AccountRef { platform: platform.into(), handle: handle.into(), platform_account_id: String::new() }
}

fn snapshot(platform: &str, handle: &str, observed_at: i64) -> RecordProfileSnapshotRequest {
    RecordProfileSnapshotRequest {
        account: Some(account(platform, handle)),
        display_name: "Relais Exemple".into(),
        bio: "le canal officiel hxxps://t[.]me/relais_exemple".into(),
        avatar_sha256: AVATAR.into(),
        observed_at: at(observed_at),
        changed_by: String::new(),
    }
}

async fn change_status(
    tracking: &mut TrackingClient<support::Authed>,
    platform: &str,
    handle: &str,
    status: AccountStatus,
    when: i64,
) {
    let reported_to = if status == AccountStatus::Reported { "platform-example" } else { "" };
    tracking
        .update_account_status(UpdateAccountStatusRequest {
            account: Some(AccountSelector { selector: Some(Selector::Ref(account(platform, handle))) }),
            status: status as i32,
            reported_to: reported_to.into(),
            at: at(when),
            changed_by: "analyst-a".into(),
            note: String::new(),
        })
        .await
        .unwrap();
}

/// Accounts, a confirmed re-creation and tips, all through the RPCs.
async fn record_activity(vigil: &Vigil, now: i64) {
    let channel = vigil.channel().await;
    let mut tracking = TrackingClient::new(channel.clone());
    tracking.record_profile_snapshot(snapshot("telegram", "relais_exemple", now - 3 * DAY)).await.unwrap();
    change_status(&mut tracking, "telegram", "relais_exemple", AccountStatus::Reported, now - 2 * DAY).await;
    change_status(&mut tracking, "telegram", "relais_exemple", AccountStatus::Suspended, now - 2 * DAY + 5_400).await;
    let recreated = tracking
        .record_profile_snapshot(snapshot("telegram", "relais_exemple_2", now - DAY))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recreated.successors.len(), 1, "{recreated:?}");
    tracking
        .review_successor(ReviewSuccessorRequest {
            successor_id: recreated.successors[0].successor_id.clone(),
            decision: review_successor_request::Decision::Confirm as i32,
            reviewed_by: "analyst-a".into(),
            note: String::new(),
        })
        .await
        .unwrap();
    let mut unrelated = snapshot("telegram", "jardin_temoin", now - DAY);
    unrelated.display_name = "Jardin du quartier".into();
    unrelated.bio = "horaires https://example.net/jardin".into();
    unrelated.avatar_sha256 = String::new();
    assert!(tracking.record_profile_snapshot(unrelated).await.unwrap().into_inner().successors.is_empty());
    let mut other_platform = snapshot("x", "compte_exemple", now - DAY);
    other_platform.display_name = "Compte Exemple".into();
    other_platform.bio = String::new();
    other_platform.avatar_sha256 = String::new();
    tracking.record_profile_snapshot(other_platform).await.unwrap();
    change_status(&mut tracking, "x", "compte_exemple", AccountStatus::Reported, now - HOUR).await;

    let mut intake = IntakeClient::new(channel);
    for text in [
        "Bonjour, je voudrais signaler une chaîne qui publie des appels à la violence depuis plusieurs semaines.",
        "Je vous écris parce que ce groupe diffuse chaque soir des vidéos de propagande et recrute des jeunes.",
        "Hello, I would like to report a channel that has been posting calls to violence for several weeks now.",
    ] {
        intake
            .submit_tip(SubmitTipRequest { text: text.into(), language_hint: String::new(), urls: vec![] })
            .await
            .unwrap();
    }
}

/// Sites have no RPC yet: they are written as the sites service will,
/// while the server is stopped.
fn record_sites(data_dir: &Path, now: i64) {
    let connection = rusqlite::Connection::open(data_dir.join("vigil.sqlite3")).unwrap();
    connection
        .execute_batch(&format!(
            "INSERT INTO site (id, kind, value, status, status_changed_at, first_seen) VALUES
                 (1, 'domain', 'example.org', 'taken_down', {taken_down}, {three_days_ago}),
                 (2, 'url', 'https://example.net/relais', 'online', {a_day_ago}, {a_day_ago}),
                 (3, 'domain', 'example.com', 'taken_down', {long_ago}, {long_ago});
             INSERT INTO site_event (site_id, kind, at, changed_by, status) VALUES
                 (1, 'takedown_requested', {two_days_ago}, 'analyst-a', NULL),
                 (1, 'status_changed', {taken_down}, 'analyst-a', 'taken_down'),
                 (2, 'takedown_requested', {an_hour_ago}, 'analyst-a', NULL),
                 (3, 'takedown_requested', {long_ago}, 'analyst-a', NULL),
                 (3, 'status_changed', {long_ago}, 'analyst-a', 'taken_down');",
            three_days_ago = now - 3 * DAY,
            two_days_ago = now - 2 * DAY,
            taken_down = now - 2 * DAY + 2 * HOUR,
            a_day_ago = now - DAY,
            an_hour_ago = now - HOUR,
            long_ago = now - 30 * DAY,
        ))
        .unwrap();
}

fn vigil_report(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("report")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("VIGIL_CONFIG")
        .env_remove("VIGIL_DATA_DIR")
        .output()
        .expect("vigil report runs")
}

fn succeeded(output: Output) -> String {
    assert!(output.status.success(), "vigil report failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn seconds(duration: &Option<prost_types::Duration>) -> Value {
    duration.as_ref().map_or(Value::Null, |d| json!(d.seconds as f64 + f64::from(d.nanos) / 1e9))
}

fn durations(statistics: &Option<DurationStatistics>) -> Value {
    let statistics = statistics.as_ref().expect("durations are always set");
    json!({"count": statistics.count, "median_seconds": seconds(&statistics.median), "p90_seconds": seconds(&statistics.p90)})
}

fn platform_json(platform: &PlatformStatistics) -> Value {
    json!({
        "platform": platform.platform,
        "accounts_tracked": platform.accounts_tracked,
        "accounts_first_seen": platform.accounts_first_seen,
        "accounts_reported": platform.accounts_reported,
        "accounts_suspended": platform.accounts_suspended,
        "accounts_reappeared": platform.accounts_reappeared,
        "report_to_suspension": durations(&platform.report_to_suspension),
        "successors": {
            "pending": platform.successors_pending,
            "confirmed": platform.successors_confirmed,
            "rejected": platform.successors_rejected,
        },
        "successor_detection": durations(&platform.successor_detection),
        "recreation_gap": durations(&platform.recreation_gap),
    })
}

fn site_json(site: &SiteStatistics) -> Value {
    json!({
        "kind": site.kind,
        "sites_first_seen": site.sites_first_seen,
        "takedown_requests": site.takedown_requests,
        "sites_taken_down": site.sites_taken_down,
        "request_to_takedown": durations(&site.request_to_takedown),
    })
}

/// The RPC's answer in the shape of `vigil report --format json`, without
/// `generated_at` (each read has its own).
fn rpc_as_json(report: &TransparencyReport) -> Value {
    let time = |t: &Option<Timestamp>| format_utc(t.as_ref().expect("set").seconds);
    json!({
        "from": time(&report.from),
        "until": time(&report.until),
        "platforms": report.platforms.iter().map(platform_json).collect::<Vec<_>>(),
        "all_platforms": platform_json(report.all_platforms.as_ref().expect("set")),
        "tips": {
            "received": report.tips_received,
            "by_language": report.tip_languages.iter()
                .map(|l| json!({"language": l.language, "tips_received": l.tips_received}))
                .collect::<Vec<_>>(),
        },
        "sites": {
            "by_kind": report.sites.iter().map(site_json).collect::<Vec<_>>(),
            "all": site_json(report.all_sites.as_ref().expect("set")),
        },
    })
}

fn without_generated_at(mut json: Value) -> Value {
    json.as_object_mut().unwrap().remove("generated_at").expect("the report says when it was made");
    json
}

#[tokio::test]
async fn the_rpc_and_every_format_of_vigil_report_agree() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    record_activity(&vigil, now).await;
    vigil.stop().await;
    record_sites(dir.path(), now);

    let (from, until) = (now - 7 * DAY, now + HOUR);
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let mut statistics = StatisticsClient::new(vigil.channel().await);
    let report = statistics
        .get_transparency_report(GetTransparencyReportRequest { from: at(from), until: at(until) })
        .await
        .unwrap()
        .into_inner();

    // The figures themselves, as recorded above.
    let names: Vec<&str> = report.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(names, ["telegram", "x"]);
    let telegram = &report.platforms[0];
    assert_eq!(
        (
            telegram.accounts_tracked,
            telegram.accounts_first_seen,
            telegram.accounts_reported,
            telegram.accounts_suspended,
            telegram.accounts_reappeared
        ),
        (3, 3, 1, 1, 1)
    );
    let report_to_suspension = telegram.report_to_suspension.as_ref().unwrap();
    assert_eq!(report_to_suspension.count, 1);
    assert_eq!(report_to_suspension.median.unwrap().seconds, 5_400);
    assert_eq!((telegram.successors_pending, telegram.successors_confirmed, telegram.successors_rejected), (0, 1, 0));
    // Proposed when its snapshot arrived, a day after its first sighting.
    let detection = telegram.successor_detection.as_ref().unwrap().median.unwrap().seconds;
    assert!((DAY..DAY + 120).contains(&detection), "{detection}");
    assert_eq!(telegram.recreation_gap.as_ref().unwrap().median.unwrap().seconds, DAY - 5_400);
    let x = &report.platforms[1];
    assert_eq!((x.accounts_tracked, x.accounts_reported, x.accounts_suspended), (1, 1, 0));
    assert_eq!(x.report_to_suspension.as_ref().unwrap().median, None);
    let all = report.all_platforms.as_ref().unwrap();
    assert_eq!((all.accounts_tracked, all.accounts_reported), (4, 2));
    assert_eq!(report.tips_received, 3);
    let languages: Vec<(&str, u64)> =
        report.tip_languages.iter().map(|l| (l.language.as_str(), l.tips_received)).collect();
    assert_eq!(languages, [("fr", 2), ("en", 1)]);
    let sites: Vec<(&str, u64, u64, u64)> = report
        .sites
        .iter()
        .map(|s| (s.kind.as_str(), s.sites_first_seen, s.takedown_requests, s.sites_taken_down))
        .collect();
    assert_eq!(sites, [("domain", 1, 1, 1), ("url", 1, 1, 0)], "example.com went down before the range");
    let all_sites = report.all_sites.as_ref().unwrap();
    assert_eq!(all_sites.request_to_takedown.as_ref().unwrap().median.unwrap().seconds, 2 * HOUR);

    // Bad ranges are refused, naming the field.
    let refused = statistics
        .get_transparency_report(GetTransparencyReportRequest { from: at(until), until: at(from) })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().starts_with("until is "), "{}", refused.message());
    let refused = statistics
        .get_transparency_report(GetTransparencyReportRequest { from: at(now - 4_000 * DAY), until: at(now) })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("3653-day limit"), "{}", refused.message());
    // The default range is the last 30 days.
    let default = statistics.get_transparency_report(GetTransparencyReportRequest::default()).await.unwrap();
    let default = default.into_inner();
    assert_eq!(default.until.unwrap().seconds - default.from.unwrap().seconds, 30 * DAY);
    vigil.stop().await;

    // The same range through the command, on the same data.
    let (from_flag, until_flag) = (format_utc(from), format_utc(until));
    let range = ["--from", from_flag.as_str(), "--until", until_flag.as_str()];
    let json: Value =
        serde_json::from_str(&succeeded(vigil_report(dir.path(), &[&range[..], &["--format", "json"]].concat())))
            .unwrap();
    assert_eq!(without_generated_at(json.clone()), rpc_as_json(&report));

    let csv = succeeded(vigil_report(dir.path(), &[&range[..], &["--format", "csv"]].concat()));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("section,platform,language,site_kind,metric,value"));
    let cells: HashMap<Vec<String>, String> = lines
        .map(|line| {
            let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
            assert_eq!(cells.len(), 6, "{line}");
            let value = cells.pop().unwrap();
            (cells, value)
        })
        .collect();
    let cell = |section: &str, platform: &str, language: &str, kind: &str, metric: &str| -> &str {
        let key = [section, platform, language, kind, metric].map(str::to_owned).to_vec();
        cells.get(&key).unwrap_or_else(|| panic!("no {key:?} in {csv}"))
    };
    assert_eq!(cell("report", "", "", "", "from"), from_flag);
    for (platform, expected) in
        report.platforms.iter().map(|p| (p.platform.as_str(), p)).chain([("all platforms", all)])
    {
        for (metric, value) in [
            ("tracked", expected.accounts_tracked),
            ("first_seen", expected.accounts_first_seen),
            ("reported", expected.accounts_reported),
            ("suspended", expected.accounts_suspended),
            ("reappeared", expected.accounts_reappeared),
        ] {
            assert_eq!(cell("accounts", platform, "", "", metric), value.to_string(), "{platform} {metric}");
        }
        assert_eq!(cell("successors", platform, "", "", "confirmed"), expected.successors_confirmed.to_string());
        let json_platform = platform_json(expected);
        for section in ["report_to_suspension", "successor_detection", "recreation_gap"] {
            let median = match &json_platform[section]["median_seconds"] {
                Value::Null => String::new(),
                number => number.as_f64().unwrap().to_string(),
            };
            assert_eq!(cell(section, platform, "", "", "median_seconds"), median, "{platform} {section}");
        }
    }
    assert_eq!(cell("tips", "", "fr", "", "received"), "2");
    assert_eq!(cell("tips", "", "all languages", "", "received"), "3");
    assert_eq!(cell("sites", "", "", "domain", "taken_down"), "1");
    assert_eq!(cell("request_to_takedown", "", "", "all kinds", "median_seconds"), (2 * HOUR).to_string());

    let page = dir.path().join("report.html");
    let html_args = [&range[..], &["--format", "html", "--output", page.to_str().unwrap()]].concat();
    assert_eq!(succeeded(vigil_report(dir.path(), &html_args)), "", "--output leaves stdout empty");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for external in ["http://", "https://", "src=", "<link"] {
        assert!(!html.contains(external), "the page refers to something outside it: {external}");
    }
    assert!(html.contains("<span class=\"value\">3</span><span class=\"label\">tips received</span>"));
    let data = html.split("id=\"report-data\">").nth(1).and_then(|rest| rest.split("</script>").next()).unwrap();
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(without_generated_at(data), rpc_as_json(&report));
}

#[test]
fn vigil_report_names_the_flag_it_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], flag: &str| {
        let output = vigil_report(dir.path(), args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{flag} not named for {args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "nothing is written on a refusal");
    };
    refused(&["--from", "2024-02-01", "--until", "2024-01-01"], "--until is 2024-01-01T00:00:00Z, not after from");
    refused(&["--from", "2010-01-01", "--until", "2024-01-01"], "--from is 5113 days before until");
    refused(&["--from", "01/02/2024"], "--from is \"01/02/2024\", not a date");
    refused(&["--format", "xml"], "--format");
    // A data directory without a database is an error, not a report of zeros.
    refused(&["--from", "2024-01-01", "--until", "2024-02-01"], "no vigil database at");
    assert!(!dir.path().join("vigil.sqlite3").exists(), "a report never creates a database");
}
