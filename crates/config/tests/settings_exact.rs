//! The settings pinned to exact values through the public API, so that each small change
//! cargo-mutants makes to crates/config fails one of them: every default, every validator at
//! and beyond its edge, empty values falling through to the next source, the `taskpilot config`
//! table row by row, path status, secrets and URL redaction, and `.env` errors by line.

mod common;

use std::fmt::Display;
use std::path::{Path, PathBuf};

use common::owned;
use serde_json::{Value, json};
use taskpilot_config::{
    ConfigError, PathStatus, Secret, Settings, Source, Sourced, StoreLocation, path_status,
    redact_url,
};

/// Where `resolve` points `DOCKER_LOGS_DIR`: nowhere, so the logs stay under the base.
const NO_DOCKER_LOGS: &str = "/nonexistent/taskpilot-logs";

/// The settings that hold one plain value: the variable, its default as printed, the value
/// `every_variable_is_read_from_the_environment` sets and that value as read and printed
/// (trimmed; a relative path under the base directory, written `{base}`).
#[rustfmt::skip]
const SETTINGS: [(&str, &str, &str, &str); 26] = [
    ("TASKS_FILE",                "{base}/.tasks.json",         "t.json",    "{base}/t.json"),
    ("METRICS_FILE",              "{base}/metrics.json",        "m.json",    "{base}/m.json"),
    ("TRACES_FILE",               "{base}/traces.jsonl",        "tr.jsonl",  "{base}/tr.jsonl"),
    ("DECISION_LOGS_FILE",        "{base}/decision_logs.jsonl", "d.jsonl",   "{base}/d.jsonl"),
    ("LOGS_DIR",                  "{base}/logs",                " l ",       "{base}/l"),
    ("PROMPTS_DIR",               "{base}/prompts",             "p",         "{base}/p"),
    ("POLICIES_DIR",              "{base}/policies",            "/abs/pol",  "/abs/pol"),
    ("GUARDRAILS_CONFIG_DIR",     "{base}/guardrails",          "g",         "{base}/g"),
    ("OBSERVABILITY_DIR",         "{base}/observability",       "o",         "{base}/o"),
    ("TASK_STORE_PREFIX",         "taskpilot",                  "tp",        "tp"),
    ("OPENAI_MODEL_ID",           "gpt-4o-mini",                "gpt-x",     "gpt-x"),
    ("OPENAI_BASE_URL",           "https://api.openai.com/v1",  URL,         URL),
    ("PORT",                      "8000",                       "1",         "1"),
    ("HOST",                      "0.0.0.0",                    "127.0.0.1", "127.0.0.1"),
    ("GRAFANA_URL",               "http://localhost:3000",      "http://g",  "http://g"),
    ("PROMETHEUS_URL",            "http://localhost:9090",      "http://p",  "http://p"),
    ("JAEGER_URL",                "http://localhost:16686",     "http://j",  "http://j"),
    ("KIBANA_URL",                "http://localhost:5601",      "http://k",  "http://k"),
    ("OTEL_ENABLED",              "true",                       "off",       "false"),
    ("OTEL_SERVICE_NAME",         "taskpilot",                  "svc",       "svc"),
    ("WORKFLOW_INTERVAL_SECONDS", "60",                         "1",         "1"),
    ("TOOL_TIMEOUT_SECONDS",      "30",                         "0.5",       "0.5"),
    ("RETRY_MAX_ATTEMPTS",        "3",                          "100",       "100"),
    ("RETRY_INITIAL_DELAY",       "1",                          "0",         "0"),
    ("RETRY_BACKOFF_FACTOR",      "2",                          "1",         "1"),
    ("RETRY_MAX_DELAY",           "60",                         "0",         "0"),
];

/// The `OPENAI_BASE_URL` of `every_variable_is_read_from_the_environment`.
const URL: &str = "http://127.0.0.1:1/v1";

