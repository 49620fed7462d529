# `every`, `some … in`, helper functions and rule-level `with`.
package taskpilot.tool_calls

import rego.v1

params := p if {
	p := input.parameters
	is_object(p)
} else := {}

str(x) := x if is_string(x) else := ""

title := str(object.get(params, "title", null))

chars := [c | some c in split(title, "")]

# Every field that is present is a non-empty string.
all_strings if {
	every _, v in params {
		is_string(v)
		trim_space(v) != ""
	}
}

some_sensitive if {
	some v in params
	is_string(v)
	contains(lower(v), "sensitive")
}

is_planner_create if {
	input.tool_name == "create_task"
	input.agent_type == "PlannerAgent"
}

# Asks about another tool call, as a person would with `opa eval --input`.
planner_could_create if is_planner_create with input.tool_name as "create_task" with input.agent_type as "PlannerAgent"

default allow := false

allow if {
	all_strings
	planner_could_create
	count(deny) == 0
}

default require_approval := false

require_approval if some_sensitive

deny contains sprintf("%d characters, %d code points", [count(chars), count(title)]) if {
	count(chars) != count(title)
}

deny contains "whitespace-only field" if {
	some _, v in params
	is_string(v)
	v != ""
	trim_space(v) == ""
}

deny contains sprintf("repeated character %v", [c]) if {
	some i, c in chars
	i > 0
	chars[i - 1] == c
	c != " "
	count(chars) < 20
}

agents := [a | some a in [object.get(input, "agent_type", null)]]

agents_known if {
	every a in agents {
		a in {"PlannerAgent", "ReviewerAgent", "ExecutorAgent"}
	}
}

deny contains "not every agent is known" if not agents_known
