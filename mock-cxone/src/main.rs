//! `mock-cxone`: serve · version.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mock_cxone::{ClockSpec, Config};

#[derive(Debug, Parser)]
#[command(
    name = "mock-cxone",
    version,
    about = "A local stand-in for NICE CXone's SEA S3 endpoint and Data Download API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the REST and S3 listeners.
    Serve(Box<ServeArgs>),
    /// Print the version.
    Version,
}

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
    /// Random seed: same seed, same data, byte for byte.
    #[arg(long, env = "MOCK_CXONE_SEED", default_value_t = 42)]
    seed: u64,
    /// Scenario to load at start (TOML).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// real | frozen[:RFC3339] | offset:RFC3339 (a non-empty data dir resumes its stored clock).
    #[arg(long, default_value = "real")]
    clock: ClockSpec,
    /// PEM certificate chain: TLS on both listeners (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Token the control API requires when the API listens beyond loopback.
    #[arg(long, env = "MOCK_CXONE_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Host name to put in URLs instead of the bind address (e.g. localhost for TLS).
    #[arg(long, env = "MOCK_CXONE_PUBLIC_HOST")]
    public_host: Option<String>,
}

fn init_logging() {
    // s3s logs every 4xx at ERROR; those are the clients' business, not ours.
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOCK_CXONE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,s3s=off,s3s_fs=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("mock-cxone {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Serve(args) => serve(*args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging();
    if let Some(s) = &args.scenario {
        eprintln!(
            "mock-cxone: --scenario {} is not supported yet (scenarios arrive with the faults work)",
            s.display()
        );
        return ExitCode::from(2);
    }
    let loopback = args.api_addr.ip().is_loopback();
    let admin_token = args
        .admin_token
        .or_else(|| (!loopback).then(|| mock_cxone::ids::secret(32)));
    let config = Config {
        api_addr: args.api_addr,
        s3_addr: args.s3_addr,
        data_dir: args.data_dir,
        seed: args.seed,
        clock: args.clock,
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
    runtime.block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let data_dir = config.data_dir.clone();
    let running = match mock_cxone::server::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mock-cxone: {e}");
            return ExitCode::FAILURE;
        }
    };
    print_banner(&running.app, &data_dir);
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("mock-cxone: stopping");
    running.stop().await;
    ExitCode::SUCCESS
}

fn print_banner(app: &mock_cxone::app::App, data_dir: &std::path::Path) {
    use std::io::Write;
    let mut out = String::new();
    out.push_str(&format!("mock-cxone {} ready\n", env!("CARGO_PKG_VERSION")));
    out.push_str(&format!("  api: {}\n  s3: {}\n", app.urls.api, app.urls.s3));
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
