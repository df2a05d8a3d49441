//! Scenario files (docs/scenario-format.md, CONTRACT §1 `--scenario`, §5 `POST /_mock/scenarios`):
//! every file of the library in `scenarios/` checks and runs to its end; bad files are refused
//! with `line:col` and change nothing; `POST /_mock/scenarios` and `serve --scenario` load them;
//! the same file and seed give byte-identical `scenario run` output.
//!
//! Everything runs in-process through `mock_cxone::scenario` (the functions the binary calls);
//! the binary itself — `scenario check`/`run` output and exit codes, `serve --scenario` — is
//! exercised by `python/test_scenarios.py`, which `make test` runs after `make build`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clients_tests::{frozen, start_with, Mock};
use mock_cxone::faults::rules::KINDS;
use mock_cxone::scenario::run::{self, RunError, RunOptions, RunReport};
use mock_cxone::scenario::{self, ApplyError};
use mock_cxone::MockCxone;
use reqwest::Method;
use serde_json::Value;

/// The one library file that needs 100,500 recordings (the daily cap is 100,000): its own test.
const HEAVY: &str = "sea-backlog-daily-cap.toml";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn library() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 21, "the library has {} files", files.len());
    files
}

fn file_name(p: &Path) -> String {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string()
}

fn parse_file(path: &Path) -> (String, scenario::Scenario) {
    let text = std::fs::read_to_string(path).expect("read scenario");
    let sc = scenario::parse(&text).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
    (text, sc)
}

fn run_to(path: &Path, out: &Path) -> RunReport {
    let (_, sc) = parse_file(path);
    let opts = RunOptions {
        out: out.to_path_buf(),
        seed: 42,
        force: false,
        progress: false,
    };
    run::run(&sc, &opts).unwrap_or_else(|e| panic!("{}: run failed: {e}", path.display()))
}

/// `line:col: message` of a refused scenario text, checked as `scenario check` does.
fn refusal(text: &str) -> String {
    let sc = match scenario::parse(text) {
        Ok(sc) => sc,
        Err(e) => return e.to_string(),
    };
    match run::check(&sc, 42) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(RunError::Scenario(a)) => a.located().map(ToString::to_string).unwrap_or_else(|| a.to_string()),
        Err(other) => panic!("not a located error: {other}"),
    }
}

fn ledger(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("_events.jsonl"))
        .expect("_events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("event line is JSON"))
        .collect()
}

#[test]
fn scenarios_library_every_file_checks_and_runs_to_its_end() {
    let files: Vec<PathBuf> = library().into_iter().filter(|p| file_name(p) != HEAVY).collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    // Three workers: the files are independent (each has its own offline mock).
    let chunks: Vec<Vec<PathBuf>> = (0..3)
        .map(|i| files.iter().skip(i).step_by(3).cloned().collect())
        .collect();
    std::thread::scope(|s| {
        for chunk in &chunks {
            let tmp = tmp.path();
            s.spawn(move || {
                for path in chunk {
                    let name = file_name(path);
                    let (text, sc) = parse_file(path);
                    assert!(
                        text.starts_with("# "),
                        "{name} must open with a comment block (what it shows, what a pipeline must do)"
                    );
                    assert!(
                        text.contains("What it shows") && text.contains("What a correct pipeline must do"),
                        "{name}: the comment block says what it shows and what a correct pipeline must do"
                    );
                    assert_eq!(format!("{}.toml", sc.name), name, "scenario.name matches the file name");
                    run::check(&sc, 42).unwrap_or_else(|e| panic!("{name}: check: {e}"));
                    let started = Instant::now();
                    let out = tmp.join(&name);
                    let report = run_to(path, &out);
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "{name} took {:?}",
                        started.elapsed()
                    );
                    let events = ledger(&out);
                    assert_eq!(events.len(), report.events);
                    assert!(events.iter().any(|e| e["kind"] == "scenario.loaded"), "{name}: loaded");
                    let summary: Value = serde_json::from_str(
                        &std::fs::read_to_string(out.join("_scenario.json")).expect("_scenario.json"),
                    )
                    .expect("json");
                    assert_eq!(summary["scenario"], sc.name.as_str());
                    assert_eq!(summary["now"], summary["end"], "{name} ran to its end");
                    assert_eq!(
                        summary["timeline"].as_array().map_or(0, Vec::len),
                        sc.timeline.len(),
                        "{name}: every timeline entry was performed"
                    );
                    if !sc.downloads.is_empty() {
                        assert!(report.objects > 0, "{name} exported files");
                        assert!(events.iter().any(|e| e["kind"] == "job.completed"), "{name}: jobs ran");
                    }
                    for f in &sc.faults {
                        assert!(
                            summary["faults"]
                                .as_array()
                                .is_some_and(|a| a.iter().any(|x| x["kind"] == f.kind.as_str())),
                            "{name}: fault {} added",
                            f.kind
                        );
                    }
                }
            });
        }
    });
}

