CREATE TABLE pipelines (
    name        TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    declaration TEXT NOT NULL,
    transitions TEXT NOT NULL DEFAULT '{}',
    next_seq    INTEGER NOT NULL DEFAULT 1,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);

CREATE TABLE pipeline_versions (
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    declaration TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE executions (
    id         TEXT PRIMARY KEY,
    pipeline   TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    status     TEXT NOT NULL,
    active     INTEGER NOT NULL,
    document   TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX executions_by_pipeline ON executions (pipeline, seq);
CREATE INDEX executions_active ON executions (pipeline, seq) WHERE active = 1;

CREATE TABLE jobs (
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
    lease_ms      INTEGER NOT NULL DEFAULT 0,
    deadline_ms   INTEGER NOT NULL,
    cancel_reason TEXT NOT NULL DEFAULT '',
    message       TEXT NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL,
    claimed_ms    INTEGER NOT NULL DEFAULT 0,
    finished_ms   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_queued ON jobs (provider, created_ms) WHERE status = 'Queued';
CREATE INDEX jobs_running ON jobs (lease_ms) WHERE status = 'InProgress';
CREATE INDEX jobs_deadline ON jobs (deadline_ms) WHERE status IN ('Queued', 'InProgress');
CREATE INDEX jobs_by_action ON jobs (execution_id, stage, action, created_ms);

CREATE TABLE log_chunks (
    job_id TEXT NOT NULL,
    pos    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (job_id, pos)
);

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms      INTEGER NOT NULL,
    type         TEXT NOT NULL,
    pipeline     TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    document     TEXT NOT NULL
);
CREATE INDEX events_by_pipeline ON events (pipeline, seq);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    policy     TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
