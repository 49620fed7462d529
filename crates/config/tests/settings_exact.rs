//! The settings pinned to exact values through the public API, so that each small change
//! cargo-mutants makes to crates/config fails one of them: every default, every validator at
//! and beyond its edge, empty values falling through to the next source, the `taskpilot config`
//! table row by row, path status, secrets and URL redaction, and `.env` errors by line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use taskpilot_config::{
    ConfigError, PathStatus, Secret, Settings, Source, Sourced, StoreLocation, path_status,
    redact_url,
};

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Settings in `dir` with no Docker logs directory, plus `pairs`.
fn resolve(dir: &Path, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut e = env(&[("DOCKER_LOGS_DIR", "/nonexistent/taskpilot-logs")]);
    e.extend(env(pairs));
    Settings::resolve(&e, dir)
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
    let d = |p: &str| Sourced::new(base.join(p), Source::Default);
    assert_eq!(s.base_dir, Sourced::new(base.to_owned(), Source::Default));
    assert_eq!(s.env_file_path, d(".env"));
    assert_eq!(s.tasks_file, d(".tasks.json"));
    assert_eq!(s.metrics_file, d("metrics.json"));
    assert_eq!(s.traces_file, d("traces.jsonl"));
    assert_eq!(s.decision_logs_file, d("decision_logs.jsonl"));
    assert_eq!(s.logs_dir, d("logs"));
    assert_eq!(
        s.docker_logs_dir,
        Sourced::new(PathBuf::from("/nonexistent/taskpilot-logs"), Source::Env)
    );
    assert_eq!(s.prompts_dir, d("prompts"));
    assert_eq!(s.policies_dir, d("policies"));
    assert_eq!(s.guardrails_config_dir, d("guardrails"));
    assert_eq!(s.observability_dir, d("observability"));
    assert_eq!(s.task_store_url, Sourced::new(None, Source::Default));
    assert_eq!(
        s.task_store_prefix,
        Sourced::new("taskpilot".to_owned(), Source::Default)
    );
    assert_eq!(s.llm_provider, Sourced::new(None, Source::Default));
    assert_eq!(s.openai_api_key, Sourced::new(None, Source::Default));
    let text = |v: &str| Sourced::new(v.to_owned(), Source::Default);
    assert_eq!(s.openai_model_id, text("gpt-4o-mini"));
    assert_eq!(s.openai_base_url, text("https://api.openai.com/v1"));
    assert_eq!(s.port, Sourced::new(8000, Source::Default));
    assert_eq!(s.host, text("0.0.0.0"));
    assert_eq!(s.grafana_url, text("http://localhost:3000"));
    assert_eq!(s.prometheus_url, text("http://localhost:9090"));
    assert_eq!(s.jaeger_url, text("http://localhost:16686"));
    assert_eq!(s.kibana_url, text("http://localhost:5601"));
    assert_eq!(s.otel_enabled, Sourced::new(true, Source::Default));
    assert_eq!(
        s.otel_exporter_otlp_endpoint,
        Sourced::new(None, Source::Default)
    );
    assert_eq!(s.otel_service_name, text("taskpilot"));
    assert_eq!(
        s.workflow_interval_seconds,
        Sourced::new(60, Source::Default)
    );
    assert_eq!(s.tool_timeout_seconds, Sourced::new(30.0, Source::Default));
    assert_eq!(s.retry_max_attempts, Sourced::new(3, Source::Default));
    assert_eq!(s.retry_initial_delay, Sourced::new(1.0, Source::Default));
    assert_eq!(s.retry_backoff_factor, Sourced::new(2.0, Source::Default));
    assert_eq!(s.retry_max_delay, Sourced::new(60.0, Source::Default));
    assert_eq!(s.notify_webhook_url, Sourced::new(None, Source::Default));
    assert_eq!(s.api_tokens, Sourced::new(None, Source::Default));
    assert_eq!(s.api_tokens_file, Sourced::new(None, Source::Default));
    assert_eq!(
        s.store_location(),
        StoreLocation::File(base.join(".tasks.json"))
    );
    assert_eq!(
        s.store_display(),
        format!("file://{}", base.join(".tasks.json").display())
    );
    assert_eq!(s.store_backend(), "file");
}

