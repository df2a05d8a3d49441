//! Durable metadata: one SQLite database (WAL) in the data directory.
//!
//! Why one connection behind a std `Mutex`: every request touches a handful of rows, SQLite
//! serialises writers anyway, and a single connection makes "read, decide, write" atomic
//! without retry loops. The lock is never held across an `.await` (see `with`).

pub mod epoch_cache;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::hooks::Action;

use rusqlite::{Connection, OptionalExtension};

pub mod time;

pub use rusqlite::{params, Transaction};

/// Failures of the metadata store. Mapped to 500 at the edge: they are never the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed an operation.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file under the data directory could not be read or written.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A stored JSON value did not parse (corruption or a bug).
    #[error("stored json: {0}")]
    Json(#[from] serde_json::Error),
    /// A row written in the same transaction was not found (a bug).
    #[error("row {0} vanished")]
    Missing(String),
}

/// Result alias for store work.
pub type StoreResult<T> = Result<T, StoreError>;

/// The metadata database plus the layout of the data directory.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    data_dir: PathBuf,
    /// Bumped by every change to a credential, tenant or bucket row (an update hook on the one
    /// connection) and by `wipe`: the S3 hot path's caches (who signed, who owns a bucket) are
    /// valid while it stays the same.
    access_epoch: Arc<AtomicU64>,
}

/// Tables whose changes invalidate the S3 access caches ([`epoch_cache::EpochCache`]).
const ACCESS_TABLES: [&str; 4] = ["sea_credentials", "datalake_credentials", "tenants", "buckets"];

impl Store {
    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir)?;
        std::fs::create_dir_all(data_dir.join("s3"))?;
        let mut conn = Connection::open(data_dir.join("mock-cxone.sqlite3"))?;
        // WAL + NORMAL: durable at each commit's checkpoint, and readers never block the writer.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A day's lifecycle run is one large transaction; truncate the WAL after it checkpoints
        // instead of keeping a file the size of everything that run touched.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // One schema file per area, so each concept's tables sit beside nothing else.
        for sql in [
            include_str!("schema.sql"),
            include_str!("download.sql"),
            include_str!("extraction.sql"),
            include_str!("faults.sql"),
        ] {
            conn.execute_batch(sql)?;
        }
        let access_epoch = Arc::new(AtomicU64::new(0));
        let epoch = access_epoch.clone();
        conn.update_hook(Some(move |_: Action, _: &str, table: &str, _: i64| {
            if ACCESS_TABLES.contains(&table) {
                epoch.fetch_add(1, Ordering::SeqCst);
            }
        }))?;
        Ok(Self {
            conn: Mutex::new(conn),
            data_dir: data_dir.to_path_buf(),
            access_epoch,
        })
    }

    /// Root directory of S3 object bytes (served by s3s-fs).
    pub fn s3_root(&self) -> PathBuf {
        self.data_dir.join("s3")
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The access epoch: changes whenever a credential, tenant or bucket row may have changed.
    pub fn access_epoch(&self) -> u64 {
        self.access_epoch.load(Ordering::SeqCst)
    }

    /// Runs `f` with the connection. Keep `f` synchronous and short.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let conn = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn)
    }

    /// Runs `f` inside one transaction: all of it commits, or none of it does.
    pub fn tx<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Reads a value from the `meta` table.
    pub fn meta_get(&self, key: &str) -> StoreResult<Option<String>> {
        self.with(|c| meta_get(c, key))
    }

    /// Writes a value to the `meta` table.
    pub fn meta_set(&self, key: &str, value: &str) -> StoreResult<()> {
        self.with(|c| meta_set(c, key, value))
    }

    /// Deletes every row of every table: `POST /_mock/reset`.
    pub fn wipe(&self) -> StoreResult<()> {
        self.with(|c| {
            let tables: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            // Every table is emptied, so references between them need no checking on the way
            // (in table order, `tenants` would go before the credentials that reference it).
            c.pragma_update(None, "foreign_keys", "OFF")?;
            let wiped = (|| {
                let tx = c.unchecked_transaction()?;
                for t in &tables {
                    tx.execute(&format!("DELETE FROM {t}"), [])?;
                }
                tx.commit()
            })();
            c.pragma_update(None, "foreign_keys", "ON")?;
            // `DELETE FROM t` without a WHERE skips the update hook (SQLite's truncate path).
            self.access_epoch.fetch_add(1, Ordering::SeqCst);
            Ok(wiped?)
        })
    }
}

/// Reads a `meta` value inside an open connection or transaction.
pub fn meta_get(c: &Connection, key: &str) -> StoreResult<Option<String>> {
    Ok(c.query_row("SELECT value FROM meta WHERE key=?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a `meta` value inside an open connection or transaction.
pub fn meta_set(c: &Connection, key: &str, value: &str) -> StoreResult<()> {
    c.execute(
        "INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// Increments and returns a named counter kept in `meta` (deterministic id sequences).
pub fn next_counter(c: &Connection, name: &str) -> StoreResult<u64> {
    let key = format!("counter.{name}");
    let n = meta_get(c, &key)?.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1;
    meta_set(c, &key, &n.to_string())?;
    Ok(n)
}

/// Reserves `count` consecutive values of a named counter; returns the first.
pub fn reserve_counter(c: &Connection, name: &str, count: u64) -> StoreResult<u64> {
    let key = format!("counter.{name}");
    let last = meta_get(c, &key)?.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    meta_set(c, &key, &(last + count).to_string())?;
    Ok(last + 1)
}
