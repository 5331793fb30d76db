-- What a list of pipelines shows of a declaration, beside it: a page of the
-- list reads these instead of decoding every declaration.
ALTER TABLE pipelines ADD COLUMN execution_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE pipelines ADD COLUMN pipeline_type TEXT NOT NULL DEFAULT '';
ALTER TABLE pipelines ADD COLUMN stage_count INTEGER NOT NULL DEFAULT 0;
UPDATE pipelines SET
    execution_mode = coalesce(declaration::jsonb ->> 'executionMode', ''),
    pipeline_type = coalesce(declaration::jsonb ->> 'pipelineType', ''),
    stage_count = CASE WHEN jsonb_typeof(declaration::jsonb -> 'stages') = 'array'
        THEN jsonb_array_length(declaration::jsonb -> 'stages') ELSE 0 END;
