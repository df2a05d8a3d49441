//! The data faults (F1 `out_of_order`, F2 `late_update`, F6 `schema_drift`): which intervals of a
//! download a rule targets and which records it picks, as pure functions of (seed, rules,
//! download, interval). The export (`download::records`) and the ground truth (`crate::truth`)
//! both ask here, so a job, a manual re-export of the same interval and the truth always agree.
//!
//! Targeting. A data rule applies to an interval `[start, end)` of a download when
//! - its `tenant_id`/`download_id`/`category`/`data_type` match (absent = any);
//! - the interval is covered by the download (`start >= created_at`) and overlaps `from`/`until`;
//! - the interval's scheduled export time (`schedule::job_start`, without faults) is at or after
//!   the rule was added — a rule never rewrites what was already exported;
//! - kind-specific: `schema_drift` needs `start >= at`; `out_of_order` needs the previous interval
//!   covered and scheduled after the rule was added too (its records are held back from it);
//! - the rule's seeded draw for `<download id>/<interval start>` passes (`probability`);
//! - with `next_jobs: N`, it is one of the first N intervals (in time order) meeting all the above.
//!
//! docs/truth.md and docs/faults.md describe the effects.

use std::cell::OnceCell;

use chrono::Duration;
use rusqlite::Connection;
use serde_json::Value;

use super::params::Params;
use super::rules::{self, Rule};
use super::{record_firing, Target};
use crate::app::App;
use crate::download::catalog::{Category, ColType, Column, DataTypeSchema, Frequency};
use crate::download::config::Download;
use crate::download::generate::rows::Cell;
use crate::download::schedule;
use crate::ids;
use crate::store::time::{rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// At most this many intervals are walked to find a `next_jobs` rule's first N.
const MAX_SCAN: usize = 200_000;

/// The longest time from a record's event time to its first `last_update_time`, over every data
/// type (speech: the contact, then a 15-45 min transcription; a unit test holds generators to it).
pub const MAX_FIRST_UPDATE_LAG: Duration = Duration::hours(4);

/// A download as the data faults see it: its tenant, grid of intervals and schedule.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The mock's seed.
    pub seed: u64,
    /// Owner.
    pub tenant_id: String,
    /// The download.
    pub download_id: String,
    /// Its category.
    pub category: Category,
    /// Its frequency (the interval grid).
    pub frequency: Frequency,
    /// `schedule.offset_minutes`.
    pub offset_minutes: i64,
    /// Intervals starting at or after this are the download's.
    pub created_at: Instant,
    /// Its data types, in configuration order.
    pub data_types: Vec<String>,
}

impl Ctx {
    /// The context of a download (None when its stored configuration no longer validates).
    pub fn new(seed: u64, d: &Download) -> Option<Ctx> {
        let cfg = d.valid().ok()?;
        Some(Ctx {
            seed,
            tenant_id: d.tenant_id.clone(),
            download_id: d.id.clone(),
            category: cfg.category,
            frequency: cfg.frequency,
            offset_minutes: cfg.offset_minutes,
            created_at: d.created_at,
            data_types: cfg.data_types,
        })
    }

    /// Length of one interval.
    pub fn len(&self) -> Duration {
        Duration::hours(self.frequency.hours())
    }

    /// Start of the interval containing `at`.
    pub fn interval_start(&self, at: Instant) -> Instant {
        schedule::interval_of(self.frequency, at).0
    }

    /// Whether the interval starting at `start` is one the download exports.
    pub fn covered(&self, start: Instant) -> bool {
        start >= self.created_at
    }

    /// The scheduled export time of the interval starting at `start`: its job's start as the
    /// schedule sets it (offset, finalisation, speech lag), without faults.
    pub fn scheduled_export(&self, start: Instant) -> Instant {
        schedule::job_start(
            self.seed,
            &self.tenant_id,
            self.category,
            start + self.len(),
            self.offset_minutes,
        )
    }

    /// What a rule's probability is drawn for: `<download id>/<interval start>`.
    pub fn subject(&self, start: Instant) -> String {
        format!("{}/{}", self.download_id, rfc3339(start))
    }

    fn unit(&self, parts: &[&[u8]]) -> f64 {
        ids::derive_u64(self.seed, parts) as f64 / (u64::MAX as f64 + 1.0)
    }
}

/// A data rule with its lazily computed `next_jobs` intervals.
#[derive(Debug)]
pub struct Prepared {
    /// The rule.
    pub rule: Rule,
    firsts: OnceCell<Vec<Instant>>,
}

