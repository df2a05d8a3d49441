//! Job- and file-level faults of the export pipeline: `job_failed`, `job_timed_out` (F5),
//! `destination_rejects_write` (D8 by fault), `record_count_mismatch` (F8), `checksum_mismatch`
//! (F11), `duplicate_manifest`, `duplicate_partition` (F3), `placeholder_manifest`,
//! `partial_partition` (F4) and `null_column_strip` (D3/F6 family).
//!
//! When each is decided (once per job, with [`super::matching`] on the job's download, category,
//! data interval and id):
//! - at `JobStart` ([`plan_start`]): `job_timed_out` (it sets the job's end), `placeholder_manifest`
//!   and `partial_partition` (they write while the job runs). They fire at once;
//! - at `JobFinish` ([`plan_finish`]): the outcome (`job_failed`, then `destination_rejects_write`)
//!   and, when the job goes on to write, the file faults. They fire when the job ends, with the
//!   objects they wrote or touched.
//!
//! What happened at the start is kept with the job's state until its end ([`Started`], stored
//! in the same transaction as the firing), so a restart between start and finish changes
//! nothing. `download::export` applies the effects; docs/faults.md
//! describes them.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use chrono::Duration;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::params::Params;
use super::rules::Rule;
use super::{matching, record_firing, Target};
use crate::download::jobs::Job;
use crate::download::writer::{Format, CREATED_BY};
use crate::store::time::Instant;
use crate::store::{meta_get, meta_set, StoreResult};

/// `job_failed` (F5).
pub const JOB_FAILED: &str = "job_failed";
/// `job_timed_out` (F5).
pub const JOB_TIMED_OUT: &str = "job_timed_out";
/// `destination_rejects_write` (D8 by fault).
pub const DESTINATION_REJECTS_WRITE: &str = "destination_rejects_write";
/// `record_count_mismatch` (F8).
pub const RECORD_COUNT_MISMATCH: &str = "record_count_mismatch";
/// `checksum_mismatch` (F11).
pub const CHECKSUM_MISMATCH: &str = "checksum_mismatch";
/// `duplicate_manifest` (F3).
pub const DUPLICATE_MANIFEST: &str = "duplicate_manifest";
/// `duplicate_partition` (F3).
pub const DUPLICATE_PARTITION: &str = "duplicate_partition";
/// `placeholder_manifest` (F4).
pub const PLACEHOLDER_MANIFEST: &str = "placeholder_manifest";
/// `partial_partition` (F4).
pub const PARTIAL_PARTITION: &str = "partial_partition";
/// `null_column_strip` (D3, F6 family).
pub const NULL_COLUMN_STRIP: &str = "null_column_strip";

/// How long an export may run before the platform stops it (`job_timed_out`).
pub const TIME_LIMIT_MINUTES: i64 = 60;

/// `error_details` of a `job_failed` job unless the rule gives `params.message`.
pub const DEFAULT_FAILED: &str =
    "Export failed: upstream extraction service returned HTTP 500 (InternalError); partition not written";

/// `error_details` of a `job_timed_out` job unless the rule gives `params.message`.
pub const DEFAULT_TIMED_OUT: &str = "Export exceeded the 60-minute limit and was stopped; partition not written";

/// The target of a job (all its data types: `data_type` `None`) or of one of its data types.
pub fn target<'a>(job: &'a Job, data_type: Option<&'a str>) -> Target<'a> {
    Target {
        tenant_id: &job.tenant_id,
        download_id: Some(&job.download_id),
        category: Some(&job.category),
        data_type,
        start: job.interval_start,
        end: job.interval_end,
        subject: &job.id,
    }
}

