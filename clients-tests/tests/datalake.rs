//! Data-lake buckets through a real S3 client (aws-sdk-s3 with its defaults: CRC32 checksums,
//! aws-chunked trailers for streamed bodies, path-style SigV4): credentials (CONTRACT §4),
//! ownership (D8), SSE-KMS, the s3s-fs defects the mock fixes, and what real clients send.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::{BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumMode, CompletedMultipartUpload, CompletedPart, Delete, EncodingType, ObjectIdentifier, ObjectStorageClass,
};
use aws_sdk_s3::Client;
use clients_tests::{s3_code, start, Mock, TenantCreds};
use reqwest::Method;
use serde_json::{json, Value};

/// A tenant with data-lake credentials and an S3 client on them.
struct Lake {
    m: Mock,
    t: TenantCreds,
    s3: Client,
}

/// `POST /api/v2/data-lake/credentials` for `t`: the 201 body.
async fn lake_credentials(m: &Mock, t: &TenantCreds) -> Value {
    let tok = m.token(t).await;
    let r = m
        .api(Method::POST, "/api/v2/data-lake/credentials", &tok)
        .send()
        .await
        .expect("data-lake credentials");
    assert_eq!(r.status(), 201);
    r.json().await.expect("json")
}

fn client(m: &Mock, creds: &Value) -> Client {
    m.s3(
        creds["access_key_id"].as_str().expect("access_key_id"),
        creds["secret_access_key"].as_str().expect("secret_access_key"),
    )
}

/// The demo tenant with a data-lake client and one bucket, `bucket`.
async fn lake(bucket: &str) -> Lake {
    let m = start().await;
    let t = m.demo();
    let creds = lake_credentials(&m, &t).await;
    let s3 = client(&m, &creds);
    s3.create_bucket().bucket(bucket).send().await.expect("create bucket");
    Lake { m, t, s3 }
}

/// Another tenant on the same mock, with its own data-lake client.
async fn other_tenant(m: &Mock, name: &str) -> (TenantCreds, Client) {
    let t = m.tenant(json!({ "name": name })).await;
    let creds = lake_credentials(m, &t).await;
    let s3 = client(m, &creds);
    (t, s3)
}

/// HTTP status of a failed S3 call (HEAD errors carry no body, so no code).
fn status<E: std::fmt::Debug>(err: &SdkError<E, HttpResponse>) -> u16 {
    match err {
        SdkError::ServiceError(se) => se.raw().status().as_u16(),
        other => panic!("not a service error: {other:?}"),
    }
}

async fn put(s3: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    let out = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
    out.e_tag().expect("etag").to_string()
}

async fn get(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

async fn keys(s3: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

async fn tenant_kms_key(m: &Mock, tenant_id: &str) -> String {
    let v: Value = m
        .http
        .get(m.url(&format!("/_mock/tenants/{tenant_id}")))
        .send()
        .await
        .expect("tenant")
        .json()
        .await
        .expect("json");
    v["kms_key_id"].as_str().expect("kms_key_id").to_string()
}

/// Root-level s3s-fs sidecar files of a bucket (`.bucket-<b64>.*`).
fn sidecars(m: &Mock, bucket: &str) -> Vec<String> {
    use base64::Engine as _;
    let prefix = format!(
        ".bucket-{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bucket)
    );
    let root = m.handle.app_state().store.s3_root();
    std::fs::read_dir(root)
        .expect("s3 root")
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// Deterministic, non-repeating test bytes.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[0] ^ seed)
        .collect()
}

// --- credentials ------------------------------------------------------------------------------------

#[tokio::test]
async fn datalake_credentials_each_call_issues_a_new_pair_and_earlier_pairs_keep_working() {
    let m = start().await;
    let t = m.demo();
    let a = lake_credentials(&m, &t).await;
    let b = lake_credentials(&m, &t).await;
    for c in [&a, &b] {
        assert_eq!(c["endpoint"], m.handle.s3_url(), "{c}");
        assert!(c["created_at"].as_str().is_some_and(|s| s.ends_with('Z')), "{c}");
        assert!(c["secret_access_key"].as_str().is_some_and(|s| !s.is_empty()), "{c}");
    }
    assert_ne!(a["access_key_id"], b["access_key_id"]);
    assert_ne!(a["secret_access_key"], b["secret_access_key"]);
    let (sa, sb) = (client(&m, &a), client(&m, &b));
    sa.create_bucket()
        .bucket("lake-one")
        .send()
        .await
        .expect("create with the first pair");
    put(&sb, "lake-one", "k", b"v").await;
    assert_eq!(get(&sa, "lake-one", "k").await, b"v");
    let names: Vec<String> = sb
        .list_buckets()
        .send()
        .await
        .expect("list buckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert_eq!(names, ["lake-one"]);
}

#[tokio::test]
async fn datalake_multipart_upload_may_finish_with_another_pair_of_the_tenant() {
    let l = lake("lake-mp-pairs").await;
    let other = client(&l.m, &lake_credentials(&l.m, &l.t).await);
    let up =
        l.s3.create_multipart_upload()
            .bucket("lake-mp-pairs")
            .key("obj")
            .send()
            .await
            .expect("create mpu");
    let id = up.upload_id().expect("upload id");
    let part = other
        .upload_part()
        .bucket("lake-mp-pairs")
        .key("obj")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"only part"))
        .send()
        .await
        .expect("part with the second pair");
    let done = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().expect("etag"))
                .build(),
        )
        .build();
    l.s3.complete_multipart_upload()
        .bucket("lake-mp-pairs")
        .key("obj")
        .upload_id(id)
        .multipart_upload(done)
        .send()
        .await
        .expect("complete with the first pair");
    assert_eq!(get(&other, "lake-mp-pairs", "obj").await, b"only part");
}

// --- ownership (D8) ----------------------------------------------------------------------------------

#[tokio::test]
async fn datalake_list_buckets_shows_only_the_tenants_own() {
    let l = lake("demo-lake").await;
    let (_, acme) = other_tenant(&l.m, "acme").await;
    acme.create_bucket()
        .bucket("acme-lake")
        .send()
        .await
        .expect("acme create");
    let names = |out: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| -> Vec<String> {
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect()
    };
    let demo_list = l.s3.list_buckets().send().await.expect("demo list");
    assert!(demo_list.buckets().iter().all(|b| b.creation_date().is_some()));
    assert_eq!(names(demo_list), ["demo-lake"]);
    assert_eq!(
        names(acme.list_buckets().send().await.expect("acme list")),
        ["acme-lake"]
    );
}