/// The setting of `SETTINGS` that `var` names, printed as there: a path under `base` as
/// `{base}/…`, anything else by `Display`.
fn printed(s: &Settings, base: &Path, var: &str) -> Sourced<String> {
    fn shown<T: Display>(setting: &Sourced<T>) -> Sourced<String> {
        Sourced::new(setting.value.to_string(), setting.source)
    }
    let path = |setting: &Sourced<PathBuf>| {
        let shown = match setting.value.strip_prefix(base) {
            Ok(under) => format!("{{base}}/{}", under.display()),
            Err(_) => setting.value.display().to_string(),
        };
        Sourced::new(shown, setting.source)
    };
    match var {
        "TASKS_FILE" => path(&s.tasks_file),
        "METRICS_FILE" => path(&s.metrics_file),
        "TRACES_FILE" => path(&s.traces_file),
        "DECISION_LOGS_FILE" => path(&s.decision_logs_file),
        "LOGS_DIR" => path(&s.logs_dir),
        "PROMPTS_DIR" => path(&s.prompts_dir),
        "POLICIES_DIR" => path(&s.policies_dir),
        "GUARDRAILS_CONFIG_DIR" => path(&s.guardrails_config_dir),
        "OBSERVABILITY_DIR" => path(&s.observability_dir),
        "TASK_STORE_PREFIX" => shown(&s.task_store_prefix),
        "OPENAI_MODEL_ID" => shown(&s.openai_model_id),
        "OPENAI_BASE_URL" => shown(&s.openai_base_url),
        "PORT" => shown(&s.port),
        "HOST" => shown(&s.host),
        "GRAFANA_URL" => shown(&s.grafana_url),
        "PROMETHEUS_URL" => shown(&s.prometheus_url),
        "JAEGER_URL" => shown(&s.jaeger_url),
        "KIBANA_URL" => shown(&s.kibana_url),
        "OTEL_ENABLED" => shown(&s.otel_enabled),
        "OTEL_SERVICE_NAME" => shown(&s.otel_service_name),
        "WORKFLOW_INTERVAL_SECONDS" => shown(&s.workflow_interval_seconds),
        "TOOL_TIMEOUT_SECONDS" => shown(&s.tool_timeout_seconds),
        "RETRY_MAX_ATTEMPTS" => shown(&s.retry_max_attempts),
        "RETRY_INITIAL_DELAY" => shown(&s.retry_initial_delay),
        "RETRY_BACKOFF_FACTOR" => shown(&s.retry_backoff_factor),
        "RETRY_MAX_DELAY" => shown(&s.retry_max_delay),
        other => panic!("{other} is not in SETTINGS"),
    }
}

/// `value`, from the default.
fn default<T>(value: T) -> Sourced<T> {
    Sourced::new(value, Source::Default)
}

/// `value`, from the environment.
fn from_env<T>(value: T) -> Sourced<T> {
    Sourced::new(value, Source::Env)
}

/// `value`, from the `.env` file.
fn from_dotenv<T>(value: T) -> Sourced<T> {
    Sourced::new(value, Source::Dotenv)
}

/// Settings in `dir` with no Docker logs directory, plus `pairs`.
fn resolve(dir: &Path, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut env = vec![("DOCKER_LOGS_DIR", NO_DOCKER_LOGS)];
    env.extend_from_slice(pairs);
    Settings::resolve(&owned(&env), dir)
}

/// A new base directory whose `.env` file holds `text`.
fn with_dotenv(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env"), text).expect("write .env");
    dir
}

/// A row of the `taskpilot config --json` object that is not a path.
fn row(value: Value, source: &str) -> Value {
    json!({"value": value, "source": source})
}

fn rejected(dir: &Path, name: &str, value: &str) -> String {
    match resolve(dir, &[(name, value)]) {
        Err(e @ ConfigError::Invalid { .. }) => e.to_string(),
        Err(other) => panic!("{name}={value}: unexpected error {other}"),
        Ok(_) => panic!("{name}={value} was accepted"),
    }
}

#[test]
fn every_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    let s = resolve(base, &[]).expect("settings");
    assert_eq!(s.base_dir, default(base.to_owned()));
    assert_eq!(s.env_file_path, default(base.join(".env")));
    for (var, shown, _, _) in SETTINGS {
        assert_eq!(printed(&s, base, var), default(shown.to_owned()), "{var}");
    }
    assert_eq!(s.docker_logs_dir, from_env(PathBuf::from(NO_DOCKER_LOGS)));
    assert_eq!(s.task_store_url, default(None));
    assert_eq!(s.llm_provider, default(None));
    assert_eq!(s.openai_api_key, default(None));
    assert_eq!(s.otel_exporter_otlp_endpoint, default(None));
    assert_eq!(s.notify_webhook_url, default(None));
    assert_eq!(s.api_tokens, default(None));
    assert_eq!(s.api_tokens_file, default(None));
    let tasks_file = base.join(".tasks.json");
    assert_eq!(s.store_location(), StoreLocation::File(tasks_file.clone()));
    assert_eq!(
        s.store_display(),
        format!("file://{}", tasks_file.display())
    );
    assert_eq!(s.store_backend(), "file");
}

