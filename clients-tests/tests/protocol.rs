//! The protocol details real S3 clients put on the wire, each proved against mock-cxone's S3
//! endpoint with aws-sdk-s3 (default settings) or raw requests signed as clients sign them
//! (presigned by aws-sdk-s3, sent with reqwest or over a bare TCP socket): checksum headers of
//! every algorithm (CRC64NVME included), aws-chunked uploads with trailers over TLS,
//! `Expect: 100-continue`, percent-encoded keys and `encoding-type=url`, `x-id`, ranges,
//! HEAD on "directory" keys, `PUT /bucket/`, the CompleteMultipartUpload body, presigned URLs.
//! SEA (`cxone-sea`, S2) and the data lake (D-series) are both covered where both apply.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart, EncodingType,
};
use aws_sdk_s3::Client;
use base64::Engine as _;
use clients_tests::{s3_code, start, start_with, Mock, T0};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LAKE: &str = "demo-lake";
const SEA: &str = "cxone-sea";

// --- setup -----------------------------------------------------------------------------------------------

/// Data-lake credentials for the demo tenant: (access key id, secret).
async fn lake_keys(m: &Mock) -> (String, String) {
    let tok = m.token(&m.demo()).await;
    let r = m
        .api(Method::POST, "/api/v2/data-lake/credentials", &tok)
        .send()
        .await
        .expect("data-lake credentials");
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.expect("json");
    (
        v["access_key_id"].as_str().expect("key").to_string(),
        v["secret_access_key"].as_str().expect("secret").to_string(),
    )
}

/// A mock and a data-lake client with bucket [`LAKE`] created.
async fn lake() -> (Mock, Client) {
    let (m, s3, _) = lake_with_keys().await;
    (m, s3)
}

/// [`lake`] and the key pair.
async fn lake_with_keys() -> (Mock, Client, (String, String)) {
    let m = start().await;
    let (k, s) = lake_keys(&m).await;
    let s3 = m.s3(&k, &s);
    s3.create_bucket().bucket(LAKE).send().await.expect("create bucket");
    (m, s3, (k, s))
}

/// A raw request signed with SigV4 as S3 clients sign it (headers, `x-amz-content-sha256` of
/// the body, no path normalisation, keys encoded once).
fn signed(method: Method, url: &str, body: Vec<u8>, keys: &(String, String)) -> reqwest::RequestBuilder {
    let (headers, _) = sign_v4(&method, url, &[], Some(&body), SystemTime::now(), keys);
    let mut rb = reqwest::Client::new().request(method, url).body(body);
    for (n, v) in headers {
        rb = rb.header(n, v);
    }
    rb
}

/// SigV4 headers for a request with `extra` headers (signed too) and `body` (`None`: the
/// streaming `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` marker); returns the headers to add and the
/// signature (the seed of signed chunks).
fn sign_v4(
    method: &Method,
    url: &str,
    extra: &[(&str, &str)],
    body: Option<&[u8]>,
    at: SystemTime,
    keys: &(String, String),
) -> (Vec<(String, String)>, String) {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode,
    };
    let identity = Credentials::new(&keys.0, &keys.1, None, None, "tests").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(at)
        .settings(settings)
        .build()
        .expect("params")
        .into();
    let signable_body = match body {
        Some(b) => SignableBody::Bytes(b),
        None => SignableBody::Precomputed("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()),
    };
    let req = SignableRequest::new(method.as_str(), url, extra.iter().copied(), signable_body).expect("signable");
    let (instructions, signature) = sign(req, &params).expect("sign").into_parts();
    let mut headers: Vec<(String, String)> = extra.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    headers.extend(instructions.headers().map(|(n, v)| (n.to_string(), v.to_string())));
    (headers, signature)
}

