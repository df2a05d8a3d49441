//! Where a download's files go (CONTRACT §4, D8).
//!
//! - [`Destination::Platform`]: a bucket on the mock's own S3 endpoint, created on demand for the
//!   tenant and written with the platform's authority (no data-lake credential involved). Bucket
//!   names are global: a bucket another tenant owns refuses the write (D8).
//! - [`Destination::External`]: any S3-compatible store (AWS S3, MinIO, moto, ...) reached with
//!   the `object_store` crate, path-style, SigV4 with the configured key pair.
//!
//! D8: "the platform does not maintain a staging buffer. If the destination rejects the write
//! operation, the export job fails permanently". So nothing here retries: the external client
//! has retries off and short timeouts, and every refusal — an S3 error answer, a connection that
//! cannot be made, a timeout — comes back at once as [`DestinationError::Refused`] whose message
//! names the S3 error code and the bucket; it becomes the job's `error_details`.
//!
//! Every method is synchronous: exports run on blocking threads inside engine tasks. Call them
//! from a blocking context (a `spawn_blocking` thread, a plain thread, a sync test), not from an
//! async task — External calls block the calling thread until the request is done.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::TryStreamExt as _;
use object_store::aws::AmazonS3Builder;
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ClientOptions, ObjectStore, ObjectStoreExt as _, PutOptions, PutPayload,
    RetryConfig,
};

use crate::app::App;
use crate::sea::lake_owner::{self, LakeError};
use crate::sea::lake_platform;
use crate::store::time::Instant;

/// Region used when an external destination names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long an external destination may take to accept a TCP (and TLS) connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one request to an external destination may take, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

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
}

/// An S3-compatible endpoint outside the mock (`destination.endpoint` in a download).
#[derive(Clone, PartialEq, Eq)]
pub struct External {
    /// Base URL, e.g. `http://127.0.0.1:5000` or `https://s3.eu-west-1.amazonaws.com`;
    /// `http://` is allowed (local stores).
    pub endpoint: String,
    /// Bucket name; it must already exist (the platform never creates external buckets).
    pub bucket: String,
    /// Access key id; `None` (with no secret) sends unsigned requests.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Signing region; [`DEFAULT_REGION`] when `None`.
    pub region: Option<String>,
}

impl std::fmt::Debug for External {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("External")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("region", &self.region)
            .finish()
    }
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
enum Op {
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

fn refused(op: Op, code: &str, detail: &str) -> DestinationError {
    DestinationError::Refused {
        message: format!("destination refused {}: {code} ({detail})", op.noun()),
    }
}

fn internal(e: impl std::fmt::Display) -> DestinationError {
    DestinationError::Internal { message: e.to_string() }
}

impl Destination {
    /// The bucket written to.
    pub fn bucket(&self) -> &str {
        match self {
            Destination::Platform { bucket, .. } => bucket,
            Destination::External(e) => &e.bucket,
        }
    }

    /// `s3://bucket/key`, as jobs list their files.
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket())
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
            Destination::External(ext) => ext.put(key, bytes, content_type),
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
            Destination::External(ext) => ext.exists(key),
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
            Destination::External(ext) => ext.list(prefix),
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
            Destination::External(ext) => ext.delete(key),
        }
    }

    /// Sets the storage class S3 reports for `key` (D9: `GLACIER_IR` once cold, `STANDARD`).
    /// External: a no-op — on a real store the bucket's own lifecycle rules move objects to
    /// colder classes, the platform does not.
    pub fn set_storage_class(&self, app: &App, key: &str, class: &str) -> Result<(), DestinationError> {
        match self {
            Destination::Platform { tenant_id, bucket } => {
                if !platform_owned(app, tenant_id, bucket, Op::StorageClass)? {
                    return Ok(());
                }
                lake_platform::set_storage_class(app, bucket, key, class)
                    .map_err(|e| platform_error(Op::StorageClass, bucket, e))
            }
            Destination::External(_) => Ok(()),
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

// ---- External -------------------------------------------------------------------------------

/// The runtime every external request runs on. One dedicated runtime, rather than whichever one
/// the caller happens to be inside: cached clients stay valid when a caller's runtime (e.g. a
/// test's) is dropped, and a caller with no runtime at all (a plain thread) works the same.
fn runtime() -> Result<&'static tokio::runtime::Runtime, DestinationError> {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RT.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("destination-io")
        .enable_all()
        .build()
        .map_err(internal)?;
    Ok(RT.get_or_init(|| rt))
}

/// Runs `fut` on the destination runtime and blocks the calling thread until it is done.
fn block_on<T: Send + 'static>(
    fut: impl Future<Output = Result<T, DestinationError>> + Send + 'static,
) -> Result<T, DestinationError> {
    let task = runtime()?.spawn(fut);
    futures::executor::block_on(task).map_err(internal)?
}