#[test]
fn scenarios_sea_s7_backlog_daily_cap_file_places_100000_then_the_rest() {
    let path = repo().join("scenarios").join(HEAVY);
    let (_, sc) = parse_file(&path);
    run::check(&sc, 42).expect("check");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let report = run_to(&path, &out);
    assert_eq!(report.sea_objects, 100_500, "everything is in SEA after two days");
    let backlog: Vec<Value> = ledger(&out)
        .into_iter()
        .filter(|e| e["kind"] == "lifecycle.sea_backlog")
        .collect();
    assert_eq!(backlog[0]["at"], "2026-01-06T00:00:00Z");
    assert_eq!(backlog[0]["detail"]["backlog"], 500);
    assert_eq!(backlog[0]["detail"]["placed_today"], 100_000);
}

#[test]
fn scenarios_library_has_one_file_per_fault_kind_and_bad_day_has_them_all() {
    let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in library() {
        let name = file_name(&path);
        let (_, sc) = parse_file(&path);
        if name.starts_with('f') || name.starts_with("d8-") {
            for f in &sc.faults {
                by_kind.entry(f.kind.clone()).or_default().push(name.clone());
            }
        }
        if name == "bad-day.toml" {
            let mut kinds: Vec<&str> = sc.faults.iter().map(|f| f.kind.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            let mut all = KINDS.to_vec();
            all.sort_unstable();
            assert_eq!(kinds, all, "bad-day has every kind");
        }
    }
    for kind in KINDS {
        let files = by_kind.get(kind).cloned().unwrap_or_default();
        assert_eq!(files.len(), 1, "exactly one single-fault file for {kind}: {files:?}");
        assert!(
            files[0].contains(&kind.replace('_', "-")),
            "{kind} is in {} (named after it)",
            files[0]
        );
    }
}

#[test]
fn scenarios_bad_files_are_refused_with_line_and_column() {
    let head = "[scenario]\nname = \"x\"\nstart = \"2026-01-05T00:00:00Z\"\n";
    let cases: Vec<(String, &str, &str)> = vec![
        ("[scenario]\nname = \"x\n".into(), "2:10", "invalid basic string"),
        (format!("{head}bogus = 1\n"), "4:1", "unknown field `bogus`"),
        (
            format!("{head}[[downloads]]\ncategory = \"ivr\"\ndestination = {{ type = \"aws_s3\", bucket = \"b-1\", prefx = \"a/\" }}\n"),
            "6:",
            "unknown field `prefx`",
        ),
        (
            format!("{head}\n[[faults]]\nkind = \"duplicate_manifesto\"\n"),
            "6:8",
            "unknown fault kind \"duplicate_manifesto\"",
        ),
        (
            format!("{head}[[downloads]]\ncategory = \"telefony\"\ndestination = {{ type = \"aws_s3\", bucket = \"b-1\" }}\n"),
            "5:12",
            "unknown category \"telefony\"",
        ),
        (
            format!("{head}run_for = \"1d\"\n[[timeline]]\nat = \"2026-01-04T23:00:00Z\"\naction = \"advance\"\n"),
            "6:6",
            "is before the scenario's start",
        ),
        (
            format!("{head}run_for = \"1d\"\n[[timeline]]\nat = \"+2d\"\naction = \"advance\"\n"),
            "6:6",
            "after the scenario's end",
        ),
        (format!("{head}end = \"2026-01-04T00:00:00Z\"\n"), "4:7", "end (2026-01-04T00:00:00Z) is before start"),
        (format!("{head}run_for = \"2 days\"\n"), "4:11", "run_for: duration \"2 days\""),
        (format!("{head}run_for = \"12\"\n"), "4:11", "run_for: duration \"12\""),
        (
            format!("{head}[[recordings]]\ntenant = \"acme\"\ncount = 3\n"),
            "5:10",
            "no tenant \"acme\"",
        ),
        (
            format!("{head}[[recordings]]\ncount = 3\nend = \"+1h\"\n"),
            "6:7",
            "recordings cannot come from the future",
        ),
        (
            format!("{head}[[faults]]\nkind = \"job_failed\"\nfrom = \"+2h\"\nuntil = \"+1h\"\n"),
            "7:9",
            "from must be before until",
        ),
        (
            format!("{head}[[faults]]\nkind = \"schema_drift\"\nparams = {{ add_columns = [{{ name = \"x\", type = \"string\" }}] }}\n"),
            "6:10",
            "params.at is required",
        ),
        (
            format!("{head}[[timeline]]\nat = \"+1h\"\naction = \"rotate_everything\"\n"),
            "6:10",
            "unknown timeline action \"rotate_everything\"",
        ),
        (
            format!("{head}[[timeline]]\nat = \"+1h\"\naction = \"advance\"\ntenant = \"demo\"\n"),
            "7:10",
            "action \"advance\" does not take `tenant`",
        ),
        (
            format!("{head}[[timeline]]\nat = \"12h\"\naction = \"advance\"\n"),
            "5:6",
            "write \"+12h\"",
        ),
        (
            format!("{head}[[tenants]]\nname = \"demo\"\n"),
            "5:8",
            "every mock has a tenant named \"demo\"",
        ),
        (
            format!("{head}[[faults]]\nkind = \"job_failed\"\ndownload = \"nope\"\n"),
            "6:12",
            "no download named \"nope\"",
        ),
    ];
    for (text, pos, message) in cases {
        let got = refusal(&text);
        assert!(
            got.starts_with(pos) && got.contains(message),
            "expected {pos}: ...{message}...\n got {got}\n for\n{text}"
        );
    }
}

#[test]
fn scenarios_run_is_deterministic_byte_for_byte() {
    fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read_dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(dir).expect("rel").to_string_lossy().into_owned();
                    out.insert(rel, std::fs::read(&p).expect("read"));
                }
            }
        }
        out
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    for name in ["bad-day.toml", "credential-regeneration.toml"] {
        let path = repo().join("scenarios").join(name);
        let (a, b) = (
            tmp.path().join(format!("a-{name}")),
            tmp.path().join(format!("b-{name}")),
        );
        run_to(&path, &a);
        run_to(&path, &b);
        let (ta, tb) = (tree(&a), tree(&b));
        assert!(ta.len() > 3, "{name} wrote files");
        assert_eq!(
            ta.keys().collect::<Vec<_>>(),
            tb.keys().collect::<Vec<_>>(),
            "{name}: same files"
        );
        for (k, v) in &ta {
            assert!(v == &tb[k], "{name}: {k} differs between two runs");
        }
    }
    // Random key ids never reach the output: they are named in order of appearance.
    let events =
        std::fs::read_to_string(tmp.path().join("a-credential-regeneration.toml/_events.jsonl")).expect("ledger");
    assert!(events.contains("\"<key-1>\"") && events.contains("\"replaced_access_key_id\":\"<key-1>\""));
}

