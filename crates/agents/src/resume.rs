//! Resuming a task left `approved` (the process crashed between approval and execution, or
//! another instance approved it): [`Runtime::execute_approved`] runs step 6 of the workflow —
//! executor, output guardrails, policy on `notify_external_system`, the notification bounded by
//! `TOOL_TIMEOUT_SECONDS` — and moves the task to `executed` or `failed`. The server's
//! background sweep calls it; the transition is atomic, so two sweepers never both finish
//! a task.
//!
//! Added for the server (issue 8) without touching `workflow.rs`; it uses only the public
//! pieces of this crate, so its decisions and spans look like a run's.

use std::time::Instant;

use serde_json::json;
use taskpilot_core::{Status, TaskId, Transition};
use taskpilot_govern::{Agent, Direction, PolicyInput};
use taskpilot_observe::{Decision, DecisionResult, DecisionType, names};

use crate::AgentError;
use crate::agents::{AgentRun, ExecutorAgent};
use crate::provider::TaskBrief;
use crate::runtime::Runtime;
use crate::tools::Notification;
use crate::workflow::{RunResult, RunStatus, new_request_id};

impl Runtime {
    /// Executes a task that is `approved`. Errors with [`AgentError::NotDecidable`] when the
    /// task is in another status.
    pub async fn execute_approved(&self, id: &TaskId) -> Result<RunResult, AgentError> {
        let started = Instant::now();
        let task = self.store.get(id).await?;
        if task.status != Status::Approved {
            return Err(AgentError::NotDecidable {
                id: id.to_string(),
                status: task.status.to_string(),
                expected: "'approved'".to_owned(),
                verb: "executed",
            });
        }
        let request_id = new_request_id();
        let mut root = self
            .tracer
            .start_span("taskpilot.workflow.run", None, Some(&request_id));
        root.set_attribute("workflow.trigger", "resume_approved");
        root.set_attribute("task.id", id.to_string());
        let trace_id = root.context().trace_id;
        let mut decisions = Vec::new();
        let brief = TaskBrief::from(&task);
        let mut executor = AgentRun::start(self, Agent::Executor, &root);
        executor.span.set_attribute("task.id", id.to_string());
        let outcome: Result<(), String> = match ExecutorAgent::prepare(&mut executor, &brief).await
        {
            Err(e) => Err(format!("executor failed: {e}")),
            Ok(message) => {
                let guard = self.guardrails.check(Direction::Output, &message);
                let mut d = Decision::new(
                    DecisionType::GuardrailsOutput,
                    if guard.allowed {
                        DecisionResult::Allow
                    } else {
                        DecisionResult::Deny
                    },
                    guard.reason.clone(),
                );
                d.agent_id = Some(Agent::Executor.agent_type().to_owned());
                d.context =
                    json!({"rail": "output", "flow": guard.flow, "task_id": id.to_string()});
                self.record_resumed(d, &request_id, &trace_id, &mut decisions)
                    .await?;
                if !guard.allowed {
                    Err(format!(
                        "the executor's message was blocked by the output guardrails: {}",
                        guard.reason
                    ))
                } else {
                    let input = PolicyInput {
                        tool_name: "notify_external_system".to_owned(),
                        parameters: json!({"message": message, "task_id": id.to_string()}),
                        agent_type: Agent::Executor.agent_type().to_owned(),
                        agent_id: Agent::Executor.agent_type().to_owned(),
                        request_id: request_id.clone(),
                    };
                    let policy = self.policy.evaluate(&input);
                    let mut d = Decision::new(
                        DecisionType::ToolCall,
                        if policy.allow {
                            DecisionResult::Allow
                        } else {
                            DecisionResult::Deny
                        },
                        policy.reason(),
                    );
                    d.agent_id = Some(Agent::Executor.agent_type().to_owned());
                    d.tool_name = Some("notify_external_system".to_owned());
                    d.policy_version = Some(policy.policy_version.clone());
                    d.context = json!({"task_id": id.to_string(), "deny": policy.deny});
                    self.record_resumed(d, &request_id, &trace_id, &mut decisions)
                        .await?;
                    if !policy.allow {
                        self.metrics.incr(names::POLICY_VIOLATIONS_TOTAL, 1.0);
                        Err(format!(
                            "notify_external_system denied by policy: {}",
                            policy.reason()
                        ))
                    } else {
                        let notification = Notification {
                            task_id: id.as_str(),
                            title: &task.title,
                            priority: task.priority.as_str(),
                            message: &message,
                            request_id: &request_id,
                        };
                        let tool = "notify_external_system";
                        self.metrics.incr(&names::tool(tool, "calls"), 1.0);
                        let sent = match tokio::time::timeout(
                            self.tool_timeout,
                            self.notifier.notify(&notification),
                        )
                        .await
                        {
                            Ok(Ok(_)) => Ok(()),
                            Ok(Err(e)) => Err(e),
                            Err(_) => Err(format!(
                                "{tool} timed out after {} s (TOOL_TIMEOUT_SECONDS)",
                                self.tool_timeout.as_secs_f64()
                            )),
                        };
                        let what = if sent.is_ok() { "success" } else { "errors" };
                        self.metrics.incr(&names::tool(tool, what), 1.0);
                        sent
                    }
                }
            }
        };
        let transition = match &outcome {
            Ok(()) => Transition::to(Status::Executed).expecting(&[Status::Approved]),
            Err(error) => Transition::to(Status::Failed)
                .expecting(&[Status::Approved])
                .with_error(error.clone()),
        };
        executor.finish(outcome.as_ref().err().map(String::as_str));
        let done = self.store.transition(id, &transition).await;
        match &done {
            Ok(t) if t.status == Status::Executed => {
                self.metrics.incr(names::TASKS_EXECUTED, 1.0);
                root.set_attribute("workflow.status", "executed");
            }
            Ok(_) => root.set_error(outcome.clone().err().unwrap_or_default()),
            Err(e) => root.set_error(e.to_string()),
        }
        root.end();
        let task = done?;
        Ok(RunResult {
            request_id,
            status: if outcome.is_ok() {
                RunStatus::Executed
            } else {
                RunStatus::Failed
            },
            task: Some(task),
            reviewer_decision: None,
            decisions,
            latency_ms: (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0,
            reason: outcome.err(),
            trace_id,
        })
    }

    /// Logs one decision of a resumed execution before it takes effect.
    async fn record_resumed(
        &self,
        mut d: Decision,
        request_id: &str,
        trace_id: &str,
        decisions: &mut Vec<Decision>,
    ) -> Result<(), AgentError> {
        d.request_id = Some(request_id.to_owned());
        d.trace_id = Some(trace_id.to_owned());
        d.user_id = Some("background".to_owned());
        self.decisions.record_async(&d).await?;
        decisions.push(d);
        Ok(())
    }
}