/// Cache key of a built client: everything that goes into it.
type StoreKey = (String, String, Option<String>, Option<String>, Option<String>);

impl External {
    fn key(&self) -> StoreKey {
        (
            self.endpoint.clone(),
            self.bucket.clone(),
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            self.region.clone(),
        )
    }

    /// The client for this destination, built once per distinct configuration.
    fn store(&self) -> Result<Arc<dyn ObjectStore>, DestinationError> {
        static CACHE: OnceLock<Mutex<HashMap<StoreKey, Arc<dyn ObjectStore>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Mutex::default);
        let key = self.key();
        if let Some(s) = cache.lock().map_err(internal)?.get(&key) {
            return Ok(s.clone());
        }
        let store = self.build()?;
        let mut map = cache.lock().map_err(internal)?;
        if map.len() >= 64 {
            // Reconfigured destinations leave old entries behind; a rebuild is cheap.
            map.clear();
        }
        map.insert(key, store.clone());
        Ok(store)
    }

    fn build(&self) -> Result<Arc<dyn ObjectStore>, DestinationError> {
        let http = self.endpoint.starts_with("http://");
        let options = ClientOptions::new()
            .with_allow_http(http)
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            // No pooled connections: with retries off, a keep-alive connection the server has
            // just closed would fail a write that a fresh connection makes.
            .with_pool_max_idle_per_host(0);
        let retry = RetryConfig {
            max_retries: 0,
            retry_timeout: REQUEST_TIMEOUT,
            ..RetryConfig::default()
        };
        let mut b = AmazonS3Builder::new()
            .with_endpoint(self.endpoint.trim_end_matches('/'))
            .with_bucket_name(&self.bucket)
            .with_region(self.region.as_deref().unwrap_or(DEFAULT_REGION))
            .with_virtual_hosted_style_request(false)
            .with_client_options(options)
            .with_retry(retry);
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
            }
            // Without keys, unsigned requests (never the instance-metadata credential chain).
            _ => b = b.with_skip_signature(true),
        }
        match b.build() {
            Ok(s) => Ok(Arc::new(s)),
            Err(e) => Err(refused(
                Op::Write,
                "InvalidConfiguration",
                &format!("{} : {e}", self.detail()),
            )),
        }
    }

    /// `bucket 'x' at http://...`, the tail of every refusal.
    fn detail(&self) -> String {
        format!("bucket '{}' at {}", self.bucket, self.endpoint)
    }

    fn path(key: &str) -> Result<Path, DestinationError> {
        Path::parse(key).map_err(|e| internal(format!("object key {key:?}: {e}")))
    }

    fn error(&self, op: Op, e: &object_store::Error) -> DestinationError {
        refused(op, &s3_code(e), &self.detail())
    }

    fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), DestinationError> {
        let store = self.store()?;
        let path = Self::path(key)?;
        let payload = PutPayload::from(bytes.to_vec());
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, AttributeValue::from(content_type.to_string()));
        let opts = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        let this = self.clone();
        block_on(async move {
            store
                .put_opts(&path, payload, opts)
                .await
                .map(|_| ())
                .map_err(|e| this.error(Op::Write, &e))
        })
    }

    fn exists(&self, key: &str) -> Result<bool, DestinationError> {
        let store = self.store()?;
        let path = Self::path(key)?;
        let this = self.clone();
        block_on(async move {
            let refusal = match store.head(&path).await {
                Ok(_) => return Ok(true),
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(e) => e,
            };
            // A HEAD answer has no body, so no S3 error code: a 403 could be AccessDenied,
            // SignatureDoesNotMatch or InvalidAccessKeyId. One GET of the same key says which.
            match store.get(&path).await {
                Ok(_) => Ok(true),
                Err(e) if xml_code_in(&e).is_some() => Err(this.error(Op::Check, &e)),
                Err(_) => Err(this.error(Op::Check, &refusal)),
            }
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, Instant)>, DestinationError> {
        let store = self.store()?;
        // object_store lists whole path segments; list the prefix's folder and filter by the
        // full string prefix, so `a/b` finds `a/bc` as S3's `prefix` does.
        let folder = match prefix.rfind('/') {
            Some(i) => Some(Self::path(&prefix[..i])?),
            None => None,
        };
        let prefix = prefix.to_string();
        let this = self.clone();
        block_on(async move {
            let metas: Vec<object_store::ObjectMeta> = store
                .list(folder.as_ref())
                .try_collect()
                .await
                .map_err(|e| this.error(Op::List, &e))?;
            let mut out: Vec<(String, Instant)> = metas
                .into_iter()
                .map(|m| (String::from(m.location), m.last_modified))
                .filter(|(k, _)| k.starts_with(&prefix))
                .collect();
            out.sort();
            Ok(out)
        })
    }

    fn delete(&self, key: &str) -> Result<(), DestinationError> {
        let store = self.store()?;
        let path = Self::path(key)?;
        let this = self.clone();
        block_on(async move {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(this.error(Op::Delete, &e)),
            }
        })
    }
}

