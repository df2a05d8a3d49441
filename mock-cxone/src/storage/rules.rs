//! Life Cycle Management rules: `{"name","media_type"?,"after_days","action","priority"?,"filters"?}`.
//!
//! A rule matches a file by media type, age (`after_days` counted from the recording's time) and
//! optional filters. Which rule *claims* a file is decided in `lifecycle`.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::{StoreError, StoreResult};

/// Actions a rule can take.
pub const ACTIONS: [&str; 5] = ["keep", "archive", "delete", "copy_to_sea", "move_to_sea"];

/// Default priority (lower runs first).
pub const DEFAULT_PRIORITY: i64 = 100;

/// Optional narrowing of what a rule matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Only files whose name contains this text (e.g. a contact id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_contains: Option<String>,
}

/// A rule as stored and served.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rule {
    /// `rule-<uuid>`.
    pub id: String,
    /// Owner.
    #[serde(skip)]
    pub tenant_id: String,
    /// Display name.
    pub name: String,
    /// VOICE, SCREEN, STATEMENT, or null for all.
    pub media_type: Option<String>,
    /// Days after the recording's time before the rule applies.
    pub after_days: i64,
    /// One of [`ACTIONS`].
    pub action: String,
    /// Ascending order of application; ties by creation order.
    pub priority: i64,
    /// Optional filters.
    pub filters: Option<Filters>,
    /// Creation instant.
    pub created_at: String,
    /// Last edit instant.
    pub updated_at: String,
}

/// A validated create or update.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// Display name.
    pub name: String,
    /// Media type or all.
    pub media_type: Option<String>,
    /// Age threshold in days.
    pub after_days: i64,
    /// Action.
    pub action: String,
    /// Priority.
    pub priority: i64,
    /// Filters.
    pub filters: Option<Filters>,
}

impl Rule {
    /// Whether the action places files in SEA.
    pub fn is_sea(&self) -> bool {
        is_sea_action(&self.action)
    }

    /// SQL predicate (over `files`) for "this rule matches the file at instant `at`".
    /// Values are inlined: media types and numbers are validated, the filter text is quoted.
    pub fn predicate(&self, at: Instant) -> String {
        let cutoff = to_us(at) - self.after_days * 86_400_000_000;
        let mut p = format!("(recorded_at <= {cutoff}");
        if let Some(m) = &self.media_type {
            p.push_str(&format!(" AND media_type = '{m}'"));
        }
        if let Some(text) = self.filters.as_ref().and_then(|f| f.name_contains.as_ref()) {
            p.push_str(&format!(" AND instr(name, '{}') > 0", text.replace('\'', "''")));
        }
        p.push(')');
        p
    }
}

/// Whether `action` places files in SEA.
pub fn is_sea_action(action: &str) -> bool {
    action == "copy_to_sea" || action == "move_to_sea"
}

const COLUMNS: &str = "id,tenant_id,name,media_type,after_days,action,priority,filters,created_at,updated_at";

fn row_to_rule(r: &rusqlite::Row<'_>) -> rusqlite::Result<Rule> {
    let filters: Option<String> = r.get(7)?;
    Ok(Rule {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        name: r.get(2)?,
        media_type: r.get(3)?,
        after_days: r.get(4)?,
        action: r.get(5)?,
        priority: r.get(6)?,
        filters: filters.and_then(|f| serde_json::from_str(&f).ok()),
        created_at: rfc3339(from_us(r.get(8)?)),
        updated_at: rfc3339(from_us(r.get(9)?)),
    })
}

/// A tenant's rules in application order: ascending priority, ties by creation order.
pub fn list(c: &Connection, tenant_id: &str) -> StoreResult<Vec<Rule>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM lifecycle_rules WHERE tenant_id=?1 ORDER BY priority, seq"
    ))?;
    let rows = st.query_map([tenant_id], row_to_rule)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One rule of a tenant.
pub fn get(c: &Connection, tenant_id: &str, id: &str) -> StoreResult<Option<Rule>> {
    let sql = format!("SELECT {COLUMNS} FROM lifecycle_rules WHERE tenant_id=?1 AND id=?2");
    Ok(c.query_row(&sql, [tenant_id, id], row_to_rule).optional()?)
}

/// Creates a rule; returns it.
pub fn create(c: &Connection, seed: u64, now: Instant, tenant_id: &str, spec: &RuleSpec) -> StoreResult<Rule> {
    let n = crate::store::next_counter(c, "rule")?;
    let id = format!("rule-{}", crate::ids::uuid(seed, "rule", n));
    let filters = spec.filters.as_ref().map(serde_json::to_string).transpose()?;
    c.execute(
        &format!("INSERT INTO lifecycle_rules({COLUMNS}) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?9)"),
        rusqlite::params![
            id,
            tenant_id,
            spec.name,
            spec.media_type,
            spec.after_days,
            spec.action,
            spec.priority,
            filters,
            to_us(now)
        ],
    )?;
    get(c, tenant_id, &id)?.ok_or(StoreError::Missing(id))
}

/// Replaces a rule's settings. Files it already claimed keep the fate decided then.
pub fn update(c: &Connection, now: Instant, tenant_id: &str, id: &str, spec: &RuleSpec) -> StoreResult<Option<Rule>> {
    let filters = spec.filters.as_ref().map(serde_json::to_string).transpose()?;
    let n = c.execute(
        "UPDATE lifecycle_rules SET name=?3,media_type=?4,after_days=?5,action=?6,priority=?7,filters=?8,updated_at=?9
         WHERE tenant_id=?1 AND id=?2",
        rusqlite::params![
            tenant_id,
            id,
            spec.name,
            spec.media_type,
            spec.after_days,
            spec.action,
            spec.priority,
            filters,
            to_us(now)
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    get(c, tenant_id, id)
}

/// Deletes a rule. Files it claimed stay managed (they never become eligible again).
pub fn delete(c: &Connection, tenant_id: &str, id: &str) -> StoreResult<bool> {
    Ok(c.execute(
        "DELETE FROM lifecycle_rules WHERE tenant_id=?1 AND id=?2",
        [tenant_id, id],
    )? > 0)
}
