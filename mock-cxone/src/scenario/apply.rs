//! Loading a scenario into a mock: check the plan against the mock's state (seed, clock,
//! tenant names, references), and only then create everything through the domain functions
//! the REST handlers use, in one fixed order:
//!
//! 1. the clock advances to `start` (running whatever falls due on the way);
//! 2. `[[tenants]]`, 3. `[[recordings]]`, 4. `[[lifecycle_rules]]`, 5. `[[downloads]]`,
//!    6. `[[faults]]` — each in file order;
//! 7. a `scenario.loaded` event;
//! 8. ([`load`] only) the timeline, in time order (ties in file order): the clock advances to
//!    each entry's `at` and the entry is performed.
//!
//! `scenario run` does 1-7 with [`apply`] and plays the timeline itself, between its daily
//! progress lines.

use std::collections::HashMap;

use serde_json::json;

use super::parse::{Action, DownloadRef, Scenario, TenantRef};
use super::plan::Plan;
use super::summary::{DownloadOut, FaultOut, RecordingsOut, RuleOut, Summary, TenantOut};
use super::{timeline, Pos, ScenarioError};
use crate::app::App;
use crate::auth::tenants;
use crate::download::catalog::Frequency;
use crate::download::config::{self, Download};
use crate::download::manage::{self, ManageError};
use crate::download::manual::MAX_INTERVALS;
use crate::download::schedule::interval_of;
use crate::events::NewEvent;
use crate::faults::rules::{self as fault_rules, RuleError};
use crate::storage::{lifecycle, recordings, rules};
use crate::store::time::{rfc3339, Instant};
use crate::store::StoreError;

/// `meta` key naming the last scenario loaded into a data dir.
pub const LOADED_KEY: &str = "scenario.loaded";

/// Why a scenario could not be loaded. Nothing was changed unless it is `Store`.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The file is wrong (400).
    #[error("{0}")]
    Invalid(ScenarioError),
    /// The file is fine but the mock's state does not allow it: seed, clock, a tenant name (409).
    #[error("{0}")]
    Conflict(ScenarioError),
    /// The store failed (500); what was applied before stays.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApplyError {
    /// The located error, if it is one.
    pub fn located(&self) -> Option<&ScenarioError> {
        match self {
            ApplyError::Invalid(e) | ApplyError::Conflict(e) => Some(e),
            ApplyError::Store(_) => None,
        }
    }
}

impl From<ScenarioError> for ApplyError {
    fn from(e: ScenarioError) -> Self {
        ApplyError::Invalid(e)
    }
}

type R<T> = Result<T, ApplyError>;

/// Everything a scenario refers to, as ids of this mock.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    /// Tenant references (as written) to tenant ids.
    pub tenants: HashMap<String, String>,
    /// `[[lifecycle_rules]]` as (tenant id, rule id).
    pub rules: Vec<(String, String)>,
    /// `[[downloads]]` as created.
    pub downloads: Vec<Download>,
    /// Existing downloads referred to by `dl-` id.
    pub existing: HashMap<String, Download>,
}

impl Ids {
    /// The tenant id of a reference (checked before anything was applied).
    pub fn tenant(&self, r: &TenantRef) -> String {
        self.tenants.get(&r.name).cloned().unwrap_or_else(|| r.name.clone())
    }

    /// The download of a reference.
    pub fn download(&self, r: &DownloadRef) -> Option<&Download> {
        match r {
            DownloadRef::File(i) => self.downloads.get(*i),
            DownloadRef::Id(id) => self.existing.get(id),
        }
    }
}

/// A scenario applied (steps 1-7), ready for its timeline.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The instants.
    pub plan: Plan,
    /// Ids of what was created.
    pub ids: Ids,
    /// What was created so far.
    pub summary: Summary,
}

fn conflict<T>(pos: Pos, msg: impl Into<String>) -> R<T> {
    Err(ApplyError::Conflict(ScenarioError::new(pos, msg)))
}

fn invalid<T>(pos: Pos, msg: impl Into<String>) -> R<T> {
    Err(ApplyError::Invalid(ScenarioError::new(pos, msg)))
}

