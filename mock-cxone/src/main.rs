//! `mock-cxone`: serve · scenario check · scenario run · version.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mock_cxone::scenario::serve::{AtStart, AtStartError};
use mock_cxone::scenario::{self, run::RunError, Scenario};
use mock_cxone::{ClockSpec, Config};

#[derive(Debug, Parser)]
#[command(
    name = "mock-cxone",
    version,
    about = "A local stand-in for NICE CXone's SEA S3 endpoint and Data Download API",
    after_help = "Examples:
  mock-cxone serve                                   REST on :8080, S3 on :9000, a demo tenant
  mock-cxone serve --scenario scenarios/bad-day.toml a scenario's tenants, downloads and faults
  mock-cxone scenario check scenarios/*.toml         validate scenario files
  mock-cxone scenario run scenarios/happy-hourly.toml --out out/happy

Each command has its own --help. Docs: README.md, docs/ci.md (CI recipes), docs/observability.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the REST and S3 listeners (prints the endpoints and demo credentials, then serves
    /// until Ctrl-C or SIGTERM).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(Box<ServeArgs>),
    /// Check or run a scenario file (docs/scenario-format.md).
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
enum ScenarioCommand {
    /// Check scenario files: "ok: <summary>" and exit 0, or "FILE:line:col: message" and exit 1.
    #[command(after_help = "Examples:
  mock-cxone scenario check scenarios/*.toml
  mock-cxone scenario check --seed 7 my-scenario.toml")]
    Check {
        /// Scenario files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Seed when a file has none.
        #[arg(long, env = "MOCK_CXONE_SEED", default_value_t = 42)]
        seed: u64,
    },
    /// Run a scenario offline (no listener) to its end and write the data lake, the event ledger
    /// and the SEA listing to a directory; one progress line per simulated day on stderr.
    #[command(after_help = "Examples:
  mock-cxone scenario run scenarios/happy-hourly.toml --out out/happy
  mock-cxone scenario run scenarios/bad-day.toml --out out/bad --force --quiet

Same file, same seed: byte-identical output (determinism).")]
    Run {
        /// Scenario file (TOML).
        file: PathBuf,
        /// Output directory: `<bucket>/<key>`, `_events.jsonl`, `_sea.jsonl`, `_scenario.json`.
        #[arg(long)]
        out: PathBuf,
        /// Seed when the file has none.
        #[arg(long, env = "MOCK_CXONE_SEED", default_value_t = 42)]
        seed: u64,
        /// Replace a previous run's output in --out.
        #[arg(long)]
        force: bool,
        /// No progress lines.
        #[arg(long, short)]
        quiet: bool,
    },
}

const SERVE_EXAMPLES: &str = "Examples:
  mock-cxone serve
  mock-cxone serve --api-addr 127.0.0.1:0 --s3-addr 127.0.0.1:0 --data-dir /tmp/mock --clock frozen:2026-01-01T00:00:00Z
  mock-cxone serve --scenario scenarios/f5-job-failed.toml --log-format json
  MOCK_CXONE_API_ADDR=0.0.0.0:8080 MOCK_CXONE_ADMIN_TOKEN=secret mock-cxone serve

The banner on stdout gives the REST and S3 URLs and the demo tenant's credentials; GET /_mock/health
answers 200 once both listeners serve. Dashboard: GET /. Metrics: GET /metrics.";

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// REST API listener (CXone API, control API). Port 0 picks a free port.
    #[arg(long, env = "MOCK_CXONE_API_ADDR", default_value = "127.0.0.1:8080")]
    api_addr: SocketAddr,
    /// S3 listener (SEA and customer buckets). Port 0 picks a free port.
    #[arg(long, env = "MOCK_CXONE_S3_ADDR", default_value = "127.0.0.1:9000")]
    s3_addr: SocketAddr,
    /// All state; survives restarts.
    #[arg(long, env = "MOCK_CXONE_DATA_DIR", default_value = "./mock-cxone-data")]
    data_dir: PathBuf,
    /// Random seed: same seed, same data, byte for byte (a scenario's `seed` wins).
    #[arg(long, env = "MOCK_CXONE_SEED", default_value_t = 42)]
    seed: u64,
    /// Scenario to load at start (TOML, docs/scenario-format.md); loaded into an empty data dir
    /// only. Without --clock the clock starts frozen at the scenario's `start`.
    #[arg(long, env = "MOCK_CXONE_SCENARIO")]
    scenario: Option<PathBuf>,
    /// real | frozen[:RFC3339] | offset:RFC3339 (default real; a non-empty data dir resumes its
    /// stored clock).
    #[arg(long, env = "MOCK_CXONE_CLOCK")]
    clock: Option<ClockSpec>,
    /// PEM certificate chain: TLS on both listeners (with --tls-key).
    #[arg(long, env = "MOCK_CXONE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "MOCK_CXONE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Token the control API requires when the API listens beyond loopback.
    #[arg(long, env = "MOCK_CXONE_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Host name to put in URLs instead of the bind address (e.g. localhost for TLS).
    #[arg(long, env = "MOCK_CXONE_PUBLIC_HOST")]
    public_host: Option<String>,
    /// Log lines on stderr: `text`, or `json` (one JSON object per line). Which lines:
    /// MOCK_CXONE_LOG, else RUST_LOG (default `info`: one line per request, target
    /// `mock_cxone::request`; docs/observability.md).
    #[arg(long, env = "MOCK_CXONE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line, its fields at the top level.
    Json,
}

/// Lines logged when neither MOCK_CXONE_LOG nor RUST_LOG says: s3s logs every 4xx at ERROR,
/// which are the clients' business (each request's own line shows its status).
const DEFAULT_LOG: &str = "info,s3s=off,s3s_fs=warn";

fn init_logging(format: LogFormat) {
    let filter = ["MOCK_CXONE_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| {
            let value = std::env::var(var).ok()?;
            match tracing_subscriber::EnvFilter::try_new(&value) {
                Ok(f) => Some(f),
                Err(e) => {
                    eprintln!("mock-cxone: ignoring {var}={value:?}: {e}");
                    None
                }
            }
        })
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    // Colours only on a terminal: a log file or CI console gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => fmt.init(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("mock-cxone {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Serve(args) => serve(*args),
        Command::Scenario(ScenarioCommand::Check { files, seed }) => scenario_check(&files, seed),
        Command::Scenario(ScenarioCommand::Run {
            file,
            out,
            seed,
            force,
            quiet,
        }) => scenario_run(&file, out, seed, force, quiet),
    }
}

/// Reads and parses a scenario file; on failure prints `FILE:line:col: message` (or
/// `FILE: message`) to stderr.
fn read_scenario(path: &Path) -> Option<(String, Scenario)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", path.display());
            return None;
        }
    };
    match scenario::parse(&text) {
        Ok(sc) => Some((text, sc)),
        Err(e) => {
            eprintln!("{}:{e}", path.display());
            None
        }
    }
}

fn report_run_error(path: &Path, e: &RunError) {
    match e {
        RunError::Scenario(a) => match a.located() {
            Some(l) => eprintln!("{}:{l}", path.display()),
            None => eprintln!("{}: {a}", path.display()),
        },
        other => eprintln!("{}: {other}", path.display()),
    }
}

fn scenario_check(files: &[PathBuf], seed: u64) -> ExitCode {
    let mut ok = true;
    for path in files {
        let Some((_, sc)) = read_scenario(path) else {
            ok = false;
            continue;
        };
        match scenario::run::check(&sc, seed) {
            Ok(plan) => println!("ok: {}", scenario::summary::outline(&sc, &plan)),
            Err(e) => {
                report_run_error(path, &e);
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn scenario_run(path: &Path, out: PathBuf, seed: u64, force: bool, quiet: bool) -> ExitCode {
    let Some((_, sc)) = read_scenario(path) else {
        return ExitCode::FAILURE;
    };
    let opts = scenario::run::RunOptions {
        out,
        seed,
        force,
        progress: !quiet,
    };
    match scenario::run::run(&sc, &opts) {
        Ok(r) => {
            println!(
                "ok: {} — wrote {} objects ({} bytes) from {} bucket(s), {} events, {} SEA objects to {}",
                sc.name,
                r.objects,
                r.bytes,
                r.buckets.len(),
                r.events,
                r.sea_objects,
                opts.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_run_error(path, &e);
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging(args.log_format);
    let scenario = match &args.scenario {
        None => None,
        Some(path) => match read_scenario(path) {
            Some((_, sc)) => Some((path.clone(), sc)),
            None => return ExitCode::from(2),
        },
    };
    // A scenario's seed wins over --seed; without --clock its clock starts frozen at `start`.
    let (seed, clock) = scenario::serve::start_config(scenario.as_ref().map(|(_, sc)| sc), args.seed, args.clock);
    let loopback = args.api_addr.ip().is_loopback();
    let admin_token = args
        .admin_token
        .or_else(|| (!loopback).then(|| mock_cxone::ids::secret(32)));
    let config = Config {
        api_addr: args.api_addr,
        s3_addr: args.s3_addr,
        data_dir: args.data_dir,
        seed,
        clock,
        tls: args.tls_cert.zip(args.tls_key),
        admin_token,
        public_host: args.public_host,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mock-cxone: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config, scenario))
}

async fn run(config: Config, scenario: Option<(PathBuf, Scenario)>) -> ExitCode {
    let data_dir = config.data_dir.clone();
    let running = match mock_cxone::server::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mock-cxone: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut loaded = None;
    if let Some((path, sc)) = scenario {
        match scenario::serve::load_at_start(&running.app, sc).await {
            Ok(AtStart::Loaded(summary)) => loaded = Some(summary),
            Ok(AtStart::Kept { held }) => eprintln!(
                "mock-cxone: --scenario {}: the data dir has state already{}; it wins (POST /_mock/reset, then \
                 POST /_mock/scenarios, loads the scenario afresh)",
                path.display(),
                held.map_or(String::new(), |n| format!(" (scenario {n:?} was loaded into it)"))
            ),
            Err(e) => {
                match &e {
                    AtStartError::Apply(a) => match a.located() {
                        Some(l) => eprintln!("{}:{l}", path.display()),
                        None => eprintln!("{}: {a}", path.display()),
                    },
                    other => eprintln!("mock-cxone: {other}"),
                }
                running.stop().await;
                return ExitCode::FAILURE;
            }
        }
    }
    print_banner(&running.app, &data_dir);
    if let Some(summary) = &loaded {
        print_scenario(summary);
    }
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("mock-cxone: stopping");
    running.stop().await;
    ExitCode::SUCCESS
}

fn print_scenario(s: &scenario::summary::Summary) {
    use std::io::Write;
    let mut out = format!("  scenario: {} (start {}, clock now {})\n", s.scenario, s.start, s.now);
    for t in &s.tenants {
        out.push_str(&format!(
            "    tenant {}: {}\n      client_id: {}\n      client_secret: {}\n      access_key_id: {}\n      access_key_secret: {}\n",
            t.name, t.tenant_id, t.client_id, t.client_secret, t.access_key_id, t.access_key_secret
        ));
    }
    for r in &s.recordings {
        out.push_str(&format!("    recordings: {} for {}\n", r.created, r.tenant_id));
    }
    for r in &s.lifecycle_rules {
        out.push_str(&format!(
            "    lifecycle rule {:?} ({}): {} for {}\n",
            r.name, r.action, r.id, r.tenant_id
        ));
    }
    for d in &s.downloads {
        out.push_str(&format!(
            "    download {}{}: {} -> {} for {}\n",
            d.id,
            d.name.as_ref().map_or(String::new(), |n| format!(" ({n})")),
            d.category,
            d.location,
            d.tenant_id
        ));
    }
    for f in &s.faults {
        out.push_str(&format!(
            "    fault {}: {}{}\n",
            f.kind,
            f.id,
            f.download_id.as_ref().map_or(String::new(), |d| format!(" on {d}"))
        ));
    }
    for t in &s.timeline {
        out.push_str(&format!("    timeline {}: {}\n", t.at, t.action));
    }
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

fn print_banner(app: &mock_cxone::app::App, data_dir: &std::path::Path) {
    use std::io::Write;
    let mut out = String::new();
    out.push_str(&format!("mock-cxone {} ready\n", env!("CARGO_PKG_VERSION")));
    out.push_str(&format!("  api: {}\n  s3: {}\n", app.urls.api, app.urls.s3));
    out.push_str(&format!("  dashboard: {}/\n", app.urls.api));
    out.push_str(&format!("  data dir: {}\n  seed: {}\n", data_dir.display(), app.seed));
    out.push_str(&format!(
        "  clock: {} ({})\n",
        mock_cxone::store::time::rfc3339(app.now()),
        app.clock.mode().as_str()
    ));
    if let Some(token) = &app.admin_token {
        out.push_str(&format!("  admin token: {token}\n"));
    }
    if let Ok(Some(t)) = app.demo_tenant() {
        out.push_str(&format!(
            "  demo tenant: {} (name {})\n    client_id: {}\n    client_secret: {}\n    access_key_id: {}\n    access_key_secret: {}\n",
            t.tenant_id, t.name, t.client_id, t.client_secret, t.access_key_id, t.access_key_secret
        ));
        out.push_str(&format!(
            "  get a token:\n    curl -s -u '{}:{}' -d grant_type=password -d username={} -d password={} {}/auth/token\n",
            t.client_id, t.client_secret, t.access_key_id, t.access_key_secret, app.urls.api
        ));
    }
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}
