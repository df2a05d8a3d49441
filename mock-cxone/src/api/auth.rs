//! Discovery documents and the OAuth token endpoint, in CXone's shapes (CONTRACT §2, D1).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::app::App;
use crate::auth::tenants::{self, Tenant};
use crate::auth::tokens::{self, TokenResponse};
use crate::auth::{ALL_SCOPES, AREA};
use crate::error::{ApiError, ApiResult};

/// Routes of the auth surface.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/.well-known/openid-configuration", get(openid_configuration))
        .route("/.well-known/cxone-configuration", get(cxone_configuration))
        .route("/auth/token", post(token_create))
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "auth",
    responses((status = 200, description = "OpenID discovery document", body = crate::api::openapi::OpenIdConfiguration)))]
async fn openid_configuration(State(app): State<Arc<App>>) -> Json<Value> {
    let base = &app.urls.api;
    Json(json!({
        "issuer": base,
        "token_endpoint": format!("{base}/auth/token"),
        "grant_types_supported": ["password", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ALL_SCOPES,
        "response_types_supported": ["token"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "claims_supported": ["tenantId", "area", "iss", "aud", "sub", "iat", "exp"],
    }))
}

#[utoipa::path(get, path = "/.well-known/cxone-configuration", tag = "auth",
    params(("tenantId" = String, Query, description = "The tenant")),
    responses((status = 200, description = "The tenant's API endpoint and area", body = crate::api::openapi::CxoneConfiguration),
        (status = 404, description = "No such tenant", body = crate::api::openapi::ErrorBody)))]
async fn cxone_configuration(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let tenant_id = q
        .get("tenantId")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::BadRequest("query parameter tenantId is required".into()))?;
    app.store
        .with(|c| tenants::find(c, tenant_id))?
        .ok_or_else(|| ApiError::NotFound(format!("no tenant {tenant_id:?}")))?;
    let host = app.urls.api.split("://").nth(1).unwrap_or_default().to_string();
    Ok(Json(
        json!({"api_endpoint": app.urls.api, "area": AREA, "cluster": "mock1", "domain": host}),
    ))
}

fn oauth(code: &'static str, status: StatusCode, description: impl Into<String>) -> ApiError {
    ApiError::OAuth {
        code,
        description: description.into(),
        status,
    }
}

/// Client id and secret from HTTP Basic, or else from the form.
fn client_credentials(headers: &HeaderMap, form: &HashMap<String, String>) -> ApiResult<(String, String)> {
    if let Some(v) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let encoded = v.strip_prefix("Basic ").ok_or_else(|| {
            oauth(
                "invalid_client",
                StatusCode::UNAUTHORIZED,
                "Authorization must be HTTP Basic client_id:client_secret",
            )
        })?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                oauth(
                    "invalid_client",
                    StatusCode::UNAUTHORIZED,
                    "Basic credentials are not base64",
                )
            })?;
        let (id, secret) = decoded.split_once(':').ok_or_else(|| {
            oauth(
                "invalid_client",
                StatusCode::UNAUTHORIZED,
                "Basic credentials need client_id:client_secret",
            )
        })?;
        return Ok((id.to_string(), secret.to_string()));
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
        _ => Err(oauth(
            "invalid_client",
            StatusCode::UNAUTHORIZED,
            "client authentication is required (HTTP Basic or client_id/client_secret)",
        )),
    }
}

/// Scopes requested (space separated), checked against what the tenant holds.
fn granted_scopes(tenant: &Tenant, requested: Option<&String>) -> ApiResult<Vec<String>> {
    let Some(requested) = requested.filter(|s| !s.trim().is_empty()) else {
        return Ok(tenant.scopes.clone());
    };
    let mut out = vec![];
    for s in requested.split_whitespace() {
        if !tenant.scopes.iter().any(|t| t == s) {
            return Err(oauth(
                "invalid_scope",
                StatusCode::BAD_REQUEST,
                format!("scope {s:?} is not granted to this client"),
            ));
        }
        out.push(s.to_string());
    }
    Ok(out)
}

#[utoipa::path(post, path = "/auth/token", tag = "auth",
    request_body(content = crate::api::openapi::TokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("basic" = [])),
    responses((status = 200, description = "Tokens issued", body = crate::auth::tokens::TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, invalid_scope or unsupported_grant_type", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "invalid_client: unknown client or wrong secret", body = crate::api::openapi::ErrorBody)))]
async fn token_create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> ApiResult<Json<TokenResponse>> {
    let Form(form) = form.map_err(|e| {
        oauth(
            "invalid_request",
            StatusCode::BAD_REQUEST,
            format!("expected a form-encoded body: {e}"),
        )
    })?;
    let (client_id, client_secret) = client_credentials(&headers, &form)?;
    let now = app.now();
    let issuer = app.urls.api.clone();
    let resp = app.store.tx(|c| {
        let tenant = match tenants::find_by_client(c, &client_id)? {
            Some(t) if t.client_secret == client_secret => t,
            _ => {
                return Ok(Err(oauth(
                    "invalid_client",
                    StatusCode::UNAUTHORIZED,
                    "unknown client or wrong client secret",
                )))
            }
        };
        let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
        let (subject, scopes) = match grant {
            "password" => {
                let ok = form.get("username") == Some(&tenant.access_key_id)
                    && form.get("password") == Some(&tenant.access_key_secret);
                if !ok {
                    return Ok(Err(oauth(
                        "invalid_grant",
                        StatusCode::BAD_REQUEST,
                        "username/password is not this tenant's API access key",
                    )));
                }
                match granted_scopes(&tenant, form.get("scope")) {
                    Ok(s) => (tenant.access_key_id.clone(), s),
                    Err(e) => return Ok(Err(e)),
                }
            }
            "client_credentials" => match granted_scopes(&tenant, form.get("scope")) {
                Ok(s) => (tenant.client_id.clone(), s),
                Err(e) => return Ok(Err(e)),
            },
            "refresh_token" => {
                let token = form.get("refresh_token").cloned().unwrap_or_default();
                match tokens::lookup(c, &token, "refresh", now)? {
                    Some(g) if g.tenant_id == tenant.tenant_id => {
                        tokens::revoke(c, &token)?;
                        (g.subject, g.scopes)
                    }
                    _ => {
                        return Ok(Err(oauth(
                            "invalid_grant",
                            StatusCode::BAD_REQUEST,
                            "refresh_token is invalid or has expired",
                        )))
                    }
                }
            }
            "" => {
                return Ok(Err(oauth(
                    "invalid_request",
                    StatusCode::BAD_REQUEST,
                    "grant_type is required",
                )))
            }
            other => {
                return Ok(Err(oauth(
                    "unsupported_grant_type",
                    StatusCode::BAD_REQUEST,
                    format!("grant_type {other:?} is not supported"),
                )))
            }
        };
        tokens::issue(c, &issuer, &app.jwt_key, &tenant, &subject, &scopes, now).map(Ok)
    })??;
    Ok(Json(resp))
}
