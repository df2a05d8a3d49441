//! What a multipart upload remembers beyond s3s-fs's own files (`.upload-<id>.json`, the parts):
//! - the checksum type CreateMultipartUpload declared (`x-amz-checksum-type`), which S3 applies
//!   on Complete without the client repeating it;
//! - after Complete, its result: S3 answers a resent CompleteMultipartUpload (a client retrying
//!   after a lost response) with 200 and the same object, as long as that object is still the one
//!   the upload made; once it was replaced or deleted, the upload is gone (`NoSuchUpload`).
//!
//! - what CreateMultipartUpload started (bucket, key, instant, checksum algorithm): S3 lists the
//!   uploads in progress (ListMultipartUploads, [`super::lake_upload_list`]) and answers
//!   `NoSuchUpload` when a later call names the upload with another bucket or key.
//!
//! All are small JSON files at the storage root beside s3s-fs's upload record.

use std::io;
use std::path::PathBuf;

use s3s::dto::{ChecksumType, CompleteMultipartUploadOutput};
use serde::{Deserialize, Serialize};

use super::lake_fs::{self, Layout};

/// Upload ids are ours (s3s-fs makes UUIDs); anything else never names a file.
fn safe(upload_id: &str) -> bool {
    !upload_id.is_empty() && upload_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn declared_path(layout: &Layout, upload_id: &str) -> PathBuf {
    layout.root().join(format!(".upload-{upload_id}.checksum-type"))
}

fn completed_path(layout: &Layout, upload_id: &str) -> PathBuf {
    layout.root().join(format!(".completed-{upload_id}.json"))
}

/// Records the checksum type CreateMultipartUpload declared (nothing when it declared none).
pub(crate) async fn declare(layout: &Layout, upload_id: &str, kind: Option<&ChecksumType>) -> io::Result<()> {
    match kind {
        Some(k) if safe(upload_id) => {
            lake_fs::write_atomic(layout, &declared_path(layout, upload_id), k.as_str().as_bytes()).await
        }
        _ => Ok(()),
    }
}

/// The checksum type the upload declared on Create, if any.
pub(crate) async fn declared(layout: &Layout, upload_id: &str) -> Option<String> {
    if !safe(upload_id) {
        return None;
    }
    tokio::fs::read_to_string(declared_path(layout, upload_id)).await.ok()
}

/// Forgets what the upload started with (it was completed or aborted).
pub(crate) async fn forget(layout: &Layout, upload_id: &str) {
    if safe(upload_id) {
        let _ = tokio::fs::remove_file(declared_path(layout, upload_id)).await;
        let _ = tokio::fs::remove_file(started_path(layout, upload_id)).await;
    }
}

/// The folder of the started records: its own, because the root holds every object's sidecars
/// and ListMultipartUploads should not walk them. Bucket names cannot start with a dot, so it
/// never meets a bucket's folder; a reset wipes it with the root.
fn started_dir(layout: &Layout) -> PathBuf {
    layout.root().join(".multipart-started")
}

fn started_path(layout: &Layout, upload_id: &str) -> PathBuf {
    started_dir(layout).join(format!("{upload_id}.json"))
}

/// What CreateMultipartUpload started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Started {
    pub tenant: String,
    pub bucket: String,
    pub key: String,
    /// When, on the mock clock (µs since the epoch).
    pub initiated_us: i64,
    pub checksum_algorithm: Option<String>,
    pub checksum_type: Option<String>,
}

/// Records what CreateMultipartUpload started.
pub(crate) async fn begin(layout: &Layout, upload_id: &str, started: &Started) -> io::Result<()> {
    if !safe(upload_id) {
        return Ok(());
    }
    let bytes = serde_json::to_vec(started).map_err(io::Error::other)?;
    lake_fs::write_atomic(layout, &started_path(layout, upload_id), &bytes).await
}

