//! `taskpilot guard`: checks a text against the guardrails (SPEC section 6) exactly as the
//! workflow does, so a configuration can be tried before it is deployed.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;
use taskpilot_govern::Guardrails;

use crate::context::Context;
use crate::exit::usage;
use crate::output::print_json;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum GuardCommand {
    /// Check a text; print {"allowed", "flow", "reason"}. Exit 0 when allowed, 1 when blocked.
    ///
    /// The flows come from `GUARDRAILS_CONFIG_DIR/config.yml`, else the built-in config.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Use the output rail (agent outputs) instead of the input rail (requests).
    #[arg(long)]
    pub output: bool,
    /// Also print the result of every flow.
    #[arg(long)]
    pub all: bool,
    /// The text to check, or `-` to read it from standard input.
    #[arg(value_name = "TEXT|-", allow_hyphen_values = true)]
    pub text: String,
}

pub(crate) async fn run(command: GuardCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        GuardCommand::Check(args) => check(args, ctx),
    }
}

fn check(args: CheckArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let text = if args.text == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
        text
    } else {
        args.text
    };
    let dir = &ctx.settings.guardrails_config_dir.value;
    let guardrails = Guardrails::load(dir).with_context(|| {
        format!(
            "cannot load the guardrails (GUARDRAILS_CONFIG_DIR={})",
            dir.display()
        )
    })?;
    let outcome = if args.output {
        guardrails.check_output(&text)
    } else {
        guardrails.check_input(&text)
    };
    let mut shown =
        json!({ "allowed": outcome.allowed, "flow": outcome.flow, "reason": outcome.reason });
    if args.all {
        shown["checks"] = serde_json::to_value(&outcome.checks)?;
    }
    print_json(&shown)?;
    Ok(if outcome.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
