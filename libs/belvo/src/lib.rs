//! Typed async client for Belvo's API.
