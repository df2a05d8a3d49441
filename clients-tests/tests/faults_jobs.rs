//! Job- and file-level faults of the export pipeline (CONTRACT §6, F3, F4, F5, F8, F11, D8 by
//! fault, and `null_column_strip`), seen the way a pipeline sees them: rules added through
//! `POST /_mock/faults` with reqwest, jobs polled through the Data Download API, objects read
//! back with aws-sdk-s3 and decoded with the `parquet` crate, firings in `/_mock/events`.

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::{Array, RecordBatch};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use clients_tests::{frozen, get_object, sha256_hex, split_uri, start, start_with, Mock, T0};
use mock_cxone::MockCxone;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reqwest::Method;
use serde_json::{json, Value};

const BUCKET: &str = "org-cxone-data-lake";
const DATA_TYPES: [&str; 3] = ["cdr", "acd", "skill_group"];

fn telephony(bucket: &str, prefix: &str) -> Value {
    json!({
        "category": "telephony",
        "data_types": DATA_TYPES,
        "format": "parquet",
        "compression": "zstd",
        "partitioning": {"enabled": true, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {"type": "aws_s3", "bucket": bucket, "prefix": prefix}
    })
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

fn ts(v: &Value) -> DateTime<Utc> {
    t(v.as_str().expect("timestamp string"))
}

fn s(v: &Value) -> &str {
    v.as_str().expect("string")
}

/// The demo tenant's token (tokens live on the mock clock: take a fresh one after advancing).
async fn fresh(m: &Mock) -> String {
    m.token(&m.demo()).await
}

/// A mock with the guide's telephony download into [`BUCKET`]; returns the download id.
async fn setup() -> (Mock, String) {
    let m = start().await;
    let id = download(&m, telephony(BUCKET, "exports/telephony/")).await;
    (m, id)
}

async fn download(m: &Mock, body: Value) -> String {
    let d = m.create_download(&fresh(m).await, body).await;
    s(&d["id"]).to_string()
}

/// Adds a fault rule; returns its id.
async fn fault(m: &Mock, body: Value) -> String {
    let v = m.control("/_mock/faults", body).await;
    let id = s(&v["id"]).to_string();
    assert!(id.starts_with("fault-"), "{v}");
    id
}

async fn fault_rule(m: &Mock, id: &str) -> Value {
    let r = m
        .http
        .get(m.url(&format!("/_mock/faults/{id}")))
        .send()
        .await
        .expect("get fault");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// Every `fault` event, oldest first.
async fn fault_events(m: &Mock) -> Vec<Value> {
    let v: Value = m
        .http
        .get(m.url("/_mock/events?kind=fault&limit=100000"))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    v["events"].as_array().cloned().unwrap_or_default()
}

fn objects(ev: &Value) -> Vec<String> {
    ev["objects"]
        .as_array()
        .map(|a| a.iter().map(|o| s(o).to_string()).collect())
        .unwrap_or_default()
}

async fn get_download(m: &Mock, id: &str) -> Value {
    m.api(Method::GET, &format!("/api/v2/data-downloads/{id}"), &fresh(m).await)
        .send()
        .await
        .expect("get download")
        .json()
        .await
        .expect("json")
}

/// Keys under `prefix` in `bucket` (empty when the bucket does not exist).
async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    match s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await {
        Ok(o) => o
            .contents()
            .iter()
            .filter_map(|c| c.key().map(str::to_string))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn folder(prefix: &str, data_type: &str, hour: u32) -> String {
    format!("{prefix}{data_type}/year=2026/month=01/day=01/hour={hour:02}/")
}

fn uri(key: &str) -> String {
    format!("s3://{BUCKET}/{key}")
}

async fn get_json(s3: &aws_sdk_s3::Client, uri: &str) -> Value {
    serde_json::from_slice(&get_object(s3, uri).await).expect("json object")
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

fn rows(bytes: Vec<u8>) -> u64 {
    read_parquet(bytes).0.iter().map(|b| b.num_rows() as u64).sum()
}

fn job_id(j: &Value) -> &str {
    s(&j["id"])
}

/// The job of the interval starting at `start`.
fn job_at<'a>(jobs: &'a [Value], start: &str) -> &'a Value {
    let found: Vec<&Value> = jobs.iter().filter(|j| ts(&j["interval_start"]) == t(start)).collect();
    assert_eq!(found.len(), 1, "one job for {start}: {jobs:#?}");
    found[0]
}

// ---- F3: duplicate manifests and partitions ---------------------------------------------------

#[tokio::test]
async fn f3_duplicate_manifest_writes_a_second_manifest_named_after_the_job() {
    let (m, id) = setup().await;
    let fid = fault(
        &m,
        json!({"kind": "duplicate_manifest", "download_id": id, "next_jobs": 1}),
    )
    .await;
    m.advance("3h").await;
    let tok = fresh(&m).await;
    let jobs = m.jobs(&tok, &id, "status=COMPLETED").await;
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
    let (j0, j1) = (job_id(&jobs[0]), job_id(&jobs[1]));
    let s3 = m.lake_client(&tok).await;
    let mut dups = Vec::new();
    for dt in DATA_TYPES {
        let f0 = folder("exports/telephony/", dt, 0);
        let main = format!("{f0}_manifest-{j0}.json");
        let dup = format!("{f0}_manifest-{j0}-1.json");
        let got: BTreeSet<String> = keys(&s3, BUCKET, &f0).await.into_iter().collect();
        let want: BTreeSet<String> = [format!("{f0}part-00000.parquet"), main.clone(), dup.clone()].into();
        assert_eq!(got, want);
        let (a, b) = (get_json(&s3, &uri(&main)).await, get_json(&s3, &uri(&dup)).await);
        assert_eq!(a, b, "the second manifest lists the same files");
        assert_eq!(b["job_id"], j0);
        assert_eq!(b["files"][0]["key"], format!("{f0}part-00000.parquet"));
        dups.push(uri(&dup));
        // next_jobs: 1 — the next job has one manifest per partition.
        let f1 = folder("exports/telephony/", dt, 1);
        let got = keys(&s3, BUCKET, &f1).await;
        assert_eq!(
            got,
            vec![format!("{f1}_manifest-{j1}.json"), format!("{f1}part-00000.parquet")]
        );
    }
    // The job knows only its own manifests (the duplicates are a retry artifact).
    for mf in jobs[0]["manifests"].as_array().expect("manifests") {
        assert!(s(mf).ends_with(&format!("_manifest-{j0}.json")), "{mf}");
    }
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1, "{evs:#?}");
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], j0);
    assert_eq!(evs[0]["download_id"], id.as_str());
    assert_eq!(evs[0]["detail"]["kind"], "duplicate_manifest");
    let mut got = objects(&evs[0]);
    got.sort();
    dups.sort();
    assert_eq!(got, dups);
    let rule = fault_rule(&m, &fid).await;
    assert_eq!(rule["fired"], 1);
    assert_eq!(rule["remaining_jobs"], 0);
}

