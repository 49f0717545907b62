//! Integration tests of belvo-emulator over real HTTP on loopback (port 0).

// Test helpers outside `#[test]` functions may panic on broken setup; that is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod common;
mod control;
mod firewall;
