//! Remote destinations (D8): an S3-compatible store ([`External`]) or an Azure Blob Storage
//! container ([`AzureBlob`]), both written with the `object_store` crate.
//!
//! Each is a [`Remote`]: how to build its client and how to name it in a refusal. The four
//! operations a download needs (put, exists, list, delete) are written once, over
//! `dyn ObjectStore`. D8 allows no retry, so clients have retries off and short timeouts, and
//! every failure is a [`DestinationError::Refused`] naming the store's own error code (`<Code>` of
//! the S3 or Azure error body) and the bucket or container.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::TryStreamExt as _;
use object_store::aws::AmazonS3Builder;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ClientOptions, ObjectStore, ObjectStoreExt as _, PutOptions, PutPayload,
    RetryConfig,
};

use super::destination::{internal, refused, DestinationError, Op};
use crate::store::time::Instant;

/// Region used when an external destination names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long a remote destination may take to accept a TCP (and TLS) connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one request to a remote destination may take, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A remote store a download writes to.
pub trait Remote: Clone + Send + Sync + 'static {
    /// Everything that goes into the client, secrets included (the client cache's key).
    fn cache_key(&self) -> Vec<Option<String>>;
    /// A client for it (no retries, short timeouts).
    fn build(&self) -> Result<Arc<dyn ObjectStore>, DestinationError>;
    /// `bucket 'x' at http://...`, the tail of every refusal.
    fn detail(&self) -> String;
    /// The store's error code for a failure whose answer carried none (a HEAD has no body).
    fn fallback_code(&self, e: &object_store::Error) -> Option<&'static str>;
}

// ---- S3 -----------------------------------------------------------------------------------------

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

impl Remote for External {
    fn cache_key(&self) -> Vec<Option<String>> {
        vec![
            Some("s3".into()),
            Some(self.endpoint.clone()),
            Some(self.bucket.clone()),
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            self.region.clone(),
        ]
    }

    fn build(&self) -> Result<Arc<dyn ObjectStore>, DestinationError> {
        let mut b = AmazonS3Builder::new()
            .with_endpoint(self.endpoint.trim_end_matches('/'))
            .with_bucket_name(&self.bucket)
            .with_region(self.region.as_deref().unwrap_or(DEFAULT_REGION))
            .with_virtual_hosted_style_request(false)
            .with_client_options(client_options(&self.endpoint))
            .with_retry(no_retries());
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
            }
            // Without keys, unsigned requests (never the instance-metadata credential chain).
            _ => b = b.with_skip_signature(true),
        }
        b.build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            .map_err(|e| invalid_configuration(self, &e))
    }

    fn detail(&self) -> String {
        format!("bucket '{}' at {}", self.bucket, self.endpoint)
    }

    fn fallback_code(&self, e: &object_store::Error) -> Option<&'static str> {
        match e {
            object_store::Error::NotFound { .. } => Some("NoSuchBucket"),
            object_store::Error::PermissionDenied { .. } => Some("AccessDenied"),
            object_store::Error::Unauthenticated { .. } => Some("InvalidAccessKeyId"),
            _ => None,
        }
    }
}

// ---- Azure Blob Storage -------------------------------------------------------------------------

/// How an Azure destination signs its requests.
#[derive(Clone, PartialEq, Eq)]
pub enum AzureCredential {
    /// The account's shared key (base64): SharedKey signatures.
    AccessKey(String),
    /// A SAS token (the query string of a SAS URL).
    SasToken(String),
}

/// A container in an Azure storage account (`"type": "azure_blob"` in a download).
#[derive(Clone, PartialEq, Eq)]
pub struct AzureBlob {
    /// The account's blob endpoint without a trailing `/`: `https://<account>.blob.core.windows.net`,
    /// or for Azurite `http://127.0.0.1:10000/devstoreaccount1` (the account in the path).
    pub account_url: String,
    /// Storage account name.
    pub account: String,
    /// Container name; it must already exist (the platform never creates it).
    pub container: String,
    /// How requests are signed.
    pub credential: AzureCredential,
}

