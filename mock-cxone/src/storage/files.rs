//! The files listing (`GET /api/v2/storage/files`) and the SEA object view the S3 front reads.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Value};

use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// A recording file as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    /// File id (UUID).
    pub id: String,
    /// CXone file name (S9).
    pub name: String,
    /// VOICE, SCREEN or STATEMENT.
    pub media_type: String,
    /// active, long_term, custom, sea (moved into SEA) or deleted.
    pub tier: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Recording time.
    pub recorded_at: String,
    /// Rule that manages the file, if any.
    pub rule_id: Option<String>,
    /// SEA placement, if any.
    pub sea: Option<Value>,
    /// Every SEA refusal of this file, with its reason (S3, S4).
    pub sea_refusals: Vec<Value>,
}

/// A page of files.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilePage {
    /// The files.
    pub files: Vec<FileView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// How many files match the query in all pages.
    pub total: i64,
}

/// Query of the listing.
#[derive(Debug, Clone, Default)]
pub struct FileQuery {
    /// Tier filter; `sea` means "has a live object in SEA" (copied or moved).
    pub tier: Option<String>,
    /// Media filter.
    pub media_type: Option<String>,
    /// Page size.
    pub limit: u32,
    /// Files after this sequence number.
    pub after_seq: i64,
}

/// One page of a tenant's files, in creation order.
pub fn list(c: &Connection, tenant_id: &str, q: &FileQuery, now: Instant) -> StoreResult<FilePage> {
    let tier_clause = match q.tier.as_deref() {
        Some("sea") => "AND sea_key IS NOT NULL AND sea_gone_at IS NULL AND expires_at > ?4".to_string(),
        Some(_) => "AND tier = ?2".to_string(),
        None => "AND tier != 'deleted'".to_string(),
    };
    let sql = format!(
        "SELECT seq,id,name,media_type,tier,size,sha256,recorded_at,rule_id,sea_action,placed_at,expires_at,sea_key,sea_gone_at
         FROM files WHERE tenant_id=?1 AND seq > ?3 {tier_clause} AND (?5 IS NULL OR media_type=?5)
         ORDER BY seq LIMIT ?6"
    );
    let total: i64 = c.query_row(
        // Same filter as the page query, from the first file (`seq > 0`).
        &format!("SELECT COUNT(*) FROM files WHERE tenant_id=?1 AND seq > ?3 {tier_clause} AND (?5 IS NULL OR media_type=?5)"),
        rusqlite::params![tenant_id, q.tier, 0, to_us(now), q.media_type],
        |r| r.get(0),
    )?;
    let mut st = c.prepare_cached(&sql)?;
    let limit = q.limit.clamp(1, 10_000);
    let rows = st.query_map(
        rusqlite::params![tenant_id, q.tier, q.after_seq, to_us(now), q.media_type, limit + 1],
        |r| {
            let sea = match r.get::<_, Option<String>>(9)? {
                Some(action) => Some(json!({
                    "action": action,
                    "placed_at": rfc3339(from_us(r.get(10)?)),
                    "expires_at": rfc3339(from_us(r.get(11)?)),
                    "key": r.get::<_, String>(12)?,
                    "gone": r.get::<_, Option<i64>>(13)?.is_some() || from_us(r.get(11)?) <= now,
                })),
                None => None,
            };
            Ok((
                r.get::<_, i64>(0)?,
                FileView {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    media_type: r.get(3)?,
                    tier: r.get(4)?,
                    size: r.get(5)?,
                    sha256: r.get(6)?,
                    recorded_at: rfc3339(from_us(r.get(7)?)),
                    rule_id: r.get(8)?,
                    sea,
                    sea_refusals: vec![],
                },
            ))
        },
    )?;
    let mut files: Vec<(i64, FileView)> = rows.collect::<Result<_, _>>()?;
    let next_cursor = if files.len() > limit as usize {
        files.truncate(limit as usize);
        files.last().map(|(seq, _)| seq.to_string())
    } else {
        None
    };
    let mut out = Vec::with_capacity(files.len());
    for (_, mut f) in files {
        f.sea_refusals = refusals(c, &f.id)?;
        out.push(f);
    }
    Ok(FilePage {
        files: out,
        next_cursor,
        total,
    })
}