#[tokio::test]
async fn f3_duplicate_partition_writes_the_rows_again_under_new_part_numbers() {
    let (m, id) = setup().await;
    let fid = fault(
        &m,
        json!({"kind": "duplicate_partition", "download_id": id, "data_type": "cdr",
               "next_jobs": 1, "params": {"copies": 2}}),
    )
    .await;
    m.advance("3h").await;
    let tok = fresh(&m).await;
    let jobs = m.jobs(&tok, &id, "status=COMPLETED").await;
    let job = &jobs[0];
    let j0 = job_id(job);
    let s3 = m.lake_client(&tok).await;
    let f0 = folder("exports/telephony/", "cdr", 0);
    let got: BTreeSet<String> = keys(&s3, BUCKET, &f0).await.into_iter().collect();
    let want: BTreeSet<String> = [
        format!("{f0}part-00000.parquet"),
        format!("{f0}part-00001.parquet"),
        format!("{f0}part-00002.parquet"),
        format!("{f0}_manifest-{j0}.json"),
        format!("{f0}_manifest-{j0}-dup1.json"),
        format!("{f0}_manifest-{j0}-dup2.json"),
    ]
    .into();
    assert_eq!(got, want);
    let original = get_object(&s3, &uri(&format!("{f0}part-00000.parquet"))).await;
    let n = rows(original.clone());
    assert!(n > 0);
    for (i, part) in [(1, "part-00001.parquet"), (2, "part-00002.parquet")] {
        let copy = get_object(&s3, &uri(&format!("{f0}{part}"))).await;
        assert_eq!(copy, original, "the same rows again");
        let mf = get_json(&s3, &uri(&format!("{f0}_manifest-{j0}-dup{i}.json"))).await;
        assert_eq!(mf["job_id"], j0);
        assert_eq!(mf["files"][0]["key"], format!("{f0}{part}"));
        assert_eq!(mf["files"][0]["sha256"], sha256_hex(&copy));
        assert_eq!(mf["files"][0]["rows"], n);
    }
    // The job lists only the originals; other data types are untouched.
    let files: Vec<&str> = job["output_files"].as_array().expect("files").iter().map(s).collect();
    assert_eq!(files.len(), 3);
    assert!(files.iter().all(|f| f.ends_with("/part-00000.parquet")), "{files:?}");
    for dt in ["acd", "skill_group"] {
        assert_eq!(keys(&s3, BUCKET, &folder("exports/telephony/", dt, 0)).await.len(), 2);
    }
    assert_eq!(
        keys(&s3, BUCKET, &folder("exports/telephony/", "cdr", 1)).await.len(),
        2
    );
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], j0);
    assert_eq!(evs[0]["detail"]["data_type"], "cdr");
    let got: BTreeSet<String> = objects(&evs[0]).into_iter().collect();
    let want: BTreeSet<String> = [
        uri(&format!("{f0}part-00001.parquet")),
        uri(&format!("{f0}part-00002.parquet")),
        uri(&format!("{f0}_manifest-{j0}-dup1.json")),
        uri(&format!("{f0}_manifest-{j0}-dup2.json")),
    ]
    .into();
    assert_eq!(got, want);
}

// ---- F4: placeholder manifests and partial partitions while a job runs ------------------------

