//! link-service: the links end users created in Belvo's Connect Widget, who owns each one,
//! and its status. It implements `connect.link.v1.LinkService`: verifies a link at Belvo
//! in its region and checks its `external_id` against the owner through token-service
//! before storing it, lists, reads, refreshes and deletes links, and moves them through
//! their status machine on Belvo's `LINK` webhooks. [`Application::build`] assembles the
//! whole service from a typed [`Config`] (and [`Application::build_with`] from already
//! loaded regions), so `main` and the tests start the same thing (tests on port 0) and
//! read the bound addresses back.

mod belvo_accounts;
pub mod config;
mod convert;
mod data_service;
mod error;
mod owners;
mod service;
mod store;

use std::net::SocketAddr;

use connect_proto::link::v1::link_service_server::LinkServiceServer;
use database::{Database, DatabaseError};
use grpc_runtime::client::{ClientError, connect_lazy};
use grpc_runtime::{Drain, Listeners, RunningServer, ServerError, ServiceSet, Shutdown, serve};
use regions::{RegionsConfig, SecretsUsed};

pub use config::{Config, ENV_PREFIX};
pub use error::{
    EXTERNAL_ID_MISMATCH, EXTERNAL_ID_UNKNOWN, LINK_DELETED, LINK_NOT_FOUND,
    LINK_OWNED_BY_ANOTHER_OWNER,
};

/// The service's migrations (`services/link-service/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// What can stop the service from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The regions file is missing or invalid.
    #[error("regions configuration: {0}")]
    Regions(#[from] regions::ConfigError),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] DatabaseError),
    /// A region's Belvo client could not be built.
    #[error("cannot build a Belvo client: {0}")]
    Belvo(#[from] belvo::Error),
    /// The token-service or data-service channel could not be built.
    #[error("service client: {0}")]
    Client(#[from] ClientError),
    /// The gRPC or admin server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// A running link-service.
#[derive(Debug)]
pub struct Application {
    server: RunningServer,
    shutdown: Shutdown,
    db: Database,
}

impl Application {
    /// Loads the regions file (`config.regions_file`, else `$REGIONS_FILE`; secrets and
    /// `REGION_*` overrides from `env`), then as [`Application::build_with`].
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
        Self::build_with(config, regions).await
    }

    /// Opens the database (running migrations unless turned off), builds one Belvo client
    /// per region, the token-service channel (`[clients.token_service]`) and the optional
    /// data-service channel (`[clients.data_service]`), both connected on first use, binds the listeners and serves until [`Application::shutdown`] fires.
    pub async fn build_with(config: Config, regions: RegionsConfig) -> Result<Self, StartError> {
        let db = Database::connect(&config.database).await?;
        if config.database.run_migrations {
            db.migrate(&MIGRATOR).await?;
        }
        let belvo = belvo_accounts::BelvoAccounts::build(&regions, &config.belvo)?;
        let external_ids = owners::ExternalIds::new(connect_lazy(&config.clients.token_service)?);
        let data = data_service::DataService::new(
            config
                .clients
                .data_service
                .as_ref()
                .map(connect_lazy)
                .transpose()?,
        );
        let links = service::Links::new(
            store::Store::new(db.pool().clone()),
            belvo,
            external_ids,
            data,
        );
        let services = ServiceSet::new()
            .service(LinkServiceServer::new(links))
            .file_descriptor_set(connect_proto::FILE_DESCRIPTOR_SET);
        let listeners = Listeners::bind(&config.server).await?;
        let registry = prometheus::Registry::new();
        let shutdown = Shutdown::new();
        let server = serve(
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
            regions = ?regions.ids().collect::<Vec<_>>(),
            "link-service listening"
        );
        Ok(Self {
            server,
            shutdown,
            db,
        })
    }

    /// The bound gRPC address.
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
