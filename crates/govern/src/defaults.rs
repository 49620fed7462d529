//! The built-in policy, guardrails config and prompts, compiled into the binary from
//! `defaults/` so a fresh machine needs no files, and the list `taskpilot init` writes out.

/// File name of the built-in policy (used in error messages and by `init`).
pub const POLICY_FILE: &str = "tool_calls.rego";
/// The built-in policy (package `taskpilot.tool_calls`).
pub const POLICY: &str = include_str!("../../../defaults/policies/tool_calls.rego");

/// File name of the built-in policy's tests (`taskpilot policy test`, `opa test`).
pub const POLICY_TEST_FILE: &str = "tool_calls_test.rego";
/// The built-in policy's tests (package `taskpilot.tool_calls_test`), one or more per row of
/// SPEC section 5's table.
pub const POLICY_TEST: &str = include_str!("../../../defaults/policies/tool_calls_test.rego");

/// File name of the guardrails config inside `GUARDRAILS_CONFIG_DIR`.
pub const GUARDRAILS_FILE: &str = "config.yml";
/// The built-in guardrails config.
pub const GUARDRAILS: &str = include_str!("../../../defaults/guardrails/config.yml");

/// The built-in planner prompt.
pub const PLANNER_PROMPT: &str = include_str!("../../../defaults/prompts/planner.yaml");
/// The built-in reviewer prompt.
pub const REVIEWER_PROMPT: &str = include_str!("../../../defaults/prompts/reviewer.yaml");
/// The built-in executor prompt.
pub const EXECUTOR_PROMPT: &str = include_str!("../../../defaults/prompts/executor.yaml");

/// Which configured directory a default file belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultDir {
    /// `PROMPTS_DIR`
    Prompts,
    /// `POLICIES_DIR`
    Policies,
    /// `GUARDRAILS_CONFIG_DIR`
    Guardrails,
}

/// One file `taskpilot init` writes: its directory, its name there, and its contents.
#[derive(Debug, Clone, Copy)]
pub struct DefaultFile {
    /// The directory it goes in (prompts, policies or guardrails).
    pub dir: DefaultDir,
    /// Its file name there.
    pub name: &'static str,
    /// The built-in text.
    pub contents: &'static str,
}

/// Every built-in file, in the order `taskpilot init` writes them.
pub fn files() -> [DefaultFile; 6] {
    [
        DefaultFile {
            dir: DefaultDir::Prompts,
            name: "planner.yaml",
            contents: PLANNER_PROMPT,
        },
        DefaultFile {
            dir: DefaultDir::Prompts,
            name: "reviewer.yaml",
            contents: REVIEWER_PROMPT,
        },
        DefaultFile {
            dir: DefaultDir::Prompts,
            name: "executor.yaml",
            contents: EXECUTOR_PROMPT,
        },
        DefaultFile {
            dir: DefaultDir::Policies,
            name: POLICY_FILE,
            contents: POLICY,
        },
        DefaultFile {
            dir: DefaultDir::Policies,
            name: POLICY_TEST_FILE,
            contents: POLICY_TEST,
        },
        DefaultFile {
            dir: DefaultDir::Guardrails,
            name: GUARDRAILS_FILE,
            contents: GUARDRAILS,
        },
    ]
}