/// Every tenant reference of the scenario, in file order.
fn tenant_refs(sc: &Scenario) -> Vec<&TenantRef> {
    let mut out: Vec<&TenantRef> = vec![];
    out.extend(sc.recordings.iter().map(|r| &r.tenant));
    out.extend(sc.rules.iter().map(|r| &r.tenant));
    out.extend(sc.downloads.iter().map(|d| &d.tenant));
    out.extend(sc.faults.iter().filter_map(|f| f.tenant.as_ref()));
    for t in &sc.timeline {
        match &t.action {
            Action::RegenerateSeaCredentials { tenant }
            | Action::IssueDatalakeCredentials { tenant }
            | Action::AddRecordings { tenant, .. } => out.push(tenant),
            _ => {}
        }
    }
    out
}

/// Every download reference of the scenario, in file order.
fn download_refs(sc: &Scenario) -> Vec<&(DownloadRef, Pos)> {
    let mut out: Vec<&(DownloadRef, Pos)> = sc.faults.iter().filter_map(|f| f.download.as_ref()).collect();
    for t in &sc.timeline {
        match &t.action {
            Action::ResumeDownload { download } | Action::ManualExport { download, .. } => out.push(download),
            _ => {}
        }
    }
    out
}

/// Checks the scenario against the mock without changing anything; returns the plan and the
/// ids of existing tenants and downloads it refers to.
pub fn precheck(app: &App, sc: &Scenario) -> R<(Plan, Ids)> {
    if let Some((seed, pos)) = sc.seed {
        if seed != app.seed {
            return conflict(
                pos,
                format!(
                    "this scenario wants seed {seed} but the mock runs with seed {}: start it with --seed {seed} \
                     (or `serve --scenario`, which takes the scenario's seed), or drop `seed`",
                    app.seed
                ),
            );
        }
    }
    let now = app.now();
    let plan = sc.plan(now)?;
    if sc.start.is_some() && now > plan.start {
        return conflict(
            sc.start_pos,
            format!(
                "the mock's clock ({}) is past this scenario's start ({}) and never goes back: start the mock with \
                 --clock frozen:{} (then POST /_mock/reset returns there), or drop `start` to begin at the mock's now",
                rfc3339(now),
                rfc3339(plan.start),
                rfc3339(plan.start)
            ),
        );
    }
    let mut ids = Ids::default();
    app.store.with(|c| {
        for t in &sc.tenants {
            if tenants::name_taken(c, &t.new.name)? {
                return Ok(conflict(
                    t.pos,
                    format!(
                        "a tenant named {:?} exists in this mock already: POST /_mock/reset first, or rename it",
                        t.new.name
                    ),
                ));
            }
        }
        let existing: Vec<String> = tenants::list(c)?.into_iter().map(|t| t.name).collect();
        for r in tenant_refs(sc) {
            if sc.tenants.iter().any(|t| t.new.name == r.name) {
                continue;
            }
            match tenants::find(c, &r.name)? {
                Some(t) => {
                    ids.tenants.insert(r.name.clone(), t.tenant_id);
                }
                None => {
                    return Ok(invalid(
                        r.pos,
                        format!(
                            "no tenant {:?}: declare it in [[tenants]] (tenants in the mock: {})",
                            r.name,
                            existing.join(", ")
                        ),
                    ))
                }
            }
        }
        for (r, pos) in download_refs(sc) {
            if let DownloadRef::Id(id) = r {
                match config::get_any(c, id)? {
                    Some(d) => {
                        ids.existing.insert(id.clone(), d);
                    }
                    None => return Ok(invalid(*pos, format!("no download {id:?} in this mock"))),
                }
            }
        }
        Ok(Ok(()))
    })??;
    for step in &plan.steps {
        let t = &sc.timeline[step.index];
        if let (Action::ManualExport { download, .. }, Some((s, e))) = (&t.action, step.range) {
            let frequency = match &download.0 {
                DownloadRef::File(i) => sc.downloads[*i].frequency,
                DownloadRef::Id(id) => match ids.existing.get(id).map(Download::valid) {
                    Some(Ok(v)) => v.frequency,
                    _ => {
                        return invalid(
                            download.1,
                            format!("download {id:?} has a configuration this build cannot read"),
                        )
                    }
                },
            };
            check_export_range(frequency, s, e, step.at, t.pos)?;
        }
    }
    Ok((plan, ids))
}

