//! Governance for TaskPilot: what agents may do and say.
//!
//! - [`policy`]: real Rego (SPEC section 5) evaluated in-process with `regorus`; one
//!   [`PolicyEngine`] compiled at start-up answers `allow` / `deny` / `require_approval` for
//!   every tool call in microseconds, failing closed on any error.
//! - [`guardrails`]: the NeMo-style input and output rails of SPEC section 6 (empty text,
//!   length, prompt injection, PII with a Luhn check, blocked terms).
//!   Text is checked after [`normalise`] (NFKC, invisible characters removed, look-alikes
//!   mapped); [`secrets`] finds and redacts credentials and IBANs before text is stored.
//! - [`prompts`]: the agents' versioned system prompts of SPEC section 7.
//! - [`defaults`]: the built-in files (compiled in from `defaults/`) that `taskpilot init`
//!   writes out.
//!
//! Each loader reads its directory when it exists and falls back to the built-in default
//! otherwise; a file that is present but wrong is an error naming the file (and line or key),
//! so misconfiguration stops the program at start-up instead of being ignored.
//!
//! Not here: the decision log, spans and metrics (the observe crate records what these types
//! return), and the workflow that calls them (the agents crate).

pub mod defaults;
mod error;
pub mod guardrails;
pub mod normalise;
mod opa_compat;
pub mod policy;
pub mod policy_test;
pub mod prompts;
pub mod secrets;

pub use error::GovernError;
pub use guardrails::{Direction, GuardCheck, GuardOutcome, GuardSource, Guardrails, PiiKind};
pub use policy::{PolicyDecision, PolicyEngine, PolicyInput, PolicyOutcome, PolicySource};
pub use prompts::{Agent, Prompt, PromptSource, Prompts};
pub use secrets::{Redacted, SecretKind, redact as redact_secrets};
