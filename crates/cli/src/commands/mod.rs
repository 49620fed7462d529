//! One module per `taskpilot` subcommand.

pub mod bench;
pub mod config;
pub mod cost_report;
pub mod decisions;
pub mod doctor;
pub mod golden_signals;
pub mod guard;
pub mod init;
pub mod metrics;
pub mod policy;
pub mod prompts;
pub mod review;
pub mod run;
pub mod runs;
pub mod serve;
pub mod store;
pub mod store_decisions;
pub mod store_runs;
pub mod tasks;
pub mod traces;
