//! Tool-call policy: real Rego evaluated in-process with `regorus` (SPEC section 5).
//!
//! [`PolicyEngine::load`] reads every `*.rego` file of the policies directory (or the built-in
//! `defaults/policies/tool_calls.rego` when the directory does not exist), parses and compiles
//! them once, and adds a small module that answers one question for a package:
//! `{allow, deny, require_approval, policy_version}`. [`PolicyEngine::evaluate`] answers it for
//! one input document with `&self`, so one engine behind an `Arc` serves every thread:
//!
//! - the built-in policy (or an unchanged copy of it) runs as bytecode on regorus' VM (RVM), a
//!   fresh VM per call, about 10 µs per decision;
//! - any other policy runs on regorus' interpreter, a clone of the prepared engine per call,
//!   because only the interpreter reports evaluation errors (a failing builtin, conflicting
//!   rule values) instead of treating them as `undefined`, and an error must deny.
//!
//! Both Rego v1 and the older syntax (`import future.keywords.if`, `deny[msg] { … }`) load: a
//! file is parsed as v1 first and, if that fails, as v0.
//!
//! Evaluation never panics and never allows by accident: any evaluation error is a denial whose
//! reason is the error (fail closed). A non-empty `deny` always wins over `allow`.
//!
//! Not here: writing the decision to the decision log (the observe crate does that with the
//! [`PolicyDecision`] returned here), tracing, metrics.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use regex::Regex;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::{Program, RegoVM};
use regorus::{Engine, Value};
use serde::{Deserialize, Serialize};

use crate::GovernError;
use crate::defaults;
use crate::opa_compat;

/// The package the workflow asks about: `data.taskpilot.tool_calls`.
pub const DEFAULT_PACKAGE: &str = "taskpilot.tool_calls";

/// The package of the small module this crate adds to gather one package's answer.
const SHIM_PACKAGE: &str = "taskpilot_internal_decision";
/// The rule of that module that holds the answer.
const SHIM_ENTRY: &str = "data.taskpilot_internal_decision.result";
/// An upper bound on the work of one evaluation (a runaway policy is an error, so a denial).
const MAX_INSTRUCTIONS: usize = 2_000_000;

/// The input document of SPEC section 5, exactly: the tool call an agent wants to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyInput {
    /// The tool: `create_task`, `notify_external_system`, `delete_task`, …
    pub tool_name: String,
    /// The tool's arguments, as the agent gave them (an object; `{}` when absent).
    #[serde(default = "empty_object")]
    pub parameters: serde_json::Value,
    /// `PlannerAgent`, `ReviewerAgent` or `ExecutorAgent`.
    pub agent_type: String,
    /// The agent instance (free text; empty when unknown).
    #[serde(default)]
    pub agent_id: String,
    /// The workflow run this call belongs to (empty when unknown).
    #[serde(default)]
    pub request_id: String,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// What the workflow does with a tool call, from the rules' values: a non-empty `deny` wins,
/// then `allow` with `require_approval`, then `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOutcome {
    /// The call runs.
    Allow,
    /// The call is refused.
    Deny,
    /// The call runs, and a person must approve the task before it is executed.
    RequireApproval,
}

impl PolicyOutcome {
    /// `allow`, `deny` or `require_approval`, as in the decision log.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyOutcome::Allow => "allow",
            PolicyOutcome::Deny => "deny",
            PolicyOutcome::RequireApproval => "require_approval",
        }
    }
}

/// What the policy answered about one tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDecision {
    /// The call may run: the package's `allow` was `true` and `deny` was empty.
    pub allow: bool,
    /// The value of the package's `allow` rule itself, as `opa eval` prints it (`false` when
    /// undefined); [`PolicyDecision::allow`] is this with `deny` taken into account.
    pub rules_allow: bool,
    /// Why not: the package's `deny` reasons (sorted), or the evaluation error.
    pub deny: Vec<String>,
    /// A person must approve the task before it is executed.
    pub require_approval: bool,
    /// The package's `policy_version` rule, else a digest of the policy sources.
    pub policy_version: String,
    /// The evaluation error when the policy could not be evaluated (the call is then denied,
    /// with this error as its reason).
    pub error: Option<String>,
}

impl PolicyDecision {
    /// What the workflow does: deny wins, then approval, then allow.
    pub fn outcome(&self) -> PolicyOutcome {
        if !self.allow {
            PolicyOutcome::Deny
        } else if self.require_approval {
            PolicyOutcome::RequireApproval
        } else {
            PolicyOutcome::Allow
        }
    }

    /// One line for people and the decision log's `reason`.
    pub fn reason(&self) -> String {
        match self.outcome() {
            PolicyOutcome::Deny if self.deny.is_empty() => {
                "denied: the policy did not allow this call".to_owned()
            }
            PolicyOutcome::Deny => self.deny.join("; "),
            PolicyOutcome::RequireApproval => {
                "allowed, but a person must approve the task".to_owned()
            }
            PolicyOutcome::Allow => "allowed by policy".to_owned(),
        }
    }

    fn fail_closed(reason: String, policy_version: &str) -> PolicyDecision {
        PolicyDecision {
            allow: false,
            rules_allow: false,
            deny: vec![format!("policy evaluation failed (denied): {reason}")],
            require_approval: false,
            policy_version: policy_version.to_owned(),
            error: Some(reason),
        }
    }
}