/// Whether any rule of `kind` exists: one small query, so that a job meets the full matching
/// (every rule read and validated, per data type) only when a rule of the kind is there.
fn kind_present(c: &Connection, kind: &str) -> StoreResult<bool> {
    let n: i64 = c.query_row(
        "SELECT COUNT(*) FROM fault_rules WHERE json_extract(spec, '$.kind') = ?1",
        [kind],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// The first rule of `kind` for the whole job: a rule naming a data type applies only when the
/// job exports it.
fn job_rule(c: &Connection, seed: u64, kind: &str, job: &Job, data_types: &[String]) -> StoreResult<Option<Rule>> {
    if !kind_present(c, kind)? {
        return Ok(None);
    }
    Ok(matching(c, seed, kind, &target(job, None))?
        .into_iter()
        .find(|r| r.spec.data_type.as_ref().is_none_or(|dt| data_types.contains(dt))))
}

/// For each of the job's data types, the first rule of `kind` that applies to it.
fn file_rules(
    c: &Connection,
    seed: u64,
    kind: &str,
    job: &Job,
    data_types: &[String],
) -> StoreResult<BTreeMap<String, Rule>> {
    let mut out = BTreeMap::new();
    if !kind_present(c, kind)? {
        return Ok(out);
    }
    for dt in data_types {
        if let Some(r) = matching(c, seed, kind, &target(job, Some(dt)))?.into_iter().next() {
            out.insert(dt.clone(), r);
        }
    }
    Ok(out)
}

fn message(rule: &Rule, default: impl FnOnce() -> String) -> String {
    match &rule.params {
        Params::Error { message: Some(m) } => m.clone(),
        _ => default(),
    }
}

// ---- JobStart ---------------------------------------------------------------------------------

/// The faults decided when a job starts.
#[derive(Debug, Default)]
pub struct StartPlan {
    /// `job_timed_out`: the job runs [`TIME_LIMIT_MINUTES`], then ends `TIMED_OUT`.
    pub timed_out: Option<Rule>,
    /// `placeholder_manifest` per data type: an empty manifest while the job runs.
    pub placeholder: BTreeMap<String, Rule>,
    /// `partial_partition` per data type: the first half of the rows while the job runs.
    pub partial: BTreeMap<String, Rule>,
}

impl StartPlan {
    /// Whether the start writes objects.
    pub fn writes(&self) -> bool {
        !self.placeholder.is_empty() || !self.partial.is_empty()
    }
}

/// Decides the start faults of `job` (exporting `data_types`), now RUNNING.
pub fn plan_start(c: &Connection, seed: u64, job: &Job, data_types: &[String]) -> StoreResult<StartPlan> {
    Ok(StartPlan {
        timed_out: job_rule(c, seed, JOB_TIMED_OUT, job, data_types)?,
        placeholder: file_rules(c, seed, PLACEHOLDER_MANIFEST, job, data_types)?,
        partial: file_rules(c, seed, PARTIAL_PARTITION, job, data_types)?,
    })
}

/// The end of a job that times out, started at `start`.
pub fn timed_out_end(start: Instant) -> Instant {
    start + Duration::minutes(TIME_LIMIT_MINUTES)
}

/// Records the `job_timed_out` firing (at the job's start, when it is decided; it writes
/// nothing). `job` is RUNNING with its end already moved to [`timed_out_end`].
pub fn fire_timed_out(c: &Connection, at: Instant, rule: &Rule, job: &Job) -> StoreResult<()> {
    let error = message(rule, || DEFAULT_TIMED_OUT.to_string());
    let detail = json!({
        "effect": format!("the job runs into the {TIME_LIMIT_MINUTES}-minute limit and ends TIMED_OUT"),
        "error_details": &error,
        "end_time": crate::store::time::rfc3339(job.end_time),
    });
    let t = target(job, rule.spec.data_type.as_deref());
    record_firing(c, at, rule, &t, Some(&job.id), Vec::new(), detail, true)?;
    remember_started(c, &job.id, |s| s.timed_out = Some(error))
}

/// The first `rows / 2` rows of `batches` (a partial partition: the hours exported so far).
pub fn first_half(batches: impl IntoIterator<Item = RecordBatch>) -> (Vec<RecordBatch>, u64, u64) {
    let all: Vec<RecordBatch> = batches.into_iter().collect();
    let total: usize = all.iter().map(RecordBatch::num_rows).sum();
    let mut left = total / 2;
    let mut kept = Vec::new();
    for b in all {
        if left == 0 {
            break;
        }
        let n = b.num_rows().min(left);
        kept.push(b.slice(0, n));
        left -= n;
    }
    (kept, (total / 2) as u64, total as u64)
}

// ---- What the start did (read back at the finish) ---------------------------------------------

/// A data file a `partial_partition` firing wrote at the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialPart {
    /// Key in the bucket (the job's final file replaces it).
    pub key: String,
    /// `s3://bucket/key`.
    pub uri: String,
    /// Hex SHA-256 of the partial bytes.
    pub sha256: String,
    /// Rows in the partial file.
    pub rows: u64,
}

/// What a job's start faults did, kept until its end.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Started {
    /// `job_timed_out`: the `error_details`.
    pub timed_out: Option<String>,
    /// `partial_partition`: the partial file per data type.
    pub partial: BTreeMap<String, PartialPart>,
    /// `placeholder_manifest`: the placeholder manifests written (`s3://` URIs).
    pub placeholders: Vec<String>,
}