impl std::fmt::Debug for AzureBlob {
    /// Never prints the key or the SAS token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let credential = match self.credential {
            AzureCredential::AccessKey(_) => "access_key <redacted>",
            AzureCredential::SasToken(_) => "sas_token <redacted>",
        };
        f.debug_struct("AzureBlob")
            .field("account_url", &self.account_url)
            .field("account", &self.account)
            .field("container", &self.container)
            .field("credential", &credential)
            .finish()
    }
}

impl AzureBlob {
    /// The blob's URL, as jobs and manifests list it.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{}/{key}", self.account_url, self.container)
    }
}

impl Remote for AzureBlob {
    fn cache_key(&self) -> Vec<Option<String>> {
        let (kind, secret) = match &self.credential {
            AzureCredential::AccessKey(k) => ("key", k),
            AzureCredential::SasToken(t) => ("sas", t),
        };
        vec![
            Some("azure".into()),
            Some(self.account_url.clone()),
            Some(self.account.clone()),
            Some(self.container.clone()),
            Some(kind.into()),
            Some(secret.clone()),
        ]
    }

    fn build(&self) -> Result<Arc<dyn ObjectStore>, DestinationError> {
        // An explicit endpoint rather than object_store's emulator mode, which reads its URL from
        // the environment: the same code path serves Azure and Azurite.
        let b = MicrosoftAzureBuilder::new()
            .with_account(&self.account)
            .with_container_name(&self.container)
            .with_endpoint(self.account_url.clone())
            .with_client_options(client_options(&self.account_url))
            .with_retry(no_retries());
        let b = match &self.credential {
            AzureCredential::AccessKey(k) => b.with_access_key(k),
            AzureCredential::SasToken(t) => b.with_config(AzureConfigKey::SasKey, t.trim_start_matches('?')),
        };
        b.build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            .map_err(|e| invalid_configuration(self, &e))
    }

    fn detail(&self) -> String {
        format!(
            "container '{}' of account '{}' at {}",
            self.container, self.account, self.account_url
        )
    }

    fn fallback_code(&self, e: &object_store::Error) -> Option<&'static str> {
        match e {
            object_store::Error::NotFound { .. } => Some("ContainerNotFound"),
            object_store::Error::PermissionDenied { .. } => Some("AuthorizationFailure"),
            object_store::Error::Unauthenticated { .. } => Some("AuthenticationFailed"),
            _ => None,
        }
    }
}

// ---- Clients ------------------------------------------------------------------------------------

fn client_options(endpoint: &str) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(endpoint.starts_with("http://"))
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT)
        // No pooled connections: with retries off, a keep-alive connection the server has
        // just closed would fail a write that a fresh connection makes.
        .with_pool_max_idle_per_host(0)
}

fn no_retries() -> RetryConfig {
    RetryConfig {
        max_retries: 0,
        retry_timeout: REQUEST_TIMEOUT,
        ..RetryConfig::default()
    }
}

fn invalid_configuration(r: &impl Remote, e: &object_store::Error) -> DestinationError {
    let why = without_queries(&e.to_string());
    refused(Op::Write, "InvalidConfiguration", &format!("{} : {why}", r.detail()))
}

