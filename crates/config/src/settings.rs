//! The resolved settings of SPEC section 2 and the table `taskpilot config` prints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::redact::redact_url;
use crate::{ConfigError, Secret, Source, Sourced, dotenv};

/// The Docker logs directory used when neither `LOGS_DIR` nor `DOCKER_LOGS_DIR` is set.
pub(crate) const DEFAULT_DOCKER_LOGS_DIR: &str = "/var/log/taskpilot";

/// Every setting TaskPilot reads, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `BASE_DIR`: the project directory every relative path below is resolved against.
    pub base_dir: Sourced<PathBuf>,
    /// Why `base_dir` is what it is, in a sentence (`taskpilot config` prints it).
    pub base_dir_reason: String,
    /// `ENV_FILE_PATH`: the `.env` file read (the base directory's by default).
    pub env_file_path: Sourced<PathBuf>,
    /// `TASKS_FILE`: the JSON task file, the default store.
    pub tasks_file: Sourced<PathBuf>,
    /// `METRICS_FILE`: where counters and histograms persist between processes.
    pub metrics_file: Sourced<PathBuf>,
    /// `TRACES_FILE`: the spans of every run, one JSON line each.
    pub traces_file: Sourced<PathBuf>,
    /// `DECISION_LOGS_FILE`: the audit trail of every decision, one JSON line each.
    pub decision_logs_file: Sourced<PathBuf>,
    /// `LOGS_DIR`: where the JSON logs are written.
    pub logs_dir: Sourced<PathBuf>,
    /// `DOCKER_LOGS_DIR`: the logs directory used in containers.
    pub docker_logs_dir: Sourced<PathBuf>,
    /// `PROMPTS_DIR`: prompt overrides (the built-in prompts otherwise).
    pub prompts_dir: Sourced<PathBuf>,
    /// `POLICIES_DIR`: Rego policy overrides (the built-in policy otherwise).
    pub policies_dir: Sourced<PathBuf>,
    /// `GUARDRAILS_CONFIG_DIR`: guardrail rule overrides (the built-in rules otherwise).
    pub guardrails_config_dir: Sourced<PathBuf>,
    /// `OBSERVABILITY_DIR`: observability configuration (the model prices).
    pub observability_dir: Sourced<PathBuf>,
    /// `TASK_STORE_URL`; unset means the JSON file at `tasks_file`.
    pub task_store_url: Sourced<Option<Secret>>,
    /// `TASK_STORE_PREFIX`: the key prefix of a Redis store (a `?prefix=` in the URL wins).
    pub task_store_prefix: Sourced<String>,
    /// Every `AWS_*` variable (environment first, then `.env`), sorted by name: the S3
    /// backend's endpoint, credentials and region.
    pub aws_variables: Vec<(String, Secret)>,
    /// `LLM_PROVIDER`: `openai`, `offline`, or unset (offline unless a key is set).
    pub llm_provider: Sourced<Option<String>>,
    /// `OPENAI_API_KEY`: the key for the OpenAI-compatible provider.
    pub openai_api_key: Sourced<Option<Secret>>,
    /// `OPENAI_MODEL_ID`: the model the agents ask.
    pub openai_model_id: Sourced<String>,
    /// `OPENAI_BASE_URL`: the OpenAI-compatible endpoint.
    pub openai_base_url: Sourced<String>,
    /// `PORT`: the HTTP server's port.
    pub port: Sourced<u16>,
    /// `HOST`: the address the HTTP server binds.
    pub host: Sourced<String>,
    /// `GRAFANA_URL`: a link the server shows.
    pub grafana_url: Sourced<String>,
    /// `PROMETHEUS_URL`: a link the server shows.
    pub prometheus_url: Sourced<String>,
    /// `JAEGER_URL`: a link the server shows (where exported traces can be browsed).
    pub jaeger_url: Sourced<String>,
    /// `KIBANA_URL`: a link the server shows (where the JSON logs can be searched).
    pub kibana_url: Sourced<String>,
    /// `OTEL_ENABLED`: export spans over OTLP (when an endpoint is set) besides `TRACES_FILE`.
    pub otel_enabled: Sourced<bool>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the OTLP/HTTP collector.
    pub otel_exporter_otlp_endpoint: Sourced<Option<String>>,
    /// `OTEL_SERVICE_NAME`: the service name on exported spans.
    pub otel_service_name: Sourced<String>,
    /// `WORKFLOW_INTERVAL_SECONDS`: how often the server executes approved tasks.
    pub workflow_interval_seconds: Sourced<u64>,
    /// `CLAIM_LEASE_SECONDS`: how long a worker's claim on an approved task holds before
    /// another worker may take the execution over.
    pub claim_lease_seconds: Sourced<u64>,
    /// `TOOL_TIMEOUT_SECONDS`: the bound on each tool call and each LLM request attempt.
    pub tool_timeout_seconds: Sourced<f64>,
    /// `RETRY_MAX_ATTEMPTS`: attempts of a retried call, the first included.
    pub retry_max_attempts: Sourced<u32>,
    /// `RETRY_INITIAL_DELAY`: seconds before the first retry.
    pub retry_initial_delay: Sourced<f64>,
    /// `RETRY_BACKOFF_FACTOR`: each retry waits this many times longer.
    pub retry_backoff_factor: Sourced<f64>,
    /// `RETRY_MAX_DELAY`: the longest wait between retries, in seconds.
    pub retry_max_delay: Sourced<f64>,
    /// `NOTIFY_WEBHOOK_URL`: where the executor's `notify_external_system` POSTs; unset means
    /// the notification is appended to `notifications.jsonl` next to `DECISION_LOGS_FILE`.
    pub notify_webhook_url: Sourced<Option<String>>,
    /// `TASKPILOT_API_TOKENS`: `token:role,…` for the HTTP API.
    pub api_tokens: Sourced<Option<Secret>>,
    /// `TASKPILOT_API_TOKENS_FILE`: a file of `token:role` lines for the HTTP API.
    pub api_tokens_file: Sourced<Option<PathBuf>>,
    /// `TASKPILOT_ALLOWED_ORIGINS`: origins (`https://tasks.example.com`) besides the server's
    /// own whose pages may call the state-changing routes, comma-separated.
    pub allowed_origins: Sourced<Vec<String>>,
    /// `TASKPILOT_ALLOWED_HOSTS`: `Host` names besides the bind address and the loopback
    /// names that the server answers (DNS-rebinding defence), comma-separated.
    pub allowed_hosts: Sourced<Vec<String>>,
    /// Problems that do not stop TaskPilot (a `${NAME}` in `.env` naming nothing), for the
    /// caller to print.
    pub warnings: Vec<String>,
}

