//! What the Data Extraction API can extract: its entities, their versions and CSV columns, and
//! the validation of a job request (`entityName`, `version`, `startDate`, `endDate`).

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

/// The longest date range one job may cover, in days (both ends inclusive): a whole month.
pub const MAX_RANGE_DAYS: i64 = 31;

/// An extractable entity. Each has exactly one version, as CXone publishes one per entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// One row per recorded contact: who, when, which skill, and the recording's file name.
    RecordingInteractionMetadata,
    /// One row per quality-management workflow (an evaluation of a recorded contact).
    QmWorkflows,
}

impl Entity {
    /// Every entity, in the order the docs list them.
    pub const ALL: [Entity; 2] = [Entity::RecordingInteractionMetadata, Entity::QmWorkflows];

    /// The API name (`entityName`).
    pub fn name(self) -> &'static str {
        match self {
            Entity::RecordingInteractionMetadata => "recording-interaction-metadata",
            Entity::QmWorkflows => "qm-workflows",
        }
    }

    /// The one version this mock serves (`version`, a string as in CXone's API).
    pub fn version(self) -> &'static str {
        match self {
            Entity::RecordingInteractionMetadata => "7",
            Entity::QmWorkflows => "4",
        }
    }

    /// The CSV header, in column order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Entity::RecordingInteractionMetadata => &RECORDING_COLUMNS,
            Entity::QmWorkflows => &QM_COLUMNS,
        }
    }

    /// Parses an API name.
    pub fn parse(name: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// Columns of `recording-interaction-metadata` version 7.
pub const RECORDING_COLUMNS: [&str; 21] = [
    "acdContactId",
    "masterContactId",
    "segmentId",
    "callUuid",
    "interactionId",
    "mediaType",
    "recordingMediaType",
    "direction",
    "contactStartTime",
    "startTime",
    "endTime",
    "durationSeconds",
    "holdSeconds",
    "agentId",
    "teamId",
    "skillId",
    "skillName",
    "ANI",
    "DNIS",
    "disposition",
    "fileName",
];

/// Columns of `qm-workflows` version 4.
pub const QM_COLUMNS: [&str; 17] = [
    "workflowId",
    "workflowType",
    "formName",
    "acdContactId",
    "masterContactId",
    "segmentId",
    "agentId",
    "teamId",
    "evaluatorId",
    "createdTime",
    "dueTime",
    "state",
    "startedTime",
    "submittedTime",
    "scorePercentage",
    "passed",
    "lastUpdateTime",
];

/// `POST /data-extraction/v1/jobs` as sent. Unknown fields are refused: a misspelt `startdate`
/// would otherwise silently be "missing".
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobBody {
    /// e.g. `recording-interaction-metadata`.
    pub entity_name: String,
    /// e.g. `"7"` (a JSON number is accepted too).
    pub version: Value,
    /// First UTC day, `YYYY-MM-DD`.
    pub start_date: String,
    /// Last UTC day (inclusive), `YYYY-MM-DD`.
    pub end_date: String,
}

/// A validated job request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobRequest {
    /// What to extract.
    pub entity: Entity,
    /// First UTC day.
    pub start_date: NaiveDate,
    /// Last UTC day, inclusive.
    pub end_date: NaiveDate,
}

/// Checks a request against the catalog and the calendar. `today` is the mock clock's UTC day:
/// a range that starts after it asks for data that cannot exist yet. The error names the problem.
pub fn validate(body: &JobBody, today: NaiveDate) -> Result<JobRequest, String> {
    let entity = Entity::parse(body.entity_name.trim()).ok_or_else(|| {
        let known: Vec<String> = Entity::ALL
            .iter()
            .map(|e| format!("{} (version \"{}\")", e.name(), e.version()))
            .collect();
        format!(
            "entityName {:?} is not an entity this API extracts; known: {}",
            body.entity_name,
            known.join(", ")
        )
    })?;
    let version = match &body.version {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(format!(
                "version must be a string such as \"{}\", not {other}",
                entity.version()
            ))
        }
    };
    if version != entity.version() {
        return Err(format!(
            "entity {} is available in version \"{}\" only, not {version:?}",
            entity.name(),
            entity.version()
        ));
    }
    let start_date = parse_date("startDate", &body.start_date)?;
    let end_date = parse_date("endDate", &body.end_date)?;
    if end_date < start_date {
        return Err(format!("endDate {end_date} is before startDate {start_date}"));
    }
    let days = (end_date - start_date).num_days() + 1;
    if days > MAX_RANGE_DAYS {
        return Err(format!(
            "startDate {start_date} to endDate {end_date} covers {days} days; one job covers at most \
             {MAX_RANGE_DAYS} days (both dates inclusive): split the range into several jobs"
        ));
    }
    if start_date > today {
        return Err(format!(
            "startDate {start_date} is in the future (today is {today} UTC): there is no data to extract yet"
        ));
    }
    Ok(JobRequest {
        entity,
        start_date,
        end_date,
    })
}

/// Parses a strict `YYYY-MM-DD` (chrono alone would also take `2026-1-5`).
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, String> {
    let bad = || format!("{field} {s:?} is not a date in the form YYYY-MM-DD");
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(bad());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> JobBody {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("body: {e}"))
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 10).unwrap_or_default()
    }

    #[test]
    fn accepts_the_documented_entities_and_versions() {
        let r = validate(
            &body(json!({"entityName":"recording-interaction-metadata","version":"7",
                         "startDate":"2026-01-01","endDate":"2026-01-31"})),
            today(),
        );
        assert_eq!(r.map(|r| r.entity), Ok(Entity::RecordingInteractionMetadata));
        let r = validate(
            &body(json!({"entityName":"qm-workflows","version":4,"startDate":"2026-01-10","endDate":"2026-01-10"})),
            today(),
        );
        assert_eq!(r.map(|r| r.entity), Ok(Entity::QmWorkflows));
    }

    #[test]
    fn refuses_what_would_be_a_mistake() {
        let cases = [
            (
                json!({"entityName":"calls","version":"7","startDate":"2026-01-01","endDate":"2026-01-02"}),
                "known:",
            ),
            (
                json!({"entityName":"qm-workflows","version":"7","startDate":"2026-01-01","endDate":"2026-01-02"}),
                "version \"4\" only",
            ),
            (
                json!({"entityName":"qm-workflows","version":"4","startDate":"2026-1-01","endDate":"2026-01-02"}),
                "YYYY-MM-DD",
            ),
            (
                json!({"entityName":"qm-workflows","version":"4","startDate":"2026-02-30","endDate":"2026-03-02"}),
                "YYYY-MM-DD",
            ),
            (
                json!({"entityName":"qm-workflows","version":"4","startDate":"2026-01-05","endDate":"2026-01-04"}),
                "before startDate",
            ),
            (
                json!({"entityName":"qm-workflows","version":"4","startDate":"2025-12-01","endDate":"2026-01-01"}),
                "32 days",
            ),
            (
                json!({"entityName":"qm-workflows","version":"4","startDate":"2026-01-11","endDate":"2026-01-12"}),
                "future",
            ),
        ];
        for (b, needle) in cases {
            let e = validate(&body(b.clone()), today()).err().unwrap_or_default();
            assert!(e.contains(needle), "{b}: {e}");
        }
        assert!(serde_json::from_value::<JobBody>(
            json!({"entityName":"qm-workflows","version":"4","startDate":"2026-01-01","endDate":"2026-01-02","x":1})
        )
        .is_err());
    }
}