/// A mock with `count` SEA files placed for the demo tenant: (mock, SEA client, its keys).
async fn sea(count: u64) -> (Mock, Client, Vec<String>) {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    let creds = m.sea_credentials(&tok).await;
    m.rule(&tok, json!({"name": "r", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    m.recordings(&t.tenant_id, json!({ "count": count })).await;
    m.advance("1d").await;
    let s3 = m.sea_client(&creds);
    let prefix = creds["prefix"].as_str().expect("prefix");
    let out = s3
        .list_objects_v2()
        .bucket(SEA)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    let keys = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    (m, s3, keys)
}

async fn put(s3: &Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

async fn get(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    o.body.collect().await.expect("body").into_bytes().to_vec()
}

/// HTTP status of a failed S3 call.
fn status<E: std::fmt::Debug>(err: &SdkError<E, HttpResponse>) -> u16 {
    match err {
        SdkError::ServiceError(se) => se.raw().status().as_u16(),
        other => panic!("not a service error: {other:?}"),
    }
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A presigned GET URL for `key` valid for 5 minutes.
async fn presigned_get(s3: &Client, bucket: &str, key: &str) -> String {
    let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).expect("config");
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .presigned(cfg)
        .await
        .expect("presign")
        .uri()
        .to_string()
}

// --- what the SDK sends ----------------------------------------------------------------------------------

/// One request as the SDK put it on the wire.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Records every request the SDK sends.
#[derive(Debug, Default, Clone)]
struct WireLog(Arc<Mutex<Vec<Seen>>>);

impl WireLog {
    fn last(&self) -> Seen {
        self.0.lock().expect("log").last().cloned().expect("a request")
    }
    fn all(&self) -> Vec<Seen> {
        self.0.lock().expect("log").clone()
    }
}

impl Intercept for WireLog {
    fn name(&self) -> &'static str {
        "WireLog"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let r = ctx.request();
        self.0.lock().expect("log").push(Seen {
            method: r.method().to_string(),
            uri: r.uri().to_string(),
            headers: r
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        });
        Ok(())
    }
}

/// A client like `base` whose requests are recorded in `log`.
fn logged(base: &Client, log: &WireLog) -> Client {
    let conf = base.config().to_builder().interceptor(log.clone()).build();
    Client::from_conf(conf)
}

// --- checksums -------------------------------------------------------------------------------------------

const ALGORITHMS: [ChecksumAlgorithm; 5] = [
    ChecksumAlgorithm::Crc32,
    ChecksumAlgorithm::Crc32C,
    ChecksumAlgorithm::Sha1,
    ChecksumAlgorithm::Sha256,
    ChecksumAlgorithm::Crc64Nvme,
];

fn header_of(alg: &ChecksumAlgorithm) -> String {
    format!("x-amz-checksum-{}", alg.as_str().to_ascii_lowercase())
}

/// The checksum of `alg` in a GetObject/HeadObject/PutObject-like output.
macro_rules! checksum_of {
    ($out:expr, $alg:expr) => {
        match $alg {
            ChecksumAlgorithm::Crc32 => $out.checksum_crc32(),
            ChecksumAlgorithm::Crc32C => $out.checksum_crc32_c(),
            ChecksumAlgorithm::Sha1 => $out.checksum_sha1(),
            ChecksumAlgorithm::Sha256 => $out.checksum_sha256(),
            ChecksumAlgorithm::Crc64Nvme => $out.checksum_crc64_nvme(),
            other => panic!("{other:?}"),
        }
        .map(str::to_string)
    };
}

#[tokio::test]
async fn checksum_headers_of_every_algorithm_on_put_object_are_stored_and_returned_by_checksum_mode() {
    let (_m, s3) = lake().await;
    let log = WireLog::default();
    let s3 = logged(&s3, &log);
    let body = bytes(10_000, 5);
    for alg in ALGORITHMS {
        let key = format!("sums/{}.bin", alg.as_str());
        let out = s3
            .put_object()
            .bucket(LAKE)
            .key(&key)
            .checksum_algorithm(alg.clone())
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
        let seen = log.last();
        let sent = seen
            .header(&header_of(&alg))
            .unwrap_or_else(|| panic!("{alg:?}: the SDK sends {}: {seen:?}", header_of(&alg)))
            .to_string();
        assert_eq!(
            seen.header("x-amz-sdk-checksum-algorithm"),
            Some(alg.as_str()),
            "{seen:?}"
        );
        assert_eq!(checksum_of!(out, &alg).as_deref(), Some(sent.as_str()), "{alg:?}");
        if alg == ChecksumAlgorithm::Sha256 {
            assert_eq!(sent, b64(&sha2::Sha256::digest(&body)));
        }
        let got = s3
            .get_object()
            .bucket(LAKE)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
        assert_eq!(log.last().header("x-amz-checksum-mode"), Some("ENABLED"));
        assert_eq!(checksum_of!(got, &alg).as_deref(), Some(sent.as_str()), "GET {alg:?}");
        // The SDK validates the body against it while reading.
        assert_eq!(got.body.collect().await.expect("validated").into_bytes().to_vec(), body);
        let head = s3
            .head_object()
            .bucket(LAKE)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("head");
        assert_eq!(checksum_of!(head, &alg).as_deref(), Some(sent.as_str()), "HEAD {alg:?}");
    }
}

#[tokio::test]
async fn checksum_headers_of_every_algorithm_on_multipart_parts_and_complete() {
    let (_m, s3) = lake().await;
    let parts = [bytes(5 << 20, 1), bytes(1000, 2)];
    for alg in ALGORITHMS {
        let key = format!("mpu/{}.bin", alg.as_str());
        let up = s3
            .create_multipart_upload()
            .bucket(LAKE)
            .key(&key)
            .checksum_algorithm(alg.clone())
            .send()
            .await
            .expect("create");
        let id = up.upload_id().expect("upload id");
        let mut done = Vec::new();
        for (i, body) in parts.iter().enumerate() {
            let n = i as i32 + 1;
            let out = s3
                .upload_part()
                .bucket(LAKE)
                .key(&key)
                .upload_id(id)
                .part_number(n)
                .checksum_algorithm(alg.clone())
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("part {n} {alg:?}: {e:?}"));
            let sum = checksum_of!(out, &alg).unwrap_or_else(|| panic!("UploadPart returns its {alg:?}"));
            let mut p = CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"));
            p = match alg {
                ChecksumAlgorithm::Crc32 => p.checksum_crc32(sum),
                ChecksumAlgorithm::Crc32C => p.checksum_crc32_c(sum),
                ChecksumAlgorithm::Sha1 => p.checksum_sha1(sum),
                ChecksumAlgorithm::Sha256 => p.checksum_sha256(sum),
                _ => p.checksum_crc64_nvme(sum),
            };
            done.push(p.build());
        }
        let out = s3
            .complete_multipart_upload()
            .bucket(LAKE)
            .key(&key)
            .upload_id(id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
            .send()
            .await
            .unwrap_or_else(|e| panic!("complete {alg:?}: {e:?}"));
        let completed = checksum_of!(out, &alg);
        let got = s3
            .get_object()
            .bucket(LAKE)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
        let completed = completed.unwrap_or_else(|| panic!("{alg:?}: CompleteMultipartUpload returns a checksum"));
        let (kind, want) = if alg == ChecksumAlgorithm::Crc64Nvme {
            // S3's default for CRC64NVME: the CRC of the whole object (the SDK validates it below).
            (ChecksumType::FullObject, None)
        } else {
            // The others: COMPOSITE, the checksum of the part checksums, `-<parts>`.
            (ChecksumType::Composite, Some("-2"))
        };
        assert_eq!(out.checksum_type(), Some(&kind), "{alg:?}");
        if let Some(suffix) = want {
            assert!(completed.ends_with(suffix), "{alg:?}: {completed}");
        }
        if alg == ChecksumAlgorithm::Sha256 {
            let mut cat = Vec::new();
            for p in &parts {
                cat.extend(sha2::Sha256::digest(p));
            }
            assert_eq!(completed, format!("{}-2", b64(&sha2::Sha256::digest(&cat))));
        }
        assert_eq!(
            checksum_of!(got, &alg).as_deref(),
            Some(completed.as_str()),
            "GET {alg:?}"
        );
        assert_eq!(got.checksum_type(), Some(&kind), "GET {alg:?}");
        assert_eq!(
            got.body.collect().await.expect("body").into_bytes().to_vec(),
            parts.concat(),
            "{alg:?}"
        );
    }
}

#[tokio::test]
async fn wrong_checksum_value_is_a_400_and_stores_nothing() {
    let (_m, s3) = lake().await;
    let body = b"the real body".to_vec();
    // Well-formed values of the right length for another body.
    let other = b"another body";
    let wrong: [(ChecksumAlgorithm, String); 5] = [
        (ChecksumAlgorithm::Crc32, b64(&[0, 0, 0, 1])),
        (ChecksumAlgorithm::Crc32C, b64(&[0, 0, 0, 1])),
        (ChecksumAlgorithm::Sha1, b64(&[7; 20])),
        (ChecksumAlgorithm::Sha256, b64(&sha2::Sha256::digest(other))),
        (ChecksumAlgorithm::Crc64Nvme, b64(&[0, 0, 0, 0, 0, 0, 0, 1])),
    ];
    for (alg, value) in wrong {
        let key = format!("bad/{}.bin", alg.as_str());
        let req = s3
            .put_object()
            .bucket(LAKE)
            .key(&key)
            .body(ByteStream::from(body.clone()));
        let req = match alg {
            ChecksumAlgorithm::Crc32 => req.checksum_crc32(value),
            ChecksumAlgorithm::Crc32C => req.checksum_crc32_c(value),
            ChecksumAlgorithm::Sha1 => req.checksum_sha1(value),
            ChecksumAlgorithm::Sha256 => req.checksum_sha256(value),
            _ => req.checksum_crc64_nvme(value),
        };
        let err = req.send().await.expect_err("a wrong checksum is refused");
        assert_eq!(status(&err), 400, "{alg:?}: {err:?}");
        let code = s3_code(&err);
        assert!(code == "BadDigest" || code == "InvalidRequest", "{alg:?}: {code}");
        let head = s3.head_object().bucket(LAKE).key(&key).send().await;
        assert_eq!(status(&head.expect_err("nothing stored")), 404, "{alg:?}");
    }
    // The same on an UploadPart: refused, and the upload has no such part.
    let up = s3
        .create_multipart_upload()
        .bucket(LAKE)
        .key("bad/mpu.bin")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id");
    let err = s3
        .upload_part()
        .bucket(LAKE)
        .key("bad/mpu.bin")
        .upload_id(id)
        .part_number(1)
        .checksum_crc64_nvme(b64(&[0, 0, 0, 0, 0, 0, 0, 1]))
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect_err("wrong part checksum");
    assert_eq!(status(&err), 400, "{err:?}");
    let parts = s3
        .list_parts()
        .bucket(LAKE)
        .key("bad/mpu.bin")
        .upload_id(id)
        .send()
        .await
        .expect("list parts");
    assert!(parts.parts().is_empty(), "{parts:?}");
    // A part checksum in CompleteMultipartUpload that does not match the stored part: InvalidPart.
    let out = s3
        .upload_part()
        .bucket(LAKE)
        .key("bad/mpu.bin")
        .upload_id(id)
        .part_number(1)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("part");
    let err = s3
        .complete_multipart_upload()
        .bucket(LAKE)
        .key("bad/mpu.bin")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(out.e_tag().expect("etag"))
                        .checksum_crc32(b64(&[0, 0, 0, 1]))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect_err("wrong part checksum at completion");
    assert_eq!(s3_code(&err), "InvalidPart");
    let head = s3.head_object().bucket(LAKE).key("bad/mpu.bin").send().await;
    assert_eq!(status(&head.expect_err("nothing stored")), 404);
}

// --- aws-chunked over TLS --------------------------------------------------------------------------------

/// A mock serving TLS with a self-signed certificate for `localhost`, and the certificate PEM.
async fn tls_mock() -> (Mock, String, tempfile::TempDir) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let pem = ck.cert.pem();
    std::fs::write(&cert, &pem).expect("cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("key");
    let m = start_with(
        mock_cxone::MockCxone::builder()
            .clock(clients_tests::frozen(T0))
            .tls(&cert, &key)
            .public_host("localhost"),
    )
    .await;
    (m, pem, dir)
}

/// aws-sdk-s3 with its default HTTPS client (rustls, aws-lc) trusting only `pem`.
fn tls_client(m: &Mock, pem: &str, key: &str, secret: &str) -> Client {
    use aws_smithy_http_client::tls;
    let trust = tls::TrustStore::empty().with_pem_certificate(pem.as_bytes().to_vec());
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .tls_context(tls::TlsContext::builder().with_trust_store(trust).build().expect("tls"))
        .build_https();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(m.handle.s3_url())
        .credentials_provider(Credentials::new(key, secret, None, None, "tests"))
        .force_path_style(true)
        .http_client(http)
        .build();
    Client::from_conf(conf)
}

#[tokio::test]
async fn aws_chunked_unsigned_payload_trailer_over_tls_put_and_multipart() {
    let (m, pem, _dir) = tls_mock().await;
    assert!(
        m.handle.s3_url().starts_with("https://localhost:"),
        "{}",
        m.handle.s3_url()
    );
    // The REST listener serves TLS too: a reqwest client trusting the certificate.
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem"))
        .build()
        .expect("client");
    let tok = token_over(&http, &m).await;
    let v: Value = http
        .post(m.url("/api/v2/data-lake/credentials"))
        .bearer_auth(tok)
        .send()
        .await
        .expect("credentials")
        .json()
        .await
        .expect("json");
    let log = WireLog::default();
    let s3 = logged(
        &tls_client(
            &m,
            &pem,
            v["access_key_id"].as_str().expect("key"),
            v["secret_access_key"].as_str().expect("secret"),
        ),
        &log,
    );
    s3.create_bucket().bucket(LAKE).send().await.expect("create bucket");
    // A streamed body (a file, as users upload): over HTTPS the SDK sends it aws-chunked with
    // the checksum in a trailer. (In-memory bodies go as one signed payload with a header.)
    let body = bytes(200_000, 8);
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &body).expect("write");
    for alg in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha256,
    ] {
        let key = format!("tls/{}.bin", alg.as_str());
        let out = s3
            .put_object()
            .bucket(LAKE)
            .key(&key)
            .checksum_algorithm(alg.clone())
            .body(ByteStream::from_path(file.path()).await.expect("stream"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
        let seen = log.last();
        assert_eq!(
            seen.header("x-amz-content-sha256"),
            Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            "{seen:?}"
        );
        assert_eq!(seen.header("content-encoding"), Some("aws-chunked"), "{seen:?}");
        assert_eq!(seen.header("x-amz-trailer"), Some(header_of(&alg).as_str()), "{seen:?}");
        assert_eq!(
            seen.header("x-amz-decoded-content-length"),
            Some(body.len().to_string().as_str())
        );
        let sum = checksum_of!(out, &alg).expect("checksum from the trailer");
        let got = s3
            .get_object()
            .bucket(LAKE)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
        assert_eq!(checksum_of!(got, &alg).as_deref(), Some(sum.as_str()));
        assert_eq!(got.body.collect().await.expect("body").into_bytes().to_vec(), body);
    }
    // Multipart parts stream the same way.
    let up = s3
        .create_multipart_upload()
        .bucket(LAKE)
        .key("tls/mpu.bin")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id");
    let parts = [bytes(5 << 20, 1), bytes(10, 2)];
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = s3
            .upload_part()
            .bucket(LAKE)
            .key("tls/mpu.bin")
            .upload_id(id)
            .part_number(n)
            .body({
                std::fs::write(file.path(), p).expect("write part");
                ByteStream::from_path(file.path()).await.expect("stream")
            })
            .send()
            .await
            .expect("part");
        assert_eq!(
            log.last().header("x-amz-content-sha256"),
            Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        );
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(LAKE)
        .key("tls/mpu.bin")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .expect("complete");
    assert_eq!(get(&s3, LAKE, "tls/mpu.bin").await, parts.concat());
}

/// A body in `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` framing: each chunk signed, chained from
/// the seed signature (what aws-sdk-java v1, minio-go and others send over plain HTTP).
fn signed_chunks(chunks: &[&[u8]], seed: &str, at: SystemTime, keys: &(String, String)) -> Vec<u8> {
    let key = aws_sigv4::sign::v4::generate_signing_key(&keys.1, at, "us-east-1", "s3");
    let t = chrono::DateTime::<chrono::Utc>::from(at);
    let (date, amz_date) = (t.format("%Y%m%d").to_string(), t.format("%Y%m%dT%H%M%SZ").to_string());
    let empty = hex::encode(sha2::Sha256::digest(b""));
    let mut prev = seed.to_string();
    let mut out = Vec::new();
    for c in chunks.iter().copied().chain(std::iter::once(&[][..])) {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{date}/us-east-1/s3/aws4_request\n{prev}\n{empty}\n{}",
            hex::encode(sha2::Sha256::digest(c))
        );
        let sig = aws_sigv4::sign::v4::calculate_signature(key.as_ref(), sts.as_bytes());
        out.extend(format!("{:x};chunk-signature={sig}\r\n", c.len()).into_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
        prev = sig;
    }
    out
}

/// PUTs `body` to `key` in 64 KiB signed chunks (one byte flipped if `tamper`): status and body.
async fn put_signed(m: &Mock, keys: &(String, String), body: &[u8], key: &str, tamper: bool) -> (u16, String) {
    let chunks: Vec<&[u8]> = body.chunks(64 * 1024).collect();
    let url = format!("{}/{LAKE}/{key}", m.handle.s3_url());
    let at = SystemTime::now();
    let decoded = body.len().to_string();
    let extra = [
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", decoded.as_str()),
    ];
    let (headers, seed) = sign_v4(&Method::PUT, &url, &extra, None, at, keys);
    let mut framed = signed_chunks(&chunks, &seed, at, keys);
    if tamper {
        let i = framed.len() / 2;
        framed[i] ^= 1;
    }
    let mut rb = reqwest::Client::new().put(&url).body(framed);
    for (n, v) in headers {
        rb = rb.header(n, v);
    }
    let r = rb.send().await.expect("PUT");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn aws_chunked_signed_streaming_aws4_hmac_sha256_payload_put_and_a_tampered_chunk() {
    let (m, s3, keys) = lake_with_keys().await;
    let body = bytes(150_000, 6);
    let (status_code, text) = put_signed(&m, &keys, &body, "chunks/signed.bin", false).await;
    assert_eq!(status_code, 200, "{text}");
    assert_eq!(get(&s3, LAKE, "chunks/signed.bin").await, body);
    let (status_code, text) = put_signed(&m, &keys, &body, "chunks/tampered.bin", true).await;
    assert!((400..500).contains(&status_code), "{status_code}: {text}");
    let err = s3
        .head_object()
        .bucket(LAKE)
        .key("chunks/tampered.bin")
        .send()
        .await
        .expect_err("nothing stored");
    assert_eq!(status(&err), 404);
}

/// A bearer token over a TLS REST listener.
async fn token_over(http: &reqwest::Client, m: &Mock) -> String {
    let t = m.demo();
    let r = http
        .post(m.url("/auth/token"))
        .basic_auth(&t.client_id, Some(&t.client_secret))
        .form(&[
            ("grant_type", "password"),
            ("username", &t.access_key_id),
            ("password", &t.access_key_secret),
        ])
        .send()
        .await
        .expect("token");
    let v: Value = r.json().await.expect("json");
    v["access_token"].as_str().expect("token").to_string()
}

// --- Expect: 100-continue --------------------------------------------------------------------------------

/// Reads an HTTP/1.1 response head from `sock` (up to the blank line): status and head text.
async fn read_head(sock: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> (u16, String) {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            buf.drain(..end + 4);
            let code = head
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("status line: {head}"));
            return (code, head);
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut chunk))
            .await
            .expect("the server answers")
            .expect("read");
        assert!(
            n > 0,
            "connection closed before a response: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends a presigned PUT of `body` with `Expect: 100-continue` over a bare socket, the body only
/// after `100 Continue` (as curl and the AWS CLI do): the final status and response head.
async fn put_expecting_continue(pre: &aws_sdk_s3::presigning::PresignedRequest, body: &[u8]) -> (u16, String) {
    let url = reqwest::Url::parse(pre.uri()).expect("url");
    let authority = format!("{}:{}", url.host_str().expect("host"), url.port().expect("port"));
    let target = format!("{}?{}", url.path(), url.query().expect("query"));
    let mut sock = tokio::net::TcpStream::connect(&authority).await.expect("connect");
    let mut head = format!("PUT {target} HTTP/1.1\r\nHost: {authority}\r\n");
    for (n, v) in pre.headers() {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    sock.write_all(head.as_bytes()).await.expect("head");
    let mut buf = Vec::new();
    let (mut code, mut text) = read_head(&mut sock, &mut buf).await;
    if code == 100 {
        sock.write_all(body).await.expect("body");
        (code, text) = read_head(&mut sock, &mut buf).await;
    }
    (code, text)
}

fn presign_cfg() -> PresigningConfig {
    PresigningConfig::expires_in(Duration::from_secs(300)).expect("config")
}

#[tokio::test]
async fn expect_100_continue_put_gets_100_then_200_and_stores_the_body() {
    let (_m, s3) = lake().await;
    let body = bytes(100_000, 3);
    let pre = s3
        .put_object()
        .bucket(LAKE)
        .key("continue/a.bin")
        .presigned(presign_cfg())
        .await
        .expect("presign");
    let (code, text) = put_expecting_continue(&pre, &body).await;
    assert_eq!(code, 200, "{text}");
    assert!(text.to_ascii_lowercase().contains("etag:"), "{text}");
    assert_eq!(get(&s3, LAKE, "continue/a.bin").await, body);
}

#[tokio::test]
async fn expect_100_continue_put_refused_on_sea_is_a_403_and_stores_nothing() {
    let (_m, s3, keys) = sea(1).await;
    let folder = keys[0].split_once('/').expect("folder").0;
    let key = format!("{folder}/upload.bin");
    let pre = s3
        .put_object()
        .bucket(SEA)
        .key(&key)
        .presigned(presign_cfg())
        .await
        .expect("presign");
    let (code, text) = put_expecting_continue(&pre, &bytes(50_000, 1)).await;
    assert_eq!(code, 403, "{text}");
    let err = s3
        .head_object()
        .bucket(SEA)
        .key(&key)
        .send()
        .await
        .expect_err("nothing stored");
    assert_eq!(status(&err), 404);
}

// --- keys ------------------------------------------------------------------------------------------------

const ODD_KEYS: [&str; 4] = [
    "exports/cdr/year=2026/month=01/part-00000.parquet",
    "with space/a b.txt",
    "plus+sign/a+b=c.txt",
    "unicode/ü日本/ñ.txt",
];

#[tokio::test]
async fn percent_encoded_keys_are_stored_decoded_and_listed_decoded() {
    let (_m, s3) = lake().await;
    let log = WireLog::default();
    let s3 = logged(&s3, &log);
    for k in ODD_KEYS {
        put(&s3, LAKE, k, k.as_bytes()).await;
    }
    let hive = log
        .all()
        .into_iter()
        .find(|s| s.uri.contains("part-00000"))
        .expect("hive put");
    assert!(hive.uri.contains("year%3D2026"), "the SDK sends = as %3D: {}", hive.uri);
    let plus = log
        .all()
        .into_iter()
        .find(|s| s.uri.contains("plus"))
        .expect("plus put");
    assert!(plus.uri.contains("a%2Bb%3Dc.txt"), "{}", plus.uri);
    for k in ODD_KEYS {
        assert_eq!(get(&s3, LAKE, k).await, k.as_bytes(), "{k}");
    }
    let out = s3.list_objects_v2().bucket(LAKE).send().await.expect("list");
    let mut listed: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    listed.sort();
    let mut want = ODD_KEYS.to_vec();
    want.sort();
    assert_eq!(listed, want);
    // A raw GET with the key percent-encoded another way (every byte encoded) reaches the same object.
    let url = presigned_get(&s3, LAKE, ODD_KEYS[0]).await;
    assert!(url.contains("year%3D2026"), "{url}");
    let r = reqwest::get(&url).await.expect("GET");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), ODD_KEYS[0].as_bytes());
}

#[tokio::test]
async fn encoding_type_url_listings_encode_keys_prefixes_and_delimiter() {
    let (_m, s3) = lake().await;
    for k in ODD_KEYS {
        put(&s3, LAKE, k, b"x").await;
    }
    // v2, the way DuckDB lists: prefix, delimiter, encoding-type=url.
    let out = s3
        .list_objects_v2()
        .bucket(LAKE)
        .prefix("exports/cdr/")
        .delimiter("=")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list");
    let prefixes: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["exports/cdr/year%3D"]);
    assert_eq!(out.delimiter(), Some("%3D"));
    assert_eq!(out.prefix(), Some("exports/cdr/"));
    let out = s3
        .list_objects_v2()
        .bucket(LAKE)
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list");
    let mut keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "exports/cdr/year%3D2026/month%3D01/part-00000.parquet",
            "plus%2Bsign/a%2Bb%3Dc.txt",
            "unicode/%C3%BC%E6%97%A5%E6%9C%AC/%C3%B1.txt",
            "with%20space/a%20b.txt",
        ]
    );
    // v1 as well.
    let out = s3
        .list_objects()
        .bucket(LAKE)
        .prefix("with space/")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list v1");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["with%20space/a%20b.txt"]);
    assert_eq!(out.prefix(), Some("with%20space/"));
}

