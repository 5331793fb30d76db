-- Locks shared by executions of any pipeline: holder and queue as one document.
CREATE TABLE locks (
    name       TEXT PRIMARY KEY,
    document   TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);

-- How far a reader of the event log (the reactor, rule deliveries) has got.
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

-- A function's next invocation may not start before not_before.
ALTER TABLE jobs ADD COLUMN not_before_ms INTEGER NOT NULL DEFAULT 0;

-- Notifications to outside receivers, delivered at least once with retries.
CREATE TABLE deliveries (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,
    target        TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_ms       INTEGER NOT NULL,
    last_error    TEXT NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_ms) WHERE status = 'Pending';
CREATE INDEX deliveries_by_source ON deliveries (source, created_ms);
