//! The SQL backends (SQLite, PostgreSQL, MySQL/MariaDB) on `sqlx`: what they share.
//!
//! Each backend module (`sqlite.rs`, `postgres.rs`, `mysql.rs`) only knows how to connect, run
//! its migrations and execute a statement with plain arguments ([`Driver`]); everything a task
//! store does (ids, transitions, upserts, pruning, checks) is written once here, in
//! [`SqlStore`], with the few dialect differences in [`Dialect`].
//!
//! Rules every backend follows (docs/STORAGE.md "SQL backends"):
//! - one `tasks` table, one column per seed field (timestamps as text in the file's own form),
//!   unknown fields as a JSON object in `extra`, and `row_version` for optimistic concurrency;
//! - ids are the primary key, so an insert of a taken id fails; a conditional write is an
//!   `UPDATE … WHERE row_version = ?` (what is built on these is `occ.rs`);
//! - transient failures (connection refused/reset, deadlock, serialization failure, busy
//!   database, pool timeout) are retried with bounded exponential backoff.
//!
//! Not here: connection strings and pool sizes (the backend modules), the trait itself
//! (`task_store.rs`), the schema and its migrations (`migrations.rs`).

mod audit;
mod migrations;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use taskpilot_core::{NewTask, Status, Task, TaskId, Timestamp, Transition};

use crate::occ::{self, Cas, Primitives};
use crate::{CheckReport, ListQuery, Stats, StoreError, TaskStore};

/// The columns of `tasks`, in the order every query selects them.
const COLUMNS: [&str; 12] = [
    "id",
    "title",
    "priority",
    "description",
    "status",
    "created_at",
    "reviewed_at",
    "executed_at",
    "reviewer_response",
    "error",
    "extra",
    "row_version",
];
/// The seed fields stored in their own columns (the rest of a task goes to `extra`).
const FIELDS: &[&str] = COLUMNS.split_at(10).0;
/// Tasks written per statement by `put_many` (12 arguments each, well under every limit).
const PUT_CHUNK: usize = 200;
/// Attempts for one statement that fails transiently.
const RETRY_ATTEMPTS: u32 = 6;
const RETRY_FIRST_DELAY: Duration = Duration::from_millis(50);
const RETRY_MAX_DELAY: Duration = Duration::from_secs(2);

/// A statement argument.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

/// One selected cell: text, an integer shown as text, or NULL.
pub(crate) type Cell = Option<String>;

/// The SQL differences between the backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl Dialect {
    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite | Dialect::Mysql => "?".to_owned(),
        }
    }

    /// `(p1, p2, …)` for `count` arguments starting at number `first`.
    fn tuple(self, first: usize, count: usize) -> String {
        let items: Vec<String> = (first..first + count)
            .map(|n| self.placeholder(n))
            .collect();
        format!("({})", items.join(", "))
    }

    /// The tail of a multi-row insert that turns it into an upsert on `id`.
    fn upsert_tail(self) -> String {
        let updated = &COLUMNS[1..11];
        match self {
            Dialect::Sqlite | Dialect::Postgres => {
                let sets: Vec<String> = updated
                    .iter()
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect();
                format!(
                    " ON CONFLICT (id) DO UPDATE SET {}, row_version = tasks.row_version + 1",
                    sets.join(", ")
                )
            }
            Dialect::Mysql => {
                let sets: Vec<String> = updated
                    .iter()
                    .map(|c| format!("{c} = VALUES({c})"))
                    .collect();
                format!(
                    " ON DUPLICATE KEY UPDATE {}, row_version = row_version + 1",
                    sets.join(", ")
                )
            }
        }
    }
}

/// What a backend provides: statements with plain arguments, on its pool, and its identity.
#[async_trait]
pub(crate) trait Driver: Send + Sync + 'static {
    /// `sqlite`, `postgres` or `mysql` (used in errors).
    fn backend(&self) -> &'static str;
    /// The URL with its password hidden.
    fn shown_url(&self) -> &str;
    fn dialect(&self) -> Dialect;
    /// Runs a query and returns every row, each column as text (integers converted).
    async fn fetch(&self, sql: &str, args: &[Arg]) -> Result<Vec<Vec<Cell>>, sqlx::Error>;
    /// Runs a statement and returns the number of rows it affected.
    async fn execute(&self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error>;
    /// The newest applied migration version, for `check`.
    async fn schema_version(&self) -> Result<Option<i64>, sqlx::Error> {
        let rows = self
            .fetch(
                "SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE",
                &[],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| v.parse().ok()))
    }
}

