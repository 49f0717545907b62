//! The cluster scenarios (issues 11 and 14): the real binaries as processes on PostgreSQL. Each
//! scenario is a test of its own with its own processes and databases, so that nextest runs
//! them in parallel; each ends by comparing every link's stored ids with Belvo's (the
//! emulator's) and checking every resource's final sync status.

mod budget;
mod duplicate_webhooks;
mod erasure;
mod failed_repull;
mod kills;
mod postgres_restart;
mod progress_stream;
mod rolling_restart;
