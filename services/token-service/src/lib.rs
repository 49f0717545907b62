//! token-service: mints Belvo Connect Widget access tokens for end users
//! (`connect.token.v1.TokenService`). For a region, an owner and the products (or Belvo
//! `fetch_resources`) wanted, it asks that region's Belvo account for an `access` token with
//! the region's settings (resources, retention, branding, callback URLs, theme, OFDA
//! consent), ties the future link to the owner through an opaque keyed-hash `external_id`,
//! writes an audit row, and returns the token with the widget's start-up configuration.
//! Update mode (`link_id`) is allowed only for a link link-service says the owner has.
//!
//! [`Application`] is built like every service of the platform
//! ([`grpc_runtime::Service::build`]: config, regions, listeners bound beforehand, shutdown).

mod body;
mod config;
mod error;
mod external_id;
mod links;
mod metrics;
mod request;
mod service;
mod store;

use belvo_accounts::BelvoAccounts;
use connect_proto::token::v1::token_service_server::TokenServiceServer;
use database::{Database, DatabaseError};
use grpc_runtime::client::ClientError;
use grpc_runtime::{Listeners, RunningServer, ServerError, Service, ServiceSet, Shutdown};
use regions::{RegionsConfig, SecretsUsed};
use secrecy::ExposeSecret as _;

pub use config::{
    BelvoConfig, Clients, Config, DEFAULT_ADMIN_PORT, DEFAULT_PORT, ENV_PREFIX,
    MIN_EXTERNAL_ID_KEY_LEN,
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
    /// The database cannot be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] DatabaseError),
    /// A region's Belvo client cannot be built.
    #[error(transparent)]
    Belvo(#[from] belvo_accounts::BuildError),
    /// The link-service client cannot be built.
    #[error("link-service client: {0}")]
    LinkService(#[from] ClientError),
    /// The gRPC or admin server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// A running token-service.
#[derive(Debug)]
pub struct Application {
    server: RunningServer,
}

impl Service for Application {
    const NAME: &'static str = "token-service";
    const ENV_PREFIX: &'static str = ENV_PREFIX;
    const SECRETS: SecretsUsed = SecretsUsed::BelvoKeys;
    const MIGRATOR: Option<&'static sqlx::migrate::Migrator> = Some(&MIGRATOR);
    type Config = Config;
    type Error = StartError;

    /// Opens (and migrates) the database, builds one Belvo client per region, connects
    /// link-service lazily when `[clients.link_service]` is set, and serves on `listeners`
    /// until `shutdown` fires.
    async fn build(
        config: Config,
        regions: RegionsConfig,
        listeners: Listeners,
        shutdown: Shutdown,
    ) -> Result<Self, StartError> {
        let db = Database::open(&config.database, &MIGRATOR).await?;
        let belvo = BelvoAccounts::build(&regions, &config.belvo)?;
        let links = config
            .clients
            .link_service
            .as_ref()
            .map(LinkDirectory::connect_lazy)
            .transpose()?;
        let registry = prometheus::Registry::new();
        let metrics = metrics::Metrics::register(&registry).map_err(ServerError::Metrics)?;
        let handlers = service::TokenHandlers::new(service::State {
            regions,
            belvo,
            store: store::Store::new(db.clone()),
            key: external_id::ExternalIdKey::new(config.external_id_key.expose_secret().as_bytes()),
            links,
            metrics,
        });
        let services = ServiceSet::new()
            .service(TokenServiceServer::new(handlers))
            .file_descriptor_set(connect_proto::FILE_DESCRIPTOR_SET);
        let server =
            grpc_runtime::serve(services, listeners, &config.server, &registry, shutdown).await?;
        Ok(Self {
            server: server.on_stop(async move { db.close().await }),
        })
    }

    fn server(&self) -> &RunningServer {
        &self.server
    }

    fn into_server(self) -> RunningServer {
        self.server
    }
}
