//! Storing a PutObject: the body, already received and checked (`lake_fs::spool`), written with
//! its two sidecars on the request's own thread, the bytes last and in one rename.
//!
//! Why not s3s-fs's `put_object`: it wrote the body a second time from our spool, then each
//! sidecar, each through tokio's blocking pool (create, write, flush, rename: a hop apiece), and
//! we rewrote its internal-info sidecar after it to add the KMS key and tags. For a 1 KiB object
//! those hops were most of a PUT's cost (docs/benchmarks.md, "S3 side by side"). Writing a few
//! small files to the page cache takes microseconds, less than one hop.
//!
//! Order, for a crash between two steps: the sidecars go first and the bytes last, so a new key
//! is invisible until it is whole (a listing shows files, not sidecars), and no reader ever sees
//! a partial body. The caller holds the key's write lock, so no reader sees the steps at all.

use s3s::dto::{Checksum, ETag, ETagCondition, IfMatch, IfNoneMatch, PutObjectInput};
use s3s::{s3_error, S3Error, S3Result};

use super::lake_fs::{self, InternalInfo, Layout, Spooled, INFO_KMS_KEY, INFO_MARKER_AT};
use super::lake_read::Attributes;
use super::lake_tags::{self, Tags};
use crate::store::time::{to_us, Instant};

/// The storage classes PutObject accepts (as s3s-fs: the others are not kept apart here).
const STORAGE_CLASSES: [&str; 2] = ["STANDARD", "REDUCED_REDUNDANCY"];

/// Names of the checksum entries in the internal-info sidecar, as s3s-fs reads them.
const CHECKSUM_NAMES: [&str; 5] = [
    "checksum_crc32",
    "checksum_crc32c",
    "checksum_sha1",
    "checksum_sha256",
    "checksum_crc64nvme",
];

fn io500(e: std::io::Error) -> S3Error {
    S3Error::internal_error(e)
}

/// Refuses a storage class this mock does not keep (before the body is read).
pub(crate) fn check_storage_class(input: &PutObjectInput) -> S3Result<()> {
    match &input.storage_class {
        Some(c) if !STORAGE_CLASSES.contains(&c.as_str()) => Err(s3_error!(InvalidStorageClass)),
        _ => Ok(()),
    }
}

/// The attributes of the new object, from the request (content type, user metadata, ...).
pub(crate) fn attributes_of(input: &mut PutObjectInput) -> Attributes {
    let mut a = Attributes::default();
    a.user_metadata = input.metadata.take();
    a.content_encoding = input.content_encoding.take();
    a.content_type = input.content_type.take();
    a.content_disposition = input.content_disposition.take();
    a.content_language = input.content_language.take();
    a.cache_control = input.cache_control.take();
    a.website_redirect_location = input.website_redirect_location.take();
    a.set_expires(input.expires.take());
    a
}

/// `If-None-Match: *` (create only) or `<etag>` (not over that version), and `If-Match: <etag>`
/// (replace only that version), checked
/// under the key's write lock, so two writers racing for one key cannot both win (delta-rs relies
/// on this for its commit log).
pub(crate) async fn check_conditions(
    layout: &Layout,
    bucket: &str,
    key: &str,
    if_match: Option<&IfMatch>,
    if_none_match: Option<&IfNoneMatch>,
) -> S3Result<()> {
    let exists = layout.object_path(bucket, key).is_file();
    let failed = || {
        s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )
    };
    if let Some(cond) = if_none_match.filter(|_| exists) {
        let hit = match cond {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => current_etag(layout, bucket, key).await?.strong_cmp(e),
        };
        if hit {
            return Err(failed());
        }
    }
    let Some(cond) = if_match else { return Ok(()) };
    if !exists {
        return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
    }
    if let ETagCondition::ETag(expected) = cond {
        if !current_etag(layout, bucket, key).await?.strong_cmp(expected) {
            return Err(failed());
        }
    }
    Ok(())
}

async fn current_etag(layout: &Layout, bucket: &str, key: &str) -> S3Result<ETag> {
    let info = lake_fs::load_info_now(layout, bucket, key).map_err(io500)?;
    let etag = lake_fs::etag_of(layout, bucket, key, info.as_ref())
        .await
        .map_err(io500)?;
    Ok(ETag::Strong(etag))
}

