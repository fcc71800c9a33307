//! RFC 3339 timestamps in UTC from and to Unix seconds, by hand: the
//! civil-calendar arithmetic is a few lines (Howard Hinnant's
//! `days_from_civil`), not worth a date crate.

use vigil_store::UnixSeconds;

/// 0000-01-01T00:00:00Z: RFC 3339 has four-digit years only.
const EARLIEST: UnixSeconds = -62_167_219_200;
/// 9999-12-31T23:59:59Z.
const LATEST: UnixSeconds = 253_402_300_799;

/// `2024-05-01T12:00:00Z`; times outside years 0 to 9999 are clamped, as
/// no record is that old or that new and the format cannot say it.
pub(crate) fn format_utc(seconds: UnixSeconds) -> String {
    let (date, [hour, minute, second]) = split(seconds);
    format!("{date}T{hour:02}:{minute:02}:{second:02}Z")
}

/// STIX wants milliseconds on `created` and `modified`: `2024-05-01T12:00:00.000Z`.
pub(crate) fn format_stix(seconds: UnixSeconds) -> String {
    let (date, [hour, minute, second]) = split(seconds);
    format!("{date}T{hour:02}:{minute:02}:{second:02}.000Z")
}

/// MISP's own spelling of `first_seen`: `2024-05-01T12:00:00.000000+00:00`.
pub(crate) fn format_misp(seconds: UnixSeconds) -> String {
    let (date, [hour, minute, second]) = split(seconds);
    format!("{date}T{hour:02}:{minute:02}:{second:02}.000000+00:00")
}

/// `2024-05-01`.
pub(crate) fn format_date(seconds: UnixSeconds) -> String {
    split(seconds).0
}

/// Unix seconds of an RFC 3339 timestamp (`T`, `t` or a space between date
/// and time, `Z` or an offset, any fraction, dropped); `None` for anything
/// else, including dates that do not exist.
pub(crate) fn parse(text: &str) -> Option<UnixSeconds> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = bytes.get(range)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, &b| n * 10 + i64::from(b - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, separator)| bytes[at] != separator) {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    // A leap second (:60) counts as the second before it: Unix time has none.
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &bytes[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let length = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if length == 0 {
            return None;
        }
        rest = &fraction[length..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let part = [*h1, *h2, *m1, *m2];
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let (hours, minutes) =
                (i64::from(h1 - b'0') * 10 + i64::from(h2 - b'0'), i64::from(m1 - b'0') * 10 + i64::from(m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset)
}

fn split(seconds: UnixSeconds) -> (String, [i64; 3]) {
    let seconds = seconds.clamp(EARLIEST, LATEST);
    let (days, in_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    (format!("{year:04}-{month:02}-{day:02}"), [in_day / 3600, in_day / 60 % 60, in_day % 60])
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), so that no date crate is needed.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    (era * 400 + year_of_era + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(seconds: UnixSeconds, expected: &str) {
        assert_eq!(format_utc(seconds), expected, "formatting {seconds}");
        assert_eq!(parse(expected), Some(seconds), "parsing {expected:?}");
    }

    #[test]
    fn formats_and_parses_known_instants() {
        check(0, "1970-01-01T00:00:00Z");
        check(951_782_400, "2000-02-29T00:00:00Z");
        check(1_709_164_800, "2024-02-29T00:00:00Z");
        check(1_714_564_800, "2024-05-01T12:00:00Z");
        check(4_102_444_799, "2099-12-31T23:59:59Z");
        check(-1, "1969-12-31T23:59:59Z");
        check(-2_208_988_800, "1900-01-01T00:00:00Z");
        check(EARLIEST, "0000-01-01T00:00:00Z");
        check(LATEST, "9999-12-31T23:59:59Z");
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // 1900 (not leap), 2000 (leap) and every fourth year in between.
        let start = days_from_civil(1900, 1, 1);
        for days in start..start + 146_097 {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
            assert!(day <= days_in_month(year, month), "{year}-{month}-{day}");
            let text = format!("{year:04}-{month:02}-{day:02}T00:00:00Z");
            assert_eq!(parse(&text), Some(days * 86_400));
            assert_eq!(format_date(days * 86_400 + 86_399), text[..10]);
        }
    }

    #[test]
    fn other_spellings_and_offsets() {
        let noon = Some(1_714_564_800);
        assert_eq!(parse("2024-05-01T12:00:00.000Z"), noon);
        assert_eq!(parse("2024-05-01t12:00:00.123456789z"), noon);
        assert_eq!(parse("2024-05-01 12:00:00Z"), noon);
        assert_eq!(parse("2024-05-01T12:00:00.000000+00:00"), noon);
        assert_eq!(parse("2024-05-01T14:30:00+02:30"), noon);
        assert_eq!(parse("2024-05-01T07:00:00-05:00"), noon);
        assert_eq!(parse("2016-12-31T23:59:60Z"), parse("2016-12-31T23:59:59Z"));
        assert_eq!(format_stix(1_714_564_800), "2024-05-01T12:00:00.000Z");
        assert_eq!(format_misp(1_714_564_800), "2024-05-01T12:00:00.000000+00:00");
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for text in [
            "",
            "2024-05-01",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00Z",
            "2024-13-01T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2024-04-31T12:00:00Z",
            "2024-05-00T12:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:60:00Z",
            "2024-05-01T12:00:61Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00+0200",
            "2024-05-01T12:00:00+24:00",
            "2024-05-01X12:00:00Z",
            "+024-05-01T12:00:00Z",
            "2024-05-01T12:00:00Z ",
            "٢٠٢٤-05-01T12:00:00Z",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn clamps_what_four_digits_cannot_hold() {
        assert_eq!(format_utc(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(format_utc(i64::MIN), "0000-01-01T00:00:00Z");
    }
}
