//! Who owns which data-lake bucket. Bucket names are global, as in S3: the `buckets` table maps
//! each name to one tenant, and only that tenant's data-lake credentials (or the platform, for
//! exports) may use it (D8). The SEA bucket name is reserved.

use rusqlite::{Connection, OptionalExtension};
use s3s::{s3_error, S3Error, S3Result};

use crate::app::App;
use crate::storage::daily_cap::SEA_BUCKET;
use crate::store::time::{from_us, to_us, Instant};
use crate::store::{StoreError, StoreResult};

/// Why a data-lake bucket cannot be created or used.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// Not a valid S3 bucket name (3-63 characters: lowercase letters, digits, dots, hyphens).
    #[error("invalid bucket name {0:?}: {1}")]
    InvalidBucketName(String, &'static str),
    /// The name is reserved (the SEA bucket).
    #[error("bucket name {0:?} is reserved")]
    Reserved(String),
    /// Another tenant owns the bucket (D8).
    #[error("bucket {bucket:?} belongs to another tenant")]
    OwnedByOther {
        /// The bucket.
        bucket: String,
    },
    /// No tenant owns the bucket (platform writes need [`ensure_bucket`] first).
    #[error("bucket {0:?} does not exist")]
    NoSuchBucket(String),
    /// An object key that cannot be stored (see the S3 front's key rules).
    #[error("invalid object key {0:?}: {1}")]
    InvalidKey(String, String),
    /// A key that cannot coexist with an existing one (`a` vs `a/b`).
    #[error("{0}")]
    KeyConflict(String),
    /// Metadata store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Filesystem failure.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks a bucket name as S3 does for new buckets.
pub fn check_bucket_name(name: &str) -> Result<(), LakeError> {
    let bad = |why| Err(LakeError::InvalidBucketName(name.to_string(), why));
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("only lowercase letters, digits, dots and hyphens are allowed");
    }
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge(name.bytes().next()) || !edge(name.bytes().last()) {
        return bad("must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("dots may not be adjacent to dots or hyphens");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be formatted as an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.starts_with("amzn-s3-demo-") {
        return bad("reserved prefix");
    }
    if name.ends_with("-s3alias") || name.ends_with("--ol-s3") || name.ends_with(".mrap") || name.ends_with("--x-s3") {
        return bad("reserved suffix");
    }
    Ok(())
}

/// The tenant owning `bucket`, if any.
pub fn owner(c: &Connection, bucket: &str) -> StoreResult<Option<String>> {
    Ok(
        c.query_row("SELECT tenant_id FROM buckets WHERE name=?1", [bucket], |r| r.get(0))
            .optional()?,
    )
}

/// Outcome of claiming a bucket name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The bucket is new.
    Created,
    /// The tenant already owned it.
    AlreadyOwned,
}

/// Claims `bucket` for `tenant_id` and makes its directory under the s3s-fs root, in one store
/// transaction (the row is rolled back if the directory cannot be made).
pub fn claim(app: &App, tenant_id: &str, bucket: &str, now: Instant) -> Result<Claim, LakeError> {
    check_bucket_name(bucket)?;
    if bucket == SEA_BUCKET {
        return Err(LakeError::Reserved(bucket.to_string()));
    }
    let dir = app.store.s3_root().join(bucket);
    let mut outcome = Claim::Created;
    let res = app.store.tx(|c| {
        match owner(c, bucket)? {
            Some(t) if t == tenant_id => outcome = Claim::AlreadyOwned,
            Some(_) => return Ok(Err(LakeError::OwnedByOther { bucket: bucket.into() })),
            None => {
                c.execute(
                    "INSERT INTO buckets(name,tenant_id,created_at) VALUES(?1,?2,?3)",
                    rusqlite::params![bucket, tenant_id, to_us(now)],
                )?;
            }
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Ok(()))
    })?;
    res.map(|()| outcome)
}

/// Makes sure `bucket` exists on the mock's S3 endpoint and belongs to `tenant_id`, creating it
/// (directory and owner row) if needed. The platform writes exports with its own authority, so
/// no credential is involved; a bucket another tenant owns is refused (D8).
pub fn ensure_bucket(app: &App, tenant_id: &str, bucket: &str) -> Result<(), LakeError> {
    claim(app, tenant_id, bucket, app.now()).map(|_| ())
}

/// Forgets a bucket's owner (after its directory is gone).
pub fn release(c: &Connection, bucket: &str) -> StoreResult<()> {
    c.execute("DELETE FROM buckets WHERE name=?1", [bucket])?;
    Ok(())
}

/// A tenant's buckets, by name, with creation instants.
pub fn list(c: &Connection, tenant_id: &str) -> StoreResult<Vec<(String, Instant)>> {
    let mut st = c.prepare("SELECT name, created_at FROM buckets WHERE tenant_id=?1 ORDER BY name")?;
    let rows = st.query_map([tenant_id], |r| Ok((r.get::<_, String>(0)?, from_us(r.get(1)?))))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// S3 check that `tenant_id` owns `bucket`: `NoSuchBucket` when nobody does, `AccessDenied` when
/// another tenant does.
/// [`owner`] through `app`'s cache.
pub(crate) fn cached_owner(app: &App, bucket: &str) -> StoreResult<Option<String>> {
    app.bucket_owners.get(&app.store, bucket, |c| owner(c, bucket))
}

pub(crate) fn require_owner(app: &App, tenant_id: &str, bucket: &str) -> S3Result<()> {
    match cached_owner(app, bucket) {
        Ok(Some(t)) if t == tenant_id => Ok(()),
        Ok(Some(_)) => Err(s3_error!(AccessDenied, "Access Denied")),
        Ok(None) => Err(s3_error!(NoSuchBucket, "The specified bucket does not exist")),
        Err(e) => Err(internal(e)),
    }
}

/// A store failure as a logged 500.
pub(crate) fn internal(e: impl std::fmt::Display) -> S3Error {
    tracing::error!("data lake: {e}");
    s3_error!(InternalError, "We encountered an internal error. Please try again.")
}

#[cfg(test)]
mod tests {
    use super::check_bucket_name;

    #[test]
    fn bucket_names_follow_s3() {
        for ok in ["abc", "my-lake.2024", "a1b"] {
            assert!(check_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "Abc",
            "a_b",
            "-ab",
            "ab-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--ab",
            &"a".repeat(64),
        ] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }
}
