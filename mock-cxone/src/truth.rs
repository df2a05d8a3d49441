//! The ground truth (`GET /_mock/truth`, CONTRACT §5; docs/truth.md): what a correct pipeline
//! holds for one data type of one download — the latest version of every record whose event time
//! falls in a range, counting the versions whose scheduled export time is at or before `as_of`.
//!
//! Computed, never recorded: records are a pure function of (seed, tenant, hour), and the data
//! faults (`faults::data`) a pure function of (seed, rules, download, interval), so the truth
//! re-derives every version the exports carry — late updates (F2) and schema drift (F6) included —
//! without looking at what was written. Faults that do not change data (out-of-order files, F1;
//! duplicates, failures, lag, ...) leave it as it is. Parquet's stripping of null-heavy columns
//! (`null_column_strip`, D3) loses the values of the columns a file drops: the truth has null there
//! for the versions that file carries, as every reader of it does.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::download::catalog::DataTypeSchema;
use crate::download::config;
use crate::download::generate::rows::{Cell, Row};
use crate::download::generate::Scope;
use crate::download::records::{self, Layout};
use crate::download::writer::{self, WriteOptions};
use crate::faults::data::{self, Added, Ctx, DataRules, Prepared};
use crate::faults::effects;
use crate::faults::rules::Rule;
use crate::store::time::{to_us, Instant};
use crate::store::StoreError;

/// The longest range one query may cover.
pub const MAX_RANGE_DAYS: i64 = 93;

/// Intervals walked at most to find whether a drift rule is in force by `as_of`.
const MAX_SCAN: usize = 200_000;

/// A validated truth query.
#[derive(Debug, Clone)]
pub struct Query {
    /// The download.
    pub download_id: String,
    /// One of its data types.
    pub data_type: String,
    /// Event times from (inclusive).
    pub start: Instant,
    /// ... to (exclusive).
    pub end: Instant,
    /// Versions scheduled for export at or before this instant count.
    pub as_of: Instant,
}

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The truth of one query: columns and records (each a row of `columns`), sorted by event time
/// then key.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Key columns of the data type.
    pub key_columns: Vec<String>,
    /// Its event-time column.
    pub event_time_column: String,
    /// Every column of the newest schema (drift included), in file order.
    pub columns: Vec<String>,
    /// The records.
    pub records: Vec<Row>,
}

/// Computes the truth of `q`.
pub fn compute(app: &App, q: &Query) -> Result<Truth, TruthError> {
    if q.start >= q.end {
        return Err(TruthError::BadRequest("start_time must be before end_time".into()));
    }
    if q.end - q.start > Duration::days(MAX_RANGE_DAYS) {
        return Err(TruthError::BadRequest(format!(
            "the range covers more than {MAX_RANGE_DAYS} days; ask for less"
        )));
    }
    let d = app
        .store
        .with(|c| config::get_any(c, &q.download_id))?
        .ok_or_else(|| TruthError::NotFound(format!("no data download {:?}", q.download_id)))?;
    let ctx = Ctx::new(app.seed, &d)
        .ok_or_else(|| TruthError::BadRequest(format!("download {:?} has no valid configuration", d.id)))?;
    if !ctx.data_types.contains(&q.data_type) {
        return Err(TruthError::BadRequest(format!(
            "data type {:?} is not one of download {}'s: {}",
            q.data_type,
            d.id,
            ctx.data_types.join(", ")
        )));
    }
    let base = ctx
        .category
        .data_type(&q.data_type)
        .ok_or_else(|| TruthError::BadRequest(format!("unknown data type {:?}", q.data_type)))?;
    let rules = app.store.with(|c| DataRules::load(c, &ctx))?;
    // CSV keeps every column (D3): stripping only concerns Parquet downloads.
    let strip = match d.valid().map(|v| v.spec.format) {
        Ok(f) if f == "parquet" => app.store.with(|c| data::strip_rules(c, &ctx))?,
        _ => Vec::new(),
    };
    Ok(Builder::new(app, &ctx, &rules, strip, base, q.as_of).build(q.start, q.end))
}

/// The drift rules whose columns have reached an export by `as_of`: the newest schema's.
fn newest_added(ctx: &Ctx, rules: &DataRules, base: &DataTypeSchema, as_of: Instant) -> Vec<Added> {
    let in_force = rules.drift.iter().filter(|p| in_force_by(ctx, p, base.name, as_of));
    data::added(base, in_force.map(|p| &p.rule))
}

