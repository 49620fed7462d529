//! `taskpilot decisions`: filters and summarises the decision log, newest first: the shared
//! store's when `TASK_STORE_URL` names one that keeps decisions (every replica's decisions),
//! else `DECISION_LOGS_FILE`. Records that cannot be parsed are reported on stderr with their
//! line number (or decision id) and skipped.

use std::process::ExitCode;

use taskpilot_config::StoreLocation;
use taskpilot_observe::{Decision, DecisionResult, DecisionSummary, DecisionType};

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct DecisionsArgs {
    /// Only this decision type: guardrails_input, guardrails_output, tool_call, review, human_approval.
    #[arg(long = "type")]
    pub decision_type: Option<DecisionType>,
    /// Only this result: allow, deny, require_approval.
    #[arg(long)]
    pub result: Option<DecisionResult>,
    /// Only decisions about this tool.
    #[arg(long)]
    pub tool: Option<String>,
    /// Only the newest N decisions.
    #[arg(long)]
    pub tail: Option<usize>,
    /// Counts by result and by type with percentages, and latency statistics.
    #[arg(long)]
    pub summary: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DecisionsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (mut decisions, path) = read_log(ctx).await?;
    decisions.retain(|d| {
        args.decision_type.is_none_or(|t| d.decision_type == t)
            && args.result.is_none_or(|r| d.result == r)
            && args
                .tool
                .as_deref()
                .is_none_or(|t| d.tool_name.as_deref() == Some(t))
    });
    // Newest first. Reversing the write order first puts later writes first among equal times.
    decisions.reverse();
    decisions.sort_by_key(|d| std::cmp::Reverse(d.timestamp));
    if let Some(n) = args.tail {
        decisions.truncate(n);
    }
    if args.summary {
        let summary = DecisionSummary::from_decisions(&decisions);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            println!("{} decisions", summary.total);
            println!("\nby result");
            for (k, c) in &summary.by_result {
                println!("  {k:<20} {:>6}  {:>6.2} %", c.count, c.percent);
            }
            println!("\nby type");
            for (k, c) in &summary.by_type {
                println!("  {k:<20} {:>6}  {:>6.2} %", c.count, c.percent);
            }
            let l = summary.latency_ms;
            println!(
                "\nlatency (ms)  mean {:.2}  p50 {:.2}  p95 {:.2}  max {:.2}",
                l.mean, l.p50, l.p95, l.max
            );
        }
    } else if args.json {
        println!("{}", serde_json::to_string_pretty(&decisions)?);
    } else if decisions.is_empty() {
        println!("no decisions in {path}");
    } else {
        for d in &decisions {
            println!(
                "{}  {:<17} {:<16} {:<14} {:<24} {:>8.2} ms  {}",
                d.timestamp.format("%Y-%m-%dT%H:%M:%SZ"),
                d.decision_type.as_str(),
                d.result.as_str(),
                d.agent_id.as_deref().unwrap_or("-"),
                d.tool_name.as_deref().unwrap_or("-"),
                d.latency_ms,
                d.reason
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The decisions and where they came from. Only a store named by URL is opened (a file store
/// keeps its decisions in `DECISION_LOGS_FILE`, and opening it would create files).
async fn read_log(ctx: &Context) -> anyhow::Result<(Vec<Decision>, String)> {
    if let StoreLocation::Url(url) = ctx.settings.store_location() {
        if !url.expose().starts_with("file://") {
            let store = ctx.open_store().await?;
            return crate::commands::store_decisions::read_from(&store, &ctx.settings).await;
        }
    }
    let path = &ctx.settings.decision_logs_file.value;
    let (decisions, bad) = taskpilot_observe::read_decisions(path)?;
    for b in &bad {
        eprintln!(
            "{}:{}: skipped an unreadable line: {}",
            path.display(),
            b.line,
            b.error
        );
    }
    Ok((decisions, path.display().to_string()))
}
