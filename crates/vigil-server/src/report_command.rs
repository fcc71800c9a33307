//! `vigil report`: the transparency report read from the database on disk and written as JSON, CSV or one self-contained HTML page.
//!
//! The figures come from `Statistics::transparency_report`, the function
//! behind the `GetTransparencyReport` RPC; the three renderers here only
//! lay out the same [`TransparencyReport`].

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;
use vigil_query::QueryError;
use vigil_query::statistics::{
    DurationSummary, PlatformCounts, ReportRequest, SiteKindCounts, Statistics, TransparencyReport, format_utc,
    parse_time, report_range,
};
use vigil_store::{SqliteOptions, StoreError};

use crate::config::{ReportConfig, ReportFormat};
use crate::storage::Storage;

#[derive(Debug, Error)]
pub enum ReportError {
    /// A flag's value is wrong; `flag` is spelled as typed (`--until`).
    #[error("{flag} {reason}")]
    Flag { flag: String, reason: String },
    #[error("no vigil database at {path}: check --data-dir or VIGIL_DATA_DIR")]
    NoDatabase { path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(QueryError),
    #[error("cannot write the report to {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

impl ReportError {
    /// 2 for a usage mistake, as clap does; 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Flag { .. } | ReportError::NoDatabase { .. } => 2,
            _ => 1,
        }
    }
}

impl From<QueryError> for ReportError {
    /// The domain names fields `from` and `until`, as the flags are named.
    fn from(error: QueryError) -> ReportError {
        match error {
            QueryError::Invalid { field, reason } => ReportError::Flag { flag: format!("--{field}"), reason },
            QueryError::Store(store) => ReportError::Store(store),
            other => ReportError::Query(other),
        }
    }
}

pub async fn run(config: &ReportConfig) -> Result<(), ReportError> {
    let parse = |field: &str, text: &Option<String>| text.as_deref().map(|text| parse_time(field, text)).transpose();
    let request = ReportRequest { from: parse("from", &config.from)?, until: parse("until", &config.until)? };
    // Checked before the database is opened, so a typo in a flag is
    // reported as such wherever the data directory is.
    report_range(request, now())?;
    if config.database_url.is_none() {
        let path = SqliteOptions::in_directory(&config.data_dir).path;
        // Opening would create an empty database and report zeros: a wrong
        // path must say so instead.
        if !path.is_file() {
            return Err(ReportError::NoDatabase { path: path.display().to_string() });
        }
    }
    let store = Storage::open(&config.data_dir, config.database_url.as_deref(), 1, None).await?;
    let report = Statistics::new(store.statistics()).transparency_report(request).await?;
    let rendered = render(&report, config.format);
    write_output(config.output.as_ref(), rendered.as_bytes())
}

pub fn render(report: &TransparencyReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => {
            let mut text = serde_json::to_string_pretty(&ReportJson::of(report)).expect("the report serializes");
            text.push('\n');
            text
        }
        ReportFormat::Csv => report_csv(report),
        ReportFormat::Html => report_html(report),
    }
}

fn write_output(output: Option<&PathBuf>, bytes: &[u8]) -> Result<(), ReportError> {
    let failed = |path: String| move |source| ReportError::Write { path, source };
    match output {
        Some(path) => std::fs::write(path, bytes).map_err(failed(path.display().to_string())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes).and_then(|()| stdout.flush()).map_err(failed("stdout".into()))
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

// ---- JSON ----

/// The report as JSON: times in RFC 3339, durations in seconds (null when
/// nothing was measured). Structs rather than `json!`, so that the keys
/// come out in reading order, range first.
pub fn report_json(report: &TransparencyReport) -> Value {
    serde_json::to_value(ReportJson::of(report)).expect("the report serializes")
}

#[derive(Serialize)]
struct ReportJson<'a> {
    from: String,
    until: String,
    generated_at: String,
    platforms: Vec<PlatformJson<'a>>,
    all_platforms: PlatformJson<'a>,
    tips: TipsJson<'a>,
    sites: SitesJson<'a>,
}

#[derive(Serialize)]
struct PlatformJson<'a> {
    platform: &'a str,
    accounts_tracked: u64,
    accounts_first_seen: u64,
    accounts_reported: u64,
    accounts_suspended: u64,
    accounts_reappeared: u64,
    report_to_suspension: DurationJson,
    successors: SuccessorsJson,
    successor_detection: DurationJson,
    recreation_gap: DurationJson,
}

