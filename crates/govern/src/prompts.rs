//! The agents' system prompts (SPEC section 7): `PROMPTS_DIR/{planner,reviewer,executor}.yaml`
//! when the directory exists, else the built-in `defaults/prompts/`.
//!
//! A prompt file holds `version`, `agent`, `system_instruction`, `metadata` and, optionally,
//! older or alternative versions under `versions: {"0.9.0": {system_instruction, metadata}}`.
//! [`Prompts::prompt`] returns the current version or a named one, with the version string
//! that the workflow records in spans and decisions and the file it came from.
//!
//! Not here: calling a model with the prompt (the agents crate).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::GovernError;
use crate::defaults;

/// The three agents of the workflow.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Agent {
    /// Turns a request into a task.
    Planner,
    /// Decides whether a task may run, or sends it to a person.
    Reviewer,
    /// Carries out an approved task with its tools.
    Executor,
}

impl Agent {
    /// Every agent, in workflow order.
    pub const ALL: [Agent; 3] = [Agent::Planner, Agent::Reviewer, Agent::Executor];

    /// `planner`, `reviewer`, `executor`: the file stem and the `agent` field.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// `PlannerAgent`, …: the `agent_type` of the policy input.
    pub fn agent_type(self) -> &'static str {
        match self {
            Agent::Planner => "PlannerAgent",
            Agent::Reviewer => "ReviewerAgent",
            Agent::Executor => "ExecutorAgent",
        }
    }

    /// `planner.yaml`, …
    pub fn file_name(self) -> String {
        format!("{}.yaml", self.as_str())
    }

    fn built_in(self) -> &'static str {
        match self {
            Agent::Planner => defaults::PLANNER_PROMPT,
            Agent::Reviewer => defaults::REVIEWER_PROMPT,
            Agent::Executor => defaults::EXECUTOR_PROMPT,
        }
    }
}

impl std::str::FromStr for Agent {
    type Err = GovernError;

    /// Accepts `planner`, `Planner`, `PlannerAgent`, `planner_agent` (any case).
    fn from_str(s: &str) -> Result<Agent, GovernError> {
        let normal: String = s
            .trim()
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        match normal.trim_end_matches("agent") {
            "planner" => Ok(Agent::Planner),
            "reviewer" => Ok(Agent::Reviewer),
            "executor" => Ok(Agent::Executor),
            _ => Err(GovernError::UnknownAgent { name: s.to_owned() }),
        }
    }
}

/// Where a prompt came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptSource {
    /// This file of `PROMPTS_DIR`.
    File(PathBuf),
    /// The built-in default compiled into the binary.
    BuiltIn,
}

impl fmt::Display for PromptSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptSource::File(path) => write!(f, "{}", path.display()),
            PromptSource::BuiltIn => f.write_str("built-in"),
        }
    }
}

