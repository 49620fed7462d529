//! Shared helpers for the black-box tests: run the real `taskpilot` binary in a temporary base
//! directory with a clean environment; and what a test needs on the machine's services, each
//! removed at the end: a PostgreSQL or MariaDB database ([`TempPg`], [`TempMaria`]), a Redis key
//! prefix ([`TempRedis`]), a bucket on the test S3 server ([`TempBucket`]).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
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

/// Asserts that `taskpilot tasks <verb> <id>` (`approve`, `reject`) is refused with exit code 2,
/// naming the status the task is in (`'executed'`).
pub(crate) fn assert_decision_refused(base: &Path, verb: &str, id: &str, status: &str) {
    run(base, &["tasks", verb, id]).code(2).stderr_has(status);
}

/// The JSON lines of a file (decisions, spans, the log, a runs backup); none when it is missing.
pub(crate) fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let line = |l: &str| -> serde_json::Value {
        serde_json::from_str(l)
            .unwrap_or_else(|e| panic!("{}: {l:?} is not JSON: {e}", path.display()))
    };
    text.lines().map(line).collect()
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

/// One HTTP request as [`http_server`] read it.
pub(crate) struct Request {
    /// The request line (`POST /path HTTP/1.1`).
    pub(crate) line: String,
    /// The headers, names in lower case.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The value of the header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server on 127.0.0.1 (a webhook receiver): each connection in a thread of its own,
/// its request handed to `answer`, which returns the whole response to write. Returns the
/// server's address.
pub(crate) fn http_server(
    answer: impl Fn(Request) -> String + Send + Sync + 'static,
) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("the server's address");
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                if let Some(request) = read_request(&mut reader) {
                    let response = answer(request);
                    let _ = reader.into_inner().write_all(response.as_bytes());
                }
            });
        }
    });
    addr
}

/// Reads one request; `None` when the connection ends before its body does.
fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let request = Request {
        line,
        headers,
        body: Vec::new(),
    };
    let length = request
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { body, ..request })
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

/// A fresh MariaDB database on the machine's server (as `root`), created with the `mysql`
/// client and dropped on drop.
pub(crate) struct TempMaria {
    name: String,
}

impl TempMaria {
    /// A database named `prefix_…`; `None` (after `service_missing`) without a server.
    pub(crate) fn create(prefix: &str) -> Option<TempMaria> {
        let name = taskpilot_testkit::unique_name(prefix, '_');
        match mysql(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4")) {
            Ok(()) => Some(TempMaria { name }),
            Err(e) => {
                taskpilot_testkit::service_missing("MariaDB at 127.0.0.1:3306 (mysql -u root)", e);
                None
            }
        }
    }

    /// The database's URL with this scheme (`mysql` or `mariadb`; the store takes both).
    pub(crate) fn url(&self, scheme: &str) -> String {
        format!("{scheme}://root@127.0.0.1:3306/{}", self.name)
    }
}

impl Drop for TempMaria {
    fn drop(&mut self) {
        if let Err(e) = mysql(&format!("DROP DATABASE IF EXISTS `{}`", self.name)) {
            eprintln!("warning: could not drop {}: {e}", self.name);
        }
    }
}

/// A key prefix of its own on the machine's Redis (127.0.0.1:6379); every key under it (tasks,
/// decisions, runs) is deleted with `redis-cli` on drop.
pub(crate) struct TempRedis {
    prefix: String,
}

impl TempRedis {
    /// A prefix `prefix-…`; `None` (after `service_missing`) when Redis does not answer.
    pub(crate) fn create(prefix: &str) -> Option<TempRedis> {
        if let Err(e) = std::net::TcpStream::connect("127.0.0.1:6379") {
            taskpilot_testkit::service_missing("Redis at 127.0.0.1:6379", e);
            return None;
        }
        let prefix = taskpilot_testkit::unique_name(prefix, '-');
        Some(TempRedis { prefix })
    }

    /// The store URL on this prefix.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:6379/0?prefix={}", self.prefix)
    }

    /// The key prefix itself (`TASK_STORE_PREFIX`).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        let delete = "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do \
                      redis.call('DEL', k) n = n + 1 end return n";
        let keys = format!("{}:*", self.prefix);
        if let Err(e) = client(
            "redis-cli",
            &["-h", "127.0.0.1", "EVAL", delete, "0", &keys],
        ) {
            eprintln!("warning: could not delete the keys {keys}: {e}");
        }
    }
}

/// A bucket of its own on the test S3 server (`eval "$(scripts/s3-server start)"`).
pub(crate) struct TempBucket {
    endpoint: String,
    name: String,
}

impl TempBucket {
    /// A bucket `prefix-…`; `None` (after `service_missing`) without a test server.
    ///
    /// # Panics
    /// When the server does not create the bucket.
    pub(crate) fn create(prefix: &str) -> Option<TempBucket> {
        let endpoint = match std::env::var("TASKPILOT_TEST_S3_ENDPOINT") {
            Ok(e) if !e.is_empty() => e,
            _ => {
                taskpilot_testkit::service_missing(
                    "an S3 server",
                    "TASKPILOT_TEST_S3_ENDPOINT is not set; run `eval \"$(scripts/s3-server start)\"`",
                );
                return None;
            }
        };
        let name = taskpilot_testkit::unique_name(prefix, '-');
        let created = http(&endpoint, "PUT", &format!("/{name}"));
        assert_eq!(
            created.ok(),
            Some(200),
            "create the bucket {name} at {endpoint}"
        );
        Some(TempBucket { endpoint, name })
    }

    /// `s3://<bucket>/<prefix>`.
    pub(crate) fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.name)
    }

    /// The `AWS_*` variables that reach the server, with this secret key (which a test may
    /// look for in what the binary prints).
    pub(crate) fn envs<'a>(&'a self, secret: &'a str) -> [(&'static str, &'a str); 5] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_REGION", "us-east-1"),
        ]
    }
}

/// Runs `future` to its end on a runtime of its own (the tests themselves are synchronous).
pub(crate) fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    client("psql", &[url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
}

fn mysql(sql: &str) -> Result<(), String> {
    client(
        "mysql",
        &["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e", sql],
    )
}

/// Runs a service's command-line client; its standard error when it fails.
fn client(program: &str, args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
