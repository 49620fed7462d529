//! A fresh, empty store on any backend for one test ([`Fresh`]), removed when the test ends
//! even when it fails; [`on_fresh!`] and [`each_backend!`], which write the tests that only
//! open such a store and call the shared suites (`taskpilot_store::conformance`,
//! `taskpilot_store::shared_suite`); and [`OwnServer`], a server process of the test's own on
//! a [`free_port`].
//!
//! A backend whose service is missing gives `None` after `taskpilot_testkit::service_missing`,
//! which fails the test under `CI=true` and otherwise reports the skip.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskpilot_store::s3::S3Store;
use taskpilot_store::{TaskStore, conformance};
use taskpilot_testkit::redis::TempPrefix;
use taskpilot_testkit::s3::{self, TempBucket};
use taskpilot_testkit::sql::{Server, TempDb};
use tempfile::TempDir;

/// The secret key the S3 tests use (the test server does not check it); errors must never
/// show it.
pub(crate) const S3_SECRET: &str = "test-secret-key-not-to-be-printed";

/// A backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The JSON file store, `.tasks.json` in a temporary directory.
    File,
    /// SQLite, `tasks.db` in a temporary directory.
    Sqlite,
    /// A database of its own on the machine's PostgreSQL.
    Postgres,
    /// A database of its own on the machine's MariaDB/MySQL.
    Mysql,
    /// A key prefix of its own on the machine's Redis.
    Redis,
    /// A bucket of its own on the S3 test server (`scripts/s3-server start`).
    S3,
}

/// What keeps a fresh store's place alive; dropping it removes the place.
enum Place {
    Dir(TempDir),
    Db(TempDb),
    Prefix(TempPrefix),
    Bucket(TempBucket),
}

/// An empty place for a store on one backend, removed when dropped.
pub(crate) struct Fresh {
    /// Where the store is: its URL, or for the file store the path of `.tasks.json`.
    pub(crate) location: String,
    place: Place,
}

impl Fresh {
    /// A fresh place on `backend`; `None` when the backend's service is missing.
    pub(crate) async fn new(backend: Backend) -> Option<Fresh> {
        let in_dir = |name: &str, scheme: &str| {
            let dir = tempfile::tempdir().expect("create a temporary directory");
            let location = format!("{scheme}{}", dir.path().join(name).display());
            Fresh {
                location,
                place: Place::Dir(dir),
            }
        };
        let in_db = |db: TempDb| Fresh {
            location: db.url.clone(),
            place: Place::Db(db),
        };
        Some(match backend {
            Backend::File => in_dir(".tasks.json", ""),
            Backend::Sqlite => in_dir("tasks.db", "sqlite://"),
            Backend::Postgres => in_db(TempDb::create(Server::Postgres).await?),
            Backend::Mysql => in_db(TempDb::create(Server::Mysql).await?),
            Backend::Redis => {
                let prefix = TempPrefix::new()?;
                Fresh {
                    location: prefix.url.clone(),
                    place: Place::Prefix(prefix),
                }
            }
            Backend::S3 => {
                let bucket = TempBucket::new().await?;
                Fresh {
                    location: bucket.url("team/a"),
                    place: Place::Bucket(bucket),
                }
            }
        })
    }

    /// A new handle on the store (every call another connection, pool or client).
    pub(crate) async fn open(&self) -> Arc<dyn TaskStore> {
        let location = &self.location;
        match &self.place {
            Place::Dir(_) if !location.contains("://") => {
                Arc::new(super::open_store(Path::new(location)).await)
            }
            Place::Bucket(bucket) => {
                let options = s3::options(&bucket.endpoint, "test", S3_SECRET);
                Arc::new(
                    S3Store::open_with(location, &options)
                        .await
                        .unwrap_or_else(|e| panic!("open {location}: {e}")),
                )
            }
            _ => conformance::open(location).await,
        }
    }

    /// The Redis key prefix the store lives under (`None` on the other backends).
    pub(crate) fn redis(&self) -> Option<&TempPrefix> {
        match &self.place {
            Place::Prefix(prefix) => Some(prefix),
            _ => None,
        }
    }

    /// Three new handles on the store.
    pub(crate) async fn three(&self) -> [Arc<dyn TaskStore>; 3] {
        [self.open().await, self.open().await, self.open().await]
    }
}

/// Tests that open a fresh store on one backend and run what the block says, one per entry:
/// `test_name: Backend => |fresh| { … }` (`fresh` a [`Fresh`]). The test returns at once when
/// the backend's service is missing (failing under `CI=true`).
macro_rules! on_fresh {
    ($($name:ident: $backend:ident => |$fresh:ident| $body:block)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let backend = crate::common::Backend::$backend;
            let Some($fresh) = crate::common::Fresh::new(backend).await else {
                return;
            };
            $body
        }
    )*};
}
pub(crate) use on_fresh;

/// Tests that each run `suite` (an async function of one handle, such as
/// `conformance::run_all`) on a fresh store of one backend, one per entry:
/// `each_backend!(suite; test_name: Backend, …)`.
macro_rules! each_backend {
    ($suite:path; $($name:ident: $backend:ident),* $(,)?) => {
        crate::common::on_fresh! {
            $($name: $backend => |fresh| { $suite(fresh.open().await).await; })*
        }
    };
}
pub(crate) use each_backend;

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a free loopback port")
        .port()
}

/// A server process of the test's own, killed when dropped.
pub(crate) struct OwnServer(Child);

impl OwnServer {
    /// Starts `command` (its output discarded) and waits up to `limit` for `port` on
    /// 127.0.0.1 to accept connections; `None` when the program cannot be started.
    pub(crate) fn start(command: &mut Command, port: u16, limit: Duration) -> Option<OwnServer> {
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        let server = match child {
            Ok(child) => OwnServer(child),
            Err(e) => {
                taskpilot_testkit::service_missing(&program, e);
                return None;
            }
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < limit,
                "{program} did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
