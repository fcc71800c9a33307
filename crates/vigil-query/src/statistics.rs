//! Counts for the transparency report: accounts tracked, reported, suspended and re-created, sites taken down, tips received, over a time range.
//!
//! The `Statistics.GetTransparencyReport` RPC and `vigil report` both call
//! [`Statistics::transparency_report`], so the two never disagree on a
//! range's defaults, its limits or a figure.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use vigil_store::UnixSeconds;
pub use vigil_store::{
    DurationSummary, LanguageCounts, PlatformCounts, ReportRange, SITE_KINDS, SiteCounts, SiteKindCounts,
    StatisticsStore, SuccessorCounts, TipCounts, TransparencyReport,
};

use crate::QueryError;
use crate::exchange::rfc3339::{civil_from_days, days_from_civil, days_in_month};

/// The range when the caller gives no start.
pub const DEFAULT_RANGE_DAYS: i64 = 30;
/// Ten years, leap days included. Longer ranges are refused: nothing vigil
/// holds is that old, so a longer one is almost surely a mistyped year.
pub const MAX_RANGE_DAYS: i64 = 3_653;
const DAY: i64 = 86_400;
/// 9999-12-31T23:59:59Z: four-digit years keep every date printable.
const LATEST: UnixSeconds = 253_402_300_799;

/// A report's range as the caller gives it; either end may be left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportRequest {
    /// Inclusive. Default: `DEFAULT_RANGE_DAYS` days before `until`.
    pub from: Option<UnixSeconds>,
    /// Exclusive. Default: now.
    pub until: Option<UnixSeconds>,
}

#[derive(Clone, Debug)]
pub struct Statistics {
    store: Arc<dyn StatisticsStore>,
}

impl Statistics {
    pub fn new(store: Arc<dyn StatisticsStore>) -> Statistics {
        Statistics { store }
    }

    /// The transparency report over the requested range, read in one
    /// snapshot of the database.
    pub async fn transparency_report(&self, request: ReportRequest) -> Result<TransparencyReport, QueryError> {
        let now = now();
        let range = report_range(request, now)?;
        Ok(self.store.transparency_report(range, now).await?)
    }
}

/// The range a request stands for at `now`, or why it is refused. Errors
/// name `from` or `until`, which are also the flags of `vigil report`.
pub fn report_range(request: ReportRequest, now: UnixSeconds) -> Result<ReportRange, QueryError> {
    for (field, value) in [("from", request.from), ("until", request.until)] {
        match value {
            Some(at) if at < 0 => {
                return Err(QueryError::invalid(field, format!("is {}, before 1970-01-01", format_utc(at))));
            }
            Some(at) if at > LATEST => {
                return Err(QueryError::invalid(field, format!("is after {}", format_utc(LATEST))));
            }
            _ => {}
        }
    }
    let until = request.until.unwrap_or(now);
    let from = request.from.unwrap_or_else(|| (until - DEFAULT_RANGE_DAYS * DAY).max(0));
    if from >= until {
        let (from, until) = (format_utc(from), format_utc(until));
        return Err(match request.until {
            Some(_) => QueryError::invalid("until", format!("is {until}, not after from ({from})")),
            None => QueryError::invalid("from", format!("is {from}, not before until (now, {until})")),
        });
    }
    // Positive here, so this rounds up (i64::div_ceil is not stable).
    let days = (until - from + DAY - 1) / DAY;
    if days > MAX_RANGE_DAYS {
        return Err(QueryError::invalid(
            "from",
            format!("is {days} days before until, over the {MAX_RANGE_DAYS}-day limit (10 years)"),
        ));
    }
    Ok(ReportRange { from, until })
}

/// `2024-01-31T00:00:00Z`.
pub fn format_utc(seconds: UnixSeconds) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(DAY));
    let second_of_day = seconds.rem_euclid(DAY);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3_600,
        second_of_day % 3_600 / 60,
        second_of_day % 60
    )
}

/// A date (`2024-01-31`, midnight UTC) or an RFC 3339 time
/// (`2024-01-31T12:00:00Z`, `2024-01-31T14:00:00+02:00`). Fractions of a
/// second round up: events are stored in whole seconds, so an event is in
/// `[from, until)` exactly when its second is in the rounded-up range.
pub fn parse_time(field: &str, text: &str) -> Result<UnixSeconds, QueryError> {
    let invalid = || {
        QueryError::invalid(
            field,
            format!("is {text:?}, not a date: use YYYY-MM-DD or RFC 3339 such as 2024-01-31T00:00:00Z"),
        )
    };
    parse_utc(text.trim()).ok_or_else(invalid)
}

