//! The ledger behind `/_mock/events`: everything the mock did, in order, each with a `seq`.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// One entry to record.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    /// Dotted kind, e.g. `lifecycle.placed`; `fault` for fault firings.
    pub kind: String,
    /// Tenant concerned, if any.
    pub tenant_id: Option<String>,
    /// Download concerned, if any.
    pub download_id: Option<String>,
    /// Job concerned, if any.
    pub job_id: Option<String>,
    /// Fault rule that fired, if any.
    pub fault_id: Option<String>,
    /// Full object keys written or touched.
    pub objects: Option<Vec<String>>,
    /// Kind-specific detail.
    pub detail: Value,
}

impl NewEvent {
    /// An event of `kind` for `tenant_id` with `detail`.
    pub fn tenant(kind: &str, tenant_id: &str, detail: Value) -> Self {
        Self {
            kind: kind.into(),
            tenant_id: Some(tenant_id.into()),
            detail,
            ..Self::default()
        }
    }
}

/// An event as served.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Position in the ledger, increasing.
    pub seq: i64,
    /// Mock instant it happened.
    pub at: String,
    /// Dotted kind.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Tenant concerned.
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Download concerned.
    pub download_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Job concerned.
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Fault concerned.
    pub fault_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Object keys.
    pub objects: Option<Vec<String>>,
    /// Kind-specific detail.
    pub detail: Value,
}

/// Appends an event (inside the caller's transaction, so it commits with what it describes).
pub fn record(c: &Connection, at: Instant, e: &NewEvent) -> StoreResult<()> {
    let objects = e.objects.as_ref().map(serde_json::to_string).transpose()?;
    c.prepare_cached(
        "INSERT INTO events(at,kind,tenant_id,download_id,job_id,fault_id,objects,detail)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    )?
    .execute(rusqlite::params![
        to_us(at),
        e.kind,
        e.tenant_id,
        e.download_id,
        e.job_id,
        e.fault_id,
        objects,
        e.detail.to_string()
    ])?;
    Ok(())
}

/// Events with `seq > since`, oldest first, optionally of one kind (exact, or a dotted prefix:
/// `lifecycle` matches `lifecycle.placed`).
pub fn list(c: &Connection, since: i64, kind: Option<&str>, limit: u32) -> StoreResult<Vec<Event>> {
    let kind = kind.unwrap_or("");
    let prefix = format!("{kind}.%");
    let mut st = c.prepare_cached(
        "SELECT seq,at,kind,tenant_id,download_id,job_id,fault_id,objects,detail FROM events
         WHERE seq > ?1 AND (?2 = '' OR kind = ?2 OR kind LIKE ?3) ORDER BY seq LIMIT ?4",
    )?;
    let rows = st.query_map(rusqlite::params![since, kind, prefix, limit], |r| {
        Ok((
            Event {
                seq: r.get(0)?,
                at: rfc3339(from_us(r.get(1)?)),
                kind: r.get(2)?,
                tenant_id: r.get(3)?,
                download_id: r.get(4)?,
                job_id: r.get(5)?,
                fault_id: r.get(6)?,
                objects: None,
                detail: Value::Null,
            },
            r.get::<_, Option<String>>(7)?,
            r.get::<_, String>(8)?,
        ))
    })?;
    let mut out = vec![];
    for row in rows {
        let (mut e, objects, detail) = row?;
        e.objects = objects.map(|o| serde_json::from_str(&o)).transpose()?;
        e.detail = serde_json::from_str(&detail)?;
        out.push(e);
    }
    Ok(out)
}
