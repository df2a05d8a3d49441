//! The TOML shape of a scenario file as serde reads it. Every table refuses unknown keys (the
//! `toml` crate reports them with their line and column); every value the loader may complain
//! about later is [`Spanned`], so its complaint points at it too. Meaning and checks live in
//! `parse`; docs/scenario-format.md documents every key.

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use crate::download::config::{Destination, Partitioning, Retention, Schedule};
use crate::storage::rules::Filters;

/// A whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// `[scenario]`.
    pub scenario: Spanned<RawHeader>,
    /// `[[tenants]]`.
    #[serde(default)]
    pub tenants: Vec<Spanned<RawTenant>>,
    /// `[[recordings]]`.
    #[serde(default)]
    pub recordings: Vec<Spanned<RawRecordings>>,
    /// `[[lifecycle_rules]]`.
    #[serde(default)]
    pub lifecycle_rules: Vec<Spanned<RawRule>>,
    /// `[[downloads]]`.
    #[serde(default)]
    pub downloads: Vec<Spanned<RawDownload>>,
    /// `[[faults]]`.
    #[serde(default)]
    pub faults: Vec<Spanned<RawFault>>,
    /// `[[timeline]]`.
    #[serde(default)]
    pub timeline: Vec<Spanned<RawTimeline>>,
}

/// `[scenario]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    /// Short name (letters, digits, `-`, `_`, `.`).
    pub name: Spanned<String>,
    /// One line on what it shows.
    #[serde(default)]
    pub description: Option<Spanned<String>>,
    /// Seed of everything generated; overrides `--seed`.
    #[serde(default)]
    pub seed: Option<Spanned<i64>>,
    /// Where the mock clock starts (an instant).
    #[serde(default)]
    pub start: Option<Spanned<Value>>,
    /// How long `scenario run` runs (a duration).
    #[serde(default)]
    pub run_for: Option<Spanned<String>>,
    /// Or where it stops (an instant).
    #[serde(default)]
    pub end: Option<Spanned<Value>>,
}

/// `[[tenants]]`: the body of `POST /_mock/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    /// Display name, unique.
    pub name: Spanned<String>,
    /// Scopes of its API user (all four when absent).
    #[serde(default)]
    pub scopes: Option<Spanned<Vec<String>>>,
    /// Faster SEA licence.
    #[serde(default)]
    pub faster_sea: Option<Spanned<bool>>,
    /// Custom KMS key id.
    #[serde(default)]
    pub kms_key_id: Option<Spanned<String>>,
}

/// `[[recordings]]`: the body of `POST /_mock/tenants/{t}/recordings`, plus `tenant`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecordings {
    /// Tenant name or id (`demo` when absent).
    #[serde(default)]
    pub tenant: Option<Spanned<String>>,
    /// How many.
    pub count: Spanned<i64>,
    /// Media types to cycle through.
    #[serde(default)]
    pub media_types: Option<Spanned<Vec<String>>>,
    /// Earliest recording time (an instant).
    #[serde(default)]
    pub start: Option<Spanned<Value>>,
    /// Exclusive latest recording time (an instant).
    #[serde(default)]
    pub end: Option<Spanned<Value>>,
    /// `active`, `long_term` or `custom`.
    #[serde(default)]
    pub tier: Option<Spanned<String>>,
}

/// `[[lifecycle_rules]]`: the body of `POST /api/v2/storage/lifecycle-rules`, plus `tenant`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Tenant name or id (`demo` when absent).
    #[serde(default)]
    pub tenant: Option<Spanned<String>>,
    /// Rule name (unique per tenant in the file: the timeline refers to rules by it).
    pub name: Spanned<String>,
    /// VOICE, SCREEN or STATEMENT (all when absent).
    #[serde(default)]
    pub media_type: Option<Spanned<String>>,
    /// Days after the recording's time.
    pub after_days: Spanned<i64>,
    /// keep, archive, delete, copy_to_sea, move_to_sea.
    pub action: Spanned<String>,
    /// Ascending order of application (100 when absent).
    #[serde(default)]
    pub priority: Option<Spanned<i64>>,
    /// `{ name_contains = "..." }`.
    #[serde(default)]
    pub filters: Option<Spanned<Filters>>,
}

/// `set` of an `update_lifecycle_rule` timeline entry: the fields that change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuleSet {
    /// New name.
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    /// New media type (`"all"` for every media type).
    #[serde(default)]
    pub media_type: Option<Spanned<String>>,
    /// New age threshold.
    #[serde(default)]
    pub after_days: Option<Spanned<i64>>,
    /// New action.
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    /// New priority.
    #[serde(default)]
    pub priority: Option<Spanned<i64>>,
    /// New filters.
    #[serde(default)]
    pub filters: Option<Spanned<Filters>>,
}

