//! One module per `taskpilot` subcommand.

pub(crate) mod bench;
pub(crate) mod config;
pub(crate) mod cost_report;
pub(crate) mod decisions;
pub(crate) mod doctor;
pub(crate) mod golden_signals;
pub(crate) mod guard;
pub(crate) mod init;
pub(crate) mod metrics;
pub(crate) mod policy;
pub(crate) mod prompts;
pub(crate) mod review;
pub(crate) mod run;
pub(crate) mod runs;
pub(crate) mod serve;
pub(crate) mod store;
pub(crate) mod store_decisions;
pub(crate) mod store_runs;
pub(crate) mod tasks;
pub(crate) mod traces;
