//! Data Download (CONTRACT §4, D1-D9): configurations, the six categories and their schemas,
//! record generators, Parquet/CSV writers, the scheduler, jobs, manual export, destinations,
//! retention.
//!
//! Where to look:
//! - `catalog` / `schemas` — categories, frequencies, data types and their columns (D2);
//! - `generate` — the seeded records of every data type (one contact universe for all);

pub mod catalog;
pub mod generate;
pub mod schemas;