/// Where the tasks live: the JSON file, or another backend's URL.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreLocation {
    /// The JSON file store at this path (`TASKS_FILE`).
    File(PathBuf),
    /// Another backend, by URL (`TASK_STORE_URL`; it may hold a password).
    Url(Secret),
}

/// Whether a path exists and whether this process could write it (or create it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStatus {
    /// Whether the path exists now.
    pub exists: bool,
    /// Whether this process could write it, or create it in its directory.
    pub writable: bool,
}

/// One row of `taskpilot config`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The lower-case variable name (`tasks_file`).
    pub key: &'static str,
    /// The value as shown: secrets redacted, paths absolute.
    pub value: Value,
    /// Where the value came from.
    pub source: Source,
    /// For paths: whether they exist and are writable.
    pub path: Option<PathStatus>,
}

/// Looks a variable up in the environment, then the `.env` file.
struct Lookup<'a> {
    env: &'a HashMap<String, String>,
    dotenv: HashMap<String, String>,
    base: PathBuf,
}

impl Lookup<'_> {
    fn raw(&self, name: &str) -> Option<(String, Source)> {
        let non_empty = |v: &String| !v.trim().is_empty();
        if let Some(v) = self.env.get(name).filter(|v| non_empty(v)) {
            return Some((v.clone(), Source::Env));
        }
        self.dotenv
            .get(name)
            .filter(|v| non_empty(v))
            .map(|v| (v.clone(), Source::Dotenv))
    }

    /// Every non-empty variable whose name starts with `prefix`, sorted by name.
    fn with_prefix(&self, prefix: &str) -> Vec<(String, Secret)> {
        let mut names: Vec<&String> = self
            .env
            .keys()
            .chain(self.dotenv.keys())
            .filter(|k| k.starts_with(prefix))
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter_map(|name| {
                self.raw(name)
                    .map(|(value, _)| (name.clone(), Secret::new(value)))
            })
            .collect()
    }

    fn string(&self, name: &str, default: &str) -> Sourced<String> {
        match self.raw(name) {
            Some((v, source)) => Sourced::new(v, source),
            None => Sourced::new(default.to_owned(), Source::Default),
        }
    }

    fn optional(&self, name: &str) -> Sourced<Option<String>> {
        match self.raw(name) {
            Some((v, source)) => Sourced::new(Some(v), source),
            None => Sourced::new(None, Source::Default),
        }
    }

    /// A comma-separated list, entries trimmed, empty ones dropped.
    fn list(&self, name: &str) -> Sourced<Vec<String>> {
        let s = self.optional(name);
        let items = s.value.map_or_else(Vec::new, |v| {
            v.split(',')
                .map(|e| e.trim().trim_end_matches('/').to_owned())
                .filter(|e| !e.is_empty())
                .collect()
        });
        Sourced::new(items, s.source)
    }

    fn secret(&self, name: &str) -> Sourced<Option<Secret>> {
        let s = self.optional(name);
        Sourced::new(s.value.map(Secret::new), s.source)
    }

    fn path(&self, name: &str, default: &str) -> Sourced<PathBuf> {
        match self.raw(name) {
            Some((v, source)) => Sourced::new(absolute(&self.base, Path::new(v.trim())), source),
            None => Sourced::new(self.base.join(default), Source::Default),
        }
    }

    fn optional_path(&self, name: &str) -> Sourced<Option<PathBuf>> {
        let s = self.optional(name);
        Sourced::new(
            s.value.map(|v| absolute(&self.base, Path::new(v.trim()))),
            s.source,
        )
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &'static str,
        valid: impl Fn(&T) -> bool,
    ) -> Result<Sourced<T>, ConfigError> {
        match self.raw(name) {
            None => Ok(Sourced::new(default, Source::Default)),
            Some((v, source)) => match v.trim().parse::<T>() {
                Ok(parsed) if valid(&parsed) => Ok(Sourced::new(parsed, source)),
                _ => Err(ConfigError::Invalid {
                    name,
                    value: v,
                    origin: source,
                    expected,
                }),
            },
        }
    }

    fn boolean(&self, name: &'static str, default: bool) -> Result<Sourced<bool>, ConfigError> {
        match self.raw(name) {
            None => Ok(Sourced::new(default, Source::Default)),
            Some((v, source)) => match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(Sourced::new(true, source)),
                "0" | "false" | "no" | "off" => Ok(Sourced::new(false, source)),
                _ => Err(ConfigError::Invalid {
                    name,
                    value: v,
                    origin: source,
                    expected: "true or false",
                }),
            },
        }
    }
}

