//! token-service: mints Belvo Connect Widget access tokens for end users
//! (`connect.token.v1.TokenService`). For a region, an owner and the products (or Belvo
//! `fetch_resources`) wanted, it asks that region's Belvo account for an `access` token with
//! the region's settings (resources, retention, branding, callback URLs, theme, OFDA
//! consent), ties the future link to the owner through an opaque keyed-hash `external_id`,
//! writes an audit row, and returns the token with the widget's start-up configuration.
//! Update mode (`link_id`) is allowed only for a link link-service says the owner has.
//!
//! [`Application::build`] builds the whole service from a typed [`Config`] on already
//! resolved addresses (port 0 in tests) and exposes what it bound; `main.rs` only adds
//! telemetry, configuration loading and signals.

mod body;
mod config;
mod error;
mod external_id;
mod links;
mod metrics;
mod request;
mod service;
mod store;

use std::collections::HashMap;
use std::net::SocketAddr;

use connect_proto::token::v1::token_service_server::TokenServiceServer;
use database::{Database, DatabaseError};
use grpc_runtime::{Drain, Listeners, RunningServer, ServerError, ServiceSet, Shutdown};
use regions::{RegionsConfig, SecretsUsed};
use secrecy::ExposeSecret as _;

pub use config::{
    BelvoConfig, Config, DEFAULT_ADMIN_PORT, DEFAULT_PORT, ENV_PREFIX, LinkServiceConfig,
    MIN_EXTERNAL_ID_KEY_LEN, MigrateConfig,
};
pub use error::{
    REASON_EXTERNAL_ID_NOT_FOUND, REASON_LINK_NOT_FOUND, REASON_LINK_SERVICE_NOT_CONFIGURED,
    REASON_LINK_SERVICE_UNAVAILABLE,
};
pub use links::LinkDirectory;

/// The service's migrations (`services/token-service/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// What can stop the service from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The regions file is missing or invalid.
    #[error("regions configuration: {0}")]
    Regions(#[from] regions::ConfigError),
    /// The database cannot be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] DatabaseError),
    /// A region's Belvo client cannot be built.
    #[error("Belvo client for region {region}: {source}")]
    Belvo {
        /// The region.
        region: String,
        /// Why.
        #[source]
        source: belvo::Error,
    },
    /// The link-service URL cannot be used.
    #[error("link-service client: {0}")]
    LinkService(#[source] tonic::transport::Error),
    /// The gRPC or admin server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// A running token-service.
#[derive(Debug)]
pub struct Application {
    server: RunningServer,
    shutdown: Shutdown,
    db: Database,
}

impl Application {
    /// Builds and starts the service: loads the regions file (`config.regions_file`, else
    /// `$REGIONS_FILE`; secrets and `REGION_*` overrides from `env`), connects link-service
    /// when `config.link_service.url` is set, then as [`Application::build_with`].
    pub async fn build<K, V>(
        config: Config,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, StartError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let regions =
            RegionsConfig::load(config.regions_file.as_deref(), env, SecretsUsed::BelvoKeys)?;
        let links = match &config.link_service.url {
            Some(url) => Some(
                LinkDirectory::connect_lazy(
                    url,
                    config.link_service.bearer_token.clone(),
                    config.link_service.timeout,
                )
                .map_err(StartError::LinkService)?,
            ),
            None => None,
        };
        Self::build_with(config, regions, links).await
    }

    /// Builds and starts the service with already loaded regions and an optional
    /// link-service client (tests inject their own): opens and migrates the database,
    /// builds one Belvo client per region (sharing the region's rate budget), binds the
    /// listeners and serves until the [`Shutdown`] fires.
    pub async fn build_with(
        config: Config,
        regions: RegionsConfig,
        links: Option<LinkDirectory>,
    ) -> Result<Self, StartError> {
        let db = Database::connect(&config.database).await?;
        if config.database.run_migrations {
            db.migrate(&MIGRATOR).await?;
        }
        let mut belvo_clients = HashMap::new();
        for region in regions.regions() {
            let budget = region.rate_budget();
            let client = belvo::Client::builder(
                region.environment().clone(),
                belvo::Credentials::new(
                    region.secret_id().clone(),
                    region.secret_password().clone(),
                ),
            )
            .rate_budget(belvo::RateBudget::new(
                budget.requests.get(),
                budget.window(),
            ))
            .retry_policy(config.belvo.retry_policy())
            .timeout(config.belvo.timeout)
            .build()
            .map_err(|source| StartError::Belvo {
                region: region.id().as_str().to_owned(),
                source,
            })?;
            belvo_clients.insert(region.id().as_str().to_owned(), client);
        }
        let registry = prometheus::Registry::new();
        let metrics = metrics::Metrics::register(&registry).map_err(ServerError::Metrics)?;
        let handlers = service::TokenHandlers::new(service::State {
            regions,
            belvo: belvo_clients,
            store: store::Store::new(db.clone()),
            key: external_id::ExternalIdKey::new(config.external_id_key.expose_secret().as_bytes()),
            links,
            metrics,
        });

        let shutdown = Shutdown::new();
        let listeners = Listeners::bind(&config.server).await?;
        let services = ServiceSet::new()
            .service(TokenServiceServer::new(handlers))
            .file_descriptor_set(connect_proto::FILE_DESCRIPTOR_SET);
        let server = grpc_runtime::serve(
            services,
            listeners,
            &config.server,
            &registry,
            shutdown.clone(),
        )
        .await?;
        tracing::info!(
            grpc = %server.grpc_addr(),
            admin = %server.admin_addr(),
            "token-service listening"
        );
        Ok(Self {
            server,
            shutdown,
            db,
        })
    }

    /// The bound gRPC address (the real port when configured with port 0).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.server.grpc_addr()
    }

    /// The bound admin address (`/metrics`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.server.admin_addr()
    }

    /// The shutdown trigger: fire it (or let [`Shutdown::listen_for_signals`] fire it) to
    /// stop the service.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Waits until the shutdown fired and the server drained (health NOT_SERVING first),
    /// then closes the database pool.
    pub async fn run_until_stopped(self) -> Result<Drain, StartError> {
        let drained = self.server.wait().await;
        self.db.close().await;
        Ok(drained?)
    }

    /// Fires the shutdown and waits as [`Application::run_until_stopped`].
    pub async fn stop(self) -> Result<Drain, StartError> {
        self.shutdown.trigger();
        self.run_until_stopped().await
    }
}
