-- A rule sees the events written after it was created. "After" is decided by
-- the events' sequence, not by clocks (which replicas do not share, and
-- which stamp events only to the millisecond): created_seq is the sequence
-- of the last event written when the rule was created. Existing rules get
-- the last event stamped before their creation, which is what the clock
-- decided until now.
ALTER TABLE rules ADD COLUMN created_seq INTEGER NOT NULL DEFAULT 0;
UPDATE rules SET created_seq = COALESCE((SELECT MAX(seq) FROM events WHERE events.time_ms < rules.created_ms), 0);