/// One version of one agent's prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The agent this prompt instructs.
    pub agent: Agent,
    /// The version string recorded in spans and decisions.
    pub version: String,
    /// The system message sent to the model.
    pub system_instruction: String,
    /// Free-form metadata from the file (JSON; `{}` when absent).
    pub metadata: serde_json::Value,
    /// Where the prompt came from (a file in `PROMPTS_DIR`, or built in).
    pub source: PromptSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFile {
    version: yaml_serde::Value,
    agent: String,
    system_instruction: String,
    #[serde(default)]
    metadata: Option<yaml_serde::Value>,
    #[serde(default)]
    versions: yaml_serde::Mapping,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionFile {
    system_instruction: String,
    #[serde(default)]
    metadata: Option<yaml_serde::Value>,
}

/// One agent's prompt file, parsed.
#[derive(Debug, Clone)]
struct AgentPrompts {
    current: Prompt,
    /// Every version by its name, the current one included.
    versions: BTreeMap<String, Prompt>,
}

/// The three agents' prompts. Load once at start-up.
#[derive(Debug, Clone)]
pub struct Prompts {
    agents: BTreeMap<Agent, AgentPrompts>,
}

impl Prompts {
    /// Reads `dir/{planner,reviewer,executor}.yaml` when `dir` exists, else the built-in
    /// prompts. Errors: a missing or malformed file, naming the file (and key).
    pub fn load(dir: &Path) -> Result<Prompts, GovernError> {
        if !dir.is_dir() {
            return Prompts::built_in();
        }
        let mut agents = BTreeMap::new();
        for agent in Agent::ALL {
            let file = dir.join(agent.file_name());
            if !file.exists() {
                return Err(GovernError::MissingPrompt { file });
            }
            let text = std::fs::read_to_string(&file).map_err(|source| GovernError::Read {
                path: file.clone(),
                source,
            })?;
            agents.insert(
                agent,
                parse(agent, &text, &file, PromptSource::File(file.clone()))?,
            );
        }
        Ok(Prompts { agents })
    }

    /// The built-in prompts.
    pub fn built_in() -> Result<Prompts, GovernError> {
        let mut agents = BTreeMap::new();
        for agent in Agent::ALL {
            let name = PathBuf::from(format!("<built-in {}>", agent.file_name()));
            agents.insert(
                agent,
                parse(agent, agent.built_in(), &name, PromptSource::BuiltIn)?,
            );
        }
        Ok(Prompts { agents })
    }

    /// The agent's current prompt, or the named version.
    pub fn prompt(&self, agent: Agent, version: Option<&str>) -> Result<Prompt, GovernError> {
        let prompts = self
            .agents
            .get(&agent)
            .ok_or_else(|| GovernError::UnknownAgent {
                name: agent.to_string(),
            })?;
        match version {
            None => Ok(prompts.current.clone()),
            Some(v) => prompts.versions.get(v.trim()).cloned().ok_or_else(|| {
                GovernError::UnknownPromptVersion {
                    agent: agent.to_string(),
                    version: v.to_owned(),
                    available: prompts.versions.keys().cloned().collect(),
                }
            }),
        }
    }

    /// The versions an agent's file defines (the current one included), sorted.
    pub fn versions(&self, agent: Agent) -> Vec<String> {
        self.agents
            .get(&agent)
            .map(|p| p.versions.keys().cloned().collect())
            .unwrap_or_default()
    }
}

fn parse(
    agent: Agent,
    text: &str,
    file: &Path,
    source: PromptSource,
) -> Result<AgentPrompts, GovernError> {
    let malformed = |key: &str, message: String| GovernError::Malformed {
        file: file.to_owned(),
        key: key.to_owned(),
        message,
    };
    let parsed: PromptFile = yaml_serde::from_str(text).map_err(|e| {
        let text = e.to_string();
        match text.split_once(": ") {
            Some((key, rest)) if !key.contains(' ') && !key.is_empty() => {
                malformed(key, rest.to_owned())
            }
            _ => malformed("(document)", text),
        }
    })?;
    let declared: Agent = parsed.agent.parse().map_err(|_| {
        malformed(
            "agent",
            format!("{:?} is not planner, reviewer or executor", parsed.agent),
        )
    })?;
    if declared != agent {
        return Err(malformed(
            "agent",
            format!("the file is for {agent}, but says {declared}"),
        ));
    }
    let version = scalar(&parsed.version)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            malformed(
                "version",
                "must be a non-empty string such as \"1.0.0\"".into(),
            )
        })?;
    if parsed.system_instruction.trim().is_empty() {
        return Err(malformed("system_instruction", "must not be empty".into()));
    }
    let metadata = to_json(parsed.metadata.as_ref()).map_err(|e| malformed("metadata", e))?;
    let current = Prompt {
        agent,
        version: version.clone(),
        system_instruction: parsed.system_instruction,
        metadata,
        source: source.clone(),
    };
    let mut versions = BTreeMap::new();
    for (key, entry) in parsed.versions {
        let name = scalar(&key).filter(|v| !v.is_empty()).ok_or_else(|| {
            malformed(
                "versions",
                "every version name must be a non-empty string".into(),
            )
        })?;
        let entry: VersionFile = yaml_serde::from_value(entry)
            .map_err(|e| malformed(&format!("versions.{name}"), e.to_string()))?;
        if entry.system_instruction.trim().is_empty() {
            return Err(malformed(
                &format!("versions.{name}.system_instruction"),
                "must not be empty".into(),
            ));
        }
        let metadata = to_json(entry.metadata.as_ref())
            .map_err(|e| malformed(&format!("versions.{name}.metadata"), e))?;
        versions.insert(
            name.clone(),
            Prompt {
                agent,
                version: name,
                system_instruction: entry.system_instruction,
                metadata,
                source: source.clone(),
            },
        );
    }
    versions.insert(version, current.clone());
    Ok(AgentPrompts { current, versions })
}

