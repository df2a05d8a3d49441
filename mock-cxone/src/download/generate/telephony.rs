//! Telephony data types (the guide's `cdr`, `acd`, `skill_group`), one row per voice contact.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use chrono::Duration;

use super::contacts::{self, Contact};
use super::{assemble, timestamps, Scope};
use crate::download::catalog::DataTypeSchema;
use crate::store::time::Instant;

/// When a contact's first version was final: a few minutes after it ended.
fn first_update(c: &Contact) -> Instant {
    c.end + Duration::seconds(30 + c.contact_id % 240)
}

/// `cdr`: one call detail record per voice contact.
pub(super) fn cdr(scope: Scope<'_>, schema: &DataTypeSchema, hour_start: Instant) -> Option<RecordBatch> {
    let all = contacts::for_hour(scope.seed, scope.tenant_id, hour_start);
    let v: Vec<&Contact> = all.iter().filter(|c| c.is_voice()).collect();
    let strings = |f: fn(&Contact) -> &str| -> ArrayRef { Arc::new(StringArray::from_iter_values(v.iter().map(|c| f(c)))) };
    let ints = |f: fn(&Contact) -> i64| -> ArrayRef { Arc::new(Int64Array::from_iter_values(v.iter().map(|c| f(c)))) };
    let opt_ints = |f: fn(&Contact) -> Option<i64>| -> ArrayRef { Arc::new(v.iter().map(|c| f(c)).collect::<Int64Array>()) };
    let named: Vec<(&str, ArrayRef)> = vec![
        ("call_uuid", strings(|c| &c.call_uuid)),
        ("contactId", ints(|c| c.contact_id)),
        ("masterContactId", ints(|c| c.master_contact_id)),
        ("start_time", timestamps(v.iter().map(|c| Some(c.start)))),
        ("end_time", timestamps(v.iter().map(|c| Some(c.end)))),
        ("direction", strings(|c| c.direction)),
        ("ANI", strings(|c| &c.ani)),
        ("DNIS", strings(|c| &c.dnis)),
        ("skillId", ints(|c| c.skill_id)),
        ("skillName", strings(|c| c.skill_name)),
        ("agentId", opt_ints(|c| c.agent_id)),
        ("teamId", opt_ints(|c| c.team_id)),
        ("abandoned", Arc::new(v.iter().map(|c| Some(c.abandoned)).collect::<BooleanArray>())),
        ("disposition", Arc::new(v.iter().map(|c| c.disposition).collect::<StringArray>())),
        ("last_update_time", timestamps(v.iter().map(|c| Some(first_update(c))))),
    ];
    assemble(schema, v.len(), named)
}
