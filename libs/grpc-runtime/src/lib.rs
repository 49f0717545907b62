//! Everything a gRPC service needs around its own handlers, built once: the server
//! bootstrap ([`serve`]) with `grpc.health.v1` (one status per service), server reflection
//! v1 and v1alpha, and the tower layers every call passes through (request id, trace span
//! with the caller's W3C trace context, Prometheus metrics, optional per-caller bearer
//! tokens that leave health and reflection open, a timeout); the admin HTTP server with
//! `/metrics`; the graceful-shutdown coordinator ([`Shutdown`]); helpers that build
//! `tonic::Status` values with structured details ([`status`]); the readiness gate that holds
//! health NOT_SERVING until, say, the schema is migrated ([`readiness`]); and channels for calling
//! other services with the trace context and a bearer token ([`client`]).
//!
//! A service's `main` wires itself like this:
//!
//! ```ignore
//! let config: Config = settings::exit_on_error(
//!     settings::Loader::new("TOKEN_SERVICE").env(std::env::vars()).load());
//! let telemetry = telemetry::init("token-service", &config.telemetry)?;
//! let db = database::Database::connect(&config.database).await?;
//! db.migrate(&sqlx::migrate!("./migrations")).await?;
//! let shutdown = Shutdown::new();
//! shutdown.listen_for_signals()?; // SIGTERM/SIGINT; a second one exits at once
//! let listeners = Listeners::bind(&config.server).await?;
//! let registry = prometheus::Registry::new();
//! let services = ServiceSet::new()
//!     // NOT_SERVING until the schema is at this build's migration version.
//!     .ready_when(Readiness::schema(&db, &MIGRATOR, shutdown.clone()).await)
//!     .service(TokenServiceServer::new(handlers))
//!     .file_descriptor_set(connect_proto::FILE_DESCRIPTOR_SET);
//! let server = serve(services, listeners, &config.server, &registry, shutdown).await?;
//! server.wait().await?;      // health NOT_SERVING, bounded drain
//! db.close().await;          // then pools
//! telemetry.shutdown()?;     // telemetry last
//! ```

pub mod access;
pub mod client;
mod config;
mod layers;
mod metrics;
pub mod readiness;
pub mod request_id;
pub mod sealed;
mod server;
mod service;
mod shutdown;
pub mod status;

pub use config::ServerConfig;

/// What [`service_config!`] expands to needs.
#[doc(hidden)]
pub mod macro_support {
    pub use database::DatabaseConfig;
    pub use settings::Report;
    pub use telemetry::TelemetryConfig;
}

pub use access::{Admits, Gate};
pub use layers::auth::{CalledMethod, Caller};
pub use metrics::GrpcMetrics;
pub use readiness::Readiness;
pub use sealed::{EncryptionConfig, SealedColumn, SealedColumns};
pub use server::{Drain, Listeners, RunningServer, ServiceSet, serve, serve_http};
pub use service::{MigrateConfig, Service, ServiceConfig, StartError, load, load_config, main};
pub use shutdown::Shutdown;
pub use tonic_health::ServingStatus;
pub use tonic_health::server::HealthReporter;

/// What can go wrong while starting or running a server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address from the configuration.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A registered file descriptor set is not valid.
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The metrics could not be registered (a name registered twice).
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The gRPC server stopped with an error.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The HTTP server (the gateway's) stopped with an error.
    #[error("HTTP server failed: {0}")]
    Http(#[source] std::io::Error),
    /// The admin HTTP server stopped with an error.
    #[error("admin server failed: {0}")]
    Admin(#[source] std::io::Error),
    /// Installing the OS signal handlers failed.
    #[error("cannot listen for OS signals: {0}")]
    Signals(#[source] std::io::Error),
    /// A server stopped by itself before the shutdown was triggered.
    #[error("{0} stopped before the shutdown")]
    StoppedEarly(&'static str),
    /// A server task panicked or was cancelled.
    #[error("server task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}
