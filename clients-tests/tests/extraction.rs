//! CXone's Data Extraction API (CONTRACT §4, "the real CXone shape") with reqwest: jobs accepted
//! once per 30 s, RUNNING → SUCCEEDED within a mock minute, the CSV behind a presigned URL,
//! EXPIRED after 24 h, tenant isolation, and 400/401/403 that change nothing.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use clients_tests::{start, Mock, TenantCreds};
use mock_cxone::download::generate::contacts;
use mock_cxone::extraction::{entities, recordings};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const JOBS: &str = "/data-extraction/v1/jobs";

/// The seed `MockCxone::builder()` uses.
const SEED: u64 = 42;

fn body(entity: &str, version: &str, start: &str, end: &str) -> Value {
    json!({"entityName": entity, "version": version, "startDate": start, "endDate": end})
}

fn recordings_body(start: &str, end: &str) -> Value {
    body("recording-interaction-metadata", "7", start, end)
}

async fn post_job(m: &Mock, token: &str, body: &Value) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let r = m
        .api(Method::POST, JOBS, token)
        .json(body)
        .send()
        .await
        .expect("post job");
    let status = r.status();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// POSTs a job that must be accepted; returns its id.
async fn accepted(m: &Mock, token: &str, body: &Value) -> String {
    let (status, v, _) = post_job(m, token, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    v.as_str()
        .unwrap_or_else(|| panic!("202 body is the job id as a JSON string: {v}"))
        .to_string()
}

async fn get_json(m: &Mock, path: &str, token: &str) -> (StatusCode, Value) {
    let r = m.api(Method::GET, path, token).send().await.expect("get");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn job_status(m: &Mock, token: &str, id: &str) -> Value {
    let (status, v) = get_json(m, &format!("{JOBS}/{id}"), token).await;
    assert_eq!(status, 200, "{v}");
    v["jobStatus"].clone()
}

async fn list(m: &Mock, token: &str) -> Vec<Value> {
    let (status, v) = get_json(m, JOBS, token).await;
    assert_eq!(status, 200, "{v}");
    v["jobs"].as_array().cloned().unwrap_or_default()
}

fn assert_error(status: StatusCode, v: &Value, expected: StatusCode, needle: &str) {
    assert_eq!(status, expected, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "message {msg:?} should mention {needle:?}");
    assert!(v["error"]["request_id"].is_string(), "{v}");
}

/// A fresh mock at T0 advanced to 2026-01-03T00:00:00Z, so 2026-01-01 and -02 have data.
async fn mock_with_two_days() -> (Mock, TenantCreds) {
    let m = start().await;
    m.advance_to("2026-01-03T00:00:00Z").await;
    let t = m.tenant(json!({"name": "acme"})).await;
    (m, t)
}

/// Runs a job to SUCCEEDED and returns its result URL.
async fn result_url(m: &Mock, token: &str, id: &str) -> String {
    m.advance("1m").await;
    let js = job_status(m, token, id).await;
    assert_eq!(js["status"], "SUCCEEDED", "{js}");
    js["result"]["url"].as_str().expect("url").to_string()
}

/// Minimal RFC 4180 reader: quoted fields, doubled quotes, CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

async fn download(m: &Mock, url: &str) -> reqwest::Response {
    m.http.get(url).send().await.expect("download")
}

#[tokio::test]
async fn post_returns_202_with_the_job_id_as_a_json_string_and_the_job_is_listed_running() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let r = m
        .api(Method::POST, JOBS, &token)
        .json(&recordings_body("2026-01-01", "2026-01-02"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let ctype = r.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let text = r.text().await.expect("text");
    let id: String = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?} is not a JSON string: {e}"));
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let jobs = list(&m, &token).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], id.as_str());
    assert_eq!(jobs[0]["status"], "RUNNING");
    let js = job_status(&m, &token, &id).await;
    assert_eq!(js["id"], id.as_str());
    assert_eq!(js["status"], "RUNNING");
    assert_eq!(js["result"], json!({"url": null, "errorMessage": null}));
}

#[tokio::test]
async fn a_second_post_within_30_s_is_403_and_accepted_once_30_s_have_passed() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let b = recordings_body("2026-01-01", "2026-01-01");
    accepted(&m, &token, &b).await;
    let (status, v, headers) = post_job(&m, &token, &b).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, "30 s");
    assert_eq!(headers["retry-after"], "30");
    m.advance("29s").await;
    let (status, v, headers) = post_job(&m, &token, &b).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, "30 s");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(list(&m, &token).await.len(), 1, "a refused POST creates nothing");
    m.advance("1s").await;
    accepted(&m, &token, &b).await;
    assert_eq!(list(&m, &token).await.len(), 2);
    // The limit is per tenant: another tenant is not held back by acme's job.
    let other = m.tenant(json!({"name": "globex"})).await;
    let other_token = m.token(&other).await;
    accepted(&m, &other_token, &b).await;
}

