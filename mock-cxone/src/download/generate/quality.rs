//! Quality management data types: about one recorded voice contact in ten gets an `evaluation`
//! (same `call_uuid`, `contactId` and `agentId` as its `cdr` row), scored on a form whose
//! `question_scores` add up to the evaluation's points and `score_percentage`.
//!
//! The selection, form, answers and submission time are drawn from one stream shared by both data
//! types; the evaluation's and the questions' other details from a stream of their own each.

use arrow_array::{ArrayRef, RecordBatch};
use chrono::Duration;
use rand::Rng;

use super::columns::{bools, floats, ints, opt_strs, round_to, strs, times};
use super::contacts::{self, Contact};
use super::speech::analysed;
use super::{assemble, hour_contacts, Scope};
use crate::download::catalog::DataTypeSchema;
use crate::ids;
use crate::store::time::{to_us, Instant};

/// Share of recorded voice contacts evaluated.
pub(super) const EVALUATED_SHARE: f64 = 0.10;

/// A score at or above this percentage passes.
const PASS_PERCENTAGE: f64 = 80.0;

/// A form question: (question_id, section, text, points, auto-fail when answered No).
type Question = (i64, &'static str, &'static str, f64, bool);

/// An evaluation form: (form_id, name, questions).
type Form = (i64, &'static str, &'static [Question]);

const SERVICE_FORM: Form = (
    301,
    "Customer Service Quality v3",
    &[
        (1001, "Opening", "Used the standard greeting", 5.0, false),
        (1002, "Opening", "Verified the caller's identity", 10.0, true),
        (1003, "Discovery", "Identified the reason for the call", 10.0, false),
        (1004, "Discovery", "Asked relevant probing questions", 10.0, false),
        (1005, "Resolution", "Provided accurate information", 15.0, false),
        (1006, "Resolution", "Resolved the issue on first contact", 15.0, false),
        (1007, "Resolution", "Set clear expectations for next steps", 10.0, false),
        (1008, "Soft Skills", "Showed empathy and active listening", 10.0, false),
        (1009, "Soft Skills", "Avoided dead air and long holds", 5.0, false),
        (1010, "Closing", "Offered further help and closed properly", 10.0, false),
    ],
);

const SALES_FORM: Form = (
    302,
    "Sales Call Review",
    &[
        (2001, "Opening", "Used the standard greeting", 5.0, false),
        (2002, "Opening", "Gave the recording disclosure", 10.0, true),
        (2003, "Needs", "Identified the customer's needs", 15.0, false),
        (2004, "Needs", "Presented a relevant offer", 15.0, false),
        (2005, "Objections", "Handled objections", 15.0, false),
        (2006, "Objections", "Did not misrepresent terms", 15.0, true),
        (2007, "Close", "Asked for the sale", 15.0, false),
        (2008, "Close", "Confirmed the order details", 10.0, false),
    ],
);

const COMPLIANCE_FORM: Form = (
    303,
    "Compliance Checklist",
    &[
        (3001, "Compliance", "Recording disclosure given", 20.0, true),
        (
            3002,
            "Compliance",
            "Identity verified before account changes",
            20.0,
            true,
        ),
        (3003, "Compliance", "No card data read back", 20.0, true),
        (3004, "Compliance", "Complaint logged when raised", 15.0, false),
        (3005, "Documentation", "Correct disposition set", 15.0, false),
        (3006, "Documentation", "Contact summary documented", 10.0, false),
    ],
);

const ANSWERS: [&str; 4] = ["Yes", "Partial", "No", "N/A"];
const YES: u8 = 0;
const PARTIAL: u8 = 1;
const NO: u8 = 2;
const NOT_APPLICABLE: u8 = 3;

/// Most questions on a form.
const MAX_QUESTIONS: usize = 10;

const NOTES: [&str; 4] = [
    "Great recovery after the hold",
    "Review the disclosure script with the agent",
    "Shared as a best-practice example",
    "Coaching session scheduled",
];

