-- The region whose workers alone may claim a job ('' is the server's home
-- region): an action's `region` routes its job there.
ALTER TABLE jobs ADD COLUMN region TEXT NOT NULL DEFAULT '';
