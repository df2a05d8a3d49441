//! The REST listener: CXone's public API (`/auth`, `/.well-known`, `/api/v2`) and the control
//! API (`/_mock`). Handlers parse, authenticate and map errors; domain modules decide.

pub mod auth;
pub mod connection;
pub mod control;
pub mod dashboard;
pub mod downloads;
pub mod extraction;
pub mod faults;
pub mod json;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod scenarios;
pub mod storage;
pub mod truth;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

use crate::app::App;
use crate::error::{ApiError, ApiResult};

/// The whole REST API for `app` (tests can drive it with `oneshot`, no socket needed).
pub fn router(app: Arc<App>) -> Router {
    let control = control::router()
        .merge(faults::router())
        .merge(scenarios::router())
        .merge(truth::router())
        .merge(dashboard::control_router())
        .layer(middleware::from_fn_with_state(app.clone(), admin_gate));
    Router::new()
        .merge(auth::router())
        .merge(storage::router())
        .merge(downloads::router())
        .merge(extraction::router())
        .merge(openapi::router())
        .merge(dashboard::page_router())
        .merge(metrics::router())
        .merge(control)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), maintenance::gate))
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT_BYTES))
        // Every answer is counted and logged, the gates' refusals included.
        .layer(middleware::from_fn_with_state(app.clone(), crate::observe::rest))
        // Outermost: any refusal of a request whose body was not read closes the connection.
        .layer(middleware::from_fn(connection::close_after_refused_body))
        .with_state(app)
}

async fn not_found(req: Request) -> ApiError {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.uri().path()))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} is not allowed on {}", req.method(), req.uri().path()))
}

/// `/_mock` needs the admin token when one is configured (the API listens beyond loopback).
async fn admin_gate(State(app): State<Arc<App>>, req: Request, next: Next) -> Result<Response, ApiError> {
    if let Some(expected) = &app.admin_token {
        let given = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .or_else(|| req.headers().get("x-mock-admin-token").and_then(|v| v.to_str().ok()));
        if given != Some(expected.as_str()) && req.uri().path() != "/_mock/health" {
            return Err(ApiError::Unauthorized(
                "the control API needs the admin token printed at start (Authorization: Bearer <token>)".into(),
            ));
        }
    }
    Ok(next.run(req).await)
}

/// Runs blocking store work (long SQLite transactions) off the async workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("worker panicked: {e}")))?
}
