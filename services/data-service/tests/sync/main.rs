//! data-service in-process on port 0 against the in-process Belvo emulator, on SQLite and on
//! PostgreSQL (each test its own database): the inbox, the durable sync engine and the read API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod binary;
mod changes;
mod encryption;
mod fake_link_service;
mod integrity;
mod lifecycle;
mod metrics;
mod priorities;
mod scenarios;
mod schema;
mod support;
