//! Telephony data types (the guide's `cdr`, `acd`, `skill_group`): the hour's voice contacts,
//! one row each in `cdr` and `acd`, and one aggregate row per skill in `skill_group`.

use arrow_array::{ArrayRef, RecordBatch};
use chrono::Duration;
use rand::Rng;

use super::columns::{
    all_null_strs, bools, ints, opt_bools, opt_floats, opt_ints, opt_strs, opt_times, round_to, strs, times,
};
use super::contacts::{self, Contact, AGENTS, SKILLS};
use super::{assemble, hour_contacts, hour_end, hour_id, Scope};
use crate::download::catalog::DataTypeSchema;
use crate::store::time::{to_us, Instant};

/// When a contact's first version was final: a few minutes after it ended.
pub(super) fn first_update(c: &Contact) -> Instant {
    c.end + Duration::seconds(30 + c.contact_id % 240)
}

/// Why a transfer leg was transferred (`cdr.transfer_reason`).
const TRANSFER_REASONS: [&str; 4] = [
    "Warm Transfer",
    "Blind Transfer",
    "Supervisor Escalation",
    "Wrong Skill",
];

/// Whether the contact at `i` of the hour was transferred: the next contact is a leg of its chain.
pub(super) fn transferred(all: &[Contact], i: usize) -> bool {
    match all.get(i + 1) {
        Some(n) => n.master_contact_id == all[i].master_contact_id && n.contact_id != n.master_contact_id,
        None => false,
    }
}

/// The hour's voice contacts with their index in the hour.
fn voice(all: &[Contact]) -> Vec<(usize, &Contact)> {
    all.iter().enumerate().filter(|(_, c)| c.is_voice()).collect()
}

/// `cdr`: one call detail record per voice contact.
pub(super) fn cdr(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row<'a> {
        c: &'a Contact,
        start: i64,
        end: i64,
        transfer_reason: Option<&'static str>,
        updated: i64,
    }
    let all = hour_contacts(scope, hour_start);
    let mut rng = contacts::rng_for(scope.seed, "cdr", scope.tenant_id, hour_start);
    let rows: Vec<Row<'_>> = voice(&all)
        .into_iter()
        .map(|(_, c)| {
            let reason = TRANSFER_REASONS[rng.random_range(0..TRANSFER_REASONS.len())];
            Row {
                c,
                start: to_us(c.start),
                end: to_us(c.end),
                transfer_reason: (c.master_contact_id != c.contact_id).then_some(reason),
                updated: to_us(first_update(c)),
            }
        })
        .collect();
    let named: Vec<(&str, ArrayRef)> = vec![
        ("call_uuid", strs(&rows, |r| &r.c.call_uuid)),
        ("contactId", ints(&rows, |r| r.c.contact_id)),
        ("masterContactId", ints(&rows, |r| r.c.master_contact_id)),
        ("start_time", times(&rows, |r| r.start)),
        ("end_time", times(&rows, |r| r.end)),
        ("direction", strs(&rows, |r| r.c.direction)),
        ("ANI", strs(&rows, |r| &r.c.ani)),
        ("DNIS", strs(&rows, |r| &r.c.dnis)),
        ("skillId", ints(&rows, |r| r.c.skill_id)),
        ("skillName", strs(&rows, |r| r.c.skill_name)),
        ("agentId", opt_ints(&rows, |r| r.c.agent_id)),
        ("teamId", opt_ints(&rows, |r| r.c.team_id)),
        ("abandoned", bools(&rows, |r| r.c.abandoned)),
        ("disposition", opt_strs(&rows, |r| r.c.disposition)),
        ("duration_seconds", ints(&rows, |r| (r.end - r.start) / 1_000_000)),
        ("recorded", bools(&rows, |r| r.c.recorded)),
        ("transfer_reason", opt_strs(&rows, |r| r.transfer_reason)),
        ("legacy_wrapup_code", all_null_strs(rows.len())),
        ("last_update_time", times(&rows, |r| r.updated)),
    ];
    assemble(schema, rows.len(), named)
}