/// Where a running job's start decisions are kept: a `meta` entry (indexed by key, stored with
/// the job's own updates, wiped by a reset), written in the transaction that records the
/// firing and removed in the one that ends the job ([`forget_started`]).
fn started_key(job_id: &str) -> String {
    format!("fault.started.{job_id}")
}

/// What the start faults of `job_id` did (nothing when none fired).
pub fn started(c: &Connection, job_id: &str) -> StoreResult<Started> {
    match meta_get(c, &started_key(job_id))? {
        Some(text) => Ok(serde_json::from_str(&text)?),
        None => Ok(Started::default()),
    }
}

fn remember_started(c: &Connection, job_id: &str, f: impl FnOnce(&mut Started)) -> StoreResult<()> {
    let mut s = started(c, job_id)?;
    f(&mut s);
    meta_set(c, &started_key(job_id), &serde_json::to_string(&s)?)
}

/// Drops the start decisions of a job that has ended.
pub fn forget_started(c: &Connection, job_id: &str) -> StoreResult<()> {
    c.execute("DELETE FROM meta WHERE key = ?1", [started_key(job_id)])?;
    Ok(())
}

// ---- JobFinish --------------------------------------------------------------------------------

/// How a faulted job ends instead of writing its files.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `job_timed_out` (decided at the start): `TIMED_OUT` with these `error_details`.
    TimedOut(String),
    /// `job_failed`: `FAILED` with these `error_details`; the download stays active.
    Failed(Rule, String),
    /// `destination_rejects_write`: a refusal (D8) with these `error_details`.
    Rejected(Rule, String),
}

/// The faults of a job at its finish.
#[derive(Debug, Default)]
pub struct FinishPlan {
    /// What the start faults did.
    pub started: Started,
    /// The job ends without writing (its file faults are then not considered).
    pub outcome: Option<Outcome>,
    /// `record_count_mismatch` per data type.
    pub record_count: BTreeMap<String, Rule>,
    /// `checksum_mismatch` per data type.
    pub checksum: BTreeMap<String, Rule>,
    /// `duplicate_manifest` per data type.
    pub duplicate_manifest: BTreeMap<String, Rule>,
    /// `duplicate_partition` per data type.
    pub duplicate_partition: BTreeMap<String, Rule>,
    /// `null_column_strip` per data type (Parquet only).
    pub null_strip: BTreeMap<String, Rule>,
}

/// Decides how `job` (exporting `data_types` as `format`) finishes; `access_denied` is what its
/// destination answers a writer without permission (`destination_rejects_write`'s default).
pub fn plan_finish(
    c: &Connection,
    seed: u64,
    job: &Job,
    data_types: &[String],
    format: Format,
    access_denied: &str,
) -> StoreResult<FinishPlan> {
    let started = started(c, &job.id)?;
    let outcome = if let Some(e) = &started.timed_out {
        Some(Outcome::TimedOut(e.clone()))
    } else if let Some(r) = job_rule(c, seed, JOB_FAILED, job, data_types)? {
        let m = message(&r, || DEFAULT_FAILED.to_string());
        Some(Outcome::Failed(r, m))
    } else if let Some(r) = job_rule(c, seed, DESTINATION_REJECTS_WRITE, job, data_types)? {
        let m = message(&r, || access_denied.to_string());
        Some(Outcome::Rejected(r, m))
    } else {
        None
    };
    if outcome.is_some() {
        return Ok(FinishPlan {
            started,
            outcome,
            ..FinishPlan::default()
        });
    }
    Ok(FinishPlan {
        started,
        outcome,
        record_count: file_rules(c, seed, RECORD_COUNT_MISMATCH, job, data_types)?,
        checksum: file_rules(c, seed, CHECKSUM_MISMATCH, job, data_types)?,
        duplicate_manifest: file_rules(c, seed, DUPLICATE_MANIFEST, job, data_types)?,
        duplicate_partition: file_rules(c, seed, DUPLICATE_PARTITION, job, data_types)?,
        null_strip: match format {
            Format::Parquet => file_rules(c, seed, NULL_COLUMN_STRIP, job, data_types)?,
            Format::Csv => BTreeMap::new(),
        },
    })
}

