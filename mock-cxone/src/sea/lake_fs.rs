//! The on-disk layout of data-lake buckets (as s3s-fs 0.14.1 keeps it) and the pieces the wrapper
//! needs around it: key validation, the per-key lock table, key/folder conflicts, request-body
//! spooling with digest checks, and the JSON sidecars.
//!
//! Layout (s3s-fs 0.14.1, `fs.rs`): bytes at `<root>/<bucket>/<key>`; at `<root>` itself,
//! `.bucket-<b64 bucket>.object-<b64 key>.metadata.json` (content type, user metadata),
//! `.bucket-<b64 bucket>.object-<b64 key>.internal.json` (ETag, checksums; we add the KMS key and
//! multipart part sizes), `.upload-<id>.json` and `.upload_id-<id>.part-<n>` for multipart uploads,
//! and `.tmp.*.internal.part` temp files (wiped by s3s-fs at start). Base64 is URL-safe, unpadded.
//! Our own temp files and spooled request bodies are in `<data dir>/lake-spool/` (wiped at start).

use std::collections::HashMap;
use std::fs::FileTimes;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use s3s::crypto::Checksum as _;
use s3s::dto::{self, StreamingBlob};
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use crate::store::time::Instant;

/// Longest key S3 accepts, in UTF-8 bytes.
const MAX_KEY_BYTES: usize = 1024;
/// Longest file name most filesystems accept (`NAME_MAX`).
const MAX_SEGMENT_BYTES: usize = 255;
/// Minimum size of every multipart part but the last.
pub(crate) const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// Paths of one bucket's bytes and sidecars under the s3s-fs root.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
    spool: PathBuf,
}

impl Layout {
    /// The layout of `app`'s data dir: s3s-fs root `s3/`, request bodies spooled in `lake-spool/`.
    pub(crate) fn of(app: &crate::app::App) -> Self {
        Self {
            root: app.store.s3_root(),
            spool: app.store.data_dir().join("lake-spool"),
        }
    }

    /// The s3s-fs root.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<bucket>`.
    pub(crate) fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    /// `<root>/<bucket>/<key>` (the key must have passed [`check_key`]).
    pub(crate) fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.bucket_dir(bucket).join(key.trim_end_matches('/'))
    }

    /// s3s-fs's metadata sidecar of an object.
    pub(crate) fn metadata_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root
            .join(format!(".bucket-{}.object-{}.metadata.json", b64(bucket), b64(key)))
    }

    /// s3s-fs's internal-info sidecar of an object (ETag, checksums).
    pub(crate) fn internal_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root
            .join(format!(".bucket-{}.object-{}.internal.json", b64(bucket), b64(key)))
    }

    /// Prefix of every root-level sidecar file of a bucket.
    pub(crate) fn bucket_sidecar_prefix(bucket: &str) -> String {
        format!(".bucket-{}.", b64(bucket))
    }

    /// Whether an upload id is one s3s-fs issued and has not finished.
    pub(crate) fn upload_exists(&self, upload_id: &str) -> bool {
        uuid::Uuid::parse_str(upload_id).is_ok() && self.root.join(format!(".upload-{upload_id}.json")).is_file()
    }

    /// s3s-fs's file of one uploaded part.
    pub(crate) fn part_path(&self, upload_id: &str, part_number: i32) -> PathBuf {
        self.root.join(format!(".upload_id-{upload_id}.part-{part_number}"))
    }

    /// A fresh temp path in the spool folder (wiped at start, so a crash leaves nothing behind).
    /// Not at the root: the root holds every object's sidecars, and each entry added to or
    /// removed from that large folder cost a PUT more than the rest of its file work.
    pub(crate) fn temp_path(&self) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.spool.join(format!(".tmp.lake-{n}"))
    }

    /// Creates a temp file ([`Self::temp_path`]), and the spool folder if a reset removed it.
    pub(crate) fn create_temp(&self) -> io::Result<(PathBuf, std::fs::File)> {
        let tmp = self.temp_path();
        match std::fs::File::create(&tmp) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.spool)?;
                std::fs::File::create(&tmp).map(|f| (tmp, f))
            }
            other => other.map(|f| (tmp, f)),
        }
    }

    /// Where request bodies are spooled before they are checked (outside the s3s-fs root).
    pub(crate) fn spool_dir(&self) -> &Path {
        &self.spool
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// Why a key cannot be stored as a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadKey {
    /// Over 1,024 bytes (S3's own limit).
    TooLong,
    /// Not representable as a relative path: empty, `.`/`..` or empty segments, NUL, long segment.
    Unrepresentable(&'static str),
}

impl BadKey {
    /// The S3 error a write of such a key gets.
    pub(crate) fn to_s3(&self, key: &str) -> S3Error {
        match self {
            BadKey::TooLong => s3_error!(KeyTooLongError, "Your key is too long"),
            BadKey::Unrepresentable(why) => S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("Object key {key:?} cannot be stored by this mock (keys are files): {why}"),
            ),
        }
    }
}