/// The data rules that may concern one download, oldest first.
#[derive(Debug, Default)]
pub struct DataRules {
    /// `schema_drift`.
    pub drift: Vec<Prepared>,
    /// `late_update`.
    pub late: Vec<Prepared>,
    /// `out_of_order`.
    pub ooo: Vec<Prepared>,
}

/// A column a drift rule adds.
#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    /// The rule that adds it (its values derive from the rule id).
    pub rule_id: String,
    /// Column name.
    pub name: String,
    /// Its type.
    pub ty: ColType,
}

fn download_match(rule: &Rule, ctx: &Ctx) -> bool {
    let s = &rule.spec;
    s.tenant_id.as_deref().is_none_or(|t| t == ctx.tenant_id)
        && s.download_id.as_deref().is_none_or(|d| d == ctx.download_id)
        && s.category.as_deref().is_none_or(|c| c == ctx.category.as_str())
        && !matches!(rule.params, Params::Invalid)
}

impl DataRules {
    /// The data rules whose tenant, download and category filters match `ctx`.
    pub fn load(c: &Connection, ctx: &Ctx) -> StoreResult<DataRules> {
        let mut out = DataRules::default();
        for rule in rules::list(c)? {
            if !download_match(&rule, ctx) {
                continue;
            }
            let list = match rule.params {
                Params::SchemaDrift { .. } => &mut out.drift,
                Params::LateUpdate { .. } => &mut out.late,
                Params::OutOfOrder { .. } => &mut out.ooo,
                _ => continue,
            };
            list.push(Prepared {
                rule,
                firsts: OnceCell::new(),
            });
        }
        Ok(out)
    }

    /// Whether there is no data rule at all.
    pub fn is_empty(&self) -> bool {
        self.drift.is_empty() && self.late.is_empty() && self.ooo.is_empty()
    }
}

/// Whether `rule` concerns data type `dt` (its `data_type` filter).
pub fn for_data_type(rule: &Rule, dt: &str) -> bool {
    rule.spec.data_type.as_deref().is_none_or(|d| d == dt)
}

fn eligible(rule: &Rule, ctx: &Ctx, start: Instant) -> bool {
    let end = start + ctx.len();
    let base = ctx.covered(start) && rule.overlaps(start, end) && ctx.scheduled_export(start) >= rule.created_at;
    base && match &rule.params {
        Params::SchemaDrift { at, .. } => start >= *at,
        Params::OutOfOrder { .. } => {
            let prev = start - ctx.len();
            ctx.covered(prev) && ctx.scheduled_export(prev) >= rule.created_at
        }
        Params::LateUpdate { .. } => true,
        _ => false,
    }
}

fn drawn(rule: &Rule, ctx: &Ctx, start: Instant) -> bool {
    eligible(rule, ctx, start) && rule.draw(ctx.seed, &ctx.subject(start))
}

impl Prepared {
    /// Whether the rule applies to the interval starting at `start` for data type `dt`.
    pub fn applies(&self, ctx: &Ctx, dt: &str, start: Instant) -> bool {
        if !for_data_type(&self.rule, dt) || !drawn(&self.rule, ctx, start) {
            return false;
        }
        match self.rule.spec.next_jobs {
            None => true,
            Some(n) => self.firsts(ctx, n as usize).contains(&start),
        }
    }

    /// The first `n` intervals the rule would apply to, ignoring `next_jobs`.
    fn firsts(&self, ctx: &Ctx, n: usize) -> &[Instant] {
        self.firsts.get_or_init(|| {
            let rule = &self.rule;
            let mut from = ctx.created_at.max(rule.created_at - Duration::hours(12));
            if let Some(f) = rule.from {
                from = from.max(f - ctx.len());
            }
            if let Params::SchemaDrift { at, .. } = &rule.params {
                from = from.max(*at - ctx.len());
            }
            let mut s = ctx.interval_start(from);
            let mut out = Vec::new();
            for _ in 0..MAX_SCAN {
                if out.len() >= n || rule.until.is_some_and(|u| s >= u) {
                    break;
                }
                if drawn(rule, ctx, s) {
                    out.push(s);
                }
                s += ctx.len();
            }
            out
        })
    }
}

// ---------------------------------------------------------------------------------------------
// schema_drift (F6)

impl DataRules {
    /// The drift rules in force for `base`'s data type in the interval starting at `start`.
    pub fn drift_in_force(&self, ctx: &Ctx, dt: &str, start: Instant) -> Vec<&Prepared> {
        self.drift.iter().filter(|p| p.applies(ctx, dt, start)).collect()
    }

    /// The columns drift adds to `base` in the interval starting at `start`, in rule order (a
    /// name already present is not added twice).
    pub fn drift_columns(&self, ctx: &Ctx, base: &DataTypeSchema, start: Instant) -> Vec<Added> {
        added(
            base,
            self.drift_in_force(ctx, base.name, start).into_iter().map(|p| &p.rule),
        )
    }
}

