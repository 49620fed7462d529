//! A crash at every failpoint of the file store (`taskpilot_store::file::FAILPOINTS`, placed
//! after each step of the journal append and of a fold). For each failpoint and each way of
//! reaching it (a write, `compact`, `close`, the last handle dropped, the idle fold, an automatic
//! compaction above the journal threshold), a child process — this test binary run again, its
//! role chosen by `TASKPILOT_FAILPOINT_CASE` — writes acknowledged tasks, arms the failpoint with
//! a callback that calls `std::process::abort()` (no unwinding, no destructor, no fold), and
//! reaches it. The test then asserts exactly:
//!
//! - the child died of SIGABRT at that failpoint (it writes the name first);
//! - the files beside `.tasks.json` right after the crash are those of the step (`.tmp`,
//!   `.bak.tmp`, the journal, `.journal.corrupt-*`, the recovery log), `.tasks.json` and `.bak`
//!   parse and hold exactly the old or the new snapshot, as the step says;
//! - reopened, the store holds every acknowledged write and nothing else (the batch in flight
//!   only where the failpoint says it was durable), `check` reports exactly the unreadable
//!   journal line a case injected and nothing else;
//! - after the reopening process closes, `.tasks.json` alone holds every task, the files are the
//!   documented ones (docs/STORAGE.md), and a later `check` names every recovery recorded.
//!
//! A "power cut" variant of `append.written` truncates the journal to what was synced before
//! aborting: a process kill keeps the page cache, a power cut does not.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{append, open_unfolded, unfolded};
use taskpilot_core::{NewTask, Status, Task, TaskId, TimeStyle, Timestamp, Transition};
use taskpilot_store::file::FAILPOINTS;
use taskpilot_store::{FileStore, FileStoreOptions, TaskStore};

/// The case a child process plays: `<failpoint>#<index into cases()>`.
const CHILD_CASE: &str = "TASKPILOT_FAILPOINT_CASE";
/// The directory a child works in.
const CHILD_DIR: &str = "TASKPILOT_FAILPOINT_DIR";
/// A child's exit status when its failpoint was never reached.
const NEVER_REACHED: i32 = 3;
const SIGABRT: i32 = 6;

/// Positions in [`fold_steps`] (a mistake fails every case of the step).
const BAK_TMP_LINKED: usize = 2; // fold.bak_tmp_linked
const BAK_REPLACED: usize = 3; // fold.bak_replaced
const INSTALLED: usize = 4; // fold.snapshot_installed
const EVIDENCE_COPIED: usize = 5; // fold.evidence_copied
const EVIDENCE_RECORDED: usize = 6; // fold.evidence_recorded
const RETIRED: usize = 7; // fold.journal_retired

/// The fold's failpoints in the order a fold reaches them (`TESTED` lists every failpoint in
/// the order of `FAILPOINTS`: a write's, then a fold's).
fn fold_steps() -> impl Iterator<Item = &'static str> {
    TESTED.iter().copied().filter(|f| f.starts_with("fold."))
}

/// What the child does with the failpoint armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// `put_many` of two new tasks (one append).
    Write,
    /// `compact()` (`taskpilot store compact`).
    Compact,
    /// `close()` (every CLI command at exit).
    Close,
    /// The last handle dropped (the safety net).
    Drop,
    /// The fold after an idle period (a long-running server).
    Idle,
    /// `put_many` of enough tasks to pass the compaction threshold: the write is synced, then
    /// the same batch compacts before answering.
    Auto,
}

/// The journal when the failpoint is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// Records not yet folded.
    Pending,
    /// None: the store was just folded, so the next write starts a journal.
    Folded,
    /// Records, then a torn last record (an interrupted write).
    TornTail,
    /// Records, then a complete line that does not parse (disk damage).
    BadLine,
}

#[derive(Debug, Clone, Copy)]
struct Case {
    failpoint: &'static str,
    trigger: Trigger,
    journal: Journal,
    /// Before aborting, cut the journal back to what was synced (a power cut).
    power_cut: bool,
}

