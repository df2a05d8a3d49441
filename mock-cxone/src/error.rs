//! Typed errors inside, JSON errors at the edge: `{"error":{"code","message","request_id"}}`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// Every way a REST call can fail. Messages name the problem; 5xx details go to the log only.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or invalid input.
    #[error("{0}")]
    BadRequest(String),
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// No, invalid or expired bearer token (or client credentials).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (missing scope, rate limit of the extraction API).
    #[error("{0}")]
    Forbidden(String),
    /// The request conflicts with current state.
    #[error("{0}")]
    Conflict(String),
    /// The path exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Body over the size limit.
    #[error("request body is larger than the {0}-byte limit")]
    PayloadTooLarge(usize),
    /// Header section over the size limit (refused before any handler, `server::limits`).
    #[error("request header section is larger than the {0}-byte limit")]
    HeaderTooLarge(usize),
    /// Body is not JSON (or not form data where form data is expected).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// OAuth token endpoint errors use the RFC 6749 shape.
    #[error("{description}")]
    OAuth {
        /// RFC 6749 error code, e.g. `invalid_grant`.
        code: &'static str,
        /// Human explanation.
        description: String,
        /// 400 or 401.
        status: StatusCode,
    },
    /// A bug or an I/O failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(0);

tokio::task_local! {
    /// The id of the REST request being served (set by `observe::rest` around each request).
    static CURRENT_REQUEST_ID: String;
}

/// A fresh request id (sequential: ids must not draw from randomness).
pub fn next_request_id() -> String {
    format!("req-{:08}", REQUEST_SEQ.fetch_add(1, Ordering::Relaxed) + 1)
}

/// The id for an error body: the id of the request being served, so that the body, the
/// `x-request-id` header and the request's log line agree; a fresh one outside a request.
pub fn request_id() -> String {
    CURRENT_REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| next_request_id())
}

/// Runs `fut` (one request) with `id` as its request id.
pub async fn with_request_id<F: std::future::Future>(id: String, fut: F) -> F::Output {
    CURRENT_REQUEST_ID.scope(id, fut).await
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::HeaderTooLarge(_) => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "request_header_fields_too_large",
            ),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::OAuth { code, status, .. } => (*status, code),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let rid = request_id();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(request_id = %rid, "{detail}");
                "internal error; see the mock's log".to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({"error": {"code": code, "message": message, "request_id": rid}});
        if let ApiError::OAuth { code, description, .. } = &self {
            // OAuth clients read the RFC 6749 fields at the top level.
            body["error"]["code"] = json!(code);
            body["error_description"] = json!(description);
        }
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is left unread, so the connection cannot be reused: say so
            // (RFC 9112 §9.6), or keep-alive clients send their next request into a closed socket.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}
