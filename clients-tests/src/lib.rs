//! Shared helpers for the end-to-end tests: start a mock on port 0, get tokens, make real
//! clients (reqwest for REST, `aws-sdk-s3` for S3) pointed at it.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use mock_cxone::{ClockSpec, Handle, MockCxone};
use serde_json::{json, Value};

/// The instant tests freeze the clock at unless they say otherwise.
pub const T0: &str = "2026-01-01T00:00:00Z";

/// A running mock plus a REST client.
pub struct Mock {
    /// The in-process server (stops on drop).
    pub handle: Handle,
    /// REST client.
    pub http: reqwest::Client,
}

/// Starts a mock with a frozen clock at [`T0`] in a temp data dir.
pub async fn start() -> Mock {
    start_with(MockCxone::builder().clock(frozen(T0))).await
}

/// `frozen:<t>` as a clock spec.
pub fn frozen(t: &str) -> ClockSpec {
    format!("frozen:{t}").parse().expect("valid clock spec")
}

/// Starts a mock from a builder.
pub async fn start_with(builder: mock_cxone::Builder) -> Mock {
    let handle = builder.start().await.expect("mock starts");
    Mock {
        handle,
        http: reqwest::Client::new(),
    }
}

/// A tenant's API credentials, as `POST /_mock/tenants` returns them.
#[derive(Debug, Clone)]
pub struct TenantCreds {
    /// Tenant id.
    pub tenant_id: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// API access key id.
    pub access_key_id: String,
    /// API access key secret.
    pub access_key_secret: String,
}

