//! The three agents — planner, reviewer, executor — as thin, instrumented wrappers around the
//! provider: each run is a `taskpilot.agent.<Agent>.run` span with the prompt version, each
//! provider call a `taskpilot.llm.<model>.call` span, with `agent.<Agent>.*` metrics and token
//! cost. The reviewer's verdict is parsed strictly here ([`Verdict::parse`]).

use std::time::Instant;

use serde::Serialize;
use taskpilot_govern::{Agent, Prompt};
use taskpilot_observe::{Span, names};

use crate::ProviderError;
use crate::provider::{LlmReply, TaskBrief, TaskProposal};
use crate::runtime::Runtime;

/// The reviewer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "UPPERCASE")]
#[strum(serialize_all = "UPPERCASE")]
pub enum Verdict {
    /// The task may run.
    Approve,
    /// The task must not run.
    Rejected,
    /// A person decides (also the answer to an unclear reply).
    Review,
}

impl Verdict {
    /// The strict reading of SPEC section 1: the reply's first word, case-insensitive, with
    /// trailing punctuation (`.,:;!`) ignored, must be exactly APPROVE, REJECTED or REVIEW.
    /// Anything else (`NOT APPROVED`, `APPROVED`, prose, an empty reply) is `Review`, and the
    /// second value is `false` to say the reply was unclear.
    pub fn parse(reply: &str) -> (Verdict, bool) {
        let first = reply
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches(['.', ',', ':', ';', '!']);
        match first.to_ascii_uppercase().as_str() {
            "APPROVE" => (Verdict::Approve, true),
            "REJECTED" => (Verdict::Rejected, true),
            "REVIEW" => (Verdict::Review, true),
            _ => (Verdict::Review, false),
        }
    }

    /// The verdict as the reviewer writes it (`APPROVE`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One agent run in progress: its span, its prompt and its clock.
pub struct AgentRun<'r> {
    runtime: &'r Runtime,
    /// Which agent is running.
    pub agent: Agent,
    /// The prompt it runs with (its version goes into spans and decisions).
    pub prompt: &'r Prompt,
    /// The agent's span; tool and provider spans go under it.
    pub span: Span,
    started: Instant,
}

impl<'r> AgentRun<'r> {
    /// Starts `agent`'s span under `parent` and counts the invocation.
    pub fn start(runtime: &'r Runtime, agent: Agent, parent: &Span) -> AgentRun<'r> {
        let prompt = runtime.prompt(agent);
        let mut span = parent.child(format!("taskpilot.agent.{}.run", agent.agent_type()));
        span.set_attribute("agent.type", agent.agent_type());
        span.set_attribute("prompt.version", prompt.version.clone());
        span.set_attribute("prompt.source", prompt.source.to_string());
        span.set_attribute("llm.provider", runtime.provider.name());
        runtime
            .metrics
            .incr(&names::agent(agent.agent_type(), "invocations"), 1.0);
        AgentRun {
            runtime,
            agent,
            prompt,
            span,
            started: Instant::now(),
        }
    }

    /// Awaits one provider call inside a `taskpilot.llm.<model>.call` span and records its cost.
    async fn ask<T>(
        &mut self,
        call: impl Future<Output = Result<LlmReply<T>, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let model = self.runtime.provider.model().to_owned();
        let mut llm = self.span.child(format!("taskpilot.llm.{model}.call"));
        llm.set_attribute("llm.model", model.clone());
        llm.set_attribute("llm.provider", self.runtime.provider.name());
        llm.set_attribute("prompt.version", self.prompt.version.clone());
        match call.await {
            Ok(reply) => {
                if let Some(usage) = reply.usage {
                    llm.set_attribute("llm.tokens.input", usage.input_tokens);
                    llm.set_attribute("llm.tokens.output", usage.output_tokens);
                    let cost = self.runtime.cost.record(
                        self.agent.agent_type(),
                        &model,
                        usage.input_tokens,
                        usage.output_tokens,
                    );
                    llm.set_attribute("llm.cost_usd", cost.cost_usd);
                }
                llm.end();
                Ok(reply.value)
            }
            Err(e) => {
                llm.set_error(e.to_string());
                llm.end();
                Err(e)
            }
        }
    }

    /// Ends the run: success or error metrics, latency, span status.
    pub fn finish(mut self, error: Option<&str>) {
        let kind = self.agent.agent_type();
        let metrics = &self.runtime.metrics;
        match error {
            None => metrics.incr(&names::agent(kind, "success"), 1.0),
            Some(message) => {
                metrics.incr(&names::agent(kind, "errors"), 1.0);
                self.span.set_error(message);
            }
        }
        metrics.observe(
            &names::agent(kind, "latency_ms"),
            self.started.elapsed().as_secs_f64() * 1000.0,
        );
        self.span.end();
    }
}

/// The planner: a request becomes `create_task` arguments.
pub struct PlannerAgent;

impl PlannerAgent {
    /// Asks the provider to turn `request` into a task proposal.
    pub async fn propose(
        run: &mut AgentRun<'_>,
        request: &str,
    ) -> Result<TaskProposal, ProviderError> {
        let provider = run.runtime.provider.clone();
        let system = run.prompt.system_instruction.clone();
        run.ask(provider.plan(&system, request)).await
    }
}

/// The reviewer: a task gets a reply whose first word is the verdict.
pub struct ReviewerAgent;

impl ReviewerAgent {
    /// Asks the provider for a verdict on `task`; the reply's first word is it.
    pub async fn review(run: &mut AgentRun<'_>, task: &TaskBrief) -> Result<String, ProviderError> {
        let provider = run.runtime.provider.clone();
        let system = run.prompt.system_instruction.clone();
        run.ask(provider.review(&system, task)).await
    }
}

/// The executor: an approved task gets the message for `notify_external_system`.
pub struct ExecutorAgent;

impl ExecutorAgent {
    /// Asks the provider for the notification message announcing `task`.
    pub async fn prepare(
        run: &mut AgentRun<'_>,
        task: &TaskBrief,
    ) -> Result<String, ProviderError> {
        let provider = run.runtime.provider.clone();
        let system = run.prompt.system_instruction.clone();
        run.ask(provider.execute(&system, task)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_read_strictly() {
        assert_eq!(Verdict::parse("APPROVE"), (Verdict::Approve, true));
        assert_eq!(
            Verdict::parse("approve. looks fine"),
            (Verdict::Approve, true)
        );
        assert_eq!(
            Verdict::parse("  Rejected: harmful"),
            (Verdict::Rejected, true)
        );
        assert_eq!(Verdict::parse("review"), (Verdict::Review, true));
        assert_eq!(Verdict::parse("NOT APPROVED"), (Verdict::Review, false));
        assert_eq!(Verdict::parse("APPROVED"), (Verdict::Review, false));
        assert_eq!(
            Verdict::parse("I think we should APPROVE"),
            (Verdict::Review, false)
        );
        assert_eq!(Verdict::parse(""), (Verdict::Review, false));
    }
}
