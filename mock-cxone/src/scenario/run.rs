//! `mock-cxone scenario check` and `scenario run`, offline: no listener, a mock opened directly
//! on a temporary data dir with its clock frozen at the scenario's start.
//!
//! `run` loads the scenario, advances day by day to `start + run_for` (performing timeline
//! entries at their instants and printing one progress line per simulated day to stderr), then
//! writes the outcome to a directory:
//!
//! - `<bucket>/<key>` — every object of every data-lake bucket (exports, manifests, ...);
//! - `_events.jsonl` — the whole `/_mock/events` ledger, one event per line, with random access
//!   key ids replaced by `<key-1>`, `<key-2>`, ... in order of appearance;
//! - `_sea.jsonl` — the SEA objects still live at the end (key, size, sha256, placement, expiry);
//! - `_scenario.json` — the load summary without secrets.
//!
//! Everything in it derives from the seed and the file: two runs give identical directories.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::Duration;
use serde_json::{json, Value};

use super::apply::{apply, precheck, ApplyError};
use super::parse::Scenario;
use super::plan::Plan;
use super::summary::Summary;
use super::{timeline, DEFAULT_START};
use crate::app::{App, Urls};
use crate::clock::ClockSpec;
use crate::sea::lake_fs::Layout;
use crate::sea::lake_platform;
use crate::store::time::{from_us, parse_rfc3339, rfc3339, to_us, Instant};
use crate::store::{Store, StoreError};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario could not be loaded (it has a position).
    #[error(transparent)]
    Scenario(#[from] ApplyError),
    /// The output directory cannot be used.
    #[error("{0}")]
    Out(String),
    /// The temporary mock failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("writing the output: {0}")]
    Io(#[from] std::io::Error),
}

/// Options of `scenario run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output directory (created; must be empty or a previous run's output with `force`).
    pub out: PathBuf,
    /// Seed when the file has none.
    pub seed: u64,
    /// Replace a previous run's output in `out`.
    pub force: bool,
    /// Print a line per simulated day to stderr.
    pub progress: bool,
}

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The load summary (with secrets; the file written has none).
    pub summary: Summary,
    /// Data-lake buckets written.
    pub buckets: Vec<String>,
    /// Objects written.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Events in `_events.jsonl`.
    pub events: usize,
    /// Lines of `_sea.jsonl`.
    pub sea_objects: usize,
}

/// A mock with no listener on a temporary data dir, clock frozen at `start`.
pub fn open_offline(seed: u64, start: Instant) -> Result<(tempfile::TempDir, App), StoreError> {
    let dir = tempfile::Builder::new().prefix("mock-cxone-scenario-").tempdir()?;
    let store = Store::open(dir.path())?;
    let urls = Urls {
        api: "http://127.0.0.1:8080".into(),
        s3: "http://127.0.0.1:9000".into(),
    };
    let app = App::open(store, seed, ClockSpec::Frozen(Some(start)), urls, None)?;
    Ok((dir, app))
}

fn start_of(sc: &Scenario) -> Instant {
    sc.start
        .unwrap_or_else(|| parse_rfc3339(DEFAULT_START).unwrap_or_default())
}

/// `scenario check`: everything loading into a fresh mock would check, nothing applied.
pub fn check(sc: &Scenario, seed: u64) -> Result<Plan, RunError> {
    let (_dir, app) = open_offline(sc.seed.map_or(seed, |(s, _)| s), start_of(sc))?;
    Ok(precheck(&app, sc)?.0)
}

fn prepare_out(out: &Path, force: bool) -> Result<(), RunError> {
    if out.exists() {
        if !out.is_dir() {
            return Err(RunError::Out(format!("{} is not a directory", out.display())));
        }
        let empty = std::fs::read_dir(out)?.next().is_none();
        if !empty {
            if !force {
                return Err(RunError::Out(format!(
                    "{} is not empty (--force replaces a previous run's output)",
                    out.display()
                )));
            }
            if !out.join("_scenario.json").is_file() {
                return Err(RunError::Out(format!(
                    "{} is not empty and holds no _scenario.json: --force only replaces a previous run's output",
                    out.display()
                )));
            }
            std::fs::remove_dir_all(out)?;
        }
    }
    std::fs::create_dir_all(out)?;
    Ok(())
}