impl Mock {
    /// `GET`/`POST`... URL on the REST listener.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.api_url())
    }

    /// POST JSON to the control API, expecting success; returns the body.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path} -> {status}: {v}");
        v
    }

    /// Creates a tenant with `body` (e.g. `{"name":"acme"}`).
    pub async fn tenant(&self, body: Value) -> TenantCreds {
        let v = self.control("/_mock/tenants", body).await;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        TenantCreds {
            tenant_id: s("tenant_id"),
            client_id: s("client_id"),
            client_secret: s("client_secret"),
            access_key_id: s("access_key_id"),
            access_key_secret: s("access_key_secret"),
        }
    }

    /// The demo tenant's credentials.
    pub fn demo(&self) -> TenantCreds {
        let d = self.handle.demo_tenant().expect("demo tenant");
        TenantCreds {
            tenant_id: d.tenant_id.clone(),
            client_id: d.client_id.clone(),
            client_secret: d.client_secret.clone(),
            access_key_id: d.access_key_id.clone(),
            access_key_secret: d.access_key_secret.clone(),
        }
    }

    /// A bearer token for `t` by the password grant.
    pub async fn token(&self, t: &TenantCreds) -> String {
        let r = self
            .http
            .post(self.url("/auth/token"))
            .basic_auth(&t.client_id, Some(&t.client_secret))
            .form(&[
                ("grant_type", "password"),
                ("username", &t.access_key_id),
                ("password", &t.access_key_secret),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("token json");
        v["access_token"].as_str().expect("access_token").to_string()
    }

    /// An authenticated request builder.
    pub fn api(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    /// Generates SEA credentials; returns the JSON body.
    pub async fn sea_credentials(&self, token: &str) -> Value {
        let r = self
            .api(reqwest::Method::POST, "/api/v2/sea/credentials", token)
            .send()
            .await
            .expect("sea creds");
        assert_eq!(r.status(), 201);
        r.json().await.expect("json")
    }

    /// Seeds `count` active recordings for the tenant over the 7 days before now.
    pub async fn recordings(&self, tenant_id: &str, body: Value) -> u64 {
        let v = self
            .control(&format!("/_mock/tenants/{tenant_id}/recordings"), body)
            .await;
        v["created"].as_u64().unwrap_or_default()
    }

    /// Creates a lifecycle rule; returns its id.
    pub async fn rule(&self, token: &str, body: Value) -> String {
        let r = self
            .api(reqwest::Method::POST, "/api/v2/storage/lifecycle-rules", token)
            .json(&body)
            .send()
            .await
            .expect("rule");
        let status = r.status();
        let v: Value = r.json().await.expect("json");
        assert_eq!(status, 201, "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    /// Advances the mock clock, e.g. `"1d"`.
    pub async fn advance(&self, by: &str) -> Value {
        self.control("/_mock/clock/advance", json!({ "by": by })).await
    }

    /// Advances the mock clock to an instant.
    pub async fn advance_to(&self, to: &str) -> Value {
        self.control("/_mock/clock/advance", json!({ "to": to })).await
    }

    /// An `aws-sdk-s3` client with the given key pair, path-style, us-east-1.
    pub fn s3(&self, access_key_id: &str, secret: &str) -> aws_sdk_s3::Client {
        s3_client(self.handle.s3_url(), access_key_id, secret)
    }

    /// An S3 client for the SEA credentials in a `POST /api/v2/sea/credentials` body.
    pub fn sea_client(&self, creds: &Value) -> aws_sdk_s3::Client {
        self.s3(
            creds["access_key_id"].as_str().unwrap_or_default(),
            creds["secret_access_key"].as_str().unwrap_or_default(),
        )
    }
}

impl Mock {
    /// Issues data-lake credentials for the token's tenant and returns an S3 client on them.
    pub async fn lake_client(&self, token: &str) -> aws_sdk_s3::Client {
        let r = self
            .api(reqwest::Method::POST, "/api/v2/data-lake/credentials", token)
            .send()
            .await
            .expect("data-lake credentials");
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.expect("json");
        self.s3(
            v["access_key_id"].as_str().expect("access_key_id"),
            v["secret_access_key"].as_str().expect("secret_access_key"),
        )
    }

    /// `POST /api/v2/data-downloads`, expecting 201; returns the download.
    pub async fn create_download(&self, token: &str, body: Value) -> Value {
        let r = self
            .api(reqwest::Method::POST, "/api/v2/data-downloads", token)
            .json(&body)
            .send()
            .await
            .expect("create download");
        let status = r.status();
        let v: Value = r.json().await.expect("json");
        assert_eq!(status, 201, "{v}");
        v
    }

    /// Every job of a download (following `next_page_token`), with extra query `query`.
    pub async fn jobs(&self, token: &str, download_id: &str, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let path =
                format!("/api/v2/data-downloads/{download_id}/jobs?page_size=1000&page_token={page_token}&{query}");
            let r = self.api(reqwest::Method::GET, &path, token).send().await.expect("jobs");
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.expect("json");
            out.extend(v["jobs"].as_array().cloned().unwrap_or_default());
            match v["next_page_token"].as_str() {
                Some(t) => page_token = t.to_string(),
                None => return out,
            }
        }
    }
}

/// Splits `s3://bucket/key`.
pub fn split_uri(uri: &str) -> (String, String) {
    let rest = uri.strip_prefix("s3://").expect("s3:// uri");
    let (b, k) = rest.split_once('/').expect("bucket/key");
    (b.to_string(), k.to_string())
}

/// GETs an `s3://` object's bytes.
pub async fn get_object(s3: &aws_sdk_s3::Client, uri: &str) -> Vec<u8> {
    let (bucket, key) = split_uri(uri);
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .expect("get object");
    o.body.collect().await.expect("body").into_bytes().to_vec()
}

/// An `aws-sdk-s3` client for `endpoint`, path-style, region us-east-1, static credentials.
pub fn s3_client(endpoint: &str, access_key_id: &str, secret: &str) -> aws_sdk_s3::Client {
    let creds = Credentials::new(access_key_id, secret, None, None, "mock-cxone-tests");
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The S3 error code of an SDK error (e.g. `AccessDenied`), or the HTTP status for HEAD.
pub fn s3_code<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match err {
        SdkError::ServiceError(se) => se
            .err()
            .code()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:?}", se.raw())),
        other => format!("{other:?}"),
    }
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
