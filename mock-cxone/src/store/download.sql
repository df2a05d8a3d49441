-- Data Download (CONTRACT §4): download configurations and their jobs.

CREATE TABLE IF NOT EXISTS downloads (
    download_id    TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    spec           TEXT NOT NULL,              -- validated body, JSON (defaults filled in)
    status         TEXT NOT NULL,              -- active | needs_reconfiguration
    status_reason  TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    next_interval  INTEGER NOT NULL            -- start of the next interval without a job
);
CREATE INDEX IF NOT EXISTS downloads_tenant ON downloads(tenant_id);

CREATE TABLE IF NOT EXISTS jobs (
    job_id         TEXT PRIMARY KEY,
    download_id    TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    category       TEXT NOT NULL,
    status         TEXT NOT NULL,              -- PENDING | RUNNING | COMPLETED | FAILED | TIMED_OUT
    kind           TEXT NOT NULL,              -- scheduled | manual
    interval_start INTEGER NOT NULL,
    interval_end   INTEGER NOT NULL,
    start_time     INTEGER NOT NULL,
    end_time       INTEGER NOT NULL,           -- planned until the job ends
    prefix         TEXT NOT NULL,
    overwrite      INTEGER NOT NULL,
    output_files   TEXT,                       -- JSON arrays / objects
    manifests      TEXT,
    record_counts  TEXT,
    checksums      TEXT,
    error_details  TEXT,
    retention      TEXT NOT NULL DEFAULT 'hot' -- hot | cold | deleted (D9)
);
CREATE INDEX IF NOT EXISTS jobs_download ON jobs(download_id);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
