-- Functions: what the Function (Lambda) invoke action runs, the definition a
-- JSON document owned by the service.
CREATE TABLE functions (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
