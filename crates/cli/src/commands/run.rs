//! `taskpilot run`: the workflow on one request, standard input or a file of requests.
//!
//! This command only wires `taskpilot_agents::Runtime` to the terminal: it reads the requests,
//! prints each result for people (or as JSON) and, for `--file`, shows a progress bar and a
//! summary table. Exit 0 when every run reached a verdict (any status), 1 when one could not run.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use taskpilot_agents::{AgentError, RunResult, RunStatus, Runtime};
use taskpilot_observe::DecisionType;

use crate::context::Context;
use crate::exit::usage;
use crate::output::{clip, print_json, table};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The request in plain language, or `-` to read it from standard input.
    #[arg(required_unless_present = "file")]
    pub request: Option<String>,
    /// Run every line of this file as a request (`-` for standard input); empty lines and
    /// lines starting with `#` are skipped.
    #[arg(long, conflicts_with = "request")]
    pub file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Builds the runtime, turning its errors into CLI errors with the right exit code, and prints
/// the provider notice once.
pub async fn runtime(ctx: &Context) -> anyhow::Result<Runtime> {
    let rt = Runtime::from_settings(&ctx.settings)
        .await
        .map_err(|e| agent_error(e, ctx))?;
    if let Some(notice) = rt.notice() {
        eprintln!("{notice}");
    }
    Ok(rt)
}

/// An agents error as a CLI error: store errors keep their exit codes (3 not found, 2
/// invalid), a missing key or an undecidable task is invalid input (2), the rest 1.
pub fn agent_error(error: AgentError, ctx: &Context) -> anyhow::Error {
    match error {
        AgentError::Store(e) => crate::exit::store_error(e, &ctx.settings),
        e @ (AgentError::MissingApiKey | AgentError::NotDecidable { .. }) => usage(e.to_string()),
        e => anyhow::Error::new(e),
    }
}

pub async fn run(args: RunArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
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
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the request from standard input")?;
    Ok(text.trim().to_owned())
}

async fn run_file(file: &PathBuf, json_out: bool, ctx: &Context) -> anyhow::Result<ExitCode> {
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read requests from standard input")?;
        text
    } else {
        tokio::fs::read_to_string(file)
            .await
            .map_err(|e| usage(format!("cannot read --file {}: {e}", file.display())))?
    };
    let requests: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
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
        bar.set_message(clip(request, 40));
        let outcome = rt.run(request).await.map_err(|e| e.to_string());
        results.push(((*request).to_owned(), outcome));
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
        let mut t = table(&["#", "request", "status", "task", "latency ms"]);
        for (i, (request, outcome)) in results.iter().enumerate() {
            let (status, task, latency) = match outcome {
                Ok(r) => (
                    r.status.to_string(),
                    r.task.as_ref().map_or("-".to_owned(), |t| t.id.to_string()),
                    format!("{:.1}", r.latency_ms),
                ),
                Err(e) => (format!("error: {}", clip(e, 60)), "-".into(), "-".into()),
            };
            t.add_row(vec![
                (i + 1).to_string(),
                clip(request, 50),
                status,
                task,
                latency,
            ]);
        }
        println!("{t}");
        let mut summary = table(&["status", "runs"]);
        for (status, n) in &counts {
            summary.add_row(vec![(*status).to_owned(), n.to_string()]);
        }
        summary.add_row(vec!["total".to_owned(), results.len().to_string()]);
        println!("{summary}");
    }
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The result for people: what happened, and why.
pub fn print_result(r: &RunResult) {
    let mut rows: Vec<(&str, String)> = vec![("request", r.request_id.clone())];
    rows.push(("status", r.status.to_string()));
    match &r.task {
        Some(task) => {
            rows.push(("task", task.id.to_string()));
            rows.push(("title", task.title.clone()));
            rows.push(("priority", task.priority.to_string()));
            rows.push(("task status", task.status.to_string()));
            if let Some(error) = &task.error {
                rows.push(("error", error.clone()));
            }
        }
        None => rows.push(("task", "none (nothing stored)".to_owned())),
    }
    rows.push((
        "reviewer",
        r.reviewer_decision
            .map_or("-".to_owned(), |v| v.as_str().to_owned()),
    ));
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
    rows.push((
        "policy",
        if policy.is_empty() {
            "-".to_owned()
        } else {
            policy.join("\n")
        },
    ));
    let guard_blocks: Vec<String> = r
        .decisions
        .iter()
        .filter(|d| {
            matches!(
                d.decision_type,
                DecisionType::GuardrailsInput | DecisionType::GuardrailsOutput
            ) && d.result.as_str() == "deny"
        })
        .map(|d| d.reason.clone())
        .collect();
    let guard_total = r
        .decisions
        .iter()
        .filter(|d| {
            matches!(
                d.decision_type,
                DecisionType::GuardrailsInput | DecisionType::GuardrailsOutput
            )
        })
        .count();
    rows.push((
        "guardrails",
        if guard_blocks.is_empty() {
            format!("{guard_total} checks passed")
        } else {
            format!("blocked: {}", guard_blocks.join("; "))
        },
    ));
    if let Some(reason) = &r.reason {
        rows.push(("reason", reason.clone()));
    }
    rows.push(("latency", format!("{:.1} ms", r.latency_ms)));
    let mut t = table(&["", ""]);
    for (k, v) in rows {
        t.add_row(vec![k.to_owned(), v]);
    }
    println!("{t}");
    if r.status == RunStatus::Review
        && let Some(task) = &r.task
    {
        println!(
            "A person decides next: `taskpilot review`, or `taskpilot tasks approve {}` / `reject {}`.",
            task.id, task.id
        );
    }
}
