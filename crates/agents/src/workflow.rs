//! The workflow of SPEC section 1, step by step, and the human decisions that continue it:
//!
//! input guardrails → planner (+ output guardrails) → policy on `create_task` → task created
//! `pending` → reviewer (+ output guardrails, strict verdict; `require_approval` forces
//! `review`) → if approved: executor (+ output guardrails) → policy on
//! `notify_external_system` → the tool call bounded by `TOOL_TIMEOUT_SECONDS` → `executed` or
//! `failed`.
//!
//! One run creates at most one task and acts on it by id. Every guardrail check, policy
//! evaluation, reviewer verdict and human decision is recorded in the decision log before it
//! takes effect, and is returned in the [`RunResult`].
//!
//! Step 6 (the executor) is one function, `execute`, whether it follows a run, a person's
//! approval or [`Runtime::execute_approved`] (a task left `approved`). Only the worker holding
//! the task's execution claim runs it: the approval takes the claim in the same conditional
//! write, `execute_approved` takes it (or takes over an expired one) first, and the final
//! `executed`/`failed` write requires it still held.

use std::fmt;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};
use taskpilot_core::{NewTask, Status, Task, TaskId, Transition};
use taskpilot_govern::{
    Agent, Direction, GuardOutcome, PolicyDecision, PolicyInput, PolicyOutcome,
};
use taskpilot_observe::{Decision, DecisionResult, DecisionType, Span, names};
use taskpilot_store::StoreError;

use crate::AgentError;
use crate::agents::{AgentRun, ExecutorAgent, PlannerAgent, ReviewerAgent, Verdict};
use crate::provider::TaskBrief;
use crate::runtime::Runtime;
use crate::tools::Notification;

/// How a run (or a human decision) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::Display, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RunStatus {
    /// The notification was sent; the task is `executed`.
    Executed,
    /// The task waits for a person.
    Review,
    /// The reviewer or a person rejected the task.
    Rejected,
    /// Something failed: the planner's answer, the executor, the tool. The task (if any) is
    /// `failed` with its `error`.
    Failed,
    /// The policy refused `create_task`; no task.
    Denied,
    /// The guardrails blocked the request or the planner's output; nothing stored.
    Blocked,
}

impl RunStatus {
    /// The lower-case name shown and stored (`executed`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a run did: the JSON of `taskpilot run --json` and of the HTTP API.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// The run's request id, in every decision and span.
    pub request_id: String,
    /// How the run ended.
    pub status: RunStatus,
    /// The task as stored at the end, or `null` when none was created.
    pub task: Option<Task>,
    /// The reviewer's parsed verdict (`APPROVE`, `REJECTED`, `REVIEW`), `null` when the
    /// reviewer did not run (and for human decisions).
    pub reviewer_decision: Option<Verdict>,
    /// Every decision of this run, in order, as written to the decision log.
    pub decisions: Vec<Decision>,
    /// How long the run took, in milliseconds.
    pub latency_ms: f64,
    /// Why the run ended as it did (the guardrail, policy, reviewer or error message).
    pub reason: Option<String>,
    /// The trace of this run in `TRACES_FILE`.
    pub trace_id: String,
}

/// Told about each step of a run as it happens: `guardrails`, `planner`, `policy`,
/// `task_created`, `reviewer`, `executor` (docs/API.md "Runs" shows each step's detail). Runs
/// as resources append them to the run record; a failing observer does not stop the run.
#[async_trait::async_trait]
pub trait StepObserver: Send + Sync {
    /// Called once per step with its name and detail.
    async fn step(&self, step: &str, detail: Value);
}

/// A new request id: `req_YYYYMMDD_HHMMSS_ffffff_xxxx`.
pub fn new_request_id() -> String {
    format!(
        "req_{}_{:04x}",
        Utc::now().format("%Y%m%d_%H%M%S_%6f"),
        rand::random::<u16>()
    )
}

/// The per-run state: ids and the decisions made so far.
struct RunCtx<'r> {
    rt: &'r Runtime,
    request_id: String,
    trace_id: String,
    user_id: Option<String>,
    decisions: Vec<Decision>,
    reviewer_decision: Option<Verdict>,
    observer: Option<&'r dyn StepObserver>,
}

/// Where a run ended (before the result is assembled).
struct Ending {
    status: RunStatus,
    task: Option<Task>,
    reason: Option<String>,
}

