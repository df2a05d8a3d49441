-- mock-cxone metadata. Times are INTEGER unix microseconds (UTC) on the mock clock.
-- Object bytes live on disk (data-lake buckets, served by s3s-fs) or are derived from the seed
-- (recordings, SEA objects), so nothing here is ever large.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tenants (
    tenant_id         TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    client_id         TEXT NOT NULL UNIQUE,
    client_secret     TEXT NOT NULL,
    access_key_id     TEXT NOT NULL UNIQUE,
    access_key_secret TEXT NOT NULL,
    scopes            TEXT NOT NULL,           -- JSON array
    faster_sea        INTEGER NOT NULL DEFAULT 0,
    kms_key_id        TEXT NOT NULL,
    custom_kms        INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    seq               INTEGER NOT NULL         -- creation order
);

-- One SEA credential set per tenant (S1): regenerating replaces the row.
CREATE TABLE IF NOT EXISTS sea_credentials (
    tenant_id         TEXT PRIMARY KEY REFERENCES tenants(tenant_id),
    access_key_id     TEXT NOT NULL UNIQUE,
    secret_access_key TEXT NOT NULL,
    created_at        INTEGER NOT NULL
);

-- Data-lake credentials: every call issues a new pair, earlier pairs keep working.
CREATE TABLE IF NOT EXISTS datalake_credentials (
    access_key_id     TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(tenant_id),
    secret_access_key TEXT NOT NULL,
    kms_keys          TEXT NOT NULL,           -- JSON array of key ids granted at issue time
    created_at        INTEGER NOT NULL
);

-- OAuth tokens (opaque); expiry is on the mock clock.
CREATE TABLE IF NOT EXISTS tokens (
    token       TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,                 -- access | refresh
    tenant_id   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    scopes      TEXT NOT NULL,                 -- space separated
    expires_at  INTEGER NOT NULL
);

-- The ledger behind /_mock/events.
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY,        -- rowid: increasing, since events are only ever appended
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    tenant_id   TEXT,
    download_id TEXT,
    job_id      TEXT,
    fault_id    TEXT,
    objects     TEXT,                          -- JSON array or NULL
    detail      TEXT NOT NULL                  -- JSON
);
CREATE INDEX IF NOT EXISTS events_kind ON events(kind, seq);

-- Buckets on the S3 endpoint owned by tenants (data lake, export destinations).
CREATE TABLE IF NOT EXISTS buckets (
    name        TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Recording files in Cloud Storage and their SEA placement.
CREATE TABLE IF NOT EXISTS files (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- global creation order
    id           TEXT NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    media_type   TEXT NOT NULL,                -- VOICE | SCREEN | STATEMENT
    tier         TEXT NOT NULL,                -- active | long_term | custom | sea | deleted
    initial_tier TEXT NOT NULL,                -- tier at creation (usage: only active is charged)
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    md5          TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    tier_changed_at INTEGER NOT NULL,          -- when it entered its current tier (usage)
    rule_id      TEXT,                         -- the rule that claimed it (S3: managed by a rule)
    rule_action  TEXT,                         -- that rule's action at claim time
    claimed_at   INTEGER,
    sea_queued   INTEGER,                      -- backlog order (S7); NULL when not waiting
    sea_action   TEXT,                         -- copied | moved, once placed (S4)
    sea_key      TEXT,
    placed_at    INTEGER,
    expires_at   INTEGER,
    sea_gone_at  INTEGER                       -- expired or deleted from SEA
);
CREATE INDEX IF NOT EXISTS files_tenant ON files(tenant_id, seq);
CREATE INDEX IF NOT EXISTS files_unclaimed ON files(tenant_id, tier, rule_id);
-- The refusal scan (storage::lifecycle::refuse) skips the files a rule already holds by this key.
CREATE INDEX IF NOT EXISTS files_rule ON files(tenant_id, rule_id, rule_action);
CREATE INDEX IF NOT EXISTS files_backlog ON files(tenant_id, sea_queued) WHERE sea_queued IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_sea_key ON files(sea_key) WHERE sea_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_expiry ON files(expires_at) WHERE sea_gone_at IS NULL AND expires_at IS NOT NULL;
-- Live SEA objects and bytes per tenant (stats.rs: the dashboard and /metrics) without a row lookup.
-- (expires_at is set when a file is placed; sea_gone_at, always NULL here, is in it only so the count is covered)
CREATE INDEX IF NOT EXISTS files_sea_live ON files(tenant_id, expires_at, size, sea_gone_at) WHERE sea_gone_at IS NULL AND expires_at IS NOT NULL;

-- Lifecycle Management rules.
CREATE TABLE IF NOT EXISTS lifecycle_rules (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- creation order breaks priority ties
    id          TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    media_type  TEXT,
    after_days  INTEGER NOT NULL,
    action      TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    filters     TEXT,                          -- JSON object or NULL
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- SEA refusals, one per (file, rule) so a daily run does not repeat them (S3/S4).
CREATE TABLE IF NOT EXISTS sea_refusals (
    file_id     TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (file_id, rule_id)
);

-- Files placed in SEA per tenant per UTC day (S7 cap).
CREATE TABLE IF NOT EXISTS sea_daily (
    tenant_id   TEXT NOT NULL,
    day         TEXT NOT NULL,                 -- YYYY-MM-DD
    placed      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