#[test]
fn every_variable_is_read_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    let s = resolve(
        base,
        &[
            ("TASKS_FILE", "t.json"),
            ("METRICS_FILE", "m.json"),
            ("TRACES_FILE", "tr.jsonl"),
            ("DECISION_LOGS_FILE", "d.jsonl"),
            ("LOGS_DIR", " l "),
            ("PROMPTS_DIR", "p"),
            ("POLICIES_DIR", "/abs/pol"),
            ("GUARDRAILS_CONFIG_DIR", "g"),
            ("OBSERVABILITY_DIR", "o"),
            ("TASK_STORE_URL", "redis://127.0.0.1:6379/0"),
            ("TASK_STORE_PREFIX", "tp"),
            ("LLM_PROVIDER", " OpenAI "),
            ("OPENAI_API_KEY", "sk-0123456789abcdef"),
            ("OPENAI_MODEL_ID", "gpt-x"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
            ("PORT", "1"),
            ("HOST", "127.0.0.1"),
            ("GRAFANA_URL", "http://g"),
            ("PROMETHEUS_URL", "http://p"),
            ("JAEGER_URL", "http://j"),
            ("KIBANA_URL", "http://k"),
            ("OTEL_ENABLED", "off"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_SERVICE_NAME", "svc"),
            ("WORKFLOW_INTERVAL_SECONDS", "1"),
            ("TOOL_TIMEOUT_SECONDS", "0.5"),
            ("RETRY_MAX_ATTEMPTS", "100"),
            ("RETRY_INITIAL_DELAY", "0"),
            ("RETRY_BACKOFF_FACTOR", "1"),
            ("RETRY_MAX_DELAY", "0"),
            ("NOTIFY_WEBHOOK_URL", "http://u:pw@hook/x"),
            ("TASKPILOT_API_TOKENS", "tok-0123456789:admin"),
            ("TASKPILOT_API_TOKENS_FILE", "tokens.txt"),
        ],
    )
    .expect("settings");
    let e = |p: &str| Sourced::new(base.join(p), Source::Env);
    assert_eq!(s.tasks_file, e("t.json"));
    assert_eq!(s.metrics_file, e("m.json"));
    assert_eq!(s.traces_file, e("tr.jsonl"));
    assert_eq!(s.decision_logs_file, e("d.jsonl"));
    assert_eq!(s.logs_dir, e("l"));
    assert_eq!(s.prompts_dir, e("p"));
    assert_eq!(
        s.policies_dir,
        Sourced::new(PathBuf::from("/abs/pol"), Source::Env)
    );
    assert_eq!(s.guardrails_config_dir, e("g"));
    assert_eq!(s.observability_dir, e("o"));
    assert_eq!(
        s.store_location(),
        StoreLocation::Url(Secret::new("redis://127.0.0.1:6379/0"))
    );
    assert_eq!(s.store_backend(), "redis");
    assert_eq!(s.task_store_prefix.value, "tp");
    assert_eq!(
        s.llm_provider,
        Sourced::new(Some("openai".to_owned()), Source::Env)
    );
    assert_eq!(
        s.openai_api_key.value.as_ref().map(Secret::expose),
        Some("sk-0123456789abcdef")
    );
    assert_eq!(s.openai_model_id.value, "gpt-x");
    assert_eq!(s.openai_base_url.value, "http://127.0.0.1:1/v1");
    assert_eq!(s.port, Sourced::new(1, Source::Env));
    assert_eq!(s.host.value, "127.0.0.1");
    assert_eq!(s.grafana_url.value, "http://g");
    assert_eq!(s.prometheus_url.value, "http://p");
    assert_eq!(s.jaeger_url.value, "http://j");
    assert_eq!(s.kibana_url.value, "http://k");
    assert_eq!(s.otel_enabled, Sourced::new(false, Source::Env));
    assert_eq!(
        s.otel_exporter_otlp_endpoint.value.as_deref(),
        Some("http://127.0.0.1:4318")
    );
    assert_eq!(s.otel_service_name.value, "svc");
    assert_eq!(s.workflow_interval_seconds.value, 1);
    assert_eq!(s.tool_timeout_seconds.value, 0.5);
    assert_eq!(s.retry_max_attempts.value, 100);
    assert_eq!(s.retry_initial_delay.value, 0.0);
    assert_eq!(s.retry_backoff_factor.value, 1.0);
    assert_eq!(s.retry_max_delay.value, 0.0);
    assert_eq!(
        s.notify_webhook_url.value.as_deref(),
        Some("http://u:pw@hook/x")
    );
    assert_eq!(
        s.api_tokens.value.as_ref().map(Secret::expose),
        Some("tok-0123456789:admin")
    );
    assert_eq!(
        s.api_tokens_file,
        Sourced::new(Some(base.join("tokens.txt")), Source::Env)
    );
}

#[test]
fn validators_accept_their_edges_and_reject_beyond() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    let accepted = [
        ("PORT", "65535"),
        ("PORT", " 8080 "),
        ("WORKFLOW_INTERVAL_SECONDS", "1"),
        ("TOOL_TIMEOUT_SECONDS", "0.001"),
        ("RETRY_MAX_ATTEMPTS", "1"),
        ("RETRY_MAX_ATTEMPTS", "100"),
        ("RETRY_INITIAL_DELAY", "0"),
        ("RETRY_BACKOFF_FACTOR", "1"),
        ("RETRY_MAX_DELAY", "0"),
    ];
    for (name, value) in accepted {
        assert!(resolve(base, &[(name, value)]).is_ok(), "{name}={value}");
    }
    let cases = [
        ("PORT", "0", "a port number from 1 to 65535"),
        ("PORT", "65536", "a port number from 1 to 65535"),
        (
            "WORKFLOW_INTERVAL_SECONDS",
            "0",
            "a whole number of seconds of at least 1",
        ),
        ("TOOL_TIMEOUT_SECONDS", "0", "a positive number of seconds"),
        ("TOOL_TIMEOUT_SECONDS", "-1", "a positive number of seconds"),
        (
            "TOOL_TIMEOUT_SECONDS",
            "inf",
            "a positive number of seconds",
        ),
        ("RETRY_MAX_ATTEMPTS", "0", "a whole number from 1 to 100"),
        ("RETRY_MAX_ATTEMPTS", "101", "a whole number from 1 to 100"),
        (
            "RETRY_INITIAL_DELAY",
            "-0.5",
            "a number of seconds of at least 0",
        ),
        (
            "RETRY_INITIAL_DELAY",
            "inf",
            "a number of seconds of at least 0",
        ),
        ("RETRY_BACKOFF_FACTOR", "0.99", "a number of at least 1"),
        ("RETRY_BACKOFF_FACTOR", "inf", "a number of at least 1"),
        ("RETRY_MAX_DELAY", "-1", "a number of seconds of at least 0"),
        (
            "RETRY_MAX_DELAY",
            "inf",
            "a number of seconds of at least 0",
        ),
        ("OTEL_ENABLED", "maybe", "true or false"),
        ("LLM_PROVIDER", "claude", "openai or offline"),
    ];
    for (name, value, expected) in cases {
        assert_eq!(
            rejected(base, name, value),
            format!("{name}={value:?} (from env) is not valid: expected {expected}")
        );
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
        assert_eq!(
            s.otel_enabled,
            Sourced::new(expected, Source::Env),
            "{value}"
        );
    }
}

