//! The harness: an emulator, a fresh database, data-service on port 0, and helpers to create
//! links at the emulator, feed its webhooks to data-service and wait for conditions.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use belvo::{Client, Credentials, Filters, RateBudget, RegisterLink, RetryPolicy};
use belvo_accounts::BelvoConfig;
use belvo_emulator::{Config as EmulatorConfig, Emulator, EmulatorHandle};
use connect_proto::data::v1 as pb;
use connect_proto::data::v1::data_service_client::DataServiceClient;
use data_service::Application;
use data_service::config::{Clients, Config, SyncConfig};
use database::Backend;
use database::testing::TestDatabase;
use futures::TryStreamExt;
use grpc_runtime::{Listeners, ServerConfig, Service as _, Shutdown};
use regions::RegionsConfig;
use serde_json::Value;
use tonic::transport::Channel;

pub(crate) const REGION: &str = "mx";
pub(crate) const OWNER: &str = "user-1";

pub(crate) struct Harness {
    pub(crate) emulator: EmulatorHandle,
    pub(crate) belvo: Client,
    /// Kept alive for the test; dropped (and the database with it) at the end.
    pub(crate) _db: TestDatabase,
    pub(crate) app: Option<Application>,
    pub(crate) shutdown: Shutdown,
    pub(crate) data: DataServiceClient<Channel>,
}

pub(crate) fn fast_sync() -> SyncConfig {
    SyncConfig {
        workers: 2,
        lease: Duration::from_secs(2),
        max_attempts: 30,
        retry_base: Duration::from_millis(10),
        retry_max: Duration::from_millis(100),
        poll_interval: Duration::from_millis(50),
        page_size: 50,
        ..SyncConfig::default()
    }
}

/// A Belvo client for the emulator with quick retries.
pub(crate) fn belvo_client(emulator: &EmulatorHandle) -> Client {
    let account = &emulator_config().accounts[0];
    Client::builder(
        emulator.url().parse().unwrap(),
        Credentials::new(account.secret_id.clone(), account.secret_password.clone()),
    )
    .retry_policy(RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    })
    .rate_budget(RateBudget::unlimited())
    .build()
    .unwrap()
}