#[test]
fn every_variable_is_read_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    let mut env: Vec<(&str, &str)> = SETTINGS.iter().map(|&(var, _, v, _)| (var, v)).collect();
    env.extend([
        ("TASK_STORE_URL", "redis://127.0.0.1:6379/0"),
        ("LLM_PROVIDER", " OpenAI "),
        ("OPENAI_API_KEY", "sk-0123456789abcdef"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
        ("NOTIFY_WEBHOOK_URL", "http://u:pw@hook/x"),
        ("TASKPILOT_API_TOKENS", "tok-0123456789:admin"),
        ("TASKPILOT_API_TOKENS_FILE", "tokens.txt"),
    ]);
    let s = resolve(base, &env).expect("settings");
    for (var, _, _, shown) in SETTINGS {
        assert_eq!(printed(&s, base, var), from_env(shown.to_owned()), "{var}");
    }
    assert_eq!(
        s.store_location(),
        StoreLocation::Url(Secret::new("redis://127.0.0.1:6379/0"))
    );
    assert_eq!(s.store_backend(), "redis");
    assert_eq!(s.llm_provider, from_env(Some("openai".to_owned())));
    let secret = |value: &str| from_env(Some(Secret::new(value)));
    assert_eq!(s.openai_api_key, secret("sk-0123456789abcdef"));
    assert_eq!(
        s.otel_exporter_otlp_endpoint,
        from_env(Some("http://127.0.0.1:4318".to_owned()))
    );
    assert_eq!(
        s.notify_webhook_url,
        from_env(Some("http://u:pw@hook/x".to_owned()))
    );
    assert_eq!(s.api_tokens, secret("tok-0123456789:admin"));
    assert_eq!(s.api_tokens_file, from_env(Some(base.join("tokens.txt"))));
}

/// Each validated variable: values at its edges (accepted), values beyond them (refused) and
/// what the refusal says it expects.
#[rustfmt::skip]
const EDGES: [(&str, &[&str], &[&str], &str); 9] = [
    ("PORT", &["65535", " 8080 "], &["0", "65536"], "a port number from 1 to 65535"),
    ("WORKFLOW_INTERVAL_SECONDS", &["1"], &["0"], "a whole number of seconds of at least 1"),
    ("TOOL_TIMEOUT_SECONDS", &["0.001"], &["0", "-1", "inf"], "a positive number of seconds"),
    ("RETRY_MAX_ATTEMPTS", &["1", "100"], &["0", "101"], "a whole number from 1 to 100"),
    ("RETRY_INITIAL_DELAY", &["0"], &["-0.5", "inf"], "a number of seconds of at least 0"),
    ("RETRY_BACKOFF_FACTOR", &["1"], &["0.99", "inf"], "a number of at least 1"),
    ("RETRY_MAX_DELAY", &["0"], &["-1", "inf"], "a number of seconds of at least 0"),
    ("OTEL_ENABLED", &[], &["maybe"], "true or false"),
    ("LLM_PROVIDER", &[], &["claude"], "openai or offline"),
];

#[test]
fn validators_accept_their_edges_and_reject_beyond() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    for (name, accepted, refused, expected) in EDGES {
        for value in accepted {
            assert!(resolve(base, &[(name, value)]).is_ok(), "{name}={value}");
        }
        for value in refused {
            assert_eq!(
                rejected(base, name, value),
                format!("{name}={value:?} (from env) is not valid: expected {expected}")
            );
        }
    }
}

#[test]
fn booleans_in_every_spelling() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (value, expected) in [
        ("1", true),
        ("TRUE", true),
        ("yes", true),
        (" On ", true),
        ("0", false),
        ("false", false),
        ("No", false),
        ("off", false),
    ] {
        let s = resolve(dir.path(), &[("OTEL_ENABLED", value)]).expect("settings");
        assert_eq!(s.otel_enabled, from_env(expected), "{value}");
    }
}

