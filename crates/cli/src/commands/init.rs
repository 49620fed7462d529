//! `taskpilot init`: writes the built-in prompts, policy and guardrails config and a commented
//! `.env.example` so they can be edited. It never overwrites a file without `--force`.
//!
//! Without DIR the files go where TaskPilot reads them: `PROMPTS_DIR`, `POLICIES_DIR`,
//! `GUARDRAILS_CONFIG_DIR` and the base directory (by default all under the base directory).
//! With DIR they go to DIR/prompts, DIR/policies, DIR/guardrails and DIR/.env.example.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use taskpilot_govern::defaults::{self, DefaultDir};

use crate::context::Context;
use crate::exit::usage;

#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Where to write (default: the configured directories under the base directory).
    pub dir: Option<PathBuf>,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

/// Every setting of SPEC section 2 with its default, commented out.
const ENV_EXAMPLE: &str = r"# TaskPilot configuration. Copy this file to `.env` and uncomment what you change.
# Precedence: the process environment, then this .env file, then the default shown here.
# Relative paths are resolved against the base directory; absolute paths are used as is.

# --- where things are -------------------------------------------------------------------
# The base directory (only from the environment; default: the current directory).
# BASE_DIR=
# Another .env file to read instead of <base>/.env (only from the environment).
# ENV_FILE_PATH=.env
# TASKS_FILE=.tasks.json
# Another task store instead of TASKS_FILE: sqlite:///path/tasks.db, postgres://…,
# mysql://…, redis://…, s3://bucket/prefix (default: unset, the JSON file).
# TASK_STORE_URL=
# TASK_STORE_PREFIX=taskpilot
# METRICS_FILE=metrics.json
# TRACES_FILE=traces.jsonl
# DECISION_LOGS_FILE=decision_logs.jsonl
# Logs: LOGS_DIR if set, else DOCKER_LOGS_DIR when it exists and is writable, else logs/.
# LOGS_DIR=logs
# DOCKER_LOGS_DIR=/var/log/taskpilot
# PROMPTS_DIR=prompts
# POLICIES_DIR=policies
# GUARDRAILS_CONFIG_DIR=guardrails
# OBSERVABILITY_DIR=observability

# --- language model ---------------------------------------------------------------------
# openai or offline (default: offline unless OPENAI_API_KEY is set).
# LLM_PROVIDER=
# OPENAI_API_KEY=
# OPENAI_MODEL_ID=gpt-4o-mini
# OPENAI_BASE_URL=https://api.openai.com/v1

# --- server -----------------------------------------------------------------------------
# PORT=8000
# HOST=0.0.0.0
# Bearer tokens for the HTTP API: token:role,… (roles: viewer, operator, reviewer, admin).
# Without tokens `serve` listens on 127.0.0.1 only (unless --allow-open).
# TASKPILOT_API_TOKENS=
# TASKPILOT_API_TOKENS_FILE=
# Origins (https://tasks.example.com) besides the server's own allowed to change state, and
# Host names besides the bind address and loopback names the server answers.
# TASKPILOT_ALLOWED_ORIGINS=
# TASKPILOT_ALLOWED_HOSTS=

# --- observability ----------------------------------------------------------------------
# GRAFANA_URL=http://localhost:3000
# PROMETHEUS_URL=http://localhost:9090
# JAEGER_URL=http://localhost:16686
# KIBANA_URL=http://localhost:5601
# OTEL_ENABLED=true
# OTEL_EXPORTER_OTLP_ENDPOINT=
# OTEL_SERVICE_NAME=taskpilot

# --- workflow ---------------------------------------------------------------------------
# WORKFLOW_INTERVAL_SECONDS=60
# CLAIM_LEASE_SECONDS=300
# TOOL_TIMEOUT_SECONDS=30
# RETRY_MAX_ATTEMPTS=3
# RETRY_INITIAL_DELAY=1.0
# RETRY_BACKOFF_FACTOR=2.0
# RETRY_MAX_DELAY=60
# Where the executor's notifications go: an HTTP endpoint that receives a POST, or (unset)
# notifications.jsonl next to DECISION_LOGS_FILE.
# NOTIFY_WEBHOOK_URL=
";

pub(crate) async fn run(args: InitArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let s = &ctx.settings;
    let (prompts, policies, guardrails, base) = match &args.dir {
        Some(dir) => {
            let dir = if dir.is_absolute() {
                dir.clone()
            } else {
                std::env::current_dir()?.join(dir)
            };
            (
                dir.join("prompts"),
                dir.join("policies"),
                dir.join("guardrails"),
                dir,
            )
        }
        None => (
            s.prompts_dir.value.clone(),
            s.policies_dir.value.clone(),
            s.guardrails_config_dir.value.clone(),
            s.base_dir.value.clone(),
        ),
    };
    let mut files: Vec<(PathBuf, &str)> = defaults::files()
        .iter()
        .map(|f| {
            let dir = match f.dir {
                DefaultDir::Prompts => &prompts,
                DefaultDir::Policies => &policies,
                DefaultDir::Guardrails => &guardrails,
            };
            (dir.join(f.name), f.contents)
        })
        .collect();
    files.push((base.join(".env.example"), ENV_EXAMPLE));

    // Refuse before writing anything, naming every file in the way.
    let existing: Vec<String> = files
        .iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(usage(format!(
            "{} already exist{}: {} (use --force to overwrite)",
            if existing.len() == 1 {
                "this file"
            } else {
                "these files"
            },
            if existing.len() == 1 { "s" } else { "" },
            existing.join(", ")
        )));
    }
    for (path, contents) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!(
        "Edit these files to change the prompts, policy and guardrails; copy .env.example to .env to configure."
    );
    Ok(ExitCode::SUCCESS)
}
