//! The service guard in a child process of this test binary: with `CI=true` a missing service
//! fails the test; without it the test passes and the skip line reaches the real stderr even
//! though the harness captures the test's output.

use std::process::Command;

const CHILD: &str = "TASKPILOT_TESTKIT_CHILD";

#[test]
fn a_missing_service_fails_under_ci_and_is_reported_on_stderr_otherwise() {
    if std::env::var_os(CHILD).is_some() {
        taskpilot_testkit::service_missing("Redis at 127.0.0.1:6379", "connection refused");
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let name = "a_missing_service_fails_under_ci_and_is_reported_on_stderr_otherwise";
    let run = |ci: Option<&str>| {
        let mut cmd = Command::new(&exe);
        cmd.args([name, "--exact", "--test-threads=1"])
            .env(CHILD, "1")
            .env_remove("CI");
        if let Some(ci) = ci {
            cmd.env("CI", ci);
        }
        cmd.output().expect("run the test binary")
    };
    let line = format!("SKIPPED: {name} needs Redis at 127.0.0.1:6379 (connection refused)");

    let out = run(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("SKIPPED:"))
            .collect::<Vec<_>>(),
        [line.as_str()]
    );

    let out = run(Some("true"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(101), "{stdout}");
    assert!(stdout.contains(&format!("CI=true: {line}")), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("SKIPPED:"));
}