const COMMENTS: [&str; 4] = [
    "Partially covered",
    "Missed at the start of the call",
    "See timestamp 02:15",
    "Customer had to repeat the request",
];

/// One evaluation with its answers.
struct Evaluation<'a> {
    c: &'a Contact,
    id: String,
    form: Form,
    start: i64,
    answers: [u8; MAX_QUESTIONS],
    earned: f64,
    possible: f64,
    auto_fail: bool,
    submitted: i64,
    updated: i64,
}

impl Evaluation<'_> {
    fn score(&self) -> f64 {
        if self.auto_fail {
            0.0
        } else if self.possible > 0.0 {
            round_to(self.earned * 100.0 / self.possible, 1)
        } else {
            100.0
        }
    }
}

/// Points earned and possible for an answer to a question.
fn points(q: &Question, answer: u8) -> (f64, f64) {
    match answer {
        YES => (q.3, q.3),
        PARTIAL => (q.3 / 2.0, q.3),
        NO => (0.0, q.3),
        _ => (0.0, 0.0),
    }
}

/// The hour's evaluations, in contact order.
fn evaluations<'a>(scope: Scope<'_>, all: &'a [Contact], hour_start: Instant) -> Vec<Evaluation<'a>> {
    let mut rng = contacts::rng_for(scope.seed, "qm", scope.tenant_id, hour_start);
    let namespace = ["evaluation/", scope.tenant_id].concat();
    let mut out = Vec::new();
    for c in all.iter().filter(|c| analysed(c) && c.agent_id.is_some()) {
        if !rng.random_bool(EVALUATED_SHARE) {
            continue;
        }
        let sales = matches!(c.skill_name, "Sales" | "Retention");
        let form = match rng.random_range(0..100u32) {
            0..15 => COMPLIANCE_FORM,
            _ if sales => SALES_FORM,
            _ => SERVICE_FORM,
        };
        let mut answers = [YES; MAX_QUESTIONS];
        let (mut earned, mut possible, mut auto_fail) = (0.0, 0.0, false);
        for (k, q) in form.2.iter().enumerate().take(MAX_QUESTIONS) {
            let roll = rng.random_range(0..100u32);
            let a = match (roll, q.4) {
                (0..97, true) => YES,
                (_, true) => NO,
                (0..78, false) => YES,
                (78..88, false) => PARTIAL,
                (88..95, false) => NO,
                _ => NOT_APPLICABLE,
            };
            answers[k] = a;
            let (e, p) = points(q, a);
            earned += e;
            possible += p;
            auto_fail |= q.4 && a == NO;
        }
        let submitted = c.end + Duration::seconds(rng.random_range(120..900));
        out.push(Evaluation {
            c,
            id: ids::uuid(scope.seed, &namespace, c.contact_id as u64),
            form,
            start: to_us(c.start),
            answers,
            earned,
            possible,
            auto_fail,
            submitted: to_us(submitted),
            updated: to_us(submitted + Duration::seconds(30)),
        });
    }
    out
}

