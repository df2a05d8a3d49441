//! Record generators: pure functions of (seed, tenant, data type, hour, schema). Nothing random
//! is drawn outside them, so exports, the truth and the extraction API all see the same records.
//!
//! Generation is per hour (one Arrow batch per hour), whatever the download's frequency: an
//! interval's records are the concatenation of its hours', and memory stays bounded by one hour.

mod columns;
pub mod contacts;
mod digital;
mod ivr;
pub mod late;
mod quality;
pub mod rows;
mod speech;
mod telephony;
mod wfm;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use arrow_array::{new_null_array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use chrono::Duration;

use self::contacts::Contact;
use super::catalog::{Category, DataTypeSchema};
use crate::store::time::Instant;

/// Whose data is generated.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The mock's seed.
    pub seed: u64,
    /// The tenant.
    pub tenant_id: &'a str,
}

/// Records of `schema`'s data type whose event time falls in the hour starting at `hour_start`,
/// as one batch with exactly `schema`'s columns (empty batch when the hour has none).
pub fn hour_batch(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> RecordBatch {
    let batch = match (schema.category, schema.name) {
        (Category::Telephony, "cdr") => telephony::cdr(scope, schema, hour_start),
        (Category::Telephony, "acd") => telephony::acd(scope, schema, hour_start),
        (Category::Telephony, "skill_group") => telephony::skill_group(scope, schema, hour_start),
        (Category::WorkforceManagement, "adherence") => wfm::adherence(scope, schema, hour_start),
        (Category::WorkforceManagement, "schedule") => wfm::schedule(scope, schema, hour_start),
        (Category::Speech, "transcript_analytics") => speech::transcript_analytics(scope, schema, hour_start),
        (Category::Speech, "topics") => speech::topics(scope, schema, hour_start),
        (Category::Ivr, "ivr_session") => ivr::ivr_session(scope, schema, hour_start),
        (Category::Ivr, "ivr_node") => ivr::ivr_node(scope, schema, hour_start),
        (Category::Digital, "interaction") => digital::interaction(scope, schema, hour_start),
        (Category::Digital, "message") => digital::message(scope, schema, hour_start),
        (Category::QualityManagement, "evaluation") => quality::evaluation(scope, schema, hour_start),
        (Category::QualityManagement, "question_scores") => quality::question_scores(scope, schema, hour_start),
        _ => None,
    };
    batch.unwrap_or_else(|| RecordBatch::new_empty(arrow_schema(schema)))
}

/// Hours whose contacts are kept by [`hour_contacts`] (about 40 KB each at peak volume).
const CONTACT_CACHE_HOURS: usize = 64;

/// The contacts of one hour ([`contacts::for_hour`]), shared by every data type built from them:
/// a telephony export builds `cdr`, `acd` and `skill_group` of the same hour, speech, IVR, digital
/// and quality build theirs from the same contacts, and deriving them (two SHA-256 ids each) costs
/// more than the columns do. A small most-recently-used cache; a pure function all the same.
pub(crate) fn hour_contacts(scope: Scope<'_>, hour_start: Instant) -> Arc<Vec<Contact>> {
    type Entry = (u64, String, i64, Arc<Vec<Contact>>);
    static CACHE: Mutex<VecDeque<Entry>> = Mutex::new(VecDeque::new());
    let hour = contacts::hour_index(hour_start);
    let hit = |e: &Entry| e.0 == scope.seed && e.2 == hour && e.1 == scope.tenant_id;
    if let Ok(mut cache) = CACHE.lock() {
        if let Some(i) = cache.iter().position(hit) {
            let e = cache.remove(i);
            if let Some(e) = e {
                let found = e.3.clone();
                cache.push_front(e);
                return found;
            }
        }
    }
    let built = Arc::new(contacts::for_hour(scope.seed, scope.tenant_id, hour_start));
    if let Ok(mut cache) = CACHE.lock() {
        if !cache.iter().any(hit) {
            cache.push_front((scope.seed, scope.tenant_id.to_string(), hour, built.clone()));
            cache.truncate(CONTACT_CACHE_HOURS);
        }
    }
    built
}

/// One batch per hour of [start, end) (both on the hour), lazily: memory holds one hour.
pub fn batches<'a>(
    scope: Scope<'a>,
    schema: &'a DataTypeSchema,
    start: Instant,
    end: Instant,
) -> impl Iterator<Item = RecordBatch> + 'a {
    let hours = (end - start).num_hours().max(0);
    (0..hours).map(move |h| hour_batch(scope, schema, start + Duration::hours(h)))
}