/// The S3 error code of a failed request: the `<Code>` of the error body when there is one,
/// else what the transport failure or the status says.
fn s3_code(e: &object_store::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut http_kind = None;
    if let Some(code) = xml_code_in(e) {
        return code;
    }
    while let Some(err) = source {
        if let Some(h) = err.downcast_ref::<HttpError>() {
            http_kind = Some(h.kind());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return "ConnectionRefused".into();
            }
        }
        source = err.source();
    }
    let text = error_chain(e);
    match http_kind {
        Some(HttpErrorKind::Connect) if text.contains("refused") => "ConnectionRefused".into(),
        Some(HttpErrorKind::Connect) => format!("ConnectFailed: {text}"),
        Some(HttpErrorKind::Timeout) => "RequestTimeout".into(),
        Some(_) => format!("RequestFailed: {text}"),
        None => match e {
            object_store::Error::NotFound { .. } => "NoSuchBucket".into(),
            object_store::Error::PermissionDenied { .. } => "AccessDenied".into(),
            object_store::Error::Unauthenticated { .. } => "InvalidAccessKeyId".into(),
            _ => format!("RequestFailed: {text}"),
        },
    }
}

/// The S3 error code in the error body `e` carries, if any.
fn xml_code_in(e: &object_store::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(code) = xml_code(&err.to_string()) {
            return Some(code);
        }
        source = err.source();
    }
    None
}

/// `e` and its sources, joined (for the rare failure without an S3 code).
fn error_chain(e: &object_store::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        let s = err.to_string();
        if !parts.iter().any(|p: &String| p.contains(&s)) {
            parts.push(s);
        }
        source = err.source();
    }
    parts.join(": ")
}

/// The text between `<Code>` and `</Code>` in an S3 error body.
fn xml_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    let code = text[start..start + len].trim();
    (!code.is_empty()).then(|| code.to_string())
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
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
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

    #[test]
    fn external_debug_redacts_the_secret() {
        let e = External {
            endpoint: "http://s3.local".into(),
            bucket: "b".into(),
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("very-secret".into()),
            region: None,
        };
        let s = format!("{e:?}");
        assert!(!s.contains("very-secret") && s.contains("AKID"), "{s}");
    }

    #[test]
    fn s3_error_codes_come_from_the_body() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>";
        assert_eq!(xml_code(body).as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml_code("no code"), None);
    }
}
