-- A task's runs found by task id (GET /api/v1/tasks/{id}/history): the task a run created, as
-- a column beside its JSON, indexed; runs recorded before this migration get it from `body`.
ALTER TABLE runs
    ADD COLUMN task_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
    ADD INDEX runs_task (task_id, run_id);
UPDATE runs SET task_id = JSON_UNQUOTE(JSON_EXTRACT(body, '$.task_id'))
    WHERE JSON_TYPE(JSON_EXTRACT(body, '$.task_id')) = 'STRING';
