//! The mock's state in numbers, read from the store when asked: per tenant, the live SEA objects
//! and their bytes, the backlog the daily cap holds back (S7) and the files placed today, the
//! Data Download jobs by status and category, and the faults fired by kind. The dashboard's
//! overview and `GET /metrics` both read it, so the two never disagree.
//!
//! Each figure is one indexed aggregate, so a scrape costs the same at 1,000,000 files as at 10:
//! SEA objects and bytes come from the covering index `files_sea_live` (schema.sql), the backlog
//! from `files_backlog`, today's placements from `sea_daily`, faults from `events_kind`.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::tenants;
use crate::storage::daily_cap::{self, CAP_PER_DAY};
use crate::store::time::{to_us, Instant};
use crate::store::StoreResult;

/// A tenant's SEA folder in numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SeaSummary {
    /// Live objects (placed, not expired or deleted).
    pub objects: i64,
    /// Their bytes.
    pub bytes: i64,
    /// Files waiting for a later day because of the daily cap (S7).
    pub backlog: i64,
    /// Files per tenant per UTC day that may enter SEA.
    pub cap_per_day: i64,
    /// Files placed on the mock's current UTC day.
    pub placed_today: i64,
}

/// One tenant in numbers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantOverview {
    /// `t-<slug>`, also the SEA folder name.
    pub tenant_id: String,
    /// Display name.
    pub name: String,
    /// Faster SEA licence (S10).
    pub faster_sea: bool,
    /// Creation instant.
    pub created_at: String,
    /// SEA in numbers.
    pub sea: SeaSummary,
    /// Jobs by status, then by category.
    pub jobs: BTreeMap<String, BTreeMap<String, u64>>,
    /// Fault firings by fault kind.
    pub faults_fired: BTreeMap<String, u64>,
}

/// Every tenant in numbers, in creation order, as of `now`.
pub fn tenants(c: &Connection, now: Instant) -> StoreResult<Vec<TenantOverview>> {
    tenants::list(c)?.into_iter().map(|t| tenant(c, t, now)).collect()
}

/// One tenant in numbers as of `now`.
pub fn tenant(c: &Connection, t: tenants::Tenant, now: Instant) -> StoreResult<TenantOverview> {
    Ok(TenantOverview {
        sea: sea(c, &t.tenant_id, now)?,
        jobs: jobs(c, &t.tenant_id)?,
        faults_fired: faults_fired(c, Some(&t.tenant_id))?,
        tenant_id: t.tenant_id,
        name: t.name,
        faster_sea: t.faster_sea,
        created_at: t.created_at,
    })
}

/// The tenant's SEA folder as of `now` (an object past its expiry is gone even before the
/// lifecycle run that deletes it).
pub fn sea(c: &Connection, tenant_id: &str, now: Instant) -> StoreResult<SeaSummary> {
    let (objects, bytes) = c
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files INDEXED BY files_sea_live
             WHERE tenant_id = ?1 AND sea_gone_at IS NULL AND expires_at IS NOT NULL AND expires_at > ?2",
        )?
        .query_row(rusqlite::params![tenant_id, to_us(now)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(SeaSummary {
        objects,
        bytes,
        backlog: daily_cap::backlog(c, tenant_id)?,
        cap_per_day: CAP_PER_DAY,
        placed_today: daily_cap::placed_on_day(c, tenant_id, now)?,
    })
}

/// The tenant's Data Download jobs by status, then category.
pub fn jobs(c: &Connection, tenant_id: &str) -> StoreResult<BTreeMap<String, BTreeMap<String, u64>>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut st = c.prepare_cached("SELECT status, category, COUNT(*) FROM jobs WHERE tenant_id = ?1 GROUP BY 1, 2")?;
    let rows = st.query_map([tenant_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })?;
    for row in rows {
        let (status, category, n) = row?;
        out.entry(status).or_default().insert(category, count(n));
    }
    Ok(out)
}

/// Fault firings by fault kind: the tenant's, or with `None` those that concern no tenant (a
/// maintenance window over every tenant).
pub fn faults_fired(c: &Connection, tenant_id: Option<&str>) -> StoreResult<BTreeMap<String, u64>> {
    let mut st = c.prepare_cached(
        "SELECT json_extract(detail, '$.kind'), COUNT(*) FROM events
         WHERE kind = 'fault' AND tenant_id IS ?1 GROUP BY 1",
    )?;
    let rows = st.query_map([tenant_id], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (kind, n) = row?;
        *out.entry(kind.unwrap_or_else(|| "unknown".into())).or_default() += count(n);
    }
    Ok(out)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::Store::open(dir.path()).expect("store");
        (dir, store)
    }

    #[test]
    fn the_sea_count_reads_only_its_covering_index() {
        let (_d, store) = store();
        let plan: Vec<String> = store
            .with(|c| {
                let mut st = c.prepare(
                    "EXPLAIN QUERY PLAN SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files INDEXED BY files_sea_live
                     WHERE tenant_id = 't' AND sea_gone_at IS NULL AND expires_at IS NOT NULL AND expires_at > 0",
                )?;
                let rows = st.query_map([], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .expect("plan");
        assert!(
            plan.iter().any(|p| p.contains("USING COVERING INDEX files_sea_live")),
            "{plan:?}"
        );
    }

    #[test]
    fn an_empty_store_counts_nothing() {
        let (_d, store) = store();
        let got = store
            .with(|c| {
                Ok((
                    sea(c, "t-none", Instant::default())?,
                    jobs(c, "t-none")?,
                    faults_fired(c, None)?,
                ))
            })
            .expect("stats");
        assert_eq!(got.0.objects + got.0.bytes + got.0.backlog + got.0.placed_today, 0);
        assert!(got.1.is_empty() && got.2.is_empty());
    }
}
