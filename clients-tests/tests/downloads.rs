//! Data Download end to end (CONTRACT §4, D1-D9): configurations through reqwest, exports read
//! back through aws-sdk-s3 with data-lake credentials and decoded with the `parquet` crate.

use std::collections::BTreeSet;

use arrow_array::RecordBatch;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use clients_tests::{frozen, get_object, s3_code, sha256_hex, split_uri, start, start_with, Mock, T0};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reqwest::Method;
use serde_json::{json, Value};

fn telephony(bucket: &str) -> Value {
    json!({
        "category": "telephony",
        "data_types": ["cdr", "acd", "skill_group"],
        "format": "parquet",
        "compression": "zstd",
        "partitioning": {"enabled": true, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {"type": "aws_s3", "bucket": bucket, "prefix": "exports/telephony/"}
    })
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

fn ts(v: &Value) -> DateTime<Utc> {
    t(v.as_str().expect("timestamp string"))
}

fn read_parquet(bytes: Vec<u8>) -> (Vec<RecordBatch>, arrow_schema::SchemaRef) {
    let b = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).expect("parquet file");
    let schema = b.schema().clone();
    let batches = b
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("batches");
    (batches, schema)
}

async fn setup() -> (Mock, String, Value) {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let d = m.create_download(&tok, telephony("org-cxone-data-lake")).await;
    (m, tok, d)
}

#[tokio::test]
async fn d5_hourly_jobs_start_after_finalisation_and_offset() {
    let (m, _, d) = setup().await;
    assert_eq!(d["status"], "active");
    assert!(d["id"].as_str().expect("id").starts_with("dl-"));
    m.advance("3h").await;
    let tok = m.token(&m.demo()).await;
    let jobs = m.jobs(&tok, d["id"].as_str().expect("id"), "").await;
    let done: Vec<&Value> = jobs.iter().filter(|j| j["status"] == "COMPLETED").collect();
    assert_eq!(done.len(), 2, "00-01 and 01-02 have run by 03:00: {jobs:#?}");
    for (i, j) in done.iter().enumerate() {
        let start = t(T0) + chrono::Duration::hours(i as i64);
        assert_eq!(ts(&j["interval_start"]), start);
        assert_eq!(ts(&j["interval_end"]), start + chrono::Duration::hours(1));
        let wait = ts(&j["start_time"]) - ts(&j["interval_end"]);
        assert!(
            wait >= chrono::Duration::minutes(20) && wait <= chrono::Duration::minutes(25),
            "{wait}"
        );
        let run = ts(&j["end_time"]) - ts(&j["start_time"]);
        assert!(
            run > chrono::Duration::zero() && run <= chrono::Duration::minutes(5),
            "{run}"
        );
        assert!(j["id"].as_str().expect("id").starts_with("job-"));
        assert_eq!(j["output_files"].as_array().expect("files").len(), 3);
        assert_eq!(j["manifests"].as_array().expect("manifests").len(), 3);
        assert!(j["error_details"].is_null());
    }
    // The interval 02-03 has ended but is not final until 03:15 at the earliest.
    assert!(jobs
        .iter()
        .all(|j| ts(&j["interval_start"]) < t("2026-01-01T03:00:00Z")));
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[2]["status"], "PENDING");
    assert!(jobs[2]["end_time"].is_null());
}

