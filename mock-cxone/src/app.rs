//! The shared state behind both listeners: store, clock, engine, and the URLs clients use.

use crate::store::epoch_cache::EpochCache;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::auth::tenants::{self, NewTenant, Tenant};
use crate::auth::ALL_SCOPES;
use crate::clock::{Clock, ClockSpec};
use crate::engine::{Engine, Task};
use crate::events::{self, NewEvent};
use crate::store::time::{from_us, rfc3339, Instant};
use crate::store::{Store, StoreResult};
use crate::{download, ids, storage};

/// Base URLs as clients reach them.
#[derive(Debug, Clone)]
pub struct Urls {
    /// REST base, e.g. `http://127.0.0.1:8080`.
    pub api: String,
    /// S3 endpoint, e.g. `http://127.0.0.1:9000`.
    pub s3: String,
}

/// One per process; shared as `Arc<App>` by the REST router and the S3 service.
#[derive(Debug)]
pub struct App {
    /// Seed of everything generated.
    pub seed: u64,
    /// Durable metadata.
    pub store: Store,
    /// The mock clock.
    pub clock: Clock,
    /// Due work.
    pub engine: Engine,
    /// Where clients reach us.
    pub urls: Urls,
    /// Required on `/_mock` when set.
    pub admin_token: Option<String>,
    /// The clock spec from start-up (reset returns to it).
    pub clock_spec: ClockSpec,
    /// Set once the S3 listener accepts (health answers 200 only then).
    pub s3_ready: AtomicBool,
    /// HMAC key of `id_token`s, random per data dir.
    pub jwt_key: Vec<u8>,
    /// S3 credentials by access key, kept while the store's access epoch holds.
    pub s3_callers: EpochCache<Option<(crate::sea::auth::Caller, String)>>,
    /// Data-lake bucket owners by bucket name, likewise.
    pub bucket_owners: EpochCache<Option<String>>,
    /// Tenants' current KMS key ids, likewise (a rotation updates the tenant row).
    pub tenant_kms: EpochCache<Option<String>>,
    /// Request counters and durations for `GET /metrics`.
    pub metrics: crate::metrics::Metrics,
}

const CLOCK_KEY: &str = "clock";

impl App {
    /// Opens the data dir: restores the stored clock or starts a new one, makes the demo tenant
    /// on an empty store, and rebuilds the engine's queue from stored state.
    pub fn open(
        store: Store,
        seed: u64,
        clock_spec: ClockSpec,
        urls: Urls,
        admin_token: Option<String>,
    ) -> StoreResult<Self> {
        let clock = match store.meta_get(CLOCK_KEY)?.and_then(|s| Clock::restore(&s)) {
            Some(stored) => stored,
            None => Clock::from_spec(&clock_spec),
        };
        let jwt_key = match store.meta_get("jwt_key")? {
            Some(k) => k,
            None => {
                let k = ids::secret(64);
                store.meta_set("jwt_key", &k)?;
                k
            }
        };
        let app = Self {
            seed,
            store,
            clock,
            engine: Engine::default(),
            urls,
            admin_token,
            clock_spec,
            s3_ready: AtomicBool::new(false),
            jwt_key: jwt_key.into_bytes(),
            s3_callers: Default::default(),
            bucket_owners: Default::default(),
            tenant_kms: Default::default(),
            metrics: Default::default(),
        };
        app.persist_clock()?;
        app.ensure_demo_tenant()?;
        app.schedule_from_state()?;
        // After a kill -9 in the middle of an advance, work due at or before the stored clock
        // may not have committed (a job still RUNNING, a daily run not done): finish it before
        // serving, so the state matches the clock. After a clean stop nothing is due.
        app.advance_to(app.now())?;
        Ok(app)
    }

    /// Current mock instant.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Whether both listeners accept.
    pub fn ready(&self) -> bool {
        self.s3_ready.load(Ordering::Acquire)
    }

