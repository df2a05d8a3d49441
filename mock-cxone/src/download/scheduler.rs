//! The scheduler on the engine (D5): each download makes a job when an interval ends, the job
//! starts when [`super::schedule::job_start`] says, and completes a few mock minutes later.
//!
//! Three engine tasks per job: `DownloadNext` (interval end: create the PENDING job, plan the
//! next interval), `JobStart` (RUNNING) and `JobFinish` (write files, COMPLETED or FAILED).
//! Job and file faults (`faults::effects`) are decided at `JobStart` (time-out, placeholder
//! manifests, partial partitions) and `JobFinish` (failure, refusal, file faults).
//! Every task re-reads stored state, so a task whose download was deleted or re-planned is a
//! no-op, and the queue can be rebuilt from the tables at start-up.

use chrono::Duration;
use serde_json::json;

use super::config::{self, Download, Valid, ACTIVE, NEEDS_RECONFIGURATION};
use super::destination::{AzureBlob, AzureCredential, Destination, External};
use super::export::{self, ExportError, Output};
use super::jobs::{self, Job, COMPLETED, FAILED, PENDING, RUNNING, TIMED_OUT};
use super::schedule;
use crate::app::App;
use crate::engine::Task;
use crate::events::NewEvent;
use crate::faults;
use crate::faults::effects::{self, FinishPlan, StartPlan};
use crate::ids;
use crate::store::time::{rfc3339, to_us, Instant};
use crate::store::{next_counter, StoreResult};

/// Where a download's files go.
pub fn destination(tenant_id: &str, cfg: &Valid) -> Destination {
    let d = &cfg.spec.destination;
    if d.kind == config::AZURE_BLOB {
        let credential = match (&d.access_key, &d.sas_token) {
            (Some(key), _) => AzureCredential::AccessKey(key.clone()),
            (None, sas) => AzureCredential::SasToken(sas.clone().unwrap_or_default()),
        };
        return Destination::Azure(AzureBlob {
            account_url: d.azure_account_url(),
            account: d.account.clone().unwrap_or_default(),
            container: d.target().to_string(),
            credential,
        });
    }
    match &d.endpoint {
        None => Destination::Platform {
            tenant_id: tenant_id.to_string(),
            bucket: d.target().to_string(),
        },
        Some(endpoint) => Destination::External(External {
            endpoint: endpoint.clone(),
            bucket: d.target().to_string(),
            access_key_id: d.access_key_id.clone(),
            secret_access_key: d.secret_access_key.clone(),
            region: d.region.clone(),
        }),
    }
}

/// Plans the download's next interval on the engine (if it is active).
pub fn plan_next(app: &App, d: &Download) {
    if d.status != ACTIVE {
        return;
    }
    let Ok(cfg) = d.valid() else { return };
    let end = d.next_interval + Duration::hours(cfg.frequency.hours());
    app.engine.schedule(
        end,
        Task::DownloadNext {
            download_id: d.id.clone(),
            interval_start_us: to_us(d.next_interval),
        },
    );
}

/// Re-creates download tasks after a restart or reset.
pub fn schedule_from_state(app: &App) -> StoreResult<()> {
    for d in app.store.with(config::all)? {
        plan_next(app, &d);
    }
    for j in app.store.with(jobs::unfinished)? {
        match j.status.as_str() {
            PENDING => app.engine.schedule(j.start_time, Task::JobStart { job_id: j.id }),
            _ => app.engine.schedule(j.end_time, Task::JobFinish { job_id: j.id }),
        }
    }
    Ok(())
}

/// A new job id (deterministic: seed and creation order).
pub fn new_job_id(c: &rusqlite::Connection, seed: u64) -> StoreResult<String> {
    let n = next_counter(c, "job")?;
    Ok(format!("job-{}", ids::uuid(seed, "job", n)))
}

