//! `taskpilot policy`: evaluates the Rego policy (SPEC section 5) on input documents with the
//! same engine the workflow uses, and runs a policy directory's `test_*` rules as `opa test`
//! does, so a policy can be tried and tested before it is deployed.

use std::io::{BufRead as _, BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};
use taskpilot_govern::policy::{DEFAULT_PACKAGE, PolicyDecision, PolicyEngine, PolicyInput};
use taskpilot_govern::policy_test::{TestOutcome, TestResult, run_tests};

use crate::context::Context;
use crate::exit::usage;
use crate::output::print_json;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum PolicyCommand {
    /// Evaluate an input document: print what the rules said and what the workflow does.
    ///
    /// The input is the document the workflow asks about: {"`tool_name`", "parameters",
    /// "`agent_type`", "`agent_id`", "`request_id`"}. Policies come from `POLICIES_DIR` (every *.rego
    /// except *_test.rego), else the built-in one. `allow`, `deny` and `require_approval` are
    /// the rules' values as `opa eval` prints them; `decision` is what the workflow takes from
    /// them (a non-empty `deny` wins over `allow`) and `reason` the line it logs.
    Eval(EvalArgs),
    /// Run the `test_*` rules of a policy directory, as `opa test` does.
    ///
    /// Loads every *.rego file of DIR (default: `POLICIES_DIR`; the built-in policy and its tests
    /// when that does not exist) and evaluates each `test_*` rule: it passes when defined and
    /// not false. Exit status 1 when a test fails or errs.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct EvalArgs {
    /// The input document: a JSON file, or `-` for standard input.
    #[arg(long, short, value_name = "FILE|-")]
    pub input: String,
    /// The package to ask (default: `taskpilot.tool_calls`).
    #[arg(long, value_name = "PACKAGE")]
    pub package: Option<String>,
    /// The input holds one document per line (JSON Lines); print one compact result per line.
    /// Each document is evaluated exactly as given, as `opa eval --input` would.
    #[arg(long)]
    pub jsonl: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// The policy directory (default: `POLICIES_DIR`).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print the results as JSON (one object per test, like `opa test --format json`).
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(command: PolicyCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Eval(args) => eval(args, ctx),
        PolicyCommand::Test(args) => test(args, ctx),
    }
}

fn load(ctx: &Context) -> anyhow::Result<PolicyEngine> {
    let dir = &ctx.settings.policies_dir.value;
    PolicyEngine::load(dir)
        .with_context(|| format!("cannot load the policies (POLICIES_DIR={})", dir.display()))
}

fn package(args: &EvalArgs) -> &str {
    args.package
        .as_deref()
        .map_or(DEFAULT_PACKAGE, |p| p.trim().trim_start_matches("data."))
}

fn eval(args: EvalArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if args.jsonl {
        return eval_lines(&args, ctx);
    }
    let text = read_input(&args.input)?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("--input {}: not valid JSON: {e}", args.input)))?;
    if !value.is_object() {
        return Err(usage(format!(
            "--input {}: the input document must be a JSON object with tool_name, parameters, agent_type, agent_id and request_id",
            args.input
        )));
    }
    let engine = load(ctx)?;
    let package = package(&args);
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
    print_json(&decision_json(&decision))?;
    Ok(ExitCode::SUCCESS)
}

/// `--jsonl`: one document per line in, one result per line out, one engine for all.
fn eval_lines(args: &EvalArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn std::io::BufRead> = if args.input == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(&args.input)
            .map_err(|e| usage(format!("cannot read --input {}: {e}", args.input)))?;
        Box::new(std::io::BufReader::new(file))
    };
    let engine = load(ctx)?;
    let package = package(args);
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| usage(format!("cannot read --input {}: {e}", args.input)))?;
        if line.trim().is_empty() {
            continue;
        }
        let where_ = || format!("--input {} line {}", args.input, index + 1);
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| usage(format!("{}: not valid JSON: {e}", where_())))?;
        if !value.is_object() {
            return Err(usage(format!(
                "{}: the input document must be a JSON object",
                where_()
            )));
        }
        let decision = if package == DEFAULT_PACKAGE {
            engine.evaluate_json(&value)
        } else {
            engine
                .evaluate_package(package, &value)
                .map_err(|e| usage(e.to_string()))?
        };
        serde_json::to_writer(&mut out, &decision_json(&decision))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The rules' values as `opa eval` prints them, then the workflow's decision.
fn decision_json(decision: &PolicyDecision) -> Value {
    let mut value = json!({
        "allow": decision.rules_allow,
        "deny": decision.deny,
        "require_approval": decision.require_approval,
        "decision": decision.outcome(),
        "reason": decision.reason(),
    });
    if let Some(error) = &decision.error {
        value["error"] = json!(error);
    }
    value
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

fn test(args: TestArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| ctx.settings.policies_dir.value.clone());
    if args.dir.is_some() && !dir.is_dir() {
        return Err(usage(format!(
            "policy test {}: not a directory",
            dir.display()
        )));
    }
    let results = run_tests(&dir).map_err(|e| usage(e.to_string()))?;
    let failed = results.iter().filter(|r| !r.passed()).count();
    if args.json {
        let tests: Vec<Value> = results.iter().map(|r| test_json(r, &dir)).collect();
        print_json(&tests)?;
    } else {
        print_results(&results, &dir);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn shown_file(file: &Path, dir: &Path) -> String {
    file.strip_prefix(dir).unwrap_or(file).display().to_string()
}

/// `opa test --format json`'s shape: location, package, name, duration, and `fail` / `error`.
fn test_json(result: &TestResult, dir: &Path) -> Value {
    let mut value = json!({
        "location": {"file": shown_file(&result.file, dir), "row": result.line},
        "package": result.package,
        "name": result.name,
        "duration": result.duration_ns,
    });
    match &result.outcome {
        TestOutcome::Pass => {}
        TestOutcome::Fail => value["fail"] = json!(true),
        TestOutcome::Error(message) => value["error"] = json!({ "message": message }),
    }
    value
}

/// `opa test`'s text: failures and errors with their location, then a summary line.
fn print_results(results: &[TestResult], dir: &Path) {
    for result in results {
        let label = match &result.outcome {
            TestOutcome::Pass => "PASS".to_owned(),
            TestOutcome::Fail => "FAIL".to_owned(),
            TestOutcome::Error(message) => format!("ERROR ({message})"),
        };
        println!(
            "{}:{}: {}.{}: {label} ({:.1}ms)",
            shown_file(&result.file, dir),
            result.line,
            result.package,
            result.name,
            result.duration_ns as f64 / 1e6
        );
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    println!("{}", "-".repeat(80));
    if passed == results.len() {
        println!("PASS: {passed}/{}", results.len());
    } else {
        println!("PASS: {passed}/{}", results.len());
        println!("FAIL: {}/{}", results.len() - passed, results.len());
    }
}
