//! CXone's Data Extraction API (CONTRACT §4, "the real CXone shape"), beside our Data Download
//! API: a client POSTs a job for an entity and a range of days, polls it until `SUCCEEDED`, and
//! downloads the CSV from a presigned URL valid 30 s.
//!
//! Where to look:
//! - [`entities`] — the entities, their versions and columns, and request validation;
//! - [`jobs`] — the job rows, the one-job-per-30-s rule, and status derived from the mock clock
//!   (`RUNNING` → `SUCCEEDED` → `EXPIRED` after 24 h; no engine task);
//! - [`results`] — the CSV of a job, regenerated from the seed on each download, through
//!   [`recordings`] (`recording-interaction-metadata`) and [`qm`] (`qm-workflows`), written by
//!   [`csv`];
//! - [`presign`] — the result URL's HMAC signature and its 30-second wall-clock expiry.
//!
//! The REST edge is `crate::api::extraction`.

pub mod csv;
pub mod entities;
pub mod jobs;
pub mod presign;
pub mod qm;
pub mod recordings;
pub mod results;
