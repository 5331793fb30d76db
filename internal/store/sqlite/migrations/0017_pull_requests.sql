-- Pull requests of hosted repositories, named REPOSITORY/ID, and approval
-- rule templates (CodeCommit's): each definition a JSON document owned by
-- the service (a pull request with its comments, approvals and rules; a
-- template with its rule content and the repositories it is associated with).
CREATE TABLE pull_requests (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE approval_rule_templates (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
