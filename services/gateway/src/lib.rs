//! The HTTP gateway facing the company's frontend and Belvo's webhooks (axum). It
//! authenticates end users (bearer JWTs: HS256, JWKS, or a dev mode for local runs), serves
//! the public JSON API by calling token-, link- and data-service over gRPC (with the
//! request's W3C trace context and request id), receives Belvo's webhooks and hands them to
//! data-service, and serves `/healthz`, `/readyz`, `/metrics` and a generated
//! `/openapi.json`, with `/metrics` on a separate admin address.
//!
//! [`Application`] is built like every service of the platform
//! ([`grpc_runtime::Service::build`]: config, regions, listeners bound beforehand, shutdown)
//! and drains within the grace period when the [`Shutdown`] fires. The web app (module
//! [`web`]) is served at `/`.

pub mod auth;
pub mod config;
pub mod error;
pub mod jwks;
pub mod metrics;
pub mod middleware;
pub mod ownership;
pub mod pseudonym;
pub mod ratelimit;
pub mod routes;
pub mod services;
pub mod views;
pub mod web;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
pub use grpc_runtime::Shutdown;
use grpc_runtime::{Listeners, RunningServer, ServerError, Service};
use http::{HeaderName, HeaderValue, Method, header};
use regions::{RegionsConfig, SecretsUsed};
use secrecy::ExposeSecret as _;
use settings::{Report, Validate as _};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::Authenticator;
pub use crate::config::GatewayConfig;
use crate::metrics::Metrics;
use crate::middleware::SecurityHeaders;
use crate::ratelimit::{KeyedCap, KeyedLimiter};
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
    /// The server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
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
    /// The names logs and traces give users (never their `sub`).
    pub pseudonyms: pseudonym::UserPseudonyms,
    /// The services.
    pub services: Services,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Headers added to every response.
    pub security_headers: SecurityHeaders,
    /// Widget tokens per user.
    pub token_limiter: KeyedLimiter<String>,
    /// Refreshes per user.
    pub refresh_limiter: KeyedLimiter<String>,
    /// Open event streams per user.
    pub event_streams: KeyedCap<String>,
    /// Failed webhook authentications per IP.
    pub webhook_failures: KeyedLimiter<IpAddr>,
    /// Links their users were recently confirmed to own (data reads).
    pub ownership: ownership::OwnershipCache,
    /// Fires when the gateway stops (ends event streams).
    pub shutdown: Shutdown,
}

/// The gateway, as the service skeleton builds and runs it.
#[derive(Debug)]
pub struct Application;

impl Service for Application {
    const NAME: &'static str = "gateway";
    const SECRETS: SecretsUsed = SecretsUsed::WebhookAuthorization;
    const LIST_KEYS: &'static [&'static str] = &["cors.allowed_origins"];
    type Config = GatewayConfig;
    type Error = GatewayError;
    type Running = RunningServer;

    /// Validates the configuration, builds the app and serves on `listeners` (`/metrics`
    /// on the admin one) until `shutdown` fires, then lets in-flight requests finish for
    /// at most `server.shutdown_grace`.
    async fn build(
        config: GatewayConfig,
        regions: RegionsConfig,
        listeners: Listeners,
        shutdown: Shutdown,
    ) -> Result<RunningServer, GatewayError> {
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
        let metrics = Metrics::new()?;
        let registry = metrics.registry().clone();
        let grace = config.server.shutdown_grace;
        let state = Arc::new(AppState {
            services: Services::connect(&config.clients)?,
            metrics,
            security_headers: SecurityHeaders::new(
                &web::csp_with_origins(
                    &config.security.content_security_policy,
                    &web::widget_origins(&regions),
                ),
                config.security.hsts,
            )
            .map_err(|_| GatewayError::Header("security.content_security_policy"))?,
            token_limiter: KeyedLimiter::new(config.limits.token_mints, config.limits.token_window),
            refresh_limiter: KeyedLimiter::new(
                config.limits.refreshes,
                config.limits.refresh_window,
            ),
            event_streams: KeyedCap::new(config.limits.event_streams),
            ownership: ownership::OwnershipCache::default(),
            webhook_failures: KeyedLimiter::new(
                config.limits.webhook_auth_failures,
                config.limits.webhook_failure_window,
            ),
            regions: Arc::new(regions),
            auth,
            pseudonyms: pseudonym::UserPseudonyms::new(
                config
                    .auth
                    .user_pseudonym_key
                    .as_ref()
                    .map(|k| k.expose_secret().as_bytes()),
            ),
            shutdown: shutdown.clone(),
            config,
        });
        let router = app(state, dev)?;
        Ok(
            grpc_runtime::serve_http(Self::NAME, router, listeners, grace, &registry, shutdown)
                .await?,
        )
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