#[test]
fn empty_values_fall_through_to_the_dotenv_file_then_the_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        "PORT=9001\nHOST=\nLLM_PROVIDER=offline\nOTEL_ENABLED=no\n",
    )
    .expect("write .env");
    let s = resolve(
        dir.path(),
        &[("PORT", "  "), ("HOST", ""), ("BASE_DIR", " ")],
    )
    .expect("settings");
    assert_eq!(s.port, Sourced::new(9001, Source::Dotenv));
    assert_eq!(s.host, Sourced::new("0.0.0.0".to_owned(), Source::Default));
    assert_eq!(
        s.llm_provider,
        Sourced::new(Some("offline".to_owned()), Source::Dotenv)
    );
    assert_eq!(s.otel_enabled, Sourced::new(false, Source::Dotenv));
    assert_eq!(s.base_dir.value, dir.path());
    let err = rejected(dir.path(), "LLM_PROVIDER", "x");
    assert_eq!(
        err,
        "LLM_PROVIDER=\"x\" (from env) is not valid: expected openai or offline"
    );
}

#[test]
fn a_dotenv_value_that_is_invalid_names_the_file_as_its_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env"), "PORT=eighty\n").expect("write .env");
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
        &env(&[
            ("BASE_DIR", " base "),
            ("ENV_FILE_PATH", " conf/app.env "),
            ("DOCKER_LOGS_DIR", "/nonexistent/x"),
        ]),
        dir.path(),
    )
    .expect("settings");
    assert_eq!(s.base_dir, Sourced::new(base.clone(), Source::Env));
    assert_eq!(
        s.env_file_path,
        Sourced::new(base.join("conf/app.env"), Source::Env)
    );
    assert_eq!(
        s.tasks_file,
        Sourced::new(base.join("from-dotenv.json"), Source::Dotenv)
    );
    let s = Settings::resolve(
        &env(&[("BASE_DIR", "/"), ("ENV_FILE_PATH", "")]),
        dir.path(),
    )
    .expect("settings");
    assert_eq!(s.base_dir.value, PathBuf::from("/"));
    assert_eq!(
        s.env_file_path,
        Sourced::new(PathBuf::from("/.env"), Source::Default)
    );
}