/// Assembles a batch in `schema`'s column order from named arrays of `rows` rows. A schema column
/// the generator did not build is all null (a later schema version's columns are filled by
/// whoever added them); a built array the schema lacks is left out.
pub(crate) fn assemble(schema: &DataTypeSchema, rows: usize, named: Vec<(&str, ArrayRef)>) -> Option<RecordBatch> {
    let arrow = arrow_schema(schema);
    let columns: Vec<ArrayRef> = arrow
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            // Generators build columns in schema order: look at the same position first.
            let found = match named.get(i) {
                Some((n, a)) if *n == f.name() => Some(a),
                _ => named.iter().find(|(n, _)| *n == f.name()).map(|(_, a)| a),
            };
            match found {
                Some(a) => a.clone(),
                None => new_null_array(f.data_type(), rows),
            }
        })
        .collect();
    match RecordBatch::try_new(arrow, columns) {
        Ok(b) => Some(b),
        Err(e) => {
            tracing::error!(data_type = schema.name, "generator built a batch off its schema: {e}");
            None
        }
    }
}

/// Arrow schemas built so far ([`DataTypeSchema::arrow_schema`] allocates every field anew, which
/// costs more than a small hour's columns). Keyed by the whole schema, so a drifted version gets
/// its own entry.
pub(crate) fn arrow_schema(schema: &DataTypeSchema) -> SchemaRef {
    const KEPT: usize = 64;
    static BUILT: Mutex<Vec<(DataTypeSchema, SchemaRef)>> = Mutex::new(Vec::new());
    if let Ok(built) = BUILT.lock() {
        if let Some((_, a)) = built.iter().find(|(s, _)| s == schema) {
            return a.clone();
        }
    }
    let a = schema.arrow_schema();
    if let Ok(mut built) = BUILT.lock() {
        if built.len() >= KEPT {
            built.remove(0);
        }
        built.push((schema.clone(), a.clone()));
    }
    a
}

/// `yyyyMMddHH` of an hour (UTC) as an integer: the time part of integer keys (`interval_id`,
/// `segment_id`, `block_id`).
pub(crate) fn hour_id(hour_start: Instant) -> i64 {
    use chrono::{Datelike, Timelike};
    hour_start.year() as i64 * 1_000_000
        + hour_start.month() as i64 * 10_000
        + hour_start.day() as i64 * 100
        + hour_start.hour() as i64
}

