//! Maintenance windows on the REST listener (F10, CONTRACT §6): while the mock clock is inside a
//! `maintenance_window` rule, every request under `/api/v2` and `/data-extraction` answers
//! 503 with `Retry-After` and the usual JSON error body; `/_mock`, `/auth` and `/.well-known`
//! never do (nor does the S3 endpoint, which is another listener). Which windows apply to which
//! requests, and what the ledger records: `faults::maintenance`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::App;
use crate::auth::tokens;
use crate::error::{request_id, ApiError};
use crate::faults::maintenance;
use crate::store::time::rfc3339;

/// Whether a path is one maintenance windows close.
fn affected(path: &str) -> bool {
    ["/api/v2", "/data-extraction"].iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The tenant of the request's bearer token, when it carries a valid one.
fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The middleware: 503 inside a window, else the request as usual.
pub async fn gate(State(app): State<Arc<App>>, req: Request, next: Next) -> Result<Response, ApiError> {
    if !affected(req.uri().path()) {
        return Ok(next.run(req).await);
    }
    let now = app.now();
    let seed = app.seed;
    let token = bearer(&req).map(str::to_string);
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let closed = app.store.tx(|c| {
        let tenant = match &token {
            Some(t) => tokens::lookup(c, t, "access", now)?.map(|g| g.tenant_id),
            None => None,
        };
        let windows = maintenance::request_windows(c, seed, now, tenant.as_deref())?;
        if windows.is_empty() {
            return Ok(None);
        }
        for w in &windows {
            maintenance::record_request_firing(c, now, w, tenant.as_deref(), &method, &path)?;
        }
        let retry = windows
            .iter()
            .map(|w| maintenance::retry_after(w, now))
            .max()
            .unwrap_or(1);
        let until = windows.iter().filter_map(|w| w.until).max();
        Ok(Some((retry, until)))
    })?;
    let Some((retry, until)) = closed else {
        return Ok(next.run(req).await);
    };
    let message = match until {
        Some(u) => format!(
            "the service is down for scheduled maintenance until {}; retry after {retry} seconds",
            rfc3339(u)
        ),
        None => format!("the service is down for scheduled maintenance; retry after {retry} seconds"),
    };
    let body = json!({"error": {"code": "service_unavailable", "message": message, "request_id": request_id()}});
    let mut resp = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::affected;

    #[test]
    fn f10_only_the_public_api_prefixes_close() {
        for p in [
            "/api/v2",
            "/api/v2/data-downloads",
            "/data-extraction/v1/jobs",
            "/data-extraction",
        ] {
            assert!(affected(p), "{p}");
        }
        for p in [
            "/_mock/health",
            "/auth/token",
            "/.well-known/openid-configuration",
            "/api/v20",
            "/",
        ] {
            assert!(!affected(p), "{p}");
        }
    }
}
