//! Workforce management data types: the agent roster's `schedule` blocks and their `adherence`
//! state segments, hour by hour. Schedules are built first; adherence walks the same blocks, so
//! every segment's `scheduled_activity` is the activity of the block it lies in.
//!
//! Who works an hour: [`staffed`] agents (more at peak, a few at night), taken in a per-day seeded
//! order of the roster (`contacts::AGENTS`), so the same agents cover a whole day's shape.
//! Segments and blocks never cross an hour boundary: an hour's records belong to that hour alone.

use std::sync::LazyLock;

use arrow_array::{ArrayRef, RecordBatch};
use chrono::{Datelike, Duration};
use rand::seq::SliceRandom;
use rand::Rng;

use super::columns::{bools, ints, opt_strs, strs, times};
use super::contacts::{self, agent_id, team_of, AGENTS, PEAK_CONTACTS_PER_HOUR};
use super::{assemble, hour_id, Scope};
use crate::download::catalog::DataTypeSchema;
use crate::store::time::{day_start, to_us, Instant};

const FIRST_NAMES: [&str; 24] = [
    "Ava", "Liam", "Sofia", "Noah", "Maya", "Ethan", "Chloe", "Lucas", "Priya", "Mateo", "Hannah", "Omar", "Grace",
    "Diego", "Aisha", "Jonas", "Elena", "Kofi", "Mia", "Ravi", "Nora", "Tomas", "Leila", "Sam",
];
const LAST_NAMES: [&str; 24] = [
    "Garcia", "Smith", "Nguyen", "Okafor", "Muller", "Rossi", "Kim", "Silva", "Johnson", "Patel", "Cohen", "Lopez",
    "Brown", "Haddad", "Novak", "Tanaka", "Dubois", "Andersen", "Mensah", "Walker", "Ivanova", "Costa", "Reyes",
    "Wright",
];

/// Scheduling units (one per team, `teamId` 100 + n).
const TEAM_NAMES: [&str; 6] = [
    "Billing East",
    "Billing West",
    "Tech Support",
    "Sales & Retention",
    "Claims",
    "Customer Care",
];

/// Display names of the roster, by agent index.
static AGENT_NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    (0..AGENTS as usize)
        .map(|i| {
            let first = FIRST_NAMES[i % FIRST_NAMES.len()];
            let last = LAST_NAMES[(i * 7 + 3) % LAST_NAMES.len()];
            [first, " ", last].concat()
        })
        .collect()
});

fn agent_name(index: usize) -> &'static str {
    AGENT_NAMES.get(index).map(String::as_str).unwrap_or("Agent")
}

fn team_name(team_id: i64) -> &'static str {
    TEAM_NAMES[(team_id - 100).rem_euclid(TEAM_NAMES.len() as i64) as usize]
}

/// A schedule activity: (code, name, paid, productive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Activity {
    code: &'static str,
    name: &'static str,
    paid: bool,
    productive: bool,
}

const OPEN: Activity = Activity {
    code: "OPEN",
    name: "Open",
    paid: true,
    productive: true,
};
const BREAK: Activity = Activity {
    code: "BREAK",
    name: "Break",
    paid: true,
    productive: false,
};
const LUNCH: Activity = Activity {
    code: "LUNCH",
    name: "Lunch",
    paid: false,
    productive: false,
};
const MEETING: Activity = Activity {
    code: "MEETING",
    name: "Team Meeting",
    paid: true,
    productive: false,
};
const TRAINING: Activity = Activity {
    code: "TRAINING",
    name: "Training",
    paid: true,
    productive: false,
};
const COACHING: Activity = Activity {
    code: "COACHING",
    name: "Coaching",
    paid: true,
    productive: false,
};

/// Agents on shift in the hour: proportional to the contact curve, at least two.
pub(super) fn staffed(hour_start: Instant) -> usize {
    let share = contacts::expected_volume(hour_start) / PEAK_CONTACTS_PER_HOUR;
    ((AGENTS as f64 * share * 1.15).round() as usize).clamp(2, AGENTS as usize)
}

/// Indices of the agents on shift in the hour, ascending.
pub(super) fn on_shift(scope: Scope<'_>, hour_start: Instant) -> Vec<usize> {
    let mut order: Vec<usize> = (0..AGENTS as usize).collect();
    let mut rng = contacts::rng_for(scope.seed, "wfm_roster", scope.tenant_id, day_start(hour_start));
    order.shuffle(&mut rng);
    let mut on = order[..staffed(hour_start)].to_vec();
    on.sort_unstable();
    on
}

/// One schedule block of one agent (offsets in seconds from the hour start).
#[derive(Debug, Clone, Copy)]
struct Block {
    agent: usize,
    from: i64,
    to: i64,
    activity: Activity,
    note: Option<&'static str>,
}

/// Notes planners leave on a few schedules (on the agent's first block of the hour).
const SCHEDULE_NOTES: [&str; 3] = ["Shift swap approved", "Overtime", "Voluntary time off declined"];