#[test]
fn scenarios_run_refuses_a_non_empty_out_dir_unless_forced_over_a_previous_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = repo().join("scenarios").join("f3-duplicate-manifest.toml");
    let (_, sc) = parse_file(&path);
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("keep.txt"), b"mine").expect("write");
    for force in [false, true] {
        let opts = RunOptions {
            out: other.clone(),
            seed: 42,
            force,
            progress: false,
        };
        assert!(matches!(run::run(&sc, &opts), Err(RunError::Out(_))));
    }
    assert!(other.join("keep.txt").is_file(), "nothing of the user's was deleted");
    let out = tmp.path().join("out");
    run_to(&path, &out);
    let again = RunOptions {
        out: out.clone(),
        seed: 42,
        force: true,
        progress: false,
    };
    run::run(&sc, &again).expect("--force replaces a previous run");
}

// ---------------------------------------------------------------------------------------------
// POST /_mock/scenarios
// ---------------------------------------------------------------------------------------------

const START: &str = "2026-01-05T00:00:00Z";

const POSTED: &str = r#"# a small scenario for the API tests
[scenario]
name = "posted"
seed = 42
start = "2026-01-05T00:00:00Z"

[[tenants]]
name = "acme"

[[recordings]]
tenant = "acme"
count = 12

[[lifecycle_rules]]
tenant = "acme"
name = "to SEA"
after_days = 0
action = "copy_to_sea"

