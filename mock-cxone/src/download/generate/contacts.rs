//! The contact universe every category is drawn from: the same contacts appear in telephony,
//! speech, quality and the extraction API, so cross-references are consistent.
//!
//! Contacts are a pure function of (seed, tenant, hour): generating hour H never depends on any
//! other hour, so an hourly, six-hourly or daily export of the same hours sees the same records,
//! and the ground truth can re-derive them at any time.

use chrono::{Datelike, Duration, Timelike, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ids;
use crate::store::time::Instant;

/// Contacts in the busiest hour of a weekday at default volume.
pub const PEAK_CONTACTS_PER_HOUR: f64 = 90.0;

/// At most this many contacts start in one hour (keeps contact ids unique: see [`contact_id`]).
pub const MAX_PER_HOUR: usize = 999;

/// How a contact reached the contact center.
pub const MEDIA_TYPES: [(&str, u32); 5] = [("Voice", 70), ("Chat", 12), ("Email", 8), ("SMS", 5), ("Messaging", 5)];

/// Dispositions an agent can set (late updates change them, F2).
pub const DISPOSITIONS: [&str; 8] = [
    "Resolved",
    "Follow-up Required",
    "Transferred",
    "Escalated",
    "Callback Scheduled",
    "Sale",
    "No Sale",
    "Wrong Number",
];

/// Number of agents, teams and skills of every tenant.
pub const AGENTS: i64 = 48;
/// Teams agents belong to (`agent_id % TEAMS`).
pub const TEAMS: i64 = 6;
/// Skills (queues).
pub const SKILLS: [&str; 8] = [
    "Billing",
    "Technical Support",
    "Sales",
    "Retention",
    "General Inquiry",
    "Claims",
    "Onboarding",
    "VIP Care",
];

/// One contact as the ACD saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// ACD contact id (`contactId`), unique per tenant.
    pub contact_id: i64,
    /// `masterContactId`: the first contact of a transfer chain (usually itself).
    pub master_contact_id: i64,
    /// The guide's idempotency key of telephony data (`call_uuid`).
    pub call_uuid: String,
    /// The guide's idempotency key of digital data (`interaction_id`).
    pub interaction_id: String,
    /// `Voice`, `Chat`, `Email`, `SMS` or `Messaging`.
    pub media_type: &'static str,
    /// `Inbound` or `Outbound`.
    pub direction: &'static str,
    /// When the contact started (its event time).
    pub start: Instant,
    /// When it ended (after ACW).
    pub end: Instant,
    /// Skill (queue) id, 1-based index into [`SKILLS`] plus 4000.
    pub skill_id: i64,
    /// Skill name.
    pub skill_name: &'static str,
    /// Handling agent (`None` when abandoned).
    pub agent_id: Option<i64>,
    /// The agent's team (`None` when abandoned).
    pub team_id: Option<i64>,
    /// Caller number (ANI).
    pub ani: String,
    /// Dialed number (DNIS).
    pub dnis: String,
    /// Seconds in IVR before queueing.
    pub pre_queue_seconds: i64,
    /// Seconds waiting in queue.
    pub in_queue_seconds: i64,
    /// Seconds talking with the agent.
    pub agent_seconds: i64,
    /// Seconds on hold.
    pub hold_seconds: i64,
    /// After-contact work seconds.
    pub acw_seconds: i64,
    /// Left the queue before an agent answered.
    pub abandoned: bool,
    /// Answered within the 30-second service level.
    pub service_level_flag: bool,
    /// Disposition as first set (`None` when abandoned).
    pub disposition: Option<&'static str>,
    /// Whether the contact was recorded (speech and quality need a recording).
    pub recorded: bool,
}

impl Contact {
    /// Whether this is a voice contact (telephony, IVR and speech data).
    pub fn is_voice(&self) -> bool {
        self.media_type == "Voice"
    }
}

/// Agent ids are 1000-based so they never collide with skill or team ids in joins.
pub fn agent_id(index: i64) -> i64 {
    1000 + index
}

/// The team of an agent.
pub fn team_of(agent_id: i64) -> i64 {
    100 + (agent_id - 1000) % TEAMS
}

/// Hours since the Unix epoch of an hour start.
pub fn hour_index(hour_start: Instant) -> i64 {
    hour_start.timestamp().div_euclid(3600)
}

/// Contact id of the `i`-th contact of an hour: increasing with time, unique per tenant.
pub fn contact_id(hour_start: Instant, i: usize) -> i64 {
    hour_index(hour_start) * 1000 + i as i64
}

/// A seeded RNG for one (purpose, tenant, hour): every generator draws from its own stream, so
/// adding a column to one data type never shifts the values of another.
pub fn rng_for(seed: u64, purpose: &str, tenant_id: &str, hour_start: Instant) -> ChaCha8Rng {
    let h = hour_index(hour_start).to_le_bytes();
    ChaCha8Rng::seed_from_u64(ids::derive_u64(seed, &[purpose.as_bytes(), tenant_id.as_bytes(), &h]))
}

