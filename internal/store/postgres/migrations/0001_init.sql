-- The schema of sluice's PostgreSQL store: the SQLite store's migrations
-- 0001 to 0008 in one, translated. Times are BIGINT milliseconds since the
-- epoch (0: none), as in SQLite, so that rows map to store types the same way.
-- Tables whose SQLite queries break ties by rowid have an rn column instead.

CREATE TABLE pipelines (
    name         TEXT PRIMARY KEY,
    version      INTEGER NOT NULL,
    declaration  TEXT NOT NULL,
    transitions  TEXT NOT NULL DEFAULT '{}',
    trigger_note TEXT NOT NULL DEFAULT '',
    next_seq     BIGINT NOT NULL DEFAULT 1,
    created_ms   BIGINT NOT NULL,
    updated_ms   BIGINT NOT NULL
);

CREATE TABLE pipeline_versions (
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    declaration TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE executions (
    id         TEXT PRIMARY KEY,
    pipeline   TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    status     TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    document   TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX executions_by_pipeline ON executions (pipeline, seq);
CREATE INDEX executions_active ON executions (pipeline, seq) WHERE active;

CREATE TABLE jobs (
    rn            BIGSERIAL NOT NULL,
    id            TEXT PRIMARY KEY,
    execution_id  TEXT NOT NULL,
    pipeline      TEXT NOT NULL,
    stage         TEXT NOT NULL,
    action        TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    provider      TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL,
    worker        TEXT NOT NULL DEFAULT '',
    lease_ms      BIGINT NOT NULL DEFAULT 0,
    deadline_ms   BIGINT NOT NULL,
    cancel_reason TEXT NOT NULL DEFAULT '',
    message       TEXT NOT NULL DEFAULT '',
    created_ms    BIGINT NOT NULL,
    claimed_ms    BIGINT NOT NULL DEFAULT 0,
    finished_ms   BIGINT NOT NULL DEFAULT 0,
    -- A function's next invocation may not start before not_before.
    not_before_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_queued ON jobs (provider, created_ms, rn) WHERE status = 'Queued';
CREATE INDEX jobs_running ON jobs (lease_ms) WHERE status = 'InProgress';
CREATE INDEX jobs_deadline ON jobs (deadline_ms) WHERE status IN ('Queued', 'InProgress');
CREATE INDEX jobs_by_action ON jobs (execution_id, stage, action, created_ms);
CREATE INDEX jobs_by_pipeline ON jobs (pipeline);

CREATE TABLE log_chunks (
    job_id TEXT NOT NULL,
    pos    BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (job_id, pos)
);

-- seq comes from a sequence; InsertEvent serialises the transactions that
-- insert events (an advisory lock held to commit), so seq order is commit order.
CREATE TABLE events (
    seq          BIGSERIAL PRIMARY KEY,
    time_ms      BIGINT NOT NULL,
    type         TEXT NOT NULL,
    pipeline     TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    document     TEXT NOT NULL
);
CREATE INDEX events_by_pipeline ON events (pipeline, seq);

CREATE TABLE tokens (
    hash            TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    policy          TEXT NOT NULL,
    policy_document TEXT NOT NULL DEFAULT '',
    created_ms      BIGINT NOT NULL,
    expires_ms      BIGINT NOT NULL DEFAULT 0
);

-- Keys of starts that must happen at most once.
CREATE TABLE start_keys (
    key          TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    created_ms   BIGINT NOT NULL
);

-- Durable state of triggers: the last revision a poll saw, the last tick fired.
CREATE TABLE trigger_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE webhooks (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    ciphertext BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE projects (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE reports (
    rn           BIGSERIAL NOT NULL,
    job_id       TEXT NOT NULL,
    grp          TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    stage        TEXT NOT NULL,
    action       TEXT NOT NULL,
    document     TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    PRIMARY KEY (job_id, grp)
);
CREATE INDEX reports_by_execution ON reports (execution_id, created_ms, rn);

-- Locks shared by executions of any pipeline. A row with a NULL document is
-- a placeholder that Tx.Lock inserts so that it has a row to lock FOR UPDATE;
-- it stands for a lock never taken.
CREATE TABLE locks (
    name       TEXT PRIMARY KEY,
    document   TEXT,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE deliveries (
    rn            BIGSERIAL NOT NULL,
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,
    target        TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_ms       BIGINT NOT NULL,
    last_error    TEXT NOT NULL DEFAULT '',
    created_ms    BIGINT NOT NULL,
    updated_ms    BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_ms) WHERE status = 'Pending';
CREATE INDEX deliveries_by_source ON deliveries (source, created_ms, rn);

CREATE TABLE functions (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE rules (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
