//! Tenants' data-lake buckets on the S3 endpoint: full S3 semantics over s3s-fs, for the bucket's
//! owner only. Bucket names are global as in S3: another tenant's bucket refuses (D8).
//!
//! What this layer adds to s3s-fs 0.14.1 (see `/work/shared/S3S-NOTES.md`):
//! - Ownership ([`super::lake_owner`]): CreateBucket claims the name; a name another tenant owns
//!   is `BucketAlreadyExists` (409); re-creating one's own bucket answers **200**, as S3 does in
//!   us-east-1 (the mock's region) — boto3, the AWS CLI and aws-sdk treat that as success, and
//!   clients that send CreateBucket "just in case" keep working. Every other operation on a bucket
//!   the caller's tenant does not own is `AccessDenied`; on one nobody owns, `NoSuchBucket`.
//!   ListBuckets shows only the tenant's buckets.
//! - SSE-KMS: objects record the tenant's KMS key when written; PutObject, CopyObject,
//!   CompleteMultipartUpload, GetObject and HeadObject answer `x-amz-server-side-encryption:
//!   aws:kms` and `x-amz-server-side-encryption-aws-kms-key-id`. Reading an object needs its
//!   key (F9): GetObject (ranges and parts included), HeadObject and the source of CopyObject and
//!   UploadPartCopy are `AccessDenied`, with KMS's message, for a data-lake credential that was
//!   not granted the key the object was written under (see `faults::kms`); listings need no key.
//! - s3s-fs defects fixed: writes are serialised per key (`lake_fs::LockSet`); bodies
//!   are spooled and their Content-MD5 and checksums (headers or aws-chunked trailers) verified
//!   before anything is stored; DeleteBucket refuses a non-empty bucket; listings carry ETag,
//!   StorageClass and (v1, or v2 with fetch-owner) Owner, and honour `encoding-type=url`;
//!   `a` vs `a/b` is a 409 `KeyConflict`; GET/HEAD honour If-Match, If-None-Match (304),
//!   If-Modified-Since and If-Unmodified-Since, and `partNumber`; a suffix range longer than the
//!   object returns all of it (206); deletes remove the sidecars; a multipart overwrite keeps no
//!   stale checksum; UploadPart returns its checksums; when the parts carry checksums,
//!   CompleteMultipartUpload checks them and records S3's object checksum (`COMPOSITE` `…-N`;
//!   `FULL_OBJECT` for CRC64NVME, or CRC32/CRC32C when asked, checked against a whole-object
//!   value the request carries) for checksum-mode GET/HEAD, which report `ChecksumType`; ListParts is sorted and carries ETags;
//!   an unknown upload id is `NoSuchUpload`; a tampered aws-chunked body is a 4xx.
//! - `LastModified` is the mock-clock instant of the write (so with a clock frozen in the past,
//!   `aws s3 sync` sees local files as newer and uploads them again, as it would against a
//!   server whose clock is behind).
//! - Folder markers (`a/`, zero bytes) are folders: a marker someone PUT answers GET/HEAD as
//!   S3 does (200, zero bytes; pyarrow HEADs `a/` to find empty directories) until it is deleted
//!   or an object `a` replaces the empty folder; a folder only implied by longer keys is 404.
//! - Listings are the wrapper's own ([`super::lake_list`]): markers are keys there (and common
//!   prefixes with a delimiter), as in S3.
//! - Not kept as S3 does: keys with empty, `.` or `..` segments
//!   or a leading `/` are refused (400) because they cannot map one-to-one onto files.
//! - Object tags ([`super::lake_tags`]) in the internal-info sidecar: Put/Get/DeleteObjectTagging,
//!   `x-amz-tagging` on PutObject and CopyObject (tagging directive), `x-amz-tagging-count` on
//!   GET/HEAD.
//! - Exports write through [`super::lake_platform`] (same layout, locks and rules).
//! - Multipart uploads belong to the tenant, not to one credential pair: an upload started with
//!   one data-lake pair may be finished with another of the same tenant.

use std::sync::Arc;

use s3s::auth::{Credentials, SecretKey};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};

use super::auth::Caller;
use super::lake_attributes;
use super::lake_fs::{
    self, check_key, prepare_write, ChecksumSpec, InternalInfo, KeyLocks, Layout, LockSet, INFO_KMS_KEY,
    INFO_MARKER_AT, INFO_PART_CHECKSUMS, INFO_PART_SIZES, MIN_PART_BYTES,
};
use super::lake_list;
use super::lake_owner::{self, internal, require_owner, Claim};
use super::lake_read;
use super::lake_tags::{self, Tags};
use super::lake_upload::{self, Completed, Started};
use super::lake_upload_list;
use super::lake_write;
use crate::app::App;
use crate::auth::tenants;
use crate::faults::kms;
use crate::storage::daily_cap::SEA_BUCKET;
use crate::store::time::{from_us, to_us, Instant};

/// Copies the five checksum fields of `$sum` (a [`Checksum`]) into `$out`, an s3s answer with
/// fields of the same names (GetObject, UploadPart, CompleteMultipartUpload, CopyObjectResult).
macro_rules! set_checksums {
    ($out:expr, $sum:expr) => {{
        let sum: Checksum = $sum;
        $out.checksum_crc32 = sum.checksum_crc32;
        $out.checksum_crc32c = sum.checksum_crc32c;
        $out.checksum_sha1 = sum.checksum_sha1;
        $out.checksum_sha256 = sum.checksum_sha256;
        $out.checksum_crc64nvme = sum.checksum_crc64nvme;
    }};
}

/// GetObject's and HeadObject's answers share these fields (two s3s types, the same names): the
/// object's attributes (`lake_read::Attributes`), ETag, modification time and the answered
/// checksums, plus the `extra` fields of the one being built.
macro_rules! object_output {
    ($ty:ident, $found:expr, $a:expr, $sums:expr, $checksum_type:expr, { $($extra:tt)* }) => {
        $ty {
            $($extra)*
            last_modified: Some($found.last_modified.clone()),
            expires: $a.expires(),
            metadata: $a.user_metadata,
            content_encoding: $a.content_encoding,
            content_type: $a.content_type,
            content_disposition: $a.content_disposition,
            content_language: $a.content_language,
            cache_control: $a.cache_control,
            website_redirect_location: $a.website_redirect_location,
            e_tag: Some(ETag::Strong($found.etag.clone())),
            checksum_crc32: $sums.checksum_crc32,
            checksum_crc32c: $sums.checksum_crc32c,
            checksum_sha1: $sums.checksum_sha1,
            checksum_sha256: $sums.checksum_sha256,
            checksum_crc64nvme: $sums.checksum_crc64nvme,
            checksum_type: $checksum_type,
            ..Default::default()
        }
    };
}

pub use super::lake_owner::{ensure_bucket, LakeError};

/// The data-lake side of the S3 front.
pub struct LakeBuckets {
    app: Arc<App>,
    fs: s3s_fs::FileSystem,
    layout: Layout,
}

impl std::fmt::Debug for LakeBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeBuckets")
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// Converts a mock-clock instant to an S3 timestamp.
fn ts(t: Instant) -> Timestamp {
    Timestamp::from(std::time::SystemTime::from(t))
}

