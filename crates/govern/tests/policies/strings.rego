# Strings: case mapping, trimming, counting, searching, slicing, formatting.
package taskpilot.tool_calls

import rego.v1

params := p if {
	p := input.parameters
	is_object(p)
} else := {}

str(x) := x if is_string(x) else := ""

shown(x) := x if is_string(x) else := sprintf("<%s>", [type_name(x)])

title := str(object.get(params, "title", null))

message := str(object.get(params, "message", null))

words := split(trim_space(title), " ")

default allow := false

allow if count(deny) == 0

default require_approval := false

require_approval if {
	startswith(upper(title), "SENSITIVE")
}

require_approval if endswith(lower(trim_right(title, " \t")), "memo")

deny contains sprintf("title too long: %d > 40 code points", [count(title)]) if count(title) > 40

deny contains sprintf("first word %q is not capitalised", [words[0]]) if {
	count(words[0]) > 0
	first := substring(words[0], 0, 1)
	first != upper(first)
}

deny contains "message mentions delete" if indexof(lower(message), "delete") >= 0

deny contains sprintf("reversed title %v", [strings.reverse(title)]) if {
	count(title) > 0
	strings.reverse(title) == title
}

deny contains concat("|", ["replaced", replace(title, "a", "4")]) if contains(title, "aa")

deny contains sprintf("trimmed %s", [trim(title, "xé")]) if {
	startswith(title, "x")
	trim(title, "xé") != ""
}

deny contains sprintf("lower %s upper %s", [lower(title), upper(title)]) if contains(title, "ẞ")

deny contains sprintf("prefix %s suffix %s", [trim_prefix(message, "Task"), trim_suffix(message, "ready")]) if {
	startswith(message, "Task")
}

deny contains "padded title" if title != trim_space(title)

deny contains sprintf("tool %v agent %v", [shown(object.get(input, "tool_name", "?")), shown(object.get(input, "agent_type", "?"))]) if {
	not object.get(input, "tool_name", "") in {"create_task", "notify_external_system"}
}
