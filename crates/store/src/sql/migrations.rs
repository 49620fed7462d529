//! The schema migrations, compiled into the binary from `crates/store/migrations/<backend>/`,
//! and handed to sqlx's `Migrator`, which applies the missing ones under the database's lock
//! (`pg_advisory_lock` on PostgreSQL, `GET_LOCK` on MySQL/MariaDB; SQLite's own write lock), so
//! several replicas may start at once. Every backend applies them at start-up with
//! `run_migrations!`, defined here.
//!
//! To change the schema, add `NNNN_description.sql` for every backend and list it below; never
//! edit a file that has shipped (sqlx checks each applied migration's checksum).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use super::{Dialect, backend_error};
use crate::StoreError;

/// (version, description, SQL) of each migration, per backend.
fn files(dialect: Dialect) -> &'static [(i64, &'static str, &'static str)] {
    match dialect {
        Dialect::Sqlite => &[
            (
                1,
                "tasks",
                include_str!("../../migrations/sqlite/0001_tasks.sql"),
            ),
            (
                3,
                "decisions and runs",
                include_str!("../../migrations/sqlite/0003_decisions_runs.sql"),
            ),
            (
                4,
                "runs by task",
                include_str!("../../migrations/sqlite/0004_runs_task.sql"),
            ),
        ],
        Dialect::Postgres => &[
            (
                1,
                "tasks",
                include_str!("../../migrations/postgres/0001_tasks.sql"),
            ),
            (
                3,
                "decisions and runs",
                include_str!("../../migrations/postgres/0003_decisions_runs.sql"),
            ),
            (
                4,
                "runs by task",
                include_str!("../../migrations/postgres/0004_runs_task.sql"),
            ),
        ],
        Dialect::Mysql => &[
            (
                1,
                "tasks",
                include_str!("../../migrations/mysql/0001_tasks.sql"),
            ),
            (
                3,
                "decisions and runs",
                include_str!("../../migrations/mysql/0003_decisions_runs.sql"),
            ),
            (
                4,
                "runs by task",
                include_str!("../../migrations/mysql/0004_runs_task.sql"),
            ),
        ],
    }
}

/// The embedded migrations of one backend, as a sqlx migration source.
#[derive(Debug, Clone, Copy)]
struct Embedded(Dialect);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(files(self.0)
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The migrator of a backend (locking on, as sqlx's default).
pub(crate) async fn load_migrator(
    dialect: Dialect,
    backend: &'static str,
    shown_url: &str,
) -> Result<Migrator, StoreError> {
    Migrator::new(Embedded(dialect))
        .await
        .map_err(|e| StoreError::Backend {
            backend,
            url: shown_url.to_owned(),
            message: format!("cannot load the embedded migrations: {e}"),
        })
}

/// A failed migration as a store error.
pub(crate) fn migrate_error(
    backend: &'static str,
    shown_url: &str,
    e: sqlx::migrate::MigrateError,
) -> StoreError {
    match e {
        sqlx::migrate::MigrateError::Execute(e) => {
            backend_error(backend, shown_url, "apply the schema migrations", &e)
        }
        e => StoreError::Backend {
            backend,
            url: shown_url.to_owned(),
            message: format!("cannot apply the schema migrations: {e}"),
        },
    }
}

/// Runs a backend's migrations on one connection (under the database's lock), trying once
/// more on failure: a replica that raced another past the lock-free steps then finds the
/// schema in place.
macro_rules! run_migrations {
    ($conn:expr, $dialect:expr, $backend:literal, $shown:expr) => {{
        let migrator = $crate::sql::migrations::load_migrator($dialect, $backend, $shown).await?;
        let mut result = migrator.run(&mut *$conn).await;
        if let Err(e) = &result {
            tracing::warn!(backend = $backend, error = %e, "schema migration failed; trying once more");
            result = migrator.run(&mut *$conn).await;
        }
        result.map_err(|e| $crate::sql::migrations::migrate_error($backend, $shown, e))
    }};
}

pub(crate) use run_migrations;
