//! Performing one timeline entry, at its instant (the caller has advanced the clock to it),
//! through the same functions as the matching REST call. Each entry is recorded as a
//! `scenario.timeline` event (without secrets) and added to the summary (with them).

use serde_json::{json, Value};

use super::apply::{add_recordings, after_rule_change, ApplyError, Loaded};
use super::parse::{Action, Scenario};
use super::plan::Step;
use super::summary::{without_random, StepOut};
use super::ScenarioError;
use crate::app::App;
use crate::auth::tenants;
use crate::download::config;
use crate::download::manage::{self, ManageError};
use crate::download::manual::{self, ManualSpec};
use crate::events::NewEvent;
use crate::sea::{credentials, datalake};
use crate::storage::rules;
use crate::store::time::rfc3339;

fn manage_error(e: ManageError, step_pos: super::Pos) -> ApplyError {
    match e {
        ManageError::Invalid(i) => ApplyError::Invalid(ScenarioError::new(step_pos, i.0)),
        ManageError::NotFound(id) => ApplyError::Invalid(ScenarioError::new(step_pos, format!("no download {id:?}"))),
        ManageError::Store(s) => ApplyError::Store(s),
    }
}

/// Performs `step` now.
pub fn perform(app: &App, sc: &Scenario, loaded: &mut Loaded, step: &Step) -> Result<(), ApplyError> {
    let entry = &sc.timeline[step.index];
    let now = app.now();
    let ids = &loaded.ids;
    let (tenant_id, download_id, detail): (Option<String>, Option<String>, Value) = match &entry.action {
        Action::Advance => (None, None, json!({})),
        Action::RegenerateSeaCredentials { tenant } => {
            let t = ids.tenant(tenant);
            let creds = app.store.tx(|c| credentials::generate(c, &app.urls.s3, &t, now))?;
            (Some(t), None, serde_json::to_value(creds).unwrap_or(Value::Null))
        }
        Action::IssueDatalakeCredentials { tenant } => {
            let t = ids.tenant(tenant);
            let creds = app.store.tx(|c| {
                let kms = tenants::find(c, &t)?.map(|x| x.kms_key_id).unwrap_or_default();
                datalake::issue(c, &app.urls.s3, &t, &kms, now)
            })?;
            (Some(t), None, serde_json::to_value(creds).unwrap_or(Value::Null))
        }
        Action::AddRecordings { tenant, .. } => {
            let t = ids.tenant(tenant);
            let body = step
                .recordings
                .as_ref()
                .ok_or_else(|| ApplyError::Invalid(ScenarioError::new(entry.pos, "add_recordings was not planned")))?;
            let created = add_recordings(app, &t, body)?;
            let detail = json!({"created": created, "start": rfc3339(body.start), "end": rfc3339(body.end)});
            (Some(t), None, detail)
        }
        Action::UpdateLifecycleRule { rule, set } => {
            let (t, id) = ids.rules.get(*rule).cloned().unwrap_or_default();
            let updated = app.store.tx(|c| {
                let Some(current) = rules::get(c, &t, &id)? else {
                    return Ok(None);
                };
                let base = rules::RuleSpec {
                    name: current.name,
                    media_type: current.media_type,
                    after_days: current.after_days,
                    action: current.action,
                    priority: current.priority,
                    filters: current.filters,
                };
                rules::update(c, now, &t, &id, &set.apply_to(&base))
            })?;
            let Some(updated) = updated else {
                return Err(ApplyError::Invalid(ScenarioError::new(
                    entry.pos,
                    format!("lifecycle rule {id:?} no longer exists"),
                )));
            };
            after_rule_change(app, &t, &updated)?;
            let detail = json!({"rule_id": updated.id, "name": updated.name, "action": updated.action,
                                "after_days": updated.after_days, "media_type": updated.media_type,
                                "priority": updated.priority});
            (Some(t), None, detail)
        }
        Action::ResumeDownload { download } => {
            let d = ids
                .download(&download.0)
                .cloned()
                .ok_or_else(|| ApplyError::Invalid(ScenarioError::new(download.1, "no such download")))?;
            let current = app.store.with(|c| config::get_any(c, &d.id))?.unwrap_or(d);
            let before = current.status.clone();
            let after = manage::replace(app, &current.tenant_id, &current.id, current.spec.clone())
                .map_err(|e| manage_error(e, entry.pos))?;
            let detail = json!({"status_before": before, "status": after.status,
                                "next_interval_start": rfc3339(after.next_interval)});
            (Some(after.tenant_id), Some(after.id), detail)
        }
        Action::ManualExport {
            download,
            overwrite,
            destination_prefix,
            ..
        } => {
            let d = ids
                .download(&download.0)
                .cloned()
                .ok_or_else(|| ApplyError::Invalid(ScenarioError::new(download.1, "no such download")))?;
            let (s, e) = step
                .range
                .ok_or_else(|| ApplyError::Invalid(ScenarioError::new(entry.pos, "manual_export was not planned")))?;
            let body = ManualSpec {
                category: d.spec.category.clone(),
                start_time: rfc3339(s),
                end_time: rfc3339(e),
                overwrite: *overwrite,
                destination_prefix: destination_prefix.clone(),
            };
            let jobs = manual::create(app, &d.tenant_id, &d.id, body).map_err(|e| manage_error(e, entry.pos))?;
            let job_ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
            let detail = json!({"start_time": rfc3339(s), "end_time": rfc3339(e), "jobs": job_ids});
            (Some(d.tenant_id.clone()), Some(d.id.clone()), detail)
        }
    };
    let action = entry.action.name();
    let mut ev_detail = without_random(detail.clone());
    if let Some(o) = ev_detail.as_object_mut() {
        o.insert("action".into(), json!(action));
        o.insert("scenario".into(), json!(sc.name));
    }
    app.record_event(&NewEvent {
        kind: "scenario.timeline".into(),
        tenant_id,
        download_id,
        detail: ev_detail,
        ..NewEvent::default()
    })?;
    loaded.summary.timeline.push(StepOut {
        at: rfc3339(now),
        action: action.to_string(),
        detail,
    });
    Ok(())
}
