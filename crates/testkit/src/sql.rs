//! A database of its own for one test, on the machine's PostgreSQL (127.0.0.1:5432) or
//! MariaDB/MySQL (127.0.0.1:3306), dropped when the test ends, even when it fails.
//!
//! Not here: opening a store on it (the test does that with [`TempDb::url`]).

use sqlx::Connection;

use crate::{service_missing, unique_name};

/// The administrator URLs tried for PostgreSQL, in order (trust authentication).
pub const PG_ADMINS: [&str; 2] = [
    "postgres://postgres@127.0.0.1:5432/postgres",
    "postgres://root@127.0.0.1:5432/postgres",
];
/// The administrator URL of MariaDB/MySQL (root, empty password).
pub const MYSQL_ADMIN: &str = "mysql://root@127.0.0.1:3306";

/// Which of the machine's SQL servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL at 127.0.0.1:5432.
    Postgres,
    /// MariaDB or MySQL at 127.0.0.1:3306.
    Mysql,
}

/// A database created for one test and dropped when this guard goes out of scope.
#[derive(Debug)]
pub struct TempDb {
    /// The server the database is on.
    pub server: Server,
    /// The administrator URL the database was created with (its user is a valid login).
    pub admin: String,
    /// The database's name.
    pub name: String,
    /// The URL of the new database, for the store.
    pub url: String,
}

impl TempDb {
    /// A fresh database on `server`; `None` after [`service_missing`] when the server is not
    /// reachable (which fails the test under `CI=true`).
    ///
    /// # Panics
    /// When the server is reachable but refuses to create the database.
    pub async fn create(server: Server) -> Option<TempDb> {
        let name = unique_name("taskpilot_test", '_');
        match server {
            Server::Postgres => {
                let mut last = String::new();
                for admin in PG_ADMINS {
                    match sqlx::PgConnection::connect(admin).await {
                        Ok(mut conn) => {
                            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                                .execute(&mut conn)
                                .await
                                .expect("create the test database");
                            let _ = conn.close().await;
                            let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
                            return Some(TempDb {
                                server,
                                admin: admin.to_owned(),
                                url: format!("{base}/{name}"),
                                name,
                            });
                        }
                        Err(e) => last = e.to_string(),
                    }
                }
                service_missing("PostgreSQL at 127.0.0.1:5432", &last);
                None
            }
            Server::Mysql => match sqlx::MySqlConnection::connect(MYSQL_ADMIN).await {
                Ok(mut conn) => {
                    sqlx::query(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
                        .execute(&mut conn)
                        .await
                        .expect("create the test database");
                    let _ = conn.close().await;
                    Some(TempDb {
                        server,
                        admin: MYSQL_ADMIN.to_owned(),
                        url: format!("{MYSQL_ADMIN}/{name}"),
                        name,
                    })
                }
                Err(e) => {
                    service_missing("MariaDB/MySQL at 127.0.0.1:3306", e);
                    None
                }
            },
        }
    }

    /// A fresh PostgreSQL database (see [`TempDb::create`]).
    pub async fn postgres() -> Option<TempDb> {
        TempDb::create(Server::Postgres).await
    }

    /// A fresh MariaDB/MySQL database (see [`TempDb::create`]).
    pub async fn mysql() -> Option<TempDb> {
        TempDb::create(Server::Mysql).await
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (server, admin, name) = (self.server, self.admin.clone(), self.name.clone());
        // A runtime of its own: the test's runtime may be shutting down.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                match server {
                    Server::Postgres => {
                        let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await
                            .ok()
                            .map(|_| ())
                    }
                    Server::Mysql => {
                        let mut conn = sqlx::MySqlConnection::connect(&admin).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                            .execute(&mut conn)
                            .await
                            .ok()
                            .map(|_| ())
                    }
                }
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop the test database {}", self.name);
        }
    }
}
