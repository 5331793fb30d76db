-- Named policies: what pipelines and build projects run with as their role.
CREATE TABLE policies (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
