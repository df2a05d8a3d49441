//! Where each answered request is seen, on both listeners: counted for `GET /metrics`
//! ([`crate::metrics`]) and logged as one line (target `mock_cxone::request`, level INFO) with
//! the listener, tenant, operation, method, status, duration and the request id (S3's
//! `x-amz-request-id`, REST's `x-request-id`).
//!
//! The operation is the REST route's template or the S3 operation's name, never the raw path:
//! paths and query strings can carry presigned signatures, which must not reach a log. The tenant
//! is noted while the request is served ([`RequestNote`]): by the bearer-token extractor on REST,
//! by the S3 access check once the signature is verified; requests refused before that have none.
//! Durations run to the response head; a streamed body's transfer is not in them.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::App;
use crate::error::{next_request_id, with_request_id};
use crate::metrics::Listener;
use crate::sea::request_id::REQUEST_ID;

/// What the handlers learn about a request that its log line and metrics want: put in the
/// request's extensions when it arrives, filled in while it is served.
#[derive(Debug, Clone, Default)]
pub struct RequestNote(Arc<Note>);

#[derive(Debug, Default)]
struct Note {
    tenant: OnceLock<String>,
    operation: OnceLock<String>,
}

impl RequestNote {
    /// The tenant the request acts for (first one noted wins).
    pub fn set_tenant(&self, tenant_id: &str) {
        let _ = self.0.tenant.set(tenant_id.to_string());
    }

    /// The S3 operation's name.
    pub fn set_operation(&self, name: &str) {
        let _ = self.0.operation.set(name.to_string());
    }

    fn tenant(&self) -> Option<&str> {
        self.0.tenant.get().map(String::as_str)
    }

    fn operation(&self) -> Option<&str> {
        self.0.operation.get().map(String::as_str)
    }
}

/// One answered request.
struct Answered<'a> {
    listener: Listener,
    operation: Cow<'static, str>,
    method: &'a http::Method,
    status: u16,
    took: Duration,
    note: &'a RequestNote,
    request_id: Option<&'a str>,
}

fn finish(app: &App, a: Answered<'_>) {
    let ms = a.took.as_secs_f64() * 1000.0;
    tracing::info!(
        target: "mock_cxone::request",
        listener = a.listener.as_str(),
        tenant = a.note.tenant().unwrap_or("-"),
        operation = %a.operation,
        method = %a.method,
        status = a.status,
        duration_ms = (ms * 1000.0).round() / 1000.0,
        request_id = a.request_id.unwrap_or("-"),
        "request"
    );
    app.metrics.observe(a.listener, a.operation, a.method, a.status, a.took);
}

/// Every REST answer names its request: the same id is in an error body's `request_id`.
pub const REST_REQUEST_ID: &str = "x-request-id";

/// The REST listener's middleware (api/mod.rs): outermost, so 503s of a maintenance window and
/// 404s of unknown paths are seen too (as the endpoint `unmatched`). Each request gets an id
/// (`req-<n>`) for its log line, its `x-request-id` header and any error body.
pub async fn rest(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = next_request_id();
    let note = RequestNote::default();
    req.extensions_mut().insert(note.clone());
    let operation = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(Cow::Borrowed("unmatched"), |p| Cow::Owned(p.as_str().to_string()));
    let method = req.method().clone();
    let mut resp = with_request_id(id.clone(), next.run(req)).await;
    if let Ok(v) = http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REST_REQUEST_ID, v);
    }
    let answered = Answered {
        listener: Listener::Rest,
        operation,
        method: &method,
        status: resp.status().as_u16(),
        took: start.elapsed(),
        note: &note,
        request_id: Some(&id),
    };
    finish(&app, answered);
    resp
}

/// Wraps the whole S3 service (outside the request ids, so each line carries its response's).
#[derive(Clone)]
pub struct ObserveS3<S> {
    inner: S,
    app: Arc<App>,
}

impl<S> ObserveS3<S> {
    /// Wraps `inner`.
    pub fn new(app: Arc<App>, inner: S) -> Self {
        Self { inner, app }
    }
}

impl<S, B, RB> hyper::service::Service<http::Request<B>> for ObserveS3<S>
where
    S: hyper::service::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    RB: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, mut req: http::Request<B>) -> Self::Future {
        let start = Instant::now();
        let note = RequestNote::default();
        req.extensions_mut().insert(note.clone());
        let method = req.method().clone();
        let app = self.app.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            // Refused before the operation was known (a bad signature, a malformed request).
            let operation = note
                .operation()
                .map_or(Cow::Borrowed("Unknown"), |o| Cow::Owned(o.to_string()));
            let answered = Answered {
                listener: Listener::S3,
                operation,
                method: &method,
                status: resp.status().as_u16(),
                took: start.elapsed(),
                note: &note,
                request_id: resp.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()),
            };
            finish(&app, answered);
            Ok(resp)
        })
    }
}