/// Mexico of `local.toml`, pointed at the emulator with its account's keys and no rate budget
/// to speak of (the tests measure sync, not Belvo's firewall).
pub(crate) fn emulator_regions(emulator: &EmulatorHandle) -> RegionsConfig {
    let account = &emulator_config().accounts[0];
    RegionsConfig::from_toml_str(
        regions::shipped::LOCAL,
        [
            ("REGION_MX_ENVIRONMENT", emulator.url().to_owned()),
            ("REGION_MX_SECRET_ID", account.secret_id.clone()),
            ("REGION_MX_SECRET_PASSWORD", account.secret_password.clone()),
            ("REGION_MX_RATE_BUDGET_REQUESTS", "1000000".to_owned()),
            ("REGION_MX_RATE_BUDGET_PER_SECONDS", "1".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    )
    .unwrap()
}

fn emulator_config() -> EmulatorConfig {
    EmulatorConfig::for_tests()
}

impl Harness {
    /// Everything started with `sync`; `None` when PostgreSQL is unreachable outside CI.
    pub(crate) async fn start(backend: Backend, sync: SyncConfig) -> Option<Self> {
        Self::start_with(backend, sync, None).await
    }

    /// The same, with a link-service at `link_service`.
    pub(crate) async fn start_with(
        backend: Backend,
        sync: SyncConfig,
        link_service: Option<grpc_runtime::client::ClientConfig>,
    ) -> Option<Self> {
        Self::start_serving(backend, sync, link_service, ServerConfig::for_tests()).await
    }

    /// The same, with these server settings (internal callers' tokens, say).
    pub(crate) async fn start_serving(
        backend: Backend,
        sync: SyncConfig,
        link_service: Option<grpc_runtime::client::ClientConfig>,
        server: ServerConfig,
    ) -> Option<Self> {
        let db = TestDatabase::new(backend).await?;
        let emulator = Emulator::start(emulator_config()).await.unwrap();
        let belvo = belvo_client(&emulator);
        let shutdown = Shutdown::new();
        let app = replica(&db, &emulator, sync, link_service, server, shutdown.clone()).await;
        let data = DataServiceClient::connect(format!("http://{}", app.addr()))
            .await
            .unwrap();
        Some(Self {
            emulator,
            belvo,
            _db: db,
            app: Some(app),
            shutdown,
            data,
        })
    }

    /// Another data-service replica on the same database and emulator, stopped with the
    /// harness, and a client of it.
    pub(crate) async fn replica(&self, sync: SyncConfig) -> DataServiceClient<Channel> {
        let server = ServerConfig::for_tests();
        let app = replica(
            &self._db,
            &self.emulator,
            sync,
            None,
            server,
            self.shutdown.clone(),
        )
        .await;
        let client = DataServiceClient::connect(format!("http://{}", app.addr()))
            .await
            .unwrap();
        tokio::spawn(grpc_runtime::RunningServer::from(app).run_until_stopped());
        client
    }

    /// Creates a banking link at the emulator (its `historical_update` webhooks are recorded
    /// there, not delivered: tests feed them to data-service themselves).
    pub(crate) async fn create_link(&self, username: &str, fetch: &[&str]) -> uuid::Uuid {
        let link = self
            .belvo
            .links()
            .register(&RegisterLink {
                institution: "erebor_mx_retail".into(),
                username: username.into(),
                password: Some("full".into()),
                external_id: Some("ext-user-1".into()),
                fetch_resources: Some(fetch.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            })
            .await
            .unwrap();
        link.id.unwrap()
    }

    /// Tells data-service the link is registered (what link-service does).
    pub(crate) async fn register(&mut self, link: uuid::Uuid, fetch: &[&str]) -> i32 {
        self.data
            .notify_link_registered(pb::NotifyLinkRegisteredRequest {
                link_id: link.to_string(),
                region: REGION.into(),
                owner: OWNER.into(),
                fetch_resources: fetch.iter().map(|s| s.to_string()).collect(),
                refresh_rate: "7d".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .released_webhooks
    }

    /// The webhooks the emulator produced for `link` (oldest first), waiting for `count`.
    pub(crate) async fn webhooks(&self, link: uuid::Uuid, count: usize) -> Vec<Value> {
        let link = link.to_string();
        let records = self
            .emulator
            .control()
            .wait_for_webhooks(Duration::from_secs(10), |all| {
                all.iter()
                    .filter(|w| w.event["link_id"] == link.as_str())
                    .count()
                    >= count
            })
            .await
            .expect("the emulator produced the webhooks");
        records
            .into_iter()
            .filter(|w| w.event["link_id"] == link.as_str())
            .map(|w| w.event)
            .collect()
    }

    /// Makes the emulator send a webhook for `link` now; returns its body.
    pub(crate) async fn trigger(&self, link: uuid::Uuid, webhook_type: &str, code: &str) -> Value {
        let id = self
            .emulator
            .control()
            .trigger_webhook(
                link,
                belvo_emulator::WebhookTrigger {
                    webhook_type: webhook_type.into(),
                    webhook_code: code.into(),
                    data: None,
                    process_type: None,
                    request_id: None,
                },
            )
            .unwrap();
        let records = self
            .emulator
            .control()
            .wait_for_webhooks(Duration::from_secs(10), |all| {
                all.iter().any(|w| w.event["webhook_id"] == id.as_str())
            })
            .await
            .unwrap();
        records
            .into_iter()
            .find(|w| w.event["webhook_id"] == id.as_str())
            .unwrap()
            .event
    }

    /// Feeds one webhook body to data-service.
    pub(crate) async fn ingest(&mut self, event: &Value) -> pb::IngestOutcome {
        ingest(self.data.clone(), event.clone()).await
    }

    /// Every stored webhook.
    pub(crate) async fn webhook_events(&self) -> Vec<pb::WebhookEvent> {
        self.data
            .clone()
            .list_webhook_events(pb::ListWebhookEventsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .events
    }

    /// Waits until `resource` of `link` has succeeded with `records` rows.
    pub(crate) async fn wait_synced(
        &mut self,
        link: uuid::Uuid,
        resource: pb::Resource,
        records: Option<i64>,
    ) {
        let data = self.data.clone();
        eventually(Duration::from_secs(60), || {
            let mut data = data.clone();
            async move {
                let status = data
                    .get_sync_status(pb::GetSyncStatusRequest {
                        link_id: link.to_string(),
                        owner: String::new(),
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .link?;
                let r = status
                    .resources
                    .iter()
                    .find(|r| r.resource == resource as i32)?;
                let done = r.state == pb::SyncState::Succeeded as i32
                    && records.is_none_or(|n| r.records == n);
                done.then_some(())
            }
        })
        .await
        .unwrap_or_else(|| panic!("{resource:?} of {link} did not finish syncing"));
    }

    /// Every transaction id Belvo (the emulator) has for `link`.
    pub(crate) async fn belvo_ids(&self, link: uuid::Uuid, path: &str) -> BTreeSet<String> {
        self.belvo
            .list::<Value>(path, &Filters::new().link(link).page_size(1000))
            .map_ok(|v| v["id"].as_str().unwrap().to_owned())
            .try_collect()
            .await
            .unwrap()
    }

    /// Every transaction id data-service serves for `link`, paging through the API.
    pub(crate) async fn stored_transactions(&mut self, link: uuid::Uuid) -> Vec<pb::Record> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .data
                .list_transactions(pb::ListTransactionsRequest {
                    link_id: link.to_string(),
                    page: Some(pb::PageRequest {
                        page_size: 500,
                        page_token: token.clone(),
                    }),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            out.extend(page.records);
            if page.next_page_token.is_empty() {
                return out;
            }
            token = page.next_page_token;
        }
    }

    /// Requests the emulator received on `path` (GETs).
    pub(crate) fn belvo_gets(&self, path: &str) -> usize {
        self.emulator
            .control()
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count()
    }

    /// data-service's address, for clients of its own.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.app.as_ref().unwrap().addr())
    }

    pub(crate) async fn stop(mut self) {
        self.shutdown.trigger();
        if let Some(app) = self.app.take() {
            grpc_runtime::RunningServer::from(app)
                .run_until_stopped()
                .await
                .unwrap();
        }
        self.emulator.shutdown().await;
    }
}

/// data-service on `db`, talking to `emulator`, on port 0.
async fn replica(
    db: &TestDatabase,
    emulator: &EmulatorHandle,
    sync: SyncConfig,
    link_service: Option<grpc_runtime::client::ClientConfig>,
    server: ServerConfig,
    shutdown: Shutdown,
) -> Application {
    let config = Config {
        server,
        database: db.config(),
        sync,
        belvo: BelvoConfig {
            retry_base_delay: Duration::from_millis(5),
            retry_max_delay: Duration::from_millis(50),
            ..BelvoConfig::background()
        },
        clients: Clients { link_service },
        ..Config::default()
    };
    Application::build(
        config,
        emulator_regions(emulator),
        Listeners::local().await.unwrap(),
        shutdown,
    )
    .await
    .unwrap()
}

/// Polls `check` until it returns `Some`, or gives up after `deadline`.
pub(crate) async fn eventually<T, F, Fut>(deadline: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() > until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a scenario on SQLite, then on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $scenario:ident) => {
        mod $name {
            use database::Backend;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(Backend::Postgres).await;
            }
        }
    };
}

/// Feeds a webhook body to `IngestWebhook` (owning its client, so that many can run at once).
pub(crate) async fn ingest(
    mut data: DataServiceClient<Channel>,
    event: Value,
) -> pb::IngestOutcome {
    let response = data
        .ingest_webhook(pb::IngestWebhookRequest {
            region: REGION.into(),
            body: serde_json::to_vec(&event).unwrap(),
        })
        .await
        .unwrap()
        .into_inner();
    pb::IngestOutcome::try_from(response.outcome).unwrap()
}
