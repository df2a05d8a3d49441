//! IVR data types: one `ivr_session` per inbound voice contact of the hour (its IVR part, the
//! contact's `preQueueSeconds`, ending in a transfer to the contact's skill) plus about a third as
//! many sessions that never became contacts (self-served, abandoned in the IVR, or failed), and
//! the `ivr_node`s every session visited, in order.
//!
//! `session_hash` is 32 hex digits derived from (seed, tenant, contactId) — or, for sessions
//! without a contact, (seed, tenant, hour, n) — by a keyed 64-bit mixer: stable, unique per tenant,
//! and cheap (no hash per row).

use arrow_array::{ArrayRef, RecordBatch};
use rand::Rng;

use super::columns::{bools, hex128, ints, joined, mix64, opt_ints, opt_strs, phone_from, strs, times};
use super::contacts::{self, Contact, SKILLS};
use super::{assemble, hour_contacts, Scope};
use crate::download::catalog::DataTypeSchema;
use crate::ids;
use crate::store::time::{to_us, Instant};

/// Entry points (the numbers callers dial): (name, DNIS).
const ENTRY_POINTS: [(&str, &str); 5] = [
    ("Main Line", "+18005550100"),
    ("Billing Line", "+18005550111"),
    ("Support Line", "+18005550122"),
    ("Sales Line", "+18005550133"),
    ("Spanish Line", "+18005550144"),
];

/// The entry point a caller of each skill dialled (index into [`ENTRY_POINTS`]).
const SKILL_ENTRY: [usize; 8] = [1, 2, 3, 3, 0, 1, 2, 0];

/// A node of the IVR script: (node_id, name, type, weight of its share of the session's time).
type Node = (i64, &'static str, &'static str, i64);

const WELCOME: usize = 0;
const LANGUAGE: usize = 1;
const MAIN_MENU: usize = 2;
const AUTHENTICATE: usize = 3;
const LOOKUP: usize = 4;
const SKILL_MENU: usize = 5; // + skill index
const TRANSFER: usize = 13;
const GOODBYE: usize = 14;
const SELF_SERVICE: usize = 15; // + service index
const SELF_SERVICES: usize = 4;

const NODES: [Node; 19] = [
    (1, "Welcome", "Prompt", 3),
    (2, "LanguageSelect", "Menu", 4),
    (3, "MainMenu", "Menu", 5),
    (4, "Authenticate", "Input", 6),
    (5, "AccountLookup", "DataLookup", 1),
    (11, "BillingMenu", "Menu", 4),
    (12, "TechSupportMenu", "Menu", 4),
    (13, "SalesMenu", "Menu", 4),
    (14, "RetentionMenu", "Menu", 4),
    (15, "GeneralInquiryMenu", "Menu", 4),
    (16, "ClaimsMenu", "Menu", 4),
    (17, "OnboardingMenu", "Menu", 4),
    (18, "VIPCareMenu", "Menu", 4),
    (30, "TransferToQueue", "Transfer", 1),
    (31, "Goodbye", "Hangup", 1),
    (20, "CheckBalance", "SelfService", 8),
    (21, "PayByPhone", "SelfService", 10),
    (22, "OrderStatus", "SelfService", 8),
    (23, "StoreHours", "SelfService", 5),
];

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// What happened at a node.
const COMPLETED: u8 = 0;
const NO_INPUT: u8 = 1;
const NO_MATCH: u8 = 2;
const TRANSFERRED: u8 = 3;
const HANGUP: u8 = 4;
const ERROR: u8 = 5;
const RESULTS: [&str; 6] = ["completed", "no_input", "no_match", "transfer", "hangup", "error"];

/// Most nodes a session visits.
const MAX_NODES: usize = 8;

