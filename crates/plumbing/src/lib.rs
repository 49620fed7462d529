//! Small helpers every layer of TaskPilot shares and none owns, each defined once here:
//!
//! - [`batch`]: the batches of a group-commit writer thread.
//! - [`fs`]: replacing a file atomically and durably, syncing a directory.
//! - [`text`]: clipping text for one-line displays.
//! - `tls` (feature `tls`): installing the process-wide TLS crypto provider.
//!
//! Not here: anything that knows about tasks, settings or observability.

pub mod batch;
pub mod fs;
pub mod text;
#[cfg(feature = "tls")]
pub mod tls;
