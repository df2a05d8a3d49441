//! What the dashboard reads that neither the public API nor the rest of the control API gives in
//! one call: a tenant's SEA folder in expiry order, the jobs of every download over a window of
//! intervals, and the bytes of an object the mock holds (a data-lake object or a SEA recording),
//! which the fault ledger and the job details link to. Read-only: nothing here changes state.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::app::App;
use crate::download::{config, jobs};
use crate::sea::lake_fs::{check_key, Layout, LockSet};
use crate::sea::lake_owner;
use crate::storage::daily_cap::SEA_BUCKET;
use crate::storage::files;
use crate::storage::recordings::recording_bytes;
use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::{StoreError, StoreResult};

// ---- SEA folder -----------------------------------------------------------------------------

/// One live object of a tenant's SEA folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeaFile {
    /// Full key in `cxone-sea` (`<tenant folder>/<file name>`).
    pub key: String,
    /// CXone file name (S9).
    pub name: String,
    /// VOICE, SCREEN or STATEMENT.
    pub media_type: String,
    /// `copied` or `moved` (S4).
    pub action: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Placement instant (the object's `LastModified`).
    pub placed_at: String,
    /// When it disappears from SEA: placement + 30 days on the mock clock (S5).
    pub expires_at: String,
}

/// `GET /_mock/dashboard/tenants/{tenant}/sea`: the folder's live objects, soonest expiry first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeaFolder {
    /// The tenant.
    pub tenant_id: String,
    /// `cxone-sea`.
    pub bucket: String,
    /// The tenant's folder, with its trailing slash.
    pub prefix: String,
    /// The mock instant the listing was read at (expiry countdowns count from it).
    pub now: String,
    /// Up to `limit` objects, soonest expiry first (ties in placement order).
    pub files: Vec<SeaFile>,
    /// Whether more objects are live than `files` holds (the overview counts them all).
    pub truncated: bool,
}

/// The tenant's live SEA objects, soonest expiry first, at most `limit`. Read along the partial
/// expiry index, which holds only placed, not yet gone files, in its own order (expiry, then
/// rowid = `seq`): a page costs its rows, not a sort of the folder (100,000 files placed at one
/// instant all tie on expiry). No count here: counting a large folder costs a row lookup per
/// object, and the overview already gives it.
pub fn sea_folder(c: &Connection, tenant_id: &str, now: Instant, limit: u32) -> StoreResult<SeaFolder> {
    let mut st = c.prepare_cached(
        "SELECT sea_key, name, media_type, sea_action, size, sha256, placed_at, expires_at FROM files
         WHERE sea_gone_at IS NULL AND expires_at IS NOT NULL AND expires_at > ?2 AND +tenant_id=?1
         AND sea_key IS NOT NULL ORDER BY expires_at, seq LIMIT ?3",
    )?;
    let rows = st.query_map(rusqlite::params![tenant_id, to_us(now), i64::from(limit) + 1], |r| {
        Ok(SeaFile {
            key: r.get(0)?,
            name: r.get(1)?,
            media_type: r.get(2)?,
            action: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            size: r.get(4)?,
            sha256: r.get(5)?,
            placed_at: rfc3339(from_us(r.get(6)?)),
            expires_at: rfc3339(from_us(r.get(7)?)),
        })
    })?;
    let mut files: Vec<SeaFile> = rows.collect::<Result<_, _>>()?;
    let truncated = files.len() > limit as usize;
    files.truncate(limit as usize);
    Ok(SeaFolder {
        tenant_id: tenant_id.to_string(),
        bucket: SEA_BUCKET.to_string(),
        prefix: format!("{tenant_id}/"),
        now: rfc3339(now),
        files,
        truncated,
    })
}

// ---- Jobs timeline --------------------------------------------------------------------------

