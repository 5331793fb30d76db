-- Named connections to other systems (aws accounts): the definition a JSON
-- document owned by the service; credentials stay in the secret it names.
CREATE TABLE connections (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