/// `params.copies` of a duplicate rule (1 by default).
pub fn copies(rule: &Rule) -> u32 {
    match rule.params {
        Params::Copies { copies } => copies,
        _ => 1,
    }
}

/// `params.min_null_fraction` of a `null_column_strip` rule.
pub fn min_null_fraction(rule: &Rule) -> f64 {
    match rule.params {
        Params::NullColumnStrip { min_null_fraction } => min_null_fraction,
        _ => 0.5,
    }
}

/// The `record_count` a `record_count_mismatch` rule reports for `rows` written: `percent` more
/// (or fewer), rounded, never negative, and always different from `rows` (at least one off).
pub fn skewed_count(rule: &Rule, rows: u64) -> u64 {
    let percent = match rule.params {
        Params::RecordCountMismatch { percent } => percent,
        _ => 10.0,
    };
    let reported = ((rows as f64) * (1.0 + percent / 100.0)).round().max(0.0) as u64;
    if reported != rows {
        reported
    } else if percent < 0.0 && rows > 0 {
        rows - 1
    } else {
        rows + 1
    }
}

/// Corrupts a written file in place for `checksum_mismatch`: same size, one byte changed.
/// Returns the offset changed.
///
/// - Parquet: the last byte of the last column chunk (the tail of its last data page) is
///   inverted, so the footer still opens but that page decodes wrong or not at all. A zero-row
///   file has no pages: the last letter of its `created_by` changes case instead.
/// - CSV: the last digit after the header becomes the next digit (a silently wrong value); a
///   zero-row file's final `\r\n` becomes `\n\n`.
pub fn corrupt(format: Format, bytes: &mut [u8]) -> usize {
    let change = match format {
        Format::Parquet => parquet_change(bytes),
        Format::Csv => csv_change(bytes),
    };
    // Unreachable for files our writers made; invert a middle byte rather than do nothing.
    let (at, new) = change.unwrap_or_else(|| {
        let at = bytes.len() / 2;
        (at, bytes.get(at).map_or(0, |b| !b))
    });
    if let Some(b) = bytes.get_mut(at) {
        *b = new;
    }
    at
}

fn parquet_change(bytes: &[u8]) -> Option<(usize, u8)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes)).ok()?;
    let last_chunk = reader
        .metadata()
        .row_groups()
        .iter()
        .rev()
        .find_map(|rg| rg.columns().last().map(|c| c.byte_range()));
    match last_chunk {
        Some((start, len)) if len > 0 => {
            let at = usize::try_from(start + len - 1).ok()?;
            Some((at, !*bytes.get(at)?))
        }
        _ => {
            let name = CREATED_BY.as_bytes();
            let at = bytes.windows(name.len()).rposition(|w| w == name)? + name.len() - 1;
            Some((at, bytes[at] ^ 0x20))
        }
    }
}

fn csv_change(bytes: &[u8]) -> Option<(usize, u8)> {
    let header_end = bytes.iter().position(|&b| b == b'\n')? + 1;
    match bytes[header_end..].iter().rposition(u8::is_ascii_digit) {
        Some(i) => {
            let at = header_end + i;
            Some((at, b'0' + (bytes[at] - b'0' + 1) % 10))
        }
        None => bytes.ends_with(b"\r\n").then(|| (bytes.len() - 2, b'\n')),
    }
}

// ---- Firings ----------------------------------------------------------------------------------

/// One rule's firing on a job, waiting to be recorded with what it wrote or touched.
#[derive(Debug, Clone)]
pub struct Firing {
    /// The rule.
    pub rule: Rule,
    /// Full `s3://bucket/key` of every object written or touched.
    pub objects: Vec<String>,
    /// The event's detail.
    pub detail: Value,
}

