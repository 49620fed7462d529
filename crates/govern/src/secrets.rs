//! Credentials and bank account numbers people paste into requests and reasons: found and
//! replaced by `[REDACTED <kind>]` before the text is stored in a task, a decision log or a
//! trace. Shapes: OpenAI keys (`sk-…`), AWS access key ids (`AKIA…`/`ASIA…`), GitHub tokens
//! (`ghp_…`, `github_pat_…`), Slack tokens (`xox…`), bearer tokens, private key blocks, the
//! password of a URL, `password=…`-style assignments (`secret`, `token`, `api_key`, …), and
//! IBANs that pass the ISO 13616 mod-97 check.
//!
//! Not here: URL-shaped settings (`taskpilot_config::redact`), personal data that blocks a
//! request (the PII flow of `guardrails`).

use std::sync::OnceLock;

use regex::{Captures, Regex};
use serde::Serialize;

/// What kind of secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// `sk-…` keys.
    OpenAiKey,
    /// AWS access key ids (`AKIA…`).
    AwsKey,
    /// GitHub personal access and app tokens.
    GithubToken,
    /// Slack tokens (`xox…`).
    SlackToken,
    /// `Bearer …` credentials.
    BearerToken,
    /// PEM private key blocks.
    PrivateKey,
    /// `password=…` and the like.
    Password,
    /// International bank account numbers.
    Iban,
}

impl SecretKind {
    /// How messages name the kind (`AWS key`).
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::OpenAiKey => "OpenAI key",
            SecretKind::AwsKey => "AWS key",
            SecretKind::GithubToken => "GitHub token",
            SecretKind::SlackToken => "Slack token",
            SecretKind::BearerToken => "bearer token",
            SecretKind::PrivateKey => "private key",
            SecretKind::Password => "password",
            SecretKind::Iban => "IBAN",
        }
    }
}

/// A text with its secrets replaced, and what was found (each kind once, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with every secret replaced.
    pub text: String,
    /// The kinds found, each once, in order.
    pub found: Vec<SecretKind>,
}

struct Patterns {
    shapes: Vec<(SecretKind, Regex)>,
    assignments: [Regex; 2],
    url_password: Regex,
    iban: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("built-in pattern {p}: {e}"));
        Patterns {
            shapes: vec![
                (
                    SecretKind::PrivateKey,
                    re(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
                ),
                (SecretKind::OpenAiKey, re(r"\bsk-[A-Za-z0-9_-]{20,}")),
                (SecretKind::AwsKey, re(r"\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b")),
                (
                    SecretKind::GithubToken,
                    re(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
                ),
                (SecretKind::SlackToken, re(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
                (SecretKind::BearerToken, re(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*")),
            ],
            assignments: [
                // `password=x`, `api_key: "x"`, `AWS_SECRET_ACCESS_KEY=x`.
                re(
                    r#"(?i)\b([a-z0-9_-]*(?:password|passwd|pwd|pass|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[a-z0-9_-]*)(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;]+)"#,
                ),
                // `my password is x`.
                re(r"(?i)\b(password|passcode|passwd)(\s+is\s+)(\S+)"),
            ],
            url_password: re(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*):[^\s@]+@"),
            iban: re(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"),
        }
    })
}

/// `text` with every credential and IBAN replaced by `[REDACTED <kind>]`.
pub fn redact(text: &str) -> Redacted {
    let p = patterns();
    let mut found = Vec::new();
    let mut out = text.to_owned();
    for (kind, re) in &p.shapes {
        if re.is_match(&out) {
            found.push(*kind);
            out = re
                .replace_all(&out, format!("[REDACTED {}]", kind.as_str()).as_str())
                .into_owned();
        }
    }
    if p.url_password.is_match(&out) {
        found.push(SecretKind::Password);
        out = p
            .url_password
            .replace_all(&out, "$1:[REDACTED password]@")
            .into_owned();
    }
    let mut assigned = false;
    for assignment in &p.assignments {
        out = assignment
            .replace_all(&out, |c: &Captures<'_>| {
                let value = &c[3];
                if value.starts_with("[REDACTED") || value.trim_matches(['"', '\'']).is_empty() {
                    return c[0].to_owned();
                }
                assigned = true;
                format!("{}{}[REDACTED password]", &c[1], &c[2])
            })
            .into_owned();
    }
    if assigned && !found.contains(&SecretKind::Password) {
        found.push(SecretKind::Password);
    }
    let mut iban = false;
    out = p
        .iban
        .replace_all(&out, |c: &Captures<'_>| {
            if is_iban(&c[0]) {
                iban = true;
                "[REDACTED IBAN]".to_owned()
            } else {
                c[0].to_owned()
            }
        })
        .into_owned();
    if iban {
        found.push(SecretKind::Iban);
    }
    found.sort();
    found.dedup();
    Redacted { text: out, found }
}

/// Whether `candidate` (spaces allowed) is an IBAN: country letters, check digits, 11 to 30
/// more letters or digits, and the ISO 7064 mod-97 remainder 1.
pub fn is_iban(candidate: &str) -> bool {
    let compact: Vec<char> = candidate.chars().filter(|c| *c != ' ').collect();
    if !(15..=34).contains(&compact.len())
        || !compact[..2].iter().all(char::is_ascii_uppercase)
        || !compact[2..4].iter().all(char::is_ascii_digit)
        || !compact.iter().all(char::is_ascii_alphanumeric)
    {
        return false;
    }
    let rotated = compact[4..].iter().chain(&compact[..4]);
    let mut remainder: u32 = 0;
    for c in rotated {
        let Some(value) = c.to_digit(36) else {
            return false;
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_pass_mod_97() {
        assert!(is_iban("DE89 3704 0044 0532 0130 00"));
        assert!(is_iban("GB82WEST12345698765432"));
        assert!(!is_iban("DE89 3704 0044 0532 0130 01"));
        assert!(!is_iban("DE89"));
    }

    #[test]
    fn credentials_are_replaced_and_named() {
        let r = redact("pay DE89 3704 0044 0532 0130 00 today");
        assert_eq!(r.text, "pay [REDACTED IBAN] today");
        assert_eq!(r.found, [SecretKind::Iban]);
        let r = redact("DE89 3704 0044 0532 0130 01 is not one");
        assert!(r.found.is_empty(), "{r:?}");
        let r = redact("login with password=hunter2, key sk-abcdefghijklmnopqrstuvwx1234");
        assert_eq!(
            r.text,
            "login with password=[REDACTED password], key [REDACTED OpenAI key]"
        );
        assert_eq!(r.found, [SecretKind::OpenAiKey, SecretKind::Password]);
        let r = redact("my password is hunter2 and the token is valid");
        assert_eq!(
            r.text,
            "my password is [REDACTED password] and the token is valid"
        );
        let r = redact("no secrets, a pass to the stadium, and a token gesture");
        assert!(r.found.is_empty(), "{r:?}");
        assert_eq!(
            r.text,
            "no secrets, a pass to the stadium, and a token gesture"
        );
    }
}
