//! Request counters and durations for `GET /metrics` (api/metrics.rs), counted by
//! [`crate::observe`] as each request ends, on both listeners.
//!
//! Series are keyed by listener, endpoint, method and status. The endpoint is the REST route's
//! template (`/api/v2/data-downloads/{id}/jobs`, never the raw path) or the S3 operation's name
//! (`GetObject`), so the number of series stays bounded whatever clients send. One mutex over a
//! small map: a request holds it for one hash lookup and a few additions.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Which listener served a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Listener {
    /// The REST listener (CXone API, control API, dashboard).
    Rest,
    /// The S3 listener (SEA and data-lake buckets).
    S3,
}

impl Listener {
    /// `rest` or `s3`, as in the `listener` label and the request log.
    pub fn as_str(self) -> &'static str {
        match self {
            Listener::Rest => "rest",
            Listener::S3 => "s3",
        }
    }
}

/// Upper bounds (seconds) of the duration histogram's buckets.
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    listener: Listener,
    endpoint: Cow<'static, str>,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Default)]
struct Series {
    count: u64,
    seconds: f64,
    /// Requests at or under each bound of [`BUCKETS`] (not cumulative; summed when written).
    buckets: [u64; BUCKETS.len()],
}

/// The request counters of one running mock.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<HashMap<Key, Series>>,
}

impl Metrics {
    /// Counts one finished request.
    pub fn observe(
        &self,
        listener: Listener,
        endpoint: Cow<'static, str>,
        method: &http::Method,
        status: u16,
        took: Duration,
    ) {
        let key = Key {
            listener,
            endpoint,
            method: method_name(method),
            status,
        };
        let secs = took.as_secs_f64();
        let Ok(mut map) = self.series.lock() else { return };
        let s = map.entry(key).or_default();
        s.count += 1;
        s.seconds += secs;
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            s.buckets[i] += 1;
        }
    }

    /// The request families in Prometheus text format (0.0.4), appended to `out`.
    pub fn write(&self, out: &mut String) {
        let mut rows: Vec<(Key, Series)> = match self.series.lock() {
            Ok(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => Vec::new(),
        };
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        family(
            out,
            "mock_cxone_requests_total",
            "counter",
            "Requests answered, by listener, endpoint (REST route template or S3 operation), method and status.",
        );
        for (k, s) in &rows {
            let _ = writeln!(out, "mock_cxone_requests_total{{{}}} {}", labels(k), s.count);
        }
        family(
            out,
            "mock_cxone_s3_operations_total",
            "counter",
            "S3 requests answered, by operation and status (the S3 rows of mock_cxone_requests_total).",
        );
        for (k, s) in rows.iter().filter(|(k, _)| k.listener == Listener::S3) {
            let l = format!("operation=\"{}\",status=\"{}\"", escape(&k.endpoint), k.status);
            let _ = writeln!(out, "mock_cxone_s3_operations_total{{{l}}} {}", s.count);
        }
        family(
            out,
            "mock_cxone_request_duration_seconds",
            "histogram",
            "Time from request to response head, by listener, endpoint, method and status.",
        );
        for (k, s) in &rows {
            let l = labels(k);
            let mut running = 0;
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                running += n;
                let _ = writeln!(
                    out,
                    "mock_cxone_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {running}"
                );
            }
            let _ = writeln!(
                out,
                "mock_cxone_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "mock_cxone_request_duration_seconds_sum{{{l}}} {}", s.seconds);
            let _ = writeln!(out, "mock_cxone_request_duration_seconds_count{{{l}}} {}", s.count);
        }
    }
}

/// The method as a label value; unusual methods share one value so they cannot grow the map.
fn method_name(m: &http::Method) -> &'static str {
    const KNOWN: [(http::Method, &str); 7] = [
        (http::Method::GET, "GET"),
        (http::Method::HEAD, "HEAD"),
        (http::Method::PUT, "PUT"),
        (http::Method::POST, "POST"),
        (http::Method::DELETE, "DELETE"),
        (http::Method::PATCH, "PATCH"),
        (http::Method::OPTIONS, "OPTIONS"),
    ];
    KNOWN.iter().find(|(k, _)| k == m).map_or("OTHER", |(_, name)| name)
}

fn labels(k: &Key) -> String {
    format!(
        "listener=\"{}\",endpoint=\"{}\",method=\"{}\",status=\"{}\"",
        k.listener.as_str(),
        escape(&k.endpoint),
        k.method,
        k.status
    )
}

/// `# HELP` and `# TYPE` lines of a family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
pub fn escape(v: &str) -> Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(v);
    }
    Cow::Owned(v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cumulative_buckets() {
        let m = Metrics::default();
        let ep = || Cow::Borrowed("GetObject");
        m.observe(Listener::S3, ep(), &http::Method::GET, 200, Duration::from_micros(300));
        m.observe(Listener::S3, ep(), &http::Method::GET, 200, Duration::from_millis(3));
        m.observe(Listener::S3, ep(), &http::Method::GET, 404, Duration::from_secs(9));
        let mut out = String::new();
        m.write(&mut out);
        let l = r#"listener="s3",endpoint="GetObject",method="GET",status="200""#;
        assert!(out.contains(&format!("mock_cxone_requests_total{{{l}}} 2\n")), "{out}");
        assert!(
            out.contains(&format!(
                "mock_cxone_request_duration_seconds_bucket{{{l},le=\"0.0005\"}} 1\n"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "mock_cxone_request_duration_seconds_bucket{{{l},le=\"0.005\"}} 2\n"
            )),
            "{out}"
        );
        assert!(
            out.contains("mock_cxone_s3_operations_total{operation=\"GetObject\",status=\"404\"} 1\n"),
            "{out}"
        );
        let slow = r#"listener="s3",endpoint="GetObject",method="GET",status="404""#;
        assert!(
            out.contains(&format!(
                "mock_cxone_request_duration_seconds_bucket{{{slow},le=\"5\"}} 0\n"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "mock_cxone_request_duration_seconds_bucket{{{slow},le=\"+Inf\"}} 1\n"
            )),
            "{out}"
        );
    }

    #[test]
    fn label_values_are_escaped_and_methods_bounded() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(
            method_name(&http::Method::from_bytes(b"PROPFIND").expect("method")),
            "OTHER"
        );
        assert_eq!(method_name(&http::Method::DELETE), "DELETE");
    }
}
