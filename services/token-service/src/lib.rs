//! token-service (being built).
