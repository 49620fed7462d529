//! Store URLs: parsed once with the `url` crate, and the one place a backend removes the
//! URL's password from a message it did not write (a driver error quoting the URL).
//!
//! Not here: showing a URL with its password hidden (`taskpilot_config::redact_url`).

use url::Url;

use crate::StoreError;

/// `url` parsed, or an error naming it (password hidden) and the expected form.
pub(crate) fn parse(url: &str, expected: &str) -> Result<Url, StoreError> {
    Url::parse(url).map_err(|e| StoreError::Unsupported {
        url: taskpilot_config::redact_url(url),
        reason: format!("{e}; expected {expected}"),
    })
}

/// `text` with the secrets of `url` replaced by `***` (the one redaction of
/// `taskpilot_config::redact`: password, secret query parameters and path segments, and any URL
/// quoted in the text). A Redis URL's lone user-info (`redis://TOKEN@host`) is a password too.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let text = taskpilot_config::redact::scrub(text, url);
    match Url::parse(url) {
        Ok(parsed)
            if parsed.password().is_none()
                && parsed.scheme().starts_with("redis")
                && !parsed.username().is_empty() =>
        {
            replace_word(&text, parsed.username())
        }
        _ => text,
    }
}

/// `text` with every occurrence of `word` that is not part of a longer word replaced by `***`.
fn replace_word(text: &str, word: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i]
            .chars()
            .next_back()
            .or_else(|| out.chars().next_back());
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(is_word) || after.is_some_and(is_word) {
            out.push_str(word);
        } else {
            out.push_str("***");
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_scrubbed() {
        assert_eq!(
            scrub("bad s3cret here", "redis://:s3cret@h:6379/0"),
            "bad *** here"
        );
        assert_eq!(scrub("user u pw", "redis://u:pw@h/0"), "user u ***");
        assert_eq!(scrub("token abc9", "redis://abc9@h/0"), "token ***");
        assert_eq!(
            scrub("user root pw p@ss", "postgres://root:p%40ss@h/db"),
            "user root pw ***"
        );
        assert_eq!(scrub("user root", "mysql://root@h/db"), "user root");
    }
}
