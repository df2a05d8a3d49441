//! `maintenance_window` (F10): while the mock clock is inside a window, CXone's REST API answers
//! 503 with `Retry-After` (served by `api::maintenance`), and exports due inside it run when it
//! ends (`faults::timing::start_delay`). The S3 endpoint, `/_mock`, `/auth` and `/.well-known`
//! are never affected.
//!
//! - The window is `[from, until)` on the mock clock. Without `from` it is open from the start;
//!   without `until` it lasts until the rule is deleted (then `Retry-After` is
//!   `params.retry_after_seconds`, default [`OPEN_RETRY_SECONDS`]).
//! - Exports held by a window with `until` start at `until`. Those held by a window without one
//!   wait until a watcher (`Task::Fault` of the rule, every `Retry-After` seconds on instants
//!   aligned to that period, so one chain per rule however many jobs it holds) finds the rule
//!   deleted, then start at that check: the cost is one check per period, not one per job.
//! - `Retry-After`: `params.retry_after_seconds` when given, else the seconds left until `until`
//!   (rounded up, at least 1).
//! - Requests: a rule with `tenant_id` applies to requests whose bearer token belongs to that
//!   tenant (requests without a valid token pass through to their 401); one without applies to
//!   every request. A rule scoped to a `download_id`, `category` or `data_type` delays only those
//!   exports and never answers 503. `next_jobs` limits only how many exports it delays.
//! - `probability` is drawn once per tenant (the window exists for a tenant or not, for its
//!   requests and its exports alike).
//! - Ledger: one `fault` event per window and tenant (or per window for requests without a
//!   token), the first time it answers 503 — not one per request; and one per delayed export
//!   (`job_id`, `due_at`, `starts_at`).

use std::time::Duration as StdDuration;

use rusqlite::Connection;
use serde_json::{json, Value};

use super::params::Params;
use super::rules::{self, Rule};
use super::Target;
use crate::app::App;
use crate::download::jobs::{self, Job, PENDING};
use crate::engine::Task;
use crate::events::{self, NewEvent};
use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::{meta_get, meta_set, StoreResult};

/// `Retry-After` (and the retry interval of delayed exports) of a window without `until`.
pub const OPEN_RETRY_SECONDS: u64 = 300;

const KIND: &str = "maintenance_window";

/// Seconds a client should wait before retrying, as of `now`.
pub fn retry_after(rule: &Rule, now: Instant) -> u64 {
    if let Params::MaintenanceWindow {
        retry_after_seconds: Some(s),
    } = rule.params
    {
        return s.max(1);
    }
    match rule.until {
        Some(until) => {
            let left = (until - now).to_std().unwrap_or(StdDuration::ZERO);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            secs.max(1)
        }
        None => OPEN_RETRY_SECONDS,
    }
}

/// The window as shown in events.
pub fn window_json(rule: &Rule) -> Value {
    json!({"from": rule.from.map(rfc3339), "until": rule.until.map(rfc3339)})
}

/// Windows that make a request of `tenant_id` (from its bearer token, if any) answer 503 at
/// `now`, oldest first.
pub fn request_windows(c: &Connection, seed: u64, now: Instant, tenant_id: Option<&str>) -> StoreResult<Vec<Rule>> {
    Ok(rules::of_kind(c, KIND)?
        .into_iter()
        .filter(|r| {
            let s = &r.spec;
            s.download_id.is_none()
                && s.category.is_none()
                && s.data_type.is_none()
                && s.tenant_id.as_deref().is_none_or(|w| Some(w) == tenant_id)
                && r.covers(now)
                && matches!(r.params, Params::MaintenanceWindow { .. })
                && r.draw(seed, tenant_id.unwrap_or(""))
        })
        .collect())
}

/// Records the first 503 a window serves to a tenant (or to requests without a token).
pub fn record_request_firing(
    c: &Connection,
    now: Instant,
    rule: &Rule,
    tenant_id: Option<&str>,
    method: &str,
    path: &str,
) -> StoreResult<()> {
    let once = format!("maintenance_503.{}.{}", rule.id, tenant_id.unwrap_or("-"));
    if meta_get(c, &once)?.is_some() {
        return Ok(());
    }
    meta_set(c, &once, &rfc3339(now))?;
    let detail = json!({
        "effect": "service_unavailable",
        "window": window_json(rule),
        "retry_after_seconds": retry_after(rule, now),
        "first_request": {"method": method, "path": path},
    });
    match tenant_id {
        Some(tenant_id) => {
            let t = Target {
                tenant_id,
                download_id: None,
                category: None,
                data_type: None,
                start: now,
                end: now,
                subject: tenant_id,
            };
            super::record_firing(c, now, rule, &t, None, Vec::new(), detail, false)
        }
        None => {
            let mut detail = detail;
            detail["kind"] = json!(KIND);
            let ev = NewEvent {
                kind: "fault".into(),
                fault_id: Some(rule.id.clone()),
                detail,
                ..NewEvent::default()
            };
            events::record(c, now, &ev)?;
            rules::count_firing(c, &rule.id, false)
        }
    }
}