/// One IVR session with its visited nodes.
pub(super) struct Session<'a> {
    hash: [u8; 32],
    pub(super) contact: Option<&'a Contact>,
    pub(super) start: i64,
    duration_ms: i64,
    entry: usize,
    ani: [u8; 12],
    language: &'static str,
    len: usize,
    nodes: [u8; MAX_NODES],
    results: [u8; MAX_NODES],
    inputs: [u8; MAX_NODES], // 0: none, else digit + 1
    node_ms: [i64; MAX_NODES],
    outcome: &'static str,
    skill: Option<usize>,
    authenticated: bool,
    exit_reason: Option<&'static str>,
    updated: i64,
}

impl Session<'_> {
    /// The session's `session_hash`.
    pub(super) fn hash(&self) -> &str {
        std::str::from_utf8(&self.hash).unwrap_or_default()
    }

    fn ani(&self) -> &str {
        match self.contact {
            Some(c) => &c.ani,
            None => std::str::from_utf8(&self.ani).unwrap_or_default(),
        }
    }

    fn count(&self, result: u8) -> i64 {
        self.results[..self.len].iter().filter(|r| **r == result).count() as i64
    }

    fn push(&mut self, node: usize, result: u8, input: Option<usize>) {
        if self.len < MAX_NODES {
            self.nodes[self.len] = node as u8;
            self.results[self.len] = result;
            self.inputs[self.len] = input.map_or(0, |d| d as u8 + 1);
            self.len += 1;
        }
    }

    /// Splits the session's time over its nodes by their weights.
    fn time_nodes(&mut self) {
        let weights: i64 = self.nodes[..self.len]
            .iter()
            .map(|n| NODES[*n as usize].3)
            .sum::<i64>()
            .max(1);
        let mut left = self.duration_ms;
        for i in 0..self.len {
            let share = if i + 1 == self.len {
                left
            } else {
                self.duration_ms * NODES[self.nodes[i] as usize].3 / weights
            };
            self.node_ms[i] = share;
            left -= share;
        }
    }
}

/// A menu node's result: usually completed, sometimes after a timeout or an invalid key.
fn menu_result(rng: &mut rand_chacha::ChaCha8Rng) -> u8 {
    match rng.random_range(0..100u32) {
        0..8 => NO_INPUT,
        8..14 => NO_MATCH,
        _ => COMPLETED,
    }
}

