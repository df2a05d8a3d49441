//! Late versions of records (F2): what changes when a record is updated after its first export —
//! agents change dispositions, supervisors override QM scores, transcriptions are re-run, IVR
//! analytics reclassify sessions. Key columns and the event-time column never change; the
//! `last_update_time` becomes the update's, and at least one other column visibly changes in
//! every data type (docs/truth.md lists them).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::columns::round_to;
use super::contacts::DISPOSITIONS;
use super::rows::{Cell, Row};
use crate::download::catalog::DataTypeSchema;

/// The transcription model a re-run uses (the first pass uses `enlighten-stt-v4`).
pub const RERUN_MODEL: &str = "enlighten-stt-v5";

/// What an IVR session's `exit_reason` / a node's `result` becomes when post-call analytics
/// reclassify it.
pub const RECLASSIFIED: &str = "reclassified";

/// Turns `row` (a record of `schema`, v1 columns in order) into its late version updated at
/// `updated_us`, drawing from `seed`.
pub fn apply(schema: &DataTypeSchema, row: &mut Row, updated_us: i64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut r = Edit { schema, row };
    match schema.name {
        "cdr" => {
            let new = other_disposition(&mut rng, r.str("disposition"));
            r.set("disposition", Cell::Str(new.into()));
        }
        "interaction" => {
            let new = other_disposition(&mut rng, r.str("disposition"));
            r.set("disposition", Cell::Str(new.into()));
            if r.get("csat_score") == Cell::Null {
                r.set("csat_score", Cell::Int(rng.random_range(1..=5)));
            }
        }
        "acd" => {
            if r.bool("abandoned") == Some(true) {
                r.set("endReason", Cell::Str("Callback Requested".into()));
            } else {
                let extra = rng.random_range(15..300);
                r.add_int("ACWSeconds", extra);
                r.add_int("totalDurationSeconds", extra);
            }
        }
        "skill_group" => {
            // A late abandoned contact is counted: offered and abandoned go up by one.
            let offered = r.int("contactsOffered").unwrap_or(0) + 1;
            r.set("contactsOffered", Cell::Int(offered));
            r.add_int("contactsAbandoned", 1);
            let within = r.int("contactsWithinSL").unwrap_or(0);
            r.set(
                "serviceLevelPercent",
                Cell::Float(round_to(within as f64 * 100.0 / offered as f64, 2)),
            );
            let waited = rng.random_range(61..240);
            let max = r.int("maxInQueueSeconds").unwrap_or(0).max(waited);
            r.set("maxInQueueSeconds", Cell::Int(max));
        }
        "adherence" => {
            if r.bool("in_adherence") == Some(false) {
                r.set("in_adherence", Cell::Bool(true));
                r.set("exception_reason", Cell::Str("Approved by supervisor".into()));
                r.set("supervisor_note", Cell::Str("Exception approved".into()));
            } else {
                r.set("supervisor_note", Cell::Str("Reviewed by supervisor".into()));
            }
        }
        "schedule" => {
            r.set("published_time", Cell::Time(updated_us - 60_000_000));
            r.set("schedule_note", Cell::Str("Updated after publication".into()));
        }
        "transcript_analytics" => {
            r.set("transcription_model", Cell::Str(RERUN_MODEL.into()));
            r.set("transcription_completed_time", Cell::Time(updated_us - 30_000_000));
            let old = r.float("sentiment_score").unwrap_or(0.0);
            let shift = rng.random_range(0.2..0.6) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let mut score = round_to((old + shift).clamp(-1.0, 1.0), 2);
            if score == old {
                score = round_to((old - shift).clamp(-1.0, 1.0), 2);
            }
            r.set("sentiment_score", Cell::Float(score));
            let overall = if score > 0.25 {
                "Positive"
            } else if score < -0.25 {
                "Negative"
            } else if r.str("overall_sentiment") == Some("Mixed") {
                "Mixed"
            } else {
                "Neutral"
            };
            r.set("overall_sentiment", Cell::Str(overall.into()));
            let confidence = r.float("transcript_confidence").unwrap_or(0.8);
            r.set(
                "transcript_confidence",
                Cell::Float(round_to((confidence + rng.random_range(0.01..0.05)).min(0.99), 3)),
            );
        }
        "topics" => {
            r.add_int("match_count", 1);
            let old = r.float("confidence").unwrap_or(0.5);
            let mut new = round_to(rng.random_range(0.55..0.99), 2);
            if new == old {
                new = round_to((old + 0.01).min(0.99), 2);
                if new == old {
                    new = round_to(old - 0.01, 2);
                }
            }
            r.set("confidence", Cell::Float(new));
        }
        "ivr_session" => r.set("exit_reason", Cell::Str(RECLASSIFIED.into())),
        "ivr_node" => r.set("result", Cell::Str(RECLASSIFIED.into())),
        "message" => {
            let len = r.int("message_length").unwrap_or(0);
            let d = rng.random_range(1..40);
            r.set("message_length", Cell::Int(if len > 40 { len - d } else { len + d }));
            if r.str("delivery_status") == Some("delivered") {
                r.set("delivery_status", Cell::Str("read".into()));
            }
        }
        "evaluation" => {
            let old = r.float("score_percentage").unwrap_or(0.0);
            let delta = rng.random_range(5.0..20.0) * if old >= 90.0 || rng.random_bool(0.3) { -1.0 } else { 1.0 };
            let score = round_to((old + delta).clamp(0.0, 100.0), 1);
            let possible = r.float("points_possible").unwrap_or(100.0);
            r.set("score_percentage", Cell::Float(score));
            r.set("points_earned", Cell::Float(round_to(possible * score / 100.0, 1)));
            let auto_fail = r.bool("auto_fail").unwrap_or(false);
            r.set("passed", Cell::Bool(!auto_fail && score >= 80.0));
            r.set("status", Cell::Str("Overridden".into()));
            r.set("supervisor_note", Cell::Str("Score overridden by supervisor".into()));
        }
        "question_scores" => r.set("evaluator_comment", Cell::Str("Reviewed in calibration".into())),
        _ => {}
    }
    r.set("last_update_time", Cell::Time(updated_us));
}