fn in_force_by(ctx: &Ctx, p: &Prepared, dt: &str, as_of: Instant) -> bool {
    if !data::for_data_type(&p.rule, dt) {
        return false;
    }
    let mut from = ctx.created_at;
    if let crate::faults::params::Params::SchemaDrift { at, .. } = &p.rule.params {
        from = from.max(*at - ctx.len());
    }
    if let Some(f) = p.rule.from {
        from = from.max(f - ctx.len());
    }
    let mut s = ctx.interval_start(from);
    for _ in 0..MAX_SCAN {
        if ctx.scheduled_export(s) > as_of || p.rule.until.is_some_and(|u| s >= u) {
            return false;
        }
        if p.applies(ctx, dt, s) {
            return true;
        }
        s += ctx.len();
    }
    false
}

/// Per-interval facts, computed once per query.
struct Interval<'r> {
    scheduled: Instant,
    late: Vec<&'r Prepared>,
    added: Vec<Added>,
    /// Columns the interval's Parquet file lacks under a `null_column_strip` rule (None: not
    /// computed yet — it takes generating the whole file).
    stripped: Option<Vec<String>>,
}

struct Builder<'a> {
    app: &'a App,
    strip: Vec<Rule>,
    ctx: &'a Ctx,
    rules: &'a DataRules,
    base: DataTypeSchema,
    layout: Layout,
    as_of: Instant,
    newest: Vec<Added>,
    intervals: HashMap<Instant, Interval<'a>>,
}

impl<'a> Builder<'a> {
    fn new(
        app: &'a App,
        ctx: &'a Ctx,
        rules: &'a DataRules,
        strip: Vec<Rule>,
        base: DataTypeSchema,
        as_of: Instant,
    ) -> Self {
        let newest = newest_added(ctx, rules, &base, as_of);
        Builder {
            app,
            strip,
            ctx,
            rules,
            layout: Layout::new(&base),
            base,
            as_of,
            newest,
            intervals: HashMap::new(),
        }
    }

    fn interval(&mut self, start: Instant) -> &Interval<'a> {
        let (ctx, rules, base) = (self.ctx, self.rules, &self.base);
        self.intervals.entry(start).or_insert_with(|| Interval {
            scheduled: ctx.scheduled_export(start),
            late: rules.late.iter().filter(|p| p.applies(ctx, base.name, start)).collect(),
            added: rules.drift_columns(ctx, base, start),
            stripped: None,
        })
    }

    /// The interval whose file carries the first version of `row` (an hour's record of the
    /// interval at `j`): its own, or the next one when an out-of-order rule (F1) holds it back —
    /// `records::plan` decides the same from the same rules.
    fn file_of_first(&self, j: Instant, hour: Instant, row: &Row) -> Instant {
        let next = j + self.ctx.len();
        if hour + Duration::hours(1) != next {
            return j; // only the interval's last hour is ever carried
        }
        let (subject, event) = (self.layout.subject(row), self.layout.event_us(row));
        let carried = self.rules.ooo.iter().any(|p| {
            p.applies(self.ctx, self.base.name, next) && data::ooo_carries(self.ctx, &p.rule, next, &subject, event)
        });
        if carried {
            next
        } else {
            j
        }
    }

    /// The columns the Parquet file of the interval at `start` drops beyond all-null ones' values
    /// (which are null anyway): those of its `null_column_strip` rule, from the file's own rows.
    fn stripped(&mut self, start: Instant) -> Vec<String> {
        if let Some(s) = self.interval(start).stripped.clone() {
            return s;
        }
        let dt = self.base.name;
        let cols = match data::strip_for(&self.strip, self.ctx, dt, start) {
            None => Vec::new(),
            Some(rule) => match records::interval_file(self.app, self.ctx, self.rules, dt, start) {
                None => Vec::new(),
                Some((schema, batches)) => {
                    let options = WriteOptions {
                        min_null_fraction: Some(effects::min_null_fraction(rule)),
                    };
                    writer::dropped_columns(options, &schema.arrow_schema(), &batches)
                }
            },
        };
        if let Some(i) = self.intervals.get_mut(&start) {
            i.stripped = Some(cols.clone());
        }
        cols
    }

    fn build(mut self, start: Instant, end: Instant) -> Truth {
        let scope = Scope {
            seed: self.ctx.seed,
            tenant_id: &self.ctx.tenant_id,
        };
        let (lo, hi) = (to_us(start), to_us(end));
        let mut columns: Vec<String> = self.base.columns.iter().map(|c| c.name.clone()).collect();
        columns.extend(self.newest.iter().map(|a| a.name.clone()));
        let mut records = Vec::new();
        let mut seen = HashSet::new();
        let mut h = start - Duration::microseconds(to_us(start).rem_euclid(3_600_000_000));
        while h < end {
            let j = self.ctx.interval_start(h);
            let hour = h;
            h += Duration::hours(1);
            if !self.ctx.covered(j) {
                continue;
            }
            let (scheduled, late) = {
                let i = self.interval(j);
                (i.scheduled, i.late.clone())
            };
            if scheduled > self.as_of {
                continue; // not exported yet: neither are its late versions (carried later still)
            }
            let mut hour_records: Vec<(i64, Row)> = Vec::new();
            for r in records::hour_rows(scope, &self.base, hour) {
                let event = self.layout.event_us(&r);
                if event < lo || event >= hi {
                    continue;
                }
                let mut best: (i64, Row, Instant) = (self.layout.updated_us(&r), r.clone(), j);
                let (r_first, mut first) = (r, true);
                for v in records::late_versions(self.ctx, &late, &self.base, &self.layout, j, &r_first) {
                    let as_of = self.as_of;
                    if v.updated_us > best.0 && self.interval(v.carrier).scheduled <= as_of {
                        best = (v.updated_us, v.row, v.carrier);
                        first = false;
                    }
                }
                if !seen.insert(self.layout.key(&best.1)) {
                    continue;
                }
                let home = self.interval(best.2).added.clone();
                let mut row =
                    records::with_added(self.ctx.seed, self.base.name, &self.layout, best.1, &self.newest, &home);
                if !self.strip.is_empty() {
                    // The file that carries this version: a first version held back by F1 is in
                    // the next interval's file, and that file's stripping is the one that counts.
                    let file = if first {
                        self.file_of_first(j, hour, &r_first)
                    } else {
                        best.2
                    };
                    for name in self.stripped(file) {
                        if let Some(cell) = columns.iter().position(|c| *c == name).and_then(|i| row.get_mut(i)) {
                            *cell = Cell::Null;
                        }
                    }
                }
                hour_records.push((event, row));
            }
            let keys = &self.layout;
            hour_records.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp_keys(keys, &a.1, &b.1)));
            records.extend(hour_records.into_iter().map(|(_, r)| r));
        }
        Truth {
            key_columns: self.base.key_columns.iter().map(|k| k.to_string()).collect(),
            event_time_column: self.base.event_time_column.to_string(),
            columns,
            records,
        }
    }
}