#[tokio::test]
async fn x_id_query_parameters_the_sdk_sends_are_accepted_on_lake_and_sea() {
    let (_m, s3) = lake().await;
    let log = WireLog::default();
    let s3 = logged(&s3, &log);
    put(&s3, LAKE, "xid.txt", b"x-id").await;
    assert!(log.last().uri.contains("x-id=PutObject"), "{:?}", log.last());
    assert_eq!(get(&s3, LAKE, "xid.txt").await, b"x-id");
    assert!(log.last().uri.contains("x-id=GetObject"), "{:?}", log.last());
    s3.delete_object()
        .bucket(LAKE)
        .key("xid.txt")
        .send()
        .await
        .expect("delete");
    assert!(log.last().uri.contains("x-id=DeleteObject"), "{:?}", log.last());
    let (_m, s3, keys) = sea(1).await;
    let log = WireLog::default();
    let s3 = logged(&s3, &log);
    assert!(!get(&s3, SEA, &keys[0]).await.is_empty());
    assert!(log.last().uri.contains("x-id=GetObject"), "{:?}", log.last());
    let err = s3
        .put_object()
        .bucket(SEA)
        .key(&keys[0])
        .body(ByteStream::from_static(b"no"))
        .send()
        .await
        .expect_err("SEA is read-only");
    assert!(log.last().uri.contains("x-id=PutObject"));
    assert_eq!(s3_code(&err), "AccessDenied");
}