/// Checks that `key` maps one-to-one onto a relative path inside its bucket: no `..` escape into
/// another tenant's bucket, no two keys aliasing one file.
pub(crate) fn check_key(key: &str) -> Result<(), BadKey> {
    if key.len() > MAX_KEY_BYTES {
        return Err(BadKey::TooLong);
    }
    if key.is_empty() {
        return Err(BadKey::Unrepresentable("the key is empty"));
    }
    if key.contains('\0') {
        return Err(BadKey::Unrepresentable("the key contains NUL"));
    }
    if key.starts_with('/') {
        return Err(BadKey::Unrepresentable("the key starts with '/'"));
    }
    let body = key.strip_suffix('/').unwrap_or(key);
    for seg in body.split('/') {
        if seg.is_empty() {
            return Err(BadKey::Unrepresentable("the key has an empty path segment ('//')"));
        }
        if seg == "." || seg == ".." {
            return Err(BadKey::Unrepresentable("the key has a '.' or '..' path segment"));
        }
        if seg.len() > MAX_SEGMENT_BYTES {
            return Err(BadKey::Unrepresentable("a path segment is longer than 255 bytes"));
        }
    }
    Ok(())
}

/// Ancestor "folders" of a key: `a/b/c` → `a`, `a/b`.
fn ancestors(key: &str) -> Vec<&str> {
    let body = key.strip_suffix('/').unwrap_or(key);
    body.match_indices('/').map(|(i, _)| &body[..i]).collect()
}

/// The lock node of a key: its path without a trailing slash.
fn node(key: &str) -> &str {
    key.strip_suffix('/').unwrap_or(key)
}

// ---------------------------------------------------------------------------------------------
// Locks

/// Lock strength on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    Shared,
    Exclusive,
}

/// The process-wide lock table: one `RwLock` per (root, bucket, path node) in use, removed when
/// the last holder lets go. Process-wide so platform writes (exports) and S3 requests agree.
///
/// Why hierarchical: a filesystem cannot hold both `a` (a file) and `a/b` (inside a folder `a`),
/// so a write of `a/b` takes `a` shared and `a/b` exclusive, and a write of `a` takes `a`
/// exclusive: the two serialise and the loser gets a clean `KeyConflict`. Writes of `a/b` and
/// `a/c` run concurrently. The bucket node (empty path) is taken shared by every object
/// operation and exclusive by DeleteBucket. Locks are always taken in one global order (sorted
/// node ids), so two requests can never wait on each other.
static LOCKS: LazyLock<Mutex<HashMap<String, Arc<RwLock<()>>>>> = LazyLock::new(Default::default);

enum Held {
    Read(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    Write(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

/// Locks held by one operation; released (and unused table entries removed) on drop.
pub(crate) struct KeyLocks {
    held: Vec<(String, Held)>,
}

impl std::fmt::Debug for KeyLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.held.iter().map(|(id, _)| id)).finish()
    }
}

impl Drop for KeyLocks {
    fn drop(&mut self) {
        let ids: Vec<String> = self.held.drain(..).map(|(id, _guard)| id).collect();
        let mut table = LOCKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for id in ids {
            if table.get(&id).is_some_and(|l| Arc::strong_count(l) == 1) {
                table.remove(&id);
            }
        }
    }
}

/// What one operation needs locked, built up then acquired at once.
#[derive(Debug)]
pub(crate) struct LockSet<'a> {
    layout: &'a Layout,
    want: Vec<(String, Mode)>,
}

impl<'a> LockSet<'a> {
    pub(crate) fn new(layout: &'a Layout) -> Self {
        Self {
            layout,
            want: Vec::new(),
        }
    }

    fn id(&self, bucket: &str, node: &str) -> String {
        format!("{}\0{bucket}\0{node}", self.layout.root.display())
    }

    fn add(&mut self, bucket: &str, node: &str, mode: Mode) {
        let id = self.id(bucket, node);
        self.want.push((id, mode));
    }

    /// For writing (or deleting) `key`: bucket and folders shared, the key exclusive.
    pub(crate) fn write(mut self, bucket: &str, key: &str) -> Self {
        self.add(bucket, "", Mode::Shared);
        for a in ancestors(key) {
            self.add(bucket, &format!("/{a}"), Mode::Shared);
        }
        self.add(bucket, &format!("/{}", node(key)), Mode::Exclusive);
        self
    }