/// `text` without object_store's timings (`Error performing HEAD ... in 801.7µs`): a job's
/// `error_details` is part of what the seed and the clock steps decide, the wall clock is not.
fn without_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" in ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " in ".len()..];
        let digits = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(after.len());
        let unit = ["ns", "µs", "ms", "s"]
            .into_iter()
            .find(|u| digits > 0 && after[digits..].starts_with(u));
        match unit {
            Some(u) => rest = &after[digits + u.len()..],
            None => {
                out.push_str(" in ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` with the query string of every URL in it removed. A SAS token travels in the query,
/// and the HTTP client's error texts name the request's URL: the job's `error_details`, which
/// any reader of the jobs API sees, must not carry it.
fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('?') {
        out.push_str(&rest[..i]);
        out.push_str("?<query removed>");
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\''))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The runtime every remote request runs on. One dedicated runtime, rather than whichever one
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

/// The client for `r`, built once per distinct configuration.
fn store(r: &impl Remote) -> Result<Arc<dyn ObjectStore>, DestinationError> {
    type Cache = Mutex<HashMap<Vec<Option<String>>, Arc<dyn ObjectStore>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let key = r.cache_key();
    if let Some(s) = cache.lock().map_err(internal)?.get(&key) {
        return Ok(s.clone());
    }
    let store = r.build()?;
    let mut map = cache.lock().map_err(internal)?;
    if map.len() >= 64 {
        // Reconfigured destinations leave old entries behind; a rebuild is cheap.
        map.clear();
    }
    map.insert(key, store.clone());
    Ok(store)
}

fn path(key: &str) -> Result<Path, DestinationError> {
    Path::parse(key).map_err(|e| internal(format!("object key {key:?}: {e}")))
}

fn error(r: &impl Remote, op: Op, e: &object_store::Error) -> DestinationError {
    refused(op, &error_code(r, e), &r.detail())
}

// ---- The four operations ----------------------------------------------------------------------

/// Writes (or replaces) `key`.
pub fn put(r: &impl Remote, key: &str, bytes: &[u8], content_type: &str) -> Result<(), DestinationError> {
    let store = store(r)?;
    let path = path(key)?;
    let payload = PutPayload::from(bytes.to_vec());
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, AttributeValue::from(content_type.to_string()));
    let opts = PutOptions {
        attributes,
        ..PutOptions::default()
    };
    let r = r.clone();
    block_on(async move {
        store
            .put_opts(&path, payload, opts)
            .await
            .map(|_| ())
            .map_err(|e| error(&r, Op::Write, &e))
    })
}

/// Whether `key` exists.
pub fn exists(r: &impl Remote, key: &str) -> Result<bool, DestinationError> {
    let store = store(r)?;
    let path = path(key)?;
    let r = r.clone();
    block_on(async move {
        let refusal = match store.head(&path).await {
            Ok(_) => return Ok(true),
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => e,
        };
        // A HEAD answer has no body, so no error code: an S3 403 could be AccessDenied,
        // SignatureDoesNotMatch or InvalidAccessKeyId. One GET of the same key says which.
        match store.get(&path).await {
            Ok(_) => Ok(true),
            Err(e) if xml_code_in(&e).is_some() => Err(error(&r, Op::Check, &e)),
            Err(_) => Err(error(&r, Op::Check, &refusal)),
        }
    })
}

/// Every object whose key starts with `prefix` (a plain string prefix, as S3's `prefix`), with
/// its last-modified instant, sorted by key.
pub fn list(r: &impl Remote, prefix: &str) -> Result<Vec<(String, Instant)>, DestinationError> {
    let store = store(r)?;
    // object_store lists whole path segments; list the prefix's folder and filter by the
    // full string prefix, so `a/b` finds `a/bc` as S3's `prefix` does.
    let folder = match prefix.rfind('/') {
        Some(i) => Some(path(&prefix[..i])?),
        None => None,
    };
    let prefix = prefix.to_string();
    let r = r.clone();
    block_on(async move {
        let metas: Vec<object_store::ObjectMeta> = store
            .list(folder.as_ref())
            .try_collect()
            .await
            .map_err(|e| error(&r, Op::List, &e))?;
        let mut out: Vec<(String, Instant)> = metas
            .into_iter()
            .map(|m| (String::from(m.location), m.last_modified))
            .filter(|(k, _)| k.starts_with(&prefix))
            .collect();
        out.sort();
        Ok(out)
    })
}

/// Deletes `key`; a missing key is fine.
pub fn delete(r: &impl Remote, key: &str) -> Result<(), DestinationError> {
    let store = store(r)?;
    let path = path(key)?;
    let r = r.clone();
    block_on(async move {
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(error(&r, Op::Delete, &e)),
        }
    })
}