#[test]
fn empty_values_fall_through_to_the_dotenv_file_then_the_default() {
    let dir = with_dotenv("PORT=9001\nHOST=\nLLM_PROVIDER=offline\nOTEL_ENABLED=no\n");
    let s = resolve(
        dir.path(),
        &[("PORT", "  "), ("HOST", ""), ("BASE_DIR", " ")],
    )
    .expect("settings");
    assert_eq!(s.port, from_dotenv(9001));
    assert_eq!(s.host, default("0.0.0.0".to_owned()));
    assert_eq!(s.llm_provider, from_dotenv(Some("offline".to_owned())));
    assert_eq!(s.otel_enabled, from_dotenv(false));
    assert_eq!(s.base_dir.value, dir.path());
    let err = rejected(dir.path(), "LLM_PROVIDER", "x");
    assert_eq!(
        err,
        "LLM_PROVIDER=\"x\" (from env) is not valid: expected openai or offline"
    );
}

#[test]
fn a_dotenv_value_that_is_invalid_names_the_file_as_its_origin() {
    let dir = with_dotenv("PORT=eighty\n");
    match resolve(dir.path(), &[]) {
        Err(e) => assert_eq!(
            e.to_string(),
            "PORT=\"eighty\" (from dotenv) is not valid: expected a port number from 1 to 65535"
        ),
        Ok(s) => panic!("accepted {:?}", s.port),
    }
}

#[test]
fn base_dir_and_env_file_path_are_resolved_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("base");
    std::fs::create_dir_all(base.join("conf")).expect("mkdir");
    std::fs::write(base.join("conf/app.env"), "TASKS_FILE=from-dotenv.json\n").expect("write");
    let s = Settings::resolve(
        &owned(&[
            ("BASE_DIR", " base "),
            ("ENV_FILE_PATH", " conf/app.env "),
            ("DOCKER_LOGS_DIR", "/nonexistent/x"),
        ]),
        dir.path(),
    )
    .expect("settings");
    assert_eq!(s.base_dir, from_env(base.clone()));
    assert_eq!(s.env_file_path, from_env(base.join("conf/app.env")));
    assert_eq!(s.tasks_file, from_dotenv(base.join("from-dotenv.json")));
    let s = Settings::resolve(
        &owned(&[("BASE_DIR", "/"), ("ENV_FILE_PATH", "")]),
        dir.path(),
    )
    .expect("settings");
    assert_eq!(s.base_dir.value, PathBuf::from("/"));
    assert_eq!(s.env_file_path, default(PathBuf::from("/.env")));
}

#[test]
fn the_docker_logs_directory_is_used_only_when_it_is_a_writable_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    let s = Settings::resolve(
        &owned(&[("DOCKER_LOGS_DIR", file.to_str().expect("utf-8"))]),
        dir.path(),
    )
    .expect("settings");
    assert_eq!(s.logs_dir, default(dir.path().join("logs")));
    assert_eq!(s.docker_logs_dir, from_env(file));
    let s = Settings::resolve(&owned(&[]), dir.path()).expect("settings");
    assert_eq!(
        s.docker_logs_dir,
        default(PathBuf::from("/var/log/taskpilot"))
    );
}