/// What the upload started with; `None` for an unknown id (or one made before these records).
pub(crate) fn started(layout: &Layout, upload_id: &str) -> Option<Started> {
    if !safe(upload_id) {
        return None;
    }
    let bytes = std::fs::read(started_path(layout, upload_id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The uploads in progress into `bucket`, as `(upload id, what it started)`, in no order.
/// Blocking (a scan of the storage root): call it from a blocking thread.
pub(crate) fn in_progress(layout: &Layout, bucket: &str) -> io::Result<Vec<(String, Started)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(started_dir(layout)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let name = entry?.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        // s3s-fs's own record says whether the upload is still open.
        if !layout.upload_exists(id) {
            continue;
        }
        if let Some(s) = started(layout, id).filter(|s| s.bucket == bucket) {
            out.push((id.to_string(), s));
        }
    }
    Ok(out)
}

/// The result of a completed upload, kept to answer a resent Complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Completed {
    pub tenant: String,
    pub bucket: String,
    pub key: String,
    pub e_tag: String,
    pub location: String,
    pub checksum_type: Option<String>,
    /// `(algorithm field name, value)`, e.g. `("checksum_crc32", "…-3")`.
    pub checksums: Vec<(String, String)>,
}

impl Completed {
    /// What to keep of a Complete's answer.
    pub(crate) fn of(tenant: &str, out: &CompleteMultipartUploadOutput) -> Self {
        let sums = [
            ("checksum_crc32", &out.checksum_crc32),
            ("checksum_crc32c", &out.checksum_crc32c),
            ("checksum_sha1", &out.checksum_sha1),
            ("checksum_sha256", &out.checksum_sha256),
            ("checksum_crc64nvme", &out.checksum_crc64nvme),
        ];
        Self {
            tenant: tenant.to_string(),
            bucket: out.bucket.clone().unwrap_or_default(),
            key: out.key.clone().unwrap_or_default(),
            e_tag: out.e_tag.as_ref().map(|e| e.value().to_string()).unwrap_or_default(),
            location: out.location.clone().unwrap_or_default(),
            checksum_type: out.checksum_type.as_ref().map(|t| t.as_str().to_string()),
            checksums: sums
                .into_iter()
                .filter_map(|(n, v)| v.clone().map(|v| (n.to_string(), v)))
                .collect(),
        }
    }

    /// The same answer again (the caller adds the encryption fields).
    pub(crate) fn output(&self) -> CompleteMultipartUploadOutput {
        let mut out = CompleteMultipartUploadOutput {
            bucket: Some(self.bucket.clone()),
            key: Some(self.key.clone()),
            e_tag: Some(s3s::dto::ETag::Strong(self.e_tag.clone())),
            location: Some(self.location.clone()),
            checksum_type: self.checksum_type.clone().map(ChecksumType::from),
            ..Default::default()
        };
        for (name, v) in &self.checksums {
            let slot = match name.as_str() {
                "checksum_crc32" => &mut out.checksum_crc32,
                "checksum_crc32c" => &mut out.checksum_crc32c,
                "checksum_sha1" => &mut out.checksum_sha1,
                "checksum_sha256" => &mut out.checksum_sha256,
                "checksum_crc64nvme" => &mut out.checksum_crc64nvme,
                _ => continue,
            };
            *slot = Some(v.clone());
        }
        out
    }
}

/// Keeps a completed upload's result.
pub(crate) async fn remember(layout: &Layout, upload_id: &str, done: &Completed) -> io::Result<()> {
    if !safe(upload_id) {
        return Ok(());
    }
    let bytes = serde_json::to_vec(done).map_err(io::Error::other)?;
    lake_fs::write_atomic(layout, &completed_path(layout, upload_id), &bytes).await
}

/// The kept result of a completed upload, if any.
pub(crate) async fn recall(layout: &Layout, upload_id: &str) -> Option<Completed> {
    if !safe(upload_id) {
        return None;
    }
    let bytes = tokio::fs::read(completed_path(layout, upload_id)).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_name_files() {
        assert!(safe("0b5f7a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
        for bad in ["", "../x", "a/b", "a.b", "a\0b"] {
            assert!(!safe(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_completed_answer_round_trips() {
        let out = CompleteMultipartUploadOutput {
            bucket: Some("b".into()),
            key: Some("k".into()),
            e_tag: Some(s3s::dto::ETag::Strong("abc-2".into())),
            location: Some("http://x/b/k".into()),
            checksum_crc32: Some("AAAAAA==-2".into()),
            checksum_type: Some(ChecksumType::from_static(ChecksumType::COMPOSITE)),
            ..Default::default()
        };
        let kept = Completed::of("t1", &out);
        let json = serde_json::to_vec(&kept).expect("serialises");
        let back: Completed = serde_json::from_slice(&json).expect("parses");
        assert_eq!(back, kept);
        let again = back.output();
        assert_eq!(again.e_tag, out.e_tag);
        assert_eq!(again.checksum_crc32, out.checksum_crc32);
        assert_eq!(again.checksum_type, out.checksum_type);
        assert_eq!(again.location, out.location);
    }
}
