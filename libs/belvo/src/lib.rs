//! Typed async client for Belvo's API: widget access tokens, institutions, links (with the MFA
//! flow), every Banking, Employment and Fiscal data resource as a paginated stream, webhook
//! payloads, and Belvo's errors. Retries follow Belvo's published policy and a rate budget keeps
//! callers under Belvo's firewall threshold.

mod environment;

pub use environment::{Environment, ParseEnvironmentError};
