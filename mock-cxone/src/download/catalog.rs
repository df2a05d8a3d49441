//! What Data Download exports: the six categories (D2), how often each runs (D5), and the
//! schema of every data type (name, version, key columns, event-time column, typed columns).
//! The schemas themselves are listed in [`super::schemas`]; this module holds their shape.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::{json, Value};

/// A Data Download category (D2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Call detail records, ACD contact segments, skill-group statistics.
    Telephony,
    /// Schedules and adherence of agents.
    WorkforceManagement,
    /// Speech analytics of recorded voice contacts (lags telephony, F7).
    Speech,
    /// IVR sessions and the menu nodes they visited.
    Ivr,
    /// Chat, email, SMS and messaging interactions.
    Digital,
    /// Quality management evaluations of contacts.
    QualityManagement,
}

impl Category {
    /// Every category, in the guide's order.
    pub const ALL: [Category; 6] = [
        Category::Telephony,
        Category::WorkforceManagement,
        Category::Speech,
        Category::Ivr,
        Category::Digital,
        Category::QualityManagement,
    ];

    /// The API name (`telephony`, `workforce_management`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Telephony => "telephony",
            Category::WorkforceManagement => "workforce_management",
            Category::Speech => "speech",
            Category::Ivr => "ivr",
            Category::Digital => "digital",
            Category::QualityManagement => "quality_management",
        }
    }

    /// Parses an API name.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The guide's interval for the category (D5): hourly for telephony and IVR, six-hourly for
    /// WFM and quality; speech follows telephony hourly, digital is daily.
    pub fn default_frequency(self) -> Frequency {
        match self {
            Category::Telephony | Category::Ivr | Category::Speech => Frequency::Hourly,
            Category::WorkforceManagement | Category::QualityManagement => Frequency::SixHourly,
            Category::Digital => Frequency::Daily,
        }
    }

    /// Every data type of the category with the schema version in force at the start.
    pub fn data_types(self) -> Vec<DataTypeSchema> {
        super::schemas::for_category(self)
    }

    /// One data type of the category.
    pub fn data_type(self, name: &str) -> Option<DataTypeSchema> {
        self.data_types().into_iter().find(|d| d.name == name)
    }
}

/// How often a download exports (D5). Intervals are aligned to UTC midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// One interval per hour.
    Hourly,
    /// 00-06, 06-12, 12-18, 18-24 UTC.
    SixHourly,
    /// One interval per UTC day.
    Daily,
}

impl Frequency {
    /// Every frequency.
    pub const ALL: [Frequency; 3] = [Frequency::Hourly, Frequency::SixHourly, Frequency::Daily];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Hourly => "HOURLY",
            Frequency::SixHourly => "SIX_HOURLY",
            Frequency::Daily => "DAILY",
        }
    }

    /// Parses an API name.
    pub fn parse(s: &str) -> Option<Frequency> {
        Frequency::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Length of one interval in hours.
    pub fn hours(self) -> i64 {
        match self {
            Frequency::Hourly => 1,
            Frequency::SixHourly => 6,
            Frequency::Daily => 24,
        }
    }
}

/// Type of a column, as Parquet and the schemas endpoint name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// UTF-8 string.
    Utf8,
    /// 64-bit signed integer.
    Int64,
    /// 64-bit float.
    Float64,
    /// Boolean.
    Boolean,
    /// TIMESTAMP(MICROSECOND, UTC).
    Timestamp,
}

impl ColType {
    /// The name in `GET /api/v2/data-downloads/schemas` (and in fault params).
    pub fn as_str(self) -> &'static str {
        match self {
            ColType::Utf8 => "string",
            ColType::Int64 => "int64",
            ColType::Float64 => "double",
            ColType::Boolean => "boolean",
            ColType::Timestamp => "timestamp",
        }
    }

    /// Parses a name given by [`ColType::as_str`].
    pub fn parse(s: &str) -> Option<ColType> {
        [
            ColType::Utf8,
            ColType::Int64,
            ColType::Float64,
            ColType::Boolean,
            ColType::Timestamp,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// The Arrow type written to Parquet.
    pub fn arrow(self) -> DataType {
        match self {
            ColType::Utf8 => DataType::Utf8,
            ColType::Int64 => DataType::Int64,
            ColType::Float64 => DataType::Float64,
            ColType::Boolean => DataType::Boolean,
            ColType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
}

/// One column of a data type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name (CXone's vocabulary where it has one, e.g. `masterContactId`).
    pub name: String,
    /// Its type.
    pub ty: ColType,
    /// Whether rows may leave it null.
    pub nullable: bool,
}

impl Column {
    /// A column.
    pub fn new(name: &str, ty: ColType, nullable: bool) -> Self {
        Self {
            name: name.to_string(),
            ty,
            nullable,
        }
    }
}

/// The schema of one data type at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTypeSchema {
    /// The category it belongs to.
    pub category: Category,
    /// Data type name, e.g. `cdr`; also the folder name of its files.
    pub name: &'static str,
    /// Schema version (1 at start; schema drift adds versions).
    pub version: u32,
    /// Columns that identify a record across versions (the guide's idempotency keys first).
    pub key_columns: Vec<&'static str>,
    /// The column whose value places a record in an interval; it never changes between versions.
    pub event_time_column: &'static str,
    /// Every column, in file order. Always includes `last_update_time`.
    pub columns: Vec<Column>,
}

impl DataTypeSchema {
    /// The Arrow schema of files written at this version (before all-null columns are dropped).
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(c.name.clone(), c.ty.arrow(), c.nullable))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The entry of `GET /api/v2/data-downloads/schemas`.
    pub fn to_json(&self) -> Value {
        let columns: Vec<Value> = self
            .columns
            .iter()
            .map(|c| json!({"name": c.name, "type": c.ty.as_str(), "nullable": c.nullable}))
            .collect();
        json!({
            "version": self.version,
            "key_columns": self.key_columns,
            "event_time_column": self.event_time_column,
            "columns": columns,
        })
    }
}
