//! The SEA bucket `cxone-sea`: each tenant's folder, read and delete only, served from SEA
//! metadata with bytes derived from the seed (S2, S5, S6, S8).
//!
//! Rules every operation applies, in this order:
//! 1. a SEA credential reaches only keys and list prefixes under its tenant's folder (`t-x/`);
//! 2. while the folder holds no live object, every call on it is `AccessDenied` (S6);
//! 3. otherwise a missing or expired key is `NoSuchKey` (expiry is exact: `files::sea_object`
//!    hides an object from the instant it expires on the mock clock, S5).
//!
//! Object bytes are never stored: GET regenerates them from `(seed, file id)`.

use std::ops::Range as ByteRange;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rusqlite::Connection;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result};

use super::auth::Caller;
use super::credentials;
use crate::app::App;
use crate::auth::tenants;
use crate::storage::expiry::delete_early;
use crate::storage::files::{self, SeaObject};
use crate::storage::recordings::recording_bytes;
use crate::store::time::Instant;
use crate::store::StoreResult;

/// The SEA bucket's region; us-east-1 answers GetBucketLocation with an empty constraint.
const REGION: &str = "us-east-1";
/// The owner S3 shows for SEA objects: NICE's account, not the tenant (the tenant only reads).
const OWNER_ID: &str = "6e1c0e5a4f1d4b7a9c3e2f8d0b5a7c9e1f3d5b7a9c0e2f4d6b8a0c2e4f6d8b0a";
const OWNER_NAME: &str = "cxone-sea";
/// The rule id in `x-amz-expiration`, as an S3 lifecycle rule would name it.
const EXPIRY_RULE_ID: &str = "sea-30-day-expiry";
/// Recordings are MP4 (S9).
const CONTENT_TYPE: &str = "video/mp4";
/// S3's default and maximum page size.
const MAX_KEYS: usize = 1000;
/// Rows fetched per store query while building a page (a page plus one to detect truncation).
const LIST_BATCH: u32 = MAX_KEYS as u32 + 1;
/// `encoding-type=url`: what S3 leaves unencoded (unreserved characters and `/`).
const URL_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn denied() -> S3Error {
    s3_error!(AccessDenied, "Access Denied")
}

fn no_such_key() -> S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

/// Runs store work; a store failure is never the caller's fault, so it is logged and hidden.
fn store<T>(app: &App, what: &str, f: impl FnOnce(&Connection) -> StoreResult<T>) -> S3Result<T> {
    app.store.with(f).map_err(|e| {
        tracing::error!("sea {what}: {e}");
        s3_error!(InternalError)
    })
}

/// The caller's folder prefix, `t-x/`.
fn folder(caller: &Caller) -> String {
    credentials::prefix(caller.tenant_id())
}

fn timestamp(t: Instant) -> Timestamp {
    Timestamp::from(SystemTime::from(t))
}

fn http_date(t: Instant) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn etag(obj: &SeaObject) -> ETag {
    ETag::Strong(obj.md5.clone())
}

// ---------------------------------------------------------------------------------------------
// Bucket

/// HeadBucket: any SEA credential may check the bucket exists (S3 Browser's "Add External Bucket").
pub async fn head_bucket(
    _app: &Arc<App>,
    _caller: &Caller,
    _req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(REGION.into()),
        ..Default::default()
    }))
}

/// GetBucketLocation: us-east-1, which S3 reports as an empty `LocationConstraint`.
pub async fn get_bucket_location(
    _app: &Arc<App>,
    _caller: &Caller,
    _req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    Ok(S3Response::new(GetBucketLocationOutput::default()))
}

// ---------------------------------------------------------------------------------------------
// Listing

/// What a listing asks for, both API versions.
struct ListQuery<'a> {
    prefix: &'a str,
    /// `None` when absent or empty (an empty delimiter groups nothing).
    delimiter: Option<&'a str>,
    /// Start strictly after this key (or the group it belongs to).
    after: &'a str,
    max_keys: usize,
}

/// One listing entry: an object, or a CommonPrefix standing for every key under it.
enum Entry {
    Key(SeaObject),
    Prefix(String),
}

