-- The decision log and runs beside the tasks (MySQL / MariaDB). `body` is the JSON itself: a
-- decision exactly as a DECISION_LOGS_FILE line, a run as GET /api/v1/runs/{id} shows it.
CREATE TABLE IF NOT EXISTS decisions (
    decision_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    sort_key    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    request_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    task_id     VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
    body        MEDIUMTEXT  NOT NULL,
    INDEX decisions_sort (sort_key),
    INDEX decisions_task (task_id),
    INDEX decisions_request (request_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE IF NOT EXISTS runs (
    run_id     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    status     VARCHAR(16) NOT NULL,
    version    BIGINT      NOT NULL,
    body       MEDIUMTEXT  NOT NULL,
    INDEX runs_status (status, run_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
