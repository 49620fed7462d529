-- TaskPilot task table (PostgreSQL). Timestamps are TEXT in the task file's own form, so naive
-- times written by the Python version round-trip exactly; ids sort by creation time.
CREATE TABLE IF NOT EXISTS tasks (
    id                VARCHAR(32) COLLATE "C" NOT NULL PRIMARY KEY,
    title             TEXT        NOT NULL,
    priority          VARCHAR(16) NOT NULL,
    description       TEXT        NOT NULL,
    status            VARCHAR(16) NOT NULL,
    created_at        VARCHAR(64) NOT NULL,
    reviewed_at       VARCHAR(64),
    executed_at       VARCHAR(64),
    reviewer_response TEXT,
    error             TEXT,
    extra             TEXT,
    row_version       BIGINT      NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS tasks_status_id ON tasks (status, id);
CREATE INDEX IF NOT EXISTS tasks_created_at ON tasks (created_at);
