//! The multi-process cluster test's harness: the platform's real binaries (Belvo emulator,
//! 2 gateways, 2 token-, 2 link- and 3 data-service replicas) started as child processes on
//! free loopback ports with a PostgreSQL database per service ([`cluster`]), killed with
//! SIGKILL or stopped with SIGTERM and started again ([`process`]), a private PostgreSQL
//! server that a test restarts and a proxy that slows its answers ([`postgres`]), and the
//! clients that drive it from outside and compare what it stored with what Belvo has
//! ([`api`]). The scenarios are in `tests/cluster/`.

pub mod api;
pub mod belvo_log;
pub mod cluster;
pub mod postgres;
pub mod process;

pub use api::{Api, Delivery, RESOURCES, User};
pub use cluster::{Cluster, Expected, Options, ids};
