-- TaskPilot task table (MySQL / MariaDB). Timestamps are text in the task file's own form, so
-- naive times written by the Python version round-trip exactly; ids sort by creation time
-- (binary collation). utf8mb4 keeps every Unicode character, emoji included.
CREATE TABLE IF NOT EXISTS tasks (
    id                VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    title             TEXT        NOT NULL,
    priority          VARCHAR(16) NOT NULL,
    description       MEDIUMTEXT  NOT NULL,
    status            VARCHAR(16) NOT NULL,
    created_at        VARCHAR(64) NOT NULL,
    reviewed_at       VARCHAR(64) NULL,
    executed_at       VARCHAR(64) NULL,
    reviewer_response MEDIUMTEXT  NULL,
    error             MEDIUMTEXT  NULL,
    extra             MEDIUMTEXT  NULL,
    row_version       BIGINT      NOT NULL DEFAULT 1,
    INDEX tasks_status_id (status, id),
    INDEX tasks_created_at (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