impl Ending {
    fn new(status: RunStatus, task: Option<Task>, reason: impl Into<String>) -> Ending {
        Ending {
            status,
            task,
            reason: Some(reason.into()),
        }
    }
}

impl<'r> RunCtx<'r> {
    fn new(rt: &'r Runtime, root: &Span, request_id: String, user_id: Option<String>) -> Self {
        RunCtx {
            rt,
            request_id,
            trace_id: root.context().trace_id,
            user_id,
            decisions: Vec::new(),
            reviewer_decision: None,
            observer: None,
        }
    }

    async fn step(&self, step: &str, detail: Value) {
        if let Some(observer) = self.observer {
            observer.step(step, detail).await;
        }
    }

    /// Records decisions (concurrently, so the log's group commit syncs them once) before the
    /// caller acts on them.
    async fn log(&mut self, mut batch: Vec<Decision>) -> Result<(), AgentError> {
        for d in &mut batch {
            d.request_id = Some(self.request_id.clone());
            d.trace_id = Some(self.trace_id.clone());
            if d.user_id.is_none() {
                d.user_id.clone_from(&self.user_id);
            }
        }
        self.rt.decisions.record_batch(&batch).await?;
        self.decisions.extend(batch);
        Ok(())
    }

    /// Runs one guardrail rail inside a `taskpilot.guardrails.<input|output>.check` span and
    /// logs each flow's result as a decision. The checked text itself is never logged.
    async fn guard(
        &mut self,
        direction: Direction,
        text: &str,
        parent: &Span,
        agent: Option<Agent>,
        task_id: Option<&TaskId>,
    ) -> Result<GuardOutcome, AgentError> {
        let (rail, decision_type) = match direction {
            Direction::Input => ("input", DecisionType::GuardrailsInput),
            Direction::Output => ("output", DecisionType::GuardrailsOutput),
        };
        let mut span = parent.child(format!("taskpilot.guardrails.{rail}.check"));
        let started = Instant::now();
        let outcome = self.rt.guardrails.check(direction, text);
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.set_attribute("guardrails.rail", rail);
        span.set_attribute("guardrails.allowed", outcome.allowed);
        span.set_attribute("guardrails.flows", outcome.checks.len());
        if let Some(agent) = agent {
            span.set_attribute("agent.type", agent.agent_type());
            span.set_attribute("prompt.version", self.rt.prompt(agent).version.clone());
        }
        if !outcome.allowed {
            span.set_attribute(
                "guardrails.blocked_by",
                outcome.flow.clone().unwrap_or_default(),
            );
            span.set_error(format!("blocked: {}", outcome.reason));
        }
        let make = |flow: Option<&str>, passed: bool, reason: &str| {
            let result = if passed {
                DecisionResult::Allow
            } else {
                DecisionResult::Deny
            };
            let mut d = Decision::new(decision_type, result, reason.to_owned());
            d.agent_id = agent.map(|a| a.agent_type().to_owned());
            d.latency_ms = latency_ms;
            d.context = json!({
                "rail": rail,
                "flow": flow,
                "passed": passed,
                "task_id": task_id.map(std::string::ToString::to_string),
                "prompt_version": agent.map(|a| self.rt.prompt(a).version.clone()),
                "text_chars": text.chars().count(),
            });
            d
        };
        let batch: Vec<Decision> = if outcome.checks.is_empty() {
            vec![make(
                outcome.flow.as_deref(),
                outcome.allowed,
                &outcome.reason,
            )]
        } else {
            outcome
                .checks
                .iter()
                .map(|c| {
                    make(
                        Some(&c.flow),
                        c.passed,
                        &format!("{}: {}", c.flow, c.reason),
                    )
                })
                .collect()
        };
        span.end();
        self.log(batch).await?;
        Ok(outcome)
    }

