//! Running one job: generate each data type's records for the interval, write one file per data
//! type, put it at the destination under the partition of `interval_start`, then its manifest
//! (CONTRACT §4). A refused write fails the job at once, without retry (D8).
//!
//! Job and file faults (`faults::effects` decides them, this file applies them): at the start
//! [`start`] writes placeholder manifests and partial partitions (F4); at the finish [`run`] ends
//! a failed, timed-out or refused job without writing (F5, D8), or writes with the file faults —
//! harsher null stripping, corrupted bytes (F11), a skewed record count (F8), duplicate
//! manifests and partitions (F3) — and collects their firings in [`Output::firings`].

use std::collections::BTreeMap;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::catalog::DataTypeSchema;
use super::config::Valid;
use super::destination::{Destination, DestinationError};
use super::jobs::Job;
use super::partition;
use super::records;
use super::resume;
use super::writer::{self, Compression, Format, WriteOptions, Written};
use crate::app::App;
use crate::events::NewEvent;
use crate::faults::effects::{self, FinishPlan, Firings, Outcome, StartPlan};
use crate::store::time::rfc3339;

/// Part numbers tried before a folder is declared full (`overwrite:false` never replaces).
const MAX_PARTS: u32 = 100_000;

/// What a finished job wrote.
#[derive(Debug, Default)]
pub struct Output {
    /// Data files, as `s3://` URIs.
    pub files: Vec<String>,
    /// Manifests, as `s3://` URIs.
    pub manifests: Vec<String>,
    /// Rows per data type.
    pub record_counts: BTreeMap<String, u64>,
    /// `sha256:<hex>` per data file URI.
    pub checksums: BTreeMap<String, String>,
    /// Faults that fired while writing, with what they wrote or touched (recorded with the end).
    pub firings: Firings,
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The destination refused a write (D8): the download needs reconfiguration.
    #[error("{0}")]
    Refused(String),
    /// Anything else (a bug or local I/O).
    #[error("export failed: {0}")]
    Internal(String),
    /// A `job_failed` fault (F5): FAILED, never retried; the download stays active.
    #[error("{0}")]
    Failed(String),
    /// A `job_timed_out` fault (F5): TIMED_OUT, never retried.
    #[error("{0}")]
    TimedOut(String),
}

impl From<DestinationError> for ExportError {
    fn from(e: DestinationError) -> Self {
        match e {
            DestinationError::Refused { message } => ExportError::Refused(message),
            other => ExportError::Internal(other.to_string()),
        }
    }
}

/// The file format of a download.
pub fn format_of(cfg: &Valid) -> Format {
    Format::parse(&cfg.spec.format).unwrap_or(Format::Parquet)
}

fn compression_of(cfg: &Valid) -> Compression {
    cfg.spec
        .compression
        .as_deref()
        .and_then(Compression::parse)
        .unwrap_or(Compression::Snappy)
}

/// Runs `job` of a download configured as `cfg` against `dest`, with the faults `plan` decided
/// (`FinishPlan::default()`: none). On failure, `out` holds what was written before it (files
/// stay: there is no staging buffer to roll back).
pub fn run(
    app: &App,
    job: &Job,
    cfg: &Valid,
    dest: &Destination,
    plan: &FinishPlan,
    out: &mut Output,
) -> Result<(), ExportError> {
    let format = format_of(cfg);
    let compression = compression_of(cfg);
    if let Some(outcome) = &plan.outcome {
        return end_without_writing(app, job, cfg, dest, format, plan, outcome, out);
    }
    // Keys an earlier attempt of this job claimed before a crash (see `resume`).
    let claims = app
        .store
        .with(|c| resume::claimed(c, &job.id))
        .map_err(|e| ExportError::Internal(e.to_string()))?;
    for data_type in &cfg.data_types {
        let Some(schema) = records::schema(app, job, cfg.category, data_type) else {
            return Err(ExportError::Internal(format!(
                "data type {data_type:?} vanished from its category"
            )));
        };
        let batches = records::batches(app, job, &schema);
        let options = WriteOptions {
            min_null_fraction: plan.null_strip.get(data_type).map(effects::min_null_fraction),
        };
        let written = writer::write_file_with(format, compression, options, &schema.arrow_schema(), batches)
            .map_err(|e| ExportError::Internal(e.to_string()))?;
        let folder = partition::folder(&job.prefix, data_type, cfg.partition.as_ref(), job.interval_start);
        let claimed = claims.get(data_type.as_str()).map(String::as_str);
        write_data_type(app, job, dest, &schema, &folder, format, &written, plan, claimed, out)?;
    }
    Ok(())
}

