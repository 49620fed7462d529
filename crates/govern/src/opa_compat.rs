//! Builtins whose regorus 0.14.1 answer differs from OPA's, replaced by OPA's answer on both
//! evaluation paths (the RVM program and the interpreter), so a policy decides in TaskPilot as
//! it does under `opa eval`. `scripts/policy-diff` compares the two engines on thousands of
//! inputs and finds these; docs/GOVERNANCE.md lists them.
//!
//! - `count(string)`: regorus counts UTF-16 code units, OPA (and TaskPilot's task model) counts
//!   code points: 499 emoji are 998 to regorus, 499 to OPA.
//! - `lower` / `upper`: regorus uses Rust's full case mapping (`"İ"` → `"i̇"`, `"ß"` → `"SS"`),
//!   OPA uses Go's one-character (simple) mapping (`"İ"` → `"i"`, `"ß"` → `"ß"`).
//!
//! The VM resolves builtins into a table of function pointers when a program is compiled; the
//! entries for these names are swapped for the functions below. The interpreter looks up
//! extensions before builtins, so the same functions are registered as extensions there.
//! Arguments these replacements do not handle (not a string) go to the original builtin.
//!
//! The fix is also offered upstream: `patches/regorus/0001-opa-compatible-count-lower-upper.patch`.
//!
//! Not here: semantic differences of the language itself (those are documented, with a rule a
//! policy author can follow, in docs/GOVERNANCE.md).

use regorus::rvm::Program;
use regorus::unstable::{BUILTINS, BuiltinFcn, Expr, Ref, Span};
use regorus::{Engine, Value};

/// A builtin's OPA-compatible answer for a string argument.
type StringFn = fn(&str) -> Value;

/// The replaced builtins: name and what they answer for one string argument.
const REPLACED: [(&str, StringFn); 3] = [
    ("count", count_code_points),
    ("lower", lower_simple),
    ("upper", upper_simple),
];

/// Registers the replacements as interpreter extensions on `engine` (the interpreter consults
/// extensions before its builtins).
pub(crate) fn add_extensions(engine: &mut Engine) -> anyhow::Result<()> {
    for (name, answer) in REPLACED {
        engine.add_extension(
            name.to_owned(),
            1,
            Box::new(move |args: Vec<Value>| extension(name, answer, args)),
        )?;
    }
    Ok(())
}

/// Points the VM program's entries for the replaced builtins at the functions below.
pub(crate) fn patch_program(program: &mut Program) {
    for (index, info) in program.builtin_info_table.iter().enumerate() {
        let replacement: Option<BuiltinFcn> = match info.name.as_str() {
            "count" => Some((vm_count, 1)),
            "lower" => Some((vm_lower, 1)),
            "upper" => Some((vm_upper, 1)),
            _ => None,
        };
        if let (Some(replacement), Some(slot)) =
            (replacement, program.resolved_builtins.get_mut(index))
        {
            *slot = replacement;
        }
    }
}

fn extension(name: &str, answer: StringFn, args: Vec<Value>) -> anyhow::Result<Value> {
    match args.as_slice() {
        [Value::String(s)] => Ok(answer(s)),
        // An undefined argument makes the call undefined, as for every builtin.
        [Value::Undefined] => Ok(Value::Undefined),
        [Value::Array(a)] if name == "count" => Ok(Value::from(a.len())),
        [Value::Set(a)] if name == "count" => Ok(Value::from(a.len())),
        [Value::Object(a)] if name == "count" => Ok(Value::from(a.len())),
        [other] if name == "count" => anyhow::bail!(
            "count: operand 1 must be one of {{array, object, set, string}} but got {}",
            type_name(other)
        ),
        [other] => anyhow::bail!(
            "{name}: operand 1 must be string but got {}",
            type_name(other)
        ),
        _ => anyhow::bail!("{name}: expects 1 argument, got {}", args.len()),
    }
}

fn vm_count(
    span: &Span,
    params: &[Ref<Expr>],
    args: &[Value],
    strict: bool,
) -> anyhow::Result<Value> {
    vm_call("count", count_code_points, span, params, args, strict)
}