impl Entry {
    /// The entry's name: where the next page resumes (v1 `NextMarker`, v2 token).
    fn name(&self) -> &str {
        match self {
            Entry::Key(o) => &o.key,
            Entry::Prefix(p) => p,
        }
    }
}

struct Page {
    entries: Vec<Entry>,
    truncated: bool,
}

/// The CommonPrefix `key` rolls up into: the prefix plus everything up to the first delimiter after it.
fn group(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter?;
    let rest = key.strip_prefix(prefix)?;
    rest.find(d).map(|i| key[..prefix.len() + i + d.len()].to_string())
}

/// A position after every key that starts with `p` (no valid UTF-8 key sorts past U+10FFFF).
fn past(p: &str) -> String {
    format!("{p}{}", char::MAX)
}

/// Where a scan resumes after `after`: past its whole group when it lies inside one, so a
/// marker naming a CommonPrefix (or a key within it) never repeats that prefix.
fn resume_position(q: &ListQuery<'_>) -> String {
    match group(q.after, q.prefix, q.delimiter) {
        Some(p) => past(&p),
        None => q.after.to_string(),
    }
}

/// Builds one page in key order, seeking past each CommonPrefix instead of reading its keys.
fn scan(c: &Connection, tenant_id: &str, q: &ListQuery<'_>, now: Instant) -> StoreResult<Page> {
    let mut pos = resume_position(q);
    let mut entries = Vec::new();
    if q.max_keys == 0 {
        // S3 answers max-keys=0 with an empty, untruncated page (there is no marker to go on from).
        return Ok(Page {
            entries,
            truncated: false,
        });
    }
    'batches: loop {
        let batch = files::sea_list(c, tenant_id, q.prefix, &pos, LIST_BATCH, now)?;
        let more = batch.len() == LIST_BATCH as usize;
        for obj in batch {
            if entries.len() >= q.max_keys {
                return Ok(Page {
                    entries,
                    truncated: true,
                });
            }
            if let Some(p) = group(&obj.key, q.prefix, q.delimiter) {
                pos = past(&p);
                entries.push(Entry::Prefix(p));
                continue 'batches;
            }
            pos.clone_from(&obj.key);
            entries.push(Entry::Key(obj));
        }
        if !more {
            return Ok(Page {
                entries,
                truncated: false,
            });
        }
    }
}

/// Folder access and S6 for a listing, then the page.
fn list_page(app: &App, caller: &Caller, q: &ListQuery<'_>) -> S3Result<Page> {
    if !q.prefix.starts_with(&folder(caller)) {
        return Err(denied());
    }
    let tenant_id = caller.tenant_id();
    let now = app.now();
    store(app, "list", |c| {
        if !files::sea_folder_has_objects(c, tenant_id, now)? {
            return Ok(Err(denied()));
        }
        scan(c, tenant_id, q, now).map(Ok)
    })?
}

/// `max-keys`: default and cap 1000, as S3.
fn max_keys(requested: Option<i32>) -> S3Result<usize> {
    match requested {
        None => Ok(MAX_KEYS),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must be non-negative")),
        Some(n) => Ok((n as usize).min(MAX_KEYS)),
    }
}

fn wants_url(encoding: Option<&EncodingType>) -> bool {
    encoding.is_some_and(|e| e.as_str() == EncodingType::URL)
}

/// Encodes a name for the response when the client asked for `encoding-type=url` (DuckDB does).
fn enc(url: bool, s: &str) -> String {
    if url {
        utf8_percent_encode(s, URL_KEEP).to_string()
    } else {
        s.to_string()
    }
}

fn owner() -> Owner {
    Owner {
        id: Some(OWNER_ID.into()),
        display_name: Some(OWNER_NAME.into()),
    }
}

fn list_object(obj: &SeaObject, url: bool, with_owner: bool) -> Object {
    Object {
        key: Some(enc(url, &obj.key)),
        size: Some(obj.size),
        e_tag: Some(etag(obj)),
        last_modified: Some(timestamp(obj.placed_at)),
        storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
        owner: with_owner.then(owner),
        ..Default::default()
    }
}

