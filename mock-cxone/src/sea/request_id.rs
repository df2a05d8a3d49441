//! S3 request ids: every S3 response carries `x-amz-request-id` (16 upper-case hex characters)
//! and `x-amz-id-2` (the "host id", base64), and every error body repeats them as `<RequestId>`
//! and `<HostId>`, as S3 does. Clients log and show them (boto3's `ResponseMetadata`, rclone's
//! `request id: …, host id: …`), and users quote them in support cases, so a mock that sends none
//! leaves those code paths untested.
//!
//! Done around the whole s3s service so that errors s3s answers itself (bad signatures, unknown
//! access keys, malformed requests) carry them too.

use std::future::Future;
use std::pin::Pin;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH};
use sha2::Digest as _;

use super::lake_attributes::unquote_etag;

/// Header of the request id.
pub const REQUEST_ID: &str = "x-amz-request-id";
/// Header of the extended request id (host id).
pub const HOST_ID: &str = "x-amz-id-2";

/// Wraps the s3s service: adds the request ids to every response.
#[derive(Clone)]
pub struct RequestIds<S> {
    inner: S,
}

impl<S> RequestIds<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// A fresh `(request id, host id)` pair, unique per request (random, 64 + 256 bits).
fn new_ids() -> (String, String) {
    let u = uuid::Uuid::new_v4();
    let request_id = u.simple().to_string()[..16].to_ascii_uppercase();
    let host = sha2::Sha256::digest(uuid::Uuid::new_v4().as_bytes());
    let host_id = base64::engine::general_purpose::STANDARD.encode(host);
    (request_id, host_id)
}

/// An S3 error body with `<RequestId>`/`<HostId>` as S3 writes them (before `</Error>`); s3s
/// writes neither unless the handler set a request id, so an existing one is replaced.
fn with_ids(body: &[u8], request_id: &str, host_id: &str) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let end = text.rfind("</Error>")?;
    let mut head = text[..end].to_string();
    if let (Some(a), Some(b)) = (head.find("<RequestId>"), head.find("</RequestId>")) {
        if a < b {
            head.replace_range(a..b + "</RequestId>".len(), "");
        }
    }
    Some(
        format!(
            "{head}<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId>{}",
            &text[end..]
        )
        .into_bytes(),
    )
}

impl<S, B> hyper::service::Service<http::Request<B>> for RequestIds<S>
where
    S: hyper::service::Service<http::Request<B>, Response = http::Response<s3s::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: http::Request<B>) -> Self::Future {
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut resp = fut.await?;
            let (request_id, host_id) = new_ids();
            if resp.status().is_success() {
                // GetObjectAttributes' ETag, which S3 alone leaves unquoted (`lake_attributes`).
                if let Some(new) = resp.body().bytes().and_then(|b| unquote_etag(&b)) {
                    if resp.headers().contains_key(CONTENT_LENGTH) {
                        resp.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(new.len()));
                    }
                    *resp.body_mut() = s3s::Body::from(Bytes::from(new));
                }
            } else if resp.status().is_client_error() || resp.status().is_server_error() {
                // Error bodies are small and whole (s3s serialises them to a buffer).
                if let Some(new) = resp.body().bytes().and_then(|b| with_ids(&b, &request_id, &host_id)) {
                    if resp.headers().contains_key(CONTENT_LENGTH) {
                        resp.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(new.len()));
                    }
                    *resp.body_mut() = s3s::Body::from(Bytes::from(new));
                }
            }
            let headers = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                headers.insert(REQUEST_ID, v);
            }
            if let Ok(v) = HeaderValue::from_str(&host_id) {
                headers.insert(HOST_ID, v);
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_s3_shaped_and_unique() {
        let (a, h) = new_ids();
        let (b, _) = new_ids();
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
        assert_ne!(a, b);
        assert!(base64::engine::general_purpose::STANDARD.decode(&h).is_ok());
    }

    #[test]
    fn error_bodies_get_request_and_host_ids() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>m</Message><RequestId>old</RequestId></Error>"#;
        let out = String::from_utf8(with_ids(body, "R1", "H1").expect("test value")).expect("test value");
        assert!(
            out.ends_with("<Message>m</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>"),
            "{out}"
        );
        assert!(with_ids(b"<ListBucketResult/>", "R", "H").is_none());
    }
}