/// The end of the hour starting at `hour_start`.
pub(crate) fn hour_end(hour_start: Instant) -> Instant {
    hour_start + Duration::hours(1)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use arrow_schema::DataType;

    use super::*;
    use crate::store::time::{parse_rfc3339, to_us};

    const SEED: u64 = 42;
    const TENANT: &str = "t-demo";

    fn scope() -> Scope<'static> {
        Scope {
            seed: SEED,
            tenant_id: TENANT,
        }
    }

    fn at(s: &str) -> Instant {
        parse_rfc3339(s).unwrap_or_default()
    }

    /// A busy weekday hour.
    fn busy() -> Instant {
        at("2026-01-05T10:00:00Z")
    }

    fn every_data_type() -> Vec<DataTypeSchema> {
        Category::ALL.into_iter().flat_map(Category::data_types).collect()
    }

    fn schema(category: Category, name: &str) -> DataTypeSchema {
        category.data_type(name).unwrap_or_else(|| panic!("data type {name}"))
    }

    fn batch(category: Category, name: &str, hour: Instant) -> RecordBatch {
        hour_batch(scope(), &schema(category, name), hour)
    }

    /// A cell rendered as text (None for null), for keys and cross-references.
    fn cell(b: &RecordBatch, column: &str, row: usize) -> Option<String> {
        let a = b.column_by_name(column).unwrap_or_else(|| panic!("column {column}"));
        if a.is_null(row) {
            return None;
        }
        Some(match a.data_type() {
            DataType::Utf8 => a.as_string::<i32>().value(row).to_string(),
            DataType::Int64 => a.as_primitive::<Int64Type>().value(row).to_string(),
            DataType::Float64 => a.as_primitive::<Float64Type>().value(row).to_string(),
            DataType::Boolean => a.as_boolean().value(row).to_string(),
            DataType::Timestamp(..) => a.as_primitive::<TimestampMicrosecondType>().value(row).to_string(),
            other => panic!("unexpected type {other}"),
        })
    }

    fn column(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
        (0..b.num_rows()).map(|r| cell(b, name, r)).collect()
    }

    fn values(b: &RecordBatch, name: &str) -> HashSet<String> {
        column(b, name).into_iter().flatten().collect()
    }

    fn ints(b: &RecordBatch, name: &str) -> Vec<i64> {
        let a = b.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
        a.as_primitive::<Int64Type>().values().to_vec()
    }

    fn floats(b: &RecordBatch, name: &str) -> Vec<f64> {
        let a = b.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
        a.as_primitive::<Float64Type>().values().to_vec()
    }

    fn micros(b: &RecordBatch, name: &str) -> Vec<i64> {
        let a = b.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
        a.as_primitive::<TimestampMicrosecondType>().values().to_vec()
    }

    /// A busy weekday, a quiet night and a weekend hour: the hours most tests walk.
    fn sample_hours() -> Vec<Instant> {
        [
            "2026-01-05T10:00:00Z",
            "2026-01-05T14:00:00Z",
            "2026-01-06T03:00:00Z",
            "2026-01-10T12:00:00Z",
        ]
        .into_iter()
        .map(at)
        .collect()
    }

    #[test]
    fn d2_every_data_type_generates_a_batch_matching_its_schema() {
        for d in every_data_type() {
            let b = hour_batch(scope(), &d, busy());
            assert_eq!(b.schema(), d.arrow_schema(), "{}", d.name);
            assert!(b.num_rows() > 0, "{}: a busy hour has records", d.name);
            for (f, a) in b.schema().fields().iter().zip(b.columns()) {
                assert!(
                    f.is_nullable() || a.null_count() == 0,
                    "{}.{} is never null",
                    d.name,
                    f.name()
                );
            }
        }
    }

    #[test]
    fn quiet_hours_generate_valid_batches_too() {
        let weekend_day = at("2026-01-10T00:00:00Z");
        for d in every_data_type() {
            for b in batches(scope(), &d, weekend_day, weekend_day + Duration::days(1)) {
                assert_eq!(b.schema(), d.arrow_schema(), "{}", d.name);
            }
        }
    }

    #[test]
    fn generation_is_deterministic_per_seed_and_tenant() {
        for d in every_data_type() {
            let a = hour_batch(scope(), &d, busy());
            assert_eq!(a, hour_batch(scope(), &d, busy()), "{}: same seed, same batch", d.name);
            let other_seed = hour_batch(
                Scope {
                    seed: SEED + 1,
                    tenant_id: TENANT,
                },
                &d,
                busy(),
            );
            assert_ne!(a, other_seed, "{}: another seed, other records", d.name);
            let other_tenant = hour_batch(
                Scope {
                    seed: SEED,
                    tenant_id: "t-other",
                },
                &d,
                busy(),
            );
            assert_ne!(a, other_tenant, "{}: another tenant, other records", d.name);
        }
    }

    #[test]
    fn cached_contacts_are_the_contact_universe() {
        for h in sample_hours() {
            let cached = hour_contacts(scope(), h);
            assert_eq!(*cached, contacts::for_hour(SEED, TENANT, h));
            assert!(Arc::ptr_eq(&cached, &hour_contacts(scope(), h)));
        }
        let other = hour_contacts(
            Scope {
                seed: SEED,
                tenant_id: "t-other",
            },
            busy(),
        );
        assert_ne!(*other, *hour_contacts(scope(), busy()));
    }

    #[test]
    fn key_columns_are_unique_within_an_hour() {
        for d in every_data_type() {
            for h in sample_hours() {
                let b = hour_batch(scope(), &d, h);
                let mut seen = HashSet::new();
                for r in 0..b.num_rows() {
                    let key: Vec<Option<String>> = d.key_columns.iter().map(|k| cell(&b, k, r)).collect();
                    assert!(key.iter().all(Option::is_some), "{}: key of row {r} has a null", d.name);
                    assert!(seen.insert(key.clone()), "{}: key {key:?} repeats at {h}", d.name);
                }
            }
        }
    }

    #[test]
    fn event_times_lie_inside_their_hour_and_updates_come_later() {
        for d in every_data_type() {
            for h in sample_hours() {
                let b = hour_batch(scope(), &d, h);
                let (lo, hi) = (to_us(h), to_us(hour_end(h)));
                let events = micros(&b, d.event_time_column);
                let updates = micros(&b, "last_update_time");
                for (e, u) in events.iter().zip(&updates) {
                    assert!((lo..hi).contains(e), "{}: event time {e} outside [{lo}, {hi})", d.name);
                    assert!(u > e, "{}: last_update_time {u} not after event time {e}", d.name);
                }
            }
        }
    }

    #[test]
    fn d3_some_columns_are_null_in_every_row_and_the_others_are_filled_somewhere() {
        // Columns null in every row at default settings: Parquet drops them (D3), CSV keeps them.
        let always_null: HashSet<(&str, &str)> = [("cdr", "legacy_wrapup_code"), ("evaluation", "compliance_flag")]
            .into_iter()
            .collect();
        let day = at("2026-01-05T00:00:00Z");
        for d in every_data_type() {
            let day_batches: Vec<RecordBatch> = batches(scope(), &d, day, day + Duration::days(1)).collect();
            let rows: usize = day_batches.iter().map(RecordBatch::num_rows).sum();
            for (i, c) in d.columns.iter().enumerate() {
                let nulls: usize = day_batches.iter().map(|b| b.column(i).null_count()).sum();
                if always_null.contains(&(d.name, c.name.as_str())) {
                    assert_eq!(nulls, rows, "{}.{} is null in every row", d.name, c.name);
                } else {
                    assert!(nulls < rows, "{}.{} has values somewhere in a day", d.name, c.name);
                }
            }
        }
        // A few columns are null-heavy (populated for a minority of rows).
        for (category, name, col) in [
            (Category::Telephony, "cdr", "transfer_reason"),
            (Category::WorkforceManagement, "adherence", "supervisor_note"),
            (Category::QualityManagement, "evaluation", "supervisor_note"),
            (Category::Digital, "interaction", "csat_score"),
            (Category::Ivr, "ivr_node", "input_value"),
        ] {
            let s = schema(category, name);
            let bs: Vec<RecordBatch> = batches(scope(), &s, day, day + Duration::days(1)).collect();
            let rows: usize = bs.iter().map(RecordBatch::num_rows).sum();
            let nulls: usize = bs
                .iter()
                .filter_map(|b| b.column_by_name(col))
                .map(|a| a.null_count())
                .sum();
            assert!(nulls * 2 > rows, "{name}.{col}: mostly null ({nulls} of {rows})");
        }
    }

    #[test]
    fn telephony_rows_are_the_hours_voice_contacts() {
        for h in sample_hours() {
            let all = contacts::for_hour(SEED, TENANT, h);
            let voice: HashSet<String> = all
                .iter()
                .filter(|c| c.is_voice())
                .map(|c| c.call_uuid.clone())
                .collect();
            let cdr = batch(Category::Telephony, "cdr", h);
            let acd = batch(Category::Telephony, "acd", h);
            assert_eq!(values(&cdr, "call_uuid"), voice);
            assert_eq!(values(&acd, "call_uuid"), voice);
            assert_eq!(cdr.num_rows(), voice.len());
            assert_eq!(acd.num_rows(), voice.len());
            // skill_group aggregates the same contacts, every skill every hour.
            let sg = batch(Category::Telephony, "skill_group", h);
            assert_eq!(sg.num_rows(), contacts::SKILLS.len());
            let inbound = all.iter().filter(|c| c.is_voice() && c.direction == "Inbound").count() as i64;
            assert_eq!(ints(&sg, "contactsOffered").iter().sum::<i64>(), inbound);
            let abandoned = all.iter().filter(|c| c.is_voice() && c.abandoned).count() as i64;
            assert_eq!(ints(&sg, "contactsAbandoned").iter().sum::<i64>(), abandoned);
            let handled = ints(&sg, "contactsHandled");
            assert_eq!(handled.iter().sum::<i64>(), inbound - abandoned);
        }
    }

    /// call_uuid → (contactId, agentId) of the hour's cdr.
    fn cdr_index(h: Instant) -> HashMap<String, (Option<String>, Option<String>)> {
        let cdr = batch(Category::Telephony, "cdr", h);
        (0..cdr.num_rows())
            .filter_map(|r| {
                Some((
                    cell(&cdr, "call_uuid", r)?,
                    (cell(&cdr, "contactId", r), cell(&cdr, "agentId", r)),
                ))
            })
            .collect()
    }

    #[test]
    fn speech_rows_point_at_recorded_voice_contacts_of_the_hours_cdr() {
        for h in sample_hours() {
            let cdr = cdr_index(h);
            let t = batch(Category::Speech, "transcript_analytics", h);
            let recorded = contacts::for_hour(SEED, TENANT, h)
                .iter()
                .filter(|c| c.is_voice() && c.recorded)
                .count();
            assert_eq!(t.num_rows(), recorded);
            for r in 0..t.num_rows() {
                let uuid = cell(&t, "call_uuid", r).unwrap_or_default();
                let (contact, agent) = cdr.get(&uuid).unwrap_or_else(|| panic!("{uuid} is in the cdr"));
                assert_eq!(&cell(&t, "contactId", r), contact);
                assert_eq!(&cell(&t, "agentId", r), agent);
            }
            let talk = floats(&t, "agent_talk_percent");
            let cust = floats(&t, "customer_talk_percent");
            let silence = floats(&t, "silence_percent");
            for i in 0..t.num_rows() {
                assert!((talk[i] + cust[i] + silence[i] - 100.0).abs() < 0.05);
            }
            let topics = batch(Category::Speech, "topics", h);
            assert!(values(&topics, "call_uuid").is_subset(&values(&t, "call_uuid")));
        }
    }

    #[test]
    fn qm_evaluations_point_at_recorded_contacts_and_add_up() {
        let mut evaluated = 0;
        let mut recorded = 0;
        let day = at("2026-01-05T00:00:00Z");
        for h in (0..24).map(|i| day + Duration::hours(i)) {
            let cdr = cdr_index(h);
            let ev = batch(Category::QualityManagement, "evaluation", h);
            let qs = batch(Category::QualityManagement, "question_scores", h);
            evaluated += ev.num_rows();
            recorded += contacts::for_hour(SEED, TENANT, h)
                .iter()
                .filter(|c| c.is_voice() && c.recorded)
                .count();
            let earned = floats(&ev, "points_earned");
            let possible = floats(&ev, "points_possible");
            for r in 0..ev.num_rows() {
                let uuid = cell(&ev, "call_uuid", r).unwrap_or_default();
                let (contact, agent) = cdr.get(&uuid).unwrap_or_else(|| panic!("{uuid} is in the cdr"));
                assert_eq!(&cell(&ev, "contactId", r), contact);
                assert_eq!(&cell(&ev, "agentId", r), agent);
                let id = cell(&ev, "evaluation_id", r);
                let mine: Vec<usize> = (0..qs.num_rows())
                    .filter(|q| cell(&qs, "evaluation_id", *q) == id)
                    .collect();
                assert!(mine.len() >= 6, "an evaluation has its questions");
                let qe: f64 = mine.iter().map(|q| floats(&qs, "points_earned")[*q]).sum();
                let qp: f64 = mine.iter().map(|q| floats(&qs, "points_possible")[*q]).sum();
                assert!((qe - earned[r]).abs() < 1e-9 && (qp - possible[r]).abs() < 1e-9);
                assert!(mine.iter().all(|q| cell(&qs, "call_uuid", *q) == Some(uuid.clone())));
            }
        }
        let share = evaluated as f64 / recorded as f64;
        assert!(
            (0.05..0.16).contains(&share),
            "about one recorded contact in ten: {evaluated}/{recorded}"
        );
    }

    #[test]
    fn ivr_sessions_are_the_hours_inbound_voice_contacts_plus_self_service() {
        for h in sample_hours() {
            let all = contacts::for_hour(SEED, TENANT, h);
            let inbound: HashSet<String> = all
                .iter()
                .filter(|c| c.is_voice() && c.direction == "Inbound")
                .map(|c| c.contact_id.to_string())
                .collect();
            let cdr = cdr_index(h);
            let s = batch(Category::Ivr, "ivr_session", h);
            assert_eq!(values(&s, "contactId"), inbound);
            let without_contact = column(&s, "contactId").iter().filter(|c| c.is_none()).count();
            assert!(without_contact <= inbound.len() / 2 + 3);
            for r in 0..s.num_rows() {
                match cell(&s, "call_uuid", r) {
                    Some(uuid) => {
                        assert_eq!(cdr.get(&uuid).map(|x| &x.0), Some(&cell(&s, "contactId", r)));
                        assert_eq!(cell(&s, "outcome", r).as_deref(), Some("transferred_to_agent"));
                    }
                    None => assert_ne!(cell(&s, "outcome", r).as_deref(), Some("transferred_to_agent")),
                }
                let hash = cell(&s, "session_hash", r).unwrap_or_default();
                assert!(hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
            }
            // Nodes: every session's nodes, numbered from 1, within the session.
            let n = batch(Category::Ivr, "ivr_node", h);
            assert_eq!(values(&n, "session_hash"), values(&s, "session_hash"));
            assert_eq!(n.num_rows() as i64, ints(&s, "node_count").iter().sum::<i64>());
            let (starts, ends) = (micros(&s, "session_start"), micros(&s, "session_end"));
            let by_hash: HashMap<String, (i64, i64)> = (0..s.num_rows())
                .map(|r| (cell(&s, "session_hash", r).unwrap_or_default(), (starts[r], ends[r])))
                .collect();
            let (ns, ne) = (micros(&n, "node_start"), micros(&n, "node_end"));
            for r in 0..n.num_rows() {
                let (a, b) = by_hash[&cell(&n, "session_hash", r).unwrap_or_default()];
                assert!(a <= ns[r] && ns[r] < ne[r] && ne[r] <= b, "node inside its session");
            }
        }
        // The hash of a contact's session is the same whichever hour batch is asked twice.
        let a = batch(Category::Ivr, "ivr_session", busy());
        assert_eq!(
            column(&a, "session_hash"),
            column(&batch(Category::Ivr, "ivr_session", busy()), "session_hash")
        );
    }

    #[test]
    fn digital_rows_are_the_hours_non_voice_contacts() {
        for h in sample_hours() {
            let all = contacts::for_hour(SEED, TENANT, h);
            let digital: HashSet<String> = all
                .iter()
                .filter(|c| !c.is_voice())
                .map(|c| c.interaction_id.clone())
                .collect();
            let i = batch(Category::Digital, "interaction", h);
            assert_eq!(values(&i, "interaction_id"), digital);
            let m = batch(Category::Digital, "message", h);
            assert_eq!(m.num_rows() as i64, ints(&i, "message_count").iter().sum::<i64>());
            assert!(values(&m, "interaction_id").is_subset(&digital));
            let (starts, ends) = (micros(&i, "interaction_start"), micros(&i, "interaction_end"));
            let span: HashMap<String, (i64, i64)> = (0..i.num_rows())
                .map(|r| (cell(&i, "interaction_id", r).unwrap_or_default(), (starts[r], ends[r])))
                .collect();
            let sent = micros(&m, "sent_time");
            for r in 0..m.num_rows() {
                let (a, b) = span[&cell(&m, "interaction_id", r).unwrap_or_default()];
                assert!(a <= sent[r] && sent[r] <= b, "message sent during its interaction");
            }
        }
    }

    #[test]
    fn wfm_adherence_segments_follow_the_schedule() {
        for h in sample_hours() {
            let s = batch(Category::WorkforceManagement, "schedule", h);
            let a = batch(Category::WorkforceManagement, "adherence", h);
            assert_eq!(values(&s, "agentId"), values(&a, "agentId"));
            // Every scheduled agent's blocks cover the hour exactly.
            let mut minutes: HashMap<String, i64> = HashMap::new();
            for r in 0..s.num_rows() {
                *minutes.entry(cell(&s, "agentId", r).unwrap_or_default()).or_default() +=
                    ints(&s, "duration_minutes")[r];
            }
            assert!(minutes.values().all(|m| *m == 60));
            let (bs, be) = (micros(&s, "block_start"), micros(&s, "block_end"));
            let (ss, se) = (micros(&a, "state_start"), micros(&a, "state_end"));
            let mut seconds: HashMap<String, i64> = HashMap::new();
            for r in 0..a.num_rows() {
                let agent = cell(&a, "agentId", r);
                let block =
                    (0..s.num_rows()).find(|b| cell(&s, "agentId", *b) == agent && bs[*b] <= ss[r] && se[r] <= be[*b]);
                let block = block.unwrap_or_else(|| panic!("segment {r} lies in one block"));
                assert_eq!(cell(&a, "scheduled_activity", r), cell(&s, "activity_name", block));
                *seconds.entry(agent.unwrap_or_default()).or_default() += (se[r] - ss[r]) / 1_000_000;
            }
            assert!(seconds.values().all(|s| *s == 3600), "segments cover the hour");
            // Integer keys: yyyyMMddHH × 100 + the agent's 1-based number, below 100.
            let hour = hour_id(h);
            for (b, key) in [(&s, "block_id"), (&a, "segment_id")] {
                assert!(ints(b, key)
                    .iter()
                    .all(|k| k / 100 == hour && (1..100).contains(&(k % 100))));
            }
            let sg = batch(Category::Telephony, "skill_group", h);
            assert!(ints(&sg, "interval_id").iter().all(|k| *k == hour));
        }
        let night = batch(Category::WorkforceManagement, "schedule", at("2026-01-06T03:00:00Z"));
        let peak = batch(Category::WorkforceManagement, "schedule", busy());
        assert!(values(&night, "agentId").len() < values(&peak, "agentId").len());
    }

    #[test]
    fn volumes_follow_the_daily_curve() {
        for d in every_data_type() {
            if d.name == "skill_group" {
                continue; // one row per skill, whatever the volume
            }
            let peak = hour_batch(scope(), &d, busy()).num_rows();
            let night = hour_batch(scope(), &d, at("2026-01-06T03:00:00Z")).num_rows();
            assert!(night * 3 < peak.max(1), "{}: night {night}, peak {peak}", d.name);
        }
    }

    /// Generation cost next to a bare Parquet writer, per data type over a week (run in release:
    /// `cargo test --release -p mock-cxone --lib generation_cost -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn generation_cost() {
        use parquet::arrow::ArrowWriter;
        use std::time::Instant as Wall;
        let start = at("2026-01-05T00:00:00Z");
        let end = start + Duration::days(7);
        let t = Wall::now();
        for h in 0..168 {
            std::hint::black_box(contacts::for_hour(SEED, TENANT, start + Duration::hours(h)));
        }
        println!("for_hour x168: {:?}", t.elapsed());
        for d in every_data_type() {
            let _: Vec<RecordBatch> = batches(scope(), &d, start, end).collect(); // warm the cache
            let t = Wall::now();
            let bs: Vec<RecordBatch> = batches(scope(), &d, start, end).collect();
            let gen = t.elapsed();
            let rows: usize = bs.iter().map(RecordBatch::num_rows).sum();
            let t = Wall::now();
            let mut w = ArrowWriter::try_new(Vec::new(), d.arrow_schema(), None).expect("writer");
            for b in &bs {
                w.write(b).expect("write");
            }
            let bytes = w.into_inner().expect("close").len();
            let write = t.elapsed();
            println!(
                "{:<22} rows {rows:>6} gen(warm) {:>8.3} ms  write {:>8.3} ms  ({bytes} B)",
                d.name,
                gen.as_secs_f64() * 1e3,
                write.as_secs_f64() * 1e3
            );
        }
    }
}
