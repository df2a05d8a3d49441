//! CXone authentication (CONTRACT §2, D1): discovery, the token endpoint's grants, the JWT
//! `id_token`, scopes (401 vs 403) and token lifetime on the mock clock.

use base64::Engine as _;
use clients_tests::{start, Mock, TenantCreds};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn token_response(m: &Mock, t: &TenantCreds, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = m
        .http
        .post(m.url("/auth/token"))
        .basic_auth(&t.client_id, Some(&t.client_secret))
        .form(form)
        .send()
        .await
        .expect("token");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn password_form(t: &TenantCreds) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "password"),
        ("username", &t.access_key_id),
        ("password", &t.access_key_secret),
    ]
}

#[tokio::test]
async fn d1_discovery_documents_point_at_this_mock() {
    let m = start().await;
    let oidc: Value = m
        .http
        .get(m.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(oidc["issuer"], m.handle.api_url());
    assert_eq!(oidc["token_endpoint"], format!("{}/auth/token", m.handle.api_url()));
    let t = m.demo();
    let cx: Value = m
        .http
        .get(m.url(&format!("/.well-known/cxone-configuration?tenantId={}", t.tenant_id)))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(cx["api_endpoint"], m.handle.api_url());
    for k in ["area", "cluster", "domain"] {
        assert!(cx[k].is_string(), "{k} in {cx}");
    }
    let r = m
        .http
        .get(m.url("/.well-known/cxone-configuration?tenantId=nope"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn d1_password_grant_returns_a_bearer_token_with_a_jwt_id_token() {
    let m = start().await;
    let t = m.demo();
    let (status, v) = token_response(&m, &t, &password_form(&t)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert!(v["refresh_token"].is_string());
    let scopes: Vec<&str> = v["scope"].as_str().expect("scope").split(' ').collect();
    for s in [
        "data-download:read",
        "data-download:write",
        "storage:manage",
        "organization:read",
    ] {
        assert!(scopes.contains(&s), "{s}");
    }
    let jwt = v["id_token"].as_str().expect("id_token");
    let payload = jwt.split('.').nth(1).expect("3 parts");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(claims["tenantId"], t.tenant_id.as_str());
    for k in ["area", "iss", "aud", "sub", "iat", "exp"] {
        assert!(!claims[k].is_null(), "claim {k} in {claims}");
    }
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        3600
    );
}

#[tokio::test]
async fn d1_client_credentials_and_refresh_grants() {
    let m = start().await;
    let t = m.demo();
    let (status, cc) = token_response(
        &m,
        &t,
        &[("grant_type", "client_credentials"), ("scope", "storage:manage")],
    )
    .await;
    assert_eq!(status, 200, "{cc}");
    assert_eq!(cc["scope"], "storage:manage");
    let refresh = cc["refresh_token"].as_str().expect("refresh").to_string();
    let (status, v) = token_response(&m, &t, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, 200, "{v}");
    assert_ne!(v["access_token"], cc["access_token"]);
    // A refresh token is traded once.
    let (status, v) = token_response(&m, &t, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "invalid_grant");
}

#[tokio::test]
async fn d1_bad_credentials_are_refused() {
    let m = start().await;
    let t = m.demo();
    let mut wrong = t.clone();
    wrong.client_secret = "nope".into();
    let (status, v) = token_response(&m, &wrong, &password_form(&t)).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["code"], "invalid_client");
    let (status, v) = token_response(
        &m,
        &t,
        &[
            ("grant_type", "password"),
            ("username", &t.access_key_id),
            ("password", "x"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "invalid_grant");
    let (status, v) = token_response(&m, &t, &[("grant_type", "implicit")]).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "unsupported_grant_type");
    let (status, v) = token_response(
        &m,
        &t,
        &[("grant_type", "client_credentials"), ("scope", "admin:everything")],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "invalid_scope");
}

#[tokio::test]
async fn d1_no_or_invalid_token_is_401_with_www_authenticate() {
    let m = start().await;
    for auth in [None, Some("Bearer not-a-token"), Some("Basic abc")] {
        let mut req = m.http.get(m.url("/api/v2/storage/files"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.expect("get");
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(
            r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"]["code"], "unauthorized");
        assert!(v["error"]["request_id"].is_string());
    }
}

#[tokio::test]
async fn d1_a_token_without_the_scope_is_403() {
    let m = start().await;
    let reader = m
        .tenant(json!({"name": "reader", "scopes": ["data-download:read"]}))
        .await;
    let tok = m.token(&reader).await;
    let r = m
        .api(Method::POST, "/api/v2/sea/credentials", &tok)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "forbidden");
    // A token never carries more than the user holds.
    let (status, _) = token_response(
        &m,
        &reader,
        &[("grant_type", "client_credentials"), ("scope", "storage:manage")],
    )
    .await;
    assert_eq!(status, 400);
    // The scope it does hold works.
    let r = m
        .api(Method::POST, "/api/v2/data-lake/credentials", &tok)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn d1_tokens_expire_after_an_hour_of_mock_time() {
    let m = start().await;
    let tok = m.token(&m.demo()).await;
    m.advance("59m59s").await;
    let r = m
        .api(Method::GET, "/api/v2/storage/files", &tok)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    m.advance("1s").await;
    let r = m
        .api(Method::GET, "/api/v2/storage/files", &tok)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
}