#[test]
fn dotenv_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    std::fs::write(&path, "A=1\n\n  B C\nD=2\n").expect("write");
    let err = resolve(dir.path(), &[]).expect_err("bad line").to_string();
    assert_eq!(
        err,
        format!(
            "{}:3: cannot parse this line of the .env file (unexpected character at column 5); write it as NAME=value, quote values with spaces, or comment it out with #",
            path.display()
        )
    );
    // A directory where the file should be cannot be read.
    std::fs::remove_file(&path).expect("rm");
    std::fs::create_dir(&path).expect("mkdir");
    match resolve(dir.path(), &[]).expect_err("a directory") {
        ConfigError::DotenvUnreadable { path: p, reason } => {
            assert_eq!(p, path);
            assert!(!reason.is_empty());
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn store_backend_and_display_for_urls() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (url, backend, shown) in [
        (
            "postgres://app:hunter2@db:5432/tasks",
            "postgres",
            "postgres://app:***@db:5432/tasks",
        ),
        ("sqlite:///tmp/t.db", "sqlite", "sqlite:///tmp/t.db"),
        ("not a url", "unknown", "not a url"),
    ] {
        let s = resolve(dir.path(), &[("TASK_STORE_URL", url)]).expect("settings");
        assert_eq!(s.store_backend(), backend, "{url}");
        assert_eq!(s.store_display(), shown, "{url}");
    }
}

#[test]
fn url_redaction_hides_only_the_password() {
    for (url, shown) in [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://user@h:6379/0", "redis://user@h:6379/0"),
        ("mysql://u:p@h", "mysql://u:***@h"),
        ("s3://a:b@c@bucket/x?y=1", "s3://a:***@bucket/x?y=1"),
        ("http://h/p@q", "http://h/p@q"),
        ("no scheme:pw@host", "no scheme:pw@host"),
    ] {
        assert_eq!(redact_url(url), shown, "{url}");
    }
}

#[test]
fn secrets_show_at_most_their_last_four_characters() {
    assert_eq!(Secret::new("abcdefghijkl").redacted(), "***ijkl (redacted)");
    assert_eq!(Secret::new("abcdefghijk").redacted(), "*** (redacted)");
    assert_eq!(Secret::new("").redacted(), "*** (redacted)");
    let s = Secret::new("sk-0123456789abcdef");
    assert_eq!(s.to_string(), "***cdef (redacted)");
    assert_eq!(format!("{s:?}"), "***cdef (redacted)");
    assert_eq!(s.expose(), "sk-0123456789abcdef");
}

#[test]
fn sources_print_kebab_case() {
    for (source, text) in [
        (Source::Env, "env"),
        (Source::Dotenv, "dotenv"),
        (Source::Default, "default"),
        (Source::DockerLogsDir, "docker-logs-dir"),
    ] {
        assert_eq!(source.to_string(), text);
        assert_eq!(serde_json::to_value(source).expect("json"), json!(text));
    }
}

#[test]
fn path_status_of_files_directories_and_missing_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    std::fs::write(&file, "").expect("write");
    let ok = |exists, writable| PathStatus { exists, writable };
    assert_eq!(path_status(dir.path()), ok(true, true));
    assert_eq!(path_status(&file), ok(true, true));
    assert_eq!(
        path_status(&dir.path().join("new/deeper/x")),
        ok(false, true)
    );
    // Under a file nothing can be created.
    assert_eq!(path_status(&file.join("x")), ok(false, false));
    let mut perms = std::fs::metadata(&file).expect("meta").permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&file, perms).expect("chmod");
    // Root may write a read-only file; ask the system rather than assume who runs the tests.
    let can_write = std::fs::OpenOptions::new().append(true).open(&file).is_ok();
    assert_eq!(path_status(&file), ok(true, can_write));
}

