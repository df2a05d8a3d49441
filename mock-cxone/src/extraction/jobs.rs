//! Extraction jobs: accepted at most once per 30 s per tenant, RUNNING for a seeded few seconds
//! to a minute, then SUCCEEDED, and EXPIRED 24 h after that (all on the mock clock).
//!
//! Why no engine task: a job's status is a pure function of its row and the mock clock, so it
//! is derived at read time. A restart, a reset or a jump of the clock by a year needs nothing
//! to catch up, and the answer is the same whichever instant the clock is advanced to first.

use chrono::{Duration, NaiveDate};
use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::json;

use super::entities::{Entity, JobRequest};
use super::results::Extract;
use crate::events::{self, NewEvent};
use crate::ids;
use crate::store::time::{from_us, rfc3339, to_us, Instant};
use crate::store::{next_counter, StoreError, StoreResult};

/// A tenant may start one job per this many seconds (mock clock).
pub const MIN_SECONDS_BETWEEN_JOBS: i64 = 30;

/// A job runs at least this long...
pub const MIN_RUN_MS: i64 = 5_000;

/// ... and less than this (under a minute: advancing the clock 1 minute always completes it).
pub const MAX_RUN_MS: i64 = 55_000;

/// How long a result is kept after the job completes (mock clock).
pub const RESULT_TTL_HOURS: i64 = 24;

/// A job's status as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Still extracting.
    Running,
    /// Done; the result can be downloaded.
    Succeeded,
    /// Done without a result (`errorMessage` says why).
    Failed,
    /// Stopped before it completed.
    Cancelled,
    /// Done, but its result is past its 24 h retention.
    Expired,
}

impl Status {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
            Status::Expired => "EXPIRED",
        }
    }

    fn parse_outcome(s: &str) -> Status {
        match s {
            "FAILED" => Status::Failed,
            "CANCELLED" => Status::Cancelled,
            _ => Status::Succeeded,
        }
    }
}

/// One job as stored.
#[derive(Debug, Clone)]
pub struct Job {
    /// Job id (UUID).
    pub id: String,
    /// Owner.
    pub tenant_id: String,
    /// What it extracts.
    pub entity: Entity,
    /// First UTC day.
    pub start_date: NaiveDate,
    /// Last UTC day, inclusive.
    pub end_date: NaiveDate,
    /// Accepted at (mock clock); also the instant its data is taken at.
    pub created_at: Instant,
    /// How long it runs.
    pub run_ms: i64,
    /// What it ends as once it stops running.
    pub outcome: Status,
    /// Why it failed, when it did.
    pub error_message: Option<String>,
}

impl Job {
    /// When it stops running.
    pub fn completed_at(&self) -> Instant {
        self.created_at + Duration::milliseconds(self.run_ms)
    }

    /// When a successful result stops being available.
    pub fn expires_at(&self) -> Instant {
        self.completed_at() + Duration::hours(RESULT_TTL_HOURS)
    }

    /// The status at `now`.
    pub fn status(&self, now: Instant) -> Status {
        if now < self.completed_at() {
            Status::Running
        } else if self.outcome == Status::Succeeded && now >= self.expires_at() {
            Status::Expired
        } else {
            self.outcome
        }
    }

    /// What its result holds.
    pub fn extract(&self, seed: u64) -> Extract<'_> {
        Extract {
            seed,
            tenant_id: &self.tenant_id,
            entity: self.entity,
            start_date: self.start_date,
            end_date: self.end_date,
            as_of: self.created_at,
        }
    }
}

