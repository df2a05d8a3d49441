//! The schema of every data type of every category, version 1 (what `GET
//! /api/v2/data-downloads/schemas` documents; docs/data-download-schemas.md explains every column).
//!
//! Naming: CXone's reporting vocabulary where it has a name for the field (`contactId`,
//! `masterContactId`, `skillId`, `preQueueSeconds`, `ACWSeconds`, `serviceLevelFlag`, ...), the
//! guide's snake_case otherwise (`call_uuid`, `interaction_id`, `session_hash`,
//! `last_update_time`). Every data type has key columns (the guide's idempotency key first where
//! it applies), an event-time column whose value lies in the hour that generated the record, and
//! a `last_update_time`. Key columns are strings or integers (CONTRACT §4): where a record is
//! identified by a time (a skill's interval, an agent's state segment or schedule block) the key
//! is an integer id built from the hour, `yyyyMMddHH`.

use super::catalog::{Category, ColType, Column, DataTypeSchema};

use ColType::{Boolean, Float64, Int64, Timestamp, Utf8};

/// The data types of `category` at schema version 1.
pub fn for_category(category: Category) -> Vec<DataTypeSchema> {
    match category {
        Category::Telephony => vec![cdr(), acd(), skill_group()],
        Category::WorkforceManagement => vec![adherence(), schedule()],
        Category::Speech => vec![transcript_analytics(), topics()],
        Category::Ivr => vec![ivr_session(), ivr_node()],
        Category::Digital => vec![interaction(), message()],
        Category::QualityManagement => vec![evaluation(), question_scores()],
    }
}

/// Builds a column list from (name, type, nullable) triples.
fn cols(spec: &[(&str, ColType, bool)]) -> Vec<Column> {
    spec.iter().map(|&(n, t, null)| Column::new(n, t, null)).collect()
}

