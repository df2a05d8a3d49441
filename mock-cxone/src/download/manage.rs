//! Creating, replacing and deleting downloads (the write side of `/api/v2/data-downloads`).
//! A new download exports every interval starting at or after its creation; a PUT resumes a
//! paused one (D8) from the first interval starting at or after the PUT.

use serde_json::json;

use super::config::{self, Download, Invalid, Spec, ACTIVE};
use super::schedule::first_interval_from;
use super::scheduler::plan_next;
use crate::app::App;
use crate::events::NewEvent;
use crate::ids;
use crate::store::{next_counter, StoreError};

/// Why a write is refused.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// Bad body (400).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// No such download for this tenant (404).
    #[error("no download {0:?}")]
    NotFound(String),
    /// Store failure (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn event(kind: &str, d: &Download) -> NewEvent {
    NewEvent {
        kind: kind.into(),
        tenant_id: Some(d.tenant_id.clone()),
        download_id: Some(d.id.clone()),
        detail: json!({"category": d.spec.category, "status": d.status}),
        ..NewEvent::default()
    }
}

/// `POST /api/v2/data-downloads`.
pub fn create(app: &App, tenant_id: &str, spec: Spec) -> Result<Download, ManageError> {
    let valid = spec.validate()?;
    let now = app.now();
    let seed = app.seed;
    let d = app.store.tx(|c| {
        let n = next_counter(c, "download")?;
        let d = Download {
            id: format!("dl-{}", ids::uuid(seed, "download", n)),
            tenant_id: tenant_id.to_string(),
            spec: valid.spec.clone(),
            status: ACTIVE.into(),
            status_reason: None,
            created_at: now,
            updated_at: now,
            next_interval: first_interval_from(valid.frequency, now),
        };
        config::insert(c, &d)?;
        crate::events::record(c, now, &event("download.created", &d))?;
        Ok(d)
    })?;
    plan_next(app, &d);
    Ok(d)
}

/// `PUT /api/v2/data-downloads/{id}`: replaces the configuration and makes it active again.
/// The category cannot change (its jobs and files would mix two categories).
pub fn replace(app: &App, tenant_id: &str, id: &str, spec: Spec) -> Result<Download, ManageError> {
    let valid = spec.validate()?;
    let now = app.now();
    let d = app.store.tx(|c| {
        let Some(mut d) = config::get(c, tenant_id, id)? else {
            return Ok(None);
        };
        if d.spec.category != valid.spec.category {
            return Ok(Some(Err(Invalid(format!(
                "category cannot change from {:?} to {:?}; create a new download instead",
                d.spec.category, valid.spec.category
            )))));
        }
        let old = d.valid().ok();
        let resumed = d.status != ACTIVE;
        let frequency_changed = old.as_ref().is_none_or(|o| o.frequency != valid.frequency);
        d.spec = valid.spec.clone();
        d.status = ACTIVE.into();
        d.status_reason = None;
        d.updated_at = now;
        if resumed || frequency_changed {
            // Intervals skipped while paused are the user's to backfill (D7, D8).
            d.next_interval = d.next_interval.max(first_interval_from(valid.frequency, now));
            if frequency_changed {
                d.next_interval = first_interval_from(valid.frequency, d.next_interval);
            }
        }
        config::update(c, &d)?;
        crate::events::record(c, now, &event("download.updated", &d))?;
        Ok(Some(Ok(d)))
    })?;
    let d = d.ok_or_else(|| ManageError::NotFound(id.into()))??;
    plan_next(app, &d);
    Ok(d)
}

/// `DELETE /api/v2/data-downloads/{id}`: the download and its jobs go; files stay.
pub fn remove(app: &App, tenant_id: &str, id: &str) -> Result<(), ManageError> {
    let now = app.now();
    let found = app.store.tx(|c| {
        let Some(d) = config::get(c, tenant_id, id)? else {
            return Ok(false);
        };
        config::delete(c, id)?;
        crate::events::record(c, now, &event("download.deleted", &d))?;
        Ok(true)
    })?;
    if found {
        Ok(())
    } else {
        Err(ManageError::NotFound(id.into()))
    }
}