/// A job for one interval, not yet stored.
pub fn new_job(id: String, d: &Download, cfg: &Valid, interval_start: Instant, start: Instant, kind: &str) -> Job {
    Job {
        id,
        download_id: d.id.clone(),
        tenant_id: d.tenant_id.clone(),
        category: cfg.category.as_str().into(),
        status: PENDING.into(),
        kind: kind.into(),
        interval_start,
        interval_end: interval_start + Duration::hours(cfg.frequency.hours()),
        start_time: start,
        end_time: start,
        prefix: d.spec.destination.prefix.clone(),
        overwrite: false,
        output_files: Vec::new(),
        manifests: Vec::new(),
        record_counts: Default::default(),
        checksums: Default::default(),
        error_details: None,
    }
}

fn job_event(kind: &str, j: &Job, objects: Option<Vec<String>>, detail: serde_json::Value) -> NewEvent {
    NewEvent {
        kind: kind.into(),
        tenant_id: Some(j.tenant_id.clone()),
        download_id: Some(j.download_id.clone()),
        job_id: Some(j.id.clone()),
        objects,
        detail,
        ..NewEvent::default()
    }
}

/// `DownloadNext`: the interval starting at `interval_start` has ended; create its job.
pub fn on_interval_end(app: &App, download_id: &str, interval_start: Instant) -> StoreResult<()> {
    let seed = app.seed;
    let planned = app.store.tx(|c| {
        let Some(mut d) = config::get_any(c, download_id)? else {
            return Ok(None);
        };
        if d.next_interval != interval_start || d.status != ACTIVE {
            return Ok(None); // re-planned by a PUT, or paused (D8)
        }
        let Ok(cfg) = d.valid() else { return Ok(None) };
        let end = interval_start + Duration::hours(cfg.frequency.hours());
        let documented = schedule::job_start(seed, &d.tenant_id, cfg.category, end, cfg.offset_minutes);
        let start = faults::timing::scheduled_start(app, &d, interval_start, documented);
        let job = new_job(new_job_id(c, seed)?, &d, &cfg, interval_start, start, "scheduled");
        jobs::insert(c, &job)?;
        let detail = json!({"interval_start": rfc3339(interval_start), "start_time": rfc3339(start)});
        crate::events::record(c, end, &job_event("job.created", &job, None, detail))?;
        d.next_interval = end;
        config::update(c, &d)?;
        Ok(Some((d, job)))
    })?;
    if let Some((d, job)) = planned {
        app.engine.schedule(job.start_time, Task::JobStart { job_id: job.id });
        plan_next(app, &d);
    }
    Ok(())
}

/// `JobStart`: PENDING → RUNNING (or FAILED at once when its download is paused).
pub fn on_job_start(app: &App, at: Instant, job_id: &str) -> StoreResult<()> {
    let seed = app.seed;
    let finish = app.store.tx(|c| {
        let Some(mut job) = jobs::get(c, job_id)? else {
            return Ok(None);
        };
        if job.status != PENDING {
            return Ok(None);
        }
        if let Some(later) = faults::timing::start_delay(app, &job, at) {
            return Ok(Some(Err(later))); // e.g. a maintenance window: run when it ends
        }
        let Some(d) = config::get_any(c, &job.download_id)? else {
            return Ok(None);
        };
        job.start_time = at;
        if d.status == NEEDS_RECONFIGURATION && job.kind == "scheduled" {
            job.status = FAILED.into();
            job.end_time = at;
            job.error_details = Some(format!(
                "not run: the download needs reconfiguration ({})",
                d.status_reason.unwrap_or_default()
            ));
            jobs::update(c, &job)?;
            let detail = json!({"error_details": job.error_details});
            crate::events::record(c, at, &job_event("job.failed", &job, None, detail))?;
            return Ok(None);
        }
        job.status = RUNNING.into();
        job.end_time = at + schedule::job_duration(seed, &job.id);
        let cfg = d.valid().ok();
        let plan = match &cfg {
            Some(cfg) => effects::plan_start(c, seed, &job, &cfg.data_types)?,
            None => StartPlan::default(),
        };
        if plan.timed_out.is_some() {
            job.end_time = effects::timed_out_end(at);
        }
        jobs::update(c, &job)?;
        crate::events::record(c, at, &job_event("job.started", &job, None, json!({})))?;
        if let Some(rule) = &plan.timed_out {
            effects::fire_timed_out(c, at, rule, &job)?;
        }
        let writes = match cfg {
            Some(cfg) if plan.writes() => Some((cfg, plan, job.clone())),
            _ => None,
        };
        Ok(Some(Ok((job.end_time, writes))))
    })?;
    let job_id = job_id.to_string();
    match finish {
        Some(Ok((end, writes))) => {
            app.engine.schedule(end, Task::JobFinish { job_id });
            // F4: what a running job shows (placeholder manifests, partial partitions).
            if let Some((cfg, plan, job)) = writes {
                let firings = export::start(app, &job, &cfg, &destination(&job.tenant_id, &cfg), &plan);
                if !firings.is_empty() {
                    app.store.tx(|c| firings.record(c, at, &job))?;
                }
            }
        }
        // Not yet (a maintenance window): try again when it allows.
        Some(Err(later)) => app.engine.schedule(later, Task::JobStart { job_id }),
        None => {}
    }
    Ok(())
}