/// `[[downloads]]`: the body of `POST /api/v2/data-downloads`, plus `tenant`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDownload {
    /// Tenant name or id (`demo` when absent).
    #[serde(default)]
    pub tenant: Option<Spanned<String>>,
    /// Label; faults and the timeline refer to the download by it.
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    /// One of the six categories.
    pub category: Spanned<String>,
    /// Data types of the category (all when absent).
    #[serde(default)]
    pub data_types: Option<Spanned<Vec<String>>>,
    /// parquet or csv.
    #[serde(default)]
    pub format: Option<Spanned<String>>,
    /// snappy, zstd or none.
    #[serde(default)]
    pub compression: Option<Spanned<String>>,
    /// `{ enabled, structure }`.
    #[serde(default)]
    pub partitioning: Option<Spanned<Partitioning>>,
    /// `{ frequency, offset_minutes }`.
    #[serde(default)]
    pub schedule: Option<Spanned<Schedule>>,
    /// `{ type = "aws_s3", bucket, prefix, ... }`.
    pub destination: Spanned<Destination>,
    /// `{ days, cold_after_days }`.
    #[serde(default)]
    pub retention: Option<Spanned<Retention>>,
}

/// `[[faults]]`: the body of `POST /_mock/faults`, with `tenant` and `download` by reference.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// One of the sixteen kinds.
    pub kind: Spanned<String>,
    /// Only this tenant (name or id).
    #[serde(default)]
    pub tenant: Option<Spanned<String>>,
    /// Only this download: index in `[[downloads]]` (from 0), its `name`, or an existing `dl-` id.
    #[serde(default)]
    pub download: Option<Spanned<Value>>,
    /// Only this category.
    #[serde(default)]
    pub category: Option<Spanned<String>>,
    /// Only this data type.
    #[serde(default)]
    pub data_type: Option<Spanned<String>>,
    /// Window start (an instant).
    #[serde(default)]
    pub from: Option<Spanned<Value>>,
    /// Window end, exclusive (an instant).
    #[serde(default)]
    pub until: Option<Spanned<Value>>,
    /// Only the next N matching jobs.
    #[serde(default)]
    pub next_jobs: Option<Spanned<i64>>,
    /// Chance per matching job or interval.
    #[serde(default)]
    pub probability: Option<Spanned<Value>>,
    /// Kind-specific parameters (instants inside may be offsets too).
    #[serde(default)]
    pub params: Option<Spanned<Value>>,
}

/// `[[timeline]]`: one thing that happens at `at`. Which other keys an entry takes depends on
/// its `action` (`parse` refuses the others).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeline {
    /// When (an instant).
    pub at: Spanned<Value>,
    /// What.
    pub action: Spanned<String>,
    /// The tenant concerned (`demo` when absent).
    #[serde(default)]
    pub tenant: Option<Spanned<String>>,
    /// The download concerned (index, name or `dl-` id).
    #[serde(default)]
    pub download: Option<Spanned<Value>>,
    /// The lifecycle rule concerned (its `name` in `[[lifecycle_rules]]`).
    #[serde(default)]
    pub rule: Option<Spanned<String>>,
    /// `update_lifecycle_rule`: what changes.
    #[serde(default)]
    pub set: Option<Spanned<RawRuleSet>>,
    /// `add_recordings`: how many.
    #[serde(default)]
    pub count: Option<Spanned<i64>>,
    /// `add_recordings`: media types.
    #[serde(default)]
    pub media_types: Option<Spanned<Vec<String>>>,
    /// `add_recordings`: earliest recording time.
    #[serde(default)]
    pub start: Option<Spanned<Value>>,
    /// `add_recordings`: exclusive latest recording time.
    #[serde(default)]
    pub end: Option<Spanned<Value>>,
    /// `add_recordings`: tier.
    #[serde(default)]
    pub tier: Option<Spanned<String>>,
    /// `manual_export`: range start.
    #[serde(default)]
    pub start_time: Option<Spanned<Value>>,
    /// `manual_export`: range end.
    #[serde(default)]
    pub end_time: Option<Spanned<Value>>,
    /// `manual_export`: replace existing objects.
    #[serde(default)]
    pub overwrite: Option<Spanned<bool>>,
    /// `manual_export`: prefix instead of the download's.
    #[serde(default)]
    pub destination_prefix: Option<Spanned<String>>,
}