// --- ranges ----------------------------------------------------------------------------------------------

/// Range requests on a presigned URL: (status, Content-Range, body, error code in the body).
async fn ranged(url: &str, range: &str) -> (u16, Option<String>, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(url)
        .header("range", range)
        .send()
        .await
        .expect("GET");
    let status = r.status().as_u16();
    let cr = r
        .headers()
        .get("content-range")
        .map(|v| v.to_str().expect("ascii").to_string());
    (status, cr, r.bytes().await.expect("body").to_vec())
}

async fn assert_ranges(url: &str, body: &[u8]) {
    let n = body.len();
    let (s, cr, b) = ranged(url, "bytes=-100000").await;
    assert_eq!(
        (s, cr.as_deref()),
        (206, Some(format!("bytes 0-{}/{n}", n - 1).as_str()))
    );
    assert_eq!(b, body, "a suffix larger than the object is all of it");
    let (s, cr, b) = ranged(url, "bytes=-10").await;
    assert_eq!((s, cr), (206, Some(format!("bytes {}-{}/{n}", n - 10, n - 1))));
    assert_eq!(b, body[n - 10..]);
    let (s, cr, b) = ranged(url, &format!("bytes={}-", n - 24)).await;
    assert_eq!(
        (s, cr),
        (206, Some(format!("bytes {}-{}/{n}", n - 24, n - 1))),
        "open range"
    );
    assert_eq!(b, body[n - 24..]);
    let (s, cr, b) = ranged(url, &format!("bytes=10-{}", n + 500)).await;
    assert_eq!(
        (s, cr),
        (206, Some(format!("bytes 10-{}/{n}", n - 1))),
        "end past the object"
    );
    assert_eq!(b, body[10..]);
    let (s, _, b) = ranged(url, &format!("bytes={n}-")).await;
    assert_eq!(s, 416, "{}", String::from_utf8_lossy(&b));
    assert!(String::from_utf8_lossy(&b).contains("<Code>InvalidRange</Code>"));
    let (s, _, _) = ranged(url, &format!("bytes={}-{}", n + 10, n + 20)).await;
    assert_eq!(s, 416);
}

