//! Kind-specific `params` of fault rules, typed, with their defaults (docs/faults.md lists them).

use serde::Deserialize;
use serde_json::Value;

use crate::download::catalog::ColType;
use crate::store::time::{parse_rfc3339, Instant};

/// The typed `params` of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    /// Kinds without parameters (or all defaults).
    None,
    /// `out_of_order`: `fraction` of the previous interval's records from its last `minutes`
    /// minutes are exported with this interval instead, after later records (F1).
    OutOfOrder {
        /// Share of the tail records carried over (default 0.5).
        fraction: f64,
        /// How far back from the interval start the tail reaches (default 10).
        minutes: i64,
    },
    /// `late_update`: `fraction` of records get a second version `min..max` hours later (F2).
    LateUpdate {
        /// Share of records updated (default 0.1).
        fraction: f64,
        /// Earliest delay in hours (default 1).
        min_delay_hours: f64,
        /// Latest delay in hours (default 24).
        max_delay_hours: f64,
    },
    /// `schema_drift`: from `at`, the data type carries `add_columns` (F6).
    SchemaDrift {
        /// The platform update instant.
        at: Instant,
        /// Columns added (populated).
        add_columns: Vec<(String, ColType)>,
    },
    /// `null_column_strip`: Parquet drops columns at least this null (default 0.5).
    NullColumnStrip {
        /// Threshold share of null rows.
        min_null_fraction: f64,
    },
    /// `record_count_mismatch`: the job reports this many percent more (or fewer, negative) rows.
    RecordCountMismatch {
        /// Percent (default 10, non-zero, -100..=1000).
        percent: f64,
    },
    /// `category_lag`: the matching category's jobs start this much later.
    CategoryLag {
        /// Least lag in minutes.
        min_minutes: i64,
        /// Most lag in minutes.
        max_minutes: i64,
    },
    /// `kms_key_rotation`: the tenant's key rotates at `at` (F9).
    KmsKeyRotation {
        /// Rotation instant.
        at: Instant,
    },
    /// `maintenance_window`: 503 with this `Retry-After` (default: seconds to the window end).
    MaintenanceWindow {
        /// Seconds in `Retry-After`, when fixed.
        retry_after_seconds: Option<u64>,
    },
    /// `job_failed` / `job_timed_out` / `destination_rejects_write`: the error text.
    Error {
        /// `error_details` of the job (a realistic default when absent).
        message: Option<String>,
    },
    /// `duplicate_manifest` / `duplicate_partition`: how many extra copies (default 1).
    Copies {
        /// Extra copies, 1-5.
        copies: u32,
    },
    /// A stored rule this build cannot read: it matches nothing.
    Invalid,
}

fn de<T: for<'a> Deserialize<'a>>(kind: &str, v: Option<&Value>) -> Result<T, String> {
    let v = v.cloned().unwrap_or(Value::Object(Default::default()));
    serde_json::from_value(v).map_err(|e| format!("params of {kind}: {e}"))
}

fn unit(name: &str, x: f64) -> Result<f64, String> {
    if x > 0.0 && x <= 1.0 {
        Ok(x)
    } else {
        Err(format!("params.{name} must be in (0, 1], got {x}"))
    }
}

