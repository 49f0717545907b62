//! Builds data-service from its configuration and runs it: the gRPC server, the sync workers,
//! the freshness watchdog and the pass that retries unprocessed webhooks; all stop together on
//! shutdown (server drained first, workers hand back their jobs, then the pool closes). Until
//! the schema is at this build's migration version (the migrate Job ran), health is
//! NOT_SERVING and none of the background work starts.

use std::sync::Arc;

use belvo_accounts::BelvoAccounts;
use connect_proto::data::v1::data_service_server::DataServiceServer;
use connect_proto::link::v1::link_service_client::LinkServiceClient;
use database::Database;
use grpc_runtime::{
    Listeners, Readiness, RunningServer, SealedColumns, Service, ServiceSet, Shutdown, StartError,
};
use regions::RegionsConfig;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::api::Api;
use crate::config::Config;
use crate::inbox::{Inbox, LinkClient};
use crate::metrics::Metrics;
use crate::store::{self, Store};
use crate::sync::Engine;
use crate::watchdog;

/// The migrations (portable SQL for both backends).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A running data-service: its server, and its sync engine for tests to drive and observe.
#[derive(Debug)]
pub struct Application {
    server: RunningServer,
    engine: Engine,
    readiness: Readiness,
}

impl Application {
    /// The sync engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether the schema was found at this build's version, so health is SERVING and the
    /// workers, the watchdog and the webhook retry pass run.
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }
}

impl std::ops::Deref for Application {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        &self.server
    }
}

impl From<Application> for RunningServer {
    fn from(app: Application) -> Self {
        app.server
    }
}

impl Service for Application {
    const NAME: &'static str = "data-service";
    const MIGRATOR: Option<&'static sqlx::migrate::Migrator> = Some(&MIGRATOR);
    type Config = Config;
    type Error = StartError;
    type Running = Self;

    /// Opens (and migrates) the database, builds one Belvo client per region, serves on
    /// `listeners` and starts `config.sync.workers` workers, the webhook batches and the
    /// background passes, the workers and passes only once the schema is at this build's
    /// migration version (health NOT_SERVING until then). On shutdown the server drains
    /// first, then workers hand back their jobs, then the pool closes.
    async fn build(
        config: Config,
        regions: RegionsConfig,
        listeners: Listeners,
        shutdown: Shutdown,
    ) -> Result<Self, StartError> {
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
            regions::BelvoCaller::DataService,
            &db,
        )?;
        let links: Option<LinkClient> = config
            .clients
            .link_service
            .as_ref()
            .map(|client| grpc_runtime::client::connect_lazy(client).map(LinkServiceClient::new))
            .transpose()?;
        let metrics = Metrics::register(&registry)?;
        // Sync progress of every replica, for the status streams.
        let stop = shutdown.clone();
        let changes = database::Feed::start(&db, "data_sync_changes", async move {
            stop.triggered().await;
        });
        let sealing = config
            .encryption
            .key_ring()
            .map_err(|e| StartError::Setup(Box::new(e)))?;
        let sealed = SealedColumns::new(db.clone(), sealing.clone(), store::SEALED, &registry)?;
        let mut store = Store::new(db.clone(), sealing);
        if !config.sync.priorities {
            store = store.first_come_first_served();
        }
        if !config.sync.change_log {
            store = store.without_change_log();
        }
        let engine = Engine {
            metrics,
            store,
            belvo: Arc::new(belvo),
            config: config.sync.clone(),
            wake: Arc::new(Notify::new()),
            changes,
            stop: shutdown.clone(),
        };
        let (inbox, batches) = Inbox::new(engine.clone(), links, config.webhooks.batches_in_flight);
        let readiness = Readiness::schema(&db, &MIGRATOR, shutdown.clone()).await;
        let gate = grpc_runtime::Gate::new(db.clone());
        let services = ServiceSet::new()
            .ready_when(readiness.clone())
            .service(DataServiceServer::new(Api {
                inbox: inbox.clone(),
                gate: gate.clone(),
            }))
            .service(gate.audit_service())
            .service(sealed.key_usage_service(gate.clone()))
            .file_descriptor_set(connect_proto::FILE_DESCRIPTOR_SET);
        let server =
            grpc_runtime::serve(services, listeners, &config.server, &registry, shutdown).await?;

        let mut tasks = JoinSet::new();
        let host = std::process::id();
        for n in 0..config.sync.workers {
            let worker = format!("{host}-{n}-{}", uuid::Uuid::new_v4().simple());
            tasks.spawn(once_ready(
                readiness.clone(),
                engine.stop.clone(),
                engine.clone().run_worker(worker),
            ));
        }
        tasks.spawn(batches);
        tasks.spawn(once_ready(
            readiness.clone(),
            engine.stop.clone(),
            background(inbox, engine.clone()),
        ));
        tasks.spawn(once_ready(
            readiness.clone(),
            engine.stop.clone(),
            sealed.run(config.encryption.reseal_every, engine.stop.clone()),
        ));
        let server = server.on_stop(async move {
            while tasks.join_next().await.is_some() {}
            db.close().await;
        });
        Ok(Self {
            server,
            engine,
            readiness,
        })
    }
}

/// Runs `work` once `readiness` holds; never if the shutdown comes first.
async fn once_ready(readiness: Readiness, stop: Shutdown, work: impl Future<Output = ()>) {
    if readiness.wait(&stop).await {
        work.await;
    }
}

/// The watchdog and the retry pass for webhooks left unprocessed, until shutdown.
async fn background(inbox: Inbox, engine: Engine) {
    let stop = engine.stop.clone();
    let mut watchdog_tick = tokio::time::interval(engine.config.watchdog_interval);
    let mut retry_tick = tokio::time::interval(
        engine
            .config
            .poll_interval
            .max(std::time::Duration::from_secs(1))
            * 5,
    );
    loop {
        tokio::select! {
            () = stop.triggered() => return,
            _ = watchdog_tick.tick() => {
                if let Err(e) = watchdog::reconcile_overdue(&engine).await {
                    tracing::error!(error = %e, "freshness watchdog failed");
                }
                if let Err(e) = watchdog::delete_expired(&engine).await {
                    tracing::error!(error = %e, "removing expired jobs and webhooks failed");
                }
            }
            _ = retry_tick.tick() => {
                if let Err(e) = inbox.retry_unprocessed().await {
                    tracing::error!(error = %e, "retrying unprocessed webhooks failed");
                }
                match engine.store.gauges(crate::store::now_ms()).await {
                    Ok(g) => engine.metrics.show(&g),
                    Err(e) => tracing::warn!(error = %e, "cannot read the queue's gauges"),
                }
            }
        }
    }
}