/// The hour's sessions: those of inbound voice contacts, then those without a contact.
pub(super) fn sessions<'a>(scope: Scope<'_>, all: &'a [Contact], hour_start: Instant) -> Vec<Session<'a>> {
    let mut rng = contacts::rng_for(scope.seed, "ivr", scope.tenant_id, hour_start);
    let key = ids::derive_u64(scope.seed, &[b"session_hash", scope.tenant_id.as_bytes()]);
    let hash = |n: u64| {
        let hi = mix64(key ^ n);
        let lo = mix64(hi ^ key.rotate_left(29));
        let mut out = [0u8; 32];
        hex128(hi, lo, &mut out);
        out
    };
    let blank = |n: u64, start: i64| Session {
        hash: hash(n),
        contact: None,
        start,
        duration_ms: 0,
        entry: 0,
        ani: [b'0'; 12],
        language: "en-US",
        len: 0,
        nodes: [0; MAX_NODES],
        results: [0; MAX_NODES],
        inputs: [0; MAX_NODES],
        node_ms: [0; MAX_NODES],
        outcome: "transferred_to_agent",
        skill: None,
        authenticated: false,
        exit_reason: None,
        updated: start,
    };
    let inbound: Vec<&Contact> = all
        .iter()
        .filter(|c| c.is_voice() && c.direction == "Inbound")
        .collect();
    let extra = (inbound.len() as f64 * 0.3).round() as usize + rng.random_range(0..=2);
    let mut out: Vec<Session<'a>> = Vec::with_capacity(inbound.len() + extra);
    for c in inbound {
        let mut s = blank(c.contact_id as u64, to_us(c.start));
        let spanish = rng.random_bool(0.1);
        let language_menu = spanish || rng.random_bool(0.2);
        let authenticate = rng.random_bool(0.5);
        let zero_out = rng.random_bool(0.07);
        let skill = usize::try_from(c.skill_id - 4001).unwrap_or(0) % SKILLS.len();
        s.contact = Some(c);
        s.duration_ms = c.pre_queue_seconds * 1000 + rng.random_range(0..1000);
        s.entry = if spanish { 4 } else { SKILL_ENTRY[skill] };
        s.language = if spanish { "es-US" } else { "en-US" };
        s.push(WELCOME, COMPLETED, None);
        if language_menu {
            s.push(LANGUAGE, COMPLETED, Some(if spanish { 2 } else { 1 }));
        }
        let main_result = menu_result(&mut rng);
        s.push(MAIN_MENU, main_result, Some(if zero_out { 0 } else { skill % 5 + 1 }));
        if authenticate && !zero_out {
            s.push(AUTHENTICATE, COMPLETED, None);
            s.push(LOOKUP, COMPLETED, None);
            s.authenticated = true;
        }
        if !zero_out {
            let r = menu_result(&mut rng);
            s.push(SKILL_MENU + skill, r, Some(rng.random_range(1..=4)));
        }
        s.push(TRANSFER, TRANSFERRED, None);
        s.skill = Some(skill);
        s.exit_reason = zero_out.then_some("zero_out");
        out.push(s);
    }
    let hour = contacts::hour_index(hour_start) as u64;
    let mut offsets: Vec<i64> = (0..extra).map(|_| rng.random_range(0..3_600_000_000i64)).collect();
    offsets.sort_unstable();
    let h = to_us(hour_start);
    for (j, off) in offsets.into_iter().enumerate() {
        let mut s = blank((1 << 62) | (hour * 1000 + j as u64), h + off);
        phone_from(rng.random::<u64>(), &mut s.ani);
        s.entry = rng.random_range(0..ENTRY_POINTS.len());
        s.language = if s.entry == 4 { "es-US" } else { "en-US" };
        let roll = rng.random_range(0..100u32);
        let service = rng.random_range(0..SELF_SERVICES);
        let skill = rng.random_range(0..SKILLS.len());
        let main_result = menu_result(&mut rng);
        s.push(WELCOME, COMPLETED, None);
        if s.language == "es-US" {
            s.push(LANGUAGE, COMPLETED, Some(2));
        }
        match roll {
            0..70 => {
                s.push(MAIN_MENU, main_result, Some(6 + service));
                s.push(AUTHENTICATE, COMPLETED, None);
                s.push(LOOKUP, COMPLETED, None);
                s.push(SELF_SERVICE + service, COMPLETED, None);
                s.push(GOODBYE, COMPLETED, None);
                s.authenticated = true;
                s.outcome = "self_served";
                s.duration_ms = rng.random_range(40_000..240_000);
            }
            70..95 => {
                s.push(MAIN_MENU, main_result, Some(skill % 5 + 1));
                s.push(SKILL_MENU + skill, HANGUP, None);
                s.outcome = "abandoned";
                s.exit_reason = Some("caller_hangup");
                s.duration_ms = rng.random_range(5_000..60_000);
            }
            _ => {
                s.push(MAIN_MENU, main_result, Some(6 + service));
                s.push(AUTHENTICATE, COMPLETED, None);
                s.push(LOOKUP, ERROR, None);
                s.push(GOODBYE, COMPLETED, None);
                s.outcome = "error";
                s.exit_reason = Some("system_error");
                s.duration_ms = rng.random_range(20_000..90_000);
            }
        }
        out.push(s);
    }
    for s in &mut out {
        s.time_nodes();
        s.updated = s.start + (s.duration_ms + rng.random_range(5_000..60_000)) * 1000;
    }
    out
}

