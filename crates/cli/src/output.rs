//! Printing for people (tables and key/value blocks sized to the terminal, statuses in colour
//! on a terminal) and for scripts (JSON on stdout).
//!
//! Everything a person sees goes through [`safe`]: text from tasks, requests and the decision
//! log may hold terminal escapes, control characters or bidi overrides, and those are shown
//! as harmless `\u{…}` escapes instead of acting on the terminal.
//!
//! Width: `COLUMNS` when set, else the terminal's width when stdout is a terminal, else none
//! (a file or a pipe gets full rows). Colour: only when stdout is a terminal and `NO_COLOR` is
//! unset or empty; never in files.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::presets::{NOTHING, UTF8_FULL_CONDENSED};
use comfy_table::{Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Row, Table};
use serde::Serialize;
use taskpilot_core::{Status, Task};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Remembers `--verbose` for the notes only shown with it.
pub(crate) fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
}

pub(crate) fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Pretty JSON on stdout. JSON escapes control characters itself, so it is safe as it is.
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `text` safe to print on a terminal: ESC, NUL and every other control character (C0, DEL,
/// C1), bidi overrides and isolates, and invisible format characters become `\u{…}`; tabs
/// become a space. New lines are kept.
pub(crate) fn safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if is_dangerous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// [`safe`], on one line: new lines are shown as `⏎`.
pub(crate) fn safe_line(text: &str) -> String {
    safe(&text.replace("\r\n", "\n")).replace('\n', " ⏎ ")
}

/// Warns on stderr of each line of the JSON-lines file `path` that was skipped as unreadable.
pub(crate) fn warn_unreadable_lines(path: &std::path::Path, bad: &[taskpilot_observe::BadLine]) {
    for b in bad {
        eprintln!(
            "{}:{}: skipped an unreadable line: {}",
            path.display(),
            b.line,
            safe_line(&b.error)
        );
    }
}

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}'                      // Arabic letter mark
            | '\u{200b}'..='\u{200f}'       // zero-width space/joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}'       // line and paragraph separators
            | '\u{202a}'..='\u{202e}'       // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}'       // bidi isolates
            | '\u{feff}'                    // zero-width no-break space
            | '\u{fff9}'..='\u{fffb}')
}

/// The width tables are fitted to: `COLUMNS`, else the terminal's, else none.
pub(crate) fn width() -> Option<u16> {
    if let Some(n) = taskpilot_config::console::columns().filter(|n| *n >= 20) {
        return Some(n);
    }
    if std::io::stdout().is_terminal() {
        return terminal_size::terminal_size().map(|(w, _)| w.0);
    }
    None
}

/// Whether to colour stdout: a terminal, and `NO_COLOR` unset or empty.
pub(crate) fn colour() -> bool {
    std::io::stdout().is_terminal() && !taskpilot_config::console::no_color()
}

fn sized(mut table: Table) -> Table {
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_truncation_indicator("…");
    if colour() {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    if let Some(w) = width() {
        table.set_width(w);
    }
    table
}

/// A table with a header row, fitted to the width (cells wrap).
pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(header.iter().copied());
    sized(table)
}

/// A row of cells that is cut to one line (with `…`) when the width is short.
pub(crate) fn one_line_row(cells: Vec<Cell>) -> Row {
    let mut row = Row::from(cells);
    row.max_height(1);
    row
}

/// A cell of safe text.
pub(crate) fn cell(text: &str) -> Cell {
    Cell::new(safe(text))
}

/// A status in its colour (on a terminal).
pub(crate) fn status_cell(status: &str) -> Cell {
    let cell = Cell::new(safe(status));
    match status_colour(status) {
        Some(c) => cell.fg(c),
        None => cell,
    }
}

fn status_colour(status: &str) -> Option<Color> {
    match status {
        "executed" | "approved" | "allow" | "healthy" | "ok" | "succeeded" => Some(Color::Green),
        "review" | "pending" | "require_approval" | "degraded" | "warning" => Some(Color::Yellow),
        "failed" | "rejected" | "denied" | "blocked" | "deny" | "unhealthy" | "critical"
        | "error" => Some(Color::Red),
        _ => None,
    }
}

/// A block of `key  value` lines (no borders, no header): for things with one row.
pub(crate) struct KeyValues {
    table: Table,
}

impl KeyValues {
    pub(crate) fn new() -> KeyValues {
        let mut table = Table::new();
        table.load_preset(NOTHING);
        let mut table = sized(table);
        if let Some(column) = table.column_mut(0) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        KeyValues { table }
    }

    /// A plain value (made safe).
    pub(crate) fn add(&mut self, key: &str, value: &str) -> &mut Self {
        self.add_cell(key, cell(value))
    }

