//! Manual export for backfill (D7): `POST /api/v2/data-downloads/{id}/manual-export` makes one
//! PENDING job per interval of the range, run one after another from the current mock instant.
//! With `overwrite:false` (the default) no existing object is ever replaced: new files take the
//! next free part numbers. `destination_prefix` replaces the download's prefix for these jobs.

use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::config::{self, Invalid};
use super::jobs::{self, Job};
use super::manage::ManageError;
use super::schedule::{interval_of, job_duration};
use super::scheduler::{new_job, new_job_id};
use crate::app::App;
use crate::engine::Task;
use crate::events::NewEvent;
use crate::store::time::{parse_rfc3339, rfc3339};

/// At most this many intervals per request (92 days of hours).
pub const MAX_INTERVALS: i64 = 92 * 24;

/// The request body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualSpec {
    /// Must be the download's category.
    pub category: String,
    /// Start of the range (RFC3339); rounded down to an interval start.
    pub start_time: String,
    /// End of the range (RFC3339, exclusive); rounded up to an interval end.
    pub end_time: String,
    /// Replace existing objects (part-00000) instead of taking the next free part number.
    #[serde(default)]
    pub overwrite: bool,
    /// Prefix for these jobs instead of the download's.
    #[serde(default)]
    pub destination_prefix: Option<String>,
}

fn bad<T>(msg: impl Into<String>) -> Result<T, ManageError> {
    Err(ManageError::Invalid(Invalid(msg.into())))
}

fn check_prefix(p: &str) -> Result<(), ManageError> {
    if !p.is_empty() && (!p.ends_with('/') || p.starts_with('/') || p.contains("//")) || p.len() > 512 {
        return bad(format!(
            "destination_prefix {p:?} must be empty or a folder path ending in '/', like \"exports/telephony/backfill/\""
        ));
    }
    if p.split('/').any(|s| s == "." || s == "..") {
        return bad("destination_prefix must not contain '.' or '..' segments");
    }
    Ok(())
}

/// Creates the jobs of a manual export.
pub fn create(app: &App, tenant_id: &str, download_id: &str, m: ManualSpec) -> Result<Vec<Job>, ManageError> {
    let now = app.now();
    let seed = app.seed;
    let Some(d) = app.store.with(|c| config::get(c, tenant_id, download_id))? else {
        return Err(ManageError::NotFound(download_id.into()));
    };
    let cfg = d.valid()?;
    if m.category != d.spec.category {
        return bad(format!(
            "category {:?} is not this download's category {:?}",
            m.category, d.spec.category
        ));
    }
    let (Some(start), Some(end)) = (parse_rfc3339(&m.start_time), parse_rfc3339(&m.end_time)) else {
        return bad("start_time and end_time must be RFC3339 instants, e.g. 2024-03-15T10:00:00Z");
    };
    if start >= end {
        return bad("start_time must be before end_time");
    }
    let first = interval_of(cfg.frequency, start).0;
    let last_end = {
        let (s, e) = interval_of(cfg.frequency, end);
        if s == end {
            s
        } else {
            e
        }
    };
    if last_end > now {
        return bad(format!(
            "the range reaches {}, after the current mock time {}: only ended intervals can be exported",
            rfc3339(last_end),
            rfc3339(now)
        ));
    }
    let step = Duration::hours(cfg.frequency.hours());
    let count = (last_end - first).num_hours() / cfg.frequency.hours();
    if count > MAX_INTERVALS {
        return bad(format!(
            "the range covers {count} intervals; at most {MAX_INTERVALS} per request"
        ));
    }
    if let Some(p) = &m.destination_prefix {
        check_prefix(p)?;
    }
    let jobs = app.store.tx(|c| {
        let mut out = Vec::new();
        let mut at = now;
        for i in 0..count {
            let interval_start = first + step * (i as i32);
            let mut job = new_job(new_job_id(c, seed)?, &d, &cfg, interval_start, at, "manual");
            job.overwrite = m.overwrite;
            if let Some(p) = &m.destination_prefix {
                job.prefix = p.clone();
            }
            jobs::insert(c, &job)?;
            at += job_duration(seed, &job.id);
            out.push(job);
        }
        let ev = NewEvent {
            kind: "download.manual_export".into(),
            tenant_id: Some(d.tenant_id.clone()),
            download_id: Some(d.id.clone()),
            detail: json!({
                "start_time": rfc3339(first), "end_time": rfc3339(last_end), "jobs": out.len(),
                "overwrite": m.overwrite, "destination_prefix": m.destination_prefix,
            }),
            ..NewEvent::default()
        };
        crate::events::record(c, now, &ev)?;
        Ok(out)
    })?;
    for j in &jobs {
        app.engine
            .schedule(j.start_time, Task::JobStart { job_id: j.id.clone() });
    }
    Ok(jobs)
}
