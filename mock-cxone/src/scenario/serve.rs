//! `mock-cxone serve --scenario F`: the seed and clock a scenario asks for, and loading it once
//! the listeners are up — before `/_mock/health` answers 200, and only into an untouched data dir.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::apply::{load, untouched, ApplyError, LOADED_KEY};
use super::parse::Scenario;
use super::summary::Summary;
use crate::app::App;
use crate::clock::ClockSpec;
use crate::store::StoreError;

/// The seed and clock of a `serve`: the scenario's `seed` wins over `--seed`; without `--clock`
/// the clock starts frozen at the scenario's `start` (real without one).
pub fn start_config(sc: Option<&Scenario>, seed: u64, clock: Option<ClockSpec>) -> (u64, ClockSpec) {
    let seed = sc.and_then(|s| s.seed).map_or(seed, |(s, _)| s);
    let clock = match (clock, sc.and_then(|s| s.start)) {
        (Some(c), _) => c,
        (None, Some(start)) => ClockSpec::Frozen(Some(start)),
        (None, None) => ClockSpec::Real,
    };
    (seed, clock)
}

/// What became of `--scenario`.
#[derive(Debug)]
pub enum AtStart {
    /// Loaded; what it created.
    Loaded(Box<Summary>),
    /// The data dir has state already and keeps it; `held` names the scenario loaded into it, if any.
    Kept {
        /// `scenario.name` of the last scenario loaded into this data dir.
        held: Option<String>,
    },
}

/// Why `--scenario` could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AtStartError {
    /// The scenario was refused (it has a position when it is the file's fault).
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking worker died.
    #[error("loading the scenario failed: {0}")]
    Worker(String),
}

/// Loads `sc` into a mock that just started, unless its data dir has state. `/_mock/health`
/// answers 503 meanwhile, so a client that waits for health sees the scenario in place.
pub async fn load_at_start(app: &Arc<App>, sc: Scenario) -> Result<AtStart, AtStartError> {
    app.s3_ready.store(false, Ordering::Release);
    let a = app.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<AtStart, AtStartError> {
        if !untouched(&a)? {
            return Ok(AtStart::Kept {
                held: a.store.meta_get(LOADED_KEY)?,
            });
        }
        Ok(AtStart::Loaded(Box::new(load(&a, &sc)?)))
    })
    .await
    .map_err(|e| AtStartError::Worker(e.to_string()))?;
    app.s3_ready.store(true, Ordering::Release);
    outcome
}
