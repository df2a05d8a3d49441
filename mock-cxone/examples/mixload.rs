//! `mixload`: the load test of `make bench` (issue 7, part 5). A bounded loopback load against one
//! mock-cxone: `--clients` concurrent clients for `--seconds`, each mixing what real users do —
//! S3 GET and ListObjectsV2 of the tenant's SEA folder and of a data-lake bucket (SigV4 in the
//! Authorization header and presigned URLs, alternately), and Data Download job polling as a
//! pipeline does it (bearer token; jobs listed page by page, one job read, its files fetched from
//! S3 and checked against the job's checksums, its Parquet footer read by range, its manifest read)
//! — while a control client advances the mock clock now and then, so jobs appear while polled and
//! tokens expire (mock clock) and are renewed as a pipeline renews them.
//!
//! Every answer is checked: any status the workload does not expect, any connection error, any
//! body whose size or sha256 differs from what was put, any listing that differs from what exists,
//! is an error. The only non-2xx expected is 401 on a token the clock advance expired (then the
//! client takes a new token and retries once).
//!
//! ```text
//! mixload --world world.json [--clients 32] [--seconds 60] [--advance-every 2] [--advance-by 10m]
//! ```
//! `world.json` (written by bench/load.py) names the endpoints, credentials, the objects with their
//! sizes and sha256, and the downloads. Prints one JSON document: per operation kind the requests,
//! errors, rate and p50/p99/max latency; the totals; the first errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[path = "sigv4/mod.rs"]
mod sigv4;

#[derive(Deserialize, Clone)]
struct Object {
    key: String,
    size: u64,
    sha256: String,
}

/// One S3 bucket (or SEA folder) of the world and the credential that reads it.
#[derive(Deserialize)]
struct Bucket {
    access_key: String,
    secret_key: String,
    bucket: String,
    prefix: String,
    objects: Vec<Object>,
}

#[derive(Deserialize)]
struct World {
    api: String,
    s3: String,
    region: String,
    sea: Bucket,
    lake: Bucket,
    /// The API user a pipeline authenticates as (`password` grant, CONTRACT §5).
    client_id: String,
    client_secret: String,
    username: String,
    password: String,
    downloads: Vec<String>,
}

/// What a request is, for the per-kind figures.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    SeaGet,
    SeaList,
    LakeGet,
    LakeList,
    JobsList,
    JobGet,
    DownloadGet,
    ExportGet,
    ExportRange,
    ManifestGet,
    Token,
    ClockAdvance,
}

impl Kind {
    const ALL: [Kind; 12] = [
        Kind::SeaGet,
        Kind::SeaList,
        Kind::LakeGet,
        Kind::LakeList,
        Kind::JobsList,
        Kind::JobGet,
        Kind::DownloadGet,
        Kind::ExportGet,
        Kind::ExportRange,
        Kind::ManifestGet,
        Kind::Token,
        Kind::ClockAdvance,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::SeaGet => "sea_get",
            Kind::SeaList => "sea_list",
            Kind::LakeGet => "lake_get",
            Kind::LakeList => "lake_list",
            Kind::JobsList => "jobs_list",
            Kind::JobGet => "job_get",
            Kind::DownloadGet => "download_get",
            Kind::ExportGet => "export_get",
            Kind::ExportRange => "export_range",
            Kind::ManifestGet => "manifest_get",
            Kind::Token => "token",
            Kind::ClockAdvance => "clock_advance",
        }
    }
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    bytes: u64,
    latencies_us: Vec<u64>,
}

/// Everything one client measured.
#[derive(Default)]
struct Stats {
    kinds: HashMap<Kind, Tally>,
    errors: Vec<String>,
    expected_401: u64,
}

impl Stats {
    fn record(&mut self, kind: Kind, started: Instant, bytes: u64) {
        let t = self.kinds.entry(kind).or_default();
        t.requests += 1;
        t.bytes += bytes;
        t.latencies_us.push(started.elapsed().as_micros() as u64);
    }