fn counts_since(app: &App, since: i64) -> Result<(HashMap<String, i64>, i64), StoreError> {
    app.store.with(|c| {
        let mut st = c.prepare("SELECT kind, COUNT(*), MAX(seq) FROM events WHERE seq > ?1 GROUP BY kind")?;
        let rows = st.query_map([since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })?;
        let mut out = HashMap::new();
        let mut last = since;
        for row in rows {
            let (k, n, max) = row?;
            last = last.max(max);
            out.insert(k, n);
        }
        Ok((out, last))
    })
}

fn progress_line(counts: &HashMap<String, i64>) -> String {
    let n = |k: &str| counts.get(k).copied().unwrap_or(0);
    let mut parts = vec![format!(
        "{} jobs completed, {} failed",
        n("job.completed"),
        n("job.failed")
    )];
    for (kind, label) in [
        ("export.file_written", "files written"),
        ("fault", "faults fired"),
        ("lifecycle.placed_in_sea", "placed in SEA"),
        ("sea.expired", "expired from SEA"),
        ("scenario.timeline", "timeline entries"),
    ] {
        if n(kind) > 0 {
            parts.push(format!("{} {label}", n(kind)));
        }
    }
    parts.join(", ")
}

/// `scenario run`: loads `sc` into an offline mock, runs it to its end and writes the outcome.
pub fn run(sc: &Scenario, opts: &RunOptions) -> Result<RunReport, RunError> {
    prepare_out(&opts.out, opts.force)?;
    let seed = sc.seed.map_or(opts.seed, |(s, _)| s);
    let (_dir, app) = open_offline(seed, start_of(sc))?;
    let mut loaded = apply(&app, sc)?;
    let (start, end) = (loaded.plan.start, loaded.plan.end);
    let steps = loaded.plan.steps.clone();
    let mut pending = steps.iter().peekable();
    let span = (end - start).num_seconds();
    let days = (span + 86_399) / 86_400;
    let (_, mut seq) = counts_since(&app, 0)?;
    if opts.progress {
        eprintln!(
            "scenario {}: seed {seed}, {} → {} ({} simulated day{})",
            sc.name,
            rfc3339(start),
            rfc3339(end),
            days,
            if days == 1 { "" } else { "s" }
        );
    }
    for day in 0..days.max(1) {
        let stop = (start + Duration::days(day + 1)).min(end);
        while let Some(step) = pending.next_if(|s| s.at <= stop) {
            app.advance_to(step.at)?;
            timeline::perform(&app, sc, &mut loaded, step)?;
        }
        app.advance_to(stop)?;
        let (counts, last) = counts_since(&app, seq)?;
        seq = last;
        if opts.progress && days > 0 {
            eprintln!(
                "  day {}/{days} → {}: {}",
                day + 1,
                rfc3339(stop),
                progress_line(&counts)
            );
        }
    }
    loaded.summary.now = rfc3339(app.now());
    let mut report = RunReport {
        summary: loaded.summary.clone(),
        buckets: vec![],
        objects: 0,
        bytes: 0,
        events: 0,
        sea_objects: 0,
    };
    write_buckets(&app, &opts.out, &mut report)?;
    report.events = write_events(&app, &opts.out.join("_events.jsonl"))?;
    report.sea_objects = write_sea(&app, &opts.out.join("_sea.jsonl"))?;
    let mut summary = loaded.summary.to_public_json();
    if let Some(o) = summary.as_object_mut() {
        o.insert(
            "output".into(),
            json!({"buckets": report.buckets, "objects": report.objects, "bytes": report.bytes,
                   "events": report.events, "sea_objects": report.sea_objects}),
        );
    }
    let mut text = serde_json::to_string_pretty(&summary).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(opts.out.join("_scenario.json"), text)?;
    if opts.progress {
        eprintln!(
            "  wrote {} objects ({} bytes) from {} bucket{}, {} events, {} SEA objects to {}",
            report.objects,
            report.bytes,
            report.buckets.len(),
            if report.buckets.len() == 1 { "" } else { "s" },
            report.events,
            report.sea_objects,
            opts.out.display()
        );
    }
    Ok(report)
}

fn safe_key(key: &str) -> bool {
    !key.starts_with('/') && !key.split('/').any(|s| s.is_empty() || s == "." || s == "..")
}