#[tokio::test]
async fn a_job_runs_then_succeeds_within_one_mock_minute_with_a_presigned_url() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let id = accepted(&m, &token, &recordings_body("2026-01-01", "2026-01-02")).await;
    m.advance("4s").await;
    assert_eq!(
        job_status(&m, &token, &id).await["status"],
        "RUNNING",
        "runs a few seconds at least"
    );
    m.advance("56s").await;
    let js = job_status(&m, &token, &id).await;
    assert_eq!(js["status"], "SUCCEEDED", "{js}");
    assert!(js["result"]["errorMessage"].is_null(), "{js}");
    let url = js["result"]["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{}/data-extraction/v1/results/{id}/", m.handle.api_url())),
        "{url}"
    );
    assert!(url.contains("expires=") && url.contains("signature="), "{url}");
    assert_eq!(list(&m, &token).await[0]["status"], "SUCCEEDED");
}

#[tokio::test]
async fn the_csv_result_has_the_header_and_one_row_per_recorded_contact() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let id = accepted(&m, &token, &recordings_body("2026-01-01", "2026-01-02")).await;
    let url = result_url(&m, &token, &id).await;
    let r = download(&m, &url).await;
    assert_eq!(r.status(), 200);
    let ctype = r.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let text = r.text().await.expect("csv");
    assert!(text.ends_with("\r\n"), "RFC 4180 line ends");
    let rows = parse_csv(&text);
    let header: Vec<&str> = rows[0].iter().map(String::as_str).collect();
    assert_eq!(header, entities::RECORDING_COLUMNS);
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");

    // The same contacts Data Download draws from: every recorded contact of the two days
    // whose recording had ended when the job ran (2026-01-03T00:00:00Z).
    let as_of: DateTime<Utc> = "2026-01-03T00:00:00Z".parse().expect("instant");
    let first: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("instant");
    let mut expected = Vec::new();
    for h in 0..48 {
        for c in contacts::for_hour(SEED, &t.tenant_id, first + Duration::hours(h)) {
            if c.recorded && recordings::segment(&c).1 <= as_of {
                expected.push(c.contact_id.to_string());
            }
        }
    }
    let got: Vec<String> = rows[1..].iter().map(|r| r[col("acdContactId")].clone()).collect();
    assert!(got.len() > 500, "two days of a busy contact center: {}", got.len());
    assert_eq!(got, expected);

    for r in &rows[1..] {
        assert_eq!(r.len(), header.len(), "{r:?}");
        let start: DateTime<Utc> = r[col("startTime")].parse().expect("RFC3339");
        assert!(r[col("startTime")].ends_with('Z'));
        let end: DateTime<Utc> = r[col("endTime")].parse().expect("RFC3339");
        assert!(end >= start);
        let media = &r[col("recordingMediaType")];
        assert!(media == "VOICE" || media == "SCREEN", "{media}");
        let expected_name = format!(
            "{}_{}_{}_{}.mp4",
            start.format("%Y-%m-%d-%H-%M-%S"),
            r[col("masterContactId")],
            media,
            r[col("segmentId")]
        );
        assert_eq!(r[col("fileName")], expected_name);
        assert!(!r[col("agentId")].is_empty(), "recorded contacts have an agent");
    }

    // Deterministic: the same URL gives the same bytes.
    let again = download(&m, &url).await.text().await.expect("csv");
    assert_eq!(again, text);
}

