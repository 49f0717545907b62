//! Typed per-region configuration.