/// Every way each failpoint is reached. A failpoint without cases fails
/// `every_failpoint_of_the_store_has_a_crash_test`.
fn cases(failpoint: &'static str) -> Vec<Case> {
    use Journal::*;
    use Trigger::*;
    let case = |trigger, journal, power_cut| Case {
        failpoint,
        trigger,
        journal,
        power_cut,
    };
    let folds = [Compact, Close, Drop, Idle, Auto];
    match failpoint {
        "append.journal_created" => vec![case(Write, Folded, false)],
        "append.torn_tail_cut" => vec![case(Write, TornTail, false)],
        "append.written" => [Pending, Folded, TornTail]
            .into_iter()
            .flat_map(|j| [case(Write, j, false), case(Write, j, true)])
            .collect(),
        "append.synced" => [Pending, Folded, TornTail]
            .into_iter()
            .map(|j| case(Write, j, false))
            .collect(),
        // Only a journal with unreadable lines is kept as evidence.
        "fold.evidence_copied" | "fold.evidence_recorded" => {
            folds.into_iter().map(|t| case(t, BadLine, false)).collect()
        }
        f if fold_steps().any(|s| s == f) => folds
            .into_iter()
            .map(|t| case(t, Pending, false))
            .chain([case(Compact, BadLine, false)])
            .collect(),
        _ => Vec::new(),
    }
}

macro_rules! crash_tests {
    ($($test:ident => $failpoint:literal,)*) => {
        $(
            #[test]
            fn $test() {
                crash_at(stringify!($test), $failpoint);
            }
        )*
        /// The failpoints the tests above crash at.
        const TESTED: &[&str] = &[$($failpoint),*];
    };
}

crash_tests! {
    crash_after_the_journal_is_created => "append.journal_created",
    crash_after_a_torn_tail_is_cut => "append.torn_tail_cut",
    crash_after_an_append_is_written => "append.written",
    crash_after_an_append_is_synced => "append.synced",
    crash_after_the_new_snapshot_is_written => "fold.tmp_written",
    crash_after_the_new_snapshot_is_synced => "fold.tmp_synced",
    crash_after_the_snapshot_is_linked_to_bak_tmp => "fold.bak_tmp_linked",
    crash_after_bak_is_replaced => "fold.bak_replaced",
    crash_after_the_new_snapshot_is_installed => "fold.snapshot_installed",
    crash_after_the_bad_journal_is_copied => "fold.evidence_copied",
    crash_after_the_evidence_is_recorded => "fold.evidence_recorded",
    crash_after_the_journal_is_retired => "fold.journal_retired",
    crash_after_the_directory_is_synced => "fold.dir_synced",
}

#[test]
fn every_failpoint_of_the_store_has_a_crash_test() {
    let listed: BTreeSet<&str> = FAILPOINTS.iter().map(|(name, _)| *name).collect();
    assert_eq!(listed.len(), FAILPOINTS.len(), "a name is listed twice");
    let tested: BTreeSet<&str> = TESTED.iter().copied().collect();
    assert_eq!(tested.len(), TESTED.len(), "a failpoint has two tests");
    assert_eq!(tested, listed, "crash tests versus FAILPOINTS");
    let in_order: Vec<&str> = FAILPOINTS.iter().map(|(name, _)| *name).collect();
    assert_eq!(TESTED, in_order, "crash tests in the order of FAILPOINTS");
    for failpoint in TESTED {
        assert!(
            !cases(failpoint).is_empty(),
            "no crash case for {failpoint}"
        );
    }
    for (name, description) in FAILPOINTS {
        assert!(
            !description.is_empty(),
            "{name} says what state the files are in"
        );
    }
}