#[tokio::test]
async fn d3_d4_d6_files_manifests_and_checksums_read_back_with_real_clients() {
    let (m, _, d) = setup().await;
    m.advance("2h").await;
    let tok2 = m.token(&m.demo()).await;
    let jobs = m.jobs(&tok2, d["id"].as_str().expect("id"), "status=COMPLETED").await;
    let job = jobs.first().expect("one completed job");
    let s3 = m.lake_client(&tok2).await;
    let mut total = 0u64;
    for uri in job["output_files"].as_array().expect("files") {
        let uri = uri.as_str().expect("uri");
        let (bucket, key) = split_uri(uri);
        assert_eq!(bucket, "org-cxone-data-lake");
        assert!(
            key.starts_with("exports/telephony/")
                && key.ends_with("/year=2026/month=01/day=01/hour=00/part-00000.parquet"),
            "{key}"
        );
        let bytes = get_object(&s3, uri).await;
        assert_eq!(job["checksums"][uri], format!("sha256:{}", sha256_hex(&bytes)));
        let data_type = key.split('/').nth(2).expect("data type folder").to_string();
        let (batches, schema) = read_parquet(bytes.clone());
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows as u64, job["record_counts"][&data_type].as_u64().expect("count"));
        total += rows as u64;
        for f in schema.fields() {
            if let arrow_schema::DataType::Timestamp(unit, tz) = f.data_type() {
                assert_eq!(*unit, arrow_schema::TimeUnit::Microsecond, "{}", f.name());
                assert_eq!(tz.as_deref(), Some("UTC"), "{}", f.name());
            }
        }
        // The manifest of the same partition lists the file with the same hash and row count.
        let folder = key.rsplit_once('/').expect("folder").0;
        let manifest_uri = format!(
            "s3://{bucket}/{folder}/_manifest-{}.json",
            job["id"].as_str().expect("id")
        );
        assert!(job["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .any(|u| u == &manifest_uri));
        let manifest: Value = serde_json::from_slice(&get_object(&s3, &manifest_uri).await).expect("manifest json");
        assert_eq!(manifest["job_id"], job["id"]);
        assert_eq!(manifest["download_id"], d["id"]);
        assert_eq!(manifest["data_type"], data_type.as_str());
        assert_eq!(manifest["files"][0]["key"], key.as_str());
        assert_eq!(manifest["files"][0]["sha256"], sha256_hex(&bytes));
        assert_eq!(manifest["files"][0]["rows"], rows as u64);
        assert_eq!(manifest["record_count"], rows as u64);
        assert!(manifest["schema_version"].as_u64().is_some());
        assert_eq!(manifest["interval_start"], job["interval_start"]);
    }
    assert_eq!(job["record_count"].as_u64(), Some(total));
    assert!(total > 0, "a night hour still has some contacts");
}

#[tokio::test]
async fn d3_parquet_drops_all_null_columns_and_csv_keeps_every_column() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let schemas: Value = m
        .api(Method::GET, "/api/v2/data-downloads/schemas", &tok)
        .send()
        .await
        .expect("schemas")
        .json()
        .await
        .expect("json");
    let mut dropped_somewhere = false;
    for category in ["telephony", "digital"] {
        let tok = m.token(&m.demo()).await;
        let mut ids = Vec::new();
        for format in ["parquet", "csv"] {
            let body = json!({
                "category": category, "format": format,
                "schedule": {"frequency": "DAILY", "offset_minutes": 0},
                "destination": {"type": "aws_s3", "bucket": format!("lake-{format}-{}", category.len()), "prefix": ""}
            });
            ids.push(
                m.create_download(&tok, body).await["id"]
                    .as_str()
                    .expect("id")
                    .to_string(),
            );
        }
        m.advance("2d").await;
        let tok = m.token(&m.demo()).await;
        let s3 = m.lake_client(&tok).await;
        for (format, id) in ["parquet", "csv"].iter().zip(&ids) {
            let jobs = m.jobs(&tok, id, "status=COMPLETED").await;
            assert!(!jobs.is_empty(), "{category} {format}");
            for uri in jobs[0]["output_files"].as_array().expect("files") {
                let uri = uri.as_str().expect("uri");
                let data_type = split_uri(uri).1.split('/').next().expect("folder").to_string();
                let declared: Vec<String> = schemas["categories"][category]["data_types"][&data_type]["columns"]
                    .as_array()
                    .expect("columns")
                    .iter()
                    .map(|c| c["name"].as_str().expect("name").to_string())
                    .collect();
                let bytes = get_object(&s3, uri).await;
                if *format == "csv" {
                    let text = String::from_utf8(bytes).expect("utf-8 csv");
                    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
                    assert_eq!(header, declared, "CSV keeps every column (D3)");
                } else {
                    let (_, schema) = read_parquet(bytes);
                    let got: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
                    assert!(got.iter().all(|c| declared.contains(c)));
                    dropped_somewhere |= got.len() < declared.len();
                }
            }
        }
    }
    assert!(
        dropped_somewhere,
        "some data type has an all-null column that Parquet drops (D3)"
    );
}

