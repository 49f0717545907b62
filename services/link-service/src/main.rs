//! Runs link-service.

fn main() {}
