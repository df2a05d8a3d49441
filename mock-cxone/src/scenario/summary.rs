//! What loading a scenario created: the 201 body of `POST /_mock/scenarios`, the lines
//! `serve --scenario` prints, and (without secrets or random key ids) `_scenario.json` of
//! `scenario run`.

use serde::Serialize;
use serde_json::Value;

use super::parse::{Length, Scenario};
use super::plan::Plan;
use crate::store::time::rfc3339;

/// Keys whose values are random (secrets and access key ids): dropped from the public view.
pub const RANDOM_KEYS: [&str; 4] = [
    "client_secret",
    "access_key_id",
    "access_key_secret",
    "secret_access_key",
];

/// What a load created, in the order it was created.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// `scenario.name`.
    pub scenario: String,
    /// `scenario.description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The mock's seed.
    pub seed: u64,
    /// Where the scenario started.
    pub start: String,
    /// Where `scenario run` stops (start + run_for).
    pub end: String,
    /// The mock clock once loading finished (after the timeline).
    pub now: String,
    /// `[[tenants]]`, with their credentials.
    pub tenants: Vec<TenantOut>,
    /// `[[recordings]]`.
    pub recordings: Vec<RecordingsOut>,
    /// `[[lifecycle_rules]]`.
    pub lifecycle_rules: Vec<RuleOut>,
    /// `[[downloads]]`.
    pub downloads: Vec<DownloadOut>,
    /// `[[faults]]`.
    pub faults: Vec<FaultOut>,
    /// `[[timeline]]` entries performed, in time order.
    pub timeline: Vec<StepOut>,
}

/// A tenant created.
#[derive(Debug, Clone, Serialize)]
pub struct TenantOut {
    /// Id (`t-...`).
    pub tenant_id: String,
    /// Name.
    pub name: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// API access key id.
    pub access_key_id: String,
    /// API access key secret.
    pub access_key_secret: String,
}

/// Recordings created.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingsOut {
    /// Whose.
    pub tenant_id: String,
    /// How many.
    pub created: u64,
}

/// A lifecycle rule created.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOut {
    /// `rule-...`.
    pub id: String,
    /// Whose.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Its action.
    pub action: String,
}

/// A download created.
#[derive(Debug, Clone, Serialize)]
pub struct DownloadOut {
    /// `dl-...`.
    pub id: String,
    /// Its `name`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whose.
    pub tenant_id: String,
    /// Category.
    pub category: String,
    /// Destination bucket (`aws_s3`) or container (`azure_blob`).
    pub bucket: String,
    /// Destination prefix.
    pub prefix: String,
    /// Where the files go: `s3://bucket/prefix`, or the Azure container's URL and prefix.
    pub location: String,
}

/// A fault rule added.
#[derive(Debug, Clone, Serialize)]
pub struct FaultOut {
    /// `fault-...`.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Tenant filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Download filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_id: Option<String>,
}

/// A timeline entry performed.
#[derive(Debug, Clone, Serialize)]
pub struct StepOut {
    /// When.
    pub at: String,
    /// What.
    pub action: String,
    /// What came of it (new credentials, job ids, ...).
    pub detail: Value,
}

/// `v` without [`RANDOM_KEYS`], at any depth.
pub fn without_random(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| !RANDOM_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k, without_random(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_random).collect()),
        other => other,
    }
}

impl Summary {
    /// The full summary, credentials included (the 201 body).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Without secrets and random key ids: the same for the same seed and file, byte for byte.
    pub fn to_public_json(&self) -> Value {
        without_random(self.to_json())
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line on what a scenario does: `scenario check`'s "ok: ..." and the start-up banner.
pub fn outline(sc: &Scenario, plan: &Plan) -> String {
    let recordings: u64 = plan.recordings.iter().map(|r| r.count).sum();
    let length = match sc.length {
        Length::RunFor(s) => super::when::human_duration(s),
        Length::End(_) => super::when::human_duration((plan.end - plan.start).num_seconds()),
    };
    let mut tenants = plural(sc.tenants.len(), "tenant", "tenants");
    if !sc.tenants.is_empty() {
        let names: Vec<&str> = sc.tenants.iter().map(|t| t.new.name.as_str()).collect();
        tenants.push_str(&format!(" ({})", names.join(", ")));
    }
    format!(
        "{} — {}, {} recordings, {}, {}, {}, {}; start {}{}, runs {} to {}",
        sc.name,
        tenants,
        recordings,
        plural(sc.rules.len(), "lifecycle rule", "lifecycle rules"),
        plural(sc.downloads.len(), "download", "downloads"),
        plural(sc.faults.len(), "fault", "faults"),
        plural(sc.timeline.len(), "timeline entry", "timeline entries"),
        rfc3339(plan.start),
        if sc.start.is_none() {
            " (no start: the mock's now)"
        } else {
            ""
        },
        length,
        rfc3339(plan.end),
    )
}
