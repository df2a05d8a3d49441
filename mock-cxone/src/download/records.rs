//! The records a job exports: the schema in force for its interval and the batches of its data
//! types — generation plus the data faults that change what is exported (late updates, schema
//! drift, out-of-order carry-over). The seam between `export` (files) and `generate` (records).
//!
//! Without a data fault concerning the job, its batches are the generators' as they are (the same
//! bytes as ever). Otherwise the interval's records go through rows (`generate::rows`):
//! - `schema_drift` (F6): the schema in force has the added columns, populated with seeded values
//!   for the records this interval exports (null for records carried from an interval before it);
//! - `late_update` (F2): late versions of earlier intervals' records whose update falls in this
//!   interval are added (after the hour's records, in update order);
//! - `out_of_order` (F1): when the rule targets this interval, some of the previous interval's
//!   last-minutes records are carried into it and the file is ordered by a seeded export
//!   completion time; when it targets the next interval, those records are held back from this one.
//!
//! Which rule applies where, and which records it picks, is decided in `faults::data` from
//! (seed, rules, interval) alone: `crate::truth` recomputes the same versions.

use std::collections::{BTreeSet, HashSet};

use arrow_array::RecordBatch;
use chrono::Duration;
use serde_json::json;

use super::catalog::{Category, DataTypeSchema};
use super::config;
use super::generate::rows::{self, Cell, Row};
use super::generate::{self, late, Scope};
use super::jobs::Job;
use crate::app::App;
use crate::faults::data::{self, Added, Ctx, DataRules, Prepared};
use crate::store::time::{from_us, rfc3339, to_us, Instant};

/// `effect` sentences of the data faults' `fault` events (`action` names them for programs).
mod effect {
    pub(super) const DRIFTED: &str = "the file carries the added columns, populated, at the new schema version";
    pub(super) const WITHHELD: &str =
        "records of the interval's last minutes are left out of this file: the next interval's file carries them";
    pub(super) const CARRIED_IN: &str = "records of the previous interval's last minutes are in this file, after some \
                                         of this interval's later records: the file is ordered by export completion, \
                                         not event time";
    pub(super) const SELECTED: &str =
        "these records of the interval get a late version, exported with the interval of its last_update_time";
    pub(super) const CARRIED: &str = "late versions of earlier intervals' records (same key, later last_update_time, \
                                      changed fields) are in this file";
}

/// The schema `data_type` is written with for `job`'s interval.
pub fn schema(app: &App, job: &Job, category: Category, data_type: &str) -> Option<DataTypeSchema> {
    let base = category.data_type(data_type)?;
    let Some((ctx, rules)) = load(app, job) else {
        return Some(base);
    };
    let in_force = rules.drift_in_force(&ctx, data_type, job.interval_start);
    if in_force.is_empty() {
        return Some(base);
    }
    let added = data::added(&base, in_force.iter().map(|p| &p.rule));
    let drifted = data::drifted(&base, in_force.len(), &added);
    for p in &in_force {
        let mine: Vec<&str> = added
            .iter()
            .filter(|a| a.rule_id == p.rule.id)
            .map(|a| a.name.as_str())
            .collect();
        let detail = json!({
            "action": "schema_drift",
            "effect": effect::DRIFTED,
            "interval_start": rfc3339(job.interval_start),
            "schema_version": drifted.version,
            "added_columns": mine,
        });
        data::fire(app, &ctx, &p.rule, data_type, job.interval_start, &job.id, detail, true);
    }
    Some(drifted)
}

/// The batches of one data type for `job`, in export order (one interval, streamed by hour).
pub fn batches<'a>(
    app: &'a App,
    job: &'a Job,
    schema: &'a DataTypeSchema,
) -> Box<dyn Iterator<Item = RecordBatch> + 'a> {
    let scope = Scope {
        seed: app.seed,
        tenant_id: &job.tenant_id,
    };
    match plan(app, job, schema, true) {
        Some(plan) => Box::new(plan.into_batches(scope, schema)),
        None => Box::new(generate::batches(scope, schema, job.interval_start, job.interval_end)),
    }
}