#[tokio::test]
async fn ranges_suffix_larger_than_the_object_open_and_unsatisfiable_on_lake() {
    let (_m, s3) = lake().await;
    let body = bytes(1024, 4);
    put(&s3, LAKE, "ranges/1k.bin", &body).await;
    let url = presigned_get(&s3, LAKE, "ranges/1k.bin").await;
    assert_ranges(&url, &body).await;
}

#[tokio::test]
async fn ranges_suffix_larger_than_the_object_open_and_unsatisfiable_on_sea() {
    let (_m, s3, keys) = sea(1).await;
    let body = get(&s3, SEA, &keys[0]).await;
    assert!(
        body.len() < 100_000,
        "the suffix test needs a smaller object: {}",
        body.len()
    );
    let url = presigned_get(&s3, SEA, &keys[0]).await;
    assert_ranges(&url, &body).await;
}

// --- "directory" keys ------------------------------------------------------------------------------------

#[tokio::test]
async fn head_on_a_directory_key_is_404_on_lake_and_200_for_a_zero_byte_marker() {
    let (_m, s3) = lake().await;
    put(&s3, LAKE, "dir/file.txt", b"x").await;
    for k in ["dir/", "dir", "nothing/"] {
        let err = s3.head_object().bucket(LAKE).key(k).send().await.expect_err(k);
        assert_eq!(status(&err), 404, "HEAD {k}");
    }
    let err = s3
        .get_object()
        .bucket(LAKE)
        .key("dir/")
        .send()
        .await
        .expect_err("GET dir/");
    assert_eq!(s3_code(&err), "NoSuchKey");
    // pyarrow's create_dir: a zero-byte `empty/` object, then HEAD `empty/`: 200, as in S3.
    put(&s3, LAKE, "empty/", b"").await;
    let head = s3
        .head_object()
        .bucket(LAKE)
        .key("empty/")
        .send()
        .await
        .expect("HEAD marker");
    assert_eq!(head.content_length(), Some(0));
    assert_eq!(head.e_tag(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
    assert_eq!(
        head.last_modified().map(|t| t.secs()),
        Some(chrono::DateTime::parse_from_rfc3339(T0).expect("T0").timestamp()),
        "LastModified on the mock clock"
    );
    let got = s3
        .get_object()
        .bucket(LAKE)
        .key("empty/")
        .send()
        .await
        .expect("GET marker");
    assert!(got.body.collect().await.expect("body").into_bytes().is_empty());
    // Still there once the folder has objects; gone once deleted (the folder stays implied).
    put(&s3, LAKE, "empty/child.txt", b"c").await;
    s3.head_object()
        .bucket(LAKE)
        .key("empty/")
        .send()
        .await
        .expect("marker and child");
    s3.delete_object()
        .bucket(LAKE)
        .key("empty/")
        .send()
        .await
        .expect("delete marker");
    let err = s3
        .head_object()
        .bucket(LAKE)
        .key("empty/")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(status(&err), 404);
    // An object `m` replacing the empty folder `m/` takes its marker with it: a folder `m/`
    // implied later by `m/x` is not a marker.
    put(&s3, LAKE, "m/", b"").await;
    put(&s3, LAKE, "m", b"object").await;
    s3.delete_object().bucket(LAKE).key("m").send().await.expect("delete m");
    put(&s3, LAKE, "m/x", b"x").await;
    let err = s3
        .head_object()
        .bucket(LAKE)
        .key("m/")
        .send()
        .await
        .expect_err("implied folder");
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn head_on_a_directory_key_is_404_on_sea() {
    let (_m, s3, keys) = sea(1).await;
    let folder = format!("{}/", keys[0].split('/').next().expect("folder"));
    let err = s3
        .head_object()
        .bucket(SEA)
        .key(&folder)
        .send()
        .await
        .expect_err("HEAD folder");
    assert_eq!(status(&err), 404, "HEAD {folder}");
    let err = s3
        .head_object()
        .bucket(SEA)
        .key(format!("{folder}sub/"))
        .send()
        .await
        .expect_err("HEAD sub folder");
    assert_eq!(status(&err), 404);
}

// --- buckets ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_bucket_with_a_trailing_slash_and_get_bucket_slash_listing() {
    let m = start().await;
    let keys = lake_keys(&m).await;
    let s3 = m.s3(&keys.0, &keys.1);
    let log = WireLog::default();
    logged(&s3, &log)
        .create_bucket()
        .bucket("sdk-lake")
        .send()
        .await
        .expect("create");
    let seen = log.last();
    assert_eq!(seen.method, "PUT");
    assert!(
        seen.uri.ends_with("/sdk-lake/"),
        "the SDK sends PUT /bucket/: {}",
        seen.uri
    );
    // Raw `PUT /bucket/` without a body (no LocationConstraint, as us-east-1 allows).
    let base = m.handle.s3_url();
    let r = signed(Method::PUT, &format!("{base}/slash-lake/"), Vec::new(), &keys)
        .send()
        .await
        .expect("PUT /bucket/");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    put(&s3, "slash-lake", "a.txt", b"a").await;
    put(&s3, "slash-lake", "d/b.txt", b"b").await;
    for url in [
        format!("{base}/slash-lake/"),
        format!("{base}/slash-lake/?list-type=2&delimiter=%2F&max-keys=1000"),
    ] {
        let r = signed(Method::GET, &url, Vec::new(), &keys)
            .send()
            .await
            .expect("GET /bucket/");
        assert_eq!(r.status(), 200, "{url}");
        let text = r.text().await.expect("xml");
        assert!(
            text.contains("<ListBucketResult") && text.contains("<Key>a.txt</Key>"),
            "{url}: {text}"
        );
        if url.contains("delimiter") {
            assert!(
                text.contains("<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>"),
                "{text}"
            );
        } else {
            assert!(text.contains("<Key>d/b.txt</Key>"), "{text}");
        }
    }
}

// --- CompleteMultipartUpload ---------------------------------------------------------------------------

#[tokio::test]
async fn complete_multipart_upload_body_is_a_well_formed_result_with_a_dash_n_etag() {
    let (m, s3, keys) = lake_with_keys().await;
    let up = s3
        .create_multipart_upload()
        .bucket(LAKE)
        .key("mpu/x.parquet")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id").to_string();
    let mut done = Vec::new();
    let mut md5s = Vec::new();
    for (n, p) in [(1, bytes(5 << 20, 1)), (2, bytes(77, 2))] {
        let out = s3
            .upload_part()
            .bucket(LAKE)
            .key("mpu/x.parquet")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(p))
            .send()
            .await
            .expect("part");
        let etag = out.e_tag().expect("etag").to_string();
        md5s.extend(hex::decode(etag.trim_matches('"')).expect("hex md5"));
        done.push(CompletedPart::builder().part_number(n).e_tag(etag).build());
    }
    // Complete by hand (signed raw request) to see the exact body pyarrow parses.
    let xml: String = done
        .iter()
        .map(|p| {
            format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                p.part_number().expect("n"),
                p.e_tag().expect("etag")
            )
        })
        .collect();
    let url = format!("{}/{LAKE}/mpu/x.parquet?uploadId={id}", m.handle.s3_url());
    let body = format!("<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>");
    let r = signed(Method::POST, &url, body.into_bytes(), &keys)
        .send()
        .await
        .expect("complete");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("xml");
    assert!(text.starts_with("<?xml"), "{text}");
    let root = text.split_once("?>").map_or(text.as_str(), |(_, r)| r.trim_start());
    assert!(
        root.starts_with("<CompleteMultipartUploadResult")
            && root.trim_end().ends_with("</CompleteMultipartUploadResult>"),
        "{text}"
    );
    let field = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open).unwrap_or_else(|| panic!("<{name}> in {text}")) + open.len();
        let end = text[start..].find(&format!("</{name}>")).expect("closed") + start;
        text[start..end].to_string()
    };
    assert_eq!(field("Bucket"), LAKE);
    assert_eq!(field("Key"), "mpu/x.parquet");
    let location = field("Location");
    assert!(
        location.starts_with("http") && location.contains("mpu/x.parquet"),
        "{location}"
    );
    let md5_of_md5s = hex::encode(md5_digest(&md5s));
    assert_eq!(
        field("ETag").replace("&quot;", "\""),
        format!("\"{md5_of_md5s}-2\""),
        "S3's multipart ETag: md5 of the part md5s, dash, part count"
    );
}

