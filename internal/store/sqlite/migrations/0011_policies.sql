-- Named policies: what pipelines and build projects run with as their role
-- (and what decides which secrets their jobs may read); the definition a
-- JSON policy document owned by the service.
CREATE TABLE policies (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
