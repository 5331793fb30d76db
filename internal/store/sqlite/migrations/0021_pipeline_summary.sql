-- What a list of pipelines shows of a declaration, beside it: a page of the
-- list reads these instead of decoding every declaration.
ALTER TABLE pipelines ADD COLUMN execution_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE pipelines ADD COLUMN pipeline_type TEXT NOT NULL DEFAULT '';
ALTER TABLE pipelines ADD COLUMN stage_count INTEGER NOT NULL DEFAULT 0;
UPDATE pipelines SET
    execution_mode = coalesce(json_extract(declaration, '$.executionMode'), ''),
    pipeline_type = coalesce(json_extract(declaration, '$.pipelineType'), ''),
    stage_count = coalesce(json_array_length(declaration, '$.stages'), 0);
