//! Retention of exported files (D9: "90 days in raw storage, with lifecycle policies
//! transitioning to cold storage after 30 days"), as an S3 lifecycle configuration on the
//! destination bucket behaves: once a day at 00:00 UTC, objects older than `cold_after_days`
//! report StorageClass `GLACIER_IR` and objects older than `days` are deleted. Like AWS, an
//! object becomes eligible at the first midnight after its age passes the threshold.
//!
//! Only the mock's own S3 endpoint is managed; an external destination's own lifecycle rules
//! apply there. What a job wrote is known from the job, so nothing is listed or scanned.

use chrono::Duration;
use serde_json::json;

use super::config;
use super::destination::Destination;
use super::jobs::{self, Job};
use super::scheduler::destination;
use crate::app::App;
use crate::engine::Task;
use crate::events::NewEvent;
use crate::store::time::{day_start, Instant};
use crate::store::StoreResult;

/// The storage class of cold objects.
pub const COLD_CLASS: &str = "GLACIER_IR";

/// Schedules the next daily run after `now`.
pub fn schedule_next(app: &App, now: Instant) {
    app.engine
        .schedule(day_start(now) + Duration::days(1), Task::RetentionRun);
}

/// The daily run at `at` (00:00 UTC).
pub fn run(app: &App, at: Instant) -> StoreResult<()> {
    for d in app.store.with(config::all)? {
        let (Some(r), Ok(cfg)) = (d.spec.retention, d.valid()) else {
            continue;
        };
        let dest = destination(&d.tenant_id, &cfg);
        if !matches!(dest, Destination::Platform { .. }) {
            continue;
        }
        if let Some(days) = r.days {
            let old = app
                .store
                .with(|c| jobs::ended_before(c, &d.id, at - Duration::days(days), &["hot", "cold"]))?;
            for job in old {
                apply(app, at, &dest, &job, "deleted")?;
            }
        }
        if let Some(days) = r.cold_after_days {
            let old = app
                .store
                .with(|c| jobs::ended_before(c, &d.id, at - Duration::days(days), &["hot"]))?;
            for job in old {
                apply(app, at, &dest, &job, "cold")?;
            }
        }
    }
    schedule_next(app, at);
    Ok(())
}

fn key_of<'a>(dest: &Destination, uri: &'a str) -> Option<&'a str> {
    let Destination::Platform { bucket, .. } = dest else {
        return None;
    };
    uri.strip_prefix("s3://")?
        .strip_prefix(bucket.as_str())?
        .strip_prefix('/')
}

fn apply(app: &App, at: Instant, dest: &Destination, job: &Job, state: &str) -> StoreResult<()> {
    let uris: Vec<String> = job.output_files.iter().chain(job.manifests.iter()).cloned().collect();
    for uri in &uris {
        let Some(key) = key_of(dest, uri) else { continue };
        let done = if state == "deleted" {
            dest.delete(app, key)
        } else {
            dest.set_storage_class(app, key, COLD_CLASS)
        };
        if let Err(e) = done {
            // A customer may have deleted or replaced the object: retention goes on with the rest.
            tracing::debug!(uri, "retention skipped an object: {e}");
        }
    }
    app.store.tx(|c| {
        jobs::set_retention(c, &job.id, state)?;
        let ev = NewEvent {
            kind: format!("retention.{}", if state == "deleted" { "deleted" } else { "cold" }),
            tenant_id: Some(job.tenant_id.clone()),
            download_id: Some(job.download_id.clone()),
            job_id: Some(job.id.clone()),
            objects: Some(uris.clone()),
            detail: json!({"storage_class": (state == "cold").then_some(COLD_CLASS)}),
            ..NewEvent::default()
        };
        crate::events::record(c, at, &ev)
    })
}
