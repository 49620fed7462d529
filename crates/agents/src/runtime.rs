//! [`Runtime`]: everything one process needs to run workflows, built once from the settings —
//! the store, policy, guardrails, prompts, metrics, tracer, decision log, cost tracker, LLM
//! provider and notifier. The CLI builds one per command; the HTTP server builds one at start
//! and shares it behind an `Arc`. Call [`Runtime::shutdown`] before exit.

use std::sync::Arc;
use std::time::Duration;

use taskpilot_config::Settings;
use taskpilot_govern::{Agent, Guardrails, PolicyEngine, Prompt, Prompts};
use taskpilot_observe::{CostTracker, Decision, DecisionLog, Decisions, Metrics, Prices, Tracer};
use taskpilot_store::TaskStore;
use taskpilot_store::shared::RunBook;

use crate::AgentError;
use crate::offline::OfflineProvider;
use crate::openai::OpenAiProvider;
use crate::provider::LlmProvider;
use crate::tools::{Notifier, NotifyTarget};

/// The shared state of the workflow.
pub struct Runtime {
    /// The settings the runtime was built from.
    pub settings: Settings,
    /// Where tasks live.
    pub store: Arc<dyn TaskStore>,
    /// The Rego policy every proposed task and tool call is checked against.
    pub policy: Arc<PolicyEngine>,
    /// The input and output guardrails.
    pub guardrails: Arc<Guardrails>,
    /// The agents' prompts.
    pub prompts: Arc<Prompts>,
    /// Counters and histograms (`METRICS_FILE`).
    pub metrics: Metrics,
    /// Spans (`TRACES_FILE`, and OTLP when enabled).
    pub tracer: Tracer,
    /// The decision log: the shared store's when it keeps one, else `DECISION_LOGS_FILE`.
    pub decisions: Decisions,
    /// Runs in the store (`None` when the backend keeps none).
    pub runs: Option<RunBook>,
    /// LLM cost per model and per run.
    pub cost: CostTracker,
    /// The LLM provider (offline or OpenAI-compatible).
    pub provider: Arc<dyn LlmProvider>,
    /// Delivers the executor's notifications.
    pub notifier: Notifier,
    /// `TOOL_TIMEOUT_SECONDS`.
    pub tool_timeout: Duration,
    /// This process's name as the owner of execution claims (unique per runtime).
    pub worker: String,
    /// `CLAIM_LEASE_SECONDS`: how long an execution claim holds before another worker may
    /// take the task over.
    pub claim_lease: Duration,
    /// The current prompt of each agent, in [`Agent::ALL`] order.
    current_prompts: [Prompt; 3],
    notice: Option<String>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("store", &self.store.describe())
            .field("provider", &self.provider.name())
            .field("model", &self.provider.model())
            .finish_non_exhaustive()
    }
}

/// Which provider the settings select, and the one-time notice to show when it was defaulted.
pub fn select_provider(
    settings: &Settings,
) -> Result<(Arc<dyn LlmProvider>, Option<String>), AgentError> {
    let has_key = settings
        .openai_api_key
        .value
        .as_ref()
        .is_some_and(|k| !k.expose().trim().is_empty());
    match settings.llm_provider.value.as_deref() {
        Some("openai") => Ok((Arc::new(OpenAiProvider::from_settings(settings)?), None)),
        Some(_) => Ok((Arc::new(OfflineProvider::new()), None)),
        None if has_key => Ok((Arc::new(OpenAiProvider::from_settings(settings)?), None)),
        None => Ok((
            Arc::new(OfflineProvider::new()),
            Some(
                "note: OPENAI_API_KEY is not set, so TaskPilot uses the offline provider \
                 (deterministic local agents, see docs/AGENTS.md); set OPENAI_API_KEY or \
                 LLM_PROVIDER=openai to use an OpenAI-compatible endpoint"
                    .to_owned(),
            ),
        )),
    }
}