#[tokio::test]
async fn qm_workflows_cover_about_a_tenth_of_recorded_contacts_and_join_the_recordings() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let rec = accepted(&m, &token, &recordings_body("2026-01-01", "2026-01-02")).await;
    m.advance("30s").await;
    let qm = accepted(&m, &token, &body("qm-workflows", "4", "2026-01-01", "2026-01-02")).await;
    let rec_url = result_url(&m, &token, &rec).await;
    let qm_url = result_url(&m, &token, &qm).await;
    let rec_rows = parse_csv(&download(&m, &rec_url).await.text().await.expect("csv"));
    let qm_rows = parse_csv(&download(&m, &qm_url).await.text().await.expect("csv"));
    let qm_header: Vec<&str> = qm_rows[0].iter().map(String::as_str).collect();
    assert_eq!(qm_header, entities::QM_COLUMNS);
    let qcol = |name: &str| qm_header.iter().position(|h| *h == name).expect("column");
    let segments: HashSet<&str> = rec_rows[1..].iter().map(|r| r[2].as_str()).collect();
    let n = qm_rows.len() - 1;
    let share = n as f64 / (rec_rows.len() - 1) as f64;
    assert!((0.05..0.16).contains(&share), "{n} workflows, share {share}");
    for r in &qm_rows[1..] {
        assert!(
            segments.contains(r[qcol("segmentId")].as_str()),
            "joins a recording: {r:?}"
        );
        let state = r[qcol("state")].as_str();
        assert!(
            ["NEW", "IN_PROGRESS", "COMPLETED", "EXPIRED"].contains(&state),
            "{state}"
        );
        let score = &r[qcol("scorePercentage")];
        if state == "COMPLETED" {
            let s: f64 = score.parse().expect("score");
            assert!((0.0..=100.0).contains(&s));
            assert_eq!(r[qcol("passed")] == "true", s >= 80.0);
        } else {
            assert!(score.is_empty(), "{r:?}");
        }
        let created: DateTime<Utc> = r[qcol("createdTime")].parse().expect("RFC3339");
        let due: DateTime<Utc> = r[qcol("dueTime")].parse().expect("RFC3339");
        assert_eq!(due - created, Duration::days(7));
    }
}

#[tokio::test]
async fn a_tampered_or_expired_url_is_403_and_an_unsigned_one_too() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let id = accepted(&m, &token, &recordings_body("2026-01-01", "2026-01-01")).await;
    let url = result_url(&m, &token, &id).await;
    let (path, query) = url.split_once('?').expect("query");
    let expires: i64 = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("expires="))
        .and_then(|v| v.parse().ok())
        .expect("expires");
    let now = Utc::now().timestamp();
    assert!(
        (expires - now - 30).abs() <= 2,
        "valid 30 s of wall time: expires {expires}, now {now}"
    );
    let signature = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("signature="))
        .expect("signature");
    let flipped: String = signature
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == '0' {
                    '1'
                } else {
                    '0'
                }
            } else {
                c
            }
        })
        .collect();
    let cases = [
        // Past its 30 s (an expiry in the past: the signature no longer matches it).
        (
            format!("{path}?expires={}&signature={signature}", now - 60),
            "signature",
        ),
        // Stretched into the future.
        (
            format!("{path}?expires={}&signature={signature}", expires + 3600),
            "signature",
        ),
        (format!("{path}?expires={expires}&signature={flipped}"), "signature"),
        (path.to_string(), "not presigned"),
    ];
    for (bad, needle) in cases {
        let r = download(&m, &bad).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert_error(status, &v, StatusCode::FORBIDDEN, needle);
    }
    // Another job's signature does not open this job.
    m.advance("30s").await;
    let other = accepted(&m, &token, &recordings_body("2026-01-02", "2026-01-02")).await;
    let other_url = result_url(&m, &token, &other).await;
    let other_query = other_url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let r = download(&m, &format!("{path}?{other_query}")).await;
    assert_eq!(r.status(), 403);
    // The untouched URL still works.
    assert_eq!(download(&m, &url).await.status(), 200);
}

#[tokio::test]
async fn results_are_kept_24_hours_then_the_job_is_expired() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let id = accepted(&m, &token, &recordings_body("2026-01-01", "2026-01-01")).await;
    let url = result_url(&m, &token, &id).await;
    m.advance("23h58m").await;
    let token = m.token(&t).await; // tokens live an hour of mock time
    assert_eq!(job_status(&m, &token, &id).await["status"], "SUCCEEDED");
    m.advance("2m").await;
    let js = job_status(&m, &token, &id).await;
    assert_eq!(js["status"], "EXPIRED", "{js}");
    assert!(js["result"]["url"].is_null(), "{js}");
    assert_eq!(list(&m, &token).await[0]["status"], "EXPIRED");
    // A URL issued before expiry (still inside its 30 wall seconds) no longer serves the result.
    let r = download(&m, &url).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_error(status, &v, StatusCode::NOT_FOUND, "expired");
}

