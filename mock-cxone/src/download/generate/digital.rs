//! Digital data types: one `interaction` per non-voice contact of the hour (chat, email, SMS,
//! messaging; keyed by the contact's `interaction_id`) and its `message`s, in order. The message
//! thread of every interaction is drawn from one stream shared by both data types, so
//! `message_count` and `first_response_seconds` always agree with the `message` rows.

use arrow_array::{ArrayRef, RecordBatch};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::columns::{bools, ints, opt_ints, opt_strs, strs, times};
use super::contacts::{self, Contact};
use super::telephony::first_update;
use super::{assemble, hour_contacts, Scope};
use crate::download::catalog::DataTypeSchema;
use crate::store::time::{to_us, Instant};

const MESSAGING_CHANNELS: [&str; 3] = ["WhatsApp", "Facebook Messenger", "Apple Messages for Business"];

const SENDERS: [&str; 3] = ["Customer", "Agent", "Bot"];
const CUSTOMER: u8 = 0;
const AGENT: u8 = 1;
const BOT: u8 = 2;

const ATTACHMENTS: [&str; 3] = ["image/png", "application/pdf", "image/jpeg"];

const SUBJECTS: [&str; 6] = [
    "Question about my last invoice",
    "Order not received",
    "Cannot log in to my account",
    "Request to change my plan",
    "Complaint about service",
    "Update my contact details",
];

const TRANSFER_REASONS: [&str; 3] = ["Wrong Skill", "Escalation", "Language"];

/// One message of a thread.
struct Msg {
    sender: u8,
    offset_ms: i64,
    length: i64,
    attachment: Option<&'static str>,
    status: &'static str,
}

/// One interaction and where its messages are in the hour's message list.
struct Thread<'a> {
    c: &'a Contact,
    start: i64,
    channel: &'static str,
    first: usize,
    count: usize,
    customer_count: i64,
    first_response_seconds: Option<i64>,
    updated: i64,
}

/// The hour's digital interactions and all their messages.
fn threads<'a>(scope: Scope<'_>, all: &'a [Contact], hour_start: Instant) -> (Vec<Thread<'a>>, Vec<Msg>) {
    let mut rng = contacts::rng_for(scope.seed, "digital_thread", scope.tenant_id, hour_start);
    let digital: Vec<&Contact> = all.iter().filter(|c| !c.is_voice()).collect();
    let mut threads = Vec::with_capacity(digital.len());
    let mut msgs: Vec<Msg> = Vec::with_capacity(digital.len() * 10);
    for c in digital {
        let email = c.media_type == "Email";
        let (channel, bot, range) = match c.media_type {
            "Chat" => ("Web Chat", true, 6..=20),
            "Email" => ("Email", false, 2..=5),
            "SMS" => ("SMS", false, 3..=10),
            _ => (
                MESSAGING_CHANNELS[rng.random_range(0..MESSAGING_CHANNELS.len())],
                true,
                4..=14,
            ),
        };
        let n: usize = if c.abandoned {
            rng.random_range(1..=3)
        } else {
            rng.random_range(range)
        };
        let first = msgs.len();
        let queue_ms = c.in_queue_seconds * 1000;
        let mut message = |rng: &mut ChaCha8Rng, sender: u8, offset_ms: i64| {
            let length = match (sender, email) {
                (_, true) => rng.random_range(200..3000),
                (CUSTOMER, _) => rng.random_range(5..300),
                (AGENT, _) => rng.random_range(20..400),
                _ => rng.random_range(40..120),
            };
            let attach = rng.random_bool(if email { 0.25 } else { 0.05 });
            let kind = ATTACHMENTS[rng.random_range(0..ATTACHMENTS.len())];
            let status = match (sender, rng.random_range(0..100u32)) {
                (CUSTOMER, _) => "received",
                (_, 0..85) => "read",
                (_, 85..99) => "delivered",
                _ => "failed",
            };
            msgs.push(Msg {
                sender,
                offset_ms,
                length,
                attachment: attach.then_some(kind),
                status,
            });
        };
        message(&mut rng, CUSTOMER, 0);
        if bot {
            let at = rng.random_range(1000..3000);
            message(&mut rng, BOT, at);
        }
        let mut first_response = None;
        if c.abandoned {
            // Only the customer writes while waiting, then gives up.
            let mut at = 0;
            for _ in 1..n {
                at = (at + rng.random_range(1000..=(queue_ms / n as i64).max(2000))).min(queue_ms);
                message(&mut rng, CUSTOMER, at);
            }
        } else {
            let answer = queue_ms + rng.random_range(5_000..30_000);
            first_response = Some(answer / 1000);
            message(&mut rng, AGENT, answer);
            let window = ((c.agent_seconds + c.hold_seconds) * 1000 - 30_000).max(1000);
            let rest = n.saturating_sub(if bot { 3 } else { 2 });
            let step = (window / (rest as i64 + 1)).max(1);
            let mut at = answer;
            for k in 0..rest {
                at += rng.random_range(step / 2..=step);
                let sender = if k % 2 == 0 || rng.random_bool(0.2) {
                    CUSTOMER
                } else {
                    AGENT
                };
                message(&mut rng, sender, at);
            }
        }
        let count = msgs.len() - first;
        let customer_count = msgs[first..].iter().filter(|m| m.sender == CUSTOMER).count() as i64;
        threads.push(Thread {
            c,
            start: to_us(c.start),
            channel,
            first,
            count,
            customer_count,
            first_response_seconds: first_response,
            updated: to_us(first_update(c)),
        });
    }
    (threads, msgs)
}

