//! Where a download's files go (CONTRACT §4, D8).
//!
//! - [`Destination::Platform`]: a bucket on the mock's own S3 endpoint, created on demand for the
//!   tenant and written with the platform's authority (no data-lake credential involved). Bucket
//!   names are global: a bucket another tenant owns refuses the write (D8).
//! - [`Destination::External`]: any S3-compatible store (AWS S3, MinIO, moto, ...) and
//!   [`Destination::Azure`]: a container in Azure Blob Storage (or Azurite), both reached with
//!   the `object_store` crate ([`super::remote`]).
//!
//! D8: "the platform does not maintain a staging buffer. If the destination rejects the write
//! operation, the export job fails permanently". So nothing here retries: the remote clients
//! have retries off and short timeouts, and every refusal — an error answer, a connection that
//! cannot be made, a timeout — comes back at once as [`DestinationError::Refused`] whose message
//! names the store's error code and the bucket or container; it becomes the job's `error_details`.
//!
//! Every method is synchronous: exports run on blocking threads inside engine tasks. Call them
//! from a blocking context (a `spawn_blocking` thread, a plain thread, a sync test), not from an
//! async task — remote calls block the calling thread until the request is done.

use super::remote::{self, Remote as _};
pub use super::remote::{AzureBlob, AzureCredential, External, CONNECT_TIMEOUT, DEFAULT_REGION, REQUEST_TIMEOUT};
use crate::app::App;
use crate::sea::lake_owner::{self, LakeError};
use crate::sea::lake_platform;
use crate::store::time::Instant;

/// Where a job's files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A bucket on the mock's own S3 endpoint, owned by `tenant_id` (created on first write).
    Platform {
        /// The tenant the download belongs to; the bucket is created for it.
        tenant_id: String,
        /// Bucket name (global, as in S3).
        bucket: String,
    },
    /// A bucket on another S3-compatible endpoint.
    External(External),
    /// A container in an Azure storage account.
    Azure(AzureBlob),
}

/// Why a destination operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// The destination refused the request or could not be reached (D8: the job fails at once,
    /// is never retried, and the download needs reconfiguration). The message is the job's
    /// `error_details`: it names the S3 error code and the bucket.
    #[error("{message}")]
    Refused {
        /// E.g. `destination refused the write: NoSuchBucket (bucket 'x' at http://...)`.
        message: String,
    },
    /// A failure of the mock itself (metadata store, local filesystem, a malformed key we built).
    #[error("internal error: {message}")]
    Internal {
        /// What failed.
        message: String,
    },
}

/// What was being done, for messages (`destination refused the write: ...`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    Write,
    Check,
    List,
    Delete,
    StorageClass,
}

impl Op {
    fn noun(self) -> &'static str {
        match self {
            Op::Write => "the write",
            Op::Check => "the existence check",
            Op::List => "the listing",
            Op::Delete => "the delete",
            Op::StorageClass => "the storage-class change",
        }
    }
}

pub(super) fn refused(op: Op, code: &str, detail: &str) -> DestinationError {
    DestinationError::Refused {
        message: format!("destination refused {}: {code} ({detail})", op.noun()),
    }
}

pub(super) fn internal(e: impl std::fmt::Display) -> DestinationError {
    DestinationError::Internal { message: e.to_string() }
}

impl Destination {
    /// The bucket or container written to.
    pub fn bucket(&self) -> &str {
        match self {
            Destination::Platform { bucket, .. } => bucket,
            Destination::External(e) => &e.bucket,
            Destination::Azure(a) => &a.container,
        }
    }

    /// The URI jobs and manifests list a file by: `s3://bucket/key`, or for Azure the blob's
    /// URL (`https://<account>.blob.core.windows.net/<container>/<key>`).
    pub fn uri(&self, key: &str) -> String {
        match self {
            Destination::Azure(a) => a.url(key),
            _ => format!("s3://{}/{key}", self.bucket()),
        }
    }

