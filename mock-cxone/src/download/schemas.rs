//! The schema of every data type of every category, version 1 (what `GET
//! /api/v2/data-downloads/schemas` documents). Column names follow CXone's reporting vocabulary.

use super::catalog::{Category, ColType, Column, DataTypeSchema};

use ColType::{Boolean, Int64, Timestamp, Utf8};

/// The data types of `category` at schema version 1.
pub fn for_category(category: Category) -> Vec<DataTypeSchema> {
    match category {
        Category::Telephony => vec![cdr()],
        _ => Vec::new(),
    }
}

fn cdr() -> DataTypeSchema {
    DataTypeSchema {
        category: Category::Telephony,
        name: "cdr",
        version: 1,
        key_columns: vec!["call_uuid"],
        event_time_column: "start_time",
        columns: vec![
            Column::new("call_uuid", Utf8, false),
            Column::new("contactId", Int64, false),
            Column::new("masterContactId", Int64, false),
            Column::new("start_time", Timestamp, false),
            Column::new("end_time", Timestamp, false),
            Column::new("direction", Utf8, false),
            Column::new("ANI", Utf8, false),
            Column::new("DNIS", Utf8, false),
            Column::new("skillId", Int64, false),
            Column::new("skillName", Utf8, false),
            Column::new("agentId", Int64, true),
            Column::new("teamId", Int64, true),
            Column::new("abandoned", Boolean, false),
            Column::new("disposition", Utf8, true),
            Column::new("last_update_time", Timestamp, false),
        ],
    }
}
