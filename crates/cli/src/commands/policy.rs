//! `taskpilot policy`: evaluates the Rego policy (SPEC section 5) on an input document, with
//! the same engine the workflow uses, so a policy can be tried before it is deployed.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;
use taskpilot_govern::policy::{DEFAULT_PACKAGE, PolicyEngine, PolicyInput};

use crate::context::Context;
use crate::exit::usage;
use crate::output::print_json;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Evaluate one input document and print {"allow", "deny", "require_approval"}.
    ///
    /// The input is the document the workflow asks about: {"tool_name", "parameters",
    /// "agent_type", "agent_id", "request_id"}. Policies come from POLICIES_DIR (every *.rego),
    /// else the built-in one.
    Eval(EvalArgs),
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The input document: a JSON file, or `-` for standard input.
    #[arg(long, short, value_name = "FILE|-")]
    pub input: String,
    /// The package to ask (default: taskpilot.tool_calls).
    #[arg(long, value_name = "PACKAGE")]
    pub package: Option<String>,
}

pub async fn run(command: PolicyCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Eval(args) => eval(args, ctx),
    }
}

fn eval(args: EvalArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let text = read_input(&args.input)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("--input {}: not valid JSON: {e}", args.input)))?;
    if !value.is_object() {
        return Err(usage(format!(
            "--input {}: the input document must be a JSON object with tool_name, parameters, agent_type, agent_id and request_id",
            args.input
        )));
    }
    let dir = &ctx.settings.policies_dir.value;
    let engine = PolicyEngine::load(dir)
        .with_context(|| format!("cannot load the policies (POLICIES_DIR={})", dir.display()))?;
    let package = args
        .package
        .as_deref()
        .map(|p| p.trim().trim_start_matches("data."))
        .unwrap_or(DEFAULT_PACKAGE);
    let decision = if package == DEFAULT_PACKAGE {
        // The workflow's package gets the workflow's typed input: a missing field is an error
        // here rather than a puzzling denial.
        let input: PolicyInput = serde_json::from_value(value).map_err(|e| {
            usage(format!(
                "--input {}: not a policy input document: {e}",
                args.input
            ))
        })?;
        engine.evaluate(&input)
    } else {
        engine
            .evaluate_package(package, &value)
            .map_err(|e| usage(e.to_string()))?
    };
    print_json(&json!({
        "allow": decision.allow,
        "deny": decision.deny,
        "require_approval": decision.require_approval,
    }))?;
    Ok(ExitCode::SUCCESS)
}

fn read_input(input: &str) -> anyhow::Result<String> {
    if input == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(input).map_err(|e| usage(format!("cannot read --input {input}: {e}")))
}
