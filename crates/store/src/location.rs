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

/// `text` with the password of `url` replaced by `***`. A Redis URL's lone user-info
/// (`redis://TOKEN@host`) is a password too.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return text.to_owned();
    };
    let secret = match parsed.password() {
        Some(password) => password,
        None if parsed.scheme().starts_with("redis") => parsed.username(),
        None => "",
    };
    if secret.is_empty() {
        return text.to_owned();
    }
    let decoded = url::form_urlencoded::parse(format!("p={secret}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let text = text.replace(secret, "***");
    if decoded.is_empty() || decoded == secret {
        text
    } else {
        text.replace(&decoded, "***")
    }
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
        assert_eq!(scrub("token tok", "redis://tok@h/0"), "token ***");
        assert_eq!(
            scrub("user root pw p@ss", "postgres://root:p%40ss@h/db"),
            "user root pw ***"
        );
        assert_eq!(scrub("user root", "mysql://root@h/db"), "user root");
    }
}