#[test]
fn the_config_table_row_by_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    std::fs::write(base.join(".tasks.json"), "{}").expect("write");
    let s = resolve(
        base,
        &[
            ("TASK_STORE_URL", "postgres://app:hunter2@db/tasks"),
            ("OPENAI_API_KEY", "sk-0123456789abcdef"),
            ("NOTIFY_WEBHOOK_URL", "http://u:pw@hook/x"),
            ("TASKPILOT_API_TOKENS", "short"),
            ("TASKPILOT_API_TOKENS_FILE", "/etc/tokens"),
            ("PORT", "9000"),
            ("DOCKER_LOGS_DIR", ".tasks.json/logs"),
        ],
    )
    .expect("settings");
    let keys: Vec<&str> = s.entries().iter().map(|e| e.key).collect();
    assert_eq!(
        keys,
        [
            "base_dir",
            "env_file_path",
            "tasks_file",
            "metrics_file",
            "traces_file",
            "decision_logs_file",
            "logs_dir",
            "docker_logs_dir",
            "prompts_dir",
            "policies_dir",
            "guardrails_config_dir",
            "observability_dir",
            "task_store_url",
            "task_store_backend",
            "task_store_prefix",
            "llm_provider",
            "openai_api_key",
            "openai_model_id",
            "openai_base_url",
            "port",
            "host",
            "grafana_url",
            "prometheus_url",
            "jaeger_url",
            "kibana_url",
            "otel_enabled",
            "otel_exporter_otlp_endpoint",
            "otel_service_name",
            "workflow_interval_seconds",
            "claim_lease_seconds",
            "tool_timeout_seconds",
            "retry_max_attempts",
            "retry_initial_delay",
            "retry_backoff_factor",
            "retry_max_delay",
            "notify_webhook_url",
            "taskpilot_api_tokens",
            "taskpilot_allowed_origins",
            "taskpilot_allowed_hosts",
            "taskpilot_api_tokens_file",
        ]
    );
    let json = s.to_json();
    let object = json.as_object().expect("an object");
    assert_eq!(object.len(), keys.len());
    // The directory holding .tasks.json is found as the base; nothing can be created under a
    // file.
    #[rustfmt::skip]
    let paths = [
        ("base_dir",        base.to_owned(),                  "discovered", true,  true),
        ("tasks_file",      base.join(".tasks.json"),         "default",    true,  true),
        ("metrics_file",    base.join("metrics.json"),        "default",    false, true),
        ("docker_logs_dir", base.join(".tasks.json/logs"),    "env",        false, false),
    ];
    for (key, path, source, exists, writable) in paths {
        let shown = path.display().to_string();
        assert_eq!(
            json[key],
            json!({"value": shown, "source": source, "exists": exists, "writable": writable}),
            "{key}"
        );
    }
    #[rustfmt::skip]
    let rows = [
        ("task_store_url",              json!("postgres://app:***@db/tasks"), "env"),
        ("task_store_backend",          json!("postgres"),                    "env"),
        ("task_store_prefix",           json!("taskpilot"),                   "default"),
        ("llm_provider",                Value::Null,                          "default"),
        ("openai_api_key",              json!("***cdef (redacted)"),          "env"),
        ("openai_model_id",             json!("gpt-4o-mini"),                 "default"),
        ("openai_base_url",             json!("https://api.openai.com/v1"),   "default"),
        ("port",                        json!(9000),                          "env"),
        ("host",                        json!("0.0.0.0"),                     "default"),
        ("grafana_url",                 json!("http://localhost:3000"),       "default"),
        ("prometheus_url",              json!("http://localhost:9090"),       "default"),
        ("jaeger_url",                  json!("http://localhost:16686"),      "default"),
        ("kibana_url",                  json!("http://localhost:5601"),       "default"),
        ("otel_enabled",                json!(true),                          "default"),
        ("otel_exporter_otlp_endpoint", Value::Null,                          "default"),
        ("otel_service_name",           json!("taskpilot"),                   "default"),
        ("workflow_interval_seconds",   json!(60),                            "default"),
        ("claim_lease_seconds",         json!(300),                           "default"),
        ("tool_timeout_seconds",        json!(30.0),                          "default"),
        ("retry_max_attempts",          json!(3),                             "default"),
        ("retry_initial_delay",         json!(1.0),                           "default"),
        ("retry_backoff_factor",        json!(2.0),                           "default"),
        ("retry_max_delay",             json!(60.0),                          "default"),
        ("notify_webhook_url",          json!("http://u:***@hook/x"),         "env"),
        ("taskpilot_api_tokens",        json!("*** (redacted)"),              "env"),
        ("taskpilot_api_tokens_file",   json!("/etc/tokens"),                 "env"),
        ("taskpilot_allowed_origins",   json!([]),                            "default"),
        ("taskpilot_allowed_hosts",     json!([]),                            "default"),
    ];
    for (key, value, source) in rows {
        assert_eq!(json[key], row(value, source), "{key}");
    }
    for entry in s.entries() {
        assert_eq!(
            entry.path.is_some(),
            (entry.key.ends_with("_dir")
                || entry.key.ends_with("_file")
                || entry.key == "env_file_path")
                && entry.key != "taskpilot_api_tokens_file",
            "{}",
            entry.key
        );
    }
}

#[test]
fn an_unset_store_url_and_secrets_show_as_null() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = resolve(dir.path(), &[]).expect("settings").to_json();
    for (key, value) in [
        ("task_store_url", Value::Null),
        ("task_store_backend", json!("file")),
        ("openai_api_key", Value::Null),
        ("taskpilot_api_tokens", Value::Null),
        ("notify_webhook_url", Value::Null),
        ("taskpilot_api_tokens_file", Value::Null),
    ] {
        assert_eq!(json[key], row(value, "default"), "{key}");
    }
}

