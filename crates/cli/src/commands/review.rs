//! `taskpilot review`: the interactive review queue. Each task in `review` is shown with its
//! title, priority, the reviewer's reply and the policy's reasons (from the decision log), and
//! a person answers approve / reject / skip / quit, with an optional reason. An approval runs
//! the executor at once. Answers are read line by line from standard input, so the queue also
//! works from a script or a pipe (`printf 'a\nfine\nq\n' | taskpilot review`).

use std::io::IsTerminal;
use std::process::ExitCode;

use taskpilot_core::Status;
use taskpilot_store::ListQuery;

use crate::commands::run::{agent_error, runtime};
use crate::context::Context;
use taskpilot_observe::DecisionType;

use crate::history;
use crate::output::{clip, safe, safe_line, when};

#[derive(Debug, clap::Args)]
pub(crate) struct ReviewArgs {
    /// Go through at most this many tasks (oldest first, as the web page's queue).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Who is deciding, recorded with each decision (default: $USER).
    #[arg(long)]
    pub reviewer: Option<String>,
}

enum Answer {
    Approve,
    Reject,
    Skip,
    Quit,
}

struct Input {
    terminal: bool,
}

impl Input {
    /// Prints `prompt` on stderr and reads one line; `None` at end of input.
    async fn ask(&mut self, prompt: &str) -> anyhow::Result<Option<String>> {
        eprint!("{prompt}");
        // Blocking reads happen on the blocking pool, one line at a time, so the answers of a
        // pipe are consumed exactly as far as the queue needs them.
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) => Ok(None),
                Ok(_) => Ok(Some(line)),
                Err(e) => Err(e),
            }
        })
        .await??;
        if !self.terminal {
            // Echo scripted answers so a transcript reads naturally.
            eprintln!(
                "{}",
                line.as_deref().map_or("<end of input>", str::trim_end)
            );
        }
        Ok(line.map(|l| l.trim().to_owned()))
    }
}

pub(crate) async fn run(args: ReviewArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let reviewer = super::tasks::reviewer_or_user(args.reviewer.as_deref());
    let rt = runtime(ctx).await?;
    let mut tasks = rt
        .store
        .list(&ListQuery {
            status: Some(Status::Review),
            limit: None,
        })
        .await
        .map_err(|e| crate::exit::store_error(e, &ctx.settings))?;
    tasks.reverse(); // oldest first: the queue's order
    if let Some(limit) = args.limit {
        tasks.truncate(limit);
    }
    if tasks.is_empty() {
        println!("No tasks are waiting for review.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut input = Input {
        terminal: std::io::stdin().is_terminal(),
    };
    let (mut approved, mut rejected, mut skipped) = (0, 0, 0);
    let total = tasks.len();
    'queue: for (i, task) in tasks.iter().enumerate() {
        println!();
        println!(
            "[{}/{total}] {}  ({} priority)",
            i + 1,
            safe_line(&task.title),
            task.priority
        );
        println!("  id:        {}", task.id);
        println!("  created:   {}", when(&task.created_at));
        if !task.description.is_empty() {
            println!("  request:   {}", safe_line(&clip(&task.description, 300)));
        }
        let decisions = rt
            .decisions_for_task(task.id.as_str())
            .await
            .unwrap_or_default();
        let refs: Vec<_> = decisions.iter().collect();
        let reasons = history::review_reasons(task.reviewer_response.as_deref(), &refs);
        if reasons.is_empty() {
            println!("  why:       created by hand; waiting for a decision");
        }
        for (n, reason) in reasons.iter().enumerate() {
            let label = if n == 0 { "why:" } else { "" };
            println!("  {label:<10} {}", safe_line(reason));
        }
        if let Some(d) = decisions
            .iter()
            .rev()
            .find(|d| d.decision_type == DecisionType::Review)
        {
            println!(
                "  verdict:   {}",
                safe_line(d.context["verdict"].as_str().unwrap_or("?"))
            );
        }
        let answer = loop {
            let Some(line) = input
                .ask("Approve, reject, skip or quit? [a/r/s/q] ")
                .await?
            else {
                break Answer::Quit;
            };
            match line.to_ascii_lowercase().as_str() {
                "a" | "approve" | "y" | "yes" => break Answer::Approve,
                "r" | "reject" | "n" | "no" => break Answer::Reject,
                "s" | "skip" | "" => break Answer::Skip,
                "q" | "quit" | "exit" => break Answer::Quit,
                other => eprintln!(
                    "'{}' is not an answer; type a, r, s or q.",
                    safe_line(other)
                ),
            }
        };
        let approve = match answer {
            Answer::Quit => break 'queue,
            Answer::Skip => {
                skipped += 1;
                continue;
            }
            Answer::Approve => true,
            Answer::Reject => false,
        };
        let reason = input.ask("Reason (optional): ").await?.unwrap_or_default();
        let reason = (!reason.is_empty()).then_some(reason);
        let user = reviewer.as_deref();
        let outcome = if approve {
            rt.approve(&task.id, reason.as_deref(), user).await
        } else {
            rt.reject(&task.id, reason.as_deref(), user).await
        };
        match outcome {
            Ok(result) => {
                if approve {
                    approved += 1;
                } else {
                    rejected += 1;
                }
                let status = result
                    .task
                    .as_ref()
                    .map_or("?".to_owned(), |t| t.status.to_string());
                println!("  → {} is now '{status}'", task.id);
                if let Some(error) = result.task.as_ref().and_then(|t| t.error.as_ref())
                    && result.status.as_str() == "failed"
                {
                    println!("    error: {}", safe(error));
                }
            }
            Err(e) => {
                // Someone else may have decided meanwhile: say so and go on.
                eprintln!("  cannot decide {}: {:#}", task.id, agent_error(e, ctx));
                skipped += 1;
            }
        }
    }
    if let Err(e) = rt.shutdown().await {
        eprintln!("warning: {e}");
    }
    println!();
    println!(
        "Review done: {approved} approved, {rejected} rejected, {skipped} skipped, {} left in the queue.",
        total - approved - rejected
    );
    Ok(ExitCode::SUCCESS)
}
