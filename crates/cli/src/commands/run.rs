//! `taskpilot run`: the workflow on one request, standard input or a file of requests.
//!
//! This command only wires `taskpilot_agents::Runtime` to the terminal: it reads the requests,
//! prints each result for people (or as JSON) and, for `--file`, shows a progress bar and a
//! summary table. Exit 0 when every run reached a verdict (any status), 1 when one could not run.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use taskpilot_agents::{AgentError, RunResult, RunStatus, Runtime};
use taskpilot_observe::DecisionType;

use crate::context::Context;
use crate::exit::usage;
use comfy_table::Cell;

use crate::output::{
    KeyValues, clip, one_line_row, print_json, print_table, safe_line, status_cell, table,
};

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The request in plain language, or `-` to read it from standard input.
    pub request: Option<String>,
    /// Run every line of this file as a request (`-` for standard input); empty lines and
    /// lines starting with `#` are skipped.
    #[arg(long, conflicts_with = "request")]
    pub file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Builds the runtime, turning its errors into CLI errors with the right exit code. When the
/// offline provider was chosen because no key is set, a one-line note says so with `-v`
/// (`config` and `doctor` always show the provider).
pub(crate) async fn runtime(ctx: &Context) -> anyhow::Result<Runtime> {
    let rt = Runtime::from_settings(&ctx.settings)
        .await
        .map_err(|e| agent_error(e, ctx))?;
    if rt.notice().is_some() && crate::output::verbose() {
        eprintln!("{OFFLINE_NOTE}");
    }
    Ok(rt)
}

/// The short provider note (the long one is in docs/AGENTS.md).
pub(crate) const OFFLINE_NOTE: &str =
    "note: OPENAI_API_KEY is not set: using the offline provider (see docs/AGENTS.md)";

/// An agents error as a CLI error: store errors keep their exit codes (3 not found, 2
/// invalid), a missing key or an undecidable task is invalid input (2), the rest 1.
pub(crate) fn agent_error(error: AgentError, ctx: &Context) -> anyhow::Error {
    match error {
        AgentError::Store(e) => crate::exit::store_error(e, &ctx.settings),
        e @ (AgentError::MissingApiKey
        | AgentError::NotDecidable { .. }
        | AgentError::Invalid(_)) => usage(e.to_string()),
        e => anyhow::Error::new(e),
    }
}

pub(crate) async fn run(args: RunArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    match (&args.file, args.request.as_deref()) {
        (Some(file), _) => run_file(file, args.json, ctx).await,
        (None, Some(request)) => {
            let request = if request == "-" {
                read_stdin()?
            } else {
                request.to_owned()
            };
            if request.trim().is_empty() {
                return Err(usage("the request is empty; say what the task is about"));
            }
            let rt = runtime(ctx).await?;
            let result = rt
                .run_recorded(&request, None)
                .await
                .map(|(result, _run_id)| result)
                .map_err(|e| agent_error(e, ctx));
            let shutdown = rt.shutdown().await;
            let result = result?;
            if let Err(e) = shutdown {
                eprintln!("warning: {e}");
            }
            if args.json {
                print_json(&result)?;
            } else {
                print_result(&result);
            }
            Ok(ExitCode::SUCCESS)
        }
        (None, None) => Err(usage(
            "give a request, `-` for standard input, or --file FILE",
        )),
    }
}

fn read_stdin() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprintln!("Type the request, then Ctrl-D:");
    }
    crate::requests_file::read_one(std::io::stdin().lock(), "standard input")
        .map_err(|e| usage(e.to_string()))
}

