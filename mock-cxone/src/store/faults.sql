-- Fault rules (CONTRACT §6).
CREATE TABLE IF NOT EXISTS fault_rules (
    fault_id    TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,                 -- the rule as given, JSON
    remaining   INTEGER,                       -- jobs left of next_jobs; NULL: unlimited
    fired       INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
