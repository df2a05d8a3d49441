//! Speech analytics data types: one `transcript_analytics` row per recorded voice contact of the
//! hour (same `call_uuid`/`contactId` as its `cdr` row) and its detected `topics`, several per
//! contact. The transcript's core values are drawn from one stream shared by both data types, the
//! topics' details from their own.

use arrow_array::{ArrayRef, RecordBatch};
use chrono::Duration;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::columns::{bools, floats, ints, opt_strs, round_to, strs, times};
use super::contacts::{self, Contact};
use super::{assemble, hour_contacts, Scope};
use crate::download::catalog::DataTypeSchema;
use crate::store::time::{to_us, Instant};

/// The transcription engine named in every row.
const MODEL: &str = "enlighten-stt-v4";

const SENTIMENTS: [&str; 3] = ["Positive", "Neutral", "Negative"];

/// Topics the analytics engine detects: (topic, category, representative phrase).
const TOPICS: [(&str, &str, &str); 14] = [
    ("Billing Dispute", "Customer Intent", "i was charged twice"),
    ("Cancellation Intent", "Customer Intent", "i want to cancel my account"),
    ("Payment", "Customer Intent", "make a payment"),
    ("Technical Issue", "Customer Intent", "it is not working"),
    ("Password Reset", "Customer Intent", "reset my password"),
    ("Shipping Delay", "Customer Intent", "where is my order"),
    ("Account Update", "Customer Intent", "update my address"),
    ("Complaint", "Experience", "this is very frustrating"),
    ("Compliment", "Experience", "you have been really helpful"),
    ("Upsell Opportunity", "Sales", "upgrade my plan"),
    ("Greeting Compliance", "Compliance", "thank you for calling"),
    ("Identity Verification", "Compliance", "verify your identity"),
    ("Recording Disclosure", "Compliance", "this call may be recorded"),
    ("Closing Compliance", "Compliance", "anything else i can help you with"),
];

const SPEAKERS: [&str; 3] = ["Agent", "Customer", "Both"];

/// The analytics of one recorded voice contact.
pub(super) struct Transcript<'a> {
    pub(super) c: &'a Contact,
    pub(super) start: i64,
    language: &'static str,
    recorded_seconds: i64,
    overall: &'static str,
    score: f64,
    sentiment_start: &'static str,
    sentiment_end: &'static str,
    agent_talk: f64,
    customer_talk: f64,
    silence: f64,
    overtalk: i64,
    words: i64,
    confidence: f64,
    escalation: bool,
    redacted: bool,
    completed: i64,
    pub(super) updated: i64,
}

/// Whether a contact has speech analytics: a recorded voice contact.
pub(super) fn analysed(c: &Contact) -> bool {
    c.is_voice() && c.recorded
}

/// The hour's transcripts, in contact order.
pub(super) fn transcripts<'a>(all: &'a [Contact], rng: &mut ChaCha8Rng) -> Vec<Transcript<'a>> {
    all.iter()
        .filter(|c| analysed(c))
        .map(|c| {
            let lang = rng.random_range(0..100u32);
            let score = round_to(rng.random_range(-0.7..0.95), 3);
            let start_pick = rng.random_range(0..3usize);
            let end_shift = rng.random_range(0..10u32);
            let silence = round_to(rng.random_range(5.0..25.0), 1);
            let agent_talk = round_to((100.0 - silence) * rng.random_range(0.35..0.65), 1);
            let overtalk = rng.random_range(0..12);
            let words_per_second = rng.random_range(1.9..2.6);
            let confidence = round_to(rng.random_range(0.82..0.98), 3);
            let escalation = rng.random_bool(if score < -0.25 { 0.3 } else { 0.04 });
            let redacted = rng.random_bool(0.15);
            let lag = rng.random_range(900..2700);
            // The customer's mood at the end follows the overall score most of the time.
            let sentiment_end = match end_shift {
                0..7 if score > 0.25 => "Positive",
                0..7 if score < -0.25 => "Negative",
                0..7 => "Neutral",
                _ => SENTIMENTS[start_pick],
            };
            let sentiment_start = SENTIMENTS[start_pick];
            let overall = if score > 0.25 {
                "Positive"
            } else if score < -0.25 {
                "Negative"
            } else if sentiment_start != sentiment_end {
                "Mixed"
            } else {
                "Neutral"
            };
            let recorded_seconds = c.agent_seconds + c.hold_seconds;
            let speaking = recorded_seconds as f64 * (100.0 - silence) / 100.0;
            let completed = c.end + Duration::seconds(lag);
            Transcript {
                c,
                start: to_us(c.start),
                language: match lang {
                    0..85 => "en-US",
                    85..95 => "es-US",
                    _ => "fr-CA",
                },
                recorded_seconds,
                overall,
                score,
                sentiment_start,
                sentiment_end,
                agent_talk,
                customer_talk: round_to(100.0 - silence - agent_talk, 1),
                silence,
                overtalk,
                words: (speaking * words_per_second) as i64,
                confidence,
                escalation,
                redacted,
                completed: to_us(completed),
                updated: to_us(completed + Duration::seconds(30)),
            }
        })
        .collect()
}

