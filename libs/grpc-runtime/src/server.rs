//! The server bootstrap: [`ServiceSet`] collects a service's gRPC services and descriptor
//! sets, [`Listeners`] binds the gRPC and admin ports (after configuration is validated,
//! never before), and [`serve`] runs both servers with health, reflection and the layers
//! until the [`Shutdown`] fires, then drains within the grace period.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
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
use crate::{Readiness, ServerConfig, ServerError, Shutdown};

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
    readiness: Option<Readiness>,
}

impl ServiceSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a generated server (e.g. `TokenServiceServer::new(handlers)`); its health
    /// status starts SERVING (once [`ServiceSet::ready_when`]'s condition holds, if given)
    /// and reflection lists it.
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

    /// Holds every health status NOT_SERVING until `readiness` holds (the schema at the
    /// build's migration version, say); without it, the services are SERVING once listening.
    pub fn ready_when(mut self, readiness: Readiness) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// The names of the added services.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// A service's two listeners, bound before the service is built: the one it serves on (gRPC,
/// or the gateway's HTTP) and the admin one (`/metrics`). Binding first lets a test or a
/// whole-stack harness hand every service the others' addresses before any of them starts.
#[derive(Debug)]
pub struct Listeners {
    serve: TcpListener,
    admin: TcpListener,
}

impl Listeners {
    /// Binds both addresses (port 0 picks free ports).
    pub async fn bind(serve: SocketAddr, admin: SocketAddr) -> Result<Self, ServerError> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr, source })
        };
        Ok(Self {
            serve: bind(serve).await?,
            admin: bind(admin).await?,
        })
    }

    /// Both on free loopback ports: for tests.
    pub async fn local() -> Result<Self, ServerError> {
        let any = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0));
        Self::bind(any, any).await
    }

    /// From listeners bound elsewhere.
    pub fn from_listeners(serve: TcpListener, admin: TcpListener) -> Self {
        Self { serve, admin }
    }

    /// The address served on.
    pub fn addr(&self) -> SocketAddr {
        local_addr(&self.serve)
    }

    /// The admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        local_addr(&self.admin)
    }
}

/// A bound listener's address. `local_addr` of a bound TCP socket only fails on a broken
/// socket, which the first accept reports anyway; the unspecified address stands in.
fn local_addr(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0)))
}

/// How the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every in-flight call finished within the grace period.
    Complete,
    /// The grace period ran out with calls still running. The server no longer waits for
    /// them; they end when the process exits, which `main` does next (after closing pools
    /// and flushing telemetry).
    TimedOut,
}