    /// For reading `key` consistently (bytes and sidecars of one version).
    pub(crate) fn read(mut self, bucket: &str, key: &str) -> Self {
        self.add(bucket, "", Mode::Shared);
        self.add(bucket, &format!("/{}", node(key)), Mode::Shared);
        self
    }

    /// For deleting the bucket itself.
    pub(crate) fn bucket(mut self, bucket: &str) -> Self {
        self.add(bucket, "", Mode::Exclusive);
        self
    }

    /// Takes every lock from synchronous code (platform writes run on blocking threads): polls,
    /// so it never needs a runtime context and cannot panic inside one.
    pub(crate) fn acquire_blocking(self) -> KeyLocks {
        let mut held = Vec::new();
        for (id, mode) in Self::merged(self.want) {
            let lock = Self::entry(&id);
            let guard = loop {
                let got = match mode {
                    Mode::Shared => lock.clone().try_read_owned().map(Held::Read).ok(),
                    Mode::Exclusive => lock.clone().try_write_owned().map(Held::Write).ok(),
                };
                match got {
                    Some(g) => break g,
                    None => std::thread::sleep(std::time::Duration::from_millis(1)),
                }
            };
            held.push((id, guard));
        }
        KeyLocks { held }
    }

    fn entry(id: &str) -> Arc<RwLock<()>> {
        let mut table = LOCKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        table.entry(id.to_string()).or_default().clone()
    }

    /// Sorted, one entry per id with the strongest mode asked for.
    fn merged(mut want: Vec<(String, Mode)>) -> Vec<(String, Mode)> {
        want.sort();
        let mut merged: Vec<(String, Mode)> = Vec::with_capacity(want.len());
        for (id, mode) in want {
            match merged.last_mut() {
                Some((last, m)) if *last == id => *m = (*m).max(mode),
                _ => merged.push((id, mode)),
            }
        }
        merged
    }

    /// Takes every lock, in sorted order.
    pub(crate) async fn acquire(self) -> KeyLocks {
        let merged = Self::merged(self.want);
        let mut held = Vec::with_capacity(merged.len());
        for (id, mode) in merged {
            let lock = Self::entry(&id);
            let guard = match mode {
                Mode::Shared => Held::Read(lock.read_owned().await),
                Mode::Exclusive => Held::Write(lock.write_owned().await),
            };
            held.push((id, guard));
        }
        KeyLocks { held }
    }
}

// ---------------------------------------------------------------------------------------------
// Key / folder conflicts

/// The 409 for a key that cannot coexist with another on a filesystem.
pub(crate) fn key_conflict(msg: String) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom("KeyConflict".into()), msg);
    e.set_status_code(http::StatusCode::CONFLICT);
    e
}