#[tokio::test]
async fn datalake_d8_other_tenants_bucket_refuses_writes() {
    let l = lake("demo-lake").await;
    let (_, acme) = other_tenant(&l.m, "acme").await;
    acme.create_bucket()
        .bucket("acme-lake")
        .send()
        .await
        .expect("acme create");
    put(&acme, "acme-lake", "secret.csv", b"acme data").await;

    let err =
        l.s3.create_bucket()
            .bucket("acme-lake")
            .send()
            .await
            .expect_err("taken name");
    assert_eq!(s3_code(&err), "BucketAlreadyExists");
    assert_eq!(status(&err), 409);
    let err =
        l.s3.put_object()
            .bucket("acme-lake")
            .key("x")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect_err("put into another tenant's bucket");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        l.s3.get_object()
            .bucket("acme-lake")
            .key("secret.csv")
            .send()
            .await
            .expect_err("get");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        l.s3.list_objects_v2()
            .bucket("acme-lake")
            .send()
            .await
            .expect_err("list");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        l.s3.head_bucket()
            .bucket("acme-lake")
            .send()
            .await
            .expect_err("head bucket");
    assert_eq!(status(&err), 403);
    let err =
        l.s3.delete_object()
            .bucket("acme-lake")
            .key("secret.csv")
            .send()
            .await
            .expect_err("delete");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        l.s3.delete_bucket()
            .bucket("acme-lake")
            .send()
            .await
            .expect_err("delete bucket");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err =
        l.s3.copy_object()
            .bucket("demo-lake")
            .key("stolen")
            .copy_source("acme-lake/secret.csv")
            .send()
            .await
            .expect_err("copy out of another tenant's bucket");
    assert_eq!(s3_code(&err), "AccessDenied");
    // Nobody's bucket: NoSuchBucket.
    let err =
        l.s3.list_objects_v2()
            .bucket("no-such-lake")
            .send()
            .await
            .expect_err("missing");
    assert_eq!(s3_code(&err), "NoSuchBucket");
    let err =
        l.s3.head_bucket()
            .bucket("no-such-lake")
            .send()
            .await
            .expect_err("missing");
    assert_eq!(status(&err), 404);
    assert_eq!(get(&acme, "acme-lake", "secret.csv").await, b"acme data");
}

#[tokio::test]
async fn datalake_recreating_ones_own_bucket_is_ok_as_in_us_east_1() {
    let l = lake("demo-lake").await;
    put(&l.s3, "demo-lake", "k", b"kept").await;
    l.s3.create_bucket()
        .bucket("demo-lake")
        .send()
        .await
        .expect("second create answers 200");
    assert_eq!(get(&l.s3, "demo-lake", "k").await, b"kept");
}

#[tokio::test]
async fn datalake_sea_bucket_name_and_invalid_names_are_refused() {
    let l = lake("demo-lake").await;
    let err =
        l.s3.create_bucket()
            .bucket("cxone-sea")
            .send()
            .await
            .expect_err("reserved");
    assert!(
        ["AccessDenied", "BucketAlreadyExists"].contains(&s3_code(&err).as_str()),
        "{err:?}"
    );
    for bad in ["Upper-Case", "ab", "-leading", "trailing-", "a..b", "under_score"] {
        let err = l.s3.create_bucket().bucket(bad).send().await.expect_err(bad);
        assert_eq!(status(&err), 400, "{bad}: {err:?}");
    }
}

#[tokio::test]
async fn datalake_ensure_bucket_creates_for_the_platform_and_refuses_other_tenants() {
    let l = lake("demo-lake").await;
    let app = l.m.handle.app_state();
    mock_cxone::sea::lake_bucket::ensure_bucket(&app, &l.t.tenant_id, "demo-exports").expect("ensure");
    mock_cxone::sea::lake_bucket::ensure_bucket(&app, &l.t.tenant_id, "demo-exports").expect("idempotent");
    let names: Vec<String> =
        l.s3.list_buckets()
            .send()
            .await
            .expect("list")
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect();
    assert_eq!(names, ["demo-exports", "demo-lake"]);
    put(&l.s3, "demo-exports", "k", b"v").await;
    let (acme, acme_s3) = other_tenant(&l.m, "acme").await;
    let err =
        mock_cxone::sea::lake_bucket::ensure_bucket(&app, &acme.tenant_id, "demo-exports").expect_err("owned by demo");
    assert!(
        matches!(err, mock_cxone::sea::lake_bucket::LakeError::OwnedByOther { .. }),
        "{err:?}"
    );
    assert!(mock_cxone::sea::lake_bucket::ensure_bucket(&app, &acme.tenant_id, "cxone-sea").is_err());
    assert!(mock_cxone::sea::lake_bucket::ensure_bucket(&app, &acme.tenant_id, "Bad_Name").is_err());
    let err = acme_s3
        .get_object()
        .bucket("demo-exports")
        .key("k")
        .send()
        .await
        .expect_err("denied");
    assert_eq!(s3_code(&err), "AccessDenied");
}

// --- SSE-KMS ------------------------------------------------------------------------------------------

#[tokio::test]
async fn datalake_objects_carry_sse_kms_headers_with_the_tenants_key() {
    let l = lake("demo-lake").await;
    let kms = tenant_kms_key(&l.m, &l.t.tenant_id).await;
    assert!(kms.starts_with("arn:aws:kms:"), "{kms}");
    let sse = |e: Option<&aws_sdk_s3::types::ServerSideEncryption>| e.map(|e| e.as_str().to_string());

    let p =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("a.csv")
            .body(ByteStream::from_static(b"a,b\n1,2\n"))
            .send()
            .await
            .expect("put");
    assert_eq!(sse(p.server_side_encryption()).as_deref(), Some("aws:kms"));
    assert_eq!(p.ssekms_key_id(), Some(kms.as_str()));
    let h =
        l.s3.head_object()
            .bucket("demo-lake")
            .key("a.csv")
            .send()
            .await
            .expect("head");
    assert_eq!(sse(h.server_side_encryption()).as_deref(), Some("aws:kms"));
    assert_eq!(h.ssekms_key_id(), Some(kms.as_str()));
    let g =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("a.csv")
            .send()
            .await
            .expect("get");
    assert_eq!(sse(g.server_side_encryption()).as_deref(), Some("aws:kms"));
    assert_eq!(g.ssekms_key_id(), Some(kms.as_str()));
    let c =
        l.s3.copy_object()
            .bucket("demo-lake")
            .key("b.csv")
            .copy_source("demo-lake/a.csv")
            .send()
            .await
            .expect("copy");
    assert_eq!(sse(c.server_side_encryption()).as_deref(), Some("aws:kms"));
    assert_eq!(c.ssekms_key_id(), Some(kms.as_str()));

    let up =
        l.s3.create_multipart_upload()
            .bucket("demo-lake")
            .key("m.bin")
            .send()
            .await
            .expect("mpu");
    let id = up.upload_id().expect("id");
    let part =
        l.s3.upload_part()
            .bucket("demo-lake")
            .key("m.bin")
            .upload_id(id)
            .part_number(1)
            .body(ByteStream::from_static(b"small last part"))
            .send()
            .await
            .expect("part");
    let done =
        l.s3.complete_multipart_upload()
            .bucket("demo-lake")
            .key("m.bin")
            .upload_id(id)
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
            .expect("complete");
    assert_eq!(sse(done.server_side_encryption()).as_deref(), Some("aws:kms"));
    assert_eq!(done.ssekms_key_id(), Some(kms.as_str()));
}

// --- s3s-fs defects -----------------------------------------------------------------------------------