    /// The `error_details` of a `destination_rejects_write` fault: the refusal this store
    /// gives a writer without permission.
    pub fn access_denied(&self) -> String {
        match self {
            Destination::Azure(a) => format!(
                "destination refused the write: AuthorizationPermissionMismatch ({}: This request is not \
                 authorized to perform this operation using this permission.)",
                a.detail()
            ),
            _ => format!(
                "destination refused the write: AccessDenied (bucket '{}': Access Denied)",
                self.bucket()
            ),
        }
    }

    /// Writes (or replaces) `key` with `bytes`. Platform: creates the bucket for the tenant when
    /// nobody owns it yet; a bucket another tenant owns, or an invalid bucket name, is refused.
    pub fn put(&self, app: &App, key: &str, bytes: &[u8], content_type: &str) -> Result<(), DestinationError> {
        match self {
            Destination::Platform { tenant_id, bucket } => {
                lake_owner::ensure_bucket(app, tenant_id, bucket).map_err(|e| platform_error(Op::Write, bucket, e))?;
                lake_platform::write_object(app, tenant_id, bucket, key, bytes, Some(content_type))
                    .map(|_etag| ())
                    .map_err(|e| platform_error(Op::Write, bucket, e))
            }
            Destination::External(ext) => remote::put(ext, key, bytes, content_type),
            Destination::Azure(az) => remote::put(az, key, bytes, content_type),
        }
    }

    /// Whether `key` exists (for `overwrite:false`: the next free part number). Platform: a bucket
    /// nobody owns yet holds nothing; one another tenant owns is refused.
    pub fn exists(&self, app: &App, key: &str) -> Result<bool, DestinationError> {
        match self {
            Destination::Platform { tenant_id, bucket } => {
                if !platform_owned(app, tenant_id, bucket, Op::Check)? {
                    return Ok(false);
                }
                Ok(lake_platform::object_exists(app, bucket, key))
            }
            Destination::External(ext) => remote::exists(ext, key),
            Destination::Azure(az) => remote::exists(az, key),
        }
    }

    /// Every object whose key starts with `prefix` (plain string prefix, as S3's `prefix`), with
    /// its last-modified instant, sorted by key. Platform: instants are on the mock clock; a bucket
    /// nobody owns yet lists empty.
    pub fn list(&self, app: &App, prefix: &str) -> Result<Vec<(String, Instant)>, DestinationError> {
        match self {
            Destination::Platform { tenant_id, bucket } => {
                if !platform_owned(app, tenant_id, bucket, Op::List)? {
                    return Ok(Vec::new());
                }
                match lake_platform::list_objects(app, bucket, prefix) {
                    Ok(entries) => Ok(entries.into_iter().map(|e| (e.key, e.last_modified)).collect()),
                    Err(LakeError::NoSuchBucket(_)) => Ok(Vec::new()),
                    Err(e) => Err(platform_error(Op::List, bucket, e)),
                }
            }
            Destination::External(ext) => remote::list(ext, prefix),
            Destination::Azure(az) => remote::list(az, prefix),
        }
    }

    /// Deletes `key` (retention, D9); a missing key is fine.
    pub fn delete(&self, app: &App, key: &str) -> Result<(), DestinationError> {
        match self {
            Destination::Platform { tenant_id, bucket } => {
                if !platform_owned(app, tenant_id, bucket, Op::Delete)? {
                    return Ok(());
                }
                lake_platform::delete_object(app, bucket, key).map_err(|e| platform_error(Op::Delete, bucket, e))
            }
            Destination::External(ext) => remote::delete(ext, key),
            Destination::Azure(az) => remote::delete(az, key),
        }
    }