#[tokio::test]
async fn f4_placeholder_manifest_is_visible_while_the_job_runs_then_replaced() {
    let (m, id) = setup().await;
    let fid = fault(
        &m,
        json!({"kind": "placeholder_manifest", "download_id": id, "next_jobs": 1}),
    )
    .await;
    m.advance("1h").await;
    let pending = m.jobs(&fresh(&m).await, &id, "").await;
    assert_eq!(pending[0]["status"], "PENDING");
    let start_time = s(&pending[0]["start_time"]).to_string();
    m.advance_to(&start_time).await;
    let tok = fresh(&m).await;
    let job = m.jobs(&tok, &id, "").await[0].clone();
    let j0 = job_id(&job).to_string();
    assert_eq!(job["status"], "RUNNING");
    let s3 = m.lake_client(&tok).await;
    let mut placeholders = Vec::new();
    for dt in DATA_TYPES {
        let f0 = folder("exports/telephony/", dt, 0);
        let mf = format!("{f0}_manifest-{j0}.json");
        assert_eq!(
            keys(&s3, BUCKET, &f0).await,
            vec![mf.clone()],
            "only the manifest so far"
        );
        let v = get_json(&s3, &uri(&mf)).await;
        assert_eq!(v["files"], json!([]));
        assert_eq!(v["record_count"], 0);
        assert_eq!(v["job_id"], j0.as_str());
        assert_eq!(v["data_type"], dt);
        placeholders.push(uri(&mf));
    }
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], j0.as_str());
    assert_eq!(ts(&evs[0]["at"]), t(&start_time), "fired when the job started");
    assert_eq!(objects(&evs[0]), placeholders);

    // A pipeline that polls for COMPLETED sees the real manifest.
    m.advance("10m").await;
    let tok = fresh(&m).await;
    let job = m.jobs(&tok, &id, "status=COMPLETED").await[0].clone();
    assert_eq!(job_id(&job), j0);
    for dt in DATA_TYPES {
        let f0 = folder("exports/telephony/", dt, 0);
        let v = get_json(&s3, &uri(&format!("{f0}_manifest-{j0}.json"))).await;
        let data = get_object(&s3, &uri(&format!("{f0}part-00000.parquet"))).await;
        assert_eq!(v["files"][0]["sha256"], sha256_hex(&data));
        assert_eq!(v["record_count"], job["record_counts"][dt]);
    }
    assert_eq!(fault_events(&m).await.len(), 1);
}

#[tokio::test]
async fn f4_partial_partition_is_visible_while_the_job_runs_then_completed_in_place() {
    let (m, id) = setup().await;
    let fid = fault(
        &m,
        json!({"kind": "partial_partition", "download_id": id, "data_type": "cdr", "next_jobs": 1}),
    )
    .await;
    m.advance("1h").await;
    let start_time = s(&m.jobs(&fresh(&m).await, &id, "").await[0]["start_time"]).to_string();
    m.advance_to(&start_time).await;
    let tok = fresh(&m).await;
    let j0 = job_id(&m.jobs(&tok, &id, "status=RUNNING").await[0]).to_string();
    let s3 = m.lake_client(&tok).await;
    let f0 = folder("exports/telephony/", "cdr", 0);
    let part = uri(&format!("{f0}part-00000.parquet"));
    assert_eq!(
        keys(&s3, BUCKET, &f0).await,
        vec![format!("{f0}part-00000.parquet")],
        "a data file without a manifest"
    );
    let partial_rows = rows(get_object(&s3, &part).await);
    for dt in ["acd", "skill_group"] {
        assert!(keys(&s3, BUCKET, &folder("exports/telephony/", dt, 0)).await.is_empty());
    }
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], j0.as_str());
    assert_eq!(objects(&evs[0]), vec![part.clone()]);
    assert_eq!(evs[0]["detail"]["files"][0]["rows"], partial_rows);

    m.advance("10m").await;
    let tok = fresh(&m).await;
    let job = m.jobs(&tok, &id, "status=COMPLETED").await[0].clone();
    assert_eq!(job_id(&job), j0);
    let bytes = get_object(&s3, &part).await;
    let full = rows(bytes.clone());
    assert!(full >= 2, "an hour with a few calls");
    assert_eq!(
        partial_rows,
        full / 2,
        "the partial file held the first half of the rows"
    );
    assert_eq!(job["record_counts"]["cdr"], full);
    assert_eq!(job["checksums"][&part], format!("sha256:{}", sha256_hex(&bytes)));
    assert!(job["output_files"].as_array().expect("files").contains(&json!(part)));
    assert_eq!(
        keys(&s3, BUCKET, &f0).await.len(),
        2,
        "completed in place: one part, one manifest"
    );
}

// ---- F5: failed and timed-out jobs, never retried ---------------------------------------------

