-- Deployment groups of applications (CodeDeploy's), named APPLICATION/GROUP,
-- and deployments to them, named by id: JSON documents owned by the service.
CREATE TABLE deployment_groups (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE deployments (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
