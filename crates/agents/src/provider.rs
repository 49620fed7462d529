//! The one trait every LLM provider implements, and what the agents exchange with it.
//!
//! A provider answers the three agents' questions: the planner's `create_task` function call,
//! the reviewer's verdict text and the executor's notification message, each with the token
//! usage (when the provider reports one) for the cost tracker. Providers do not know about
//! policy, guardrails or the store: the workflow does.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use taskpilot_core::Task;

use crate::ProviderError;

/// Tokens of one call, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// One provider answer: the value and the usage (`None` when nothing was billed).
#[derive(Debug, Clone, PartialEq)]
pub struct LlmReply<T> {
    /// What the provider answered.
    pub value: T,
    /// What it cost.
    pub usage: Option<Usage>,
}

/// The planner's `create_task` arguments, exactly the strict schema: three required fields,
/// nothing else. Values (title length, priority) are judged by the policy, not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskProposal {
    /// The task's title.
    pub title: String,
    /// `high`, `medium` or `low`, as the planner wrote it.
    pub priority: String,
    /// The task's description.
    pub description: String,
}

impl TaskProposal {
    /// Parses the function-call arguments (a JSON string) against the strict schema.
    pub fn from_arguments(arguments: &str) -> Result<TaskProposal, ProviderError> {
        serde_json::from_str(arguments).map_err(|e| {
            let shown: String = arguments.chars().take(200).collect();
            ProviderError::MalformedArguments(format!("{e} in {shown:?}"))
        })
    }
}

/// What the reviewer and the executor are shown of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskBrief {
    /// The task's id.
    pub id: String,
    /// The task's title.
    pub title: String,
    /// The task's priority.
    pub priority: String,
    /// The task's description.
    pub description: String,
}

impl From<&Task> for TaskBrief {
    fn from(task: &Task) -> TaskBrief {
        TaskBrief {
            id: task.id.to_string(),
            title: task.title.clone(),
            priority: task.priority.to_string(),
            description: task.description.clone(),
        }
    }
}

impl TaskBrief {
    /// The user message the reviewer and executor receive.
    pub fn to_message(&self) -> String {
        format!(
            "Task id: {}\nTitle: {}\nPriority: {}\nDescription: {}",
            self.id, self.title, self.priority, self.description
        )
    }
}

/// An LLM provider: `offline` (deterministic rules) or `openai` (any compatible endpoint).
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// `offline` or `openai`.
    fn name(&self) -> &'static str;

    /// The model recorded in spans and cost (`offline` for the offline provider).
    fn model(&self) -> &str;

    /// The planner: turns a request into `create_task` arguments.
    async fn plan(
        &self,
        system_prompt: &str,
        request: &str,
    ) -> Result<LlmReply<TaskProposal>, ProviderError>;

    /// The reviewer: a reply whose first word should be APPROVE, REJECTED or REVIEW.
    async fn review(
        &self,
        system_prompt: &str,
        task: &TaskBrief,
    ) -> Result<LlmReply<String>, ProviderError>;

    /// The executor: the message for `notify_external_system`.
    async fn execute(
        &self,
        system_prompt: &str,
        task: &TaskBrief,
    ) -> Result<LlmReply<String>, ProviderError>;
}