/// Expected contacts in the hour starting at `hour_start`: a business-hours curve (UTC), lower
/// at weekends and at night.
pub fn expected_volume(hour_start: Instant) -> f64 {
    const CURVE: [f64; 24] = [
        0.04, 0.03, 0.03, 0.03, 0.04, 0.08, 0.18, 0.40, 0.75, 0.95, 1.00, 0.97, //
        0.85, 0.92, 0.98, 0.93, 0.80, 0.62, 0.42, 0.28, 0.18, 0.12, 0.08, 0.05,
    ];
    let weekend = matches!(hour_start.weekday(), Weekday::Sat | Weekday::Sun);
    let day_factor = if weekend { 0.35 } else { 1.0 };
    PEAK_CONTACTS_PER_HOUR * CURVE[hour_start.hour() as usize] * day_factor
}

/// Every contact that started in the hour beginning at `hour_start` (which must be on the hour),
/// ordered by start time.
pub fn for_hour(seed: u64, tenant_id: &str, hour_start: Instant) -> Vec<Contact> {
    let mut rng = rng_for(seed, "contacts", tenant_id, hour_start);
    let expected = expected_volume(hour_start);
    let count = ((expected * rng.random_range(0.8..1.2)).round() as usize).min(MAX_PER_HOUR);
    let mut offsets: Vec<i64> = (0..count).map(|_| rng.random_range(0..3_600_000_000i64)).collect();
    offsets.sort_unstable();
    let mut out: Vec<Contact> = Vec::with_capacity(count);
    for (i, off) in offsets.into_iter().enumerate() {
        let start = hour_start + Duration::microseconds(off);
        let c = one_contact(&mut rng, hour_start, i, start, &out);
        out.push(c);
    }
    out
}

fn pick_weighted(rng: &mut ChaCha8Rng, table: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (name, w) in table {
        if x < *w {
            return name;
        }
        x -= w;
    }
    table[0].0
}

/// A v4-shaped UUID from the hour's stream (already seeded by seed, tenant and hour): a SHA-256
/// per id cost a third of contact generation.
fn uuid_from(rng: &mut ChaCha8Rng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

fn phone(rng: &mut ChaCha8Rng) -> String {
    format!("+1{}{:07}", rng.random_range(201..990), rng.random_range(0..10_000_000))
}

fn one_contact(rng: &mut ChaCha8Rng, hour_start: Instant, i: usize, start: Instant, earlier: &[Contact]) -> Contact {
    let contact_id = contact_id(hour_start, i);
    let media_type = pick_weighted(rng, &MEDIA_TYPES);
    let voice = media_type == "Voice";
    let direction = if voice && rng.random_bool(0.15) {
        "Outbound"
    } else {
        "Inbound"
    };
    // About one contact in twelve is a transfer leg of an earlier contact of the same hour.
    let master_contact_id = match earlier.last() {
        Some(prev) if rng.random_bool(0.08) && prev.media_type == media_type => prev.master_contact_id,
        _ => contact_id,
    };
    let skill = rng.random_range(0..SKILLS.len());
    let pre_queue_seconds = if voice { rng.random_range(5..90) } else { 0 };
    let in_queue_seconds = rng.random_range(0..240);
    let abandoned = direction == "Inbound" && in_queue_seconds > 60 && rng.random_bool(0.3);
    let (agent, agent_seconds, hold_seconds, acw_seconds) = if abandoned {
        (None, 0, 0, 0)
    } else {
        let agent = agent_id(rng.random_range(0..AGENTS));
        let talk = rng.random_range(60..1200);
        let hold = if rng.random_bool(0.3) {
            rng.random_range(10..180)
        } else {
            0
        };
        (Some(agent), talk, hold, rng.random_range(10..120))
    };
    let total = pre_queue_seconds + in_queue_seconds + agent_seconds + hold_seconds + acw_seconds;
    let disposition = if abandoned {
        None
    } else {
        Some(DISPOSITIONS[rng.random_range(0..DISPOSITIONS.len())])
    };
    Contact {
        contact_id,
        master_contact_id,
        call_uuid: uuid_from(rng),
        interaction_id: uuid_from(rng),
        media_type,
        direction,
        start,
        end: start + Duration::seconds(total),
        skill_id: 4001 + skill as i64,
        skill_name: SKILLS[skill],
        agent_id: agent,
        team_id: agent.map(team_of),
        ani: phone(rng),
        dnis: phone(rng),
        pre_queue_seconds,
        in_queue_seconds,
        agent_seconds,
        hold_seconds,
        acw_seconds,
        abandoned,
        service_level_flag: !abandoned && in_queue_seconds <= 30,
        disposition,
        recorded: !abandoned && rng.random_bool(0.9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    #[test]
    fn contacts_are_a_pure_function_of_seed_tenant_and_hour() {
        let h = parse_rfc3339("2026-01-05T10:00:00Z").unwrap_or_default();
        let a = for_hour(42, "t-demo", h);
        assert_eq!(a, for_hour(42, "t-demo", h));
        assert_ne!(a, for_hour(43, "t-demo", h));
        assert!(a.len() > 50, "a weekday 10:00 is busy: {}", a.len());
        assert!(a.windows(2).all(|w| w[0].start <= w[1].start));
        assert!(a.iter().all(|c| c.start >= h && c.start < h + Duration::hours(1)));
        let night = for_hour(42, "t-demo", parse_rfc3339("2026-01-05T02:00:00Z").unwrap_or_default());
        assert!(night.len() < a.len() / 5);
    }
}