/// Windows that hold back `job`, due at `at`, oldest first (with their seeded draw and
/// `next_jobs`).
pub fn job_windows(c: &Connection, seed: u64, job: &Job, at: Instant) -> StoreResult<Vec<Rule>> {
    let t = Target {
        tenant_id: &job.tenant_id,
        download_id: Some(&job.download_id),
        category: Some(&job.category),
        data_type: None,
        start: at,
        end: at,
        subject: &job.tenant_id,
    };
    Ok(super::matching(c, seed, KIND, &t)?
        .into_iter()
        .filter(|r| matches!(r.params, Params::MaintenanceWindow { .. }))
        .collect())
}

/// When a job held back at `at` by `windows` tries again: the latest window end, or `None` when
/// a window without `until` holds it (it waits for [`watch`] to release it).
pub fn job_resumes_at(windows: &[Rule], at: Instant) -> Option<Option<Instant>> {
    if windows.is_empty() {
        return None;
    }
    if windows.iter().any(|r| r.until.is_none()) {
        return Some(None);
    }
    Some(windows.iter().filter_map(|r| r.until).max().filter(|later| *later > at))
}

/// Where a job held by a window without `until` is parked on the engine: far beyond any
/// advance; [`watch`] schedules it again when the window goes.
pub fn parked(at: Instant) -> Instant {
    at + chrono::Duration::days(365 * 100)
}

/// The watcher's next instant after `at`: the next multiple of the rule's `Retry-After` since
/// the epoch, so every job the rule holds shares one chain of checks.
pub fn next_check(rule: &Rule, at: Instant) -> Instant {
    let period = i64::try_from(retry_after(rule, at))
        .unwrap_or(i64::MAX / 2_000_000)
        .max(1)
        * 1_000_000;
    let us = to_us(at);
    from_us((us.div_euclid(period) + 1) * period)
}

/// `Task::Fault` of a `maintenance_window` rule without `until` (see the module docs): while it
/// stays, check again later; once it is deleted (or over), start every due PENDING job now —
/// a job another window still holds is held again by its `JobStart`.
pub fn watch(app: &App, at: Instant, fault_id: &str) -> StoreResult<()> {
    let rule = app.store.with(|c| rules::get(c, fault_id))?;
    match rule {
        Some(r) if r.spec.kind != KIND || r.until.is_some() => Ok(()),
        Some(r) if r.covers(at) => {
            app.engine.schedule(next_check(&r, at), Task::Fault { fault_id: r.id });
            Ok(())
        }
        // Deleted (or over): release what it held. A task of a deleted rule of another kind
        // lands here too; starting due jobs is then what would happen anyway.
        _ => {
            let due: Vec<String> = app
                .store
                .with(jobs::unfinished)?
                .into_iter()
                .filter(|j| j.status == PENDING && j.start_time <= at)
                .map(|j| j.id)
                .collect();
            for job_id in due {
                app.engine.schedule(at, Task::JobStart { job_id });
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    fn t(s: &str) -> Instant {
        parse_rfc3339(s).unwrap_or_default()
    }

    fn window(until: Option<&str>, retry: Option<u64>) -> Rule {
        Rule {
            id: "fault-w".into(),
            spec: rules::RuleSpec {
                kind: KIND.into(),
                ..Default::default()
            },
            from: Some(t("2026-01-01T01:00:00Z")),
            until: until.map(t),
            params: Params::MaintenanceWindow {
                retry_after_seconds: retry,
            },
            remaining: None,
            fired: 0,
            created_at: Instant::default(),
        }
    }

    #[test]
    fn f10_retry_after_counts_to_the_window_end() {
        let w = window(Some("2026-01-01T02:00:00Z"), None);
        assert_eq!(retry_after(&w, t("2026-01-01T01:30:00Z")), 1800);
        assert_eq!(retry_after(&w, t("2026-01-01T01:59:59.500Z")), 1);
        assert_eq!(
            retry_after(
                &window(Some("2026-01-01T02:00:00Z"), Some(42)),
                t("2026-01-01T01:30:00Z")
            ),
            42
        );
        assert_eq!(
            retry_after(&window(None, None), t("2026-01-01T01:30:00Z")),
            OPEN_RETRY_SECONDS
        );
        assert_eq!(
            job_resumes_at(std::slice::from_ref(&w), t("2026-01-01T01:30:00Z")),
            Some(Some(t("2026-01-01T02:00:00Z")))
        );
        assert_eq!(
            job_resumes_at(&[w, window(None, None)], t("2026-01-01T01:30:00Z")),
            Some(None)
        );
        assert_eq!(job_resumes_at(&[], t("2026-01-01T01:30:00Z")), None);
        let open = window(None, None);
        assert_eq!(next_check(&open, t("2026-01-01T01:31:10Z")), t("2026-01-01T01:35:00Z"));
        assert_eq!(next_check(&open, t("2026-01-01T01:35:00Z")), t("2026-01-01T01:40:00Z"));
    }
}
