//! link-service (being built).
