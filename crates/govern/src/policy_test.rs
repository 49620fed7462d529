//! Policy unit tests, run as `opa test` runs them: every rule named `test_*` in the loaded
//! files (policies and `*_test.rego` files together) is evaluated; it passes when it is
//! defined and not `false`, fails when it is undefined or `false`, and is an error when its
//! evaluation fails. `todo_*` rules are not run, as in OPA.
//!
//! The same builtin corrections apply as for decisions (`opa_compat`), so a test
//! passes here exactly when the decision it checks is the one the workflow takes.
//!
//! Not here: printing the results (`taskpilot policy test` does), loading decisions.

use std::path::{Path, PathBuf};
use std::time::Instant;

use regorus::unstable::{Rule, RuleHead};
use regorus::{Engine, Value};
use serde::Serialize;

use crate::GovernError;
use crate::defaults;
use crate::opa_compat;
use crate::policy::add_policy;

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// The rule was defined and not `false`.
    Pass,
    /// The rule was undefined or `false`.
    Fail,
    /// Evaluating the rule failed; the message says why.
    Error(String),
}

/// One `test_*` rule and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// The package, as `data.a.b`.
    pub package: String,
    /// The rule's name, `test_…`.
    pub name: String,
    /// The file and line the rule is defined at.
    pub file: PathBuf,
    /// The line of the rule.
    pub line: u32,
    /// Passed, failed, or failed to evaluate.
    pub outcome: TestOutcome,
    /// Nanoseconds the evaluation took.
    pub duration_ns: u64,
}

impl TestResult {
    /// Passed.
    pub fn passed(&self) -> bool {
        self.outcome == TestOutcome::Pass
    }
}

/// Runs the tests of every `*.rego` file in `dir`, or of the built-in policy and its tests when
/// `dir` does not exist. Results are in file and line order.
///
/// Errors: a file that cannot be read or does not parse (naming the file and line), or no
/// `test_*` rule at all.
pub fn run_tests(dir: &Path) -> Result<Vec<TestResult>, GovernError> {
    let sources = if dir.is_dir() {
        read_sources(dir)?
    } else {
        vec![
            (
                PathBuf::from(defaults::POLICY_FILE),
                defaults::POLICY.to_owned(),
            ),
            (
                PathBuf::from(defaults::POLICY_TEST_FILE),
                defaults::POLICY_TEST.to_owned(),
            ),
        ]
    };
    run_sources(&sources, dir)
}

/// Runs the `test_*` rules of policies given as `(file name, Rego text)` pairs.
pub fn run_sources(
    sources: &[(PathBuf, String)],
    dir: &Path,
) -> Result<Vec<TestResult>, GovernError> {
    let mut engine = Engine::new();
    opa_compat::add_extensions(&mut engine).map_err(|e| GovernError::PolicyPrepare {
        package: "tests".to_owned(),
        message: format!("{e:#}"),
    })?;
    for (path, text) in sources {
        add_policy(&mut engine, path, text)?;
    }
    let mut tests = Vec::new();
    for module in engine.get_modules().clone() {
        let package =
            regorus::utils::get_path_string(&module.package.refr, Some("data")).unwrap_or_default();
        for rule in &module.policy {
            // `test_x if { … }` and `test_x := true if …` are tests; functions are not.
            let Rule::Spec {
                head: RuleHead::Compr { refr, span, .. },
                ..
            } = rule.as_ref()
            else {
                continue;
            };
            let Ok(name) = regorus::utils::get_path_string(refr, None) else {
                continue;
            };
            if !name.starts_with("test_") || name.contains('.') {
                continue;
            }
            let file = PathBuf::from(span.source.file().as_str());
            let key = (package.clone(), name.clone());
            if tests.iter().any(|(k, _, _)| k == &key) {
                continue;
            }
            tests.push((key, file, span.line));
        }
    }
    if tests.is_empty() {
        return Err(GovernError::NoTests {
            dir: dir.to_owned(),
        });
    }
    tests.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
    let results = tests
        .into_iter()
        .map(|((package, name), file, line)| {
            let mut run = engine.clone();
            let started = Instant::now();
            let value = run.eval_rule(format!("{package}.{name}"));
            let duration_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let outcome = match value {
                Ok(Value::Bool(false) | Value::Undefined) => TestOutcome::Fail,
                Ok(_) => TestOutcome::Pass,
                Err(e) => TestOutcome::Error(format!("{e:#}")),
            };
            TestResult {
                package,
                name,
                file,
                line,
                outcome,
                duration_ns,
            }
        })
        .collect();
    Ok(results)
}

fn read_sources(dir: &Path) -> Result<Vec<(PathBuf, String)>, GovernError> {
    let read_error = |source| GovernError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.extension().is_some_and(|e| e == "rego") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut sources = Vec::with_capacity(files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| GovernError::Read {
            path: path.clone(),
            source,
        })?;
        sources.push((path, text));
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_tests_pass_against_the_built_in_policy() {
        let dir = tempfile::tempdir().unwrap();
        let results = run_tests(&dir.path().join("missing")).unwrap();
        assert!(results.len() >= 15, "{} tests", results.len());
        let failed: Vec<_> = results.iter().filter(|r| !r.passed()).collect();
        assert_eq!(failed.len(), 0, "{failed:#?}");
        assert!(
            results
                .iter()
                .all(|r| r.package == "data.taskpilot.tool_calls_test"
                    && r.name.starts_with("test_")),
            "{results:#?}"
        );
    }

    #[test]
    fn failing_undefined_and_erroring_tests_are_reported() {
        let policy = "package p\nimport rego.v1\nallow if input.x == 1\n".to_owned();
        let tests = "package p_test\nimport rego.v1\n\
                     test_pass if data.p.allow with input as {\"x\": 1}\n\
                     test_false if { data.p.allow == false } \n\
                     test_undefined if data.p.allow with input as {\"x\": 2}\n\
                     test_error if to_number(\"ten\") > 1\n\
                     todo_test_later if false\n\
                     helper(x) := x\n"
            .to_owned();
        let results = run_sources(
            &[
                (PathBuf::from("p.rego"), policy),
                (PathBuf::from("p_test.rego"), tests),
            ],
            Path::new("."),
        )
        .unwrap();
        let outcomes: Vec<(&str, &TestOutcome)> = results
            .iter()
            .map(|r| (r.name.as_str(), &r.outcome))
            .collect();
        assert_eq!(outcomes.len(), 4, "{outcomes:?}");
        assert_eq!(outcomes[0], ("test_pass", &TestOutcome::Pass));
        assert_eq!(outcomes[1], ("test_false", &TestOutcome::Fail));
        assert_eq!(outcomes[2], ("test_undefined", &TestOutcome::Fail));
        assert_eq!(outcomes[3].0, "test_error");
        assert!(
            matches!(outcomes[3].1, TestOutcome::Error(_)),
            "{outcomes:?}"
        );
        assert_eq!(results[0].file, PathBuf::from("p_test.rego"));
        assert_eq!(results[0].line, 3);
    }

    #[test]
    fn a_directory_without_tests_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.rego"), defaults::POLICY).unwrap();
        let err = run_tests(dir.path()).unwrap_err();
        assert!(err.to_string().contains("test_"), "{err}");
    }
}
