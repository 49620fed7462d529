//! `taskpilot traces`: prints recorded traces (`TRACES_FILE`) as trees, indented by parent,
//! with durations; `--request` picks one request, `--tail N` the last N traces.

use std::process::ExitCode;

use taskpilot_observe::{TraceTree, read_spans};

use crate::context::Context;

#[derive(Debug, clap::Args)]
pub struct TracesArgs {
    /// Only the traces of this request id.
    #[arg(long = "request")]
    pub request: Option<String>,
    /// Only the last N traces.
    #[arg(long)]
    pub tail: Option<usize>,
    /// Print the trees as JSON (each span with its `children`).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: TracesArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let path = &ctx.settings.traces_file.value;
    let (spans, bad) = read_spans(path)?;
    for b in &bad {
        eprintln!(
            "{}:{}: skipped an unreadable line: {}",
            path.display(),
            b.line,
            b.error
        );
    }
    let mut trees = TraceTree::build(spans);
    if let Some(request) = &args.request {
        trees.retain(|t| t.request_id.as_deref() == Some(request.as_str()));
    }
    if let Some(n) = args.tail {
        let skip = trees.len().saturating_sub(n);
        trees.drain(..skip);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&trees)?);
    } else if trees.is_empty() {
        println!("no traces in {}", path.display());
    } else {
        for tree in &trees {
            println!("{}", tree.render());
        }
    }
    Ok(ExitCode::SUCCESS)
}
