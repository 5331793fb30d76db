-- What the last push, webhook or poll did to a pipeline, for `sluice status`.
ALTER TABLE pipelines ADD COLUMN trigger_note TEXT NOT NULL DEFAULT '';

-- Keys of starts that must happen at most once (a push replayed after a crash,
-- a webhook delivered twice, a schedule tick).
CREATE TABLE start_keys (
    key          TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);

-- Durable state of triggers: the last revision a poll saw, the last tick a
-- schedule fired.
CREATE TABLE trigger_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE webhooks (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    ciphertext BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
