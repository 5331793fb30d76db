-- AWS access keys of tokens (sluice token create --aws-keys), named by their
-- id: a JSON document, owned by the service, with the token it belongs to and
-- the secret sealed under the server's secret key.
CREATE TABLE access_keys (
    name       TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

-- Custom action types (CreateCustomActionType), named CATEGORY/PROVIDER/VERSION:
-- a JSON document owned by the service.
CREATE TABLE action_types (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

-- Tags of resources (TagResource), named by the resource's ARN: a JSON object
-- of key to value.
CREATE TABLE resource_tags (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
