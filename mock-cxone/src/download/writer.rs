//! The export file writers: one data type's records for one interval become one Parquet or CSV
//! file (CONTRACT §4 "Files", D3).
//!
//! - Parquet keeps the schema's types (timestamps as TIMESTAMP(MICROSECOND, UTC)), writes one row
//!   group per non-empty input batch (one per generated hour), and drops the columns that are null
//!   in every row of the file: "the platform strips null-heavy columns during export, but only when
//!   the format supports schema projection" (D3). [`WriteOptions::min_null_fraction`] widens that to
//!   columns that are null in at least a given fraction of the rows (a fault turns it on).
//! - CSV keeps every column (D3): a header row, RFC 4180 quoting and line endings, nulls as empty
//!   fields.
//!
//! Output is a pure function of the input batches and the options: the same batches give the
//! same bytes (the Parquet `created_by` is a fixed string, not the parquet crate's version), which
//! keeps exports and their checksums reproducible from the seed.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::store::time::{from_us, rfc3339_micros};

/// The `created_by` recorded in every Parquet footer. Fixed on purpose: the parquet crate's own
/// default names its version, which would change every file's bytes (and checksum) on an upgrade.
pub const CREATED_BY: &str = "mock-cxone";

/// File format of a download (`"format"` in its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Apache Parquet: typed, compressed, all-null columns dropped (D3).
    Parquet,
    /// Comma-separated values: every column, always uncompressed (D3).
    Csv,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 2] = [Format::Parquet, Format::Csv];

    /// The API name: `parquet` or `csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }

    /// Parses an API name given by [`Format::as_str`].
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// File name extension, without the dot (`part-00000.parquet`).
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The `Content-Type` objects of this format are stored with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Compression of a download's files (`"compression"` in its configuration).
///
/// It applies to Parquet only (the codec of every column chunk). CSV files are always written
/// plain, whatever this says: the guide names SNAPPY and ZSTD as Parquet codecs, and a plain CSV
/// is what every CSV reader opens without flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Snappy (`SNAPPY` in the Parquet metadata).
    Snappy,
    /// Zstandard at its default level (`ZSTD`).
    Zstd,
    /// No compression (`UNCOMPRESSED`).
    None,
}

impl Compression {
    /// Every compression.
    pub const ALL: [Compression; 3] = [Compression::Snappy, Compression::Zstd, Compression::None];

    /// The API name: `snappy`, `zstd` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Snappy => "snappy",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        }
    }

    /// Parses an API name given by [`Compression::as_str`].
    pub fn parse(s: &str) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn parquet(self) -> ParquetCompression {
        match self {
            Compression::Snappy => ParquetCompression::SNAPPY,
            Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
            Compression::None => ParquetCompression::UNCOMPRESSED,
        }
    }
}

/// Knobs beyond format and compression; the default is the documented behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WriteOptions {
    /// Parquet only. `None` (default): drop only the columns null in every row (D3). `Some(f)`:
    /// drop every column whose share of null rows is at least `f` (0.0-1.0), a harsher stripping
    /// for a fault. A file with zero rows keeps every column either way.
    pub min_null_fraction: Option<f64>,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Rows written.
    pub rows: u64,
    /// The columns the file holds, in order (Parquet may have dropped some of the schema's).
    pub columns: Vec<String>,
}

