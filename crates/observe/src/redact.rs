//! Keeps secrets out of logs, spans and decision logs: values under keys that look like
//! credentials are replaced by `"[REDACTED]"`, strings that look like API keys are masked, and
//! URLs inside strings go through the one URL redaction of `taskpilot_config::redact`.

use serde_json::Value;

/// The replacement written instead of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Whether a field or attribute name looks like it holds a credential.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "api_key",
        "apikey",
        "secret",
        "password",
        "passwd",
        "authorization",
        "credential",
    ]
    .iter()
    .any(|s| k.contains(s))
        || k == "key"
        || k.ends_with("_key")
        || k.ends_with("token")
}

/// Whether a string value looks like a bearer token or provider API key (`sk-…`, `Bearer …`).
pub fn looks_like_secret(value: &str) -> bool {
    let v = value.trim();
    (v.starts_with("sk-") && v.len() >= 20 && !v.contains(' '))
        || v.to_ascii_lowercase().starts_with("bearer ")
}

/// Redacts, in place, every value of `value` (recursively) under a secret-looking key, and
/// every string that looks like a key.
pub fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_key(k) && !v.is_null() {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::String(s) if looks_like_secret(s) => REDACTED.clone_into(s),
        Value::String(s) if s.contains("://") => *s = taskpilot_config::redact::redact_urls_in(s),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_under_credential_keys_and_key_shaped_strings_are_redacted() {
        let mut v = serde_json::json!({
            "openai_api_key": "abc", "nested": {"Authorization": "x", "title": "ok"},
            "list": ["sk-abcdefghijklmnopqrstuvwxyz", "plain"], "max_tokens_hint": 3
        });
        redact_value(&mut v);
        assert_eq!(v["openai_api_key"], REDACTED);
        assert_eq!(v["nested"]["Authorization"], REDACTED);
        assert_eq!(v["nested"]["title"], "ok");
        assert_eq!(v["list"][0], REDACTED);
        assert_eq!(v["list"][1], "plain");
        let mut v = serde_json::json!({"error": "POST https://h/x?token=abc123 failed"});
        redact_value(&mut v);
        assert_eq!(v["error"], "POST https://h/x?token=*** failed");
    }
}