fn parse_utc(text: &str) -> Option<UnixSeconds> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = bytes.get(range)?;
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date = days_from_civil(year, month, day) * DAY;
    if bytes.len() == 10 {
        return Some(date);
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes.get(13) != Some(&b':') || bytes.get(16) != Some(&b':') {
        return None;
    }
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    // 60 is a leap second, which RFC 3339 allows.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut round_up = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        round_up = i64::from(fraction[..digits].bytes().any(|d| d != b'0'));
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let [h1, h2, m1, m2] = digits.map(|d| i64::from(d - b'0'));
            let (hours, minutes) = (h1 * 10 + h2, m1 * 10 + m2);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3_600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    Some(date + hour * 3_600 + minute * 60 + second + round_up - offset)
}

fn now() -> UnixSeconds {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01T00:00:00Z.
    const T0: i64 = 1_704_067_200;

    fn refused(result: Result<ReportRange, QueryError>) -> (String, String) {
        match result {
            Err(QueryError::Invalid { field, reason }) => (field, reason),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn ranges_default_to_the_last_30_days_and_keep_what_is_given() {
        let check = |from, until, expected: (i64, i64)| {
            let range = report_range(ReportRequest { from, until }, T0).unwrap();
            assert_eq!((range.from, range.until), expected, "from {from:?} until {until:?}");
        };
        check(None, None, (T0 - 30 * DAY, T0));
        check(Some(T0 - DAY), None, (T0 - DAY, T0));
        check(None, Some(T0 - DAY), (T0 - 31 * DAY, T0 - DAY));
        check(Some(T0 - 2 * DAY), Some(T0 + DAY), (T0 - 2 * DAY, T0 + DAY));
        check(None, Some(DAY), (0, DAY));
        check(Some(T0), Some(T0 + MAX_RANGE_DAYS * DAY), (T0, T0 + MAX_RANGE_DAYS * DAY));
    }

    #[test]
    fn bad_ranges_name_the_field_and_the_limit() {
        let request = |from, until| ReportRequest { from, until };
        let (field, reason) = refused(report_range(request(Some(T0), Some(T0 - 1)), T0));
        assert_eq!(field, "until");
        assert_eq!(reason, "is 2023-12-31T23:59:59Z, not after from (2024-01-01T00:00:00Z)");
        assert_eq!(refused(report_range(request(Some(T0), Some(T0)), T0)).0, "until");
        let (field, reason) = refused(report_range(request(Some(T0 + 1), None), T0));
        assert_eq!(field, "from");
        assert!(reason.contains("not before until (now, 2024-01-01T00:00:00Z)"), "{reason}");
        let (field, reason) = refused(report_range(request(Some(T0), Some(T0 + MAX_RANGE_DAYS * DAY + 1)), T0));
        assert_eq!(field, "from");
        assert_eq!(reason, "is 3654 days before until, over the 3653-day limit (10 years)");
        let (field, reason) = refused(report_range(request(Some(-1), None), T0));
        assert_eq!((field.as_str(), reason.as_str()), ("from", "is 1969-12-31T23:59:59Z, before 1970-01-01"));
        let (field, reason) = refused(report_range(request(None, Some(LATEST + 1)), T0));
        assert_eq!((field.as_str(), reason.as_str()), ("until", "is after 9999-12-31T23:59:59Z"));
    }

    #[test]
    fn dates_and_rfc3339_times_parse_to_unix_seconds() {
        let check = |text: &str, expected: Option<i64>| {
            assert_eq!(parse_time("from", text).ok(), expected, "{text}");
        };
        check("2024-01-01", Some(T0));
        check(" 2024-01-01 ", Some(T0));
        check("2024-01-01T00:00:00Z", Some(T0));
        check("2024-01-01t01:02:03z", Some(T0 + 3_723));
        check("2024-01-01 01:00:00Z", Some(T0 + 3_600));
        check("2024-01-01T02:00:00+02:00", Some(T0));
        check("2023-12-31T22:30:00-01:30", Some(T0));
        check("2024-01-01T00:00:00.000Z", Some(T0));
        check("2024-01-01T00:00:00.25Z", Some(T0 + 1));
        check("2024-02-29", Some(T0 + 59 * DAY));
        check("1970-01-01", Some(0));
        check("2023-02-29", None);
        check("2024-13-01", None);
        check("2024-04-31", None);
        check("2024-1-01", None);
        check("2024-01-01T24:00:00Z", None);
        check("2024-01-01T00:00:00", None);
        check("2024-01-01T00:00:00.Z", None);
        check("2024-01-01T00:00:00+2:00", None);
        check("yesterday", None);
        check("", None);
        let error = parse_time("until", "31/01/2024").unwrap_err().to_string();
        assert!(error.starts_with("until is \"31/01/2024\", not a date"), "{error}");
        assert!(error.contains("YYYY-MM-DD"), "{error}");
    }

    #[test]
    fn formatting_inverts_parsing_across_eras() {
        for seconds in [0, T0, T0 + 59 * DAY + 3_723, 951_782_400, 4_107_542_399, LATEST] {
            let text = format_utc(seconds);
            assert_eq!(parse_time("from", &text).unwrap(), seconds, "{text}");
        }
        assert_eq!(format_utc(LATEST), "9999-12-31T23:59:59Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