/// Files that mark a directory as a TaskPilot base directory, looked for upwards from the
/// current directory as git looks for `.git`.
pub(crate) const BASE_DIR_MARKERS: [&str; 2] = [".env", ".tasks.json"];

/// `BASE_DIR`, else the nearest directory from `cwd` upwards holding one of
/// [`BASE_DIR_MARKERS`], else `cwd`; with the reason in a sentence.
fn find_base_dir(env: &HashMap<String, String>, cwd: &Path) -> (Sourced<PathBuf>, String) {
    if let Some(v) = env.get("BASE_DIR").filter(|v| !v.trim().is_empty()) {
        return (
            Sourced::new(absolute(cwd, Path::new(v.trim())), Source::Env),
            "BASE_DIR is set".to_owned(),
        );
    }
    for dir in cwd.ancestors() {
        for marker in BASE_DIR_MARKERS {
            // `exists` follows symlinks; a marker that is a directory does not count.
            if dir.join(marker).is_file() {
                let reason = if dir == cwd {
                    format!("the current directory holds {marker}")
                } else {
                    format!(
                        "{} holds {marker} (nearest such directory above the current directory {})",
                        dir.display(),
                        cwd.display()
                    )
                };
                return (Sourced::new(dir.to_owned(), Source::Discovered), reason);
            }
        }
    }
    (
        Sourced::new(cwd.to_owned(), Source::Default),
        format!(
            "BASE_DIR is unset and neither {} nor a directory above it holds .env or .tasks.json",
            cwd.display()
        ),
    )
}

