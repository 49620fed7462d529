//! `taskpilot config`: every setting, its value, where it came from, and for paths whether they
//! exist and are writable.

use std::process::ExitCode;

use crate::context::Context;
use comfy_table::Cell;

use crate::output::{print_json, print_table, safe, table};

#[derive(Debug, clap::Args)]
pub(crate) struct ConfigArgs {
    /// Print one JSON object keyed by the lower-case variable name, each with its value and
    /// source.
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(args: ConfigArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let settings = &ctx.settings;
    if args.json {
        print_json(&settings.to_json())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&["setting", "value", "source", "exists", "writable"]);
    for entry in settings.entries() {
        let value = match &entry.value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "(unset)".to_owned(),
            other => other.to_string(),
        };
        let (exists, writable) = match entry.path {
            Some(p) => (yes_no(p.exists), yes_no(p.writable)),
            None => (String::new(), String::new()),
        };
        t.add_row(vec![
            Cell::new(entry.key.to_uppercase()),
            Cell::new(safe(&value)),
            Cell::new(entry.source.to_string()),
            Cell::new(exists),
            Cell::new(writable),
        ]);
    }
    print_table(&t);
    println!(
        "base directory: {} ({})",
        settings.base_dir.value.display(),
        settings.base_dir_reason
    );
    println!(
        "task store: {} ({})",
        safe(&settings.store_display()),
        settings.store_backend()
    );
    Ok(ExitCode::SUCCESS)
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}