/// A task store on a SQL database; `D` is the backend.
pub(crate) struct SqlStore<D: Driver> {
    driver: D,
}

impl<D: Driver> SqlStore<D> {
    pub(crate) fn new(driver: D) -> Self {
        SqlStore { driver }
    }

    fn err(&self, action: &str, e: sqlx::Error) -> StoreError {
        backend_error(self.driver.backend(), self.driver.shown_url(), action, &e)
    }

    async fn fetch(
        &self,
        action: &str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        retry(self.driver.backend(), || self.driver.fetch(sql, args))
            .await
            .map_err(|e| self.err(action, e))
    }

    async fn execute(&self, action: &str, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        retry(self.driver.backend(), || self.driver.execute(sql, args))
            .await
            .map_err(|e| self.err(action, e))
    }

    fn p(&self, n: usize) -> String {
        self.driver.dialect().placeholder(n)
    }

    fn select(&self) -> String {
        format!("SELECT {} FROM tasks", COLUMNS.join(", "))
    }

    /// Rows → tasks; a row that is not a valid task is an error naming it.
    fn tasks(&self, rows: Vec<Vec<Cell>>) -> Result<Vec<Task>, StoreError> {
        rows.into_iter()
            .map(|row| {
                row_to_task(&row).map(|(task, _)| task).map_err(|problem| StoreError::Corrupt {
                    message: format!(
                        "{} store at {}: {problem}; `taskpilot store check` lists every bad row",
                        self.driver.backend(),
                        self.driver.shown_url()
                    ),
                })
            })
            .collect()
    }

    /// The task and its row version.
    async fn load(&self, id: &TaskId) -> Result<(Task, i64), StoreError> {
        let sql = format!("{} WHERE id = {}", self.select(), self.p(1));
        let rows = self
            .fetch("read a task", &sql, &[Arg::Text(id.to_string())])
            .await?;
        let Some(row) = rows.first() else {
            return Err(StoreError::NotFound { id: id.clone() });
        };
        row_to_task(row).map_err(|problem| StoreError::Corrupt {
            message: format!(
                "{} store at {}: {problem}",
                self.driver.backend(),
                self.driver.shown_url()
            ),
        })
    }