/// What a service does after its server drained and before the process flushes telemetry:
/// hand back jobs, join workers, close pools.
type OnStop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A started service: its server (gRPC or the gateway's HTTP) and admin server, its health,
/// its shutdown trigger, and what it must do once stopped. Every service's `Application`
/// holds one; dropping it does not stop it.
pub struct RunningServer {
    addr: SocketAddr,
    admin_addr: SocketAddr,
    health: HealthReporter,
    shutdown: Shutdown,
    task: JoinHandle<Result<Drain, ServerError>>,
    on_stop: Vec<OnStop>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound address served on (the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
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

    /// The shutdown trigger: fire it (or let [`Shutdown::listen_for_signals`] fire it) to stop.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Adds a step to run, in order, after the server drained (close a pool, join workers).
    pub fn on_stop(mut self, step: impl Future<Output = ()> + Send + 'static) -> Self {
        self.on_stop.push(Box::pin(step));
        self
    }

    /// Waits until the shutdown fired and the server drained (health NOT_SERVING first),
    /// then runs the stop steps. Errors if a server failed.
    pub async fn run_until_stopped(self) -> Result<Drain, ServerError> {
        let drained = self.task.await;
        for step in self.on_stop {
            step.await;
        }
        drained?
    }

    /// Fires the shutdown and waits as [`RunningServer::run_until_stopped`].
    pub async fn stop(self) -> Result<Drain, ServerError> {
        self.shutdown.trigger();
        self.run_until_stopped().await
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
        readiness,
    } = services;

    // Health: one status per service, and the server as a whole ("").
    let (health, health_service) = tonic_health::server::health_reporter();
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

    let addr = listeners.addr();
    // No Nagle delay for small gRPC frames; keepalive finds dead peers.
    let incoming = TcpIncoming::from(listeners.serve)
        .with_nodelay(Some(true))
        .with_keepalive(Some(TCP_KEEPALIVE));
    let stop = CancellationToken::new();
    let server = tonic::transport::Server::builder()
        .layer(layers)
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
    let server = async move { server.await.map_err(ServerError::from) };
    tracing::info!(%addr, services = ?names, "gRPC server listening");
    start(Started {
        names,
        health,
        addr,
        admin: listeners.admin,
        registry: registry.clone(),
        grace: config.shutdown_grace,
        shutdown,
        server: tokio::spawn(server),
        stop,
        readiness,
    })
    .await
}

/// Starts an HTTP server (the gateway) on the serving listener, with the same admin server,
/// health and drain as [`serve`]. `name` is the health status it reports.
pub async fn serve_http(
    name: &'static str,
    router: axum::Router,
    listeners: Listeners,
    grace: Duration,
    registry: &prometheus::Registry,
    shutdown: Shutdown,
) -> Result<RunningServer, ServerError> {
    use axum::serve::ListenerExt as _;

    let addr = listeners.addr();
    // No Nagle delay: responses are small and latency-bound.
    let listener = listeners.serve.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    let stop = CancellationToken::new();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop.clone().cancelled_owned())
    .into_future();
    let server = async move { server.await.map_err(ServerError::Http) };
    tracing::info!(%addr, "HTTP server listening");
    let (health, _) = tonic_health::server::health_reporter();
    start(Started {
        names: vec![name],
        health,
        addr,
        admin: listeners.admin,
        registry: registry.clone(),
        grace,
        shutdown,
        server: tokio::spawn(server),
        stop,
        readiness: None,
    })
    .await
}

/// A server just spawned, with what its shutdown sequence needs.
struct Started {
    names: Vec<&'static str>,
    health: HealthReporter,
    addr: SocketAddr,
    admin: TcpListener,
    registry: prometheus::Registry,
    grace: Duration,
    shutdown: Shutdown,
    server: JoinHandle<Result<(), ServerError>>,
    stop: CancellationToken,
    readiness: Option<Readiness>,
}

/// Sets every status of `names` and the server's own ("") to `status`.
async fn set_all(health: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    for name in names {
        health.set_service_status(*name, status).await;
    }
    health.set_service_status("", status).await;
}

/// Reports SERVING (once ready, if a readiness condition was given: NOT_SERVING until then),
/// starts the admin server and the task that runs the shutdown sequence.
async fn start(started: Started) -> Result<RunningServer, ServerError> {
    let readiness = started.readiness.unwrap_or_else(Readiness::ready);
    let gate = if readiness.is_ready() {
        set_all(&started.health, &started.names, ServingStatus::Serving).await;
        None
    } else {
        set_all(&started.health, &started.names, ServingStatus::NotServing).await;
        let (health, names, shutdown) = (
            started.health.clone(),
            started.names.clone(),
            started.shutdown.clone(),
        );
        Some(tokio::spawn(async move {
            if readiness.wait(&shutdown).await {
                tracing::info!("ready: health SERVING");
                set_all(&health, &names, ServingStatus::Serving).await;
            }
        }))
    };
    let admin_addr = local_addr(&started.admin);
    let stop_admin = CancellationToken::new();
    let admin = axum::serve(started.admin, admin_router(started.registry))
        .with_graceful_shutdown(stop_admin.clone().cancelled_owned())
        .into_future();
    let admin = tokio::spawn(admin);
    log_admin_addr(admin_addr);

    let health = started.health.clone();
    let shutdown = started.shutdown.clone();
    let addr = started.addr;
    let task = tokio::spawn(run(Running {
        names: started.names,
        health: started.health,
        grace: started.grace,
        shutdown: started.shutdown,
        server: started.server,
        stop: started.stop,
        admin,
        stop_admin,
        gate,
    }));
    Ok(RunningServer {
        addr,
        admin_addr,
        health,
        shutdown,
        task,
        on_stop: Vec::new(),
    })
}

struct Running {
    names: Vec<&'static str>,
    health: HealthReporter,
    grace: Duration,
    shutdown: Shutdown,
    server: JoinHandle<Result<(), ServerError>>,
    stop: CancellationToken,
    admin: JoinHandle<std::io::Result<()>>,
    stop_admin: CancellationToken,
    /// Waits for readiness to report SERVING; stopped before the shutdown reports NOT_SERVING
    /// so that it can never undo it.
    gate: Option<JoinHandle<()>>,
}

/// Waits for the shutdown (or a server failure), then: health NOT_SERVING, stop
/// accepting, drain within the grace period, stop the admin server.
async fn run(running: Running) -> Result<Drain, ServerError> {
    let Running {
        names,
        health,
        grace,
        shutdown,
        mut server,
        stop,
        mut admin,
        stop_admin,
        gate,
    } = running;

    let result = tokio::select! {
        () = shutdown.triggered() => None,
        result = &mut server => Some(Err(result)),
        result = &mut admin => Some(Ok(result)),
    };
    if let Some(gate) = gate {
        gate.abort();
        let _ = gate.await;
    }
    match result {
        None => {}
        Some(Err(result)) => {
            stop_admin.cancel();
            let _ = tokio::time::timeout(ADMIN_STOP_GRACE, &mut admin).await;
            admin.abort();
            result??;
            return Err(ServerError::StoppedEarly("the server"));
        }
        Some(Ok(result)) => {
            stop.cancel();
            server.abort();
            result?.map_err(ServerError::Admin)?;
            return Err(ServerError::StoppedEarly("the admin server"));
        }
    }

    tracing::info!(grace = ?grace, "shutting down: health NOT_SERVING, draining calls");
    set_all(&health, &names, ServingStatus::NotServing).await;
    stop.cancel();

    let drain = match tokio::time::timeout(grace, &mut server).await {
        Ok(result) => {
            result??;
            Drain::Complete
        }
        Err(_) => {
            server.abort();
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
