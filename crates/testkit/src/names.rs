//! Names no other test, process or earlier run uses: for the databases, buckets and key
//! prefixes a test creates on a shared server.

use std::sync::atomic::{AtomicU32, Ordering};

/// `<prefix><sep><process id><sep><nanoseconds><sep><counter>`: unique across the tests of
/// one process (the counter) and across processes (the process id and the clock).
pub fn unique_name(prefix: &str, sep: char) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}{sep}{}{sep}{nanos}{sep}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_and_keep_the_prefix_and_separator() {
        let a = unique_name("taskpilot-test", '-');
        let b = unique_name("taskpilot-test", '-');
        assert_ne!(a, b);
        assert!(
            a.starts_with(&format!("taskpilot-test-{}-", std::process::id())),
            "{a}"
        );
        assert!(!a.contains('_'), "{a}");
    }
}
