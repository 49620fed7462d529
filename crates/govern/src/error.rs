//! The one error type of this crate. Every variant names the file (and, where there is one,
//! the line, key or flow) so the message tells a person what to fix.

use std::path::PathBuf;

/// Why policies, guardrails or prompts could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum GovernError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },

    /// A Rego file does not parse or compile.
    #[error("policy {} line {}: {message}", file.display(), line.map_or_else(|| "?".to_owned(), |l| l.to_string()))]
    PolicyCompile {
        /// The Rego file.
        file: PathBuf,
        /// The line, when the compiler names one.
        line: Option<u32>,
        /// The compiler's message.
        message: String,
    },

    /// The policies directory exists but holds no `*.rego` file.
    #[error("policies directory {} contains no *.rego file: add one, or remove the directory to use the built-in policy", dir.display())]
    NoPolicies {
        /// `POLICIES_DIR`.
        dir: PathBuf,
    },

    /// `taskpilot policy test` found no `test_*` rule.
    #[error("no test_* rule in the *.rego files of {}: add a *_test.rego file (`taskpilot init` writes tool_calls_test.rego)", dir.display())]
    NoTests {
        /// `POLICIES_DIR`.
        dir: PathBuf,
    },

    /// No loaded policy file declares the package that is asked about.
    #[error("no policy declares package {package} (loaded packages: {})", if available.is_empty() { "none".to_owned() } else { available.join(", ") })]
    UnknownPackage {
        /// The package asked about (`data.taskpilot.tool_calls`).
        package: String,
        /// The packages the loaded files declare.
        available: Vec<String>,
    },

    /// The policies loaded but the decision program could not be built.
    #[error("policy package {package}: {message}")]
    PolicyPrepare {
        /// The package.
        package: String,
        /// What the engine reported.
        message: String,
    },

    /// A YAML file (guardrails config or prompt) is not valid YAML or has the wrong shape.
    #[error("{}: {key}: {message}", file.display())]
    Malformed {
        /// The YAML file.
        file: PathBuf,
        /// Where in the file (`rails.config.pii`).
        key: String,
        /// What is wrong.
        message: String,
    },

    /// A guardrails flow name that TaskPilot does not know.
    #[error("{}: {key}: unknown flow {flow:?}; known flows: {known}", file.display())]
    UnknownFlow {
        /// The guardrails file.
        file: PathBuf,
        /// Where in the file.
        key: String,
        /// The unknown name.
        flow: String,
        /// The flows TaskPilot knows, comma-separated.
        known: String,
    },

    /// A prompts directory exists but one agent's file is missing.
    #[error("prompt file {} is missing: create it (`taskpilot init --force` writes the defaults) or remove the prompts directory to use the built-in prompts", file.display())]
    MissingPrompt {
        /// The file expected in `PROMPTS_DIR`.
        file: PathBuf,
    },

    /// An agent name that is not planner, reviewer or executor.
    #[error("unknown agent {name:?}: expected planner, reviewer or executor")]
    UnknownAgent {
        /// The name given.
        name: String,
    },

    /// A prompt version that the agent's prompt file does not define.
    #[error("prompt {agent} has no version {version:?} (available: {})", available.join(", "))]
    UnknownPromptVersion {
        /// The agent (`planner`).
        agent: String,
        /// The version asked for.
        version: String,
        /// The versions the prompt file defines.
        available: Vec<String>,
    },
}
