//! The HTTP gateway facing the company's frontend and Belvo's webhooks (axum). It
//! authenticates end users (bearer JWTs: HS256, JWKS, or a dev mode for local runs), serves
//! the public JSON API by calling token-, link- and data-service over gRPC (with the
//! request's W3C trace context and request id), receives Belvo's webhooks and hands them to
//! data-service, and serves `/healthz`, `/readyz`, `/metrics` and a generated
//! `/openapi.json`.
//!
//! [`Application::build`] makes the whole app from a typed [`GatewayConfig`] and the regions
//! configuration, binds the listener and exposes its address, so tests start it on port 0;
//! [`Application::run_until_stopped`] serves until a [`Shutdown`] fires, then drains within
//! the grace period. [`Application::build_with_listener`] takes a listener bound beforehand,
//! for whole-stack tests that must tell another component the gateway's address before the
//! gateway itself can be built. The web app (module [`web`]) is served at `/`.

pub mod auth;
pub mod config;
pub mod error;
pub mod jwks;
pub mod metrics;
pub mod middleware;
pub mod ownership;
pub mod ratelimit;
pub mod routes;
pub mod services;
pub mod views;
pub mod web;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt as _;
pub use grpc_runtime::Shutdown;
use http::{HeaderName, HeaderValue, Method, header};
use regions::RegionsConfig;
use settings::{Report, Validate as _};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::Authenticator;
pub use crate::config::GatewayConfig;
use crate::metrics::Metrics;
use crate::middleware::SecurityHeaders;
use crate::ratelimit::KeyedLimiter;
use crate::services::Services;

/// What can stop the gateway from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration breaks a rule (e.g. `dev` auth in production).
    #[error(transparent)]
    Config(#[from] settings::SettingsError),
    /// Authentication could not be set up.
    #[error(transparent)]
    Auth(#[from] auth::AuthSetupError),
    /// A service channel could not be built.
    #[error(transparent)]
    Client(#[from] grpc_runtime::client::ClientError),
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A configured header value is not valid.
    #[error("invalid header value in the configuration ({0})")]
    Header(&'static str),
    /// The listener could not be bound, or serving failed.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Everything a handler needs, shared.
#[derive(Debug)]
pub struct AppState {
    /// The configuration.
    pub config: GatewayConfig,
    /// Regions (default region, webhook Authorization values).
    pub regions: Arc<RegionsConfig>,
    /// End-user authentication.
    pub auth: Authenticator,
    /// The services.
    pub services: Services,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Headers added to every response.
    pub security_headers: SecurityHeaders,
    /// Widget tokens per user.
    pub token_limiter: KeyedLimiter<String>,
    /// Failed webhook authentications per IP.
    pub webhook_failures: KeyedLimiter<IpAddr>,
    /// Links their users were recently confirmed to own (data reads).
    pub ownership: ownership::OwnershipCache,
    /// Fires when the gateway stops (ends event streams).
    pub shutdown: Shutdown,
}

/// A built gateway, bound but not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    state: Arc<AppState>,
}

impl Application {
    /// Validates the configuration, builds the app and binds the listener.
    pub async fn build(
        config: GatewayConfig,
        regions: RegionsConfig,
        shutdown: Shutdown,
    ) -> Result<Self, GatewayError> {
        Self::build_inner(config, regions, shutdown, None).await
    }

    /// As [`Application::build`], serving on `listener` (already bound; `server.listen_addr`
    /// is ignored).
    pub async fn build_with_listener(
        config: GatewayConfig,
        regions: RegionsConfig,
        shutdown: Shutdown,
        listener: TcpListener,
    ) -> Result<Self, GatewayError> {
        Self::build_inner(config, regions, shutdown, Some(listener)).await
    }

    async fn build_inner(
        config: GatewayConfig,
        regions: RegionsConfig,
        shutdown: Shutdown,
        listener: Option<TcpListener>,
    ) -> Result<Self, GatewayError> {
        let mut report = Report::new();
        config.validate(&mut report);
        report.into_result(config::ENV_PREFIX)?;
        for region in regions.regions() {
            if region.webhook_authorization().is_none() {
                tracing::warn!(
                    region = region.id().as_str(),
                    "region has no webhook_authorization: its webhooks are accepted unauthenticated"
                );
            }
        }
        let auth = Authenticator::new(&config.auth)?;
        let dev = auth.is_dev();
        if dev {
            tracing::warn!(
                "auth mode `dev`: POST /v1/dev/login issues tokens for any user; never use it in production"
            );
        }
        let state = Arc::new(AppState {
            services: Services::connect(&config.clients)?,
            metrics: Metrics::new()?,
            security_headers: SecurityHeaders::new(
                &web::csp_with_origins(
                    &config.security.content_security_policy,
                    &web::widget_origins(&regions),
                ),
                config.security.hsts,
            )
            .map_err(|_| GatewayError::Header("security.content_security_policy"))?,
            token_limiter: KeyedLimiter::new(config.limits.token_mints, config.limits.token_window),
            ownership: ownership::OwnershipCache::default(),
            webhook_failures: KeyedLimiter::new(
                config.limits.webhook_auth_failures,
                config.limits.webhook_failure_window,
            ),
            regions: Arc::new(regions),
            auth,
            shutdown,
            config,
        });
        let router = app(Arc::clone(&state), dev)?;
        let addr = state.config.server.listen_addr;
        let listener = match listener {
            Some(listener) => listener,
            None => TcpListener::bind(addr)
                .await
                .map_err(|source| GatewayError::Io { addr, source })?,
        };
        let addr = listener
            .local_addr()
            .map_err(|source| GatewayError::Io { addr, source })?;
        Ok(Self {
            listener,
            addr,
            router,
            state,
        })
    }

    /// The bound address (the real port when the configuration said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the shutdown fires, then lets in-flight requests finish for at most
    /// `server.shutdown_grace`.
    pub async fn run_until_stopped(self) -> Result<(), GatewayError> {
        let Self {
            listener,
            addr,
            router,
            state,
        } = self;
        let shutdown = state.shutdown.clone();
        let grace = state.config.server.shutdown_grace;
        tracing::info!(%addr, "gateway listening");
        let signal = shutdown.clone();
        // No Nagle delay: responses are small and latency-bound (Belvo's webhooks, API pages).
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "cannot set TCP_NODELAY");
            }
        });
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { signal.triggered().await });
        let drain_deadline = async {
            shutdown.triggered().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            result = server.into_future() => result.map_err(|source| GatewayError::Io { addr, source }),
            () = drain_deadline => {
                tracing::warn!(?grace, "drain took longer than the grace period; stopping anyway");
                Ok(())
            }
        }
    }
}

/// The router with every route and layer.
fn app(state: Arc<AppState>, dev: bool) -> Result<Router, GatewayError> {
    let mut router = routes::router(routes::table(dev))
        .merge(web::router())
        .layer(DefaultBodyLimit::max(state.config.limits.body_bytes));
    if !state.config.cors.allowed_origins.is_empty() {
        let origins = state
            .config
            .cors
            .allowed_origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o).map_err(|_| GatewayError::Header("cors.allowed_origins"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("x-request-id"),
                    HeaderName::from_static("traceparent"),
                    HeaderName::from_static("tracestate"),
                ])
                .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
                .max_age(std::time::Duration::from_secs(600)),
        );
    }
    // Outermost, so that every response (CORS preflights too) gets a request id, security
    // headers, a log line and metrics.
    let router = router.layer(axum::middleware::from_fn_with_state(
        Arc::clone(&state),
        middleware::observe,
    ));
    Ok(router.with_state(state))
}
