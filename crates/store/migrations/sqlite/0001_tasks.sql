-- TaskPilot task table (SQLite). Timestamps are TEXT in the task file's own form, so naive
-- times written by the Python version round-trip exactly; ids sort by creation time.
CREATE TABLE IF NOT EXISTS tasks (
    id                TEXT    NOT NULL PRIMARY KEY,
    title             TEXT    NOT NULL,
    priority          TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    reviewed_at       TEXT,
    executed_at       TEXT,
    reviewer_response TEXT,
    error             TEXT,
    extra             TEXT,
    row_version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS tasks_status_id ON tasks (status, id);
CREATE INDEX IF NOT EXISTS tasks_created_at ON tasks (created_at);