#[derive(Serialize)]
struct SuccessorsJson {
    pending: u64,
    confirmed: u64,
    rejected: u64,
}

#[derive(Serialize)]
struct TipsJson<'a> {
    received: u64,
    by_language: Vec<LanguageJson<'a>>,
}

#[derive(Serialize)]
struct LanguageJson<'a> {
    language: &'a str,
    tips_received: u64,
}

#[derive(Serialize)]
struct SitesJson<'a> {
    by_kind: Vec<SiteJson<'a>>,
    all: SiteJson<'a>,
}

#[derive(Serialize)]
struct SiteJson<'a> {
    kind: &'a str,
    sites_first_seen: u64,
    takedown_requests: u64,
    sites_taken_down: u64,
    request_to_takedown: DurationJson,
}

#[derive(Serialize)]
struct DurationJson {
    count: u64,
    median_seconds: Option<f64>,
    p90_seconds: Option<f64>,
}

impl<'a> ReportJson<'a> {
    fn of(report: &'a TransparencyReport) -> ReportJson<'a> {
        ReportJson {
            from: format_utc(report.range.from),
            until: format_utc(report.range.until),
            generated_at: format_utc(report.generated_at),
            platforms: report.platforms.iter().map(PlatformJson::of).collect(),
            all_platforms: PlatformJson::of(&report.all_platforms),
            tips: TipsJson {
                received: report.tips.received,
                by_language: report
                    .tips
                    .by_language
                    .iter()
                    .map(|language| LanguageJson {
                        language: &language.language,
                        tips_received: language.tips_received,
                    })
                    .collect(),
            },
            sites: SitesJson {
                by_kind: report.sites.by_kind.iter().map(SiteJson::of).collect(),
                all: SiteJson::of(&report.sites.all),
            },
        }
    }
}

impl<'a> PlatformJson<'a> {
    fn of(counts: &'a PlatformCounts) -> PlatformJson<'a> {
        PlatformJson {
            platform: &counts.platform,
            accounts_tracked: counts.accounts_tracked,
            accounts_first_seen: counts.accounts_first_seen,
            accounts_reported: counts.accounts_reported,
            accounts_suspended: counts.accounts_suspended,
            accounts_reappeared: counts.accounts_reappeared,
            report_to_suspension: DurationJson::of(&counts.report_to_suspension),
            successors: SuccessorsJson {
                pending: counts.successors.pending,
                confirmed: counts.successors.confirmed,
                rejected: counts.successors.rejected,
            },
            successor_detection: DurationJson::of(&counts.successor_detection),
            recreation_gap: DurationJson::of(&counts.recreation_gap),
        }
    }
}

impl<'a> SiteJson<'a> {
    fn of(counts: &'a SiteKindCounts) -> SiteJson<'a> {
        SiteJson {
            kind: &counts.kind,
            sites_first_seen: counts.sites_first_seen,
            takedown_requests: counts.takedown_requests,
            sites_taken_down: counts.sites_taken_down,
            request_to_takedown: DurationJson::of(&counts.request_to_takedown),
        }
    }
}

impl DurationJson {
    fn of(summary: &DurationSummary) -> DurationJson {
        DurationJson { count: summary.count, median_seconds: summary.median_seconds, p90_seconds: summary.p90_seconds }
    }
}

// ---- CSV ----

/// Labels for totals in the CSV's key columns. Each has a space, which no
/// platform name, language code or site kind can, so a total is never
/// mistaken for one of them.
const ALL_PLATFORMS: &str = "all platforms";
const ALL_LANGUAGES: &str = "all languages";
const ALL_KINDS: &str = "all kinds";

pub const CSV_HEADER: &str = "section,platform,language,site_kind,metric,value";

/// One tidy table, one figure per row, so it pivots in any spreadsheet.
pub fn report_csv(report: &TransparencyReport) -> String {
    let mut csv = Csv::default();
    csv.text.push_str(CSV_HEADER);
    csv.text.push_str("\r\n");
    for (metric, at) in
        [("from", report.range.from), ("until", report.range.until), ("generated_at", report.generated_at)]
    {
        csv.row(["report", "", "", "", metric, &format_utc(at)]);
    }
    let all = PlatformCounts { platform: ALL_PLATFORMS.to_owned(), ..report.all_platforms.clone() };
    for counts in report.platforms.iter().chain([&all]) {
        let platform = counts.platform.as_str();
        for (metric, value) in [
            ("tracked", counts.accounts_tracked),
            ("first_seen", counts.accounts_first_seen),
            ("reported", counts.accounts_reported),
            ("suspended", counts.accounts_suspended),
            ("reappeared", counts.accounts_reappeared),
        ] {
            csv.row(["accounts", platform, "", "", metric, &value.to_string()]);
        }
        for (metric, value) in [
            ("pending", counts.successors.pending),
            ("confirmed", counts.successors.confirmed),
            ("rejected", counts.successors.rejected),
        ] {
            csv.row(["successors", platform, "", "", metric, &value.to_string()]);
        }
        for (section, summary) in [
            ("report_to_suspension", &counts.report_to_suspension),
            ("successor_detection", &counts.successor_detection),
            ("recreation_gap", &counts.recreation_gap),
        ] {
            csv.durations(section, [platform, "", ""], summary);
        }
    }
    for language in &report.tips.by_language {
        csv.row(["tips", "", &language.language, "", "received", &language.tips_received.to_string()]);
    }
    csv.row(["tips", "", ALL_LANGUAGES, "", "received", &report.tips.received.to_string()]);
    let all = SiteKindCounts { kind: ALL_KINDS.to_owned(), ..report.sites.all.clone() };
    for counts in report.sites.by_kind.iter().chain([&all]) {
        let kind = counts.kind.as_str();
        for (metric, value) in [
            ("first_seen", counts.sites_first_seen),
            ("takedown_requests", counts.takedown_requests),
            ("taken_down", counts.sites_taken_down),
        ] {
            csv.row(["sites", "", "", kind, metric, &value.to_string()]);
        }
        csv.durations("request_to_takedown", ["", "", kind], &counts.request_to_takedown);
    }
    csv.text
}

#[derive(Default)]
struct Csv {
    text: String,
}

impl Csv {
    fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        for (index, cell) in cells.into_iter().enumerate() {
            if index > 0 {
                self.text.push(',');
            }
            self.text.push_str(&csv_cell(cell));
        }
        // RFC 4180 line ends, which every spreadsheet reads.
        self.text.push_str("\r\n");
    }

