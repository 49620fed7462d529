//! `NO_COLOR`, `COLUMNS`, `RUST_LOG` and `USER` read from the real process environment. One
//! test in its own binary, so changing variables races with no other thread.

use taskpilot_config::console;

/// Sets `name` to `value`, or removes it for `None`.
fn set(name: &str, value: Option<&str>) {
    // SAFETY: this binary runs this one test on one thread; nothing else reads the environment
    // while it changes.
    unsafe {
        match value {
            Some(v) => std::env::set_var(name, v),
            None => std::env::remove_var(name),
        }
    }
}

#[test]
fn the_console_conventions_come_from_the_process_environment() {
    struct Case {
        set: Option<&'static str>,
        no_color: bool,
        columns: Option<u16>,
        log_filter: Option<&'static str>,
        user: Option<&'static str>,
    }
    let cases = [
        Case {
            set: None,
            no_color: false,
            columns: None,
            log_filter: None,
            user: None,
        },
        Case {
            set: Some(""),
            no_color: false,
            columns: None,
            log_filter: Some(""),
            user: None,
        },
        Case {
            set: Some("  "),
            no_color: true,
            columns: None,
            log_filter: Some("  "),
            user: None,
        },
        Case {
            set: Some(" 132 "),
            no_color: true,
            columns: Some(132),
            log_filter: Some(" 132 "),
            user: Some(" 132 "),
        },
        Case {
            set: Some("alice"),
            no_color: true,
            columns: None,
            log_filter: Some("alice"),
            user: Some("alice"),
        },
    ];
    for case in cases {
        for name in ["NO_COLOR", "COLUMNS", "RUST_LOG", "USER"] {
            set(name, case.set);
        }
        let what = format!("each variable set to {:?}", case.set);
        assert_eq!(console::no_color(), case.no_color, "NO_COLOR, {what}");
        assert_eq!(console::columns(), case.columns, "COLUMNS, {what}");
        assert_eq!(
            console::log_filter().as_deref(),
            case.log_filter,
            "RUST_LOG, {what}"
        );
        assert_eq!(console::user().as_deref(), case.user, "USER, {what}");
    }
}
