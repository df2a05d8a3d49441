//! The control API (CONTRACT §5) and error handling (§7): clock, tenants, recordings, events,
//! reset; bad input gets a JSON 4xx naming the problem and changes nothing.

use clients_tests::{start, Mock};
use reqwest::Method;
use serde_json::{json, Value};

async fn post_raw(m: &Mock, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let r = m
        .http
        .post(m.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("post");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn event_count(m: &Mock) -> usize {
    let v: Value = m
        .http
        .get(m.url("/_mock/events?limit=100000"))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    v["events"].as_array().map_or(0, Vec::len)
}

async fn file_total(m: &Mock) -> i64 {
    let tok = m.token(&m.demo()).await;
    let v: Value = m
        .api(Method::GET, "/api/v2/storage/files", &tok)
        .send()
        .await
        .expect("files")
        .json()
        .await
        .expect("json");
    v["total"].as_i64().expect("total")
}

#[tokio::test]
async fn control_health_reports_both_listeners() {
    let m = start().await;
    let r = m.http.get(m.url("/_mock/health")).send().await.expect("health");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["api"], m.handle.api_url());
    assert_eq!(v["s3"], m.handle.s3_url());
    // The S3 listener answers (an unsigned request is refused in S3 XML, not a connection error).
    let r = m.http.get(m.handle.s3_url()).send().await.expect("s3 answers");
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn control_clock_advances_by_and_to_and_never_goes_back() {
    let m = start().await;
    let v: Value = m
        .http
        .get(m.url("/_mock/clock"))
        .send()
        .await
        .expect("clock")
        .json()
        .await
        .expect("json");
    assert_eq!(v, json!({"now": "2026-01-01T00:00:00Z", "mode": "frozen"}));
    assert_eq!(m.advance("1d12h").await["now"], "2026-01-02T12:00:00Z");
    assert_eq!(
        m.advance_to("2026-01-03T00:00:00Z").await["now"],
        "2026-01-03T00:00:00Z"
    );
    for bad in [
        json!({"by": "1w"}),
        json!({"by": ""}),
        json!({"to": "2025-01-01T00:00:00Z"}),
        json!({"to": "tomorrow"}),
        json!({}),
        json!({"by": "1d", "to": "2026-02-01T00:00:00Z"}),
        json!({"by": "999999999999d"}),
    ] {
        let (status, v) = post_raw(
            &m,
            "/_mock/clock/advance",
            "application/json",
            bad.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 400, "{bad} -> {v}");
        assert_eq!(v["error"]["code"], "bad_request");
    }
    let v: Value = m
        .http
        .get(m.url("/_mock/clock"))
        .send()
        .await
        .expect("clock")
        .json()
        .await
        .expect("json");
    assert_eq!(v["now"], "2026-01-03T00:00:00Z", "refused advances moved nothing");
}

#[tokio::test]
async fn control_tenants_are_created_listed_and_unique() {
    let m = start().await;
    let acme = m.tenant(json!({"name": "Acme Corp"})).await;
    assert_eq!(acme.tenant_id, "t-acme-corp");
    let (status, v) = post_raw(
        &m,
        "/_mock/tenants",
        "application/json",
        br#"{"name":"Acme Corp"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 409, "{v}");
    let list: Value = m
        .http
        .get(m.url("/_mock/tenants"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["demo", "Acme Corp"]);
    assert!(
        list.to_string().find("client_secret").is_none(),
        "listing shows no secrets"
    );
}

#[tokio::test]
async fn control_bad_input_is_a_json_4xx_and_changes_nothing() {
    let m = start().await;
    let before = (event_count(&m).await, file_total(&m).await);
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            b"{\"count\": 3".to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            br#"{"count": -5}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            br#"{"count": 0}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            br#"{"count": 3, "start": "2026-02-30T00:00:00Z"}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            br#"{"count": 3, "start": "2025-12-10T00:00:00Z", "end": "2025-12-01T00:00:00Z"}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            br#"{"count": 3, "end": "2027-01-01T00:00:00Z"}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            br#"{"count": 3, "media_types": ["FAX"]}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            br#"{"count": 3, "tier": "sea"}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "application/json",
            br#"{"count": 3, "colour": "red"}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants/demo/recordings",
            "text/plain",
            br#"{"count": 3}"#.to_vec(),
            415,
        ),
        (
            "/_mock/tenants/nobody/recordings",
            "application/json",
            br#"{"count": 3}"#.to_vec(),
            404,
        ),
        ("/_mock/tenants", "application/json", br#"{"name": ""}"#.to_vec(), 400),
        (
            "/_mock/tenants",
            "application/json",
            br#"{"name": "x", "scopes": ["root"]}"#.to_vec(),
            400,
        ),
        (
            "/_mock/tenants",
            "application/json",
            format!(r#"{{"name": "{}"}}"#, "x".repeat(2 * 1024 * 1024)).into_bytes(),
            413,
        ),
    ];
    for (path, ct, body, want) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        let (status, v) = post_raw(&m, path, ct, body).await;
        assert_eq!(status, want, "{path} {shown} -> {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !msg.is_empty() && v["error"]["code"].is_string() && v["error"]["request_id"].is_string(),
            "{v}"
        );
    }
    assert_eq!(
        (event_count(&m).await, file_total(&m).await),
        before,
        "no state changed"
    );
    let r = m.http.get(m.url("/api/v2/nothing-here")).send().await.expect("get");
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.expect("json")["error"]["message"].is_string());
}

#[tokio::test]
async fn control_events_page_with_since_and_filter_by_kind() {
    let m = start().await;
    m.tenant(json!({"name": "a"})).await;
    m.tenant(json!({"name": "b"})).await;
    let all: Value = m
        .http
        .get(m.url("/_mock/events?kind=tenant.created"))
        .send()
        .await
        .expect("e")
        .json()
        .await
        .expect("json");
    let evs = all["events"].as_array().expect("events");
    assert_eq!(evs.len(), 3, "demo, a, b: {all}");
    let first: Value = m
        .http
        .get(m.url("/_mock/events?kind=tenant&limit=1"))
        .send()
        .await
        .expect("e")
        .json()
        .await
        .expect("json");
    assert_eq!(first["events"].as_array().map(Vec::len), Some(1));
    let since = first["next_since"].as_i64().expect("next_since");
    let rest: Value = m
        .http
        .get(m.url(&format!("/_mock/events?kind=tenant&since={since}")))
        .send()
        .await
        .expect("e")
        .json()
        .await
        .expect("json");
    assert_eq!(rest["events"].as_array().map(Vec::len), Some(2));
    assert!(rest["events"][0]["seq"].as_i64().expect("seq") > since);
    let none: Value = m
        .http
        .get(m.url("/_mock/events?since=999999"))
        .send()
        .await
        .expect("e")
        .json()
        .await
        .expect("json");
    assert_eq!(none["next_since"], 999999);
    let r = m.http.get(m.url("/_mock/events?since=abc")).send().await.expect("e");
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn control_reset_returns_to_a_fresh_start() {
    let m = start().await;
    let gone = m.tenant(json!({"name": "gone soon"})).await;
    m.recordings(&m.demo().tenant_id, json!({"count": 3})).await;
    // Credentials reference their tenant: the reset must still empty everything.
    let tok = m.token(&gone).await;
    m.sea_credentials(&tok).await;
    let lake = m.lake_client(&tok).await;
    lake.list_buckets()
        .send()
        .await
        .expect("the data-lake key works before the reset");
    m.advance("2d").await;
    let v = m.control("/_mock/reset", json!({})).await;
    // Credentials the server had seen (and cached) are gone with their tenant.
    let err = lake.list_buckets().send().await.expect_err("refused after the reset");
    assert_eq!(clients_tests::s3_code(&err), "InvalidAccessKeyId");
    assert_eq!(v["now"], "2026-01-01T00:00:00Z");
    let list: Value = m
        .http
        .get(m.url("/_mock/tenants"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        list["tenants"].as_array().map(Vec::len),
        Some(1),
        "only the demo tenant, made anew"
    );
    let demo = &v["demo_tenant"];
    let fresh = clients_tests::TenantCreds {
        tenant_id: demo["tenant_id"].as_str().expect("id").into(),
        client_id: demo["client_id"].as_str().expect("id").into(),
        client_secret: demo["client_secret"].as_str().expect("s").into(),
        access_key_id: demo["access_key_id"].as_str().expect("k").into(),
        access_key_secret: demo["access_key_secret"].as_str().expect("s").into(),
    };
    let tok = m.token(&fresh).await;
    let files: Value = m
        .api(Method::GET, "/api/v2/storage/files", &tok)
        .send()
        .await
        .expect("files")
        .json()
        .await
        .expect("json");
    assert_eq!(files["total"], 0);
}
