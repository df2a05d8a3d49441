//! Export jobs (D6): one per interval of a download (scheduled) or per interval of a manual
//! export (D7). `PENDING` → `RUNNING` → `COMPLETED` | `FAILED` | `TIMED_OUT`, on the mock clock.

use std::collections::BTreeMap;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// Waiting for its start time.
pub const PENDING: &str = "PENDING";
/// Started, files not yet complete.
pub const RUNNING: &str = "RUNNING";
/// Every file and manifest written.
pub const COMPLETED: &str = "COMPLETED";
/// The destination refused a write, or a fault failed it (F5). Never retried.
pub const FAILED: &str = "FAILED";
/// Ran out of time (F5). Never retried.
pub const TIMED_OUT: &str = "TIMED_OUT";
/// Every status, for filter validation.
pub const STATUSES: [&str; 5] = [PENDING, RUNNING, COMPLETED, FAILED, TIMED_OUT];

/// A job row.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// `job-<uuid>`.
    pub id: String,
    /// Its download.
    pub download_id: String,
    /// Owner of the download.
    pub tenant_id: String,
    /// The download's category.
    pub category: String,
    /// One of [`STATUSES`].
    pub status: String,
    /// `scheduled` or `manual`.
    pub kind: String,
    /// The data interval.
    pub interval_start: Instant,
    /// End of the data interval.
    pub interval_end: Instant,
    /// When it starts (planned while PENDING).
    pub start_time: Instant,
    /// When it ends (planned while PENDING or RUNNING; shown only once it has ended).
    pub end_time: Instant,
    /// Key prefix its files go under (the download's, or a manual export's `destination_prefix`).
    pub prefix: String,
    /// Whether existing objects may be replaced (manual exports only; scheduled jobs never do).
    pub overwrite: bool,
    /// `s3://bucket/key` of every data file written.
    pub output_files: Vec<String>,
    /// `s3://bucket/key` of every manifest written.
    pub manifests: Vec<String>,
    /// Rows per data type.
    pub record_counts: BTreeMap<String, u64>,
    /// `sha256:<hex>` per output file.
    pub checksums: BTreeMap<String, String>,
    /// Why it failed.
    pub error_details: Option<String>,
}

impl Job {
    /// Whether it has ended.
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), COMPLETED | FAILED | TIMED_OUT)
    }

    /// The JOB shape of CONTRACT §4.
    pub fn to_json(&self) -> Value {
        let record_count: u64 = self.record_counts.values().sum();
        json!({
            "id": self.id,
            "download_id": self.download_id,
            "category": self.category,
            "status": self.status,
            "kind": self.kind,
            "start_time": rfc3339(self.start_time),
            "end_time": self.is_final().then(|| rfc3339(self.end_time)),
            "interval_start": rfc3339(self.interval_start),
            "interval_end": rfc3339(self.interval_end),
            "output_files": self.output_files,
            "manifests": self.manifests,
            "record_count": record_count,
            "record_counts": self.record_counts,
            "checksums": self.checksums,
            "error_details": self.error_details,
        })
    }
}

const COLUMNS: &str = "job_id, download_id, tenant_id, category, status, kind, interval_start, interval_end, \
     start_time, end_time, prefix, overwrite, output_files, manifests, record_counts, checksums, error_details";

fn json_col<T: serde::de::DeserializeOwned + Default>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: Option<String> = r.get(i)?;
    Ok(s.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        download_id: r.get(1)?,
        tenant_id: r.get(2)?,
        category: r.get(3)?,
        status: r.get(4)?,
        kind: r.get(5)?,
        interval_start: from_us(r.get(6)?),
        interval_end: from_us(r.get(7)?),
        start_time: from_us(r.get(8)?),
        end_time: from_us(r.get(9)?),
        prefix: r.get(10)?,
        overwrite: r.get(11)?,
        output_files: json_col(r, 12)?,
        manifests: json_col(r, 13)?,
        record_counts: json_col(r, 14)?,
        checksums: json_col(r, 15)?,
        error_details: r.get(16)?,
    })
}