[[downloads]]
tenant = "acme"
name = "tel"
category = "telephony"
data_types = ["cdr"]
destination = { type = "aws_s3", bucket = "acme-lake", prefix = "tel/" }

[[faults]]
kind = "duplicate_manifest"
download = "tel"

[[timeline]]
at = "+2h"
action = "regenerate_sea_credentials"
tenant = "acme"
"#;

async fn post_toml(m: &Mock, content_type: &str, body: &str) -> (u16, Value) {
    let r = m
        .http
        .post(m.url("/_mock/scenarios"))
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .expect("post scenario");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_json(m: &Mock, path: &str) -> Value {
    m.http
        .get(m.url(path))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

async fn start_at(t: &str) -> Mock {
    start_with(MockCxone::builder().clock(frozen(t))).await
}

#[tokio::test]
async fn scenarios_post_loads_a_scenario_and_answers_its_summary() {
    let m = start_at(START).await;
    let (status, v) = post_toml(&m, "application/toml", POSTED).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["scenario"], "posted");
    assert_eq!(v["start"], START);
    assert_eq!(v["now"], "2026-01-05T02:00:00Z", "the timeline was played");
    assert_eq!(get_json(&m, "/_mock/clock").await["now"], "2026-01-05T02:00:00Z");
    let acme = &v["tenants"][0];
    assert_eq!(acme["name"], "acme");
    assert_eq!(v["recordings"][0]["created"], 12);
    let dl = v["downloads"][0]["id"].as_str().expect("download id").to_string();
    assert!(dl.starts_with("dl-"));
    let fault = &v["faults"][0];
    assert_eq!(fault["kind"], "duplicate_manifest");
    assert_eq!(fault["download_id"], dl.as_str());
    let faults = get_json(&m, "/_mock/faults").await;
    assert!(faults["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .any(|f| f["id"] == fault["id"]));
    assert_eq!(v["timeline"][0]["action"], "regenerate_sea_credentials");
    assert!(
        v["timeline"][0]["detail"]["secret_access_key"].is_string(),
        "new credentials are in the summary"
    );

    // The tenant's credentials work, and its download is there.
    let creds = clients_tests::TenantCreds {
        tenant_id: acme["tenant_id"].as_str().expect("id").into(),
        client_id: acme["client_id"].as_str().expect("client").into(),
        client_secret: acme["client_secret"].as_str().expect("secret").into(),
        access_key_id: acme["access_key_id"].as_str().expect("key").into(),
        access_key_secret: acme["access_key_secret"].as_str().expect("secret").into(),
    };
    let token = m.token(&creds).await;
    let r = m
        .api(Method::GET, &format!("/api/v2/data-downloads/{dl}"), &token)
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), 200);
    // Jobs of the hours the timeline crossed: 00:00 (done by 01:25), 01:00 (created at 02:00).
    let jobs = m.jobs(&token, &dl, "").await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let events = get_json(&m, "/_mock/events?kind=scenario").await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["scenario.loaded", "scenario.timeline"]);

    // The clock is past `start` now (it never goes back) ...
    let (status, v) = post_toml(&m, "text/plain", POSTED).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["line"], 5);
    let message = v["error"]["message"].as_str().expect("msg");
    assert!(message.contains("past this scenario's start"), "{message}");
    // ... and it applies on top: without `start` the same file collides with the tenant it made.
    let relative = POSTED.replace("start = \"2026-01-05T00:00:00Z\"\n", "");
    let (status, v) = post_toml(&m, "text/plain", &relative).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(
        (v["error"]["line"].as_u64(), v["error"]["column"].as_u64()),
        (Some(7), Some(8))
    );
    let message = v["error"]["message"].as_str().expect("msg");
    assert!(message.contains("exists in this mock already"), "{message}");
}