fn vm_lower(
    span: &Span,
    params: &[Ref<Expr>],
    args: &[Value],
    strict: bool,
) -> anyhow::Result<Value> {
    vm_call("lower", lower_simple, span, params, args, strict)
}

fn vm_upper(
    span: &Span,
    params: &[Ref<Expr>],
    args: &[Value],
    strict: bool,
) -> anyhow::Result<Value> {
    vm_call("upper", upper_simple, span, params, args, strict)
}

fn vm_call(
    name: &str,
    answer: StringFn,
    span: &Span,
    params: &[Ref<Expr>],
    args: &[Value],
    strict: bool,
) -> anyhow::Result<Value> {
    if let [Value::String(s)] = args {
        return Ok(answer(s));
    }
    match BUILTINS.get(name) {
        Some((original, _)) => original(span, params, args, strict),
        None => anyhow::bail!("builtin {name} is missing from regorus"),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Set(_) => "set",
        Value::Object(_) => "object",
        Value::Undefined => "undefined",
    }
}

/// OPA's `count` of a string: code points (Go's `utf8.RuneCountInString`).
fn count_code_points(s: &str) -> Value {
    Value::from(s.chars().count())
}

fn lower_simple(s: &str) -> Value {
    Value::String(s.chars().map(simple_lowercase).collect::<String>().into())
}

fn upper_simple(s: &str) -> Value {
    Value::String(s.chars().map(simple_uppercase).collect::<String>().into())
}

/// Go's `unicode.ToLower`: the one-character mapping of UnicodeData.txt. Rust's mapping adds
/// SpecialCasing.txt, whose only unconditional multi-character lower case is U+0130.
pub(crate) fn simple_lowercase(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ if c == '\u{130}' => 'i',
        _ => c,
    }
}

/// Go's `unicode.ToUpper`: the one-character mapping of UnicodeData.txt. Where Rust's full
/// mapping has several characters (SpecialCasing.txt: `ß`, ligatures, Greek with ypogegrammeni)
/// the simple mapping is the character itself, except the Greek letters with ypogegrammeni,
/// which map to their title-case forms.
pub(crate) fn simple_uppercase(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => match c {
            '\u{1F80}'..='\u{1F87}' | '\u{1F90}'..='\u{1F97}' | '\u{1FA0}'..='\u{1FA7}' => {
                char::from_u32(u32::from(c) + 8).unwrap_or(c)
            }
            '\u{1FB3}' => '\u{1FBC}',
            '\u{1FC3}' => '\u{1FCC}',
            '\u{1FF3}' => '\u{1FFC}',
            _ => c,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_is_code_points() {
        assert_eq!(count_code_points("😀é"), Value::from(2_usize));
        assert_eq!(count_code_points(&"😀".repeat(499)), Value::from(499_usize));
        // A base letter and a combining mark are two code points, as in OPA.
        assert_eq!(count_code_points("e\u{301}"), Value::from(2_usize));
    }

    #[test]
    fn case_mapping_is_go_simple_mapping() {
        let lower: String = "SENSİTİVE ẞ Σ".chars().map(simple_lowercase).collect();
        assert_eq!(lower, "sensitive ß σ");
        let upper: String = "straße ﬁ ᾳ ᾀ ǆ".chars().map(simple_uppercase).collect();
        assert_eq!(upper, "STRAßE ﬁ ᾼ ᾈ Ǆ");
    }

    #[test]
    fn extension_handles_undefined_and_wrong_types() {
        assert_eq!(
            extension("count", count_code_points, vec![Value::Undefined]).unwrap(),
            Value::Undefined
        );
        let err = extension("lower", lower_simple, vec![Value::from(3_usize)]).unwrap_err();
        assert!(
            err.to_string().contains("must be string but got number"),
            "{err}"
        );
        let err = extension("count", count_code_points, vec![Value::Null]).unwrap_err();
        assert!(err.to_string().contains("got null"), "{err}");
    }
}
