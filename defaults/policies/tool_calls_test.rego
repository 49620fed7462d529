# Tests of the default tool-call policy (tool_calls.rego), one or more per rule of SPEC
# section 5. Run them with `taskpilot policy test` (or `opa test .` in this directory); both
# run every `test_*` rule and report pass or fail.
#
# `taskpilot init` copies this file beside the policy. Files named `*_test.rego` are only read
# by `policy test`: they never take part in the workflow's decisions.
package taskpilot.tool_calls_test

import rego.v1

import data.taskpilot.tool_calls

call(tool, agent, parameters) := {
	"tool_name": tool,
	"parameters": parameters,
	"agent_type": agent,
	"agent_id": "agent-1",
	"request_id": "req-1",
}

create(parameters) := call("create_task", "PlannerAgent", parameters)

notify(agent, parameters) := call("notify_external_system", agent, parameters)

# --- create_task: allowed for the PlannerAgent with a 1-500 character title and a valid priority

test_create_by_planner_is_allowed if {
	tool_calls.allow with input as create({"title": "Prepare the board deck", "priority": "medium"})
	count(tool_calls.deny) == 0 with input as create({"title": "Prepare the board deck", "priority": "medium"})
	not tool_calls.require_approval with input as create({"title": "Prepare the board deck", "priority": "medium"})
}

test_create_one_character_title_is_allowed if {
	tool_calls.allow with input as create({"title": "x", "priority": "low"})
}

test_create_500_character_title_is_allowed if {
	tool_calls.allow with input as create({"title": concat("", array.concat([t | some _ in numbers.range(1, 250); t := "ab"], [])), "priority": "low"})
}

# Characters are code points: 500 emoji are 500 characters, as in the task model.
test_create_500_astral_characters_is_allowed if {
	tool_calls.allow with input as create({"title": concat("", [t | some _ in numbers.range(1, 500); t := "😀"]), "priority": "low"})
}

test_create_501_character_title_is_denied if {
	title := concat("", [t | some _ in numbers.range(1, 501); t := "é"])
	not tool_calls.allow with input as create({"title": title, "priority": "low"})
	tool_calls.deny == {"title must be 1-500 characters after trimming: it has 501"} with input as create({"title": title, "priority": "low"})
}

test_create_title_is_trimmed_before_counting if {
	padded := concat("", ["  ", concat("", [t | some _ in numbers.range(1, 500); t := "a"]), "\t\n"])
	tool_calls.allow with input as create({"title": padded, "priority": "low"})
}

test_create_empty_or_blank_title_is_denied if {
	every title in ["", "   ", "\t\n"] {
		tool_calls.deny == {"title must be 1-500 characters after trimming: it is empty"} with input as create({"title": title, "priority": "low"})
	}
}

test_create_missing_title_is_denied if {
	not tool_calls.allow with input as create({"priority": "low"})
	tool_calls.deny == {"create_task needs a title: it is missing or not a string"} with input as create({"priority": "low"})
}

test_create_non_string_title_is_denied if {
	every title in [7, null, true, ["a"], {"a": 1}] {
		tool_calls.deny == {"create_task needs a title: it is missing or not a string"} with input as create({"title": title, "priority": "low"})
	}
}

test_create_without_parameters_is_denied if {
	not tool_calls.allow with input as {"tool_name": "create_task", "agent_type": "PlannerAgent"}
	"create_task needs a title: it is missing or not a string" in tool_calls.deny with input as {"tool_name": "create_task", "agent_type": "PlannerAgent"}
}

test_create_priority_is_case_insensitive if {
	every priority in ["high", "HIGH", "Medium", " low "] {
		tool_calls.allow with input as create({"title": "A task", "priority": priority})
	}
}

test_create_invalid_priority_is_denied if {
	tool_calls.deny == {"priority must be one of high, medium, low: got urgent"} with input as create({"title": "A task", "priority": "urgent"})
	tool_calls.deny == {"priority must be one of high, medium, low: got <null>"} with input as create({"title": "A task"})
	not tool_calls.allow with input as create({"title": "A task", "priority": 3})
}

test_create_by_other_agents_is_denied if {
	every agent in ["ExecutorAgent", "ReviewerAgent"] {
		tool_calls.deny == {sprintf("create_task may only be called by PlannerAgent, not %v", [agent])} with input as call("create_task", agent, {"title": "A task", "priority": "low"})
	}
}

# --- require_approval: high-priority tasks whose title mentions "sensitive" (any case)

test_high_priority_sensitive_title_requires_approval if {
	every title in ["Move the sensitive payroll files", "SENSITIVE data", "Insensitive remarks", "SENSİTİVE (dotted capital I)"] {
		tool_calls.require_approval with input as create({"title": title, "priority": "high"})
		tool_calls.allow with input as create({"title": title, "priority": "high"})
	}
}

test_sensitive_without_high_priority_needs_no_approval if {
	not tool_calls.require_approval with input as create({"title": "Sensitive payroll files", "priority": "medium"})
}

test_high_priority_without_sensitive_needs_no_approval if {
	not tool_calls.require_approval with input as create({"title": "Payroll files", "priority": "high"})
}

# --- notify_external_system: the Executor and Reviewer agents, unless the message says "delete"

test_notify_by_executor_and_reviewer_is_allowed if {
	every agent in ["ExecutorAgent", "ReviewerAgent"] {
		tool_calls.allow with input as notify(agent, {"message": "Task task_1 is ready"})
	}
}

test_notify_by_planner_is_denied if {
	tool_calls.deny == {"notify_external_system may only be called by ExecutorAgent or ReviewerAgent, not PlannerAgent"} with input as notify("PlannerAgent", {"message": "hi"})
}

test_notify_mentioning_delete_in_any_case_is_denied if {
	every message in ["please delete it", "DELETE all records", "Undeleted"] {
		tool_calls.deny == {"notify_external_system refused: the message mentions \"delete\""} with input as notify("ExecutorAgent", {"message": message})
	}
}

test_notify_missing_or_non_string_message_is_denied if {
	tool_calls.deny == {"notify_external_system needs a message: it is missing or not a string"} with input as notify("ExecutorAgent", {})
	tool_calls.deny == {"notify_external_system needs a message: it is missing or not a string"} with input as notify("ReviewerAgent", {"message": 42})
}

# --- delete_task: denied with a reason, for every agent

test_delete_task_is_denied_with_its_reason if {
	every agent in ["PlannerAgent", "ReviewerAgent", "ExecutorAgent"] {
		not tool_calls.allow with input as call("delete_task", agent, {"task_id": "task_1"})
		tool_calls.deny == {"delete_task is not permitted: agents may not delete tasks; a person deletes them with `taskpilot tasks delete`"} with input as call("delete_task", agent, {"task_id": "task_1"})
	}
}

# --- anything else is denied

test_unknown_agent_is_denied if {
	"unknown agent type RogueAgent: expected one of PlannerAgent, ReviewerAgent, ExecutorAgent" in tool_calls.deny with input as call("create_task", "RogueAgent", {"title": "A task", "priority": "low"})
	not tool_calls.allow with input as call("create_task", "RogueAgent", {"title": "A task", "priority": "low"})
}

test_unknown_tool_is_denied if {
	tool_calls.deny == {"unknown tool send_email: the policy allows create_task and notify_external_system"} with input as call("send_email", "ExecutorAgent", {})
}

test_policy_version_is_set if {
	startswith(tool_calls.policy_version, "taskpilot.tool_calls/")
}