#[tokio::test]
async fn d1_scopes_guard_the_download_api() {
    let m = start().await;
    let reader = m
        .tenant(json!({"name": "reader", "scopes": ["data-download:read"]}))
        .await;
    let tok = m.token(&reader).await;
    let r = m
        .api(Method::POST, "/api/v2/data-downloads", &tok)
        .json(&telephony("reader-lake"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    let r = m
        .api(Method::GET, "/api/v2/data-downloads", &tok)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let writer = m
        .tenant(json!({"name": "storage-only", "scopes": ["storage:manage"]}))
        .await;
    let tok = m.token(&writer).await;
    let r = m
        .api(Method::GET, "/api/v2/data-downloads", &tok)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
    let r = m.http.get(m.url("/api/v2/data-downloads")).send().await.expect("get");
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn d2_schemas_document_six_categories_with_keys_event_time_and_last_update_time() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let v: Value = m
        .api(Method::GET, "/api/v2/data-downloads/schemas", &tok)
        .send()
        .await
        .expect("schemas")
        .json()
        .await
        .expect("json");
    let cats = v["categories"].as_object().expect("categories");
    let names: BTreeSet<&str> = cats.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "telephony",
            "workforce_management",
            "speech",
            "ivr",
            "digital",
            "quality_management"
        ])
    );
    for (name, c) in cats {
        let types = c["data_types"].as_object().expect("data_types");
        assert!(types.len() >= 2, "{name} has several data types");
        for (dt, s) in types {
            let cols: Vec<&str> = s["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .map(|c| c["name"].as_str().expect("name"))
                .collect();
            assert!(cols.contains(&"last_update_time"), "{name}/{dt}");
            assert!(
                cols.contains(&s["event_time_column"].as_str().expect("event time")),
                "{name}/{dt}"
            );
            let keys = s["key_columns"].as_array().expect("keys");
            assert!(!keys.is_empty() && keys.iter().all(|k| cols.contains(&k.as_str().expect("key"))));
            assert!(s["version"].as_u64().is_some());
        }
    }
    let cdr_keys = &v["categories"]["telephony"]["data_types"]["cdr"]["key_columns"];
    assert_eq!(cdr_keys[0], "call_uuid");
}

