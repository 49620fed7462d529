//! The deployment files configure the binary the way docs/CONFIGURATION.md says.
//!
//! Reads the environment of the `taskpilot` service of `deploy/docker-compose.yml` (and of the
//! bind-mount and PostgreSQL variants), the Kubernetes ConfigMap (plus the Deployment's literal
//! `env` values) and the Dockerfile's `ENV`, re-roots every absolute path under a temporary
//! directory (`/data/.tasks.json` → `$TMP/data/.tasks.json`), runs `taskpilot config --json`
//! with exactly that environment and checks every location against the Docker / Kubernetes
//! columns of the locations table. Then, with the directories the image creates and the
//! defaults it copies, it runs `taskpilot doctor` and one offline workflow and checks that the
//! files really land under `/data` and `/var/log/taskpilot`.
//!
//! Compose `${NAME:-default}` interpolation is resolved to the default (as `docker compose`
//! does when NAME is unset), so an unset `OPENAI_API_KEY` selects the offline provider.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{Ran, run_cmd};
use serde_json::Value;

type Env = BTreeMap<String, String>;

/// Every location of the table: (the variable, the container path). Its key in
/// `config --json` is the variable in lower case.
const LOCATIONS: &[(&str, &str)] = &[
    ("TASKS_FILE", "/data/.tasks.json"),
    ("METRICS_FILE", "/data/metrics.json"),
    ("TRACES_FILE", "/data/traces.jsonl"),
    ("DECISION_LOGS_FILE", "/data/decision_logs.jsonl"),
    ("LOGS_DIR", "/var/log/taskpilot"),
    ("PROMPTS_DIR", "/app/prompts"),
    ("POLICIES_DIR", "/app/policies"),
    ("GUARDRAILS_CONFIG_DIR", "/app/guardrails"),
    ("OBSERVABILITY_DIR", "/app/observability"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_yaml(rel: &str) -> Value {
    let path = repo().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

/// `${NAME:-default}` / `${NAME-default}` → default, `${NAME}` → "" (NAME unset).
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("unterminated ${{ in {value:?}"));
        let inner = &after[..end];
        if let Some((_, default)) = inner.split_once(":-").or_else(|| inner.split_once('-')) {
            out.push_str(default);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The `environment:` of a compose file's `taskpilot` service, map or list form.
fn compose_env(file: &str) -> Env {
    let doc = read_yaml(file);
    let env = &doc["services"]["taskpilot"]["environment"];
    let mut out = Env::new();
    match env {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone(), interpolate(&scalar(v)));
            }
        }
        Value::Array(items) => {
            for item in items {
                let s = scalar(item);
                let (k, v) = s.split_once('=').unwrap_or((&s, ""));
                out.insert(k.to_owned(), interpolate(v));
            }
        }
        other => panic!("{file}: services.taskpilot.environment is {other}"),
    }
    out
}

/// The ConfigMap's data plus the literal `env` values of the Deployment's container.
fn kubernetes_env() -> Env {
    let cm = read_yaml("deploy/kubernetes/base/configmap.yaml");
    assert_eq!(cm["kind"], "ConfigMap");
    let mut out: Env = cm["data"]
        .as_object()
        .expect("ConfigMap data")
        .iter()
        .map(|(k, v)| (k.clone(), scalar(v)))
        .collect();
    let deployment = read_yaml("deploy/kubernetes/base/deployment.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    for e in container["env"].as_array().into_iter().flatten() {
        if let Some(v) = e.get("value") {
            out.insert(scalar(&e["name"]), scalar(v));
        }
    }
    out
}

