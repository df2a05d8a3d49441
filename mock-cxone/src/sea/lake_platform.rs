//! Platform access to data-lake buckets, for exports (CONTRACT §4: "the platform writes with its
//! own authority") and their retention (D9). Same layout, locks, key rules and SSE-KMS recording
//! as S3 writes, so what an export writes reads back through S3 exactly like an uploaded object:
//! ETag, `LastModified` on the mock clock, the tenant's KMS key.
//!
//! Synchronous on purpose: exports run inside engine tasks on blocking threads. Call these from
//! a blocking context (e.g. `spawn_blocking`), not from an async task.

use std::path::Path;

use s3s::crypto::Checksum as _;

use super::lake_fs::{self, check_key, prepare_write, InternalInfo, Layout, LockSet, INFO_KMS_KEY, INFO_STORAGE_CLASS};
use super::lake_owner::{cached_owner, LakeError};
use crate::app::App;
use crate::auth::tenants;
use crate::store::time::Instant;

/// One object of a bucket, as [`list_objects`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// `LastModified` (mock clock of the write).
    pub last_modified: Instant,
}

fn require_tenant_bucket(app: &App, tenant_id: &str, bucket: &str) -> Result<(), LakeError> {
    match cached_owner(app, bucket)? {
        Some(t) if t == tenant_id => Ok(()),
        Some(_) => Err(LakeError::OwnedByOther { bucket: bucket.into() }),
        None => Err(LakeError::NoSuchBucket(bucket.into())),
    }
}

fn valid_key(key: &str) -> Result<(), LakeError> {
    check_key(key).map_err(|e| LakeError::InvalidKey(key.into(), format!("{e:?}")))?;
    if key.ends_with('/') {
        return Err(LakeError::InvalidKey(
            key.into(),
            "a folder marker holds no data".into(),
        ));
    }
    Ok(())
}

/// Writes (or replaces) `bucket/key` with `bytes` for the tenant owning the bucket (see
/// [`super::lake_owner::ensure_bucket`]); returns the ETag (hex MD5, unquoted). The object is
/// modified "now" on the mock clock and encrypted with the tenant's current KMS key.
pub fn write_object(
    app: &App,
    tenant_id: &str,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    content_type: Option<&str>,
) -> Result<String, LakeError> {
    valid_key(key)?;
    require_tenant_bucket(app, tenant_id, bucket)?;
    // Cached (epoch-checked) lookups: an export writes thousands of objects for a few tenants.
    let find = |c: &rusqlite::Connection| Ok(tenants::find(c, tenant_id)?.map(|t| t.kms_key_id));
    let kms = app.tenant_kms.get(&app.store, tenant_id, find)?.unwrap_or_default();
    let layout = Layout::of(app);
    let _locks = LockSet::new(&layout).write(bucket, key).acquire_blocking();
    // Again under the locks: the bucket may have been deleted meanwhile.
    require_tenant_bucket(app, tenant_id, bucket)?;
    if !layout.bucket_dir(bucket).is_dir() {
        return Err(LakeError::NoSuchBucket(bucket.into()));
    }
    prepare_write(&layout, bucket, key)
        .map_err(|e| LakeError::KeyConflict(e.message().unwrap_or("key conflict").to_string()))?;

    let mut md5 = s3s::crypto::Md5::new();
    md5.update(bytes);
    let etag = hex::encode(md5.finalize());
    let path = layout.object_path(bucket, key);
    lake_fs::write_atomic_unsynced(&layout, &path, bytes)?;
    let meta_path = layout.metadata_path(bucket, key);
    match content_type {
        Some(ct) => {
            let meta = serde_json::json!({ "content_type": ct });
            lake_fs::write_atomic_unsynced(&layout, &meta_path, meta.to_string().as_bytes())?;
        }
        None => lake_fs::ignore_missing(std::fs::remove_file(&meta_path))?,
    }
    let mut info = InternalInfo::new();
    info.insert("e_tag".into(), etag.clone().into());
    info.insert(INFO_KMS_KEY.into(), kms.into());
    let info = serde_json::to_vec(&info).map_err(std::io::Error::other)?;
    lake_fs::write_atomic_unsynced(&layout, &layout.internal_path(bucket, key), &info)?;
    lake_fs::set_mtime(&path, app.now())?;
    Ok(etag)
}

/// Whether `bucket/key` exists (for `overwrite:false`: the next free part number).
pub fn object_exists(app: &App, bucket: &str, key: &str) -> bool {
    valid_key(key).is_ok() && Layout::of(app).object_path(bucket, key).is_file()
}

/// Deletes `bucket/key` and its sidecars (retention); a missing key is fine.
pub fn delete_object(app: &App, bucket: &str, key: &str) -> Result<(), LakeError> {
    if valid_key(key).is_err() {
        return Ok(());
    }
    let layout = Layout::of(app);
    let _locks = LockSet::new(&layout).write(bucket, key).acquire_blocking();
    Ok(lake_fs::remove_object(&layout, bucket, key)?)
}

/// Records the storage class S3 reports for an object (D9: `GLACIER_IR` once cold);
/// `STANDARD` clears it.
pub fn set_storage_class(app: &App, bucket: &str, key: &str, class: &str) -> Result<(), LakeError> {
    valid_key(key)?;
    let layout = Layout::of(app);
    let _locks = LockSet::new(&layout).write(bucket, key).acquire_blocking();
    if !layout.object_path(bucket, key).is_file() {
        return Err(LakeError::InvalidKey(key.into(), "no such object".into()));
    }
    let path = layout.internal_path(bucket, key);
    let mut info: InternalInfo = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => InternalInfo::new(),
        Err(e) => return Err(e.into()),
    };
    if class == "STANDARD" {
        info.remove(INFO_STORAGE_CLASS);
    } else {
        info.insert(INFO_STORAGE_CLASS.into(), class.into());
    }
    if !info.contains_key("e_tag") {
        // Keep the ETag S3 reported so far (s3s-fs falls back to the MD5 only without a sidecar).
        let md5 = md5_sync(&layout.object_path(bucket, key))?;
        info.insert("e_tag".into(), md5.into());
    }
    let bytes = serde_json::to_vec(&info).map_err(std::io::Error::other)?;
    lake_fs::write_atomic_unsynced(&layout, &path, &bytes)?;
    Ok(())
}

fn md5_sync(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let mut md5 = s3s::crypto::Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
    }
    Ok(hex::encode(md5.finalize()))
}

/// Every object of a bucket under `prefix`, sorted by key (retention sweeps, reconciliation).
pub fn list_objects(app: &App, bucket: &str, prefix: &str) -> Result<Vec<ObjectEntry>, LakeError> {
    let layout = Layout::of(app);
    let root = layout.bucket_dir(bucket);
    if !root.is_dir() {
        return Err(LakeError::NoSuchBucket(bucket.into()));
    }
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push(entry.path());
                continue;
            }
            let path = entry.path();
            let Some(key) = path
                .strip_prefix(&root)
                .ok()
                .and_then(|p| p.to_str())
                .map(|s| s.replace(std::path::MAIN_SEPARATOR, "/"))
            else {
                continue;
            };
            if !key.starts_with(prefix) {
                continue;
            }
            let meta = entry.metadata()?;
            let modified: chrono::DateTime<chrono::Utc> = meta.modified()?.into();
            out.push(ObjectEntry {
                key,
                size: meta.len(),
                last_modified: modified,
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}
