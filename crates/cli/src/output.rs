//! Printing for people (tables) and for scripts (JSON on stdout).

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use taskpilot_core::Task;

/// Pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A table with a header row.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(header.iter().copied());
    table
}

pub use taskpilot_plumbing::text::clip;

/// One task, field by field, for `tasks show` and `tasks add`.
pub fn print_task(task: &Task) {
    let none = || "-".to_owned();
    let rows = [
        ("id", task.id.to_string()),
        ("title", task.title.clone()),
        ("priority", task.priority.to_string()),
        ("status", task.status.to_string()),
        (
            "description",
            if task.description.is_empty() {
                none()
            } else {
                task.description.clone()
            },
        ),
        ("created_at", task.created_at.to_string()),
        (
            "reviewed_at",
            task.reviewed_at.map_or_else(none, |t| t.to_string()),
        ),
        (
            "executed_at",
            task.executed_at.map_or_else(none, |t| t.to_string()),
        ),
        (
            "reviewer_response",
            task.reviewer_response.clone().unwrap_or_else(none),
        ),
        ("error", task.error.clone().unwrap_or_else(none)),
    ];
    for (name, value) in rows {
        println!("{name:>17}  {value}");
    }
}

/// Tasks as a table, newest first as given.
pub fn print_task_table(tasks: &[Task]) {
    let mut t = table(&["id", "status", "priority", "created", "title"]);
    for task in tasks {
        t.add_row(vec![
            task.id.to_string(),
            task.status.to_string(),
            task.priority.to_string(),
            task.created_at
                .naive_local()
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            clip(&task.title, 60),
        ]);
    }
    println!("{t}");
}
