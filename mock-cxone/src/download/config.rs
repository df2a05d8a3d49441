//! Download configurations (CONTRACT §4): the body of `POST /api/v2/data-downloads`, its
//! validation, and its storage. A download exports one category on a schedule to one destination.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::azure_names;
use super::catalog::{Category, Frequency};
use super::partition::Template;
use crate::sea::lake_owner::check_bucket_name;
use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::StoreResult;

/// The partition structure of the guide (D4).
pub const DEFAULT_STRUCTURE: &str = "year={yyyy}/month={MM}/day={dd}/hour={HH}";
/// The guide's offset.
pub const DEFAULT_OFFSET_MINUTES: u32 = 20;

/// A download as the API receives it (POST and PUT), before validation.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Optional label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One of the six categories.
    pub category: String,
    /// Data types of the category; all of them when absent.
    #[serde(default)]
    pub data_types: Vec<String>,
    /// `parquet` (default) or `csv`.
    #[serde(default = "default_format")]
    pub format: String,
    /// `snappy` (Parquet default), `zstd` or `none` (CSV is always `none`).
    #[serde(default)]
    pub compression: Option<String>,
    /// Hive-style partitioning of `interval_start` (D4).
    #[serde(default)]
    pub partitioning: Partitioning,
    /// When jobs run (D5).
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// Where files go.
    pub destination: Destination,
    /// Destination lifecycle (D9); absent keeps files forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
}

fn default_format() -> String {
    "parquet".into()
}

/// `partitioning` of the body.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Partitioning {
    /// Whether files go under a partition path (flat when false).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The template, tokens `{yyyy}`, `{MM}`, `{dd}`, `{HH}`.
    #[serde(default = "default_structure")]
    pub structure: String,
}

fn yes() -> bool {
    true
}

fn default_structure() -> String {
    DEFAULT_STRUCTURE.into()
}

impl Default for Partitioning {
    fn default() -> Self {
        Self {
            enabled: true,
            structure: default_structure(),
        }
    }
}

/// `schedule` of the body.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `HOURLY`, `SIX_HOURLY` or `DAILY`; the category's default when absent.
    #[serde(default)]
    pub frequency: Option<String>,
    /// Minutes after the interval end before the job may start (0-59).
    #[serde(default = "default_offset")]
    pub offset_minutes: i64,
}

fn default_offset() -> i64 {
    i64::from(DEFAULT_OFFSET_MINUTES)
}

/// `destination` of the body: `aws_s3` (a bucket on the mock's S3 endpoint or an external
/// S3-compatible store) or `azure_blob` (a container in an Azure storage account). One flat
/// shape so that a field of the other type is refused by name (see `validate_destination`).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// `aws_s3` or `azure_blob`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `aws_s3`: bucket name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Key prefix: empty or ending in `/`.
    #[serde(default)]
    pub prefix: String,
    /// An external endpoint: an S3-compatible store for `aws_s3` (the mock's own S3 endpoint when
    /// absent); for `azure_blob`, the account's blob URL (`https://<account>.blob.core.windows.net`
    /// when absent; Azurite: `http://127.0.0.1:10000/devstoreaccount1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `aws_s3`: credentials for the external endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// `aws_s3`: secret for the external endpoint (never returned by the API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    /// `aws_s3`: region for signing external requests (`us-east-1` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `azure_blob`: storage account name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `azure_blob`: container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// `azure_blob`: the account's shared key, base64 (never returned by the API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// `azure_blob`: a SAS token, instead of `access_key` (never returned by the API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sas_token: Option<String>,
}

/// `destination.type` of an S3 destination.
pub const AWS_S3: &str = "aws_s3";
/// `destination.type` of an Azure Blob Storage destination.
pub const AZURE_BLOB: &str = "azure_blob";

/// The destination fields that are secrets: masked in every API answer.
pub const SECRET_FIELDS: [&str; 3] = ["secret_access_key", "access_key", "sas_token"];

impl Destination {
    /// The bucket (`aws_s3`) or container (`azure_blob`) written to.
    pub fn target(&self) -> &str {
        self.bucket.as_deref().or(self.container.as_deref()).unwrap_or_default()
    }

    /// Where the files go, for people: `s3://bucket/prefix` or the container's blob URL.
    pub fn location(&self) -> String {
        match self.kind.as_str() {
            AZURE_BLOB => format!("{}/{}/{}", self.azure_account_url(), self.target(), self.prefix),
            _ => format!("s3://{}/{}", self.target(), self.prefix),
        }
    }