/// The schedule blocks of the hour, agent by agent, each agent's covering the whole hour.
fn blocks(scope: Scope<'_>, hour_start: Instant) -> Vec<Block> {
    let on = on_shift(scope, hour_start);
    let mut rng = contacts::rng_for(scope.seed, "wfm_schedule", scope.tenant_id, hour_start);
    let hour = chrono::Timelike::hour(&hour_start) as usize;
    let weekday = hour_start.weekday().num_days_from_monday() < 5;
    let mut out = Vec::with_capacity(on.len() * 2);
    let mut on_iter = on.iter().peekable();
    // Draws are made for every agent of the roster, on shift or not, so that staffing changes
    // never shift another agent's schedule.
    for agent in 0..AGENTS as usize {
        let roll = rng.random_range(0..100u32);
        let slot = rng.random_range(0..4i64);
        let noted = rng.random_bool(0.03);
        let note = noted.then(|| SCHEDULE_NOTES[agent % SCHEDULE_NOTES.len()]);
        if on_iter.peek() != Some(&&agent) {
            continue;
        }
        on_iter.next();
        let lunch_hour = 11 + agent % 3;
        let special = if weekday && hour == lunch_hour {
            Some((LUNCH, (slot % 2) * 1800, 1800))
        } else {
            match roll {
                0..25 => Some((BREAK, (1 + slot % 3) * 900, 900)),
                25..29 => Some((MEETING, (slot % 2) * 1800, 1800)),
                29..32 => Some((TRAINING, (slot % 2) * 1800, 1800)),
                32..35 => Some((COACHING, (slot % 2) * 1800, 1800)),
                _ => None,
            }
        };
        let first = out.len();
        let mut block = |from, to, activity| {
            out.push(Block {
                agent,
                from,
                to,
                activity,
                note: None,
            })
        };
        match special {
            None => block(0, 3600, OPEN),
            Some((activity, from, len)) => {
                if from > 0 {
                    block(0, from, OPEN);
                }
                block(from, from + len, activity);
                if from + len < 3600 {
                    block(from + len, 3600, OPEN);
                }
            }
        }
        out[first].note = note;
    }
    out
}

/// When the week's schedule was published: the Thursday 15:00 UTC before its Monday.
fn published(hour_start: Instant) -> Instant {
    let day = day_start(hour_start);
    let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
    monday - Duration::days(4) + Duration::hours(15)
}

/// `1, 2, …` for consecutive rows of the same agent (rows come agent by agent): the agent's
/// sequence number in the hour, the last two digits of `block_id` and `segment_id` (an agent has at
/// most 3 blocks and, segments lasting a minute or more but for the last of a block, fewer than 70
/// segments an hour).
fn sequence<T>(rows: &[T], agent: impl Fn(&T) -> usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(rows.len());
    let mut previous = None;
    let mut n = 0;
    for r in rows {
        let a = agent(r);
        n = if previous == Some(a) { n + 1 } else { 1 };
        previous = Some(a);
        out.push(n);
    }
    out
}

/// `schedule`: every on-shift agent's blocks of the hour.
pub(super) fn schedule(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    let rows = blocks(scope, hour_start);
    let seq = sequence(&rows, |b| b.agent);
    let ids: Vec<i64> = seq.iter().map(|n| hour_id(hour_start) * 100 + n).collect();
    let h = to_us(hour_start);
    let published = to_us(published(hour_start));
    let id = |b: &Block| agent_id(b.agent as i64);
    let named: Vec<(&str, ArrayRef)> = vec![
        ("agentId", ints(&rows, id)),
        ("block_id", ints(&ids, |i| *i)),
        ("block_start", times(&rows, |b| h + b.from * 1_000_000)),
        ("block_end", times(&rows, |b| h + b.to * 1_000_000)),
        ("agentName", strs(&rows, |b| agent_name(b.agent))),
        ("teamId", ints(&rows, |b| team_of(id(b)))),
        ("schedulingUnit", strs(&rows, |b| team_name(team_of(id(b))))),
        ("duration_minutes", ints(&rows, |b| (b.to - b.from) / 60)),
        ("activity_code", strs(&rows, |b| b.activity.code)),
        ("activity_name", strs(&rows, |b| b.activity.name)),
        ("is_paid", bools(&rows, |b| b.activity.paid)),
        ("is_productive", bools(&rows, |b| b.activity.productive)),
        ("published_time", times(&rows, |_| published)),
        ("schedule_note", opt_strs(&rows, |b| b.note)),
        (
            "last_update_time",
            times(&rows, |b| h + (b.to + 60 + b.agent as i64 * 5) * 1_000_000),
        ),
    ];
    assemble(schema, rows.len(), named)
}

/// Agent states while an `Open` block is scheduled, with weights; all but `Unavailable` adhere.
const OPEN_STATES: [(&str, u32); 5] = [
    ("Inbound Contact", 50),
    ("Available", 22),
    ("ACW", 14),
    ("Outbound Contact", 7),
    ("Unavailable", 7),
];

