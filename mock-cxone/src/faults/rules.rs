//! Fault rules (CONTRACT §6): what `POST /_mock/faults` and scenarios add. A rule names a kind,
//! what it targets (tenant, download, category, data type, a window, the next N jobs, a
//! probability) and kind-specific `params`. Rules are stored, so they survive restarts and the
//! same seed and steps make them fire identically.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::params::{self, Params};
use crate::download::catalog::Category;
use crate::ids;
use crate::store::time::{from_us, parse_rfc3339, rfc3339, to_us, Instant};
use crate::store::{next_counter, StoreResult};

/// Every fault kind, as CONTRACT §6 names them.
pub const KINDS: [&str; 16] = [
    "out_of_order",
    "late_update",
    "duplicate_manifest",
    "duplicate_partition",
    "placeholder_manifest",
    "partial_partition",
    "schema_drift",
    "null_column_strip",
    "job_failed",
    "job_timed_out",
    "record_count_mismatch",
    "checksum_mismatch",
    "destination_rejects_write",
    "kms_key_rotation",
    "category_lag",
    "maintenance_window",
];

/// A rule as the API receives it.
#[derive(Debug, Clone, Deserialize, Serialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// One of [`KINDS`].
    pub kind: String,
    /// Only this tenant's downloads / requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Only this download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_id: Option<String>,
    /// Only this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Only this data type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// Data intervals (or, for request faults, instants) from this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// ... until this instant (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Only the next N jobs it matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_jobs: Option<u32>,
    /// Chance per matching job (or interval), drawn from the seed; 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Kind-specific parameters (see `faults::params`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A stored rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `fault-<uuid>`.
    pub id: String,
    /// The rule as given (validated).
    pub spec: RuleSpec,
    /// Typed `from`.
    pub from: Option<Instant>,
    /// Typed `until`.
    pub until: Option<Instant>,
    /// Typed `params`.
    pub params: Params,
    /// Jobs it may still fire on (`next_jobs`), `None` for unlimited.
    pub remaining: Option<u32>,
    /// Times it fired.
    pub fired: u64,
    /// When it was added.
    pub created_at: Instant,
}

/// Why a rule is refused (a 400 naming the field).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRule(pub String);

fn bad<T>(msg: impl Into<String>) -> Result<T, InvalidRule> {
    Err(InvalidRule(msg.into()))
}

fn instant(name: &str, v: &Option<String>) -> Result<Option<Instant>, InvalidRule> {
    match v {
        None => Ok(None),
        Some(s) => match parse_rfc3339(s) {
            Some(t) => Ok(Some(t)),
            None => bad(format!("{name} {s:?} is not an RFC3339 instant")),
        },
    }
}

impl RuleSpec {
    /// Checks every field; returns the typed window and params.
    pub fn validate(&self) -> Result<(Option<Instant>, Option<Instant>, Params), InvalidRule> {
        if !KINDS.contains(&self.kind.as_str()) {
            return bad(format!(
                "unknown fault kind {:?}; kinds are {}",
                self.kind,
                KINDS.join(", ")
            ));
        }
        let category = match &self.category {
            None => None,
            Some(c) => match Category::parse(c) {
                Some(c) => Some(c),
                None => return bad(format!("unknown category {c:?}")),
            },
        };
        if let Some(dt) = &self.data_type {
            let known = match category {
                Some(c) => c.data_type(dt).is_some(),
                None => Category::ALL.iter().any(|c| c.data_type(dt).is_some()),
            };
            if !known {
                return bad(format!(
                    "unknown data type {dt:?}{}",
                    category.map_or(String::new(), |c| format!(" for category {}", c.as_str()))
                ));
            }
        }
        let from = instant("from", &self.from)?;
        let until = instant("until", &self.until)?;
        if let (Some(f), Some(u)) = (from, until) {
            if f >= u {
                return bad("from must be before until");
            }
        }
        if self.next_jobs == Some(0) {
            return bad("next_jobs must be at least 1");
        }
        if let Some(p) = self.probability {
            if !(p > 0.0 && p <= 1.0) {
                return bad(format!("probability must be in (0, 1], got {p}"));
            }
        }
        let params = params::parse(&self.kind, self.params.as_ref()).map_err(InvalidRule)?;
        Ok((from, until, params))
    }
}