#[tokio::test]
async fn f5_job_failed_ends_failed_with_error_details_and_is_never_retried() {
    let (m, id) = setup().await;
    let fid = fault(&m, json!({"kind": "job_failed", "download_id": id, "next_jobs": 1})).await;
    m.advance("4h").await;
    let tok = fresh(&m).await;
    let jobs = m.jobs(&tok, &id, "").await;
    let j = job_at(&jobs, T0);
    assert_eq!(j["status"], "FAILED");
    let err = s(&j["error_details"]);
    assert!(
        err.contains("HTTP 500") && err.contains("partition not written"),
        "{err}"
    );
    let run = ts(&j["end_time"]) - ts(&j["start_time"]);
    assert!(
        run > Duration::zero() && run <= Duration::minutes(5),
        "ends at its planned end: {run}"
    );
    assert_eq!(j["output_files"], json!([]));
    assert_eq!(j["manifests"], json!([]));
    assert_eq!(j["record_count"], 0);
    let failed = m.jobs(&tok, &id, "status=FAILED").await;
    assert_eq!(failed.len(), 1);
    // The download stays active (unlike a refused write) and the next jobs run.
    assert_eq!(get_download(&m, &id).await["status"], "active");
    assert_eq!(job_at(&jobs, "2026-01-01T01:00:00Z")["status"], "COMPLETED");
    assert_eq!(job_at(&jobs, "2026-01-01T02:00:00Z")["status"], "COMPLETED");
    let s3 = m.lake_client(&tok).await;
    for dt in DATA_TYPES {
        assert!(keys(&s3, BUCKET, &folder("exports/telephony/", dt, 0)).await.is_empty());
    }
    // Never retried: a day later there is still exactly one job for 00:00 and it failed.
    m.advance("1d").await;
    let jobs = m.jobs(&fresh(&m).await, &id, "").await;
    assert_eq!(job_at(&jobs, T0)["status"], "FAILED");
    assert_eq!(jobs.iter().filter(|j| j["status"] == "FAILED").count(), 1);
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], j["id"]);
    assert_eq!(evs[0]["detail"]["error_details"], j["error_details"]);
    assert!(objects(&evs[0]).is_empty(), "it wrote nothing");
}

#[tokio::test]
async fn f5_job_timed_out_runs_sixty_minutes_then_times_out() {
    let (m, id) = setup().await;
    let fid = fault(&m, json!({"kind": "job_timed_out", "download_id": id, "next_jobs": 1})).await;
    m.advance("1h").await;
    let start_time = ts(&m.jobs(&fresh(&m).await, &id, "").await[0]["start_time"]);
    m.advance_to(&(start_time + Duration::minutes(30)).to_rfc3339()).await;
    let j = m.jobs(&fresh(&m).await, &id, "").await[0].clone();
    assert_eq!(j["status"], "RUNNING", "still running half an hour in");
    assert!(j["end_time"].is_null());
    m.advance("2h").await;
    let tok = fresh(&m).await;
    let jobs = m.jobs(&tok, &id, "").await;
    let j = job_at(&jobs, T0);
    assert_eq!(j["status"], "TIMED_OUT");
    assert_eq!(ts(&j["start_time"]), start_time);
    assert_eq!(ts(&j["end_time"]) - ts(&j["start_time"]), Duration::minutes(60));
    let err = s(&j["error_details"]);
    assert!(err.contains("60-minute limit"), "{err}");
    assert_eq!(j["output_files"], json!([]));
    let timed_out = m.jobs(&tok, &id, "status=TIMED_OUT").await;
    assert_eq!(timed_out.len(), 1);
    assert_eq!(timed_out[0]["id"], j["id"]);
    assert_eq!(job_at(&jobs, "2026-01-01T01:00:00Z")["status"], "COMPLETED");
    assert_eq!(get_download(&m, &id).await["status"], "active");
    let s3 = m.lake_client(&tok).await;
    assert!(keys(&s3, BUCKET, &folder("exports/telephony/", "cdr", 0))
        .await
        .is_empty());
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], j["id"]);
    assert_eq!(evs[0]["detail"]["error_details"], j["error_details"]);
}

#[tokio::test]
async fn d8_f5_destination_rejects_write_fails_the_job_and_pauses_the_download() {
    let (m, id) = setup().await;
    let fid = fault(
        &m,
        json!({"kind": "destination_rejects_write", "download_id": id, "next_jobs": 1}),
    )
    .await;
    m.advance("5h").await;
    let tok = fresh(&m).await;
    let jobs = m.jobs(&tok, &id, "").await;
    assert_eq!(jobs.len(), 1, "the schedule pauses after the refusal: {jobs:#?}");
    assert_eq!(jobs[0]["status"], "FAILED");
    let err = s(&jobs[0]["error_details"]);
    assert!(err.contains("AccessDenied") && err.contains(BUCKET), "{err}");
    let d = get_download(&m, &id).await;
    assert_eq!(d["status"], "needs_reconfiguration");
    assert!(s(&d["status_reason"]).contains("AccessDenied"), "{d}");
    let s3 = m.lake_client(&tok).await;
    assert!(keys(&s3, BUCKET, "").await.is_empty(), "nothing was written");
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], jobs[0]["id"]);
    assert_eq!(
        objects(&evs[0]),
        vec![uri(&format!(
            "{}part-00000.parquet",
            folder("exports/telephony/", "cdr", 0)
        ))],
        "the write it refused"
    );
    // Reconfiguring resumes the schedule; the job that failed is not retried.
    let r = m
        .api(Method::PUT, &format!("/api/v2/data-downloads/{id}"), &tok)
        .json(&telephony(BUCKET, "exports/telephony/"))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    m.advance("2h").await;
    let jobs = m.jobs(&fresh(&m).await, &id, "").await;
    assert_eq!(jobs[0]["status"], "FAILED");
    assert!(jobs[1..].iter().any(|j| j["status"] == "COMPLETED"), "{jobs:#?}");
    assert_eq!(fault_events(&m).await.len(), 1, "next_jobs: 1");
}

// ---- F8: record_count disagrees with the rows written -----------------------------------------