/// Why a job was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The tenant's previous job was accepted less than 30 s ago.
    #[error(
        "the Data Extraction API accepts one job per tenant every {MIN_SECONDS_BETWEEN_JOBS} s; \
         the previous job was accepted {elapsed_s} s ago: retry in {retry_after_s} s"
    )]
    TooSoon {
        /// Seconds since the previous job (mock clock).
        elapsed_s: i64,
        /// Seconds until a new job is accepted (at least 1).
        retry_after_s: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CreateError {
    fn from(e: rusqlite::Error) -> Self {
        CreateError::Store(e.into())
    }
}

/// Accepts a job for `tenant_id` at `now` unless the tenant's previous one is under 30 s old.
/// Call inside a transaction: the check and the insert must not interleave with another POST.
pub fn create(c: &Connection, seed: u64, now: Instant, tenant_id: &str, req: &JobRequest) -> Result<Job, CreateError> {
    let last: Option<i64> = c.query_row(
        "SELECT MAX(created_at) FROM extraction_jobs WHERE tenant_id=?1",
        [tenant_id],
        |r| r.get(0),
    )?;
    if let Some(last) = last {
        let elapsed_us = to_us(now) - last;
        let min_us = MIN_SECONDS_BETWEEN_JOBS * 1_000_000;
        if elapsed_us < min_us {
            return Err(CreateError::TooSoon {
                elapsed_s: elapsed_us.div_euclid(1_000_000),
                retry_after_s: (min_us - elapsed_us + 999_999) / 1_000_000,
            });
        }
    }
    let seq = next_counter(c, "extraction-job")?;
    let id = ids::uuid(seed, "extraction-job", seq);
    let span = (MAX_RUN_MS - MIN_RUN_MS) as u64;
    let run_ms = MIN_RUN_MS + (ids::derive_u64(seed, &[b"extraction-run", id.as_bytes()]) % span) as i64;
    let job = Job {
        id,
        tenant_id: tenant_id.to_string(),
        entity: req.entity,
        start_date: req.start_date,
        end_date: req.end_date,
        created_at: now,
        run_ms,
        outcome: Status::Succeeded,
        error_message: None,
    };
    c.execute(
        "INSERT INTO extraction_jobs(job_id,tenant_id,entity_name,version,start_date,end_date,created_at,run_ms,
                                     outcome,error_message,seq)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
        rusqlite::params![
            job.id,
            job.tenant_id,
            job.entity.name(),
            job.entity.version(),
            job.start_date.to_string(),
            job.end_date.to_string(),
            to_us(now),
            job.run_ms,
            job.outcome.as_str(),
            job.error_message,
            seq as i64,
        ],
    )?;
    let mut event = NewEvent::tenant(
        "extraction.job_accepted",
        tenant_id,
        json!({"entityName": job.entity.name(), "version": job.entity.version(),
               "startDate": job.start_date.to_string(), "endDate": job.end_date.to_string(),
               "completes_at": rfc3339(job.completed_at())}),
    );
    event.job_id = Some(job.id.clone());
    events::record(c, now, &event)?;
    Ok(job)
}

const COLUMNS: &str = "job_id,tenant_id,entity_name,start_date,end_date,created_at,run_ms,outcome,error_message";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let entity_name: String = r.get(2)?;
    let date = |i: usize| -> rusqlite::Result<NaiveDate> {
        let s: String = r.get(i)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
    };
    let entity = Entity::parse(&entity_name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown entity {entity_name:?}").into(),
        )
    })?;
    let outcome: String = r.get(7)?;
    Ok(Job {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        entity,
        start_date: date(3)?,
        end_date: date(4)?,
        created_at: from_us(r.get(5)?),
        run_ms: r.get(6)?,
        outcome: Status::parse_outcome(&outcome),
        error_message: r.get(8)?,
    })
}

/// A job by id, whoever owns it (the presigned result route checks the signature instead).
pub fn get_any(c: &Connection, id: &str) -> StoreResult<Option<Job>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM extraction_jobs WHERE job_id=?1"),
        [id],
        from_row,
    )
    .optional()?)
}

/// A tenant's job by id (`None` when it does not exist or belongs to another tenant).
pub fn get(c: &Connection, tenant_id: &str, id: &str) -> StoreResult<Option<Job>> {
    Ok(get_any(c, id)?.filter(|j| j.tenant_id == tenant_id))
}

/// A tenant's jobs, oldest first.
pub fn list(c: &Connection, tenant_id: &str) -> StoreResult<Vec<Job>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM extraction_jobs WHERE tenant_id=?1 ORDER BY seq"
    ))?;
    let jobs = stmt.query_map([tenant_id], from_row)?.collect::<Result<_, _>>()?;
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::time::parse_rfc3339;

    fn job(run_ms: i64) -> Job {
        Job {
            id: "j".into(),
            tenant_id: "t".into(),
            entity: Entity::QmWorkflows,
            start_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            end_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            created_at: parse_rfc3339("2026-01-02T00:00:00Z").unwrap_or_default(),
            run_ms,
            outcome: Status::Succeeded,
            error_message: None,
        }
    }

    #[test]
    fn status_is_a_function_of_the_clock() {
        let j = job(12_000);
        let t = j.created_at;
        assert_eq!(j.status(t), Status::Running);
        assert_eq!(j.status(t + Duration::milliseconds(11_999)), Status::Running);
        assert_eq!(j.status(t + Duration::seconds(12)), Status::Succeeded);
        assert_eq!(j.status(t + Duration::hours(24)), Status::Succeeded);
        assert_eq!(
            j.status(t + Duration::hours(24) + Duration::seconds(12)),
            Status::Expired
        );
        let failed = Job {
            outcome: Status::Failed,
            ..job(12_000)
        };
        assert_eq!(failed.status(t + Duration::days(30)), Status::Failed);
    }
}