fn other_disposition(rng: &mut ChaCha8Rng, old: Option<&str>) -> &'static str {
    match old {
        None => "Callback Scheduled",
        Some(old) => {
            let others: Vec<&'static str> = DISPOSITIONS.iter().copied().filter(|d| *d != old).collect();
            others[rng.random_range(0..others.len())]
        }
    }
}

/// A row with its schema, edited by column name.
struct Edit<'a> {
    schema: &'a DataTypeSchema,
    row: &'a mut Row,
}

impl Edit<'_> {
    fn index(&self, name: &str) -> Option<usize> {
        self.schema.columns.iter().position(|c| c.name == name)
    }

    fn get(&self, name: &str) -> Cell {
        self.index(name)
            .and_then(|i| self.row.get(i))
            .cloned()
            .unwrap_or(Cell::Null)
    }

    fn str(&self, name: &str) -> Option<&str> {
        self.index(name).and_then(|i| self.row.get(i)).and_then(Cell::as_str)
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.get(name).as_int()
    }

    fn float(&self, name: &str) -> Option<f64> {
        self.get(name).as_float()
    }

    fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).as_bool()
    }

    fn set(&mut self, name: &str, v: Cell) {
        if let Some(c) = self.index(name).and_then(|i| self.row.get_mut(i)) {
            *c = v;
        }
    }

    fn add_int(&mut self, name: &str, d: i64) {
        if let Some(x) = self.int(name) {
            self.set(name, Cell::Int(x + d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::download::catalog::Category;
    use crate::download::generate::rows::to_rows;
    use crate::download::generate::{hour_batch, Scope};
    use crate::store::time::parse_rfc3339;

    #[test]
    fn f2_late_versions_change_a_field_but_never_keys_or_event_time() {
        let scope = Scope {
            seed: 42,
            tenant_id: "t-demo",
        };
        let h = parse_rfc3339("2026-01-05T10:00:00Z").unwrap_or_default();
        for c in Category::ALL {
            for d in c.data_types() {
                let rows = to_rows(&hour_batch(scope, &d, h));
                assert!(!rows.is_empty(), "{}", d.name);
                let lut = d.columns.iter().position(|c| c.name == "last_update_time").unwrap_or(0);
                for (n, row) in rows.iter().enumerate() {
                    let mut late = row.clone();
                    let updated = row[lut].as_time().unwrap_or(0) + 3_600_000_000;
                    apply(&d, &mut late, updated, n as u64);
                    assert_eq!(late[lut], Cell::Time(updated));
                    let changed: Vec<&str> = d
                        .columns
                        .iter()
                        .enumerate()
                        .filter(|(i, c)| c.name != "last_update_time" && row[*i] != late[*i])
                        .map(|(_, c)| c.name.as_str())
                        .collect();
                    assert!(!changed.is_empty(), "{}: row {n} changes a field", d.name);
                    for (i, c) in d.columns.iter().enumerate() {
                        if d.key_columns.contains(&c.name.as_str()) || c.name == d.event_time_column {
                            assert_eq!(row[i], late[i], "{}.{} never changes", d.name, c.name);
                        }
                        if !c.nullable {
                            assert_ne!(late[i], Cell::Null, "{}.{} stays non-null", d.name, c.name);
                        }
                    }
                }
            }
        }
    }
}