#[tokio::test]
async fn datalake_concurrent_puts_to_one_key_keep_bytes_and_etag_together() {
    let l = lake("demo-lake").await;
    let bodies: Vec<Vec<u8>> = (0..8u8).map(|i| bytes(256 * 1024 + usize::from(i) * 1000, i)).collect();
    for round in 0..3 {
        let mut tasks = Vec::new();
        for body in &bodies {
            let s3 = l.s3.clone();
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let etag = put(&s3, "demo-lake", "race.bin", &body).await;
                (body, etag)
            }));
        }
        let mut written = Vec::new();
        for t in tasks {
            written.push(t.await.expect("task"));
        }
        let out =
            l.s3.get_object()
                .bucket("demo-lake")
                .key("race.bin")
                .send()
                .await
                .expect("get");
        let etag = out.e_tag().expect("etag").to_string();
        let got = out.body.collect().await.expect("body").into_bytes().to_vec();
        let (_, writer_etag) = written
            .iter()
            .find(|(b, _)| *b == got)
            .unwrap_or_else(|| panic!("round {round}: the bytes are no writer's whole body"));
        assert_eq!(
            &etag, writer_etag,
            "round {round}: bytes of one writer, ETag of another"
        );
        let head =
            l.s3.head_object()
                .bucket("demo-lake")
                .key("race.bin")
                .send()
                .await
                .expect("head");
        assert_eq!(head.e_tag(), Some(etag.as_str()));
        assert_eq!(head.content_length(), Some(got.len() as i64));
    }
}

#[tokio::test]
async fn datalake_failed_content_md5_check_stores_nothing() {
    let l = lake("demo-lake").await;
    let wrong_md5 = "AAAAAAAAAAAAAAAAAAAAAA==";
    let err =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("new.bin")
            .content_md5(wrong_md5)
            .body(ByteStream::from_static(b"payload"))
            .send()
            .await
            .expect_err("bad digest");
    assert_eq!(s3_code(&err), "BadDigest");
    let err =
        l.s3.head_object()
            .bucket("demo-lake")
            .key("new.bin")
            .send()
            .await
            .expect_err("absent");
    assert_eq!(status(&err), 404);
    assert!(keys(&l.s3, "demo-lake", "").await.is_empty());

    put(&l.s3, "demo-lake", "old.bin", b"original").await;
    let err =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("old.bin")
            .content_md5(wrong_md5)
            .body(ByteStream::from_static(b"replacement"))
            .send()
            .await
            .expect_err("bad digest");
    assert_eq!(s3_code(&err), "BadDigest");
    assert_eq!(get(&l.s3, "demo-lake", "old.bin").await, b"original");

    // A wrong checksum header is refused the same way.
    let err =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("old.bin")
            .checksum_crc32("AAAAAA==")
            .body(ByteStream::from_static(b"replacement"))
            .send()
            .await
            .expect_err("bad crc32");
    assert_eq!(s3_code(&err), "BadDigest");
    assert_eq!(get(&l.s3, "demo-lake", "old.bin").await, b"original");
    // A correct Content-MD5 is accepted.
    use base64::Engine as _;
    let md5 =
        base64::engine::general_purpose::STANDARD.encode(hex::decode("5d41402abc4b2a76b9719d911017c592").expect("hex"));
    let ok =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("hello")
            .content_md5(md5)
            .body(ByteStream::from_static(b"hello"))
            .send()
            .await
            .expect("good md5");
    assert_eq!(ok.e_tag(), Some("\"5d41402abc4b2a76b9719d911017c592\""));
}

#[tokio::test]
async fn datalake_delete_bucket_refuses_a_non_empty_bucket() {
    let l = lake("demo-lake").await;
    put(&l.s3, "demo-lake", "dir/obj", b"x").await;
    let err =
        l.s3.delete_bucket()
            .bucket("demo-lake")
            .send()
            .await
            .expect_err("not empty");
    assert_eq!(s3_code(&err), "BucketNotEmpty");
    assert_eq!(status(&err), 409);
    assert_eq!(get(&l.s3, "demo-lake", "dir/obj").await, b"x");
    l.s3.delete_object()
        .bucket("demo-lake")
        .key("dir/obj")
        .send()
        .await
        .expect("delete obj");
    l.s3.delete_bucket()
        .bucket("demo-lake")
        .send()
        .await
        .expect("delete empty bucket");
    let err = l.s3.head_bucket().bucket("demo-lake").send().await.expect_err("gone");
    assert_eq!(status(&err), 404);
    // The name is free again, for anyone.
    let (_, acme) = other_tenant(&l.m, "acme").await;
    acme.create_bucket()
        .bucket("demo-lake")
        .send()
        .await
        .expect("acme takes the freed name");
}

#[tokio::test]
async fn datalake_listings_carry_etag_storage_class_size_and_last_modified() {
    let l = lake("demo-lake").await;
    let e1 = put(&l.s3, "demo-lake", "a/one.csv", b"one").await;
    let e2 = put(&l.s3, "demo-lake", "b.csv", b"twenty-two").await;
    let out =
        l.s3.list_objects_v2()
            .bucket("demo-lake")
            .send()
            .await
            .expect("list v2");
    let objs = out.contents();
    assert_eq!(objs.len(), 2);
    for (o, (key, etag, size)) in objs.iter().zip([("a/one.csv", &e1, 3), ("b.csv", &e2, 10)]) {
        assert_eq!(o.key(), Some(key));
        assert_eq!(o.e_tag(), Some(etag.as_str()), "{key}");
        assert_eq!(o.size(), Some(size));
        assert_eq!(o.storage_class(), Some(&ObjectStorageClass::Standard));
        // LastModified is the mock clock's instant of the write (frozen at T0).
        let lm = o.last_modified().expect("last modified");
        assert_eq!(
            lm.secs(),
            chrono::DateTime::parse_from_rfc3339(clients_tests::T0)
                .expect("t0")
                .timestamp()
        );
    }
    let v1 = l.s3.list_objects().bucket("demo-lake").send().await.expect("list v1");
    assert_eq!(v1.contents().len(), 2);
    assert!(v1.contents().iter().all(|o| o.e_tag().is_some() && o.owner().is_some()));
    let owned =
        l.s3.list_objects_v2()
            .bucket("demo-lake")
            .fetch_owner(true)
            .send()
            .await
            .expect("fetch owner");
    assert!(owned.contents().iter().all(|o| o.owner().is_some()));
}

#[tokio::test]
async fn datalake_key_and_folder_conflict_is_a_clear_409() {
    let l = lake("demo-lake").await;
    put(&l.s3, "demo-lake", "a", b"file a").await;
    let err =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("a/b")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect_err("a is an object");
    assert_eq!(status(&err), 409);
    assert_eq!(s3_code(&err), "KeyConflict");
    let msg = match &err {
        SdkError::ServiceError(se) => aws_sdk_s3::error::ProvideErrorMetadata::message(se.err())
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    };
    assert!(msg.contains("\"a\""), "{msg}");

    put(&l.s3, "demo-lake", "x/y", b"inside x").await;
    let err =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("x")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect_err("x is a folder of x/y");
    assert_eq!(status(&err), 409);
    // Multipart and copy are refused the same way, before any part is uploaded.
    let err =
        l.s3.create_multipart_upload()
            .bucket("demo-lake")
            .key("a/c")
            .send()
            .await
            .expect_err("mpu under an object");
    assert_eq!(status(&err), 409);
    let err =
        l.s3.copy_object()
            .bucket("demo-lake")
            .key("x")
            .copy_source("demo-lake/a")
            .send()
            .await
            .expect_err("copy onto a folder");
    assert_eq!(status(&err), 409);
    // Once x/y is gone, x may be an object (the empty folder is cleared).
    l.s3.delete_object()
        .bucket("demo-lake")
        .key("x/y")
        .send()
        .await
        .expect("delete");
    put(&l.s3, "demo-lake", "x", b"now a file").await;
    assert_eq!(get(&l.s3, "demo-lake", "x").await, b"now a file");
    let mut all = keys(&l.s3, "demo-lake", "").await;
    all.sort();
    assert_eq!(all, ["a", "x"]);
}