/// Why a file could not be written. Every case is a bug in the caller or the generator (a batch
/// off its schema, a type the writers do not know), never a property of the data.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A batch whose columns do not match the file's schema.
    #[error("batch does not match the file's schema: {0}")]
    Schema(#[from] ArrowError),
    /// A column type the CSV writer cannot render.
    #[error("column {column:?} has a type the CSV writer does not support: {data_type}")]
    UnsupportedType {
        /// Column name.
        column: String,
        /// Its Arrow type.
        data_type: DataType,
    },
    /// The Parquet encoder failed.
    #[error("parquet: {0}")]
    Parquet(#[from] ParquetError),
}

/// Writes one file of `format` from `batches` (all of the same `schema`) with the default
/// options. See [`write_file_with`].
pub fn write_file(
    format: Format,
    compression: Compression,
    schema: &SchemaRef,
    batches: impl IntoIterator<Item = RecordBatch>,
) -> Result<Written, WriteError> {
    write_file_with(format, compression, WriteOptions::default(), schema, batches)
}

/// Writes one file of `format` from `batches`, each in `schema`'s column order. `compression`
/// applies to Parquet only (CSV is always plain).
///
/// Memory: the whole file is built in memory and all of its batches are held until the end,
/// because Parquet must know which columns are null in every row before it writes the schema.
/// Call it with one file's batches only — one interval of one data type (at most a day of hourly
/// batches) — never with more.
pub fn write_file_with(
    format: Format,
    compression: Compression,
    options: WriteOptions,
    schema: &SchemaRef,
    batches: impl IntoIterator<Item = RecordBatch>,
) -> Result<Written, WriteError> {
    // The one file's batches (one interval of one data type), re-attached to `schema` so a batch
    // with other column types fails here rather than producing a mixed file.
    let mut held = Vec::new();
    for batch in batches {
        if batch.num_rows() == 0 {
            continue;
        }
        held.push(RecordBatch::try_new(schema.clone(), batch.columns().to_vec())?);
    }
    match format {
        Format::Parquet => write_parquet(compression, options, schema, &held),
        Format::Csv => write_csv(schema, &held),
    }
}

/// Names of the columns a Parquet file of these batches lacks under `options` (all-null ones by
/// default, D3; null-heavy ones under `null_column_strip`).
pub fn dropped_columns(options: WriteOptions, schema: &SchemaRef, batches: &[RecordBatch]) -> Vec<String> {
    let keep = kept_columns(options, schema, batches);
    (0..schema.fields().len())
        .filter(|i| !keep.contains(i))
        .map(|i| schema.field(i).name().clone())
        .collect()
}

/// Indices of the columns Parquet keeps: every column of a zero-row file; otherwise those whose
/// null share is below the threshold (only all-null columns go by default, D3).
fn kept_columns(options: WriteOptions, schema: &SchemaRef, batches: &[RecordBatch]) -> Vec<usize> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    (0..schema.fields().len())
        .filter(|&i| {
            if rows == 0 {
                return true;
            }
            let nulls: usize = batches.iter().map(|b| b.column(i).null_count()).sum();
            match options.min_null_fraction {
                None => nulls < rows,
                Some(f) => (nulls as f64) / (rows as f64) < f,
            }
        })
        .collect()
}

fn write_parquet(
    compression: Compression,
    options: WriteOptions,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Written, WriteError> {
    let keep = kept_columns(options, schema, batches);
    let projected: SchemaRef = Arc::new(schema.project(&keep)?);
    let props = WriterProperties::builder()
        .set_created_by(CREATED_BY.to_string())
        .set_compression(compression.parquet())
        // Row groups are cut by size only (parquet's default, about a million rows): an interval
        // of one data type is far smaller, so a file is one row group, which readers like best
        // and which costs least to write (a row group per hourly batch made small files 2-4x
        // slower to encode than the bare writer).
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), projected.clone(), Some(props))?;
    let mut rows = 0u64;
    for batch in batches {
        writer.write(&batch.project(&keep)?)?;
        rows += batch.num_rows() as u64;
    }
    let bytes = writer.into_inner()?;
    Ok(Written {
        bytes,
        rows,
        columns: projected.fields().iter().map(|f| f.name().clone()).collect(),
    })
}

/// Appends one CSV field, quoted when it holds a comma, a quote, CR or LF (RFC 4180), with inner
/// quotes doubled. An empty string is written `""` so it reads back apart from a null (empty).
fn push_field(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push_str("\"\"");
    } else if s.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Appends row `row` of `array` as a CSV field (null: nothing).
fn push_value(out: &mut String, name: &str, array: &dyn Array, row: usize) -> Result<(), WriteError> {
    if array.is_null(row) {
        return Ok(());
    }
    match array.data_type() {
        DataType::Utf8 => push_field(out, array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => push_field(out, array.as_string::<i64>().value(row)),
        DataType::Int64 => {
            let _ = write!(out, "{}", array.as_primitive::<Int64Type>().value(row));
        }
        // Rust's `Display` of f64 is the shortest text that parses back to the same value.
        DataType::Float64 => push_field(out, &array.as_primitive::<Float64Type>().value(row).to_string()),
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) { "true" } else { "false" }),
        // Microseconds since the epoch are UTC whatever the zone label: RFC3339 with `Z`.
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let us = array.as_primitive::<TimestampMicrosecondType>().value(row);
            out.push_str(&rfc3339_micros(from_us(us)));
        }
        other => {
            return Err(WriteError::UnsupportedType {
                column: name.to_string(),
                data_type: other.clone(),
            })
        }
    }
    Ok(())
}