fn unix_secs(t: &Timestamp) -> i64 {
    time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

/// ETag (MD5) of zero bytes: a folder marker's.
pub(crate) const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

fn no_such_key() -> S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

fn io500(e: std::io::Error) -> S3Error {
    internal(e)
}

/// The bucket and key of a copy source.
fn copy_source(src: &CopySource) -> S3Result<(&str, &str)> {
    match src {
        CopySource::Bucket { bucket, key, .. } => Ok((bucket, key)),
        _ => Err(s3_error!(
            NotImplemented,
            "Access points and outposts are not supported"
        )),
    }
}

/// What GET and HEAD learn about an object before serving it.
struct Found {
    etag: String,
    last_modified: Timestamp,
    size: u64,
    info: Option<InternalInfo>,
}

impl Found {
    fn part_sizes(&self) -> Option<Vec<u64>> {
        let v = self.info.as_ref()?.get(INFO_PART_SIZES)?.as_array()?;
        v.iter().map(serde_json::Value::as_u64).collect()
    }

    /// GET of part `n` of a multipart object uploaded with checksums answers that part's checksum
    /// (the checksum of the bytes returned) and the object's checksum type.
    fn part_checksum(&self, n: i32) -> Option<(Checksum, ChecksumType)> {
        let sum = self
            .part_checksums()
            .get(usize::try_from(n).ok()?.checked_sub(1)?)?
            .clone();
        Some((sum, checksum_type(self.info.as_ref())))
    }

    /// The per-part checksums (empty for an object uploaded without any): each part's entry is
    /// a small sidecar map of its own ([`insert_checksums`]).
    fn part_checksums(&self) -> Vec<Checksum> {
        let parts = self.info.as_ref().and_then(|i| i.get(INFO_PART_CHECKSUMS)?.as_array());
        parts
            .into_iter()
            .flatten()
            .map(|p| lake_read::checksums(p.as_object()))
            .collect()
    }

    /// `(first byte, length, parts count)` of part `n`.
    fn part(&self, n: i32) -> S3Result<(u64, u64, Option<i32>)> {
        let sizes = self.part_sizes();
        let multipart = sizes.is_some();
        let sizes = sizes.unwrap_or_else(|| vec![self.size]);
        let idx = usize::try_from(n)
            .ok()
            .filter(|&i| i >= 1 && i <= sizes.len())
            .ok_or_else(|| {
                let mut e = S3Error::with_message(
                    S3ErrorCode::Custom("InvalidPartNumber".into()),
                    "The requested partnumber is not satisfiable",
                );
                e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
                e
            })?;
        let first: u64 = sizes[..idx - 1].iter().sum();
        let count = i32::try_from(sizes.len()).unwrap_or(i32::MAX);
        Ok((first, sizes[idx - 1], multipart.then_some(count)))
    }
}

/// Conditional request headers of GET and HEAD.
struct Conditions<'a> {
    if_match: Option<&'a ETagCondition>,
    if_none_match: Option<&'a ETagCondition>,
    if_modified_since: Option<&'a Timestamp>,
    if_unmodified_since: Option<&'a Timestamp>,
}

impl Conditions<'_> {
    /// RFC 9110 / S3 precedence: If-Match beats If-Unmodified-Since (412), If-None-Match beats
    /// If-Modified-Since (304).
    fn check(&self, found: &Found) -> S3Result<()> {
        let etag = ETag::Strong(found.etag.clone());
        let modified = unix_secs(&found.last_modified);
        if let Some(c) = self.if_match {
            let ok = match c {
                ETagCondition::Any => true,
                ETagCondition::ETag(e) => etag.strong_cmp(e),
            };
            if !ok {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
        } else if let Some(t) = self.if_unmodified_since {
            if modified > unix_secs(t) {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
        }
        let not_modified = if let Some(c) = self.if_none_match {
            match c {
                ETagCondition::Any => true,
                ETagCondition::ETag(e) => etag.weak_cmp(e),
            }
        } else if let Some(t) = self.if_modified_since {
            modified <= unix_secs(t)
        } else {
            false
        };
        if not_modified {
            let mut e = s3_error!(NotModified, "Not Modified");
            let mut headers = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", found.etag)) {
                headers.insert(http::header::ETAG, v);
            }
            e.set_headers(headers);
            return Err(e);
        }
        Ok(())
    }
}

impl LakeBuckets {
    /// Data-lake buckets stored by `fs` (rooted at `app.store.s3_root()`).
    pub fn new(app: Arc<App>, fs: s3s_fs::FileSystem) -> Self {
        let layout = Layout::of(&app);
        // Bodies a previous run was spooling when it stopped.
        let _ = std::fs::remove_dir_all(layout.spool_dir());
        Self { app, fs, layout }
    }

    fn own(&self, caller: &Caller, bucket: &str) -> S3Result<()> {
        require_owner(&self.app, caller.tenant_id(), bucket)
    }

    /// Ownership again, once the locks are held: the bucket may have been deleted (and its name
    /// claimed by another tenant) while this request waited.
    fn own_locked(&self, caller: &Caller, bucket: &str) -> S3Result<()> {
        self.own(caller, bucket)?;
        if !self.layout.bucket_dir(bucket).is_dir() {
            return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist"));
        }
        Ok(())
    }

    /// The tenant's current KMS key id.
    fn kms_key(&self, tenant_id: &str) -> S3Result<String> {
        let find = |c: &rusqlite::Connection| Ok(tenants::find(c, tenant_id)?.map(|t| t.kms_key_id));
        match self.app.tenant_kms.get(&self.app.store, tenant_id, find) {
            Ok(Some(k)) => Ok(k),
            Ok(None) => Err(s3_error!(AccessDenied, "Access Denied")),
            Err(e) => Err(internal(e)),
        }
    }

    /// The key to report for an object: the one it was written under, else the tenant's current.
    fn object_kms_key(&self, caller: &Caller, info: Option<&InternalInfo>) -> S3Result<String> {
        match info.and_then(|i| i.get(INFO_KMS_KEY)).and_then(|v| v.as_str()) {
            Some(k) => Ok(k.to_string()),
            None => self.kms_key(caller.tenant_id()),
        }
    }

    /// F9: `AccessDenied` (with KMS's message) unless the caller was granted the key the object
    /// was written under; the first refusal per credential and object is a `fault` event.
    fn may_decrypt(
        &self,
        caller: &Caller,
        bucket: &str,
        key: &str,
        info: Option<&InternalInfo>,
        operation: &str,
    ) -> S3Result<()> {
        let Caller::DataLake {
            tenant_id,
            kms_keys,
            access_key_id,
        } = caller
        else {
            return Ok(());
        };
        let Some(object_key) = info.and_then(|i| i.get(INFO_KMS_KEY)).and_then(|v| v.as_str()) else {
            return Ok(()); // written before keys were recorded: nothing to check against
        };
        if kms_keys.is_empty() || kms_keys.iter().any(|k| k == object_key) {
            return Ok(());
        }
        let denial = kms::Denial {
            tenant_id,
            access_key_id,
            granted: kms_keys,
            bucket,
            key,
            object_kms_key_id: object_key,
            operation,
        };
        if let Err(e) = kms::record_denial(&self.app, &denial) {
            tracing::error!("data lake: recording the KMS denial of {bucket}/{key}: {e}");
        }
        Err(S3Error::with_message(S3ErrorCode::AccessDenied, kms::DENIED_MESSAGE))
    }

    fn aws_kms() -> Option<ServerSideEncryption> {
        Some(ServerSideEncryption::from_static(ServerSideEncryption::AWS_KMS))
    }

    /// s3s-fs ties a multipart upload to the access key that started it; we tie it to the tenant.
    fn tenant_credentials(caller: &Caller) -> Option<Credentials> {
        Some(Credentials {
            access_key: format!("tenant:{}", caller.tenant_id()),
            secret_key: SecretKey::from(String::new()),
        })
    }

    /// `NoSuchUpload` unless the upload is open and was started for this bucket and key (S3
    /// answers so to an upload id named with another key); `AccessDenied` unless the tenant
    /// started it.
    fn own_upload(&self, caller: &Caller, bucket: &str, key: &str, upload_id: &str) -> S3Result<()> {
        let no_such_upload = || {
            s3_error!(
                NoSuchUpload,
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
            )
        };
        if !self.layout.upload_exists(upload_id) {
            return Err(no_such_upload());
        }
        if lake_upload::started(&self.layout, upload_id).is_some_and(|s| s.bucket != bucket || s.key != key) {
            return Err(no_such_upload());
        }
        let path = self.layout.root().join(format!(".upload-{upload_id}.json"));
        let owner: Option<String> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .flatten();
        let expected = Self::tenant_credentials(caller).map(|c| c.access_key);
        if owner != expected {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        }
        Ok(())
    }

    /// After a write under its locks: `LastModified` is now on the mock clock, the sidecar
    /// records the object's tags, the KMS key (and, for multipart, part sizes instead of any stale checksums).
    async fn finish_write(
        &self,
        bucket: &str,
        key: &str,
        kms_key: &str,
        replace_info: Option<InternalInfo>,
        tags: &Tags,
    ) -> S3Result<Instant> {
        let now = self.app.now();
        let path = self.layout.object_path(bucket, key);
        lake_fs::set_mtime(&path, now).map_err(io500)?;
        let mut info = match replace_info {
            Some(i) => i,
            None => lake_fs::load_info(&self.layout, bucket, key)
                .await
                .map_err(io500)?
                .unwrap_or_default(),
        };
        info.insert(INFO_KMS_KEY.into(), kms_key.into());
        lake_tags::set(&mut info, tags);
        lake_fs::save_info(&self.layout, bucket, key, &info)
            .await
            .map_err(io500)?;
        Ok(now)
    }