#[tokio::test]
async fn datalake_conditional_get_if_none_match_304_if_match_412() {
    let l = lake("demo-lake").await;
    let etag = put(&l.s3, "demo-lake", "c.txt", b"conditional").await;
    let err =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("c.txt")
            .if_none_match(&etag)
            .send()
            .await
            .expect_err("not modified");
    assert_eq!(status(&err), 304);
    let err =
        l.s3.head_object()
            .bucket("demo-lake")
            .key("c.txt")
            .if_none_match(&etag)
            .send()
            .await
            .expect_err("not modified");
    assert_eq!(status(&err), 304);
    let got =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("c.txt")
            .if_none_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await
            .expect("other etag: 200");
    assert_eq!(got.e_tag(), Some(etag.as_str()));
    l.s3.get_object()
        .bucket("demo-lake")
        .key("c.txt")
        .if_match(&etag)
        .send()
        .await
        .expect("matching if-match");
    let err =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("c.txt")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await
            .expect_err("precondition");
    assert_eq!(status(&err), 412);
    // If-Modified-Since at the write instant (mock clock): not modified.
    let t0 = aws_sdk_s3::primitives::DateTime::from_secs(
        chrono::DateTime::parse_from_rfc3339(clients_tests::T0)
            .expect("t0")
            .timestamp(),
    );
    let err =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("c.txt")
            .if_modified_since(t0)
            .send()
            .await
            .expect_err("not modified since");
    assert_eq!(status(&err), 304);
}

#[tokio::test]
async fn datalake_delete_removes_the_sidecar_files() {
    let l = lake("demo-lake").await;
    put(&l.s3, "demo-lake", "one", b"1").await;
    put(&l.s3, "demo-lake", "two/2", b"2").await;
    assert!(!sidecars(&l.m, "demo-lake").is_empty());
    l.s3.delete_object()
        .bucket("demo-lake")
        .key("one")
        .send()
        .await
        .expect("delete");
    l.s3.delete_objects()
        .bucket("demo-lake")
        .delete(
            Delete::builder()
                .objects(ObjectIdentifier::builder().key("two/2").build().expect("id"))
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("batch delete");
    assert_eq!(sidecars(&l.m, "demo-lake"), Vec::<String>::new());
    // A key written again after a delete does not inherit old metadata.
    l.s3.put_object()
        .bucket("demo-lake")
        .key("one")
        .content_type("text/csv")
        .body(ByteStream::from_static(b"1"))
        .send()
        .await
        .expect("put typed");
    l.s3.delete_object()
        .bucket("demo-lake")
        .key("one")
        .send()
        .await
        .expect("delete");
    put(&l.s3, "demo-lake", "one", b"1").await;
    let h =
        l.s3.head_object()
            .bucket("demo-lake")
            .key("one")
            .send()
            .await
            .expect("head");
    assert_ne!(h.content_type(), Some("text/csv"));
}

#[tokio::test]
async fn datalake_multipart_overwrite_keeps_no_stale_checksum() {
    let l = lake("demo-lake").await;
    // The SDK sends a CRC32 by default; s3s-fs stores it.
    let p =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("data.parquet")
            .body(ByteStream::from_static(b"first version"))
            .send()
            .await
            .expect("put");
    assert!(p.checksum_crc32().is_some());
    let first = bytes(5 * 1024 * 1024, 1);
    let second = b"tail".to_vec();
    multipart(&l.s3, "demo-lake", "data.parquet", &[&first, &second]).await;
    let head =
        l.s3.head_object()
            .bucket("demo-lake")
            .key("data.parquet")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("head");
    assert_ne!(head.checksum_crc32(), p.checksum_crc32(), "stale whole-object CRC32");
    // GET with checksum validation (the SDK checks any CRC32 it is given) succeeds.
    let got =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("data.parquet")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
    let got = got.body.collect().await.expect("body with valid checksum").into_bytes();
    assert_eq!(got.len(), first.len() + second.len());
    assert!(got[..first.len()] == first[..] && got[first.len()..] == second[..]);
}

/// Uploads `parts` as one multipart object; returns the ETag.
async fn multipart(s3: &Client, bucket: &str, key: &str, parts: &[&[u8]]) -> String {
    let up = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("create mpu");
    let id = up.upload_id().expect("upload id");
    let mut done = Vec::new();
    for (i, body) in parts.iter().enumerate() {
        let n = i32::try_from(i + 1).expect("part number");
        let out = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .expect("upload part");
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .build(),
        );
    }
    let out = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .expect("complete");
    out.e_tag().expect("etag").to_string()
}

// --- what real clients send -----------------------------------------------------------------------------

/// What the SDK put on the wire for one request.
#[derive(Debug, Clone)]
struct Seen {
    content_encoding: Option<String>,
    trailer: Option<String>,
    content_sha256: Option<String>,
    crc32_header: Option<String>,
}

/// Records the relevant headers of every request the SDK sends.
#[derive(Debug, Default, Clone)]
struct WireLog(Arc<Mutex<Vec<Seen>>>);

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
        let h = ctx.request().headers();
        let get = |n: &str| h.get(n).map(str::to_string);
        self.0.lock().expect("log").push(Seen {
            content_encoding: get("content-encoding"),
            trailer: get("x-amz-trailer"),
            content_sha256: get("x-amz-content-sha256"),
            crc32_header: get("x-amz-checksum-crc32"),
        });
        Ok(())
    }
}

#[tokio::test]
async fn datalake_default_put_sends_a_crc32_header_and_get_validates_it() {
    let l = lake("demo-lake").await;
    let log = WireLog::default();
    let body = b"year,month\n2024,01\n".to_vec();
    let out =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("crc.csv")
            .body(ByteStream::from(body.clone()))
            .customize()
            .interceptor(log.clone())
            .send()
            .await
            .expect("put");
    let seen = log.0.lock().expect("log").last().cloned().expect("one request");
    assert!(
        seen.crc32_header.is_some(),
        "the SDK sends x-amz-checksum-crc32 by default: {seen:?}"
    );
    assert_eq!(out.checksum_crc32().map(str::to_string), seen.crc32_header);
    let got =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("crc.csv")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
    assert_eq!(got.checksum_crc32().map(str::to_string), seen.crc32_header);
    assert_eq!(
        got.body.collect().await.expect("validated body").into_bytes().to_vec(),
        body
    );
}