/// Whether a folder holds no file at any depth (only empty folders, e.g. left by deletes).
pub(crate) fn tree_has_no_files(dir: &Path) -> io::Result<bool> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Makes room for writing `key` (caller holds its write locks): refuses when a folder of the key
/// is an object (`a` exists, writing `a/b`) or the key is a folder holding objects (`a/b` exists,
/// writing `a`); removes a folder tree left empty by deletes.
pub(crate) fn prepare_write(layout: &Layout, bucket: &str, key: &str) -> S3Result<()> {
    let dir = layout.bucket_dir(bucket);
    for a in ancestors(key) {
        let p = dir.join(a);
        if p.is_file() {
            return Err(key_conflict(format!(
                "Cannot store {key:?}: {a:?} is an object, and this mock keeps objects as files, \
                 so an object's key cannot also be a folder of other keys. Delete {a:?} or choose another key."
            )));
        }
    }
    let p = layout.object_path(bucket, key);
    if key.ends_with('/') {
        if p.is_file() {
            return Err(key_conflict(format!(
                "Cannot store the folder marker {key:?}: {:?} is an object.",
                node(key)
            )));
        }
        return Ok(());
    }
    if p.is_dir() {
        match tree_has_no_files(&p) {
            Ok(true) => {
                remove_marker_sidecars(layout, bucket, key, &p).map_err(S3Error::internal_error)?;
                std::fs::remove_dir_all(&p).map_err(S3Error::internal_error)?;
            }
            Ok(false) => {
                return Err(key_conflict(format!(
                    "Cannot store {key:?}: other objects have keys starting with \"{key}/\", and this \
                     mock keeps objects as files, so a key cannot also be a folder of other keys."
                )))
            }
            Err(e) => return Err(S3Error::internal_error(e)),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sidecars

/// The internal-info sidecar (a JSON object; s3s-fs reads `e_tag` and `checksum_*`).
pub(crate) type InternalInfo = serde_json::Map<String, serde_json::Value>;

/// Key of the KMS key id an object was written under, in its internal-info sidecar.
pub(crate) const INFO_KMS_KEY: &str = "sse_kms_key_id";
/// Key of the part sizes of a multipart object, in its internal-info sidecar.
pub(crate) const INFO_PART_SIZES: &str = "part_sizes";
/// Key of the per-part checksums the Complete of a multipart object listed (one object per part,
/// s3s field names), in its internal-info sidecar: GetObjectAttributes' `ObjectParts`.
pub(crate) const INFO_PART_CHECKSUMS: &str = "part_checksums";
/// Key of the mock-clock instant (µs) a folder marker (`a/`) was PUT, in the marker's
/// internal-info sidecar. s3s-fs keeps a marker as a bare folder, which longer keys create too:
/// the sidecar is what tells a marker someone PUT (HEAD 200, as S3) from an implied folder (404).
pub(crate) const INFO_MARKER_AT: &str = "folder_marker_at";

/// Reads an object's internal-info sidecar, if any.
pub(crate) async fn load_info(layout: &Layout, bucket: &str, key: &str) -> io::Result<Option<InternalInfo>> {
    match tokio::fs::read(layout.internal_path(bucket, key)).await {
        Ok(b) => Ok(serde_json::from_slice(&b).ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`load_info`] on the calling thread: a small file the page cache holds is read faster than a
/// hand-off to the blocking pool (the GET/HEAD hot path, `lake_read`).
pub(crate) fn load_info_now(layout: &Layout, bucket: &str, key: &str) -> io::Result<Option<InternalInfo>> {
    match std::fs::read(layout.internal_path(bucket, key)) {
        Ok(b) => Ok(serde_json::from_slice(&b).ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes an object's internal-info sidecar (temp file then rename).
pub(crate) async fn save_info(layout: &Layout, bucket: &str, key: &str, info: &InternalInfo) -> io::Result<()> {
    let bytes = serde_json::to_vec(info).map_err(io::Error::other)?;
    write_atomic(layout, &layout.internal_path(bucket, key), &bytes).await
}

/// Writes `bytes` to `dest` via a temp file and a rename.
pub(crate) async fn write_atomic(layout: &Layout, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = layout.temp_path();
    let res = async {
        tokio::fs::create_dir_all(layout.spool_dir()).await?;
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(bytes).await?;
        f.flush().await?;
        drop(f);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&tmp, dest).await
    }
    .await;
    if res.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    res
}

/// The ETag s3s-fs stored for an object, or the MD5 of its bytes when there is none.
pub(crate) async fn etag_of(
    layout: &Layout,
    bucket: &str,
    key: &str,
    info: Option<&InternalInfo>,
) -> io::Result<String> {
    if let Some(e) = info.and_then(|i| i.get("e_tag")).and_then(|v| v.as_str()) {
        return Ok(e.to_string());
    }
    md5_file(&layout.object_path(bucket, key)).await
}

/// Hex MD5 of a file.
pub(crate) async fn md5_file(path: &Path) -> io::Result<String> {
    let mut f = tokio::fs::File::open(path).await?;
    let mut md5 = s3s::crypto::Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
    }
    Ok(hex::encode(md5.finalize()))
}

/// Removes the sidecars of every folder marker in the folder tree `dir` of key `key` (`a` for
/// `<bucket>/a`), so a folder written again later is not taken for a marker someone PUT.
fn remove_marker_sidecars(layout: &Layout, bucket: &str, key: &str, dir: &Path) -> io::Result<()> {
    let mut stack = vec![(dir.to_path_buf(), format!("{}/", key.trim_end_matches('/')))];
    while let Some((d, k)) = stack.pop() {
        ignore_missing(std::fs::remove_file(layout.internal_path(bucket, &k)))?;
        ignore_missing(std::fs::remove_file(layout.metadata_path(bucket, &k)))?;
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                stack.push((entry.path(), format!("{k}{name}/")));
            }
        }
    }
    Ok(())
}

/// Removes an object's bytes and both sidecars (missing pieces are fine). A folder-marker key
/// (`a/`) removes its folder only when empty.
/// Synchronous: a few metadata syscalls, no data is read.
pub(crate) fn remove_object(layout: &Layout, bucket: &str, key: &str) -> io::Result<()> {
    let path = layout.object_path(bucket, key);
    if key.ends_with('/') {
        if path.is_dir() && tree_has_no_files(&path)? {
            // Only the marker's own folder; deeper empty folders stay (harmless, invisible).
            let _ = std::fs::remove_dir(&path);
        }
    } else {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => ignore_missing(std::fs::remove_file(&path))?,
            _ => {}
        }
    }
    ignore_missing(std::fs::remove_file(layout.metadata_path(bucket, key)))?;
    ignore_missing(std::fs::remove_file(layout.internal_path(bucket, key)))?;
    Ok(())
}

/// Synchronous [`write_atomic`] for platform writes (exports, their sidecars) and PUTs: temp file,
/// then rename, so no reader ever sees a partial object — but no fsync. Export bytes are
/// re-derivable from the seed and a process crash cannot tear a renamed file; only an OS crash
/// could lose one, which a mock need not survive. The fsync cost 2-4 ms per file on ext4, more
/// than generating and encoding the file (docs/benchmarks.md).
pub(crate) fn write_atomic_unsynced(layout: &Layout, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let (tmp, mut f) = layout.create_temp()?;
    let res = (|| {
        f.write_all(bytes)?;
        drop(f);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(&tmp, dest)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Key of a non-default storage class (D9 retention), in an object's internal-info sidecar.
pub(crate) const INFO_STORAGE_CLASS: &str = "storage_class";

pub(crate) fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Sets a file's modification time (its S3 `LastModified`) to a mock-clock instant.
pub(crate) fn set_mtime(path: &Path, at: Instant) -> io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_times(FileTimes::new().set_modified(std::time::SystemTime::from(at)))
}

// ---------------------------------------------------------------------------------------------
// Bodies and digests

/// Which checksums a request asks for or supplies (headers, `x-amz-sdk-checksum-algorithm`,
/// `x-amz-trailer`), and the values supplied in headers.
#[derive(Debug, Default, Clone)]
pub(crate) struct ChecksumSpec {
    /// Values sent as headers (trailers are added after the body is read).
    pub(crate) provided: dto::Checksum,
    /// Algorithms to compute: CRC32, CRC32C, SHA1, SHA256, CRC64NVME.
    pub(crate) algorithms: Vec<&'static str>,
}

const ALGORITHMS: [&str; 5] = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"];

fn slot<'c>(c: &'c mut dto::Checksum, alg: &str) -> Option<&'c mut Option<String>> {
    match alg {
        "CRC32" => Some(&mut c.checksum_crc32),
        "CRC32C" => Some(&mut c.checksum_crc32c),
        "SHA1" => Some(&mut c.checksum_sha1),
        "SHA256" => Some(&mut c.checksum_sha256),
        "CRC64NVME" => Some(&mut c.checksum_crc64nvme),
        _ => None,
    }
}

fn get<'c>(c: &'c dto::Checksum, alg: &str) -> Option<&'c String> {
    match alg {
        "CRC32" => c.checksum_crc32.as_ref(),
        "CRC32C" => c.checksum_crc32c.as_ref(),
        "SHA1" => c.checksum_sha1.as_ref(),
        "SHA256" => c.checksum_sha256.as_ref(),
        "CRC64NVME" => c.checksum_crc64nvme.as_ref(),
        _ => None,
    }
}

/// The checksum S3 reports for a completed multipart upload whose parts all carry an `alg`
/// checksum in the CompleteMultipartUpload body (`parts`: each part's file and those values), or
/// whose request claims an `alg` value for the object, checked against the stored parts:
/// `FULL_OBJECT` (the checksum of the whole object) for CRC64NVME, or CRC32/CRC32C when the upload
/// asks for it (`x-amz-checksum-type` on Create or Complete: `full_object`); otherwise
/// `COMPOSITE` (the checksum of the concatenated binary part checksums, then `-<part count>`),
/// S3's defaults. A whole-object value the request carries (`whole`) must match (`BadDigest`).
/// `None` when neither the parts, the claim nor the upload name an algorithm; `InvalidPart` when
/// a part's value does not match it. Also returns each part's checksum (for `ObjectParts` and
/// GET of one part), computed from its bytes.
pub(crate) async fn multipart_checksum(
    parts: &[(PathBuf, dto::Checksum)],
    full_object: bool,
    whole: &dto::Checksum,
    declared: Option<&str>,
) -> S3Result<Option<MultipartSum>> {
    // The algorithm every listed part names, else the one the whole object's claim uses (a
    // client may list parts without their checksums and still claim one for the object: it is
    // checked against the parts' bytes all the same), else the one CreateMultipartUpload
    // declared (S3 computes it for parts listed by ETag alone).
    let Some(alg) = ALGORITHMS
        .into_iter()
        .find(|a| !parts.is_empty() && parts.iter().all(|(_, c)| get(c, a).is_some()))
        .or_else(|| ALGORITHMS.into_iter().find(|a| get(whole, a).is_some()))
        .or_else(|| {
            ALGORITHMS
                .into_iter()
                .find(|a| declared.is_some_and(|d| d.eq_ignore_ascii_case(a)))
        })
    else {
        return Ok(None);
    };
    let full_object = alg == "CRC64NVME" || full_object;
    if full_object && (alg == "SHA1" || alg == "SHA256") {
        return Err(s3_error!(
            InvalidRequest,
            "The FULL_OBJECT checksum type cannot be used with the {alg} checksum algorithm."
        ));
    }
    let one = || {
        ChecksumSpec {
            algorithms: vec![alg],
            ..Default::default()
        }
        .hasher()
    };
    let (mut full, mut composite) = (one(), one());
    let mut part_sums = Vec::with_capacity(parts.len());
    let mut buf = vec![0u8; 64 * 1024];
    for (i, (path, given)) in parts.iter().enumerate() {
        let mut part = one();
        let mut f = tokio::fs::File::open(path).await.map_err(S3Error::internal_error)?;
        loop {
            let n = f.read(&mut buf).await.map_err(S3Error::internal_error)?;
            if n == 0 {
                break;
            }
            part.update(&buf[..n]);
            full.update(&buf[..n]);
        }
        let value = get(&part.finalize(), alg).cloned().unwrap_or_default();
        if get(given, alg).is_some_and(|g| *g != value) {
            return Err(s3_error!(
                InvalidPart,
                "The {alg} checksum given for part {} does not match the part.",
                i + 1
            ));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&value)
            .map_err(S3Error::internal_error)?;
        composite.update(&raw);
        let mut sum = dto::Checksum::default();
        if let Some(s) = slot(&mut sum, alg) {
            *s = Some(value);
        }
        part_sums.push(sum);
    }
    let (value, kind) = if full_object {
        (get(&full.finalize(), alg).cloned(), dto::ChecksumType::FULL_OBJECT)
    } else {
        (
            get(&composite.finalize(), alg).map(|v| format!("{v}-{}", parts.len())),
            dto::ChecksumType::COMPOSITE,
        )
    };
    if let (Some(claimed), Some(v)) = (get(whole, alg), value.as_ref()) {
        // A composite claim may come with its `-<parts>` suffix (as S3 returns it) or without.
        let bare = |x: &str| x.split('-').next().map(str::to_owned);
        if claimed != v && bare(claimed) != bare(v) {
            return Err(s3_error!(
                BadDigest,
                "The {alg} you specified for the object did not match what we computed."
            ));
        }
    }
    let mut out = dto::Checksum::default();
    if let Some(s) = slot(&mut out, alg) {
        *s = value;
    }
    Ok(Some(MultipartSum {
        object: out,
        kind: dto::ChecksumType::from_static(kind),
        parts: part_sums,
    }))
}

/// A multipart object's checksum ([`multipart_checksum`]).
#[derive(Debug)]
pub(crate) struct MultipartSum {
    /// The object's checksum.
    pub object: dto::Checksum,
    /// `COMPOSITE` or `FULL_OBJECT`.
    pub kind: dto::ChecksumType,
    /// Each part's checksum, in part order.
    pub parts: Vec<dto::Checksum>,
}

/// The `alg` checksum (`CRC32`... as S3 names them) of a stored file; `InvalidArgument` for an
/// algorithm S3 does not have.
pub(crate) async fn checksum_file(path: &Path, alg: &str) -> S3Result<dto::Checksum> {
    let Some(alg) = ALGORITHMS.into_iter().find(|a| a.eq_ignore_ascii_case(alg)) else {
        return Err(s3_error!(InvalidArgument, "Unsupported checksum algorithm {alg:?}"));
    };
    let mut h = ChecksumSpec {
        algorithms: vec![alg],
        ..Default::default()
    }
    .hasher();
    let mut f = tokio::fs::File::open(path).await.map_err(S3Error::internal_error)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).await.map_err(S3Error::internal_error)?;
        if n == 0 {
            return Ok(h.finalize());
        }
        h.update(&buf[..n]);
    }
}