/// A job whose fault ends it without writing its partition (F5, D8 by fault). What its start
/// wrote (partial files, placeholder manifests) stays and is listed as the job's output.
#[allow(clippy::too_many_arguments)]
fn end_without_writing(
    app: &App,
    job: &Job,
    cfg: &Valid,
    dest: &Destination,
    format: Format,
    plan: &FinishPlan,
    outcome: &Outcome,
    out: &mut Output,
) -> Result<(), ExportError> {
    for (data_type, p) in &plan.started.partial {
        out.files.push(p.uri.clone());
        out.checksums.insert(p.uri.clone(), format!("sha256:{}", p.sha256));
        out.record_counts.insert(data_type.clone(), p.rows);
    }
    out.manifests.extend(plan.started.placeholders.iter().cloned());
    match outcome {
        Outcome::TimedOut(message) => Err(ExportError::TimedOut(message.clone())),
        Outcome::Failed(rule, message) => {
            let detail = json!({
                "effect": "the job ends FAILED without writing its partition; the platform does not retry it",
                "error_details": message,
            });
            out.firings.job(rule, Vec::new(), detail);
            Err(ExportError::Failed(message.clone()))
        }
        Outcome::Rejected(rule, message) => {
            // The write it would have made first: the first data type's file.
            let mut touched = Vec::new();
            if let Some(data_type) = cfg.data_types.first() {
                let key = match plan.started.partial.get(data_type) {
                    Some(p) => p.key.clone(),
                    None => {
                        let folder =
                            partition::folder(&job.prefix, data_type, cfg.partition.as_ref(), job.interval_start);
                        let part = free_part(app, dest, &folder, format.extension(), job.overwrite)?;
                        partition::part_key(&folder, part, format.extension())
                    }
                };
                touched.push(dest.uri(&key));
            }
            let detail = json!({
                "effect": "the destination refuses the job's first write (D8): the job fails, the download needs reconfiguration",
                "error_details": message,
            });
            out.firings.job(rule, touched, detail);
            Err(ExportError::Refused(message.clone()))
        }
    }
}

/// The start of a running job: writes its placeholder manifests and partial partitions (F4),
/// visible while it runs. Returns the firings with what they wrote. A write that fails is left
/// out (the job's finish meets the same destination and reports it).
pub fn start(app: &App, job: &Job, cfg: &Valid, dest: &Destination, plan: &StartPlan) -> Firings {
    let format = format_of(cfg);
    let mut firings = Firings::default();
    for data_type in &cfg.data_types {
        let (placeholder, partial) = (plan.placeholder.get(data_type), plan.partial.get(data_type));
        if placeholder.is_none() && partial.is_none() {
            continue;
        }
        let Some(schema) = records::schema(app, job, cfg.category, data_type) else {
            continue;
        };
        let folder = partition::folder(&job.prefix, data_type, cfg.partition.as_ref(), job.interval_start);
        if let Some(rule) = placeholder {
            let key = partition::manifest_key(&folder, &job.id);
            let written = serde_json::to_vec_pretty(&manifest(job, &schema, json!([]), 0))
                .map_err(|e| ExportError::Internal(e.to_string()))
                .and_then(|body| Ok(dest.put(app, &key, &body, "application/json")?));
            match written {
                Ok(()) => {
                    let uri = dest.uri(&key);
                    let file = json!({"data_type": data_type, "uri": uri});
                    let effect = "an empty manifest (no files, record_count 0) is visible while the job runs; \
                                  the job's real manifest replaces it when it completes";
                    firings.file(rule, effect, vec![uri], file);
                }
                Err(e) => tracing::warn!("placeholder manifest {key} of job {}: {e}", job.id),
            }
        }
        if let Some(rule) = partial {
            match write_partial(app, job, cfg, dest, &schema, &folder, format) {
                Ok((key, written, total)) => {
                    let uri = dest.uri(&key);
                    let file = json!({
                        "data_type": data_type, "key": key, "uri": uri,
                        "sha256": hex::encode(Sha256::digest(&written.bytes)),
                        "rows": written.rows, "rows_in_interval": total,
                    });
                    let effect = "a data file with the first half of the rows is visible while the job runs; \
                                  the job's complete file replaces it when it completes";
                    firings.file(rule, effect, vec![uri], file);
                }
                Err(e) => tracing::warn!("partial partition of {data_type} for job {}: {e}", job.id),
            }
        }
    }
    firings
}

