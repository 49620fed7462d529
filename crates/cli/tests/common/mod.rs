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

/// `taskpilot` as a plain process (to spawn) with only PATH and HOME from the outside,
/// `BASE_DIR` set to `base`, and the Docker logs directory pointed somewhere that does not
/// exist (so the test does not depend on /var/log/taskpilot).
pub(crate) fn process(base: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(binary());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("BASE_DIR", base)
        .env("DOCKER_LOGS_DIR", base.join("no-docker-logs"))
        .current_dir(base);
    cmd
}

/// [`process`] as an `assert_cmd` command (standard input, timeouts).
pub(crate) fn taskpilot(base: &Path) -> Command {
    Command::from_std(process(base))
}

/// What one run of `taskpilot` did: exit code, standard output and error (UTF-8, as the
/// output predicates of `assert_cmd` required).
pub(crate) struct Ran {
    /// `taskpilot [args]`, for the messages.
    pub(crate) what: String,
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `taskpilot args…` in `base` and returns what it did, whatever the exit code.
pub(crate) fn run(base: &Path, args: &[&str]) -> Ran {
    run_cmd(&mut taskpilot(base), args)
}

/// Runs a prepared command (environment, standard input, timeout) with `args`.
pub(crate) fn run_cmd(cmd: &mut Command, args: &[&str]) -> Ran {
    let out = cmd.args(args).output().expect("run taskpilot");
    let what = format!("taskpilot {args:?}");
    let text = |bytes: Vec<u8>, name: &str| {
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: {name} is not UTF-8: {e}"))
    };
    Ran {
        code: out.status.code(),
        stdout: text(out.stdout, "stdout"),
        stderr: text(out.stderr, "stderr"),
        what,
    }
}

impl Ran {
    /// Asserts the exit code.
    pub(crate) fn code(self, code: i32) -> Ran {
        let what = &self.what;
        assert_eq!(
            self.code,
            Some(code),
            "{what}: {}\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts exit code 0.
    pub(crate) fn success(self) -> Ran {
        self.code(0)
    }

    /// Asserts anything but exit code 0.
    pub(crate) fn failure(self) -> Ran {
        assert_ne!(
            self.code,
            Some(0),
            "{} succeeded: {}",
            self.what,
            self.stdout
        );
        self
    }

    /// Asserts that standard output holds `part`.
    pub(crate) fn stdout_has(self, part: &str) -> Ran {
        self.holds("stdout", part, true)
    }

    /// Asserts that standard output does not hold `part`.
    pub(crate) fn stdout_lacks(self, part: &str) -> Ran {
        self.holds("stdout", part, false)
    }

    /// Asserts that standard error holds `part`.
    pub(crate) fn stderr_has(self, part: &str) -> Ran {
        self.holds("stderr", part, true)
    }

    /// Asserts that standard error does not hold `part`.
    pub(crate) fn stderr_lacks(self, part: &str) -> Ran {
        self.holds("stderr", part, false)
    }

    fn holds(self, stream: &str, part: &str, wanted: bool) -> Ran {
        let text = if stream == "stdout" {
            &self.stdout
        } else {
            &self.stderr
        };
        let verb = if wanted { "lacks" } else { "holds" };
        assert_eq!(
            text.contains(part),
            wanted,
            "{}: {stream} {verb} {part:?}:\n{text}",
            self.what
        );
        self
    }

    /// Standard output parsed as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{} printed no JSON ({e}): {}", self.what, self.stdout))
    }
}

/// Runs `taskpilot args…` and returns stdout parsed as JSON (asserting success).
pub(crate) fn json(base: &Path, args: &[&str]) -> serde_json::Value {
    run(base, args).success().json()
}

/// `taskpilot run --json request`: the run's result (asserting success).
pub(crate) fn run_request(base: &Path, request: &str) -> serde_json::Value {
    json(base, &["run", "--json", request])
}

/// The arguments of `taskpilot tasks add` with this title and priority.
pub(crate) fn add_args<'a>(title: &'a str, priority: &'a str) -> [&'a str; 6] {
    ["tasks", "add", "--title", title, "--priority", priority]
}

/// Creates a task and returns its id.
pub(crate) fn add(base: &Path, title: &str, priority: &str) -> String {
    let mut args = add_args(title, priority).to_vec();
    args.push("--json");
    json(base, &args)["id"].as_str().expect("id").to_owned()
}

/// The 3,689-task fixture (or a generated one of the same shape on a fresh clone).
pub(crate) fn reference_fixture() -> PathBuf {
    taskpilot_store::fixture::reference_fixture()
}

/// A JSON file's content.
pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Asserts the summary of `taskpilot store migrate` of the 3,689 reference tasks: `written` of
/// them written, the others already identical, and verified.
pub(crate) fn assert_migrated(out: &str, written: u32) {
    let identical = 3689 - written;
    let summary = format!(" ({written} written, {identical} already identical); verified");
    assert!(
        out.starts_with("Migrated 3689 tasks from ") && out.contains(&summary),
        "{out}"
    );
}

/// Starts `taskpilot serve --host 127.0.0.1 --port 0` (offline provider) in `base` and returns
/// the child, its address and the stderr lines up to "serving on".
pub(crate) fn serve(base: &Path, envs: &[(&str, &str)]) -> (Child, String, Vec<String>) {
    serve_with(base, envs, &["--host", "127.0.0.1", "--port", "0"])
}

/// [`serve`] with these arguments after `serve` instead.
// The child is returned to the caller, which waits for it.
#[allow(clippy::zombie_processes)]
pub(crate) fn serve_with(
    base: &Path,
    envs: &[(&str, &str)],
    args: &[&str],
) -> (Child, String, Vec<String>) {
    let mut cmd = process(base);
    cmd.env("LLM_PROVIDER", "offline")
        .arg("serve")
        .args(args)
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

/// An HTTP client (reqwest here is built without a default TLS crypto provider).
pub(crate) fn http_client() -> reqwest::Client {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::new()
}

/// Sends SIGTERM to `child` (asserting that `kill` did).
pub(crate) fn sigterm(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -TERM {}", child.id());
}

/// Runs `taskpilot args…` with the offline provider and `envs`, asserts success and returns
/// its standard output.
pub(crate) fn stdout_of(base: &Path, envs: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = taskpilot(base);
    cmd.env("LLM_PROVIDER", "offline")
        .envs(envs.iter().copied());
    run_cmd(&mut cmd, args).success().stdout
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

/// A fresh PostgreSQL database on the machine's server (as `postgres` or `root`), created with
/// `psql` and dropped on drop.
pub(crate) struct TempPg {
    admin: String,
    name: String,
}

impl TempPg {
    /// A database named `prefix_…`; `None` (after `service_missing`) without a server.
    pub(crate) fn create(prefix: &str) -> Option<TempPg> {
        let name = taskpilot_testkit::unique_name(prefix, '_');
        let mut last = String::new();
        for admin in ["postgres@127.0.0.1:5432", "root@127.0.0.1:5432"] {
            let admin = format!("postgres://{admin}/postgres");
            match psql(&admin, &format!("CREATE DATABASE \"{name}\"")) {
                Ok(()) => return Some(TempPg { admin, name }),
                Err(e) => last = e,
            }
        }
        taskpilot_testkit::service_missing("PostgreSQL at 127.0.0.1:5432", last);
        None
    }

    /// The database's URL.
    pub(crate) fn url(&self) -> String {
        let base = self
            .admin
            .rsplit_once('/')
            .map_or(self.admin.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }
}

impl Drop for TempPg {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.admin, &drop) {
            eprintln!("warning: could not drop {}: {e}", self.name);
        }
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
