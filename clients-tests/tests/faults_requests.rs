//! Faults that act on time and on requests (CONTRACT §4, §6; F7, F9, F10), with reqwest and
//! aws-sdk-s3: `category_lag` moves a category's job starts, `maintenance_window` answers 503
//! on the public API and holds exports until it ends, `kms_key_rotation` makes files written
//! after it unreadable to data-lake credentials issued before it. Each firing is in the ledger,
//! and the same seed and steps fire identically.

use aws_sdk_s3::error::SdkError;
use chrono::{DateTime, Duration, Utc};
use clients_tests::{frozen, get_object, s3_code, split_uri, start, start_with, Mock, TenantCreds, T0};
use mock_cxone::MockCxone;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

fn ts(v: &Value) -> DateTime<Utc> {
    t(v.as_str().unwrap_or_else(|| panic!("timestamp string: {v}")))
}

fn download(category: &str, bucket: &str) -> Value {
    json!({
        "category": category,
        "format": "parquet",
        "compression": "snappy",
        "partitioning": {"enabled": true, "structure": "year={yyyy}/month={MM}/day={dd}/hour={HH}"},
        "schedule": {"frequency": "HOURLY", "offset_minutes": 20},
        "destination": {"type": "aws_s3", "bucket": bucket, "prefix": format!("exports/{category}/")}
    })
}

/// Adds a fault rule; returns its id.
async fn fault(m: &Mock, body: Value) -> String {
    let r = m
        .http
        .post(m.url("/_mock/faults"))
        .json(&body)
        .send()
        .await
        .expect("post fault");
    let status = r.status();
    let v: Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_str().expect("id").to_string()
}

/// The ledger's `fault` events of one rule, oldest first.
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
    v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["fault_id"] == fault_id)
        .cloned()
        .collect()
}

/// What must be identical on a second run with the same seed: everything but `seq`.
fn comparable(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(o) = e.as_object_mut() {
                o.remove("seq");
            }
            e
        })
        .collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

// ---------------------------------------------------------------------------------------------
// F7 category_lag

/// Telephony and IVR downloads, a lag on telephony from 01:00; runs to 04:30. Returns the jobs
/// of both and the rule's events.
async fn f7_run() -> (Vec<Value>, Vec<Value>, Vec<Value>, String) {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let tel = id(&m.create_download(&tok, download("telephony", "lake-f7")).await);
    let ivr = id(&m.create_download(&tok, download("ivr", "lake-f7")).await);
    let rule = fault(
        &m,
        json!({"kind": "category_lag", "category": "telephony", "from": "2026-01-01T01:00:00Z",
               "params": {"min_minutes": 30, "max_minutes": 40}}),
    )
    .await;
    m.advance_to("2026-01-01T04:30:00Z").await;
    let tok = m.token(&m.demo()).await;
    let tel_jobs = m.jobs(&tok, &tel, "").await;
    let ivr_jobs = m.jobs(&tok, &ivr, "").await;
    let events = fault_events(&m, &rule).await;
    (tel_jobs, ivr_jobs, events, rule)
}

