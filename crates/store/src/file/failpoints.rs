//! The file store's named failpoints: one after every step of the journal append and of a fold
//! (compaction, the fold on close, the idle fold), where a test can crash the process to prove
//! that each step leaves a store that loses nothing acknowledged (crates/store/tests/failpoints.rs,
//! docs/TESTING.md "Failpoints").
//!
//! A failpoint is `fail::fail_point!` from the `fail` crate, compiled only with the store's
//! `failpoints` feature: the store's own tests turn it on (a dev-dependency feature), a normal
//! build of the binary does not have the `fail` crate at all, so the shipped code pays nothing.
//! [`FAILPOINTS`] lists every name; a unit test checks that the list and the code agree.

/// Marks a failpoint. Without the `failpoints` feature it expands to nothing.
macro_rules! failpoint {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name);
    };
}
pub(super) use failpoint;

/// Every failpoint of the file store, in the order a write and then a fold reach them, with
/// the state the files are in when it fires.
pub const FAILPOINTS: &[(&str, &str)] = &[
    (
        "append.journal_created",
        "the first write after a fold created an empty journal and synced its directory entry; \
         nothing is written in it yet",
    ),
    (
        "append.torn_tail_cut",
        "a torn last record (left by an interrupted write) was cut off the journal; the new \
         records are not written yet",
    ),
    (
        "append.written",
        "the batch's records are written to the journal but not yet synced (fdatasync)",
    ),
    (
        "append.synced",
        "the batch's records are synced; the callers have not been answered yet",
    ),
    (
        "fold.tmp_written",
        "the new snapshot is written to `.tasks.json.tmp` but not yet synced",
    ),
    (
        "fold.tmp_synced",
        "fold step 1 done: `.tasks.json.tmp` holds the new snapshot, synced",
    ),
    (
        "fold.bak_tmp_linked",
        "the current snapshot is linked (or copied) to `.tasks.json.bak.tmp`; `.bak` is not \
         replaced yet",
    ),
    (
        "fold.bak_replaced",
        "fold step 2 done: `.tasks.json.bak` is the current snapshot",
    ),
    (
        "fold.snapshot_installed",
        "fold step 3 done: `.tmp` was renamed over `.tasks.json`; the journal is still in place",
    ),
    (
        "fold.evidence_copied",
        "a journal with unreadable lines was copied to `.tasks.json.journal.corrupt-<time>`; the \
         recovery log does not name it yet",
    ),
    (
        "fold.evidence_recorded",
        "the recovery log names the `.journal.corrupt-<time>` copy",
    ),
    (
        "fold.journal_retired",
        "fold step 4 done: the journal was renamed to `.tasks.json.journal.bak`; the directory \
         is not synced yet",
    ),
    (
        "fold.dir_synced",
        "fold step 5 done: the directory is synced; the process has not yet noted the new \
         snapshot nor answered",
    ),
];

#[cfg(test)]
mod tests {
    use super::FAILPOINTS;

    /// Every `failpoint!("…")` in the file store's code.
    fn in_code() -> Vec<String> {
        let sources = [
            include_str!("engine.rs"),
            include_str!("journal.rs"),
            include_str!("load.rs"),
            include_str!("mod.rs"),
            include_str!("recovery_log.rs"),
            include_str!("runs.rs"),
        ];
        let marker = "failpoint!(\"";
        let mut names = Vec::new();
        for source in sources {
            let mut rest = source;
            while let Some(start) = rest.find(marker) {
                rest = &rest[start + marker.len()..];
                let end = rest.find('"').expect("a failpoint name ends with a quote");
                names.push(rest[..end].to_owned());
            }
        }
        names
    }

    #[test]
    fn the_list_names_every_failpoint_in_the_code_once() {
        let mut listed: Vec<&str> = FAILPOINTS.iter().map(|(name, _)| *name).collect();
        listed.sort_unstable();
        let mut in_code = in_code();
        in_code.sort();
        assert_eq!(
            in_code, listed,
            "the failpoints in the code versus FAILPOINTS"
        );
        in_code.dedup();
        assert_eq!(
            in_code.len(),
            FAILPOINTS.len(),
            "a failpoint name is used twice"
        );
    }
}
