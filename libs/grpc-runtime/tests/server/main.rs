//! The bootstrap end to end: a tiny token-service stand-in (the real generated server,
//! with probe handlers) served by `grpc_runtime::serve` on port 0, called over loopback.

// Test helpers outside `#[test]` functions fail loudly too.
#![allow(clippy::unwrap_used)]

mod auth;
mod balance;
mod harness;
mod health;
mod metrics;
mod reflection;
mod request_id;
mod shutdown;
mod timeout;
mod trace;
