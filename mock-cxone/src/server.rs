//! The two listeners (REST and S3), optional TLS on both, the real-clock ticker, and shutdown.
//! Both refuse oversized header sections and declared bodies before any handler ([`limits`]).

mod limits;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use crate::app::{App, Urls};
use crate::clock::ClockMode;
use crate::config::Config;
use crate::store::{Store, StoreError};

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data directory could not be opened.
    #[error("data directory: {0}")]
    Store(#[from] StoreError),
    /// The TLS certificate or key could not be loaded.
    #[error("tls: {0}")]
    Tls(String),
    /// Other I/O.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// A running server: its state, its tasks and the switch that stops them.
#[derive(Debug)]
pub struct Running {
    /// Shared state.
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Asks every task to stop (listeners stop accepting; open connections finish).
    pub fn signal_stop(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Stops and waits for the accept loops and the ticker to end.
    pub async fn stop(mut self) {
        self.signal_stop();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

fn url(scheme: &str, host: Option<&str>, addr: SocketAddr) -> String {
    match host {
        Some(h) => format!("{scheme}://{h}:{}", addr.port()),
        None => format!("{scheme}://{addr}"),
    }
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, StartError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| StartError::Tls(format!("certificate {}: {e}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| StartError::Tls(format!("key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| StartError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// Binds both listeners, opens the data dir and starts serving.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let api_listener = bind(config.api_addr).await?;
    let s3_listener = bind(config.s3_addr).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let host = config.public_host.as_deref();
    let urls = Urls {
        api: url(scheme, host, api_listener.local_addr()?),
        s3: url(scheme, host, s3_listener.local_addr()?),
    };
    let admin_token = config.admin_token.clone();
    let data_dir = config.data_dir.clone();
    let (seed, clock) = (config.seed, config.clock.clone());
    let app = tokio::task::spawn_blocking(move || -> Result<App, StoreError> {
        let store = Store::open(&data_dir)?;
        App::open(store, seed, clock, urls, admin_token)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    let app = Arc::new(app);
    let (shutdown, rx) = watch::channel(false);
    let router = crate::api::router(app.clone());
    let s3 = crate::sea::service(app.clone())?;
    let tasks = vec![
        tokio::spawn(accept_loop(
            api_listener,
            tls.clone(),
            limits::Limits::new(TowerToHyperService::new(router), limits::Listener::Api),
            rx.clone(),
        )),
        tokio::spawn(accept_loop(
            s3_listener,
            tls,
            limits::Limits::new(s3, limits::Listener::S3),
            rx.clone(),
        )),
        tokio::spawn(ticker(app.clone(), rx)),
    ];
    // Both listeners are bound and their accept loops spawned: connections are accepted now.
    app.s3_ready.store(true, Ordering::Release);
    Ok(Running { app, shutdown, tasks })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn accept_loop<S, B>(listener: TcpListener, tls: Option<TlsAcceptor>, svc: S, mut stop: watch::Receiver<bool>)
where
    S: hyper::service::Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    loop {
        let (stream, _) = tokio::select! {
            _ = stop.changed() => return,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => { tracing::warn!("accept: {e}"); continue; }
            },
        };
        let _ = stream.set_nodelay(true);
        let svc = svc.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = ConnBuilder::new(TokioExecutor::new());
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => builder.serve_connection(TokioIo::new(s), svc).await,
                    Err(e) => {
                        tracing::debug!("tls handshake: {e}");
                        return;
                    }
                },
                None => builder.serve_connection(TokioIo::new(stream), svc).await,
            };
            if let Err(e) = result {
                tracing::debug!("connection: {e}");
            }
        });
    }
}

/// In `real` and `offset` modes the clock moves by itself: run what falls due about once a second.
async fn ticker(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        if app.clock.mode() == ClockMode::Frozen {
            continue;
        }
        let a = app.clone();
        let r = tokio::task::spawn_blocking(move || {
            let now = a.now();
            a.advance_to(now)
        })
        .await;
        if let Ok(Err(e)) = r {
            tracing::error!("clock tick: {e}");
        }
    }
}