    /// A status, coloured on a terminal.
    pub(crate) fn add_status(&mut self, key: &str, status: &str) -> &mut Self {
        self.add_cell(key, status_cell(status))
    }

    pub(crate) fn add_cell(&mut self, key: &str, value: Cell) -> &mut Self {
        let key = Cell::new(key);
        let key = if colour() {
            key.fg(Color::DarkGrey)
        } else {
            key
        };
        self.table.add_row(vec![key, value]);
        if let Some(column) = self.table.column_mut(0) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        self
    }

    pub(crate) fn print(&self) {
        for line in self.table.lines() {
            println!("{}", line.trim_end());
        }
    }
}

/// Prints a table line by line without trailing spaces.
pub(crate) fn print_table(table: &Table) {
    for line in table.lines() {
        println!("{}", line.trim_end());
    }
}

/// `text` broken into lines of at most `max` characters, at spaces where it can be.
pub(crate) fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(10);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word: Vec<char> = word.chars().collect();
            let used = line.chars().count();
            if used > 0 && used + 1 + word.len() > max {
                lines.push(std::mem::take(&mut line));
            }
            while word.len() > max {
                let rest = word.split_off(max);
                lines.push(word.into_iter().collect());
                word = rest;
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.extend(word);
        }
        lines.push(line);
    }
    lines
}

pub(crate) use taskpilot_plumbing::text::clip;

/// A task timestamp as people read it: `2026-11-30 20:14:33`, in its own zone.
pub(crate) fn when(t: &taskpilot_core::Timestamp) -> String {
    t.naive_local().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// One task, field by field, for `tasks show` and `tasks add`.
pub(crate) fn task_fields(task: &Task) -> KeyValues {
    let mut kv = KeyValues::new();
    kv.add("id", task.id.as_str())
        .add("title", &task.title)
        .add("priority", task.priority.as_str())
        .add_status("status", task.status.as_str());
    if !task.description.is_empty() {
        kv.add("request", &task.description);
    }
    kv.add("created", &when(&task.created_at));
    if let Some(t) = &task.reviewed_at {
        kv.add("reviewed", &when(t));
    }
    if let Some(t) = &task.executed_at {
        kv.add("executed", &when(t));
    }
    // A task in review shows the reviewer's reply among its reasons (`tasks show`).
    if let Some(r) = &task.reviewer_response
        && task.status != Status::Review
    {
        kv.add("reviewer", r);
    }
    if let Some(e) = &task.error {
        kv.add("error", e);
    }
    kv
}

/// Tasks as a table, in the order given; titles are cut to fit the width.
pub(crate) fn print_task_table(tasks: &[Task]) {
    let mut t = table(&["id", "status", "priority", "created", "title"]);
    // Ids, statuses and times never wrap; the title takes what is left and is cut to fit.
    t.set_constraints(vec![ColumnConstraint::ContentWidth; 4]);
    let narrow = width().is_some_and(|w| w < 100);
    let time_format = if narrow {
        "%m-%d %H:%M"
    } else {
        "%Y-%m-%d %H:%M"
    };
    for task in tasks {
        t.add_row(one_line_row(vec![
            Cell::new(task.id.as_str()),
            status_cell(task.status.as_str()),
            Cell::new(task.priority.as_str()),
            Cell::new(task.created_at.naive_local().format(time_format)),
            Cell::new(safe_line(&task.title)),
        ]));
    }
    print_table(&t);
}

/// Whether a task status is one a person may still decide.
pub(crate) fn decidable(status: Status) -> bool {
    matches!(status, Status::Pending | Status::Review)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_are_shown_not_obeyed() {
        assert_eq!(safe("ok\u{1b}[31mred"), "ok\\u{1b}[31mred");
        assert_eq!(safe("a\u{0}b\u{7f}c\u{9b}d"), "a\\u{0}b\\u{7f}c\\u{9b}d");
        assert_eq!(safe("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(
            safe("zero\u{200b}width\u{2066}"),
            "zero\\u{200b}width\\u{2066}"
        );
        assert_eq!(safe("tab\there\nline"), "tab here\nline");
        assert_eq!(safe_line("one\r\ntwo"), "one ⏎ two");
        assert_eq!(safe("Grüße, 東京 ✓"), "Grüße, 東京 ✓");
    }

    #[test]
    fn wrap_breaks_at_spaces_and_splits_only_words_longer_than_the_line() {
        assert_eq!(
            wrap("the quick brown fox jumps over", 10),
            ["the quick", "brown fox", "jumps over"]
        );
        assert_eq!(
            wrap("abcdefghijklmnopqrstuvwxy z", 10),
            ["abcdefghij", "klmnopqrst", "uvwxy z"]
        );
        assert_eq!(wrap("one\ntwo", 10), ["one", "two"]);
    }
}