/// Key of a multipart object's checksum type (`COMPOSITE`, `FULL_OBJECT`), in its sidecar.
pub(crate) const INFO_CHECKSUM_TYPE: &str = "checksum_type";

impl ChecksumSpec {
    /// From a request's checksum headers, its algorithm header and its headers map.
    pub(crate) fn new(provided: dto::Checksum, algorithm: Option<&str>, headers: &http::HeaderMap) -> S3Result<Self> {
        let mut spec = Self {
            provided,
            algorithms: Vec::new(),
        };
        for alg in ALGORITHMS {
            if get(&spec.provided, alg).is_some() {
                spec.want(alg);
            }
        }
        if let Some(alg) = algorithm {
            let alg = alg.to_ascii_uppercase();
            match ALGORITHMS.iter().find(|a| **a == alg) {
                Some(a) => spec.want(a),
                None => return Err(s3_error!(InvalidArgument, "Unsupported checksum algorithm {alg:?}")),
            }
        }
        for v in headers.get_all("x-amz-trailer") {
            for name in v.to_str().unwrap_or_default().split(',') {
                let name = name.trim().to_ascii_lowercase();
                if let Some(alg) = name.strip_prefix("x-amz-checksum-") {
                    let alg = alg.to_ascii_uppercase();
                    if let Some(a) = ALGORITHMS.iter().find(|a| **a == alg) {
                        spec.want(a);
                    }
                }
            }
        }
        Ok(spec)
    }

