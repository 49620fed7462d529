//! The agents layer's errors: one enum for providers and one for the runtime and workflow.
//!
//! Provider errors end a run as `failed` with their message; runtime errors mean the workflow
//! could not run at all (the store, the decision log or the configuration failed).

use taskpilot_govern::GovernError;
use taskpilot_observe::ObserveError;
use taskpilot_store::StoreError;

/// Why an LLM provider could not answer. Messages never contain the API key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The endpoint could not be reached or did not answer in time (after every retry).
    #[error("LLM request to {url} failed after {attempts} attempt(s): {message}")]
    Transport {
        /// The endpoint.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        message: String,
    },

    /// The endpoint answered with an error status (after every retry for 429 and 5xx).
    #[error("LLM endpoint {url} answered HTTP {status} after {attempts} attempt(s): {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// The last HTTP status.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
        /// The start of the last answer's body.
        body: String,
    },

    /// The answer was not the Chat Completions shape expected.
    #[error("LLM answer could not be read: {0}")]
    BadResponse(String),

    /// The planner's `create_task` arguments do not match the strict schema.
    #[error("malformed create_task arguments from the planner: {0}")]
    MalformedArguments(String),
}

/// Why the workflow could not run (as opposed to a run that ended `failed`).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// `LLM_PROVIDER=openai` (or a key that is needed) without `OPENAI_API_KEY`.
    #[error(
        "LLM_PROVIDER=openai needs OPENAI_API_KEY; set it in the environment or the .env file, \
         or use LLM_PROVIDER=offline"
    )]
    MissingApiKey,

    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for {what}: {message}")]
    HttpClient {
        /// What the client was for.
        what: &'static str,
        /// The builder's error.
        message: String,
    },

    /// The task store failed.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// A field written by a person breaks its rules (a reason too long, say).
    #[error(transparent)]
    Invalid(#[from] taskpilot_core::CoreError),

    /// A policy, guardrail or prompt file could not be loaded or evaluated.
    #[error(transparent)]
    Govern(#[from] GovernError),

    /// Metrics, traces or the decision log could not be written.
    #[error(transparent)]
    Observe(#[from] ObserveError),

    /// A background task of the runtime failed (a panic or cancellation).
    #[error("internal error while {what}: {message}")]
    Internal {
        /// What was being done.
        what: &'static str,
        /// What went wrong.
        message: String,
    },

    /// A human decision on a task that is not waiting for one.
    #[error("task {id} is '{status}', expected {expected}; only such tasks can be {verb}")]
    NotDecidable {
        /// The task.
        id: String,
        /// Its status.
        status: String,
        /// The statuses that take a decision.
        expected: String,
        /// The decision asked for (`approved`, `rejected`).
        verb: &'static str,
    },
}
