//! Shared helpers for the black-box tests: run the real `taskpilot` binary in a temporary base
//! directory with a clean environment.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use assert_cmd::Command;

/// The binary under test.
pub(crate) fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("taskpilot")
}

/// `taskpilot` with only PATH and HOME from the outside, `BASE_DIR` set to `base`, and the Docker
/// logs directory pointed somewhere that does not exist (so the test does not depend on
/// /var/log/taskpilot).
pub(crate) fn taskpilot(base: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("BASE_DIR", base)
        .env("DOCKER_LOGS_DIR", base.join("no-docker-logs"))
        .current_dir(base);
    cmd
}

/// Runs `taskpilot args…` and returns stdout parsed as JSON (asserting success).
pub(crate) fn json(base: &Path, args: &[&str]) -> serde_json::Value {
    let out = taskpilot(base).args(args).output().expect("run taskpilot");
    assert!(
        out.status.success(),
        "taskpilot {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "taskpilot {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Creates a task and returns its id.
pub(crate) fn add(base: &Path, title: &str, priority: &str) -> String {
    let task = json(
        base,
        &[
            "tasks",
            "add",
            "--title",
            title,
            "--priority",
            priority,
            "--json",
        ],
    );
    task["id"].as_str().expect("id").to_owned()
}

/// The 3,689-task fixture (or a generated one of the same shape on a fresh clone).
pub(crate) fn reference_fixture() -> PathBuf {
    taskpilot_store::fixture::reference_fixture()
}

/// Starts `taskpilot serve --port 0` in `base` and returns the child and its address.
// The child is returned to the caller, which waits for it.
#[allow(clippy::zombie_processes)]
pub(crate) fn serve(base: &std::path::Path, envs: &[(&str, &str)]) -> (Child, String, Vec<String>) {
    let mut cmd = std::process::Command::new(binary());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("BASE_DIR", base)
        .env("DOCKER_LOGS_DIR", base.join("no-docker-logs"))
        .env("LLM_PROVIDER", "offline")
        .current_dir(base)
        .args(["serve", "--host", "127.0.0.1", "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn taskpilot serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut reader = BufReader::new(stderr);
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let status = child.wait();
            panic!("taskpilot serve exited early ({status:?}): {seen:?}");
        }
        seen.push(line.trim_end().to_owned());
        if let Some(rest) = line.split("serving on http://").nth(1) {
            let addr = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in reader.lines() {});
            return (child, addr, seen);
        }
    }
}

/// Runs `taskpilot args…` with the offline provider and `envs`, asserts success and returns
/// its standard output.
pub(crate) fn stdout_of(base: &Path, envs: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = taskpilot(base);
    cmd.env("LLM_PROVIDER", "offline").args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run taskpilot");
    assert!(
        out.status.success(),
        "taskpilot {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A plain HTTP request to the S3 test server (moto makes a bucket without a signature): the
/// status code, or 0 when the answer has none.
pub(crate) fn http(endpoint: &str, method: &str, path: &str) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}