/// MD5 without another crate: the one place this file needs it, checked against RFC 1321's vectors.
fn md5_digest(data: &[u8]) -> [u8; 16] {
    let s: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let (mut a0, mut b0, mut c0, mut d0) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(s[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, v) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    out
}

#[test]
fn md5_digest_matches_rfc_1321() {
    assert_eq!(hex::encode(md5_digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(
        hex::encode(md5_digest(b"message digest")),
        "f96b697d7cb7938d525a2f31aaf161d0"
    );
}

// --- presigned URLs --------------------------------------------------------------------------------------

#[tokio::test]
async fn presigned_get_works_on_sea_and_lake_and_an_expired_one_is_403() {
    let (_m, sea_s3, keys) = sea(1).await;
    let url = presigned_get(&sea_s3, SEA, &keys[0]).await;
    let r = reqwest::get(&url).await.expect("GET");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.expect("bytes").to_vec(),
        get(&sea_s3, SEA, &keys[0]).await
    );
    // s3s checks expiry against the wall clock (not the mock clock), like S3: sign an hour ago
    // for one second instead of sleeping.
    let expired = |s3: Client, bucket: &'static str, key: String| async move {
        let cfg = PresigningConfig::builder()
            .start_time(SystemTime::now() - Duration::from_secs(3600))
            .expires_in(Duration::from_secs(1))
            .build()
            .expect("config");
        let pre = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(cfg)
            .await
            .expect("presign");
        reqwest::get(pre.uri()).await.expect("GET")
    };
    let r = expired(sea_s3.clone(), SEA, keys[0].clone()).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.expect("body").contains("<Code>AccessDenied</Code>"));

    let (_m, s3) = lake().await;
    put(&s3, LAKE, "pre/a.txt", b"lake bytes").await;
    let r = reqwest::get(presigned_get(&s3, LAKE, "pre/a.txt").await)
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"lake bytes");
    let r = expired(s3.clone(), LAKE, "pre/a.txt".into()).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.expect("body").contains("<Code>AccessDenied</Code>"));
}