fn write_buckets(app: &App, out: &Path, report: &mut RunReport) -> Result<(), RunError> {
    let buckets: Vec<String> = app.store.with(|c| {
        let mut st = c.prepare("SELECT name FROM buckets ORDER BY name")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    })?;
    let layout = Layout::of(app);
    for bucket in buckets {
        let objects = match lake_platform::list_objects(app, &bucket, "") {
            Ok(o) => o,
            Err(_) => continue,
        };
        std::fs::create_dir_all(out.join(&bucket))?;
        for o in objects {
            if !safe_key(&o.key) {
                continue;
            }
            let dest = out.join(&bucket).join(&o.key);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(layout.object_path(&bucket, &o.key), &dest)?;
            report.objects += 1;
            report.bytes += o.size;
        }
        report.buckets.push(bucket);
    }
    Ok(())
}

/// Replaces random access key ids (values of keys ending in `access_key_id`) with stable names.
fn redact(v: &mut Value, names: &mut HashMap<String, String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                if k.ends_with("access_key_id") {
                    if let Value::String(s) = v {
                        let n = names.len() + 1;
                        *s = names.entry(s.clone()).or_insert_with(|| format!("<key-{n}>")).clone();
                        continue;
                    }
                }
                redact(v, names);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| redact(v, names)),
        _ => {}
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Writes the ledger as `GET /_mock/events` shows it, one event per line. Stored JSON (objects,
/// detail) is copied as stored; only details that name an access key id are re-encoded.
fn write_events(app: &App, path: &Path) -> Result<usize, RunError> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut names = HashMap::new();
    let count = app.store.with(|c| {
        let mut st = c.prepare(
            "SELECT seq, at, kind, tenant_id, download_id, job_id, fault_id, objects, detail FROM events ORDER BY seq",
        )?;
        let mut rows = st.query([])?;
        let mut n = 0;
        let mut line = String::new();
        while let Some(r) = rows.next()? {
            line.clear();
            line.push_str(&format!(
                "{{\"seq\":{},\"at\":{},\"kind\":{}",
                r.get::<_, i64>(0)?,
                json_str(&rfc3339(from_us(r.get(1)?))),
                json_str(&r.get::<_, String>(2)?)
            ));
            for (i, key) in [(3, "tenant_id"), (4, "download_id"), (5, "job_id"), (6, "fault_id")] {
                if let Some(v) = r.get::<_, Option<String>>(i)? {
                    line.push_str(&format!(",\"{key}\":{}", json_str(&v)));
                }
            }
            if let Some(objects) = r.get::<_, Option<String>>(7)? {
                line.push_str(&format!(",\"objects\":{objects}"));
            }
            let detail: String = r.get(8)?;
            let detail = if detail.contains("access_key_id") {
                let mut v: Value = serde_json::from_str(&detail)?;
                redact(&mut v, &mut names);
                v.to_string()
            } else {
                detail
            };
            line.push_str(&format!(",\"detail\":{detail}}}\n"));
            f.write_all(line.as_bytes())?;
            n += 1;
        }
        Ok(n)
    })?;
    f.flush()?;
    Ok(count)
}

fn write_sea(app: &App, path: &Path) -> Result<usize, RunError> {
    let now = to_us(app.now());
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let count = app.store.with(|c| {
        let mut st = c.prepare(
            "SELECT tenant_id, sea_key, size, sha256, sea_action, placed_at, expires_at FROM files
             WHERE sea_key IS NOT NULL AND sea_gone_at IS NULL AND expires_at > ?1 ORDER BY sea_key",
        )?;
        let mut rows = st.query([now])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let t = |i: usize| -> rusqlite::Result<String> {
                Ok(r.get::<_, Option<i64>>(i)?
                    .map_or_else(|| "null".into(), |t| json_str(&rfc3339(from_us(t)))))
            };
            let line = format!(
                "{{\"key\":{},\"tenant_id\":{},\"size\":{},\"sha256\":{},\"action\":{},\"placed_at\":{},\"expires_at\":{}}}\n",
                json_str(&r.get::<_, String>(1)?),
                json_str(&r.get::<_, String>(0)?),
                r.get::<_, i64>(2)?,
                json_str(&r.get::<_, String>(3)?),
                r.get::<_, Option<String>>(4)?.map_or_else(|| "null".into(), |a| json_str(&a)),
                t(5)?,
                t(6)?
            );
            f.write_all(line.as_bytes())?;
            n += 1;
        }
        Ok(n)
    })?;
    f.flush()?;
    Ok(count)
}
