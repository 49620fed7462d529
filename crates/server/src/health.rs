//! The health checks of SPEC section 4, shared by `GET /health` and `taskpilot doctor`: the
//! store (reachable, readable, sound), the policies (compile), the guardrails and prompts
//! (load), the LLM provider settings, every data path (writable) and, when configured, the
//! OTLP endpoint. Each check is healthy, degraded or unhealthy; the report takes the worst.

use std::path::Path;
use std::time::Duration;

use taskpilot_config::{Settings, StoreLocation};
use taskpilot_govern::{Guardrails, PolicyEngine, Prompts};
use taskpilot_observe::{
    Check, HealthReport, HealthStatus, check_otlp_endpoint, check_path_writable,
};
use taskpilot_store::TaskStore;

/// Every check of SPEC 4's health list, opening the store the settings point at.
pub async fn health_report(settings: &Settings) -> HealthReport {
    let store = match taskpilot_store::open_configured(settings).await {
        Ok(store) => store,
        Err(e) => {
            let failed = Check::new("store", HealthStatus::Unhealthy, e.to_string());
            return HealthReport::from_checks(other_checks(settings, failed).await);
        }
    };
    health_report_with_store(settings, store.as_ref()).await
}

/// [`health_report`] with a store that is already open (the server's own).
pub async fn health_report_with_store(settings: &Settings, store: &dyn TaskStore) -> HealthReport {
    let store = store_check(store).await;
    HealthReport::from_checks(other_checks(settings, store).await)
}

async fn other_checks(settings: &Settings, store: Check) -> Vec<Check> {
    let mut checks = vec![store];
    checks.push(match PolicyEngine::load(&settings.policies_dir.value) {
        Ok(engine) => Check::new(
            "policies",
            HealthStatus::Healthy,
            format!(
                "compiled {} ({})",
                engine.packages().join(", "),
                describe_source(&settings.policies_dir.value)
            ),
        ),
        Err(e) => Check::new("policies", HealthStatus::Unhealthy, e.to_string()),
    });
    checks.push(
        match Guardrails::load(&settings.guardrails_config_dir.value) {
            Ok(_) => Check::new(
                "guardrails",
                HealthStatus::Healthy,
                format!(
                    "loaded ({})",
                    describe_source(&settings.guardrails_config_dir.value)
                ),
            ),
            Err(e) => Check::new("guardrails", HealthStatus::Unhealthy, e.to_string()),
        },
    );
    checks.push(match Prompts::load(&settings.prompts_dir.value) {
        Ok(_) => Check::new(
            "prompts",
            HealthStatus::Healthy,
            format!("loaded ({})", describe_source(&settings.prompts_dir.value)),
        ),
        Err(e) => Check::new("prompts", HealthStatus::Unhealthy, e.to_string()),
    });
    checks.push(provider_check(settings));
    if let StoreLocation::File(path) = settings.store_location() {
        checks.push(check_path_writable("TASKS_FILE", &path, false));
    }
    checks.push(check_path_writable(
        "METRICS_FILE",
        &settings.metrics_file.value,
        false,
    ));
    checks.push(check_path_writable(
        "TRACES_FILE",
        &settings.traces_file.value,
        false,
    ));
    checks.push(check_path_writable(
        "DECISION_LOGS_FILE",
        &settings.decision_logs_file.value,
        false,
    ));
    checks.push(check_path_writable(
        "LOGS_DIR",
        &settings.logs_dir.value,
        true,
    ));
    if settings.otel_enabled.value
        && let Some(endpoint) = &settings.otel_exporter_otlp_endpoint.value
    {
        let endpoint = endpoint.clone();
        let check = tokio::task::spawn_blocking(move || {
            check_otlp_endpoint(&endpoint, Duration::from_secs(2))
        })
        .await
        .unwrap_or_else(|e| Check::new("otlp_endpoint", HealthStatus::Degraded, e.to_string()));
        checks.push(check);
    }
    checks
}

async fn store_check(store: &dyn TaskStore) -> Check {
    match store.check().await {
        Ok(report) if report.problems.is_empty() => Check::new(
            "store",
            HealthStatus::Healthy,
            format!("{}: {} tasks, no problems", store.describe(), report.tasks),
        ),
        Ok(report) => Check::new(
            "store",
            HealthStatus::Degraded,
            format!(
                "{}: {} tasks; {}",
                store.describe(),
                report.tasks,
                report.problems.join("; ")
            ),
        ),
        Err(e) => Check::new("store", HealthStatus::Unhealthy, e.to_string()),
    }
}

fn provider_check(settings: &Settings) -> Check {
    let has_key = settings.openai_api_key.value.is_some();
    match (settings.llm_provider.value.as_deref(), has_key) {
        (Some("openai"), false) => Check::new(
            "llm_provider",
            HealthStatus::Unhealthy,
            "LLM_PROVIDER=openai but OPENAI_API_KEY is not set",
        ),
        (Some("offline"), _) | (None, false) => Check::new(
            "llm_provider",
            HealthStatus::Healthy,
            "offline provider (deterministic local agents; set OPENAI_API_KEY to use an LLM)",
        ),
        _ => Check::new(
            "llm_provider",
            HealthStatus::Healthy,
            format!(
                "openai at {} with model {}",
                taskpilot_config::redact_url(&settings.openai_base_url.value),
                settings.openai_model_id.value
            ),
        ),
    }
}

fn describe_source(dir: &Path) -> String {
    if dir.is_dir() {
        format!("from {}", dir.display())
    } else {
        "built-in defaults".to_owned()
    }
}