    /// An error on a request already recorded (a check of its answer failed) or not (no answer).
    fn error(&mut self, kind: Kind, msg: String) {
        self.kinds.entry(kind).or_default().errors += 1;
        if self.errors.len() < 20 {
            self.errors.push(format!("{}: {msg}", kind.name()));
        }
    }
}

struct Args {
    world: String,
    clients: usize,
    seconds: f64,
    advance_every: f64,
    advance_by: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        world: String::new(),
        clients: 32,
        seconds: 60.0,
        advance_every: 2.0,
        advance_by: "10m".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--world" => a.world = v,
            "--clients" => a.clients = (num(&v)? as usize).max(1),
            "--seconds" => a.seconds = num(&v)?,
            "--advance-every" => a.advance_every = num(&v)?,
            "--advance-by" => a.advance_by = v,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.world.is_empty() {
        return Err("--world FILE is required".into());
    }
    Ok(a)
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
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

/// `(key, size)` of each `<Contents>` of a ListObjectsV2 page.
fn listed(text: &str) -> Vec<(String, u64)> {
    text.split("<Contents>")
        .skip(1)
        .map(|c| {
            let key = between(c, "<Key>", "</Key>").map(unescape).unwrap_or_default();
            let size = between(c, "<Size>", "</Size>")
                .and_then(|s| s.parse().ok())
                .unwrap_or(u64::MAX);
            (key, size)
        })
        .collect()
}

/// One S3 reader: a credential and its bucket.
struct S3 {
    creds: sigv4::Creds,
    bucket: String,
    prefix: String,
    objects: Vec<Object>,
    /// The listing a full walk of `prefix` must give, sorted by key.
    expected: Vec<(String, u64)>,
}

impl S3 {
    fn new(w: &World, b: &Bucket) -> S3 {
        let mut expected: Vec<(String, u64)> = b.objects.iter().map(|o| (o.key.clone(), o.size)).collect();
        expected.sort();
        S3 {
            creds: sigv4::Creds {
                endpoint: w.s3.trim_end_matches('/').to_string(),
                access_key: b.access_key.clone(),
                secret_key: b.secret_key.clone(),
                region: w.region.clone(),
            },
            bucket: b.bucket.clone(),
            prefix: b.prefix.clone(),
            objects: b.objects.clone(),
            expected,
        }
    }

    /// A GET on `bucket`/`key` (empty key: the bucket), presigned or header-signed.
    fn get(
        &self,
        http: &reqwest::Client,
        bucket: &str,
        key: &str,
        query: &[(&str, &str)],
        presign: bool,
    ) -> reqwest::RequestBuilder {
        let path = if key.is_empty() {
            format!("/{bucket}")
        } else {
            format!("/{bucket}/{key}")
        };
        if presign {
            http.get(self.creds.presigned_url("GET", &path, query, true))
        } else {
            let (url, headers) = self.creds.signed("GET", &path, query);
            headers.into_iter().fold(http.get(url), |r, (k, v)| r.header(k, v))
        }
    }
}

/// Sends `req`; `(status, body)` or the connection error.
async fn send(req: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, bytes::Bytes), String> {
    let resp = req.send().await.map_err(|e| format!("connection: {e}"))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| format!("reading the body: {e}"))?;
    Ok((status, body))
}

fn show(status: reqwest::StatusCode, body: &[u8]) -> String {
    format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]))
}

/// Splits `s3://bucket/key`.
fn s3_url(u: &str) -> Option<(&str, &str)> {
    u.strip_prefix("s3://")?.split_once('/')
}

/// One simulated user: its own HTTP client (connection pool) and bearer token.
struct Client {
    id: usize,
    http: reqwest::Client,
    world: Arc<World>,
    sea: Arc<S3>,
    lake: Arc<S3>,
    token: Option<String>,
    /// Jobs seen by the last listing of each (download, status filter): never fewer later.
    seen: HashMap<(String, bool), usize>,
    stats: Stats,
    n: usize,
}

