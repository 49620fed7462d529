//! The one error type of this crate. Every variant names the file (and, where there is one,
//! the line, key or flow) so the message tells a person what to fix.

use std::path::PathBuf;

/// Why policies, guardrails or prompts could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum GovernError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A Rego file does not parse or compile.
    #[error("policy {} line {}: {message}", file.display(), line.map_or_else(|| "?".to_owned(), |l| l.to_string()))]
    PolicyCompile {
        file: PathBuf,
        line: Option<u32>,
        message: String,
    },

    /// The policies directory exists but holds no `*.rego` file.
    #[error("policies directory {} contains no *.rego file: add one, or remove the directory to use the built-in policy", dir.display())]
    NoPolicies { dir: PathBuf },

    /// `taskpilot policy test` found no `test_*` rule.
    #[error("no test_* rule in the *.rego files of {}: add a *_test.rego file (`taskpilot init` writes tool_calls_test.rego)", dir.display())]
    NoTests { dir: PathBuf },

    /// No loaded policy file declares the package that is asked about.
    #[error("no policy declares package {package} (loaded packages: {})", if available.is_empty() { "none".to_owned() } else { available.join(", ") })]
    UnknownPackage {
        package: String,
        available: Vec<String>,
    },

    /// The policies loaded but the decision program could not be built.
    #[error("policy package {package}: {message}")]
    PolicyPrepare { package: String, message: String },

    /// A YAML file (guardrails config or prompt) is not valid YAML or has the wrong shape.
    #[error("{}: {key}: {message}", file.display())]
    Malformed {
        file: PathBuf,
        key: String,
        message: String,
    },

    /// A guardrails flow name that TaskPilot does not know.
    #[error("{}: {key}: unknown flow {flow:?}; known flows: {known}", file.display())]
    UnknownFlow {
        file: PathBuf,
        key: String,
        flow: String,
        /// The flows TaskPilot knows, comma-separated.
        known: String,
    },

    /// A prompts directory exists but one agent's file is missing.
    #[error("prompt file {} is missing: create it (`taskpilot init --force` writes the defaults) or remove the prompts directory to use the built-in prompts", file.display())]
    MissingPrompt { file: PathBuf },

    /// An agent name that is not planner, reviewer or executor.
    #[error("unknown agent {name:?}: expected planner, reviewer or executor")]
    UnknownAgent { name: String },

    /// A prompt version that the agent's prompt file does not define.
    #[error("prompt {agent} has no version {version:?} (available: {})", available.join(", "))]
    UnknownPromptVersion {
        agent: String,
        version: String,
        available: Vec<String>,
    },
}
