-- Build projects: CodeBuild's projects, the definition a JSON document owned
-- by the service.
CREATE TABLE projects (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