/// The download's data-fault context and rules, when its configuration still fits the job.
fn load(app: &App, job: &Job) -> Option<(Ctx, DataRules)> {
    let d = app
        .store
        .with(|c| config::get_any(c, &job.download_id))
        .ok()
        .flatten()?;
    let ctx = Ctx::new(app.seed, &d)?;
    if job.interval_end - job.interval_start != ctx.len() {
        return None; // a job of an earlier frequency: exported as generated
    }
    let rules = app.store.with(|c| DataRules::load(c, &ctx)).ok()?;
    (!rules.is_empty()).then_some((ctx, rules))
}

/// Where a data type's key, event time and `last_update_time` are in its rows.
#[derive(Debug, Clone)]
pub struct Layout {
    keys: Vec<usize>,
    event: usize,
    updated: usize,
}

impl Layout {
    /// The layout of rows of `base`.
    pub fn new(base: &DataTypeSchema) -> Layout {
        let at = |n: &str| base.columns.iter().position(|c| c.name == n).unwrap_or(0);
        Layout {
            keys: base.key_columns.iter().map(|k| at(k)).collect(),
            event: at(base.event_time_column),
            updated: at("last_update_time"),
        }
    }

    /// Positions of the key columns.
    pub fn key_positions(&self) -> &[usize] {
        &self.keys
    }

    /// The record's key as text, key columns joined with `/`.
    pub fn key(&self, row: &Row) -> String {
        let mut out = String::with_capacity(48);
        for (n, i) in self.keys.iter().enumerate() {
            if n > 0 {
                out.push('/');
            }
            row.get(*i).unwrap_or(&Cell::Null).key_text(&mut out);
        }
        out
    }

    /// What record-level picks are drawn for: the guide's idempotency key (`call_uuid`,
    /// `interaction_id`, `session_hash`) when the first key column is a string — so the rows of
    /// one contact in every data type are picked together — else the whole key.
    pub fn subject(&self, row: &Row) -> String {
        match self.keys.first().and_then(|i| row.get(*i)) {
            Some(Cell::Str(s)) => s.clone(),
            _ => self.key(row),
        }
    }

    /// Event time, unix microseconds.
    pub fn event_us(&self, row: &Row) -> i64 {
        row.get(self.event).and_then(Cell::as_time).unwrap_or(0)
    }

    /// `last_update_time`, unix microseconds.
    pub fn updated_us(&self, row: &Row) -> i64 {
        row.get(self.updated).and_then(Cell::as_time).unwrap_or(0)
    }
}

/// The generated records of `base`'s data type in the hour at `hour`, as rows.
pub fn hour_rows(scope: Scope<'_>, base: &DataTypeSchema, hour: Instant) -> Vec<Row> {
    rows::to_rows(&generate::hour_batch(scope, base, hour))
}

/// A second version of a record (F2).
#[derive(Debug, Clone)]
pub struct LateVersion {
    /// The rule that made it.
    pub rule_id: String,
    /// The record's key.
    pub key: String,
    /// The changed record (columns of the base schema).
    pub row: Row,
    /// Its `last_update_time`.
    pub updated_us: i64,
    /// The interval whose export carries it.
    pub carrier: Instant,
}

/// The late versions `rules` (those applying to the record's interval at `original`) make of
/// `row`, a record of `base`.
pub fn late_versions(
    ctx: &Ctx,
    rules: &[&Prepared],
    base: &DataTypeSchema,
    layout: &Layout,
    original: Instant,
    row: &Row,
) -> Vec<LateVersion> {
    let mut out = Vec::new();
    if rules.is_empty() {
        return out;
    }
    let subject = layout.subject(row);
    let key = layout.key(row);
    for p in rules {
        let Some(delay) = data::late_delay_us(ctx, &p.rule, &subject) else {
            continue;
        };
        let updated_us = layout.updated_us(row) + delay;
        let mut changed = row.clone();
        late::apply(
            base,
            &mut changed,
            updated_us,
            data::late_change_seed(ctx, &p.rule, base.name, &key),
        );
        out.push(LateVersion {
            rule_id: p.rule.id.clone(),
            key: key.clone(),
            row: changed,
            updated_us,
            carrier: data::carrier(ctx, original, from_us(updated_us)),
        });
    }
    out
}

