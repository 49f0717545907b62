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
use database::Database;
use grpc_runtime::{
    Gate, Listeners, Readiness, RunningServer, Service, ServiceSet, Shutdown, StartError,
};
use regions::RegionsConfig;
use secrecy::ExposeSecret as _;

pub use config::{
    BelvoConfig, Clients, Config, DEFAULT_ADMIN_PORT, DEFAULT_PORT, MIN_EXTERNAL_ID_KEY_LEN,
};
pub use error::{
    REASON_EXTERNAL_ID_NOT_FOUND, REASON_LINK_NOT_FOUND, REASON_LINK_SERVICE_NOT_CONFIGURED,
    REASON_LINK_SERVICE_UNAVAILABLE,
};
pub use links::LinkDirectory;

/// The service's migrations (`services/token-service/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// token-service, as the service skeleton builds and runs it.
#[derive(Debug)]
pub struct Application;

impl Service for Application {
    const NAME: &'static str = "token-service";
    const MIGRATOR: Option<&'static sqlx::migrate::Migrator> = Some(&MIGRATOR);
    type Config = Config;
    type Error = StartError;
    type Running = RunningServer;

    /// Opens (and migrates) the database, builds one Belvo client per region, connects
    /// link-service lazily when `[clients.link_service]` is set, and serves on `listeners`
    /// until `shutdown` fires (NOT_SERVING until the schema is at this build's migration).
    async fn build(
        config: Config,
        regions: RegionsConfig,
        listeners: Listeners,
        shutdown: Shutdown,
    ) -> Result<RunningServer, StartError> {
        let db = Database::open(&config.database, &MIGRATOR).await?;
        let registry = prometheus::Registry::new();
        let belvo_metrics = belvo_accounts::BelvoMetrics::register(&registry)?;
        let stop = shutdown.clone();
        db.report_up(&registry, async move {
            stop.triggered().await;
        })?;
        let belvo = BelvoAccounts::build(
            &regions,
            &config.belvo,
            &belvo_metrics,
            regions::BelvoCaller::TokenService,
            &db,
        )?;
        let links = config
            .clients
            .link_service
            .as_ref()
            .map(LinkDirectory::connect_lazy)
            .transpose()?;
        let metrics = metrics::Metrics::register(&registry)?;
        let gate = Gate::new(db.clone());
        let handlers = service::TokenHandlers::new(service::State {
            regions,
            belvo,
            store: store::Store::new(db.clone()),
            key: external_id::ExternalIdKey::new(config.external_id_key.expose_secret().as_bytes()),
            links,
            metrics,
            gate: gate.clone(),
        });
        let services = ServiceSet::new()
            // NOT_SERVING until the schema is at this build's migration (the migrate Job).
            .ready_when(Readiness::schema(&db, &MIGRATOR, shutdown.clone()).await)
            .service(TokenServiceServer::new(handlers))
            .service(gate.audit_service())
            .file_descriptor_set(connect_proto::FILE_DESCRIPTOR_SET);
        let server =
            grpc_runtime::serve(services, listeners, &config.server, &registry, shutdown).await?;
        Ok(server.on_stop(async move { db.close().await }))
    }
}
