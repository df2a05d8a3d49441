//! A job interrupted by a crash resumes without leaving a second copy of its files.
//!
//! A job writes its files while it is `RUNNING` and becomes `COMPLETED` only when all are written
//! (one transaction at the end). If the process dies in between (`kill -9`), the job is still
//! `RUNNING` after the restart and its `JobFinish` task runs again (the queue is rebuilt from the
//! tables). Without a record of what the first attempt wrote, the second would take the next free
//! part numbers and leave the first attempt's files in the partition, listed by no manifest: a
//! pipeline reading the folder would count those rows twice.
//!
//! So the key each data type's file goes to is *claimed* — stored before the bytes are written —
//! and a second attempt of the same job writes to the claimed key again (the same bytes: records
//! derive from the seed and the job). Claims live in `meta` under the job id and go in the
//! transaction that ends the job.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::app::App;
use crate::store::{meta_get, meta_set, StoreResult};

fn claims_key(job_id: &str) -> String {
    format!("job.claims.{job_id}")
}

/// The key claimed for each data type by an earlier attempt of `job_id` (empty on a first run).
pub fn claimed(c: &Connection, job_id: &str) -> StoreResult<BTreeMap<String, String>> {
    match meta_get(c, &claims_key(job_id))? {
        Some(text) => Ok(serde_json::from_str(&text)?),
        None => Ok(BTreeMap::new()),
    }
}

/// Claims `key` for `data_type`'s file of `job_id`, before the file is written.
pub fn claim(app: &App, job_id: &str, data_type: &str, key: &str) -> StoreResult<()> {
    app.store.tx(|c| {
        let mut claims = claimed(c, job_id)?;
        claims.insert(data_type.to_string(), key.to_string());
        meta_set(c, &claims_key(job_id), &serde_json::to_string(&claims)?)
    })
}

/// Drops the claims of a job that has ended.
pub fn forget(c: &Connection, job_id: &str) -> StoreResult<()> {
    c.execute("DELETE FROM meta WHERE key = ?1", [claims_key(job_id)])?;
    Ok(())
}
