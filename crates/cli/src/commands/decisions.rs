//! `taskpilot decisions`: filters and summarises the decision log, newest first, the newest 50
//! unless `--limit` or `--all`: the shared store's when `TASK_STORE_URL` names one that keeps
//! decisions (every replica's decisions), else `DECISION_LOGS_FILE`. Records that cannot be
//! parsed are reported on stderr with their line number (or decision id) and skipped.

use std::process::ExitCode;

use comfy_table::Cell;
use std::collections::HashMap;

use taskpilot_config::StoreLocation;
use taskpilot_observe::{Decision, DecisionResult, DecisionSummary, DecisionType};

use crate::context::Context;
use crate::history;
use crate::output::{
    KeyValues, colour, print_json, print_table, safe, safe_line, status_cell, table, width, wrap,
};

/// How many decisions are shown unless told otherwise.
pub(crate) const DEFAULT_LIMIT: usize = 50;

#[derive(Debug, clap::Args)]
pub(crate) struct DecisionsArgs {
    /// Only this decision type: `guardrails_input`, `guardrails_output`, `tool_call`, review,
    /// `human_approval`.
    #[arg(long = "type")]
    pub decision_type: Option<DecisionType>,
    /// Only this result: allow, deny, `require_approval`.
    #[arg(long)]
    pub result: Option<DecisionResult>,
    /// Only decisions about this tool (e.g. `create_task`).
    #[arg(long)]
    pub tool: Option<String>,
    /// Only decisions about this task (its own and those of the request that created it).
    #[arg(long, value_name = "TASK_ID")]
    pub task: Option<String>,
    /// Only decisions of this request (req_…, as `run` prints it).
    #[arg(long, value_name = "REQUEST_ID")]
    pub request: Option<String>,
    /// Show at most the newest N decisions (default 50).
    #[arg(long, alias = "tail", value_name = "N", conflicts_with = "all")]
    pub limit: Option<usize>,
    /// Show every matching decision.
    #[arg(long)]
    pub all: bool,
    /// Counts by result and by type with percentages, and latency statistics (over every
    /// matching decision).
    #[arg(long)]
    pub summary: bool,
    /// Print JSON: `{"count", "total", "decisions": [...]}` (newest first; `total` counts every
    /// match), or the summary.
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(args: DecisionsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (mut decisions, path) = read_log(ctx).await?;
    let by_request = history::tasks_by_request(&decisions);
    decisions.retain(|d| {
        args.decision_type.is_none_or(|t| d.decision_type == t)
            && args.result.is_none_or(|r| d.result == r)
            && args
                .tool
                .as_deref()
                .is_none_or(|t| d.tool_name.as_deref() == Some(t))
            && args
                .request
                .as_deref()
                .is_none_or(|r| d.request_id.as_deref() == Some(r))
            && args
                .task
                .as_deref()
                .is_none_or(|t| history::task_of(d, &by_request) == Some(t))
    });
    // Newest first. Reversing the write order first puts later writes first among equal times.
    decisions.reverse();
    decisions.sort_by_key(|d| std::cmp::Reverse(d.timestamp));
    if args.summary {
        let summary = DecisionSummary::from_decisions(&decisions);
        if args.json {
            print_json(&summary)?;
        } else {
            println!("{} decisions", summary.total);
            let mut t = table(&["by result", "count", "%"]);
            for (k, c) in &summary.by_result {
                t.add_row(vec![
                    status_cell(k),
                    Cell::new(c.count),
                    Cell::new(format!("{:.2}", c.percent)),
                ]);
            }
            print_table(&t);
            let mut t = table(&["by type", "count", "%"]);
            for (k, c) in &summary.by_type {
                t.add_row(vec![
                    Cell::new(k),
                    Cell::new(c.count),
                    Cell::new(format!("{:.2}", c.percent)),
                ]);
            }
            print_table(&t);
            let l = summary.latency_ms;
            let mut kv = KeyValues::new();
            kv.add(
                "latency (ms)",
                &format!(
                    "mean {:.2}  p50 {:.2}  p95 {:.2}  max {:.2}",
                    l.mean, l.p50, l.p95, l.max
                ),
            );
            kv.print();
        }
        return Ok(ExitCode::SUCCESS);
    }
    let total = decisions.len();
    if !args.all {
        decisions.truncate(args.limit.unwrap_or(DEFAULT_LIMIT));
    }
    if args.json {
        // Wrapped as the API wraps listings (`{"count", "total", …}`) and decisions
        // (`"decisions": [...]`).
        print_json(&serde_json::json!({
            "count": decisions.len(),
            "total": total,
            "decisions": decisions,
        }))?;
    } else if decisions.is_empty() {
        if total == 0 && (args.task.is_some() || args.request.is_some()) {
            println!("No decision matches those filters in {path}.");
        } else {
            println!("No decisions in {path}.");
        }
    } else {
        let refs: Vec<&Decision> = decisions.iter().collect();
        print_decisions(&refs, &by_request, true);
        if decisions.len() < total {
            println!(
                "Showing the newest {} of {total} decisions; --limit N or --all for more.",
                decisions.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The decisions and where they came from. Only a store named by URL is opened (a file store
/// keeps its decisions in `DECISION_LOGS_FILE`, and opening it would create files).
async fn read_log(ctx: &Context) -> anyhow::Result<(Vec<Decision>, String)> {
    if let StoreLocation::Url(url) = ctx.settings.store_location()
        && !url.expose().starts_with("file://")
    {
        let store = ctx.open_store().await?;
        return crate::commands::store_decisions::read_from(&store, &ctx.settings).await;
    }
    crate::commands::store_decisions::read_log_file(&ctx.settings)
}

/// A short name for a decision type, for narrow screens.
fn short_type(t: DecisionType) -> &'static str {
    match t {
        DecisionType::GuardrailsInput => "input guard",
        DecisionType::GuardrailsOutput => "output guard",
        DecisionType::ToolCall => "policy",
        DecisionType::Review => "reviewer",
        DecisionType::HumanApproval => "person",
    }
}

/// Decisions for people: a table when the screen is wide (120 columns or more, or a file),
/// else one block per decision (`time  type  result  by`, the task, the reason wrapped).
pub(crate) fn print_decisions(
    decisions: &[&Decision],
    by_request: &HashMap<String, String>,
    with_task: bool,
) {
    let by = |d: &Decision| {
        d.user_id
            .as_deref()
            .or(d.tool_name.as_deref())
            .or(d.agent_id.as_deref())
            .unwrap_or("-")
            .to_owned()
    };
    match width() {
        Some(w) if w < 120 => {
            let w = usize::from(w);
            for d in decisions {
                let padded = format!("{:<16}", d.result.as_str());
                let result = if colour() {
                    let colour = match d.result {
                        DecisionResult::Allow => "32",
                        DecisionResult::Deny => "31",
                        DecisionResult::RequireApproval => "33",
                    };
                    format!("\u{1b}[{colour}m{padded}\u{1b}[0m")
                } else {
                    padded
                };
                let who = by(d);
                let who = if who == "-" {
                    String::new()
                } else {
                    crate::output::clip(&safe_line(&who), w.saturating_sub(50).max(8))
                };
                let line = format!(
                    "{}  {:<12} {result} {who}",
                    d.timestamp.format("%m-%d %H:%M:%S"),
                    short_type(d.decision_type),
                );
                println!("{}", line.trim_end());
                if with_task && let Some(task) = crate::history::task_of(d, by_request) {
                    println!("    task {}", safe_line(task));
                }
                for line in wrap(&safe(&d.reason), w.saturating_sub(4)) {
                    println!("    {line}");
                }
            }
        }
        _ => {
            let mut header = vec!["time (UTC)", "type", "result"];
            if with_task {
                header.push("task");
            }
            header.extend(["by", "why"]);
            let mut t = table(&header);
            for d in decisions {
                let mut row = vec![
                    Cell::new(d.timestamp.format("%Y-%m-%d %H:%M:%S")),
                    Cell::new(d.decision_type.as_str()),
                    status_cell(d.result.as_str()),
                ];
                if with_task {
                    row.push(Cell::new(
                        crate::history::task_of(d, by_request).unwrap_or("-"),
                    ));
                }
                row.push(Cell::new(safe_line(&by(d))));
                row.push(Cell::new(safe(&d.reason)));
                t.add_row(row);
            }
            print_table(&t);
        }
    }
}
