-- A task's runs found by task id (GET /api/v1/tasks/{id}/history): the task a run created, as
-- a column beside its JSON, indexed; runs recorded before this migration get it from `body`.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS task_id VARCHAR(32) COLLATE "C";
UPDATE runs SET task_id = body::jsonb ->> 'task_id'
    WHERE jsonb_typeof(body::jsonb -> 'task_id') = 'string';
CREATE INDEX IF NOT EXISTS runs_task ON runs (task_id, run_id);
