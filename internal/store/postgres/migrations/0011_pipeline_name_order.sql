-- ListPipelines pages through pipelines by name compared byte by byte (as
-- SQLite compares them), whatever the database's collation: this index lets
-- a page be read from where the last one ended instead of sorting the table.
CREATE INDEX pipelines_name_c ON pipelines (name COLLATE "C");