#[test]
fn the_docker_logs_directory_is_used_only_when_it_is_a_writable_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    let s = Settings::resolve(
        &env(&[("DOCKER_LOGS_DIR", file.to_str().expect("utf-8"))]),
        dir.path(),
    )
    .expect("settings");
    assert_eq!(
        s.logs_dir,
        Sourced::new(dir.path().join("logs"), Source::Default)
    );
    assert_eq!(s.docker_logs_dir, Sourced::new(file, Source::Env));
    let s = Settings::resolve(&env(&[]), dir.path()).expect("settings");
    assert_eq!(
        s.docker_logs_dir,
        Sourced::new(PathBuf::from("/var/log/taskpilot"), Source::Default)
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
    let p = |path: &Path| Value::String(path.display().to_string());
    assert_eq!(
        json["base_dir"],
        json!({"value": p(base), "source": "discovered", "exists": true, "writable": true}),
        "the directory holding .tasks.json is found as the base"
    );
    assert_eq!(
        json["tasks_file"],
        json!({"value": p(&base.join(".tasks.json")), "source": "default", "exists": true, "writable": true})
    );
    assert_eq!(
        json["metrics_file"],
        json!({"value": p(&base.join("metrics.json")), "source": "default", "exists": false, "writable": true})
    );
    assert_eq!(
        json["docker_logs_dir"],
        json!({"value": p(&base.join(".tasks.json/logs")), "source": "env", "exists": false, "writable": false}),
        "nothing can be created under a file"
    );
    let plain = |value: Value, source: &str| json!({"value": value, "source": source});
    assert_eq!(
        json["task_store_url"],
        plain(json!("postgres://app:***@db/tasks"), "env")
    );
    assert_eq!(json["task_store_backend"], plain(json!("postgres"), "env"));
    assert_eq!(
        json["task_store_prefix"],
        plain(json!("taskpilot"), "default")
    );
    assert_eq!(json["llm_provider"], plain(Value::Null, "default"));
    assert_eq!(
        json["openai_api_key"],
        plain(json!("***cdef (redacted)"), "env")
    );
    assert_eq!(
        json["openai_model_id"],
        plain(json!("gpt-4o-mini"), "default")
    );
    assert_eq!(
        json["openai_base_url"],
        plain(json!("https://api.openai.com/v1"), "default")
    );
    assert_eq!(json["port"], plain(json!(9000), "env"));
    assert_eq!(json["host"], plain(json!("0.0.0.0"), "default"));
    assert_eq!(
        json["grafana_url"],
        plain(json!("http://localhost:3000"), "default")
    );
    assert_eq!(
        json["prometheus_url"],
        plain(json!("http://localhost:9090"), "default")
    );
    assert_eq!(
        json["jaeger_url"],
        plain(json!("http://localhost:16686"), "default")
    );
    assert_eq!(
        json["kibana_url"],
        plain(json!("http://localhost:5601"), "default")
    );
    assert_eq!(json["otel_enabled"], plain(json!(true), "default"));
    assert_eq!(
        json["otel_exporter_otlp_endpoint"],
        plain(Value::Null, "default")
    );
    assert_eq!(
        json["otel_service_name"],
        plain(json!("taskpilot"), "default")
    );
    assert_eq!(
        json["workflow_interval_seconds"],
        plain(json!(60), "default")
    );
    assert_eq!(json["claim_lease_seconds"], plain(json!(300), "default"));
    assert_eq!(json["tool_timeout_seconds"], plain(json!(30.0), "default"));
    assert_eq!(json["retry_max_attempts"], plain(json!(3), "default"));
    assert_eq!(json["retry_initial_delay"], plain(json!(1.0), "default"));
    assert_eq!(json["retry_backoff_factor"], plain(json!(2.0), "default"));
    assert_eq!(json["retry_max_delay"], plain(json!(60.0), "default"));
    assert_eq!(
        json["notify_webhook_url"],
        plain(json!("http://u:***@hook/x"), "env")
    );
    assert_eq!(
        json["taskpilot_api_tokens"],
        plain(json!("*** (redacted)"), "env")
    );
    assert_eq!(
        json["taskpilot_api_tokens_file"],
        plain(json!("/etc/tokens"), "env")
    );
    assert_eq!(
        json["taskpilot_allowed_origins"],
        plain(json!([]), "default")
    );
    assert_eq!(json["taskpilot_allowed_hosts"], plain(json!([]), "default"));
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
    assert_eq!(
        json["task_store_url"],
        json!({"value": null, "source": "default"})
    );
    assert_eq!(
        json["task_store_backend"],
        json!({"value": "file", "source": "default"})
    );
    assert_eq!(
        json["openai_api_key"],
        json!({"value": null, "source": "default"})
    );
    assert_eq!(
        json["taskpilot_api_tokens"],
        json!({"value": null, "source": "default"})
    );
    assert_eq!(
        json["notify_webhook_url"],
        json!({"value": null, "source": "default"})
    );
    assert_eq!(
        json["taskpilot_api_tokens_file"],
        json!({"value": null, "source": "default"})
    );
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
            Sourced::new(deep.clone(), Source::Default),
            format!(
                "BASE_DIR is unset and neither {} nor a directory above it holds .env or .tasks.json",
                deep.display()
            )
        )
    );
    // A marker that is a directory does not count.
    std::fs::create_dir(project.join(".tasks.json")).expect("mkdir");
    assert_eq!(
        reason(&deep, &[]).0,
        Sourced::new(deep.clone(), Source::Default)
    );
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
            Sourced::new(dir.path().to_owned(), Source::Env),
            "BASE_DIR is set".to_owned()
        )
    );
}

