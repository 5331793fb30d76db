-- Console sessions, in the store so that every replica sharing it knows a
-- browser's session (package ui). id_hash is the SHA-256 of the cookie's
-- value: a copy of the database gives no live cookie.
CREATE TABLE console_sessions (
    id_hash      TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    name         TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    flash        TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    last_used_ms BIGINT NOT NULL
);
CREATE INDEX console_sessions_last_used ON console_sessions (last_used_ms);
