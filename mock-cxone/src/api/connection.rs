//! An error answered to a REST request whose body was not read closes the connection.
//!
//! A refused POST or PUT (401 without a token, 403 without the scope, 503 in a maintenance
//! window) is answered before its JSON body is read. hyper then drops the connection rather than
//! read a body nobody wants, and a client told nothing may send its next request into that closed
//! socket (python-requests without retries: `RemoteDisconnected` on the call after the refused
//! one, now and then, depending on timing). `Connection: close` on such an answer makes the
//! client open a fresh connection instead. The S3 listener does the same
//! (`sea::expect_continue`).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{HeaderValue, CONNECTION};
use http_body::Body as _;

/// The middleware (api/mod.rs, outermost).
pub async fn close_after_refused_body(req: Request, next: Next) -> Response {
    let with_body = !req.body().is_end_stream();
    let mut resp = next.run(req).await;
    if with_body && (resp.status().is_client_error() || resp.status().is_server_error()) {
        resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