    /// Evaluates the policy for one tool call inside a `taskpilot.policy.<tool>.evaluate` span
    /// and logs it as a `tool_call` decision. Denials count as policy violations.
    async fn policy(
        &mut self,
        tool: &str,
        parameters: Value,
        agent: Agent,
        parent: &Span,
        task_id: Option<&TaskId>,
    ) -> Result<PolicyDecision, AgentError> {
        let mut span = parent.child(format!("taskpilot.policy.{tool}.evaluate"));
        let input = PolicyInput {
            tool_name: tool.to_owned(),
            parameters: parameters.clone(),
            agent_type: agent.agent_type().to_owned(),
            agent_id: agent.agent_type().to_owned(),
            request_id: self.request_id.clone(),
        };
        let started = Instant::now();
        let decision = self.rt.policy.evaluate(&input);
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let outcome = decision.outcome();
        let result = match outcome {
            PolicyOutcome::Deny => DecisionResult::Deny,
            PolicyOutcome::RequireApproval => DecisionResult::RequireApproval,
            PolicyOutcome::Allow => DecisionResult::Allow,
        };
        span.set_attribute("tool.name", tool);
        span.set_attribute("agent.type", agent.agent_type());
        span.set_attribute("policy.result", outcome.as_str());
        span.set_attribute("policy.version", decision.policy_version.clone());
        span.set_attribute("prompt.version", self.rt.prompt(agent).version.clone());
        if result == DecisionResult::Deny {
            span.set_error(decision.reason());
            self.rt.metrics.incr(names::POLICY_VIOLATIONS_TOTAL, 1.0);
        }
        span.end();
        let mut d = Decision::new(DecisionType::ToolCall, result, decision.reason());
        d.agent_id = Some(agent.agent_type().to_owned());
        d.tool_name = Some(tool.to_owned());
        d.policy_version = Some(decision.policy_version.clone());
        d.latency_ms = latency_ms;
        d.context = json!({
            "parameters": parameters,
            "deny": decision.deny,
            "require_approval": decision.require_approval,
            "task_id": task_id.map(std::string::ToString::to_string),
            "prompt_version": self.rt.prompt(agent).version.clone(),
        });
        self.log(vec![d]).await?;
        Ok(decision)
    }

    /// Who claims a task this run executes: the process's worker and this run, so two runs
    /// of one process never share a claim.
    fn claim_owner(&self) -> String {
        format!("{}/{}", self.rt.worker, self.request_id)
    }

    /// `transition` also taking this run's execution claim for `CLAIM_LEASE_SECONDS`.
    fn claiming(&self, transition: Transition) -> Transition {
        transition.claiming(
            self.claim_owner(),
            taskpilot_store::lease_end(self.rt.claim_lease),
        )
    }

    /// Moves the task; the store enforces the transition rules atomically.
    async fn transition(&self, id: &TaskId, transition: Transition) -> Result<Task, AgentError> {
        let task = self.rt.store.transition(id, &transition).await?;
        let counter = match task.status {
            Status::Approved => Some(names::TASKS_APPROVED),
            Status::Rejected => Some(names::TASKS_REJECTED),
            Status::Review => Some(names::TASKS_REVIEW),
            Status::Executed => Some(names::TASKS_EXECUTED),
            _ => None,
        };
        if let Some(counter) = counter {
            self.rt.metrics.incr(counter, 1.0);
        }
        Ok(task)
    }

    fn finish(self, ending: Ending, started: Instant) -> RunResult {
        RunResult {
            request_id: self.request_id,
            status: ending.status,
            task: ending.task,
            reviewer_decision: self.reviewer_decision,
            decisions: self.decisions,
            latency_ms: (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            reason: ending.reason,
            trace_id: self.trace_id,
        }
    }
}

/// Runs a tool future bounded by `TOOL_TIMEOUT_SECONDS` inside a `taskpilot.tool.<tool>.call`
/// span, with `tool.<tool>.*` metrics.
async fn call_tool<T, E: fmt::Display>(
    rt: &Runtime,
    tool: &str,
    parent: &Span,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    let mut span = parent.child(format!("taskpilot.tool.{tool}.call"));
    span.set_attribute("tool.name", tool);
    rt.metrics.incr(&names::tool(tool, "calls"), 1.0);
    let started = Instant::now();
    let result = match tokio::time::timeout(rt.tool_timeout, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "{tool} timed out after {} s (TOOL_TIMEOUT_SECONDS)",
            rt.tool_timeout.as_secs_f64()
        )),
    };
    rt.metrics.observe(
        &names::tool(tool, "latency_ms"),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    match &result {
        Ok(_) => rt.metrics.incr(&names::tool(tool, "success"), 1.0),
        Err(e) => {
            rt.metrics.incr(&names::tool(tool, "errors"), 1.0);
            span.set_error(e.clone());
        }
    }
    span.end();
    result
}

