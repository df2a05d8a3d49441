//! mock-cxone: a local stand-in for NICE CXone's storage and export surfaces — the S3-compatible
//! Secure External Access (SEA) endpoint and the Data Download REST API — that reproduces what
//! CXone's documentation says happens to your files, on a clock you control.
//!
//! # Layout
//! - [`config`], [`server`] — `mock-cxone serve`: two listeners (REST, S3), TLS, shutdown.
//! - [`app`] — the shared state; [`clock`] — the mock clock; [`engine`] — the time-ordered queue.
//! - [`store`] — SQLite metadata and the data-dir layout; [`events`] — the `/_mock/events` ledger.
//! - [`auth`] — tenants, OAuth tokens, the JWT `id_token`, scopes.
//! - [`sea`] — the S3 front: SEA folders and credentials, data-lake buckets over s3s-fs.
//! - [`storage`] — recordings, lifecycle rules, the daily cap and backlog, 30-day expiry, usage.
//! - [`api`] — axum routers (CXone API and `/_mock` control API); [`error`] — JSON errors.
//! - [`fuzzing`] — the fuzz harnesses (`fuzz/`, and the corpus test `make test` runs).
//!
//! # In-process use (Rust tests)
//! ```no_run
//! # async fn demo() -> Result<(), mock_cxone::server::StartError> {
//! let mock = mock_cxone::MockCxone::builder().clock("frozen:2026-01-01T00:00:00Z".parse().unwrap()).start().await?;
//! println!("REST at {}, S3 at {}", mock.api_url(), mock.s3_url());
//! # Ok(()) }
//! ```

#![warn(missing_docs, unreachable_pub)]

pub mod api;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod download;
pub mod duration;
pub mod engine;
pub mod error;
pub mod events;
pub mod extraction;
pub mod faults;
pub mod fuzzing;
pub mod ids;
pub mod metrics;
pub mod observe;
pub mod scenario;
pub mod sea;
pub mod server;
pub mod stats;
pub mod storage;
pub mod store;
pub mod truth;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use clock::ClockSpec;
pub use config::Config;
use server::{Running, StartError};

/// Entry point of the in-process mock.
#[derive(Debug)]
pub struct MockCxone;

impl MockCxone {
    /// A builder with ports 0 (free ports), a fresh temporary data dir, seed 42 and the real clock.
    pub fn builder() -> Builder {
        let config = Config {
            api_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            s3_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::default()
        };
        Builder {
            config,
            data_dir_set: false,
        }
    }
}

/// Configures an in-process mock before `start`.
#[derive(Debug)]
pub struct Builder {
    config: Config,
    data_dir_set: bool,
}

impl Builder {
    /// Keeps state in `dir` (survives a stop and a new start on the same dir).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.data_dir = dir.into();
        self.data_dir_set = true;
        self
    }

    /// Seed of generated data and ids.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Clock mode, e.g. `"frozen:2026-01-01T00:00:00Z".parse()?`.
    pub fn clock(mut self, clock: ClockSpec) -> Self {
        self.config.clock = clock;
        self
    }

    /// REST listener address.
    pub fn api_addr(mut self, addr: SocketAddr) -> Self {
        self.config.api_addr = addr;
        self
    }

    /// S3 listener address.
    pub fn s3_addr(mut self, addr: SocketAddr) -> Self {
        self.config.s3_addr = addr;
        self
    }

    /// TLS on both listeners from PEM files.
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.config.tls = Some((cert.into(), key.into()));
        self
    }

    /// Host name used in URLs (e.g. `localhost`, to match a TLS certificate).
    pub fn public_host(mut self, host: impl Into<String>) -> Self {
        self.config.public_host = Some(host.into());
        self
    }

    /// Starts the mock; it stops when the handle drops.
    pub async fn start(mut self) -> Result<Handle, StartError> {
        let tempdir = if self.data_dir_set {
            None
        } else {
            let dir = tempfile::tempdir()?;
            self.config.data_dir = dir.path().to_path_buf();
            Some(dir)
        };
        let running = server::start(self.config).await?;
        let demo = running.app.demo_tenant()?.map(|t| DemoTenant {
            tenant_id: t.tenant_id,
            client_id: t.client_id,
            client_secret: t.client_secret,
            access_key_id: t.access_key_id,
            access_key_secret: t.access_key_secret,
        });
        Ok(Handle {
            running: Some(running),
            demo,
            _tempdir: tempdir,
        })
    }
}

/// The demo tenant's credentials (created on first start).
#[derive(Debug, Clone)]
pub struct DemoTenant {
    /// Tenant id (`t-demo`).
    pub tenant_id: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// API access key id (password grant username).
    pub access_key_id: String,
    /// API access key secret (password grant password).
    pub access_key_secret: String,
}

/// A running in-process mock. Dropping it stops the listeners.
#[derive(Debug)]
pub struct Handle {
    running: Option<Running>,
    demo: Option<DemoTenant>,
    _tempdir: Option<tempfile::TempDir>,
}

impl Handle {
    fn app(&self) -> &Arc<app::App> {
        match &self.running {
            Some(r) => &r.app,
            None => unreachable_running(),
        }
    }

    /// REST base URL.
    pub fn api_url(&self) -> &str {
        &self.app().urls.api
    }

    /// S3 endpoint URL.
    pub fn s3_url(&self) -> &str {
        &self.app().urls.s3
    }

    /// The demo tenant, if the data dir had none stored before (it always has one after start).
    pub fn demo_tenant(&self) -> Option<&DemoTenant> {
        self.demo.as_ref()
    }

    /// The shared state (for white-box assertions).
    pub fn app_state(&self) -> Arc<app::App> {
        self.app().clone()
    }

    /// Stops the listeners and waits for them.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_running() -> ! {
    // `running` is only taken by `stop(self)`, which consumes the handle.
    panic!("mock-cxone handle used after stop")
}
