//! `taskpilot traces`: prints recorded traces (`TRACES_FILE`) as trees, indented by parent,
//! with durations; `--request` picks one request; otherwise the newest 10 traces unless
//! `--limit` or `--all`.

use std::process::ExitCode;

use taskpilot_observe::trace::TraceNode;
use taskpilot_observe::{TraceTree, read_spans};

use crate::context::Context;
use crate::output::{clip, print_json, safe_line, warn_unreadable_lines, width};

/// How many traces are shown unless told otherwise.
pub(crate) const DEFAULT_LIMIT: usize = 10;

#[derive(Debug, clap::Args)]
pub(crate) struct TracesArgs {
    /// Only the trace of this request id (req_…, as `run` prints it).
    #[arg(long = "request", value_name = "REQUEST_ID")]
    pub request: Option<String>,
    /// Show at most the newest N traces (default 10).
    #[arg(long, alias = "tail", value_name = "N", conflicts_with = "all")]
    pub limit: Option<usize>,
    /// Show every trace.
    #[arg(long)]
    pub all: bool,
    /// Print the trees as JSON (each span with its `children`).
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(args: TracesArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let path = &ctx.settings.traces_file.value;
    let (spans, bad) = read_spans(path)?;
    warn_unreadable_lines(path, &bad);
    let mut trees = TraceTree::build(spans);
    let recorded = trees.len();
    if let Some(request) = &args.request {
        trees.retain(|t| t.request_id.as_deref() == Some(request.as_str()));
    }
    let matching = trees.len();
    if !args.all {
        let n = args.limit.unwrap_or(DEFAULT_LIMIT);
        let skip = trees.len().saturating_sub(n);
        trees.drain(..skip);
    }
    if args.json {
        print_json(&trees)?;
    } else if trees.is_empty() {
        match &args.request {
            Some(request) if recorded > 0 => println!(
                "No trace has the request id '{}' ({recorded} traces in {}).",
                safe_line(request),
                path.display()
            ),
            _ => println!("No traces in {}.", path.display()),
        }
    } else {
        let max = width().map_or(usize::MAX, usize::from);
        for tree in &trees {
            print_tree(tree, max);
        }
        if trees.len() < matching {
            println!(
                "Showed the newest {} of {matching} traces; --limit N or --all for more.",
                trees.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_tree(tree: &TraceTree, max: usize) {
    println!("trace {}", tree.trace_id);
    println!(
        "  request {}  {}",
        safe_line(tree.request_id.as_deref().unwrap_or("-")),
        tree.start_time.format("%Y-%m-%d %H:%M:%S%.3f UTC")
    );
    for root in &tree.roots {
        print_node(root, 1, max);
    }
    println!();
}

fn print_node(node: &TraceNode, depth: usize, max: usize) {
    let error = match &node.span.error {
        Some(e) => format!("  ERROR: {}", safe_line(e)),
        None if format!("{:?}", node.span.status).eq_ignore_ascii_case("error") => {
            "  ERROR".to_owned()
        }
        None => String::new(),
    };
    let line = format!(
        "{}{}  {:.1} ms{error}",
        "  ".repeat(depth.min(20)),
        safe_line(&node.span.name),
        node.span.duration_ms,
    );
    println!("{}", clip(&line, max));
    for child in &node.children {
        print_node(child, depth + 1, max);
    }
}