#[tokio::test]
async fn bad_download_bodies_are_400_and_change_nothing() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let good = telephony("bad-input-lake");
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut with = |path: &[&str], v: Value, needle: &'static str| {
        let mut b = good.clone();
        let mut cur = &mut b;
        for p in &path[..path.len() - 1] {
            cur = &mut cur[*p];
        }
        cur[path[path.len() - 1]] = v;
        cases.push((b, needle));
    };
    with(&["category"], json!("billing"), "unknown category");
    with(&["data_types"], json!(["cdr", "ivr_session"]), "unknown data type");
    with(&["data_types"], json!(["cdr", "cdr"]), "twice");
    with(&["format"], json!("avro"), "unknown format");
    with(&["compression"], json!("lz4"), "unknown compression");
    with(
        &["partitioning", "structure"],
        json!("year={YYYY}"),
        "partitioning.structure",
    );
    with(&["schedule", "offset_minutes"], json!(60), "0-59");
    with(&["schedule", "offset_minutes"], json!(-1), "0-59");
    with(&["schedule", "frequency"], json!("MINUTELY"), "frequency");
    with(&["destination", "type"], json!("gcs"), "destination.type");
    with(&["destination", "bucket"], json!("Bad_Bucket"), "destination.bucket");
    with(&["destination", "prefix"], json!("exports"), "destination.prefix");
    with(
        &["destination", "access_key_id"],
        json!("AKIA"),
        "only for an external endpoint",
    );
    with(
        &["retention"],
        json!({"days": 30, "cold_after_days": 90}),
        "cold_after_days",
    );
    with(&["surprise"], json!(1), "unknown field");
    let mut csv = good.clone();
    csv["format"] = json!("csv");
    cases.push((csv, "Parquet only"));
    for (body, needle) in cases {
        let r = m
            .api(Method::POST, "/api/v2/data-downloads", &tok)
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.expect("json error");
        let msg = e["error"]["message"].as_str().expect("message");
        assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
    }
    let r = m
        .api(Method::POST, "/api/v2/data-downloads", &tok)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let list: Value = m
        .api(Method::GET, "/api/v2/data-downloads", &tok)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["data_downloads"].as_array().map(Vec::len), Some(0));
    let r = m
        .api(Method::GET, "/api/v2/data-downloads/dl-nope", &tok)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn d6_jobs_filters_and_pagination() {
    let (m, _, d) = setup().await;
    let id = d["id"].as_str().expect("id");
    m.advance("6h").await;
    let tok = m.token(&m.demo()).await;
    let all = m.jobs(&tok, id, "").await;
    assert_eq!(all.len(), 6, "intervals 00..06 have jobs by 06:00");
    // Page by page, two at a time, the same jobs in the same order.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let v: Value = m
            .api(
                Method::GET,
                &format!("/api/v2/data-downloads/{id}/jobs?page_size=2&page_token={token}"),
                &tok,
            )
            .send()
            .await
            .expect("page")
            .json()
            .await
            .expect("json");
        let page = v["jobs"].as_array().expect("jobs").clone();
        assert!(page.len() <= 2);
        paged.extend(page);
        match v["next_page_token"].as_str() {
            Some(t) => token = t.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, all);
    let done = m.jobs(&tok, id, "status=COMPLETED&category=telephony").await;
    assert_eq!(done.len(), 5);
    let window = m
        .jobs(
            &tok,
            id,
            "start_time=2026-01-01T01:00:00Z&end_time=2026-01-01T03:00:00Z",
        )
        .await;
    assert_eq!(window.len(), 2);
    let one: Value = m
        .api(
            Method::GET,
            &format!(
                "/api/v2/data-downloads/{id}/jobs/{}",
                all[0]["id"].as_str().expect("id")
            ),
            &tok,
        )
        .send()
        .await
        .expect("job")
        .json()
        .await
        .expect("json");
    assert_eq!(one, all[0]);
    for bad in [
        "status=DONE",
        "category=billing",
        "page_size=0",
        "page_token=zzz",
        "start_time=yesterday",
        "color=red",
    ] {
        let r = m
            .api(Method::GET, &format!("/api/v2/data-downloads/{id}/jobs?{bad}"), &tok)
            .send()
            .await
            .expect("jobs");
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = m
        .api(Method::GET, &format!("/api/v2/data-downloads/{id}/jobs/job-nope"), &tok)
        .send()
        .await
        .expect("job");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn d7_manual_export_never_overwrites_and_honours_destination_prefix() {
    let (m, _, d) = setup().await;
    let id = d["id"].as_str().expect("id");
    m.advance("2h").await;
    let tok2 = m.token(&m.demo()).await;
    let first = m.jobs(&tok2, id, "status=COMPLETED").await[0].clone();
    let s3 = m.lake_client(&tok2).await;
    let original_uri = first["output_files"][0].as_str().expect("uri").to_string();
    let original = get_object(&s3, &original_uri).await;

    let export = |body: Value| {
        let m = &m;
        let tok2 = tok2.clone();
        async move {
            m.api(
                Method::POST,
                &format!("/api/v2/data-downloads/{id}/manual-export"),
                &tok2,
            )
            .json(&body)
            .send()
            .await
            .expect("manual export")
        }
    };
    let r = export(json!({"category": "telephony", "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-01T01:00:00Z", "overwrite": false}))
    .await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["jobs"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["jobs"][0]["status"], "PENDING");
    let r = export(json!({"category": "telephony", "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-01T02:00:00Z", "overwrite": false,
        "destination_prefix": "exports/telephony/backfill/"}))
    .await;
    assert_eq!(r.status(), 202);
    let backfill: Value = r.json().await.expect("json");
    assert_eq!(
        backfill["jobs"].as_array().map(Vec::len),
        Some(2),
        "one job per interval"
    );

    m.advance("30m").await;
    let tok2 = m.token(&m.demo()).await;
    let all = m.jobs(&tok2, id, "").await;
    let manual: Vec<&Value> = all.iter().filter(|j| j["kind"] == "manual").collect();
    assert_eq!(manual.len(), 3);
    assert!(manual.iter().all(|j| j["status"] == "COMPLETED"), "{manual:#?}");
    // Same prefix, overwrite false: the next free part number, the original untouched.
    let again = manual[0]["output_files"][0].as_str().expect("uri");
    assert_eq!(again, original_uri.replace("part-00000", "part-00001"));
    assert_eq!(get_object(&s3, &original_uri).await, original);
    assert_eq!(
        get_object(&s3, again).await,
        original,
        "same interval, same seed: same records"
    );
    // destination_prefix replaces the download's prefix.
    for j in &manual[1..] {
        for f in j["output_files"].as_array().expect("files") {
            assert!(f.as_str().expect("uri").contains("/exports/telephony/backfill/"), "{f}");
        }
    }
    // Bad requests change nothing.
    for (body, needle) in [
        (
            json!({"category": "ivr", "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z"}),
            "category",
        ),
        (
            json!({"category": "telephony", "start_time": "2026-01-01T02:00:00Z", "end_time": "2026-01-01T01:00:00Z"}),
            "before",
        ),
        (
            json!({"category": "telephony", "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-02T00:00:00Z"}),
            "only ended intervals",
        ),
        (
            json!({"category": "telephony", "start_time": "noon", "end_time": "2026-01-01T01:00:00Z"}),
            "RFC3339",
        ),
        (
            json!({"category": "telephony", "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z", "destination_prefix": "/abs"}),
            "destination_prefix",
        ),
    ] {
        let r = export(body).await;
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.expect("json");
        assert!(e["error"]["message"].as_str().expect("msg").contains(needle), "{e}");
    }
    assert_eq!(m.jobs(&tok2, id, "").await.len(), all.len());
}

#[tokio::test]
async fn d8_refused_write_fails_the_job_without_retry_and_pauses_the_download() {
    let m = start().await;
    // Another tenant owns the bucket: bucket names are global, as in S3.
    let other = m.tenant(json!({"name": "other"})).await;
    let other_tok = m.token(&other).await;
    m.lake_client(&other_tok)
        .await
        .create_bucket()
        .bucket("taken-lake")
        .send()
        .await
        .expect("other tenant's bucket");
    let tok = m.token(&m.demo()).await;
    let d = m.create_download(&tok, telephony("taken-lake")).await;
    let id = d["id"].as_str().expect("id");
    m.advance("5h").await;
    let tok = m.token(&m.demo()).await;
    let jobs = m.jobs(&tok, id, "").await;
    assert_eq!(jobs.len(), 1, "the schedule pauses after the first refusal: {jobs:#?}");
    assert_eq!(jobs[0]["status"], "FAILED");
    let err = jobs[0]["error_details"].as_str().expect("error_details");
    assert!(err.contains("taken-lake"), "{err}");
    let d: Value = m
        .api(Method::GET, &format!("/api/v2/data-downloads/{id}"), &tok)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(d["status"], "needs_reconfiguration");

    // A PUT with a bucket of its own resumes the schedule from the next interval.
    let r = m
        .api(Method::PUT, &format!("/api/v2/data-downloads/{id}"), &tok)
        .json(&telephony("own-lake"))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    let d: Value = r.json().await.expect("json");
    assert_eq!(d["status"], "active");
    m.advance("2h").await;
    let tok = m.token(&m.demo()).await;
    let jobs = m.jobs(&tok, id, "").await;
    assert_eq!(jobs[0]["status"], "FAILED", "never retried by the platform");
    let later: Vec<&Value> = jobs[1..].iter().filter(|j| j["status"] == "COMPLETED").collect();
    assert!(!later.is_empty(), "{jobs:#?}");
    assert!(ts(&later[0]["interval_start"]) >= t("2026-01-01T05:00:00Z"));
    // The other tenant's bucket holds nothing of ours.
    let s3 = m.lake_client(&m.token(&other).await).await;
    let listed = s3.list_objects_v2().bucket("taken-lake").send().await.expect("list");
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test]
async fn d9_retention_moves_files_to_glacier_ir_then_deletes_them() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let mut body = telephony("retained-lake");
    body["schedule"]["frequency"] = json!("DAILY");
    body["retention"] = json!({"days": 3, "cold_after_days": 1});
    let d = m.create_download(&tok, body).await;
    let id = d["id"].as_str().expect("id");
    m.advance_to("2026-01-02T01:00:00Z").await;
    let tok = m.token(&m.demo()).await;
    let s3 = m.lake_client(&tok).await;
    let job = m.jobs(&tok, id, "status=COMPLETED").await[0].clone();
    let (bucket, key) = split_uri(job["output_files"][0].as_str().expect("uri"));
    let head = s3.head_object().bucket(&bucket).key(&key).send().await.expect("head");
    assert_eq!(
        head.storage_class().map(|c| c.as_str().to_string()),
        None,
        "fresh files are STANDARD"
    );
    m.advance_to("2026-01-04T00:00:00Z").await;
    let head = s3.head_object().bucket(&bucket).key(&key).send().await.expect("head");
    assert_eq!(head.storage_class().map(|c| c.as_str()), Some("GLACIER_IR"));
    m.advance_to("2026-01-06T00:00:00Z").await;
    let err = s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .expect_err("deleted after 3 days");
    assert!(
        s3_code(&err).contains("404") || s3_code(&err).contains("NotFound"),
        "{}",
        s3_code(&err)
    );
}

#[tokio::test]
async fn d5_a_30_day_advance_produces_every_job_in_order() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let body = json!({"category": "digital", "schedule": {"frequency": "DAILY", "offset_minutes": 5},
        "destination": {"type": "aws_s3", "bucket": "month-lake", "prefix": "digital/"}});
    let d = m.create_download(&tok, body).await;
    m.advance("30d").await;
    let tok = m.token(&m.demo()).await;
    let jobs = m.jobs(&tok, d["id"].as_str().expect("id"), "").await;
    assert_eq!(
        jobs.len(),
        30,
        "days 1..30 have ended; day 30's job starts after midnight + 15 min"
    );
    let mut prev_end = None;
    for (i, j) in jobs.iter().enumerate() {
        assert_eq!(ts(&j["interval_start"]), t(T0) + chrono::Duration::days(i as i64));
        let status = j["status"].as_str().expect("status");
        assert!(
            status == "COMPLETED" || (i == 29 && status == "PENDING"),
            "{i}: {status}"
        );
        if let Some(p) = prev_end {
            assert!(ts(&j["start_time"]) > p);
        }
        prev_end = j["end_time"].as_str().map(t);
    }
}

