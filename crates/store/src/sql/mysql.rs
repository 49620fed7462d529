//! The MySQL / MariaDB backend (`mysql://user:password@host:3306/db`; `mariadb://…` is the same): a
//! pool of connections shared by every call; several instances may use one database.
//!
//! Opening connects once, applies the migrations under `GET_LOCK`, then builds the
//! pool. Rows are decided with a conditional update on `row_version` (see `sql/mod.rs`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};

use super::migrations::run_migrations;
use super::{Dialect, SqlStore, backend_error, retry, scrub, scrub_error};
use crate::StoreError;

/// Connections per instance.
const MAX_CONNECTIONS: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a starting instance waits for another one's migrations.
const LOCK_WAIT_SECONDS: u32 = 120;
const MIGRATION_LOCK: &str = "SELECT GET_LOCK(CONCAT('taskpilot_migrate_', DATABASE()), 120)";

/// The MySQL / MariaDB connection pool behind a [`SqlStore`].
pub(crate) struct Mysql {
    pool: MySqlPool,
    shown: String,
}

super::impl_driver!(Mysql, sqlx::MySql, "mysql", Dialect::Mysql);

/// Connects to the database at `url`, applies the migrations and returns the store.
pub(crate) async fn open(url: &str) -> Result<SqlStore<Mysql>, StoreError> {
    let shown = taskpilot_config::redact_url(url);
    // sqlx knows the scheme as mysql:// only; MariaDB speaks the same protocol.
    // (An unparsable URL goes to sqlx as it is, which says what is wrong with it.)
    let url_for_sqlx = match url::Url::parse(url) {
        Ok(mut parsed) if parsed.scheme() == "mariadb" => {
            // Both schemes are non-special, so the change cannot fail.
            let _ = parsed.set_scheme("mysql");
            String::from(parsed)
        }
        _ => url.to_owned(),
    };
    let options =
        MySqlConnectOptions::from_str(&url_for_sqlx).map_err(|e| StoreError::Backend {
            backend: "mysql",
            url: shown.clone(),
            message: scrub(&format!("the URL is not valid: {e}"), url),
        })?;
    let mut conn = retry("mysql", || MySqlConnection::connect_with(&options))
        .await
        .map_err(|e| scrub_error(backend_error("mysql", &shown, "connect", &e), url))?;
    // sqlx's own GET_LOCK(…, -1) does not wait on MariaDB (a negative timeout means "none"
    // there), so the migrations are wrapped in a lock that does, released with the connection.
    let locked: Option<i64> = sqlx::query_scalar(MIGRATION_LOCK)
        .fetch_one(&mut conn)
        .await
        .map_err(|e| backend_error("mysql", &shown, "take the migration lock", &e))?;
    if locked != Some(1) {
        return Err(StoreError::Backend {
            backend: "mysql",
            url: shown,
            message: format!(
                "another instance has held the migration lock for {LOCK_WAIT_SECONDS} s; try again"
            ),
        });
    }
    run_migrations!(&mut conn, Dialect::Mysql, "mysql", &shown)?;
    // Closing the connection also releases the advisory lock if the migrator failed.
    let _ = conn.close().await;
    let pool = MySqlPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    Ok(SqlStore::new(Mysql { pool, shown }))
}