impl Runtime {
    /// Builds everything from the settings. Fails (naming the file, variable or URL) when the
    /// store cannot be opened, a policy, guardrail or prompt file is wrong, the decision log
    /// cannot be opened, or `LLM_PROVIDER=openai` has no `OPENAI_API_KEY`.
    pub async fn from_settings(settings: &Settings) -> Result<Runtime, AgentError> {
        let (provider, notice) = select_provider(settings)?;
        let store = taskpilot_store::open_configured(settings).await?;
        let (policies, guard_dir, prompts_dir) = (
            settings.policies_dir.value.clone(),
            settings.guardrails_config_dir.value.clone(),
            settings.prompts_dir.value.clone(),
        );
        let prices_file = settings.observability_dir.value.join("prices.json");
        let loaded = tokio::task::spawn_blocking(move || {
            Ok::<_, AgentError>((
                PolicyEngine::load(&policies)?,
                Guardrails::load(&guard_dir)?,
                Prompts::load(&prompts_dir)?,
                Prices::load(&prices_file)?,
            ))
        })
        .await
        .map_err(|e| AgentError::Internal {
            what: "loading governance files",
            message: e.to_string(),
        })?;
        let (policy, guardrails, prompts, prices) = loaded?;
        let current_prompts = [
            prompts.prompt(Agent::Planner, None)?,
            prompts.prompt(Agent::Reviewer, None)?,
            prompts.prompt(Agent::Executor, None)?,
        ];
        let metrics = Metrics::open(settings.metrics_file.value.clone());
        let tracer = Tracer::from_settings(
            &settings.traces_file.value,
            settings.otel_enabled.value,
            settings.otel_exporter_otlp_endpoint.value.as_deref(),
            &settings.otel_service_name.value,
            &metrics,
        );
        let decisions = crate::audit::decisions_for(
            &store,
            DecisionLog::open(settings.decision_logs_file.value.clone())?,
        );
        let runs = RunBook::of(store.clone());
        let cost = CostTracker::new(metrics.clone(), prices);
        let tool_timeout = Duration::from_secs_f64(settings.tool_timeout_seconds.value);
        let target = match settings.notify_webhook_url.value.as_deref() {
            Some(url) => NotifyTarget::Webhook(url.trim().to_owned()),
            // Next to the decision log: the data directory (`/data` in containers), which is
            // writable wherever TaskPilot keeps its records.
            None => NotifyTarget::File(
                settings
                    .decision_logs_file
                    .value
                    .parent()
                    .unwrap_or(&settings.base_dir.value)
                    .join("notifications.jsonl"),
            ),
        };
        Ok(Runtime {
            settings: settings.clone(),
            store,
            policy: Arc::new(policy),
            guardrails: Arc::new(guardrails),
            prompts: Arc::new(prompts),
            metrics,
            tracer,
            decisions,
            runs,
            cost,
            provider,
            notifier: Notifier::new(target, tool_timeout)?,
            tool_timeout,
            worker: format!(
                "worker-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
            claim_lease: Duration::from_secs(settings.claim_lease_seconds.value),
            current_prompts,
            notice,
        })
    }

    /// Replaces the provider (tests, or a caller with its own client).
    pub fn with_provider(mut self, provider: Arc<dyn LlmProvider>) -> Runtime {
        self.provider = provider;
        self.notice = None;
        self
    }

    /// Replaces the notification target.
    pub fn with_notifier(mut self, notifier: Notifier) -> Runtime {
        self.notifier = notifier;
        self
    }

    /// The one-time notice for people (the offline provider was chosen because no key is
    /// set); `None` when there is nothing to say. Print it once per process.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// The current prompt of `agent`.
    pub fn prompt(&self, agent: Agent) -> &Prompt {
        match agent {
            Agent::Planner => &self.current_prompts[0],
            Agent::Reviewer => &self.current_prompts[1],
            Agent::Executor => &self.current_prompts[2],
        }
    }

    /// Every logged decision about `task_id`: the decisions of each run (request id) that
    /// touched the task, oldest first — the policy's and the reviewer's reasons for the review
    /// queue.
    pub async fn decisions_for_task(&self, task_id: &str) -> Result<Vec<Decision>, AgentError> {
        Ok(self.decisions.for_task(task_id).await?)
    }

    /// Flushes metrics to `METRICS_FILE`, waits (up to 3 s) for spans queued for OTLP, and
    /// closes the store (the file store folds its journal into `.tasks.json`). The decision log
    /// needs nothing: every decision is on disk when it is recorded.
    pub async fn shutdown(&self) -> Result<(), AgentError> {
        let closed = self.store.close().await;
        let flushed = self.metrics.flush_async().await;
        let tracer = self.tracer.clone();
        let _ = tokio::task::spawn_blocking(move || tracer.shutdown(Duration::from_secs(3))).await;
        flushed?;
        closed?;
        Ok(())
    }
}