/// One download's jobs whose interval overlaps the window.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineRow {
    /// The download.
    pub download_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its category.
    pub category: String,
    /// Its status: `active`, or `needs_reconfiguration` after a refused write (D8).
    pub status: String,
    /// Jobs (CONTRACT §4 JOB, plus `kind`), in creation order.
    #[schema(value_type = Vec<crate::api::openapi::DownloadJob>)]
    pub jobs: Vec<Value>,
    /// Whether more jobs overlap the window than `jobs` holds.
    pub truncated: bool,
}

/// `GET /_mock/dashboard/jobs`: every download's jobs over `[from, until)`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Timeline {
    /// Start of the window (interval time).
    pub from: String,
    /// End of the window.
    pub until: String,
    /// The mock's now.
    pub now: String,
    /// One row per download (creation order), with its jobs.
    pub downloads: Vec<TimelineRow>,
}

/// The longest data interval (DAILY): a job starting this long before the window can still
/// overlap it.
const LONGEST_INTERVAL: chrono::Duration = chrono::Duration::days(1);

/// Jobs of every download (of `tenant`, when given) whose interval overlaps `[from, until)`,
/// at most `per_download` each. Read per download through [`jobs::list`] (the `jobs_download`
/// index), bounded by interval start.
pub fn timeline(
    c: &Connection,
    from: Instant,
    until: Instant,
    now: Instant,
    tenant: Option<&str>,
    per_download: usize,
) -> StoreResult<Timeline> {
    let mut rows = Vec::new();
    for d in config::all(c)? {
        if tenant.is_some_and(|t| t != d.tenant_id) {
            continue;
        }
        let mut filter = jobs::Filter {
            start_time: Some(from - LONGEST_INTERVAL),
            end_time: Some(until + LONGEST_INTERVAL),
            limit: 1000,
            ..jobs::Filter::default()
        };
        let mut out = Vec::new();
        let mut truncated = false;
        loop {
            let (page, next) = jobs::list(c, &d.id, &filter)?;
            for j in page {
                if j.interval_end > from && j.interval_start < until {
                    if out.len() == per_download {
                        truncated = true;
                        break;
                    }
                    out.push(j.to_json());
                }
            }
            match next {
                Some(seq) if !truncated => filter.after_seq = seq,
                _ => break,
            }
        }
        rows.push(TimelineRow {
            download_id: d.id.clone(),
            tenant_id: d.tenant_id.clone(),
            category: d.spec.category.clone(),
            status: d.status.clone(),
            jobs: out,
            truncated,
        });
    }
    Ok(Timeline {
        from: rfc3339(from),
        until: rfc3339(until),
        now: rfc3339(now),
        downloads: rows,
    })
}

// ---- Downloads ------------------------------------------------------------------------------

/// A download as the overview lists it (no secrets).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DownloadSummary {
    /// `dl-...`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its category.
    pub category: String,
    /// `active` or `needs_reconfiguration` (D8).
    pub status: String,
    /// Why it needs reconfiguration.
    pub status_reason: Option<String>,
    /// `HOURLY`, `SIX_HOURLY` or `DAILY`, when the body set it (else the category's default).
    pub frequency: Option<String>,
    /// `parquet` or `csv`.
    pub format: String,
    /// The destination as `GET /api/v2/data-downloads/{id}` shows it (secret masked).
    #[schema(value_type = Object)]
    pub destination: Value,
}

/// Every download, in creation order.
pub fn downloads(c: &Connection) -> StoreResult<Vec<DownloadSummary>> {
    Ok(config::all(c)?
        .into_iter()
        .map(|d| {
            let view = d.to_json();
            DownloadSummary {
                id: d.id.clone(),
                tenant_id: d.tenant_id.clone(),
                category: d.spec.category.clone(),
                status: d.status.clone(),
                status_reason: d.status_reason.clone(),
                frequency: d.spec.schedule.as_ref().and_then(|s| s.frequency.clone()),
                format: d.spec.format.clone(),
                destination: view.get("destination").cloned().unwrap_or(Value::Null),
            }
        })
        .collect())
}

