//! `taskpilot doctor`: can TaskPilot work here? Checks the store (reachable, readable,
//! writable, sound), the policies (compile), the guardrails and prompts (load), every data path
//! (writable), the LLM provider settings and, when configured, the OTLP endpoint; reports
//! healthy / degraded / unhealthy with each check's message. Exit 0 unless unhealthy.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use taskpilot_config::{Settings, StoreLocation};
use taskpilot_govern::{Guardrails, PolicyEngine, Prompts};
use taskpilot_observe::{
    Check, HealthReport, HealthStatus, check_otlp_endpoint, check_path_writable,
};

use crate::context::Context;
use crate::output::{print_json, table};

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DoctorArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let report = health_report(&ctx.settings).await;
    if args.json {
        print_json(&json!({
            "status": report.status,
            "checks": report.checks,
            "store": ctx.settings.store_display(),
            "backend": ctx.settings.store_backend(),
        }))?;
    } else {
        println!(
            "task store: {} ({})",
            ctx.settings.store_display(),
            ctx.settings.store_backend()
        );
        let mut t = table(&["check", "status", "message"]);
        for check in &report.checks {
            t.add_row(vec![
                check.name.clone(),
                check.status.as_str().to_owned(),
                check.message.clone(),
            ]);
        }
        println!("{t}");
        println!("overall: {}", report.status.as_str());
    }
    Ok(if report.status == HealthStatus::Unhealthy {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Every check of SPEC 4's health list.
pub async fn health_report(settings: &Settings) -> HealthReport {
    let mut checks = vec![store_check(settings).await];
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
    HealthReport::from_checks(checks)
}

async fn store_check(settings: &Settings) -> Check {
    let store = match taskpilot_store::open(&settings.store_location()).await {
        Ok(store) => store,
        Err(e) => return Check::new("store", HealthStatus::Unhealthy, e.to_string()),
    };
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
                settings.openai_base_url.value, settings.openai_model_id.value
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
