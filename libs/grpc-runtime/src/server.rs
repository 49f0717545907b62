//! The server bootstrap: [`ServiceSet`] collects a service's gRPC services and descriptor
//! sets, [`Listeners`] binds the gRPC and admin ports (after configuration is validated,
//! never before), and [`serve`] runs both servers with health, reflection and the layers
//! until the [`Shutdown`] fires, then drains within the grace period.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::layers::auth::AuthLayer;
use crate::layers::observe::ObserveLayer;
use crate::layers::timeout::TimeoutLayer;
use crate::metrics::{GrpcMetrics, admin_router, log_admin_addr};
use crate::{ServerConfig, ServerError, Shutdown};

/// TCP keepalive on accepted gRPC connections.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// How long the admin server may take to stop after the gRPC server has drained.
const ADMIN_STOP_GRACE: Duration = Duration::from_secs(2);

/// The gRPC services one process serves, and the descriptor sets reflection describes
/// them with.
#[derive(Debug, Default)]
pub struct ServiceSet {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
}

impl ServiceSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a generated server (e.g. `TokenServiceServer::new(handlers)`); its health
    /// status starts SERVING and reflection lists it.
    pub fn service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Registers an encoded `FileDescriptorSet` (e.g. `connect_proto::FILE_DESCRIPTOR_SET`)
    /// that describes the added services.
    pub fn file_descriptor_set(mut self, encoded: &'static [u8]) -> Self {
        self.descriptor_sets.push(encoded);
        self
    }

    /// The names of the added services.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// The two bound listeners: gRPC and admin HTTP.
#[derive(Debug)]
pub struct Listeners {
    grpc: TcpListener,
    admin: TcpListener,
}

impl Listeners {
    /// Binds `listen_addr` and `admin_addr` (port 0 picks free ports).
    pub async fn bind(config: &ServerConfig) -> Result<Self, ServerError> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr, source })
        };
        Ok(Self {
            grpc: bind(config.listen_addr).await?,
            admin: bind(config.admin_addr).await?,
        })
    }

    /// From listeners bound elsewhere.
    pub fn from_listeners(grpc: TcpListener, admin: TcpListener) -> Self {
        Self { grpc, admin }
    }
}

/// How the gRPC server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every in-flight call finished within the grace period.
    Complete,
    /// The grace period ran out with calls still running. The server no longer waits for
    /// them; they end when the process exits, which `main` does next (after closing pools
    /// and flushing telemetry).
    TimedOut,
}

/// A started server. Dropping it does not stop it; fire the [`Shutdown`] and
/// [`RunningServer::wait`].
#[derive(Debug)]
pub struct RunningServer {
    grpc_addr: SocketAddr,
    admin_addr: SocketAddr,
    health: HealthReporter,
    task: JoinHandle<Result<Drain, ServerError>>,
}

impl RunningServer {
    /// The bound gRPC address (the real port when configured with port 0).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound admin address serving `/metrics`.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The health reporter, for a service that wants to report NOT_SERVING while a
    /// dependency is down (`reporter.set_service_status(NAME, status)`).
    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Waits until the server has stopped: after the shutdown fired, health went
    /// NOT_SERVING and the drain completed or timed out. Errors if a server failed.
    pub async fn wait(self) -> Result<Drain, ServerError> {
        self.task.await?
    }
}

