//! The CSV result of a job: a pure function of (seed, tenant, entity, date range, `as_of`), drawn
//! from the same contact universe as Data Download, so nothing is stored and every download of
//! the same job gives the same bytes.
//!
//! `as_of` is the instant the job ran (its creation on the mock clock): a job extracts what
//! existed then: recordings that had ended, workflows that had been created, each workflow in
//! the state it was in at that instant.

use chrono::{Duration, NaiveDate, TimeZone, Utc};

use super::csv::CsvWriter;
use super::entities::Entity;
use super::{qm, recordings};
use crate::download::generate::contacts::{self, Contact};
use crate::ids;
use crate::store::time::Instant;

/// What one extraction covers.
#[derive(Debug, Clone, Copy)]
pub struct Extract<'a> {
    /// The mock's seed.
    pub seed: u64,
    /// Whose contacts.
    pub tenant_id: &'a str,
    /// Which entity.
    pub entity: Entity,
    /// First UTC day.
    pub start_date: NaiveDate,
    /// Last UTC day, inclusive.
    pub end_date: NaiveDate,
    /// The instant the data is taken at.
    pub as_of: Instant,
}

impl Extract<'_> {
    /// Every contact that started within the range (and before `as_of`), hour by hour, in order.
    pub fn contacts(&self) -> impl Iterator<Item = Contact> + '_ {
        let first = day_start(self.start_date);
        let end = day_start(self.end_date) + Duration::days(1);
        let hours = (end - first).num_hours().max(0);
        (0..hours)
            .map(move |h| first + Duration::hours(h))
            .take_while(move |h| *h < self.as_of)
            .flat_map(move |h| contacts::for_hour(self.seed, self.tenant_id, h))
            .filter(move |c| c.start < self.as_of)
    }

    /// The recording segment id of a contact (shared by both entities, so they join).
    pub fn segment_id(&self, contact_id: i64) -> String {
        ids::uuid(self.seed, &format!("segment/{}", self.tenant_id), contact_id as u64)
    }

    /// The CSV document (header and rows).
    pub fn csv(&self) -> CsvWriter {
        let mut w = CsvWriter::with_header(self.entity.columns());
        match self.entity {
            Entity::RecordingInteractionMetadata => recordings::write(self, &mut w),
            Entity::QmWorkflows => qm::write(self, &mut w),
        }
        w
    }

    /// The file name a download is offered under: `<entity>_<start>_<end>.csv`.
    pub fn file_name(&self) -> String {
        file_name(self.entity, self.start_date, self.end_date)
    }
}

/// `<entity>_<start>_<end>.csv`.
pub fn file_name(entity: Entity, start: NaiveDate, end: NaiveDate) -> String {
    format!("{}_{start}_{end}.csv", entity.name())
}

/// UTC midnight starting `d`.
pub fn day_start(d: NaiveDate) -> Instant {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}
