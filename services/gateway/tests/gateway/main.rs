//! The gateway in-process on port 0, in front of fake token-, link- and data-services served
//! over real gRPC on port 0.
#![allow(clippy::unwrap_used)]

mod auth;
mod changes;
mod data;
mod errors;
mod fakes;
mod harness;
mod links;
mod logs;
mod ops;
mod web;
mod webhooks;
