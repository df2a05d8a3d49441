//! What a tenant is charged for (S11): active-storage byte-days, and files in SEA still count as
//! active storage. A moved file is charged in active storage until it leaves SEA; a copied file
//! is charged twice while its SEA copy lives.

use rusqlite::Connection;
use serde::Serialize;

use crate::store::time::{rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// `GET /api/v2/storage/usage`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Usage {
    /// The tenant.
    pub tenant_id: String,
    /// Instant the figures are computed at.
    pub as_of: String,
    /// Bytes charged as active storage now (active tier plus live SEA objects).
    pub active_bytes: i64,
    /// Of which in SEA.
    pub sea_bytes: i64,
    /// Active-storage byte-days so far, SEA included.
    pub active_byte_days: f64,
    /// Of which in SEA.
    pub sea_byte_days: f64,
    /// Bytes in long-term storage now.
    pub long_term_bytes: i64,
}

const US_PER_DAY: f64 = 86_400_000_000.0;

/// Usage of `tenant_id` at `now`.
pub fn compute(c: &Connection, tenant_id: &str, now: Instant) -> StoreResult<Usage> {
    let n = to_us(now);
    // Active storage: from recording until the file left the active tier (archive, delete,
    // or move into SEA, which is charged below). Files created in long-term/custom never were.
    let (active_bytes, active_us): (i64, f64) = c.query_row(
        "SELECT COALESCE(SUM(CASE WHEN tier='active' THEN size ELSE 0 END),0),
                COALESCE(SUM(size * CAST(MAX(0, MIN(?2, CASE WHEN tier='active' THEN ?2 ELSE tier_changed_at END) - MIN(recorded_at, ?2)) AS REAL)),0)
         FROM files WHERE tenant_id=?1 AND initial_tier='active' AND created_at <= ?2",
        rusqlite::params![tenant_id, n],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (sea_bytes, sea_us): (i64, f64) = c.query_row(
        "SELECT COALESCE(SUM(CASE WHEN sea_gone_at IS NULL AND expires_at > ?2 THEN size ELSE 0 END),0),
                COALESCE(SUM(size * CAST(MAX(0, MIN(?2, COALESCE(sea_gone_at, expires_at)) - placed_at) AS REAL)),0)
         FROM files WHERE tenant_id=?1 AND placed_at IS NOT NULL AND placed_at <= ?2",
        rusqlite::params![tenant_id, n],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let long_term_bytes: i64 = c.query_row(
        "SELECT COALESCE(SUM(size),0) FROM files WHERE tenant_id=?1 AND tier='long_term'",
        [tenant_id],
        |r| r.get(0),
    )?;
    Ok(Usage {
        tenant_id: tenant_id.to_string(),
        as_of: rfc3339(now),
        active_bytes: active_bytes + sea_bytes,
        sea_bytes,
        active_byte_days: (active_us + sea_us) / US_PER_DAY,
        sea_byte_days: sea_us / US_PER_DAY,
        long_term_bytes,
    })
}