#[tokio::test]
async fn presigned_get_with_response_header_overrides_on_sea_and_lake() {
    // Download links in browsers ask for a file name and type through response-* parameters.
    async fn check(s3: &Client, bucket: &str, key: &str) {
        let cfg = PresigningConfig::expires_in(Duration::from_secs(300)).expect("config");
        let pre = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .response_content_disposition("attachment; filename=\"call.mp4\"")
            .response_content_type("application/octet-stream")
            .response_cache_control("no-store")
            .presigned(cfg)
            .await
            .expect("presign");
        let r = reqwest::get(pre.uri()).await.expect("GET");
        assert_eq!(r.status(), 200, "{bucket}/{key}");
        let h = r.headers();
        assert_eq!(
            h["content-disposition"], "attachment; filename=\"call.mp4\"",
            "{bucket}"
        );
        assert_eq!(h["content-type"], "application/octet-stream", "{bucket}");
        assert_eq!(h["cache-control"], "no-store", "{bucket}");
    }
    let (_m, sea_s3, keys) = sea(1).await;
    check(&sea_s3, SEA, &keys[0]).await;
    let (_m, s3) = lake().await;
    put(&s3, LAKE, "dl/a.mp4", b"bytes").await;
    check(&s3, LAKE, "dl/a.mp4").await;
}