/// Where the loaded policies came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// These `*.rego` files of the policies directory.
    Files(Vec<PathBuf>),
    /// The built-in default policy.
    BuiltIn,
}

/// The answer to one package, ready to evaluate.
struct Prepared {
    package: String,
    /// The RVM program; `None` when the policy uses something the RVM cannot compile, in which
    /// case the (slower) tree-walking interpreter below answers.
    program: Option<Arc<Program>>,
    /// The policies plus the shim, already prepared; cloned per evaluation when needed.
    engine: Engine,
}

/// The compiled policies. Load once at start-up, share behind an `Arc`, evaluate with `&self`.
pub struct PolicyEngine {
    /// The policies alone, for preparing another package on demand.
    base: Engine,
    source: PolicySource,
    packages: Vec<String>,
    digest: String,
    default: Prepared,
}

impl PolicyEngine {
    /// Loads every `*.rego` file in `dir` when the directory exists, else the built-in default
    /// policy, and compiles them for [`DEFAULT_PACKAGE`].
    ///
    /// Errors: a file that cannot be read, a file that does not parse or compile (naming the
    /// file and line), a directory without `*.rego` files, or no file declaring
    /// `package taskpilot.tool_calls`.
    pub fn load(dir: &Path) -> Result<PolicyEngine, GovernError> {
        if !dir.is_dir() {
            return PolicyEngine::built_in();
        }
        let entries = std::fs::read_dir(dir).map_err(|source| GovernError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| GovernError::Read {
                path: dir.to_owned(),
                source,
            })?;
            let path = entry.path();
            if is_policy_file(&path) {
                files.push(path);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(GovernError::NoPolicies {
                dir: dir.to_owned(),
            });
        }
        let mut sources = Vec::with_capacity(files.len());
        for path in &files {
            let text = std::fs::read_to_string(path).map_err(|source| GovernError::Read {
                path: path.clone(),
                source,
            })?;
            sources.push((path.clone(), text));
        }
        PolicyEngine::from_sources(sources, PolicySource::Files(files))
    }

    /// The built-in default policy (`defaults/policies/tool_calls.rego`).
    pub fn built_in() -> Result<PolicyEngine, GovernError> {
        let sources = vec![(
            PathBuf::from(defaults::POLICY_FILE),
            defaults::POLICY.to_owned(),
        )];
        PolicyEngine::from_sources(sources, PolicySource::BuiltIn)
    }

    /// Compiles policies given as `(file name, Rego text)` pairs.
    pub fn from_sources(
        sources: Vec<(PathBuf, String)>,
        source: PolicySource,
    ) -> Result<PolicyEngine, GovernError> {
        let mut base = Engine::new();
        opa_compat::add_extensions(&mut base).map_err(|e| GovernError::PolicyPrepare {
            package: DEFAULT_PACKAGE.to_owned(),
            message: format!("{e:#}"),
        })?;
        let mut digest = Fnv64::new();
        let mut files = Vec::with_capacity(sources.len());
        // The built-in policy, or an unchanged copy of it (as `taskpilot init` writes).
        let builtin_text =
            sources.len() == 1 && sources.iter().all(|(_, text)| text == defaults::POLICY);
        for (path, text) in sources {
            digest.write(path.to_string_lossy().as_bytes());
            digest.write(text.as_bytes());
            add_policy(&mut base, &path, &text)?;
            files.push(path);
        }
        let packages: Vec<String> = base
            .get_packages()
            .map_err(|e| compile_error(&files, &e.to_string()))?
            .into_iter()
            .map(|p| p.trim_start_matches("data.").to_owned())
            .collect();
        let digest = format!("fnv64:{:016x}", digest.finish());
        let default = prepare(&base, &files, &packages, DEFAULT_PACKAGE, builtin_text)?;
        Ok(PolicyEngine {
            base,
            source,
            packages,
            digest,
            default,
        })
    }

    /// Where the policies came from.
    pub fn source(&self) -> &PolicySource {
        &self.source
    }

    /// The packages the policies declare (without the `data.` prefix), sorted.
    pub fn packages(&self) -> Vec<String> {
        let mut packages = self.packages.clone();
        packages.sort();
        packages.dedup();
        packages
    }

    /// Whether evaluation runs on the compiled VM (the built-in policy, about 10 µs) rather
    /// than the interpreter (custom policies, strict error semantics, a few times slower).
    pub fn is_compiled(&self) -> bool {
        self.default.program.is_some()
    }

    /// Asks `data.taskpilot.tool_calls` about one tool call. Never fails: an evaluation error
    /// is a denial whose reason is the error.
    pub fn evaluate(&self, input: &PolicyInput) -> PolicyDecision {
        match serde_json::to_value(input) {
            Ok(value) => self.evaluate_json(&value),
            Err(e) => {
                PolicyDecision::fail_closed(format!("cannot encode the input: {e}"), &self.digest)
            }
        }
    }

    /// Like [`PolicyEngine::evaluate`] with an input document given as JSON.
    pub fn evaluate_json(&self, input: &serde_json::Value) -> PolicyDecision {
        evaluate_prepared(&self.default, Value::from(input.clone()), &self.digest)
    }