/// Runs `future` to its end on a runtime of its own.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// Runs every case of `failpoint` in a child process each and checks what it left; or, in the
/// child (`TASKPILOT_FAILPOINT_CASE` set), plays the case.
fn crash_at(test: &str, failpoint: &'static str) {
    if let Ok(spec) = std::env::var(CHILD_CASE) {
        let index = spec
            .strip_prefix(&format!("{failpoint}#"))
            .and_then(|i| i.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("{CHILD_CASE}={spec:?} is not a case of {failpoint}"));
        let dir = PathBuf::from(std::env::var(CHILD_DIR).expect("the child's directory"));
        child(cases(failpoint)[index], &dir);
    }
    for (index, case) in cases(failpoint).into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_CASE, format!("{failpoint}#{index}"))
            .env(CHILD_DIR, dir.path())
            // An abort may dump core into the working directory: keep it in the scratch one.
            .current_dir(dir.path())
            .output()
            .unwrap();
        let said = format!(
            "{case:?}\n--- child stdout\n{}\n--- child stderr\n{}",
            tail(&output.stdout),
            tail(&output.stderr)
        );
        assert_eq!(
            output.status.signal(),
            Some(SIGABRT),
            "the child must abort at the failpoint ({}): {said}",
            output.status
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("reached")).unwrap_or_default(),
            failpoint,
            "the abort happened at the failpoint: {said}"
        );
        block_on(check_after_crash(case, dir.path()));
    }
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

// ----- the child -----

fn store_path(dir: &Path) -> PathBuf {
    dir.join("store").join(".tasks.json")
}

/// The child's record of what the store acknowledged, for the parent: one JSON line per
/// acknowledged change (`{"put": task}`, `{"delete": id}`) and `{"folded": true}` after each
/// completed fold. The page cache survives the abort, so no sync is needed.
struct Acked(File);

impl Acked {
    fn line(&mut self, value: serde_json::Value) {
        let mut line = serde_json::to_vec(&value).unwrap();
        line.push(b'\n');
        self.0.write_all(&line).unwrap();
    }
    fn put(&mut self, task: &Task) {
        self.line(serde_json::json!({ "put": task }));
    }
    fn delete(&mut self, id: &TaskId) {
        self.line(serde_json::json!({ "delete": id }));
    }
    fn folded(&mut self) {
        self.line(serde_json::json!({ "folded": true }));
    }
}

fn child(case: Case, dir: &Path) -> ! {
    block_on(play(case, dir));
    println!("the failpoint {} was never reached", case.failpoint);
    std::process::exit(NEVER_REACHED)
}

async fn play(case: Case, dir: &Path) {
    let path = store_path(dir);
    let mut acked = Acked(File::create(dir.join("acked.jsonl")).unwrap());

    // A store with a history, nothing armed: creates and a transition, a fold (so `.bak` and
    // `.journal.bak` exist), then creates, a transition and a delete in the journal.
    let store = open_unfolded(&path).await;
    let mut ids = Vec::new();
    for (batch, priority) in [
        (["one", "two", "three"], "low"),
        (["four", "five", "six"], "high"),
    ] {
        if !ids.is_empty() {
            store.compact().await.unwrap();
            acked.folded();
        }
        for title in batch {
            let task = store.create(NewTask::new(title, priority)).await.unwrap();
            acked.put(&task);
            ids.push(task.id);
        }
        let first = &ids[ids.len() - batch.len()];
        let task = store
            .transition(first, &Transition::to(Status::Review))
            .await
            .unwrap();
        acked.put(&task);
    }
    store.delete(&ids[1]).await.unwrap();
    acked.delete(&ids[1]);
    if case.journal == Journal::Folded {
        store.compact().await.unwrap();
        acked.folded();
    }
    // Stop the way a killed process stops: the journal stays.
    store.abandon();

    let journal = journal_path(dir);
    match case.journal {
        Journal::TornTail => append(&journal, b"{\"put\": {\"id\": \"task_2025"),
        Journal::BadLine => append(&journal, b"{not json}\n"),
        Journal::Pending | Journal::Folded => {}
    }

    // What a power cut keeps of the journal: its complete lines, synced before this write.
    let synced = std::fs::read(&journal).map_or(0, |bytes| complete_lines(&bytes));
    let idle = (case.trigger == Trigger::Idle).then_some(Duration::from_millis(50));
    if case.trigger == Trigger::Idle {
        // The idle fold may start as soon as the store is open.
        arm(case, dir, synced);
    }
    let options = FileStoreOptions {
        idle_fold: idle,
        ..FileStoreOptions::default()
    };
    let store = FileStore::open_with(path, options).await.unwrap();
    if case.trigger != Trigger::Idle {
        arm(case, dir, synced);
    }
    match case.trigger {
        Trigger::Write => write_in_flight(&store, dir, 2, "").await,
        Trigger::Auto => write_in_flight(&store, dir, 600, &"x".repeat(400)).await,
        Trigger::Compact => store.compact().await.unwrap(),
        Trigger::Close => store.close().await.unwrap(),
        Trigger::Drop => drop(store),
        Trigger::Idle => tokio::time::sleep(Duration::from_secs(20)).await,
    }
}