/// The same checks `manual-export` makes: whole intervals that have ended by `at`, not too many.
fn check_export_range(frequency: Frequency, start: Instant, end: Instant, at: Instant, pos: Pos) -> R<()> {
    let first = interval_of(frequency, start).0;
    let (s, e) = interval_of(frequency, end);
    let last_end = if s == end { s } else { e };
    if last_end > at {
        return invalid(
            pos,
            format!(
                "the range reaches {} (whole {} intervals), after this entry's `at` ({}): only ended intervals can be exported",
                rfc3339(last_end),
                frequency.as_str(),
                rfc3339(at)
            ),
        );
    }
    let count = (last_end - first).num_hours() / frequency.hours();
    if count > MAX_INTERVALS {
        return invalid(
            pos,
            format!("the range covers {count} intervals; at most {MAX_INTERVALS} per manual export"),
        );
    }
    Ok(())
}

fn manage_error(e: ManageError, pos: Pos) -> ApplyError {
    match e {
        ManageError::Invalid(i) => ApplyError::Invalid(ScenarioError::new(pos, i.0)),
        ManageError::NotFound(id) => ApplyError::Invalid(ScenarioError::new(pos, format!("no download {id:?}"))),
        ManageError::Store(s) => ApplyError::Store(s),
    }
}

/// Steps 1-7: checks everything, then creates it. The timeline is not played.
pub fn apply(app: &App, sc: &Scenario) -> R<Loaded> {
    let (plan, mut ids) = precheck(app, sc)?;
    if app.now() < plan.start {
        app.advance_to(plan.start)?;
    }
    let seed = app.seed;
    let mut summary = Summary {
        scenario: sc.name.clone(),
        description: sc.description.clone(),
        seed,
        start: rfc3339(plan.start),
        end: rfc3339(plan.end),
        ..Summary::default()
    };

    for t in &sc.tenants {
        let now = app.now();
        let created = app.store.tx(|c| {
            if tenants::name_taken(c, &t.new.name)? {
                return Ok(None);
            }
            tenants::create(c, seed, now, &t.new).map(Some)
        })?;
        let Some(created) = created else {
            return conflict(
                t.pos,
                format!("a tenant named {:?} exists in this mock already", t.new.name),
            );
        };
        ids.tenants.insert(t.new.name.clone(), created.tenant_id.clone());
        summary.tenants.push(TenantOut {
            tenant_id: created.tenant_id,
            name: created.name,
            client_id: created.client_id,
            client_secret: created.client_secret,
            access_key_id: created.access_key_id,
            access_key_secret: created.access_key_secret,
        });
    }

    for (r, body) in sc.recordings.iter().zip(&plan.recordings) {
        let tenant_id = ids.tenant(&r.tenant);
        let created = add_recordings(app, &tenant_id, body)?;
        summary.recordings.push(RecordingsOut { tenant_id, created });
    }

    for r in &sc.rules {
        let tenant_id = ids.tenant(&r.tenant);
        let now = app.now();
        let rule = app.store.tx(|c| rules::create(c, seed, now, &tenant_id, &r.spec))?;
        after_rule_change(app, &tenant_id, &rule)?;
        ids.rules.push((tenant_id.clone(), rule.id.clone()));
        summary.lifecycle_rules.push(RuleOut {
            id: rule.id,
            tenant_id,
            name: rule.name,
            action: rule.action,
        });
    }

    for d in &sc.downloads {
        let tenant_id = ids.tenant(&d.tenant);
        let created = manage::create(app, &tenant_id, d.spec.clone()).map_err(|e| manage_error(e, d.pos))?;
        summary.downloads.push(DownloadOut {
            id: created.id.clone(),
            name: created.spec.name.clone(),
            tenant_id,
            category: created.spec.category.clone(),
            bucket: created.spec.destination.target().to_string(),
            location: created.spec.destination.location(),
            prefix: created.spec.destination.prefix.clone(),
        });
        ids.downloads.push(created);
    }

    for (f, spec) in sc.faults.iter().zip(&plan.faults) {
        let mut spec = spec.clone();
        spec.tenant_id = f.tenant.as_ref().map(|t| ids.tenant(t));
        spec.download_id = f
            .download
            .as_ref()
            .and_then(|(r, _)| ids.download(r))
            .map(|d| d.id.clone());
        let now = app.now();
        let rule = app
            .store
            .tx(|c| Ok(fault_rules::insert(c, seed, now, spec)))?
            .map_err(|e| match e {
                RuleError::Invalid(i) => ApplyError::Invalid(ScenarioError::new(f.pos, i.0)),
                RuleError::Store(s) => ApplyError::Store(s),
            })?;
        crate::faults::on_rule_added(app, &rule);
        summary.faults.push(FaultOut {
            id: rule.id.clone(),
            kind: rule.spec.kind.clone(),
            tenant_id: rule.spec.tenant_id.clone(),
            download_id: rule.spec.download_id.clone(),
        });
    }

    app.store.meta_set(LOADED_KEY, &sc.name)?;
    app.record_event(&NewEvent {
        kind: "scenario.loaded".into(),
        detail: json!({
            "name": sc.name, "start": summary.start, "end": summary.end,
            "tenants": summary.tenants.iter().map(|t| &t.tenant_id).collect::<Vec<_>>(),
            "downloads": summary.downloads.iter().map(|d| &d.id).collect::<Vec<_>>(),
            "faults": summary.faults.iter().map(|f| &f.id).collect::<Vec<_>>(),
            "timeline": plan.steps.len(),
        }),
        ..NewEvent::default()
    })?;
    summary.now = rfc3339(app.now());
    Ok(Loaded { plan, ids, summary })
}

