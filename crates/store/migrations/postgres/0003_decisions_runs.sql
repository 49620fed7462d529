-- The decision log and runs beside the tasks (PostgreSQL). `body` is the JSON itself: a
-- decision exactly as a DECISION_LOGS_FILE line, a run as GET /api/v1/runs/{id} shows it.
CREATE TABLE IF NOT EXISTS decisions (
    decision_id VARCHAR(64) COLLATE "C" NOT NULL PRIMARY KEY,
    sort_key    VARCHAR(64) COLLATE "C" NOT NULL,
    request_id  VARCHAR(64) COLLATE "C",
    task_id     VARCHAR(32) COLLATE "C",
    body        TEXT        NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_sort ON decisions (sort_key);
CREATE INDEX IF NOT EXISTS decisions_task ON decisions (task_id);
CREATE INDEX IF NOT EXISTS decisions_request ON decisions (request_id);
CREATE TABLE IF NOT EXISTS runs (
    run_id     VARCHAR(64) COLLATE "C" NOT NULL PRIMARY KEY,
    status     VARCHAR(16) NOT NULL,
    version    BIGINT      NOT NULL,
    body       TEXT        NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, run_id);
