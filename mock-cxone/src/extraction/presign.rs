//! Presigned result URLs: `GET <api>/data-extraction/v1/results/<job id>/<file>.csv?expires=<unix>
//! &signature=<hex>`, valid 30 s of wall time like the S3 presigned URL CXone hands out.
//!
//! Why the wall clock: clients check nothing, but they expect a URL fetched now to work now and
//! to stop working half a minute later in real time, whatever the mock clock does (CONTRACT:
//! presigned-URL expiry is checked against the wall clock). The signature is an HMAC-SHA256
//! over the job id and the expiry, so editing either one voids it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How long a result URL works, in wall-clock seconds.
pub const URL_TTL_SECS: i64 = 30;

/// Separates these signatures from every other use of the key.
const DOMAIN: &[u8] = b"mock-cxone data-extraction result url v1\n";

/// Why a result URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `expires` or `signature` is missing.
    #[error(
        "this URL is not presigned: it needs the expires and signature parameters that \
         GET /data-extraction/v1/jobs/{{id}} returns in result.url"
    )]
    Unsigned,
    /// The signature does not match the job id and expiry (edited or forged).
    #[error("the URL's signature does not match its job id and expiry: use result.url exactly as returned")]
    BadSignature,
    /// Past its expiry (wall clock).
    #[error(
        "the URL expired {0} s ago (result URLs are valid {URL_TTL_SECS} s): \
         GET /data-extraction/v1/jobs/{{id}} again for a fresh one"
    )]
    Expired(i64),
}

/// Seconds since the Unix epoch on the wall clock.
pub fn wall_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn mac(key: &[u8], job_id: &str, expires: i64) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(DOMAIN);
    mac.update(job_id.as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    Some(mac)
}

/// The hex signature of (`job_id`, `expires`).
pub fn sign(key: &[u8], job_id: &str, expires: i64) -> String {
    mac(key, job_id, expires).map_or_else(String::new, |m| hex::encode(m.finalize().into_bytes()))
}

/// The presigned URL of a job's result, issued at wall time `wall_now`.
pub fn url(api_base: &str, key: &[u8], job_id: &str, file_name: &str, wall_now: i64) -> String {
    let expires = wall_now + URL_TTL_SECS;
    let signature = sign(key, job_id, expires);
    format!("{api_base}/data-extraction/v1/results/{job_id}/{file_name}?expires={expires}&signature={signature}")
}

/// Checks a URL's parameters at wall time `wall_now`: the signature first (so an edited
/// `expires` is refused as forged, never as merely expired), then the expiry.
pub fn verify(
    key: &[u8],
    job_id: &str,
    expires: Option<&str>,
    signature: Option<&str>,
    wall_now: i64,
) -> Result<(), Refusal> {
    let (Some(expires), Some(signature)) = (expires, signature) else {
        return Err(Refusal::Unsigned);
    };
    let expires: i64 = expires.parse().map_err(|_| Refusal::BadSignature)?;
    let given = hex::decode(signature).map_err(|_| Refusal::BadSignature)?;
    let mac = mac(key, job_id, expires).ok_or(Refusal::BadSignature)?;
    mac.verify_slice(&given).map_err(|_| Refusal::BadSignature)?;
    if wall_now > expires {
        return Err(Refusal::Expired(wall_now - expires));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(url: &str) -> (String, String) {
        let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let get = |k: &str| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap_or_default()
                .to_string()
        };
        (get("expires"), get("signature"))
    }

    #[test]
    fn a_url_works_for_30_wall_seconds_and_only_as_issued() {
        let key = b"k";
        let u = url("http://x", key, "job-1", "f.csv", 1_000);
        assert!(u.starts_with("http://x/data-extraction/v1/results/job-1/f.csv?expires=1030&signature="));
        let (e, s) = params(&u);
        assert_eq!(verify(key, "job-1", Some(&e), Some(&s), 1_000), Ok(()));
        assert_eq!(verify(key, "job-1", Some(&e), Some(&s), 1_030), Ok(()));
        assert_eq!(
            verify(key, "job-1", Some(&e), Some(&s), 1_031),
            Err(Refusal::Expired(1))
        );
        assert_eq!(
            verify(key, "job-2", Some(&e), Some(&s), 1_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(key, "job-1", Some("9999"), Some(&s), 1_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(b"other", "job-1", Some(&e), Some(&s), 1_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(key, "job-1", Some(&e), Some("zz"), 1_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(verify(key, "job-1", None, Some(&s), 1_000), Err(Refusal::Unsigned));
    }
}