/// Starts the gRPC server (the services, `grpc.health.v1`, reflection v1 and v1alpha,
/// behind the request-id, observe, auth and timeout layers) and the admin server
/// (`/metrics` from `registry`, where the gRPC metrics are registered too), on already
/// bound listeners. Returns once both accept connections.
pub async fn serve(
    services: ServiceSet,
    listeners: Listeners,
    config: &ServerConfig,
    registry: &prometheus::Registry,
    shutdown: Shutdown,
) -> Result<RunningServer, ServerError> {
    let ServiceSet {
        mut routes,
        names,
        descriptor_sets,
    } = services;
    let grpc_addr = listeners
        .grpc
        .local_addr()
        .map_err(|source| ServerError::Bind {
            addr: config.listen_addr,
            source,
        })?;
    let admin_addr = listeners
        .admin
        .local_addr()
        .map_err(|source| ServerError::Bind {
            addr: config.admin_addr,
            source,
        })?;

    // Health: one status per service, and the server as a whole ("").
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in &names {
        health
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    health.set_service_status("", ServingStatus::Serving).await;
    routes.add_service(health_service);

    // Reflection lists exactly the services served here (a descriptor set may describe
    // more), plus health and reflection itself.
    let reflection = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health")
            .with_service_name("grpc.reflection.v1.ServerReflection")
            .with_service_name("grpc.reflection.v1alpha.ServerReflection");
        for set in &descriptor_sets {
            builder = builder.register_encoded_file_descriptor_set(set);
        }
        for name in &names {
            builder = builder.with_service_name(*name);
        }
        builder
    };
    routes.add_service(reflection().build_v1()?);
    routes.add_service(reflection().build_v1alpha()?);

    let metrics = GrpcMetrics::register(registry)?;
    let layers = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(ObserveLayer::new(metrics))
        .layer(AuthLayer::new(&config.auth_tokens))
        .layer(TimeoutLayer::new(config.request_timeout))
        .into_inner();

    // No Nagle delay for small gRPC frames; keepalive finds dead peers.
    let incoming = TcpIncoming::from(listeners.grpc)
        .with_nodelay(Some(true))
        .with_keepalive(Some(TCP_KEEPALIVE));
    let (stop_grpc, grpc_stopped) = tokio::sync::oneshot::channel::<()>();
    let grpc = tonic::transport::Server::builder()
        .layer(layers)
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(incoming, async {
            let _ = grpc_stopped.await;
        });
    let grpc = tokio::spawn(grpc);

    let stop_admin = CancellationToken::new();
    let admin = axum::serve(listeners.admin, admin_router(registry.clone()))
        .with_graceful_shutdown(stop_admin.clone().cancelled_owned())
        .into_future();
    let admin = tokio::spawn(admin);

    tracing::info!(addr = %grpc_addr, services = ?names, "gRPC server listening");
    log_admin_addr(admin_addr);

    let task = tokio::spawn(run(Running {
        names,
        health: health.clone(),
        grace: config.shutdown_grace,
        shutdown,
        grpc,
        stop_grpc,
        admin,
        stop_admin,
    }));
    Ok(RunningServer {
        grpc_addr,
        admin_addr,
        health,
        task,
    })
}

struct Running {
    names: Vec<&'static str>,
    health: HealthReporter,
    grace: Duration,
    shutdown: Shutdown,
    grpc: JoinHandle<Result<(), tonic::transport::Error>>,
    stop_grpc: tokio::sync::oneshot::Sender<()>,
    admin: JoinHandle<std::io::Result<()>>,
    stop_admin: CancellationToken,
}

/// Waits for the shutdown (or a server failure), then: health NOT_SERVING, stop
/// accepting, drain within the grace period, stop the admin server.
async fn run(running: Running) -> Result<Drain, ServerError> {
    let Running {
        names,
        health,
        grace,
        shutdown,
        mut grpc,
        stop_grpc,
        mut admin,
        stop_admin,
    } = running;

    tokio::select! {
        () = shutdown.triggered() => {}
        result = &mut grpc => {
            stop_admin.cancel();
            let _ = tokio::time::timeout(ADMIN_STOP_GRACE, &mut admin).await;
            admin.abort();
            result??;
            return Err(ServerError::StoppedEarly("the gRPC server"));
        }
        result = &mut admin => {
            let _ = stop_grpc.send(());
            grpc.abort();
            result?.map_err(ServerError::Admin)?;
            return Err(ServerError::StoppedEarly("the admin server"));
        }
    }

    tracing::info!(grace = ?grace, "shutting down: health NOT_SERVING, draining calls");
    for name in &names {
        health
            .set_service_status(*name, ServingStatus::NotServing)
            .await;
    }
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    let _ = stop_grpc.send(());

    let drain = match tokio::time::timeout(grace, &mut grpc).await {
        Ok(result) => {
            result??;
            Drain::Complete
        }
        Err(_) => {
            grpc.abort();
            tracing::warn!(grace = ?grace, "grace period over; abandoning the remaining calls");
            Drain::TimedOut
        }
    };

    stop_admin.cancel();
    match tokio::time::timeout(ADMIN_STOP_GRACE, &mut admin).await {
        Ok(result) => result?.map_err(ServerError::Admin)?,
        Err(_) => admin.abort(),
    }
    tracing::info!(?drain, "server stopped");
    Ok(drain)
}