/// `ivr_session`: one row per session.
pub(super) fn ivr_session(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    let all = hour_contacts(scope, hour_start);
    let rows = sessions(scope, &all, hour_start);
    let named: Vec<(&str, ArrayRef)> = vec![
        ("session_hash", strs(&rows, |s| s.hash())),
        ("contactId", opt_ints(&rows, |s| s.contact.map(|c| c.contact_id))),
        (
            "call_uuid",
            opt_strs(&rows, |s| s.contact.map(|c| c.call_uuid.as_str())),
        ),
        ("session_start", times(&rows, |s| s.start)),
        ("session_end", times(&rows, |s| s.start + s.duration_ms * 1000)),
        ("duration_seconds", ints(&rows, |s| s.duration_ms / 1000)),
        ("entry_point", strs(&rows, |s| ENTRY_POINTS[s.entry].0)),
        ("ANI", strs(&rows, |s| s.ani())),
        (
            "DNIS",
            strs(&rows, |s| {
                s.contact.map_or(ENTRY_POINTS[s.entry].1, |c| c.dnis.as_str())
            }),
        ),
        ("language", strs(&rows, |s| s.language)),
        (
            "menu_path",
            joined(&rows, |s, out| {
                for (i, n) in s.nodes[..s.len].iter().enumerate() {
                    if i > 0 {
                        out.push('>');
                    }
                    out.push_str(NODES[*n as usize].1);
                }
            }),
        ),
        ("node_count", ints(&rows, |s| s.len as i64)),
        ("outcome", strs(&rows, |s| s.outcome)),
        ("skillId", opt_ints(&rows, |s| s.skill.map(|k| 4001 + k as i64))),
        ("skillName", opt_strs(&rows, |s| s.skill.map(|k| SKILLS[k]))),
        ("authenticated", bools(&rows, |s| s.authenticated)),
        ("no_input_count", ints(&rows, |s| s.count(NO_INPUT))),
        ("no_match_count", ints(&rows, |s| s.count(NO_MATCH))),
        ("exit_reason", opt_strs(&rows, |s| s.exit_reason)),
        ("last_update_time", times(&rows, |s| s.updated)),
    ];
    assemble(schema, rows.len(), named)
}

/// `ivr_node`: one row per node a session visited.
pub(super) fn ivr_node(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row<'a> {
        s: &'a Session<'a>,
        i: usize,
        start: i64,
    }
    let all = hour_contacts(scope, hour_start);
    let sessions = sessions(scope, &all, hour_start);
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(sessions.len() * 5);
    for s in &sessions {
        let mut at = s.start;
        for i in 0..s.len {
            rows.push(Row { s, i, start: at });
            at += s.node_ms[i] * 1000;
        }
    }
    let node = |r: &Row<'_>| NODES[r.s.nodes[r.i] as usize];
    let named: Vec<(&str, ArrayRef)> = vec![
        ("session_hash", strs(&rows, |r| r.s.hash())),
        ("node_sequence", ints(&rows, |r| r.i as i64 + 1)),
        ("contactId", opt_ints(&rows, |r| r.s.contact.map(|c| c.contact_id))),
        ("session_start", times(&rows, |r| r.s.start)),
        ("node_id", ints(&rows, |r| node(r).0)),
        ("node_name", strs(&rows, |r| node(r).1)),
        ("node_type", strs(&rows, |r| node(r).2)),
        ("node_start", times(&rows, |r| r.start)),
        ("node_end", times(&rows, |r| r.start + r.s.node_ms[r.i] * 1000)),
        ("duration_ms", ints(&rows, |r| r.s.node_ms[r.i])),
        (
            "input_value",
            opt_strs(&rows, |r| {
                r.s.inputs[r.i].checked_sub(1).map(|d| DIGITS[d as usize % 10])
            }),
        ),
        ("result", strs(&rows, |r| RESULTS[r.s.results[r.i] as usize])),
        ("last_update_time", times(&rows, |r| r.s.updated)),
    ];
    assemble(schema, rows.len(), named)
}
