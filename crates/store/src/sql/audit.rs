//! The decision log and runs on the SQL backends: tables `decisions` and `runs` beside `tasks`
//! (migration 0003), written once here for SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! - a decision is one row keyed by `decision_id` (an insert that finds it already there does
//!   nothing, so restoring twice keeps one copy), its JSON in `body`, with `sort_key`,
//!   `task_id` and `request_id` as indexed columns for finding it;
//! - a run is one row keyed by `run_id`, its JSON in `body`, with `status` for finding the
//!   open ones, `task_id` (migration 0004) for finding a task's runs, and `version` for the
//!   conditional write (`UPDATE … WHERE version = ?`).
//!
//! Not here: the rules of a run's life (`crate::shared::RunBook`).

use async_trait::async_trait;

use super::{Arg, Cell, Dialect, Driver, SqlStore};
use crate::StoreError;
use crate::shared::{DecisionEntry, DecisionRecords, RunRecord, RunRecords};

/// Decisions written per statement (5 arguments each).
const DECISION_CHUNK: usize = 100;

impl<D: Driver> SqlStore<D> {
    fn decision_rows(&self, rows: Vec<Vec<Cell>>) -> Vec<DecisionEntry> {
        rows.into_iter()
            .filter_map(|row| {
                let mut cells = row.into_iter();
                Some(DecisionEntry {
                    decision_id: cells.next()??,
                    sort_key: cells.next()??,
                    request_id: cells.next()?,
                    task_id: cells.next()?,
                    json: cells.next()??,
                })
            })
            .collect()
    }

    fn run_rows(&self, rows: Vec<Vec<Cell>>) -> Result<Vec<RunRecord>, StoreError> {
        rows.into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .map(|body| RunRecord::from_json(&body))
            .collect()
    }
}

const DECISION_COLUMNS: &str = "decision_id, sort_key, request_id, task_id, body";

#[async_trait]
impl<D: Driver> DecisionRecords for SqlStore<D> {
    async fn append_decisions(&self, entries: &[DecisionEntry]) -> Result<(), StoreError> {
        let dialect = self.driver.dialect();
        for chunk in entries.chunks(DECISION_CHUNK) {
            let tuples: Vec<String> = (0..chunk.len())
                .map(|i| dialect.tuple(i * 5 + 1, 5))
                .collect();
            let sql = match dialect {
                Dialect::Sqlite | Dialect::Postgres => format!(
                    "INSERT INTO decisions ({DECISION_COLUMNS}) VALUES {} ON CONFLICT (decision_id) DO NOTHING",
                    tuples.join(", ")
                ),
                Dialect::Mysql => format!(
                    "INSERT IGNORE INTO decisions ({DECISION_COLUMNS}) VALUES {}",
                    tuples.join(", ")
                ),
            };
            let args: Vec<Arg> = chunk
                .iter()
                .flat_map(|e| {
                    [
                        Arg::Text(e.decision_id.clone()),
                        Arg::Text(e.sort_key.clone()),
                        Arg::OptText(e.request_id.clone()),
                        Arg::OptText(e.task_id.clone()),
                        Arg::Text(e.json.clone()),
                    ]
                })
                .collect();
            self.execute("record decisions", &sql, &args).await?;
        }
        Ok(())
    }

    async fn decisions_for_task(&self, task_id: &str) -> Result<Vec<DecisionEntry>, StoreError> {
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE task_id = {p1} OR request_id IN \
             (SELECT request_id FROM decisions WHERE task_id = {p2} AND request_id IS NOT NULL) \
             ORDER BY sort_key, decision_id",
            p1 = self.p(1),
            p2 = self.p(2),
        );
        let args = [Arg::Text(task_id.to_owned()), Arg::Text(task_id.to_owned())];
        let rows = self.fetch("read decisions", &sql, &args).await?;
        Ok(self.decision_rows(rows))
    }

    async fn all_decisions(&self) -> Result<Vec<DecisionEntry>, StoreError> {
        let sql =
            format!("SELECT {DECISION_COLUMNS} FROM decisions ORDER BY sort_key, decision_id");
        let rows = self.fetch("read decisions", &sql, &[]).await?;
        Ok(self.decision_rows(rows))
    }
}