#[tokio::test]
async fn f8_record_count_mismatch_job_and_manifest_count_differ_from_rows_written() {
    let (m, id) = setup().await;
    let fid = fault(
        &m,
        json!({"kind": "record_count_mismatch", "download_id": id, "data_type": "cdr",
               "next_jobs": 1, "params": {"percent": 10}}),
    )
    .await;
    m.advance("3h").await;
    let tok = fresh(&m).await;
    let jobs = m.jobs(&tok, &id, "status=COMPLETED").await;
    let job = &jobs[0];
    let s3 = m.lake_client(&tok).await;
    let mut counted = BTreeMap::new();
    for f in job["output_files"].as_array().expect("files") {
        let data_type = split_uri(s(f)).1.split('/').nth(2).expect("data type").to_string();
        counted.insert(data_type, rows(get_object(&s3, s(f)).await));
    }
    let written = counted["cdr"];
    let reported = job["record_counts"]["cdr"].as_u64().expect("count");
    assert!(written > 0);
    assert_ne!(reported, written);
    // 10 % more, rounded, and at least one off (a small hour can round back to the truth).
    let skewed = ((written as f64) * 1.1).round() as u64;
    assert_eq!(reported, if skewed == written { written + 1 } else { skewed });
    for dt in ["acd", "skill_group"] {
        assert_eq!(job["record_counts"][dt], counted[dt], "only cdr is targeted");
    }
    let total: u64 = job["record_counts"]
        .as_object()
        .expect("counts")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(job["record_count"], total);
    let f0 = folder("exports/telephony/", "cdr", 0);
    let mf_uri = uri(&format!("{f0}_manifest-{}.json", job_id(job)));
    let mf = get_json(&s3, &mf_uri).await;
    assert_eq!(mf["record_count"], reported, "the manifest reports the job's count");
    assert_eq!(mf["files"][0]["rows"], written, "files[].rows stay true");
    // The next job is not affected.
    let next = &jobs[1];
    let f1 = next["output_files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| s(f).contains("/cdr/"));
    let f1 = s(f1.expect("cdr file"));
    assert_eq!(next["record_counts"]["cdr"], rows(get_object(&s3, f1).await));
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], job["id"]);
    let file_uri = uri(&format!("{f0}part-00000.parquet"));
    assert_eq!(objects(&evs[0]), vec![file_uri, mf_uri]);
    assert_eq!(evs[0]["detail"]["files"][0]["rows_written"], written);
    assert_eq!(evs[0]["detail"]["files"][0]["record_count_reported"], reported);
}

// ---- F11: bytes no longer match the recorded hash ---------------------------------------------

#[tokio::test]
async fn f11_checksum_mismatch_file_bytes_differ_from_the_job_and_manifest_sha256() {
    let (m, id) = setup().await;
    let (clean, clean_id) = setup().await;
    let fid = fault(
        &m,
        json!({"kind": "checksum_mismatch", "download_id": id, "data_type": "acd", "next_jobs": 1}),
    )
    .await;
    m.advance("2h").await;
    clean.advance("2h").await;
    let tok = fresh(&m).await;
    let job = m.jobs(&tok, &id, "status=COMPLETED").await[0].clone();
    let clean_tok = fresh(&clean).await;
    let clean_job = clean.jobs(&clean_tok, &clean_id, "status=COMPLETED").await[0].clone();
    assert_eq!(
        job["checksums"], clean_job["checksums"],
        "the recorded hashes are the true ones"
    );
    let s3 = m.lake_client(&tok).await;
    let clean_s3 = clean.lake_client(&clean_tok).await;
    let f0 = folder("exports/telephony/", "acd", 0);
    let acd = uri(&format!("{f0}part-00000.parquet"));
    let stored = get_object(&s3, &acd).await;
    let intact = get_object(&clean_s3, &acd).await;
    let recorded = s(&job["checksums"][&acd]).to_string();
    assert_eq!(recorded, format!("sha256:{}", sha256_hex(&intact)));
    assert_ne!(recorded, format!("sha256:{}", sha256_hex(&stored)), "F11");
    let mf = get_json(&s3, &uri(&format!("{f0}_manifest-{}.json", job_id(&job)))).await;
    assert_eq!(mf["files"][0]["sha256"], sha256_hex(&intact));
    assert_eq!(stored.len(), intact.len(), "same size");
    let changed: Vec<usize> = (0..stored.len()).filter(|&i| stored[i] != intact[i]).collect();
    assert_eq!(changed.len(), 1, "one byte changed");
    assert!(
        ParquetRecordBatchReaderBuilder::try_new(Bytes::from(stored)).is_ok(),
        "the footer still opens: only a data page is damaged"
    );
    assert_eq!(job["status"], "COMPLETED");
    // The other files of the job are intact.
    for f in job["output_files"]
        .as_array()
        .expect("files")
        .iter()
        .map(s)
        .filter(|f| *f != acd)
    {
        let b = get_object(&s3, f).await;
        assert_eq!(job["checksums"][f], format!("sha256:{}", sha256_hex(&b)));
    }
    let evs = fault_events(&m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["fault_id"], fid.as_str());
    assert_eq!(evs[0]["job_id"], job["id"]);
    assert_eq!(objects(&evs[0]), vec![acd.clone()]);
    assert_eq!(evs[0]["detail"]["files"][0]["offset"], changed[0]);
    assert!(fault_events(&clean).await.is_empty());
}