    fn want(&mut self, alg: &'static str) {
        if !self.algorithms.contains(&alg) {
            self.algorithms.push(alg);
        }
    }

    fn hasher(&self) -> s3s::checksum::ChecksumHasher {
        let mut h = s3s::checksum::ChecksumHasher::default();
        for alg in &self.algorithms {
            match *alg {
                "CRC32" => h.crc32 = Some(Default::default()),
                "CRC32C" => h.crc32c = Some(Default::default()),
                "SHA1" => h.sha1 = Some(Default::default()),
                "SHA256" => h.sha256 = Some(Default::default()),
                _ => h.crc64nvme = Some(Default::default()),
            }
        }
        h
    }

    /// Adds checksum values that arrived as aws-chunked trailers.
    pub(crate) fn add_trailers(&mut self, trailers: Option<&s3s::TrailingHeaders>) -> S3Result<()> {
        let Some(map) = trailers.and_then(s3s::TrailingHeaders::take) else {
            return Ok(());
        };
        for alg in ALGORITHMS {
            let name = format!("x-amz-checksum-{}", alg.to_ascii_lowercase());
            if let Some(v) = map.get(name.as_str()) {
                let v = v
                    .to_str()
                    .map_err(|_| s3_error!(InvalidArgument, "invalid trailer {name}"))?
                    .to_string();
                if let Some(s) = slot(&mut self.provided, alg) {
                    *s = Some(v);
                }
            }
        }
        Ok(())
    }
}

