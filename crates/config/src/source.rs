//! Where a value came from, the value wrapper that records it, secrets, and config errors.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// The origin of a setting, shown by `taskpilot config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The process environment.
    Env,
    /// The `.env` file (or `ENV_FILE_PATH`).
    Dotenv,
    /// The built-in default.
    Default,
    /// The logs directory rule: the Docker logs directory exists and is writable.
    DockerLogsDir,
    /// The base directory rule: the nearest directory upwards holding `.env` or `.tasks.json`.
    Discovered,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Env => "env",
            Source::Dotenv => "dotenv",
            Source::Default => "default",
            Source::DockerLogsDir => "docker-logs-dir",
            Source::Discovered => "discovered",
        })
    }
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    /// The value in force.
    pub value: T,
    /// Where it came from (environment, `.env`, default…).
    pub source: Source,
}

impl<T> Sourced<T> {
    /// `value`, from `source`.
    pub fn new(value: T, source: Source) -> Self {
        Sourced { value, source }
    }
}

/// A value that must never be printed in clear (API keys, tokens, passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` so it is never printed in clear.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What to show instead of the secret: its length class and last characters at most.
    pub fn redacted(&self) -> String {
        let n = self.0.chars().count();
        if n >= 12 {
            let tail: String = self.0.chars().skip(n - 4).collect();
            format!("***{tail} (redacted)")
        } else {
            "*** (redacted)".to_owned()
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Why the settings could not be resolved. Each names the variable or the file and line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable's value is not one it accepts.
    #[error("{name}={value:?} (from {origin}) is not valid: expected {expected}")]
    Invalid {
        /// The variable (`PORT`).
        name: &'static str,
        /// The value as given.
        value: String,
        /// Where the value came from.
        origin: Source,
        /// What would be accepted.
        expected: &'static str,
    },

    /// `ENV_FILE_PATH` names a file that does not exist.
    #[error(
        "ENV_FILE_PATH={}: the file does not exist; create it, fix the path, or unset \
         ENV_FILE_PATH to use the .env of the base directory",
        path.display()
    )]
    EnvFileMissing {
        /// The missing file.
        path: PathBuf,
    },

    /// The `.env` file exists but cannot be read.
    #[error("cannot read the .env file {}: {reason}", path.display())]
    DotenvUnreadable {
        /// The file.
        path: PathBuf,
        /// What the system reported.
        reason: String,
    },

    /// A line of the `.env` file cannot be read.
    #[error(
        "{}:{line}: cannot parse this line of the .env file ({reason}); \
         write it as NAME=value, quote values with spaces, or comment it out with #",
        path.display()
    )]
    DotenvLine {
        /// The `.env` file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// The current directory is unknown and `BASE_DIR` is unset.
    #[error("cannot determine the current directory for BASE_DIR: {0}; set BASE_DIR explicitly")]
    NoCurrentDir(std::io::Error),

    /// `TASKPILOT_API_TOKENS_FILE` cannot be read.
    #[error(
        "TASKPILOT_API_TOKENS_FILE={}: cannot read it: {reason}",
        path.display()
    )]
    TokensFile {
        /// The file.
        path: PathBuf,
        /// What the system reported.
        reason: String,
    },
}
