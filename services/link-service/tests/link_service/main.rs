//! link-service against the in-process Belvo emulator and a fake token-service, on SQLite
//! and PostgreSQL (a fresh database per test): registration and ownership, reads and
//! paging, the status machine, deletion, refresh and its cooldown, adoption, bad input
//! and Belvo failures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod adopt;
mod delete_refresh;
mod events;
mod failures;
mod invalid;
mod list;
mod register;
mod startup;
