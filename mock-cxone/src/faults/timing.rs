//! Faults that move when jobs run: `category_lag` (a category's jobs start later, F7) and
//! `maintenance_window` (exports due inside a window run when it ends, F10).
//!
//! - `category_lag`: each matching rule adds a lag drawn from `[min_minutes, max_minutes]`
//!   (whole seconds, seeded per rule, download and interval) to the start of the scheduled job of
//!   every interval overlapping its window; several matching rules add up. Manual exports are not
//!   lagged. The documented speech lag (F7, `download::schedule`) is separate and always on; the
//!   ground truth knows only the documented schedule.
//! - `maintenance_window`: see [`super::maintenance`]; a job due inside a window starts when it
//!   ends (a window without `until`: when the rule is deleted).
//!
//! Both seams are called by the scheduler inside its own store transaction, with the store's
//! (non-reentrant) lock held, so they must not use `app.store`. They read the rules through a
//! read-only connection of their own (WAL: it sees the last committed state, and rules are
//! committed before the engine runs), and the firings they decide are kept in memory and
//! recorded right after by a `Task::Fault` at the same instant (that variant sorts first, so it
//! runs before anything else due then, and `next_jobs` counts stay exact).

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::Duration;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::{json, Value};

use super::params::Params;
use super::{maintenance, rules, Target};
use crate::app::App;
use crate::download::config::Download;
use crate::download::jobs::Job;
use crate::engine::Task;
use crate::store::time::{rfc3339, to_us, Instant};
use crate::store::{meta_get, meta_set, StoreResult};

/// The start of a scheduled job whose documented start is `start` (after `category_lag`).
pub fn scheduled_start(app: &App, d: &Download, interval_start: Instant, start: Instant) -> Instant {
    let Ok(cfg) = d.valid() else { return start };
    let interval_end = interval_start + Duration::hours(cfg.frequency.hours());
    let subject = format!("{}/{}", d.id, rfc3339(interval_start));
    let t = Target {
        tenant_id: &d.tenant_id,
        download_id: Some(&d.id),
        category: Some(cfg.category.as_str()),
        data_type: None,
        start: interval_start,
        end: interval_end,
        subject: &subject,
    };
    let rules = match read_only(app, |c| super::matching(c, app.seed, "category_lag", &t)) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("category_lag rules: {e}");
            return start;
        }
    };
    let mut lagged = start;
    let mut fired = Vec::new();
    for rule in rules {
        let Params::CategoryLag {
            min_minutes,
            max_minutes,
        } = rule.params
        else {
            continue;
        };
        let (lo, hi) = (min_minutes * 60, max_minutes * 60);
        let span = (hi - lo + 1).max(1) as u64;
        let secs = lo + (rule.seed_for(app.seed, &subject) % span) as i64;
        lagged += Duration::seconds(secs);
        let detail = json!({
            "effect": "job_start_lagged",
            "category": cfg.category.as_str(),
            "interval_start": rfc3339(interval_start),
            "interval_end": rfc3339(interval_end),
            "documented_start": rfc3339(start),
            "lag_seconds": secs,
            "lag_minutes": secs as f64 / 60.0,
            "start_time": rfc3339(lagged),
        });
        fired.push(Pending {
            app: app_key(app),
            at: interval_end,
            fault_id: rule.id.clone(),
            tenant_id: d.tenant_id.clone(),
            download_id: Some(d.id.clone()),
            category: Some(cfg.category.as_str().to_string()),
            job: JobRef::Scheduled { interval_start },
            once: None,
            detail,
            uses_a_job: true,
        });
    }
    // The event's `start_time` is the job's final start (after every matching rule).
    for p in &mut fired {
        p.detail["start_time"] = json!(rfc3339(lagged));
    }
    defer(app, interval_end, fired);
    lagged
}

/// When a job due at `at` may really start: `None` to start now, `Some(later)` to wait.
pub fn start_delay(app: &App, job: &Job, at: Instant) -> Option<Instant> {
    let windows = match read_only(app, |c| maintenance::job_windows(c, app.seed, job, at)) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!("maintenance_window rules: {e}");
            return None;
        }
    };
    let resumes = maintenance::job_resumes_at(&windows, at)?;
    let later = match resumes {
        Some(until) => until,
        None => {
            // Held until the rule goes: parked, and one watcher chain per open rule.
            for rule in windows.iter().filter(|r| r.until.is_none()) {
                let check = maintenance::next_check(rule, at);
                app.engine.schedule(
                    check,
                    Task::Fault {
                        fault_id: rule.id.clone(),
                    },
                );
            }
            maintenance::parked(at)
        }
    };
    let fired = windows
        .iter()
        .map(|rule| Pending {
            app: app_key(app),
            at,
            fault_id: rule.id.clone(),
            tenant_id: job.tenant_id.clone(),
            download_id: Some(job.download_id.clone()),
            category: Some(job.category.clone()),
            job: JobRef::Id(job.id.clone()),
            once: Some(format!("maintenance_job.{}.{}", rule.id, job.id)),
            detail: json!({
                "effect": "job_start_delayed",
                "window": maintenance::window_json(rule),
                "interval_start": rfc3339(job.interval_start),
                "due_at": rfc3339(at),
                "starts_at": resumes.map(rfc3339),
            }),
            uses_a_job: true,
        })
        .collect();
    defer(app, at, fired);
    Some(later)
}

