//! `s3load`: the S3 load generator of `make bench` (issue 6). It drives any S3 endpoint — mock-cxone,
//! moto, the s3s-fs reference server, or nginx serving the same files — with the same load, so
//! docs/benchmarks.md can compare them side by side in one run.
//!
//! Every request is a **presigned** SigV4 URL (query-string auth, `UNSIGNED-PAYLOAD`), signed here
//! per request as AWS SDK presigners do, so the server verifies a signature on every request while
//! the client spends microseconds on it. `--no-sign` sends plain URLs (nginx).
//!
//! ```text
//! s3load --endpoint http://127.0.0.1:9000 --bucket b --access-key K --secret-key S \
//!        --op get|put|list|seed|mkbucket --size 1024 --concurrency 16 --seconds 8 [--key k] [--prefix p/] [--count n]
//! ```
//! Prints one JSON line: requests, errors, seconds, req/s, MB/s, p50/p99 latency (ms).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "sigv4/mod.rs"]
mod sigv4;

#[derive(Clone)]
struct Args {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
    region: String,
    op: String,
    size: usize,
    concurrency: usize,
    seconds: f64,
    key: String,
    prefix: String,
    count: usize,
    sign: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        endpoint: "http://127.0.0.1:9000".into(),
        bucket: String::new(),
        access_key: String::new(),
        secret_key: String::new(),
        region: "us-east-1".into(),
        op: "get".into(),
        size: 1024,
        concurrency: 1,
        seconds: 8.0,
        key: "bench/object".into(),
        prefix: "bench/list/".into(),
        count: 10_000,
        sign: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--no-sign" {
            a.sign = false;
            continue;
        }
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--endpoint" => a.endpoint = v.trim_end_matches('/').to_string(),
            "--bucket" => a.bucket = v,
            "--access-key" => a.access_key = v,
            "--secret-key" => a.secret_key = v,
            "--region" => a.region = v,
            "--op" => a.op = v,
            "--size" => a.size = num(&v)? as usize,
            "--concurrency" => a.concurrency = (num(&v)? as usize).max(1),
            "--seconds" => a.seconds = num(&v)?,
            "--key" => a.key = v,
            "--prefix" => a.prefix = v,
            "--count" => a.count = num(&v)? as usize,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

/// A SigV4 presigner for one credential and bucket (sigv4/mod.rs signs).
struct Signer {
    creds: sigv4::Creds,
    bucket: String,
    sign: bool,
}

impl Signer {
    fn new(args: &Args) -> Signer {
        Signer {
            creds: sigv4::Creds {
                endpoint: args.endpoint.clone(),
                access_key: args.access_key.clone(),
                secret_key: args.secret_key.clone(),
                region: args.region.clone(),
            },
            bucket: args.bucket.clone(),
            sign: args.sign,
        }
    }

    /// The URL of `method` on `key` (empty: the bucket) with `query` (unencoded pairs).
    fn url(&self, method: &str, key: &str, query: &[(&str, &str)]) -> String {
        let path = if key.is_empty() {
            format!("/{}", self.bucket)
        } else {
            format!("/{}/{}", self.bucket, key)
        };
        self.creds.presigned_url(method, &path, query, self.sign)
    }
}

/// What one worker measured.
#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    bytes: u64,
    latencies_us: Vec<u64>,
    first_error: Option<String>,
}

/// One request of the operation; returns the bytes moved.
async fn one(client: &reqwest::Client, s: &Signer, a: &Args, n: u64, body: &bytes::Bytes) -> Result<u64, String> {
    let resp = match a.op.as_str() {
        "get" => client.get(s.url("GET", &a.key, &[])).send().await,
        "put" | "seed" => {
            let key = format!("{}{n:08}", a.prefix);
            client.put(s.url("PUT", &key, &[])).body(body.clone()).send().await
        }
        // An explicit empty body: moto answers 411 to a PUT without Content-Length.
        "mkbucket" => {
            client
                .put(s.url("PUT", "", &[]))
                .header("content-length", "0")
                .send()
                .await
        }
        "list" => return list_all(client, s, a).await,
        op => return Err(format!("unknown op {op}")),
    }
    .map_err(|e| e.to_string())?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        ));
    }
    Ok(match a.op.as_str() {
        "get" => bytes.len() as u64,
        _ => body.len() as u64,
    })
}

