-- Users' SSH public keys for git over SSH: the definition a JSON document
-- owned by the service (the key, its fingerprint, the principal it stands for).
CREATE TABLE ssh_keys (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