fn cmp_cell(a: &Cell, b: &Cell) -> Ordering {
    match (a, b) {
        (Cell::Str(x), Cell::Str(y)) => x.cmp(y),
        (Cell::Int(x), Cell::Int(y)) => x.cmp(y),
        (Cell::Time(x), Cell::Time(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn cmp_keys(layout: &Layout, a: &Row, b: &Row) -> Ordering {
    layout.key_positions().iter().fold(Ordering::Equal, |o, i| {
        o.then_with(|| cmp_cell(a.get(*i).unwrap_or(&Cell::Null), b.get(*i).unwrap_or(&Cell::Null)))
    })
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn json_cell(c: &Cell) -> String {
    c.to_json().to_string()
}

impl Truth {
    /// One record as a JSON object, columns in file order.
    fn record_json(&self, row: &Row, out: &mut String) {
        out.push('{');
        for (i, name) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{}:{}",
                json_str(name),
                json_cell(row.get(i).unwrap_or(&Cell::Null))
            );
        }
        out.push('}');
    }

    /// The `GET /_mock/truth` body: `{"key_columns","event_time_column","records"}`.
    pub fn to_json_string(&self) -> String {
        let mut out = String::with_capacity(256 + self.records.len() * 256);
        let keys: Vec<String> = self.key_columns.iter().map(|k| json_str(k)).collect();
        let _ = write!(
            out,
            "{{\"key_columns\":[{}],\"event_time_column\":{},\"records\":[",
            keys.join(","),
            json_str(&self.event_time_column)
        );
        for (n, r) in self.records.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            self.record_json(r, &mut out);
        }
        out.push_str("]}");
        out
    }

    /// A record's canonical line: a JSON object with keys sorted by code point, no whitespace,
    /// non-ASCII unescaped — Python's `json.dumps(r, sort_keys=True, separators=(",", ":"),
    /// ensure_ascii=False)`.
    pub fn canonical_line(&self, row: &Row) -> String {
        let mut order: Vec<usize> = (0..self.columns.len()).collect();
        order.sort_by(|a, b| self.columns[*a].cmp(&self.columns[*b]));
        let mut out = String::from("{");
        for (n, i) in order.into_iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{}:{}",
                json_str(&self.columns[i]),
                json_cell(row.get(i).unwrap_or(&Cell::Null))
            );
        }
        out.push('}');
        out
    }

    /// `sha256:<hex>` of the canonical lines sorted (byte order), each followed by `\n`:
    /// independent of record order.
    pub fn checksum(&self) -> String {
        let mut lines: Vec<String> = self.records.iter().map(|r| self.canonical_line(r)).collect();
        lines.sort_unstable();
        let mut h = Sha256::new();
        for l in &lines {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// The `format=summary` body.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({"count": self.records.len(), "checksum": self.checksum()})
    }
}
