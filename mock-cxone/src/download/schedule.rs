//! When an interval's job runs (D5, F7): an interval is finalised 15-25 minutes after it ends
//! (drawn per tenant, category and interval), its job starts at
//! `interval_end + max(offset_minutes, finalisation)` (+ the speech category's 45-90 minute lag)
//! and completes a few mock minutes later. Pure functions of the seed, so the ground truth can
//! recompute every scheduled export time without looking at what happened.

use chrono::{Duration, DurationRound};

use super::catalog::{Category, Frequency};
use crate::ids;
use crate::store::time::{to_us, Instant};

/// Finalisation delay bounds in minutes (D5: "15 to 25 minutes after the hour mark").
pub const FINALISATION_MINUTES: (i64, i64) = (15, 25);
/// Speech analytics lag in minutes (F7: documented, on by default).
pub const SPEECH_LAG_MINUTES: (i64, i64) = (45, 90);
/// How long a job runs, in seconds.
pub const JOB_SECONDS: (i64, i64) = (60, 300);

/// The interval of `frequency` containing `at`: `[start, end)`, aligned to UTC midnight.
pub fn interval_of(frequency: Frequency, at: Instant) -> (Instant, Instant) {
    let len = Duration::hours(frequency.hours());
    let start = at.duration_trunc(len).unwrap_or(at);
    (start, start + len)
}

/// The first interval starting at or after `at`.
pub fn first_interval_from(frequency: Frequency, at: Instant) -> Instant {
    let (start, end) = interval_of(frequency, at);
    if start == at {
        start
    } else {
        end
    }
}

/// A value in `[lo, hi]` drawn from the seed and `parts`.
fn draw(seed: u64, parts: &[&[u8]], (lo, hi): (i64, i64)) -> i64 {
    let span = (hi - lo + 1) as u64;
    lo + (ids::derive_u64(seed, parts) % span) as i64
}

/// Seconds after `interval_end` until the interval is final (D5), per tenant/category/interval.
pub fn finalisation(seed: u64, tenant_id: &str, category: Category, interval_end: Instant) -> Duration {
    let (lo, hi) = FINALISATION_MINUTES;
    let secs = draw(
        seed,
        &[
            b"finalise",
            tenant_id.as_bytes(),
            category.as_str().as_bytes(),
            &to_us(interval_end).to_le_bytes(),
        ],
        (lo * 60, hi * 60),
    );
    Duration::seconds(secs)
}

/// The speech lag of an interval (F7); zero for other categories.
pub fn category_lag(seed: u64, tenant_id: &str, category: Category, interval_end: Instant) -> Duration {
    if category != Category::Speech {
        return Duration::zero();
    }
    let (lo, hi) = SPEECH_LAG_MINUTES;
    let secs = draw(
        seed,
        &[b"speech-lag", tenant_id.as_bytes(), &to_us(interval_end).to_le_bytes()],
        (lo * 60, hi * 60),
    );
    Duration::seconds(secs)
}

/// When the scheduled job of an interval starts (CONTRACT §4): also the scheduled export time
/// of every record version it carries (the ground truth's `as_of`).
pub fn job_start(
    seed: u64,
    tenant_id: &str,
    category: Category,
    interval_end: Instant,
    offset_minutes: i64,
) -> Instant {
    let wait = Duration::minutes(offset_minutes).max(finalisation(seed, tenant_id, category, interval_end));
    interval_end + wait + category_lag(seed, tenant_id, category, interval_end)
}

/// How long the job with this id runs.
pub fn job_duration(seed: u64, job_id: &str) -> Duration {
    Duration::seconds(draw(seed, &[b"job-duration", job_id.as_bytes()], JOB_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    fn t(s: &str) -> Instant {
        parse_rfc3339(s).unwrap_or_default()
    }

    #[test]
    fn d5_intervals_align_to_utc_midnight() {
        let at = t("2026-01-05T13:40:00Z");
        assert_eq!(
            interval_of(Frequency::Hourly, at),
            (t("2026-01-05T13:00:00Z"), t("2026-01-05T14:00:00Z"))
        );
        assert_eq!(interval_of(Frequency::SixHourly, at).0, t("2026-01-05T12:00:00Z"));
        assert_eq!(interval_of(Frequency::Daily, at).0, t("2026-01-05T00:00:00Z"));
        assert_eq!(
            first_interval_from(Frequency::Hourly, t("2026-01-05T13:00:00Z")),
            t("2026-01-05T13:00:00Z")
        );
        assert_eq!(first_interval_from(Frequency::Hourly, at), t("2026-01-05T14:00:00Z"));
    }

    #[test]
    fn d5_job_starts_after_finalisation_and_offset_f7_speech_lags() {
        for h in 0..200 {
            let end = t("2026-01-05T00:00:00Z") + Duration::hours(h);
            let tel = job_start(7, "t-a", Category::Telephony, end, 0) - end;
            assert!(tel >= Duration::minutes(15) && tel <= Duration::minutes(25), "{tel}");
            let off = job_start(7, "t-a", Category::Telephony, end, 59) - end;
            assert_eq!(off, Duration::minutes(59));
            let sp = job_start(7, "t-a", Category::Speech, end, 20) - end;
            assert!(
                sp >= Duration::minutes(20 + 45) && sp <= Duration::minutes(25 + 90),
                "{sp}"
            );
        }
    }
}