/// `evaluation`: one row per evaluation.
pub(super) fn evaluation(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row<'a> {
        e: &'a Evaluation<'a>,
        kind: &'static str,
        evaluator: i64,
        dispute: Option<&'static str>,
        note: Option<&'static str>,
    }
    let all = hour_contacts(scope, hour_start);
    let evals = evaluations(scope, &all, hour_start);
    let mut rng = contacts::rng_for(scope.seed, "qm_evaluation", scope.tenant_id, hour_start);
    let rows: Vec<Row<'_>> = evals
        .iter()
        .map(|e| {
            let agent = e.c.agent_id.unwrap_or_default();
            let team = e.c.team_id.unwrap_or_default();
            let (kind, evaluator) = match rng.random_range(0..100u32) {
                0..85 => ("Evaluation", 900 + (team - 100)),
                85..95 => ("Self-Evaluation", agent),
                _ => ("Calibration", 910 + (team - 100)),
            };
            let disputed = rng.random_bool(0.05);
            let noted = rng.random_bool(0.15);
            let note = NOTES[rng.random_range(0..NOTES.len())];
            Row {
                e,
                kind,
                evaluator,
                dispute: disputed.then_some("Disputed"),
                note: noted.then_some(note),
            }
        })
        .collect();
    let named: Vec<(&str, ArrayRef)> = vec![
        ("call_uuid", strs(&rows, |r| &r.e.c.call_uuid)),
        ("evaluation_id", strs(&rows, |r| &r.e.id)),
        ("contactId", ints(&rows, |r| r.e.c.contact_id)),
        ("masterContactId", ints(&rows, |r| r.e.c.master_contact_id)),
        ("contactStart", times(&rows, |r| r.e.start)),
        ("agentId", ints(&rows, |r| r.e.c.agent_id.unwrap_or_default())),
        ("teamId", ints(&rows, |r| r.e.c.team_id.unwrap_or_default())),
        ("skillId", ints(&rows, |r| r.e.c.skill_id)),
        ("evaluator_id", ints(&rows, |r| r.evaluator)),
        ("evaluation_type", strs(&rows, |r| r.kind)),
        ("form_id", ints(&rows, |r| r.e.form.0)),
        ("form_name", strs(&rows, |r| r.e.form.1)),
        ("evaluation_submitted_time", times(&rows, |r| r.e.submitted)),
        ("score_percentage", floats(&rows, |r| r.e.score())),
        ("points_earned", floats(&rows, |r| r.e.earned)),
        ("points_possible", floats(&rows, |r| r.e.possible)),
        ("passed", bools(&rows, |r| r.e.score() >= PASS_PERCENTAGE)),
        ("auto_fail", bools(&rows, |r| r.e.auto_fail)),
        ("status", strs(&rows, |_| "Completed")),
        ("dispute_status", opt_strs(&rows, |r| r.dispute)),
        ("supervisor_note", opt_strs(&rows, |r| r.note)),
        ("compliance_flag", super::columns::all_null_strs(rows.len())),
        ("last_update_time", times(&rows, |r| r.e.updated)),
    ];
    assemble(schema, rows.len(), named)
}

/// `question_scores`: one row per question of every evaluation.
pub(super) fn question_scores(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row<'a> {
        e: &'a Evaluation<'a>,
        q: &'static Question,
        answer: u8,
        comment: Option<&'static str>,
    }
    let all = hour_contacts(scope, hour_start);
    let evals = evaluations(scope, &all, hour_start);
    let mut rng = contacts::rng_for(scope.seed, "qm_questions", scope.tenant_id, hour_start);
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(evals.len() * MAX_QUESTIONS);
    for e in &evals {
        for (k, q) in e.form.2.iter().enumerate().take(MAX_QUESTIONS) {
            let answer = e.answers[k];
            let commented = rng.random_bool(0.4);
            let comment = COMMENTS[rng.random_range(0..COMMENTS.len())];
            rows.push(Row {
                e,
                q,
                answer,
                comment: (commented && answer != YES).then_some(comment),
            });
        }
    }
    let named: Vec<(&str, ArrayRef)> = vec![
        ("call_uuid", strs(&rows, |r| &r.e.c.call_uuid)),
        ("evaluation_id", strs(&rows, |r| &r.e.id)),
        ("question_id", ints(&rows, |r| r.q.0)),
        ("contactStart", times(&rows, |r| r.e.start)),
        ("form_id", ints(&rows, |r| r.e.form.0)),
        ("section_name", strs(&rows, |r| r.q.1)),
        ("question_text", strs(&rows, |r| r.q.2)),
        ("answer", strs(&rows, |r| ANSWERS[r.answer as usize])),
        ("points_earned", floats(&rows, |r| points(r.q, r.answer).0)),
        ("points_possible", floats(&rows, |r| points(r.q, r.answer).1)),
        ("is_auto_fail_question", bools(&rows, |r| r.q.4)),
        ("evaluator_comment", opt_strs(&rows, |r| r.comment)),
        ("last_update_time", times(&rows, |r| r.e.updated)),
    ];
    assemble(schema, rows.len(), named)
}
