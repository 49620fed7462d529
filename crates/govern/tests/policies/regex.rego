# Regular expressions: match, find, split, replace, on adversarial strings.
package taskpilot.tool_calls

import rego.v1

params := p if {
	p := input.parameters
	is_object(p)
} else := {}

str(x) := x if is_string(x) else := ""

title := str(object.get(params, "title", null))

message := str(object.get(params, "message", null))

default allow := false

# `\s`, `\d`, `\w` and `\b` are ASCII in OPA (Go's RE2) and Unicode in regorus (Rust's regex):
# write the class out instead (docs/GOVERNANCE.md).
space := `[\t\n\f\r ]`

# Bounded repetitions of Unicode classes (`[\p{L}]{1,500}`) compile past regorus' 100 KiB
# regex limit: an error (deny) in TaskPilot. Repeat without a bound and count instead.
allow if {
	regex.match(`^[\p{L}\p{M}\p{N} ]+$`, title)
	count(title) <= 500
	count(deny) == 0
}

default require_approval := false

require_approval if regex.match(`(?i)sensitive`, title)

deny contains "message mentions delete" if regex.match(`(?i)(^|[^a-z0-9_])delete([^a-z0-9_]|$)`, message)

deny contains sprintf("digits %v", [regex.find_n(`[0-9]+`, title, 3)]) if regex.match(`[0-9]`, title)

deny contains sprintf("%d words", [count(regex.split(concat("", [space, "+"]), trim_space(title)))]) if {
	count(regex.split(concat("", [space, "+"]), trim_space(title))) > 6
}

deny contains sprintf("emoji-free: %s", [regex.replace(title, `\p{So}`, "")]) if regex.match(`\p{So}`, title)

deny contains "starts with ASCII whitespace" if regex.match(concat("", ["^", space]), title)

deny contains "dotted capital I" if regex.match(`İ`, title)