/// A YAML string or number as text (`version: 1.0` is a float to YAML).
fn scalar(value: &yaml_serde::Value) -> Option<String> {
    match value {
        yaml_serde::Value::String(s) => Some(s.trim().to_owned()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn to_json(value: Option<&yaml_serde::Value>) -> Result<serde_json::Value, String> {
    match value {
        None | Some(yaml_serde::Value::Null) => {
            Ok(serde_json::Value::Object(serde_json::Map::new()))
        }
        Some(v) => serde_json::to_value(v).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_prompts_for_every_agent() {
        let prompts = Prompts::built_in().unwrap();
        for agent in Agent::ALL {
            let p = prompts.prompt(agent, None).unwrap();
            assert_eq!(p.agent, agent);
            assert_eq!(p.version, "1.0.0");
            assert_eq!(p.source, PromptSource::BuiltIn);
            assert!(!p.system_instruction.trim().is_empty());
        }
        let reviewer = prompts.prompt(Agent::Reviewer, None).unwrap();
        assert!(reviewer.system_instruction.contains("APPROVE"));
        let old = prompts.prompt(Agent::Planner, Some("0.9.0")).unwrap();
        assert_eq!(old.version, "0.9.0");
        assert_eq!(prompts.versions(Agent::Planner), ["0.9.0", "1.0.0"]);
        let err = prompts.prompt(Agent::Planner, Some("7")).unwrap_err();
        assert!(err.to_string().contains("0.9.0, 1.0.0"), "{err}");
    }

    #[test]
    fn agent_names_parse_loosely() {
        for name in ["planner", "Planner", "PlannerAgent", "planner_agent"] {
            assert_eq!(name.parse::<Agent>().unwrap(), Agent::Planner);
        }
        assert!("boss".parse::<Agent>().is_err());
    }

    fn write_defaults(dir: &Path) {
        for agent in Agent::ALL {
            std::fs::write(dir.join(agent.file_name()), agent.built_in()).unwrap();
        }
    }

    #[test]
    fn prompts_from_files() {
        let dir = tempfile::tempdir().unwrap();
        write_defaults(dir.path());
        let file = dir.path().join("executor.yaml");
        std::fs::write(
            &file,
            "version: 2.1\nagent: ExecutorAgent\nsystem_instruction: Be brief.\nmetadata: {owner: ops}\nversions:\n  '2.0':\n    system_instruction: Be very brief.\n",
        )
        .unwrap();
        let prompts = Prompts::load(dir.path()).unwrap();
        let p = prompts.prompt(Agent::Executor, None).unwrap();
        assert_eq!(
            (p.version.as_str(), p.system_instruction.as_str()),
            ("2.1", "Be brief.")
        );
        assert_eq!(p.source, PromptSource::File(file.clone()));
        assert_eq!(p.metadata["owner"], "ops");
        assert_eq!(
            prompts
                .prompt(Agent::Executor, Some("2.0"))
                .unwrap()
                .system_instruction,
            "Be very brief."
        );
        assert_eq!(
            prompts.prompt(Agent::Planner, None).unwrap().source,
            PromptSource::File(dir.path().join("planner.yaml"))
        );
    }

    #[test]
    fn a_missing_directory_uses_the_built_in_prompts() {
        let dir = tempfile::tempdir().unwrap();
        let prompts = Prompts::load(&dir.path().join("absent")).unwrap();
        assert_eq!(
            prompts.prompt(Agent::Planner, None).unwrap().source,
            PromptSource::BuiltIn
        );
    }

    #[test]
    fn missing_and_malformed_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_defaults(dir.path());
        std::fs::remove_file(dir.path().join("reviewer.yaml")).unwrap();
        let err = Prompts::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("reviewer.yaml"), "{err}");

        for (text, key) in [
            ("version: '1'\nagent: reviewer\n", "system_instruction"),
            (
                "version: '1'\nagent: planner\nsystem_instruction: x\n",
                "agent",
            ),
            (
                "version: [1]\nagent: reviewer\nsystem_instruction: x\n",
                "version",
            ),
            (
                "version: '1'\nagent: reviewer\nsystem_instruction: x\ncolour: red\n",
                "colour",
            ),
            (
                "version: '1'\nagent: reviewer\nsystem_instruction: x\nversions:\n  '0': {prompt: y}\n",
                "versions.0",
            ),
            ("{{{", "reviewer.yaml"),
        ] {
            std::fs::write(dir.path().join("reviewer.yaml"), text).unwrap();
            let err = Prompts::load(dir.path()).unwrap_err().to_string();
            assert!(
                err.contains("reviewer.yaml") && err.contains(key),
                "{text:?}: {err}"
            );
        }
    }
}