    /// `azure_blob`: the account's blob endpoint (`endpoint`, else the public Azure one).
    pub fn azure_account_url(&self) -> String {
        match &self.endpoint {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!(
                "https://{}.blob.core.windows.net",
                self.account.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// `retention` of the body (D9).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Objects older than this many days are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    /// Objects older than this many days report StorageClass `GLACIER_IR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_after_days: Option<i64>,
}

/// A validated configuration: everything an export needs, typed.
#[derive(Debug, Clone)]
pub struct Valid {
    /// The body as stored (defaults filled in).
    pub spec: Spec,
    /// Its category.
    pub category: Category,
    /// Its data types, in the category's order.
    pub data_types: Vec<String>,
    /// Its frequency.
    pub frequency: Frequency,
    /// Its offset.
    pub offset_minutes: i64,
    /// Its partition template (`None`: flat).
    pub partition: Option<Template>,
}

/// Why a body is refused (a 400 naming the field).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn bad<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

impl Spec {
    /// Checks every field, fills defaults, and returns the typed form.
    pub fn validate(mut self) -> Result<Valid, Invalid> {
        let Some(category) = Category::parse(&self.category) else {
            let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
            return bad(format!(
                "unknown category {:?}; categories are {}",
                self.category,
                known.join(", ")
            ));
        };
        let data_types = validate_data_types(category, &self.data_types)?;
        self.data_types = data_types.clone();
        self.validate_format()?;
        let partition = validate_partitioning(&self.partitioning)?;
        let schedule = self.schedule.take().unwrap_or(Schedule {
            frequency: None,
            offset_minutes: default_offset(),
        });
        let frequency = match &schedule.frequency {
            None => category.default_frequency(),
            Some(f) => match Frequency::parse(f) {
                Some(f) => f,
                None => {
                    return bad(format!(
                        "unknown schedule.frequency {f:?}; use HOURLY, SIX_HOURLY or DAILY"
                    ))
                }
            },
        };
        if !(0..=59).contains(&schedule.offset_minutes) {
            return bad(format!(
                "schedule.offset_minutes must be 0-59, got {}",
                schedule.offset_minutes
            ));
        }
        let offset_minutes = schedule.offset_minutes;
        self.schedule = Some(Schedule {
            frequency: Some(frequency.as_str().into()),
            offset_minutes,
        });
        validate_destination(&self.destination)?;
        if let Some(r) = &self.retention {
            validate_retention(r)?;
        }
        if self.name.as_ref().is_some_and(|n| n.len() > 200) {
            return bad("name is longer than 200 characters");
        }
        Ok(Valid {
            spec: self,
            category,
            data_types,
            frequency,
            offset_minutes,
            partition,
        })
    }

    fn validate_format(&mut self) -> Result<(), Invalid> {
        match (self.format.as_str(), self.compression.as_deref()) {
            ("parquet", None) => self.compression = Some("snappy".into()),
            ("parquet", Some("snappy" | "zstd" | "none")) | ("csv", Some("none")) => {}
            ("csv", None) => self.compression = Some("none".into()),
            ("parquet", Some(c)) => return bad(format!("unknown compression {c:?}; use snappy, zstd or none")),
            ("csv", Some(c)) => {
                return bad(format!(
                    "compression {c:?} applies to Parquet only; CSV is written uncompressed (use \"none\")"
                ))
            }
            (f, _) => return bad(format!("unknown format {f:?}; use parquet or csv")),
        }
        Ok(())
    }
}

fn validate_data_types(category: Category, given: &[String]) -> Result<Vec<String>, Invalid> {
    let known: Vec<String> = category.data_types().iter().map(|d| d.name.to_string()).collect();
    if given.is_empty() {
        return Ok(known);
    }
    for (i, d) in given.iter().enumerate() {
        if !known.contains(d) {
            return bad(format!(
                "unknown data type {d:?} for category {}; its data types are {}",
                category.as_str(),
                known.join(", ")
            ));
        }
        if given[..i].contains(d) {
            return bad(format!("data type {d:?} is listed twice"));
        }
    }
    Ok(known.into_iter().filter(|k| given.contains(k)).collect())
}

fn validate_partitioning(p: &Partitioning) -> Result<Option<Template>, Invalid> {
    if !p.enabled {
        return Ok(None);
    }
    Template::parse(&p.structure)
        .map(Some)
        .map_err(|e| Invalid(format!("partitioning.structure: {e}")))
}

fn validate_destination(d: &Destination) -> Result<(), Invalid> {
    match d.kind.as_str() {
        AWS_S3 => validate_s3(d)?,
        AZURE_BLOB => validate_azure(d)?,
        other => {
            return bad(format!(
                "destination.type {other:?} is not supported; use \"{AWS_S3}\" or \"{AZURE_BLOB}\""
            ))
        }
    }
    if !d.prefix.is_empty() && (!d.prefix.ends_with('/') || d.prefix.starts_with('/') || d.prefix.contains("//")) {
        return bad(format!(
            "destination.prefix {:?} must be empty or a folder path ending in '/', like \"exports/telephony/\"",
            d.prefix
        ));
    }
    if d.prefix.split('/').any(|s| s == "." || s == "..") || d.prefix.len() > 512 {
        return bad("destination.prefix must not contain '.' or '..' segments or exceed 512 characters");
    }
    if let Some(url) = &d.endpoint {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return bad(format!(
                "destination.endpoint {url:?} must be an http:// or https:// URL"
            ));
        }
    }
    Ok(())
}

/// Refuses each field in `fields` that is set: it belongs to the other destination type.
fn refuse_fields(d: &Destination, fields: &[(&str, bool)]) -> Result<(), Invalid> {
    match fields.iter().find(|(_, set)| *set) {
        Some((name, _)) => bad(format!(
            "destination.{name} does not apply to a {:?} destination",
            d.kind
        )),
        None => Ok(()),
    }
}

fn validate_s3(d: &Destination) -> Result<(), Invalid> {
    refuse_fields(
        d,
        &[
            ("account", d.account.is_some()),
            ("container", d.container.is_some()),
            ("access_key", d.access_key.is_some()),
            ("sas_token", d.sas_token.is_some()),
        ],
    )?;
    let Some(bucket) = &d.bucket else {
        return bad("destination.bucket is required for an \"aws_s3\" destination");
    };
    if let Err(e) = check_bucket_name(bucket) {
        return bad(format!("destination.bucket: {e}"));
    }
    if d.endpoint.is_some() {
        if d.access_key_id.as_deref().unwrap_or_default().is_empty()
            || d.secret_access_key.as_deref().unwrap_or_default().is_empty()
        {
            return bad("an external destination.endpoint needs access_key_id and secret_access_key");
        }
    } else if d.access_key_id.is_some() || d.secret_access_key.is_some() {
        return bad(
            "destination credentials are only for an external endpoint: the mock's own S3 endpoint \
             is written with the platform's authority",
        );
    }
    Ok(())
}

fn validate_azure(d: &Destination) -> Result<(), Invalid> {
    refuse_fields(
        d,
        &[
            ("bucket", d.bucket.is_some()),
            ("access_key_id", d.access_key_id.is_some()),
            ("secret_access_key", d.secret_access_key.is_some()),
            ("region", d.region.is_some()),
        ],
    )?;
    let Some(account) = &d.account else {
        return bad("destination.account (the storage account name) is required for an \"azure_blob\" destination");
    };
    azure_names::check_account(account).map_err(|e| Invalid(format!("destination.account: {e}")))?;
    let Some(container) = &d.container else {
        return bad("destination.container is required for an \"azure_blob\" destination");
    };
    azure_names::check_container(container).map_err(|e| Invalid(format!("destination.container: {e}")))?;
    match (&d.access_key, &d.sas_token) {
        (Some(key), None) => {
            azure_names::check_access_key(key).map_err(|e| Invalid(format!("destination.access_key: {e}")))
        }
        (None, Some(sas)) => {
            azure_names::check_sas_token(sas).map_err(|e| Invalid(format!("destination.sas_token: {e}")))
        }
        _ => bad("an \"azure_blob\" destination needs exactly one of access_key and sas_token"),
    }
}

fn validate_retention(r: &Retention) -> Result<(), Invalid> {
    if let Some(d) = r.days {
        if !(1..=36_500).contains(&d) {
            return bad(format!("retention.days must be 1-36500, got {d}"));
        }
    }
    if let Some(c) = r.cold_after_days {
        if !(1..=36_500).contains(&c) {
            return bad(format!("retention.cold_after_days must be 1-36500, got {c}"));
        }
        if r.days.is_some_and(|d| c >= d) {
            return bad("retention.cold_after_days must be less than retention.days");
        }
    }
    if r.days.is_none() && r.cold_after_days.is_none() {
        return bad("retention needs days, cold_after_days or both");
    }
    Ok(())
}

/// Statuses of a download.
pub const ACTIVE: &str = "active";
/// A destination refused a write (D8): the schedule is paused until a PUT.
pub const NEEDS_RECONFIGURATION: &str = "needs_reconfiguration";

/// A stored download.
#[derive(Debug, Clone)]
pub struct Download {
    /// `dl-...`.
    pub id: String,
    /// Owner.
    pub tenant_id: String,
    /// The validated body.
    pub spec: Spec,
    /// `active` or `needs_reconfiguration`.
    pub status: String,
    /// Why it needs reconfiguration.
    pub status_reason: Option<String>,
    /// Creation instant.
    pub created_at: Instant,
    /// Last PUT (or creation).
    pub updated_at: Instant,
    /// Start of the next interval the scheduler will make a job for.
    pub next_interval: Instant,
}

impl Download {
    /// The typed configuration (stored specs were validated when stored).
    pub fn valid(&self) -> Result<Valid, Invalid> {
        self.spec.clone().validate()
    }

    /// The API representation: the body with defaults, never the external secret.
    pub fn to_json(&self) -> Value {
        let mut spec = serde_json::to_value(&self.spec).unwrap_or(Value::Null);
        if let Some(dest) = spec.get_mut("destination").and_then(Value::as_object_mut) {
            for field in SECRET_FIELDS {
                if dest.contains_key(field) {
                    dest.insert(field.into(), json!("********"));
                }
            }
        }
        let mut out = json!({
            "id": self.id,
            "status": self.status,
            "status_reason": self.status_reason,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "next_interval_start": rfc3339(self.next_interval),
        });
        if let (Some(o), Some(s)) = (out.as_object_mut(), spec.as_object()) {
            for (k, v) in s {
                o.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

const COLUMNS: &str = "download_id, tenant_id, spec, status, status_reason, created_at, updated_at, next_interval";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Download> {
    let spec: String = r.get(2)?;
    let spec: Spec = serde_json::from_str(&spec)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(Download {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        spec,
        status: r.get(3)?,
        status_reason: r.get(4)?,
        created_at: from_us(r.get(5)?),
        updated_at: from_us(r.get(6)?),
        next_interval: from_us(r.get(7)?),
    })
}

/// Stores a new download.
pub fn insert(c: &Connection, d: &Download) -> StoreResult<()> {
    let spec = serde_json::to_string(&d.spec).map_err(std::io::Error::other)?;
    c.execute(
        &format!("INSERT INTO downloads ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            d.id,
            d.tenant_id,
            spec,
            d.status,
            d.status_reason,
            to_us(d.created_at),
            to_us(d.updated_at),
            to_us(d.next_interval)
        ],
    )?;
    Ok(())
}

/// Replaces a stored download's mutable fields.
pub fn update(c: &Connection, d: &Download) -> StoreResult<()> {
    let spec = serde_json::to_string(&d.spec).map_err(std::io::Error::other)?;
    c.execute(
        "UPDATE downloads SET spec=?2, status=?3, status_reason=?4, updated_at=?5, next_interval=?6 WHERE download_id=?1",
        params![
            d.id,
            spec,
            d.status,
            d.status_reason,
            to_us(d.updated_at),
            to_us(d.next_interval)
        ],
    )?;
    Ok(())
}

/// One download of a tenant.
pub fn get(c: &Connection, tenant_id: &str, id: &str) -> StoreResult<Option<Download>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM downloads WHERE download_id=?1 AND tenant_id=?2"),
        params![id, tenant_id],
        from_row,
    )
    .optional()?)
}

/// One download by id, whoever owns it (engine tasks).
pub fn get_any(c: &Connection, id: &str) -> StoreResult<Option<Download>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM downloads WHERE download_id=?1"),
        [id],
        from_row,
    )
    .optional()?)
}

/// A tenant's downloads in creation order.
pub fn list(c: &Connection, tenant_id: &str) -> StoreResult<Vec<Download>> {
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM downloads WHERE tenant_id=?1 ORDER BY rowid"
    ))?;
    let rows = st.query_map([tenant_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every active download (start-up scheduling, retention).
pub fn all(c: &Connection) -> StoreResult<Vec<Download>> {
    let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM downloads ORDER BY rowid"))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes a download and its jobs.
pub fn delete(c: &Connection, id: &str) -> StoreResult<()> {
    c.execute("DELETE FROM jobs WHERE download_id=?1", [id])?;
    c.execute("DELETE FROM downloads WHERE download_id=?1", [id])?;
    Ok(())
}
