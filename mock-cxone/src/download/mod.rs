//! Data Download (CONTRACT §4, D1-D9): configurations, the six categories and their schemas,
//! record generators, Parquet/CSV writers, the scheduler, jobs, manual export, destinations,
//! retention.
//!
//! Where to look:
//! - `catalog` / `schemas` — categories, frequencies, data types and their columns (D2);
//! - `generate` — the seeded records of every data type (one contact universe for all);
//! - `writer` — Parquet (SNAPPY/ZSTD/none, all-null columns dropped, D3) and CSV files;
//! - `config` — the download body, validation, storage; `manage` — create/replace/delete;
//! - `partition` — partition paths and file/manifest keys (D4);
//! - `schedule` — finalisation delay, offset, speech lag: when a job runs (D5, F7);
//! - `scheduler` — the engine tasks that create, start and finish jobs; `jobs` — job rows (D6);
//! - `export` — one job's files and manifests; `destination` — where they go (D8): the mock's
//!   own S3, or `remote` (an S3-compatible store, Azure Blob Storage; `azure_names` checks Azure's names);
//! - `resume` — the keys a running job claimed, so a job interrupted by a crash rewrites them;
//! - `manual` — manual export for backfill (D7); `retention` — cold storage and deletion (D9).

pub mod azure_names;
pub mod catalog;
pub mod config;
pub mod destination;
pub mod export;
pub mod generate;
pub mod jobs;
pub mod manage;
pub mod manual;
pub mod partition;
pub mod records;
pub mod remote;
pub mod resume;
pub mod retention;
pub mod schedule;
pub mod scheduler;
pub mod schemas;
pub mod writer;