/// Columns the drift `rules` add to `base`, skipping names already present.
pub fn added<'a>(base: &DataTypeSchema, rules: impl Iterator<Item = &'a Rule>) -> Vec<Added> {
    let mut out: Vec<Added> = Vec::new();
    for rule in rules {
        if let Params::SchemaDrift { add_columns, .. } = &rule.params {
            for (name, ty) in add_columns {
                let taken = base.columns.iter().any(|c| &c.name == name) || out.iter().any(|a| &a.name == name);
                if !taken {
                    out.push(Added {
                        rule_id: rule.id.clone(),
                        name: name.clone(),
                        ty: *ty,
                    });
                }
            }
        }
    }
    out
}

/// `base` with `added` columns (nullable: a record exported before the drift has none) at
/// version `1 + rules_in_force`.
pub fn drifted(base: &DataTypeSchema, rules_in_force: usize, added: &[Added]) -> DataTypeSchema {
    let mut s = base.clone();
    s.version = base.version + rules_in_force as u32;
    s.columns.extend(added.iter().map(|a| Column::new(&a.name, a.ty, true)));
    s
}

/// The value of an added column for the record with key `key` (event time `event_us`): seeded,
/// never null, the same in every version of the record.
pub fn drift_value(seed: u64, a: &Added, dt: &str, key: &str, event_us: i64) -> Cell {
    let v = ids::derive_u64(
        seed,
        &[
            b"drift-value",
            a.rule_id.as_bytes(),
            a.name.as_bytes(),
            dt.as_bytes(),
            key.as_bytes(),
        ],
    );
    match a.ty {
        ColType::Utf8 => Cell::Str(format!("{}-{:04}", a.name, v % 10_000)),
        ColType::Int64 => Cell::Int((v % 1000) as i64),
        ColType::Float64 => Cell::Float((v % 100_000) as f64 / 100.0),
        ColType::Boolean => Cell::Bool(v & 1 == 1),
        ColType::Timestamp => Cell::Time(event_us + (v % 3600) as i64 * 1_000_000),
    }
}

// ---------------------------------------------------------------------------------------------
// late_update (F2)

/// Whether a `late_update` rule picks the record whose subject (guide key) is `subject`, and if
/// so the delay of its late version in microseconds.
pub fn late_delay_us(ctx: &Ctx, rule: &Rule, subject: &str) -> Option<i64> {
    let Params::LateUpdate {
        fraction,
        min_delay_hours,
        max_delay_hours,
    } = rule.params
    else {
        return None;
    };
    let parts = |tag: &'static [u8]| -> f64 {
        ctx.unit(&[tag, rule.id.as_bytes(), ctx.download_id.as_bytes(), subject.as_bytes()])
    };
    if parts(b"late-select") >= fraction {
        return None;
    }
    let hours = min_delay_hours + (max_delay_hours - min_delay_hours) * parts(b"late-delay");
    Some(((hours * 3_600_000_000.0).round() as i64).max(1))
}

/// The interval carrying a late version updated at `updated` of a record first exported with the
/// interval starting at `original`: the one containing `updated`, but never `original` itself.
pub fn carrier(ctx: &Ctx, original: Instant, updated: Instant) -> Instant {
    ctx.interval_start(updated).max(original + ctx.len())
}

/// Seed of the changes of one late version.
pub fn late_change_seed(ctx: &Ctx, rule: &Rule, dt: &str, key: &str) -> u64 {
    ids::derive_u64(
        ctx.seed,
        &[
            b"late-change",
            rule.id.as_bytes(),
            ctx.download_id.as_bytes(),
            dt.as_bytes(),
            key.as_bytes(),
        ],
    )
}