    /// The shared start of GET and HEAD: the caller owns the bucket, the key's read lock is held
    /// (return it to keep it), the object exists and the request's conditions hold.
    async fn open_for_read(
        &self,
        caller: &Caller,
        bucket: &str,
        key: &str,
        conditions: Conditions<'_>,
    ) -> S3Result<(KeyLocks, Found)> {
        self.own(caller, bucket)?;
        if check_key(key).is_err() {
            return Err(no_such_key());
        }
        let locks = LockSet::new(&self.layout).read(bucket, key).acquire().await;
        let found = self.find(bucket, key).await?;
        conditions.check(&found)?;
        Ok((locks, found))
    }

    /// Looks an object up for GET/HEAD (caller holds its read lock).
    async fn find(&self, bucket: &str, key: &str) -> S3Result<Found> {
        if check_key(key).is_err() {
            return Err(no_such_key());
        }
        if let Some(found) = self.find_marker(bucket, key).await? {
            return Ok(found);
        }
        let path = self.layout.object_path(bucket, key);
        // A stat and a small sidecar read: on this thread (see `lake_read`).
        let meta = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() && !key.ends_with('/') => m,
            Ok(_) => return Err(no_such_key()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !self.layout.bucket_dir(bucket).is_dir() {
                    return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist"));
                }
                return Err(no_such_key());
            }
            Err(e) => return Err(io500(e)),
        };
        let info = lake_fs::load_info_now(&self.layout, bucket, key).map_err(io500)?;
        let etag = lake_fs::etag_of(&self.layout, bucket, key, info.as_ref())
            .await
            .map_err(io500)?;
        Ok(Found {
            etag,
            last_modified: Timestamp::from(meta.modified().map_err(io500)?),
            size: meta.len(),
            info,
        })
    }

    /// GetObject's output for the object `found` (its read lock held): attributes, the checksums
    /// when `checksums_wanted` and the whole object is read, and the bytes of `range` (`lake_read`,
    /// instead of s3s-fs's reader).
    async fn read_object(
        &self,
        bucket: &str,
        key: &str,
        found: &Found,
        range: Option<Range>,
        checksums_wanted: bool,
    ) -> S3Result<GetObjectOutput> {
        let (span, content_range) = lake_read::span(range, found.size)?;
        let len = span.end - span.start;
        let a = lake_read::attributes(&self.layout.metadata_path(bucket, key)).map_err(io500)?;
        let body = lake_read::body(&self.layout.object_path(bucket, key), span)
            .await
            .map_err(io500)?;
        // S3 leaves the checksums out of a read of part of the object.
        let (sums, checksum_type) = Self::answered_checksums(found, checksums_wanted && len == found.size);
        Ok(object_output!(GetObjectOutput, found, a, sums, checksum_type, {
            body: Some(body),
            content_length: Some(i64::try_from(len).unwrap_or(i64::MAX)),
            content_range,
        }))
    }

    /// The stored checksums and their type, when the answer carries them (`x-amz-checksum-mode:
    /// ENABLED` on a whole-object read, as in S3), else none.
    fn answered_checksums(found: &Found, answered: bool) -> (Checksum, Option<ChecksumType>) {
        if !answered {
            return (Checksum::default(), None);
        }
        let sums = lake_read::checksums(found.info.as_ref());
        let any = [
            &sums.checksum_crc32,
            &sums.checksum_crc32c,
            &sums.checksum_sha1,
            &sums.checksum_sha256,
            &sums.checksum_crc64nvme,
        ]
        .iter()
        .any(|c| c.is_some());
        let kind = any.then(|| checksum_type(found.info.as_ref()));
        (sums, kind)
    }

    /// HeadObject's output for the object `found` (its read lock held).
    fn head_output(
        &self,
        bucket: &str,
        key: &str,
        found: &Found,
        checksums_wanted: bool,
    ) -> S3Result<HeadObjectOutput> {
        let a = lake_read::attributes(&self.layout.metadata_path(bucket, key)).map_err(io500)?;
        let (sums, checksum_type) = Self::answered_checksums(found, checksums_wanted);
        Ok(object_output!(HeadObjectOutput, found, a, sums, checksum_type, {
            content_length: Some(i64::try_from(found.size).unwrap_or(i64::MAX)),
        }))
    }

    /// A folder marker (`a/`) someone PUT and whose folder still exists: a zero-byte object for
    /// GET and HEAD, as in S3 (pyarrow HEADs `a/` to tell an empty directory from nothing).
    async fn find_marker(&self, bucket: &str, key: &str) -> S3Result<Option<Found>> {
        if !key.ends_with('/') || !self.layout.object_path(bucket, key).is_dir() {
            return Ok(None);
        }
        let info = lake_fs::load_info(&self.layout, bucket, key).await.map_err(io500)?;
        let Some(at) = info
            .as_ref()
            .and_then(|i| i.get(INFO_MARKER_AT))
            .and_then(|v| v.as_i64())
        else {
            return Ok(None);
        };
        Ok(Some(Found {
            etag: EMPTY_MD5.to_string(),
            last_modified: ts(from_us(at)),
            size: 0,
            info,
        }))
    }

    /// GET/HEAD output fields of a folder marker found by [`Self::find_marker`].
    fn marker_output(found: &Found, kms: String) -> GetObjectOutput {
        GetObjectOutput {
            body: Some(StreamingBlob::wrap(futures::stream::empty::<
                Result<bytes::Bytes, std::io::Error>,
            >())),
            content_length: Some(0),
            e_tag: Some(ETag::Strong(found.etag.clone())),
            last_modified: Some(found.last_modified.clone()),
            tag_count: lake_tags::count(found.info.as_ref()),
            accept_ranges: Some("bytes".into()),
            server_side_encryption: Self::aws_kms(),
            ssekms_key_id: Some(kms),
            ..Default::default()
        }
    }

    /// Fills what s3s-fs leaves out of a listed object.
    async fn fill_listed(&self, bucket: &str, obj: &mut Object, owner: Option<&Owner>) {
        let mut class = ObjectStorageClass::STANDARD.to_string();
        if let Some(key) = obj.key.as_deref() {
            // The object may vanish between the scan and here: leave its ETag out then.
            if let Ok(info) = lake_fs::load_info(&self.layout, bucket, key).await {
                if let Ok(e) = lake_fs::etag_of(&self.layout, bucket, key, info.as_ref()).await {
                    obj.e_tag = Some(ETag::Strong(e));
                }
                if let Some(c) = storage_class(info.as_ref()) {
                    class = c.to_string();
                }
            }
        }
        obj.storage_class = Some(ObjectStorageClass::from(class));
        obj.owner = owner.cloned();
    }

    fn owner_of(caller: &Caller) -> Owner {
        Owner {
            display_name: Some(caller.tenant_id().to_string()),
            id: Some(hex::encode(caller.tenant_id())),
        }
    }
}

/// The per-part checksums of a multipart object, as kept in the sidecar ([`INFO_PART_CHECKSUMS`]).
fn part_checksums_json(sums: &[Checksum]) -> serde_json::Value {
    let parts: Vec<serde_json::Value> = sums
        .iter()
        .map(|c| {
            let mut m = serde_json::Map::new();
            insert_checksums(&mut m, c);
            serde_json::Value::Object(m)
        })
        .collect();
    parts.into()
}

/// Puts the set fields of `c` into a sidecar map under s3s-fs's names (`checksum_crc32`...),
/// which its GET and HEAD read back.
fn insert_checksums(m: &mut InternalInfo, c: &Checksum) {
    for (name, v) in [
        ("checksum_crc32", &c.checksum_crc32),
        ("checksum_crc32c", &c.checksum_crc32c),
        ("checksum_sha1", &c.checksum_sha1),
        ("checksum_sha256", &c.checksum_sha256),
        ("checksum_crc64nvme", &c.checksum_crc64nvme),
    ] {
        if let Some(v) = v {
            m.insert(name.into(), v.clone().into());
        }
    }
}

/// How an object's checksum was computed: as recorded for a multipart object, else over the
/// whole object (`FULL_OBJECT`, every single PUT).
fn checksum_type(info: Option<&InternalInfo>) -> ChecksumType {
    let recorded = info
        .and_then(|i| i.get(lake_fs::INFO_CHECKSUM_TYPE))
        .and_then(|v| v.as_str());
    ChecksumType::from(recorded.unwrap_or(ChecksumType::FULL_OBJECT).to_string())
}

/// S3 returns an object's `x-amz-checksum-*` on GET/HEAD only when the request carries
/// `x-amz-checksum-mode: ENABLED`.
/// Whether a CopyObject changes something besides the metadata (storage class, website redirect,
/// encryption, checksum, tags): S3 accepts copying an object onto itself only then, or with the
/// metadata directive `REPLACE`.
fn changes_more_than_metadata(input: &CopyObjectInput) -> bool {
    input.storage_class.is_some()
        || input.website_redirect_location.is_some()
        || input.server_side_encryption.is_some()
        || input.ssekms_key_id.is_some()
        || input.checksum_algorithm.is_some()
        || input
            .tagging_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE)
}

