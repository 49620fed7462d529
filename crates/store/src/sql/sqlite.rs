//! The SQLite backend (`sqlite:///abs/path/tasks.db`): one file, one instance (several
//! processes on one machine are safe but take turns writing).
//!
//! The file is created if missing, in WAL mode with `synchronous=FULL` (every acknowledged
//! write is on disk) and a busy timeout, so concurrent writers wait instead of failing.

use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use super::migrations::run_migrations;
use super::{Dialect, SqlStore, backend_error, retry};
use crate::StoreError;

/// Connections per instance (readers run in parallel under WAL; writers take turns).
const MAX_CONNECTIONS: u32 = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The SQLite connection pool behind a [`SqlStore`].
pub(crate) struct Sqlite {
    pool: SqlitePool,
    shown: String,
}

super::impl_driver!(Sqlite, sqlx::Sqlite, "sqlite", Dialect::Sqlite);

/// Opens (creating if needed) the database file named by `url`, applies the migrations and
/// returns the store.
pub(crate) async fn open(url: &str) -> Result<SqlStore<Sqlite>, StoreError> {
    let shown = url.to_owned();
    let path = crate::location::parse(url, "sqlite:///abs/path/tasks.db")?
        .to_file_path()
        .ok()
        .filter(|p| p.is_absolute());
    let Some(path) = path else {
        return Err(StoreError::Unsupported {
            url: shown,
            reason: "a SQLite URL needs an absolute path: sqlite:///abs/path/tasks.db".into(),
        });
    };
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| StoreError::io("create the directory of", parent, e))?;
    }
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let mut conn = retry("sqlite", || SqliteConnection::connect_with(&options))
        .await
        .map_err(|e| backend_error("sqlite", &shown, "open the database", &e))?;
    run_migrations!(&mut conn, Dialect::Sqlite, "sqlite", &shown)?;
    let _ = conn.close().await;
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    Ok(SqlStore::new(Sqlite { pool, shown }))
}