#[test]
fn the_base_dir_reason_names_where_the_marker_was_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("project");
    let deep = project.join("src").join("deep");
    std::fs::create_dir_all(&deep).expect("mkdir");
    let reason = |cwd: &Path, pairs: &[(&str, &str)]| {
        let s = resolve(cwd, pairs).expect("settings");
        (s.base_dir, s.base_dir_reason)
    };
    assert_eq!(
        reason(&deep, &[]),
        (
            default(deep.clone()),
            format!(
                "BASE_DIR is unset and neither {} nor a directory above it holds .env or .tasks.json",
                deep.display()
            )
        )
    );
    // A marker that is a directory does not count.
    std::fs::create_dir(project.join(".tasks.json")).expect("mkdir");
    assert_eq!(reason(&deep, &[]).0, default(deep.clone()));
    std::fs::remove_dir(project.join(".tasks.json")).expect("rmdir");

    std::fs::write(project.join(".tasks.json"), "{}").expect("write");
    assert_eq!(
        reason(&project, &[]),
        (
            Sourced::new(project.clone(), Source::Discovered),
            "the current directory holds .tasks.json".to_owned()
        )
    );
    assert_eq!(
        reason(&deep, &[]),
        (
            Sourced::new(project.clone(), Source::Discovered),
            format!(
                "{} holds .tasks.json (nearest such directory above the current directory {})",
                project.display(),
                deep.display()
            )
        )
    );
    // `.env` is looked for before `.tasks.json` in the same directory.
    std::fs::write(project.join(".env"), "").expect("write");
    assert_eq!(reason(&project, &[]).1, "the current directory holds .env");
    assert_eq!(
        reason(&deep, &[]).1,
        format!(
            "{} holds .env (nearest such directory above the current directory {})",
            project.display(),
            deep.display()
        )
    );
    let base = dir.path().to_str().expect("utf-8");
    assert_eq!(
        reason(&deep, &[("BASE_DIR", base)]),
        (
            from_env(dir.path().to_owned()),
            "BASE_DIR is set".to_owned()
        )
    );
}

#[test]
fn allowed_origins_and_hosts_are_trimmed_lists_without_empty_entries() {
    let dir = with_dotenv("TASKPILOT_ALLOWED_HOSTS=\" tasks.example.com,,  ,api.example.com \"\n");
    let s = resolve(
        dir.path(),
        &[(
            "TASKPILOT_ALLOWED_ORIGINS",
            " https://a.example/ ,, https://b.example:8443//, ,",
        )],
    )
    .expect("settings");
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|&item| item.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        s.allowed_origins,
        from_env(list(&["https://a.example", "https://b.example:8443"]))
    );
    assert_eq!(
        s.allowed_hosts,
        from_dotenv(list(&["tasks.example.com", "api.example.com"]))
    );
    // Only separators (and a lone `/`): an empty list, still from the environment.
    let s = resolve(dir.path(), &[("TASKPILOT_ALLOWED_ORIGINS", " , / ,")]).expect("settings");
    assert_eq!(s.allowed_origins, from_env(Vec::new()));
}

#[test]
fn aws_variables_merge_the_environment_and_the_dotenv_file_sorted_by_name() {
    let dir = with_dotenv(
        "AWS_SECRET_ACCESS_KEY=from-dotenv-secret\nAWS_ACCESS_KEY_ID=from-dotenv\nAWS_PROFILE=\n\
         AWS_ENDPOINT_URL=http://127.0.0.1:9000\nNOT_AWS_X=1\nAWSX=2\n",
    );
    let s = resolve(
        dir.path(),
        &[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "from-env"),
            ("AWS_SESSION_TOKEN", "  "),
            ("MY_AWS_KEY", "x"),
        ],
    )
    .expect("settings");
    let shown: Vec<(&str, &str)> = s
        .aws_variables
        .iter()
        .map(|(name, value)| (name.as_str(), value.expose()))
        .collect();
    assert_eq!(
        shown,
        [
            ("AWS_ACCESS_KEY_ID", "from-env"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_SECRET_ACCESS_KEY", "from-dotenv-secret"),
        ]
    );
    let none = resolve(dir.path(), &[("ENV_FILE_PATH", "/dev/null")]).expect("settings");
    assert!(none.aws_variables.is_empty(), "{:?}", none.aws_variables);
}
