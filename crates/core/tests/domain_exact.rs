//! The domain rules pinned to exact values through the public API, written so that each small
//! change cargo-mutants makes to crates/core (a comparison flipped, a body replaced by a
//! default, a `!` deleted) fails one of them: ids and their arithmetic, timestamps and their
//! formats, validation limits at and beyond the edge, every transition's side effects, and the
//! exact error messages people read.
//!
//! Not here: the id generator's process-wide state (`tests/id_generator.rs` runs alone).

use chrono::{NaiveDateTime, Utc};
use serde_json::{Value, json};
use taskpilot_core::{
    CoreError, DESCRIPTION_MAX_CHARS, NewTask, Priority, Status, TITLE_MAX_CHARS, Task, TaskId,
    Timestamp, Transition, TransitionOutcome,
};

fn id(s: &str) -> TaskId {
    TaskId::parse(s).expect("a valid id")
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("a valid timestamp")
}

/// A local date and time, `2025-12-20T10:04:04.305998`.
fn naive(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").expect("a local date and time")
}

fn pending() -> Task {
    NewTask::new("Prepare the deck", "low")
        .into_task(
            id("task_20251220_100404_305973"),
            ts("2025-12-20T10:04:04.305998"),
        )
        .expect("a valid task")
}

/// [`pending`] with `edit` applied to it.
fn edited(edit: impl FnOnce(&mut Task)) -> Task {
    let mut task = pending();
    edit(&mut task);
    task
}

/// `description` validated on a good task.
fn with_description(
    description: impl Into<String>,
) -> Result<(String, Priority, String), CoreError> {
    NewTask::new("t", "low")
        .with_description(description)
        .validate()
}

