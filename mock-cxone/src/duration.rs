//! Durations in the API: one or more `<n><unit>` groups, unit `s`, `m`, `h`, `d` (`90m`, `1d12h`).

/// Why a duration string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DurationError {
    /// Empty string.
    #[error("duration is empty (expected e.g. \"90m\" or \"1d12h\")")]
    Empty,
    /// Not `<n><unit>` groups.
    #[error("duration {0:?} is not one or more <n><unit> groups with unit s, m, h or d")]
    Malformed(String),
    /// Too large to represent.
    #[error("duration {0:?} is too large")]
    TooLarge(String),
}

/// Parses a duration into whole seconds.
pub fn parse_seconds(s: &str) -> Result<i64, DurationError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let malformed = || DurationError::Malformed(s.to_string());
    let mut total: i64 = 0;
    let mut digits = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit: i64 = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(malformed()),
        };
        let n: i64 = digits.parse().map_err(|_| malformed())?;
        digits.clear();
        let add = n
            .checked_mul(unit)
            .ok_or_else(|| DurationError::TooLarge(s.to_string()))?;
        total = total
            .checked_add(add)
            .ok_or_else(|| DurationError::TooLarge(s.to_string()))?;
    }
    if !digits.is_empty() {
        return Err(malformed());
    }
    // Ten thousand years is far beyond anything a test needs and keeps chrono in range.
    if total > 10_000 * 365 * 86_400 {
        return Err(DurationError::TooLarge(s.to_string()));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups() {
        assert_eq!(parse_seconds("90m"), Ok(5400));
        assert_eq!(parse_seconds("1d12h"), Ok(129_600));
        assert_eq!(parse_seconds("30d"), Ok(2_592_000));
        assert_eq!(parse_seconds("1s"), Ok(1));
    }

    #[test]
    fn refuses_bad_input() {
        assert!(parse_seconds("").is_err());
        assert!(parse_seconds("10").is_err());
        assert!(parse_seconds("-1d").is_err());
        assert!(parse_seconds("1w").is_err());
        assert!(parse_seconds("d").is_err());
        assert!(parse_seconds("99999999999999999999d").is_err());
    }
}