fn checksum_mode_enabled(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED))
}

/// `x-amz-tagging-count` on HEAD (s3s's HeadObjectOutput has no field for it; S3 sends it when
/// the object has tags).
fn tag_count_header(headers: &mut http::HeaderMap, count: Option<i32>) {
    if let Some(n) = count {
        headers.insert("x-amz-tagging-count", http::HeaderValue::from(n));
    }
}

/// A non-default storage class recorded for an object (D9 retention), if any.
fn storage_class(info: Option<&InternalInfo>) -> Option<&str> {
    info?
        .get(lake_fs::INFO_STORAGE_CLASS)?
        .as_str()
        .filter(|c| *c != ObjectStorageClass::STANDARD)
}

/// `encoding-type=url`: percent-encodes everything but unreserved characters and `/`.
fn url_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn encode_opt(v: &mut Option<String>) {
    if let Some(s) = v.as_mut() {
        *s = url_encode(s);
    }
}

fn wants_url(e: Option<&EncodingType>) -> bool {
    e.is_some_and(|e| e.as_str().eq_ignore_ascii_case(EncodingType::URL))
}

// ---------------------------------------------------------------------------------------------
// Buckets

impl LakeBuckets {
    /// CreateBucket: claims the name for the caller's tenant (see the module docs for 200 vs 409).
    pub async fn create_bucket(
        &self,
        caller: &Caller,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket.as_str();
        match lake_owner::claim(&self.app, caller.tenant_id(), bucket, self.app.now()) {
            Ok(Claim::Created | Claim::AlreadyOwned) => Ok(S3Response::new(CreateBucketOutput {
                location: Some(format!("/{bucket}")),
            })),
            Err(LakeError::OwnedByOther { .. } | LakeError::Reserved(_)) => Err(s3_error!(
                BucketAlreadyExists,
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
            )),
            Err(LakeError::InvalidBucketName(_, why)) => {
                Err(s3_error!(InvalidBucketName, "The specified bucket is not valid: {why}"))
            }
            Err(e) => Err(internal(e)),
        }
    }