/// `JobFinish`: writes the job's files and manifests, then COMPLETED (or FAILED, D8).
pub fn on_job_finish(app: &App, at: Instant, job_id: &str) -> StoreResult<()> {
    let Some(job) = app.store.with(|c| jobs::get(c, job_id))? else {
        return Ok(());
    };
    if job.status != RUNNING {
        return Ok(());
    }
    let Some(d) = app.store.with(|c| config::get_any(c, &job.download_id))? else {
        return Ok(());
    };
    let mut out = Output::default();
    let result = match d.valid() {
        Ok(cfg) => {
            let dest = destination(&d.tenant_id, &cfg);
            let (seed, format) = (app.seed, export::format_of(&cfg));
            let plan: FinishPlan = app
                .store
                .with(|c| effects::plan_finish(c, seed, &job, &cfg.data_types, format, &dest.access_denied()))?;
            export::run(app, &job, &cfg, &dest, &plan, &mut out)
        }
        Err(e) => Err(ExportError::Internal(e.to_string())),
    };
    finish(app, at, job, d, out, result)
}

fn finish(
    app: &App,
    at: Instant,
    mut job: Job,
    mut d: Download,
    out: Output,
    result: Result<(), ExportError>,
) -> StoreResult<()> {
    job.end_time = at;
    let firings = out.firings;
    job.output_files = out.files;
    job.manifests = out.manifests;
    job.record_counts = out.record_counts;
    job.checksums = out.checksums;
    let mut objects = job.output_files.clone();
    objects.extend(job.manifests.iter().cloned());
    app.store.tx(|c| {
        firings.record(c, at, &job)?;
        effects::forget_started(c, &job.id)?;
        super::resume::forget(c, &job.id)?;
        match &result {
            Ok(()) => {
                job.status = COMPLETED.into();
                let detail = json!({"record_count": job.record_counts.values().sum::<u64>()});
                jobs::update(c, &job)?;
                crate::events::record(c, at, &job_event("job.completed", &job, Some(objects.clone()), detail))?;
            }
            Err(e) => {
                let timed_out = matches!(e, ExportError::TimedOut(_));
                job.status = if timed_out { TIMED_OUT } else { FAILED }.into();
                job.error_details = Some(e.to_string());
                jobs::update(c, &job)?;
                let detail = json!({"error_details": job.error_details});
                let kind = if timed_out { "job.timed_out" } else { "job.failed" };
                crate::events::record(c, at, &job_event(kind, &job, Some(objects.clone()), detail))?;
                if matches!(e, ExportError::Refused(_)) && d.status == ACTIVE {
                    d.status = NEEDS_RECONFIGURATION.into();
                    d.status_reason = Some(format!("job {} failed: {e}", job.id));
                    config::update(c, &d)?;
                    let ev = NewEvent {
                        kind: "download.needs_reconfiguration".into(),
                        tenant_id: Some(d.tenant_id.clone()),
                        download_id: Some(d.id.clone()),
                        job_id: Some(job.id.clone()),
                        detail: json!({"reason": d.status_reason}),
                        ..NewEvent::default()
                    };
                    crate::events::record(c, at, &ev)?;
                }
            }
        }
        Ok(())
    })
}
