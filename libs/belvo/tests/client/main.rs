//! The client against a local HTTP stub fed with Belvo's documented payloads, against the
//! emulator (the two implementations check each other), and the models against the examples
//! of Belvo's official OpenAPI specs.

#![allow(clippy::unwrap_used)]

mod emulator;
mod endpoints;
mod failures;
mod paging;
mod reachability;
mod spec_examples;
mod support;