    /// Sets the storage class S3 reports for `key` (D9: `GLACIER_IR` once cold, `STANDARD`).
    /// External and Azure: a no-op — on a real store the bucket's own lifecycle rules (Azure's
    /// lifecycle management policies) move objects to colder tiers, the platform does not.
    pub fn set_storage_class(&self, app: &App, key: &str, class: &str) -> Result<(), DestinationError> {
        match self {
            Destination::Platform { tenant_id, bucket } => {
                if !platform_owned(app, tenant_id, bucket, Op::StorageClass)? {
                    return Ok(());
                }
                lake_platform::set_storage_class(app, bucket, key, class)
                    .map_err(|e| platform_error(Op::StorageClass, bucket, e))
            }
            Destination::External(_) | Destination::Azure(_) => Ok(()),
        }
    }
}

/// Whether `tenant_id` owns `bucket` (`false`: nobody does yet); another owner is a refusal.
fn platform_owned(app: &App, tenant_id: &str, bucket: &str, op: Op) -> Result<bool, DestinationError> {
    match app.store.with(|c| lake_owner::owner(c, bucket)).map_err(internal)? {
        Some(t) if t == tenant_id => Ok(true),
        Some(_) => Err(platform_error(
            op,
            bucket,
            LakeError::OwnedByOther { bucket: bucket.into() },
        )),
        None => Ok(false),
    }
}