/// The intervals whose records may have a late version carried by the interval at `start`.
pub fn late_sources(ctx: &Ctx, rule: &Rule, start: Instant) -> Vec<Instant> {
    let Params::LateUpdate { max_delay_hours, .. } = rule.params else {
        return Vec::new();
    };
    let back = Duration::microseconds((max_delay_hours * 3_600_000_000.0).ceil() as i64) + MAX_FIRST_UPDATE_LAG;
    let mut s = ctx.interval_start(start - back);
    let mut out = Vec::new();
    while s < start {
        if ctx.covered(s) {
            out.push(s);
        }
        s += ctx.len();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// out_of_order (F1)

/// Whether an `out_of_order` rule targeting the interval at `target` carries the previous
/// interval's record with subject `subject` and event time `event_us` into it.
pub fn ooo_carries(ctx: &Ctx, rule: &Rule, target: Instant, subject: &str, event_us: i64) -> bool {
    let Params::OutOfOrder { fraction, minutes } = rule.params else {
        return false;
    };
    if event_us < to_us(target - Duration::minutes(minutes)) || event_us >= to_us(target) {
        return false;
    }
    let t = to_us(target).to_le_bytes();
    ctx.unit(&[
        b"ooo-select",
        rule.id.as_bytes(),
        ctx.download_id.as_bytes(),
        &t,
        subject.as_bytes(),
    ]) < fraction
}

/// Export-completion time of a row of a reordered file (microseconds): a record of the interval
/// completes 0-10 min after its event time, one carried from the previous interval 5-30 min
/// after the interval starts (so it lands after some of the interval's later records).
pub fn completion_us(ctx: &Ctx, dt: &str, key: &str, event_us: i64, carried_into: Option<Instant>) -> i64 {
    let v = ids::derive_u64(
        ctx.seed,
        &[
            b"ooo-completion",
            ctx.download_id.as_bytes(),
            dt.as_bytes(),
            key.as_bytes(),
        ],
    );
    match carried_into {
        None => event_us + (v % 600_000_000) as i64,
        Some(start) => to_us(start) + 300_000_000 + (v % 1_500_000_000) as i64,
    }
}

// ---------------------------------------------------------------------------------------------
// firing events

/// The first of the download's data types `rule` concerns: its firing on that data type counts
/// against `next_jobs` (once per job).
pub fn first_data_type<'a>(ctx: &'a Ctx, rule: &Rule) -> Option<&'a str> {
    ctx.data_types
        .iter()
        .map(String::as_str)
        .find(|dt| for_data_type(rule, dt))
}

/// Records a `fault` event for `rule` on `job_id`'s data type `dt`, interval at `start`.
#[allow(clippy::too_many_arguments)]
pub fn fire(app: &App, ctx: &Ctx, rule: &Rule, dt: &str, start: Instant, job_id: &str, detail: Value, counts: bool) {
    let subject = ctx.subject(start);
    let target = Target {
        tenant_id: &ctx.tenant_id,
        download_id: Some(&ctx.download_id),
        category: Some(ctx.category.as_str()),
        data_type: Some(dt),
        start,
        end: start + ctx.len(),
        subject: &subject,
    };
    let uses_a_job = counts && first_data_type(ctx, rule) == Some(dt);
    let at = app.now();
    // The detail as `record_firing` completes it: a job that reads its records twice (a partial
    // partition at its start, F4, then the files at its end) fires once.
    let mut detail = detail;
    if let Some(o) = detail.as_object_mut() {
        o.insert("kind".into(), Value::from(rule.spec.kind.clone()));
        o.insert("data_type".into(), Value::from(dt));
    }
    let text = detail.to_string();
    let r = app.store.tx(|c| {
        let seen: i64 = c.query_row(
            "SELECT COUNT(*) FROM events WHERE kind = 'fault' AND fault_id = ?1 AND job_id = ?2 AND detail = ?3",
            rusqlite::params![rule.id, job_id, text],
            |r| r.get(0),
        )?;
        if seen > 0 {
            return Ok(());
        }
        record_firing(c, at, rule, &target, Some(job_id), Vec::new(), detail, uses_a_job)
    });
    if let Err(e) = r {
        tracing::warn!(fault_id = %rule.id, "could not record a data fault firing: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// null_column_strip (D3, F6 family), as the truth follows it

/// The `null_column_strip` rules of a download that strip **every** Parquet file of an interval
/// they cover, whichever job writes it — those without `probability` or `next_jobs` — oldest
/// first. A rule with either strips only some jobs' files, so the values a pipeline ends up with
/// depend on which job it ingested: the truth cannot follow those (docs/truth.md).
pub fn strip_rules(c: &Connection, ctx: &Ctx) -> StoreResult<Vec<Rule>> {
    Ok(rules::list(c)?
        .into_iter()
        .filter(|r| {
            matches!(r.params, Params::NullColumnStrip { .. })
                && download_match(r, ctx)
                && r.spec.probability.is_none_or(|p| p >= 1.0)
                && r.spec.next_jobs.is_none()
        })
        .collect())
}

/// The strip rule (the first, as jobs pick it) acting on data type `dt`'s file for the interval
/// at `start`: one whose window overlaps the interval and that existed when it was scheduled.
pub fn strip_for<'r>(rules: &'r [Rule], ctx: &Ctx, dt: &str, start: Instant) -> Option<&'r Rule> {
    let end = start + ctx.len();
    rules
        .iter()
        .find(|r| for_data_type(r, dt) && r.overlaps(start, end) && ctx.scheduled_export(start) >= r.created_at)
}