#[tokio::test]
async fn determinism_same_seed_same_steps_same_bytes_and_jobs() {
    async fn run(seed: u64) -> (Vec<Value>, Vec<Vec<u8>>) {
        let m = start_with(mock_cxone::MockCxone::builder().seed(seed).clock(frozen(T0))).await;
        let tok = m.token(&m.demo()).await;
        let d = m.create_download(&tok, telephony("det-lake")).await;
        m.advance("3h").await;
        let tok = m.token(&m.demo()).await;
        let jobs = m.jobs(&tok, d["id"].as_str().expect("id"), "").await;
        let s3 = m.lake_client(&tok).await;
        let mut files = Vec::new();
        for j in &jobs {
            for uri in j["output_files"].as_array().into_iter().flatten() {
                files.push(get_object(&s3, uri.as_str().expect("uri")).await);
            }
        }
        (jobs, files)
    }
    let (jobs_a, files_a) = run(7).await;
    let (jobs_b, files_b) = run(7).await;
    assert_eq!(jobs_a, jobs_b);
    assert_eq!(files_a, files_b);
    assert!(!files_a.is_empty());
    let (_, files_c) = run(8).await;
    assert_ne!(files_a, files_c, "another seed, other records");
}

#[tokio::test]
async fn f7_speech_jobs_lag_telephony_by_45_to_90_minutes() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let body = json!({"category": "speech", "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {"type": "aws_s3", "bucket": "speech-lake", "prefix": ""}});
    let d = m.create_download(&tok, body).await;
    m.advance("12h").await;
    let tok = m.token(&m.demo()).await;
    let jobs = m.jobs(&tok, d["id"].as_str().expect("id"), "").await;
    assert!(jobs.len() >= 10);
    for j in jobs {
        let wait = ts(&j["start_time"]) - ts(&j["interval_end"]);
        assert!(
            wait >= chrono::Duration::minutes(20 + 45) && wait <= chrono::Duration::minutes(25 + 90),
            "{wait}"
        );
    }
}

#[tokio::test]
async fn delete_stops_the_schedule_and_keeps_the_files() {
    let (m, _, d) = setup().await;
    let id = d["id"].as_str().expect("id");
    m.advance("2h").await;
    let tok2 = m.token(&m.demo()).await;
    let done = m.jobs(&tok2, id, "status=COMPLETED").await;
    let written: usize = done
        .iter()
        .map(|j| j["output_files"].as_array().map_or(0, Vec::len))
        .sum();
    let job = done[0].clone();
    let r = m
        .api(Method::DELETE, &format!("/api/v2/data-downloads/{id}"), &tok2)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 204);
    let r = m
        .api(Method::GET, &format!("/api/v2/data-downloads/{id}/jobs"), &tok2)
        .send()
        .await
        .expect("jobs");
    assert_eq!(r.status(), 404);
    m.advance("3h").await;
    let s3 = m.lake_client(&m.token(&m.demo()).await).await;
    assert!(!get_object(&s3, job["output_files"][0].as_str().expect("uri"))
        .await
        .is_empty());
    let listed = s3
        .list_objects_v2()
        .bucket("org-cxone-data-lake")
        .send()
        .await
        .expect("list");
    let data_files = listed
        .contents()
        .iter()
        .filter(|o| o.key().is_some_and(|k| k.contains("/part-")))
        .count();
    assert_eq!(data_files, written, "nothing written after the delete");
}