#[tokio::test]
async fn f7_category_lag_delays_the_targeted_category_only_and_fires_the_same_twice() {
    let (tel, ivr, events, rule) = f7_run().await;
    let wait = |j: &Value| ts(&j["start_time"]) - ts(&j["interval_end"]);
    // IVR (and telephony before the window): the documented schedule, offset 20, final 15-25.
    for j in ivr.iter().chain(
        tel.iter()
            .filter(|j| ts(&j["interval_start"]) < t("2026-01-01T01:00:00Z")),
    ) {
        let w = wait(j);
        assert!(w >= Duration::minutes(20) && w <= Duration::minutes(25), "{w} {j}");
    }
    // Telephony from 01:00: 30-40 minutes later than that.
    let lagged: Vec<&Value> = tel
        .iter()
        .filter(|j| ts(&j["interval_start"]) >= t("2026-01-01T01:00:00Z"))
        .collect();
    assert_eq!(lagged.len(), 3, "intervals 01, 02 and 03 have jobs by 04:30: {tel:#?}");
    for j in &lagged {
        let w = wait(j);
        assert!(w >= Duration::minutes(50) && w <= Duration::minutes(65), "{w} {j}");
    }
    // One event per lagged job, naming the job, with the drawn lag.
    assert_eq!(events.len(), 3, "{events:#?}");
    for (e, j) in events.iter().zip(&lagged) {
        assert_eq!(e["kind"], "fault");
        assert_eq!(e["fault_id"], rule.as_str());
        assert_eq!(e["job_id"], j["id"]);
        assert_eq!(e["download_id"], j["download_id"]);
        let d = &e["detail"];
        assert_eq!(d["kind"], "category_lag");
        assert_eq!(d["interval_start"], j["interval_start"]);
        let lag = d["lag_seconds"].as_i64().expect("lag_seconds");
        assert!((30 * 60..=40 * 60).contains(&lag), "{lag}");
        assert_eq!(
            ts(&d["documented_start"]) + Duration::seconds(lag),
            ts(&j["start_time"])
        );
        assert_eq!(d["start_time"], j["start_time"]);
    }
    // (d) the same seed and steps: the same lags, jobs and events.
    let (tel2, ivr2, events2, _) = f7_run().await;
    assert_eq!(tel2, tel);
    assert_eq!(ivr2, ivr);
    assert_eq!(comparable(&events2), comparable(&events));
}

// ---------------------------------------------------------------------------------------------
// F10 maintenance_window

