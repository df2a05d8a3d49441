//! The SEA daily cap (S7): at most 100,000 files per tenant per UTC day enter SEA; the rest
//! wait in a backlog and go first the next day (the queue is first-come, first-placed).

use chrono::Duration;
use rusqlite::{Connection, OptionalExtension};
use serde_json::json;

use super::expiry::SEA_RETENTION_DAYS;
use crate::events::{self, NewEvent};
use crate::store::time::{rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// Files per tenant per UTC day that may enter SEA.
pub const CAP_PER_DAY: i64 = 100_000;

/// The SEA bucket, as CONTRACT §3 names it.
pub const SEA_BUCKET: &str = "cxone-sea";

/// The UTC day of `at`, as stored in `sea_daily`.
fn day_key(at: Instant) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// How many files entered SEA for the tenant on `at`'s UTC day.
pub fn placed_on_day(c: &Connection, tenant_id: &str, at: Instant) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT placed FROM sea_daily WHERE tenant_id=?1 AND day=?2",
        [tenant_id, &day_key(at)],
        |r| r.get(0),
    )
    .optional()?
    .unwrap_or(0))
}

/// Files waiting for SEA.
pub fn backlog(c: &Connection, tenant_id: &str) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM files WHERE tenant_id=?1 AND sea_queued IS NOT NULL",
        [tenant_id],
        |r| r.get(0),
    )?)
}

/// Places queued files in SEA at `at`, oldest in the queue first, up to the day's remaining cap.
/// Returns the expiry instant of what it placed (for the sweeper), if anything.
pub fn place(c: &Connection, at: Instant, tenant_id: &str) -> StoreResult<Option<Instant>> {
    let room = CAP_PER_DAY - placed_on_day(c, tenant_id, at)?;
    if room <= 0 {
        return report_backlog(c, at, tenant_id).map(|()| None);
    }
    let expires = at + Duration::days(SEA_RETENTION_DAYS);
    let placed: Vec<(String, String, String)> = c
        .prepare_cached(
            "UPDATE files SET
                sea_action = CASE rule_action WHEN 'move_to_sea' THEN 'moved' ELSE 'copied' END,
                sea_key = tenant_id || '/' || name,
                placed_at = ?2, expires_at = ?3, sea_queued = NULL,
                tier = CASE rule_action WHEN 'move_to_sea' THEN 'sea' ELSE tier END,
                tier_changed_at = CASE rule_action WHEN 'move_to_sea' THEN ?2 ELSE tier_changed_at END
             WHERE id IN (SELECT id FROM files WHERE tenant_id=?1 AND sea_queued IS NOT NULL ORDER BY sea_queued LIMIT ?4)
             RETURNING id, sea_key, sea_action",
        )?
        .query_map(rusqlite::params![tenant_id, to_us(at), to_us(expires), room], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    if placed.is_empty() {
        return Ok(None);
    }
    c.execute(
        "INSERT INTO sea_daily(tenant_id,day,placed) VALUES(?1,?2,?3)
         ON CONFLICT(tenant_id,day) DO UPDATE SET placed = placed + excluded.placed",
        rusqlite::params![tenant_id, day_key(at), placed.len() as i64],
    )?;
    for (id, key, action) in &placed {
        let detail = json!({"file_id": id, "action": action, "key": key,
                            "placed_at": rfc3339(at), "expires_at": rfc3339(expires)});
        let mut e = NewEvent::tenant("lifecycle.placed_in_sea", tenant_id, detail);
        e.objects = Some(vec![format!("{SEA_BUCKET}/{key}")]);
        events::record(c, at, &e)?;
    }
    report_backlog(c, at, tenant_id)?;
    Ok(Some(expires))
}

/// Records what is left waiting, when anything is.
fn report_backlog(c: &Connection, at: Instant, tenant_id: &str) -> StoreResult<()> {
    let waiting = backlog(c, tenant_id)?;
    if waiting > 0 {
        let detail =
            json!({"backlog": waiting, "cap_per_day": CAP_PER_DAY, "placed_today": placed_on_day(c, tenant_id, at)?});
        events::record(c, at, &NewEvent::tenant("lifecycle.sea_backlog", tenant_id, detail))?;
    }
    Ok(())
}
