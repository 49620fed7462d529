//! The PostgreSQL backend (`postgres://user:password@host:5432/db` or `postgresql://…`): a
//! pool of connections shared by every call; several instances may use one database.
//!
//! Opening connects once, applies the migrations under `pg_advisory_lock`, then builds the
//! pool. Rows are decided with a conditional update on `row_version` (see `sql/mod.rs`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use super::migrations::run_migrations;
use super::{Dialect, SqlStore, backend_error, retry, scrub, scrub_error};
use crate::StoreError;

/// Connections per instance.
const MAX_CONNECTIONS: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL connection pool behind a [`SqlStore`].
pub(crate) struct Postgres {
    pool: PgPool,
    shown: String,
}

super::impl_driver!(Postgres, sqlx::Postgres, "postgres", Dialect::Postgres);

/// Connects to the database at `url`, applies the migrations and returns the store.
pub(crate) async fn open(url: &str) -> Result<SqlStore<Postgres>, StoreError> {
    let shown = taskpilot_config::redact_url(url);
    let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Backend {
        backend: "postgres",
        url: shown.clone(),
        message: scrub(&format!("the URL is not valid: {e}"), url),
    })?;
    let mut conn = retry("postgres", || PgConnection::connect_with(&options))
        .await
        .map_err(|e| scrub_error(backend_error("postgres", &shown, "connect", &e), url))?;
    run_migrations!(&mut conn, Dialect::Postgres, "postgres", &shown)?;
    // Closing the connection also releases the advisory lock if the migrator failed.
    let _ = conn.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    Ok(SqlStore::new(Postgres { pool, shown }))
}