async fn run_file(file: &PathBuf, json_out: bool, ctx: &Context) -> anyhow::Result<ExitCode> {
    let requests = if file.as_os_str() == "-" {
        crate::requests_file::read_requests(std::io::stdin().lock(), "standard input")
    } else {
        let name = format!("--file {}", file.display());
        let opened =
            std::fs::File::open(file).map_err(|e| usage(format!("cannot read {name}: {e}")))?;
        crate::requests_file::read_requests(std::io::BufReader::new(opened), &name)
    }
    .map_err(|e| usage(e.to_string()))?;
    if requests.is_empty() {
        return Err(usage(format!(
            "--file {} has no requests (one per line)",
            file.display()
        )));
    }
    let rt = runtime(ctx).await?;
    let bar =
        ProgressBar::with_draw_target(Some(requests.len() as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed_precise}  {msg}")
    {
        bar.set_style(style);
    }
    let mut results: Vec<(String, Result<RunResult, String>)> = Vec::new();
    for request in &requests {
        bar.set_message(safe_line(&clip(request, 40)));
        let outcome = rt.run(request).await.map_err(|e| e.to_string());
        results.push((request.clone(), outcome));
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Err(e) = rt.shutdown().await {
        eprintln!("warning: {e}");
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, outcome) in &results {
        let key = match outcome {
            Ok(r) => r.status.as_str(),
            Err(_) => "error",
        };
        *counts.entry(key).or_default() += 1;
    }
    let errors = counts.get("error").copied().unwrap_or(0);
    if json_out {
        let runs: Vec<_> = results
            .iter()
            .map(|(request, outcome)| match outcome {
                Ok(r) => json!({"request": request, "result": r}),
                Err(e) => json!({"request": request, "error": e}),
            })
            .collect();
        print_json(&json!({"runs": runs, "summary": counts, "total": results.len()}))?;
    } else {
        let mut t = table(&["#", "request", "status", "task", "ms"]);
        for (i, (request, outcome)) in results.iter().enumerate() {
            let (status, task, latency) = match outcome {
                Ok(r) => (
                    status_cell(r.status.as_str()),
                    r.task.as_ref().map_or("-".to_owned(), |t| t.id.to_string()),
                    format!("{:.1}", r.latency_ms),
                ),
                Err(e) => (
                    status_cell("error").add_attribute(comfy_table::Attribute::Bold),
                    safe_line(e),
                    "-".into(),
                ),
            };
            t.add_row(one_line_row(vec![
                Cell::new(i + 1),
                Cell::new(safe_line(request)),
                status,
                Cell::new(task),
                Cell::new(latency),
            ]));
        }
        print_table(&t);
        let mut summary = table(&["status", "runs"]);
        for (status, n) in &counts {
            summary.add_row(vec![status_cell(status), Cell::new(n)]);
        }
        summary.add_row(vec![Cell::new("total"), Cell::new(results.len())]);
        print_table(&summary);
    }
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The result for people: what happened, and why, one `key  value` line each.
pub(crate) fn print_result(r: &RunResult) {
    let mut kv = KeyValues::new();
    kv.add_status("outcome", r.status.as_str());
    match &r.task {
        Some(task) => {
            kv.add("task", task.id.as_str())
                .add("title", &task.title)
                .add("priority", task.priority.as_str());
            if task.status.as_str() != r.status.as_str() {
                kv.add_status("task status", task.status.as_str());
            }
            if let Some(error) = &task.error {
                kv.add("error", error);
            }
        }
        None => {
            kv.add("task", "none (nothing stored)");
        }
    }
    if let Some(v) = r.reviewer_decision {
        kv.add("reviewer", v.as_str());
    }
    let policy: Vec<String> = r
        .decisions
        .iter()
        .filter(|d| d.decision_type == DecisionType::ToolCall)
        .map(|d| {
            format!(
                "{}: {} ({})",
                d.tool_name.as_deref().unwrap_or("?"),
                d.result.as_str(),
                d.reason
            )
        })
        .collect();
    if !policy.is_empty() {
        kv.add("policy", &policy.join("\n"));
    }
    let guards: Vec<_> = r
        .decisions
        .iter()
        .filter(|d| {
            matches!(
                d.decision_type,
                DecisionType::GuardrailsInput | DecisionType::GuardrailsOutput
            )
        })
        .collect();
    let blocks: Vec<&str> = guards
        .iter()
        .filter(|d| d.result.as_str() == "deny")
        .map(|d| d.reason.as_str())
        .collect();
    if blocks.is_empty() {
        kv.add("guardrails", &format!("{} checks passed", guards.len()));
    } else {
        kv.add_cell(
            "guardrails",
            status_cell("blocked").add_attribute(comfy_table::Attribute::Bold),
        );
        kv.add("blocked by", &blocks.join("; "));
    }
    if let Some(reason) = &r.reason {
        kv.add("why", reason);
    }
    kv.add("request", &r.request_id)
        .add("latency", &format!("{:.1} ms", r.latency_ms));
    kv.print();
    if r.status == RunStatus::Review
        && let Some(task) = &r.task
    {
        println!();
        println!("A person decides next. Run one of:");
        println!("  taskpilot review");
        println!("  taskpilot tasks approve {} --reason \"...\"", task.id);
        println!("  taskpilot tasks reject {} --reason \"...\"", task.id);
    }
}