/// Unavailable codes an agent picks outside scheduled activities.
const PERSONAL_CODES: [&str; 3] = ["Personal", "Technical Issue", "Restroom"];

/// Approved exceptions a supervisor records for an out-of-adherence segment.
const EXCEPTIONS: [&str; 3] = [
    "Approved: Extended Contact",
    "Approved: System Outage",
    "Supervisor Request",
];

/// Notes supervisors leave on a few segments.
const NOTES: [&str; 3] = [
    "Discussed in weekly 1:1",
    "Covered for a colleague on the Claims queue",
    "Late back from break; coached",
];

/// `adherence`: every on-shift agent's state segments of the hour.
pub(super) fn adherence(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row {
        agent: usize,
        from: i64,
        to: i64,
        scheduled: &'static str,
        state: &'static str,
        code: Option<&'static str>,
        adheres: bool,
        exception: Option<&'static str>,
        note: Option<&'static str>,
    }
    let schedule = blocks(scope, hour_start);
    let mut rng = contacts::rng_for(scope.seed, "wfm_adherence", scope.tenant_id, hour_start);
    let total: u32 = OPEN_STATES.iter().map(|(_, w)| w).sum();
    let mut rows: Vec<Row> = Vec::with_capacity(schedule.len() * 8);
    for b in &schedule {
        let mut push = |rng: &mut rand_chacha::ChaCha8Rng,
                        from: i64,
                        to: i64,
                        state: &'static str,
                        code: Option<&'static str>,
                        adheres: bool| {
            let exception =
                (!adheres && rng.random_bool(0.3)).then(|| EXCEPTIONS[rng.random_range(0..EXCEPTIONS.len())]);
            let note = rng.random_bool(0.02).then(|| NOTES[rng.random_range(0..NOTES.len())]);
            rows.push(Row {
                agent: b.agent,
                from,
                to,
                scheduled: b.activity.name,
                state,
                code,
                adheres,
                exception,
                note,
            });
        };
        if b.activity == OPEN {
            let mut t = b.from;
            let mut previous = "";
            while t < b.to {
                let mut x = rng.random_range(0..total);
                let mut pick = 0;
                while x >= OPEN_STATES[pick].1 {
                    x -= OPEN_STATES[pick].1;
                    pick += 1;
                }
                if OPEN_STATES[pick].0 == previous {
                    pick = (pick + 1) % OPEN_STATES.len();
                }
                let state = OPEN_STATES[pick].0;
                let to = (t + rng.random_range(60..=720)).min(b.to);
                let unavailable = state == "Unavailable";
                let code = unavailable.then(|| PERSONAL_CODES[rng.random_range(0..PERSONAL_CODES.len())]);
                push(&mut rng, t, to, state, code, !unavailable);
                previous = state;
                t = to;
            }
        } else {
            // Sometimes late into the activity (still on a contact), sometimes back early.
            let late = rng.random_bool(0.2).then(|| rng.random_range(60..=300));
            let early = rng.random_bool(0.1).then(|| rng.random_range(60..=180));
            let mut from = b.from;
            if let Some(l) = late {
                let to = (from + l).min(b.to);
                push(&mut rng, from, to, "Inbound Contact", None, false);
                from = to;
            }
            let until = early.map_or(b.to, |e| (b.to - e).max(from));
            if from < until {
                push(&mut rng, from, until, "Unavailable", Some(b.activity.name), true);
            }
            if until < b.to {
                push(&mut rng, until, b.to, "Available", None, false);
            }
        }
    }
    let seq = sequence(&rows, |r| r.agent);
    let ids: Vec<i64> = seq.iter().map(|n| hour_id(hour_start) * 100 + n).collect();
    let h = to_us(hour_start);
    let id = |r: &Row| agent_id(r.agent as i64);
    let named: Vec<(&str, ArrayRef)> = vec![
        ("agentId", ints(&rows, id)),
        ("segment_id", ints(&ids, |i| *i)),
        ("state_start", times(&rows, |r| h + r.from * 1_000_000)),
        ("state_end", times(&rows, |r| h + r.to * 1_000_000)),
        ("agentName", strs(&rows, |r| agent_name(r.agent))),
        ("teamId", ints(&rows, |r| team_of(id(r)))),
        ("duration_seconds", ints(&rows, |r| r.to - r.from)),
        ("scheduled_activity", strs(&rows, |r| r.scheduled)),
        ("actual_state", strs(&rows, |r| r.state)),
        ("unavailable_code", opt_strs(&rows, |r| r.code)),
        ("in_adherence", bools(&rows, |r| r.adheres)),
        ("exception_reason", opt_strs(&rows, |r| r.exception)),
        ("supervisor_note", opt_strs(&rows, |r| r.note)),
        ("last_update_time", times(&rows, |r| h + (r.to + 45) * 1_000_000)),
    ];
    assemble(schema, rows.len(), named)
}
