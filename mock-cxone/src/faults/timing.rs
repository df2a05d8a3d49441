//! Faults that move when jobs run: `category_lag` (a category's jobs start later) and
//! `maintenance_window` (exports due inside a window run when it ends, F10).

use crate::app::App;
use crate::download::config::Download;
use crate::download::jobs::Job;
use crate::store::time::Instant;

/// The start of a scheduled job whose documented start is `start` (after `category_lag`).
pub fn scheduled_start(app: &App, d: &Download, interval_start: Instant, start: Instant) -> Instant {
    let _ = (app, d, interval_start);
    start
}

/// When a job due at `at` may really start: `None` to start now, `Some(later)` to wait.
pub fn start_delay(app: &App, job: &Job, at: Instant) -> Option<Instant> {
    let _ = (app, job, at);
    None
}
