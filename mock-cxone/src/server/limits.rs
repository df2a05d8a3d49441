//! What the listeners refuse before any handler sees the request: a header section over the
//! size the endpoint accepts, and a body declared (`Content-Length`) over the size the endpoint
//! accepts. Both are answered at once, without reading the body, and the connection is closed:
//! a client that declares 5 GiB and sends nothing gets its answer instead of a server waiting
//! for bytes that never come, and a 64 KiB header is an error, not a request.
//!
//! S3 answers as AWS does: a header section over 8 KiB is `400 RequestHeaderSectionTooLarge`, a
//! PUT (object or part) over 5 GiB is `400 EntityTooLarge`. The REST API answers in its JSON
//! error shape: `431` for headers over 16 KiB, `413` for a body declared over the 1 MiB limit
//! (the same limit its JSON extractor enforces on what it reads).

use std::future::Future;
use std::pin::Pin;

use axum::response::IntoResponse;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Either;

use crate::api::json::BODY_LIMIT_BYTES;
use crate::error::ApiError;

/// S3's header section limit (AWS: 8 KiB, `RequestHeaderSectionTooLarge`).
pub(super) const S3_MAX_HEADER_BYTES: usize = 8 * 1024;
/// S3's largest single PUT, and largest part (AWS: 5 GiB, `EntityTooLarge`).
pub(super) const S3_MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The REST API's header section limit.
pub(super) const API_MAX_HEADER_BYTES: usize = 16 * 1024;

/// Which listener a [`Limits`] guards (their answers differ in shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Listener {
    /// The S3 endpoint: S3 XML errors.
    S3,
    /// The REST API: JSON errors.
    Api,
}

/// Wraps a listener's service with the limits above.
#[derive(Debug, Clone)]
pub(super) struct Limits<S> {
    inner: S,
    listener: Listener,
}

impl<S> Limits<S> {
    /// Guards `inner`, served on `listener`.
    pub(super) fn new(inner: S, listener: Listener) -> Self {
        Self { inner, listener }
    }
}

/// Bytes of the header section as sent (`name: value\r\n` per field).
fn header_bytes<B>(req: &Request<B>) -> usize {
    req.headers().iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum()
}

fn declared_length<B>(req: &Request<B>) -> Option<u64> {
    req.headers().get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn s3_error(code: &str, message: &str, extra: &str) -> Response<axum::body::Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}</Error>"
    );
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    resp
}

/// The answer to a request over a limit, or `None` to serve it.
fn refusal<B>(listener: Listener, req: &Request<B>) -> Option<Response<axum::body::Body>> {
    let headers = header_bytes(req);
    let declared = declared_length(req);
    let mut resp = match listener {
        Listener::S3 if headers > S3_MAX_HEADER_BYTES => s3_error(
            "RequestHeaderSectionTooLarge",
            "Your request header section exceeds the maximum allowed size.",
            &format!("<MaxSizeAllowed>{S3_MAX_HEADER_BYTES}</MaxSizeAllowed>"),
        ),
        Listener::S3 => match declared {
            Some(n) if req.method() == Method::PUT && n > S3_MAX_PUT_BYTES => s3_error(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                &format!("<ProposedSize>{n}</ProposedSize><MaxSizeAllowed>{S3_MAX_PUT_BYTES}</MaxSizeAllowed>"),
            ),
            _ => return None,
        },
        Listener::Api if headers > API_MAX_HEADER_BYTES => {
            ApiError::HeaderTooLarge(API_MAX_HEADER_BYTES).into_response()
        }
        Listener::Api => match declared {
            Some(n) if n > BODY_LIMIT_BYTES as u64 => ApiError::PayloadTooLarge(BODY_LIMIT_BYTES).into_response(),
            _ => return None,
        },
    };
    // The body (if any) stays unread: the connection cannot carry another request.
    resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    Some(resp)
}

impl<S, B, RB> hyper::service::Service<Request<B>> for Limits<S>
where
    S: hyper::service::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<Either<RB, axum::body::Body>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: Request<B>) -> Self::Future {
        if let Some(resp) = refusal(self.listener, &req) {
            return Box::pin(async move { Ok(resp.map(Either::Right)) });
        }
        let fut = self.inner.call(req);
        Box::pin(async move { Ok(fut.await?.map(Either::Left)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, headers: &[(&str, String)]) -> Request<()> {
        let mut b = Request::builder().method(method).uri("/b/k");
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        b.body(()).expect("request")
    }

    #[test]
    fn s3_refuses_big_headers_and_puts_over_5_gib() {
        let big = req(Method::GET, &[("x-amz-meta-a", "v".repeat(9000))]);
        assert_eq!(
            refusal(Listener::S3, &big).map(|r| r.status()),
            Some(StatusCode::BAD_REQUEST)
        );
        let huge = req(Method::PUT, &[("content-length", (S3_MAX_PUT_BYTES + 1).to_string())]);
        assert!(refusal(Listener::S3, &huge).is_some());
        let max = req(Method::PUT, &[("content-length", S3_MAX_PUT_BYTES.to_string())]);
        assert!(refusal(Listener::S3, &max).is_none());
        let small = req(Method::GET, &[("x-amz-meta-a", "v".repeat(2000))]);
        assert!(refusal(Listener::S3, &small).is_none());
    }

    #[test]
    fn api_answers_431_and_413() {
        let big = req(Method::GET, &[("x-big", "v".repeat(20_000))]);
        assert_eq!(
            refusal(Listener::Api, &big).map(|r| r.status()),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let body = req(Method::POST, &[("content-length", (10u64 << 30).to_string())]);
        assert_eq!(
            refusal(Listener::Api, &body).map(|r| r.status()),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert!(refusal(Listener::Api, &req(Method::POST, &[("content-length", "100".into())])).is_none());
    }
}
