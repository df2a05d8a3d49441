-- Data Extraction API (CONTRACT §4, "the real CXone shape"): jobs and their CSV results.
--
-- A job row is all the state there is: its status is derived at read time from `created_at`,
-- `run_ms`, `outcome` and the mock clock (RUNNING until created_at + run_ms, then the outcome,
-- EXPIRED 24 h later), and its CSV is regenerated from the seed on each download. So no engine
-- task, nothing to reschedule after a restart, and nothing large in SQLite.
-- No REFERENCES on tenants: `/_mock/reset` wipes tables in creation order.

CREATE TABLE IF NOT EXISTS extraction_jobs (
    job_id        TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    entity_name   TEXT NOT NULL,              -- recording-interaction-metadata | qm-workflows
    version       TEXT NOT NULL,              -- the entity's version, as requested ("7", "4")
    start_date    TEXT NOT NULL,              -- YYYY-MM-DD (UTC day, inclusive)
    end_date      TEXT NOT NULL,              -- YYYY-MM-DD (UTC day, inclusive)
    created_at    INTEGER NOT NULL,           -- mock clock, unix microseconds
    run_ms        INTEGER NOT NULL,           -- how long it stays RUNNING (seeded, under a minute)
    outcome       TEXT NOT NULL,              -- SUCCEEDED | FAILED | CANCELLED: what it ends as
    error_message TEXT,                       -- set when outcome is FAILED
    seq           INTEGER NOT NULL            -- creation order (the id counter)
);

-- Per-tenant listing in creation order, and the "one job per 30 s" check (latest created_at).
CREATE INDEX IF NOT EXISTS extraction_jobs_by_tenant ON extraction_jobs(tenant_id, seq);
