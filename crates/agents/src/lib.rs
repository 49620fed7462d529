//! The agents of TaskPilot and the workflow that governs them (SPEC sections 1 and 7).
//!
//! - [`provider`]: the [`LlmProvider`] trait; [`offline`] (deterministic rules, the default
//!   without a key) and [`openai`] (any OpenAI-compatible Chat Completions endpoint).
//! - [`agents`]: the planner, reviewer and executor, instrumented, and the strict verdict.
//! - [`tools`]: `notify_external_system` (webhook or local file); `create_task` is the store.
//! - [`workflow`]: the steps of SPEC section 1 and the human decisions that continue them.
//! - [`runtime`]: [`Runtime`], built once from the settings; the CLI and the server use it.
//!
//! Not here: how policies, guardrails and prompts are loaded (`taskpilot-govern`), how spans,
//! metrics and decisions are written (`taskpilot-observe`), how tasks are stored
//! (`taskpilot-store`). docs/AGENTS.md describes the behaviour.

pub mod agents;
pub mod audit;
mod error;
pub mod offline;
pub mod openai;
pub mod provider;
pub mod runs;
pub mod runtime;
pub mod tools;
pub mod workflow;

pub use agents::Verdict;
pub use error::{AgentError, ProviderError};
pub use offline::OfflineProvider;
pub use openai::{OpenAiProvider, RetryPolicy};
pub use provider::{LlmProvider, LlmReply, TaskBrief, TaskProposal, Usage};
pub use runtime::Runtime;
pub use tools::{Notifier, NotifyTarget};
pub use workflow::{RunResult, RunStatus, StepObserver, new_request_id};