/// Loads a scenario into a running mock: [`apply`], then the whole timeline (the clock ends at
/// the last entry, or at `start` without one). `serve --scenario` and `POST /_mock/scenarios`.
/// Blocking (SQLite work, exports): call from a blocking thread.
pub fn load(app: &App, sc: &Scenario) -> R<Summary> {
    let mut loaded = apply(app, sc)?;
    let steps = loaded.plan.steps.clone();
    for step in &steps {
        app.advance_to(step.at)?;
        timeline::perform(app, sc, &mut loaded, step)?;
    }
    loaded.summary.now = rfc3339(app.now());
    Ok(loaded.summary)
}

/// Creates recordings for a tenant and lets Faster SEA know (as the control API does).
pub fn add_recordings(app: &App, tenant_id: &str, body: &recordings::NewRecordings) -> R<u64> {
    let now = app.now();
    let seed = app.seed;
    let created = app.store.tx(|c| recordings::create(c, seed, now, tenant_id, body))?;
    let faster = app
        .store
        .with(|c| tenants::find(c, tenant_id))?
        .is_some_and(|t| t.faster_sea);
    lifecycle::nudge_faster_sea(app, tenant_id, faster);
    Ok(created)
}

/// New or edited zero-day SEA rules let a Faster SEA tenant's files move within minutes (S10),
/// as the lifecycle-rules API does.
pub fn after_rule_change(app: &App, tenant_id: &str, rule: &rules::Rule) -> R<()> {
    if rule.is_sea() && rule.after_days == 0 {
        let faster = app
            .store
            .with(|c| tenants::find(c, tenant_id))?
            .is_some_and(|t| t.faster_sea);
        lifecycle::nudge_faster_sea(app, tenant_id, faster);
    }
    Ok(())
}

/// Whether the mock holds nothing yet but its demo tenant (a fresh or reset data dir): where
/// `serve --scenario` loads. A data dir with state keeps it.
pub fn untouched(app: &App) -> Result<bool, StoreError> {
    app.store.with(|c| {
        let tenants: i64 = c.query_row("SELECT COUNT(*) FROM tenants", [], |r| r.get(0))?;
        let other: i64 = c.query_row(
            "SELECT COUNT(*) FROM events WHERE kind NOT IN ('tenant.created', 'mock.reset')",
            [],
            |r| r.get(0),
        )?;
        Ok(tenants <= 1 && other == 0)
    })
}