/// Sets the checksum entries of an internal-info sidecar to `sums` (none kept from before).
pub(crate) fn record_checksums(info: &mut InternalInfo, sums: &Checksum) {
    for name in CHECKSUM_NAMES {
        info.remove(name);
    }
    let values = [
        &sums.checksum_crc32,
        &sums.checksum_crc32c,
        &sums.checksum_sha1,
        &sums.checksum_sha256,
        &sums.checksum_crc64nvme,
    ];
    for (name, v) in CHECKSUM_NAMES.into_iter().zip(values) {
        if let Some(v) = v {
            info.insert(name.into(), v.clone().into());
        }
    }
}

/// What is recorded about one PutObject besides its bytes.
pub(crate) struct Written<'a> {
    pub(crate) kms_key: &'a str,
    pub(crate) tags: &'a Tags,
    pub(crate) checksums: &'a Checksum,
    pub(crate) at: Instant,
}

/// Stores an object (caller holds the key's write lock and has run `prepare_write`): the
/// internal-info sidecar (ETag, checksums, KMS key, tags), the attributes sidecar (removed when
/// the request set none, so an overwrite keeps no stale content type), then the bytes.
pub(crate) fn store_object(
    layout: &Layout,
    bucket: &str,
    key: &str,
    body: Spooled,
    attrs: &Attributes,
    w: &Written<'_>,
) -> S3Result<()> {
    let mut info = InternalInfo::new();
    info.insert("e_tag".into(), body.md5_hex.clone().into());
    record_checksums(&mut info, w.checksums);
    info.insert(INFO_KMS_KEY.into(), w.kms_key.into());
    lake_tags::set(&mut info, w.tags);
    write_sidecar(layout, &layout.internal_path(bucket, key), &info)?;
    let meta = layout.metadata_path(bucket, key);
    if attrs.is_empty() {
        lake_fs::ignore_missing(std::fs::remove_file(&meta)).map_err(io500)?;
    } else {
        write_sidecar(layout, &meta, attrs)?;
    }
    body.store(&layout.object_path(bucket, key), layout, w.at)
        .map_err(io500)
}

/// Stores a folder marker (`a/`, no bytes): its folder, and a sidecar saying someone PUT it.
pub(crate) fn store_marker(layout: &Layout, bucket: &str, key: &str, w: &Written<'_>) -> S3Result<()> {
    std::fs::create_dir_all(layout.object_path(bucket, key)).map_err(io500)?;
    let mut info = InternalInfo::new();
    info.insert(INFO_KMS_KEY.into(), w.kms_key.into());
    info.insert(INFO_MARKER_AT.into(), to_us(w.at).into());
    lake_tags::set(&mut info, w.tags);
    write_sidecar(layout, &layout.internal_path(bucket, key), &info)
}

fn write_sidecar(layout: &Layout, path: &std::path::Path, value: &impl serde::Serialize) -> S3Result<()> {
    let bytes = serde_json::to_vec(value).map_err(S3Error::internal_error)?;
    lake_fs::write_atomic_unsynced(layout, path, &bytes).map_err(io500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_replace_the_old_ones() {
        let mut info = InternalInfo::new();
        info.insert("checksum_sha1".into(), "old".into());
        info.insert("e_tag".into(), "x".into());
        let sums = Checksum {
            checksum_crc32: Some("AAAAAA==".into()),
            ..Checksum::default()
        };
        record_checksums(&mut info, &sums);
        assert_eq!(info.get("checksum_crc32").and_then(|v| v.as_str()), Some("AAAAAA=="));
        assert!(info.get("checksum_sha1").is_none(), "a stale checksum must not survive");
        assert!(info.get("e_tag").is_some(), "other entries are kept");
    }

    #[test]
    fn empty_attributes_keep_no_sidecar() {
        let mut input = PutObjectInput::builder()
            .bucket("b".into())
            .key("k".into())
            .build()
            .expect("test setup");
        assert!(attributes_of(&mut input).is_empty());
        input.content_type = Some("text/csv".into());
        let a = attributes_of(&mut input);
        assert!(!a.is_empty());
        let json = serde_json::to_string(&a).expect("test setup");
        assert_eq!(json, r#"{"content_type":"text/csv"}"#, "the shape s3s-fs writes");
    }
}