/// The failpoint writes its name to `reached`, cuts the journal back to `synced` bytes for a
/// power cut, and aborts the process.
fn arm(case: Case, dir: &Path, synced: u64) {
    let reached = dir.join("reached");
    let journal = journal_path(dir);
    let name = case.failpoint;
    let power_cut = case.power_cut;
    fail::cfg_callback(name, move || {
        std::fs::write(&reached, name).unwrap();
        if power_cut {
            OpenOptions::new()
                .write(true)
                .open(&journal)
                .and_then(|f| f.set_len(synced))
                .unwrap();
        }
        std::process::abort();
    })
    .unwrap();
}

/// `put_many` of `n` new tasks, saved to `in_flight.json` first: acknowledged only if it
/// returns, which it does not when the failpoint aborts.
async fn write_in_flight(store: &FileStore, dir: &Path, n: usize, description: &str) {
    let tasks: Vec<Task> = (0..n)
        .map(|i| {
            NewTask::new(format!("in flight {i}"), "medium")
                .with_description(description)
                .into_task(TaskId::generate(), Timestamp::now_in(TimeStyle::Naive))
                .unwrap()
        })
        .collect();
    std::fs::write(
        dir.join("in_flight.json"),
        serde_json::to_vec(&tasks).unwrap(),
    )
    .unwrap();
    store.put_many(tasks).await.unwrap();
}

fn journal_path(dir: &Path) -> PathBuf {
    dir.join("store").join(".tasks.json.journal")
}

/// Bytes up to and including the last newline.
fn complete_lines(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i as u64 + 1)
}

// ----- the parent's checks -----

type Tasks = BTreeMap<TaskId, Task>;

/// What the child's store acknowledged: the tasks at the end, and the tasks at each completed
/// fold (the first entry is the empty store the child started from).
struct History {
    tasks: Tasks,
    folds: Vec<Tasks>,
    in_flight: Vec<Task>,
}

fn history(dir: &Path) -> History {
    let mut tasks = Tasks::new();
    let mut folds = vec![Tasks::new()];
    let text = std::fs::read_to_string(dir.join("acked.jsonl")).unwrap();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(task) = value.get("put") {
            let task: Task = serde_json::from_value(task.clone()).unwrap();
            tasks.insert(task.id.clone(), task);
        } else if let Some(id) = value.get("delete") {
            let id: TaskId = serde_json::from_value(id.clone()).unwrap();
            assert!(tasks.remove(&id).is_some(), "deleted {id} existed");
        } else {
            folds.push(tasks.clone());
        }
    }
    let in_flight = std::fs::read(dir.join("in_flight.json"))
        .map(|bytes| serde_json::from_slice(&bytes).unwrap())
        .unwrap_or_default();
    History {
        tasks,
        folds,
        in_flight,
    }
}

/// The tasks of a seed file, which must parse.
fn seed_file(path: &Path, case: &Case) -> Tasks {
    taskpilot_store::read_seed_file(path)
        .unwrap_or_else(|e| panic!("{case:?}: {} must parse: {e}", path.display()))
        .tasks
}