/// `interaction`: one row per digital contact.
pub(super) fn interaction(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row<'a> {
        t: &'a Thread<'a>,
        csat: Option<i64>,
        subject: Option<&'static str>,
        transfer_reason: Option<&'static str>,
    }
    let all = hour_contacts(scope, hour_start);
    let (threads, _) = threads(scope, &all, hour_start);
    let mut rng = contacts::rng_for(scope.seed, "digital", scope.tenant_id, hour_start);
    let rows: Vec<Row<'_>> = threads
        .iter()
        .map(|t| {
            let answered = rng.random_bool(0.2);
            let score = rng.random_range(1..=5);
            let subject = SUBJECTS[rng.random_range(0..SUBJECTS.len())];
            let reason = TRANSFER_REASONS[rng.random_range(0..TRANSFER_REASONS.len())];
            Row {
                t,
                csat: (answered && !t.c.abandoned).then_some(score),
                subject: (t.c.media_type == "Email").then_some(subject),
                transfer_reason: (t.c.master_contact_id != t.c.contact_id).then_some(reason),
            }
        })
        .collect();
    let named: Vec<(&str, ArrayRef)> = vec![
        ("interaction_id", strs(&rows, |r| &r.t.c.interaction_id)),
        ("contactId", ints(&rows, |r| r.t.c.contact_id)),
        ("masterContactId", ints(&rows, |r| r.t.c.master_contact_id)),
        ("mediaType", strs(&rows, |r| r.t.c.media_type)),
        ("channel", strs(&rows, |r| r.t.channel)),
        ("direction", strs(&rows, |r| r.t.c.direction)),
        ("interaction_start", times(&rows, |r| r.t.start)),
        ("interaction_end", times(&rows, |r| to_us(r.t.c.end))),
        ("skillId", ints(&rows, |r| r.t.c.skill_id)),
        ("skillName", strs(&rows, |r| r.t.c.skill_name)),
        ("agentId", opt_ints(&rows, |r| r.t.c.agent_id)),
        ("teamId", opt_ints(&rows, |r| r.t.c.team_id)),
        ("inQueueSeconds", ints(&rows, |r| r.t.c.in_queue_seconds)),
        (
            "first_response_seconds",
            opt_ints(&rows, |r| r.t.first_response_seconds),
        ),
        (
            "handle_seconds",
            ints(&rows, |r| r.t.c.agent_seconds + r.t.c.hold_seconds),
        ),
        ("ACWSeconds", ints(&rows, |r| r.t.c.acw_seconds)),
        ("message_count", ints(&rows, |r| r.t.count as i64)),
        ("customer_message_count", ints(&rows, |r| r.t.customer_count)),
        ("abandoned", bools(&rows, |r| r.t.c.abandoned)),
        ("disposition", opt_strs(&rows, |r| r.t.c.disposition)),
        ("csat_score", opt_ints(&rows, |r| r.csat)),
        ("email_subject", opt_strs(&rows, |r| r.subject)),
        ("transfer_reason", opt_strs(&rows, |r| r.transfer_reason)),
        ("last_update_time", times(&rows, |r| r.t.updated)),
    ];
    assemble(schema, rows.len(), named)
}

/// `message`: one row per message of the hour's digital interactions.
pub(super) fn message(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    struct Row<'a> {
        t: &'a Thread<'a>,
        m: &'a Msg,
        seq: i64,
    }
    let all = hour_contacts(scope, hour_start);
    let (threads, msgs) = threads(scope, &all, hour_start);
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(msgs.len());
    for t in &threads {
        for (k, m) in msgs[t.first..t.first + t.count].iter().enumerate() {
            rows.push(Row {
                t,
                m,
                seq: k as i64 + 1,
            });
        }
    }
    let named: Vec<(&str, ArrayRef)> = vec![
        ("interaction_id", strs(&rows, |r| &r.t.c.interaction_id)),
        ("message_seq", ints(&rows, |r| r.seq)),
        ("contactId", ints(&rows, |r| r.t.c.contact_id)),
        ("interaction_start", times(&rows, |r| r.t.start)),
        ("sent_time", times(&rows, |r| r.t.start + r.m.offset_ms * 1000)),
        ("mediaType", strs(&rows, |r| r.t.c.media_type)),
        ("sender_type", strs(&rows, |r| SENDERS[r.m.sender as usize])),
        (
            "agentId",
            opt_ints(&rows, |r| if r.m.sender == AGENT { r.t.c.agent_id } else { None }),
        ),
        ("is_automated", bools(&rows, |r| r.m.sender == BOT)),
        ("message_length", ints(&rows, |r| r.m.length)),
        ("has_attachment", bools(&rows, |r| r.m.attachment.is_some())),
        ("attachment_type", opt_strs(&rows, |r| r.m.attachment)),
        ("delivery_status", strs(&rows, |r| r.m.status)),
        ("last_update_time", times(&rows, |r| r.t.updated)),
    ];
    assemble(schema, rows.len(), named)
}