/// Writes the first half of a data type's rows at the part its complete file will take.
fn write_partial(
    app: &App,
    job: &Job,
    cfg: &Valid,
    dest: &Destination,
    schema: &DataTypeSchema,
    folder: &str,
    format: Format,
) -> Result<(String, Written, u64), ExportError> {
    let (kept, _, total) = effects::first_half(records::batches(app, job, schema));
    let written = writer::write_file(format, compression_of(cfg), &schema.arrow_schema(), kept)
        .map_err(|e| ExportError::Internal(e.to_string()))?;
    let part = free_part(app, dest, folder, format.extension(), job.overwrite)?;
    let key = partition::part_key(folder, part, format.extension());
    dest.put(app, &key, &written.bytes, format.content_type())?;
    Ok((key, written, total))
}

/// The first part number in `folder` that no object holds (or 0 when overwriting).
fn free_part(app: &App, dest: &Destination, folder: &str, ext: &str, overwrite: bool) -> Result<u32, ExportError> {
    if overwrite {
        return Ok(0);
    }
    for n in 0..MAX_PARTS {
        if !dest.exists(app, &partition::part_key(folder, n, ext))? {
            return Ok(n);
        }
    }
    Err(ExportError::Internal(format!(
        "{folder} already holds {MAX_PARTS} parts"
    )))
}

/// A manifest (CONTRACT §4).
fn manifest(job: &Job, schema: &DataTypeSchema, files: serde_json::Value, record_count: u64) -> serde_json::Value {
    json!({
        "job_id": job.id,
        "download_id": job.download_id,
        "data_type": schema.name,
        "interval_start": rfc3339(job.interval_start),
        "interval_end": rfc3339(job.interval_end),
        "files": files,
        "record_count": record_count,
        "schema_version": schema.version,
    })
}