/// `row` (columns of the base schema) followed by the `added` columns: populated when the
/// interval that exports this version (`home`) has the column, null otherwise.
pub fn with_added(seed: u64, dt: &str, layout: &Layout, mut row: Row, added: &[Added], home: &[Added]) -> Row {
    if added.is_empty() {
        return row;
    }
    let key = layout.key(&row);
    let event = layout.event_us(&row);
    for a in added {
        let cell = if home.iter().any(|h| h.name == a.name) {
            data::drift_value(seed, a, dt, &key, event)
        } else {
            Cell::Null
        };
        row.push(cell);
    }
    row
}

/// Hours of the interval `[start, start + len)`.
fn hours(start: Instant, len: Duration) -> impl Iterator<Item = Instant> {
    (0..len.num_hours()).map(move |h| start + Duration::hours(h))
}

/// What a job's data type needs beyond the generators' batches.
struct Plan {
    ctx: Ctx,
    base: DataTypeSchema,
    layout: Layout,
    start: Instant,
    len: Duration,
    /// Columns drift adds in this interval.
    added: Vec<Added>,
    /// ... and in the previous interval (the home of carried records).
    prev_added: Vec<Added>,
    /// Keys of this interval's records held back for the next interval (F1).
    withheld: HashSet<String>,
    /// The previous interval's records carried into this one (F1).
    carried: Vec<Row>,
    /// Late versions this interval carries, by update time (F2).
    late: Vec<LateVersion>,
    /// Whether the file is ordered by export completion time (F1 targets this interval).
    shuffle: bool,
}

