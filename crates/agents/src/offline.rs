//! The offline provider: deterministic local agents, so the whole workflow runs with no
//! network and no key. The rules are documented in docs/AGENTS.md; keep the two in step.

use async_trait::async_trait;

use crate::ProviderError;
use crate::provider::{LlmProvider, LlmReply, TaskBrief, TaskProposal};

/// Words that make a request high priority.
const HIGH_WORDS: &[&str] = &["high", "urgent", "critical", "asap", "immediately"];
/// Words that make a request low priority.
const LOW_WORDS: &[&str] = &["low", "minor", "whenever", "someday"];
/// Destructive verbs; with a [`DESTRUCTIVE_TARGETS`] word they make the reviewer reject.
const DESTRUCTIVE_VERBS: &[&str] = &[
    "delete", "drop", "destroy", "wipe", "erase", "purge", "truncate",
];
/// What a destructive verb must be aimed at to count as destructive intent.
const DESTRUCTIVE_TARGETS: &[&str] = &[
    "all",
    "everything",
    "account",
    "accounts",
    "database",
    "databases",
    "table",
    "tables",
    "records",
    "users",
    "production",
    "backups",
];
/// Words that make the reviewer ask a person.
const SENSITIVE_WORDS: &[&str] = &[
    "sensitive",
    "confidential",
    "salary",
    "salaries",
    "payroll",
    "password",
    "passwords",
    "credentials",
    "secret",
    "secrets",
    "legal",
    "lawsuit",
    "medical",
    "ssn",
];
/// Phrases that make the reviewer ask a person.
const SENSITIVE_PHRASES: &[&str] = &["personal data", "bank account", "money transfer"];
/// Longest title the offline planner proposes (cut at a word boundary).
const TITLE_CHARS: usize = 120;

/// The deterministic provider.
#[derive(Debug, Clone, Default)]
pub struct OfflineProvider;

impl OfflineProvider {
    /// The offline provider: deterministic answers, no network.
    pub fn new() -> OfflineProvider {
        OfflineProvider
    }
}

/// Lower-case alphanumeric words of `text`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The priority rule: any high word → high; else any low word → low; else medium.
pub fn priority_of(request: &str) -> &'static str {
    let words = words(request);
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    if has(HIGH_WORDS) {
        "high"
    } else if has(LOW_WORDS) {
        "low"
    } else {
        "medium"
    }
}

/// The title rule: the text after "… task to" / "… task for" / "… task:" when the request
/// reads "Create/Add/Make … task …", else the request itself; first letter upper-case, no
/// trailing punctuation, at most 120 characters (cut at a word).
pub fn title_of(request: &str) -> String {
    let text = request.split_whitespace().collect::<Vec<_>>().join(" ");
    // ASCII lower-casing keeps byte offsets, so positions in `lower` are valid in `text`.
    let lower = text.to_ascii_lowercase();
    let mut rest: &str = &text;
    let starts = [
        "create",
        "add",
        "make",
        "open",
        "please create",
        "please add",
    ];
    if starts.iter().any(|s| lower.starts_with(s)) {
        for marker in [
            " task to ",
            " task for ",
            " task: ",
            " task about ",
            " task ",
        ] {
            if let Some(at) = lower.find(marker) {
                rest = &text[at + marker.len()..];
                break;
            }
        }
    }
    let trimmed = rest
        .trim()
        .trim_end_matches(['.', '!', '?', ';', ','])
        .trim();
    let base = if trimmed.is_empty() {
        text.trim()
    } else {
        trimmed
    };
    let mut title = String::new();
    for word in base.split(' ') {
        if title.chars().count() + word.chars().count() + 1 > TITLE_CHARS && !title.is_empty() {
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    let title: String = title.chars().take(TITLE_CHARS).collect();
    let mut chars = title.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => title,
    }
}

/// The reviewer rule: destructive intent → REJECTED, sensitive content → REVIEW, else APPROVE.
pub fn verdict_of(task: &TaskBrief) -> String {
    let text = format!("{} {}", task.title, task.description);
    let words = words(&text);
    let has = |list: &[&str]| words.iter().find(|w| list.contains(&w.as_str())).cloned();
    if let (Some(verb), Some(target)) = (has(DESTRUCTIVE_VERBS), has(DESTRUCTIVE_TARGETS)) {
        return format!(
            "REJECTED destructive intent: the task asks to {verb} {target}, which is not \
             executed automatically."
        );
    }
    let lower = text.to_lowercase();
    let phrase = SENSITIVE_PHRASES.iter().find(|p| lower.contains(*p));
    if let Some(word) = has(SENSITIVE_WORDS).or_else(|| phrase.map(|p| (*p).to_owned())) {
        return format!("REVIEW the task mentions \"{word}\"; a person should decide.");
    }
    "APPROVE the task is clear and harmless.".to_owned()
}

/// The executor rule: a one-line notification naming the task.
pub fn message_of(task: &TaskBrief) -> String {
    format!(
        "Task {} ({} priority) is approved and ready to be carried out: {}",
        task.id, task.priority, task.title
    )
}

#[async_trait]
impl LlmProvider for OfflineProvider {
    fn name(&self) -> &'static str {
        "offline"
    }

    fn model(&self) -> &'static str {
        "offline"
    }

    async fn plan(
        &self,
        _system_prompt: &str,
        request: &str,
    ) -> Result<LlmReply<TaskProposal>, ProviderError> {
        Ok(LlmReply {
            value: TaskProposal {
                title: title_of(request),
                priority: priority_of(request).to_owned(),
                description: request.trim().to_owned(),
            },
            usage: None,
        })
    }

    async fn review(
        &self,
        _system_prompt: &str,
        task: &TaskBrief,
    ) -> Result<LlmReply<String>, ProviderError> {
        Ok(LlmReply {
            value: verdict_of(task),
            usage: None,
        })
    }

    async fn execute(
        &self,
        _system_prompt: &str,
        task: &TaskBrief,
    ) -> Result<LlmReply<String>, ProviderError> {
        Ok(LlmReply {
            value: message_of(task),
            usage: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief(title: &str) -> TaskBrief {
        TaskBrief {
            id: "task_20250101_000000_000000".into(),
            title: title.into(),
            priority: "medium".into(),
            description: String::new(),
        }
    }

    #[test]
    fn priority_rules() {
        assert_eq!(priority_of("Create a high priority task to x"), "high");
        assert_eq!(priority_of("URGENT: fix the login"), "high");
        assert_eq!(priority_of("a minor cleanup"), "low");
        assert_eq!(priority_of("follow up with the team"), "medium");
    }

    #[test]
    fn title_rules() {
        assert_eq!(
            title_of("Create a high priority task to prepare the board deck"),
            "Prepare the board deck"
        );
        assert_eq!(title_of("Add a task for the Q3 report."), "The Q3 report");
        assert_eq!(
            title_of("Delete all user accounts"),
            "Delete all user accounts"
        );
        assert!(title_of(&"word ".repeat(200)).chars().count() <= TITLE_CHARS);
    }

    #[test]
    fn verdict_rules() {
        assert!(verdict_of(&brief("Delete all user accounts")).starts_with("REJECTED"));
        assert!(verdict_of(&brief("Drop the database")).starts_with("REJECTED"));
        assert!(verdict_of(&brief("Delete the typo in the memo")).starts_with("APPROVE"));
        assert!(verdict_of(&brief("Review the confidential report")).starts_with("REVIEW"));
        assert!(verdict_of(&brief("Export personal data")).starts_with("REVIEW"));
        assert!(verdict_of(&brief("Prepare the board deck")).starts_with("APPROVE"));
    }
}