#[tokio::test]
async fn scenarios_post_refuses_bad_files_with_line_and_column_and_changes_nothing() {
    let m = start_at(START).await;
    let before = get_json(&m, "/_mock/events?limit=100000").await["events"]
        .as_array()
        .map_or(0, Vec::len);
    // Everything valid but the last fault: nothing of it may be applied.
    let bad = format!("{POSTED}\n[[faults]]\nkind = \"record_count_mismatch\"\nparams = {{ percent = 0 }}\n");
    let (status, v) = post_toml(&m, "application/toml", &bad).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], "bad_request");
    let line = POSTED.lines().count() as u64 + 4;
    assert_eq!(
        (v["error"]["line"].as_u64(), v["error"]["column"].as_u64()),
        (Some(line), Some(10)),
        "{v}"
    );
    let message = v["error"]["message"].as_str().expect("msg");
    assert!(message.starts_with(&format!("{line}:10: params.percent")), "{message}");
    let after = get_json(&m, "/_mock/events?limit=100000").await["events"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(before, after, "no event: nothing happened");
    let tenants = get_json(&m, "/_mock/tenants").await;
    assert_eq!(tenants["tenants"].as_array().map_or(0, Vec::len), 1, "only demo");
    assert_eq!(get_json(&m, "/_mock/clock").await["now"], START);

    let (status, v) = post_toml(
        &m,
        "application/toml",
        "[scenario]\nname = \"x\"\n[[tenants]]\nnam = \"y\"\n",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["line"], 4);
    assert_eq!(v["error"]["column"], 1);

    let (status, v) = post_toml(&m, "application/json", "{}").await;
    assert_eq!(status, 415, "{v}");

    // The clock never goes back, and the seed is the mock's.
    m.advance("1d").await;
    let (status, v) = post_toml(&m, "application/toml", POSTED).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(
        (v["error"]["line"].as_u64(), v["error"]["column"].as_u64()),
        (Some(5), Some(9))
    );
    let other_seed = POSTED
        .replace("seed = 42", "seed = 7")
        .replace("start = \"2026-01-05T00:00:00Z\"\n", "");
    let (status, v) = post_toml(&m, "application/toml", &other_seed).await;
    assert_eq!(status, 409, "{v}");
    assert!(v["error"]["message"].as_str().expect("msg").contains("--seed 7"));

    // Without `start`, a scenario begins at the mock's now: offsets count from there.
    let relative = POSTED.replace("start = \"2026-01-05T00:00:00Z\"\n", "");
    let (status, v) = post_toml(&m, "application/toml", &relative).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["start"], "2026-01-06T00:00:00Z");
    assert_eq!(v["now"], "2026-01-06T02:00:00Z");
}

