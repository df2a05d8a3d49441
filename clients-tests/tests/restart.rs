//! Durable state: a restart on the same data dir keeps tenants, credentials, files, rules,
//! backlog and the clock; the same seed and steps give the same files, byte for byte.

use clients_tests::{frozen, start_with, Mock, TenantCreds, T0};
use mock_cxone::MockCxone;
use reqwest::Method;
use serde_json::{json, Value};

async fn snapshot(m: &Mock, t: &TenantCreds) -> (Value, Value, Value, Value) {
    let tok = m.token(t).await;
    let get = |path: &str| m.api(Method::GET, path, &tok).send();
    let files: Value = get("/api/v2/storage/files?limit=1000")
        .await
        .expect("files")
        .json()
        .await
        .expect("json");
    let rules: Value = get("/api/v2/storage/lifecycle-rules")
        .await
        .expect("rules")
        .json()
        .await
        .expect("json");
    let backlog: Value = get("/api/v2/storage/sea/backlog")
        .await
        .expect("backlog")
        .json()
        .await
        .expect("json");
    let clock: Value = m
        .http
        .get(m.url("/_mock/clock"))
        .send()
        .await
        .expect("clock")
        .json()
        .await
        .expect("json");
    (files, rules, backlog, clock)
}

#[tokio::test]
async fn restart_on_the_same_data_dir_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = start_with(MockCxone::builder().clock(frozen(T0)).data_dir(dir.path())).await;
    let acme = m.tenant(json!({"name": "acme"})).await;
    let tok = m.token(&acme).await;
    let sea = m.sea_credentials(&tok).await;
    m.recordings(&acme.tenant_id, json!({"count": 5})).await;
    m.rule(&tok, json!({"name": "copy", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    m.advance("1d6h").await;
    let before = snapshot(&m, &acme).await;
    let events_before: Value = m
        .http
        .get(m.url("/_mock/events?limit=100000"))
        .send()
        .await
        .expect("e")
        .json()
        .await
        .expect("json");
    m.handle.stop().await;

    // A different --clock is ignored: the stored clock resumes where it stopped.
    let m = start_with(
        MockCxone::builder()
            .clock(frozen("2030-01-01T00:00:00Z"))
            .data_dir(dir.path()),
    )
    .await;
    assert_eq!(snapshot(&m, &acme).await, before);
    let events_after: Value = m
        .http
        .get(m.url("/_mock/events?limit=100000"))
        .send()
        .await
        .expect("e")
        .json()
        .await
        .expect("json");
    assert_eq!(events_after, events_before);
    // The SEA credential still works against S3.
    let s3 = m.sea_client(&sea);
    let listed = s3
        .list_objects_v2()
        .bucket("cxone-sea")
        .prefix(format!("{}/", acme.tenant_id))
        .send()
        .await
        .expect("list");
    assert_eq!(listed.contents().len(), 5);
    // Scheduled work was rebuilt: the next daily run and the 30-day expiry still happen.
    m.advance("30d").await;
    let tok = m.token(&acme).await;
    let sea_files: Value = m
        .api(Method::GET, "/api/v2/storage/files?tier=sea", &tok)
        .send()
        .await
        .expect("f")
        .json()
        .await
        .expect("json");
    assert_eq!(sea_files["total"], 0, "expired after the restart, on time");
}

async fn run_steps(seed: u64) -> (Value, Vec<Vec<u8>>) {
    let m = start_with(MockCxone::builder().clock(frozen(T0)).seed(seed)).await;
    let t = m.demo();
    let tok = m.token(&t).await;
    let sea = m.sea_credentials(&tok).await;
    m.recordings(&t.tenant_id, json!({"count": 6})).await;
    m.rule(&tok, json!({"name": "copy", "after_days": 0, "action": "copy_to_sea"}))
        .await;
    m.advance("1d").await;
    let tok = m.token(&t).await;
    let files: Value = m
        .api(Method::GET, "/api/v2/storage/files", &tok)
        .send()
        .await
        .expect("files")
        .json()
        .await
        .expect("json");
    let s3 = m.sea_client(&sea);
    let mut bodies = vec![];
    for f in files["files"].as_array().expect("files") {
        let key = f["sea"]["key"].as_str().expect("key");
        let o = s3.get_object().bucket("cxone-sea").key(key).send().await.expect("get");
        bodies.push(o.body.collect().await.expect("body").into_bytes().to_vec());
    }
    (files, bodies)
}

#[tokio::test]
async fn determinism_same_seed_same_steps_same_files_and_bytes() {
    let (files_a, bytes_a) = run_steps(7).await;
    let (files_b, bytes_b) = run_steps(7).await;
    assert_eq!(files_a, files_b);
    assert_eq!(bytes_a, bytes_b);
    let (files_c, bytes_c) = run_steps(8).await;
    assert_ne!(files_a["files"][0]["name"], files_c["files"][0]["name"]);
    assert_ne!(bytes_a, bytes_c);
}
