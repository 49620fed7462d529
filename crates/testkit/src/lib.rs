//! Test support shared by every TaskPilot crate (a dev-dependency only, never published).
//!
//! [`service_missing`] is the one guard for tests that need something the machine may lack
//! (PostgreSQL, MariaDB, Redis, an S3 server, promtool, chromium, root, the reference fixture):
//! under `CI=true` it fails the test; otherwise it writes `SKIPPED: <test> needs <service>` on
//! the process's real standard error, which the test harness does not capture, so the skip is
//! seen even when the test "passes". `scripts/test` counts those lines as skipped, not passed.
//!
//! Beside it, the helpers more than one test file needs:
//!
//! - [`unique_name`], [`files_in`] and [`strings`];
//! - `sql` (feature `sql`): a PostgreSQL or MariaDB database of a test's own;
//! - `s3` (feature `s3`): a bucket of a test's own on the test S3 server;
//! - `redis` (feature `redis`): a key prefix of a test's own on the machine's Redis.
//!
//! Not here: starting services (`scripts/test`, `scripts/s3-server`), opening stores on them
//! (each backend's test file does that).

use std::io::Write;

mod dir;
mod json;
mod names;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "sql")]
pub mod sql;

pub use dir::files_in;
pub use json::strings;
pub use names::unique_name;

/// The marker `scripts/test` counts; keep the two in step.
pub const SKIP_MARKER: &str = "SKIPPED:";

/// True when the tests run in CI (`CI=true`), where nothing may be skipped.
pub fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The name of the running test: libtest names each test's thread after it.
pub fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => "a test".to_owned(),
    }
}

/// Call when `service` is not available, then return from the test.
///
/// # Panics
/// Under `CI=true`, with a message naming the service and `why`.
pub fn service_missing(service: &str, why: impl std::fmt::Display) {
    let line = skip_line(&current_test(), service, &why.to_string());
    assert!(!ci(), "CI=true: {line}");
    // Straight to the file descriptor: `eprintln!` would be captured by the test harness and
    // shown only when the test fails.
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
    let _ = stderr.flush();
}

/// `SKIPPED: <test> needs <service> (<why>)` on one line.
pub fn skip_line(test: &str, service: &str, why: &str) -> String {
    let why = why.replace(['\n', '\r'], " ");
    format!("{SKIP_MARKER} {test} needs {service} ({why})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skip_line_names_the_test_and_the_service_on_one_line() {
        assert_eq!(
            skip_line(
                "backend::redis",
                "Redis at 127.0.0.1:6379",
                "refused\nagain"
            ),
            "SKIPPED: backend::redis needs Redis at 127.0.0.1:6379 (refused again)"
        );
    }

    #[test]
    fn the_current_test_is_named_after_its_thread() {
        let name = std::thread::Builder::new()
            .name("suite::case".into())
            .spawn(current_test)
            .expect("spawn")
            .join()
            .expect("join");
        assert_eq!(name, "suite::case");
    }
}
