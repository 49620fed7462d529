-- A task's runs found by task id (GET /api/v1/tasks/{id}/history): the task a run created, as
-- a column beside its JSON, indexed; runs recorded before this migration get it from `body`.
ALTER TABLE runs ADD COLUMN task_id TEXT;
UPDATE runs SET task_id = json_extract(body, '$.task_id')
    WHERE json_type(body, '$.task_id') = 'text';
CREATE INDEX IF NOT EXISTS runs_task ON runs (task_id, run_id);