#[tokio::test]
async fn datalake_streamed_put_uses_aws_chunked_with_a_crc32_trailer() {
    let l = lake("demo-lake").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("part-00000.parquet");
    let body = bytes(300 * 1024, 7);
    std::fs::write(&path, &body).expect("write");
    let log = WireLog::default();
    let out =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("streamed/part-00000.parquet")
            .body(ByteStream::from_path(&path).await.expect("stream"))
            .customize()
            .interceptor(log.clone())
            .send()
            .await
            .expect("streamed put");
    let seen = log.0.lock().expect("log").last().cloned().expect("one request");
    assert_eq!(seen.content_encoding.as_deref(), Some("aws-chunked"), "{seen:?}");
    assert_eq!(seen.trailer.as_deref(), Some("x-amz-checksum-crc32"), "{seen:?}");
    assert!(
        seen.content_sha256
            .as_deref()
            .is_some_and(|s| s.starts_with("STREAMING-")),
        "{seen:?}"
    );
    assert!(out.checksum_crc32().is_some());
    assert_eq!(get(&l.s3, "demo-lake", "streamed/part-00000.parquet").await, body);
    // Streamed multipart parts carry trailers too.
    let etag = multipart(
        &l.s3,
        "demo-lake",
        "streamed/big.bin",
        &[&bytes(5 * 1024 * 1024, 3), b"end"],
    )
    .await;
    assert!(etag.ends_with("-2\""), "{etag}");
}

#[tokio::test]
async fn datalake_percent_encoded_hive_keys_round_trip() {
    let l = lake("demo-lake").await;
    let keys_in = [
        "telephony/year=2024/month=01/day=05/hour=13/part-00000.parquet",
        "odd keys/a b+c%d&e=f/ü.csv",
    ];
    for k in keys_in {
        put(&l.s3, "demo-lake", k, k.as_bytes()).await;
        assert_eq!(get(&l.s3, "demo-lake", k).await, k.as_bytes());
        l.s3.head_object()
            .bucket("demo-lake")
            .key(k)
            .send()
            .await
            .expect("head");
    }
    let mut listed = keys(&l.s3, "demo-lake", "").await;
    listed.sort();
    let mut want: Vec<String> = keys_in.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(keys(&l.s3, "demo-lake", "telephony/year=2024/").await.len(), 1);
}

#[tokio::test]
async fn datalake_suffix_range_larger_than_the_object_returns_all_of_it() {
    let l = lake("demo-lake").await;
    put(&l.s3, "demo-lake", "small", b"0123456789").await;
    let out =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("small")
            .range("bytes=-65536")
            .send()
            .await
            .expect("suffix range");
    assert_eq!(out.content_range(), Some("bytes 0-9/10"));
    assert_eq!(
        out.body.collect().await.expect("body").into_bytes().as_ref(),
        b"0123456789"
    );
    let out =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("small")
            .range("bytes=-4")
            .send()
            .await
            .expect("suffix range");
    assert_eq!(out.content_range(), Some("bytes 6-9/10"));
    assert_eq!(out.body.collect().await.expect("body").into_bytes().as_ref(), b"6789");
    let out =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("small")
            .range("bytes=2-4")
            .send()
            .await
            .expect("range");
    assert_eq!(out.body.collect().await.expect("body").into_bytes().as_ref(), b"234");
}

#[tokio::test]
async fn datalake_multipart_upload_two_parts_and_part_number_reads() {
    let l = lake("demo-lake").await;
    let first = bytes(5 * 1024 * 1024, 9);
    let second = bytes(70_000, 4);
    let etag = multipart(&l.s3, "demo-lake", "mp/obj.bin", &[&first, &second]).await;
    assert!(etag.ends_with("-2\""), "{etag}");
    let all = get(&l.s3, "demo-lake", "mp/obj.bin").await;
    assert_eq!(all.len(), first.len() + second.len());
    assert!(all[..first.len()] == first[..] && all[first.len()..] == second[..]);
    let head =
        l.s3.head_object()
            .bucket("demo-lake")
            .key("mp/obj.bin")
            .send()
            .await
            .expect("head");
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    let p2 =
        l.s3.get_object()
            .bucket("demo-lake")
            .key("mp/obj.bin")
            .part_number(2)
            .send()
            .await
            .expect("part 2");
    assert_eq!(p2.parts_count(), Some(2));
    assert_eq!(p2.body.collect().await.expect("body").into_bytes().to_vec(), second);
    let listed =
        l.s3.list_objects_v2()
            .bucket("demo-lake")
            .prefix("mp/")
            .send()
            .await
            .expect("list");
    assert_eq!(listed.contents()[0].e_tag(), Some(etag.as_str()));

    // A small first part is refused and the upload survives the refusal.
    let up =
        l.s3.create_multipart_upload()
            .bucket("demo-lake")
            .key("mp/small")
            .send()
            .await
            .expect("mpu");
    let id = up.upload_id().expect("id");
    let mut parts = Vec::new();
    for n in 1..=2 {
        let out =
            l.s3.upload_part()
                .bucket("demo-lake")
                .key("mp/small")
                .upload_id(id)
                .part_number(n)
                .body(ByteStream::from_static(b"tiny"))
                .send()
                .await
                .expect("part");
        assert!(out.checksum_crc32().is_some(), "UploadPart returns the part's checksum");
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .build(),
        );
    }
    let lp =
        l.s3.list_parts()
            .bucket("demo-lake")
            .key("mp/small")
            .upload_id(id)
            .send()
            .await
            .expect("list parts");
    assert_eq!(
        lp.parts().iter().map(|p| p.part_number()).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    assert!(lp.parts().iter().all(|p| p.e_tag().is_some()));
    let err =
        l.s3.complete_multipart_upload()
            .bucket("demo-lake")
            .key("mp/small")
            .upload_id(id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .expect_err("too small");
    assert_eq!(s3_code(&err), "EntityTooSmall");
    l.s3.abort_multipart_upload()
        .bucket("demo-lake")
        .key("mp/small")
        .upload_id(id)
        .send()
        .await
        .expect("abort");
    let err =
        l.s3.upload_part()
            .bucket("demo-lake")
            .key("mp/small")
            .upload_id(id)
            .part_number(3)
            .body(ByteStream::from_static(b"late"))
            .send()
            .await
            .expect_err("aborted");
    assert_eq!(s3_code(&err), "NoSuchUpload");
}

#[tokio::test]
async fn datalake_copy_object_within_and_across_own_buckets() {
    let l = lake("demo-lake").await;
    l.s3.create_bucket()
        .bucket("demo-lake-2")
        .send()
        .await
        .expect("second bucket");
    let etag =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("src/a=1/data.csv")
            .content_type("text/csv")
            .body(ByteStream::from_static(b"x,y\n"))
            .send()
            .await
            .expect("put")
            .e_tag()
            .expect("etag")
            .to_string();
    let c =
        l.s3.copy_object()
            .bucket("demo-lake-2")
            .key("dst/a=1/data.csv")
            .copy_source("demo-lake/src/a%3D1/data.csv")
            .send()
            .await
            .expect("copy");
    assert_eq!(c.copy_object_result().and_then(|r| r.e_tag()), Some(etag.as_str()));
    assert_eq!(get(&l.s3, "demo-lake-2", "dst/a=1/data.csv").await, b"x,y\n");
    let h =
        l.s3.head_object()
            .bucket("demo-lake-2")
            .key("dst/a=1/data.csv")
            .send()
            .await
            .expect("head");
    assert_eq!(h.content_type(), Some("text/csv"));
    let err =
        l.s3.copy_object()
            .bucket("demo-lake")
            .key("nothing-copy")
            .copy_source("demo-lake/missing")
            .send()
            .await
            .expect_err("missing source");
    assert_eq!(s3_code(&err), "NoSuchKey");
}

#[tokio::test]
async fn datalake_delete_objects_batch() {
    let l = lake("demo-lake").await;
    for k in ["a", "b/c", "d=1/e"] {
        put(&l.s3, "demo-lake", k, b"x").await;
    }
    let ids = ["a", "b/c", "d=1/e", "never-existed"]
        .iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build().expect("id"))
        .collect::<Vec<_>>();
    let out =
        l.s3.delete_objects()
            .bucket("demo-lake")
            .delete(Delete::builder().set_objects(Some(ids)).build().expect("delete"))
            .send()
            .await
            .expect("delete objects");
    let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort_unstable();
    assert_eq!(deleted, ["a", "b/c", "d=1/e", "never-existed"]);
    assert!(out.errors().is_empty());
    assert!(keys(&l.s3, "demo-lake", "").await.is_empty());
    put(&l.s3, "demo-lake", "q", b"x").await;
    let quiet =
        l.s3.delete_objects()
            .bucket("demo-lake")
            .delete(
                Delete::builder()
                    .quiet(true)
                    .objects(ObjectIdentifier::builder().key("q").build().expect("id"))
                    .build()
                    .expect("delete"),
            )
            .send()
            .await
            .expect("quiet delete");
    assert!(quiet.deleted().is_empty());
    assert!(keys(&l.s3, "demo-lake", "").await.is_empty());
}

