//! Record generators: pure functions of (seed, tenant, data type, hour, schema). Nothing random
//! is drawn outside them, so exports, the truth and the extraction API all see the same records.
//!
//! Generation is per hour (one Arrow batch per hour), whatever the download's frequency: an
//! interval's records are the concatenation of its hours', and memory stays bounded by one hour.

pub mod contacts;
mod telephony;

use std::sync::Arc;

use arrow_array::{new_null_array, ArrayRef, RecordBatch, TimestampMicrosecondArray};
use chrono::Duration;

use super::catalog::{Category, DataTypeSchema};
use crate::store::time::{to_us, Instant};

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
        _ => None,
    };
    batch.unwrap_or_else(|| RecordBatch::new_empty(schema.arrow_schema()))
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
    let arrow = schema.arrow_schema();
    let columns: Vec<ArrayRef> = arrow
        .fields()
        .iter()
        .map(|f| match named.iter().find(|(n, _)| *n == f.name()) {
            Some((_, a)) => a.clone(),
            None => new_null_array(f.data_type(), rows),
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

/// A TIMESTAMP(MICROSECOND, UTC) array.
pub(crate) fn timestamps(values: impl IntoIterator<Item = Option<Instant>>) -> ArrayRef {
    let a: TimestampMicrosecondArray = values.into_iter().map(|v| v.map(to_us)).collect();
    Arc::new(a.with_timezone("UTC"))
}