impl Client {
    /// GET of one object; its size and sha256 must be what was put.
    async fn object_get(&mut self, kind: Kind, which: &Arc<S3>) {
        let s3 = which.clone();
        let o = &s3.objects[(self.n * 7 + self.id * 13) % s3.objects.len()];
        let req = s3.get(&self.http, &s3.bucket, &o.key, &[], self.n.is_multiple_of(2));
        let started = Instant::now();
        match send(req).await {
            Err(e) => self.stats.error(kind, e),
            Ok((status, body)) => {
                self.stats.record(kind, started, body.len() as u64);
                if status != reqwest::StatusCode::OK {
                    self.stats.error(kind, format!("{}: {}", o.key, show(status, &body)));
                } else if body.len() as u64 != o.size || sha256_hex(&body) != o.sha256 {
                    self.stats.error(
                        kind,
                        format!(
                            "{}: {} bytes, sha256 {} (put: {} bytes, {})",
                            o.key,
                            body.len(),
                            sha256_hex(&body),
                            o.size,
                            o.sha256
                        ),
                    );
                }
            }
        }
    }

    /// ListObjectsV2 of the whole prefix, `page` keys a page; the walk must list exactly what exists.
    async fn list_walk(&mut self, kind: Kind, which: &Arc<S3>, page: usize) {
        let s3 = which.clone();
        let max_keys = page.to_string();
        let mut token: Option<String> = None;
        let mut got: Vec<(String, u64)> = Vec::new();
        loop {
            let mut q = vec![
                ("list-type", "2"),
                ("prefix", s3.prefix.as_str()),
                ("max-keys", max_keys.as_str()),
            ];
            if let Some(t) = &token {
                q.push(("continuation-token", t.as_str()));
            }
            let req = s3.get(&self.http, &s3.bucket, "", &q, self.n % 2 == 1);
            let started = Instant::now();
            let (status, body) = match send(req).await {
                Ok(r) => r,
                Err(e) => return self.stats.error(kind, e),
            };
            self.stats.record(kind, started, body.len() as u64);
            if status != reqwest::StatusCode::OK {
                return self.stats.error(kind, show(status, &body));
            }
            let text = String::from_utf8_lossy(&body);
            got.extend(listed(&text));
            token = between(&text, "<NextContinuationToken>", "</NextContinuationToken>").map(unescape);
            if token.is_none() {
                break;
            }
        }
        if got != s3.expected {
            let missing = s3.expected.iter().filter(|e| !got.contains(e)).count();
            self.stats.error(
                kind,
                format!(
                    "{}/{}: listed {} (key, size), expected {} ({missing} missing)",
                    s3.bucket,
                    s3.prefix,
                    got.len(),
                    s3.expected.len()
                ),
            );
        }
    }

