//! `taskpilot prompts`: shows the agents' system prompts (SPEC section 7), their versions and
//! where they come from (a file of `PROMPTS_DIR`, or built in).

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;
use taskpilot_govern::{Agent, Prompt, Prompts};

use crate::context::Context;
use crate::exit::usage;
use crate::output::print_json;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum PromptsCommand {
    /// Print a prompt with its version and source (all three agents without AGENT).
    #[command(disable_version_flag = true)]
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// planner, reviewer or executor.
    pub agent: Option<String>,
    /// A version from the file's `versions` (default: the current one).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(command: PromptsCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        PromptsCommand::Show(args) => show(args, ctx),
    }
}

fn show(args: ShowArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let agents = match &args.agent {
        Some(name) => vec![name.parse::<Agent>().map_err(|e| usage(e.to_string()))?],
        None if args.version.is_some() => {
            return Err(usage(
                "--version needs an AGENT: taskpilot prompts show planner --version V",
            ));
        }
        None => Agent::ALL.to_vec(),
    };
    let dir = &ctx.settings.prompts_dir.value;
    let prompts = Prompts::load(dir)
        .with_context(|| format!("cannot load the prompts (PROMPTS_DIR={})", dir.display()))?;
    let mut shown = Vec::new();
    for agent in agents {
        shown.push(
            prompts
                .prompt(agent, args.version.as_deref())
                .map_err(|e| usage(e.to_string()))?,
        );
    }
    if args.json {
        let items: Vec<_> = shown.iter().map(|p| to_json(p, &prompts)).collect();
        match items.as_slice() {
            [one] => print_json(one)?,
            _ => print_json(&items)?,
        }
    } else {
        for (i, prompt) in shown.iter().enumerate() {
            if i > 0 {
                println!();
            }
            println!("agent:    {}", prompt.agent);
            println!(
                "version:  {} (available: {})",
                prompt.version,
                prompts.versions(prompt.agent).join(", ")
            );
            println!("source:   {}", prompt.source);
            println!("system_instruction:");
            for line in prompt.system_instruction.trim_end().lines() {
                println!("  {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn to_json(prompt: &Prompt, prompts: &Prompts) -> serde_json::Value {
    json!({
        "agent": prompt.agent,
        "version": prompt.version,
        "versions": prompts.versions(prompt.agent),
        "source": prompt.source.to_string(),
        "system_instruction": prompt.system_instruction,
        "metadata": prompt.metadata,
    })
}
