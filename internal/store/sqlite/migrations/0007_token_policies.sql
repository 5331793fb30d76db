-- Policies in IAM's shape: a token keeps its policy document (JSON) unless
-- it names a ready-made policy, and may expire (0: never).
ALTER TABLE tokens ADD COLUMN policy_document TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0;
