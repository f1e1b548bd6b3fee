//! The one civil clock: Asia/Tokyo. The policy's dates (effective dates, training validity,
//! contract dates, retention cut-offs, report deadlines) are Japanese civil dates, and every
//! time shown to a person is Tokyo time. Instants stay [`Timestamp`]s (UTC) everywhere else;
//! this module is the only place that turns one into the other, and the only parser of a time
//! typed by a person or a file.
//!
//! The zone comes from jiff's bundled time zone database (the workspace enables
//! `tzdb-bundle-always`), so it never depends on the host. Should it ever be missing, the
//! fallback is the fixed offset +09:00 — what Asia/Tokyo has been since 1951 (no daylight
//! saving time) — never UTC, which would shift every date by nine hours.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil;
use jiff::tz::{Offset, TimeZone};

use crate::Date;

static ZONE: LazyLock<TimeZone> =
    LazyLock::new(|| TimeZone::get("Asia/Tokyo").unwrap_or_else(|_| TimeZone::fixed(Offset::constant(9))));

/// Asia/Tokyo.
pub fn zone() -> TimeZone {
    ZONE.clone()
}

/// The civil date in Tokyo at `at`.
pub fn date_of(at: Timestamp) -> Date {
    Date(at.to_zoned(zone()).date())
}

/// Today in Tokyo.
pub fn today() -> Date {
    date_of(Timestamp::now())
}

/// The first instant of `day` in Tokyo (its midnight).
pub fn start_of(day: civil::Date) -> Timestamp {
    // INVARIANT: Tokyo has no DST gap, so every civil midnight exists; the fallback only
    // guards dates outside jiff's range.
    day.to_zoned(zone()).map(|z| z.timestamp()).unwrap_or(Timestamp::MIN)
}

/// `at` in Tokyo as `YYYY-MM-DD HH:MM` (what pages and reports show).
pub fn minutes(at: Timestamp) -> String {
    at.to_zoned(zone()).strftime("%Y-%m-%d %H:%M").to_string()
}

/// `at` minus `months` calendar months in Tokyo (retention periods count civil months).
pub fn months_before(at: Timestamp, months: i64) -> Timestamp {
    at.to_zoned(zone()).checked_sub(jiff::Span::new().months(months)).map(|z| z.timestamp()).unwrap_or(Timestamp::MIN)
}

/// A time as a person or a file writes it: RFC 3339 with an offset
/// (`2026-04-01T09:00:00+09:00`, `…Z`), or a civil date-time or a date in Tokyo
/// (`2026-04-01T09:00`, `2026-04-01` = that day's midnight).
pub fn parse_instant(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    if let Ok(dt) = text.parse::<civil::DateTime>() {
        return dt.to_zoned(zone()).ok().map(|z| z.timestamp());
    }
    text.parse::<civil::Date>().ok().map(start_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let got = parse_instant(input).map(|t| t.to_string());
        assert_eq!(got.as_deref(), expected, "{input}");
    }

    #[test]
    fn times_are_read_as_written_or_in_tokyo() {
        check("2026-04-01T09:00:00+09:00", Some("2026-04-01T00:00:00Z"));
        check("2026-04-01T00:00:00Z", Some("2026-04-01T00:00:00Z"));
        check("2026-04-01T09:00", Some("2026-04-01T00:00:00Z"));
        check("2026-04-01 09:00", Some("2026-04-01T00:00:00Z"));
        check(" 2026-04-01 ", Some("2026-03-31T15:00:00Z"));
        check("2026-02-30", None);
        check("yesterday", None);
        check("", None);
    }

    #[test]
    fn the_date_turns_at_tokyo_midnight_not_utc() {
        let before: Timestamp = "2026-11-28T14:59:59Z".parse().unwrap();
        let after: Timestamp = "2026-11-28T15:00:00Z".parse().unwrap();
        assert_eq!(date_of(before), Date::new(2026, 11, 28).unwrap());
        assert_eq!(date_of(after), Date::new(2026, 11, 29).unwrap());
        assert_eq!(start_of(date_of(after).0), after);
        assert_eq!(minutes(after), "2026-11-29 00:00");
    }

    #[test]
    fn months_are_civil_months_in_tokyo() {
        let at: Timestamp = "2026-03-31T03:00:00Z".parse().unwrap(); // 12:00 on 31 March in Tokyo
        assert_eq!(months_before(at, 1).to_string(), "2026-02-28T03:00:00Z");
    }

    #[test]
    fn the_zone_is_tokyo_with_its_name() {
        assert_eq!(zone().iana_name(), Some("Asia/Tokyo"));
    }
}