impl Settings {
    /// Resolves the settings of this process: its environment and current directory.
    pub fn from_process() -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let cwd = std::env::current_dir().map_err(ConfigError::NoCurrentDir)?;
        Settings::resolve(&env, &cwd)
    }

    /// Resolves the settings from an explicit environment and working directory.
    pub fn resolve(env: &HashMap<String, String>, cwd: &Path) -> Result<Settings, ConfigError> {
        let (base_dir, base_dir_reason) = find_base_dir(env, cwd);
        let base = base_dir.value.clone();
        let env_file_path = match env.get("ENV_FILE_PATH").filter(|v| !v.trim().is_empty()) {
            Some(v) => Sourced::new(absolute(&base, Path::new(v.trim())), Source::Env),
            None => Sourced::new(base.join(".env"), Source::Default),
        };
        let explicit = env_file_path.source == Source::Env;
        let dotenv = dotenv::read(&env_file_path.value, explicit, env)?;
        let warnings = dotenv.warnings;
        let l = Lookup {
            env,
            dotenv: dotenv.vars,
            base,
        };

        let docker_logs_dir = l.path("DOCKER_LOGS_DIR", "");
        let docker_logs_dir = if docker_logs_dir.source == Source::Default {
            Sourced::new(PathBuf::from(DEFAULT_DOCKER_LOGS_DIR), Source::Default)
        } else {
            docker_logs_dir
        };
        let logs_dir = match l.raw("LOGS_DIR") {
            Some(_) => l.path("LOGS_DIR", "logs"),
            None if is_writable_dir(&docker_logs_dir.value) => {
                Sourced::new(docker_logs_dir.value.clone(), Source::DockerLogsDir)
            }
            None => Sourced::new(l.base.join("logs"), Source::Default),
        };

        Ok(Settings {
            tasks_file: l.path("TASKS_FILE", ".tasks.json"),
            metrics_file: l.path("METRICS_FILE", "metrics.json"),
            traces_file: l.path("TRACES_FILE", "traces.jsonl"),
            decision_logs_file: l.path("DECISION_LOGS_FILE", "decision_logs.jsonl"),
            logs_dir,
            docker_logs_dir,
            prompts_dir: l.path("PROMPTS_DIR", "prompts"),
            policies_dir: l.path("POLICIES_DIR", "policies"),
            guardrails_config_dir: l.path("GUARDRAILS_CONFIG_DIR", "guardrails"),
            observability_dir: l.path("OBSERVABILITY_DIR", "observability"),
            task_store_url: l.secret("TASK_STORE_URL"),
            task_store_prefix: l.string("TASK_STORE_PREFIX", "taskpilot"),
            aws_variables: l.with_prefix("AWS_"),
            llm_provider: {
                let p = l.optional("LLM_PROVIDER");
                match p.value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
                    None => p,
                    Some(v) if v == "openai" || v == "offline" => Sourced::new(Some(v), p.source),
                    Some(_) => {
                        return Err(ConfigError::Invalid {
                            name: "LLM_PROVIDER",
                            value: p.value.unwrap_or_default(),
                            origin: p.source,
                            expected: "openai or offline",
                        });
                    }
                }
            },
            openai_api_key: l.secret("OPENAI_API_KEY"),
            openai_model_id: l.string("OPENAI_MODEL_ID", "gpt-4o-mini"),
            openai_base_url: l.string("OPENAI_BASE_URL", "https://api.openai.com/v1"),
            port: l.parsed("PORT", 8000, "a port number from 1 to 65535", |p| *p > 0)?,
            host: l.string("HOST", "0.0.0.0"),
            grafana_url: l.string("GRAFANA_URL", "http://localhost:3000"),
            prometheus_url: l.string("PROMETHEUS_URL", "http://localhost:9090"),
            jaeger_url: l.string("JAEGER_URL", "http://localhost:16686"),
            kibana_url: l.string("KIBANA_URL", "http://localhost:5601"),
            otel_enabled: l.boolean("OTEL_ENABLED", true)?,
            otel_exporter_otlp_endpoint: l.optional("OTEL_EXPORTER_OTLP_ENDPOINT"),
            otel_service_name: l.string("OTEL_SERVICE_NAME", "taskpilot"),
            workflow_interval_seconds: l.parsed(
                "WORKFLOW_INTERVAL_SECONDS",
                60,
                "a whole number of seconds of at least 1",
                |s| *s >= 1,
            )?,
            claim_lease_seconds: l.parsed(
                "CLAIM_LEASE_SECONDS",
                300,
                "a whole number of seconds of at least 1",
                |s| *s >= 1,
            )?,
            tool_timeout_seconds: l.parsed(
                "TOOL_TIMEOUT_SECONDS",
                30.0,
                "a positive number of seconds",
                |s: &f64| s.is_finite() && *s > 0.0,
            )?,
            retry_max_attempts: l.parsed(
                "RETRY_MAX_ATTEMPTS",
                3,
                "a whole number from 1 to 100",
                |n| (1..=100).contains(n),
            )?,
            retry_initial_delay: l.parsed(
                "RETRY_INITIAL_DELAY",
                1.0,
                "a number of seconds of at least 0",
                |s: &f64| s.is_finite() && *s >= 0.0,
            )?,
            retry_backoff_factor: l.parsed(
                "RETRY_BACKOFF_FACTOR",
                2.0,
                "a number of at least 1",
                |s: &f64| s.is_finite() && *s >= 1.0,
            )?,
            retry_max_delay: l.parsed(
                "RETRY_MAX_DELAY",
                60.0,
                "a number of seconds of at least 0",
                |s: &f64| s.is_finite() && *s >= 0.0,
            )?,
            notify_webhook_url: l.optional("NOTIFY_WEBHOOK_URL"),
            api_tokens: l.secret("TASKPILOT_API_TOKENS"),
            api_tokens_file: l.optional_path("TASKPILOT_API_TOKENS_FILE"),
            allowed_origins: l.list("TASKPILOT_ALLOWED_ORIGINS"),
            allowed_hosts: l.list("TASKPILOT_ALLOWED_HOSTS"),
            warnings,
            env_file_path,
            base_dir,
            base_dir_reason,
        })
    }

    /// Where the tasks are stored.
    pub fn store_location(&self) -> StoreLocation {
        match &self.task_store_url.value {
            Some(url) => StoreLocation::Url(url.clone()),
            None => StoreLocation::File(self.tasks_file.value.clone()),
        }
    }

    /// The store as shown to people: the file path, or the URL with its password hidden.
    pub fn store_display(&self) -> String {
        match self.store_location() {
            StoreLocation::File(path) => format!("file://{}", path.display()),
            StoreLocation::Url(url) => redact_url(url.expose()),
        }
    }

    /// The name of the active store backend (`file`, `sqlite`, `postgres`, …).
    pub fn store_backend(&self) -> String {
        match self.store_location() {
            StoreLocation::File(_) => "file".to_owned(),
            StoreLocation::Url(url) => url
                .expose()
                .split_once("://")
                .map_or("unknown", |(scheme, _)| scheme)
                .to_owned(),
        }
    }

    /// Every setting as a row of `taskpilot config`, in a stable order.
    pub fn entries(&self) -> Vec<Entry> {
        let mut rows = Vec::new();
        let mut path = |key, s: &Sourced<PathBuf>| {
            rows.push(Entry {
                key,
                value: json!(s.value.display().to_string()),
                source: s.source,
                path: Some(path_status(&s.value)),
            });
        };
        path("base_dir", &self.base_dir);
        path("env_file_path", &self.env_file_path);
        path("tasks_file", &self.tasks_file);
        path("metrics_file", &self.metrics_file);
        path("traces_file", &self.traces_file);
        path("decision_logs_file", &self.decision_logs_file);
        path("logs_dir", &self.logs_dir);
        path("docker_logs_dir", &self.docker_logs_dir);
        path("prompts_dir", &self.prompts_dir);
        path("policies_dir", &self.policies_dir);
        path("guardrails_config_dir", &self.guardrails_config_dir);
        path("observability_dir", &self.observability_dir);
        let value = |key, value: Value, source| Entry {
            key,
            value,
            source,
            path: None,
        };
        let secret = |s: &Option<Secret>| s.as_ref().map_or(Value::Null, |s| json!(s.redacted()));
        rows.extend([
            value(
                "task_store_url",
                self.task_store_url
                    .value
                    .as_ref()
                    .map_or(Value::Null, |u| json!(redact_url(u.expose()))),
                self.task_store_url.source,
            ),
            value(
                "task_store_backend",
                json!(self.store_backend()),
                self.task_store_url.source,
            ),
            value(
                "task_store_prefix",
                json!(self.task_store_prefix.value),
                self.task_store_prefix.source,
            ),
            value(
                "llm_provider",
                json!(self.llm_provider.value),
                self.llm_provider.source,
            ),
            value(
                "openai_api_key",
                secret(&self.openai_api_key.value),
                self.openai_api_key.source,
            ),
            value(
                "openai_model_id",
                json!(self.openai_model_id.value),
                self.openai_model_id.source,
            ),
            value(
                "openai_base_url",
                json!(redact_url(&self.openai_base_url.value)),
                self.openai_base_url.source,
            ),
            value("port", json!(self.port.value), self.port.source),
            value("host", json!(self.host.value), self.host.source),
            value(
                "grafana_url",
                json!(redact_url(&self.grafana_url.value)),
                self.grafana_url.source,
            ),
            value(
                "prometheus_url",
                json!(redact_url(&self.prometheus_url.value)),
                self.prometheus_url.source,
            ),
            value(
                "jaeger_url",
                json!(redact_url(&self.jaeger_url.value)),
                self.jaeger_url.source,
            ),
            value(
                "kibana_url",
                json!(redact_url(&self.kibana_url.value)),
                self.kibana_url.source,
            ),
            value(
                "otel_enabled",
                json!(self.otel_enabled.value),
                self.otel_enabled.source,
            ),
            value(
                "otel_exporter_otlp_endpoint",
                json!(
                    self.otel_exporter_otlp_endpoint
                        .value
                        .as_deref()
                        .map(redact_url)
                ),
                self.otel_exporter_otlp_endpoint.source,
            ),
            value(
                "otel_service_name",
                json!(self.otel_service_name.value),
                self.otel_service_name.source,
            ),
            value(
                "workflow_interval_seconds",
                json!(self.workflow_interval_seconds.value),
                self.workflow_interval_seconds.source,
            ),
            value(
                "claim_lease_seconds",
                json!(self.claim_lease_seconds.value),
                self.claim_lease_seconds.source,
            ),
            value(
                "tool_timeout_seconds",
                json!(self.tool_timeout_seconds.value),
                self.tool_timeout_seconds.source,
            ),
            value(
                "retry_max_attempts",
                json!(self.retry_max_attempts.value),
                self.retry_max_attempts.source,
            ),
            value(
                "retry_initial_delay",
                json!(self.retry_initial_delay.value),
                self.retry_initial_delay.source,
            ),
            value(
                "retry_backoff_factor",
                json!(self.retry_backoff_factor.value),
                self.retry_backoff_factor.source,
            ),
            value(
                "retry_max_delay",
                json!(self.retry_max_delay.value),
                self.retry_max_delay.source,
            ),
            value(
                "notify_webhook_url",
                json!(self.notify_webhook_url.value.as_deref().map(redact_url)),
                self.notify_webhook_url.source,
            ),
            value(
                "taskpilot_api_tokens",
                secret(&self.api_tokens.value),
                self.api_tokens.source,
            ),
            value(
                "taskpilot_allowed_origins",
                json!(self.allowed_origins.value),
                self.allowed_origins.source,
            ),
            value(
                "taskpilot_allowed_hosts",
                json!(self.allowed_hosts.value),
                self.allowed_hosts.source,
            ),
            value(
                "taskpilot_api_tokens_file",
                json!(
                    self.api_tokens_file
                        .value
                        .as_ref()
                        .map(|p| p.display().to_string())
                ),
                self.api_tokens_file.source,
            ),
        ]);
        rows
    }

    /// `taskpilot config --json`: one object keyed by the lower-case variable name.
    pub fn to_json(&self) -> Value {
        let mut object = serde_json::Map::new();
        for entry in self.entries() {
            let mut item = json!({ "value": entry.value, "source": entry.source });
            if let Some(status) = entry.path {
                item["exists"] = json!(status.exists);
                item["writable"] = json!(status.writable);
            }
            object.insert(entry.key.to_owned(), item);
        }
        Value::Object(object)
    }
}

