//! The one redaction of URL-shaped settings and of secrets in free text, used by `config`,
//! `doctor`, `/health`, `GET /`, logs, errors and task errors.
//!
//! A URL loses: the password of its user info (and a user name that looks like a key), the
//! values of password-like query parameters (`password`, `pass`, `pwd`, `secret`, `token`,
//! `key`, `sig`, …), and path segments that look like secrets (the last part of a Slack-style
//! `/services/T…/B…/XXXX` webhook, a segment after `/token/`). Parsing is the `url` crate's;
//! the user info is split off by hand first, because a password with an unescaped `/` would
//! otherwise be read as a port and path.
//!
//! Not here: which settings are secrets (`Settings`), JSON-key redaction of log fields
//! (`taskpilot-observe`), credentials written by people in requests (`taskpilot-govern`).

use url::Url;

/// What replaces a hidden part.
pub const HIDDEN: &str = "***";

/// `url` with every secret part replaced by `***`; a URL with nothing secret is returned as
/// written (not normalised). Text that is not a URL is returned unchanged.
pub fn redact_url(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_owned();
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return raw.to_owned();
    }
    let (userinfo, after) = split_userinfo(rest);
    let shown_userinfo = userinfo.map(redact_userinfo);
    let mut changed = userinfo
        .zip(shown_userinfo.as_deref())
        .is_some_and(|(a, b)| a != b);
    let tail = match Url::parse(&format!("{scheme}://{after}")) {
        Ok(mut url) => {
            changed |= redact_query(&mut url);
            if !path_names_data(raw) {
                changed |= redact_path(&mut url);
            }
            let text = url.as_str();
            text.split_once("://")
                .map_or(after.to_owned(), |(_, t)| t.to_owned())
        }
        // Not a URL the parser accepts: hide the whole query, which is where secrets hide.
        Err(_) => match after.split_once('?') {
            Some((before, _)) => {
                changed = true;
                format!("{before}?{HIDDEN}")
            }
            None => after.to_owned(),
        },
    };
    if !changed {
        return raw.to_owned();
    }
    match shown_userinfo {
        Some(u) => format!("{scheme}://{u}@{tail}"),
        None => format!("{scheme}://{tail}"),
    }
}

/// `text` with every URL in it redacted (error messages of HTTP clients and drivers quote the
/// URL they used).
pub fn redact_urls_in(text: &str) -> String {
    replace_urls(text, redact_url)
}

/// `text` with every URL in it replaced by `[url]` (for the unauthenticated `/health`).
pub fn strip_urls(text: &str) -> String {
    replace_urls(text, |_| "[url]".to_owned())
}

