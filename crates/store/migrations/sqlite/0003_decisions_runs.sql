-- The decision log and runs beside the tasks (SQLite). `body` is the JSON itself: a decision
-- exactly as a DECISION_LOGS_FILE line, a run as GET /api/v1/runs/{id} shows it.
CREATE TABLE IF NOT EXISTS decisions (
    decision_id TEXT NOT NULL PRIMARY KEY,
    sort_key    TEXT NOT NULL,
    request_id  TEXT,
    task_id     TEXT,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_sort ON decisions (sort_key);
CREATE INDEX IF NOT EXISTS decisions_task ON decisions (task_id);
CREATE INDEX IF NOT EXISTS decisions_request ON decisions (request_id);
CREATE TABLE IF NOT EXISTS runs (
    run_id     TEXT    NOT NULL PRIMARY KEY,
    status     TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    body       TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, run_id);
