-- Event rules: what sluice's events are matched against, and where what
-- matches goes; the definition a JSON document owned by the service. Their
-- deliveries are rows of the deliveries table, source 'rule/NAME'.
CREATE TABLE rules (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
