//! `taskpilot bench policy`: the time of one evaluation of the built-in policy (SPEC section
//! 11), over a mix of allowed, denied and approval-requiring tool calls, on the compiled VM;
//! and beside it the same policy as a custom `POLICIES_DIR` policy runs it, on the interpreter.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use taskpilot_govern::{PolicyEngine, PolicyInput, PolicySource, defaults};
use taskpilot_observe::metrics::percentile;

use crate::context::Context;
use crate::output::print_json;

/// Evaluations measured (after a warm-up of a tenth as many).
const EVALUATIONS: usize = 20_000;
/// Evaluations measured on the slower interpreter path.
const CUSTOM_EVALUATIONS: usize = 2_000;
/// The median the built-in policy must stay under (issue 16), in µs.
const TARGET_MEDIAN_US: f64 = 20.0;

#[derive(Debug, clap::Args)]
pub(crate) struct BenchPolicyArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(args: BenchPolicyArgs, _ctx: &Context) -> anyhow::Result<ExitCode> {
    let engine = PolicyEngine::built_in()?;
    // The built-in policy changed by a comment: a custom policy, as POLICIES_DIR loads it.
    let custom = PolicyEngine::from_sources(
        vec![(
            PathBuf::from(defaults::POLICY_FILE),
            format!("{}\n# bench: a custom copy\n", defaults::POLICY),
        )],
        PolicySource::Files(vec![PathBuf::from(defaults::POLICY_FILE)]),
    )?;
    let times = tokio::task::spawn_blocking(move || measure(&engine, EVALUATIONS)).await?;
    let custom_times =
        tokio::task::spawn_blocking(move || measure(&custom, CUSTOM_EVALUATIONS)).await?;
    let median = round2(percentile(&times, 0.5));
    let p99 = round2(percentile(&times, 0.99));
    let custom_median = round2(percentile(&custom_times, 0.5));
    let custom_p99 = round2(percentile(&custom_times, 0.99));
    if args.json {
        print_json(&json!({
            "median_us": median,
            "p99_us": p99,
            "evaluations": times.len(),
            "custom": {"median_us": custom_median, "p99_us": custom_p99, "evaluations": custom_times.len()},
        }))?;
    } else {
        println!(
            "policy evaluation (taskpilot.tool_calls, built-in on the VM: {} evaluations; custom on the interpreter: {})",
            times.len(),
            custom_times.len()
        );
        println!("                built-in   custom");
        println!("  median  {median:>8.2} µs {custom_median:>8.2} µs");
        println!("  p99     {p99:>8.2} µs {custom_p99:>8.2} µs");
        println!("  target  {TARGET_MEDIAN_US:>8.2} µs median (built-in)");
    }
    Ok(ExitCode::SUCCESS)
}

fn inputs() -> Vec<PolicyInput> {
    let call = |tool: &str, agent: &str, parameters: serde_json::Value| PolicyInput {
        tool_name: tool.to_owned(),
        parameters,
        agent_type: agent.to_owned(),
        agent_id: format!("{agent}-1"),
        request_id: "bench".to_owned(),
    };
    vec![
        call(
            "create_task",
            "PlannerAgent",
            json!({"title": "Prepare the board deck", "priority": "medium", "description": "Q3 numbers"}),
        ),
        call(
            "create_task",
            "PlannerAgent",
            json!({"title": "Move the sensitive payroll files", "priority": "high"}),
        ),
        call(
            "create_task",
            "PlannerAgent",
            json!({"title": "", "priority": "urgent"}),
        ),
        call(
            "notify_external_system",
            "ExecutorAgent",
            json!({"message": "Task task_1 is ready"}),
        ),
        call(
            "notify_external_system",
            "ExecutorAgent",
            json!({"message": "Please DELETE the records"}),
        ),
        call("delete_task", "PlannerAgent", json!({"task_id": "task_1"})),
    ]
}

/// Microseconds per evaluation, sorted.
fn measure(engine: &PolicyEngine, evaluations: usize) -> Vec<f64> {
    let inputs = inputs();
    for input in inputs.iter().cycle().take(evaluations / 10) {
        std::hint::black_box(engine.evaluate(input));
    }
    let times: Vec<f64> = inputs
        .iter()
        .cycle()
        .take(evaluations)
        .map(|input| {
            let start = Instant::now();
            std::hint::black_box(engine.evaluate(input));
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