impl Rule {
    /// The API representation.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.spec).unwrap_or_else(|_| json!({}));
        if let Some(o) = v.as_object_mut() {
            o.insert("id".into(), json!(self.id));
            o.insert("remaining_jobs".into(), json!(self.remaining));
            o.insert("fired".into(), json!(self.fired));
            o.insert("created_at".into(), json!(rfc3339(self.created_at)));
        }
        v
    }

    /// Whether `at` is inside the rule's window.
    pub fn covers(&self, at: Instant) -> bool {
        self.from.is_none_or(|f| at >= f) && self.until.is_none_or(|u| at < u)
    }

    /// Whether the interval `[start, end)` overlaps the rule's window.
    pub fn overlaps(&self, start: Instant, end: Instant) -> bool {
        self.from.is_none_or(|f| end > f) && self.until.is_none_or(|u| start < u)
    }

    /// The seeded draw for this rule and `subject` (a job id, an interval...): true with the
    /// rule's probability. The same seed, rule and subject always draw the same.
    pub fn draw(&self, seed: u64, subject: &str) -> bool {
        let p = self.spec.probability.unwrap_or(1.0);
        if p >= 1.0 {
            return true;
        }
        let x = ids::derive_u64(seed, &[b"fault-draw", self.id.as_bytes(), subject.as_bytes()]);
        (x as f64 / u64::MAX as f64) < p
    }

    /// A deterministic u64 for kind-specific choices about `subject` (which rows, which file...).
    pub fn seed_for(&self, seed: u64, subject: &str) -> u64 {
        ids::derive_u64(seed, &[b"fault-choice", self.id.as_bytes(), subject.as_bytes()])
    }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Rule> {
    let spec: String = r.get(1)?;
    let spec: RuleSpec = serde_json::from_str(&spec)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?;
    // Stored rules were validated when stored; a failure here means a newer build refuses an
    // older rule, which then matches nothing rather than crashing the engine.
    let (from, until, params) = spec.validate().unwrap_or((None, None, Params::Invalid));
    let remaining: Option<i64> = r.get(2)?;
    Ok(Rule {
        id: r.get(0)?,
        spec,
        from,
        until,
        params,
        remaining: remaining.map(|n| n.max(0) as u32),
        fired: r.get::<_, i64>(3)? as u64,
        created_at: from_us(r.get(4)?),
    })
}

/// Stores a validated rule; returns it.
pub fn insert(c: &Connection, seed: u64, now: Instant, spec: RuleSpec) -> Result<Rule, RuleError> {
    let (from, until, params) = spec.validate()?;
    let n = next_counter(c, "fault")?;
    let rule = Rule {
        id: format!("fault-{}", ids::uuid(seed, "fault", n)),
        remaining: spec.next_jobs,
        spec,
        from,
        until,
        params,
        fired: 0,
        created_at: now,
    };
    let text = serde_json::to_string(&rule.spec).map_err(|e| RuleError::Invalid(InvalidRule(e.to_string())))?;
    c.execute(
        "INSERT INTO fault_rules (fault_id, spec, remaining, fired, created_at) VALUES (?1, ?2, ?3, 0, ?4)",
        params![rule.id, text, rule.remaining, to_us(now)],
    )?;
    Ok(rule)
}

/// Why a rule could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// Bad rule (400).
    #[error(transparent)]
    Invalid(#[from] InvalidRule),
    /// Store failure.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<rusqlite::Error> for RuleError {
    fn from(e: rusqlite::Error) -> Self {
        RuleError::Store(e.into())
    }
}

const COLUMNS: &str = "fault_id, spec, remaining, fired, created_at";

/// Every rule, oldest first.
pub fn list(c: &Connection) -> StoreResult<Vec<Rule>> {
    let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM fault_rules ORDER BY rowid"))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Rules of one kind, oldest first.
pub fn of_kind(c: &Connection, kind: &str) -> StoreResult<Vec<Rule>> {
    Ok(list(c)?.into_iter().filter(|r| r.spec.kind == kind).collect())
}

/// One rule.
pub fn get(c: &Connection, id: &str) -> StoreResult<Option<Rule>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM fault_rules WHERE fault_id=?1"),
        [id],
        from_row,
    )
    .optional()?)
}

/// Removes a rule; false when there was none.
pub fn delete(c: &Connection, id: &str) -> StoreResult<bool> {
    Ok(c.execute("DELETE FROM fault_rules WHERE fault_id=?1", [id])? > 0)
}

/// Counts a firing; with `next_jobs`, uses one of the remaining jobs.
pub fn count_firing(c: &Connection, id: &str, uses_a_job: bool) -> StoreResult<()> {
    c.execute(
        "UPDATE fault_rules SET fired = fired + 1, \
         remaining = CASE WHEN ?2 AND remaining IS NOT NULL THEN remaining - 1 ELSE remaining END \
         WHERE fault_id = ?1",
        params![id, uses_a_job],
    )?;
    Ok(())
}
