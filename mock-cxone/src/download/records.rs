//! The records a job exports: the schema in force for its interval and the batches of its data
//! types — generation plus the data faults that change what is exported (late updates, schema
//! drift, out-of-order carry-over). The seam between `export` (files) and `generate` (records).

use arrow_array::RecordBatch;

use super::catalog::{Category, DataTypeSchema};
use super::generate::{self, Scope};
use super::jobs::Job;
use crate::app::App;

/// The schema `data_type` is written with for `job`'s interval.
pub fn schema(app: &App, job: &Job, category: Category, data_type: &str) -> Option<DataTypeSchema> {
    let _ = (app, job);
    category.data_type(data_type)
}

/// The batches of one data type for `job`, in export order (one interval, streamed by hour).
pub fn batches<'a>(
    app: &'a App,
    job: &'a Job,
    schema: &'a DataTypeSchema,
) -> Box<dyn Iterator<Item = RecordBatch> + 'a> {
    let scope = Scope {
        seed: app.seed,
        tenant_id: &job.tenant_id,
    };
    Box::new(generate::batches(scope, schema, job.interval_start, job.interval_end))
}