/// The environments of the Kubernetes ConfigMap and of the compose files `files` (in
/// `deploy/`), each with its name.
fn with_configmap(files: &[&'static str]) -> Vec<(&'static str, Env)> {
    let mut all = vec![("kubernetes ConfigMap", kubernetes_env())];
    all.extend(
        files
            .iter()
            .map(|&file| (file, compose_env(&format!("deploy/{file}")))),
    );
    all
}

/// The `ENV` instructions of the Dockerfile's last stage (values without spaces or quotes).
fn dockerfile_env() -> Env {
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).expect("Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') && current.is_empty() {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            current.push_str(cont);
            current.push(' ');
        } else {
            current.push_str(line);
            instructions.push(std::mem::take(&mut current));
        }
    }
    let mut out = Env::new();
    for ins in instructions {
        if ins.to_ascii_uppercase().starts_with("FROM ") {
            out.clear(); // only the runtime (last) stage counts
        }
        if let Some(rest) = ins.strip_prefix("ENV ") {
            for pair in rest.split_whitespace() {
                let (k, v) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("Dockerfile ENV without '=': {pair}"));
                out.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    assert!(
        !out.is_empty(),
        "the Dockerfile's runtime stage sets no ENV"
    );
    out
}

/// `/data/x` → `<root>/data/x`; anything not absolute is kept.
fn reroot(root: &Path, env: &Env) -> Env {
    env.iter()
        .map(|(k, v)| {
            let v = match v.strip_prefix('/') {
                Some(rel) => root.join(rel).to_string_lossy().into_owned(),
                None => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// A temporary container filesystem: what the image creates (`/data`, `/var/log/taskpilot`,
/// `/app/observability`) and copies (`defaults/*` to `/app/*`).
fn container_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    for dir in ["data", "var/log/taskpilot", "app/observability"] {
        std::fs::create_dir_all(root.path().join(dir)).expect("mkdir");
    }
    for what in ["prompts", "policies", "guardrails"] {
        let from = repo().join("defaults").join(what);
        let to = root.path().join("app").join(what);
        std::fs::create_dir_all(&to).expect("mkdir");
        for entry in std::fs::read_dir(&from).expect("defaults dir") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy default");
        }
    }
    root
}

/// `taskpilot ARGS` with exactly `env` (nothing inherited), in `<root>/app` (the WORKDIR).
fn taskpilot(root: &Path, env: &Env, args: &[&str]) -> Ran {
    let mut cmd = Command::new(common::binary());
    cmd.env_clear().current_dir(root.join("app")).envs(env);
    run_cmd(&mut cmd, args)
}

fn config_json(root: &Path, env: &Env) -> Value {
    let out = taskpilot(root, env, &["config", "--json"]);
    assert_eq!(out.code, Some(0), "{env:?}: {}", out.stderr);
    out.json()
}

/// Every location of `LOCATIONS` (minus `skip`) is set by `env` and resolves to the container
/// path under `root`, from the environment.
fn check_locations(what: &str, root: &Path, env: &Env, skip: &[&str]) -> Value {
    let config = config_json(root, env);
    for (var, container_path) in LOCATIONS {
        let key = var.to_ascii_lowercase();
        if skip.contains(&key.as_str()) {
            continue;
        }
        assert!(env.contains_key(*var), "{what}: {var} is not set");
        let expected = root.join(container_path.trim_start_matches('/'));
        let entry = &config[&key];
        assert_eq!(
            entry["value"].as_str().map(PathBuf::from),
            Some(expected.clone()),
            "{what}: {var} should resolve to {container_path}: {entry}"
        );
        assert_eq!(entry["source"], "env", "{what}: {var}: {entry}");
    }
    config
}

/// With the image's directories present: doctor is not unhealthy, and one offline run writes
/// the task, metrics, traces, decisions and the application log where the table says.
fn check_runs(what: &str, root: &Path, env: &Env) {
    let out = taskpilot(root, env, &["doctor", "--json"]);
    let report = out.json();
    assert_eq!(out.code, Some(0), "{what}: doctor: {report}");
    assert_eq!(report["status"], "healthy", "{what}: doctor: {report}");

    let request = "Create a high priority task to prepare the board deck";
    let out = taskpilot(root, env, &["run", "--json", request]);
    assert_eq!(out.code, Some(0), "{what}: run failed: {}", out.stderr);
    // The application log is opened in LOGS_DIR at start-up; a quiet offline run may write no
    // line at info level, so only its existence is required.
    let log = root.join("var/log/taskpilot/taskpilot.log");
    assert!(
        log.is_file(),
        "{what}: /var/log/taskpilot/taskpilot.log was not created"
    );
    for file in [
        "data/.tasks.json",
        "data/metrics.json",
        "data/traces.jsonl",
        "data/decision_logs.jsonl",
    ] {
        let path = root.join(file);
        let len = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{what}: /{file} was not written ({e})"))
            .len();
        assert!(len > 0, "{what}: /{file} is empty");
    }
    let tasks = std::fs::read_to_string(root.join("data/.tasks.json")).expect("tasks");
    let journal =
        std::fs::read_to_string(root.join("data/.tasks.json.journal")).unwrap_or_default();
    assert!(
        tasks.contains("board deck") || journal.contains("board deck"),
        "{what}: the task is not in /data/.tasks.json (+ journal)"
    );
}

/// A container filesystem and `env` re-rooted under it.
fn in_container(env: &Env) -> (tempfile::TempDir, Env) {
    let root = container_root();
    let env = reroot(root.path(), env);
    (root, env)
}

#[test]
fn compose_named_volumes_environment() {
    let what = "docker-compose.yml";
    let (root, env) = in_container(&compose_env("deploy/docker-compose.yml"));
    assert!(
        !env.contains_key("TASK_STORE_URL"),
        "Example 1 uses the file store"
    );
    let config = check_locations(what, root.path(), &env, &[]);
    assert_eq!(config["port"]["value"], 8000, "{config}");
    check_runs(what, root.path(), &env);
}

#[test]
fn bind_mounts_kubernetes_and_dockerfile_environments() {
    for (what, env) in [
        (
            "docker-compose.bind-mounts.yml",
            compose_env("deploy/docker-compose.bind-mounts.yml"),
        ),
        ("kubernetes ConfigMap", kubernetes_env()),
        ("Dockerfile ENV", dockerfile_env()),
    ] {
        let (root, env) = in_container(&env);
        check_locations(what, root.path(), &env, &[]);
        check_runs(what, root.path(), &env);
    }
}

#[test]
fn compose_postgres_environment() {
    let (root, env) = in_container(&compose_env("deploy/docker-compose.postgres.yml"));
    let url = env.get("TASK_STORE_URL").expect("TASK_STORE_URL is set");
    assert!(url.starts_with("postgres://"), "{url}");
    // Tasks are in PostgreSQL; every other location is as in the table.
    let what = "docker-compose.postgres.yml";
    let config = check_locations(what, root.path(), &env, &["tasks_file"]);
    let shown = config["task_store_url"]["value"].as_str().unwrap_or("");
    assert!(
        shown.starts_with("postgres://") && !shown.contains(":taskpilot@"),
        "the URL is shown with the password hidden: {config}"
    );
}

#[test]
fn compose_files_agree_with_the_configmap() {
    // The same locations everywhere: one table, not four.
    let mut deployments = with_configmap(&["docker-compose.yml", "docker-compose.bind-mounts.yml"]);
    deployments.push(("Dockerfile ENV", dockerfile_env()));
    for (what, env) in deployments {
        for (var, path) in LOCATIONS {
            assert_eq!(
                env.get(*var).map(String::as_str),
                Some(*path),
                "{what}: {var}"
            );
        }
    }
}

#[test]
fn every_deployment_sets_the_claim_lease_above_the_tool_timeout() {
    // Replicas take over each other's tasks after CLAIM_LEASE_SECONDS: every deployment says
    // how long, from its own environment, and not shorter than one tool call may take.
    let root = container_root();
    for (what, env) in with_configmap(&[
        "docker-compose.yml",
        "docker-compose.bind-mounts.yml",
        "docker-compose.postgres.yml",
    ]) {
        assert_eq!(
            env.get("CLAIM_LEASE_SECONDS").map(String::as_str),
            Some("300"),
            "{what}: CLAIM_LEASE_SECONDS"
        );
        let config = config_json(root.path(), &reroot(root.path(), &env));
        let lease = &config["claim_lease_seconds"];
        assert_eq!(lease["value"], 300, "{what}: {lease}");
        assert_eq!(lease["source"], "env", "{what}: {lease}");
        let timeout = config["tool_timeout_seconds"]["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{what}: tool_timeout_seconds in {config}"));
        assert!(
            300.0 > timeout,
            "{what}: the lease must outlast a tool call ({timeout} s)"
        );
    }
}
