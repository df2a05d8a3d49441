//! Instants in a scenario: absolute (`"2026-01-05T12:00:00Z"`, or a TOML datetime written
//! without quotes, `2026-01-05T12:00:00Z`) or an offset from the scenario's start (`"+12h"`,
//! `"-7d"`, `"+1d6h30m"`), so a scenario without `start` works on any clock.

use serde_json::Value;

use crate::duration::parse_seconds;
use crate::store::time::{parse_rfc3339, rfc3339, Instant};

/// How `toml` hands a TOML datetime to a generic value.
pub const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// An instant as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// An RFC3339 instant.
    At(Instant),
    /// Seconds after (or, negative, before) the scenario's start.
    Offset(i64),
}

impl When {
    /// The instant, with offsets counted from `start`.
    pub fn resolve(self, start: Instant) -> Instant {
        match self {
            When::At(t) => t,
            When::Offset(s) => start + chrono::Duration::seconds(s),
        }
    }
}

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            When::At(t) => f.write_str(&rfc3339(*t)),
            When::Offset(s) if *s < 0 => write!(f, "start - {}s", -s),
            When::Offset(s) => write!(f, "start + {s}s"),
        }
    }
}

/// The text of a TOML datetime or string value, if it is one.
pub fn text_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) if o.len() == 1 => o.get(TOML_DATETIME_KEY).and_then(Value::as_str),
        _ => None,
    }
}

/// Parses an instant: RFC3339 with `Z` (or an offset), or `+`/`-` and a duration.
pub fn parse(v: &Value) -> Result<When, String> {
    let Some(s) = text_of(v) else {
        return Err(format!(
            "expected an instant (\"2026-01-05T12:00:00Z\") or an offset from start (\"+12h\", \"-7d\"), got {v}"
        ));
    };
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('+') {
        return parse_seconds(rest)
            .map(When::Offset)
            .map_err(|e| format!("offset {s:?}: {e}"));
    }
    if let Some(rest) = s.strip_prefix('-') {
        return parse_seconds(rest)
            .map(|n| When::Offset(-n))
            .map_err(|e| format!("offset {s:?}: {e}"));
    }
    if s.chars().next().is_some_and(|c| c.is_ascii_digit()) && parse_seconds(s).is_ok() {
        return Err(format!(
            "{s:?} looks like a duration: write \"+{s}\" for start + {s} (or an RFC3339 instant)"
        ));
    }
    match parse_rfc3339(s) {
        Some(t) => Ok(When::At(t)),
        None if s.len() >= 19 && s.as_bytes().get(10).is_some_and(|b| *b == b'T' || *b == b' ') => Err(format!(
            "{s:?} has no time zone: write it in UTC with a trailing Z, e.g. \"{}Z\"",
            s.get(..19).unwrap_or(s)
        )),
        None => Err(format!(
            "{s:?} is not an RFC3339 instant (e.g. \"2026-01-05T12:00:00Z\") or an offset from start (\"+12h\")"
        )),
    }
}

/// A duration in the API's own notation, largest units first (`2d`, `1d12h`, `90m` → `1h30m`).
pub fn human_duration(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut left = seconds.abs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if seconds < 0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instants_and_offsets() {
        let t = parse_rfc3339("2026-01-05T12:00:00Z").unwrap_or_default();
        assert_eq!(parse(&json!("2026-01-05T12:00:00Z")), Ok(When::At(t)));
        assert_eq!(
            parse(&json!({TOML_DATETIME_KEY: "2026-01-05T12:00:00Z"})),
            Ok(When::At(t))
        );
        assert_eq!(parse(&json!("+1d12h")), Ok(When::Offset(129_600)));
        assert_eq!(parse(&json!("-7d")), Ok(When::Offset(-604_800)));
        assert!(parse(&json!("12h")).expect_err("refused").contains("\"+12h\""));
        assert!(parse(&json!("2026-01-05T12:00:00"))
            .expect_err("refused")
            .contains("no time zone"));
        assert!(parse(&json!("+12x")).is_err());
        assert!(parse(&json!(5)).is_err());
        assert_eq!(human_duration(129_600), "1d12h");
        assert_eq!(human_duration(5400), "1h30m");
        assert_eq!(
            When::Offset(3600).resolve(t),
            parse_rfc3339("2026-01-05T13:00:00Z").unwrap_or_default()
        );
    }
}