/// Contents and CommonPrefixes of a page, in the response's encoding.
fn split(page: &Page, url: bool, with_owner: bool) -> (Vec<Object>, Vec<CommonPrefix>) {
    let mut objects = Vec::new();
    let mut prefixes = Vec::new();
    for e in &page.entries {
        match e {
            Entry::Key(o) => objects.push(list_object(o, url, with_owner)),
            Entry::Prefix(p) => prefixes.push(CommonPrefix {
                prefix: Some(enc(url, p)),
            }),
        }
    }
    (objects, prefixes)
}

/// The last entry of a truncated page: where the next one starts.
fn next_name(page: &Page) -> Option<String> {
    page.truncated
        .then(|| page.entries.last().map(|e| e.name().to_string()))
        .flatten()
}

/// v2 continuation tokens are opaque to clients, as in S3: the resume name, base64url.
fn token_encode(name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name)
}

fn token_decode(token: &str) -> S3Result<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))
}

/// ListObjectsV2 under the caller's folder.
pub async fn list_objects_v2(
    app: &Arc<App>,
    caller: &Caller,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let input = req.input;
    let after = match &input.continuation_token {
        Some(t) => token_decode(t)?,
        None => input.start_after.clone().unwrap_or_default(),
    };
    let prefix = input.prefix.clone().unwrap_or_default();
    let q = ListQuery {
        prefix: &prefix,
        delimiter: input.delimiter.as_deref().filter(|d| !d.is_empty()),
        after: &after,
        max_keys: max_keys(input.max_keys)?,
    };
    let page = list_page(app, caller, &q)?;
    let url = wants_url(input.encoding_type.as_ref());
    let (contents, prefixes) = split(&page, url, input.fetch_owner == Some(true));
    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(enc(url, &prefix)),
        delimiter: input.delimiter.as_deref().map(|d| enc(url, d)),
        start_after: input.start_after.as_deref().map(|s| enc(url, s)),
        max_keys: input.max_keys.or(Some(MAX_KEYS as i32)),
        key_count: Some(page.entries.len() as i32),
        is_truncated: Some(page.truncated),
        continuation_token: input.continuation_token,
        next_continuation_token: next_name(&page).map(|n| token_encode(&n)),
        contents: Some(contents),
        common_prefixes: Some(prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

/// ListObjects (v1) under the caller's folder; v1 always shows the owner, as S3 does.
pub async fn list_objects(
    app: &Arc<App>,
    caller: &Caller,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let input = req.input;
    let marker = input.marker.clone().unwrap_or_default();
    let prefix = input.prefix.clone().unwrap_or_default();
    let q = ListQuery {
        prefix: &prefix,
        delimiter: input.delimiter.as_deref().filter(|d| !d.is_empty()),
        after: &marker,
        max_keys: max_keys(input.max_keys)?,
    };
    let page = list_page(app, caller, &q)?;
    let url = wants_url(input.encoding_type.as_ref());
    let (contents, prefixes) = split(&page, url, true);
    Ok(S3Response::new(ListObjectsOutput {
        name: Some(input.bucket),
        prefix: Some(enc(url, &prefix)),
        delimiter: input.delimiter.as_deref().map(|d| enc(url, d)),
        marker: Some(enc(url, &marker)),
        max_keys: input.max_keys.or(Some(MAX_KEYS as i32)),
        is_truncated: Some(page.truncated),
        next_marker: next_name(&page).map(|n| enc(url, &n)),
        contents: Some(contents),
        common_prefixes: Some(prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

// ---------------------------------------------------------------------------------------------
// GetObject / HeadObject

/// Folder access, S6 and expiry for one key: the live object and the tenant's KMS key (S8).
fn find_object(app: &App, caller: &Caller, key: &str) -> S3Result<(SeaObject, String)> {
    if !key.starts_with(&folder(caller)) {
        return Err(denied());
    }
    let tenant_id = caller.tenant_id();
    let now = app.now();
    store(app, "object lookup", |c| {
        if !files::sea_folder_has_objects(c, tenant_id, now)? {
            return Ok(Err(denied()));
        }
        let Some(obj) = files::sea_object(c, key, now)? else {
            return Ok(Err(no_such_key()));
        };
        Ok(match tenants::find(c, tenant_id)? {
            Some(t) => Ok((obj, t.kms_key_id)),
            None => Err(denied()),
        })
    })?
}

/// The HTTP preconditions GET and HEAD honour.
struct Conditions<'a> {
    if_match: Option<&'a ETagCondition>,
    if_none_match: Option<&'a ETagCondition>,
    if_modified_since: Option<&'a Timestamp>,
    if_unmodified_since: Option<&'a Timestamp>,
}

fn etag_matches(cond: &ETagCondition, obj: &SeaObject) -> bool {
    cond.as_etag().is_none_or(|e| e.value() == obj.md5)
}

/// Whether the object changed after `t`, at the one-second precision of HTTP dates.
fn modified_after(obj: &SeaObject, t: &Timestamp) -> bool {
    obj.placed_at.timestamp() > time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

/// RFC 9110 order: If-Match, else If-Unmodified-Since (412); If-None-Match, else If-Modified-Since (304).
fn check_conditions(c: &Conditions<'_>, obj: &SeaObject) -> S3Result<()> {
    let failed = match (c.if_match, c.if_unmodified_since) {
        (Some(m), _) => !etag_matches(m, obj),
        (None, Some(t)) => modified_after(obj, t),
        (None, None) => false,
    };
    if failed {
        return Err(s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ));
    }
    let unchanged = match (c.if_none_match, c.if_modified_since) {
        (Some(m), _) => etag_matches(m, obj),
        (None, Some(t)) => !modified_after(obj, t),
        (None, None) => false,
    };
    if unchanged {
        return Err(not_modified(obj));
    }
    Ok(())
}

/// 304 carries the validators, as S3 sends them.
fn not_modified(obj: &SeaObject) -> S3Error {
    let mut e = s3_error!(NotModified);
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", obj.md5)) {
        headers.insert(http::header::ETAG, v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&http_date(obj.placed_at)) {
        headers.insert(http::header::LAST_MODIFIED, v);
    }
    e.set_headers(headers);
    e
}

/// `x-amz-expiration`, as S3 sends it for an object under an expiry rule (S5).
fn expiration(obj: &SeaObject) -> String {
    format!(
        "expiry-date=\"{}\", rule-id=\"{EXPIRY_RULE_ID}\"",
        http_date(obj.expires_at)
    )
}

/// The requested byte range; `None` means the whole object. Unsatisfiable is InvalidRange (416).
fn byte_range(range: Option<&Range>, size: u64) -> S3Result<Option<ByteRange<u64>>> {
    range.map(|r| r.check(size).map_err(S3Error::from)).transpose()
}

fn content_range(r: &ByteRange<u64>, size: u64) -> String {
    format!("bytes {}-{}/{size}", r.start, r.end.saturating_sub(1))
}

/// `x-amz-checksum-sha256` when the client asked with `x-amz-checksum-mode: ENABLED` and gets
/// the whole object (a checksum of the whole would not match a part).
fn checksum_sha256(mode: Option<&ChecksumMode>, whole: bool, obj: &SeaObject) -> Option<String> {
    let enabled = mode.is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
    if !(enabled && whole) {
        return None;
    }
    let raw = hex::decode(&obj.sha256).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(raw))
}

fn checksum_type(sum: Option<&String>) -> Option<ChecksumType> {
    sum.map(|_| ChecksumType::from_static(ChecksumType::FULL_OBJECT))
}

fn sse() -> Option<ServerSideEncryption> {
    Some(ServerSideEncryption::from_static(ServerSideEncryption::AWS_KMS))
}

/// GetObject: the recording's bytes, regenerated from the seed.
pub async fn get_object(
    app: &Arc<App>,
    caller: &Caller,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let input = req.input;
    let (obj, kms) = find_object(app, caller, &input.key)?;
    check_conditions(
        &Conditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        },
        &obj,
    )?;
    let bytes = recording_bytes(app.seed, &obj.file_id);
    let size = bytes.len() as u64;
    let range = byte_range(input.range.as_ref(), size)?;
    let body = match &range {
        Some(r) => bytes::Bytes::from(bytes).slice(r.start as usize..r.end as usize),
        None => bytes::Bytes::from(bytes),
    };
    let checksum = checksum_sha256(input.checksum_mode.as_ref(), range.is_none(), &obj);
    let output = GetObjectOutput {
        content_length: Some(body.len() as i64),
        content_range: range.as_ref().map(|r| content_range(r, size)),
        body: Some(StreamingBlob::from(s3s::Body::from(body))),
        accept_ranges: Some("bytes".into()),
        content_type: Some(input.response_content_type.unwrap_or_else(|| CONTENT_TYPE.into())),
        content_disposition: input.response_content_disposition,
        e_tag: Some(etag(&obj)),
        last_modified: Some(timestamp(obj.placed_at)),
        expiration: Some(expiration(&obj)),
        server_side_encryption: sse(),
        ssekms_key_id: Some(kms),
        checksum_type: checksum_type(checksum.as_ref()),
        checksum_sha256: checksum,
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

/// HeadObject: GetObject's headers without the body (a ranged HEAD answers 206, as S3).
pub async fn head_object(
    app: &Arc<App>,
    caller: &Caller,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let input = req.input;
    let (obj, kms) = find_object(app, caller, &input.key)?;
    check_conditions(
        &Conditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        },
        &obj,
    )?;
    let size = obj.size.max(0) as u64;
    let range = byte_range(input.range.as_ref(), size)?;
    let checksum = checksum_sha256(input.checksum_mode.as_ref(), range.is_none(), &obj);
    let output = HeadObjectOutput {
        content_length: Some(range.as_ref().map_or(size, |r| r.end - r.start) as i64),
        content_range: range.as_ref().map(|r| content_range(r, size)),
        accept_ranges: Some("bytes".into()),
        content_type: Some(CONTENT_TYPE.into()),
        e_tag: Some(etag(&obj)),
        last_modified: Some(timestamp(obj.placed_at)),
        expiration: Some(expiration(&obj)),
        server_side_encryption: sse(),
        ssekms_key_id: Some(kms),
        checksum_type: checksum_type(checksum.as_ref()),
        checksum_sha256: checksum,
        ..Default::default()
    };
    let mut resp = S3Response::new(output);
    if range.is_some() {
        resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// Delete

/// Deletes one key for the tenant (S5: early deletion). S3 answers success for a missing key,
/// but S6 still holds: in an empty folder the call is AccessDenied.
fn delete_one(c: &Connection, now: Instant, caller: &Caller, key: &str) -> StoreResult<S3Result<()>> {
    if !key.starts_with(&folder(caller)) {
        return Ok(Err(denied()));
    }
    let tenant_id = caller.tenant_id();
    if !files::sea_folder_has_objects(c, tenant_id, now)? {
        return Ok(Err(denied()));
    }
    delete_early(c, now, tenant_id, key)?;
    Ok(Ok(()))
}

/// DeleteObject (204 whether or not the key existed, as S3).
pub async fn delete_object(
    app: &Arc<App>,
    caller: &Caller,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let now = app.now();
    let key = &req.input.key;
    let outcome = app.store.tx(|tx| delete_one(tx, now, caller, key)).map_err(|e| {
        tracing::error!("sea delete: {e}");
        s3_error!(InternalError)
    })?;
    outcome.map(|()| S3Response::new(DeleteObjectOutput::default()))
}

fn delete_error(key: String, e: &S3Error) -> Error {
    Error {
        code: Some(e.code().as_str().to_string()),
        message: e.message().map(str::to_string),
        key: Some(key),
        ..Default::default()
    }
}

/// DeleteObjects: each key decided as DeleteObject would, in one transaction; keys outside the
/// folder come back as per-key AccessDenied errors.
pub async fn delete_objects(
    app: &Arc<App>,
    caller: &Caller,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let now = app.now();
    let delete = req.input.delete;
    let quiet = delete.quiet == Some(true);
    let (deleted, errors) = app
        .store
        .tx(|tx| {
            let mut deleted = Vec::new();
            let mut errors = Vec::new();
            for id in delete.objects {
                match delete_one(tx, now, caller, &id.key)? {
                    Ok(()) if quiet => {}
                    Ok(()) => deleted.push(DeletedObject {
                        key: Some(id.key),
                        ..Default::default()
                    }),
                    Err(e) => errors.push(delete_error(id.key, &e)),
                }
            }
            Ok((deleted, errors))
        })
        .map_err(|e| {
            tracing::error!("sea delete objects: {e}");
            s3_error!(InternalError)
        })?;
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: Some(errors),
        ..Default::default()
    }))
}
