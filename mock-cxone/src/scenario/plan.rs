//! A [`Scenario`] with its instants resolved against a start: the concrete request bodies, the
//! timeline in time order, and every check that compares instants (start before end, timeline
//! inside the run, recordings not from the future, windows that close after they open).

use chrono::Duration;
use serde_json::Value;

use super::parse::{locate, Action, Length, RecordingsSpec, Scenario};
use super::when::{self, When};
use super::{Pos, ScenarioError};
use crate::faults::rules::RuleSpec as FaultSpec;
use crate::storage::recordings::NewRecordings;
use crate::store::time::{rfc3339, Instant};

/// What loading does, with instants.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where the clock starts.
    pub start: Instant,
    /// Where `scenario run` stops.
    pub end: Instant,
    /// One body per `[[recordings]]` entry.
    pub recordings: Vec<NewRecordings>,
    /// One rule per `[[faults]]` entry (`tenant_id`/`download_id` are filled when applied).
    pub faults: Vec<FaultSpec>,
    /// The timeline in time order (ties in file order).
    pub steps: Vec<Step>,
}

/// One timeline entry, resolved.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index in [`Scenario::timeline`].
    pub index: usize,
    /// When.
    pub at: Instant,
    /// `add_recordings`: the body.
    pub recordings: Option<NewRecordings>,
    /// `manual_export`: the range.
    pub range: Option<(Instant, Instant)>,
}

type R<T> = Result<T, ScenarioError>;

/// The recordings a spec asks for, in `[start, end)` (default: the 7 days before `anchor`),
/// never after `anchor` (recordings cannot come from the future).
fn recordings(spec: &RecordingsSpec, base: Instant, anchor: Instant, anchor_name: &str, pos: Pos) -> R<NewRecordings> {
    let end = spec.end.map_or(anchor, |(w, _)| w.resolve(base));
    let start = spec.start.map_or(end - Duration::days(7), |(w, _)| w.resolve(base));
    if start >= end {
        let p = spec.start.map_or(pos, |(_, p)| p);
        return Err(ScenarioError::new(
            p,
            format!("start ({}) must be before end ({})", rfc3339(start), rfc3339(end)),
        ));
    }
    if end > anchor {
        let p = spec.end.map_or(pos, |(_, p)| p);
        return Err(ScenarioError::new(
            p,
            format!(
                "end ({}) is after {anchor_name} ({}): recordings cannot come from the future",
                rfc3339(end),
                rfc3339(anchor)
            ),
        ));
    }
    Ok(NewRecordings {
        count: spec.count,
        media_types: spec.media_types.clone(),
        start,
        end,
        tier: spec.tier.clone(),
    })
}

/// Resolves an offset written as `params.at` (`"+12h"`) to an RFC3339 string.
fn resolve_params(params: Option<&Value>, base: Instant, pos: Pos) -> R<Option<Value>> {
    let Some(mut p) = params.cloned() else {
        return Ok(None);
    };
    if let Some(at) = p.get_mut("at") {
        if at.as_str().is_some_and(|s| s.starts_with('+') || s.starts_with('-')) {
            let w = when::parse(at).map_err(|e| ScenarioError::new(pos, format!("params.at: {e}")))?;
            *at = Value::String(rfc3339(w.resolve(base)));
        }
    }
    Ok(Some(p))
}

impl Scenario {
    /// Resolves every instant with `base` as the start (the file's `start` when it has one).
    pub fn plan(&self, base: Instant) -> R<Plan> {
        let start = self.start.unwrap_or(base);
        let end = match self.length {
            Length::RunFor(s) => start + Duration::seconds(s),
            Length::End(w) => w.resolve(start),
        };
        if end < start {
            return Err(ScenarioError::new(
                self.length_pos,
                format!("end ({}) is before start ({})", rfc3339(end), rfc3339(start)),
            ));
        }
        let recs = self
            .recordings
            .iter()
            .map(|r| recordings(&r.spec, start, start, "the scenario's start", r.pos))
            .collect::<R<Vec<_>>>()?;
        let mut faults = Vec::with_capacity(self.faults.len());
        for f in &self.faults {
            let at = |w: &Option<(When, Pos)>| w.map(|(w, _)| rfc3339(w.resolve(start)));
            let params_pos = f.fields.iter().find(|(n, _)| *n == "params").map_or(f.pos, |(_, p)| *p);
            let spec = FaultSpec {
                kind: f.kind.clone(),
                tenant_id: None,
                download_id: None,
                category: f.category.clone(),
                data_type: f.data_type.clone(),
                from: at(&f.from),
                until: at(&f.until),
                next_jobs: f.next_jobs,
                probability: f.probability,
                params: resolve_params(f.params.as_ref(), start, params_pos)?,
            };
            if let Err(e) = spec.validate() {
                return Err(ScenarioError::new(locate(&e.0, &f.fields, f.pos), e.0));
            }
            faults.push(spec);
        }
        let mut steps = Vec::with_capacity(self.timeline.len());
        for (index, t) in self.timeline.iter().enumerate() {
            let at = t.at.resolve(start);
            if at < start {
                return Err(ScenarioError::new(
                    t.at_pos,
                    format!(
                        "this entry ({}) is before the scenario's start ({})",
                        rfc3339(at),
                        rfc3339(start)
                    ),
                ));
            }
            if at > end {
                return Err(ScenarioError::new(
                    t.at_pos,
                    format!(
                        "this entry ({}) is after the scenario's end ({}): it would never happen; lengthen run_for or move it",
                        rfc3339(at),
                        rfc3339(end)
                    ),
                ));
            }
            let mut step = Step {
                index,
                at,
                recordings: None,
                range: None,
            };
            match &t.action {
                Action::AddRecordings { spec, .. } => {
                    step.recordings = Some(recordings(spec, start, at, "the entry's `at`", t.pos)?);
                }
                Action::ManualExport {
                    start_time, end_time, ..
                } => {
                    let (s, e) = (start_time.0.resolve(start), end_time.0.resolve(start));
                    if s >= e {
                        return Err(ScenarioError::new(
                            start_time.1,
                            format!("start_time ({}) must be before end_time ({})", rfc3339(s), rfc3339(e)),
                        ));
                    }
                    if e > at {
                        return Err(ScenarioError::new(
                            end_time.1,
                            format!(
                                "end_time ({}) is after the entry's `at` ({}): only ended intervals can be exported",
                                rfc3339(e),
                                rfc3339(at)
                            ),
                        ));
                    }
                    step.range = Some((s, e));
                }
                _ => {}
            }
            steps.push(step);
        }
        // Stable: entries at the same instant keep their file order.
        steps.sort_by_key(|s| s.at);
        Ok(Plan {
            start,
            end,
            recordings: recs,
            faults,
            steps,
        })
    }
}