    /// DeleteBucket: only an empty bucket (`BucketNotEmpty`, 409); forgets the owner.
    pub async fn delete_bucket(
        &self,
        caller: &Caller,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket.as_str();
        self.own(caller, bucket)?;
        let _locks = LockSet::new(&self.layout).bucket(bucket).acquire().await;
        let dir = self.layout.bucket_dir(bucket);
        if dir.is_dir() {
            if !lake_fs::tree_has_no_files(&dir).map_err(io500)? {
                return Err(s3_error!(BucketNotEmpty, "The bucket you tried to delete is not empty"));
            }
            std::fs::remove_dir_all(&dir).map_err(io500)?;
        }
        // Sidecars of pending multipart uploads (and any strays) of this bucket.
        let prefix = Layout::bucket_sidecar_prefix(bucket);
        if let Ok(entries) = std::fs::read_dir(self.layout.root()) {
            for entry in entries.flatten() {
                if entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        self.app
            .store
            .with(|c| lake_owner::release(c, bucket))
            .map_err(internal)?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    /// HeadBucket.
    pub async fn head_bucket(
        &self,
        caller: &Caller,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.own(caller, &req.input.bucket)?;
        let mut resp = self.fs.head_bucket(req).await?;
        resp.output.bucket_region = Some("us-east-1".into());
        Ok(resp)
    }

    /// GetBucketLocation (empty constraint: us-east-1).
    pub async fn get_bucket_location(
        &self,
        caller: &Caller,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.own(caller, &req.input.bucket)?;
        self.fs.get_bucket_location(req).await
    }

    /// ListBuckets: the caller's tenant's buckets only.
    pub async fn list_buckets(
        &self,
        caller: &Caller,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let rows = self
            .app
            .store
            .with(|c| lake_owner::list(c, caller.tenant_id()))
            .map_err(internal)?;
        let prefix = req.input.prefix.as_deref().unwrap_or("");
        let buckets = rows
            .into_iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, created)| Bucket {
                creation_date: Some(ts(created)),
                name: Some(name),
                bucket_region: Some("us-east-1".into()),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Self::owner_of(caller)),
            prefix: req.input.prefix,
            ..Default::default()
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Listings

impl LakeBuckets {
    /// The bucket must exist (after the ownership check: a released name is `NoSuchBucket`).
    fn require_bucket_dir(&self, bucket: &str) -> S3Result<()> {
        if !self.layout.bucket_dir(bucket).is_dir() {
            return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist"));
        }
        Ok(())
    }

    /// ListObjects (v1) by [`lake_list`] (folder markers included); ETag, StorageClass, Owner
    /// filled in; `encoding-type=url` honoured.
    pub async fn list_objects(
        &self,
        caller: &Caller,
        mut req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        self.own(caller, &bucket)?;
        self.require_bucket_dir(&bucket)?;
        let input = &mut req.input;
        let url = wants_url(input.encoding_type.as_ref());
        no_empty_delimiter(&mut input.delimiter);
        let max_keys = input.max_keys.unwrap_or(1000);
        let page = lake_list::list(
            &self.layout,
            &bucket,
            lake_list::Query {
                prefix: input.prefix.as_deref().unwrap_or(""),
                delimiter: input.delimiter.as_deref(),
                after: input.marker.as_deref().filter(|m| !m.is_empty()),
                max_keys: usize::try_from(max_keys).unwrap_or(0),
            },
        )
        .await?;
        let owner = Self::owner_of(caller);
        let mut contents = page.objects;
        for obj in &mut contents {
            self.fill_listed(&bucket, obj, Some(&owner)).await;
        }
        let mut out = ListObjectsOutput {
            common_prefixes: (!page.prefixes.is_empty()).then(|| {
                page.prefixes
                    .into_iter()
                    .map(|p| CommonPrefix { prefix: Some(p) })
                    .collect()
            }),
            contents: (!contents.is_empty()).then_some(contents),
            delimiter: input.delimiter.take(),
            encoding_type: input.encoding_type.take(),
            is_truncated: Some(page.truncated),
            // Always present, empty when the request had none (S3; s3-tests checks `Marker == ''`).
            marker: Some(input.marker.take().unwrap_or_default()),
            max_keys: Some(max_keys),
            name: Some(bucket),
            // S3 returns NextMarker only with a delimiter; clients use the last key otherwise.
            next_marker: None,
            prefix: input.prefix.take(),
            ..Default::default()
        };
        if out.delimiter.is_some() {
            out.next_marker = page.next;
        }
        if url {
            for obj in out.contents.iter_mut().flatten() {
                encode_opt(&mut obj.key);
            }
            for p in out.common_prefixes.iter_mut().flatten() {
                encode_opt(&mut p.prefix);
            }
            encode_opt(&mut out.prefix);
            encode_opt(&mut out.delimiter);
            encode_opt(&mut out.marker);
            encode_opt(&mut out.next_marker);
        }
        Ok(S3Response::new(out))
    }

    /// ListObjectsV2 by [`lake_list`] (folder markers included); ETag, StorageClass (and Owner
    /// with fetch-owner) filled in; `encoding-type=url` honoured.
    pub async fn list_objects_v2(
        &self,
        caller: &Caller,
        mut req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket = req.input.bucket.clone();
        self.own(caller, &bucket)?;
        self.require_bucket_dir(&bucket)?;
        let input = &mut req.input;
        let url = wants_url(input.encoding_type.as_ref());
        let owner = (input.fetch_owner == Some(true)).then(|| Self::owner_of(caller));
        no_empty_delimiter(&mut input.delimiter);
        let max_keys = input.max_keys.unwrap_or(1000);
        // A continuation token (the last key or common prefix of the previous page) wins over
        // start-after, as in S3.
        let after = input
            .continuation_token
            .as_deref()
            .or(input.start_after.as_deref())
            .filter(|a| !a.is_empty());
        let page = lake_list::list(
            &self.layout,
            &bucket,
            lake_list::Query {
                prefix: input.prefix.as_deref().unwrap_or(""),
                delimiter: input.delimiter.as_deref(),
                after,
                max_keys: usize::try_from(max_keys).unwrap_or(0),
            },
        )
        .await?;
        let mut contents = page.objects;
        for obj in &mut contents {
            self.fill_listed(&bucket, obj, owner.as_ref()).await;
        }
        let key_count = contents.len() + page.prefixes.len();
        let mut out = ListObjectsV2Output {
            common_prefixes: (!page.prefixes.is_empty()).then(|| {
                page.prefixes
                    .into_iter()
                    .map(|p| CommonPrefix { prefix: Some(p) })
                    .collect()
            }),
            contents: (!contents.is_empty()).then_some(contents),
            continuation_token: input.continuation_token.take(),
            delimiter: input.delimiter.take(),
            encoding_type: input.encoding_type.take(),
            is_truncated: Some(page.truncated),
            key_count: Some(i32::try_from(key_count).unwrap_or(i32::MAX)),
            max_keys: Some(max_keys),
            name: Some(bucket),
            next_continuation_token: page.next,
            prefix: input.prefix.take(),
            start_after: input.start_after.take(),
            ..Default::default()
        };
        if url {
            for obj in out.contents.iter_mut().flatten() {
                encode_opt(&mut obj.key);
            }
            for p in out.common_prefixes.iter_mut().flatten() {
                encode_opt(&mut p.prefix);
            }
            encode_opt(&mut out.prefix);
            encode_opt(&mut out.delimiter);
            encode_opt(&mut out.start_after);
        }
        Ok(S3Response::new(out))
    }
}

/// S3 reads `delimiter=` (present but empty, as rclone sends on every recursive listing) as no
/// delimiter at all; s3s-fs would group every key on the empty string instead and answer one
/// bogus CommonPrefix, so drop it before the listing.
fn no_empty_delimiter(delimiter: &mut Option<String>) {
    if delimiter.as_deref() == Some("") {
        *delimiter = None;
    }
}

// ---------------------------------------------------------------------------------------------
// Objects

impl LakeBuckets {
    /// PutObject: body received and verified (Content-MD5, checksums from headers or aws-chunked
    /// trailers) before anything is stored; then stored under the key's lock by `lake_write`.
    pub async fn put_object(
        &self,
        caller: &Caller,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        self.own(caller, &bucket)?;
        check_key(&key).map_err(|e| e.to_s3(&key))?;
        lake_write::check_storage_class(&req.input)?;
        let kms = self.kms_key(caller.tenant_id())?;
        // `x-amz-tagging`: checked before the body is read, so a bad set stores nothing.
        let tags = lake_tags::from_header(req.input.tagging.as_ref())?;

        let input = &mut req.input;
        let provided = Checksum {
            checksum_crc32: input.checksum_crc32.take(),
            checksum_crc32c: input.checksum_crc32c.take(),
            checksum_sha1: input.checksum_sha1.take(),
            checksum_sha256: input.checksum_sha256.take(),
            checksum_crc64nvme: input.checksum_crc64nvme.take(),
            ..Default::default()
        };
        let algorithm = input.checksum_algorithm.as_ref().map(|a| a.as_str().to_string());
        let mut spec = ChecksumSpec::new(provided, algorithm.as_deref(), &req.headers)?;
        let spooled = lake_fs::spool(input.body.take(), self.layout.spool_dir(), &spec).await?;
        spec.add_trailers(req.trailing_headers.take().as_ref())?;
        spooled.check_md5(input.content_md5.as_deref())?;
        let sums = spooled.check_checksums(&spec)?;
        if key.ends_with('/') && spooled.size > 0 {
            return Err(s3_error!(
                UnexpectedContent,
                "Unexpected request body when creating a directory object."
            ));
        }
        let attrs = lake_write::attributes_of(input);
        let etag = spooled.md5_hex.clone();

        let _locks = LockSet::new(&self.layout).write(&bucket, &key).acquire().await;
        self.own_locked(caller, &bucket)?;
        prepare_write(&self.layout, &bucket, &key)?;
        let (layout, input) = (&self.layout, &req.input);
        lake_write::check_conditions(
            layout,
            &bucket,
            &key,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
        )
        .await?;
        let written = lake_write::Written {
            kms_key: &kms,
            tags: &tags,
            checksums: &sums,
            at: self.app.now(),
        };
        if key.ends_with('/') {
            lake_write::store_marker(layout, &bucket, &key, &written)?;
        } else {
            lake_write::store_object(layout, &bucket, &key, spooled, &attrs, &written)?;
        }
        let output = PutObjectOutput {
            e_tag: Some(ETag::Strong(etag)),
            checksum_crc32: sums.checksum_crc32,
            checksum_crc32c: sums.checksum_crc32c,
            checksum_sha1: sums.checksum_sha1,
            checksum_sha256: sums.checksum_sha256,
            checksum_crc64nvme: sums.checksum_crc64nvme,
            server_side_encryption: Self::aws_kms(),
            ssekms_key_id: Some(kms),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    /// GetObject: conditional headers, `partNumber`, suffix ranges longer than the object, SSE.
    pub async fn get_object(
        &self,
        caller: &Caller,
        mut req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let input = &req.input;
        let conditions = Conditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        };
        // Held until s3s-fs has opened the file and read its sidecars: bytes and ETag agree.
        let (_locks, found) = self.open_for_read(caller, &bucket, &key, conditions).await?;
        let mut parts_count = None;
        let part_number = req.input.part_number;
        if let Some(n) = req.input.part_number.take() {
            if req.input.range.is_some() {
                return Err(s3_error!(
                    InvalidRequest,
                    "Cannot specify both Range header and partNumber query parameter"
                ));
            }
            let (first, len, count) = found.part(n)?;
            parts_count = count;
            if count.is_some() && len > 0 {
                req.input.range = Some(Range::Int {
                    first,
                    last: Some(first + len - 1),
                });
            }
        }
        if let Some(Range::Suffix { length }) = req.input.range {
            if found.size == 0 {
                req.input.range = None;
            } else if length > found.size {
                req.input.range = Some(Range::Int { first: 0, last: None });
            }
        }
        self.may_decrypt(caller, &bucket, &key, found.info.as_ref(), "GetObject")?;
        let kms = self.object_kms_key(caller, found.info.as_ref())?;
        if key.ends_with('/') {
            // A folder marker: s3s-fs cannot read a folder as an object.
            return Ok(S3Response::new(Self::marker_output(&found, kms)));
        }
        let checksums_wanted = checksum_mode_enabled(req.input.checksum_mode.as_ref());
        let read = self.read_object(&bucket, &key, &found, req.input.range, checksums_wanted);
        let mut resp = S3Response::new(read.await?);
        let out = &mut resp.output;
        out.last_modified = Some(found.last_modified.clone());
        out.tag_count = lake_tags::count(found.info.as_ref());
        out.parts_count = parts_count;
        if let Some((sum, kind)) = part_number
            .filter(|_| checksums_wanted)
            .and_then(|n| found.part_checksum(n))
        {
            set_checksums!(out, sum);
            out.checksum_type = Some(kind);
        }
        out.storage_class = storage_class(found.info.as_ref()).map(|c| StorageClass::from(c.to_string()));
        out.accept_ranges = Some("bytes".into());
        out.server_side_encryption = Self::aws_kms();
        out.ssekms_key_id = Some(kms);
        Ok(resp)
    }

    /// HeadObject: as GetObject without the body.
    pub async fn head_object(
        &self,
        caller: &Caller,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let input = &req.input;
        let conditions = Conditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        };
        let (_locks, found) = self.open_for_read(caller, &bucket, &key, conditions).await?;
        let part = match input.part_number {
            Some(n) => Some(found.part(n)?),
            None => None,
        };
        self.may_decrypt(caller, &bucket, &key, found.info.as_ref(), "HeadObject")?;
        let kms = self.object_kms_key(caller, found.info.as_ref())?;
        if key.ends_with('/') {
            let m = Self::marker_output(&found, kms);
            let mut resp = S3Response::new(HeadObjectOutput {
                content_length: m.content_length,
                e_tag: m.e_tag,
                last_modified: m.last_modified,
                accept_ranges: m.accept_ranges,
                server_side_encryption: m.server_side_encryption,
                ssekms_key_id: m.ssekms_key_id,
                ..Default::default()
            });
            tag_count_header(&mut resp.headers, m.tag_count);
            return Ok(resp);
        }
        let checksums_wanted = checksum_mode_enabled(req.input.checksum_mode.as_ref());
        let mut resp = S3Response::new(self.head_output(&bucket, &key, &found, checksums_wanted)?);
        let out = &mut resp.output;
        if let Some((first, len, count)) = part {
            out.parts_count = count;
            if count.is_some() {
                out.content_length = Some(i64::try_from(len).unwrap_or(i64::MAX));
                if len > 0 {
                    out.content_range = Some(format!("bytes {first}-{}/{}", first + len - 1, found.size));
                }
            }
        }
        out.last_modified = Some(found.last_modified);
        out.storage_class = storage_class(found.info.as_ref()).map(|c| StorageClass::from(c.to_string()));
        out.accept_ranges = Some("bytes".into());
        out.server_side_encryption = Self::aws_kms();
        out.ssekms_key_id = Some(kms);
        tag_count_header(&mut resp.headers, lake_tags::count(found.info.as_ref()));
        Ok(resp)
    }

    /// GetObjectAttributes ([`lake_attributes`]): only what `x-amz-object-attributes` asks for.
    pub async fn get_object_attributes(
        &self,
        caller: &Caller,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let input = &req.input;
        let wanted = lake_attributes::wanted(&input.object_attributes)?;
        let none = Conditions {
            if_match: None,
            if_none_match: None,
            if_modified_since: None,
            if_unmodified_since: None,
        };
        let (_locks, found) = self.open_for_read(caller, &input.bucket, &input.key, none).await?;
        self.may_decrypt(
            caller,
            &input.bucket,
            &input.key,
            found.info.as_ref(),
            "GetObjectAttributes",
        )?;
        let mut out = GetObjectAttributesOutput {
            last_modified: Some(found.last_modified.clone()),
            ..Default::default()
        };
        if wanted.etag {
            out.e_tag = Some(ETag::Strong(found.etag.clone()));
        }
        if wanted.size {
            out.object_size = Some(i64::try_from(found.size).unwrap_or(i64::MAX));
        }
        if wanted.storage_class {
            let class = storage_class(found.info.as_ref()).unwrap_or(StorageClass::STANDARD);
            out.storage_class = Some(StorageClass::from(class.to_string()));
        }
        if wanted.checksum {
            let (sum, kind) = Self::answered_checksums(&found, true);
            out.checksum = kind.map(|k| Checksum {
                checksum_type: Some(k),
                ..sum
            });
        }
        if wanted.parts {
            if let Some(sizes) = found.part_sizes() {
                let parts = lake_attributes::parts(
                    &sizes,
                    &found.part_checksums(),
                    input.part_number_marker,
                    input.max_parts,
                )?;
                out.object_parts = Some(parts);
            }
        }
        Ok(S3Response::new(out))
    }

    /// DeleteObject: bytes and sidecars; a missing key is success (204), as in S3.
    pub async fn delete_object(
        &self,
        caller: &Caller,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let bucket = req.input.bucket.as_str();
        let key = req.input.key.as_str();
        self.own(caller, bucket)?;
        if check_key(key).is_ok() {
            let _locks = LockSet::new(&self.layout).write(bucket, key).acquire().await;
            self.own(caller, bucket)?;
            lake_fs::remove_object(&self.layout, bucket, key).map_err(io500)?;
        }
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    /// DeleteObjects: each key as DeleteObject; `Quiet` lists only errors.
    pub async fn delete_objects(
        &self,
        caller: &Caller,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let bucket = input.bucket.as_str();
        self.own(caller, bucket)?;
        if input.delete.objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "A DeleteObjects request may name at most 1000 keys"
            ));
        }
        let quiet = input.delete.quiet == Some(true);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for obj in input.delete.objects {
            let res = if check_key(&obj.key).is_ok() {
                let _locks = LockSet::new(&self.layout).write(bucket, &obj.key).acquire().await;
                self.own(caller, bucket)?;
                lake_fs::remove_object(&self.layout, bucket, &obj.key)
            } else {
                Ok(())
            };
            match res {
                Ok(()) => deleted.push(DeletedObject {
                    key: Some(obj.key),
                    version_id: obj.version_id,
                    ..Default::default()
                }),
                Err(e) => {
                    tracing::error!("data lake: delete {bucket}/{}: {e}", obj.key);
                    errors.push(Error {
                        code: Some("InternalError".into()),
                        key: Some(obj.key),
                        message: Some("We encountered an internal error. Please try again.".into()),
                        version_id: obj.version_id,
                    });
                }
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!quiet).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    /// CopyObject within the tenant's buckets; the copy is encrypted with the tenant's current
    /// key and modified now.
    pub async fn copy_object(
        &self,
        caller: &Caller,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let (src_bucket, src_key) = copy_source(&req.input.copy_source)?;
        let (src_bucket, src_key) = (src_bucket.to_string(), src_key.to_string());
        self.own(caller, &bucket)?;
        if src_bucket == SEA_BUCKET {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        }
        self.own(caller, &src_bucket)?;
        check_key(&key).map_err(|e| e.to_s3(&key))?;
        if check_key(&src_key).is_err() {
            return Err(no_such_key());
        }
        let kms = self.kms_key(caller.tenant_id())?;
        let replace = req
            .input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        // `x-amz-tagging-directive`: COPY (the default) keeps the source's tags, REPLACE takes
        // `x-amz-tagging` (none without it).
        let replace_tags = req
            .input
            .tagging_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
        let new_tags = if replace_tags {
            Some(lake_tags::from_header(req.input.tagging.as_ref())?)
        } else {
            None
        };
        if src_bucket == bucket && src_key == key && !replace && !changes_more_than_metadata(&req.input) {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing \
                 the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }

        let _locks = LockSet::new(&self.layout)
            .write(&bucket, &key)
            .read(&src_bucket, &src_key)
            .acquire()
            .await;
        self.own_locked(caller, &bucket)?;
        self.own_locked(caller, &src_bucket)?;
        if key.ends_with('/') || !self.layout.object_path(&src_bucket, &src_key).is_file() || src_key.ends_with('/') {
            if key.ends_with('/') {
                return Err(s3_error!(InvalidRequest, "Cannot copy onto a folder marker key"));
            }
            return Err(no_such_key());
        }
        let src_info = lake_fs::load_info(&self.layout, &src_bucket, &src_key)
            .await
            .map_err(io500)?;
        self.may_decrypt(caller, &src_bucket, &src_key, src_info.as_ref(), "CopyObject")?;
        let tags = new_tags.unwrap_or_else(|| lake_tags::of(src_info.as_ref()));
        prepare_write(&self.layout, &bucket, &key)?;
        let src_has_meta = self.layout.metadata_path(&src_bucket, &src_key).exists();
        let same = src_bucket == bucket && src_key == key;
        let algorithm = req.input.checksum_algorithm.clone();
        let mut resp = self.fs.copy_object(req).await?;
        if !replace && !src_has_meta && !same {
            // s3s-fs copies the source's metadata sidecar only when there is one: drop ours.
            let _ = std::fs::remove_file(self.layout.metadata_path(&bucket, &key));
        }
        let mut info = lake_fs::load_info(&self.layout, &bucket, &key)
            .await
            .map_err(io500)?
            .unwrap_or_default();
        info.remove(INFO_PART_SIZES);
        info.remove(lake_fs::INFO_STORAGE_CLASS);
        // `x-amz-checksum-algorithm` on a copy: S3 checksums the copy with it, in place of the
        // source's (s3s-fs keeps the source's, and so does the copy here without one).
        let recomputed = match &algorithm {
            Some(alg) => {
                let sum = lake_fs::checksum_file(&self.layout.object_path(&bucket, &key), alg.as_str()).await?;
                info.remove(lake_fs::INFO_CHECKSUM_TYPE);
                lake_write::record_checksums(&mut info, &sum);
                Some(sum)
            }
            None => None,
        };
        let now = self.finish_write(&bucket, &key, &kms, Some(info), &tags).await?;
        let out = &mut resp.output;
        if let Some(r) = out.copy_object_result.as_mut() {
            r.last_modified = Some(ts(now));
            if let Some(sum) = recomputed {
                set_checksums!(r, sum);
            }
        }
        out.server_side_encryption = Self::aws_kms();
        out.ssekms_key_id = Some(kms);
        Ok(resp)
    }
}

// ---------------------------------------------------------------------------------------------
// Object tagging (see `lake_tags`)

impl LakeBuckets {
    /// The object under its write lock, for a tag change: `NoSuchKey` unless it exists.
    async fn retag(&self, caller: &Caller, bucket: &str, key: &str, tags: &Tags) -> S3Result<()> {
        self.own(caller, bucket)?;
        if check_key(key).is_err() {
            return Err(no_such_key());
        }
        let _locks = LockSet::new(&self.layout).write(bucket, key).acquire().await;
        self.own(caller, bucket)?;
        let found = self.find(bucket, key).await?;
        let mut info = found.info.unwrap_or_default();
        lake_tags::set(&mut info, tags);
        lake_fs::save_info(&self.layout, bucket, key, &info)
            .await
            .map_err(io500)
    }

    /// GetObjectTagging: the object's tag set (ownership and KMS grant as for HEAD).
    pub async fn get_object_tagging(
        &self,
        caller: &Caller,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let (bucket, key) = (&req.input.bucket, &req.input.key);
        let none = Conditions {
            if_match: None,
            if_none_match: None,
            if_modified_since: None,
            if_unmodified_since: None,
        };
        let (_locks, found) = self.open_for_read(caller, bucket, key, none).await?;
        self.may_decrypt(caller, bucket, key, found.info.as_ref(), "GetObjectTagging")?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set: lake_tags::to_tag_set(lake_tags::of(found.info.as_ref())),
            version_id: None,
        }))
    }

    /// PutObjectTagging: replaces the object's whole tag set.
    pub async fn put_object_tagging(
        &self,
        caller: &Caller,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let tags = lake_tags::from_tag_set(&req.input.tagging.tag_set)?;
        self.retag(caller, &req.input.bucket, &req.input.key, &tags).await?;
        Ok(S3Response::new(PutObjectTaggingOutput::default()))
    }

    /// DeleteObjectTagging: empties the object's tag set (204).
    pub async fn delete_object_tagging(
        &self,
        caller: &Caller,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        self.retag(caller, &req.input.bucket, &req.input.key, &Tags::new())
            .await?;
        Ok(S3Response::new(DeleteObjectTaggingOutput::default()))
    }
}

// ---------------------------------------------------------------------------------------------
// Multipart

impl LakeBuckets {
    /// CreateMultipartUpload: refuses at once a key that could never be completed.
    pub async fn create_multipart_upload(
        &self,
        caller: &Caller,
        mut req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        self.own(caller, &bucket)?;
        check_key(&key).map_err(|e| e.to_s3(&key))?;
        if key.ends_with('/') {
            return Err(s3_error!(
                InvalidRequest,
                "A folder marker key cannot be uploaded in parts"
            ));
        }
        {
            let _locks = LockSet::new(&self.layout).write(&bucket, &key).acquire().await;
            prepare_write(&self.layout, &bucket, &key)?;
        }
        let kms = self.kms_key(caller.tenant_id())?;
        let tags = lake_tags::from_header(req.input.tagging.as_ref())?;
        let algorithm = req.input.checksum_algorithm.clone();
        let checksum_type = req.input.checksum_type.clone();
        req.credentials = Self::tenant_credentials(caller);
        let mut resp = self.fs.create_multipart_upload(req).await?;
        if let Some(id) = resp.output.upload_id.as_deref() {
            // `x-amz-tagging` on CreateMultipartUpload: the object gets them on Complete.
            lake_tags::save_upload_tags(&self.layout, id, &tags)
                .await
                .map_err(io500)?;
            lake_upload::declare(&self.layout, id, checksum_type.as_ref())
                .await
                .map_err(io500)?;
            let started = Started {
                tenant: caller.tenant_id().to_string(),
                bucket: bucket.clone(),
                key: key.clone(),
                initiated_us: to_us(self.app.now()),
                checksum_algorithm: algorithm.as_ref().map(|a| a.as_str().to_string()),
                checksum_type: checksum_type.as_ref().map(|t| t.as_str().to_string()),
            };
            lake_upload::begin(&self.layout, id, &started).await.map_err(io500)?;
        }
        resp.output.checksum_algorithm = algorithm;
        resp.output.checksum_type = checksum_type;
        resp.output.server_side_encryption = Self::aws_kms();
        resp.output.ssekms_key_id = Some(kms);
        Ok(resp)
    }

