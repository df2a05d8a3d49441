//! Faults (CONTRACT §6, F1-F11): rules that make the mock fail the way CXone does, reproducibly
//! from the seed. A rule is consulted at two points — when a job is produced (data and file
//! faults) and when a request is served (maintenance 503, KMS denial) — and every firing is a
//! `fault` event naming the rule, the job and the objects it wrote or touched.
//!
//! Where to look:
//! - `rules` — the rule itself: validation, storage, window, seeded probability draws;
//! - `params` — each kind's parameters and their defaults;
//! - this file — [`Target`], [`matching`] and [`record_firing`], shared by every effect.

pub mod data;
pub mod effects;
pub mod kms;
pub mod maintenance;
pub mod params;
pub mod rules;
pub mod timing;

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::events::{self, NewEvent};
use crate::store::time::Instant;
use crate::store::StoreResult;
use rules::Rule;

/// What a fault is considered for: a job (or one data type of it), an interval, or a request.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The tenant concerned.
    pub tenant_id: &'a str,
    /// The download, for export faults.
    pub download_id: Option<&'a str>,
    /// The category, for export faults.
    pub category: Option<&'a str>,
    /// The data type, when the fault acts on one.
    pub data_type: Option<&'a str>,
    /// Start of the data interval (or the request instant).
    pub start: Instant,
    /// End of the data interval (equal to `start` for an instant).
    pub end: Instant,
    /// What the probability is drawn for (a job id, `<download>/<interval>`, ...): the same
    /// subject always draws the same.
    pub subject: &'a str,
}

fn matches(rule: &Rule, t: &Target<'_>) -> bool {
    let s = &rule.spec;
    let eq = |want: &Option<String>, got: Option<&str>| want.as_deref().is_none_or(|w| got.is_none_or(|g| g == w));
    let window = if t.start == t.end {
        rule.covers(t.start)
    } else {
        rule.overlaps(t.start, t.end)
    };
    s.tenant_id.as_deref().is_none_or(|w| w == t.tenant_id)
        && eq(&s.download_id, t.download_id)
        && eq(&s.category, t.category)
        && eq(&s.data_type, t.data_type)
        && window
        && rule.remaining != Some(0)
        && !matches!(rule.params, params::Params::Invalid)
}

/// Schedules whatever a new rule needs on the engine (rules with an instant of their own, like a
/// key rotation, act at that instant; the rest are consulted when jobs and requests happen).
pub fn on_rule_added(app: &crate::app::App, rule: &Rule) {
    if rule.spec.kind == "kms_key_rotation" {
        if let Err(e) = kms::schedule(app, rule) {
            tracing::error!("fault {}: scheduling the key rotation: {e}", rule.id);
        }
    }
}

/// Rules of `kind` that apply to `t` and win their seeded draw, oldest first.
pub fn matching(c: &Connection, seed: u64, kind: &str, t: &Target<'_>) -> StoreResult<Vec<Rule>> {
    Ok(rules::of_kind(c, kind)?
        .into_iter()
        .filter(|r| matches(r, t) && r.draw(seed, t.subject))
        .collect())
}

/// Records that `rule` fired on `t`: a `fault` event with the rule, job and objects, and the
/// rule's counters (`uses_a_job`: counts against `next_jobs`).
#[allow(clippy::too_many_arguments)]
pub fn record_firing(
    c: &Connection,
    at: Instant,
    rule: &Rule,
    t: &Target<'_>,
    job_id: Option<&str>,
    objects: Vec<String>,
    mut detail: Value,
    uses_a_job: bool,
) -> StoreResult<()> {
    if let Some(o) = detail.as_object_mut() {
        o.insert("kind".into(), json!(rule.spec.kind));
        if let Some(dt) = t.data_type {
            o.insert("data_type".into(), json!(dt));
        }
    }
    let ev = NewEvent {
        kind: "fault".into(),
        tenant_id: Some(t.tenant_id.to_string()),
        download_id: t.download_id.map(str::to_string),
        job_id: job_id.map(str::to_string),
        fault_id: Some(rule.id.clone()),
        objects: (!objects.is_empty()).then_some(objects),
        detail,
    };
    events::record(c, at, &ev)?;
    rules::count_firing(c, &rule.id, uses_a_job)
}