/// `fire`: record the data faults' `fault` events (an export does; the truth, recomputing a
/// file's rows, must not).
fn plan(app: &App, job: &Job, schema: &DataTypeSchema, fire: bool) -> Option<Plan> {
    let (ctx, rules) = load(app, job)?;
    let base = schema.category.data_type(schema.name)?;
    let dt = base.name;
    let layout = Layout::new(&base);
    let scope = Scope {
        seed: app.seed,
        tenant_id: &job.tenant_id,
    };
    let (start, len) = (job.interval_start, ctx.len());
    let hour = Duration::hours(1);

    // F1, this interval as the source: hold back what the next interval carries.
    let next = start + len;
    let mut withheld = HashSet::new();
    let holding: Vec<&Prepared> = rules.ooo.iter().filter(|p| p.applies(&ctx, dt, next)).collect();
    if !holding.is_empty() {
        let tail = hour_rows(scope, &base, next - hour);
        for p in holding {
            let mut n = 0;
            for r in &tail {
                if data::ooo_carries(&ctx, &p.rule, next, &layout.subject(r), layout.event_us(r)) {
                    n += 1;
                    withheld.insert(layout.key(r));
                }
            }
            let detail = json!({
                "action": "withheld",
                "effect": effect::WITHHELD,
                "interval_start": rfc3339(start),
                "carried_to_interval": rfc3339(next),
                "records": n,
            });
            if fire {
                data::fire(app, &ctx, &p.rule, dt, start, &job.id, detail, false);
            }
        }
    }

    // F1, this interval as the target: carry the previous interval's tail in, reorder.
    let prev = start - len;
    let carrying: Vec<&Prepared> = rules.ooo.iter().filter(|p| p.applies(&ctx, dt, start)).collect();
    let shuffle = !carrying.is_empty();
    let mut carried = Vec::new();
    if shuffle {
        let tail = hour_rows(scope, &base, start - hour);
        let mut seen = HashSet::new();
        for p in carrying {
            let mut n = 0;
            for r in &tail {
                if data::ooo_carries(&ctx, &p.rule, start, &layout.subject(r), layout.event_us(r)) {
                    n += 1;
                    if seen.insert(layout.key(r)) {
                        carried.push(r.clone());
                    }
                }
            }
            let detail = json!({
                "action": "carried_in",
                "effect": effect::CARRIED_IN,
                "interval_start": rfc3339(start),
                "from_interval": rfc3339(prev),
                "records": n,
            });
            if fire {
                data::fire(app, &ctx, &p.rule, dt, start, &job.id, detail, true);
            }
        }
    }

    // F2, this interval as the original: which of its records get a late version, and where.
    for p in rules.late.iter().filter(|p| p.applies(&ctx, dt, start)) {
        let mut n = 0;
        let mut carriers = BTreeSet::new();
        for h in hours(start, len) {
            for r in hour_rows(scope, &base, h) {
                for v in late_versions(&ctx, &[p], &base, &layout, start, &r) {
                    n += 1;
                    carriers.insert(rfc3339(v.carrier));
                }
            }
        }
        let detail = json!({
            "action": "selected",
            "effect": effect::SELECTED,
            "interval_start": rfc3339(start),
            "records": n,
            "carried_by_intervals": carriers,
        });
        if fire {
            data::fire(app, &ctx, &p.rule, dt, start, &job.id, detail, true);
        }
    }

    // F2, this interval as a carrier: late versions of earlier records updated in it.
    let mut late = Vec::new();
    for p in rules.late.iter().filter(|p| data::for_data_type(&p.rule, dt)) {
        let crate::faults::params::Params::LateUpdate {
            min_delay_hours,
            max_delay_hours,
            ..
        } = p.rule.params
        else {
            continue;
        };
        let min = Duration::microseconds((min_delay_hours * 3_600_000_000.0) as i64);
        let max = Duration::microseconds((max_delay_hours * 3_600_000_000.0).ceil() as i64);
        let mut n = 0;
        let mut origins = BTreeSet::new();
        for j in data::late_sources(&ctx, &p.rule, start) {
            if !p.applies(&ctx, dt, j) {
                continue;
            }
            for h in hours(j, len) {
                // Updates of hour h's records fall in [h + min, h + 1h + lag + max]; the interval
                // right before this one may also carry over into it (see `data::carrier`).
                let reach = h + hour + data::MAX_FIRST_UPDATE_LAG + max;
                if j + len != start && (reach < start || h + min >= start + len) {
                    continue;
                }
                for r in hour_rows(scope, &base, h) {
                    for v in late_versions(&ctx, &[p], &base, &layout, j, &r) {
                        if v.carrier == start {
                            n += 1;
                            origins.insert(rfc3339(j));
                            late.push(v);
                        }
                    }
                }
            }
        }
        if n > 0 {
            let detail = json!({
                "action": "carried",
                "effect": effect::CARRIED,
                "interval_start": rfc3339(start),
                "records": n,
                "original_intervals": origins,
            });
            if fire {
                data::fire(app, &ctx, &p.rule, dt, start, &job.id, detail, false);
            }
        }
    }
    late.sort_by(|a, b| (a.updated_us, &a.key).cmp(&(b.updated_us, &b.key)));

    let added = rules.drift_columns(&ctx, &base, start);
    if added.is_empty() && withheld.is_empty() && carried.is_empty() && late.is_empty() && !shuffle {
        return None;
    }
    let prev_added = rules.drift_columns(&ctx, &base, prev);
    Some(Plan {
        ctx,
        base,
        layout,
        start,
        len,
        added,
        prev_added,
        withheld,
        carried,
        late,
        shuffle,
    })
}

impl Plan {
    /// The interval's batches, hour by hour, in `schema`'s columns.
    fn into_batches<'a>(self, scope: Scope<'a>, schema: &'a DataTypeSchema) -> impl Iterator<Item = RecordBatch> + 'a {
        // Rows are built as base columns + added columns; map them onto the schema's order.
        let mut ext: Vec<&str> = self.base.columns.iter().map(|c| c.name.as_str()).collect();
        ext.extend(self.added.iter().map(|a| a.name.as_str()));
        let map: Vec<Option<usize>> = schema
            .columns
            .iter()
            .map(|c| ext.iter().position(|n| *n == c.name))
            .collect();
        let arrow = generate::arrow_schema(schema);
        let n_hours = self.len.num_hours().max(1);
        let mut late_by_hour: Vec<Vec<LateVersion>> = (0..n_hours).map(|_| Vec::new()).collect();
        for v in &self.late {
            let k = ((v.updated_us - to_us(self.start)).div_euclid(3_600_000_000)).clamp(0, n_hours - 1);
            late_by_hour[k as usize].push(v.clone());
        }
        (0..n_hours).map(move |k| {
            let rows = self.hour(scope, k, std::mem::take(&mut late_by_hour[k as usize]));
            let rows: Vec<Row> = rows
                .into_iter()
                .map(|r| {
                    map.iter()
                        .map(|i| i.and_then(|i| r.get(i).cloned()).unwrap_or(Cell::Null))
                        .collect()
                })
                .collect();
            rows::to_batch(schema, arrow.clone(), &rows)
        })
    }

