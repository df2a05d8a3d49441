//! Cloud Storage: recordings in active / long-term / custom tiers, Life Cycle Management rules
//! that copy or move them into SEA, the daily cap with its backlog, expiry, and usage.
//!
//! Where to look:
//! - `recordings` — seeding recording files with CXone's names (S9) and deterministic MP4 bytes;
//! - `rules` — the lifecycle rules themselves (CRUD, validation, match predicates);
//! - `lifecycle` — the daily run and Faster SEA: which rule claims a file, refusals (S3, S4, S10);
//! - `daily_cap` — at most 100,000 files per tenant per day enter SEA, the rest wait (S7);
//! - `expiry` — the 30-day expiry of SEA objects (S5);
//! - `files` — the files listing API; `usage` — what a tenant is charged for (S11).

pub mod daily_cap;
pub mod expiry;
pub mod files;
pub mod lifecycle;
pub mod mp4;
pub mod recordings;
pub mod rules;
pub mod usage;

use crate::app::App;
use crate::engine::Task;
use crate::store::time::{day_start, from_us};
use crate::store::StoreResult;

/// The three recording media of CXone Recording (S9).
pub const MEDIA_TYPES: [&str; 3] = ["VOICE", "SCREEN", "STATEMENT"];

/// Tiers a recording can be created in. `sea` (moved into SEA) and `deleted` are reached only
/// through lifecycle actions.
pub const CREATABLE_TIERS: [&str; 3] = ["active", "long_term", "custom"];

/// Re-creates the storage tasks a restart (or reset) lost: the next daily run, pending expiry
/// sweeps, and Faster SEA passes for tenants with waiting work.
pub fn schedule_from_state(app: &App) -> StoreResult<()> {
    let last_run = app.store.meta_get(lifecycle::LAST_RUN_KEY)?;
    let next_run = match last_run.and_then(|s| s.parse::<i64>().ok()) {
        Some(us) => from_us(us) + chrono::Duration::days(1),
        None => day_start(app.now()) + chrono::Duration::days(1),
    };
    app.engine.schedule(next_run, Task::LifecycleRun);
    for at in app.store.with(expiry::pending_instants)? {
        app.engine.schedule(at, Task::SeaSweep);
    }
    Ok(())
}
