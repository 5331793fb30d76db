-- What started an execution, beside its document: the lists of pipelines
-- show it for each one's latest execution without reading the document.
ALTER TABLE executions ADD COLUMN trigger_type TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN trigger_detail TEXT NOT NULL DEFAULT '';
UPDATE executions SET
    trigger_type = coalesce(json_extract(document, '$.trigger.triggerType'), ''),
    trigger_detail = coalesce(json_extract(document, '$.trigger.triggerDetail'), '');
