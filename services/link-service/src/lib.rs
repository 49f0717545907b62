//! link-service: the links end users created in Belvo's Connect Widget, who owns each one,
//! and its status. It implements `connect.link.v1.LinkService`: verifies a link at Belvo
//! in its region and checks its `external_id` against the owner through token-service
//! before storing it, lists, reads, refreshes and deletes links, and moves them through
//! their status machine on Belvo's `LINK` webhooks. [`Application`] is built like every
//! service of the platform ([`grpc_runtime::Service::build`]: config, regions, listeners
//! bound beforehand, shutdown), so `main` and the tests start the same thing.

pub mod config;
mod convert;
mod data_service;
mod error;
mod owners;
mod removals;
mod service;
mod store;
mod turns;

use belvo_accounts::BelvoAccounts;
use connect_proto::link::v1::link_service_server::LinkServiceServer;
use database::Database;
use grpc_runtime::client::connect_lazy;
use grpc_runtime::{
    Listeners, Readiness, RunningServer, Service, ServiceSet, Shutdown, StartError, serve,
};
use regions::RegionsConfig;

pub use config::Config;
pub use error::{
    EXTERNAL_ID_MISMATCH, EXTERNAL_ID_UNKNOWN, LINK_DELETED, LINK_NOT_FOUND,
    LINK_OWNED_BY_ANOTHER_OWNER,
};

/// The service's migrations (`services/link-service/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// link-service, as the service skeleton builds and runs it.
#[derive(Debug)]
pub struct Application;

impl Service for Application {
    const NAME: &'static str = "link-service";
    const MIGRATOR: Option<&'static sqlx::migrate::Migrator> = Some(&MIGRATOR);
    type Config = Config;
    type Error = StartError;
    type Running = RunningServer;

    /// Opens the database (running migrations unless turned off), builds one Belvo client
    /// per region, the token-service channel (`[clients.token_service]`) and the optional
    /// data-service channel (`[clients.data_service]`), both connected on first use, and
    /// serves on `listeners` until `shutdown` fires (NOT_SERVING until the schema is at this
    /// build's migration).
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
            regions::BelvoCaller::LinkService,
            &db,
        )?;
        let external_ids = owners::ExternalIds::new(connect_lazy(&config.clients.token_service)?);
        let data = data_service::DataService::new(
            config
                .clients
                .data_service
                .as_ref()
                .map(connect_lazy)
                .transpose()?,
        );
        let stop = shutdown.clone();
        let changes = database::Feed::start(&db, store::CHANGES_CHANNEL, async move {
            stop.triggered().await;
        });
        let gate = grpc_runtime::Gate::new(db.clone());
        let sealing = config
            .encryption
            .key_ring()
            .map_err(|e| StartError::Setup(Box::new(e)))?;
        let sealed = grpc_runtime::SealedColumns::new(
            db.clone(),
            sealing.clone(),
            store::SEALED,
            &registry,
        )?;
        let store = store::Store::new(db.pool().clone(), changes, sealing);
        let removals = removals::Removals::new(
            db.pool().clone(),
            store.clone(),
            belvo.clone(),
            data.clone(),
            external_ids.clone(),
            config.removals.clone(),
        );
        tokio::spawn(removals.clone().run(shutdown.clone()));
        let links = service::Links::new(
            store,
            belvo,
            external_ids,
            data,
            removals,
            gate.clone(),
            shutdown.clone(),
        );
        let readiness = Readiness::schema(&db, &MIGRATOR, shutdown.clone()).await;
        let services = ServiceSet::new()
            // NOT_SERVING until the schema is at this build's migration (the migrate Job).
            .ready_when(readiness.clone())
            .service(LinkServiceServer::new(links))
            .service(gate.audit_service())
            .service(sealed.key_usage_service(gate.clone()))
            .file_descriptor_set(connect_proto::FILE_DESCRIPTOR_SET);
        let stop = shutdown.clone();
        tokio::spawn(async move {
            if readiness.wait(&stop).await {
                sealed.run(config.encryption.reseal_every, stop).await;
            }
        });
        let server = serve(services, listeners, &config.server, &registry, shutdown).await?;
        tracing::info!(regions = ?regions.ids().collect::<Vec<_>>(), "link-service regions");
        Ok(server.on_stop(async move { db.close().await }))
    }
}