    async fn insert(&self, task: &Task) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO tasks ({}) VALUES {}",
            COLUMNS[..11].join(", "),
            self.driver.dialect().tuple(1, 11)
        );
        let args = task_args(task);
        retry(self.driver.backend(), || self.driver.execute(&sql, &args))
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl<D: Driver> Primitives for SqlStore<D> {
    type Version = i64;

    fn backend(&self) -> &'static str {
        self.driver.backend()
    }

    fn shown(&self) -> String {
        self.driver.shown_url().to_owned()
    }

    async fn insert_new(&self, task: &Task) -> Result<bool, StoreError> {
        match self.insert(task).await {
            Ok(()) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(self.err("insert a task", e)),
        }
    }

    async fn read_versioned(&self, id: &TaskId) -> Result<Option<(Task, i64)>, StoreError> {
        match self.load(id).await {
            Ok(found) => Ok(Some(found)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write_if(&self, task: &Task, _read: &Task, version: &i64) -> Result<Cas, StoreError> {
        let sets: Vec<String> = COLUMNS[1..11]
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = {}", self.p(i + 1)))
            .collect();
        let sql = format!(
            "UPDATE tasks SET {}, row_version = row_version + 1 WHERE id = {} AND row_version = {}",
            sets.join(", "),
            self.p(11),
            self.p(12)
        );
        let mut args = task_args(task);
        let id_arg = args.remove(0);
        args.push(id_arg);
        args.push(Arg::Int(*version));
        // A changed or deleted row both read as "lost": the next read tells them apart.
        Ok(match self.execute("update a task", &sql, &args).await? {
            1 => Cas::Written,
            _ => Cas::Lost,
        })
    }

    async fn read_many(&self, ids: &[TaskId]) -> Result<HashMap<TaskId, Task>, StoreError> {
        let sql = format!(
            "{} WHERE id IN {}",
            self.select(),
            self.driver.dialect().tuple(1, ids.len())
        );
        let args: Vec<Arg> = ids.iter().map(|id| Arg::Text(id.to_string())).collect();
        Ok(self
            .fetch("read tasks", &sql, &args)
            .await?
            .iter()
            .filter_map(|row| row_to_task(row).ok())
            .map(|(task, _)| (task.id.clone(), task))
            .collect())
    }

    async fn write_many(&self, tasks: &[&Task]) -> Result<(), StoreError> {
        let dialect = self.driver.dialect();
        let tuples: Vec<String> = (0..tasks.len())
            .map(|i| dialect.tuple(i * 11 + 1, 11))
            .collect();
        let sql = format!(
            "INSERT INTO tasks ({}) VALUES {}{}",
            COLUMNS[..11].join(", "),
            tuples.join(", "),
            dialect.upsert_tail()
        );
        let args: Vec<Arg> = tasks.iter().flat_map(|t| task_args(t)).collect();
        self.execute("write tasks", &sql, &args).await?;
        Ok(())
    }

    fn chunk(&self) -> usize {
        PUT_CHUNK
    }
}

#[async_trait]
impl<D: Driver> TaskStore for SqlStore<D> {
    fn describe(&self) -> String {
        self.driver.shown_url().to_owned()
    }

    fn decision_records(&self) -> Option<&dyn crate::shared::DecisionRecords> {
        Some(self)
    }

    fn run_records(&self) -> Option<&dyn crate::shared::RunRecords> {
        Some(self)
    }

    async fn create(&self, new: NewTask) -> Result<Task, StoreError> {
        occ::create(self, new).await
    }

    async fn get(&self, id: &TaskId) -> Result<Task, StoreError> {
        Ok(self.load(id).await?.0)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Task>, StoreError> {
        let mut sql = self.select();
        let mut args = Vec::new();
        if let Some(status) = query.status {
            sql.push_str(&format!(" WHERE status = {}", self.p(1)));
            args.push(Arg::Text(status.as_str().to_owned()));
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(limit) = query.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let rows = self.fetch("list tasks", &sql, &args).await?;
        self.tasks(rows)
    }

    async fn scan(&self, after: Option<&TaskId>, limit: usize) -> Result<Vec<Task>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut sql = self.select();
        let mut args = Vec::new();
        if let Some(after) = after {
            sql.push_str(&format!(" WHERE id > {}", self.p(1)));
            args.push(Arg::Text(after.to_string()));
        }
        sql.push_str(&format!(" ORDER BY id ASC LIMIT {limit}"));
        let rows = self.fetch("scan tasks", &sql, &args).await?;
        self.tasks(rows)
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let rows = self
            .fetch(
                "count tasks",
                "SELECT status, COUNT(*) FROM tasks GROUP BY status",
                &[],
            )
            .await?;
        let mut stats = Stats::count([]);
        for row in rows {
            let (Some(Some(status)), Some(Some(count))) = (row.first(), row.get(1)) else {
                continue;
            };
            let count: usize = count.parse().unwrap_or(0);
            if let Ok(status) = status.parse::<Status>() {
                *stats.0.entry(status.as_str()).or_default() += count;
            } else {
                tracing::warn!(
                    status = status.as_str(),
                    count,
                    "rows with an unknown status are not counted; run `taskpilot store check`"
                );
            }
        }
        Ok(stats)
    }

    async fn transition(&self, id: &TaskId, transition: &Transition) -> Result<Task, StoreError> {
        occ::transition(self, id, transition).await
    }

    async fn delete(&self, id: &TaskId) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM tasks WHERE id = {}", self.p(1));
        match self
            .execute("delete a task", &sql, &[Arg::Text(id.to_string())])
            .await?
        {
            0 => Err(StoreError::NotFound { id: id.clone() }),
            _ => Ok(()),
        }
    }

    async fn delete_status(&self, status: Status) -> Result<usize, StoreError> {
        let sql = format!("DELETE FROM tasks WHERE status = {}", self.p(1));
        let n = self
            .execute(
                "delete tasks",
                &sql,
                &[Arg::Text(status.as_str().to_owned())],
            )
            .await?;
        Ok(n as usize)
    }

    async fn prune(&self, keep: usize) -> Result<usize, StoreError> {
        if keep == 0 {
            return self.clear().await;
        }
        let sql = format!(
            "SELECT id FROM tasks ORDER BY id DESC LIMIT 1 OFFSET {}",
            keep - 1
        );
        let rows = self
            .fetch("find the oldest task to keep", &sql, &[])
            .await?;
        let Some(Some(cutoff)) = rows.into_iter().next().and_then(|r| r.into_iter().next()) else {
            return Ok(0);
        };
        let sql = format!("DELETE FROM tasks WHERE id < {}", self.p(1));
        Ok(self
            .execute("prune tasks", &sql, &[Arg::Text(cutoff)])
            .await? as usize)
    }

    async fn clear(&self) -> Result<usize, StoreError> {
        Ok(self
            .execute("delete every task", "DELETE FROM tasks", &[])
            .await? as usize)
    }

    async fn put_many(&self, tasks: Vec<Task>) -> Result<usize, StoreError> {
        occ::put_many(self, tasks).await
    }

    async fn check(&self) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport::default();
        report
            .notes
            .push(format!("backend: {}", self.driver.backend()));
        match retry(self.driver.backend(), || self.driver.schema_version()).await {
            Ok(Some(v)) => report.notes.push(format!("schema version: {v}")),
            Ok(None) => report
                .problems
                .push("no schema migration is recorded as applied".into()),
            Err(e) => report
                .problems
                .push(format!("cannot read the migration table: {e}")),
        }
        let mut after: Option<String> = None;
        loop {
            let mut sql = self.select();
            let mut args = Vec::new();
            if let Some(after) = &after {
                sql.push_str(&format!(" WHERE id > {}", self.p(1)));
                args.push(Arg::Text(after.clone()));
            }
            sql.push_str(" ORDER BY id ASC LIMIT 1000");
            let rows = self.fetch("read tasks", &sql, &args).await?;
            let Some(last) = rows.last() else { break };
            after = last.first().cloned().flatten();
            for row in &rows {
                report.tasks += 1;
                match row_to_task(row) {
                    Ok((task, _)) => {
                        if let Err(e) = task.validate() {
                            report.problems.push(format!("task {}: {e}", task.id));
                        }
                    }
                    Err(problem) => report.problems.push(problem),
                }
            }
            if after.is_none() {
                break;
            }
        }
        Ok(report)
    }
}

/// The eleven stored columns of a task (without `row_version`), in [`COLUMNS`] order.
fn task_args(task: &Task) -> Vec<Arg> {
    let text =
        |t: &Option<Timestamp>| Arg::OptText(t.as_ref().map(std::string::ToString::to_string));
    let extra = if task.extra.is_empty() {
        None
    } else {
        Some(Value::Object(task.extra.clone()).to_string())
    };
    vec![
        Arg::Text(task.id.to_string()),
        Arg::Text(task.title.clone()),
        Arg::Text(task.priority.as_str().to_owned()),
        Arg::Text(task.description.clone()),
        Arg::Text(task.status.as_str().to_owned()),
        Arg::Text(task.created_at.to_string()),
        text(&task.reviewed_at),
        text(&task.executed_at),
        Arg::OptText(task.reviewer_response.clone()),
        Arg::OptText(task.error.clone()),
        Arg::OptText(extra),
    ]
}

/// A selected row → the task and its row version, or a problem naming the row.
fn row_to_task(row: &[Cell]) -> Result<(Task, i64), String> {
    let id = row.first().cloned().flatten().unwrap_or_default();
    if row.len() != COLUMNS.len() {
        return Err(format!(
            "row {id}: {} columns instead of {}",
            row.len(),
            COLUMNS.len()
        ));
    }
    let mut object = match &row[10] {
        Some(extra) => match serde_json::from_str::<Value>(extra) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(format!("row {id}: column extra is not a JSON object")),
            Err(e) => return Err(format!("row {id}: column extra is not JSON: {e}")),
        },
        None => Map::new(),
    };
    for (name, cell) in FIELDS.iter().zip(row) {
        object.insert(
            (*name).to_owned(),
            cell.clone().map_or(Value::Null, Value::String),
        );
    }
    let task: Task = serde_json::from_value(Value::Object(object))
        .map_err(|e| format!("row {id} is not a valid task: {e}"))?;
    let version = row[11]
        .as_deref()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("row {id}: row_version is not a number"))?;
    Ok((task, version))
}

