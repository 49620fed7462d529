//! A full disk: writes fail with a clear error naming the file, nothing acknowledged is lost,
//! and the store still loads. Uses a small tmpfs, so it needs root (CI runs as root); elsewhere
//! it reports the skip (`taskpilot_testkit::service_missing`) and returns.

mod common;

use std::path::Path;
use std::process::Command;

use common::{run_cmd, taskpilot};
use taskpilot_testkit::strings;

/// A tmpfs of `size` mounted on `dir` for the life of the value.
struct TinyDisk<'a>(&'a Path);

impl<'a> TinyDisk<'a> {
    fn mount(dir: &'a Path, size: &str) -> Option<TinyDisk<'a>> {
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if !is_root {
            taskpilot_testkit::service_missing("root", "to mount a small tmpfs");
            return None;
        }
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot mount a tmpfs on {}", dir.display());
        Some(TinyDisk(dir))
    }
}

impl Drop for TinyDisk<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn writes_on_a_full_disk_fail_clearly_and_lose_nothing_acknowledged() {
    let base = tempfile::tempdir().unwrap();
    let disk = base.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let Some(_mounted) = TinyDisk::mount(&disk, "96k") else {
        return;
    };
    let on_disk = |args: &[&str]| {
        run_cmd(
            taskpilot(base.path()).env("TASKS_FILE", disk.join(".tasks.json")),
            args,
        )
    };
    let out = on_disk(&["store", "stress", "--count", "100000"]);
    assert_ne!(
        out.code,
        Some(0),
        "writing 100,000 tasks into 96 KiB cannot succeed"
    );
    let stderr = &out.stderr;
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains(".tasks.json"),
        "the error names the file: {stderr}"
    );
    let acknowledged: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("created ").map(str::to_owned))
        .collect();
    assert!(
        acknowledged.len() > 10,
        "some writes fit before the disk filled"
    );

    // The store still loads.
    let tasks = on_disk(&["tasks", "list", "--all", "--json"])
        .success()
        .json();
    let stored: std::collections::HashSet<&str> =
        strings(&tasks["tasks"], "id").into_iter().collect();
    for id in &acknowledged {
        assert!(stored.contains(id.as_str()), "acknowledged task {id} lost");
    }
}

#[test]
fn compaction_on_a_full_disk_fails_and_keeps_the_old_file() {
    let base = tempfile::tempdir().unwrap();
    let disk = base.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let fixture = common::reference_fixture();
    let size = std::fs::metadata(&fixture).unwrap().len();
    // Room for the fixture but not for a second copy of it.
    let Some(_mounted) = TinyDisk::mount(&disk, &format!("{}k", size * 3 / 2 / 1024)) else {
        return;
    };
    let tasks_file = disk.join(".tasks.json");
    std::fs::copy(&fixture, &tasks_file).unwrap();
    let before = std::fs::read(&tasks_file).unwrap();
    run_cmd(
        taskpilot(base.path()).env("TASKS_FILE", &tasks_file),
        &["store", "compact"],
    )
    .code(1)
    .stderr_has("No space left on device")
    .stderr_has("TASKS_FILE");
    assert_eq!(
        std::fs::read(&tasks_file).unwrap(),
        before,
        "the task file is untouched"
    );
    assert!(
        !disk.join(".tasks.json.tmp").exists(),
        "no half-written .tmp left behind"
    );
    run_cmd(
        taskpilot(base.path()).env("TASKS_FILE", &tasks_file),
        &["tasks", "stats", "--json"],
    )
    .success()
    .stdout_has("\"rejected\": 2060")
    .stdout_has("\"by_status\": {");
}