fn field_of(err: CoreError) -> &'static str {
    match err {
        CoreError::InvalidField { field, .. } => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Ids

#[test]
fn an_id_encodes_its_creation_time_in_microseconds() {
    let t = naive("2025-12-20T10:04:04").and_utc();
    let expected = t.timestamp_micros() + 305_973;
    assert_eq!(id("task_20251220_100404_305973").micros(), Some(expected));
    assert_eq!(id("task_19700101_000000_000001").micros(), Some(1));
}

#[test]
fn successor_and_predecessor_are_one_microsecond_apart() {
    let a = id("task_20251220_235959_999999");
    let b = id("task_20251221_000000_000000");
    assert_eq!(a.successor(), b);
    assert_eq!(b.predecessor(), a);
    assert_eq!(
        id("task_20251220_100404_305973").predecessor().as_str(),
        "task_20251220_100404_305972"
    );
    assert_eq!(
        id("task_20251220_100404_305973").successor().as_str(),
        "task_20251220_100404_305974"
    );
}

#[test]
fn ids_parse_only_in_the_seed_form() {
    let good = "task_20251220_100404_305973";
    assert_eq!(id(good).as_str(), good);
    assert_eq!(id(good).to_string(), good);
    assert_eq!(good.parse::<TaskId>(), Ok(id(good)));
    for bad in [
        "",
        "task_",
        "task_20251220_100404_30597",
        "task_20251220_100404_3059730",
        "tusk_20251220_100404_305973",
        "task-20251220_100404_305973",
        " task_20251220_100404_305973",
        "task_20251220_250404_305973",
        "task_20251232_100404_305973",
    ] {
        let err = TaskId::parse(bad).expect_err(bad);
        assert_eq!(
            err,
            CoreError::InvalidField {
                field: "id",
                reason: format!(
                    "'{}' is not a task id (expected the form task_20251220_100404_305973)",
                    bad.escape_debug()
                ),
            },
            "{bad}"
        );
    }
}

#[test]
fn ids_serialize_as_strings_and_refuse_bad_ones() {
    let good = id("task_20251220_100404_305973");
    assert_eq!(
        serde_json::to_value(&good).expect("json"),
        json!("task_20251220_100404_305973")
    );
    let back: TaskId = serde_json::from_value(json!("task_20251220_100404_305973")).expect("id");
    assert_eq!(back, good);
    let err = serde_json::from_value::<TaskId>(json!("task_1"))
        .expect_err("not an id")
        .to_string();
    assert_eq!(
        err,
        "invalid id: 'task_1' is not a task id (expected the form task_20251220_100404_305973)"
    );
}

#[test]
fn ids_order_by_creation_time() {
    let mut ids = [
        id("task_20251221_000000_000000"),
        id("task_20251220_100404_305973"),
        id("task_20251220_235959_999999"),
    ];
    ids.sort();
    assert_eq!(
        ids.iter().map(TaskId::as_str).collect::<Vec<_>>(),
        [
            "task_20251220_100404_305973",
            "task_20251220_235959_999999",
            "task_20251221_000000_000000"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Timestamps

#[test]
fn utc_instants_are_truncated_to_microseconds() {
    let stamp = Timestamp::from_utc(naive("2026-01-02T03:04:05.123456789").and_utc());
    assert_eq!(stamp.to_string(), "2026-01-02T03:04:05.123456Z");
    assert_eq!(stamp.naive_local(), naive("2026-01-02T03:04:05.123456"));
    let whole = naive("2026-01-02T03:04:05").and_utc();
    assert_eq!(
        Timestamp::from_utc(whole).to_string(),
        "2026-01-02T03:04:05Z"
    );
}

#[test]
fn now_is_utc_with_microseconds_at_most() {
    let before = Utc::now().naive_utc();
    let now = Timestamp::now();
    let after = Utc::now().naive_utc();
    assert!(matches!(now, Timestamp::Aware(_)));
    let local = now.naive_local();
    assert!(before - chrono::Duration::microseconds(1) <= local && local <= after);
    assert_eq!(local.and_utc().timestamp_subsec_nanos() % 1_000, 0);
    assert!(now.to_string().ends_with('Z'), "{now}");
}

#[test]
fn naive_local_is_the_time_in_its_own_zone() {
    for (stamp, local) in [
        (
            "2026-01-02T03:04:05.000007+02:00",
            "2026-01-02T03:04:05.000007",
        ),
        ("2025-12-20T10:04:04.305998", "2025-12-20T10:04:04.305998"),
    ] {
        assert_eq!(ts(stamp).naive_local(), naive(local), "{stamp}");
    }
}

#[test]
fn python_timestamps_print_micros_only_when_not_zero() {
    for (stamp, shown) in [
        ("2025-12-20T10:04:04.000001", "2025-12-20T10:04:04.000001"),
        ("2025-12-20T10:04:04.000000", "2025-12-20T10:04:04"),
        ("2025-12-20 10:04:04.5", "2025-12-20T10:04:04.500000"),
    ] {
        assert_eq!(ts(stamp).to_string(), shown, "{stamp}");
    }
    assert!(matches!(ts("2025-12-20 10:04:04.5"), Timestamp::Naive(_)));
}

#[test]
fn timestamps_serialize_as_they_print_and_refuse_garbage() {
    let t = ts("2026-01-02T03:04:05.123456Z");
    assert_eq!(
        serde_json::to_value(t).expect("json"),
        json!("2026-01-02T03:04:05.123456Z")
    );
    let back: Timestamp = serde_json::from_value(json!("2025-12-20T10:04:04")).expect("ts");
    assert_eq!(back, ts("2025-12-20T10:04:04"));
    let err = Timestamp::parse("yesterday").expect_err("garbage");
    assert_eq!(
        err,
        CoreError::InvalidField {
            field: "timestamp",
            reason: "'yesterday' is neither RFC 3339 nor YYYY-MM-DDTHH:MM:SS[.ffffff]".into(),
        }
    );
    assert!(serde_json::from_value::<Timestamp>(json!("2025-13-01T00:00:00")).is_err());
}

// ---------------------------------------------------------------------------------------------
// Priorities and statuses

#[test]
fn priorities_print_parse_and_serialize_lower_case() {
    assert_eq!(
        Priority::ALL,
        [Priority::High, Priority::Medium, Priority::Low]
    );
    for (p, s) in [
        (Priority::High, "high"),
        (Priority::Medium, "medium"),
        (Priority::Low, "low"),
    ] {
        assert_eq!(p.as_str(), s);
        assert_eq!(p.to_string(), s);
        assert_eq!(s.to_uppercase().parse::<Priority>(), Ok(p));
        assert_eq!(serde_json::to_value(p).expect("json"), json!(s));
        assert_eq!(
            serde_json::from_value::<Priority>(json!(format!(" {s} "))).expect("priority"),
            p
        );
    }
    assert_eq!(
        "urgent".parse::<Priority>(),
        Err(CoreError::InvalidField {
            field: "priority",
            reason: "'urgent' is not one of high, medium, low".into(),
        })
    );
    assert!(serde_json::from_value::<Priority>(json!("")).is_err());
}

#[test]
fn statuses_print_parse_and_serialize_lower_case() {
    assert_eq!(
        Status::ALL,
        [
            Status::Pending,
            Status::Review,
            Status::Approved,
            Status::Executed,
            Status::Failed,
            Status::Rejected
        ]
    );
    let names = [
        (Status::Pending, "pending"),
        (Status::Approved, "approved"),
        (Status::Rejected, "rejected"),
        (Status::Review, "review"),
        (Status::Executed, "executed"),
        (Status::Failed, "failed"),
    ];
    for (status, s) in names {
        assert_eq!(status.as_str(), s);
        assert_eq!(status.to_string(), s);
        assert_eq!(
            format!(" {} ", s.to_uppercase()).parse::<Status>(),
            Ok(status)
        );
        assert_eq!(serde_json::to_value(status).expect("json"), json!(s));
        assert_eq!(
            serde_json::from_value::<Status>(json!(s)).expect("status"),
            status
        );
    }
    assert_eq!(
        "done".parse::<Status>(),
        Err(CoreError::InvalidField {
            field: "status",
            reason: "'done' is not one of pending, review, approved, executed, failed, rejected"
                .into(),
        })
    );
    assert!(serde_json::from_value::<Status>(json!("done")).is_err());
}

#[test]
fn the_transition_table_and_final_statuses() {
    use Status::*;
    let table = [
        (Pending, vec![Approved, Rejected, Review]),
        (Approved, vec![Executed, Failed]),
        (Review, vec![Approved, Rejected]),
        (Failed, vec![Approved]),
        (Rejected, vec![]),
        (Executed, vec![]),
    ];
    for (from, next) in table {
        assert_eq!(from.allowed_next(), next.as_slice(), "{from}");
        assert_eq!(from.is_final(), next.is_empty(), "{from}");
        for to in Status::ALL {
            assert_eq!(from.can_move_to(to), next.contains(&to), "{from} -> {to}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

#[test]
fn new_tasks_are_built_pending_with_the_given_id_and_time() {
    let now = ts("2026-01-02T03:04:05.123456Z");
    let task = NewTask::new("  Book the venue ", "Medium")
        .with_description("for the offsite\n\twith tabs")
        .into_task(id("task_20260102_030405_123456"), now)
        .expect("valid");
    let expected = json!({
        "id": "task_20260102_030405_123456",
        "title": "Book the venue",
        "priority": "medium",
        "description": "for the offsite\n\twith tabs",
        "status": "pending",
        "created_at": "2026-01-02T03:04:05.123456Z",
        "reviewed_at": null,
        "executed_at": null,
        "reviewer_response": null,
        "error": null,
    });
    assert_eq!(serde_json::to_value(&task).expect("json"), expected);
    assert_eq!(
        NewTask::new("x", "low").validate(),
        Ok(("x".to_owned(), Priority::Low, String::new()))
    );
}

#[test]
fn titles_are_checked_at_and_beyond_their_limits() {
    let at_limit = "é".repeat(TITLE_MAX_CHARS);
    assert_eq!(
        NewTask::new(format!(" {at_limit} "), "low")
            .validate()
            .expect("at the limit")
            .0,
        at_limit
    );
    let too_long = "é".repeat(TITLE_MAX_CHARS + 1);
    let cases = [
        ("", "must not be empty".to_owned()),
        (" \t ", "must not be empty".to_owned()),
        (
            too_long.as_str(),
            format!(
                "is {} characters long; the limit is {TITLE_MAX_CHARS}",
                TITLE_MAX_CHARS + 1
            ),
        ),
        (
            "bell\u{7}",
            "contains the control character '\\u{7}'; use plain text on one line".to_owned(),
        ),
        (
            "two\nlines",
            "contains the control character '\\n'; use plain text on one line".to_owned(),
        ),
    ];
    for (title, reason) in cases {
        assert_eq!(
            NewTask::new(title, "low").validate(),
            Err(CoreError::InvalidField {
                field: "title",
                reason
            }),
            "{title:?}"
        );
    }
}

#[test]
fn descriptions_allow_line_breaks_and_tabs_but_no_other_control_characters() {
    let at_limit = "ü".repeat(DESCRIPTION_MAX_CHARS);
    assert!(
        with_description(at_limit)
            .is_ok_and(|(_, _, d)| d.chars().count() == DESCRIPTION_MAX_CHARS)
    );
    assert_eq!(
        with_description("a\nb\r\nc\td").map(|(_, _, d)| d),
        Ok("a\nb\r\nc\td".to_owned())
    );
    assert_eq!(
        with_description("x".repeat(DESCRIPTION_MAX_CHARS + 1)),
        Err(CoreError::InvalidField {
            field: "description",
            reason: format!(
                "is {} characters long; the limit is {DESCRIPTION_MAX_CHARS}",
                DESCRIPTION_MAX_CHARS + 1
            ),
        })
    );
    assert_eq!(
        with_description("esc \u{1b}[31m"),
        Err(CoreError::InvalidField {
            field: "description",
            reason: "contains the control character '\\u{1b}'".into(),
        })
    );
}

#[test]
fn stored_records_are_validated_with_the_same_rules() {
    let good = pending();
    assert_eq!(good.validate(), Ok(()));
    let untrimmed = edited(|t| t.title = " padded ".into());
    assert_eq!(
        untrimmed.validate(),
        Ok(()),
        "a stored title is not re-trimmed"
    );
    let cases = [
        (edited(|t| t.title = "   ".into()), "title"),
        (
            edited(|t| t.title = "x".repeat(TITLE_MAX_CHARS + 1)),
            "title",
        ),
        (
            edited(|t| t.description = "x".repeat(DESCRIPTION_MAX_CHARS + 1)),
            "description",
        ),
        (edited(|t| t.description = "nul\u{0}".into()), "description"),
    ];
    for (task, field) in cases {
        assert_eq!(field_of(task.validate().expect_err(field)), field);
    }
}

#[test]
fn a_priority_error_comes_after_a_good_title_and_before_the_description() {
    let both = NewTask::new("ok", "urgent").with_description("\u{7}");
    assert_eq!(field_of(both.validate().expect_err("bad")), "priority");
    let desc = NewTask::new("ok", "high").with_description("\u{7}");
    assert_eq!(field_of(desc.validate().expect_err("bad")), "description");
}

#[test]
fn seed_records_keep_null_descriptions_empty_and_unknown_fields() {
    let raw = json!({
        "id": "task_20251220_100404_305973",
        "title": "T",
        "priority": "high",
        "description": null,
        "status": "review",
        "created_at": "2025-12-20T10:04:04.305998",
        "reviewer_response": "looks risky",
        "version": 3
    });
    let task: Task = serde_json::from_value(raw).expect("task");
    assert_eq!(task.description, "");
    assert_eq!(task.reviewed_at, None);
    assert_eq!(task.executed_at, None);
    assert_eq!(task.error, None);
    assert_eq!(task.reviewer_response.as_deref(), Some("looks risky"));
    assert_eq!(task.extra.len(), 1);
    assert_eq!(task.extra.get("version"), Some(&Value::from(3)));
    let back = serde_json::to_value(&task).expect("json");
    assert_eq!(back["description"], "");
    assert_eq!(back["version"], 3);
}

// ---------------------------------------------------------------------------------------------
// Transitions

#[test]
fn each_transition_sets_exactly_its_fields() {
    let now = ts("2026-01-02T03:04:05.000001Z");
    for (path, reviewed, executed) in [
        (vec![Status::Review], true, false),
        (vec![Status::Approved], true, false),
        (vec![Status::Rejected], true, false),
    ] {
        let mut t = pending();
        for to in &path {
            assert_eq!(
                t.apply(&Transition::to(*to), now),
                Ok(TransitionOutcome::Changed)
            );
        }
        assert_eq!(t.status, *path.last().expect("a step"));
        assert_eq!(t.reviewed_at.is_some(), reviewed, "{path:?}");
        assert_eq!(t.executed_at.is_some(), executed, "{path:?}");
        assert_eq!(t.reviewed_at, Some(now));
    }
    // approved -> failed touches no timestamp; failed -> approved sets reviewed_at again.
    let mut t = pending();
    let first = ts("2026-01-01T00:00:00Z");
    let later = ts("2026-01-03T00:00:00Z");
    t.apply(&Transition::to(Status::Approved), first)
        .expect("approve");
    t.apply(&Transition::to(Status::Failed).with_error("timeout"), later)
        .expect("fail");
    assert_eq!(t.reviewed_at, Some(first));
    assert_eq!(t.executed_at, None);
    assert_eq!(t.error.as_deref(), Some("timeout"));
    t.apply(&Transition::to(Status::Approved), later)
        .expect("approve again");
    assert_eq!(t.reviewed_at, Some(later));
    t.apply(&Transition::to(Status::Executed), later)
        .expect("execute");
    assert_eq!(t.executed_at, Some(later));
    assert_eq!(t.reviewed_at, Some(later));
    assert_eq!(t.error.as_deref(), Some("timeout"), "an old error stays");
    assert_eq!(t.reviewer_response, None);
}

#[test]
fn responses_and_errors_are_stored_only_when_given() {
    let now = ts("2026-01-02T03:04:05Z");
    let mut t = pending();
    t.reviewer_response = Some("earlier".into());
    t.apply(&Transition::to(Status::Review), now)
        .expect("review");
    assert_eq!(t.reviewer_response.as_deref(), Some("earlier"));
    t.apply(
        &Transition::to(Status::Approved).with_response("Human approved: fine"),
        now,
    )
    .expect("approve");
    assert_eq!(t.reviewer_response.as_deref(), Some("Human approved: fine"));
    assert_eq!(t.error, None);
}

#[test]
fn the_same_status_changes_nothing_even_with_a_response() {
    let mut t = pending();
    t.apply(&Transition::to(Status::Review), ts("2026-01-01T00:00:00Z"))
        .expect("review");
    let before = t.clone();
    assert_eq!(
        t.apply(
            &Transition::to(Status::Review)
                .with_response("again")
                .with_error("e"),
            ts("2026-01-05T00:00:00Z")
        ),
        Ok(TransitionOutcome::Unchanged)
    );
    assert_eq!(t, before);
}

#[test]
fn forbidden_moves_and_unexpected_statuses_have_exact_messages() {
    let mut t = pending();
    let now = ts("2026-01-02T03:04:05Z");
    let refusal = |t: &mut Task, to| t.apply(&Transition::to(to), now).expect_err("refused");
    assert_eq!(
        refusal(&mut t, Status::Executed).to_string(),
        "task task_20251220_100404_305973 cannot go from 'pending' to 'executed'; allowed from 'pending': 'approved', 'rejected', 'review'"
    );
    assert_eq!(t, pending(), "a refused move changes nothing");
    t.apply(&Transition::to(Status::Rejected), now)
        .expect("reject");
    assert_eq!(
        refusal(&mut t, Status::Approved).to_string(),
        "task task_20251220_100404_305973 cannot go from 'rejected' to 'approved'; allowed from 'rejected': none ('rejected' is final)"
    );
    let err = t
        .apply(
            &Transition::to(Status::Approved).expecting(&[Status::Pending, Status::Review]),
            now,
        )
        .expect_err("decided");
    assert_eq!(
        err.to_string(),
        "task task_20251220_100404_305973 is 'rejected', expected 'pending' or 'review'"
    );
    assert_eq!(
        err,
        CoreError::UnexpectedStatus {
            id: id("task_20251220_100404_305973"),
            found: Status::Rejected,
            expected: vec![Status::Pending, Status::Review],
        }
    );
    assert_eq!(
        CoreError::InvalidField {
            field: "title",
            reason: "must not be empty".into()
        }
        .to_string(),
        "invalid title: must not be empty"
    );
}

#[test]
fn an_expected_status_that_matches_lets_the_move_happen() {
    let mut t = pending();
    let approve = Transition::to(Status::Approved).expecting(&[Status::Review, Status::Pending]);
    assert_eq!(
        approve.expected_from,
        Some(vec![Status::Review, Status::Pending])
    );
    assert_eq!(
        t.apply(&approve, ts("2026-01-02T03:04:05Z")),
        Ok(TransitionOutcome::Changed)
    );
    assert_eq!(t.status, Status::Approved);
    // Expecting the status the task is already in, and asking for that same status, is a no-op.
    let again = Transition::to(Status::Approved).expecting(&[Status::Approved]);
    assert_eq!(
        t.apply(&again, ts("2026-01-03T00:00:00Z")),
        Ok(TransitionOutcome::Unchanged)
    );
}

#[test]
fn transition_builders_fill_their_fields() {
    let t = Transition::to(Status::Failed)
        .with_error("boom")
        .with_response("r")
        .expecting(&[Status::Approved]);
    assert_eq!(t.to, Status::Failed);
    assert_eq!(t.expected_from, Some(vec![Status::Approved]));
    assert_eq!(t.reviewer_response.as_deref(), Some("r"));
    assert_eq!(t.error.as_deref(), Some("boom"));
    let plain = Transition::to(Status::Review);
    assert_eq!(plain.to, Status::Review);
    assert_eq!(plain.expected_from, None);
    assert_eq!(plain.reviewer_response, None);
    assert_eq!(plain.error, None);
}