impl Runtime {
    /// Runs the workflow on one request. `Ok` whenever the workflow reached a verdict (any
    /// [`RunStatus`]); `Err` only when it could not run (store, decision log).
    pub async fn run(&self, request: &str) -> Result<RunResult, AgentError> {
        self.run_as(request, None).await
    }

    /// [`Runtime::run`] on behalf of a user (recorded as `user_id` in the decisions).
    pub async fn run_as(
        &self,
        request: &str,
        user_id: Option<&str>,
    ) -> Result<RunResult, AgentError> {
        self.run_observed(request, user_id, None).await
    }

    /// [`Runtime::run_as`], telling `observer` about each step as it happens.
    pub async fn run_observed(
        &self,
        request: &str,
        user_id: Option<&str>,
        observer: Option<&dyn StepObserver>,
    ) -> Result<RunResult, AgentError> {
        let started = Instant::now();
        let request_id = new_request_id();
        tracing::info!(request_id = %request_id, "run started");
        let mut root = self
            .tracer
            .start_span("taskpilot.workflow.run", None, Some(&request_id));
        root.set_attribute("workflow.trigger", "request");
        root.set_attribute("llm.provider", self.provider.name());
        root.set_attribute("llm.model", self.provider.model());
        self.metrics.incr(names::WORKFLOW_RUNS, 1.0);
        let mut ctx = RunCtx::new(self, &root, request_id, user_id.map(str::to_owned));
        ctx.observer = observer;
        let ending = steps(&mut ctx, &root, request).await;
        if let Ok(Ending { task: Some(t), .. }) = &ending
            && matches!(t.status, Status::Executed | Status::Failed)
        {
            let detail = json!({"task_id": t.id.to_string(),
                "status": t.status.as_str(), "error": t.error});
            ctx.step("executor", detail).await;
        }
        let latency = started.elapsed().as_secs_f64() * 1000.0;
        self.metrics.observe(names::WORKFLOW_LATENCY_MS, latency);
        let succeeded = matches!(&ending, Ok(e) if e.status != RunStatus::Failed);
        let counter = if succeeded {
            names::WORKFLOW_SUCCESS
        } else {
            names::WORKFLOW_ERRORS
        };
        self.metrics.incr(counter, 1.0);
        if let Ok(Ending { task: Some(t), .. }) = &ending {
            root.set_attribute("task.id", t.id.to_string());
        }
        end_root(root, &ending);
        Ok(log_finished(ctx.finish(ending?, started), "run finished"))
    }

