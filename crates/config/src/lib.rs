//! TaskPilot's settings (SPEC section 2): every value from the process environment, else from
//! the `.env` file in the base directory (or the file named by `ENV_FILE_PATH`), else a default,
//! and each one remembers where it came from so `taskpilot config` can say so.
//!
//! This crate only resolves values; it never creates directories or files. Checking that a
//! location is usable is [`path_status`], and making it is the caller's job.

pub mod console;
pub mod dotenv;
pub mod redact;
mod settings;
mod source;

pub use redact::redact_url;
pub use settings::{Entry, PathStatus, Settings, StoreLocation, path_status};
pub use source::{ConfigError, Secret, Source, Sourced};
