//! `taskpilot doctor`: can TaskPilot work here? Checks the store (reachable, readable,
//! writable, sound), the policies (compile), the guardrails and prompts (load), every data path
//! (writable), the LLM provider settings and, when configured, the OTLP endpoint; reports
//! healthy / degraded / unhealthy with each check's message. Exit 0 unless unhealthy.

use std::process::ExitCode;

use serde_json::json;
use taskpilot_observe::HealthStatus;
use taskpilot_server::health::health_report;

use crate::context::Context;
use comfy_table::Cell;

use crate::output::{print_json, print_table, safe, status_cell, table};

#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// Print the report as JSON (`{status, checks, store, backend}`).
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(args: DoctorArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
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
            safe(&ctx.settings.store_display()),
            ctx.settings.store_backend()
        );
        let mut t = table(&["check", "status", "message"]);
        for check in &report.checks {
            t.add_row(vec![
                Cell::new(safe(&check.name)),
                status_cell(check.status.as_str()),
                Cell::new(safe(&check.message)),
            ]);
        }
        print_table(&t);
        println!("overall: {}", report.status.as_str());
    }
    Ok(if report.status == HealthStatus::Unhealthy {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