#[tokio::test]
async fn copy_object_keeps_or_recomputes_the_checksum_and_conditional_complete() {
    let (_m, s3) = lake().await;
    let body = bytes(20_000, 9);
    let put_out = s3
        .put_object()
        .bucket(LAKE)
        .key("copy/src.bin")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("put");
    let src_sum = put_out.checksum_sha256().expect("sha256").to_string();
    // Without an algorithm the copy keeps the source's checksum, as S3 does.
    s3.copy_object()
        .bucket(LAKE)
        .key("copy/same.bin")
        .copy_source(format!("{LAKE}/copy/src.bin"))
        .send()
        .await
        .expect("copy");
    let got = s3
        .head_object()
        .bucket(LAKE)
        .key("copy/same.bin")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(got.checksum_sha256(), Some(src_sum.as_str()));
    // With one, the copy is checksummed with it.
    let out = s3
        .copy_object()
        .bucket(LAKE)
        .key("copy/crc64.bin")
        .copy_source(format!("{LAKE}/copy/src.bin"))
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .send()
        .await
        .expect("copy with algorithm");
    let copied = out
        .copy_object_result()
        .and_then(|r| r.checksum_crc64_nvme())
        .map(str::to_string);
    let got = s3
        .get_object()
        .bucket(LAKE)
        .key("copy/crc64.bin")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("get");
    assert!(got.checksum_crc64_nvme().is_some(), "{got:?}");
    assert_eq!(copied.as_deref(), got.checksum_crc64_nvme());
    assert_eq!(got.body.collect().await.expect("validated").into_bytes().to_vec(), body);

    // CompleteMultipartUpload with If-None-Match: * on an existing key: 412, nothing replaced.
    let up = s3
        .create_multipart_upload()
        .bucket(LAKE)
        .key("copy/src.bin")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id");
    let part = s3
        .upload_part()
        .bucket(LAKE)
        .key("copy/src.bin")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"new"))
        .send()
        .await
        .expect("part");
    let err = s3
        .complete_multipart_upload()
        .bucket(LAKE)
        .key("copy/src.bin")
        .upload_id(id)
        .if_none_match("*")
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().expect("etag"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect_err("the key exists");
    assert_eq!(status(&err), 412, "{err:?}");
    assert_eq!(get(&s3, LAKE, "copy/src.bin").await, body);
}

/// Uploads `parts` with CRC32 part checksums and completes with `checksum_type` and a whole-object
/// CRC32 `whole`.
async fn crc32_multipart(
    s3: &Client,
    key: &str,
    parts: &[Vec<u8>],
    kind: ChecksumType,
    whole: Option<String>,
) -> Result<aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput, String> {
    let up = s3
        .create_multipart_upload()
        .bucket(LAKE)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_type(kind.clone())
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id");
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = s3
            .upload_part()
            .bucket(LAKE)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .expect("part");
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(LAKE)
        .key(key)
        .upload_id(id)
        .checksum_type(kind)
        .set_checksum_crc32(whole)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .map_err(|e| s3_code(&e))
}

#[tokio::test]
async fn multipart_full_object_crc32_when_asked_and_the_whole_object_value_is_checked() {
    let (_m, s3) = lake().await;
    let parts = vec![bytes(5 << 20, 4), bytes(3000, 5)];
    // The whole object's CRC32 as the SDK computes it for a single PUT.
    let log = WireLog::default();
    logged(&s3, &log)
        .put_object()
        .bucket(LAKE)
        .key("full/single.bin")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from(parts.concat()))
        .send()
        .await
        .expect("put");
    let crc = log
        .last()
        .header("x-amz-checksum-crc32")
        .expect("crc32 sent")
        .to_string();
    let out = crc32_multipart(&s3, "full/mpu.bin", &parts, ChecksumType::FullObject, Some(crc.clone()))
        .await
        .expect("complete FULL_OBJECT");
    assert_eq!(out.checksum_crc32(), Some(crc.as_str()));
    assert_eq!(out.checksum_type(), Some(&ChecksumType::FullObject));
    let got = s3
        .get_object()
        .bucket(LAKE)
        .key("full/mpu.bin")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("get");
    assert_eq!(got.checksum_crc32(), Some(crc.as_str()));
    assert_eq!(
        got.body.collect().await.expect("validated").into_bytes().to_vec(),
        parts.concat()
    );
    // A whole-object value that is not the object's: BadDigest, nothing stored.
    let code = crc32_multipart(
        &s3,
        "full/bad.bin",
        &parts,
        ChecksumType::FullObject,
        Some(b64(&[0, 0, 0, 1])),
    )
    .await
    .expect_err("wrong whole-object CRC32");
    assert_eq!(code, "BadDigest");
    let err = s3
        .head_object()
        .bucket(LAKE)
        .key("full/bad.bin")
        .send()
        .await
        .expect_err("nothing stored");
    assert_eq!(status(&err), 404);
    // COMPOSITE stays the default.
    let out = crc32_multipart(&s3, "full/composite.bin", &parts, ChecksumType::Composite, None)
        .await
        .expect("complete COMPOSITE");
    assert!(out.checksum_crc32().is_some_and(|c| c.ends_with("-2")), "{out:?}");
}
