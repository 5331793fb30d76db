-- Every definition counts its writes (revision: 1 when created, one more
-- with each replacement), so that a read-modify-write made on one replica
-- (a pull request's approval, its merge) can be written on condition that no
-- other replica wrote the definition since (Tx.PutDefinition). Definitions
-- stored before start at 1.
ALTER TABLE webhooks ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE projects ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE functions ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE rules ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE secrets ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE policies ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE connections ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE access_keys ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE action_types ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE ssh_keys ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE resource_tags ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE deployment_groups ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE deployments ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE deploy_agents ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE pull_requests ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE approval_rule_templates ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