/// Bodies up to this size are held in memory; larger ones go to a temp file as they arrive.
/// Why: a small PUT spooled through tokio's file API paid a blocking-pool hop for each step
/// (create, write, flush, reopen), more than the rest of the request (docs/benchmarks.md).
const MEMORY_MAX: usize = 256 * 1024;

/// Where a received body is kept until it is checked and stored.
#[derive(Debug)]
enum Body {
    Memory(Vec<u8>),
    File(tempfile::NamedTempFile),
}

impl Body {
    /// Adds `chunk`, moving to a temp file in `dir` once the body outgrows [`MEMORY_MAX`].
    /// Writes go to the page cache on the request's thread: a few microseconds per chunk.
    fn append(&mut self, chunk: &[u8], dir: &Path) -> io::Result<()> {
        use std::io::Write as _;
        match self {
            Body::Memory(v) if v.len() + chunk.len() <= MEMORY_MAX => v.extend_from_slice(chunk),
            Body::Memory(v) => {
                std::fs::create_dir_all(dir)?;
                let mut f = tempfile::Builder::new().prefix("body-").tempfile_in(dir)?;
                f.write_all(v)?;
                f.write_all(chunk)?;
                *self = Body::File(f);
            }
            Body::File(f) => f.write_all(chunk)?,
        }
        Ok(())
    }
}

/// A request body received in full, with its digests.
#[derive(Debug)]
pub(crate) struct Spooled {
    held: Body,
    /// Bytes received.
    pub(crate) size: u64,
    /// Hex MD5.
    pub(crate) md5_hex: String,
    md5_raw: [u8; 16],
    /// The requested checksums, computed (base64).
    pub(crate) computed: dto::Checksum,
}

/// The S3 error for a body that could not be read: a bad chunk signature or payload hash is the
/// client's fault (4xx), never a 500.
fn body_error(e: &dyn std::error::Error) -> S3Error {
    let msg = e.to_string();
    if msg.contains("SignatureMismatch") {
        s3_error!(
            SignatureDoesNotMatch,
            "The chunk signature we calculated does not match the signature you provided."
        )
    } else if msg.contains("Sha256Mismatch") {
        let mut err = S3Error::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
        err.set_status_code(http::StatusCode::BAD_REQUEST);
        err
    } else if msg.contains("FormatError") || msg.contains("TooLarge") || msg.contains("TooMany") {
        s3_error!(InvalidRequest, "Malformed aws-chunked body: {msg}")
    } else {
        s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        )
    }
}