#[test]
fn allowed_origins_and_hosts_are_trimmed_lists_without_empty_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        "TASKPILOT_ALLOWED_HOSTS=\" tasks.example.com,,  ,api.example.com \"\n",
    )
    .expect("write .env");
    let s = resolve(
        dir.path(),
        &[(
            "TASKPILOT_ALLOWED_ORIGINS",
            " https://a.example/ ,, https://b.example:8443//, ,",
        )],
    )
    .expect("settings");
    assert_eq!(
        s.allowed_origins,
        Sourced::new(
            vec![
                "https://a.example".to_owned(),
                "https://b.example:8443".to_owned()
            ],
            Source::Env
        )
    );
    assert_eq!(
        s.allowed_hosts,
        Sourced::new(
            vec!["tasks.example.com".to_owned(), "api.example.com".to_owned()],
            Source::Dotenv
        )
    );
    // Only separators (and a lone `/`): an empty list, still from the environment.
    let s = resolve(dir.path(), &[("TASKPILOT_ALLOWED_ORIGINS", " , / ,")]).expect("settings");
    assert_eq!(s.allowed_origins, Sourced::new(Vec::new(), Source::Env));
}

#[test]
fn aws_variables_merge_the_environment_and_the_dotenv_file_sorted_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        "AWS_SECRET_ACCESS_KEY=from-dotenv-secret\nAWS_ACCESS_KEY_ID=from-dotenv\nAWS_PROFILE=\n\
         AWS_ENDPOINT_URL=http://127.0.0.1:9000\nNOT_AWS_X=1\nAWSX=2\n",
    )
    .expect("write .env");
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