#[tokio::test]
async fn scenarios_post_after_reset_starts_clean() {
    let m = start_at(START).await;
    // The whole file, timeline credentials included: a reset empties tenants and credentials.
    let posted = POSTED;
    let (status, _) = post_toml(&m, "application/toml", posted).await;
    assert_eq!(status, 201);
    m.control("/_mock/reset", serde_json::json!({})).await;
    assert_eq!(
        get_json(&m, "/_mock/clock").await["now"],
        START,
        "reset returns to the start-up clock"
    );
    let (status, v) = post_toml(&m, "application/toml", posted).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        get_json(&m, "/_mock/tenants").await["tenants"]
            .as_array()
            .map_or(0, Vec::len),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// serve --scenario and scenario check, in-process (the binary itself: python/test_scenarios.py)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn scenarios_serve_with_scenario_takes_its_seed_and_clock_and_loads_once() {
    use mock_cxone::clock::ClockSpec;
    use mock_cxone::scenario::serve::{load_at_start, start_config, AtStart};

    let sc = scenario::parse(POSTED).expect("parse");
    let start = mock_cxone::store::time::parse_rfc3339(START).expect("instant");
    assert_eq!(start_config(Some(&sc), 7, None), (42, ClockSpec::Frozen(Some(start))));
    assert_eq!(start_config(Some(&sc), 7, Some(ClockSpec::Real)), (42, ClockSpec::Real));
    assert_eq!(start_config(None, 7, None), (7, ClockSpec::Real));

    let tmp = tempfile::tempdir().expect("tempdir");
    let (seed, clock) = start_config(Some(&sc), 7, None);
    let builder = || {
        MockCxone::builder()
            .data_dir(tmp.path())
            .seed(seed)
            .clock(clock.clone())
    };
    let m = start_with(builder()).await;
    match load_at_start(&m.handle.app_state(), sc.clone()).await.expect("load") {
        AtStart::Loaded(summary) => assert_eq!(summary.tenants[0].name, "acme"),
        other => panic!("expected a load, got {other:?}"),
    }
    let health = m.http.get(m.url("/_mock/health")).send().await.expect("health");
    assert_eq!(health.status(), 200, "ready again once loaded");
    let clock = get_json(&m, "/_mock/clock").await;
    assert_eq!(
        (clock["mode"].as_str(), clock["now"].as_str()),
        (Some("frozen"), Some("2026-01-05T02:00:00Z"))
    );
    let names: Vec<String> = get_json(&m, "/_mock/tenants").await["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names, ["demo", "acme"]);
    m.handle.stop().await;

    // A restart on the same data dir keeps its state: the scenario is not loaded twice.
    let m = start_with(builder()).await;
    match load_at_start(&m.handle.app_state(), sc).await.expect("load") {
        AtStart::Kept { held } => assert_eq!(held.as_deref(), Some("posted")),
        other => panic!("expected the stored state to win, got {other:?}"),
    }
    let loaded = get_json(&m, "/_mock/events?kind=scenario.loaded").await;
    assert_eq!(loaded["events"].as_array().map_or(0, Vec::len), 1);
}

#[test]
fn scenarios_check_summary_line_names_what_the_file_does() {
    let (_, sc) = parse_file(&repo().join("scenarios").join("f5-job-failed.toml"));
    let plan = run::check(&sc, 42).expect("check");
    assert_eq!(
        scenario::summary::outline(&sc, &plan),
        "f5-job-failed — 0 tenants, 0 recordings, 0 lifecycle rules, 1 download, 1 fault, 1 timeline entry; \
         start 2026-01-05T00:00:00Z, runs 1d to 2026-01-06T00:00:00Z"
    );
}

#[test]
fn scenarios_load_in_process_matches_the_api_errors() {
    // The library entry point used by serve and the API refuses what they refuse.
    let sc = scenario::parse("[scenario]\nname = \"x\"\nseed = 9\n").expect("parse");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let m = start_at(START).await;
        let app = m.handle.app_state();
        let r = tokio::task::spawn_blocking(move || scenario::load(&app, &sc))
            .await
            .expect("join");
        match r {
            Err(ApplyError::Conflict(e)) => assert_eq!(e.pos.line, 3),
            other => panic!("expected a seed conflict, got {other:?}"),
        }
    });
}