#[tokio::test]
async fn datalake_list_v2_delimiter_and_url_encoding() {
    let l = lake("demo-lake").await;
    for k in [
        "t/year=2024/month=01/part-00000.parquet",
        "t/year=2024/month=02/part-00000.parquet",
        "t/year=2025/month=01/part-00000.parquet",
        "t/_manifest a+b.json",
    ] {
        put(&l.s3, "demo-lake", k, b"x").await;
    }
    let out =
        l.s3.list_objects_v2()
            .bucket("demo-lake")
            .prefix("t/")
            .delimiter("/")
            .send()
            .await
            .expect("list");
    let prefixes: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["t/year=2024/", "t/year=2025/"]);
    let objs: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(objs, ["t/_manifest a+b.json"]);

    // encoding-type=url (DuckDB): keys and prefixes come back percent-encoded.
    let out =
        l.s3.list_objects_v2()
            .bucket("demo-lake")
            .prefix("t/year=2024/")
            .delimiter("/")
            .encoding_type(EncodingType::Url)
            .send()
            .await
            .expect("list url");
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    assert_eq!(out.prefix(), Some("t/year%3D2024/"));
    let prefixes: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["t/year%3D2024/month%3D01/", "t/year%3D2024/month%3D02/"]);
    let out =
        l.s3.list_objects_v2()
            .bucket("demo-lake")
            .prefix("t/_")
            .encoding_type(EncodingType::Url)
            .send()
            .await
            .expect("list url");
    let objs: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(objs, ["t/_manifest%20a%2Bb.json"]);
    // pyarrow: max-keys=1 with a delimiter to probe a "directory".
    let probe =
        l.s3.list_objects_v2()
            .bucket("demo-lake")
            .prefix("t/year=2024/")
            .delimiter("/")
            .max_keys(1)
            .send()
            .await
            .expect("probe");
    assert_eq!(probe.key_count(), Some(1));
    assert_eq!(probe.is_truncated(), Some(true));
    // ...and HEADs the directory key itself, expecting 404.
    let err =
        l.s3.head_object()
            .bucket("demo-lake")
            .key("t/year=2024")
            .send()
            .await
            .expect_err("dir");
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn datalake_list_v2_pagination() {
    let l = lake("demo-lake").await;
    let mut want = Vec::new();
    for i in 0..7 {
        let k = format!("p/day={i:02}/part-00000.parquet");
        put(&l.s3, "demo-lake", &k, b"x").await;
        want.push(k);
    }
    let mut got = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out =
            l.s3.list_objects_v2()
                .bucket("demo-lake")
                .max_keys(3)
                .set_continuation_token(token.clone())
                .send()
                .await
                .expect("page");
        pages += 1;
        got.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        if out.is_truncated() == Some(true) {
            token = out.next_continuation_token().map(str::to_string);
            assert!(token.is_some());
        } else {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(got, want);
    // The SDK's own paginator agrees.
    let mut paged = Vec::new();
    let mut p =
        l.s3.list_objects_v2()
            .bucket("demo-lake")
            .max_keys(2)
            .into_paginator()
            .send();
    while let Some(page) = p.next().await {
        paged.extend(
            page.expect("page")
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    assert_eq!(paged, want);
}

// --- platform writes (exports), key safety, clock ---------------------------------------------------

#[tokio::test]
async fn datalake_platform_writes_read_back_like_uploads() {
    use mock_cxone::sea::lake_platform;
    let l = lake("demo-lake").await;
    let app = l.m.handle.app_state();
    let tenant = l.t.tenant_id.clone();
    let a = app.clone();
    let etag = tokio::task::spawn_blocking(move || {
        mock_cxone::sea::lake_bucket::ensure_bucket(&a, &tenant, "demo-exports").expect("ensure");
        let key = "telephony/year=2026/month=01/part-00000.parquet";
        assert!(!lake_platform::object_exists(&a, "demo-exports", key));
        let etag = lake_platform::write_object(
            &a,
            &tenant,
            "demo-exports",
            key,
            b"PAR1...PAR1",
            Some("application/vnd.apache.parquet"),
        )
        .expect("write");
        assert!(lake_platform::object_exists(&a, "demo-exports", key));
        // Another tenant's bucket, a file where a folder is needed: refused.
        assert!(lake_platform::write_object(&a, "t-nobody", "demo-exports", "x", b"x", None).is_err());
        assert!(lake_platform::write_object(&a, &tenant, "demo-exports", &format!("{key}/x"), b"x", None).is_err());
        etag
    })
    .await
    .expect("blocking");
    let key = "telephony/year=2026/month=01/part-00000.parquet";
    let kms = tenant_kms_key(&l.m, &l.t.tenant_id).await;
    let h =
        l.s3.head_object()
            .bucket("demo-exports")
            .key(key)
            .send()
            .await
            .expect("head");
    assert_eq!(h.e_tag(), Some(format!("\"{etag}\"").as_str()));
    assert_eq!(h.content_type(), Some("application/vnd.apache.parquet"));
    assert_eq!(h.ssekms_key_id(), Some(kms.as_str()));
    assert_eq!(
        h.last_modified().map(|t| t.secs()),
        Some(
            chrono::DateTime::parse_from_rfc3339(clients_tests::T0)
                .expect("t0")
                .timestamp()
        )
    );
    assert_eq!(get(&l.s3, "demo-exports", key).await, b"PAR1...PAR1");

    // Retention (D9): a cold object reports GLACIER_IR; an expired one is deleted.
    let a = app.clone();
    let listed = tokio::task::spawn_blocking(move || {
        lake_platform::set_storage_class(&a, "demo-exports", key, "GLACIER_IR").expect("cold");
        lake_platform::list_objects(&a, "demo-exports", "telephony/").expect("list")
    })
    .await
    .expect("blocking");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, key);
    assert_eq!(listed[0].size, 11);
    let out =
        l.s3.list_objects_v2()
            .bucket("demo-exports")
            .send()
            .await
            .expect("list");
    assert_eq!(out.contents()[0].storage_class(), Some(&ObjectStorageClass::GlacierIr));
    assert_eq!(out.contents()[0].e_tag(), Some(format!("\"{etag}\"").as_str()));
    let h =
        l.s3.head_object()
            .bucket("demo-exports")
            .key(key)
            .send()
            .await
            .expect("head");
    assert_eq!(h.storage_class().map(|c| c.as_str()), Some("GLACIER_IR"));
    let a = app.clone();
    tokio::task::spawn_blocking(move || lake_platform::delete_object(&a, "demo-exports", key).expect("delete"))
        .await
        .expect("blocking");
    assert!(keys(&l.s3, "demo-exports", "").await.is_empty());
    assert!(sidecars(&l.m, "demo-exports").is_empty());
}

#[tokio::test]
async fn datalake_dot_segment_keys_cannot_reach_another_bucket() {
    let l = lake("demo-lake").await;
    let (_, acme) = other_tenant(&l.m, "acme").await;
    acme.create_bucket()
        .bucket("acme-lake")
        .send()
        .await
        .expect("acme create");
    put(&acme, "acme-lake", "secret.csv", b"acme data").await;
    for key in ["../acme-lake/secret.csv", "a/../../acme-lake/secret.csv", "a//b", "./x"] {
        let err =
            l.s3.put_object()
                .bucket("demo-lake")
                .key(key)
                .body(ByteStream::from_static(b"overwrite"))
                .send()
                .await
                .expect_err(key);
        assert!([400, 403, 404].contains(&status(&err)), "{key}: {err:?}");
        let err =
            l.s3.get_object()
                .bucket("demo-lake")
                .key(key)
                .send()
                .await
                .expect_err(key);
        assert!([400, 403, 404].contains(&status(&err)), "{key}: {err:?}");
    }
    let err =
        l.s3.copy_object()
            .bucket("demo-lake")
            .key("stolen")
            .copy_source("demo-lake/../acme-lake/secret.csv")
            .send()
            .await
            .expect_err("copy with dot segments");
    assert!([400, 403, 404].contains(&status(&err)), "{err:?}");
    assert_eq!(get(&acme, "acme-lake", "secret.csv").await, b"acme data");
    assert!(keys(&l.s3, "demo-lake", "").await.is_empty());
}

#[tokio::test]
async fn datalake_last_modified_follows_the_mock_clock() {
    let l = lake("demo-lake").await;
    put(&l.s3, "demo-lake", "early", b"1").await;
    l.m.advance("3d").await;
    put(&l.s3, "demo-lake", "late", b"2").await;
    let t0 = chrono::DateTime::parse_from_rfc3339(clients_tests::T0)
        .expect("t0")
        .timestamp();
    let out = l.s3.list_objects_v2().bucket("demo-lake").send().await.expect("list");
    let times: Vec<i64> = out
        .contents()
        .iter()
        .map(|o| o.last_modified().expect("lm").secs())
        .collect();
    assert_eq!(times, [t0, t0 + 3 * 86_400]);
}

/// Flips one byte of an in-memory request body after the request was signed (a corrupted upload).
#[derive(Debug, Clone)]
struct CorruptBody;

impl Intercept for CorruptBody {
    fn name(&self) -> &'static str {
        "CorruptBody"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request_mut();
        let mut bytes = req.body().bytes().ok_or("streaming body")?.to_vec();
        bytes[0] ^= 0xff;
        *req.body_mut() = aws_sdk_s3::primitives::SdkBody::from(bytes);
        Ok(())
    }
}

#[tokio::test]
async fn datalake_body_corrupted_after_signing_is_a_4xx_and_stores_nothing() {
    let l = lake("demo-lake").await;
    put(&l.s3, "demo-lake", "k", b"original").await;
    let err =
        l.s3.put_object()
            .bucket("demo-lake")
            .key("k")
            .body(ByteStream::from_static(b"replacement"))
            .customize()
            .interceptor(CorruptBody)
            .send()
            .await
            .expect_err("corrupted body");
    let code = status(&err);
    assert!((400..500).contains(&code), "{code}: {err:?}");
    assert_eq!(s3_code(&err), "XAmzContentSHA256Mismatch");
    assert_eq!(get(&l.s3, "demo-lake", "k").await, b"original");
}

/// One ListObjectsV2 page: (keys, common prefixes, next continuation token).
async fn page_v2(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    max_keys: i32,
    token: Option<String>,
    start_after: Option<&str>,
) -> (Vec<String>, Vec<String>, Option<String>) {
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_string))
        .max_keys(max_keys)
        .set_continuation_token(token)
        .set_start_after(start_after.map(str::to_string))
        .send()
        .await
        .expect("list v2");
    let keys = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    let prefixes = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix().map(str::to_string))
        .collect();
    assert_eq!(
        out.is_truncated() == Some(true),
        out.next_continuation_token().is_some()
    );
    (keys, prefixes, out.next_continuation_token().map(str::to_string))
}

