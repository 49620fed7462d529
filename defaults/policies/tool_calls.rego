# TaskPilot's default tool-call policy (SPEC section 5).
#
# The workflow asks `data.taskpilot.tool_calls` about every tool call before it runs it, with
# this input document:
#
#   {"tool_name": "create_task", "parameters": {"title": "...", "priority": "high", ...},
#    "agent_type": "PlannerAgent", "agent_id": "planner-1", "request_id": "req_..."}
#
# and reads three rules:
#   allow            - true when the call may run (a non-empty `deny` always wins);
#   deny             - a set of human-readable reasons; every refusal carries at least one;
#   require_approval - true when a person must approve the task before it is executed.
#
# `policy_version` is recorded with every decision in the decision log: change it when you
# change the rules. Copy this file into POLICIES_DIR (`taskpilot init` does) to edit it; every
# `*.rego` file in that directory is loaded instead of this built-in default.
package taskpilot.tool_calls

import rego.v1

policy_version := "taskpilot.tool_calls/1.1.0"

known_agents := {"PlannerAgent", "ReviewerAgent", "ExecutorAgent"}

known_tools := {"create_task", "notify_external_system", "delete_task"}

valid_priorities := {"high", "medium", "low"}

max_title_chars := 500

# Agents allowed to notify external systems.
notify_agents := {"ExecutorAgent", "ReviewerAgent"}

default allow := false

allow if {
	input.tool_name == "create_task"
	input.agent_type == "PlannerAgent"
	count(deny) == 0
}

allow if {
	input.tool_name == "notify_external_system"
	input.agent_type in notify_agents
	count(deny) == 0
}

default require_approval := false

# High-priority tasks that mention "sensitive" (any case) wait for a person.
require_approval if {
	input.tool_name == "create_task"
	priority == "high"
	contains(lower(title), "sensitive")
}

# --- helpers -----------------------------------------------------------------------------
#
# The same decisions under OPA and TaskPilot (docs/GOVERNANCE.md, "Deciding as OPA decides"):
# fields are read with `object.get` and a default, never negated while they may be missing
# (`not is_string(params.title)`, `not input.agent_type in …`: OPA leaves such an expression
# undefined, regorus makes it true), no builtin is given a value of the wrong type (OPA makes
# that undefined, TaskPilot denies), and only strings are printed in reasons.

agent_type := object.get(input, "agent_type", null)

tool_name := object.get(input, "tool_name", null)

# How a value appears in a reason: a string as it is, anything else by its type. (Numbers are
# not printed: OPA prints a number as its JSON text, `1.0`, regorus as its value, `1`.)
shown(x) := x if is_string(x) else := sprintf("<%s>", [type_name(x)])

# The tool's arguments: {} when absent or not an object.
params := p if {
	p := input.parameters
	is_object(p)
} else := {}

raw_title := object.get(params, "title", null)

raw_priority := object.get(params, "priority", null)

raw_message := object.get(params, "message", null)

# Titles are counted in characters (code points), as the task model counts them.
title := trim_space(raw_title) if is_string(raw_title) else := ""

priority := lower(trim_space(raw_priority)) if is_string(raw_priority) else := ""

message := raw_message if is_string(raw_message) else := ""

# --- reasons to refuse -------------------------------------------------------------------

deny contains msg if {
	not agent_type in known_agents
	msg := sprintf("unknown agent type %v: expected one of PlannerAgent, ReviewerAgent, ExecutorAgent", [shown(agent_type)])
}

deny contains msg if {
	not tool_name in known_tools
	msg := sprintf("unknown tool %v: the policy allows create_task and notify_external_system", [shown(tool_name)])
}

deny contains "delete_task is not permitted: agents may not delete tasks; a person deletes them with `taskpilot tasks delete`" if {
	input.tool_name == "delete_task"
}

deny contains msg if {
	input.tool_name == "create_task"
	input.agent_type in known_agents
	input.agent_type != "PlannerAgent"
	msg := sprintf("create_task may only be called by PlannerAgent, not %v", [input.agent_type])
}

deny contains "create_task needs a title: it is missing or not a string" if {
	input.tool_name == "create_task"
	not is_string(raw_title)
}

deny contains "title must be 1-500 characters after trimming: it is empty" if {
	input.tool_name == "create_task"
	is_string(raw_title)
	count(title) == 0
}

deny contains msg if {
	input.tool_name == "create_task"
	is_string(raw_title)
	n := count(title)
	n > max_title_chars
	msg := sprintf("title must be 1-500 characters after trimming: it has %d", [n])
}

deny contains msg if {
	input.tool_name == "create_task"
	not priority in valid_priorities
	msg := sprintf("priority must be one of high, medium, low: got %v", [shown(raw_priority)])
}

deny contains msg if {
	input.tool_name == "notify_external_system"
	input.agent_type in known_agents
	not input.agent_type in notify_agents
	msg := sprintf("notify_external_system may only be called by ExecutorAgent or ReviewerAgent, not %v", [input.agent_type])
}

deny contains "notify_external_system needs a message: it is missing or not a string" if {
	input.tool_name == "notify_external_system"
	not is_string(raw_message)
}

deny contains "notify_external_system refused: the message mentions \"delete\"" if {
	input.tool_name == "notify_external_system"
	contains(lower(message), "delete")
}
