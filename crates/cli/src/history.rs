//! What the decision log says about tasks: the decisions about one task (for `tasks show`),
//! the task each decision belongs to (for `decisions`' task column and `--task`), and a
//! person's latest approval or rejection.
//!
//! A decision names its task in `context.task_id`; the decisions made before the task existed
//! (guardrails, policy) share its `request_id`, which is how they are tied to it.

use std::collections::HashMap;

use taskpilot_observe::{Decision, DecisionType};

/// request id → task id, from the decisions that name both.
pub(crate) fn tasks_by_request(decisions: &[Decision]) -> HashMap<String, String> {
    decisions
        .iter()
        .filter_map(|d| Some((d.request_id.clone()?, task_named(d)?.to_owned())))
        .collect()
}

fn task_named(d: &Decision) -> Option<&str> {
    d.context.get("task_id").and_then(|v| v.as_str())
}

/// The task a decision is about, directly or through its request.
pub(crate) fn task_of<'a>(
    d: &'a Decision,
    by_request: &'a HashMap<String, String>,
) -> Option<&'a str> {
    task_named(d).or_else(|| {
        d.request_id
            .as_ref()
            .and_then(|r| by_request.get(r))
            .map(String::as_str)
    })
}

/// The decisions about `task_id`, in log order.
pub(crate) fn for_task<'a>(decisions: &'a [Decision], task_id: &str) -> Vec<&'a Decision> {
    let by_request = tasks_by_request(decisions);
    decisions
        .iter()
        .filter(|d| task_of(d, &by_request) == Some(task_id))
        .collect()
}

/// The last decision a person made about the task, if any.
pub(crate) fn last_human<'a>(decisions: &[&'a Decision]) -> Option<&'a Decision> {
    decisions
        .iter()
        .rev()
        .find(|d| d.decision_type == DecisionType::HumanApproval)
        .copied()
}

/// Why a task waits for a person, each reason once: the reviewer's reply, the policy's
/// non-`allow` decisions, and whether the policy forced the review.
pub(crate) fn review_reasons(
    reviewer_response: Option<&str>,
    decisions: &[&Decision],
) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    let mut push = |label: &str, text: &str| {
        let text = text.trim();
        let lower = text.to_lowercase();
        let seen = reasons
            .iter()
            .any(|r| r.to_lowercase().contains(&lower) || lower.contains(&r.to_lowercase()));
        if !text.is_empty() && !seen {
            reasons.push(format!("{label}{text}"));
        }
    };
    if let Some(r) = reviewer_response {
        push("reviewer: ", r);
    }
    for d in decisions
        .iter()
        .filter(|d| d.decision_type == DecisionType::ToolCall && d.result.as_str() != "allow")
    {
        let label = format!(
            "policy ({} {}): ",
            d.tool_name.as_deref().unwrap_or("tool"),
            d.result.as_str()
        );
        push(&label, &d.reason);
    }
    for d in decisions
        .iter()
        .filter(|d| d.decision_type == DecisionType::Review)
    {
        if d.context["policy_require_approval"].as_bool() == Some(true) {
            push("review forced by the policy: ", &d.reason);
        }
    }
    reasons
}
