//! The `object_store` crate (0.14, `aws` feature) — what DataFusion, delta-rs, polars' Rust core
//! and most Rust data tools use for S3 — against mock-cxone, configured as users do:
//! `AmazonS3Builder` with the endpoint, `allow_http` (the mock serves plain HTTP here), the
//! bucket, static credentials and region us-east-1; path-style (object_store's default).
//! Data lake: every write and read users do, conditional create, and a Data Download export
//! checked against the job's checksums (D3/D6). SEA (S2): list, get, ranges; writes refused.

use clients_tests::{sha256_hex, split_uri, start, Mock};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use reqwest::Method;
use serde_json::{json, Value};

const LAKE: &str = "demo-lake";
const SEA: &str = "cxone-sea";

/// The builder settings a user writes for mock-cxone.
fn store(m: &Mock, bucket: &str, key: &str, secret: &str) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(m.handle.s3_url())
        // The mock's S3 listener is plain HTTP unless started with TLS; object_store refuses
        // http:// endpoints without this.
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_access_key_id(key)
        .with_secret_access_key(secret)
        .with_region("us-east-1")
        .build()
        .expect("object_store builds")
}

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

/// A mock, and an object_store on the demo tenant's bucket [`LAKE`] (created with aws-sdk-s3:
/// object_store cannot create buckets).
async fn lake() -> (Mock, AmazonS3) {
    let m = start().await;
    let (k, s) = lake_keys(&m).await;
    m.s3(&k, &s)
        .create_bucket()
        .bucket(LAKE)
        .send()
        .await
        .expect("create bucket");
    let st = store(&m, LAKE, &k, &s);
    (m, st)
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn get(st: &AmazonS3, p: &Path) -> Vec<u8> {
    st.get(p).await.expect("get").bytes().await.expect("body").to_vec()
}

async fn list(st: &AmazonS3, prefix: Option<&Path>) -> Vec<String> {
    let mut v: Vec<String> = st
        .list(prefix)
        .map_ok(|o| o.location.to_string())
        .try_collect()
        .await
        .expect("list");
    v.sort();
    v
}

#[tokio::test]
async fn object_store_lake_put_get_range_head_delete() {
    let (_m, st) = lake().await;
    let p = Path::from("tables/calls/part-0.csv");
    let body = bytes(4096, 1);
    let put = st.put(&p, PutPayload::from(body.clone())).await.expect("put");
    assert!(put.e_tag.is_some(), "PutObject answers an ETag");
    assert_eq!(get(&st, &p).await, body);
    assert_eq!(
        st.get_range(&p, 100..356).await.expect("range").to_vec(),
        body[100..356]
    );
    // get_ranges coalesces into ranged GETs as parquet readers do.
    let parts = st.get_ranges(&p, &[0..4, 4090..4096]).await.expect("ranges");
    assert_eq!(parts[0].to_vec(), body[0..4]);
    assert_eq!(parts[1].to_vec(), body[4090..4096]);
    let head = st.head(&p).await.expect("head");
    assert_eq!(head.size, 4096);
    assert_eq!(head.e_tag, put.e_tag);
    assert_eq!(head.location, p);
    st.delete(&p).await.expect("delete");
    assert!(matches!(st.head(&p).await, Err(Error::NotFound { .. })));
    assert!(matches!(st.get(&p).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn object_store_lake_put_multipart_three_parts_reads_back() {
    let (_m, st) = lake().await;
    let p = Path::from("big/blob.bin");
    let parts = [bytes(5 << 20, 2), bytes(5 << 20, 3), bytes(1000, 4)];
    let mut up = st.put_multipart(&p).await.expect("create multipart");
    for part in &parts {
        up.put_part(PutPayload::from(part.clone())).await.expect("part");
    }
    let done = up.complete().await.expect("complete");
    let etag = done.e_tag.expect("etag");
    assert!(etag.ends_with("-3\""), "multipart ETag form: {etag}");
    let all = parts.concat();
    let got = get(&st, &p).await;
    assert_eq!(got.len(), all.len());
    assert_eq!(sha256_hex(&got), sha256_hex(&all));
    // A range across the first part boundary.
    let r = (5 << 20) - 10..(5 << 20) + 10;
    assert_eq!(
        st.get_range(&p, r.clone()).await.expect("range").to_vec(),
        all[r.start as usize..r.end as usize]
    );
    assert_eq!(st.head(&p).await.expect("head").size, all.len() as u64);
}

#[tokio::test]
async fn object_store_lake_list_with_prefix_and_delimiter() {
    let (_m, st) = lake().await;
    for k in [
        "exports/cdr/year=2026/month=01/a.parquet",
        "exports/cdr/year=2026/month=02/b.parquet",
        "exports/cdr/top.json",
        "exports/acd/c.parquet",
        "other.txt",
    ] {
        st.put(&Path::from(k), PutPayload::from(k.as_bytes().to_vec()))
            .await
            .expect("put");
    }
    assert_eq!(
        list(&st, Some(&Path::from("exports/cdr"))).await,
        [
            "exports/cdr/top.json",
            "exports/cdr/year=2026/month=01/a.parquet",
            "exports/cdr/year=2026/month=02/b.parquet",
        ]
    );
    assert_eq!(list(&st, None).await.len(), 5);
    let r = st
        .list_with_delimiter(Some(&Path::from("exports/cdr")))
        .await
        .expect("list with delimiter");
    let prefixes: Vec<String> = r.common_prefixes.iter().map(Path::to_string).collect();
    assert_eq!(prefixes, ["exports/cdr/year=2026"]);
    let objects: Vec<String> = r.objects.iter().map(|o| o.location.to_string()).collect();
    assert_eq!(objects, ["exports/cdr/top.json"]);
    assert_eq!(r.objects[0].size, "exports/cdr/top.json".len() as u64);
    assert!(r.objects[0].e_tag.is_some(), "listings carry ETags");
    let root = st.list_with_delimiter(None).await.expect("root");
    let prefixes: Vec<String> = root.common_prefixes.iter().map(Path::to_string).collect();
    assert_eq!(prefixes, ["exports"]);
    assert_eq!(root.objects.len(), 1);
}

#[tokio::test]
async fn object_store_lake_copy_keeps_bytes_and_source() {
    let (_m, st) = lake().await;
    let (from, to) = (Path::from("src/a.bin"), Path::from("dst/a copy.bin"));
    let body = bytes(70_000, 9);
    st.put(&from, PutPayload::from(body.clone())).await.expect("put");
    st.copy(&from, &to).await.expect("copy");
    assert_eq!(get(&st, &to).await, body);
    assert_eq!(get(&st, &from).await, body);
    st.rename(&to, &Path::from("dst/renamed.bin"))
        .await
        .expect("rename = copy + delete");
    assert_eq!(list(&st, Some(&Path::from("dst"))).await, ["dst/renamed.bin"]);
}

#[tokio::test]
async fn object_store_lake_put_mode_create_refuses_an_existing_key_with_already_exists() {
    let (_m, st) = lake().await;
    let p = Path::from("locks/_delta_log/00000.json");
    let create = || PutOptions::from(PutMode::Create);
    st.put_opts(&p, PutPayload::from_static(b"first"), create())
        .await
        .expect("create a new key");
    let err = st
        .put_opts(&p, PutPayload::from_static(b"second"), create())
        .await
        .expect_err("If-None-Match: * on an existing key");
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert_eq!(get(&st, &p).await, b"first", "the refused put stored nothing");
    // Update with the current ETag succeeds (If-Match), a stale one is a precondition failure.
    let head = st.head(&p).await.expect("head");
    let v = object_store::UpdateVersion {
        e_tag: head.e_tag.clone(),
        version: None,
    };
    st.put_opts(&p, PutPayload::from_static(b"third"), PutMode::Update(v.clone()).into())
        .await
        .expect("If-Match with the current ETag");
    let err = st
        .put_opts(&p, PutPayload::from_static(b"fourth"), PutMode::Update(v).into())
        .await
        .expect_err("stale ETag");
    assert!(matches!(err, Error::Precondition { .. }), "{err:?}");
    assert_eq!(get(&st, &p).await, b"third");
}

#[tokio::test]
async fn object_store_lake_d3_d6_reads_a_data_download_export_and_matches_its_checksums() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let bucket = "org-cxone-data-lake";
    let d = m
        .create_download(
            &tok,
            json!({
                "category": "telephony",
                "data_types": ["cdr", "acd"],
                "format": "parquet",
                "compression": "zstd",
                "partitioning": {"enabled": true, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
                "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
                "destination": {"type": "aws_s3", "bucket": bucket, "prefix": "exports/telephony/"}
            }),
        )
        .await;
    m.advance("2h").await;
    let tok = m.token(&m.demo()).await;
    let jobs = m.jobs(&tok, d["id"].as_str().expect("id"), "status=COMPLETED").await;
    let job = jobs.first().expect("a completed job");
    let (k, s) = lake_keys(&m).await;
    let st = store(&m, bucket, &k, &s);
    let files = job["output_files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    let listed = list(&st, Some(&Path::from("exports/telephony"))).await;
    for uri in files {
        let uri = uri.as_str().expect("uri");
        let (b, key) = split_uri(uri);
        assert_eq!(b, bucket);
        // Keys carry `=` (Hive partitions); object_store sends them as S3 expects.
        let p = Path::parse(&key).expect("a valid object_store path");
        assert!(listed.contains(&key), "{key} listed in {listed:?}");
        let got = get(&st, &p).await;
        assert_eq!(job["checksums"][uri], format!("sha256:{}", sha256_hex(&got)));
        assert_eq!(&got[..4], b"PAR1");
        // A parquet reader's first request: the footer by a suffix-style range.
        let size = st.head(&p).await.expect("head").size;
        let tail = st.get_range(&p, size - 8..size).await.expect("footer");
        assert_eq!(&tail[4..], b"PAR1");
    }
}

/// A mock with two SEA files placed for the demo tenant: (mock, SEA store, tenant prefix,
/// the SEA credentials body).
async fn sea() -> (Mock, AmazonS3, String, Value) {
    let m = start().await;
    let t = m.demo();
    let tok = m.token(&t).await;
    let creds = m.sea_credentials(&tok).await;
    m.rule(&tok, json!({"name": "r", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    m.recordings(&t.tenant_id, json!({"count": 2})).await;
    m.advance("1d").await;
    let st = store(
        &m,
        SEA,
        creds["access_key_id"].as_str().expect("key"),
        creds["secret_access_key"].as_str().expect("secret"),
    );
    let prefix = creds["prefix"].as_str().expect("prefix").to_string();
    (m, st, prefix, creds)
}

#[tokio::test]
async fn object_store_sea_s2_list_get_and_range_in_the_tenant_folder() {
    let (m, st, prefix, creds) = sea().await;
    let folder = Path::from(prefix.trim_end_matches('/'));
    let keys = list(&st, Some(&folder)).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter().all(|k| k.starts_with(&prefix) && k.ends_with(".mp4")),
        "{keys:?}"
    );
    let r = st.list_with_delimiter(Some(&folder)).await.expect("delimited");
    assert!(r.common_prefixes.is_empty(), "the tenant folder is flat");
    let mut delimited: Vec<String> = r.objects.iter().map(|o| o.location.to_string()).collect();
    delimited.sort();
    assert_eq!(delimited, keys);
    let p = Path::parse(&keys[0]).expect("path");
    let body = get(&st, &p).await;
    assert!(body.len() > 200);
    // The same bytes as aws-sdk-s3 reads.
    let sdk = clients_tests::get_object(&m.sea_client(&creds), &format!("s3://{SEA}/{}", keys[0])).await;
    assert_eq!(body, sdk);
    let n = body.len() as u64;
    assert_eq!(st.head(&p).await.expect("head").size, n);
    assert_eq!(st.get_range(&p, 10..110).await.expect("range").to_vec(), body[10..110]);
    assert_eq!(
        st.get_range(&p, n - 16..n).await.expect("tail").to_vec(),
        body[body.len() - 16..]
    );
}

#[tokio::test]
async fn object_store_sea_s2_put_is_refused_and_stores_nothing() {
    let (_m, st, prefix, _) = sea().await;
    let p = Path::from(format!("{prefix}upload.txt"));
    let err = st
        .put(&p, PutPayload::from_static(b"no"))
        .await
        .expect_err("SEA is read-only");
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
    let err = st.put_multipart(&p).await.expect_err("multipart refused too");
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
    assert!(matches!(st.head(&p).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn object_store_lake_bulk_delete_list_with_offset_and_conditional_get() {
    let (_m, st) = lake().await;
    // delta-rs lists its log after the last version it knows (start-after).
    for v in 0..4 {
        let p = Path::from(format!("tbl/_delta_log/{v:020}.json"));
        st.put(&p, PutPayload::from(format!("{{\"v\":{v}}}").into_bytes()))
            .await
            .expect("put");
    }
    let after: Vec<String> = st
        .list_with_offset(
            Some(&Path::from("tbl/_delta_log")),
            &Path::from(format!("tbl/_delta_log/{:020}.json", 1)),
        )
        .map_ok(|o| o.location.to_string())
        .try_collect()
        .await
        .expect("list with offset");
    assert_eq!(
        after,
        [
            format!("tbl/_delta_log/{:020}.json", 2),
            format!("tbl/_delta_log/{:020}.json", 3)
        ]
    );
    // Conditional GET: the ETag a reader cached.
    let p = Path::from(format!("tbl/_delta_log/{:020}.json", 0));
    let etag = st.head(&p).await.expect("head").e_tag.expect("etag");
    let opts = object_store::GetOptions {
        if_none_match: Some(etag.clone()),
        ..Default::default()
    };
    let r = st.get_opts(&p, opts).await;
    assert!(matches!(r, Err(Error::NotModified { .. })), "{r:?}");
    let opts = object_store::GetOptions {
        if_match: Some("\"0000\"".into()),
        ..Default::default()
    };
    let r = st.get_opts(&p, opts).await;
    assert!(matches!(r, Err(Error::Precondition { .. })), "{r:?}");
    // Bulk delete (DeleteObjects), as DataFusion and delta-rs vacuum do.
    let all = st.list(Some(&Path::from("tbl"))).map_ok(|o| o.location).boxed();
    let deleted: Vec<Path> = st.delete_stream(all).try_collect().await.expect("bulk delete");
    assert_eq!(deleted.len(), 4);
    assert!(list(&st, Some(&Path::from("tbl"))).await.is_empty());
}

#[tokio::test]
async fn object_store_lake_with_checksum_algorithm_sha256_and_crc64nvme() {
    use object_store::aws::Checksum;
    let m = start().await;
    let (k, s) = lake_keys(&m).await;
    m.s3(&k, &s)
        .create_bucket()
        .bucket(LAKE)
        .send()
        .await
        .expect("create bucket");
    for alg in [Checksum::SHA256, Checksum::CRC64NVME] {
        // Users who want integrity checks on upload set this (object_store sends no checksum
        // by default).
        let st = AmazonS3Builder::new()
            .with_endpoint(m.handle.s3_url())
            .with_allow_http(true)
            .with_bucket_name(LAKE)
            .with_access_key_id(&k)
            .with_secret_access_key(&s)
            .with_region("us-east-1")
            .with_checksum_algorithm(alg)
            .build()
            .expect("store");
        let p = Path::from(format!("sums/{alg:?}/one.bin"));
        let body = bytes(70_000, 3);
        st.put(&p, PutPayload::from(body.clone())).await.expect("put");
        assert_eq!(get(&st, &p).await, body);
        let p = Path::from(format!("sums/{alg:?}/mpu.bin"));
        let mut up = st.put_multipart(&p).await.expect("create");
        let parts = [bytes(5 << 20, 1), bytes(999, 2)];
        for part in &parts {
            up.put_part(PutPayload::from(part.clone())).await.expect("part");
        }
        up.complete().await.expect("complete");
        assert_eq!(sha256_hex(&get(&st, &p).await), sha256_hex(&parts.concat()));
    }
}