/// Receives a request body (in memory, or in a temp file in `dir` when large), computing MD5 and
/// the checksums in `spec`.
pub(crate) async fn spool(body: Option<StreamingBlob>, dir: &Path, spec: &ChecksumSpec) -> S3Result<Spooled> {
    let mut body = body.ok_or_else(|| s3_error!(IncompleteBody))?;
    let mut held = Body::Memory(Vec::new());
    let mut md5 = s3s::crypto::Md5::new();
    let mut hasher = spec.hasher();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| body_error(&*e))?;
        md5.update(&chunk);
        hasher.update(&chunk);
        size += chunk.len() as u64;
        held.append(&chunk, dir).map_err(S3Error::internal_error)?;
    }
    let md5_raw = md5.finalize();
    Ok(Spooled {
        held,
        size,
        md5_hex: hex::encode(md5_raw),
        md5_raw,
        computed: hasher.finalize(),
    })
}

impl Spooled {
    /// Checks `Content-MD5` (before anything is stored).
    pub(crate) fn check_md5(&self, content_md5: Option<&str>) -> S3Result<()> {
        let Some(b64) = content_md5 else { return Ok(()) };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
            .filter(|r| r.len() == 16)
            .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid."))?;
        if raw != self.md5_raw {
            return Err(s3_error!(
                BadDigest,
                "The Content-MD5 you specified did not match what we received."
            ));
        }
        Ok(())
    }

    /// Checks every supplied checksum against the body; returns the checksums to store (the
    /// supplied ones, plus computed values for algorithms asked for without a value).
    pub(crate) fn check_checksums(&self, spec: &ChecksumSpec) -> S3Result<dto::Checksum> {
        let mut out = dto::Checksum::default();
        for alg in &spec.algorithms {
            let computed = get(&self.computed, alg).cloned();
            if let Some(given) = get(&spec.provided, alg) {
                if Some(given) != computed.as_ref() {
                    return Err(s3_error!(
                        BadDigest,
                        "The {} you specified did not match the calculated checksum.",
                        alg
                    ));
                }
            }
            if let Some(s) = slot(&mut out, alg) {
                *s = computed;
            }
        }
        Ok(out)
    }

    /// The received bytes as a body for s3s-fs (an in-memory body is handed over, not copied).
    pub(crate) fn into_body(self) -> S3Result<StreamingBlob> {
        match self.held {
            Body::Memory(v) => Ok(StreamingBlob::from(s3s::Body::from(Bytes::from(v)))),
            Body::File(f) => {
                let f = f.reopen().map_err(S3Error::internal_error)?;
                Ok(StreamingBlob::wrap(file_stream(tokio::fs::File::from_std(f))))
            }
        }
    }

    /// Puts the bytes at `dest` in one rename, with `at` as their modification time, so a reader
    /// sees the old object or the new one, never part of one. A body in memory goes through a
    /// temp file of `layout`; a spooled one is renamed from the spool.
    pub(crate) fn store(self, dest: &Path, layout: &Layout, at: Instant) -> io::Result<()> {
        use std::io::Write as _;
        let times = FileTimes::new().set_modified(std::time::SystemTime::from(at));
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match self.held {
            Body::Memory(v) => {
                let (tmp, mut f) = layout.create_temp()?;
                let res = (|| {
                    f.write_all(&v)?;
                    f.set_times(times)?;
                    drop(f);
                    std::fs::rename(&tmp, dest)
                })();
                if res.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                res
            }
            Body::File(f) => {
                f.as_file().set_times(times)?;
                f.persist(dest).map(drop).map_err(|e| e.error)
            }
        }
    }
}

/// Streams a file in 64 KiB chunks.
pub(crate) fn file_stream(file: tokio::fs::File) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + Sync {
    futures::stream::try_unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 64 * 1024];
        let n = f.read(&mut buf).await?;
        if n == 0 {
            Ok(None)
        } else {
            buf.truncate(n);
            Ok(Some((Bytes::from(buf), f)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_map_to_one_path() {
        assert!(check_key("year=2024/month=01/part-00000.parquet").is_ok());
        assert!(check_key("a/").is_ok());
        assert!(check_key("a b+c%d").is_ok());
        for bad in ["", "/a", "a//b", "../b/x", "a/./b", "a/..", "a\0b", "//"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_key(&"k".repeat(1025)), Err(BadKey::TooLong));
    }

    #[test]
    fn ancestors_and_nodes() {
        assert_eq!(ancestors("a/b/c"), vec!["a", "a/b"]);
        assert_eq!(ancestors("a/b/"), vec!["a"]);
        assert!(ancestors("a").is_empty());
        assert_eq!(node("a/b/"), "a/b");
    }
}
