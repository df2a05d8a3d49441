//! `Expect: 100-continue` on requests without a body.
//!
//! S3 answers `100 Continue` to every request that asks for it. hyper skips the interim response
//! when the body is empty (a 0-byte PUT) and sends the final one straight away. That is allowed by
//! RFC 9110, but botocore (boto3, the AWS CLI) then keeps the final status it read while waiting for
//! the 100 as the status of the *next* response on the same keep-alive connection: that response's
//! real status line is parsed as a header, its length is lost, and the client waits until its read
//! timeout (`aws s3 sync`/`cp --recursive` of a tree with an empty file hung for 60 s and failed).
//!
//! We cannot make hyper send the interim response, so such a response closes the connection
//! (`Connection: close`): the client opens a fresh one for its next request, which is all the
//! cost.
//!
//! The same goes for an error answered to a request that carries a body (a PUT refused with
//! `AccessDenied` before its body is read): hyper drops the connection rather than read a body
//! nobody wants, and a client told nothing would send its next request into that closed socket
//! (boto3 without retries: `ConnectionClosedError` on the call after the refused one). Saying
//! `Connection: close` on such an error lets it open a fresh connection instead.

use std::future::Future;
use std::pin::Pin;

use http::header::{HeaderValue, CONNECTION, EXPECT};
use http_body::Body;

/// Wraps the S3 service: responses to bodiless `Expect: 100-continue` requests, and errors answered
/// to requests with a body, close the connection.
#[derive(Clone)]
pub struct CloseAfterBodilessExpect<S> {
    inner: S,
}

impl<S> CloseAfterBodilessExpect<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// True when the request asked for `100 Continue` and hyper will not send one (no body to wait for).
fn skips_interim<B: Body>(req: &http::Request<B>) -> bool {
    let expects = req
        .headers()
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    expects && req.body().is_end_stream()
}

impl<S, B, RB> hyper::service::Service<http::Request<B>> for CloseAfterBodilessExpect<S>
where
    S: hyper::service::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    B: Body,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: http::Request<B>) -> Self::Future {
        let close = skips_interim(&req);
        let with_body = !req.body().is_end_stream();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut resp = fut.await?;
            let refused_body = with_body && (resp.status().is_client_error() || resp.status().is_server_error());
            if close || refused_body {
                resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Empty, Full};

    fn req<B>(expect: Option<&str>, body: B) -> http::Request<B> {
        let mut b = http::Request::put("/b/k");
        if let Some(e) = expect {
            b = b.header(EXPECT, e);
        }
        b.body(body).expect("a valid request")
    }

    #[test]
    fn only_bodiless_requests_that_expect_continue_close() {
        assert!(skips_interim(&req(Some("100-continue"), Empty::<bytes::Bytes>::new())));
        assert!(skips_interim(&req(
            Some("100-Continue"),
            Full::new(bytes::Bytes::new())
        )));
        assert!(!skips_interim(&req(
            Some("100-continue"),
            Full::new(bytes::Bytes::from_static(b"x"))
        )));
        assert!(!skips_interim(&req(None, Empty::<bytes::Bytes>::new())));
    }
}
