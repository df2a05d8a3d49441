//! Instants as stored (unix microseconds) and as shown (RFC3339 UTC with `Z`).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// An instant on the mock clock.
pub type Instant = DateTime<Utc>;

/// Stored form of an instant.
pub fn to_us(t: Instant) -> i64 {
    t.timestamp_micros()
}

/// Instant from its stored form.
pub fn from_us(us: i64) -> Instant {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

/// RFC3339 with `Z`, seconds precision unless there are sub-second digits.
pub fn rfc3339(t: Instant) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// RFC3339 with `Z` and exactly six fractional digits (ground truth, Parquet timestamps).
pub fn rfc3339_micros(t: Instant) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses an RFC3339 timestamp; any offset is converted to UTC.
pub fn parse_rfc3339(s: &str) -> Option<Instant> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// The UTC midnight at or before `t`.
pub fn day_start(t: Instant) -> Instant {
    let d = t.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
    Utc.from_utc_datetime(&d)
}
