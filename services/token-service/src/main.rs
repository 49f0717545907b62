//! Runs token-service.

fn main() {}
