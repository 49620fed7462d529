//! Exit codes and error reporting: 0 success, 1 other failures, 2 invalid input or an impossible
//! transition, 3 a task that does not exist. Every message goes to stderr.

use std::process::ExitCode;

use taskpilot_config::{ConfigError, Settings, StoreLocation};
use taskpilot_core::CoreError;
use taskpilot_store::StoreError;

pub(crate) const INVALID: u8 = 2;
pub(crate) const NOT_FOUND: u8 = 3;

/// An error caused by what the user asked for (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub String);

/// Shorthand for returning a [`UsageError`].
pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Prints the error chain and picks the exit code from the most specific cause.
pub(crate) fn report(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::from(code_for(&error))
}

fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return match e {
                StoreError::NotFound { .. } => NOT_FOUND,
                StoreError::Invalid(_) => INVALID,
                _ => 1,
            };
        }
        if cause.is::<CoreError>() || cause.is::<UsageError>() || cause.is::<ConfigError>() {
            return INVALID;
        }
        if cause.is::<clap::Error>() {
            return INVALID;
        }
    }
    1
}

/// A store error with the setting that chose the store, so the user knows what to change.
pub(crate) fn store_error(error: StoreError, settings: &Settings) -> anyhow::Error {
    let place = match settings.store_location() {
        StoreLocation::File(path) => format!("TASKS_FILE={}", path.display()),
        StoreLocation::Url(_) => format!("TASK_STORE_URL={}", settings.store_display()),
    };
    match error {
        e @ (StoreError::NotFound { .. } | StoreError::Invalid(_)) => e.into(),
        e => anyhow::Error::new(e).context(format!("task store {place}")),
    }
}