    /// `count`, `median_seconds`, `p90_seconds`; empty values when nothing
    /// was measured.
    fn durations(&mut self, section: &str, [platform, language, kind]: [&str; 3], summary: &DurationSummary) {
        let seconds = |value: Option<f64>| value.map(|value| value.to_string()).unwrap_or_default();
        self.row([section, platform, language, kind, "count", &summary.count.to_string()]);
        self.row([section, platform, language, kind, "median_seconds", &seconds(summary.median_seconds)]);
        self.row([section, platform, language, kind, "p90_seconds", &seconds(summary.p90_seconds)]);
    }
}

/// Quotes what needs it (RFC 4180), and defuses a leading `=`, `+`, `-` or
/// `@` that a spreadsheet would run as a formula. Numbers never need either.
fn csv_cell(cell: &str) -> String {
    let formula = cell.starts_with(['=', '+', '-', '@']) && cell.parse::<f64>().is_err();
    let cell = if formula { format!("'{cell}") } else { cell.to_owned() };
    if cell.contains([',', '"', '\r', '\n']) { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell }
}

// ---- HTML ----

/// Okabe-Ito colours: told apart with the common colour-vision deficiencies.
const BLUE: &str = "#0072B2";
const ORANGE: &str = "#E69F00";
const GREEN: &str = "#009E73";
const VERMILLION: &str = "#D55E00";
const SKY: &str = "#56B4E9";
const PURPLE: &str = "#CC79A7";

const STYLE: &str = "
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1d1d1f; margin: 0 auto; max-width: 60rem; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #ddd; padding-bottom: .25rem; }
.range { color: #555; margin: 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .75rem; margin: 1.25rem 0; }
.tile { border: 1px solid #ddd; border-radius: 6px; padding: .6rem .8rem; }
.tile .value { display: block; font-size: 1.6rem; font-weight: 600; }
.tile .label { color: #555; font-size: .85rem; }
table { border-collapse: collapse; margin: .75rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #e5e5e5; padding: .3rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid #bbb; }
svg { max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #1d1d1f; }
.empty { color: #777; font-style: italic; }
dl.definitions dt { font-weight: 600; margin-top: .6rem; }
dl.definitions dd { margin: 0 0 0 1rem; color: #333; }
footer { margin-top: 2rem; color: #777; font-size: .8rem; }
@media print { body { max-width: none; } h2 { break-after: avoid; } svg, table { break-inside: avoid; } }
";

/// The page. Everything it shows is in the file: inline CSS, inline SVG,
/// no script, font or image from elsewhere (the CSP forbids loading any).
/// The JSON report rides along as a data block, never run, for anyone who
/// wants the numbers behind the charts.
pub fn report_html(report: &TransparencyReport) -> String {
    let mut page = String::with_capacity(32 * 1024);
    let title =
        format!("Transparency report, {} to {}", day_and_time(report.range.from), day_and_time(report.range.until));
    let all = &report.all_platforms;
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>Transparency report</h1>\n\
         <p class=\"range\">From {} (inclusive) to {} (exclusive), UTC.</p>\n</header>\n",
        escape(&title),
        escape(&day_and_time(report.range.from)),
        escape(&day_and_time(report.range.until)),
    );

    page.push_str("<section class=\"tiles\" aria-label=\"Headline figures\">\n");
    let detection = all.successor_detection.median_seconds.map_or_else(|| "n/a".to_owned(), human_duration);
    let report_to_suspension = all.report_to_suspension.median_seconds.map_or_else(|| "n/a".to_owned(), human_duration);
    for (value, label) in [
        (report.tips.received.to_string(), "tips received"),
        (all.accounts_reported.to_string(), "accounts reported"),
        (all.accounts_suspended.to_string(), "accounts suspended"),
        (report_to_suspension, "median time from report to suspension"),
        (all.successors.total().to_string(), "re-created accounts found"),
        (detection, "median time to find a re-created account"),
        (report.sites.all.sites_taken_down.to_string(), "sites taken down"),
    ] {
        let _ = writeln!(
            page,
            "<div class=\"tile\"><span class=\"value\">{}</span><span class=\"label\">{}</span></div>",
            escape(&value),
            escape(label)
        );
    }
    page.push_str("</section>\n");

    let platforms: Vec<&PlatformCounts> = report.platforms.iter().collect();
    page.push_str("<section>\n<h2>Accounts by platform</h2>\n");
    page.push_str(&bar_chart(
        "Accounts by platform",
        &[("first seen", BLUE), ("reported", ORANGE), ("suspended", VERMILLION), ("reappeared", PURPLE)],
        &platforms
            .iter()
            .map(|p| {
                (
                    p.platform.clone(),
                    vec![p.accounts_first_seen, p.accounts_reported, p.accounts_suspended, p.accounts_reappeared],
                )
            })
            .collect::<Vec<_>>(),
    ));
    page.push_str(
        "<table>\n<thead><tr><th>Platform</th><th>Tracked</th><th>First seen</th><th>Reported</th>\
         <th>Suspended</th><th>Reappeared</th><th>Report to suspension, median (p90)</th><th>Cases</th></tr></thead>\n<tbody>\n",
    );
    for (counts, total) in platforms.iter().map(|p| (*p, false)).chain([(all, true)]) {
        let name = if total { "All platforms" } else { counts.platform.as_str() };
        let _ = writeln!(
            page,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if total { " class=\"total\"" } else { "" },
            escape(name),
            counts.accounts_tracked,
            counts.accounts_first_seen,
            counts.accounts_reported,
            counts.accounts_suspended,
            counts.accounts_reappeared,
            escape(&median_and_p90(&counts.report_to_suspension)),
            counts.report_to_suspension.count,
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");

    page.push_str("<section>\n<h2>Re-created accounts</h2>\n");
    page.push_str(&bar_chart(
        "Re-created accounts found, by review state",
        &[("confirmed", GREEN), ("pending review", SKY), ("rejected", "#999999")],
        &platforms
            .iter()
            .map(|p| (p.platform.clone(), vec![p.successors.confirmed, p.successors.pending, p.successors.rejected]))
            .collect::<Vec<_>>(),
    ));
    page.push_str(
        "<table>\n<thead><tr><th>Platform</th><th>Confirmed</th><th>Pending</th><th>Rejected</th>\
         <th>Found after first sighting, median (p90)</th><th>Back after suspension, median (p90)</th></tr></thead>\n<tbody>\n",
    );
    for (counts, total) in platforms.iter().map(|p| (*p, false)).chain([(all, true)]) {
        let name = if total { "All platforms" } else { counts.platform.as_str() };
        let _ = writeln!(
            page,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if total { " class=\"total\"" } else { "" },
            escape(name),
            counts.successors.confirmed,
            counts.successors.pending,
            counts.successors.rejected,
            escape(&median_and_p90(&counts.successor_detection)),
            escape(&median_and_p90(&counts.recreation_gap)),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");

    page.push_str("<section>\n<h2>Tips received, by language</h2>\n");
    page.push_str(&bar_chart(
        "Tips received, by language",
        &[("tips", BLUE)],
        &report
            .tips
            .by_language
            .iter()
            .map(|language| (language.language.clone(), vec![language.tips_received]))
            .collect::<Vec<_>>(),
    ));
    let _ = writeln!(page, "<p>{} tips in all.</p>\n</section>", report.tips.received);

    page.push_str("<section>\n<h2>Sites</h2>\n");
    let sites: Vec<&SiteKindCounts> = report.sites.by_kind.iter().collect();
    page.push_str(&bar_chart(
        "Takedown requests and sites taken down, by kind",
        &[("takedown requests", ORANGE), ("taken down", GREEN)],
        &sites.iter().map(|s| (s.kind.clone(), vec![s.takedown_requests, s.sites_taken_down])).collect::<Vec<_>>(),
    ));
    page.push_str(
        "<table>\n<thead><tr><th>Kind</th><th>First seen</th><th>Takedown requests</th><th>Taken down</th>\
         <th>Request to takedown, median (p90)</th></tr></thead>\n<tbody>\n",
    );
    for (counts, total) in sites.iter().map(|s| (*s, false)).chain([(&report.sites.all, true)]) {
        let name = if total { "All sites" } else { counts.kind.as_str() };
        let _ = writeln!(
            page,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if total { " class=\"total\"" } else { "" },
            escape(name),
            counts.sites_first_seen,
            counts.takedown_requests,
            counts.sites_taken_down,
            escape(&median_and_p90(&counts.request_to_takedown)),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");

    page.push_str("<section>\n<h2>What the figures mean</h2>\n<dl class=\"definitions\">\n");
    for (term, definition) in DEFINITIONS {
        let _ = writeln!(page, "<dt>{}</dt><dd>{}</dd>", escape(term), escape(definition));
    }
    page.push_str("</dl>\n</section>\n");

    let data = serde_json::to_string(&ReportJson::of(report)).expect("the report serializes");
    let _ = write!(
        page,
        "<footer>Generated by vigil at {}. Counts only: no account, site or tipster is named.</footer>\n\
         <script type=\"application/json\" id=\"report-data\">{}</script>\n</body>\n</html>\n",
        escape(&day_and_time(report.generated_at)),
        json_in_html(&data),
    );
    page
}

const DEFINITIONS: [(&str, &str); 12] = [
    ("Range", "Everything counted happened at or after the start and before the end, in UTC."),
    ("Tracked", "Accounts vigil knew on the platform by the end of the range."),
    ("First seen", "Accounts vigil saw for the first time in the range."),
    (
        "Reported, suspended, reappeared",
        "Accounts whose status was changed to that status in the range; an account counts once however often it changed.",
    ),
    (
        "Report to suspension",
        "For each account, the time from its first report to the first suspension after it, counted when the suspension falls in the range.",
    ),
    (
        "Re-created accounts",
        "New accounts vigil proposed as re-creations (successors) of known ones in the range, by the analysts' decision so far; by the new account's platform.",
    ),
    (
        "Found after first sighting",
        "Time from the new account's first sighting to vigil proposing it; rejected proposals are left out.",
    ),
    (
        "Back after suspension",
        "Time from the original account's latest suspension to the new account's first sighting; only where the original had been suspended.",
    ),
    (
        "Tips received",
        "Anonymous tips received in the range, by detected language (und: unknown). Counted by language only, to protect tipsters.",
    ),
    ("Takedown requests", "Requests sent to hosts or registrars in the range; a site may have several."),
    ("Taken down", "Sites marked taken down in the range; a site counts once."),
    (
        "Median, p90",
        "Half of the cases took at most the median; nine in ten took at most the p90. All platforms: over all cases together.",
    ),
];

/// Horizontal grouped bars, one group per row label and one bar per series,
/// scaled to the largest value in the chart.
fn bar_chart(title: &str, series: &[(&str, &str)], rows: &[(String, Vec<u64>)]) -> String {
    if rows.is_empty() {
        return "<p class=\"empty\">Nothing in this range.</p>\n".to_owned();
    }
    const WIDTH: usize = 720;
    const LABEL_WIDTH: usize = 170;
    const BAR_AREA: usize = 470;
    const BAR_HEIGHT: usize = 16;
    const BAR_GAP: usize = 3;
    const GROUP_GAP: usize = 14;
    const LEGEND_HEIGHT: usize = 28;
    let group_height = series.len() * (BAR_HEIGHT + BAR_GAP) - BAR_GAP;
    let height = LEGEND_HEIGHT + rows.len() * (group_height + GROUP_GAP);
    let largest = rows.iter().flat_map(|(_, values)| values.iter().copied()).max().unwrap_or(0).max(1);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\"><title>{}</title>",
        escape(title)
    );
    let mut legend_x = LABEL_WIDTH;
    for (name, colour) in series {
        let _ = writeln!(
            svg,
            "<rect x=\"{legend_x}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"16\">{}</text>",
            legend_x + 16,
            escape(name)
        );
        legend_x += 16 + 8 * name.chars().count() + 20;
    }
    for (row, (label, values)) in rows.iter().enumerate() {
        let top = LEGEND_HEIGHT + row * (group_height + GROUP_GAP);
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL_WIDTH - 8,
            top + group_height / 2 + 4,
            escape(label)
        );
        for (index, ((name, colour), value)) in series.iter().zip(values).enumerate() {
            let y = top + index * (BAR_HEIGHT + BAR_GAP);
            let width = (*value as f64 / largest as f64 * BAR_AREA as f64).round() as usize;
            let _ = writeln!(
                svg,
                "<rect x=\"{LABEL_WIDTH}\" y=\"{y}\" width=\"{width}\" height=\"{BAR_HEIGHT}\" fill=\"{colour}\">\
                 <title>{}: {} {}</title></rect><text x=\"{}\" y=\"{}\">{value}</text>",
                escape(label),
                escape(name),
                value,
                LABEL_WIDTH + width + 4,
                y + BAR_HEIGHT - 4,
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn median_and_p90(summary: &DurationSummary) -> String {
    match (summary.median_seconds, summary.p90_seconds) {
        (Some(median), Some(p90)) => format!("{} ({})", human_duration(median), human_duration(p90)),
        _ => "n/a".to_owned(),
    }
}

/// Rounded for reading; the JSON and CSV keep the exact seconds.
fn human_duration(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 2.0 * 3_600.0 => format!("{:.0} min", s / 60.0),
        s if s < 48.0 * 3_600.0 => format!("{:.1} h", s / 3_600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

/// `2024-01-31 00:00` from RFC 3339, seconds dropped unless they matter.
fn day_and_time(seconds: i64) -> String {
    let text = format_utc(seconds);
    let (date, time) = text.trim_end_matches('Z').split_once('T').unwrap_or((&text, ""));
    let time = time.strip_suffix(":00").unwrap_or(time);
    format!("{date} {time}")
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// JSON inside a `<script>` block is not entity-decoded, so `</script>` in
/// a string would end it: `<`, `>` and `&` become JSON escapes instead.
fn json_in_html(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use vigil_query::statistics::{LanguageCounts, ReportRange, SiteCounts, SuccessorCounts, TipCounts};

    use serde_json::json;

    use super::*;

    /// 2024-01-01T00:00:00Z.
    const T0: i64 = 1_704_067_200;

    fn durations(count: u64, median: f64, p90: f64) -> DurationSummary {
        DurationSummary { count, median_seconds: Some(median), p90_seconds: Some(p90) }
    }

    fn sample() -> TransparencyReport {
        let telegram = PlatformCounts {
            platform: "telegram".into(),
            accounts_tracked: 12,
            accounts_first_seen: 5,
            accounts_reported: 4,
            accounts_suspended: 3,
            accounts_reappeared: 1,
            report_to_suspension: durations(3, 5_400.0, 7_200.0),
            successors: SuccessorCounts { pending: 1, confirmed: 2, rejected: 1 },
            successor_detection: durations(3, 600.5, 900.0),
            recreation_gap: durations(2, 86_400.0, 100_000.0),
        };
        let x = PlatformCounts { platform: "x".into(), accounts_tracked: 2, ..PlatformCounts::default() };
        let all = PlatformCounts { platform: String::new(), accounts_tracked: 14, ..telegram.clone() };
        let domain = SiteKindCounts {
            kind: "domain".into(),
            sites_first_seen: 2,
            takedown_requests: 3,
            sites_taken_down: 1,
            request_to_takedown: durations(1, 3_600.0, 3_600.0),
        };
        let url = SiteKindCounts { kind: "url".into(), ..SiteKindCounts::default() };
        TransparencyReport {
            range: ReportRange { from: T0, until: T0 + 31 * 86_400 },
            generated_at: T0 + 31 * 86_400 + 5,
            platforms: vec![telegram, x],
            all_platforms: all,
            tips: TipCounts {
                received: 3,
                by_language: vec![
                    LanguageCounts { language: "fr".into(), tips_received: 2 },
                    LanguageCounts { language: "und".into(), tips_received: 1 },
                ],
            },
            sites: SiteCounts {
                by_kind: vec![domain.clone(), url],
                all: SiteKindCounts { kind: String::new(), ..domain },
            },
        }
    }

    #[test]
    fn json_keeps_exact_figures_and_null_for_nothing_measured() {
        let json: Value = serde_json::from_str(&render(&sample(), ReportFormat::Json)).unwrap();
        assert_eq!(json["from"], "2024-01-01T00:00:00Z");
        assert_eq!(json["until"], "2024-02-01T00:00:00Z");
        assert_eq!(json["platforms"][0]["accounts_reported"], 4);
        assert_eq!(json["platforms"][0]["successor_detection"]["median_seconds"], 600.5);
        assert_eq!(
            json["platforms"][1]["report_to_suspension"],
            json!({"count": 0, "median_seconds": null, "p90_seconds": null})
        );
        assert_eq!(json["all_platforms"]["accounts_tracked"], 14);
        assert_eq!(json["tips"]["by_language"][1], json!({"language": "und", "tips_received": 1}));
        assert_eq!(json["sites"]["by_kind"][0]["takedown_requests"], 3);
    }

    #[test]
    fn csv_is_one_tidy_table() {
        let csv = report_csv(&sample());
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next(), Some(CSV_HEADER));
        let rows: Vec<Vec<&str>> =
            lines.filter(|line| !line.is_empty()).map(|line| line.split(',').collect()).collect();
        assert!(rows.iter().all(|row| row.len() == 6), "{csv}");
        let value = |key: [&str; 5]| -> &str {
            rows.iter().find(|row| row[..5] == key).unwrap_or_else(|| panic!("no row {key:?} in {csv}"))[5]
        };
        assert_eq!(value(["report", "", "", "", "from"]), "2024-01-01T00:00:00Z");
        assert_eq!(value(["accounts", "telegram", "", "", "reported"]), "4");
        assert_eq!(value(["accounts", ALL_PLATFORMS, "", "", "tracked"]), "14");
        assert_eq!(value(["successor_detection", "telegram", "", "", "median_seconds"]), "600.5");
        assert_eq!(value(["report_to_suspension", "x", "", "", "median_seconds"]), "");
        assert_eq!(value(["tips", "", "fr", "", "received"]), "2");
        assert_eq!(value(["tips", "", ALL_LANGUAGES, "", "received"]), "3");
        assert_eq!(value(["sites", "", "", "domain", "taken_down"]), "1");
        assert_eq!(value(["request_to_takedown", "", "", ALL_KINDS, "count"]), "1");
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        let check = |cell: &str, expected: &str| assert_eq!(csv_cell(cell), expected, "{cell}");
        check("telegram", "telegram");
        check("-5", "-5");
        check("a,b", "\"a,b\"");
        check("say \"hi\"", "\"say \"\"hi\"\"\"");
        check("=cmd()", "'=cmd()");
        check("@x,y", "\"'@x,y\"");
    }

    #[test]
    fn html_is_self_contained_and_escapes_what_it_shows() {
        let mut report = sample();
        report.platforms[1].platform = "<img src=x onerror=alert(1)>".into();
        report.tips.by_language[0].language = "</script><b>".into();
        let html = report_html(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<img"), "unescaped platform name");
        assert!(!html.contains("<b>"), "unescaped language");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert_eq!(html.matches("</script>").count(), 1, "the data block is closed once, by the page");
        for external in ["http://", "https://", "src=\"", "<link", "@import", "url("] {
            assert!(!html.contains(external), "{external} in the page");
        }
        assert_eq!(html.matches("<svg").count(), 4, "four charts");
        let data = html.split("id=\"report-data\">").nth(1).and_then(|rest| rest.split("</script>").next()).unwrap();
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(data, report_json(&report));
    }

    #[test]
    fn an_empty_range_still_makes_a_page() {
        let report = TransparencyReport {
            range: ReportRange { from: T0, until: T0 + 86_400 },
            generated_at: T0,
            platforms: vec![],
            all_platforms: PlatformCounts::default(),
            tips: TipCounts::default(),
            sites: SiteCounts::default(),
        };
        let html = report_html(&report);
        assert_eq!(html.matches("Nothing in this range.").count(), 4);
        assert!(html.contains("<td>All platforms</td><td>0</td>"));
        assert!(html.contains("n/a"));
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        let check = |seconds: f64, expected: &str| assert_eq!(human_duration(seconds), expected);
        check(0.0, "0 s");
        check(90.0, "90 s");
        check(600.5, "10 min");
        check(5_400.0, "90 min");
        check(9_000.0, "2.5 h");
        check(3.0 * 86_400.0, "3.0 days");
        assert_eq!(day_and_time(T0 + 3_723), "2024-01-01 01:02:03");
        assert_eq!(day_and_time(T0), "2024-01-01 00:00");
    }

    #[test]
    fn domain_errors_name_the_flag() {
        let error = ReportError::from(QueryError::Invalid { field: "until".into(), reason: "is early".into() });
        assert_eq!(error.to_string(), "--until is early");
        assert_eq!(error.exit_code(), 2);
    }
}