    async fn new_token(&mut self) -> Result<String, String> {
        let w = self.world.clone();
        let form = format!(
            "grant_type=password&username={}&password={}",
            sigv4::enc(&w.username),
            sigv4::enc(&w.password)
        );
        let req = self
            .http
            .post(format!("{}/auth/token", w.api))
            .basic_auth(&w.client_id, Some(&w.client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
        let started = Instant::now();
        let (status, body) = send(req).await?;
        self.stats.record(Kind::Token, started, 0);
        if status != reqwest::StatusCode::OK {
            return Err(show(status, &body));
        }
        let v: Value = serde_json::from_slice(&body).map_err(|e| format!("token answer: {e}"))?;
        let t = v["access_token"]
            .as_str()
            .ok_or("no access_token in the answer")?
            .to_string();
        self.token = Some(t.clone());
        Ok(t)
    }

    /// A REST GET with the bearer token, the JSON answer; a 401 (the token expired on the mock
    /// clock) takes a new token and retries once, as a pipeline does.
    async fn rest(&mut self, kind: Kind, path: &str) -> Option<Value> {
        let url = format!("{}{path}", self.world.api);
        for attempt in 0..2 {
            let token = match self.token.clone() {
                Some(t) => t,
                None => match self.new_token().await {
                    Ok(t) => t,
                    Err(e) => {
                        self.stats.error(Kind::Token, e);
                        return None;
                    }
                },
            };
            let started = Instant::now();
            let (status, body) = match send(self.http.get(&url).bearer_auth(token)).await {
                Ok(r) => r,
                Err(e) => {
                    self.stats.error(kind, e);
                    return None;
                }
            };
            self.stats.record(kind, started, body.len() as u64);
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                self.stats.expected_401 += 1;
                self.token = None;
                continue;
            }
            if status != reqwest::StatusCode::OK {
                self.stats.error(kind, format!("{path}: {}", show(status, &body)));
                return None;
            }
            return match serde_json::from_slice(&body) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.stats.error(kind, format!("{path}: not JSON: {e}"));
                    None
                }
            };
        }
        None
    }

    /// One poll of a download as a pipeline does it: list its jobs page by page (completed ones,
    /// or all), read one job, fetch one of its files (sha256 against the job's checksums), read
    /// that Parquet file's footer by range, and read the job's manifest.
    async fn poll(&mut self) {
        let w = self.world.clone();
        let dl = &w.downloads[(self.n / 10 + self.id) % w.downloads.len()];
        let completed_only = self.n % 4 != 1;
        let mut jobs: Vec<Value> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/api/v2/data-downloads/{dl}/jobs?page_size=5");
            if completed_only {
                path.push_str("&status=COMPLETED");
            }
            if let Some(t) = &token {
                path.push_str(&format!("&page_token={}", sigv4::enc(t)));
            }
            let Some(page) = self.rest(Kind::JobsList, &path).await else {
                return;
            };
            jobs.extend(page["jobs"].as_array().cloned().unwrap_or_default());
            token = page["next_page_token"].as_str().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let before = self.seen.insert((dl.clone(), completed_only), jobs.len()).unwrap_or(0);
        if jobs.len() < before {
            self.stats.error(
                Kind::JobsList,
                format!(
                    "{dl}: {} jobs listed after {before} (completed only: {completed_only})",
                    jobs.len()
                ),
            );
        }
        if let Some(j) = jobs
            .iter()
            .find(|j| (completed_only && j["status"] != "COMPLETED") || j["download_id"].as_str() != Some(dl.as_str()))
        {
            self.stats
                .error(Kind::JobsList, format!("{dl}: listed a job not asked for: {j}"));
        }
        if self.n.is_multiple_of(8) {
            if let Some(d) = self
                .rest(Kind::DownloadGet, &format!("/api/v2/data-downloads/{dl}"))
                .await
            {
                if d["id"].as_str() != Some(dl.as_str()) {
                    self.stats.error(Kind::DownloadGet, format!("{dl}: answered {d}"));
                }
            }
        }
        let done: Vec<&Value> = jobs.iter().filter(|j| j["status"] == "COMPLETED").collect();
        if done.is_empty() {
            return;
        }
        let listed_job = done[(self.n * 3 + self.id) % done.len()];
        let id = listed_job["id"].as_str().unwrap_or_default().to_string();
        let Some(job) = self
            .rest(Kind::JobGet, &format!("/api/v2/data-downloads/{dl}/jobs/{id}"))
            .await
        else {
            return;
        };
        if &job != listed_job {
            return self
                .stats
                .error(Kind::JobGet, format!("{id}: differs from its listing: {job}"));
        }
        let files = job["output_files"].as_array().cloned().unwrap_or_default();
        if files.is_empty() {
            return self
                .stats
                .error(Kind::JobGet, format!("{id}: COMPLETED without output files"));
        }
        let file = files[self.n % files.len()].as_str().unwrap_or_default().to_string();
        let want = job["checksums"][&file]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("sha256:")
            .to_string();
        let Some((bucket, key)) = s3_url(&file) else {
            return self.stats.error(
                Kind::JobGet,
                format!("{id}: output file {file:?} is not s3://bucket/key"),
            );
        };
        let lake = self.lake.clone();
        let started = Instant::now();
        match send(lake.get(&self.http, bucket, key, &[], self.n.is_multiple_of(2))).await {
            Err(e) => return self.stats.error(Kind::ExportGet, e),
            Ok((status, body)) => {
                self.stats.record(Kind::ExportGet, started, body.len() as u64);
                if status != reqwest::StatusCode::OK {
                    return self
                        .stats
                        .error(Kind::ExportGet, format!("{file}: {}", show(status, &body)));
                }
                if sha256_hex(&body) != want {
                    return self.stats.error(
                        Kind::ExportGet,
                        format!("{file}: sha256 {} but the job says {want:?}", sha256_hex(&body)),
                    );
                }
            }
        }
        if key.ends_with(".parquet") {
            // What a Parquet reader does first: the last 8 bytes (footer length + "PAR1").
            let req = lake.get(&self.http, bucket, key, &[], true).header("range", "bytes=-8");
            let started = Instant::now();
            match send(req).await {
                Err(e) => self.stats.error(Kind::ExportRange, e),
                Ok((status, body)) => {
                    self.stats.record(Kind::ExportRange, started, body.len() as u64);
                    if status != reqwest::StatusCode::PARTIAL_CONTENT || body.len() != 8 || &body[4..] != b"PAR1" {
                        self.stats
                            .error(Kind::ExportRange, format!("{file} bytes=-8: {}", show(status, &body)));
                    }
                }
            }
        }
        let manifests = job["manifests"].as_array().cloned().unwrap_or_default();
        if manifests.is_empty() {
            return self
                .stats
                .error(Kind::JobGet, format!("{id}: COMPLETED without manifests"));
        }
        let m = manifests[self.n % manifests.len()]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some((bucket, key)) = s3_url(&m) else {
            return self
                .stats
                .error(Kind::JobGet, format!("{id}: manifest {m:?} is not s3://bucket/key"));
        };
        let started = Instant::now();
        match send(lake.get(&self.http, bucket, key, &[], self.n % 2 == 1)).await {
            Err(e) => self.stats.error(Kind::ManifestGet, e),
            Ok((status, body)) => {
                self.stats.record(Kind::ManifestGet, started, body.len() as u64);
                if status != reqwest::StatusCode::OK {
                    return self
                        .stats
                        .error(Kind::ManifestGet, format!("{m}: {}", show(status, &body)));
                }
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let ok = v["job_id"].as_str() == Some(id.as_str())
                    && v["files"].as_array().is_some_and(|fs| {
                        fs.iter().all(|f| {
                            let url = format!("s3://{bucket}/{}", f["key"].as_str().unwrap_or_default());
                            job["checksums"][&url].as_str().map(|c| c.trim_start_matches("sha256:"))
                                == f["sha256"].as_str().map(|c| c.trim_start_matches("sha256:"))
                        })
                    });
                if !ok {
                    self.stats.error(
                        Kind::ManifestGet,
                        format!("{m}: does not match job {id}: {}", show(status, &body)),
                    );
                }
            }
        }
    }

    /// The mix: of every ten steps, three SEA GETs, three data-lake GETs, one listing walk of
    /// each, and two polls of the Data Download jobs.
    async fn step(&mut self) {
        let (sea, lake) = (self.sea.clone(), self.lake.clone());
        match (self.n + self.id) % 10 {
            0 | 3 | 7 => self.object_get(Kind::SeaGet, &sea).await,
            1 | 4 | 6 => self.object_get(Kind::LakeGet, &lake).await,
            5 => self.list_walk(Kind::SeaList, &sea, 100).await,
            8 => self.list_walk(Kind::LakeList, &lake, 25).await,
            _ => self.poll().await,
        }
        self.n += 1;
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

async fn client_task(mut c: Client, stop: Arc<AtomicBool>) -> Stats {
    while !stop.load(Ordering::Relaxed) {
        c.step().await;
    }
    c.stats
}

/// The control client: advances the mock clock by `by` every `every` seconds (each advance
/// answers once the exports, lifecycle runs and expiry it made due have run).
async fn control_task(
    api: String,
    by: String,
    every: f64,
    stop: Arc<AtomicBool>,
    last_now: Arc<Mutex<String>>,
) -> Stats {
    let http = http_client();
    let mut stats = Stats::default();
    while !stop.load(Ordering::Relaxed) {
        // Short naps, so the run ends on time rather than after the current wait.
        let wake = Instant::now() + Duration::from_secs_f64(every);
        while Instant::now() < wake && !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let req = http
            .post(format!("{api}/_mock/clock/advance"))
            .json_body(&json!({ "by": by }));
        let started = Instant::now();
        match send(req).await {
            Err(e) => stats.error(Kind::ClockAdvance, e),
            Ok((status, body)) => {
                stats.record(Kind::ClockAdvance, started, 0);
                if status != reqwest::StatusCode::OK {
                    stats.error(Kind::ClockAdvance, show(status, &body));
                } else if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    if let Some(now) = v["now"].as_str() {
                        *last_now.lock().expect("not poisoned") = now.to_string();
                    }
                }
            }
        }
    }
    stats
}

