//! The client against a local HTTP stub fed with Belvo's documented payloads, and the models
//! against the examples of Belvo's official OpenAPI specs.

#![allow(clippy::unwrap_used)]

mod endpoints;
mod failures;
mod paging;
mod spec_examples;
mod support;