fn put_json(app: &App, dest: &Destination, key: &str, v: &serde_json::Value) -> Result<(), ExportError> {
    let body = serde_json::to_vec_pretty(v).map_err(|e| ExportError::Internal(e.to_string()))?;
    dest.put(app, key, &body, "application/json")?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_data_type(
    app: &App,
    job: &Job,
    dest: &Destination,
    schema: &DataTypeSchema,
    folder: &str,
    format: Format,
    written: &Written,
    plan: &FinishPlan,
    claimed: Option<&str>,
    out: &mut Output,
) -> Result<(), ExportError> {
    let name = schema.name;
    // A partial partition written at the start is completed in place; so is a file an attempt
    // interrupted by a crash claimed. Otherwise the next free part, claimed before it is written.
    let key = match (plan.started.partial.get(name), claimed) {
        (Some(p), _) => p.key.clone(),
        (None, Some(key)) => key.to_string(),
        (None, None) => {
            let part = free_part(app, dest, folder, format.extension(), job.overwrite)?;
            let key = partition::part_key(folder, part, format.extension());
            resume::claim(app, &job.id, name, &key).map_err(|e| ExportError::Internal(e.to_string()))?;
            key
        }
    };
    let sha = hex::encode(Sha256::digest(&written.bytes));
    let uri = dest.uri(&key);
    match plan.checksum.get(name) {
        None => dest.put(app, &key, &written.bytes, format.content_type())?,
        Some(rule) => {
            let mut bytes = written.bytes.clone();
            let offset = effects::corrupt(format, &mut bytes);
            dest.put(app, &key, &bytes, format.content_type())?;
            let file = json!({
                "data_type": name, "uri": uri, "offset": offset, "size": bytes.len(),
                "recorded_sha256": sha, "actual_sha256": hex::encode(Sha256::digest(&bytes)),
            });
            let effect =
                "the stored bytes differ from the sha256 in the job and the manifest (one byte changed, same size)";
            out.firings.file(rule, effect, vec![uri.clone()], file);
        }
    }
    out.files.push(uri.clone());
    out.checksums.insert(uri.clone(), format!("sha256:{sha}"));
    let record_count = plan
        .record_count
        .get(name)
        .map_or(written.rows, |r| effects::skewed_count(r, written.rows));
    out.record_counts.insert(name.to_string(), record_count);
    file_event(app, job, &uri, name, written.rows, &sha);
    if let Some(rule) = plan.null_strip.get(name) {
        let dropped: Vec<&str> = schema
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|c| !written.columns.iter().any(|w| w == c))
            .collect();
        let file = json!({
            "data_type": name, "uri": uri, "min_null_fraction": effects::min_null_fraction(rule),
            "dropped_columns": dropped,
        });
        let effect = "Parquet drops every column whose share of null rows is at least min_null_fraction";
        out.firings.file(rule, effect, vec![uri.clone()], file);
    }

    let files = json!([{"key": key, "sha256": sha, "rows": written.rows}]);
    let body = manifest(job, schema, files, record_count);
    let manifest_key = partition::manifest_key(folder, &job.id);
    put_json(app, dest, &manifest_key, &body)?;
    let manifest_uri = dest.uri(&manifest_key);
    out.manifests.push(manifest_uri.clone());
    if let Some(rule) = plan.record_count.get(name) {
        let file = json!({
            "data_type": name, "uri": uri, "manifest": manifest_uri,
            "rows_written": written.rows, "record_count_reported": record_count,
        });
        let effect = "the job's record_count (and the manifest's) differs from the rows written; \
                      the manifest's files[].rows stay true";
        out.firings
            .file(rule, effect, vec![uri.clone(), manifest_uri.clone()], file);
    }

    if let Some(rule) = plan.duplicate_manifest.get(name) {
        let mut copies = Vec::new();
        for n in 1..=effects::copies(rule) {
            let k = partition::manifest_key(folder, &format!("{}-{n}", job.id));
            put_json(app, dest, &k, &body)?;
            copies.push(dest.uri(&k));
        }
        let file = json!({"data_type": name, "manifest": manifest_uri, "copies": copies});
        let effect = "the job's manifest is written again as _manifest-<job id>-<n>.json, listing the same files";
        out.firings.file(rule, effect, copies.clone(), file);
    }

    if let Some(rule) = plan.duplicate_partition.get(name) {
        let mut objects = Vec::new();
        let mut parts = Vec::new();
        for n in 1..=effects::copies(rule) {
            let part = free_part(app, dest, folder, format.extension(), false)?;
            let dup_key = partition::part_key(folder, part, format.extension());
            dest.put(app, &dup_key, &written.bytes, format.content_type())?;
            let files = json!([{"key": dup_key, "sha256": sha, "rows": written.rows}]);
            let dup_manifest = partition::manifest_key(folder, &format!("{}-dup{n}", job.id));
            put_json(app, dest, &dup_manifest, &manifest(job, schema, files, record_count))?;
            objects.push(dest.uri(&dup_key));
            objects.push(dest.uri(&dup_manifest));
            parts.push(json!({"uri": dest.uri(&dup_key), "manifest": dest.uri(&dup_manifest)}));
        }
        let file = json!({"data_type": name, "uri": uri, "rows": written.rows, "duplicates": parts});
        let effect = "the job's rows are written again under the next free part numbers, each copy with its own \
                      manifest _manifest-<job id>-dup<n>.json; the job lists only the originals";
        out.firings.file(rule, effect, objects, file);
    }
    Ok(())
}

fn file_event(app: &App, job: &Job, uri: &str, data_type: &str, rows: u64, sha: &str) {
    let event = NewEvent {
        kind: "export.file_written".into(),
        tenant_id: Some(job.tenant_id.clone()),
        download_id: Some(job.download_id.clone()),
        job_id: Some(job.id.clone()),
        objects: Some(vec![uri.to_string()]),
        detail: json!({"data_type": data_type, "rows": rows, "sha256": sha}),
        ..NewEvent::default()
    };
    if let Err(e) = app.record_event(&event) {
        tracing::warn!("could not record export event: {e}");
    }
}