/// `transcript_analytics`: one row per recorded voice contact.
pub(super) fn transcript_analytics(
    scope: Scope<'_>,
    schema: &DataTypeSchema,
    hour_start: Instant,
) -> Option<RecordBatch> {
    let all = hour_contacts(scope, hour_start);
    let mut rng = contacts::rng_for(scope.seed, "speech", scope.tenant_id, hour_start);
    let rows = transcripts(&all, &mut rng);
    let named: Vec<(&str, ArrayRef)> = vec![
        ("call_uuid", strs(&rows, |t| &t.c.call_uuid)),
        ("contactId", ints(&rows, |t| t.c.contact_id)),
        ("masterContactId", ints(&rows, |t| t.c.master_contact_id)),
        ("contactStart", times(&rows, |t| t.start)),
        ("agentId", ints(&rows, |t| t.c.agent_id.unwrap_or_default())),
        ("skillId", ints(&rows, |t| t.c.skill_id)),
        ("language", strs(&rows, |t| t.language)),
        ("recorded_seconds", ints(&rows, |t| t.recorded_seconds)),
        ("overall_sentiment", strs(&rows, |t| t.overall)),
        ("sentiment_score", floats(&rows, |t| t.score)),
        ("customer_sentiment_start", strs(&rows, |t| t.sentiment_start)),
        ("customer_sentiment_end", strs(&rows, |t| t.sentiment_end)),
        ("agent_talk_percent", floats(&rows, |t| t.agent_talk)),
        ("customer_talk_percent", floats(&rows, |t| t.customer_talk)),
        ("silence_percent", floats(&rows, |t| t.silence)),
        ("overtalk_count", ints(&rows, |t| t.overtalk)),
        ("word_count", ints(&rows, |t| t.words)),
        ("transcript_confidence", floats(&rows, |t| t.confidence)),
        ("escalation_detected", bools(&rows, |t| t.escalation)),
        ("pci_redacted", bools(&rows, |t| t.redacted)),
        (
            "translated_to",
            opt_strs(&rows, |t| (t.language != "en-US").then_some("en-US")),
        ),
        ("transcription_model", strs(&rows, |_| MODEL)),
        ("transcription_completed_time", times(&rows, |t| t.completed)),
        ("last_update_time", times(&rows, |t| t.updated)),
    ];
    assemble(schema, rows.len(), named)
}

/// `topics`: one to five distinct topics per transcript.
pub(super) fn topics(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row<'a> {
        t: &'a Transcript<'a>,
        topic: usize,
        matches: i64,
        offset: i64,
        speaker: &'static str,
        confidence: f64,
        sentiment: &'static str,
        phrase: Option<&'static str>,
    }
    let all = hour_contacts(scope, hour_start);
    let mut core_rng = contacts::rng_for(scope.seed, "speech", scope.tenant_id, hour_start);
    let ts = transcripts(&all, &mut core_rng);
    let mut rng = contacts::rng_for(scope.seed, "speech_topics", scope.tenant_id, hour_start);
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(ts.len() * 3);
    for t in &ts {
        let n = [1, 2, 2, 3, 3, 3, 4, 5][rng.random_range(0..8usize)];
        let mut order: [usize; TOPICS.len()] = std::array::from_fn(|i| i);
        for k in 0..n {
            let j = rng.random_range(k..TOPICS.len());
            order.swap(k, j);
            let keep_phrase = rng.random_bool(0.7);
            rows.push(Row {
                t,
                topic: order[k],
                matches: rng.random_range(1..=8),
                offset: rng.random_range(0..t.recorded_seconds.max(1)),
                speaker: SPEAKERS[rng.random_range(0..SPEAKERS.len())],
                confidence: round_to(rng.random_range(0.6..0.99), 3),
                sentiment: SENTIMENTS[rng.random_range(0..SENTIMENTS.len())],
                phrase: keep_phrase.then_some(TOPICS[order[k]].2),
            });
        }
    }
    let named: Vec<(&str, ArrayRef)> = vec![
        ("call_uuid", strs(&rows, |r| &r.t.c.call_uuid)),
        ("topic", strs(&rows, |r| TOPICS[r.topic].0)),
        ("contactId", ints(&rows, |r| r.t.c.contact_id)),
        ("contactStart", times(&rows, |r| r.t.start)),
        ("topic_category", strs(&rows, |r| TOPICS[r.topic].1)),
        ("match_count", ints(&rows, |r| r.matches)),
        ("first_match_offset_seconds", ints(&rows, |r| r.offset)),
        ("speaker", strs(&rows, |r| r.speaker)),
        ("confidence", floats(&rows, |r| r.confidence)),
        ("sentiment", strs(&rows, |r| r.sentiment)),
        ("matched_phrase", opt_strs(&rows, |r| r.phrase)),
        ("last_update_time", times(&rows, |r| r.t.updated)),
    ];
    assemble(schema, rows.len(), named)
}
