//! `qm-workflows` version 4: one row per quality-management workflow. About one recorded contact
//! in ten gets a workflow (an evaluation by the agent's supervisor, sometimes a self-evaluation
//! or a calibration) a few hours after it ends; it is due 7 days later and moves NEW →
//! IN_PROGRESS → COMPLETED (scored), or, if nobody starts it in time, EXPIRED at its due time.
//! Every value is drawn from a per-contact seeded stream, and the state is the one at `as_of`.

use chrono::Duration;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::csv::{CsvWriter, Field};
use super::results::Extract;
use crate::download::generate::contacts::Contact;
use crate::ids;
use crate::store::time::Instant;

/// Share of recorded contacts that get a workflow.
pub const WORKFLOW_SHARE: f64 = 0.10;

/// A workflow is due this long after it is created.
pub const DUE_AFTER_DAYS: i64 = 7;

/// A score at or above this percentage passes.
pub const PASS_PERCENTAGE: f64 = 80.0;

/// Evaluation forms of voice contacts.
const VOICE_FORMS: [&str; 3] = [
    "Customer Service Quality v3",
    "Sales Call Review",
    "Compliance Checklist",
];

/// The evaluation form of digital contacts.
const DIGITAL_FORM: &str = "Digital Interaction Review";

/// One workflow's life, independent of `as_of`.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// Workflow id (UUID).
    pub id: String,
    /// `EVALUATION`, `SELF_EVALUATION` or `CALIBRATION`.
    pub kind: &'static str,
    /// The evaluation form.
    pub form: &'static str,
    /// Who evaluates (a supervisor id, or the agent for self-evaluations).
    pub evaluator_id: i64,
    /// When it was assigned.
    pub created: Instant,
    /// When it is due.
    pub due: Instant,
    /// When the evaluator opened it (`None`: never, it expires).
    pub started: Option<Instant>,
    /// When it was submitted.
    pub submitted: Option<Instant>,
    /// Score of the submitted evaluation, in tenths of a percent.
    pub score_tenths: i64,
}

/// The workflow of a contact, if it gets one (recorded contacts handled by an agent only).
pub fn workflow(x: &Extract<'_>, c: &Contact) -> Option<Workflow> {
    let agent_id = c.agent_id?;
    if !c.recorded {
        return None;
    }
    let stream = ids::derive_u64(
        x.seed,
        &[b"qm-workflow", x.tenant_id.as_bytes(), &c.contact_id.to_le_bytes()],
    );
    let mut rng = ChaCha8Rng::seed_from_u64(stream);
    if !rng.random_bool(WORKFLOW_SHARE) {
        return None;
    }
    let kind = match rng.random_range(0..100) {
        0..85 => "EVALUATION",
        85..95 => "SELF_EVALUATION",
        _ => "CALIBRATION",
    };
    let form = if c.is_voice() {
        VOICE_FORMS[rng.random_range(0..VOICE_FORMS.len())]
    } else {
        DIGITAL_FORM
    };
    let team = c.team_id.unwrap_or(100);
    let supervisor = if rng.random_bool(0.8) {
        9001 + (team - 100)
    } else {
        9001 + rng.random_range(0..8)
    };
    let evaluator_id = if kind == "SELF_EVALUATION" {
        agent_id
    } else {
        supervisor
    };
    let created = c.end + Duration::seconds(rng.random_range(3_600..12 * 3_600));
    let due = created + Duration::days(DUE_AFTER_DAYS);
    let never_started = rng.random_bool(0.06);
    let started = created + Duration::seconds(rng.random_range(600..3 * 86_400));
    let submitted = started + Duration::seconds(rng.random_range(300..2 * 3_600));
    let score_tenths = rng.random_range(550..=1000);
    let (started, submitted) = if never_started {
        (None, None)
    } else {
        (Some(started), Some(submitted))
    };
    Some(Workflow {
        id: ids::uuid(x.seed, &format!("qm-workflow/{}", x.tenant_id), c.contact_id as u64),
        kind,
        form,
        evaluator_id,
        created,
        due,
        started,
        submitted,
        score_tenths,
    })
}

/// A workflow's state at `at`, the instant of its last change, and whether it is scored.
pub fn state_at(wf: &Workflow, at: Instant) -> (&'static str, Instant) {
    match (wf.started, wf.submitted) {
        (Some(_), Some(s)) if s <= at => ("COMPLETED", s),
        (Some(st), _) if st <= at => ("IN_PROGRESS", st),
        (None, _) if wf.due <= at => ("EXPIRED", wf.due),
        _ => ("NEW", wf.created),
    }
}

/// Writes one row per workflow of a contact in the range that existed at `as_of`.
pub fn write(x: &Extract<'_>, w: &mut CsvWriter) {
    for c in x.contacts() {
        let Some(wf) = workflow(x, &c) else { continue };
        if wf.created > x.as_of {
            continue;
        }
        let (state, last_update) = state_at(&wf, x.as_of);
        let completed = state == "COMPLETED";
        let shown = |t: Option<Instant>| t.filter(|t| *t <= x.as_of);
        let score = completed.then(|| format!("{}.{}", wf.score_tenths / 10, wf.score_tenths % 10));
        let passed = completed.then(|| wf.score_tenths as f64 / 10.0 >= PASS_PERCENTAGE);
        w.row(&[
            wf.id.clone().into(),
            wf.kind.into(),
            wf.form.into(),
            c.contact_id.into(),
            c.master_contact_id.into(),
            x.segment_id(c.contact_id).into(),
            c.agent_id.into(),
            c.team_id.into(),
            wf.evaluator_id.into(),
            wf.created.into(),
            wf.due.into(),
            state.into(),
            shown(wf.started).into(),
            shown(wf.submitted).into(),
            score.into(),
            passed.into(),
            Field::Time(last_update),
        ]);
    }
}