#[tokio::test]
async fn restart_mid_schedule_gives_the_same_jobs_and_files_as_no_restart() {
    async fn jobs_and_files(m: &Mock, id: &str) -> (Vec<Value>, Vec<Vec<u8>>) {
        let tok = m.token(&m.demo()).await;
        let jobs = m.jobs(&tok, id, "").await;
        let s3 = m.lake_client(&tok).await;
        let mut files = Vec::new();
        for j in &jobs {
            for uri in j["output_files"].as_array().into_iter().flatten() {
                files.push(get_object(&s3, uri.as_str().expect("uri")).await);
            }
        }
        (jobs, files)
    }
    // Straight through.
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let id = m.create_download(&tok, telephony("restart-lake")).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    m.advance_to("2026-01-01T01:22:00Z").await;
    m.advance_to("2026-01-01T04:00:00Z").await;
    let straight = jobs_and_files(&m, &id).await;
    drop(m);

    // Stopped while a job is pending or running, restarted on the same data dir.
    let dir = tempfile::tempdir().expect("tempdir");
    let m = start_with(mock_cxone::MockCxone::builder().clock(frozen(T0)).data_dir(dir.path())).await;
    let tok = m.token(&m.demo()).await;
    let id2 = m.create_download(&tok, telephony("restart-lake")).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(id, id2);
    m.advance_to("2026-01-01T01:22:00Z").await;
    m.handle.stop().await;
    let m = start_with(mock_cxone::MockCxone::builder().clock(frozen(T0)).data_dir(dir.path())).await;
    m.advance_to("2026-01-01T04:00:00Z").await;
    let restarted = jobs_and_files(&m, &id).await;
    assert_eq!(straight.0, restarted.0);
    assert_eq!(straight.1, restarted.1);
    assert_eq!(straight.0.iter().filter(|j| j["status"] == "COMPLETED").count(), 3);
}
