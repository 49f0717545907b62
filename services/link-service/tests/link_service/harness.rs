//! The test bench: an in-process Belvo emulator with two accounts (regions `mx` and `co`),
//! a fake token-service that resolves the external ids a test minted, a fake data-service
//! that records what link-service tells it, a fresh database on the chosen backend, and
//! link-service itself on port 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use belvo_accounts::BelvoConfig;
use belvo_emulator::{Account, Emulator, EmulatorHandle};
use connect_proto::data::v1::data_service_server::DataServiceServer;
use connect_proto::link::v1::link_service_client::LinkServiceClient;
use connect_proto::token::v1::token_service_server::{TokenService, TokenServiceServer};
use connect_proto::token::v1::{
    CreateWidgetTokenRequest, CreateWidgetTokenResponse, EraseOwnerRequest, EraseOwnerResponse,
    ResolveExternalIdRequest, ResolveExternalIdResponse,
};
use database::Backend;
use database::testing::TestDatabase;
use grpc_runtime::Service as _;
use grpc_runtime::client::ClientConfig;
use grpc_runtime::{Listeners, RunningServer, ServerConfig, ServiceSet, Shutdown};
use link_service::{Application, Config};
use secrecy::SecretString;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::fake_data::FakeData;

pub(crate) const MX: (&str, &str) = ("mx-secret-id", "mx-secret-password");
pub(crate) const CO: (&str, &str) = ("co-secret-id", "co-secret-password");

/// Runs `$name(backend)` once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(database::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(database::Backend::Postgres).await;
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

/// external_id → (owner, whether its token is recent), as token-service would have recorded
/// when minting.
#[derive(Clone, Default)]
pub(crate) struct FakeTokens {
    minted: Arc<Mutex<HashMap<String, (String, bool)>>>,
    calls: Arc<Mutex<Vec<String>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl FakeTokens {
    /// Mints an external id for `owner`, with a token valid now.
    pub(crate) fn mint(&self, owner: &str) -> String {
        self.mint_with(owner, true)
    }

    /// An external id `owner` got long ago: no token for it is valid now, so a link created
    /// with it now is not theirs.
    pub(crate) fn mint_long_ago(&self, owner: &str) -> String {
        self.mint_with(owner, false)
    }

    fn mint_with(&self, owner: &str, recent: bool) -> String {
        let external_id = format!("ext-{}", Uuid::new_v4().simple());
        self.minted
            .lock()
            .unwrap()
            .insert(external_id.clone(), (owner.to_owned(), recent));
        external_id
    }

    /// Makes an already minted external id resolve to another owner.
    pub(crate) fn reassign(&self, external_id: &str, owner: &str) {
        self.minted
            .lock()
            .unwrap()
            .insert(external_id.to_owned(), (owner.to_owned(), true));
    }

    /// Makes `EraseOwner` answer UNAVAILABLE (`true`) or work again (`false`).
    pub(crate) fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// The external ids resolved so far (`<id>@<region>` when asked for a link's creation).
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[tonic::async_trait]
impl TokenService for FakeTokens {
    async fn create_widget_token(
        &self,
        _request: Request<CreateWidgetTokenRequest>,
    ) -> Result<Response<CreateWidgetTokenResponse>, Status> {
        Err(Status::unimplemented("not in this fake"))
    }

    async fn resolve_external_id(
        &self,
        request: Request<ResolveExternalIdRequest>,
    ) -> Result<Response<ResolveExternalIdResponse>, Status> {
        let request = request.into_inner();
        let external_id = request.external_id;
        let at_creation = request.link_created_at.map(|created| {
            // A link created now, in a region: the tokens of the last quarter hour count.
            let now = chrono::Utc::now().timestamp();
            (created.seconds - now).abs() < 900 && !request.region.is_empty()
        });
        self.calls.lock().unwrap().push(match at_creation {
            Some(_) => format!("{external_id}@{}", request.region),
            None => external_id.clone(),
        });
        let found = self.minted.lock().unwrap().get(&external_id).cloned();
        match (found, at_creation) {
            (Some((owner, recent)), at) if at.is_none() || (recent && at == Some(true)) => {
                Ok(Response::new(ResolveExternalIdResponse {
                    owner,
                    first_issued_at: None,
                }))
            }
            _ => Err(Status::not_found(
                "no such external id (with a token at that time)",
            )),
        }
    }

    async fn erase_owner(
        &self,
        request: Request<EraseOwnerRequest>,
    ) -> Result<Response<EraseOwnerResponse>, Status> {
        let owner = request.into_inner().owner;
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Status::unavailable("fake token-service is down"));
        }
        self.calls.lock().unwrap().push(format!("erase:{owner}"));
        let mut minted = self.minted.lock().unwrap();
        let before = minted.len();
        minted.retain(|_, (o, _)| *o != owner);
        Ok(Response::new(EraseOwnerResponse {
            rows_erased: (before - minted.len()) as i64,
        }))
    }
}