/// Whether an error is worth another attempt: the connection or the database's scheduling
/// failed, not the request.
pub(crate) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            // PostgreSQL / MySQL SQLSTATEs: serialization failure, deadlock, server starting,
            // too many connections, connection failures.
            if matches!(
                code,
                "40001" | "40P01" | "57P03" | "53300" | "08000" | "08001" | "08004" | "08006"
            ) {
                return true;
            }
            // MySQL lock wait timeout / deadlock by message (SQLSTATE HY000 / 40001).
            let message = db.message();
            if message.contains("Lock wait timeout") || message.contains("Deadlock found") {
                return true;
            }
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
            // (SQLSTATEs have five characters; SQLite's numeric codes at most four digits.)
            code.len() <= 4 && code.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
        }
        _ => false,
    }
}

/// Runs `op` again on transient errors, waiting 50 ms, 100 ms, … (at most 2 s) in between.
pub(crate) async fn retry<T, F, Fut>(backend: &str, mut op: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut delay = RETRY_FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < RETRY_ATTEMPTS && is_transient(&e) => {
                tracing::warn!(backend, attempt, error = %e, "transient database error; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_MAX_DELAY);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A database failure as a [`StoreError::Backend`], with a hint for the usual causes and any
/// password removed from the message.
pub(crate) fn backend_error(
    backend: &'static str,
    shown_url: &str,
    action: &str,
    e: &sqlx::Error,
) -> StoreError {
    let mut message = format!("cannot {action}: {e}");
    let hint = match e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Some("nothing accepts connections at that host and port; is the server running?")
        }
        sqlx::Error::Io(_) => Some("the server cannot be reached; check the host and port"),
        sqlx::Error::PoolTimedOut => {
            Some("no connection became free in time; the server may be overloaded or unreachable")
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01" | "28000") => Some("check the user name and password in the URL"),
            Some("3D000") => {
                Some("create the database first (CREATE DATABASE …) or fix its name in the URL")
            }
            _ if db.message().contains("Access denied for user")
                && db.message().contains("database") =>
            {
                Some("the user may not use that database; check the database name and grants")
            }
            _ if db.message().contains("Access denied") => {
                Some("check the user name and password in the URL")
            }
            _ if db.message().contains("Unknown database") => {
                Some("create the database first (CREATE DATABASE …) or fix its name in the URL")
            }
            _ => None,
        },
        _ => None,
    };
    if let Some(hint) = hint {
        message.push_str(&format!(" ({hint})"));
    }
    StoreError::Backend {
        backend,
        url: shown_url.to_owned(),
        message,
    }
}

pub(crate) use crate::location::scrub;

/// [`scrub`] applied to the message of a store error.
pub(crate) fn scrub_error(e: StoreError, url: &str) -> StoreError {
    match e {
        StoreError::Backend {
            backend,
            url: shown,
            message,
        } => StoreError::Backend {
            backend,
            url: shown,
            message: scrub(&message, url),
        },
        other => other,
    }
}

/// Binds one [`Arg`] to a query of any sqlx database that knows text and integers.
macro_rules! bind_arg {
    ($query:expr, $arg:expr) => {
        match $arg {
            $crate::sql::Arg::Text(s) => $query.bind(s.as_str()),
            $crate::sql::Arg::OptText(s) => $query.bind(s.as_deref()),
            $crate::sql::Arg::Int(i) => $query.bind(*i),
        }
    };
}

/// The [`Driver`] of a backend whose struct has `pool`, `shown` fields; `$db` is the sqlx
/// database type.
macro_rules! impl_driver {
    ($driver:ty, $db:ty, $backend:literal, $dialect:expr) => {
        #[async_trait::async_trait]
        impl $crate::sql::Driver for $driver {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn shown_url(&self) -> &str {
                &self.shown
            }

            fn dialect(&self) -> $crate::sql::Dialect {
                $dialect
            }

            async fn fetch(
                &self,
                sql: &str,
                args: &[$crate::sql::Arg],
            ) -> Result<Vec<Vec<$crate::sql::Cell>>, sqlx::Error> {
                use sqlx::Row as _;
                let mut query = sqlx::query::<$db>(sql);
                for arg in args {
                    query = $crate::sql::bind_arg!(query, arg);
                }
                let rows = query.fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| {
                                if let Ok(text) = row.try_get::<Option<String>, _>(i) {
                                    return Ok(text);
                                }
                                if let Ok(number) = row.try_get::<Option<i64>, _>(i) {
                                    return Ok(number.map(|n| n.to_string()));
                                }
                                // Binary-collated text (MySQL reports it as VARBINARY).
                                let bytes = row.try_get::<Option<Vec<u8>>, _>(i)?;
                                bytes
                                    .map(String::from_utf8)
                                    .transpose()
                                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))
                            })
                            .collect()
                    })
                    .collect()
            }

            async fn execute(
                &self,
                sql: &str,
                args: &[$crate::sql::Arg],
            ) -> Result<u64, sqlx::Error> {
                let mut query = sqlx::query::<$db>(sql);
                for arg in args {
                    query = $crate::sql::bind_arg!(query, arg);
                }
                Ok(query.execute(&self.pool).await?.rows_affected())
            }
        }
    };
}

use bind_arg;
use impl_driver;
