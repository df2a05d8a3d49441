//! Records as rows of cells: the form the data faults (late versions, carried records, added
//! columns) and the ground truth work in. Generators build Arrow batches column by column; a
//! batch becomes rows only when a fault has to change it, and rows become a batch again before
//! they are written, so an export without faults never passes through here.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, SchemaRef};
use serde_json::{json, Value};

use crate::download::catalog::{ColType, DataTypeSchema};
use crate::store::time::{from_us, rfc3339_micros};

/// One value of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// A string.
    Str(String),
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A timestamp, unix microseconds (UTC).
    Time(i64),
}

impl Cell {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cell::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The double, if this is one.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Cell::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The timestamp (unix microseconds), if this is one.
    pub fn as_time(&self) -> Option<i64> {
        match self {
            Cell::Time(t) => Some(*t),
            _ => None,
        }
    }

    /// The ground truth's JSON: timestamps as RFC3339 UTC with microseconds, nulls as null.
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Str(s) => json!(s),
            Cell::Int(i) => json!(i),
            Cell::Float(f) => json!(f),
            Cell::Bool(b) => json!(b),
            Cell::Time(t) => json!(rfc3339_micros(from_us(*t))),
        }
    }

    /// Text of a key cell, for identity and seeding (`/`-joined for composite keys).
    pub fn key_text(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Cell::Null => out.push_str("null"),
            Cell::Str(s) => out.push_str(s),
            Cell::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Cell::Float(f) => {
                let _ = write!(out, "{f}");
            }
            Cell::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Cell::Time(t) => {
                let _ = write!(out, "{t}");
            }
        }
    }
}

/// A record: one cell per column of the schema it was read with, in column order.
pub type Row = Vec<Cell>;

/// The rows of a batch (every column's Arrow type must be one a [`ColType`] maps to).
pub fn to_rows(batch: &RecordBatch) -> Vec<Row> {
    let n = batch.num_rows();
    let mut rows: Vec<Row> = (0..n).map(|_| Vec::with_capacity(batch.num_columns())).collect();
    for a in batch.columns() {
        for (r, row) in rows.iter_mut().enumerate() {
            row.push(cell(a, r));
        }
    }
    rows
}

fn cell(a: &ArrayRef, r: usize) -> Cell {
    if a.is_null(r) {
        return Cell::Null;
    }
    match a.data_type() {
        DataType::Utf8 => Cell::Str(a.as_string::<i32>().value(r).to_string()),
        DataType::Int64 => Cell::Int(a.as_primitive::<Int64Type>().value(r)),
        DataType::Float64 => Cell::Float(a.as_primitive::<Float64Type>().value(r)),
        DataType::Boolean => Cell::Bool(a.as_boolean().value(r)),
        DataType::Timestamp(..) => Cell::Time(a.as_primitive::<TimestampMicrosecondType>().value(r)),
        _ => Cell::Null,
    }
}

/// A batch of `schema` from rows in its column order (a missing or mistyped cell is null).
pub fn to_batch(schema: &DataTypeSchema, arrow: SchemaRef, rows: &[Row]) -> RecordBatch {
    let columns: Vec<ArrayRef> = schema
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| column(c.ty, rows, i))
        .collect();
    RecordBatch::try_new(arrow.clone(), columns).unwrap_or_else(|e| {
        tracing::error!(data_type = schema.name, "rows off their schema: {e}");
        RecordBatch::new_empty(arrow)
    })
}

fn column(ty: ColType, rows: &[Row], i: usize) -> ArrayRef {
    let at = |r: &Row| r.get(i).unwrap_or(&Cell::Null).clone();
    match ty {
        ColType::Utf8 => Arc::new(StringArray::from_iter(rows.iter().map(|r| match r.get(i) {
            Some(Cell::Str(s)) => Some(s.as_str()),
            _ => None,
        }))),
        ColType::Int64 => Arc::new(Int64Array::from_iter(rows.iter().map(|r| at(r).as_int()))),
        ColType::Float64 => Arc::new(Float64Array::from_iter(rows.iter().map(|r| at(r).as_float()))),
        ColType::Boolean => Arc::new(BooleanArray::from_iter(rows.iter().map(|r| at(r).as_bool()))),
        ColType::Timestamp => {
            Arc::new(TimestampMicrosecondArray::from_iter(rows.iter().map(|r| at(r).as_time())).with_timezone("UTC"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::download::catalog::Category;
    use crate::download::generate::{hour_batch, Scope};
    use crate::store::time::parse_rfc3339;

    #[test]
    fn rows_round_trip_to_the_same_batch() {
        let h = parse_rfc3339("2026-01-05T10:00:00Z").unwrap_or_default();
        let scope = Scope {
            seed: 42,
            tenant_id: "t-demo",
        };
        for c in Category::ALL {
            for d in c.data_types() {
                let b = hour_batch(scope, &d, h);
                let back = to_batch(&d, d.arrow_schema(), &to_rows(&b));
                assert_eq!(b, back, "{}", d.name);
            }
        }
    }
}