    /// Rows of the `k`-th hour (base + added columns), in export order.
    fn hour(&self, scope: Scope<'_>, k: i64, late: Vec<LateVersion>) -> Vec<Row> {
        let (ctx, dt, layout) = (&self.ctx, self.base.name, &self.layout);
        let h = self.start + Duration::hours(k);
        let extend = |row: Row, home: &[Added]| with_added(ctx.seed, dt, layout, row, &self.added, home);
        // (completion time, key, row)
        let mut out: Vec<(i64, String, Row)> = Vec::new();
        for r in hour_rows(scope, &self.base, h) {
            let key = layout.key(&r);
            if self.withheld.contains(&key) {
                continue;
            }
            let done = if self.shuffle {
                data::completion_us(ctx, dt, &key, layout.event_us(&r), None)
            } else {
                0
            };
            out.push((done, key, extend(r, &self.added)));
        }
        if k == 0 {
            for r in &self.carried {
                let key = layout.key(r);
                let done = data::completion_us(ctx, dt, &key, layout.event_us(r), Some(self.start));
                out.push((done, key, extend(r.clone(), &self.prev_added)));
            }
        }
        for v in late {
            out.push((v.updated_us, v.key, extend(v.row, &self.added)));
        }
        if self.shuffle {
            out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        }
        out.into_iter().map(|(_, _, r)| r).collect()
    }
}

/// What any job of the interval at `start` writes for data type `dt`: the schema in force there
/// and the file's batches — computed without recording fault firings, for the truth (which must
/// know the columns a stripped Parquet file lacked, `null_column_strip`).
pub fn interval_file(
    app: &App,
    ctx: &Ctx,
    rules: &DataRules,
    dt: &str,
    start: Instant,
) -> Option<(DataTypeSchema, Vec<RecordBatch>)> {
    let base = ctx.category.data_type(dt)?;
    let in_force = rules.drift_in_force(ctx, dt, start);
    let added = data::added(&base, in_force.iter().map(|p| &p.rule));
    let schema = data::drifted(&base, in_force.len(), &added);
    let job = Job {
        id: String::new(),
        download_id: ctx.download_id.clone(),
        tenant_id: ctx.tenant_id.clone(),
        category: ctx.category.as_str().to_string(),
        status: String::new(),
        kind: String::new(),
        interval_start: start,
        interval_end: start + ctx.len(),
        start_time: start,
        end_time: start,
        prefix: String::new(),
        overwrite: false,
        output_files: Vec::new(),
        manifests: Vec::new(),
        record_counts: Default::default(),
        checksums: Default::default(),
        error_details: None,
    };
    let scope = Scope {
        seed: app.seed,
        tenant_id: &ctx.tenant_id,
    };
    let batches: Vec<RecordBatch> = match plan(app, &job, &schema, false) {
        Some(p) => p.into_batches(scope, &schema).collect(),
        None => generate::batches(scope, &schema, job.interval_start, job.interval_end).collect(),
    };
    Some((schema, batches))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    #[test]
    fn first_updates_come_within_the_lag_the_late_sources_assume() {
        let scope = Scope {
            seed: 42,
            tenant_id: "t-demo",
        };
        let lag = to_us(from_us(0) + data::MAX_FIRST_UPDATE_LAG);
        let day = parse_rfc3339("2026-01-05T00:00:00Z").unwrap_or_default();
        for c in Category::ALL {
            for d in c.data_types() {
                let layout = Layout::new(&d);
                for h in hours(day, Duration::hours(24)) {
                    for r in hour_rows(scope, &d, h) {
                        let gap = layout.updated_us(&r) - layout.event_us(&r);
                        assert!(gap > 0 && gap < lag, "{}: {gap}", d.name);
                    }
                }
            }
        }
    }
}
