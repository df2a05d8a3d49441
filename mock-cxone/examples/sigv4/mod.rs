//! SigV4 for the load generators of `make bench` (`s3load`, `mixload`), included by each with
//! `#[path = "sigv4/mod.rs"] mod sigv4;`: query-string presigning (what AWS SDK presigners emit,
//! `UNSIGNED-PAYLOAD`) and Authorization-header signing of body-less requests (what SDKs send for
//! GET/LIST/HEAD: `x-amz-content-sha256` of the empty payload). Signed here per request, so the
//! server verifies a signature on every request while the client spends microseconds on it.

// Each example uses a part of this module; the rest would be dead code in that example.
#![allow(dead_code)]

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// RFC 3986 unreserved characters stay; everything else is encoded (SigV4's URI encoding).
pub const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// ... and `/` stays in paths.
pub const PATH: &AsciiSet = &QUERY.remove(b'/');
/// SHA-256 of the empty payload, the `x-amz-content-sha256` of a request without a body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

type HmacSha256 = Hmac<Sha256>;

pub fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

pub fn join(q: &[(String, String)]) -> String {
    q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// One credential of one S3 endpoint (path-style addressing).
#[derive(Clone)]
pub struct Creds {
    /// `http://host:port`, no trailing slash.
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl Creds {
    /// `host[:port]` of the endpoint, as the `host` header carries it.
    pub fn host(&self) -> &str {
        self.endpoint.split("://").nth(1).unwrap_or(&self.endpoint)
    }

    /// The signature of `canonical` (a canonical request) at `now`: (scope, stamp, hex signature).
    fn signature(&self, now: chrono::DateTime<chrono::Utc>, canonical: &str) -> (String, String, String) {
        let date = now.format("%Y%m%d").to_string();
        let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let k = hmac(format!("AWS4{}", self.secret_key).as_bytes(), date.as_bytes());
        let k = hmac(&k, self.region.as_bytes());
        let k = hmac(&k, b"s3");
        let k = hmac(&k, b"aws4_request");
        (scope, stamp, hex::encode(hmac(&k, to_sign.as_bytes())))
    }

    /// The URL of `method` on `path` (`/bucket[/key]`, unencoded) with `query` (unencoded pairs):
    /// presigned for an hour when `sign`, plain otherwise (nginx).
    pub fn presigned_url(&self, method: &str, path: &str, query: &[(&str, &str)], sign: bool) -> String {
        let path = utf8_percent_encode(path, PATH).to_string();
        let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (enc(k), enc(v))).collect();
        if sign {
            let now = chrono::Utc::now();
            let date = now.format("%Y%m%d").to_string();
            let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
            let scope = format!("{date}/{}/s3/aws4_request", self.region);
            q.push(("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()));
            q.push(("X-Amz-Credential".into(), enc(&format!("{}/{scope}", self.access_key))));
            q.push(("X-Amz-Date".into(), stamp));
            q.push(("X-Amz-Expires".into(), "3600".into()));
            q.push(("X-Amz-SignedHeaders".into(), "host".into()));
            q.sort();
            let canonical = format!(
                "{method}\n{path}\n{}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD",
                join(&q),
                self.host()
            );
            let (_, _, sig) = self.signature(now, &canonical);
            q.push(("X-Amz-Signature".into(), sig));
        } else {
            q.sort();
        }
        self.url(&path, &q)
    }

    /// A body-less request signed in the Authorization header: (URL, headers to send).
    pub fn signed(&self, method: &str, path: &str, query: &[(&str, &str)]) -> (String, Vec<(&'static str, String)>) {
        let path = utf8_percent_encode(path, PATH).to_string();
        let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (enc(k), enc(v))).collect();
        q.sort();
        let now = chrono::Utc::now();
        let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
        let canonical = format!(
            "{method}\n{path}\n{}\nhost:{}\nx-amz-content-sha256:{EMPTY_SHA256}\nx-amz-date:{stamp}\n\n\
             host;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256}",
            join(&q),
            self.host()
        );
        let (scope, stamp, sig) = self.signature(now, &canonical);
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
             Signature={sig}",
            self.access_key
        );
        let headers = vec![
            ("x-amz-date", stamp),
            ("x-amz-content-sha256", EMPTY_SHA256.to_string()),
            ("authorization", auth),
        ];
        (self.url(&path, &q), headers)
    }

    fn url(&self, encoded_path: &str, q: &[(String, String)]) -> String {
        let qs = join(q);
        if qs.is_empty() {
            format!("{}{encoded_path}", self.endpoint)
        } else {
            format!("{}{encoded_path}?{qs}", self.endpoint)
        }
    }
}
