//! The data-changing faults (CONTRACT §6: F1 `out_of_order`, F2 `late_update`, F6 `schema_drift`)
//! and the ground truth (`GET /_mock/truth`, CONTRACT §5), seen the way a pipeline sees them:
//! rules added through `POST /_mock/faults`, jobs through the Data Download API, files read back
//! with aws-sdk-s3 and decoded with the `parquet` crate, firings in `/_mock/events`. The truth is
//! checked against what a MERGE of every exported file gives (docs/truth.md).

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use clients_tests::{get_object, sha256_hex, split_uri, start, Mock};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Map, Value};

const BUCKET: &str = "org-cxone-data-lake";
const PREFIX: &str = "exports/telephony/";

fn telephony() -> Value {
    json!({
        "category": "telephony",
        "data_types": ["cdr", "acd", "skill_group"],
        "format": "parquet",
        "compression": "zstd",
        "partitioning": {"enabled": true, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {"type": "aws_s3", "bucket": BUCKET, "prefix": PREFIX}
    })
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

fn s(v: &Value) -> &str {
    v.as_str().expect("string")
}

async fn tok(m: &Mock) -> String {
    m.token(&m.demo()).await
}

/// A fresh mock (seed 42, frozen at T0) with `rules` added first, then the guide's telephony
/// download; returns the mock, the download id and the rule ids.
async fn setup(rules: &[Value]) -> (Mock, String, Vec<String>) {
    let m = start().await;
    let mut ids = Vec::new();
    for r in rules {
        let v = m.control("/_mock/faults", r.clone()).await;
        ids.push(s(&v["id"]).to_string());
    }
    let d = m.create_download(&tok(&m).await, telephony()).await;
    (m, s(&d["id"]).to_string(), ids)
}

/// Every `fault` event of rule `fault_id`, oldest first.
async fn fault_events(m: &Mock, fault_id: &str) -> Vec<Value> {
    let v: Value = m
        .http
        .get(m.url("/_mock/events?kind=fault&limit=100000"))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    let all = v["events"].as_array().cloned().unwrap_or_default();
    all.into_iter().filter(|e| e["fault_id"] == fault_id).collect()
}

/// Completed jobs of the download by interval start.
async fn jobs_by_interval(m: &Mock, id: &str) -> BTreeMap<String, Value> {
    let jobs = m.jobs(&tok(m).await, id, "status=COMPLETED").await;
    jobs.into_iter()
        .map(|j| (s(&j["interval_start"]).to_string(), j))
        .collect()
}

/// The data file of `data_type` a job wrote.
fn file_of(job: &Value, data_type: &str) -> String {
    job["output_files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|u| s(u).to_string())
        .find(|u| split_uri(u).1.starts_with(&format!("{PREFIX}{data_type}/")))
        .unwrap_or_else(|| panic!("no {data_type} file in {job}"))
}

/// A Parquet cell as the truth renders it.
fn cell(a: &ArrayRef, r: usize) -> Value {
    if a.is_null(r) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Utf8 => json!(a.as_string::<i32>().value(r)),
        DataType::Int64 => json!(a.as_primitive::<Int64Type>().value(r)),
        DataType::Float64 => json!(a.as_primitive::<Float64Type>().value(r)),
        DataType::Boolean => json!(a.as_boolean().value(r)),
        DataType::Timestamp(..) => {
            let us = a.as_primitive::<TimestampMicrosecondType>().value(r);
            let at = DateTime::from_timestamp_micros(us).expect("timestamp");
            json!(at.to_rfc3339_opts(SecondsFormat::Micros, true))
        }
        other => panic!("unexpected column type {other}"),
    }
}

/// A Parquet file's rows, in file order, as JSON objects (a column Parquet dropped is absent).
fn rows(bytes: Vec<u8>) -> (Vec<String>, Vec<Map<String, Value>>) {
    let b = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).expect("parquet file");
    let columns: Vec<String> = b.schema().fields().iter().map(|f| f.name().clone()).collect();
    let batches: Vec<RecordBatch> = b.build().expect("reader").collect::<Result<_, _>>().expect("batches");
    let mut out = Vec::new();
    for batch in &batches {
        for r in 0..batch.num_rows() {
            let mut row = Map::new();
            for (f, a) in batch.schema().fields().iter().zip(batch.columns()) {
                row.insert(f.name().clone(), cell(a, r));
            }
            out.push(row);
        }
    }
    (columns, out)
}

async fn file_rows(m: &Mock, uri: &str) -> (Vec<String>, Vec<Map<String, Value>>, Vec<u8>) {
    let s3 = m.lake_client(&tok(m).await).await;
    let bytes = get_object(&s3, uri).await;
    let (c, r) = rows(bytes.clone());
    (c, r, bytes)
}

/// `GET /_mock/truth` with `query`; returns (status, body).
async fn truth_raw(m: &Mock, query: &str) -> (u16, Value) {
    let r = m
        .http
        .get(m.url(&format!("/_mock/truth?{query}")))
        .send()
        .await
        .expect("truth");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn truth(m: &Mock, dl: &str, dt: &str, start: &str, end: &str, as_of: &str) -> Value {
    let q = format!("download_id={dl}&data_type={dt}&start_time={start}&end_time={end}&as_of={as_of}");
    let (status, v) = truth_raw(m, &q).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn summary(m: &Mock, dl: &str, dt: &str, start: &str, end: &str, as_of: &str) -> Value {
    let q = format!("download_id={dl}&data_type={dt}&start_time={start}&end_time={end}&as_of={as_of}&format=summary");
    let (status, v) = truth_raw(m, &q).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn key_of(keys: &[String], row: &Map<String, Value>) -> String {
    keys.iter()
        .map(|k| row.get(k).cloned().unwrap_or(Value::Null).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// What a pipeline that MERGEs every file (latest `last_update_time` per key wins) holds for
/// event times in `[start, end)`, keyed, with every one of `columns` (null where a file lacks it).
fn merge(
    files: &[Vec<Map<String, Value>>],
    keys: &[String],
    event: &str,
    columns: &[String],
    start: &str,
    end: &str,
) -> BTreeMap<String, Map<String, Value>> {
    let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for f in files {
        for r in f {
            let at = t(s(&r[event]));
            if at < t(start) || at >= t(end) {
                continue;
            }
            let full: Map<String, Value> = columns
                .iter()
                .map(|c| (c.clone(), r.get(c).cloned().unwrap_or(Value::Null)))
                .collect();
            let k = key_of(keys, r);
            let newer = out
                .get(&k)
                .is_none_or(|o| t(s(&o["last_update_time"])) < t(s(&full["last_update_time"])));
            if newer {
                out.insert(k, full);
            }
        }
    }
    out
}

/// The truth's records, keyed.
fn keyed(truth: &Value) -> BTreeMap<String, Map<String, Value>> {
    let keys: Vec<String> = strings(&truth["key_columns"]);
    truth["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let r = r.as_object().expect("object").clone();
            (key_of(&keys, &r), r)
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|x| s(x).to_string()).collect()
}

/// docs/truth.md: a record's canonical line is its JSON object with keys sorted, no whitespace.
fn canonical(r: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = r.keys().collect();
    keys.sort();
    let parts: Vec<String> = keys
        .iter()
        .map(|k| format!("{}:{}", Value::from(k.as_str()), r[*k]))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// docs/truth.md: sha256 over the sorted canonical lines, each ending in `\n`.
fn checksum(truth: &Value) -> String {
    let mut lines: Vec<String> = truth["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| canonical(r.as_object().expect("object")))
        .collect();
    lines.sort();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    format!("sha256:{}", sha256_hex(text.as_bytes()))
}

/// Every file of `dt` the download's completed jobs wrote, by interval start.
async fn all_files(m: &Mock, dl: &str, dt: &str) -> BTreeMap<String, Vec<Map<String, Value>>> {
    let mut out = BTreeMap::new();
    for (interval, job) in jobs_by_interval(m, dl).await {
        out.insert(interval, file_rows(m, &file_of(&job, dt)).await.1);
    }
    out
}

async fn assert_truth_is_the_merge(m: &Mock, dl: &str, dt: &str, start: &str, end: &str, as_of: &str) -> Value {
    let tr = truth(m, dl, dt, start, end, as_of).await;
    let keys = strings(&tr["key_columns"]);
    let event = s(&tr["event_time_column"]).to_string();
    let columns: Vec<String> = tr["records"][0]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let files: Vec<_> = all_files(m, dl, dt).await.into_values().collect();
    let merged = merge(&files, &keys, &event, &columns, start, end);
    let truth = keyed(&tr);
    assert!(!truth.is_empty(), "{dt}: some records in [{start}, {end})");
    assert_eq!(
        truth.len(),
        merged.len(),
        "{dt}: same records as the merge of every file"
    );
    for (k, r) in &truth {
        assert_eq!(Some(r), merged.get(k), "{dt}: record {k}");
    }
    // Sorted by event time, then keys.
    let times: Vec<DateTime<Utc>> = tr["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| t(s(&r[&event])))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{dt}: sorted by event time");
    // The summary is the count and the documented checksum.
    let sum = summary(m, dl, dt, start, end, as_of).await;
    assert_eq!(sum["count"].as_u64(), Some(truth.len() as u64));
    assert_eq!(sum["checksum"], checksum(&tr).as_str(), "{dt}: checksum recomputed");
    tr
}

// ---------------------------------------------------------------------------------------------
// ground truth without faults

#[tokio::test]
async fn truth_without_faults_is_the_merge_of_every_exported_file() {
    let (m, dl, _) = setup(&[]).await;
    m.advance("13h").await;
    for dt in ["cdr", "acd", "skill_group"] {
        let tr = assert_truth_is_the_merge(
            &m,
            &dl,
            dt,
            "2026-01-01T08:00:00Z",
            "2026-01-01T12:00:00Z",
            "2026-01-01T13:00:00Z",
        )
        .await;
        let first = &tr["records"][0];
        assert!(s(&first["last_update_time"]).ends_with('Z'));
        assert_eq!(s(&first["last_update_time"]).len(), "2026-01-01T08:00:00.000000Z".len());
    }
    // Keys render as in Parquet: strings for call_uuid, integers for skill_group.
    let tr = truth(
        &m,
        &dl,
        "skill_group",
        "2026-01-01T08:00:00Z",
        "2026-01-01T09:00:00Z",
        "2026-01-01T13:00:00Z",
    )
    .await;
    assert_eq!(strings(&tr["key_columns"]), ["skillId", "interval_id"]);
    assert_eq!(tr["event_time_column"], "interval_start");
    assert_eq!(tr["records"].as_array().map(Vec::len), Some(8));
    assert_eq!(tr["records"][0]["interval_id"], 2026010108);
    // as_of: an interval counts once its scheduled export time has come, default now.
    let before = summary(
        &m,
        &dl,
        "cdr",
        "2026-01-01T11:00:00Z",
        "2026-01-01T12:00:00Z",
        "2026-01-01T12:10:00Z",
    )
    .await;
    assert_eq!(before["count"], 0, "11-12 is exported at 12:20 at the earliest");
    let q =
        "download_id={dl}&data_type=cdr&start_time=2026-01-01T08:00:00Z&end_time=2026-01-01T12:00:00Z&format=summary";
    let (status, now) = truth_raw(&m, &q.replace("{dl}", &dl)).await;
    assert_eq!(status, 200);
    let explicit = summary(
        &m,
        &dl,
        "cdr",
        "2026-01-01T08:00:00Z",
        "2026-01-01T12:00:00Z",
        "2026-01-01T13:00:00Z",
    )
    .await;
    assert_eq!(now, explicit, "as_of defaults to now (13:00)");
    // Only the download's intervals: nothing before it was created.
    let older = summary(
        &m,
        &dl,
        "cdr",
        "2025-12-31T12:00:00Z",
        "2026-01-01T00:00:00Z",
        "2026-01-01T13:00:00Z",
    )
    .await;
    assert_eq!(older["count"], 0);
}

#[tokio::test]
async fn truth_bad_queries_are_400_and_unknown_downloads_404() {
    let (m, dl, _) = setup(&[]).await;
    let ok = format!("download_id={dl}&data_type=cdr&start_time=2026-01-01T00:00:00Z&end_time=2026-01-01T01:00:00Z");
    assert_eq!(truth_raw(&m, &ok).await.0, 200);
    let cases = [
        (
            "data_type=cdr&start_time=2026-01-01T00:00:00Z&end_time=2026-01-01T01:00:00Z".to_string(),
            400,
        ),
        (ok.replace(&dl, "dl-00000000-0000-0000-0000-000000000000"), 404),
        (ok.replace("data_type=cdr", "data_type=topics"), 400),
        (ok.replace("data_type=cdr", "data_type=nope"), 400),
        (ok.replace("&data_type=cdr", ""), 400),
        (
            ok.replace("end_time=2026-01-01T01:00:00Z", "end_time=2026-01-01T00:00:00Z"),
            400,
        ),
        (
            ok.replace("end_time=2026-01-01T01:00:00Z", "end_time=2026-04-05T00:00:00Z"),
            400,
        ),
        (
            ok.replace("start_time=2026-01-01T00:00:00Z", "start_time=yesterday"),
            400,
        ),
        (ok.replace("&end_time=2026-01-01T01:00:00Z", ""), 400),
        (format!("{ok}&as_of=soon"), 400),
        (format!("{ok}&format=xml"), 400),
        (format!("{ok}&surprise=1"), 400),
    ];
    for (q, want) in cases {
        let (status, body) = truth_raw(&m, &q).await;
        assert_eq!(status, want, "{q}: {body}");
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{q}: {body}"
        );
    }
    // 93 days is the most.
    let long = ok.replace("end_time=2026-01-01T01:00:00Z", "end_time=2026-04-04T00:00:00Z");
    assert_eq!(truth_raw(&m, &long).await.0, 200);
}

// ---------------------------------------------------------------------------------------------
// F1 out_of_order

fn ooo_rule() -> Value {
    json!({"kind": "out_of_order", "category": "telephony", "data_type": "cdr",
           "from": "2026-01-01T10:00:00Z", "until": "2026-01-01T11:00:00Z",
           "params": {"fraction": 1.0, "minutes": 10}})
}

#[tokio::test]
async fn f1_out_of_order_carries_the_previous_hours_tail_after_later_records() {
    let (m, dl, ids) = setup(&[ooo_rule()]).await;
    let (plain, plain_dl, _) = setup(&[]).await;
    for x in [&m, &plain] {
        x.advance("13h").await;
    }
    let jobs = jobs_by_interval(&m, &dl).await;
    let (nine, ten) = (&jobs["2026-01-01T09:00:00Z"], &jobs["2026-01-01T10:00:00Z"]);

    // (a) the ledger: carried into the 10:00 job (the target), held back from the 09:00 job.
    let events = fault_events(&m, &ids[0]).await;
    let carried: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail"]["action"] == "carried_in")
        .collect();
    assert_eq!(carried.len(), 1, "{events:#?}");
    assert_eq!(carried[0]["job_id"], ten["id"]);
    assert_eq!(carried[0]["download_id"], dl.as_str());
    assert_eq!(carried[0]["detail"]["kind"], "out_of_order");
    assert_eq!(carried[0]["detail"]["data_type"], "cdr");
    let n = carried[0]["detail"]["records"].as_u64().expect("records");
    assert!(n > 0, "a busy 09:50-10:00 has calls");
    let withheld: Vec<&Value> = events.iter().filter(|e| e["detail"]["action"] == "withheld").collect();
    assert_eq!(withheld.len(), 1);
    assert_eq!(withheld[0]["job_id"], nine["id"]);
    assert_eq!(withheld[0]["detail"]["records"].as_u64(), Some(n));
    assert!(
        events.iter().all(|e| e["detail"]["data_type"] == "cdr"),
        "only cdr is targeted"
    );

    // (b) the bucket: 09:50-10:00 calls are in the 10:00 file, after some of 10:00's later calls.
    let (_, ten_rows, ten_bytes) = file_rows(&m, &file_of(ten, "cdr")).await;
    let (_, nine_rows, _) = file_rows(&m, &file_of(nine, "cdr")).await;
    let at = |r: &Map<String, Value>| t(s(&r["start_time"]));
    let boundary = t("2026-01-01T10:00:00Z");
    let early: Vec<usize> = (0..ten_rows.len()).filter(|i| at(&ten_rows[*i]) < boundary).collect();
    assert_eq!(early.len() as u64, n);
    assert!(early.iter().all(|i| at(&ten_rows[*i]) >= t("2026-01-01T09:50:00Z")));
    let first_later = (0..ten_rows.len())
        .find(|i| at(&ten_rows[*i]) >= boundary)
        .expect("10:00 calls");
    assert!(
        early.iter().any(|i| *i > first_later),
        "a 09:5x call comes after a 10:xx call (the guide's 13:55 after 14:10)"
    );
    let monotonic = ten_rows.windows(2).all(|w| at(&w[0]) <= at(&w[1]));
    assert!(!monotonic, "event time is not monotonic within the file");
    assert!(
        nine_rows.iter().all(|r| at(r) < t("2026-01-01T09:50:00Z")),
        "fraction 1: the whole tail moved"
    );
    // Nothing lost, nothing duplicated: the two files hold the same calls as without the fault.
    let plain_jobs = jobs_by_interval(&plain, &plain_dl).await;
    let ids_of = |rows: &[Map<String, Value>]| -> BTreeSet<String> {
        rows.iter().map(|r| s(&r["call_uuid"]).to_string()).collect()
    };
    let mut faulted = ids_of(&nine_rows);
    faulted.extend(ids_of(&ten_rows));
    let mut expected = ids_of(
        &file_rows(&plain, &file_of(&plain_jobs["2026-01-01T09:00:00Z"], "cdr"))
            .await
            .1,
    );
    expected.extend(ids_of(
        &file_rows(&plain, &file_of(&plain_jobs["2026-01-01T10:00:00Z"], "cdr"))
            .await
            .1,
    ));
    assert_eq!(faulted, expected);
    assert_eq!(nine_rows.len() + ten_rows.len(), expected.len());
    // Other data types and intervals are as without the fault.
    for (interval, dt) in [
        ("2026-01-01T10:00:00Z", "acd"),
        ("2026-01-01T11:00:00Z", "cdr"),
        ("2026-01-01T08:00:00Z", "cdr"),
    ] {
        let a = file_rows(&m, &file_of(&jobs[interval], dt)).await.2;
        let b = file_rows(&plain, &file_of(&plain_jobs[interval], dt)).await.2;
        assert_eq!(sha256_hex(&a), sha256_hex(&b), "{interval} {dt}");
    }

    // (c) the truth ignores file order: the same as without the rule, and the merge of the files.
    let range = ("2026-01-01T08:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T13:00:00Z");
    let with = summary(&m, &dl, "cdr", range.0, range.1, range.2).await;
    let without = summary(&plain, &plain_dl, "cdr", range.0, range.1, range.2).await;
    assert_eq!(with, without);
    assert_truth_is_the_merge(&m, &dl, "cdr", range.0, range.1, range.2).await;

    // (d) the same seed fires identically.
    let (again, again_dl, again_ids) = setup(&[ooo_rule()]).await;
    again.advance("13h").await;
    assert_eq!(again_ids, ids);
    assert_eq!(again_dl, dl);
    assert_eq!(fault_events(&again, &ids[0]).await, events);
    let again_jobs = jobs_by_interval(&again, &again_dl).await;
    assert_eq!(
        file_rows(&again, &file_of(&again_jobs["2026-01-01T10:00:00Z"], "cdr"))
            .await
            .2,
        ten_bytes
    );
}

// ---------------------------------------------------------------------------------------------
// F2 late_update

fn late_rule() -> Value {
    json!({"kind": "late_update", "category": "telephony", "data_type": "cdr",
           "from": "2026-01-01T09:00:00Z", "until": "2026-01-01T10:00:00Z",
           "params": {"fraction": 0.3, "min_delay_hours": 1, "max_delay_hours": 3}})
}

#[tokio::test]
async fn f2_late_update_re_emits_keys_in_a_later_partition_with_a_later_last_update_time() {
    let (m, dl, ids) = setup(&[late_rule()]).await;
    let (plain, plain_dl, _) = setup(&[]).await;
    for x in [&m, &plain] {
        x.advance("16h").await;
    }
    let jobs = jobs_by_interval(&m, &dl).await;
    let nine = &jobs["2026-01-01T09:00:00Z"];

    // (a) the ledger: the 09:00 job's records were picked; later jobs carry the late versions.
    let events = fault_events(&m, &ids[0]).await;
    let selected: Vec<&Value> = events.iter().filter(|e| e["detail"]["action"] == "selected").collect();
    assert_eq!(selected.len(), 1, "{events:#?}");
    assert_eq!(selected[0]["job_id"], nine["id"]);
    let picked = selected[0]["detail"]["records"].as_u64().expect("records");
    assert!(picked > 5, "30% of a busy hour's calls: {picked}");
    let carrying: Vec<&Value> = events.iter().filter(|e| e["detail"]["action"] == "carried").collect();
    assert!(!carrying.is_empty());
    let mut carried_total = 0;
    let mut carrier_jobs = BTreeSet::new();
    for e in &carrying {
        assert_eq!(e["detail"]["original_intervals"], json!(["2026-01-01T09:00:00Z"]));
        assert_eq!(e["detail"]["kind"], "late_update");
        carried_total += e["detail"]["records"].as_u64().expect("records");
        carrier_jobs.insert(s(&e["job_id"]).to_string());
    }
    assert_eq!(
        carried_total, picked,
        "every picked record's late version is carried once"
    );
    assert!(!carrier_jobs.contains(s(&nine["id"])));

    // (b) the bucket: the same call_uuid again in a later partition, later last_update_time,
    // another disposition, same start_time.
    let files = all_files(&m, &dl, "cdr").await;
    let originals: BTreeMap<String, Map<String, Value>> = files["2026-01-01T09:00:00Z"]
        .iter()
        .map(|r| (s(&r["call_uuid"]).to_string(), r.clone()))
        .collect();
    let mut late = 0;
    for (interval, rows) in &files {
        if t(interval) <= t("2026-01-01T09:00:00Z") {
            continue;
        }
        let job = &jobs[interval];
        for r in rows.iter().filter(|r| t(s(&r["start_time"])) < t(interval)) {
            late += 1;
            assert!(carrier_jobs.contains(s(&job["id"])), "{interval} carries late versions");
            let o = &originals[s(&r["call_uuid"])];
            let (lut, olut) = (t(s(&r["last_update_time"])), t(s(&o["last_update_time"])));
            assert!(lut >= olut + chrono::Duration::hours(1) && lut <= olut + chrono::Duration::hours(3));
            assert!(
                lut >= t(interval) && lut < t(interval) + chrono::Duration::hours(1),
                "in the partition of its update"
            );
            assert_ne!(r["disposition"], o["disposition"], "the agent changed the disposition");
            assert_eq!(r["start_time"], o["start_time"]);
            assert_eq!(r["contactId"], o["contactId"]);
        }
    }
    assert_eq!(late, picked);
    // acd is not targeted: no late rows there.
    let acd = all_files(&m, &dl, "acd").await;
    for (interval, rows) in &acd {
        assert!(
            rows.iter().all(|r| t(s(&r["contactStart"])) >= t(interval)),
            "{interval}"
        );
    }

    // (c) the truth: the latest version of each key, changed exactly by the late versions.
    let range = ("2026-01-01T08:00:00Z", "2026-01-01T12:00:00Z");
    let tr = assert_truth_is_the_merge(&m, &dl, "cdr", range.0, range.1, "2026-01-01T16:00:00Z").await;
    let base = truth(&plain, &plain_dl, "cdr", range.0, range.1, "2026-01-01T16:00:00Z").await;
    let (with, without) = (keyed(&tr), keyed(&base));
    assert_eq!(with.len(), without.len(), "late updates add versions, not records");
    let changed: Vec<&String> = with.keys().filter(|k| with[*k] != without[*k]).collect();
    assert_eq!(changed.len() as u64, picked, "exactly the picked records differ");
    // Before the late versions are exported, the truth is the first versions.
    let early = summary(&m, &dl, "cdr", range.0, range.1, "2026-01-01T11:00:00Z").await;
    let early_plain = summary(&plain, &plain_dl, "cdr", range.0, range.1, "2026-01-01T11:00:00Z").await;
    let first_late = carrying.iter().map(|e| t(s(&e["at"]))).min().expect("carried");
    assert!(
        first_late > t("2026-01-01T11:00:00Z"),
        "min delay 1 h: nothing late before 11:20"
    );
    assert_eq!(early, early_plain);

    // (d) the same seed fires identically.
    let (again, again_dl, _) = setup(&[late_rule()]).await;
    again.advance("16h").await;
    assert_eq!(fault_events(&again, &ids[0]).await, events);
    let again_jobs = jobs_by_interval(&again, &again_dl).await;
    for interval in jobs.keys() {
        let a = file_rows(&m, &file_of(&jobs[interval], "cdr")).await.2;
        let b = file_rows(&again, &file_of(&again_jobs[interval], "cdr")).await.2;
        assert_eq!(a, b, "{interval}");
    }
}

// ---------------------------------------------------------------------------------------------
// F6 schema_drift

fn drift_rule() -> Value {
    json!({"kind": "schema_drift", "category": "telephony", "data_type": "cdr",
           "params": {"at": "2026-01-01T10:00:00Z",
                      "add_columns": [{"name": "sentiment_label", "type": "string"},
                                      {"name": "compliance_score", "type": "double"}]}})
}

#[tokio::test]
async fn f6_schema_drift_adds_populated_columns_from_the_drift_instant() {
    let (m, dl, ids) = setup(&[drift_rule()]).await;
    m.advance("13h").await;
    let jobs = jobs_by_interval(&m, &dl).await;
    let s3 = m.lake_client(&tok(&m).await).await;
    let added = ["sentiment_label", "compliance_score"];

    // (b) the bucket: before 10:00 the columns are absent and the schema is version 1; from
    // 10:00 they are there, populated in every row, at version 2. acd is untouched.
    let mut drifted_jobs = BTreeSet::new();
    for (interval, job) in &jobs {
        let (columns, rows, _) = file_rows(&m, &file_of(job, "cdr")).await;
        let manifest_uri = job["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .map(|u| s(u).to_string())
            .find(|u| u.contains("/cdr/"))
            .expect("cdr manifest");
        let manifest: Value = serde_json::from_slice(&get_object(&s3, &manifest_uri).await).expect("manifest");
        if t(interval) < t("2026-01-01T10:00:00Z") {
            assert!(
                added.iter().all(|a| !columns.iter().any(|c| c == a)),
                "{interval}: {columns:?}"
            );
            assert_eq!(manifest["schema_version"], 1, "{interval}");
        } else {
            drifted_jobs.insert(s(&job["id"]).to_string());
            assert!(
                added.iter().all(|a| columns.iter().any(|c| c == a)),
                "{interval}: {columns:?}"
            );
            assert_eq!(manifest["schema_version"], 2, "{interval}");
            for r in &rows {
                assert!(
                    r["sentiment_label"]
                        .as_str()
                        .is_some_and(|v| v.starts_with("sentiment_label-")),
                    "{r:?}"
                );
                assert!(r["compliance_score"].as_f64().is_some(), "{r:?}");
            }
        }
        let (acd_columns, _, _) = file_rows(&m, &file_of(job, "acd")).await;
        assert!(added.iter().all(|a| !acd_columns.iter().any(|c| c == a)));
    }
    assert_eq!(drifted_jobs.len(), 2, "10:00 and 11:00 have run by 13:00");

    // (a) the ledger: one firing per drifted job (cdr only), naming the version and columns.
    let events = fault_events(&m, &ids[0]).await;
    let fired: BTreeSet<String> = events.iter().map(|e| s(&e["job_id"]).to_string()).collect();
    assert_eq!(fired, drifted_jobs);
    assert_eq!(events.len(), 2);
    for e in &events {
        assert_eq!(e["detail"]["data_type"], "cdr");
        assert_eq!(e["detail"]["schema_version"], 2);
        assert_eq!(e["detail"]["added_columns"], json!(added));
    }
    // The documented schemas stay at version 1.
    let schemas: Value = m
        .api(reqwest::Method::GET, "/api/v2/data-downloads/schemas", &tok(&m).await)
        .send()
        .await
        .expect("schemas")
        .json()
        .await
        .expect("json");
    let cdr = &schemas["categories"]["telephony"]["data_types"]["cdr"];
    assert_eq!(cdr["version"], 1);
    assert!(!cdr["columns"].to_string().contains("sentiment_label"));

    // (c) the truth: the newest schema's columns, null for records exported before the drift,
    // the files' values after; exactly the merge of the files.
    let tr = assert_truth_is_the_merge(
        &m,
        &dl,
        "cdr",
        "2026-01-01T08:00:00Z",
        "2026-01-01T12:00:00Z",
        "2026-01-01T13:00:00Z",
    )
    .await;
    for r in tr["records"].as_array().expect("records") {
        let before = t(s(&r["start_time"])) < t("2026-01-01T10:00:00Z");
        for a in added {
            assert_eq!(r[a].is_null(), before, "{a} of {r}");
        }
    }
    // Before any drifted export, the newest schema has no added column.
    let early = truth(
        &m,
        &dl,
        "cdr",
        "2026-01-01T08:00:00Z",
        "2026-01-01T09:00:00Z",
        "2026-01-01T10:30:00Z",
    )
    .await;
    assert!(early["records"][0].get("sentiment_label").is_none());

    // (d) the same seed fires identically.
    let (again, again_dl, _) = setup(&[drift_rule()]).await;
    again.advance("13h").await;
    assert_eq!(fault_events(&again, &ids[0]).await, events);
    let again_jobs = jobs_by_interval(&again, &again_dl).await;
    let a = file_rows(&m, &file_of(&jobs["2026-01-01T11:00:00Z"], "cdr")).await.2;
    let b = file_rows(&again, &file_of(&again_jobs["2026-01-01T11:00:00Z"], "cdr"))
        .await
        .2;
    assert_eq!(a, b);
}

#[tokio::test]
async fn f2_f6_late_versions_after_a_drift_carry_the_new_columns() {
    // A record first exported before the drift gets a late version after it: the late version is
    // exported with the new columns, so the truth has them populated.
    let late = json!({"kind": "late_update", "category": "telephony", "data_type": "cdr",
                      "from": "2026-01-01T09:00:00Z", "until": "2026-01-01T10:00:00Z",
                      "params": {"fraction": 0.5, "min_delay_hours": 2, "max_delay_hours": 3}});
    let (m, dl, _) = setup(&[late, drift_rule()]).await;
    m.advance("15h").await;
    let tr = assert_truth_is_the_merge(
        &m,
        &dl,
        "cdr",
        "2026-01-01T09:00:00Z",
        "2026-01-01T10:00:00Z",
        "2026-01-01T15:00:00Z",
    )
    .await;
    let records = tr["records"].as_array().expect("records");
    let updated = records.iter().filter(|r| !r["sentiment_label"].is_null()).count();
    assert!(updated > 0 && updated < records.len(), "{updated} of {}", records.len());
    for r in records {
        let late = t(s(&r["last_update_time"])) > t("2026-01-01T11:00:00Z");
        assert_eq!(!r["sentiment_label"].is_null(), late, "{r}");
    }
}

async fn fault_rule(m: &Mock, id: &str) -> Value {
    let r = m
        .http
        .get(m.url(&format!("/_mock/faults/{id}")))
        .send()
        .await
        .expect("get fault");
    r.json().await.expect("json")
}

/// Interval start of the job with this id.
fn interval_of_job(jobs: &BTreeMap<String, Value>, job_id: &Value) -> String {
    jobs.iter()
        .find(|(_, j)| j["id"] == *job_id)
        .map(|(i, _)| i.clone())
        .unwrap_or_else(|| panic!("job {job_id}"))
}

#[tokio::test]
async fn f1_next_jobs_targets_the_first_intervals_scheduled_after_the_rule_was_added() {
    let (m, dl, _) = setup(&[]).await;
    m.advance("3h").await; // 00:00 and 01:00 are exported; 02:00 at 03:20
    let rule = json!({"kind": "out_of_order", "download_id": dl, "data_type": "cdr", "next_jobs": 2,
                      "params": {"fraction": 1.0, "minutes": 30}});
    let id = s(&m.control("/_mock/faults", rule).await["id"]).to_string();
    m.advance("6h").await;
    let jobs = jobs_by_interval(&m, &dl).await;
    let events = fault_events(&m, &id).await;
    let at = |action: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["detail"]["action"] == action)
            .map(|e| interval_of_job(&jobs, &e["job_id"]))
            .collect()
    };
    // The first target whose previous interval is still to be exported is 03:00 (02:00 runs at
    // 03:20, after the rule was added); then 04:00; then the rule is used up.
    assert_eq!(at("carried_in"), ["2026-01-01T03:00:00Z", "2026-01-01T04:00:00Z"]);
    assert_eq!(at("withheld"), ["2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"]);
    assert_eq!(fault_rule(&m, &id).await["remaining_jobs"], 0);
    assert_truth_is_the_merge(
        &m,
        &dl,
        "cdr",
        "2026-01-01T00:00:00Z",
        "2026-01-01T08:00:00Z",
        "2026-01-01T09:00:00Z",
    )
    .await;
}

#[tokio::test]
async fn f2_a_rule_added_later_never_rewrites_what_was_already_exported() {
    let (m, dl, _) = setup(&[]).await;
    m.advance("10h").await;
    let rule = json!({"kind": "late_update", "download_id": dl, "data_type": "cdr",
                      "params": {"fraction": 0.5, "min_delay_hours": 1, "max_delay_hours": 4}});
    let id = s(&m.control("/_mock/faults", rule).await["id"]).to_string();
    m.advance("6h").await;
    let jobs = jobs_by_interval(&m, &dl).await;
    let events = fault_events(&m, &id).await;
    let selected: Vec<String> = events
        .iter()
        .filter(|e| e["detail"]["action"] == "selected")
        .map(|e| interval_of_job(&jobs, &e["job_id"]))
        .collect();
    // 09:00 is the first interval exported after 10:00 (at 10:20): earlier ones keep one version.
    assert_eq!(selected.first().map(String::as_str), Some("2026-01-01T09:00:00Z"));
    assert!(events.iter().any(|e| e["detail"]["action"] == "carried"));
    let tr = assert_truth_is_the_merge(
        &m,
        &dl,
        "cdr",
        "2026-01-01T00:00:00Z",
        "2026-01-01T16:00:00Z",
        "2026-01-01T16:00:00Z",
    )
    .await;
    for r in tr["records"].as_array().expect("records") {
        if t(s(&r["start_time"])) < t("2026-01-01T09:00:00Z") {
            let gap = t(s(&r["last_update_time"])) - t(s(&r["start_time"]));
            assert!(gap < chrono::Duration::hours(1), "no late version before 09:00: {r}");
        }
    }
}

#[tokio::test]
async fn f2_six_hourly_updates_inside_their_own_interval_are_carried_by_the_next_one() {
    let m = start().await;
    let rule = json!({"kind": "late_update", "category": "quality_management", "data_type": "evaluation",
                      "params": {"fraction": 1.0, "min_delay_hours": 1, "max_delay_hours": 2}});
    let id = s(&m.control("/_mock/faults", rule).await["id"]).to_string();
    let d = m
        .create_download(
            &tok(&m).await,
            json!({"category": "quality_management", "format": "parquet",
                   "destination": {"type": "aws_s3", "bucket": BUCKET, "prefix": "qm/"}}),
        )
        .await;
    let dl = s(&d["id"]).to_string();
    m.advance("2d").await;
    let jobs = m.jobs(&tok(&m).await, &dl, "status=COMPLETED").await;
    assert!(jobs.len() >= 7, "six-hourly: {}", jobs.len());
    let mut late = 0;
    for job in &jobs {
        let interval = t(s(&job["interval_start"]));
        let uri = job["output_files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|u| s(u).to_string())
            .find(|u| u.contains("/evaluation/"))
            .expect("evaluation file");
        for r in file_rows(&m, &uri).await.1 {
            if t(s(&r["contactStart"])) < interval {
                late += 1;
                assert_eq!(r["status"], "Overridden");
                assert!(t(s(&r["contactStart"])) >= interval - chrono::Duration::hours(6) - chrono::Duration::hours(3));
            }
        }
    }
    assert!(late > 0);
    let carried: u64 = fault_events(&m, &id)
        .await
        .iter()
        .filter(|e| e["detail"]["action"] == "carried")
        .map(|e| e["detail"]["records"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(carried, late);
    let tr = truth(
        &m,
        &dl,
        "evaluation",
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00Z",
        "2026-01-03T00:00:00Z",
    )
    .await;
    assert!(tr["records"]
        .as_array()
        .expect("records")
        .iter()
        .all(|r| r["status"] == "Overridden"));
    let q = format!("download_id={dl}&data_type=evaluation&start_time=2026-01-01T00:00:00Z&end_time=2026-01-02T00:00:00Z&as_of=2026-01-03T00:00:00Z&format=summary");
    let (_, sum) = truth_raw(&m, &q).await;
    assert_eq!(sum["checksum"], checksum(&tr).as_str());
}

// ---------------------------------------------------------------------------------------------
// D3 / null_column_strip: what a stripped Parquet file lost is null in the truth

#[tokio::test]
async fn d3_null_column_strip_truth_holds_null_where_a_stripped_file_lost_values() {
    let strip = json!({"kind": "null_column_strip", "category": "telephony",
                       "params": {"min_null_fraction": 0.3}});
    let (m, dl, _) = setup(&[strip, drift_rule()]).await;
    m.advance("13h").await;
    // Some file really dropped a column that holds values elsewhere: otherwise this proves nothing.
    let files = all_files(&m, &dl, "cdr").await;
    let widest = files
        .values()
        .filter_map(|rows| rows.first().map(|r| r.len()))
        .max()
        .expect("cdr files");
    let narrower = files
        .values()
        .filter(|rows| rows.first().is_some_and(|r| r.len() < widest))
        .count();
    assert!(narrower > 0, "some cdr file lacks a column others carry");
    for dt in ["cdr", "acd", "skill_group"] {
        let tr = assert_truth_is_the_merge(
            &m,
            &dl,
            dt,
            "2026-01-01T00:00:00Z",
            "2026-01-01T12:00:00Z",
            "2026-01-01T13:00:00Z",
        )
        .await;
        assert!(!tr["records"].as_array().expect("records").is_empty());
    }
}

#[tokio::test]
async fn d3_f1_records_carried_into_the_next_file_take_that_files_stripping() {
    // F1 moves the last minutes of an hour into the next hour's file; that file's stripping is
    // what a reader of the record sees.
    let strip = json!({"kind": "null_column_strip", "category": "telephony",
                       "params": {"min_null_fraction": 0.3}});
    let ooo = json!({"kind": "out_of_order", "category": "telephony", "data_type": "cdr",
                     "params": {"fraction": 0.5, "minutes": 10}});
    let (m, dl, _) = setup(&[ooo, strip]).await;
    m.advance("13h").await;
    // Up to 11:00: the 11:50-12:00 records are carried into the 12:00 file, not exported by 13:00.
    for dt in ["cdr", "acd", "skill_group"] {
        assert_truth_is_the_merge(
            &m,
            &dl,
            dt,
            "2026-01-01T00:00:00Z",
            "2026-01-01T11:00:00Z",
            "2026-01-01T13:00:00Z",
        )
        .await;
    }
}