/// The firings of one job step, one per rule (a rule acting on several data types fires once,
/// listing every object and a `files` entry per data type).
#[derive(Debug, Clone, Default)]
pub struct Firings(pub Vec<Firing>);

impl Firings {
    /// Adds what `rule` did to one file (data type): its objects and a `files` entry.
    pub fn file(&mut self, rule: &Rule, effect: &str, objects: Vec<String>, file: Value) {
        let i = match self.0.iter().position(|f| f.rule.id == rule.id) {
            Some(i) => i,
            None => {
                self.0.push(Firing {
                    rule: rule.clone(),
                    objects: Vec::new(),
                    detail: json!({"effect": effect, "files": []}),
                });
                self.0.len() - 1
            }
        };
        let f = &mut self.0[i];
        f.objects.extend(objects);
        if let Some(files) = f.detail["files"].as_array_mut() {
            files.push(file);
        }
    }

    /// Adds a job-level firing.
    pub fn job(&mut self, rule: &Rule, objects: Vec<String>, detail: Value) {
        self.0.push(Firing {
            rule: rule.clone(),
            objects,
            detail,
        });
    }

    /// Whether nothing fired.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records every firing on `job` (a `fault` event each; each uses one of the rule's
    /// `next_jobs`), and keeps what start faults wrote for the job's end.
    pub fn record(&self, c: &Connection, at: Instant, job: &Job) -> StoreResult<()> {
        for f in &self.0 {
            let t = target(job, f.rule.spec.data_type.as_deref());
            record_firing(
                c,
                at,
                &f.rule,
                &t,
                Some(&job.id),
                f.objects.clone(),
                f.detail.clone(),
                true,
            )?;
            match f.rule.spec.kind.as_str() {
                PLACEHOLDER_MANIFEST => remember_started(c, &job.id, |s| s.placeholders.extend(f.objects.clone()))?,
                PARTIAL_PARTITION => remember_started(c, &job.id, |s| {
                    for file in f.detail["files"].as_array().into_iter().flatten() {
                        let text = |k: &str| file[k].as_str().unwrap_or_default().to_string();
                        s.partial.entry(text("data_type")).or_insert(PartialPart {
                            key: text("key"),
                            uri: text("uri"),
                            sha256: text("sha256"),
                            rows: file["rows"].as_u64().unwrap_or(0),
                        });
                    }
                })?,
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::faults::rules::RuleSpec;

    /// A bare rule of `kind`.
    fn detached(id: &str, kind: &str) -> Rule {
        Rule {
            id: id.to_string(),
            spec: RuleSpec {
                kind: kind.to_string(),
                ..RuleSpec::default()
            },
            from: None,
            until: None,
            params: Params::None,
            remaining: None,
            fired: 0,
            created_at: Instant::default(),
        }
    }

    fn rule(params: Params) -> Rule {
        let mut r = detached("fault-x", RECORD_COUNT_MISMATCH);
        r.params = params;
        r
    }

    #[test]
    fn f8_skewed_count_always_differs() {
        let up = rule(Params::RecordCountMismatch { percent: 10.0 });
        assert_eq!(skewed_count(&up, 100), 110);
        assert_eq!(skewed_count(&up, 0), 1);
        assert_eq!(skewed_count(&up, 2), 3);
        let down = rule(Params::RecordCountMismatch { percent: -100.0 });
        assert_eq!(skewed_count(&down, 50), 0);
        assert_eq!(skewed_count(&down, 0), 1);
        let small = rule(Params::RecordCountMismatch { percent: -1.0 });
        assert_eq!(skewed_count(&small, 10), 9);
    }

    #[test]
    fn f11_csv_corruption_keeps_the_size() {
        let mut csv = b"a,b\r\n1,x\r\n22,y\r\n".to_vec();
        let before = csv.clone();
        let at = corrupt(Format::Csv, &mut csv);
        assert_eq!(csv.len(), before.len());
        assert_eq!(at, 11);
        assert_eq!(&csv, b"a,b\r\n1,x\r\n23,y\r\n");
        let mut empty = b"a,b\r\n".to_vec();
        corrupt(Format::Csv, &mut empty);
        assert_eq!(&empty, b"a,b\n\n");
    }
}
