# Sets, objects and arrays: union, intersection, difference, keys, remove, comprehensions.
package taskpilot.tool_calls

import rego.v1

params := p if {
	p := input.parameters
	is_object(p)
} else := {}

allowed_keys := {"title", "priority", "description", "message"}

keys := {k | some k, _ in params}

unknown_keys := keys - allowed_keys

string_fields := {k: v | some k, v in params; is_string(v)}

lengths := [count(v) | some v in string_fields]

default allow := false

allow if {
	count(deny) == 0
	input.agent_type in {"PlannerAgent", "ReviewerAgent", "ExecutorAgent"}
}

default require_approval := false

require_approval if {
	count(keys & {"title", "priority"}) == 2
	sum(lengths) > 100
}

deny contains sprintf("unknown parameters: %v", [sort(unknown_keys)]) if count(unknown_keys) > 0

deny contains sprintf("non-string parameters: %v", [sort(keys - object.keys(string_fields))]) if {
	count(keys - object.keys(string_fields)) > 0
}

deny contains sprintf("longest field %d", [max(lengths)]) if {
	count(lengths) > 0
	max(lengths) > 500
}

deny contains sprintf("merged %v", [object.union(string_fields, {"checked": true})["checked"]]) if {
	object.get(string_fields, "priority", "") == "urgent"
}

deny contains sprintf("without title: %v", [sort(object.keys(object.remove(string_fields, ["title"])))]) if {
	object.get(string_fields, "title", "") == ""
	count(string_fields) > 0
}

deny contains "tools and agents disjoint" if {
	names := {x | some x in [input.tool_name, input.agent_type]; is_string(x)}
	count(names | {"create_task"}) > 2
	count(names & {"PlannerAgent"}) == 0
}