/// Folder markers someone PUT (pyarrow `create_dir`, the S3 console, rclone `mkdir`) are keys in
/// listings, as in S3: `a/` with size 0 and the empty ETag, and with a delimiter the CommonPrefix
/// of the parent listing, on v1 and v2, with paging and url encoding.
#[tokio::test]
async fn datalake_folder_markers_are_listed_as_s3_lists_them() {
    let l = lake("demo-lake").await;
    let b = "demo-lake";
    for k in ["m/empty/", "m/full/", "m/full/x.bin", "m/y=1/", "m/z.bin"] {
        put(&l.s3, b, k, if k.ends_with('/') { b"" } else { b"data" }).await;
    }
    // Recursive: every key, markers included, sorted.
    let all = ["m/empty/", "m/full/", "m/full/x.bin", "m/y=1/", "m/z.bin"];
    assert_eq!(keys(&l.s3, b, "m/").await, all);
    let out =
        l.s3.list_objects_v2()
            .bucket(b)
            .prefix("m/empty/")
            .send()
            .await
            .expect("list");
    let marker = &out.contents()[0];
    assert_eq!((marker.key(), marker.size()), (Some("m/empty/"), Some(0)));
    assert_eq!(marker.e_tag(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
    // Delimited: markers roll up into their parent's common prefixes; listing the folder itself
    // shows the marker as its only key (an empty directory).
    let (k, p, _) = page_v2(&l.s3, b, "m/", Some("/"), 1000, None, None).await;
    assert_eq!(
        (k, p),
        (
            vec!["m/z.bin".to_string()],
            vec!["m/empty/".into(), "m/full/".into(), "m/y=1/".into()]
        )
    );
    let (k, p, _) = page_v2(&l.s3, b, "m/empty/", Some("/"), 1000, None, None).await;
    assert_eq!((k, p), (vec!["m/empty/".to_string()], vec![]));
    let (k, _, _) = page_v2(&l.s3, b, "m/full/", Some("/"), 1000, None, None).await;
    assert_eq!(k, ["m/full/", "m/full/x.bin"]);

    // Paging by one, recursive and delimited: every entry exactly once, in order.
    for delimiter in [None, Some("/")] {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let (k, p, next) = page_v2(&l.s3, b, "m/", delimiter, 1, token, None).await;
            assert_eq!(k.len() + p.len(), 1, "{delimiter:?}: one entry per page");
            seen.extend(k);
            seen.extend(p);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let want: Vec<&str> = match delimiter {
            None => all.to_vec(),
            Some(_) => vec!["m/empty/", "m/full/", "m/y=1/", "m/z.bin"],
        };
        assert_eq!(seen, want, "{delimiter:?}");
    }
    // start-after a marker key: the keys after it.
    let (k, _, _) = page_v2(&l.s3, b, "m/", None, 1000, None, Some("m/full/")).await;
    assert_eq!(k, ["m/full/x.bin", "m/y=1/", "m/z.bin"]);

    // v1 with a marker and max-keys: NextMarker (with a delimiter) resumes after a common prefix.
    let out =
        l.s3.list_objects()
            .bucket(b)
            .prefix("m/")
            .delimiter("/")
            .max_keys(2)
            .send()
            .await
            .expect("v1");
    let p: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(
        (p, out.is_truncated(), out.next_marker()),
        (vec!["m/empty/", "m/full/"], Some(true), Some("m/full/"))
    );
    let out =
        l.s3.list_objects()
            .bucket(b)
            .prefix("m/")
            .delimiter("/")
            .marker("m/full/")
            .send()
            .await
            .expect("v1 page 2");
    let p: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    let k: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        (p, k, out.is_truncated()),
        (vec!["m/y=1/"], vec!["m/z.bin"], Some(false))
    );
    let out =
        l.s3.list_objects()
            .bucket(b)
            .prefix("m/")
            .marker("m/empty/")
            .send()
            .await
            .expect("v1");
    let k: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(k, &all[1..]);

    // encoding-type=url: the marker key comes back encoded like any key.
    let out =
        l.s3.list_objects_v2()
            .bucket(b)
            .prefix("m/y")
            .encoding_type(EncodingType::Url)
            .send()
            .await
            .expect("url");
    let k: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(k, ["m/y%3D1/"]);

    // Deleting the marker removes it from listings; the folder with a file keeps only the file.
    l.s3.delete_object()
        .bucket(b)
        .key("m/empty/")
        .send()
        .await
        .expect("delete marker");
    l.s3.delete_object()
        .bucket(b)
        .key("m/full/")
        .send()
        .await
        .expect("delete marker");
    assert_eq!(keys(&l.s3, b, "m/").await, ["m/full/x.bin", "m/y=1/", "m/z.bin"]);
}

#[tokio::test]
async fn datalake_d8_a_deleted_bucket_name_claimed_by_another_tenant_changes_hands_at_once() {
    // Both tenants touch the name first, so the server has seen (and may cache) who owns it.
    let l = lake("demo-lake").await;
    let (_, acme) = other_tenant(&l.m, "acme").await;
    l.s3.create_bucket()
        .bucket("shared-name")
        .send()
        .await
        .expect("demo creates");
    put(&l.s3, "shared-name", "a.csv", b"demo data").await;
    let err = acme
        .get_object()
        .bucket("shared-name")
        .key("a.csv")
        .send()
        .await
        .expect_err("acme refused");
    assert_eq!(s3_code(&err), "AccessDenied");
    l.s3.delete_object()
        .bucket("shared-name")
        .key("a.csv")
        .send()
        .await
        .expect("delete");
    l.s3.delete_bucket()
        .bucket("shared-name")
        .send()
        .await
        .expect("demo deletes the bucket");
    acme.create_bucket()
        .bucket("shared-name")
        .send()
        .await
        .expect("acme claims the name");
    put(&acme, "shared-name", "b.csv", b"acme data").await;
    let err =
        l.s3.get_object()
            .bucket("shared-name")
            .key("b.csv")
            .send()
            .await
            .expect_err("demo refused now");
    assert_eq!(s3_code(&err), "AccessDenied");
}

/// Found by ceph/s3-tests (docs/reliability.md): S3 refuses a copy of an object onto itself that
/// changes nothing (400 InvalidRequest) and accepts one that replaces the metadata; ListObjects
/// (v1) always carries `Marker`, empty without one.
#[tokio::test]
async fn datalake_copy_onto_itself_needs_a_change_and_v1_listing_carries_marker() {
    let l = lake("self-lake").await;
    put(&l.s3, "self-lake", "a.csv", b"x,y\n").await;
    let err =
        l.s3.copy_object()
            .bucket("self-lake")
            .key("a.csv")
            .copy_source("self-lake/a.csv")
            .send()
            .await
            .expect_err("copy onto itself, nothing changed");
    assert_eq!((status(&err), s3_code(&err).as_str()), (400, "InvalidRequest"));
    l.s3.copy_object()
        .bucket("self-lake")
        .key("a.csv")
        .copy_source("self-lake/a.csv")
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .content_type("text/csv")
        .send()
        .await
        .expect("copy onto itself replacing the metadata");
    let head =
        l.s3.head_object()
            .bucket("self-lake")
            .key("a.csv")
            .send()
            .await
            .expect("head");
    assert_eq!(head.content_type(), Some("text/csv"));
    assert_eq!(get(&l.s3, "self-lake", "a.csv").await, b"x,y\n");
    let v1 = l.s3.list_objects().bucket("self-lake").send().await.expect("list v1");
    assert_eq!(v1.marker(), Some(""), "Marker present and empty");
}

/// Conditional writes (delta-rs, object_store and Spark commit protocols rely on them): checked
/// under the key's lock by `lake_write`, with S3's answers — `If-None-Match: *` on an existing
/// key 412, `If-Match` on a missing key 404 NoSuchKey, on a stale ETag 412; nothing is stored.
#[tokio::test]
async fn datalake_conditional_puts_answer_as_s3_and_store_nothing_when_refused() {
    let l = lake("cond-lake").await;
    let first =
        l.s3.put_object()
            .bucket("cond-lake")
            .key("log/0.json")
            .if_none_match("*")
            .body(b"v0".to_vec().into())
            .send()
            .await
            .expect("create only: the key is new");
    let err =
        l.s3.put_object()
            .bucket("cond-lake")
            .key("log/0.json")
            .if_none_match("*")
            .body(b"v1".to_vec().into())
            .send()
            .await
            .expect_err("create only: the key exists");
    assert_eq!((status(&err), s3_code(&err).as_str()), (412, "PreconditionFailed"));
    let err =
        l.s3.put_object()
            .bucket("cond-lake")
            .key("log/missing.json")
            .if_match(first.e_tag().expect("etag"))
            .body(b"v1".to_vec().into())
            .send()
            .await
            .expect_err("if-match on a missing key");
    assert_eq!((status(&err), s3_code(&err).as_str()), (404, "NoSuchKey"));
    let err =
        l.s3.put_object()
            .bucket("cond-lake")
            .key("log/0.json")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .body(b"v1".to_vec().into())
            .send()
            .await
            .expect_err("stale etag");
    assert_eq!(status(&err), 412);
    assert_eq!(get(&l.s3, "cond-lake", "log/0.json").await, b"v0");
    assert_eq!(keys(&l.s3, "cond-lake", "log/").await, vec!["log/0.json".to_string()]);
    l.s3.put_object()
        .bucket("cond-lake")
        .key("log/0.json")
        .if_match(first.e_tag().expect("etag"))
        .body(b"v1".to_vec().into())
        .send()
        .await
        .expect("replace the version we read");
    assert_eq!(get(&l.s3, "cond-lake", "log/0.json").await, b"v1");
}