fn at(kind: &str, s: Option<String>) -> Result<Instant, String> {
    let s = s.ok_or_else(|| format!("params.at is required for {kind} (RFC3339)"))?;
    parse_rfc3339(&s).ok_or_else(|| format!("params.at {s:?} is not an RFC3339 instant"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutOfOrderP {
    fraction: Option<f64>,
    minutes: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LateP {
    fraction: Option<f64>,
    min_delay_hours: Option<f64>,
    max_delay_hours: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DriftCol {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DriftP {
    at: Option<String>,
    add_columns: Vec<DriftCol>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NullP {
    min_null_fraction: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountP {
    percent: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LagP {
    min_minutes: i64,
    max_minutes: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AtP {
    at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaintP {
    retry_after_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrP {
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CopiesP {
    copies: Option<u32>,
}

fn column_name_ok(n: &str) -> bool {
    !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses and checks `params` for `kind`.
pub fn parse(kind: &str, v: Option<&Value>) -> Result<Params, String> {
    Ok(match kind {
        "out_of_order" => {
            let p: OutOfOrderP = de(kind, v)?;
            let minutes = p.minutes.unwrap_or(10);
            if !(1..=60).contains(&minutes) {
                return Err(format!("params.minutes must be 1-60, got {minutes}"));
            }
            Params::OutOfOrder {
                fraction: unit("fraction", p.fraction.unwrap_or(0.5))?,
                minutes,
            }
        }
        "late_update" => {
            let p: LateP = de(kind, v)?;
            let (lo, hi) = (p.min_delay_hours.unwrap_or(1.0), p.max_delay_hours.unwrap_or(24.0));
            if !(lo > 0.0 && lo <= hi && hi <= 24.0 * 30.0) {
                return Err(format!(
                    "params.min_delay_hours/max_delay_hours must satisfy 0 < min <= max <= 720, got {lo}/{hi}"
                ));
            }
            Params::LateUpdate {
                fraction: unit("fraction", p.fraction.unwrap_or(0.1))?,
                min_delay_hours: lo,
                max_delay_hours: hi,
            }
        }
        "schema_drift" => {
            let p: DriftP = de(kind, v)?;
            if p.add_columns.is_empty() || p.add_columns.len() > 20 {
                return Err("params.add_columns must list 1-20 columns".into());
            }
            let mut cols = Vec::new();
            for c in p.add_columns {
                if !column_name_ok(&c.name) {
                    return Err(format!(
                        "params.add_columns: bad column name {:?} (letters, digits, _)",
                        c.name
                    ));
                }
                let ty = ColType::parse(&c.ty).ok_or_else(|| {
                    format!(
                        "params.add_columns: type {:?} is not string, int64, double, boolean or timestamp",
                        c.ty
                    )
                })?;
                cols.push((c.name, ty));
            }
            Params::SchemaDrift {
                at: at(kind, p.at)?,
                add_columns: cols,
            }
        }
        "null_column_strip" => {
            let p: NullP = de(kind, v)?;
            Params::NullColumnStrip {
                min_null_fraction: unit("min_null_fraction", p.min_null_fraction.unwrap_or(0.5))?,
            }
        }
        "record_count_mismatch" => {
            let p: CountP = de(kind, v)?;
            let percent = p.percent.unwrap_or(10.0);
            if percent == 0.0 || !(-100.0..=1000.0).contains(&percent) {
                return Err(format!(
                    "params.percent must be non-zero and in -100..=1000, got {percent}"
                ));
            }
            Params::RecordCountMismatch { percent }
        }
        "category_lag" => {
            let p: LagP = de(kind, v)?;
            if !(0 <= p.min_minutes && p.min_minutes <= p.max_minutes && p.max_minutes <= 24 * 60) {
                return Err("params must satisfy 0 <= min_minutes <= max_minutes <= 1440".into());
            }
            Params::CategoryLag {
                min_minutes: p.min_minutes,
                max_minutes: p.max_minutes,
            }
        }
        "kms_key_rotation" => {
            let p: AtP = de(kind, v)?;
            Params::KmsKeyRotation { at: at(kind, p.at)? }
        }
        "maintenance_window" => {
            let p: MaintP = de(kind, v)?;
            Params::MaintenanceWindow {
                retry_after_seconds: p.retry_after_seconds,
            }
        }
        "job_failed" | "job_timed_out" | "destination_rejects_write" => {
            let p: ErrP = de(kind, v)?;
            Params::Error { message: p.message }
        }
        "duplicate_manifest" | "duplicate_partition" => {
            let p: CopiesP = de(kind, v)?;
            let copies = p.copies.unwrap_or(1);
            if !(1..=5).contains(&copies) {
                return Err(format!("params.copies must be 1-5, got {copies}"));
            }
            Params::Copies { copies }
        }
        _ => {
            let _: Empty = de(kind, v)?;
            Params::None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_default_and_validate() {
        assert_eq!(
            parse("record_count_mismatch", None),
            Ok(Params::RecordCountMismatch { percent: 10.0 })
        );
        assert!(parse("record_count_mismatch", Some(&json!({"percent": 0}))).is_err());
        assert!(parse(
            "schema_drift",
            Some(&json!({"add_columns": [{"name": "x", "type": "string"}]}))
        )
        .is_err());
        assert!(parse(
            "schema_drift",
            Some(&json!({"at": "2026-01-02T00:00:00Z", "add_columns": [{"name": "x", "type": "varchar"}]}))
        )
        .is_err());
        assert!(parse("late_update", Some(&json!({"fraction": 2}))).is_err());
        assert!(parse("placeholder_manifest", Some(&json!({"surprise": 1}))).is_err());
        assert_eq!(parse("placeholder_manifest", None), Ok(Params::None));
    }
}