    /// UploadPart: body spooled and verified like PutObject; the checksums are returned.
    pub async fn upload_part(
        &self,
        caller: &Caller,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.own(caller, &req.input.bucket)?;
        self.own_upload(caller, &req.input.bucket, &req.input.key, &req.input.upload_id)?;
        if !(1..=10_000).contains(&req.input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        let kms = self.kms_key(caller.tenant_id())?;
        let input = &mut req.input;
        let provided = Checksum {
            checksum_crc32: input.checksum_crc32.take(),
            checksum_crc32c: input.checksum_crc32c.take(),
            checksum_sha1: input.checksum_sha1.take(),
            checksum_sha256: input.checksum_sha256.take(),
            checksum_crc64nvme: input.checksum_crc64nvme.take(),
            ..Default::default()
        };
        let algorithm = input.checksum_algorithm.as_ref().map(|a| a.as_str().to_string());
        let mut spec = ChecksumSpec::new(provided, algorithm.as_deref(), &req.headers)?;
        let spooled = lake_fs::spool(input.body.take(), self.layout.spool_dir(), &spec).await?;
        spec.add_trailers(req.trailing_headers.take().as_ref())?;
        spooled.check_md5(input.content_md5.as_deref())?;
        let sums = spooled.check_checksums(&spec)?;
        input.body = Some(spooled.into_body()?);
        req.credentials = Self::tenant_credentials(caller);
        let mut resp = self.fs.upload_part(req).await?;
        let out = &mut resp.output;
        set_checksums!(out, sums);
        out.server_side_encryption = Self::aws_kms();
        out.ssekms_key_id = Some(kms);
        Ok(resp)
    }

    /// UploadPartCopy from one of the tenant's own objects.
    pub async fn upload_part_copy(
        &self,
        caller: &Caller,
        mut req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.own(caller, &req.input.bucket)?;
        let (src_bucket, src_key) = copy_source(&req.input.copy_source)?;
        let (src_bucket, src_key) = (src_bucket.to_string(), src_key.to_string());
        if src_bucket == SEA_BUCKET {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        }
        self.own(caller, &src_bucket)?;
        self.own_upload(caller, &req.input.bucket, &req.input.key, &req.input.upload_id)?;
        if check_key(&src_key).is_err()
            || src_key.ends_with('/')
            || !self.layout.object_path(&src_bucket, &src_key).is_file()
        {
            return Err(no_such_key());
        }
        let kms = self.kms_key(caller.tenant_id())?;
        let _locks = LockSet::new(&self.layout).read(&src_bucket, &src_key).acquire().await;
        let src_info = lake_fs::load_info(&self.layout, &src_bucket, &src_key)
            .await
            .map_err(io500)?;
        self.may_decrypt(caller, &src_bucket, &src_key, src_info.as_ref(), "UploadPartCopy")?;
        req.credentials = Self::tenant_credentials(caller);
        let mut resp = self.fs.upload_part_copy(req).await?;
        resp.output.server_side_encryption = Self::aws_kms();
        resp.output.ssekms_key_id = Some(kms);
        Ok(resp)
    }

    /// ListMultipartUploads: the bucket's uploads in progress ([`lake_upload_list`]).
    pub async fn list_multipart_uploads(
        &self,
        caller: &Caller,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        self.own(caller, &input.bucket)?;
        if input
            .encoding_type
            .as_ref()
            .is_some_and(|e| !e.as_str().eq_ignore_ascii_case(EncodingType::URL))
        {
            return Err(s3_error!(
                InvalidArgument,
                "Invalid Encoding Method specified in Request"
            ));
        }
        let max = lake_upload_list::max_uploads(input.max_uploads)?.min(lake_upload_list::MAX_UPLOADS);
        let (layout, bucket) = (self.layout.clone(), input.bucket.clone());
        let all = tokio::task::spawn_blocking(move || lake_upload::in_progress(&layout, &bucket))
            .await
            .map_err(internal)?
            .map_err(io500)?;
        let query = lake_upload_list::Query {
            prefix: input.prefix.as_deref().unwrap_or_default(),
            delimiter: input.delimiter.as_deref(),
            key_marker: input.key_marker.as_deref(),
            upload_id_marker: input.upload_id_marker.as_deref(),
            max,
        };
        let page = lake_upload_list::page(all, &query);
        let mut out = lake_upload_list::output(&input, page, &Self::owner_of(caller), max);
        if wants_url(input.encoding_type.as_ref()) {
            for u in out.uploads.iter_mut().flatten() {
                encode_opt(&mut u.key);
            }
            for p in out.common_prefixes.iter_mut().flatten() {
                encode_opt(&mut p.prefix);
            }
            for v in [
                &mut out.prefix,
                &mut out.delimiter,
                &mut out.key_marker,
                &mut out.next_key_marker,
            ] {
                encode_opt(v);
            }
        }
        Ok(S3Response::new(out))
    }

    /// ListParts: sorted by part number, with ETags.
    pub async fn list_parts(
        &self,
        caller: &Caller,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.own(caller, &req.input.bucket)?;
        self.own_upload(caller, &req.input.bucket, &req.input.key, &req.input.upload_id)?;
        let upload_id = req.input.upload_id.clone();
        let mut resp = self.fs.list_parts(req).await?;
        if let Some(parts) = resp.output.parts.as_mut() {
            parts.sort_by_key(|p| p.part_number);
            for p in parts.iter_mut() {
                if let Some(n) = p.part_number {
                    if let Ok(md5) = lake_fs::md5_file(&self.layout.part_path(&upload_id, n)).await {
                        p.e_tag = Some(ETag::Strong(md5));
                    }
                }
            }
        }
        resp.output.is_truncated = Some(false);
        Ok(resp)
    }

    /// CompleteMultipartUpload: parts checked (present, in order, ETags, 5 MiB minimum) before
    /// s3s-fs consumes the upload; the result replaces any older object's checksums.
    pub async fn complete_multipart_upload(
        &self,
        caller: &Caller,
        mut req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        self.own(caller, &bucket)?;
        if let Some(again) = self.completed_again(caller, &req.input).await? {
            return Ok(S3Response::new(again));
        }
        self.own_upload(caller, &req.input.bucket, &req.input.key, &req.input.upload_id)?;
        check_key(&key).map_err(|e| e.to_s3(&key))?;
        let kms = self.kms_key(caller.tenant_id())?;
        let upload_id = req.input.upload_id.clone();
        let parts = req
            .input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.clone())
            .unwrap_or_default();
        if parts.is_empty() {
            return Err(s3_error!(MalformedXML, "You must specify at least one part"));
        }
        let mut sizes = Vec::with_capacity(parts.len());
        let mut given_sums = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let n = part
                .part_number
                .ok_or_else(|| s3_error!(MalformedXML, "Every part needs a PartNumber"))?;
            if i > 0 && parts[i - 1].part_number.is_some_and(|prev| prev >= n) {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order."
                ));
            }
            if usize::try_from(n).ok() != Some(i + 1) {
                return Err(s3_error!(
                    InvalidPart,
                    "Part {n} cannot be completed here: this mock requires parts numbered 1..N without gaps."
                ));
            }
            let path = self.layout.part_path(&upload_id, n);
            let meta = std::fs::metadata(&path).map_err(|_| {
                s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found (part {n})."
                )
            })?;
            if i + 1 < parts.len() && meta.len() < MIN_PART_BYTES {
                return Err(s3_error!(
                    EntityTooSmall,
                    "Your proposed upload is smaller than the minimum allowed size (part {n})."
                ));
            }
            if let Some(etag) = &part.e_tag {
                let md5 = lake_fs::md5_file(&path).await.map_err(io500)?;
                if etag.value() != md5 {
                    return Err(s3_error!(
                        InvalidPart,
                        "The ETag given for part {n} does not match the part."
                    ));
                }
            }
            sizes.push(meta.len());
            let given = Checksum {
                checksum_crc32: part.checksum_crc32.clone(),
                checksum_crc32c: part.checksum_crc32c.clone(),
                checksum_sha1: part.checksum_sha1.clone(),
                checksum_sha256: part.checksum_sha256.clone(),
                checksum_crc64nvme: part.checksum_crc64nvme.clone(),
                ..Default::default()
            };
            given_sums.push((path, given));
        }
        let input = &req.input;
        let whole = Checksum {
            checksum_crc32: input.checksum_crc32.clone(),
            checksum_crc32c: input.checksum_crc32c.clone(),
            checksum_sha1: input.checksum_sha1.clone(),
            checksum_sha256: input.checksum_sha256.clone(),
            checksum_crc64nvme: input.checksum_crc64nvme.clone(),
            ..Default::default()
        };
        let declared = lake_upload::declared(&self.layout, &upload_id).await;
        let full_object = input
            .checksum_type
            .as_ref()
            .map(|t| t.as_str())
            .or(declared.as_deref())
            .is_some_and(|t| t == ChecksumType::FULL_OBJECT);
        let algorithm = lake_upload::started(&self.layout, &upload_id).and_then(|s| s.checksum_algorithm);
        let object_sum = lake_fs::multipart_checksum(&given_sums, full_object, &whole, algorithm.as_deref()).await?;

        let _locks = LockSet::new(&self.layout).write(&bucket, &key).acquire().await;
        self.own_locked(caller, &bucket)?;
        prepare_write(&self.layout, &bucket, &key)?;
        // `If-Match` / `If-None-Match: *` on Complete guard the object it would replace.
        let input = &req.input;
        let (if_match, if_none_match) = (input.if_match.as_ref(), input.if_none_match.as_ref());
        lake_write::check_conditions(&self.layout, &bucket, &key, if_match, if_none_match).await?;
        req.credentials = Self::tenant_credentials(caller);
        let resp = self.fs.complete_multipart_upload(req).await?;
        let mut out = match resp.output.future {
            Some(f) => f.await?,
            None => resp.output,
        };
        let etag = out.e_tag.as_ref().map(|e| e.value().to_string()).unwrap_or_default();
        let mut info = InternalInfo::new();
        info.insert("e_tag".into(), etag.into());
        info.insert(INFO_PART_SIZES.into(), serde_json::json!(sizes));
        if let Some(sum) = &object_sum {
            info.insert(INFO_PART_CHECKSUMS.into(), part_checksums_json(&sum.parts));
        }
        if let Some(lake_fs::MultipartSum { object: sum, kind, .. }) = object_sum {
            // s3s-fs's sidecar fields: its GET/HEAD return them on whole-object reads.
            insert_checksums(&mut info, &sum);
            info.insert(lake_fs::INFO_CHECKSUM_TYPE.into(), kind.as_str().into());
            set_checksums!(out, sum);
            out.checksum_type = Some(kind);
        }
        // A new object, with the tags given on CreateMultipartUpload.
        let tags = lake_tags::take_upload_tags(&self.layout, &upload_id).await;
        self.finish_write(&bucket, &key, &kms, Some(info), &tags).await?;
        out.location = Some(format!("{}/{bucket}/{key}", self.app.urls.s3.trim_end_matches('/')));
        out.bucket = Some(bucket);
        out.key = Some(key);
        lake_upload::forget(&self.layout, &upload_id).await;
        let done = Completed::of(caller.tenant_id(), &out);
        if let Err(e) = lake_upload::remember(&self.layout, &upload_id, &done).await {
            // The object is complete; only a resent Complete would miss the record.
            tracing::error!("data lake: recording completed upload {upload_id}: {e}");
        }
        out.server_side_encryption = Self::aws_kms();
        out.ssekms_key_id = Some(kms);
        Ok(S3Response::new(out))
    }

    /// A resent CompleteMultipartUpload of an upload this tenant completed, whose object is still
    /// the one it made: S3's 200 with the same answer. `None` for any other upload id.
    async fn completed_again(
        &self,
        caller: &Caller,
        input: &CompleteMultipartUploadInput,
    ) -> S3Result<Option<CompleteMultipartUploadOutput>> {
        if self.layout.upload_exists(&input.upload_id) {
            return Ok(None);
        }
        let Some(done) = lake_upload::recall(&self.layout, &input.upload_id).await else {
            return Ok(None);
        };
        let (bucket, key) = (&input.bucket, &input.key);
        if done.tenant != caller.tenant_id() || done.bucket != *bucket || done.key != *key {
            return Ok(None);
        }
        let _locks = LockSet::new(&self.layout).read(bucket, key).acquire().await;
        if !self.layout.object_path(bucket, key).is_file() {
            return Ok(None);
        }
        let info = lake_fs::load_info(&self.layout, bucket, key).await.map_err(io500)?;
        let etag = lake_fs::etag_of(&self.layout, bucket, key, info.as_ref())
            .await
            .map_err(io500)?;
        if etag != done.e_tag {
            return Ok(None);
        }
        let mut out = done.output();
        out.server_side_encryption = Self::aws_kms();
        out.ssekms_key_id = Some(self.kms_key(caller.tenant_id())?);
        Ok(Some(out))
    }

    /// AbortMultipartUpload.
    pub async fn abort_multipart_upload(
        &self,
        caller: &Caller,
        mut req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.own(caller, &req.input.bucket)?;
        self.own_upload(caller, &req.input.bucket, &req.input.key, &req.input.upload_id)?;
        let upload_id = req.input.upload_id.clone();
        req.credentials = Self::tenant_credentials(caller);
        let resp = self.fs.abort_multipart_upload(req).await?;
        let _ = lake_tags::take_upload_tags(&self.layout, &upload_id).await;
        lake_upload::forget(&self.layout, &upload_id).await;
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::url_encode;

    #[test]
    fn url_encoding_keeps_slashes_and_unreserved() {
        assert_eq!(url_encode("year=2024/a b+c~_.-"), "year%3D2024/a%20b%2Bc~_.-");
        assert_eq!(url_encode("é"), "%C3%A9");
    }
}
