//! Running one job: generate each data type's records for the interval, write one file per data
//! type, put it at the destination under the partition of `interval_start`, then its manifest
//! (CONTRACT §4). A refused write fails the job at once, without retry (D8).

use std::collections::BTreeMap;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::catalog::DataTypeSchema;
use super::config::Valid;
use super::destination::{Destination, DestinationError};
use super::jobs::Job;
use super::partition;
use super::records;
use super::writer::{self, Compression, Format, Written};
use crate::app::App;
use crate::events::NewEvent;
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
}

impl From<DestinationError> for ExportError {
    fn from(e: DestinationError) -> Self {
        match e {
            DestinationError::Refused { message } => ExportError::Refused(message),
            other => ExportError::Internal(other.to_string()),
        }
    }
}

/// Runs `job` of a download configured as `cfg` against `dest`. On failure, `out` holds what
/// was written before it (files stay: there is no staging buffer to roll back).
pub fn run(app: &App, job: &Job, cfg: &Valid, dest: &Destination, out: &mut Output) -> Result<(), ExportError> {
    let format = Format::parse(&cfg.spec.format).unwrap_or(Format::Parquet);
    let compression = cfg
        .spec
        .compression
        .as_deref()
        .and_then(Compression::parse)
        .unwrap_or(Compression::Snappy);
    for data_type in &cfg.data_types {
        let Some(schema) = records::schema(app, job, cfg.category, data_type) else {
            return Err(ExportError::Internal(format!(
                "data type {data_type:?} vanished from its category"
            )));
        };
        let batches = records::batches(app, job, &schema);
        let written = writer::write_file(format, compression, &schema.arrow_schema(), batches)
            .map_err(|e| ExportError::Internal(e.to_string()))?;
        let folder = partition::folder(&job.prefix, data_type, cfg.partition.as_ref(), job.interval_start);
        write_data_type(app, job, dest, &schema, &folder, format, &written, out)?;
    }
    Ok(())
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

#[allow(clippy::too_many_arguments)]
fn write_data_type(
    app: &App,
    job: &Job,
    dest: &Destination,
    schema: &DataTypeSchema,
    folder: &str,
    format: Format,
    written: &Written,
    out: &mut Output,
) -> Result<(), ExportError> {
    let part = free_part(app, dest, folder, format.extension(), job.overwrite)?;
    let key = partition::part_key(folder, part, format.extension());
    dest.put(app, &key, &written.bytes, format.content_type())?;
    let sha = hex::encode(Sha256::digest(&written.bytes));
    let uri = dest.uri(&key);
    out.files.push(uri.clone());
    out.checksums.insert(uri.clone(), format!("sha256:{sha}"));
    out.record_counts.insert(schema.name.to_string(), written.rows);
    file_event(app, job, &uri, schema.name, written.rows, &sha);

    let manifest = json!({
        "job_id": job.id,
        "download_id": job.download_id,
        "data_type": schema.name,
        "interval_start": rfc3339(job.interval_start),
        "interval_end": rfc3339(job.interval_end),
        "files": [{"key": key, "sha256": sha, "rows": written.rows}],
        "record_count": written.rows,
        "schema_version": schema.version,
    });
    let manifest_key = partition::manifest_key(folder, &job.id);
    let body = serde_json::to_vec_pretty(&manifest).map_err(|e| ExportError::Internal(e.to_string()))?;
    dest.put(app, &manifest_key, &body, "application/json")?;
    out.manifests.push(dest.uri(&manifest_key));
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