#[tokio::test]
async fn f11_checksum_mismatch_on_csv_changes_a_digit() {
    let m = start().await;
    let mut body = telephony(BUCKET, "csv/");
    body["format"] = json!("csv");
    body["compression"] = json!("none");
    let id = download(&m, body).await;
    fault(
        &m,
        json!({"kind": "checksum_mismatch", "download_id": id, "data_type": "cdr", "next_jobs": 1}),
    )
    .await;
    m.advance("2h").await;
    let tok = fresh(&m).await;
    let job = m.jobs(&tok, &id, "status=COMPLETED").await[0].clone();
    let s3 = m.lake_client(&tok).await;
    let cdr = uri(&format!("{}part-00000.csv", folder("csv/", "cdr", 0)));
    let stored = get_object(&s3, &cdr).await;
    assert_ne!(job["checksums"][&cdr], format!("sha256:{}", sha256_hex(&stored)));
    let text = String::from_utf8(stored).expect("still UTF-8 text");
    assert_eq!(
        text.lines().count() as u64,
        job["record_counts"]["cdr"].as_u64().expect("n") + 1
    );
}

// ---- D3 / F6 family: null-heavy columns stripped ----------------------------------------------

#[tokio::test]
async fn d3_null_column_strip_drops_half_null_columns_of_the_targeted_download_only() {
    let m = start().await;
    let mut body = telephony(BUCKET, "stripped/");
    body["schedule"]["frequency"] = json!("DAILY");
    let stripped = download(&m, body.clone()).await;
    body["destination"]["prefix"] = json!("kept/");
    let kept = download(&m, body).await;
    let fid = fault(
        &m,
        json!({"kind": "null_column_strip", "download_id": stripped, "params": {"min_null_fraction": 0.5}}),
    )
    .await;
    m.advance("1d2h").await;
    let tok = fresh(&m).await;
    let s3 = m.lake_client(&tok).await;
    let day = |prefix: &str| {
        uri(&format!(
            "{prefix}cdr/year=2026/month=01/day=01/hour=00/part-00000.parquet"
        ))
    };
    let (_, stripped_schema) = read_parquet(get_object(&s3, &day("stripped/")).await);
    let (kept_batches, kept_schema) = read_parquet(get_object(&s3, &day("kept/")).await);
    let names =
        |sc: &arrow_schema::SchemaRef| -> Vec<String> { sc.fields().iter().map(|f| f.name().clone()).collect() };
    assert!(names(&kept_schema).contains(&"transfer_reason".to_string()));
    assert!(!names(&stripped_schema).contains(&"transfer_reason".to_string()));
    let total: usize = kept_batches.iter().map(RecordBatch::num_rows).sum();
    let nulls: usize = kept_batches
        .iter()
        .map(|b| b.column_by_name("transfer_reason").expect("column").null_count())
        .sum();
    assert!(
        nulls < total && nulls * 2 >= total,
        "half-null, not all-null: {nulls} of {total}"
    );
    // Every column the stripped file lacks is at least half null in the intact one.
    for name in names(&kept_schema) {
        if !names(&stripped_schema).contains(&name) {
            let n: usize = kept_batches
                .iter()
                .map(|b| b.column_by_name(&name).expect("column").null_count())
                .sum();
            assert!(n * 2 >= total, "{name}: {n} of {total}");
        }
    }
    let evs = fault_events(&m).await;
    assert!(!evs.is_empty());
    for ev in &evs {
        assert_eq!(ev["fault_id"], fid.as_str());
        assert_eq!(ev["download_id"], stripped.as_str());
        assert!(objects(ev).iter().all(|o| o.contains("/stripped/")), "{ev}");
    }
    let cdr = evs[0]["detail"]["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["data_type"] == "cdr")
        .cloned()
        .expect("cdr entry");
    assert!(cdr["dropped_columns"]
        .as_array()
        .expect("dropped")
        .contains(&json!("transfer_reason")));
    assert_eq!(m.jobs(&tok, &kept, "status=COMPLETED").await.len(), 1);
}

// ---- Targeting ---------------------------------------------------------------------------------

#[tokio::test]
async fn f5_category_and_download_targeting_leave_other_jobs_alone() {
    let m = start().await;
    let tel = download(&m, telephony(BUCKET, "tel/")).await;
    let tel2 = download(&m, telephony(BUCKET, "tel2/")).await;
    let ivr = download(
        &m,
        json!({"category": "ivr", "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
               "destination": {"type": "aws_s3", "bucket": BUCKET, "prefix": "ivr/"}}),
    )
    .await;
    let failed = fault(
        &m,
        json!({"kind": "job_failed", "category": "ivr", "params": {"message": "IVR extract unavailable (maintenance)"}}),
    )
    .await;
    let dup = fault(&m, json!({"kind": "duplicate_manifest", "download_id": tel2})).await;
    m.advance("3h").await;
    let tok = fresh(&m).await;
    let ivr_jobs = m.jobs(&tok, &ivr, "").await;
    let ended: Vec<&Value> = ivr_jobs.iter().filter(|j| !j["end_time"].is_null()).collect();
    assert_eq!(ended.len(), 2);
    for j in &ended {
        assert_eq!(j["status"], "FAILED");
        assert_eq!(j["error_details"], "IVR extract unavailable (maintenance)");
    }
    for d in [&tel, &tel2] {
        let jobs = m.jobs(&tok, d, "status=COMPLETED").await;
        assert_eq!(jobs.len(), 2, "{d}");
    }
    let s3 = m.lake_client(&tok).await;
    let tel_keys = keys(&s3, BUCKET, "tel/").await;
    let tel2_keys = keys(&s3, BUCKET, "tel2/").await;
    assert!(tel_keys.iter().all(|k| !k.ends_with("-1.json")), "{tel_keys:#?}");
    assert_eq!(
        tel2_keys.iter().filter(|k| k.ends_with("-1.json")).count(),
        6,
        "3 data types x 2 jobs"
    );
    let evs = fault_events(&m).await;
    let by_rule = |id: &str| evs.iter().filter(|e| e["fault_id"] == id).cloned().collect::<Vec<_>>();
    assert_eq!(by_rule(&failed).len(), 2);
    assert!(by_rule(&failed).iter().all(|e| e["download_id"] == ivr.as_str()));
    assert_eq!(by_rule(&dup).len(), 2);
    assert!(by_rule(&dup).iter().all(|e| e["download_id"] == tel2.as_str()));
}

#[tokio::test]
async fn f5_from_and_until_bound_the_data_intervals() {
    let (m, id) = setup().await;
    // Only intervals overlapping [01:00, 02:00): the job of 01:00-02:00.
    fault(
        &m,
        json!({"kind": "job_failed", "download_id": id,
               "from": "2026-01-01T01:00:00Z", "until": "2026-01-01T02:00:00Z"}),
    )
    .await;
    // A window inside an interval still hits it (03:10-03:20 overlaps 03:00-04:00).
    fault(
        &m,
        json!({"kind": "job_timed_out", "download_id": id,
               "from": "2026-01-01T03:10:00Z", "until": "2026-01-01T03:20:00Z"}),
    )
    .await;
    m.advance("7h").await;
    let jobs = m.jobs(&fresh(&m).await, &id, "").await;
    let status = |h: &str| job_at(&jobs, &format!("2026-01-01T{h}:00:00Z"))["status"].clone();
    assert_eq!(status("00"), "COMPLETED");
    assert_eq!(status("01"), "FAILED");
    assert_eq!(status("02"), "COMPLETED");
    assert_eq!(status("03"), "TIMED_OUT");
    assert_eq!(status("04"), "COMPLETED");
    assert_eq!(fault_events(&m).await.len(), 2);
}

#[tokio::test]
async fn f5_deleting_a_rule_stops_further_firing() {
    let (m, id) = setup().await;
    let fid = fault(&m, json!({"kind": "job_failed", "download_id": id})).await;
    m.advance("3h").await;
    let failed = m.jobs(&fresh(&m).await, &id, "status=FAILED").await;
    assert_eq!(failed.len(), 2, "no next_jobs: every job");
    let r = m
        .http
        .delete(m.url(&format!("/_mock/faults/{fid}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 204);
    m.advance("3h").await;
    let tok = fresh(&m).await;
    assert_eq!(m.jobs(&tok, &id, "status=FAILED").await.len(), 2);
    assert_eq!(m.jobs(&tok, &id, "status=COMPLETED").await.len(), 3);
    assert_eq!(fault_events(&m).await.len(), 2);
    let r = m
        .http
        .delete(m.url(&format!("/_mock/faults/{fid}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 404);
}

// ---- Same seed, same firings ------------------------------------------------------------------

/// Several rules with probabilities over half a day; returns the fault events and every object.
async fn seeded_run(dir: &std::path::Path) -> (Vec<Value>, BTreeMap<String, String>, Vec<Value>) {
    let m = start_with(MockCxone::builder().clock(frozen(T0)).seed(7).data_dir(dir)).await;
    let id = download(&m, telephony(BUCKET, "exports/telephony/")).await;
    for body in [
        json!({"kind": "job_failed", "download_id": id, "probability": 0.3}),
        json!({"kind": "checksum_mismatch", "probability": 0.5}),
        json!({"kind": "duplicate_partition", "data_type": "acd", "probability": 0.5}),
        json!({"kind": "duplicate_manifest", "probability": 0.4, "params": {"copies": 2}}),
        json!({"kind": "record_count_mismatch", "probability": 0.5, "params": {"percent": -20}}),
        json!({"kind": "partial_partition", "data_type": "skill_group", "probability": 0.5}),
        json!({"kind": "placeholder_manifest", "next_jobs": 2}),
    ] {
        fault(&m, body).await;
    }
    m.advance("12h").await;
    let tok = fresh(&m).await;
    let s3 = m.lake_client(&tok).await;
    let mut objects = BTreeMap::new();
    for k in keys(&s3, BUCKET, "").await {
        let bytes = get_object(&s3, &uri(&k)).await;
        objects.insert(k, sha256_hex(&bytes));
    }
    let jobs = m.jobs(&tok, &id, "").await;
    (fault_events(&m).await, objects, jobs)
}

#[tokio::test]
async fn f3_f4_f5_f8_f11_same_seed_fires_identically_on_a_second_mock() {
    let (a, b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let (ev_a, obj_a, jobs_a) = seeded_run(a.path()).await;
    let (ev_b, obj_b, jobs_b) = seeded_run(b.path()).await;
    assert_eq!(ev_a, ev_b, "same events");
    assert_eq!(obj_a, obj_b, "same bytes");
    assert_eq!(jobs_a, jobs_b, "same jobs");
    // The probabilities drew some jobs and not others.
    let kinds: BTreeSet<&str> = ev_a.iter().map(|e| s(&e["detail"]["kind"])).collect();
    for k in [
        "job_failed",
        "checksum_mismatch",
        "duplicate_partition",
        "duplicate_manifest",
        "record_count_mismatch",
        "placeholder_manifest",
    ] {
        assert!(kinds.contains(k), "{k} fired somewhere: {kinds:?}");
    }
    let failed = jobs_a.iter().filter(|j| j["status"] == "FAILED").count();
    let done = jobs_a.iter().filter(|j| j["status"] == "COMPLETED").count();
    assert!(failed > 0 && done > 0, "{failed} failed, {done} completed");
    // Every firing names its job and the objects it wrote.
    for e in &ev_a {
        assert!(e["job_id"].as_str().is_some_and(|j| j.starts_with("job-")), "{e}");
        for o in objects(e) {
            let (_, key) = split_uri(&o);
            let refused = e["detail"]["kind"] == "destination_rejects_write";
            assert!(refused || obj_a.contains_key(&key), "{o} exists");
        }
    }
}

// ---- Bad rules ---------------------------------------------------------------------------------

#[tokio::test]
async fn faults_bad_bodies_are_400_with_clear_messages() {
    let m = start().await;
    for (body, says) in [
        (json!({"kind": "job_exploded"}), "unknown fault kind"),
        (json!({"kind": "duplicate_manifest", "params": {"copies": 9}}), "copies"),
        (
            json!({"kind": "duplicate_partition", "params": {"copies": 0}}),
            "copies",
        ),
        (
            json!({"kind": "record_count_mismatch", "params": {"percent": 0}}),
            "percent",
        ),
        (
            json!({"kind": "null_column_strip", "params": {"min_null_fraction": 1.5}}),
            "min_null_fraction",
        ),
        (json!({"kind": "job_failed", "params": {"msg": "x"}}), "msg"),
        (json!({"kind": "checksum_mismatch", "params": {"offset": 3}}), "offset"),
        (
            json!({"kind": "job_failed", "from": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
            "from must be before until",
        ),
        (
            json!({"kind": "job_failed", "from": "2026-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
            "from must be before until",
        ),
        (json!({"kind": "job_failed", "from": "yesterday"}), "RFC3339"),
        (json!({"kind": "job_timed_out", "probability": 0}), "probability"),
        (json!({"kind": "job_timed_out", "probability": 1.5}), "probability"),
        (json!({"kind": "job_failed", "next_jobs": 0}), "next_jobs"),
        (json!({"kind": "job_failed", "category": "fax"}), "unknown category"),
        (
            json!({"kind": "job_failed", "category": "ivr", "data_type": "cdr"}),
            "unknown data type",
        ),
        (json!({"kind": "job_failed", "retries": 3}), "retries"),
    ] {
        let r = m
            .http
            .post(m.url("/_mock/faults"))
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.expect("json error");
        let msg = s(&v["error"]["message"]);
        assert!(msg.contains(says), "{body}: {msg}");
        assert_eq!(v["error"]["code"], "bad_request");
    }
    let r = m
        .http
        .post(m.url("/_mock/faults"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let list: Value = m
        .http
        .get(m.url("/_mock/faults"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["faults"], json!([]), "nothing was stored");
}

// ---- Durable decisions -------------------------------------------------------------------------

#[tokio::test]
async fn f4_f5_decisions_made_at_the_start_survive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let m = start_with(MockCxone::builder().clock(frozen(T0)).data_dir(dir.path())).await;
    let id = download(&m, telephony(BUCKET, "exports/telephony/")).await;
    fault(
        &m,
        json!({"kind": "partial_partition", "download_id": id, "next_jobs": 1}),
    )
    .await;
    fault(
        &m,
        json!({"kind": "job_timed_out", "download_id": id, "from": T0, "until": "2026-01-01T01:00:00Z"}),
    )
    .await;
    fault(
        &m,
        json!({"kind": "partial_partition", "download_id": id, "from": "2026-01-01T01:00:00Z"}),
    )
    .await;
    m.advance("1h").await;
    let start_time = ts(&m.jobs(&fresh(&m).await, &id, "").await[0]["start_time"]);
    m.advance_to(&(start_time + Duration::minutes(1)).to_rfc3339()).await;
    m.handle.stop().await;
    let m = start_with(MockCxone::builder().clock(frozen(T0)).data_dir(dir.path())).await;
    m.advance("3h").await;
    let tok = fresh(&m).await;
    let jobs = m.jobs(&tok, &id, "").await;
    let j0 = job_at(&jobs, T0);
    assert_eq!(
        j0["status"], "TIMED_OUT",
        "decided at the start, kept across the restart"
    );
    // What the start wrote stays and is listed (no staging buffer).
    assert_eq!(j0["output_files"].as_array().expect("files").len(), 3);
    let j1 = job_at(&jobs, "2026-01-01T01:00:00Z");
    assert_eq!(j1["status"], "COMPLETED");
    let s3 = m.lake_client(&tok).await;
    for dt in DATA_TYPES {
        let f1 = folder("exports/telephony/", dt, 1);
        assert_eq!(
            keys(&s3, BUCKET, &f1).await.len(),
            2,
            "the partial part completed in place"
        );
        let part = uri(&format!("{f1}part-00000.parquet"));
        assert_eq!(j1["record_counts"][dt], rows(get_object(&s3, &part).await));
    }
}