fn to_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Stores a new job.
pub fn insert(c: &Connection, j: &Job) -> StoreResult<()> {
    c.execute(
        &format!("INSERT INTO jobs ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"),
        params![
            j.id,
            j.download_id,
            j.tenant_id,
            j.category,
            j.status,
            j.kind,
            to_us(j.interval_start),
            to_us(j.interval_end),
            to_us(j.start_time),
            to_us(j.end_time),
            j.prefix,
            j.overwrite,
            to_text(&j.output_files),
            to_text(&j.manifests),
            to_text(&j.record_counts),
            to_text(&j.checksums),
            j.error_details,
        ],
    )?;
    Ok(())
}

/// Saves a job's progress (status, times, outputs).
pub fn update(c: &Connection, j: &Job) -> StoreResult<()> {
    c.execute(
        "UPDATE jobs SET status=?2, start_time=?3, end_time=?4, output_files=?5, manifests=?6, record_counts=?7, \
         checksums=?8, error_details=?9 WHERE job_id=?1",
        params![
            j.id,
            j.status,
            to_us(j.start_time),
            to_us(j.end_time),
            to_text(&j.output_files),
            to_text(&j.manifests),
            to_text(&j.record_counts),
            to_text(&j.checksums),
            j.error_details,
        ],
    )?;
    Ok(())
}

/// One job by id.
pub fn get(c: &Connection, job_id: &str) -> StoreResult<Option<Job>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM jobs WHERE job_id=?1"),
        [job_id],
        from_row,
    )
    .optional()?)
}

/// Jobs not yet ended, with the instant of their next step (start-up scheduling).
pub fn unfinished(c: &Connection) -> StoreResult<Vec<Job>> {
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE status IN ('PENDING','RUNNING') ORDER BY rowid"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ended jobs of a download whose files were written at or before `before` and whose retention
/// state is one of `states` (D9).
pub fn ended_before(c: &Connection, download_id: &str, before: Instant, states: &[&str]) -> StoreResult<Vec<Job>> {
    let states: Vec<String> = states.iter().map(|s| format!("'{s}'")).collect();
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE download_id=?1 AND status IN ('COMPLETED','FAILED','TIMED_OUT') \
         AND end_time <= ?2 AND retention IN ({}) ORDER BY rowid",
        states.join(",")
    ))?;
    let rows = st.query_map(params![download_id, to_us(before)], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records how far retention has gone for a job's files (`cold` or `deleted`).
pub fn set_retention(c: &Connection, job_id: &str, state: &str) -> StoreResult<()> {
    c.execute("UPDATE jobs SET retention=?2 WHERE job_id=?1", params![job_id, state])?;
    Ok(())
}

/// Filters of `GET .../jobs`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this category.
    pub category: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only intervals starting at or after this.
    pub start_time: Option<Instant>,
    /// Only intervals ending at or before this.
    pub end_time: Option<Instant>,
    /// Only jobs created after this position (the page token).
    pub after_seq: i64,
    /// Page size.
    pub limit: u32,
}

/// A page of jobs and the position of its last one when more follow.
pub fn list(c: &Connection, download_id: &str, f: &Filter) -> StoreResult<(Vec<Job>, Option<i64>)> {
    let mut sql = format!("SELECT {COLUMNS}, rowid FROM jobs WHERE download_id=?1 AND rowid > ?2");
    let mut args: Vec<rusqlite::types::Value> = vec![download_id.to_string().into(), f.after_seq.into()];
    let mut push = |cond: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&format!(" AND {cond} ?{}", args.len()));
    };
    if let Some(cat) = &f.category {
        push("category =", cat.clone().into());
    }
    if let Some(s) = &f.status {
        push("status =", s.clone().into());
    }
    if let Some(t) = f.start_time {
        push("interval_start >=", to_us(t).into());
    }
    if let Some(t) = f.end_time {
        push("interval_end <=", to_us(t).into());
    }
    sql.push_str(&format!(" ORDER BY rowid LIMIT {}", u64::from(f.limit) + 1));
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| Ok((from_row(r)?, r.get::<_, i64>(17)?)))?;
    let mut page: Vec<(Job, i64)> = rows.collect::<Result<_, _>>()?;
    let more = page.len() > f.limit as usize;
    page.truncate(f.limit as usize);
    let next = if more { page.last().map(|(_, seq)| *seq) } else { None };
    Ok((page.into_iter().map(|(j, _)| j).collect(), next))
}