/// A configuration tweak: the removal worker looks for work every 50 ms and retries within
/// 20-200 ms, so tests see durable removals finish quickly.
pub(crate) fn fast_removals(config: &mut Config) {
    config.removals.poll_interval = std::time::Duration::from_millis(50);
    config.removals.retry_base = std::time::Duration::from_millis(20);
    config.removals.retry_max = std::time::Duration::from_millis(200);
}

/// Everything a test talks to.
pub(crate) struct Bench {
    pub(crate) emulator: EmulatorHandle,
    pub(crate) links: LinkServiceClient<Channel>,
    pub(crate) tokens: FakeTokens,
    pub(crate) data: FakeData,
    pub(crate) mx: belvo::Client,
    pub(crate) co: belvo::Client,
    app: grpc_runtime::RunningServer,
    token_server: RunningServer,
    db: TestDatabase,
    /// What link-service was started with, for more replicas.
    config: Config,
}

impl Bench {
    /// Starts everything; `None` when PostgreSQL is unreachable outside CI (the skip is
    /// reported by `TestDatabase`).
    pub(crate) async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {}).await
    }

    /// Like [`Bench::start`], with a chance to change link-service's configuration.
    pub(crate) async fn start_with(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<Self> {
        let db = TestDatabase::new(backend).await?;
        let emulator = Emulator::start(belvo_emulator::Config {
            accounts: vec![Account::new(MX.0, MX.1), Account::new(CO.0, CO.1)],
            // Belvo's own limit on synchronous deletes (5 a minute) stays on.
            ..belvo_emulator::Config::for_tests()
        })
        .await
        .unwrap();

        let tokens = FakeTokens::default();
        let data = FakeData::default();
        let token_config = ServerConfig::for_tests();
        // One server for both fakes: token-service and data-service.
        let token_server = grpc_runtime::serve(
            ServiceSet::new()
                .service(TokenServiceServer::new(tokens.clone()))
                .service(DataServiceServer::new(data.clone())),
            Listeners::local().await.unwrap(),
            &token_config,
            &prometheus::Registry::new(),
            Shutdown::new(),
        )
        .await
        .unwrap();

        let regions = regions::RegionsConfig::from_toml_str(
            &regions_toml(emulator.url()),
            Vec::<(String, String)>::new(),
        )
        .unwrap();
        let mut config = Config::default();
        config.server = ServerConfig::for_tests();
        config.database = db.config();
        config.clients.token_service = ClientConfig::new(format!("http://{}", token_server.addr()));
        config.clients.data_service =
            Some(ClientConfig::new(format!("http://{}", token_server.addr())));
        config.belvo = BelvoConfig::no_retries();
        tweak(&mut config);
        let app = Application::build(
            config.clone(),
            regions,
            Listeners::local().await.unwrap(),
            Shutdown::new(),
        )
        .await
        .unwrap();
        let links = LinkServiceClient::connect(format!("http://{}", app.addr()))
            .await
            .unwrap();
        let belvo = |keys: (&str, &str)| {
            belvo::Client::builder(
                emulator.url().parse::<belvo::Environment>().unwrap(),
                belvo::Credentials::new(SecretString::from(keys.0), SecretString::from(keys.1)),
            )
            .retry_policy(belvo::RetryPolicy::none())
            .build()
            .unwrap()
        };
        Some(Self {
            mx: belvo(MX),
            co: belvo(CO),
            emulator,
            links,
            tokens,
            data,
            app,
            token_server,
            db,
            config,
        })
    }

    /// Another link-service replica on the same database (stopped with the returned server),
    /// and a client of it.
    pub(crate) async fn replica(
        &self,
    ) -> (grpc_runtime::RunningServer, LinkServiceClient<Channel>) {
        let regions = regions::RegionsConfig::from_toml_str(
            &regions_toml(self.emulator.url()),
            Vec::<(String, String)>::new(),
        )
        .unwrap();
        let app = Application::build(
            self.config.clone(),
            regions,
            Listeners::local().await.unwrap(),
            Shutdown::new(),
        )
        .await
        .unwrap();
        let client = LinkServiceClient::connect(format!("http://{}", app.addr()))
            .await
            .unwrap();
        (app, client)
    }

    /// A Mexican link created at the emulator for `owner` and registered by them.
    pub(crate) async fn registered_link(&self, owner: &str) -> Uuid {
        let id = self.create_link(&self.mx, owner).await;
        self.client()
            .register_link(crate::register::register(owner, &id.to_string(), "mx"))
            .await
            .unwrap();
        id
    }

    /// Belvo's JSON of a link as link-service stored it.
    pub(crate) async fn stored_belvo_json(&self, id: Uuid) -> serde_json::Value {
        let json: String = sqlx::query_scalar("SELECT belvo_json FROM links WHERE link_id = $1")
            .bind(id.to_string())
            .fetch_one(self.db.db().pool())
            .await
            .unwrap();
        serde_json::from_str(&json).unwrap()
    }

    /// Creates a link at the emulator (as the widget would) with an external id minted for
    /// `owner`; returns its id.
    pub(crate) async fn create_link(&self, account: &belvo::Client, owner: &str) -> Uuid {
        let external_id = self.tokens.mint(owner);
        self.create_link_with_external_id(account, Some(external_id))
            .await
    }

    /// Creates a link at the emulator with this external id.
    pub(crate) async fn create_link_with_external_id(
        &self,
        account: &belvo::Client,
        external_id: Option<String>,
    ) -> Uuid {
        let user = format!("user_{}", Uuid::new_v4().simple());
        let link = account
            .links()
            .register(&belvo::RegisterLink {
                institution: "erebor_mx_retail".into(),
                username: user,
                password: Some(SecretString::from("pass_good")),
                external_id,
                access_mode: Some("recurrent".into()),
                fetch_resources: Some(vec!["ACCOUNTS".into(), "TRANSACTIONS".into()]),
                ..Default::default()
            })
            .await
            .unwrap();
        link.id.unwrap()
    }

    /// link-service's Prometheus `/metrics`, as scraped.
    pub(crate) async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.app.admin_addr());
        reqwest::get(url).await.unwrap().text().await.unwrap()
    }

    /// A fresh client (the one in `links` needs `&mut` for calls).
    /// Belvo's link takes `status` (what a `LINK` webhook then says, and is confirmed by).
    pub(crate) fn belvo_sets(&self, link_id: &str, status: belvo_emulator::LinkStatus) {
        self.emulator
            .control()
            .set_link_status(link_id.parse().unwrap(), status, false)
            .unwrap();
    }

    pub(crate) fn client(&self) -> LinkServiceClient<Channel> {
        self.links.clone()
    }

    /// link-service's database.
    pub(crate) fn pool(&self) -> &sqlx::AnyPool {
        self.db.db().pool()
    }

    /// link-service's address, for clients of its own.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.app.addr())
    }

    /// Stops link-service, the fake token-service and the emulator.
    pub(crate) async fn stop(self) {
        self.app.stop().await.unwrap();
        self.token_server.stop().await.unwrap();
        self.emulator.shutdown().await;
    }
}

fn regions_toml(emulator: &str) -> String {
    let region = |id: &str, name: &str, keys: (&str, &str), country: &str| {
        format!(
            r#"
[regions.{id}]
display_name = "{name}"
environment = "{emulator}"
secret_id = {{ value = "{}" }}
secret_password = {{ value = "{}" }}
widget = "multi_region"
locale = "es"
country_codes = ["{country}"]
widget_script_url = "{emulator}/belvo-widget-1-stable.js"
hosted_widget_url = "{emulator}/widget/"
# The tests measure links, not Belvo's firewall.
rate_budget = {{ requests = 1000000, per_seconds = 1 }}

[regions.{id}.branding]
company_name = "Connect (tests)"
company_icon = "http://127.0.0.1/icon.svg"
company_logo = "http://127.0.0.1/logo.svg"
company_terms_url = "http://127.0.0.1/terms"

[regions.{id}.products.banking]
fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"]
"#,
            keys.0, keys.1
        )
    };
    format!(
        "{}{}",
        region("mx", "Mexico (tests)", MX, "MX"),
        region("co", "Colombia (tests)", CO, "CO")
    )
}
