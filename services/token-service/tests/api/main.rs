//! token-service end to end: the real service in process on port 0, against the in-process
//! Belvo emulator, on SQLite and on PostgreSQL (each test its own database), with a fake
//! link-service for update mode.

// Test code fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod audit;
mod errors;
mod external_ids;
mod grpcurl;
mod schema;
mod startup;
mod tokens;
mod update_mode;
