//! link-service against the in-process Belvo emulator and a fake token-service, on SQLite
//! and PostgreSQL (a fresh database per test): registration and ownership, reads and
//! paging, the status machine, deletion, refresh and its cooldown, adoption, bad input,
//! Belvo failures, and what data-service is told (a fake data-service).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_data;
mod harness;

mod access;
mod adopt;
mod data_service;
mod delete_refresh;
mod erasure;
mod events;
mod failures;
mod invalid;
mod list;
mod register;
mod startup;
mod watch;