    /// A person approves a task in `review` (or `pending`, or `failed` to retry it): the
    /// decision is logged (`human_approval`), the task moves to `approved`, and the executor
    /// continues (step 6), so the result is `executed` or `failed`.
    pub async fn approve(
        &self,
        id: &TaskId,
        reason: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<RunResult, AgentError> {
        self.human_decision(id, true, reason, user_id).await
    }

    /// A person rejects a task in `review` (or `pending`): logged, then `rejected`.
    pub async fn reject(
        &self,
        id: &TaskId,
        reason: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<RunResult, AgentError> {
        self.human_decision(id, false, reason, user_id).await
    }

    /// Executes a task left `approved` (the process that approved it crashed, or another
    /// instance approved it): takes its execution claim — or takes over a claim whose lease
    /// expired — then runs step 6 exactly as a run does. Errors with
    /// [`AgentError::NotDecidable`] when the task is in another status, and with the store's
    /// `Claimed` error when another worker holds a live claim.
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
        let mut ctx = RunCtx::new(self, &root, request_id, Some("background".to_owned()));
        let take = ctx.claiming(Transition::to(Status::Approved).expecting(&[Status::Approved]));
        let ending = match self.store.transition(id, &take).await {
            Ok(task) => execute(&mut ctx, &root, task).await,
            Err(e) => {
                // Claimed by another worker, or decided meanwhile: no run happened.
                root.set_attribute("workflow.status", "not_claimed");
                root.end();
                return Err(e.into());
            }
        };
        end_root(root, &ending);
        Ok(ctx.finish(ending?, started))
    }

    async fn human_decision(
        &self,
        id: &TaskId,
        approve: bool,
        reason: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<RunResult, AgentError> {
        let started = Instant::now();
        let checked = taskpilot_core::validate_reason(reason)?
            .map(|r| taskpilot_govern::redact_secrets(&r).text);
        let reason = checked.as_deref();
        let verb = if approve { "approved" } else { "rejected" };
        let allowed_from: &[Status] = if approve {
            &[Status::Pending, Status::Review, Status::Failed]
        } else {
            &[Status::Pending, Status::Review]
        };
        let task = self.store.get(id).await?;
        if !allowed_from.contains(&task.status) {
            return Err(AgentError::NotDecidable {
                id: id.to_string(),
                status: task.status.to_string(),
                expected: allowed_from
                    .iter()
                    .map(|s| format!("'{s}'"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                verb,
            });
        }
        let request_id = new_request_id();
        let mut root = self
            .tracer
            .start_span("taskpilot.workflow.run", None, Some(&request_id));
        root.set_attribute("workflow.trigger", "human_approval");
        root.set_attribute("task.id", id.to_string());
        root.set_attribute("human.decision", verb);
        let mut ctx = RunCtx::new(self, &root, request_id, user_id.map(str::to_owned));
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("no reason given");
        let result = if approve {
            DecisionResult::Allow
        } else {
            DecisionResult::Deny
        };
        let mut d = Decision::new(
            DecisionType::HumanApproval,
            result,
            format!("Human {verb}: {reason}"),
        );
        d.context = json!({
            "task_id": id.to_string(),
            "previous_status": task.status.as_str(),
            "decision": if approve { "approve" } else { "reject" },
        });
        ctx.log(vec![d]).await?;
        self.metrics.incr(
            if approve {
                names::HUMAN_APPROVALS
            } else {
                names::HUMAN_REJECTIONS
            },
            1.0,
        );
        let to = if approve {
            Status::Approved
        } else {
            Status::Rejected
        };
        let mut transition = Transition::to(to)
            .expecting(allowed_from)
            .with_response(format!("Human {verb}: {reason}"));
        if approve {
            transition = ctx.claiming(transition);
        }
        let decided = ctx.transition(id, transition).await;
        let ending = match decided {
            Err(e) => {
                root.set_error(e.to_string());
                root.end();
                return Err(e);
            }
            Ok(task) if !approve => Ok(Ending {
                status: RunStatus::Rejected,
                reason: task.reviewer_response.clone(),
                task: Some(task),
            }),
            Ok(task) => execute(&mut ctx, &root, task).await,
        };
        end_root(root, &ending);
        Ok(log_finished(
            ctx.finish(ending?, started),
            &format!("task {verb} by a person"),
        ))
    }
}

/// Ends a run's root span with how the run ended: `workflow.status`, and the error when it
/// failed.
fn end_root(mut root: Span, ending: &Result<Ending, AgentError>) {
    match ending {
        Ok(e) => {
            root.set_attribute("workflow.status", e.status.as_str());
            if e.status == RunStatus::Failed {
                root.set_error(e.reason.clone().unwrap_or_default());
            }
        }
        Err(e) => root.set_error(e.to_string()),
    }
    root.end();
}

/// The line in `LOGS_DIR/taskpilot.log` that tells how a run ended.
fn log_finished(result: RunResult, what: &str) -> RunResult {
    tracing::info!(
        request_id = %result.request_id,
        task_id = result.task.as_ref().map(|t| t.id.as_str()),
        status = result.status.as_str(),
        latency_ms = result.latency_ms,
        "{what}"
    );
    result
}

/// Steps 1–6 for one request.
async fn steps(ctx: &mut RunCtx<'_>, root: &Span, request: &str) -> Result<Ending, AgentError> {
    let rt = ctx.rt;
    // Credentials and IBANs never reach the planner, the task, the decision log or a trace.
    let redacted = taskpilot_govern::redact_secrets(request);
    let request = redacted.text.as_str();

    // 1. Input guardrails.
    let input = ctx
        .guard(Direction::Input, request, root, None, None)
        .await?;
    ctx.step(
        "guardrails",
        json!({"rail": "input", "allowed": input.allowed, "reason": input.reason}),
    )
    .await;
    if !input.allowed {
        return Ok(Ending::new(
            RunStatus::Blocked,
            None,
            format!("request blocked by the input guardrails: {}", input.reason),
        ));
    }

    // 2. Planner, with output guardrails on its proposal.
    let mut planner = AgentRun::start(rt, Agent::Planner, root);
    let proposal = match PlannerAgent::propose(&mut planner, request).await {
        Ok(p) => p,
        Err(e) => {
            let reason = format!("planner failed: {e}");
            planner.finish(Some(&reason));
            return Ok(Ending::new(RunStatus::Failed, None, reason));
        }
    };
    let proposal_text = format!("{}\n{}", proposal.title, proposal.description);
    let output = ctx
        .guard(
            Direction::Output,
            &proposal_text,
            &planner.span,
            Some(Agent::Planner),
            None,
        )
        .await?;
    let detail = json!({"title": proposal.title, "priority": proposal.priority,
        "description": proposal.description, "guardrails_allowed": output.allowed});
    ctx.step("planner", detail).await;
    if !output.allowed {
        let reason = format!(
            "the planner's proposal was blocked by the output guardrails: {}",
            output.reason
        );
        planner.finish(Some(&reason));
        return Ok(Ending::new(RunStatus::Blocked, None, reason));
    }

    // 3. Policy on create_task.
    let parameters = json!({
        "title": proposal.title,
        "priority": proposal.priority,
        "description": proposal.description,
    });
    let policy = ctx
        .policy(
            "create_task",
            parameters,
            Agent::Planner,
            &planner.span,
            None,
        )
        .await?;
    let detail = json!({"tool": "create_task", "result": policy.outcome().as_str(),
        "reason": policy.reason(), "policy_version": policy.policy_version});
    ctx.step("policy", detail).await;
    if !policy.allow {
        let reason = format!("create_task denied by policy: {}", policy.reason());
        planner.finish(None);
        return Ok(Ending::new(RunStatus::Denied, None, reason));
    }

    // 4. The task is created, pending.
    let new = NewTask::new(proposal.title.clone(), proposal.priority.clone())
        .with_description(proposal.description.clone());
    let store = rt.store.clone();
    let created = call_tool(rt, "create_task", &planner.span, async move {
        match store.create(new).await {
            Ok(task) => Ok(Ok(task)),
            Err(StoreError::Invalid(e)) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    })
    .await;
    let task = match created {
        Ok(Ok(task)) => task,
        Ok(Err(invalid)) => {
            let reason = format!("the planner's task is invalid: {invalid}");
            planner.finish(Some(&reason));
            return Ok(Ending::new(RunStatus::Failed, None, reason));
        }
        Err(e) => {
            planner.finish(Some(&e));
            return Ok(Ending::new(
                RunStatus::Failed,
                None,
                format!("create_task failed: {e}"),
            ));
        }
    };
    rt.metrics.incr(names::TASKS_CREATED, 1.0);
    let detail = json!({"task_id": task.id.to_string(), "status": task.status.as_str()});
    ctx.step("task_created", detail).await;
    planner.span.set_attribute("task.id", task.id.to_string());
    planner.finish(None);

    // 5. Reviewer, strict verdict; require_approval forces review.
    let brief = TaskBrief::from(&task);
    let mut reviewer = AgentRun::start(rt, Agent::Reviewer, root);
    reviewer.span.set_attribute("task.id", task.id.to_string());
    let (reply, reviewer_error) = match ReviewerAgent::review(&mut reviewer, &brief).await {
        Ok(reply) => {
            let checked = ctx
                .guard(
                    Direction::Output,
                    &reply,
                    &reviewer.span,
                    Some(Agent::Reviewer),
                    Some(&task.id),
                )
                .await?;
            if checked.allowed {
                (reply, None)
            } else {
                (
                    format!(
                        "REVIEW (the reviewer's reply was withheld by the output guardrails: {})",
                        checked.reason
                    ),
                    None,
                )
            }
        }
        Err(e) => (
            format!("REVIEW (the reviewer could not answer: {e})"),
            Some(e.to_string()),
        ),
    };
    let (verdict, clear) = Verdict::parse(&reply);
    if reviewer_error.is_none() {
        ctx.reviewer_decision = Some(verdict);
    }
    let status = if policy.require_approval {
        Status::Review
    } else {
        match verdict {
            Verdict::Approve => Status::Approved,
            Verdict::Rejected => Status::Rejected,
            Verdict::Review => Status::Review,
        }
    };
    let result = match status {
        Status::Approved => DecisionResult::Allow,
        Status::Rejected => DecisionResult::Deny,
        _ => DecisionResult::RequireApproval,
    };
    let mut d = Decision::new(DecisionType::Review, result, reply.clone());
    d.agent_id = Some(Agent::Reviewer.agent_type().to_owned());
    d.policy_version = Some(policy.policy_version.clone());
    d.context = json!({
        "task_id": task.id.to_string(),
        "verdict": verdict.as_str(),
        "verdict_clear": clear,
        "policy_require_approval": policy.require_approval,
        "status": status.as_str(),
        "prompt_version": rt.prompt(Agent::Reviewer).version.clone(),
    });
    ctx.log(vec![d]).await?;
    reviewer
        .span
        .set_attribute("review.verdict", verdict.as_str());
    reviewer
        .span
        .set_attribute("review.status", status.as_str());
    let mut transition = Transition::to(status)
        .expecting(&[Status::Pending])
        .with_response(reply.clone());
    if status == Status::Approved {
        transition = ctx.claiming(transition);
    }
    let task = ctx.transition(&task.id, transition).await?;
    reviewer.finish(reviewer_error.as_deref());
    let detail = json!({"task_id": task.id.to_string(), "verdict": verdict.as_str(),
        "status": task.status.as_str(), "reply": reply});
    ctx.step("reviewer", detail).await;

    match status {
        Status::Approved => execute(ctx, root, task).await,
        Status::Rejected => Ok(Ending::new(RunStatus::Rejected, Some(task), reply)),
        _ => {
            let why = if policy.require_approval {
                format!(
                    "the policy requires a person's approval ({})",
                    policy.reason()
                )
            } else {
                format!("the reviewer asked for a person: {reply}")
            };
            Ok(Ending::new(RunStatus::Review, Some(task), why))
        }
    }
}

/// Step 6 for an approved task: executor, output guardrails, policy, the notification.
async fn execute(ctx: &mut RunCtx<'_>, root: &Span, task: Task) -> Result<Ending, AgentError> {
    let rt = ctx.rt;
    let brief = TaskBrief::from(&task);
    let mut executor = AgentRun::start(rt, Agent::Executor, root);
    executor.span.set_attribute("task.id", task.id.to_string());
    let failure = match ExecutorAgent::prepare(&mut executor, &brief).await {
        Err(e) => Err(format!("executor failed: {e}")),
        Ok(message) => {
            let checked = ctx
                .guard(
                    Direction::Output,
                    &message,
                    &executor.span,
                    Some(Agent::Executor),
                    Some(&task.id),
                )
                .await?;
            if checked.allowed {
                let policy = ctx
                    .policy(
                        "notify_external_system",
                        json!({"message": message, "task_id": task.id.to_string()}),
                        Agent::Executor,
                        &executor.span,
                        Some(&task.id),
                    )
                    .await?;
                if policy.allow {
                    let idempotency_key =
                        task.claim().map_or_else(|| task.id.to_string(), |c| c.key);
                    let notification = Notification {
                        task_id: task.id.as_str(),
                        title: &task.title,
                        priority: task.priority.as_str(),
                        message: &message,
                        request_id: &ctx.request_id,
                        idempotency_key: &idempotency_key,
                    };
                    call_tool(
                        rt,
                        "notify_external_system",
                        &executor.span,
                        rt.notifier.notify(&notification),
                    )
                    .await
                    .map(|_| ())
                } else {
                    Err(format!(
                        "notify_external_system denied by policy: {}",
                        policy.reason()
                    ))
                }
            } else {
                Err(format!(
                    "the executor's message was blocked by the output guardrails: {}",
                    checked.reason
                ))
            }
        }
    };
    match failure {
        Ok(()) => {
            let done = ctx
                .transition(
                    &task.id,
                    Transition::to(Status::Executed)
                        .expecting(&[Status::Approved])
                        .held_by(ctx.claim_owner()),
                )
                .await?;
            executor.finish(None);
            Ok(Ending {
                status: RunStatus::Executed,
                task: Some(done),
                reason: None,
            })
        }
        Err(error) => {
            let failed = ctx
                .transition(
                    &task.id,
                    Transition::to(Status::Failed)
                        .expecting(&[Status::Approved])
                        .held_by(ctx.claim_owner())
                        .with_error(error.clone()),
                )
                .await?;
            executor.finish(Some(&error));
            Ok(Ending::new(RunStatus::Failed, Some(failed), error))
        }
    }
}