#[tokio::test]
async fn another_tenants_job_is_404_and_not_listed() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let id = accepted(&m, &token, &recordings_body("2026-01-01", "2026-01-01")).await;
    let other = m.tenant(json!({"name": "globex"})).await;
    let other_token = m.token(&other).await;
    let (status, v) = get_json(&m, &format!("{JOBS}/{id}"), &other_token).await;
    assert_error(status, &v, StatusCode::NOT_FOUND, &id);
    assert!(list(&m, &other_token).await.is_empty());
    let (status, v) = get_json(&m, &format!("{JOBS}/no-such-job"), &token).await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "no-such-job");
}

#[tokio::test]
async fn bad_input_is_400_naming_the_problem_and_changes_nothing() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let cases = [
        (
            body("calls", "7", "2026-01-01", "2026-01-01"),
            "recording-interaction-metadata",
        ),
        (
            body("recording-interaction-metadata", "6", "2026-01-01", "2026-01-01"),
            "version \"7\"",
        ),
        (body("qm-workflows", "7", "2026-01-01", "2026-01-01"), "version \"4\""),
        (recordings_body("2026/01/01", "2026-01-01"), "YYYY-MM-DD"),
        (recordings_body("2026-01-01", "2026-02-30"), "YYYY-MM-DD"),
        (recordings_body("2026-01-02", "2026-01-01"), "before startDate"),
        (recordings_body("2025-12-01", "2026-01-01"), "at most 31 days"),
        (recordings_body("2026-01-04", "2026-01-05"), "future"),
        (
            json!({"entityName": "qm-workflows", "version": "4", "startDate": "2026-01-01"}),
            "endDate",
        ),
        (
            json!({"entityName": "qm-workflows", "version": "4", "startDate": "2026-01-01",
                   "endDate": "2026-01-01", "format": "csv"}),
            "format",
        ),
        (json!(["qm-workflows"]), "invalid request body"),
    ];
    for (b, needle) in &cases {
        let (status, v, _) = post_job(&m, &token, b).await;
        assert_error(status, &v, StatusCode::BAD_REQUEST, needle);
    }
    let r = m
        .api(Method::POST, JOBS, &token)
        .header("content-type", "application/json")
        .body("{\"entityName\":")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    assert!(list(&m, &token).await.is_empty(), "no job was created");
    let events: Value = m
        .http
        .get(m.url("/_mock/events?kind=extraction.job_accepted"))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    assert_eq!(events["events"], json!([]));
    // ...and none of them counted against the 30 s limit: a good POST is accepted at once.
    let id = accepted(&m, &token, &recordings_body("2026-01-01", "2026-01-31")).await;
    let events: Value = m
        .http
        .get(m.url("/_mock/events?kind=extraction.job_accepted"))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    assert_eq!(events["events"][0]["job_id"], id.as_str());
}

#[tokio::test]
async fn no_token_is_401_and_a_token_without_the_scope_is_403() {
    let (m, t) = mock_with_two_days().await;
    let token = m.token(&t).await;
    let id = accepted(&m, &token, &recordings_body("2026-01-01", "2026-01-01")).await;
    for (method, path) in [
        (Method::POST, JOBS.to_string()),
        (Method::GET, JOBS.to_string()),
        (Method::GET, format!("{JOBS}/{id}")),
    ] {
        let r = m
            .http
            .request(method.clone(), m.url(&path))
            .json(&recordings_body("2026-01-01", "2026-01-01"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 401, "{method} {path}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
    }
    let r = m
        .http
        .get(m.url(JOBS))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    let storage_only = m
        .tenant(json!({"name": "storage-only", "scopes": ["storage:manage"]}))
        .await;
    let limited = m.token(&storage_only).await;
    let (status, v, _) = post_job(&m, &limited, &recordings_body("2026-01-01", "2026-01-01")).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, "data-download:read");
    let (status, v) = get_json(&m, JOBS, &limited).await;
    assert_error(status, &v, StatusCode::FORBIDDEN, "data-download:read");
}

#[tokio::test]
async fn job_ids_and_results_are_the_same_for_the_same_seed_and_steps() {
    let mut seen = Vec::new();
    for _ in 0..2 {
        let m = start().await;
        m.advance_to("2026-01-02T00:00:00Z").await;
        let t = m.demo();
        let token = m.token(&t).await;
        let id = accepted(&m, &token, &body("qm-workflows", "4", "2026-01-01", "2026-01-01")).await;
        let url = result_url(&m, &token, &id).await;
        let csv = download(&m, &url).await.text().await.expect("csv");
        seen.push((id, csv));
    }
    assert_eq!(seen[0], seen[1]);
}
