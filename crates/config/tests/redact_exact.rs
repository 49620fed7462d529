//! Exact outputs of the one redaction (`taskpilot_config::redact`) at the edges its code
//! decides on: where a URL in text starts and ends, which user names and query parameters are
//! secrets, what `url_secrets` returns and in which order, and `scrub_values`. Written to kill
//! the mutants `scripts/mutants config` found surviving in `redact.rs`.

use taskpilot_config::redact::{
    is_secret_param, looks_like_secret, redact_url, redact_urls_in, scrub, scrub_values,
    strip_urls, url_secrets,
};

/// A 24-character key (letters and digits): a secret by shape.
const KEY: &str = "aB3dE5fG7hJ9kL1mN3pQ5rS7";

#[test]
fn a_scheme_must_be_a_scheme_for_the_text_to_be_a_url() {
    // An empty scheme and a scheme with a character no scheme has are not URLs.
    assert_eq!(redact_url("://u:pw@h/x"), "://u:pw@h/x");
    assert_eq!(redact_url("ht tp://u:pw@h/x"), "ht tp://u:pw@h/x");
    assert_eq!(redact_url("ht/tp://u:pw@h/x"), "ht/tp://u:pw@h/x");
    assert_eq!(redact_url("svn+ssh://u:pw@h/x"), "svn+ssh://u:***@h/x");
}

#[test]
fn a_url_the_parser_refuses_loses_its_password_and_its_whole_query() {
    // Port 99999 is out of range: the query is hidden whole, the user info as always.
    assert_eq!(
        redact_url("http://u:pw@h:99999/x?token=abc&page=2"),
        "http://u:***@h:99999/x?***"
    );
}

#[test]
fn a_user_name_that_looks_like_a_key_is_hidden_with_or_without_a_password() {
    assert_eq!(
        redact_url(&format!("https://{KEY}@hooks.example.com/x")),
        "https://***@hooks.example.com/x"
    );
    assert_eq!(
        redact_url(&format!("https://{KEY}:pw@hooks.example.com/x")),
        "https://***:***@hooks.example.com/x"
    );
    assert_eq!(
        redact_url("https://alice@example.com/x"),
        "https://alice@example.com/x"
    );
}

#[test]
fn url_secrets_lists_each_secret_raw_and_decoded_longest_first() {
    assert_eq!(
        url_secrets("postgres://app:p%40ss@db:5432/tasks"),
        ["p%40ss", "p@ss"]
    );
    // A user name alone is a secret only when it looks like one.
    assert_eq!(url_secrets(&format!("https://{KEY}@h/x")), [KEY.to_owned()]);
    assert!(url_secrets("https://alice@h/x").is_empty());
    // Secret query values; other parameters stay out.
    assert_eq!(
        url_secrets("https://h/x?token=abc&page=2&api_key=zz"),
        ["abc", "zz"]
    );
    // A path segment after a credential-named one, but not in a URL whose path names data.
    assert_eq!(url_secrets("https://h/token/t0ps3cr3t"), ["t0ps3cr3t"]);
    assert!(url_secrets("postgres://h/token/t0ps3cr3t").is_empty());
    assert!(url_secrets("not a url").is_empty());
    // An empty password, or one already hidden, is nothing to scrub.
    assert!(url_secrets("redis://u:@h:6379/0").is_empty());
    assert!(url_secrets("https://u:***@h/x").is_empty());
}

#[test]
fn scrub_values_hides_every_listed_value_longest_first_and_skips_empty_ones() {
    let secrets = vec![String::new(), "abc".to_owned(), "abcdef".to_owned()];
    assert_eq!(
        scrub_values("x abcdef y abc z", &secrets),
        "x *** y *** z",
        "the longer value first, so no `***def` is left"
    );
    assert_eq!(scrub_values("nothing here", &secrets), "nothing here");
    assert_eq!(scrub_values("abc", &[]), "abc");
}

#[test]
fn scrub_hides_the_secrets_of_the_url_where_a_message_quotes_them() {
    let url = "postgres://app:s3cr3t@db:5432/tasks";
    assert_eq!(
        scrub(
            "password authentication failed (s3cr3t) for postgres://app:s3cr3t@db:5432/tasks",
            url
        ),
        "password authentication failed (***) for postgres://app:***@db:5432/tasks"
    );
}

#[test]
fn secret_parameter_names_by_word_and_by_suffix() {
    for name in [
        "password",
        "db_password",
        "PASSWD",
        "client_secret",
        "x-token",
        "signature",
        "api_key",
        "api-key",
        "aws_key",
        "aws-key",
        "gcpcredential",
        "pwd",
        "SIG",
    ] {
        assert!(is_secret_param(name), "{name}");
    }
    for name in [
        "page", "keys", "keyboard", "monkey", "user", "sort", "limit",
    ] {
        assert!(!is_secret_param(name), "{name}");
    }
}

#[test]
fn a_secret_by_shape_needs_the_key_alphabet_and_length() {
    assert!(
        looks_like_secret("abcdefgh12345678"),
        "16, letters and digits"
    );
    assert!(!looks_like_secret("abcdefgh1234567"), "15");
    assert!(
        !looks_like_secret("abcdefghijklmnop"),
        "16 letters, no digit"
    );
    assert!(looks_like_secret("abcdefghijklmnopqrstuvwx"), "24 letters");
    assert!(!looks_like_secret("abcdefghijklmnopqrstuvw"), "23 letters");
    assert!(
        !looks_like_secret("abcdefgh 12345678"),
        "a space is not key alphabet"
    );
}

#[test]
fn urls_in_text_end_before_punctuation_and_quotes() {
    assert_eq!(
        redact_urls_in("see https://h/x?token=abc. Then"),
        "see https://h/x?token=***. Then"
    );
    assert_eq!(
        redact_urls_in("(https://h/x?token=abc), 'redis://:pw@h:6379/0'"),
        "(https://h/x?token=***), 'redis://:***@h:6379/0'"
    );
    assert_eq!(
        redact_urls_in("a https://h/x?token=abc?! b"),
        "a https://h/x?token=***?! b"
    );
    // Two URLs and the text between them, exactly.
    assert_eq!(
        strip_urls("from http://a/x to https://b/y."),
        "from [url] to [url]."
    );
    // A `://` with nothing after it, or nothing before it, is not a URL.
    assert_eq!(strip_urls("x:// y"), "x:// y");
    assert_eq!(strip_urls(" ://h/x"), " ://h/x");
    assert_eq!(strip_urls("é https://h/ü ok"), "é [url] ok");
}
