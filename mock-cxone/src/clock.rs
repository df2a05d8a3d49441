//! The mock clock: `real` (wall clock plus an offset), `frozen` (moves only when told) or
//! `offset` (starts at a given instant, then ticks with the wall).
//!
//! Everything the CXone documents describe runs on this clock. The only code that reads the
//! wall clock is here (and SigV4, which clients sign with the wall clock).

use std::sync::Mutex;

use chrono::Utc;

use crate::store::time::{parse_rfc3339, rfc3339, Instant};

/// How the clock moves by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Wall clock plus an offset (zero until advanced).
    Real,
    /// Never moves by itself.
    Frozen,
    /// Started at a chosen instant, ticks with the wall clock.
    Offset,
}

impl ClockMode {
    /// Name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockMode::Real => "real",
            ClockMode::Frozen => "frozen",
            ClockMode::Offset => "offset",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "real" => Some(Self::Real),
            "frozen" => Some(Self::Frozen),
            "offset" => Some(Self::Offset),
            _ => None,
        }
    }
}

/// `--clock` as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockSpec {
    /// `real`
    Real,
    /// `frozen` (at the wall clock's now) or `frozen:T`
    Frozen(Option<Instant>),
    /// `offset:T`
    Offset(Instant),
}

impl std::str::FromStr for ClockSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad_time = |t: &str| format!("clock instant {t:?} is not RFC3339 (e.g. 2026-01-01T00:00:00Z)");
        match s.split_once(':') {
            None if s == "real" => Ok(Self::Real),
            None if s == "frozen" => Ok(Self::Frozen(None)),
            Some(("frozen", t)) => parse_rfc3339(t)
                .map(|t| Self::Frozen(Some(t)))
                .ok_or_else(|| bad_time(t)),
            Some(("offset", t)) => parse_rfc3339(t).map(Self::Offset).ok_or_else(|| bad_time(t)),
            _ => Err(format!(
                "clock {s:?} is not real, frozen, frozen:RFC3339 or offset:RFC3339"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    mode: ClockMode,
    /// Frozen: the instant. Real/offset: mock minus wall, in microseconds.
    value_us: i64,
}

/// The mock clock. Cheap to read from any thread.
#[derive(Debug)]
pub struct Clock {
    state: Mutex<State>,
}

fn wall_us() -> i64 {
    Utc::now().timestamp_micros()
}

impl Clock {
    /// A clock as `--clock` asks for it.
    pub fn from_spec(spec: &ClockSpec) -> Self {
        let state = match spec {
            ClockSpec::Real => State {
                mode: ClockMode::Real,
                value_us: 0,
            },
            ClockSpec::Frozen(t) => State {
                mode: ClockMode::Frozen,
                value_us: t.map_or_else(wall_us, |t| t.timestamp_micros()),
            },
            ClockSpec::Offset(t) => State {
                mode: ClockMode::Offset,
                value_us: t.timestamp_micros() - wall_us(),
            },
        };
        Self {
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Current mock instant.
    pub fn now(&self) -> Instant {
        let s = *self.lock();
        let us = match s.mode {
            ClockMode::Frozen => s.value_us,
            ClockMode::Real | ClockMode::Offset => wall_us() + s.value_us,
        };
        crate::store::time::from_us(us)
    }

    /// Current mode.
    pub fn mode(&self) -> ClockMode {
        self.lock().mode
    }

    /// Moves the clock to `t` (never backwards; callers check).
    pub fn set(&self, t: Instant) {
        let mut s = self.lock();
        s.value_us = match s.mode {
            ClockMode::Frozen => t.timestamp_micros(),
            ClockMode::Real | ClockMode::Offset => t.timestamp_micros() - wall_us(),
        };
    }

    /// Back to the state `spec` describes (reset).
    pub fn reset(&self, spec: &ClockSpec) {
        let fresh = Clock::from_spec(spec);
        let state = *fresh.lock();
        *self.lock() = state;
    }

    /// What is persisted so a restart resumes where the clock stopped.
    pub fn persisted(&self) -> String {
        let s = *self.lock();
        // Real/offset persist the mock instant, not the offset: "resumes where it stopped".
        let now = self.now();
        format!("{}|{}", s.mode.as_str(), rfc3339(now))
    }

    /// Restores a clock from `persisted()`; it resumes at the stored instant.
    pub fn restore(text: &str) -> Option<Self> {
        let (mode, at) = text.split_once('|')?;
        let mode = ClockMode::parse(mode)?;
        let at = parse_rfc3339(at)?;
        let clock = Self {
            state: Mutex::new(State { mode, value_us: 0 }),
        };
        clock.set(at);
        Some(clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!("real".parse::<ClockSpec>(), Ok(ClockSpec::Real));
        assert_eq!("frozen".parse::<ClockSpec>(), Ok(ClockSpec::Frozen(None)));
        let t = parse_rfc3339("2026-01-01T00:00:00Z");
        assert_eq!(
            "frozen:2026-01-01T00:00:00Z".parse::<ClockSpec>(),
            Ok(ClockSpec::Frozen(t))
        );
        assert!("offset:yesterday".parse::<ClockSpec>().is_err());
        assert!("sideways".parse::<ClockSpec>().is_err());
    }

    #[test]
    fn frozen_moves_only_when_set() {
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap_or_default();
        let c = Clock::from_spec(&ClockSpec::Frozen(Some(t)));
        assert_eq!(c.now(), t);
        let later = t + chrono::Duration::days(30);
        c.set(later);
        assert_eq!(c.now(), later);
        let back = Clock::restore(&c.persisted()).map(|c| c.now());
        assert_eq!(back, Some(later));
    }
}