/// `json` needs reqwest's `json` feature, which the workspace does not build: a JSON body by hand.
trait JsonBody {
    fn json_body(self, v: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, v: &Value) -> Self {
        self.header("content-type", "application/json").body(v.to_string())
    }
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
        Ok(a) => a,
        Err(e) => {
            eprintln!("mixload: {e}");
            std::process::exit(2);
        }
    };
    let text = std::fs::read_to_string(&a.world).expect("the world file");
    let world: Arc<World> = Arc::new(serde_json::from_str(&text).expect("a world file as bench/load.py writes it"));
    let sea = Arc::new(S3::new(&world, &world.sea));
    let lake = Arc::new(S3::new(&world, &world.lake));
    let stop = Arc::new(AtomicBool::new(false));
    let last_now = Arc::new(Mutex::new(String::new()));
    let started = Instant::now();
    let control = tokio::spawn(control_task(
        world.api.clone(),
        a.advance_by.clone(),
        a.advance_every,
        stop.clone(),
        last_now.clone(),
    ));
    let handles: Vec<_> = (0..a.clients)
        .map(|id| {
            let c = Client {
                id,
                http: http_client(),
                world: world.clone(),
                sea: sea.clone(),
                lake: lake.clone(),
                token: None,
                seen: HashMap::new(),
                stats: Stats::default(),
                n: 0,
            };
            tokio::spawn(client_task(c, stop.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(a.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Stats> = Vec::new();
    for h in handles {
        all.push(h.await.expect("a client task"));
    }
    let secs = started.elapsed().as_secs_f64();
    all.push(control.await.expect("the control task"));
    let mut kinds = BTreeMap::new();
    let (mut requests, mut errors, mut expected_401) = (0u64, 0u64, 0u64);
    let mut samples: Vec<String> = Vec::new();
    for s in &mut all {
        expected_401 += s.expected_401;
        samples.append(&mut s.errors);
    }
    for k in Kind::ALL {
        let mut t = Tally::default();
        for s in &mut all {
            if let Some(x) = s.kinds.remove(&k) {
                t.requests += x.requests;
                t.errors += x.errors;
                t.bytes += x.bytes;
                t.latencies_us.extend(x.latencies_us);
            }
        }
        t.latencies_us.sort_unstable();
        requests += t.requests;
        errors += t.errors;
        kinds.insert(
            k.name(),
            json!({
                "requests": t.requests, "errors": t.errors, "req_per_s": t.requests as f64 / secs,
                "mb": t.bytes as f64 / 1e6,
                "p50_ms": percentile(&t.latencies_us, 0.5), "p99_ms": percentile(&t.latencies_us, 0.99),
                "max_ms": t.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            }),
        );
    }
    samples.truncate(20);
    let clock_end = last_now.lock().expect("not poisoned").clone();
    let out = json!({
        "clients": a.clients, "seconds": secs, "advance_every_s": a.advance_every, "advance_by": a.advance_by,
        "requests": requests, "errors": errors, "req_per_s": requests as f64 / secs,
        "expected_401": expected_401, "clock_end": clock_end,
        "kinds": kinds, "first_errors": samples,
    });
    println!("{out}");
}