fn refusals(c: &Connection, file_id: &str) -> StoreResult<Vec<Value>> {
    let mut st =
        c.prepare_cached("SELECT rule_id, reason, at FROM sea_refusals WHERE file_id=?1 ORDER BY at, rule_id")?;
    let rows = st.query_map([file_id], |r| {
        Ok(
            json!({"rule_id": r.get::<_, String>(0)?, "reason": r.get::<_, String>(1)?,
                  "at": rfc3339(from_us(r.get(2)?))}),
        )
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A live SEA object as the S3 front serves it.
#[derive(Debug, Clone)]
pub struct SeaObject {
    /// File id (seeds the bytes).
    pub file_id: String,
    /// Full key in `cxone-sea`.
    pub key: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256.
    pub sha256: String,
    /// Hex MD5 (the ETag).
    pub md5: String,
    /// Placement instant (`LastModified`).
    pub placed_at: Instant,
    /// Expiry instant (`x-amz-expiration`).
    pub expires_at: Instant,
}

fn row_to_sea(r: &rusqlite::Row<'_>) -> rusqlite::Result<SeaObject> {
    Ok(SeaObject {
        file_id: r.get(0)?,
        key: r.get(1)?,
        size: r.get(2)?,
        sha256: r.get(3)?,
        md5: r.get(4)?,
        placed_at: from_us(r.get(5)?),
        expires_at: from_us(r.get(6)?),
    })
}

const SEA_COLUMNS: &str = "id, sea_key, size, sha256, md5, placed_at, expires_at";
const SEA_LIVE: &str = "sea_key IS NOT NULL AND sea_gone_at IS NULL AND expires_at > ?2";

/// The live SEA object at `key` (hidden from the instant it expires).
pub fn sea_object(c: &Connection, key: &str, now: Instant) -> StoreResult<Option<SeaObject>> {
    let sql = format!("SELECT {SEA_COLUMNS} FROM files WHERE sea_key=?1 AND {SEA_LIVE}");
    Ok(c.query_row(&sql, rusqlite::params![key, to_us(now)], row_to_sea)
        .optional()?)
}

/// Live SEA objects of a tenant with keys starting with `prefix` and greater than `after`, in key
/// order. Read along the `sea_key` index from `max(prefix, just after after)` to the end of
/// `prefix`: a page costs its own rows, not a scan and sort of every file the tenant has
/// (`+tenant_id` keeps the planner off the tenant index).
pub fn sea_list(
    c: &Connection,
    tenant_id: &str,
    prefix: &str,
    after: &str,
    limit: u32,
    now: Instant,
) -> StoreResult<Vec<SeaObject>> {
    // `after + NUL` is the least string greater than `after`, so one inclusive bound serves both.
    let after_next = format!("{after}\0");
    let from = if after_next.as_str() > prefix {
        after_next.as_str()
    } else {
        prefix
    };
    let sql = format!(
        "SELECT {SEA_COLUMNS} FROM files WHERE +tenant_id=?1 AND {SEA_LIVE}
         AND sea_key >= ?3 AND sea_key < ?4 AND substr(sea_key, 1, length(?5)) = ?5
         ORDER BY sea_key LIMIT ?6"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(
        rusqlite::params![tenant_id, to_us(now), from, past_prefix(prefix), prefix, limit],
        row_to_sea,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether the tenant's SEA folder holds any live object (S6: an empty folder is AccessDenied).
/// Read along the `sea_key` index over the tenant's folder only.
pub fn sea_folder_has_objects(c: &Connection, tenant_id: &str, now: Instant) -> StoreResult<bool> {
    let folder = format!("{tenant_id}/");
    let sql =
        format!("SELECT 1 FROM files WHERE +tenant_id=?1 AND {SEA_LIVE} AND sea_key >= ?3 AND sea_key < ?4 LIMIT 1");
    Ok(c.query_row(
        &sql,
        rusqlite::params![tenant_id, to_us(now), folder, past_prefix(&folder)],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// An upper bound for keys starting with `prefix` (mock keys never contain U+10FFFF).
fn past_prefix(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}
