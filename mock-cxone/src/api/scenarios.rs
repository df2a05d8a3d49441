//! `POST /_mock/scenarios` (CONTRACT §5): loads a scenario (TOML body, the format of
//! `scenarios/*.toml`, docs/scenario-format.md) on top of the current state.
//!
//! - `Content-Type: application/toml` (or `application/x-toml`, `text/toml`, `text/plain`, or
//!   none); anything else is 415.
//! - 201 with the load summary: tenants (with credentials), recordings, rules, downloads (ids),
//!   fault ids, the timeline entries performed, and the clock after loading.
//! - 400 when the file is wrong, 409 when the mock's state refuses it (another seed, a clock past
//!   `start`, a tenant name taken); both name the line and column:
//!   `{"error":{"code","message":"3:7: ...","line":3,"column":7,"request_id"}}`. Nothing changes.
//!
//! It does not reset first: `POST /_mock/reset`, then this, starts clean.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::blocking;
use super::json::BODY_LIMIT_BYTES;
use crate::app::App;
use crate::error::{request_id, ApiError};
use crate::scenario::{self, ApplyError, ScenarioError};

/// Content types accepted for a TOML body.
pub const TOML_CONTENT_TYPES: [&str; 4] = ["application/toml", "application/x-toml", "text/toml", "text/plain"];

/// Routes of the scenario loader (behind the control API's admin gate).
pub fn router() -> Router<Arc<App>> {
    Router::new().route("/_mock/scenarios", post(scenarios_load))
}

/// A located error as JSON: the usual error body plus `line` and `column`.
fn located(status: StatusCode, code: &str, e: &ScenarioError) -> Response {
    let body = json!({"error": {"code": code, "message": e.to_string(), "line": e.pos.line,
                                "column": e.pos.column, "request_id": request_id()}});
    (status, Json(body)).into_response()
}

fn content_type_ok(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let ct = ct.to_str().unwrap_or_default();
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    TOML_CONTENT_TYPES.contains(&essence.as_str())
}

#[utoipa::path(post, path = "/_mock/scenarios", tag = "control",
    request_body(content = String, content_type = "application/toml", description = "A scenario file (docs/scenario-format.md)"),
    responses((status = 201, description = "What was loaded", body = crate::api::openapi::ScenarioLoaded),
        (status = 400, description = "The file is wrong (line and column named)", body = crate::api::openapi::ErrorBody),
        (status = 409, description = "The mock's state refuses it (line and column named)", body = crate::api::openapi::ErrorBody),
        (status = 415, description = "Not a TOML content type", body = crate::api::openapi::ErrorBody)))]
async fn scenarios_load(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !content_type_ok(&headers) {
        return Err(ApiError::UnsupportedMediaType(
            "a scenario is TOML: send it with Content-Type: application/toml (or text/plain)".into(),
        ));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(BODY_LIMIT_BYTES)
        } else {
            ApiError::BadRequest(format!("unreadable request body: {}", e.body_text()))
        }
    })?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::BadRequest(format!("a scenario must be UTF-8 text: {e}")))?;
    let sc = match scenario::parse(&text) {
        Ok(sc) => sc,
        Err(e) => return Ok(located(StatusCode::BAD_REQUEST, "bad_request", &e)),
    };
    let a = app.clone();
    let outcome = blocking(move || Ok(scenario::load(&a, &sc))).await?;
    match outcome {
        Ok(summary) => Ok((StatusCode::CREATED, Json(summary.to_json())).into_response()),
        Err(ApplyError::Invalid(e)) => Ok(located(StatusCode::BAD_REQUEST, "bad_request", &e)),
        Err(ApplyError::Conflict(e)) => Ok(located(StatusCode::CONFLICT, "conflict", &e)),
        Err(ApplyError::Store(e)) => Err(e.into()),
    }
}