const RUN_COLUMNS: &str = "run_id, status, version, task_id, body";

/// The values of [`RUN_COLUMNS`] for `run`.
fn run_args(run: &RunRecord) -> Result<[Arg; 5], StoreError> {
    Ok([
        Arg::Text(run.run_id.clone()),
        Arg::Text(run.status.as_str().to_owned()),
        Arg::Int(run.version as i64),
        Arg::OptText(run.task_id.clone()),
        Arg::Text(run.to_json()?),
    ])
}

#[async_trait]
impl<D: Driver> RunRecords for SqlStore<D> {
    async fn insert_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO runs ({RUN_COLUMNS}) VALUES {}",
            self.driver.dialect().tuple(1, 5)
        );
        self.execute("record a run", &sql, &run_args(run)?).await?;
        Ok(())
    }

    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let dialect = self.driver.dialect();
        let sql = match dialect {
            Dialect::Sqlite | Dialect::Postgres => format!(
                "INSERT INTO runs ({RUN_COLUMNS}) VALUES {} ON CONFLICT (run_id) DO UPDATE SET \
                 status = excluded.status, version = excluded.version, \
                 task_id = excluded.task_id, body = excluded.body",
                dialect.tuple(1, 5)
            ),
            Dialect::Mysql => format!(
                "INSERT INTO runs ({RUN_COLUMNS}) VALUES {} ON DUPLICATE KEY UPDATE \
                 status = VALUES(status), version = VALUES(version), \
                 task_id = VALUES(task_id), body = VALUES(body)",
                dialect.tuple(1, 5)
            ),
        };
        self.execute("copy a run", &sql, &run_args(run)?).await?;
        Ok(())
    }

    async fn scan_runs(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let (sql, args) = match after {
            Some(after) => (
                format!(
                    "SELECT body FROM runs WHERE run_id > {} ORDER BY run_id LIMIT {limit}",
                    self.p(1)
                ),
                vec![Arg::Text(after.to_owned())],
            ),
            None => (
                format!("SELECT body FROM runs ORDER BY run_id LIMIT {limit}"),
                Vec::new(),
            ),
        };
        let rows = self.fetch("read runs", &sql, &args).await?;
        self.run_rows(rows)
    }

    async fn runs_for_task(&self, task_id: &str) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT body FROM runs WHERE task_id = {} ORDER BY run_id",
            self.p(1)
        );
        let rows = self
            .fetch("read a task's runs", &sql, &[Arg::Text(task_id.to_owned())])
            .await?;
        self.run_rows(rows)
    }

    async fn load_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!("SELECT body FROM runs WHERE run_id = {}", self.p(1));
        let rows = self
            .fetch("read a run", &sql, &[Arg::Text(run_id.to_owned())])
            .await?;
        Ok(self.run_rows(rows)?.into_iter().next())
    }

    async fn replace_run(&self, run: &RunRecord, expected: u64) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE runs SET status = {}, version = {}, task_id = {}, body = {} \
             WHERE run_id = {} AND version = {}",
            self.p(1),
            self.p(2),
            self.p(3),
            self.p(4),
            self.p(5),
            self.p(6)
        );
        let args = [
            Arg::Text(run.status.as_str().to_owned()),
            Arg::Int(run.version as i64),
            Arg::OptText(run.task_id.clone()),
            Arg::Text(run.to_json()?),
            Arg::Text(run.run_id.clone()),
            Arg::Int(expected as i64),
        ];
        Ok(self.execute("update a run", &sql, &args).await? == 1)
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!("SELECT body FROM runs ORDER BY run_id DESC LIMIT {limit}");
        let rows = self.fetch("list runs", &sql, &[]).await?;
        self.run_rows(rows)
    }

    async fn open_run_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .fetch(
                "list open runs",
                "SELECT run_id FROM runs WHERE status IN ('queued', 'running') ORDER BY run_id",
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect())
    }
}