    fn persist_clock(&self) -> StoreResult<()> {
        self.store.meta_set(CLOCK_KEY, &self.clock.persisted())
    }

    /// The demo tenant, created on first start so `make run` is a working demo.
    pub fn demo_tenant(&self) -> StoreResult<Option<Tenant>> {
        self.store.with(|c| tenants::find(c, "demo"))
    }

    fn ensure_demo_tenant(&self) -> StoreResult<()> {
        if self.store.meta_get("initialised")?.is_some() {
            return Ok(());
        }
        let now = self.now();
        let seed = self.seed;
        self.store.tx(|tx| {
            let new = NewTenant {
                name: "demo".into(),
                scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
                faster_sea: false,
                kms_key_id: None,
            };
            tenants::create(tx, seed, now, &new)?;
            crate::store::meta_set(tx, "initialised", &rfc3339(now))
        })
    }

    /// Rebuilds the engine's queue from stored state (start-up and reset).
    pub fn schedule_from_state(&self) -> StoreResult<()> {
        storage::schedule_from_state(self)?;
        download::retention::schedule_next(self, self.now());
        crate::faults::kms::schedule_from_state(self)?;
        download::scheduler::schedule_from_state(self)
    }

    /// Runs everything due up to `target` in time order, then sets the clock to `target`.
    /// Blocking (SQLite work): call from a blocking thread.
    pub fn advance_to(&self, target: Instant) -> StoreResult<usize> {
        let ran = self.engine.advance_to(
            target,
            |at| {
                if at > self.clock.now() {
                    self.clock.set(at);
                    // Stored as the engine reaches each instant, not only at the end: after a
                    // kill -9 mid-advance the clock resumes where the committed work stopped
                    // instead of behind it (tasks of that instant not yet committed are rebuilt
                    // from state and run at the next advance).
                    if let Err(e) = self.persist_clock() {
                        tracing::warn!("could not store the clock: {e}");
                    }
                }
            },
            |at, task| self.run_task(at, task),
        )?;
        self.persist_clock()?;
        Ok(ran)
    }

    fn run_task(&self, at: Instant, task: Task) -> StoreResult<()> {
        match task {
            Task::Fault { fault_id } => crate::faults::timing::on_fault_task(self, at, &fault_id),
            Task::LifecycleRun => storage::lifecycle::run_daily(self, at),
            Task::FasterSea { tenant_id } => storage::lifecycle::run_faster_sea(self, at, &tenant_id),
            Task::SeaSweep => storage::expiry::sweep(self, at),
            Task::DownloadNext {
                download_id,
                interval_start_us,
            } => download::scheduler::on_interval_end(self, &download_id, from_us(interval_start_us)),
            Task::JobStart { job_id } => download::scheduler::on_job_start(self, at, &job_id),
            Task::JobFinish { job_id } => download::scheduler::on_job_finish(self, at, &job_id),
            Task::RetentionRun => download::retention::run(self, at),
        }
    }

    /// Records an event in its own transaction.
    pub fn record_event(&self, event: &NewEvent) -> StoreResult<()> {
        let now = self.now();
        self.store.with(|c| events::record(c, now, event))
    }

    /// `POST /_mock/reset`: empty state, clock back to its start-up spec, demo tenant anew.
    pub fn reset(&self) -> StoreResult<()> {
        self.engine.clear();
        self.store.wipe()?;
        let root = self.store.s3_root();
        if root.exists() {
            std::fs::remove_dir_all(&root)?;
        }
        std::fs::create_dir_all(&root)?;
        self.clock.reset(&self.clock_spec);
        self.persist_clock()?;
        let jwt_key = String::from_utf8_lossy(&self.jwt_key).into_owned();
        self.store.meta_set("jwt_key", &jwt_key)?;
        self.ensure_demo_tenant()?;
        self.schedule_from_state()?;
        self.record_event(&NewEvent {
            kind: "mock.reset".into(),
            detail: json!({}),
            ..NewEvent::default()
        })
    }
}