/// A data-lake error as a destination error: what S3 would have answered the writer becomes a
/// refusal (with the S3 code), the mock's own failures are internal.
fn platform_error(op: Op, bucket: &str, e: LakeError) -> DestinationError {
    match e {
        LakeError::OwnedByOther { .. } => refused(
            op,
            "AccessDenied",
            &format!("bucket '{bucket}' belongs to another account"),
        ),
        LakeError::Reserved(_) => refused(op, "AccessDenied", &format!("bucket name '{bucket}' is reserved")),
        LakeError::InvalidBucketName(_, why) => refused(op, "InvalidBucketName", &format!("bucket '{bucket}': {why}")),
        LakeError::NoSuchBucket(_) => refused(op, "NoSuchBucket", &format!("bucket '{bucket}'")),
        LakeError::InvalidKey(key, why) => refused(
            op,
            "InvalidArgument",
            &format!("key '{key}' in bucket '{bucket}': {why}"),
        ),
        LakeError::KeyConflict(why) => refused(op, "KeyConflict", &format!("bucket '{bucket}': {why}")),
        e @ (LakeError::Store(_) | LakeError::Io(_)) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::app::Urls;
    use crate::auth::tenants::{self, NewTenant};
    use crate::clock::ClockSpec;
    use crate::store::Store;

    fn app(dir: &std::path::Path) -> App {
        let store = Store::open(dir).unwrap();
        let urls = Urls {
            api: "http://127.0.0.1:1".into(),
            s3: "http://127.0.0.1:2".into(),
        };
        App::open(
            store,
            42,
            "frozen:2026-01-05T10:00:00Z".parse::<ClockSpec>().unwrap(),
            urls,
            None,
        )
        .unwrap()
    }

    fn tenant(app: &App, name: &str) -> String {
        let new = NewTenant {
            name: name.into(),
            scopes: vec![],
            faster_sea: false,
            kms_key_id: None,
        };
        app.store
            .tx(|c| tenants::create(c, 42, app.now(), &new))
            .unwrap()
            .tenant_id
    }

    fn platform(tenant_id: &str, bucket: &str) -> Destination {
        Destination::Platform {
            tenant_id: tenant_id.into(),
            bucket: bucket.into(),
        }
    }

    #[test]
    fn platform_put_creates_the_bucket_and_lists_on_the_mock_clock() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let t = tenant(&app, "acme");
        let d = platform(&t, "acme-lake");
        assert!(!d.exists(&app, "exports/cdr/part-00000.parquet").unwrap());
        assert!(d.list(&app, "exports/").unwrap().is_empty());

        d.put(
            &app,
            "exports/cdr/part-00000.parquet",
            b"PAR1",
            "application/vnd.apache.parquet",
        )
        .unwrap();
        d.put(&app, "exports/cdr/_manifest-job-1.json", b"{}", "application/json")
            .unwrap();
        d.put(&app, "other/x.csv", b"a\r\n", "text/csv").unwrap();
        assert!(d.exists(&app, "exports/cdr/part-00000.parquet").unwrap());
        assert!(!d.exists(&app, "exports/cdr/part-00001.parquet").unwrap());

        let listed = d.list(&app, "exports/c").unwrap();
        let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["exports/cdr/_manifest-job-1.json", "exports/cdr/part-00000.parquet"]
        );
        assert!(listed.iter().all(|(_, t)| *t == app.now()));
        let bytes = std::fs::read(app.store.s3_root().join("acme-lake/exports/cdr/part-00000.parquet")).unwrap();
        assert_eq!(bytes, b"PAR1");
        assert_eq!(
            d.uri("exports/cdr/part-00000.parquet"),
            "s3://acme-lake/exports/cdr/part-00000.parquet"
        );

        d.set_storage_class(&app, "exports/cdr/part-00000.parquet", "GLACIER_IR")
            .unwrap();
        d.delete(&app, "exports/cdr/part-00000.parquet").unwrap();
        d.delete(&app, "exports/cdr/part-00000.parquet").unwrap();
        assert!(!d.exists(&app, "exports/cdr/part-00000.parquet").unwrap());
    }

    #[test]
    fn d8_platform_bucket_of_another_tenant_refuses_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let owner = tenant(&app, "owner");
        let other = tenant(&app, "other");
        platform(&owner, "shared-name")
            .put(&app, "a/part-00000.csv", b"x", "text/csv")
            .unwrap();

        let d = platform(&other, "shared-name");
        let err = d.put(&app, "a/part-00001.csv", b"y", "text/csv").unwrap_err();
        let DestinationError::Refused { message } = &err else {
            panic!("{err:?}")
        };
        assert!(message.contains("AccessDenied"), "{message}");
        assert!(message.contains("'shared-name'"), "{message}");
        assert!(message.starts_with("destination refused the write"), "{message}");
        // Nothing of the other tenant's bucket is visible or changeable either.
        assert!(matches!(
            d.exists(&app, "a/part-00000.csv"),
            Err(DestinationError::Refused { .. })
        ));
        assert!(matches!(d.list(&app, ""), Err(DestinationError::Refused { .. })));
        assert!(matches!(
            d.delete(&app, "a/part-00000.csv"),
            Err(DestinationError::Refused { .. })
        ));
        assert!(!app.store.s3_root().join("shared-name/a/part-00001.csv").exists());
        assert!(app.store.s3_root().join("shared-name/a/part-00000.csv").exists());
    }

    #[test]
    fn d8_platform_invalid_or_reserved_bucket_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let t = tenant(&app, "acme");
        let err = platform(&t, "Bad_Name").put(&app, "k", b"x", "text/csv").unwrap_err();
        assert!(
            matches!(&err, DestinationError::Refused { message } if message.contains("InvalidBucketName")),
            "{err:?}"
        );
        let sea = crate::storage::daily_cap::SEA_BUCKET;
        let err = platform(&t, sea).put(&app, "k", b"x", "text/csv").unwrap_err();
        assert!(
            matches!(&err, DestinationError::Refused { message } if message.contains("AccessDenied")),
            "{err:?}"
        );
    }

    #[test]
    fn d8_external_unreachable_endpoint_is_refused_at_once() {
        // A port nothing listens on: the connection is refused, no retry, well under a second.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = Destination::External(External {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "lake".into(),
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("secret".into()),
            region: None,
        });
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let started = std::time::Instant::now();
        let err = d
            .put(&app, "x/part-00000.parquet", b"PAR1", "application/vnd.apache.parquet")
            .unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let DestinationError::Refused { message } = &err else {
            panic!("{err:?}")
        };
        assert!(message.starts_with("destination refused the write: "), "{message}");
        assert!(message.contains("bucket 'lake'"), "{message}");
        assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
        assert!(message.contains("Connect"), "{message}");
        // External storage classes belong to the bucket's own lifecycle: nothing to do.
        assert!(d.set_storage_class(&app, "x/part-00000.parquet", "GLACIER_IR").is_ok());
    }
}
