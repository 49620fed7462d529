//! TaskPilot's domain model: the task record of SPEC section 1 and the rules that govern it.
//!
//! This crate knows what a valid task is, which status changes are allowed and how ids and
//! timestamps look. It does no I/O: storing tasks is `taskpilot-store`'s job, deciding about
//! them is the agents' and people's.

mod claim;
mod error;
mod id;
mod naive_parse;
mod parse;
mod priority;
mod status;
mod task;
mod text;
mod time;

pub use claim::{CLAIM_FIELD, Claim, ClaimRule};
pub use error::CoreError;
pub use id::TaskId;
pub use priority::Priority;
pub use status::Status;
pub use task::{
    DESCRIPTION_MAX_CHARS, NewTask, TITLE_MAX_CHARS, Task, Transition, TransitionOutcome,
};
pub use text::{REASON_MAX_CHARS, first_refused, is_invisible_format, validate_reason};
pub use time::{TimeStyle, Timestamp};