/// Schema version 1 of a data type.
fn v1(
    category: Category,
    name: &'static str,
    key_columns: &[&'static str],
    event_time_column: &'static str,
    spec: &[(&str, ColType, bool)],
) -> DataTypeSchema {
    DataTypeSchema {
        category,
        name,
        version: 1,
        key_columns: key_columns.to_vec(),
        event_time_column,
        columns: cols(spec),
    }
}

// ---------------------------------------------------------------------------------------------
// telephony (hourly)

/// `cdr`: one call detail record per voice contact.
fn cdr() -> DataTypeSchema {
    v1(
        Category::Telephony,
        "cdr",
        &["call_uuid"],
        "start_time",
        &[
            ("call_uuid", Utf8, false),
            ("contactId", Int64, false),
            ("masterContactId", Int64, false),
            ("start_time", Timestamp, false),
            ("end_time", Timestamp, false),
            ("direction", Utf8, false),
            ("ANI", Utf8, false),
            ("DNIS", Utf8, false),
            ("skillId", Int64, false),
            ("skillName", Utf8, false),
            ("agentId", Int64, true),
            ("teamId", Int64, true),
            ("abandoned", Boolean, false),
            ("disposition", Utf8, true),
            ("duration_seconds", Int64, false),
            ("recorded", Boolean, false),
            ("transfer_reason", Utf8, true),
            ("legacy_wrapup_code", Utf8, true),
            ("last_update_time", Timestamp, false),
        ],
    )
}

/// `acd`: the ACD's segment metrics of every voice contact.
fn acd() -> DataTypeSchema {
    v1(
        Category::Telephony,
        "acd",
        &["call_uuid"],
        "contactStart",
        &[
            ("call_uuid", Utf8, false),
            ("contactId", Int64, false),
            ("masterContactId", Int64, false),
            ("contactStart", Timestamp, false),
            ("mediaType", Utf8, false),
            ("isOutbound", Boolean, false),
            ("skillId", Int64, false),
            ("skillName", Utf8, false),
            ("agentId", Int64, true),
            ("teamId", Int64, true),
            ("agentStart", Timestamp, true),
            ("preQueueSeconds", Int64, false),
            ("inQueueSeconds", Int64, false),
            ("agentSeconds", Int64, false),
            ("holdSeconds", Int64, false),
            ("holdCount", Int64, false),
            ("ACWSeconds", Int64, false),
            ("totalDurationSeconds", Int64, false),
            ("abandoned", Boolean, false),
            ("abandonSeconds", Int64, true),
            ("serviceLevelFlag", Boolean, true),
            ("endReason", Utf8, false),
            ("last_update_time", Timestamp, false),
        ],
    )
}

/// `skill_group`: per skill per hour aggregates of voice contacts.
fn skill_group() -> DataTypeSchema {
    v1(
        Category::Telephony,
        "skill_group",
        &["skillId", "interval_id"],
        "interval_start",
        &[
            ("skillId", Int64, false),
            ("interval_id", Int64, false),
            ("interval_start", Timestamp, false),
            ("interval_end", Timestamp, false),
            ("skillName", Utf8, false),
            ("mediaType", Utf8, false),
            ("contactsOffered", Int64, false),
            ("contactsHandled", Int64, false),
            ("contactsAbandoned", Int64, false),
            ("contactsOutbound", Int64, false),
            ("contactsWithinSL", Int64, false),
            ("serviceLevelPercent", Float64, true),
            ("avgSpeedOfAnswerSeconds", Float64, true),
            ("avgHandleSeconds", Float64, true),
            ("maxInQueueSeconds", Int64, false),
            ("agentsHandling", Int64, false),
            ("last_update_time", Timestamp, false),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// workforce_management (six-hourly)

/// `adherence`: agent state segments against the schedule.
fn adherence() -> DataTypeSchema {
    v1(
        Category::WorkforceManagement,
        "adherence",
        &["agentId", "segment_id"],
        "state_start",
        &[
            ("agentId", Int64, false),
            ("segment_id", Int64, false),
            ("state_start", Timestamp, false),
            ("state_end", Timestamp, false),
            ("agentName", Utf8, false),
            ("teamId", Int64, false),
            ("duration_seconds", Int64, false),
            ("scheduled_activity", Utf8, false),
            ("actual_state", Utf8, false),
            ("unavailable_code", Utf8, true),
            ("in_adherence", Boolean, false),
            ("exception_reason", Utf8, true),
            ("supervisor_note", Utf8, true),
            ("last_update_time", Timestamp, false),
        ],
    )
}

/// `schedule`: agent schedule blocks.
fn schedule() -> DataTypeSchema {
    v1(
        Category::WorkforceManagement,
        "schedule",
        &["agentId", "block_id"],
        "block_start",
        &[
            ("agentId", Int64, false),
            ("block_id", Int64, false),
            ("block_start", Timestamp, false),
            ("block_end", Timestamp, false),
            ("agentName", Utf8, false),
            ("teamId", Int64, false),
            ("schedulingUnit", Utf8, false),
            ("duration_minutes", Int64, false),
            ("activity_code", Utf8, false),
            ("activity_name", Utf8, false),
            ("is_paid", Boolean, false),
            ("is_productive", Boolean, false),
            ("published_time", Timestamp, false),
            ("schedule_note", Utf8, true),
            ("last_update_time", Timestamp, false),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// speech (hourly, lags telephony: F7)

/// `transcript_analytics`: one row per recorded voice contact.
fn transcript_analytics() -> DataTypeSchema {
    v1(
        Category::Speech,
        "transcript_analytics",
        &["call_uuid"],
        "contactStart",
        &[
            ("call_uuid", Utf8, false),
            ("contactId", Int64, false),
            ("masterContactId", Int64, false),
            ("contactStart", Timestamp, false),
            ("agentId", Int64, false),
            ("skillId", Int64, false),
            ("language", Utf8, false),
            ("recorded_seconds", Int64, false),
            ("overall_sentiment", Utf8, false),
            ("sentiment_score", Float64, false),
            ("customer_sentiment_start", Utf8, false),
            ("customer_sentiment_end", Utf8, false),
            ("agent_talk_percent", Float64, false),
            ("customer_talk_percent", Float64, false),
            ("silence_percent", Float64, false),
            ("overtalk_count", Int64, false),
            ("word_count", Int64, false),
            ("transcript_confidence", Float64, false),
            ("escalation_detected", Boolean, false),
            ("pci_redacted", Boolean, false),
            ("translated_to", Utf8, true),
            ("transcription_model", Utf8, false),
            ("transcription_completed_time", Timestamp, false),
            ("last_update_time", Timestamp, false),
        ],
    )
}

/// `topics`: the topics (categories) detected in a transcript, several per contact.
fn topics() -> DataTypeSchema {
    v1(
        Category::Speech,
        "topics",
        &["call_uuid", "topic"],
        "contactStart",
        &[
            ("call_uuid", Utf8, false),
            ("topic", Utf8, false),
            ("contactId", Int64, false),
            ("contactStart", Timestamp, false),
            ("topic_category", Utf8, false),
            ("match_count", Int64, false),
            ("first_match_offset_seconds", Int64, false),
            ("speaker", Utf8, false),
            ("confidence", Float64, false),
            ("sentiment", Utf8, false),
            ("matched_phrase", Utf8, true),
            ("last_update_time", Timestamp, false),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// ivr (hourly)

/// `ivr_session`: one row per IVR session.
fn ivr_session() -> DataTypeSchema {
    v1(
        Category::Ivr,
        "ivr_session",
        &["session_hash"],
        "session_start",
        &[
            ("session_hash", Utf8, false),
            ("contactId", Int64, true),
            ("call_uuid", Utf8, true),
            ("session_start", Timestamp, false),
            ("session_end", Timestamp, false),
            ("duration_seconds", Int64, false),
            ("entry_point", Utf8, false),
            ("ANI", Utf8, false),
            ("DNIS", Utf8, false),
            ("language", Utf8, false),
            ("menu_path", Utf8, false),
            ("node_count", Int64, false),
            ("outcome", Utf8, false),
            ("skillId", Int64, true),
            ("skillName", Utf8, true),
            ("authenticated", Boolean, false),
            ("no_input_count", Int64, false),
            ("no_match_count", Int64, false),
            ("exit_reason", Utf8, true),
            ("last_update_time", Timestamp, false),
        ],
    )
}

/// `ivr_node`: the menu nodes a session visited, in order.
fn ivr_node() -> DataTypeSchema {
    v1(
        Category::Ivr,
        "ivr_node",
        &["session_hash", "node_sequence"],
        "session_start",
        &[
            ("session_hash", Utf8, false),
            ("node_sequence", Int64, false),
            ("contactId", Int64, true),
            ("session_start", Timestamp, false),
            ("node_id", Int64, false),
            ("node_name", Utf8, false),
            ("node_type", Utf8, false),
            ("node_start", Timestamp, false),
            ("node_end", Timestamp, false),
            ("duration_ms", Int64, false),
            ("input_value", Utf8, true),
            ("result", Utf8, false),
            ("last_update_time", Timestamp, false),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// digital (daily)

/// `interaction`: one row per chat, email, SMS or messaging contact.
fn interaction() -> DataTypeSchema {
    v1(
        Category::Digital,
        "interaction",
        &["interaction_id"],
        "interaction_start",
        &[
            ("interaction_id", Utf8, false),
            ("contactId", Int64, false),
            ("masterContactId", Int64, false),
            ("mediaType", Utf8, false),
            ("channel", Utf8, false),
            ("direction", Utf8, false),
            ("interaction_start", Timestamp, false),
            ("interaction_end", Timestamp, false),
            ("skillId", Int64, false),
            ("skillName", Utf8, false),
            ("agentId", Int64, true),
            ("teamId", Int64, true),
            ("inQueueSeconds", Int64, false),
            ("first_response_seconds", Int64, true),
            ("handle_seconds", Int64, false),
            ("ACWSeconds", Int64, false),
            ("message_count", Int64, false),
            ("customer_message_count", Int64, false),
            ("abandoned", Boolean, false),
            ("disposition", Utf8, true),
            ("csat_score", Int64, true),
            ("email_subject", Utf8, true),
            ("transfer_reason", Utf8, true),
            ("last_update_time", Timestamp, false),
        ],
    )
}

/// `message`: the messages of a digital interaction, in order.
fn message() -> DataTypeSchema {
    v1(
        Category::Digital,
        "message",
        &["interaction_id", "message_seq"],
        "interaction_start",
        &[
            ("interaction_id", Utf8, false),
            ("message_seq", Int64, false),
            ("contactId", Int64, false),
            ("interaction_start", Timestamp, false),
            ("sent_time", Timestamp, false),
            ("mediaType", Utf8, false),
            ("sender_type", Utf8, false),
            ("agentId", Int64, true),
            ("is_automated", Boolean, false),
            ("message_length", Int64, false),
            ("has_attachment", Boolean, false),
            ("attachment_type", Utf8, true),
            ("delivery_status", Utf8, false),
            ("last_update_time", Timestamp, false),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// quality_management (six-hourly)

/// `evaluation`: one QM evaluation of a recorded voice contact.
fn evaluation() -> DataTypeSchema {
    v1(
        Category::QualityManagement,
        "evaluation",
        &["call_uuid", "evaluation_id"],
        "contactStart",
        &[
            ("call_uuid", Utf8, false),
            ("evaluation_id", Utf8, false),
            ("contactId", Int64, false),
            ("masterContactId", Int64, false),
            ("contactStart", Timestamp, false),
            ("agentId", Int64, false),
            ("teamId", Int64, false),
            ("skillId", Int64, false),
            ("evaluator_id", Int64, false),
            ("evaluation_type", Utf8, false),
            ("form_id", Int64, false),
            ("form_name", Utf8, false),
            ("evaluation_submitted_time", Timestamp, false),
            ("score_percentage", Float64, false),
            ("points_earned", Float64, false),
            ("points_possible", Float64, false),
            ("passed", Boolean, false),
            ("auto_fail", Boolean, false),
            ("status", Utf8, false),
            ("dispute_status", Utf8, true),
            ("supervisor_note", Utf8, true),
            ("compliance_flag", Utf8, true),
            ("last_update_time", Timestamp, false),
        ],
    )
}

/// `question_scores`: the answer and points of every question of an evaluation.
fn question_scores() -> DataTypeSchema {
    v1(
        Category::QualityManagement,
        "question_scores",
        &["call_uuid", "evaluation_id", "question_id"],
        "contactStart",
        &[
            ("call_uuid", Utf8, false),
            ("evaluation_id", Utf8, false),
            ("question_id", Int64, false),
            ("contactStart", Timestamp, false),
            ("form_id", Int64, false),
            ("section_name", Utf8, false),
            ("question_text", Utf8, false),
            ("answer", Utf8, false),
            ("points_earned", Float64, false),
            ("points_possible", Float64, false),
            ("is_auto_fail_question", Boolean, false),
            ("evaluator_comment", Utf8, true),
            ("last_update_time", Timestamp, false),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn d2_every_category_has_several_data_types() {
        for c in Category::ALL {
            let types = c.data_types();
            assert!(types.len() >= 2, "{} has {} data types", c.as_str(), types.len());
            let names: HashSet<&str> = types.iter().map(|d| d.name).collect();
            assert_eq!(names.len(), types.len(), "{}: data type names are unique", c.as_str());
        }
    }

    #[test]
    fn every_schema_is_well_formed() {
        let mut all_names = HashSet::new();
        for c in Category::ALL {
            for d in c.data_types() {
                assert!(
                    all_names.insert(d.name),
                    "data type {} is named once across categories",
                    d.name
                );
                assert_eq!(d.category, c);
                assert_eq!(d.version, 1);
                let names: Vec<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
                let unique: HashSet<&str> = names.iter().copied().collect();
                assert_eq!(unique.len(), names.len(), "{}: column names are unique", d.name);
                assert!(!d.key_columns.is_empty(), "{}: has key columns", d.name);
                for k in &d.key_columns {
                    let col = d.columns.iter().find(|c| c.name == *k);
                    let col = col.unwrap_or_else(|| panic!("{}: key {k} is a column", d.name));
                    assert!(!col.nullable, "{}: key {k} is never null", d.name);
                    // CONTRACT §4: key columns are strings or integers.
                    assert!(
                        matches!(col.ty, ColType::Utf8 | ColType::Int64),
                        "{}: key {k} type",
                        d.name
                    );
                }
                let et = d.columns.iter().find(|c| c.name == d.event_time_column);
                assert!(
                    matches!(et, Some(c) if c.ty == ColType::Timestamp && !c.nullable),
                    "{}: event time column is a non-null timestamp",
                    d.name
                );
                let lut = d.columns.iter().find(|c| c.name == "last_update_time");
                assert!(
                    matches!(lut, Some(c) if c.ty == ColType::Timestamp && !c.nullable),
                    "{}: has last_update_time",
                    d.name
                );
                assert!(d.columns.iter().any(|c| c.nullable), "{}: has nullable columns", d.name);
            }
        }
    }

    #[test]
    fn guide_idempotency_keys_lead_where_they_apply() {
        let first_key = |c: Category, n: &str| c.data_type(n).map(|d| d.key_columns[0]);
        assert_eq!(first_key(Category::Telephony, "cdr"), Some("call_uuid"));
        assert_eq!(first_key(Category::Telephony, "acd"), Some("call_uuid"));
        assert_eq!(first_key(Category::Speech, "transcript_analytics"), Some("call_uuid"));
        assert_eq!(first_key(Category::Speech, "topics"), Some("call_uuid"));
        assert_eq!(first_key(Category::Ivr, "ivr_session"), Some("session_hash"));
        assert_eq!(first_key(Category::Ivr, "ivr_node"), Some("session_hash"));
        assert_eq!(first_key(Category::Digital, "interaction"), Some("interaction_id"));
        assert_eq!(first_key(Category::Digital, "message"), Some("interaction_id"));
        assert_eq!(first_key(Category::QualityManagement, "evaluation"), Some("call_uuid"));
        assert_eq!(
            first_key(Category::QualityManagement, "question_scores"),
            Some("call_uuid")
        );
    }
}