    /// Asks another package (`taskpilot.other` or `data.taskpilot.other`). Slower than
    /// [`PolicyEngine::evaluate`]: the package's program is built on each call.
    ///
    /// Errors only when no policy declares the package; evaluation errors deny.
    pub fn evaluate_package(
        &self,
        package: &str,
        input: &serde_json::Value,
    ) -> Result<PolicyDecision, GovernError> {
        let package = package.trim().trim_start_matches("data.");
        if package == DEFAULT_PACKAGE {
            return Ok(self.evaluate_json(input));
        }
        let files = match &self.source {
            PolicySource::Files(files) => files.clone(),
            PolicySource::BuiltIn => vec![PathBuf::from(defaults::POLICY_FILE)],
        };
        let prepared = prepare(&self.base, &files, &self.packages, package, false)?;
        Ok(evaluate_prepared(
            &prepared,
            Value::from(input.clone()),
            &self.digest,
        ))
    }
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("source", &self.source)
            .field("packages", &self.packages)
            .field("digest", &self.digest)
            .field("compiled", &self.is_compiled())
            .finish_non_exhaustive()
    }
}

/// A `*.rego` file that is not a test file (`*_test.rego`, run by `taskpilot policy test`).
pub fn is_policy_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rego")
        && !path
            .file_stem()
            .is_some_and(|stem| stem.to_string_lossy().ends_with("_test"))
        && path.is_file()
}

/// Parses one file into the engine: Rego v1 first, then the older syntax.
pub(crate) fn add_policy(engine: &mut Engine, path: &Path, text: &str) -> Result<(), GovernError> {
    let name = path.to_string_lossy().into_owned();
    engine.set_rego_v0(false);
    let Err(v1) = engine.add_policy(name.clone(), text.to_owned()) else {
        return Ok(());
    };
    engine.set_rego_v0(true);
    let v0 = engine.add_policy(name, text.to_owned());
    engine.set_rego_v0(false);
    match v0 {
        Ok(_) => Ok(()),
        Err(v0) => {
            // Report the error of the syntax the file was written for.
            let e = if text.contains("future.keywords") {
                v0
            } else {
                v1
            };
            Err(compile_error(&[path.to_owned()], &format!("{e:#}")))
        }
    }
}

/// Builds the shim for `package` and its RVM program.
fn prepare(
    base: &Engine,
    files: &[PathBuf],
    packages: &[String],
    package: &str,
    vm_safe: bool,
) -> Result<Prepared, GovernError> {
    if !is_package_path(package) {
        return Err(GovernError::UnknownPackage {
            package: package.to_owned(),
            available: sorted(packages),
        });
    }
    if !packages.iter().any(|p| p == package) {
        return Err(GovernError::UnknownPackage {
            package: package.to_owned(),
            available: sorted(packages),
        });
    }
    let shim = format!(
        "package {SHIM_PACKAGE}\n\
         import rego.v1\n\
         default allow := false\n\
         allow := data.{package}.allow\n\
         default deny := set()\n\
         deny := data.{package}.deny\n\
         default require_approval := false\n\
         require_approval := data.{package}.require_approval\n\
         default policy_version := null\n\
         policy_version := data.{package}.policy_version\n\
         result := {{\"allow\": allow, \"deny\": deny, \"require_approval\": require_approval, \"policy_version\": policy_version}}\n"
    );
    let mut engine = base.clone();
    engine.set_rego_v0(false);
    engine
        .add_policy(format!("<{SHIM_PACKAGE}>"), shim)
        .map_err(|e| GovernError::PolicyPrepare {
            package: package.to_owned(),
            message: format!("{e:#}"),
        })?;
    let entry: regorus::Rc<str> = SHIM_ENTRY.into();
    // Compiling checks every rule (undefined functions, conflicting rules, recursion…): an
    // error here is a policy error, reported with the file and line it names.
    let compiled = engine
        .compile_with_entrypoint(&entry)
        .map_err(|e| compile_error(files, &format!("{e:#}")))?;
    let program = match Compiler::compile_from_policy(&compiled, &[SHIM_ENTRY]) {
        Ok(program) => {
            let mut program = Arc::unwrap_or_clone(program);
            opa_compat::patch_program(&mut program);
            Some(Arc::new(program))
        }
        // The interpreter only notices an unknown function when it reaches the call; OPA
        // refuses such a policy at compile time, and so do we.
        Err(e) if e.to_string().contains("Unknown function") => {
            return Err(compile_error(files, &format!("{e:#}")));
        }
        // Anything else the VM cannot compile still runs, on the interpreter.
        Err(_) => None,
    };
    // The VM turns evaluation errors (a failing builtin, conflicting rule values) into
    // `undefined` instead of errors, which could silently drop a `deny` reason. So it only runs
    // the built-in policy, which is written so that it cannot raise such errors and whose
    // decisions a test compares with the interpreter's; any other policy gets the interpreter,
    // which reports every evaluation error (and so fails closed).
    let program = if vm_safe { program } else { None };
    Ok(Prepared {
        package: package.to_owned(),
        program,
        engine,
    })
}

fn sorted(packages: &[String]) -> Vec<String> {
    let mut v = packages.to_vec();
    v.sort();
    v.dedup();
    v
}