/// `acd`: the ACD's segment metrics of every voice contact.
pub(super) fn acd(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row<'a> {
        c: &'a Contact,
        start: i64,
        agent_start: Option<i64>,
        hold_count: i64,
        end_reason: &'static str,
        updated: i64,
    }
    let all = hour_contacts(scope, hour_start);
    let mut rng = contacts::rng_for(scope.seed, "acd", scope.tenant_id, hour_start);
    let rows: Vec<Row<'_>> = voice(&all)
        .into_iter()
        .map(|(i, c)| {
            let holds = rng.random_range(1..=3);
            let agent_hung_up = rng.random_bool(0.35);
            let start = to_us(c.start);
            let end_reason = if c.abandoned {
                "Abandoned"
            } else if transferred(&all, i) {
                "Transferred"
            } else if agent_hung_up {
                "Agent Disconnected"
            } else {
                "Contact Disconnected"
            };
            Row {
                c,
                start,
                agent_start: (!c.abandoned).then_some(start + (c.pre_queue_seconds + c.in_queue_seconds) * 1_000_000),
                hold_count: if c.hold_seconds > 0 { holds } else { 0 },
                end_reason,
                updated: to_us(first_update(c)),
            }
        })
        .collect();
    let named: Vec<(&str, ArrayRef)> = vec![
        ("call_uuid", strs(&rows, |r| &r.c.call_uuid)),
        ("contactId", ints(&rows, |r| r.c.contact_id)),
        ("masterContactId", ints(&rows, |r| r.c.master_contact_id)),
        ("contactStart", times(&rows, |r| r.start)),
        ("mediaType", strs(&rows, |r| r.c.media_type)),
        ("isOutbound", bools(&rows, |r| r.c.direction == "Outbound")),
        ("skillId", ints(&rows, |r| r.c.skill_id)),
        ("skillName", strs(&rows, |r| r.c.skill_name)),
        ("agentId", opt_ints(&rows, |r| r.c.agent_id)),
        ("teamId", opt_ints(&rows, |r| r.c.team_id)),
        ("agentStart", opt_times(&rows, |r| r.agent_start)),
        ("preQueueSeconds", ints(&rows, |r| r.c.pre_queue_seconds)),
        ("inQueueSeconds", ints(&rows, |r| r.c.in_queue_seconds)),
        ("agentSeconds", ints(&rows, |r| r.c.agent_seconds)),
        ("holdSeconds", ints(&rows, |r| r.c.hold_seconds)),
        ("holdCount", ints(&rows, |r| r.hold_count)),
        ("ACWSeconds", ints(&rows, |r| r.c.acw_seconds)),
        (
            "totalDurationSeconds",
            ints(&rows, |r| (to_us(r.c.end) - r.start) / 1_000_000),
        ),
        ("abandoned", bools(&rows, |r| r.c.abandoned)),
        (
            "abandonSeconds",
            opt_ints(&rows, |r| r.c.abandoned.then_some(r.c.in_queue_seconds)),
        ),
        (
            "serviceLevelFlag",
            opt_bools(&rows, |r| {
                (r.c.direction == "Inbound").then_some(r.c.service_level_flag)
            }),
        ),
        ("endReason", strs(&rows, |r| r.end_reason)),
        ("last_update_time", times(&rows, |r| r.updated)),
    ];
    assemble(schema, rows.len(), named)
}

/// `skill_group`: one row per skill per hour (every skill, including those without contacts).
pub(super) fn skill_group(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    #[derive(Default)]
    struct Row {
        skill: usize,
        offered: i64,
        handled: i64,
        abandoned: i64,
        outbound: i64,
        within_sl: i64,
        answer_seconds: i64,
        handle_seconds: i64,
        max_in_queue: i64,
        agents: Vec<u64>,
        updated: i64,
    }
    let all = hour_contacts(scope, hour_start);
    let interval_start = to_us(hour_start);
    let interval_id = hour_id(hour_start);
    let interval_end = to_us(hour_end(hour_start));
    let words = (AGENTS as usize).div_ceil(64);
    let mut rows: Vec<Row> = (0..SKILLS.len())
        .map(|skill| Row {
            skill,
            agents: vec![0; words],
            updated: interval_end + 60_000_000,
            ..Row::default()
        })
        .collect();
    for c in all.iter().filter(|c| c.is_voice()) {
        let Some(r) = usize::try_from(c.skill_id - 4001).ok().and_then(|i| rows.get_mut(i)) else {
            continue;
        };
        if c.direction == "Outbound" {
            r.outbound += 1;
        } else {
            r.offered += 1;
            r.max_in_queue = r.max_in_queue.max(c.in_queue_seconds);
            if c.abandoned {
                r.abandoned += 1;
            } else {
                r.handled += 1;
                r.answer_seconds += c.in_queue_seconds;
                r.handle_seconds += c.agent_seconds + c.hold_seconds + c.acw_seconds;
            }
            if c.service_level_flag {
                r.within_sl += 1;
            }
        }
        if let Some(a) = c.agent_id.and_then(|a| usize::try_from(a - 1000).ok()) {
            if let Some(w) = r.agents.get_mut(a / 64) {
                *w |= 1 << (a % 64);
            }
        }
        r.updated = r.updated.max(to_us(first_update(c)) + 60_000_000);
    }
    let ratio = |num: i64, den: i64, scale: f64| (den > 0).then(|| round_to(num as f64 * scale / den as f64, 2));
    let named: Vec<(&str, ArrayRef)> = vec![
        ("skillId", ints(&rows, |r| 4001 + r.skill as i64)),
        ("interval_id", ints(&rows, |_| interval_id)),
        ("interval_start", times(&rows, |_| interval_start)),
        ("interval_end", times(&rows, |_| interval_end)),
        ("skillName", strs(&rows, |r| SKILLS[r.skill])),
        ("mediaType", strs(&rows, |_| "Voice")),
        ("contactsOffered", ints(&rows, |r| r.offered)),
        ("contactsHandled", ints(&rows, |r| r.handled)),
        ("contactsAbandoned", ints(&rows, |r| r.abandoned)),
        ("contactsOutbound", ints(&rows, |r| r.outbound)),
        ("contactsWithinSL", ints(&rows, |r| r.within_sl)),
        (
            "serviceLevelPercent",
            opt_floats(&rows, |r| ratio(r.within_sl, r.offered, 100.0)),
        ),
        (
            "avgSpeedOfAnswerSeconds",
            opt_floats(&rows, |r| ratio(r.answer_seconds, r.handled, 1.0)),
        ),
        (
            "avgHandleSeconds",
            opt_floats(&rows, |r| ratio(r.handle_seconds, r.handled, 1.0)),
        ),
        ("maxInQueueSeconds", ints(&rows, |r| r.max_in_queue)),
        (
            "agentsHandling",
            ints(&rows, |r| r.agents.iter().map(|w| w.count_ones() as i64).sum()),
        ),
        ("last_update_time", times(&rows, |r| r.updated)),
    ];
    assemble(schema, rows.len(), named)
}