/// ListObjectsV2 of the whole prefix, page by page (1,000 keys each); returns the keys listed.
async fn list_all(client: &reqwest::Client, s: &Signer, a: &Args) -> Result<u64, String> {
    let mut token: Option<String> = None;
    let mut keys = 0u64;
    loop {
        let mut q = vec![("list-type", "2"), ("prefix", a.prefix.as_str()), ("max-keys", "1000")];
        if let Some(t) = &token {
            q.push(("continuation-token", t.as_str()));
        }
        let resp = client
            .get(s.url("GET", "", &q))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {}", &text[..text.len().min(300)]));
        }
        keys += text.matches("<Key>").count() as u64;
        token = between(&text, "<NextContinuationToken>", "</NextContinuationToken>").map(unescape);
        if token.is_none() {
            return Ok(keys);
        }
    }
}

fn between<'t>(text: &'t str, open: &str, close: &str) -> Option<&'t str> {
    let s = text.find(open)? + open.len();
    let e = text[s..].find(close)? + s;
    Some(&text[s..e])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

async fn worker(id: u64, a: Arc<Args>, client: reqwest::Client, stop: Arc<AtomicBool>, limit: u64) -> Tally {
    let s = Signer::new(&a);
    let body = bytes::Bytes::from(vec![b'x'; a.size]);
    let mut t = Tally::default();
    let mut n = id;
    while !stop.load(Ordering::Relaxed) && n < limit {
        let started = Instant::now();
        match one(&client, &s, &a, n, &body).await {
            Ok(b) => t.bytes += b,
            Err(e) => {
                t.errors += 1;
                t.first_error.get_or_insert(e);
            }
        }
        t.latencies_us.push(started.elapsed().as_micros() as u64);
        t.requests += 1;
        n += a.concurrency as u64;
    }
    t
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let a = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("s3load: {e}");
            std::process::exit(2);
        }
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(a.concurrency * 2)
        .build()
        .expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    // `seed` writes exactly `count` objects (a listing's prefix); the others run for `seconds`.
    let limit = match a.op.as_str() {
        "seed" => a.count as u64,
        "mkbucket" => 1,
        _ => u64::MAX,
    };
    let started = Instant::now();
    let handles: Vec<_> = (0..a.concurrency as u64)
        .map(|i| tokio::spawn(worker(i, a.clone(), client.clone(), stop.clone(), limit)))
        .collect();
    if limit == u64::MAX {
        tokio::time::sleep(Duration::from_secs_f64(a.seconds)).await;
        stop.store(true, Ordering::Relaxed);
    }
    let mut all = Tally::default();
    for h in handles {
        let t = h.await.expect("worker");
        all.requests += t.requests;
        all.errors += t.errors;
        all.bytes += t.bytes;
        all.latencies_us.extend(t.latencies_us);
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let out = serde_json::json!({
        "op": a.op, "size": a.size, "concurrency": a.concurrency, "seconds": secs,
        "requests": all.requests, "errors": all.errors,
        "req_per_s": all.requests as f64 / secs,
        // `list` counts keys, not bytes: keys listed per full listing.
        "mb_per_s": if a.op == "list" { 0.0 } else { all.bytes as f64 / secs / 1_000_000.0 },
        "keys_per_list": if a.op == "list" && all.requests > 0 { all.bytes / all.requests } else { 0 },
        "p50_ms": percentile(&all.latencies_us, 0.5), "p99_ms": percentile(&all.latencies_us, 0.99),
        "first_error": all.first_error,
    });
    println!("{out}");
}