/// `a.b.c` with Rego identifiers only (so it can be spliced into the shim safely).
fn is_package_path(package: &str) -> bool {
    !package.is_empty()
        && package.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn evaluate_prepared(prepared: &Prepared, input: Value, digest: &str) -> PolicyDecision {
    let result = if let Some(program) = &prepared.program {
        run_vm(program, input)
    } else {
        let mut engine = prepared.engine.clone();
        engine.set_input(input);
        engine
            .eval_rule(SHIM_ENTRY.to_owned())
            .map_err(|e| format!("{e:#}"))
    };
    match result {
        Ok(value) => decode(&value, digest).unwrap_or_else(|e| {
            PolicyDecision::fail_closed(format!("package {}: {e}", prepared.package), digest)
        }),
        Err(e) => PolicyDecision::fail_closed(e, digest),
    }
}

fn run_vm(program: &Arc<Program>, input: Value) -> Result<Value, String> {
    let mut vm = RegoVM::new();
    vm.load_program(Arc::clone(program));
    vm.set_max_instructions(MAX_INSTRUCTIONS);
    // A failing builtin (`to_number("x")`, division by zero) is an error, as in the
    // interpreter, so it denies instead of silently dropping a `deny` reason.
    vm.set_strict_builtin_errors(true);
    vm.set_data(Value::new_object())
        .map_err(|e| e.to_string())?;
    vm.set_input(input);
    vm.execute_entry_point_by_name(SHIM_ENTRY)
        .map_err(|e| e.to_string())
}

/// Reads the shim's object into a decision, refusing anything of the wrong type.
fn decode(value: &Value, digest: &str) -> Result<PolicyDecision, String> {
    let field = |name: &str| value[name].clone();
    let allow = match field("allow") {
        Value::Bool(b) => b,
        Value::Undefined | Value::Null => false,
        other => {
            return Err(format!(
                "`allow` must be a boolean, got {}",
                short_json(&other)
            ));
        }
    };
    let require_approval = match field("require_approval") {
        Value::Bool(b) => b,
        Value::Undefined | Value::Null => false,
        other => {
            return Err(format!(
                "`require_approval` must be a boolean, got {}",
                short_json(&other)
            ));
        }
    };
    let mut deny: Vec<String> = match field("deny") {
        Value::Set(items) => items.iter().map(reason_text).collect(),
        Value::Array(items) => items.iter().map(reason_text).collect(),
        Value::String(s) => vec![s.to_string()],
        Value::Bool(true) => vec!["denied by policy".to_owned()],
        Value::Bool(false) | Value::Undefined | Value::Null => Vec::new(),
        other => vec![format!("denied by policy: {}", short_json(&other))],
    };
    deny.sort();
    deny.dedup();
    let policy_version = match field("policy_version") {
        Value::String(s) => s.to_string(),
        Value::Undefined | Value::Null => digest.to_owned(),
        other => short_json(&other),
    };
    Ok(PolicyDecision {
        allow: allow && deny.is_empty(),
        rules_allow: allow,
        deny,
        require_approval,
        policy_version,
        error: None,
    })
}

fn reason_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        other => short_json(other),
    }
}

fn short_json(value: &Value) -> String {
    value.to_json_str().map_or_else(
        |_| "<unprintable>".to_owned(),
        |s| s.split_whitespace().collect::<Vec<_>>().join(" "),
    )
}

/// Turns a regorus error into one that names the file and line (`file.rego:12:5: …`).
fn compile_error(files: &[PathBuf], message: &str) -> GovernError {
    static LOCATION: OnceLock<Option<Regex>> = OnceLock::new();
    let location =
        LOCATION.get_or_init(|| Regex::new(r"(?m)^(?:-->\s*)?(.+?\.rego):(\d+):(\d+)").ok());
    let found = location.as_ref().and_then(|re| {
        re.captures_iter(message).find_map(|c| {
            let file = c.get(1)?.as_str().trim();
            let line = c.get(2)?.as_str().parse::<u32>().ok()?;
            Some((PathBuf::from(file), line))
        })
    });
    let (file, line) = match found {
        Some((file, line)) => (file, Some(line)),
        None => (
            files
                .first()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("<policies>")),
            None,
        ),
    };
    GovernError::PolicyCompile {
        file,
        line,
        message: message.trim().to_owned(),
    }
}