async fn status_of(
    m: &Mock,
    method: Method,
    path: &str,
    token: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = m
        .api(method.clone(), path, token)
        .json(&json!({"entityName": "recording-interaction-metadata", "version": "7",
                      "startDate": "2025-12-30", "endDate": "2025-12-31"}))
        .send()
        .await
        .expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

/// A window 01:10-01:40 over a telephony download whose first job is due 01:20-01:25.
async fn f10_run() -> (Value, Vec<Value>, String) {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let dl = id(&m.create_download(&tok, download("telephony", "lake-f10")).await);
    let s3 = m.lake_client(&tok).await;
    let rule = fault(
        &m,
        json!({"kind": "maintenance_window", "from": "2026-01-01T01:10:00Z", "until": "2026-01-01T01:40:00Z"}),
    )
    .await;
    m.advance_to("2026-01-01T01:15:00Z").await;

    // /auth still answers inside the window (m.token asserts 200).
    let tok = m.token(&m.demo()).await;
    for (method, path) in [
        (Method::GET, "/api/v2/data-downloads".to_string()),
        (Method::GET, format!("/api/v2/data-downloads/{dl}/jobs")),
        (Method::POST, "/api/v2/data-lake/credentials".to_string()),
        (Method::POST, "/data-extraction/v1/jobs".to_string()),
        (Method::GET, "/data-extraction/v1/jobs".to_string()),
    ] {
        let (status, headers, body) = status_of(&m, method.clone(), &path, &tok).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{method} {path}: {body}");
        assert_eq!(
            headers.get("retry-after").and_then(|v| v.to_str().ok()),
            Some("1500"),
            "25 minutes to the window's end"
        );
        assert_eq!(body["error"]["code"], "service_unavailable", "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|s| s.contains("maintenance")));
        assert!(body["error"]["request_id"].as_str().is_some());
    }
    for path in ["/_mock/health", "/_mock/clock", "/.well-known/openid-configuration"] {
        let r = m.http.get(m.url(path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    // The S3 endpoint is not the REST API: it keeps serving.
    s3.list_buckets().send().await.expect("S3 still answers");

    // The job due inside the window starts when it ends.
    m.advance_to("2026-01-01T01:39:59Z").await;
    let (status, _, _) = status_of(&m, Method::GET, "/api/v2/data-downloads", &tok).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    m.advance_to("2026-01-01T01:40:00Z").await;
    let (status, _, body) = status_of(&m, Method::GET, "/api/v2/data-downloads", &tok).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    m.advance_to("2026-01-01T02:00:00Z").await;
    let jobs = m.jobs(&tok, &dl, "").await;
    let first = jobs[0].clone();
    (first, fault_events(&m, &rule).await, rule)
}

#[tokio::test]
async fn f10_maintenance_window_answers_503_and_holds_exports_until_it_ends() {
    let (job, events, rule) = f10_run().await;
    assert_eq!(job["interval_start"], "2026-01-01T00:00:00Z");
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!(ts(&job["start_time"]), t("2026-01-01T01:40:00Z"), "{job}");

    // One event for the 503s (not one per request), one for the held job.
    assert_eq!(events.len(), 2, "{events:#?}");
    let served = events
        .iter()
        .find(|e| e["detail"]["effect"] == "service_unavailable")
        .expect("503 event");
    assert_eq!(served["fault_id"], rule.as_str());
    assert_eq!(served["tenant_id"], "t-demo");
    assert_eq!(served["at"], "2026-01-01T01:15:00Z");
    assert_eq!(served["detail"]["kind"], "maintenance_window");
    assert_eq!(served["detail"]["window"]["until"], "2026-01-01T01:40:00Z");
    let held = events
        .iter()
        .find(|e| e["detail"]["effect"] == "job_start_delayed")
        .expect("delay event");
    assert_eq!(held["job_id"], job["id"]);
    assert_eq!(held["download_id"], job["download_id"]);
    assert_eq!(held["detail"]["starts_at"], "2026-01-01T01:40:00Z");
    let due = ts(&held["detail"]["due_at"]);
    assert!(due > t("2026-01-01T01:20:00Z") - Duration::seconds(1) && due <= t("2026-01-01T01:25:00Z"));

    // (d) the same seed and steps fire identically.
    let (job2, events2, _) = f10_run().await;
    assert_eq!(job2, job);
    assert_eq!(comparable(&events2), comparable(&events));
}

/// A window for acme only, without `until`, over two days of acme's and demo's hourly exports;
/// deleted at 2026-01-03T00:00. Returns its events (before deletion) and both tenants' jobs.
async fn f10_tenant_run() -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let m = start().await;
    let acme = m.tenant(json!({"name": "acme"})).await;
    let acme_tok = m.token(&acme).await;
    let acme_dl = id(&m.create_download(&acme_tok, download("telephony", "acme-f10")).await);
    let demo_tok = m.token(&m.demo()).await;
    let demo_dl = id(&m.create_download(&demo_tok, download("telephony", "demo-f10")).await);
    let rule = fault(
        &m,
        json!({"kind": "maintenance_window", "tenant_id": acme.tenant_id, "params": {"retry_after_seconds": 120}}),
    )
    .await;
    let get = |creds: TenantCreds| {
        let m = &m;
        async move {
            let tok = m.token(&creds).await;
            let r = m
                .api(Method::GET, "/api/v2/data-downloads", &tok)
                .send()
                .await
                .expect("get");
            (r.status(), r.headers().get("retry-after").cloned())
        }
    };
    let (status, retry) = get(acme.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        retry.and_then(|v| v.to_str().ok().map(str::to_string)).as_deref(),
        Some("120")
    );
    assert_eq!(get(m.demo()).await.0, StatusCode::OK, "another tenant is not affected");
    // Without a token the tenant is unknown: the request gets its usual 401.
    let r = m.http.get(m.url("/api/v2/data-downloads")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    m.advance("2d").await;
    assert_eq!(
        get(acme.clone()).await.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "no until: still closed"
    );
    let events = fault_events(&m, &rule).await;
    let r = m
        .http
        .delete(m.url(&format!("/_mock/faults/{rule}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(acme.clone()).await.0, StatusCode::OK);
    m.advance("1h").await;
    let acme_jobs = m.jobs(&m.token(&acme).await, &acme_dl, "").await;
    let demo_jobs = m.jobs(&m.token(&m.demo()).await, &demo_dl, "").await;
    (events, acme_jobs, demo_jobs)
}

#[tokio::test]
async fn f10_tenant_window_closes_only_that_tenants_api_and_an_open_window_lasts_until_deleted() {
    let (events, acme_jobs, demo_jobs) = f10_tenant_run().await;
    // acme's exports due in the two days waited for the deletion, then started at the first
    // check after it (every Retry-After = 120 s); demo's ran on schedule.
    let deleted = t("2026-01-03T00:00:00Z");
    let held: Vec<&Value> = acme_jobs.iter().filter(|j| ts(&j["interval_end"]) < deleted).collect();
    assert_eq!(held.len(), 47, "intervals 00:00 to 22:00 of the second day were due");
    for j in &held {
        assert_eq!(j["status"], "COMPLETED", "{j}");
        assert_eq!(ts(&j["start_time"]), deleted + Duration::minutes(2), "{j}");
    }
    for j in demo_jobs.iter().filter(|j| j["status"] == "COMPLETED") {
        let w = ts(&j["start_time"]) - ts(&j["interval_end"]);
        assert!(w >= Duration::minutes(20) && w <= Duration::minutes(25), "{w} {j}");
    }
    assert!(demo_jobs.len() >= 47);
    // One event for acme's first 503 (none for demo or the request without a token), one per
    // held job.
    let served: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail"]["effect"] == "service_unavailable")
        .collect();
    assert_eq!(served.len(), 1, "{events:#?}");
    assert_eq!(served[0]["tenant_id"], "t-acme");
    assert_eq!(served[0]["at"], T0);
    assert_eq!(served[0]["detail"]["retry_after_seconds"], 120);
    assert_eq!(served[0]["detail"]["window"], json!({"from": null, "until": null}));
    let delayed: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail"]["effect"] == "job_start_delayed")
        .collect();
    assert_eq!(delayed.len(), 47);
    assert!(delayed
        .iter()
        .all(|e| e["detail"]["starts_at"].is_null() && e["tenant_id"] == "t-acme"));
    // (d) the same seed and steps fire identically.
    let (events2, acme_jobs2, _) = f10_tenant_run().await;
    assert_eq!(comparable(&events2), comparable(&events));
    assert_eq!(acme_jobs2, acme_jobs);
}

// ---------------------------------------------------------------------------------------------
// F9 kms_key_rotation

fn status(err: &SdkError<impl std::fmt::Debug, aws_sdk_s3::config::http::HttpResponse>) -> u16 {
    err.raw_response().map(|r| r.status().as_u16()).unwrap_or_default()
}

struct F9 {
    events: Vec<Value>,
    old_key: String,
    new_key: String,
}

async fn kms_of(s3: &aws_sdk_s3::Client, uri: &str) -> String {
    let (bucket, key) = split_uri(uri);
    let o = s3.head_object().bucket(bucket).key(key).send().await.expect("head");
    o.ssekms_key_id().expect("kms key id").to_string()
}

/// A rotation at 02:00: the 00-01 export (01:20-01:30) is under the old key, the 01-02 export
/// (02:20-02:30) under the new one.
async fn f9_run() -> F9 {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    let dl = id(&m.create_download(&tok, download("telephony", "lake-f9")).await);
    let old_cred = m.lake_client(&tok).await;
    let rule = fault(
        &m,
        json!({"kind": "kms_key_rotation", "tenant_id": "t-demo", "params": {"at": "2026-01-01T02:00:00Z"}}),
    )
    .await;
    m.advance_to("2026-01-01T01:50:00Z").await;
    let tok = m.token(&m.demo()).await;
    let before = m.jobs(&tok, &dl, "status=COMPLETED").await;
    assert_eq!(before.len(), 1);
    let before_files: Vec<String> = before[0]["output_files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|u| u.as_str().expect("uri").to_string())
        .collect();
    assert!(!get_object(&old_cred, &before_files[0]).await.is_empty());
    let old_key = kms_of(&old_cred, &before_files[0]).await;

    m.advance_to("2026-01-01T03:00:00Z").await;
    let tok = m.token(&m.demo()).await;
    let jobs = m.jobs(&tok, &dl, "").await;
    let after = jobs
        .iter()
        .find(|j| j["interval_start"] == "2026-01-01T01:00:00Z")
        .expect("01-02 job");
    assert_eq!(after["status"], "COMPLETED", "the job says COMPLETED: {after}");
    let after_file = after["output_files"][0].as_str().expect("uri").to_string();
    let (bucket, key) = split_uri(&after_file);

    // The old credential: the old file still reads, the new one is refused (GET, ranged GET,
    // HEAD, copy source), while listing still shows it.
    assert!(!get_object(&old_cred, &before_files[0]).await.is_empty());
    let err = old_cred
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .expect_err("old credential cannot decrypt");
    assert_eq!(s3_code(&err), "AccessDenied");
    assert_eq!(status(&err), 403);
    let msg = err
        .as_service_error()
        .and_then(|e| e.meta().message())
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("customer master key"), "{msg}");
    let err = old_cred
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .range("bytes=0-3")
        .send()
        .await
        .expect_err("ranged");
    assert_eq!(s3_code(&err), "AccessDenied");
    let err = old_cred
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .expect_err("head");
    assert_eq!(status(&err), 403);
    let err = old_cred
        .copy_object()
        .bucket(&bucket)
        .key("copies/x.parquet")
        .copy_source(format!("{bucket}/{key}"))
        .send()
        .await
        .expect_err("copy");
    assert_eq!(s3_code(&err), "AccessDenied");
    let listed = old_cred
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("exports/telephony/")
        .send()
        .await
        .expect("listing needs no key");
    assert!(listed.contents().iter().any(|o| o.key() == Some(key.as_str())));

    // A credential issued now is granted both keys.
    let new_cred = m.lake_client(&tok).await;
    assert!(!get_object(&new_cred, &after_file).await.is_empty());
    assert!(!get_object(&new_cred, &before_files[0]).await.is_empty());
    let new_key = kms_of(&new_cred, &after_file).await;
    assert_ne!(new_key, old_key, "SSE-KMS headers show the rotated key");
    assert_eq!(kms_of(&new_cred, &before_files[0]).await, old_key);

    // Uploads after the rotation are under the new key too.
    let put = new_cred
        .put_object()
        .bucket(&bucket)
        .key("uploads/after.txt")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .expect("put");
    assert_eq!(put.ssekms_key_id(), Some(new_key.as_str()));
    let err = old_cred
        .get_object()
        .bucket(&bucket)
        .key("uploads/after.txt")
        .send()
        .await
        .expect_err("old credential, new upload");
    assert_eq!(s3_code(&err), "AccessDenied");

    F9 {
        events: fault_events(&m, &rule).await,
        old_key,
        new_key,
    }
}

#[tokio::test]
async fn f9_rotation_denies_new_files_to_old_credentials_while_jobs_complete() {
    let run = f9_run().await;
    let ev = &run.events;
    let rotated: Vec<&Value> = ev
        .iter()
        .filter(|e| e["detail"]["effect"] == "kms_key_rotated")
        .collect();
    assert_eq!(rotated.len(), 1, "{ev:#?}");
    assert_eq!(rotated[0]["at"], "2026-01-01T02:00:00Z");
    assert_eq!(rotated[0]["tenant_id"], "t-demo");
    assert_eq!(rotated[0]["detail"]["kind"], "kms_key_rotation");
    assert_eq!(rotated[0]["detail"]["old_kms_key_id"], run.old_key.as_str());
    assert_eq!(rotated[0]["detail"]["new_kms_key_id"], run.new_key.as_str());
    // One denial per (credential, object), however often it is refused: the export file (GET,
    // ranged GET, HEAD, copy) and the upload.
    let denied: Vec<&Value> = ev
        .iter()
        .filter(|e| e["detail"]["effect"] == "kms_access_denied")
        .collect();
    assert_eq!(denied.len(), 2, "{ev:#?}");
    assert_eq!(denied[0]["detail"]["operation"], "GetObject");
    assert_eq!(denied[0]["detail"]["object_kms_key_id"], run.new_key.as_str());
    assert_eq!(denied[0]["detail"]["granted_kms_key_ids"], json!([run.old_key]));
    let object = denied[0]["objects"][0].as_str().expect("object");
    assert!(object.starts_with("s3://lake-f9/exports/telephony/"), "{object}");
    assert!(object.contains("/hour=01/"), "{object}");
    assert_eq!(denied[1]["objects"], json!(["s3://lake-f9/uploads/after.txt"]));

    // (d) the same seed and steps fire identically (keys included: they derive from the seed).
    let again = f9_run().await;
    assert_eq!(again.old_key, run.old_key);
    assert_eq!(again.new_key, run.new_key);
    assert_eq!(comparable(&again.events), comparable(&run.events));
}

async fn demo_key(m: &Mock) -> String {
    let v: Value = m
        .http
        .get(m.url("/_mock/tenants"))
        .send()
        .await
        .expect("tenants")
        .json()
        .await
        .expect("json");
    v["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .find(|t| t["tenant_id"] == "t-demo")
        .and_then(|t| t["kms_key_id"].as_str())
        .expect("demo key")
        .to_string()
}

#[tokio::test]
async fn f9_a_rotation_planned_for_later_survives_a_restart_and_happens_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let builder = || MockCxone::builder().clock(frozen(T0)).data_dir(dir.path());
    let m = start_with(builder()).await;
    let original = demo_key(&m).await;
    let rule = fault(
        &m,
        json!({"kind": "kms_key_rotation", "tenant_id": "t-demo", "params": {"at": "2026-01-01T02:00:00Z"}}),
    )
    .await;
    m.advance("1h").await;
    assert_eq!(demo_key(&m).await, original);
    m.handle.stop().await;

    // The engine's queue is not stored: the rotation is re-planned from the rule.
    let m = start_with(builder()).await;
    assert_eq!(demo_key(&m).await, original);
    m.advance("2h").await;
    let rotated = demo_key(&m).await;
    assert_ne!(rotated, original);
    m.handle.stop().await;

    let m = start_with(builder()).await;
    m.advance("1d").await;
    assert_eq!(demo_key(&m).await, rotated, "a rule rotates once");
    let events = fault_events(&m, &rule).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["at"], "2026-01-01T02:00:00Z");
    assert_eq!(events[0]["detail"]["new_kms_key_id"], rotated.as_str());
}

async fn f9_past_run() -> (String, Vec<Value>) {
    let m = start().await;
    let original = demo_key(&m).await;
    let rule = fault(
        &m,
        json!({"kind": "kms_key_rotation", "tenant_id": "t-demo", "params": {"at": "2025-12-31T00:00:00Z"}}),
    )
    .await;
    let rotated = demo_key(&m).await;
    assert_ne!(rotated, original);
    (rotated, fault_events(&m, &rule).await)
}

#[tokio::test]
async fn f9_a_rotation_whose_instant_has_passed_rotates_at_once() {
    let (key, events) = f9_past_run().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["at"], T0);
    assert_eq!(events[0]["detail"]["new_kms_key_id"], key.as_str());
    // (d) the same seed and steps fire identically.
    let (key2, events2) = f9_past_run().await;
    assert_eq!(key2, key);
    assert_eq!(comparable(&events2), comparable(&events));
}