/// The files in the store's directory, the time-stamped evidence names reduced to
/// `<prefix>-*` (once per file).
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("store"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            match name.strip_prefix(".tasks.json.journal.corrupt-") {
                Some(_) => ".tasks.json.journal.corrupt-*".to_owned(),
                None => name,
            }
        })
        .collect();
    names.sort();
    names
}

fn names(list: &[&str], extra: &[(bool, &str)]) -> Vec<String> {
    let mut names: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    names.extend(
        extra
            .iter()
            .filter(|(present, _)| *present)
            .map(|(_, name)| (*name).to_owned()),
    );
    names.sort();
    names
}

const BASE: [&str; 4] = [
    ".tasks.json",
    ".tasks.json.bak",
    ".tasks.json.journal.bak",
    ".tasks.json.lock",
];
const JOURNAL: &str = ".tasks.json.journal";
const CORRUPT: &str = ".tasks.json.journal.corrupt-*";
const RECOVERY_LOG: &str = ".tasks.json.recovery.log";

async fn check_after_crash(case: Case, dir: &Path) {
    let path = store_path(dir);
    let history = history(dir);
    let step = fold_steps().position(|s| s == case.failpoint);
    let bad = case.journal == Journal::BadLine;
    let in_flight_kept = match case.trigger {
        Trigger::Write => match case.failpoint {
            "append.written" => !case.power_cut,
            "append.synced" => true,
            _ => false,
        },
        Trigger::Auto => true,
        _ => false,
    };
    let mut expected = history.tasks.clone();
    if in_flight_kept {
        expected.extend(history.in_flight.iter().map(|t| (t.id.clone(), t.clone())));
    }
    let last_fold = &history.folds[history.folds.len() - 1];
    let fold_before = &history.folds[history.folds.len() - 2];

    // Right after the crash: the files of the step, each snapshot whole.
    let at_crash = match step {
        None => names(&BASE, &[(true, JOURNAL)]),
        Some(i) => names(
            &BASE,
            &[
                (i < RETIRED, JOURNAL),
                (i <= BAK_REPLACED, ".tasks.json.tmp"),
                (i == BAK_TMP_LINKED, ".tasks.json.bak.tmp"),
                (bad && i >= EVIDENCE_COPIED, CORRUPT),
                (bad && i >= EVIDENCE_RECORDED, RECOVERY_LOG),
            ],
        ),
    };
    assert_eq!(
        files(dir),
        at_crash,
        "{case:?}: the files right after the crash"
    );
    let installed = step.is_some_and(|i| i >= INSTALLED);
    assert_eq!(
        &seed_file(&path, &case),
        if installed { &expected } else { last_fold },
        "{case:?}: .tasks.json holds the {} snapshot",
        if installed { "new" } else { "old" }
    );
    let bak_replaced = step.is_some_and(|i| i >= BAK_REPLACED);
    assert_eq!(
        &seed_file(&path.with_extension("json.bak"), &case),
        if bak_replaced { last_fold } else { fold_before },
        "{case:?}: .tasks.json.bak"
    );
    if step.is_some_and(|i| i <= BAK_REPLACED) {
        assert_eq!(
            seed_file(&path.with_extension("json.tmp"), &case),
            expected,
            "{case:?}: .tasks.json.tmp holds the new snapshot"
        );
    }
    if case.failpoint == "append.journal_created" {
        assert_eq!(
            std::fs::read(journal_path(dir)).unwrap(),
            b"",
            "{case:?}: the journal is created empty"
        );
    }
    let journal_at_crash = std::fs::read(journal_path(dir)).unwrap_or_default();
    let bad_line = String::from_utf8_lossy(&journal_at_crash)
        .lines()
        .position(|l| l == "{not json}")
        .map(|i| i + 1);

    // Reopened: every acknowledged write, nothing else; `check` names what it skipped.
    let store = FileStore::open_with(path.clone(), unfolded())
        .await
        .unwrap_or_else(|e| panic!("{case:?}: reopening failed: {e}"));
    let tasks = store.scan(None, usize::MAX).await.unwrap();
    assert_eq!(
        tasks,
        expected.values().cloned().collect::<Vec<_>>(),
        "{case:?}: every acknowledged write and nothing else (in flight kept: {in_flight_kept})"
    );
    let report = store.check().await.unwrap();
    let journal_left = step.is_none_or(|i| i < RETIRED);
    let completed = step.is_some_and(|i| (INSTALLED..RETIRED).contains(&i));
    // The journal stays open only if it continues the snapshot and holds a complete line (an
    // empty one, or one whose header a power cut took, held nothing acknowledged: removed),
    // and is below the compaction threshold (the reopening's first batch compacts one above).
    assert_eq!(
        journal_path(dir).exists(),
        journal_left
            && !completed
            && complete_lines(&journal_at_crash) > 0
            && case.trigger != Trigger::Auto,
        "{case:?}: the journal after the reopening ({} bytes at the crash)",
        journal_at_crash.len()
    );
    if bad && journal_left {
        let line = bad_line.expect("the injected line is in the journal");
        assert_eq!(report.problems.len(), 1, "{case:?}: {report:?}");
        let prefix = format!(
            "{}:{line}: skipped an unreadable journal record (",
            dir.join("store")
                .canonicalize()
                .unwrap()
                .join(".tasks.json.journal")
                .display()
        );
        assert!(
            report.problems[0].starts_with(&prefix),
            "{case:?}: {:?} starts with {prefix:?}",
            report.problems[0]
        );
    } else {
        assert_eq!(
            report.problems,
            Vec::<String>::new(),
            "{case:?}: check finds the store sound"
        );
    }
    drop(store);

    // Closed: `.tasks.json` alone holds every task; the documented files, the evidence kept.
    // A fold interrupted after step 3 is completed at the reopening (and recorded); a journal
    // with unreadable lines is copied aside by the fold that retires it — twice when the crash
    // came after the crashed fold's own copy.
    let (copies, copies_recorded) = match step {
        _ if !bad => (0, 0),
        Some(EVIDENCE_COPIED) => (2, 1),
        Some(EVIDENCE_RECORDED) => (2, 2),
        _ => (1, 1),
    };
    assert_eq!(
        seed_file(&path, &case),
        expected,
        "{case:?}: .tasks.json alone holds every task after the close"
    );
    let mut after = names(
        &BASE,
        &[(copies_recorded + usize::from(completed) > 0, RECOVERY_LOG)],
    );
    after.extend((0..copies).map(|_| CORRUPT.to_owned()));
    after.sort();
    assert_eq!(
        files(dir),
        after,
        "{case:?}: the files once the store is closed"
    );

    // A later process: the same tasks, sound, and every recovery named.
    let store = open_unfolded(&path).await;
    assert_eq!(
        store.scan(None, usize::MAX).await.unwrap(),
        expected.values().cloned().collect::<Vec<_>>(),
        "{case:?}: the tasks after a second reopening"
    );
    let report = store.check().await.unwrap();
    assert_eq!(
        report.problems,
        Vec::<String>::new(),
        "{case:?}: sound after the recovery"
    );
    let earlier: Vec<&String> = report
        .notes
        .iter()
        .filter(|n| n.starts_with("earlier recovery"))
        .collect();
    let copies_named = earlier
        .iter()
        .filter(|n| n.contains("had unreadable lines; a copy was kept"))
        .count();
    let completions_named = earlier
        .iter()
        .filter(|n| n.contains("completed a fold interrupted after"))
        .count();
    assert_eq!(
        (earlier.len(), copies_named, completions_named),
        (
            copies_recorded + usize::from(completed),
            copies_recorded,
            usize::from(completed)
        ),
        "{case:?}: the recoveries check names: {earlier:#?}"
    );
    drop(store);
    assert_eq!(files(dir), after, "{case:?}: nothing left to fold");
}