fn write_csv(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Written, WriteError> {
    const EOL: &str = "\r\n";
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut out = String::new();
    for (i, name) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(&mut out, name);
    }
    out.push_str(EOL);
    let mut rows = 0u64;
    for batch in batches {
        for row in 0..batch.num_rows() {
            for (i, name) in columns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(&mut out, name, batch.column(i).as_ref(), row)?;
            }
            out.push_str(EOL);
        }
        rows += batch.num_rows() as u64;
    }
    Ok(Written {
        bytes: out.into_bytes(),
        rows,
        columns,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use arrow_array::{BooleanArray, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow_schema::{Field, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use crate::store::time::{parse_rfc3339, to_us};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("call_uuid", DataType::Utf8, false),
            Field::new("duration", DataType::Int64, true),
            Field::new("score", DataType::Float64, true),
            Field::new("recorded", DataType::Boolean, true),
            Field::new(
                "start_time",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("disposition", DataType::Utf8, true),
        ]))
    }

    fn us(s: &str) -> i64 {
        to_us(parse_rfc3339(s).unwrap())
    }

    /// Two rows; `disposition` is null in both.
    fn batch(ids: [&str; 2]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(ids.to_vec())),
                Arc::new(Int64Array::from(vec![Some(42), None])),
                Arc::new(Float64Array::from(vec![Some(0.1), Some(2.5e-7)])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(us("2026-01-05T10:00:00.123456Z")), None])
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(vec![None::<&str>, None])),
            ],
        )
        .unwrap()
    }

    fn read(bytes: &[u8]) -> (SchemaRef, Vec<RecordBatch>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(bytes)).unwrap();
        let schema = builder.schema().clone();
        let batches = builder.build().unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        (schema, batches)
    }

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        for c in Compression::ALL {
            assert_eq!(Compression::parse(c.as_str()), Some(c));
        }
        assert_eq!(Format::parse("json"), None);
        assert_eq!(Compression::parse("gzip"), None);
        assert_eq!(Format::Csv.extension(), "csv");
        assert_eq!(Format::Parquet.extension(), "parquet");
    }

    #[test]
    fn d3_parquet_round_trips_and_drops_all_null_columns() {
        let empty = RecordBatch::new_empty(schema());
        let w = write_file(
            Format::Parquet,
            Compression::Snappy,
            &schema(),
            [batch(["a", "b"]), empty, batch(["c", "d"])],
        )
        .unwrap();
        assert_eq!(w.rows, 4);
        assert_eq!(w.columns, ["call_uuid", "duration", "score", "recorded", "start_time"]);

        let (read_schema, batches) = read(&w.bytes);
        let names: Vec<&str> = read_schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, w.columns);
        assert_eq!(read_schema.field(1).data_type(), &DataType::Int64);
        assert_eq!(read_schema.field(2).data_type(), &DataType::Float64);
        assert_eq!(read_schema.field(3).data_type(), &DataType::Boolean);
        assert_eq!(
            read_schema.field(4).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 4);
        let first = &batches[0];
        assert_eq!(first.column(0).as_string::<i32>().value(1), "b");
        let ts = first.column(4).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), us("2026-01-05T10:00:00.123456Z"));
        assert!(ts.is_null(1));

        // A small file is one row group; the Parquet logical type is UTC microseconds.
        let reader = SerializedFileReader::new(Bytes::copy_from_slice(&w.bytes)).unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.num_row_groups(), 1);
        assert_eq!(meta.file_metadata().created_by(), Some(CREATED_BY));
        let col = meta.file_metadata().schema_descr().column(4);
        assert_eq!(
            col.logical_type_ref(),
            Some(&parquet::basic::LogicalType::timestamp(
                true,
                parquet::basic::TimeUnit::MICROS
            ))
        );
    }

    #[test]
    fn d3_parquet_records_the_compression_codec() {
        for (c, want) in [
            (Compression::Snappy, ParquetCompression::SNAPPY),
            (Compression::Zstd, ParquetCompression::ZSTD(ZstdLevel::default())),
            (Compression::None, ParquetCompression::UNCOMPRESSED),
        ] {
            let w = write_file(Format::Parquet, c, &schema(), [batch(["a", "b"])]).unwrap();
            let reader = SerializedFileReader::new(Bytes::from(w.bytes)).unwrap();
            let rg = reader.metadata().row_group(0);
            for col in rg.columns() {
                // The reader cannot see the level: compare the codec only.
                assert_eq!(
                    std::mem::discriminant(&col.compression()),
                    std::mem::discriminant(&want),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn d3_null_heavy_threshold_drops_mostly_null_columns() {
        // `duration` and `start_time` are null in half the rows, `disposition` in all.
        let opts = WriteOptions {
            min_null_fraction: Some(0.5),
        };
        let w = write_file_with(Format::Parquet, Compression::Zstd, opts, &schema(), [batch(["a", "b"])]).unwrap();
        assert_eq!(w.columns, ["call_uuid", "score", "recorded"]);
        let (s, _) = read(&w.bytes);
        assert_eq!(s.fields().len(), 3);
    }

    #[test]
    fn zero_row_parquet_is_valid_with_the_full_schema() {
        let w = write_file(
            Format::Parquet,
            Compression::Snappy,
            &schema(),
            [RecordBatch::new_empty(schema())],
        )
        .unwrap();
        assert_eq!(w.rows, 0);
        assert_eq!(w.columns.len(), 6);
        let (s, batches) = read(&w.bytes);
        assert_eq!(s.fields().len(), 6);
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
        let none = write_file(Format::Parquet, Compression::Zstd, &schema(), []).unwrap();
        assert_eq!(read(&none.bytes).0.fields().len(), 6);
    }

    #[test]
    fn d3_csv_keeps_every_column_quotes_and_renders_values() {
        let s = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("note", DataType::Utf8, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("x", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let b = RecordBatch::try_new(
            s.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a,b", "say \"hi\"", "line\nbreak", ""])),
                Arc::new(StringArray::from(vec![None::<&str>, None, None, None])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None, None])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(us("2026-01-05T10:00:00.123456Z")),
                        Some(us("2026-01-05T10:00:00Z")),
                        None,
                        None,
                    ])
                    .with_timezone("UTC"),
                ),
                Arc::new(Float64Array::from(vec![Some(0.1), Some(1.0), Some(-2.5e-7), None])),
                Arc::new(Int64Array::from(vec![Some(-7), None, None, None])),
            ],
        )
        .unwrap();
        let w = write_file(Format::Csv, Compression::Zstd, &s, [b]).unwrap();
        assert_eq!(w.rows, 4);
        assert_eq!(w.columns, ["id", "note", "ok", "t", "x", "n"]);
        let text = String::from_utf8(w.bytes).unwrap();
        assert_eq!(
            text,
            "id,note,ok,t,x,n\r\n\
             \"a,b\",,true,2026-01-05T10:00:00.123456Z,0.1,-7\r\n\
             \"say \"\"hi\"\"\",,false,2026-01-05T10:00:00.000000Z,1,\r\n\
             \"line\nbreak\",,,,-0.00000025,\r\n\
             \"\",,,,,\r\n"
        );
    }

    #[test]
    fn zero_row_csv_is_the_header() {
        let w = write_file(Format::Csv, Compression::None, &schema(), []).unwrap();
        assert_eq!(w.bytes, b"call_uuid,duration,score,recorded,start_time,disposition\r\n");
    }

    #[test]
    fn same_batches_give_identical_bytes() {
        for f in Format::ALL {
            for c in Compression::ALL {
                let a = write_file(f, c, &schema(), [batch(["a", "b"]), batch(["c", "d"])]).unwrap();
                let b = write_file(f, c, &schema(), [batch(["a", "b"]), batch(["c", "d"])]).unwrap();
                assert_eq!(a, b, "{f:?} {c:?}");
            }
        }
    }

    #[test]
    fn d3_generated_cdr_day_writes_and_reads_back() {
        use crate::download::catalog::Category;
        use crate::download::generate::{batches, Scope};

        let cdr = Category::Telephony.data_type("cdr").unwrap();
        let start = parse_rfc3339("2026-01-05T00:00:00Z").unwrap();
        let scope = Scope {
            seed: 42,
            tenant_id: "t-demo",
        };
        let end = start + chrono::Duration::hours(6);
        let w = write_file(
            Format::Parquet,
            Compression::Zstd,
            &cdr.arrow_schema(),
            batches(scope, &cdr, start, end),
        )
        .unwrap();
        let want: usize = batches(scope, &cdr, start, end).map(|b| b.num_rows()).sum();
        assert_eq!(w.rows, want as u64);
        let (s, read_back) = read(&w.bytes);
        assert_eq!(read_back.iter().map(RecordBatch::num_rows).sum::<usize>(), want);
        for key in &cdr.key_columns {
            assert!(s.field_with_name(key).is_ok(), "key column {key} kept");
        }
        let csv = write_file(
            Format::Csv,
            Compression::None,
            &cdr.arrow_schema(),
            batches(scope, &cdr, start, end),
        )
        .unwrap();
        assert_eq!(csv.columns.len(), cdr.columns.len());
        assert_eq!(csv.rows, want as u64);
    }

    #[test]
    fn a_batch_off_the_schema_is_an_error() {
        let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let b = RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
        assert!(matches!(
            write_file(Format::Parquet, Compression::None, &schema(), [b]),
            Err(WriteError::Schema(_))
        ));
    }
}