/// FNV-1a, 64 bits: a stable digest of the policy sources for `policy_version`.
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_input_without_parameters_has_an_empty_object_and_outcomes_print_as_logged() {
        let input: PolicyInput = serde_json::from_value(serde_json::json!({
            "tool_name": "create_task",
            "agent_type": "PlannerAgent",
        }))
        .unwrap();
        assert_eq!(input.parameters, serde_json::json!({}));
        assert_eq!(
            [
                PolicyOutcome::Allow,
                PolicyOutcome::Deny,
                PolicyOutcome::RequireApproval
            ]
            .map(PolicyOutcome::as_str),
            ["allow", "deny", "require_approval"]
        );
    }

    #[test]
    fn fnv64_is_fnv_1a() {
        let digest = |bytes: &[u8]| {
            let mut d = Fnv64::new();
            d.write(bytes);
            d.finish()
        };
        assert_eq!(digest(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(digest(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(digest(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn package_paths_are_dotted_rego_identifiers() {
        for good in ["a", "taskpilot.tools", "_x.y_1"] {
            assert!(is_package_path(good), "{good}");
        }
        for bad in ["", "1a", "a..b", "a.b-c", "a.1b", "a b"] {
            assert!(!is_package_path(bad), "{bad}");
        }
        assert_eq!(
            sorted(&["b".into(), "a".into(), "b".into()]),
            ["a".to_owned(), "b".to_owned()]
        );
    }

    #[test]
    fn the_reason_of_each_outcome_is_exact() {
        let decision = |allow: bool, deny: &[&str], require_approval: bool| PolicyDecision {
            allow,
            rules_allow: allow,
            deny: deny.iter().map(|s| (*s).to_owned()).collect(),
            require_approval,
            policy_version: "v".to_owned(),
            error: None,
        };
        assert_eq!(
            decision(false, &[], false).reason(),
            "denied: the policy did not allow this call"
        );
        assert_eq!(decision(false, &["a", "b"], false).reason(), "a; b");
        assert_eq!(
            decision(true, &[], true).reason(),
            "allowed, but a person must approve the task"
        );
        assert_eq!(decision(true, &[], false).reason(), "allowed by policy");
    }

    fn engine() -> PolicyEngine {
        PolicyEngine::built_in().expect("the built-in policy compiles")
    }

    /// What the built-in policy decides about `input`.
    fn decide(input: &PolicyInput) -> PolicyDecision {
        engine().evaluate(input)
    }

    fn call(tool: &str, agent: &str, parameters: serde_json::Value) -> PolicyInput {
        PolicyInput {
            tool_name: tool.into(),
            parameters,
            agent_type: agent.into(),
            agent_id: "agent-1".into(),
            request_id: "req-1".into(),
        }
    }

    fn create(title: &str, priority: &str) -> PolicyInput {
        call(
            "create_task",
            "PlannerAgent",
            json!({"title": title, "priority": priority, "description": "d"}),
        )
    }

    /// A low-priority `create_task` call titled "x", without a description, by `agent`.
    fn create_by(agent: &str) -> PolicyInput {
        call(
            "create_task",
            agent,
            json!({"title": "x", "priority": "low"}),
        )
    }

    fn notify(agent: &str, message: &str) -> PolicyInput {
        call(
            "notify_external_system",
            agent,
            json!({ "message": message }),
        )
    }

    /// Asserts that the built-in policy refuses `input` with a reason containing every one of
    /// `parts`.
    #[track_caller]
    fn assert_denied(input: &PolicyInput, parts: &[&str]) {
        let d = decide(input);
        assert!(!d.allow, "{input:?}: {d:?}");
        assert!(
            d.deny.iter().any(|r| parts.iter().all(|p| r.contains(p))),
            "{input:?}: no reason with all of {parts:?}: {d:?}"
        );
    }

    #[test]
    fn engine_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PolicyEngine>();
        assert!(
            engine().is_compiled(),
            "the default policy must run on the compiled VM"
        );
    }

    #[test]
    fn input_document_is_spec_5() {
        let value = serde_json::to_value(create("t", "low")).unwrap();
        let mut keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "agent_id",
                "agent_type",
                "parameters",
                "request_id",
                "tool_name"
            ]
        );
    }

    #[test]
    fn planner_create_is_allowed() {
        let d = decide(&create("Prepare the board deck", "medium"));
        assert!(d.allow, "{d:?}");
        assert!(d.deny.is_empty());
        assert!(!d.require_approval);
        assert_eq!(d.outcome(), PolicyOutcome::Allow);
        assert_eq!(d.policy_version, "taskpilot.tool_calls/1.1.0");
    }

    #[test]
    fn priority_is_case_insensitive() {
        assert!(decide(&create("Prepare the board deck", "HIGH")).allow);
    }

    #[test]
    fn empty_title_is_denied() {
        for title in ["", "   "] {
            assert_denied(&create(title, "low"), &["title", "empty"]);
        }
    }

    #[test]
    fn title_of_500_is_allowed_and_501_denied() {
        assert!(
            decide(&create(&"é".repeat(500), "low")).allow,
            "characters, not bytes"
        );
        assert_denied(&create(&"a".repeat(501), "low"), &["1-500", "501"]);
    }

    #[test]
    fn missing_title_is_denied() {
        let untitled = call("create_task", "PlannerAgent", json!({"priority": "low"}));
        assert_denied(&untitled, &["title"]);
    }

    #[test]
    fn bad_priority_is_denied() {
        let reason = "priority must be one of high, medium, low";
        for priority in ["urgent", "", "hi"] {
            assert_denied(&create("A task", priority), &[reason]);
        }
        let numeric = json!({"title": "A task", "priority": 3});
        assert_denied(&call("create_task", "PlannerAgent", numeric), &[reason]);
    }

    #[test]
    fn high_and_sensitive_requires_approval() {
        let d = decide(&create("Move the Sensitive payroll files", "high"));
        assert!(d.allow, "{d:?}");
        assert!(d.require_approval);
        assert_eq!(d.outcome(), PolicyOutcome::RequireApproval);
        // Only high priority, and only when the title says so.
        for (title, priority) in [
            ("Move the Sensitive payroll files", "medium"),
            ("Move the payroll files", "high"),
        ] {
            let d = decide(&create(title, priority));
            assert!(!d.require_approval, "{title} ({priority}): {d:?}");
        }
    }

    #[test]
    fn create_by_another_agent_is_denied() {
        assert_denied(
            &create_by("ExecutorAgent"),
            &["only be called by PlannerAgent"],
        );
    }

    #[test]
    fn notify_by_executor_and_reviewer_is_allowed() {
        for agent in ["ExecutorAgent", "ReviewerAgent"] {
            let d = decide(&notify(agent, "Task ready"));
            assert!(d.allow, "{agent}: {d:?}");
        }
    }

    #[test]
    fn notify_mentioning_delete_is_denied_in_any_case() {
        for message in [
            "DELETE all records",
            "please delete it",
            "Undeleted? Deleting",
        ] {
            assert_denied(&notify("ExecutorAgent", message), &["delete"]);
        }
    }

    #[test]
    fn notify_by_planner_is_denied() {
        assert_denied(
            &notify("PlannerAgent", "hi"),
            &["ExecutorAgent or ReviewerAgent"],
        );
    }

    #[test]
    fn delete_task_is_denied_with_its_reason() {
        for agent in ["PlannerAgent", "ExecutorAgent", "ReviewerAgent"] {
            let d = decide(&call("delete_task", agent, json!({"task_id": "task_1"})));
            assert!(!d.allow, "{agent}: {d:?}");
            assert_eq!(d.deny.len(), 1, "{d:?}");
            assert!(
                d.deny[0].starts_with("delete_task is not permitted"),
                "{d:?}"
            );
        }
    }

    #[test]
    fn unknown_agent_and_tool_are_denied() {
        assert_denied(&create_by("RogueAgent"), &["unknown agent type RogueAgent"]);
        let email = call("send_email", "ExecutorAgent", json!({}));
        assert_denied(&email, &["unknown tool send_email"]);
    }

    #[test]
    fn evaluation_is_concurrent_and_consistent() {
        let engine = Arc::new(engine());
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let engine = Arc::clone(&engine);
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let allowed = engine.evaluate(&create("A task", "low"));
                        let denied = engine.evaluate(&create("", "low"));
                        assert!(allowed.allow && !denied.allow, "thread {i}");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    /// A temporary directory holding `files` (name, text).
    fn policy_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("a policy file written");
        }
        dir
    }

    /// The engine loaded from a temporary directory holding only `files`.
    fn load_files(files: &[(&str, &str)]) -> Result<PolicyEngine, GovernError> {
        PolicyEngine::load(policy_dir(files).path())
    }

    fn load(files: &[(&str, &str)]) -> PolicyEngine {
        load_files(files).expect("the policy files load")
    }

    /// A policy in the default package: the header, then `rules`.
    fn rego(rules: &str) -> String {
        format!("package taskpilot.tool_calls\nimport rego.v1\n{rules}")
    }

    #[test]
    fn missing_directory_uses_the_built_in_policy() {
        let dir = tempfile::tempdir().unwrap();
        let engine = PolicyEngine::load(&dir.path().join("nope")).unwrap();
        assert_eq!(engine.source(), &PolicySource::BuiltIn);
        assert!(engine.evaluate(&create("A task", "low")).allow);
    }

    #[test]
    fn custom_policy_files_are_evaluated() {
        // The same call the default allows is refused by a stricter file: proof the files run.
        let strict = defaults::POLICY.replace(
            "valid_priorities := {\"high\", \"medium\", \"low\"}",
            "valid_priorities := {\"high\"}",
        );
        assert_ne!(strict, defaults::POLICY);
        let dir = policy_dir(&[("tool_calls.rego", &strict), ("notes.txt", "not a policy")]);
        let engine = PolicyEngine::load(dir.path()).unwrap();
        assert_eq!(
            engine.source(),
            &PolicySource::Files(vec![dir.path().join("tool_calls.rego")])
        );
        let d = engine.evaluate(&create("A task", "low"));
        assert!(!d.allow, "{d:?}");
        assert!(engine.evaluate(&create("A task", "high")).allow);
    }

    #[test]
    fn several_files_and_packages_load_together() {
        let engine = load(&[
            ("tool_calls.rego", defaults::POLICY),
            (
                "extra.rego",
                "package taskpilot.extra\nimport rego.v1\ndefault allow := false\nallow if input.tool_name == \"ping\"\n",
            ),
        ]);
        assert_eq!(
            engine.packages(),
            ["taskpilot.extra", "taskpilot.tool_calls"]
        );
        let ping = json!({"tool_name": "ping"});
        let d = engine.evaluate_package("taskpilot.extra", &ping).unwrap();
        assert!(d.allow && d.deny.is_empty() && !d.require_approval, "{d:?}");
        assert!(
            d.policy_version.starts_with("fnv64:"),
            "no policy_version rule: a digest"
        );
        let d = engine
            .evaluate_package("data.taskpilot.extra", &json!({"tool_name": "pong"}))
            .unwrap();
        assert!(!d.allow);
        let err = engine
            .evaluate_package("taskpilot.nope", &ping)
            .unwrap_err();
        assert!(err.to_string().contains("taskpilot.nope"), "{err}");
        assert!(engine.evaluate_package("bad package!", &ping).is_err());
    }

    #[test]
    fn older_syntax_with_future_keywords_loads() {
        let old = r#"package taskpilot.tool_calls

import future.keywords.if
import future.keywords.in

default allow := false

allow if {
    input.tool_name == "create_task"
    input.agent_type in {"PlannerAgent"}
}

deny[msg] {
    input.tool_name == "delete_task"
    msg := "delete_task is not allowed"
}

require_approval {
    input.parameters.priority == "high"
}
"#;
        let engine = load(&[("legacy.rego", old)]);
        let d = engine.evaluate(&create("A task", "high"));
        assert!(d.allow && d.require_approval, "{d:?}");
        let d = engine.evaluate(&call("delete_task", "PlannerAgent", json!({})));
        assert_eq!(d.deny, ["delete_task is not allowed"]);
    }

    #[test]
    fn rego_v1_with_import_rego_v1_loads() {
        let v1 = rego(
            "allow if input.agent_type == \"PlannerAgent\"\ndeny contains \"no\" if input.tool_name == \"x\"\n",
        );
        let engine = load(&[("v1.rego", &v1)]);
        assert!(engine.evaluate(&create("t", "low")).allow);
        assert_eq!(
            engine.evaluate(&call("x", "PlannerAgent", json!({}))).deny,
            ["no"]
        );
    }

    #[test]
    fn a_broken_policy_names_the_file_and_line() {
        let dir = policy_dir(&[
            ("a_good.rego", defaults::POLICY),
            (
                "broken.rego",
                "package taskpilot.broken\nimport rego.v1\n\nallow if {\n    input.x ==\n}\n",
            ),
        ]);
        let err = PolicyEngine::load(dir.path()).unwrap_err();
        match &err {
            GovernError::PolicyCompile { file, line, .. } => {
                assert_eq!(file, &dir.path().join("broken.rego"));
                assert!(matches!(line, Some(5 | 6)), "{err}");
            }
            other => panic!("unexpected error {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("broken.rego") && text.contains("line"),
            "{text}"
        );
    }

    #[test]
    fn a_policy_calling_an_unknown_function_is_a_compile_error() {
        let unknown = rego("\nallow if no_such_function(input.x)\n");
        let text = load_files(&[("tool_calls.rego", &unknown)])
            .unwrap_err()
            .to_string();
        assert!(text.contains("tool_calls.rego"), "{text}");
    }

    #[test]
    fn an_empty_directory_or_a_missing_package_is_an_error() {
        assert!(matches!(
            load_files(&[]),
            Err(GovernError::NoPolicies { .. })
        ));
        let other = "package other\nimport rego.v1\nallow := true\n";
        let err = load_files(&[("other.rego", other)]).unwrap_err();
        assert!(err.to_string().contains("taskpilot.tool_calls"), "{err}");
    }

    #[test]
    fn evaluation_errors_fail_closed() {
        // A builtin that fails on this input: the deny rule cannot be decided, so deny.
        let engine = load(&[(
            "tool_calls.rego",
            &rego("allow := true\ndeny contains \"too many\" if to_number(input.limit) > 10\n"),
        )]);
        assert!(engine.evaluate_json(&json!({"limit": "7"})).allow);
        let d = engine.evaluate_json(&json!({"limit": "ten"}));
        assert!(!d.allow, "{d:?}");
        assert!(d.deny[0].contains("policy evaluation failed"), "{d:?}");
    }

    #[test]
    fn a_non_boolean_allow_fails_closed() {
        let d = load(&[("p.rego", &rego("allow := \"yes\"\n"))]).evaluate(&create("t", "low"));
        assert!(!d.allow);
        assert!(d.deny[0].contains("`allow` must be a boolean"), "{d:?}");
    }

    #[test]
    fn deny_wins_over_allow() {
        let engine = load(&[(
            "p.rego",
            &rego("allow := true\ndeny contains \"stop\" if input.tool_name == \"x\"\n"),
        )]);
        let d = engine.evaluate(&call("x", "PlannerAgent", json!({})));
        assert!(!d.allow);
        assert_eq!(d.outcome(), PolicyOutcome::Deny);
        assert_eq!(d.reason(), "stop");
    }

    #[test]
    fn the_vm_and_the_interpreter_agree_on_the_default_policy() {
        let engine = engine();
        assert!(engine.is_compiled());
        let long = "x".repeat(501);
        let titles = [
            json!("Board deck"),
            json!(""),
            json!("  "),
            json!(long),
            json!("Sensitive data"),
            json!(7),
            json!(null),
        ];
        let priorities = [
            json!("high"),
            json!("Low"),
            json!("urgent"),
            json!(1),
            json!(null),
        ];
        let agents = [
            "PlannerAgent",
            "ReviewerAgent",
            "ExecutorAgent",
            "Rogue",
            "",
        ];
        let tools = [
            "create_task",
            "notify_external_system",
            "delete_task",
            "other",
        ];
        let messages = [
            json!("all done"),
            json!("DELETE everything"),
            json!(3),
            json!(null),
        ];
        let mut compared = 0;
        for tool in tools {
            for agent in agents {
                for title in &titles {
                    for priority in &priorities {
                        for message in &messages {
                            let input = json!({"tool_name": tool, "agent_type": agent, "agent_id": "a", "request_id": "r",
                                "parameters": {"title": title, "priority": priority, "message": message}});
                            let vm = engine.evaluate_json(&input);
                            let mut interpreter = engine.default.engine.clone();
                            interpreter.set_input(Value::from(input.clone()));
                            let value = interpreter.eval_rule(SHIM_ENTRY.to_owned()).unwrap();
                            assert_eq!(vm, decode(&value, &engine.digest).unwrap(), "{input}");
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(compared, 4 * 5 * 7 * 5 * 4);
        // Wrong shapes too: no parameters, parameters not an object, missing fields.
        for input in [
            json!({}),
            json!({"tool_name": "create_task", "agent_type": "PlannerAgent", "parameters": "x"}),
        ] {
            let d = engine.evaluate_json(&input);
            assert!(!d.allow && !d.deny.is_empty(), "{input}: {d:?}");
        }
        assert!(!engine.evaluate_json(&json!([1])).allow);
    }

    #[test]
    fn an_unchanged_copy_of_the_default_runs_on_the_vm_and_custom_policies_on_the_interpreter() {
        assert!(load(&[("tool_calls.rego", defaults::POLICY)]).is_compiled());
        let edited = format!("{}\n# edited\n", defaults::POLICY);
        let engine = load(&[("tool_calls.rego", &edited)]);
        assert!(!engine.is_compiled());
        assert!(engine.evaluate(&create("A task", "low")).allow);
    }

    /// The built-in policy on the VM, and the same text as a custom policy on the interpreter.
    fn both_paths() -> [PolicyEngine; 2] {
        let custom = PolicyEngine::from_sources(
            vec![(
                PathBuf::from("tool_calls.rego"),
                format!("{}\n# custom\n", defaults::POLICY),
            )],
            PolicySource::Files(vec![PathBuf::from("tool_calls.rego")]),
        )
        .unwrap();
        assert!(!custom.is_compiled());
        let built_in = engine();
        assert!(built_in.is_compiled());
        [built_in, custom]
    }

    #[test]
    fn titles_are_counted_in_code_points_on_both_paths() {
        for engine in both_paths() {
            for title in [
                "😀".repeat(500),
                "𝒜".repeat(499),
                format!("  {}\u{3000}", "é".repeat(500)),
            ] {
                let d = engine.evaluate(&create(&title, "low"));
                assert!(d.allow, "{} code points: {d:?}", title.chars().count());
            }
            let d = engine.evaluate(&create(&"😀".repeat(501), "low"));
            assert_eq!(
                d.deny,
                ["title must be 1-500 characters after trimming: it has 501"]
            );
        }
    }

    #[test]
    fn missing_title_and_message_are_denied_on_both_paths() {
        for engine in both_paths() {
            let d = engine.evaluate(&call(
                "create_task",
                "PlannerAgent",
                json!({"priority": "low"}),
            ));
            assert_eq!(
                d.deny,
                ["create_task needs a title: it is missing or not a string"]
            );
            let d = engine.evaluate(&call("notify_external_system", "ExecutorAgent", json!({})));
            assert_eq!(
                d.deny,
                ["notify_external_system needs a message: it is missing or not a string"]
            );
            let d = engine.evaluate_json(&json!({"tool_name": "create_task", "agent_type": "PlannerAgent", "parameters": "x"}));
            assert!(d.error.is_none(), "no builtin may fail: {d:?}");
            assert!(
                d.deny
                    .iter()
                    .any(|r| r.starts_with("create_task needs a title")),
                "{d:?}"
            );
        }
    }

    #[test]
    fn case_mapping_is_opa_s_on_both_paths() {
        for engine in both_paths() {
            // Go lowers "İ" to "i": the title mentions "sensitive" for OPA, and so for us.
            let d = engine.evaluate(&create("SENSİTİVE payroll", "high"));
            assert!(d.allow && d.require_approval, "{d:?}");
            // "ẞ" lowers to "ß" in both; the title stays 1 character long.
            let d = engine.evaluate(&create("ẞ", "high"));
            assert!(d.allow && !d.require_approval, "{d:?}");
        }
    }

    #[test]
    fn the_rules_allow_is_kept_beside_the_decision() {
        let stop = rego("allow := true\ndeny contains \"stop\" if true\n");
        let d = load(&[("p.rego", &stop)]).evaluate(&create("t", "low"));
        assert!(d.rules_allow && !d.allow, "{d:?}");
        assert_eq!(d.outcome(), PolicyOutcome::Deny);
        assert_eq!(d.error, None);
    }

    #[test]
    fn test_files_take_no_part_in_decisions() {
        let dir = policy_dir(&[
            ("tool_calls.rego", defaults::POLICY),
            ("tool_calls_test.rego", defaults::POLICY_TEST),
        ]);
        let engine = PolicyEngine::load(dir.path()).unwrap();
        assert_eq!(
            engine.source(),
            &PolicySource::Files(vec![dir.path().join("tool_calls.rego")])
        );
        assert!(
            engine.is_compiled(),
            "an unchanged copy still runs on the VM"
        );
        assert_eq!(engine.packages(), ["taskpilot.tool_calls"]);
    }
}