// ---- Error codes --------------------------------------------------------------------------------

/// The store's error code of a failed request: the `<Code>` of the error body when there is
/// one, else what the transport failure or the status says.
fn error_code(r: &impl Remote, e: &object_store::Error) -> String {
    if let Some(code) = xml_code_in(e) {
        return code;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut http_kind = None;
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
    let text = without_durations(&without_queries(&error_chain(e)));
    match http_kind {
        Some(HttpErrorKind::Connect) if text.contains("refused") => "ConnectionRefused".into(),
        Some(HttpErrorKind::Connect) => format!("ConnectFailed: {text}"),
        Some(HttpErrorKind::Timeout) => "RequestTimeout".into(),
        Some(_) => format!("RequestFailed: {text}"),
        None => match r.fallback_code(e) {
            Some(code) => code.into(),
            None => format!("RequestFailed: {text}"),
        },
    }
}

/// The error code in the error body `e` carries, if any (S3 and Azure both answer
/// `<Error><Code>...</Code>...`).
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

/// `e` and its sources, joined (for the rare failure without an error code).
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

/// The text between `<Code>` and `</Code>` in an error body.
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
    fn azure_debug_redacts_the_key_and_the_sas() {
        for credential in [
            AzureCredential::AccessKey("c2VjcmV0LWtleQ==".into()),
            AzureCredential::SasToken("sv=2023-11-03&sig=very-secret".into()),
        ] {
            let a = AzureBlob {
                account_url: "http://127.0.0.1:10000/devstoreaccount1".into(),
                account: "devstoreaccount1".into(),
                container: "lake".into(),
                credential,
            };
            let s = format!("{a:?}");
            assert!(!s.contains("very-secret") && !s.contains("c2VjcmV0"), "{s}");
            assert!(s.contains("devstoreaccount1") && s.contains("lake"), "{s}");
        }
    }

    #[test]
    fn azure_urls_put_the_container_after_the_account_url() {
        let a = AzureBlob {
            account_url: "https://acme.blob.core.windows.net".into(),
            account: "acme".into(),
            container: "lake".into(),
            credential: AzureCredential::AccessKey("a2V5".into()),
        };
        assert_eq!(
            a.url("exports/cdr/part-00000.parquet"),
            "https://acme.blob.core.windows.net/lake/exports/cdr/part-00000.parquet"
        );
    }

    #[test]
    fn sas_tokens_never_reach_an_error_text() {
        let text = "error sending request for url (http://127.0.0.1:1/acct/c/k?sv=2023-11-03&sig=SECRET%3D): \
                    connection closed; retry of http://h/x?sig=SECRET2 failed";
        let clean = without_queries(text);
        assert!(!clean.contains("SECRET") && !clean.contains("sig="), "{clean}");
        assert!(
            clean.contains("http://127.0.0.1:1/acct/c/k?<query removed>): connection closed"),
            "{clean}"
        );
        assert_eq!(without_queries("no url here"), "no url here");
    }

    #[test]
    fn error_texts_carry_no_wall_clock_timings() {
        let text =
            "Error performing HEAD REDACTED in 801.777µs - HTTP error; put in 2.5s; sent in 12ms: done in bucket";
        assert_eq!(
            without_durations(text),
            "Error performing HEAD REDACTED - HTTP error; put; sent: done in bucket"
        );
    }

    #[test]
    fn error_codes_come_from_the_body() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>";
        assert_eq!(xml_code(body).as_deref(), Some("NoSuchBucket"));
        let azure = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ContainerNotFound</Code>\
                     <Message>The specified container does not exist.</Message></Error>";
        assert_eq!(xml_code(azure).as_deref(), Some("ContainerNotFound"));
        assert_eq!(xml_code("no code"), None);
    }
}
