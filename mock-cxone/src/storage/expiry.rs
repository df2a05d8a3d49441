//! The 30-day expiry of SEA objects (S5).
//!
//! An object is hidden from every S3 call from the instant `placed_at + 30 days` (readers compare
//! `expires_at` with the mock clock, so this is exact to the second), and the sweeper task at that
//! instant marks it gone and records the event. SEA bytes are derived, never stored, so there is
//! nothing else to delete.

use rusqlite::Connection;
use serde_json::json;

use super::daily_cap::SEA_BUCKET;
use crate::app::App;
use crate::events::{self, NewEvent};
use crate::store::time::{from_us, to_us, Instant};
use crate::store::StoreResult;

/// Days a file stays in SEA.
pub const SEA_RETENTION_DAYS: i64 = 30;

/// Distinct future expiry instants of live SEA objects (re-scheduled at start-up).
pub fn pending_instants(c: &Connection) -> StoreResult<Vec<Instant>> {
    let mut st = c.prepare(
        "SELECT DISTINCT expires_at FROM files WHERE sea_gone_at IS NULL AND expires_at IS NOT NULL ORDER BY 1",
    )?;
    let rows = st.query_map([], |r| r.get::<_, i64>(0))?;
    Ok(rows.map(|r| r.map(from_us)).collect::<Result<_, _>>()?)
}

/// Marks every SEA object whose time is up at `at` as gone. A moved file has no other copy, so
/// it is gone for good; a copied file stays in active storage.
pub fn sweep(app: &App, at: Instant) -> StoreResult<()> {
    app.store.tx(|tx| {
        let gone: Vec<(String, String, String)> = tx
            .prepare_cached(
                "UPDATE files SET sea_gone_at = expires_at,
                    tier = CASE sea_action WHEN 'moved' THEN 'deleted' ELSE tier END,
                    tier_changed_at = CASE sea_action WHEN 'moved' THEN expires_at ELSE tier_changed_at END
                 WHERE sea_gone_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?1
                 RETURNING id, tenant_id, sea_key",
            )?
            .query_map([to_us(at)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (id, tenant_id, key) in gone {
            let mut e = NewEvent::tenant("sea.expired", &tenant_id, json!({"file_id": id, "key": key}));
            e.objects = Some(vec![format!("{SEA_BUCKET}/{key}")]);
            events::record(tx, at, &e)?;
        }
        Ok(())
    })
}

/// The tenant deletes a SEA object before it expires (S5). Returns whether it was live.
pub fn delete_early(c: &Connection, now: Instant, tenant_id: &str, key: &str) -> StoreResult<bool> {
    let id: Option<String> = c
        .prepare_cached(
            "UPDATE files SET sea_gone_at = ?3,
                tier = CASE sea_action WHEN 'moved' THEN 'deleted' ELSE tier END,
                tier_changed_at = CASE sea_action WHEN 'moved' THEN ?3 ELSE tier_changed_at END
             WHERE tenant_id=?1 AND sea_key=?2 AND sea_gone_at IS NULL AND expires_at > ?3
             RETURNING id",
        )?
        .query_map(rusqlite::params![tenant_id, key, to_us(now)], |r| r.get(0))?
        .next()
        .transpose()?;
    let Some(id) = id else { return Ok(false) };
    let mut e = NewEvent::tenant("sea.deleted", tenant_id, json!({"file_id": id, "key": key}));
    e.objects = Some(vec![format!("{SEA_BUCKET}/{key}")]);
    events::record(c, now, &e)?;
    Ok(true)
}