// ---- Objects --------------------------------------------------------------------------------

/// Largest object the view serves whole (exports are far smaller; larger objects are for S3
/// clients).
pub const MAX_VIEW_BYTES: u64 = 64 * 1024 * 1024;

/// Why an object cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// No tenant owns a bucket of that name here: it is on another endpoint (an external
    /// destination) or does not exist.
    #[error("bucket {0:?} is not on this mock's S3 endpoint (an external destination, or no such bucket)")]
    NotHere(String),
    /// The bucket is here, the key is not (deleted by retention, never written, or expired from SEA).
    #[error("no object {key:?} in bucket {bucket:?} (deleted, expired, or never written)")]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// A key no object can have.
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    /// Over [`MAX_VIEW_BYTES`].
    #[error("object is {0} bytes, more than this view serves ({MAX_VIEW_BYTES}); read it with an S3 client")]
    TooLarge(u64),
    /// Metadata store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Filesystem failure.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// An object's bytes and how to show them.
#[derive(Debug, Clone)]
pub struct ObjectBytes {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The object's content type (as stored, else from its extension).
    pub content_type: String,
    /// Last path segment of the key.
    pub file_name: String,
}

/// The bytes of `bucket/key` as S3 would serve them to the owner: a live SEA recording (derived
/// from the seed, as the S3 front derives it) or a data-lake object on disk (read under the
/// key's read lock, so bytes and content type belong to one version).
pub async fn object(app: &App, bucket: &str, key: &str) -> Result<ObjectBytes, ObjectError> {
    let file_name = key.rsplit('/').next().unwrap_or(key).to_string();
    let missing = || ObjectError::NoSuchKey {
        bucket: bucket.to_string(),
        key: key.to_string(),
    };
    if bucket == SEA_BUCKET {
        let now = app.now();
        let obj = app
            .store
            .with(|c| files::sea_object(c, key, now))?
            .ok_or_else(missing)?;
        return Ok(ObjectBytes {
            bytes: recording_bytes(app.seed, &obj.file_id),
            content_type: "video/mp4".into(),
            file_name,
        });
    }
    if app.store.with(|c| lake_owner::owner(c, bucket))?.is_none() {
        return Err(ObjectError::NotHere(bucket.to_string()));
    }
    if check_key(key).is_err() || key.ends_with('/') {
        return Err(ObjectError::InvalidKey(key.to_string()));
    }
    let layout = Layout::of(app);
    let _locks = LockSet::new(&layout).read(bucket, key).acquire().await;
    let path = layout.object_path(bucket, key);
    let meta = match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Err(missing()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if meta.len() > MAX_VIEW_BYTES {
        return Err(ObjectError::TooLarge(meta.len()));
    }
    let bytes = tokio::fs::read(&path).await?;
    let stored_type = match tokio::fs::read(layout.metadata_path(bucket, key)).await {
        Ok(b) => serde_json::from_slice::<BTreeMap<String, Value>>(&b)
            .ok()
            .and_then(|m| m.get("content_type").and_then(Value::as_str).map(str::to_string)),
        Err(_) => None,
    };
    Ok(ObjectBytes {
        bytes,
        content_type: stored_type.unwrap_or_else(|| guess_type(&file_name).to_string()),
        file_name,
    })
}

/// A content type from a file name, for objects stored without one.
fn guess_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "json" => "application/json",
        "csv" => "text/csv",
        "parquet" => "application/vnd.apache.parquet",
        "mp4" => "video/mp4",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(guess_type("_manifest-job-1.json"), "application/json");
        assert_eq!(guess_type("part-00000.parquet"), "application/vnd.apache.parquet");
        assert_eq!(guess_type("part-00000.csv"), "text/csv");
        assert_eq!(guess_type("noext"), "application/octet-stream");
    }
}