/// The secret parts of `url` (password, secret query values and path segments), raw and
/// percent-decoded, longest first: what [`scrub`] removes from a message that may quote it.
pub fn url_secrets(raw: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    let Some((_, rest)) = raw.split_once("://") else {
        return secrets;
    };
    let (userinfo, after) = split_userinfo(rest);
    if let Some(u) = userinfo {
        match u.split_once(':') {
            Some((_, password)) => secrets.push(password.to_owned()),
            None if looks_like_secret(u) => secrets.push(u.to_owned()),
            None => {}
        }
    }
    if let Ok(url) = Url::parse(&format!("http://{after}")) {
        for (k, v) in url.query_pairs() {
            if is_secret_param(&k) {
                secrets.push(v.into_owned());
            }
        }
        if !path_names_data(raw) {
            for segment in secret_segments(&url) {
                secrets.push(segment);
            }
        }
    }
    let decoded: Vec<String> = secrets
        .iter()
        .map(|s| percent_decode(s))
        .filter(|d| !secrets.contains(d))
        .collect();
    secrets.extend(decoded);
    secrets.retain(|s| !s.is_empty() && s != HIDDEN);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// `text` with the secret parts of `url` and every URL in it hidden: the scrubber for errors
/// of store drivers and HTTP clients that may quote the connection string.
pub fn scrub(text: &str, url: &str) -> String {
    let mut out = text.to_owned();
    for secret in url_secrets(url) {
        out = out.replace(&secret, HIDDEN);
    }
    redact_urls_in(&out)
}

/// `text` with each of `secrets` replaced by `***`.
pub fn scrub_values(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in sorted {
        out = out.replace(secret.as_str(), HIDDEN);
    }
    out
}

/// Whether a query parameter's name says its value is a credential.
pub fn is_secret_param(name: &str) -> bool {
    const EXACT: [&str; 12] = [
        "pass",
        "pwd",
        "key",
        "sig",
        "auth",
        "code",
        "apikey",
        "sas",
        "jwt",
        "session",
        "credential",
        "credentials",
    ];
    let n = name.to_ascii_lowercase();
    EXACT.contains(&n.as_str())
        || [
            "password",
            "passwd",
            "secret",
            "token",
            "signature",
            "api_key",
            "api-key",
        ]
        .iter()
        .any(|w| n.contains(w))
        || n.ends_with("_key")
        || n.ends_with("-key")
        || n.ends_with("credential")
}

/// Whether a user name or path segment looks like a generated secret rather than a word or an
/// id: at least 16 characters of key alphabet, with letters and digits mixed, or 24 and more.
pub fn looks_like_secret(s: &str) -> bool {
    let n = s.chars().count();
    let key_alphabet = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.~+=%".contains(c));
    let letters = s.chars().any(|c| c.is_ascii_alphabetic());
    let digits = s.chars().any(|c| c.is_ascii_digit());
    key_alphabet && ((n >= 16 && letters && digits) || n >= 24)
}

/// Splits `rest` (after `scheme://`) at the last `@` before the query: everything before it
/// is user info, even when it holds a `/`.
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

fn redact_userinfo(userinfo: &str) -> String {
    match userinfo.split_once(':') {
        Some((user, _)) if looks_like_secret(user) => format!("{HIDDEN}:{HIDDEN}"),
        Some((user, _)) => format!("{user}:{HIDDEN}"),
        None if looks_like_secret(userinfo) => HIDDEN.to_owned(),
        None => userinfo.to_owned(),
    }
}

/// Hides the values of secret query parameters; true when one was hidden.
fn redact_query(url: &mut Url) -> bool {
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if !pairs.iter().any(|(k, _)| is_secret_param(k)) {
        return false;
    }
    let shown: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| {
            let v = if is_secret_param(&k) {
                HIDDEN.to_owned()
            } else {
                v
            };
            (k, v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(shown);
    true
}

/// The path segments of `url` that are secrets: those that look like one, and the one after a
/// segment named like a credential (`/token/…`, `/key/…`).
/// Whether the path of `raw` names data rather than carrying a credential: a database, a
/// bucket or a file (`postgres://…/tasks_2024`), never hidden however random it looks.
fn path_names_data(raw: &str) -> bool {
    let scheme = raw.split_once("://").map_or("", |(s, _)| s);
    matches!(
        scheme.to_ascii_lowercase().as_str(),
        "postgres"
            | "postgresql"
            | "mysql"
            | "mariadb"
            | "sqlite"
            | "redis"
            | "rediss"
            | "s3"
            | "file"
    )
}

fn secret_segments(url: &Url) -> Vec<String> {
    let Some(segments) = url.path_segments() else {
        return Vec::new();
    };
    let segments: Vec<&str> = segments.collect();
    segments
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            looks_like_secret(&percent_decode(s))
                || (*i > 0 && !s.is_empty() && is_secret_param(segments[i - 1]))
        })
        .map(|(_, s)| (*s).to_owned())
        .collect()
}

/// Replaces secret path segments by `***`; true when one was replaced.
fn redact_path(url: &mut Url) -> bool {
    let secret = secret_segments(url);
    if secret.is_empty() {
        return false;
    }
    let Some(segments) = url.path_segments() else {
        return false;
    };
    let shown: Vec<String> = segments
        .map(|s| {
            if secret.iter().any(|x| x == s) {
                HIDDEN.to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect();
    url.set_path(&format!("/{}", shown.join("/")));
    true
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| s.to_owned(), |(_, v)| v.into_owned())
}

/// Applies `f` to every `scheme://…` run of `text` (up to white space or a quote/bracket).
fn replace_urls(text: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let start = rest[..pos]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || "+-.".contains(*c)))
            .map_or(0, |(i, c)| i + c.len_utf8());
        if start == pos {
            out.push_str(&rest[..pos + 3]);
            rest = &rest[pos + 3..];
            continue;
        }
        let mut end = rest[pos..]
            .find(|c: char| c.is_whitespace() || "\"'<>()`,;".contains(c))
            .map_or(rest.len(), |i| pos + i);
        while end > pos + 3 && rest[..end].ends_with(['.', ':', '!', '?']) {
            end -= 1;
        }
        if end == pos + 3 {
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        out.push_str(&rest[..start]);
        out.push_str(&f(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_passwords_are_hidden_even_with_a_slash() {
        for (url, shown) in [
            ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
            (
                "postgres://app:hunter2@db:5432/tasks",
                "postgres://app:***@db:5432/tasks",
            ),
            (
                "postgres://app:12/ab@cd@db:5432/tasks",
                "postgres://app:***@db:5432/tasks",
            ),
            ("mysql://root@127.0.0.1/test", "mysql://root@127.0.0.1/test"),
            ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
            ("http://localhost:3000", "http://localhost:3000"),
            (
                "https://ghp1234567890abcdefXYZ@api.example/v1",
                "https://***@api.example/v1",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn password_like_query_parameters_are_hidden() {
        assert_eq!(
            redact_url("postgres://db/tasks?user=app&password=s3cr3t&sslmode=require"),
            "postgres://db/tasks?user=app&password=***&sslmode=require"
        );
        for key in [
            "pass",
            "pwd",
            "secret",
            "token",
            "key",
            "sig",
            "access_token",
            "X-Amz-Signature",
        ] {
            let shown = redact_url(&format!("https://h/p?{key}=topsecret1&a=b"));
            assert!(!shown.contains("topsecret1"), "{key}: {shown}");
            assert!(shown.contains("a=b"), "{shown}");
        }
        assert_eq!(
            redact_url("redis://h:6379/0?prefix=tp"),
            "redis://h:6379/0?prefix=tp"
        );
    }

    #[test]
    fn webhook_path_secrets_are_hidden() {
        assert_eq!(
            redact_url(
                "https://hooks.slack.com/services/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"
            ),
            "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/***"
        );
        assert_eq!(
            redact_url("https://hooks.example/token/abc123/notify"),
            "https://hooks.example/token/***/notify"
        );
        assert_eq!(
            redact_url("https://api.openai.com/v1"),
            "https://api.openai.com/v1"
        );
    }

    #[test]
    fn urls_inside_text_and_known_secrets_are_scrubbed() {
        let url = "https://u:pa%2Fss@h/services/T1/B2/aB3dE5fG7hJ9kL1mN3pQ5rS7";
        let text =
            format!("error sending request for url ({url}): pa/ss and aB3dE5fG7hJ9kL1mN3pQ5rS7");
        let shown = scrub(&text, url);
        assert!(
            !shown.contains("pa/ss") && !shown.contains("pa%2Fss"),
            "{shown}"
        );
        assert!(!shown.contains("aB3dE5fG7hJ9kL1mN3pQ5rS7"), "{shown}");
        assert!(
            shown.contains("https://u:***@h/services/T1/B2/***"),
            "{shown}"
        );
        assert_eq!(
            strip_urls("store postgres://a:b@h/x: 3 tasks"),
            "store [url]: 3 tasks"
        );
        assert_eq!(strip_urls("no url here: a://"), "no url here: a://");
    }

    #[test]
    fn a_database_or_bucket_name_is_never_hidden() {
        let url = "postgres://app:pw@db:5432/does_not_exist_1234567";
        assert_eq!(
            redact_url(url),
            "postgres://app:***@db:5432/does_not_exist_1234567"
        );
        assert_eq!(
            scrub("database does_not_exist_1234567 is missing at pw", url),
            "database does_not_exist_1234567 is missing at ***"
        );
        assert_eq!(
            redact_url("s3://bucket/a1b2c3d4e5f6a7b8c9d0e1f2"),
            "s3://bucket/a1b2c3d4e5f6a7b8c9d0e1f2"
        );
    }
}