/// `Task::Fault`: records the firings decided since the last one, then lets the rule act at
/// its own instant (a key rotation).
pub fn on_fault_task(app: &App, at: Instant, fault_id: &str) -> StoreResult<()> {
    flush(app)?;
    super::kms::run_due(app, at, fault_id)?;
    maintenance::watch(app, at, fault_id)
}

// ---------------------------------------------------------------------------------------------
// Firings decided inside the scheduler's transaction, recorded just after.

/// The job a firing concerns.
#[derive(Debug, Clone)]
enum JobRef {
    /// A known job.
    Id(String),
    /// The scheduled job of the download's interval starting here (not yet created when the
    /// firing is decided).
    Scheduled { interval_start: Instant },
}

#[derive(Debug, Clone)]
struct Pending {
    /// Which `App` (several may run in one process).
    app: usize,
    at: Instant,
    fault_id: String,
    tenant_id: String,
    download_id: Option<String>,
    category: Option<String>,
    job: JobRef,
    /// `meta` key that makes the firing happen once.
    once: Option<String>,
    detail: Value,
    uses_a_job: bool,
}

static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());

fn app_key(app: &App) -> usize {
    std::ptr::from_ref(app) as usize
}

fn pending() -> std::sync::MutexGuard<'static, Vec<Pending>> {
    PENDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn defer(app: &App, at: Instant, fired: Vec<Pending>) {
    let Some(first) = fired.first() else { return };
    let fault_id = first.fault_id.clone();
    pending().extend(fired);
    app.engine.schedule(at, Task::Fault { fault_id });
}

/// Records this app's pending firings, in the order they were decided.
fn flush(app: &App) -> StoreResult<()> {
    let me = app_key(app);
    let mine: Vec<Pending> = {
        let mut all = pending();
        let (mine, rest) = all.drain(..).partition(|p| p.app == me);
        *all = rest;
        mine
    };
    if mine.is_empty() {
        return Ok(());
    }
    app.store.tx(|c| {
        for p in &mine {
            record(c, p)?;
        }
        Ok(())
    })
}

fn record(c: &Connection, p: &Pending) -> StoreResult<()> {
    if let Some(once) = &p.once {
        if meta_get(c, once)?.is_some() {
            return Ok(());
        }
        meta_set(c, once, &rfc3339(p.at))?;
    }
    let Some(rule) = rules::get(c, &p.fault_id)? else {
        return Ok(()); // deleted meanwhile
    };
    let job_id = match &p.job {
        JobRef::Id(id) => Some(id.clone()),
        JobRef::Scheduled { interval_start } => match &p.download_id {
            Some(d) => c
                .query_row(
                    "SELECT job_id FROM jobs WHERE download_id=?1 AND interval_start=?2 AND kind='scheduled' \
                     ORDER BY rowid DESC LIMIT 1",
                    rusqlite::params![d, to_us(*interval_start)],
                    |r| r.get::<_, String>(0),
                )
                .optional()?,
            None => None,
        },
    };
    let t = Target {
        tenant_id: &p.tenant_id,
        download_id: p.download_id.as_deref(),
        category: p.category.as_deref(),
        data_type: None,
        start: p.at,
        end: p.at,
        subject: &p.fault_id,
    };
    super::record_firing(
        c,
        p.at,
        &rule,
        &t,
        job_id.as_deref(),
        Vec::new(),
        p.detail.clone(),
        p.uses_a_job,
    )
}

// ---------------------------------------------------------------------------------------------
// A read-only connection of our own (see the module docs).

thread_local! {
    static READ_ONLY: RefCell<Option<(PathBuf, Connection)>> = const { RefCell::new(None) };
}

/// Runs `f` on a read-only connection to the app's database (one cached per thread).
fn read_only<T>(app: &App, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
    // The file name `Store::open` uses.
    let path = app.store.data_dir().join("mock-cxone.sqlite3");
    READ_ONLY.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(p, _)| *p != path) {
            let c = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )?;
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            *slot = Some((path.clone(), c));
        }
        match slot.as_ref() {
            Some((_, c)) => f(c),
            None => Err(crate::store::StoreError::Missing("read-only connection".into())),
        }
    })
}