/// `path` made absolute against `base` (an absolute path is used as is).
fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

/// Whether `path` exists, and whether it (or, when it does not exist yet, the nearest existing
/// directory above it, where it would be created) is writable by this process.
pub fn path_status(path: &Path) -> PathStatus {
    let exists = path.exists();
    let probe = if exists {
        Some(path)
    } else {
        path.ancestors().skip(1).find(|p| p.exists())
    };
    let writable = probe.is_some_and(|p| {
        rustix::fs::access(p, rustix::fs::Access::WRITE_OK).is_ok() && (p == path || p.is_dir())
    });
    PathStatus { exists, writable }
}

fn is_writable_dir(path: &Path) -> bool {
    path.is_dir() && rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_base_dir_is_the_nearest_directory_upwards_with_env_or_tasks_json() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        let deep = project.join("src").join("deep");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(project.join(".tasks.json"), "{}\n").unwrap();
        let s = Settings::resolve(&env(&[]), &deep).unwrap();
        assert_eq!(s.base_dir.value, project);
        assert_eq!(s.base_dir.source, Source::Discovered);
        assert!(
            s.base_dir_reason.contains(".tasks.json"),
            "{}",
            s.base_dir_reason
        );
        assert_eq!(s.tasks_file.value, project.join(".tasks.json"));
        std::fs::write(project.join("src").join(".env"), "PORT=9123\n").unwrap();
        let s = Settings::resolve(&env(&[]), &deep).unwrap();
        assert_eq!(s.base_dir.value, project.join("src"));
        assert_eq!(s.port.value, 9123);
        let s =
            Settings::resolve(&env(&[("BASE_DIR", dir.path().to_str().unwrap())]), &deep).unwrap();
        assert_eq!(s.base_dir.value, dir.path());
        assert_eq!(s.base_dir.source, Source::Env);
    }

    #[test]
    fn defaults_live_under_the_current_directory() {
        let dir = tempfile::tempdir().unwrap();
        let s =
            Settings::resolve(&env(&[("DOCKER_LOGS_DIR", "/nonexistent/x")]), dir.path()).unwrap();
        assert_eq!(s.base_dir.value, dir.path());
        assert_eq!(s.tasks_file.value, dir.path().join(".tasks.json"));
        assert_eq!(s.tasks_file.source, Source::Default);
        assert_eq!(s.logs_dir.value, dir.path().join("logs"));
        assert_eq!(s.port.value, 8000);
        assert_eq!(s.openai_model_id.value, "gpt-4o-mini");
        assert_eq!(s.store_backend(), "file");
    }

    #[test]
    fn env_beats_dotenv_beats_default_and_relative_paths_use_the_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "TASKS_FILE=data/t.json\nPORT=9000\nHOST=127.0.0.1\n",
        )
        .unwrap();
        let s = Settings::resolve(
            &env(&[("PORT", "9100"), ("BASE_DIR", dir.path().to_str().unwrap())]),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(s.port, Sourced::new(9100, Source::Env));
        assert_eq!(s.host, Sourced::new("127.0.0.1".to_owned(), Source::Dotenv));
        assert_eq!(
            s.tasks_file,
            Sourced::new(dir.path().join("data/t.json"), Source::Dotenv)
        );
        assert_eq!(s.metrics_file.value, dir.path().join("metrics.json"));
    }

    #[test]
    fn env_file_path_names_another_dotenv_and_absolute_paths_stay() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("prod.env"),
            "TRACES_FILE=/data/traces.jsonl\n",
        )
        .unwrap();
        let s = Settings::resolve(&env(&[("ENV_FILE_PATH", "prod.env")]), dir.path()).unwrap();
        assert_eq!(
            s.traces_file,
            Sourced::new(PathBuf::from("/data/traces.jsonl"), Source::Dotenv)
        );
    }

    #[test]
    fn logs_dir_rule() {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("docker-logs");
        std::fs::create_dir(&docker).unwrap();
        let docker_str = docker.to_str().unwrap();
        let s = Settings::resolve(&env(&[("DOCKER_LOGS_DIR", docker_str)]), dir.path()).unwrap();
        assert_eq!(
            s.logs_dir,
            Sourced::new(docker.clone(), Source::DockerLogsDir)
        );
        let s = Settings::resolve(
            &env(&[("DOCKER_LOGS_DIR", docker_str), ("LOGS_DIR", "mine")]),
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            s.logs_dir,
            Sourced::new(dir.path().join("mine"), Source::Env)
        );
        std::fs::remove_dir(&docker).unwrap();
        let s = Settings::resolve(&env(&[("DOCKER_LOGS_DIR", docker_str)]), dir.path()).unwrap();
        assert_eq!(
            s.logs_dir,
            Sourced::new(dir.path().join("logs"), Source::Default)
        );
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in [
            ("PORT", "abc"),
            ("PORT", "70000"),
            ("RETRY_MAX_ATTEMPTS", "-1"),
            ("OTEL_ENABLED", "maybe"),
            ("TOOL_TIMEOUT_SECONDS", "nan"),
            ("LLM_PROVIDER", "claude"),
            ("CLAIM_LEASE_SECONDS", "0"),
            ("CLAIM_LEASE_SECONDS", "soon"),
        ] {
            let err = Settings::resolve(&env(&[(name, value)]), dir.path())
                .unwrap_err()
                .to_string();
            assert!(err.contains(name) && err.contains(value), "{err}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_every_output() {
        let dir = tempfile::tempdir().unwrap();
        let key = "sk-test-1234567890abcdef";
        let s = Settings::resolve(
            &env(&[
                ("OPENAI_API_KEY", key),
                ("TASK_STORE_URL", "postgres://app:hunter2@db:5432/tasks"),
            ]),
            dir.path(),
        )
        .unwrap();
        let json = s.to_json().to_string();
        assert!(!json.contains(key) && !json.contains("hunter2"), "{json}");
        assert!(json.contains("postgres://app:***@db:5432/tasks"), "{json}");
        assert!(!format!("{s:?}").contains(key));
        assert_eq!(s.store_backend(), "postgres");
    }

    #[test]
    fn json_has_every_setting_with_value_and_source() {
        let dir = tempfile::tempdir().unwrap();
        let json = Settings::resolve(&env(&[]), dir.path()).unwrap().to_json();
        for key in [
            "base_dir",
            "tasks_file",
            "metrics_file",
            "traces_file",
            "decision_logs_file",
            "logs_dir",
            "prompts_dir",
            "policies_dir",
            "guardrails_config_dir",
            "observability_dir",
            "port",
            "host",
            "openai_api_key",
            "openai_model_id",
            "otel_service_name",
            "workflow_interval_seconds",
            "retry_max_delay",
        ] {
            assert!(json[key].get("value").is_some(), "{key} missing");
            assert!(json[key]["source"].is_string(), "{key} source");
        }
        assert_eq!(json["tasks_file"]["exists"], false);
        assert_eq!(json["tasks_file"]["writable"], true);
    }
}
