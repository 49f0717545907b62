//! The harness: the Belvo emulator and token-service in process on port 0, a fresh database
//! per test on the chosen backend, an optional fake link-service, and assertion helpers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use belvo_emulator::{
    Account, Config as EmulatorConfig, Emulator, EmulatorHandle, Fault, FaultSpec,
};
use connect_proto::link::v1::link_service_server::{LinkService, LinkServiceServer};
use connect_proto::link::v1::*;
use connect_proto::token::v1::token_service_client::TokenServiceClient;
use connect_proto::token::v1::{CreateWidgetTokenRequest, CreateWidgetTokenResponse};
use database::Backend;
use database::testing::TestDatabase;
use grpc_runtime::client::ClientConfig;
use grpc_runtime::{Listeners, Service as _};
use grpc_runtime::{RunningServer, ServerConfig, ServiceSet, Shutdown};
use regions::RegionsConfig;
use secrecy::SecretString;
use token_service::{Application, BelvoConfig, Config};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt as _;

pub(crate) const KEY: &str = "test-external-id-key-0123456789abcdef";

/// Region key → (secret id, secret password) the emulator knows.
pub(crate) const MX: (&str, &str) = ("mx-secret-id", "mx-secret-password");
pub(crate) const CO: (&str, &str) = ("co-secret-id", "co-secret-password");
pub(crate) const BR: (&str, &str) = ("br-secret-id", "br-secret-password");

/// How the service reaches link-service in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// Not configured.
    None,
    /// The in-process fake.
    Fake,
    /// Configured, but nothing listens there.
    Unreachable,
}

/// Runs a scenario once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
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
        )+
    };
}
pub(crate) use on_both_backends;

pub(crate) struct Harness {
    pub(crate) emulator: EmulatorHandle,
    pub(crate) client: TokenServiceClient<Channel>,
    pub(crate) db: TestDatabase,
    pub(crate) links: FakeLinks,
    pub(crate) addr: std::net::SocketAddr,
    app: Option<RunningServer>,
    link_server: Option<RunningServer>,
}

/// The regions every test has: Mexico and Colombia (multi-region, each its own Belvo
/// account), Brazil (OFDA), and `zz` whose keys Belvo does not know.
pub(crate) fn regions_toml(emulator_url: &str) -> String {
    let multi = |id: &str, keys: (&str, &str), country: &str| {
        format!(
            r##"
[regions.{id}]
environment = "{emulator_url}"
secret_id = {{ value = "{}" }}
secret_password = {{ value = "{}" }}
widget = "multi_region"
locale = "es"
country_codes = ["{country}"]
access_mode = "recurrent"
stale_in = "300d"
credentials_storage = "store"
widget_script_url = "{emulator_url}/belvo-widget-1-stable.js"
hosted_widget_url = "{emulator_url}/widget/"
# The tests measure tokens, not Belvo's firewall.
rate_budget = {{ requests = 1000000, per_seconds = 1 }}
[regions.{id}.branding]
company_name = "ACME {id}"
company_icon = "https://acme.example/icon.svg"
company_logo = "https://acme.example/logo.svg"
company_terms_url = "https://acme.example/terms"
[regions.{id}.theme]
"--color-primary-base" = "#0663F9"
[regions.{id}.products.banking]
fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS", "INCOMES"]
institution_types = ["retail", "business"]
"##,
            keys.0, keys.1
        ) + &if country == "MX" {
            format!(
                "[regions.{id}.products.employment]\nfetch_resources = [\"EMPLOYMENT_RECORDS\"]\n\
                 [regions.{id}.products.fiscal]\nfetch_resources = [\"INVOICES\", \"TAX_RETURNS\", \"TAX_STATUS\"]\n"
            )
        } else {
            String::new()
        }
    };
    let mut toml = String::from("default_region = \"mx\"\n");
    toml.push_str(&multi("mx", MX, "MX"));
    toml.push_str(&multi("co", CO, "CO"));
    toml.push_str(&multi("zz", ("unknown-id", "unknown-password"), "MX"));
    // A Belvo nobody answers for: the connection is refused.
    toml.push_str(&multi("off", MX, "MX").replace(emulator_url, "http://127.0.0.1:1"));
    toml.push_str(&format!(
        r#"
[regions.br]
environment = "{emulator_url}"
secret_id = {{ value = "{}" }}
secret_password = {{ value = "{}" }}
widget = "ofda"
locale = "pt"
country_codes = ["BR"]
stale_in = "365d"
[regions.br.branding]
company_name = "ACME BR"
company_icon = "https://acme.example/icon.svg"
company_logo = "https://acme.example/logo.svg"
company_terms_url = "https://acme.example/termos"
[regions.br.callback_urls]
success = "https://acme.example/success"
exit = "https://acme.example/exit"
event = "https://acme.example/event"
[regions.br.consent]
purpose = "Soluções financeiras personalizadas"
terms_and_conditions_url = "https://acme.example/termos-open-finance"
# The emulator knows no OFDA-only resources (BILLS, ...): the unit tests cover those.
[regions.br.products.banking]
fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"]
"#,
        BR.0, BR.1
    ));
    toml
}

pub(crate) async fn start_emulator() -> EmulatorHandle {
    let mut config = EmulatorConfig::for_tests();
    // Not the documented 10 minutes (Belvo's own example token lives 20): token-service must
    // show the token's own expiry.
    config.widget_token_ttl = std::time::Duration::from_secs(1200);
    config.accounts = vec![
        Account::new(MX.0, MX.1),
        Account::new(CO.0, CO.1),
        Account::new(BR.0, BR.1),
    ];
    Emulator::start(config).await.unwrap()
}

/// The service's configuration for a test: port 0, this database, quick Belvo retries.
pub(crate) fn test_config(db: &TestDatabase) -> Config {
    let mut config = Config::default();
    config.server = ServerConfig::for_tests();
    config.database = db.config();
    config.external_id_key = SecretString::from(KEY);
    config.belvo = BelvoConfig {
        timeout: Duration::from_millis(1500),
        max_retries: 1,
        max_unexpected_error_retries: 1,
        retry_base_delay: Duration::from_millis(10),
        ..BelvoConfig::interactive()
    };
    config
}

impl Harness {
    /// Starts everything, or `None` when PostgreSQL is unreachable outside CI.
    pub(crate) async fn start(backend: Backend, links: Links) -> Option<Self> {
        Self::start_with(backend, links, |_| {}).await
    }

    /// As [`Harness::start`], with the service's configuration adjusted by `customize`.
    pub(crate) async fn start_with(
        backend: Backend,
        links: Links,
        customize: impl FnOnce(&mut Config),
    ) -> Option<Self> {
        let db = TestDatabase::new(backend).await?;
        let emulator = start_emulator().await;
        let regions = RegionsConfig::from_toml_str(
            &regions_toml(emulator.url()),
            Vec::<(String, String)>::new(),
        )
        .unwrap();
        let fake = FakeLinks::default();
        let (link_service, link_server) = match links {
            Links::None => (None, None),
            Links::Fake => {
                let server = fake.serve().await;
                let client = ClientConfig {
                    bearer_token: Some(SecretString::from("token-service-secret-0123")),
                    request_timeout: Duration::from_secs(5),
                    ..ClientConfig::new(format!("http://{}", server.addr()))
                };
                (Some(client), Some(server))
            }
            Links::Unreachable => {
                // A port that was free a moment ago: nothing listens there.
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                drop(listener);
                let client = ClientConfig {
                    connect_timeout: Duration::from_secs(2),
                    request_timeout: Duration::from_secs(2),
                    ..ClientConfig::new(url)
                };
                (Some(client), None)
            }
        };
        let mut config = test_config(&db);
        config.clients.link_service = link_service;
        customize(&mut config);
        let app = Application::build(
            config,
            regions,
            Listeners::local().await.unwrap(),
            Shutdown::new(),
        )
        .await
        .unwrap();
        let addr = app.addr();
        let client = TokenServiceClient::new(channel(addr).await);
        Some(Self {
            emulator,
            client,
            db,
            links: fake,
            addr,
            app: Some(app),
            link_server,
        })
    }

    /// Asks for a token.
    pub(crate) async fn create(
        &self,
        request: CreateWidgetTokenRequest,
    ) -> Result<CreateWidgetTokenResponse, Status> {
        self.client
            .clone()
            .create_widget_token(request)
            .await
            .map(Response::into_inner)
    }

    /// Widget-token requests the emulator received.
    pub(crate) fn token_requests(&self) -> usize {
        self.emulator
            .control()
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/api/token/")
            .count()
    }

    /// Makes every `POST /api/token/` fail with `fault` until removed.
    pub(crate) fn fail_tokens(&self, fault: Fault) -> u64 {
        self.emulator.control().add_fault(FaultSpec {
            path: "/api/token/".into(),
            method: Some("POST".into()),
            fault,
            probability: None,
            count: None,
            seed: None,
        })
    }

    /// Creates a link at the emulator with `keys`' account (sandbox credentials).
    pub(crate) async fn belvo_link(&self, keys: (&str, &str)) -> uuid::Uuid {
        let environment: belvo::Environment = self.emulator.url().parse().unwrap();
        let client = belvo::Client::builder(environment, belvo::Credentials::new(keys.0, keys.1))
            .build()
            .unwrap();
        let link = client
            .links()
            .register(&belvo::RegisterLink {
                institution: "erebor_mx_retail".into(),
                // A user of its own, so that Belvo sees no duplicate.
                username: format!("user_{}", uuid::Uuid::new_v4().simple()),
                password: Some(SecretString::from("pass_valid")),
                ..Default::default()
            })
            .await
            .unwrap();
        link.id.unwrap()
    }

    /// Stops the service and the fake link-service, then the emulator.
    pub(crate) async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await.unwrap();
        }
        if let Some(server) = self.link_server.take() {
            server.stop().await.unwrap();
        }
        self.emulator.shutdown().await;
    }
}

pub(crate) async fn channel(addr: std::net::SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

impl Harness {
    /// What the emulator's widget sees for a token: the body Belvo received (mode, link,
    /// fetch_resources, external_id, branding, callback_urls).
    pub(crate) async fn widget_session(&self, access_token: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("{}/_widget/api/session", self.emulator.url()))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Creates a link through the emulator's widget with a token, as the user would, and
    /// returns Belvo's link.
    pub(crate) async fn link_through_widget(&self, access_token: &str) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}/_widget/api/links", self.emulator.url()))
            .bearer_auth(access_token)
            .json(&serde_json::json!({
                "institution": "erebor_mx_retail",
                "username": format!("user_{}", uuid::Uuid::new_v4().simple()),
                "password": "pass_valid",
            }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The claims of the emulator's JWT-shaped access token: what Belvo received.
pub(crate) fn claims(access_token: &str) -> serde_json::Value {
    let payload = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Asserts INVALID_ARGUMENT with a BadRequest naming `field`.
#[track_caller]
pub(crate) fn assert_bad_field(result: Result<CreateWidgetTokenResponse, Status>, field: &str) {
    let status = result.expect_err("expected INVALID_ARGUMENT");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = status
        .get_details_bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert!(
        fields.iter().any(|f| f == field),
        "expected a violation of {field}, got {fields:?}"
    );
}

/// The `ErrorInfo` (reason, domain, metadata) of a status.
pub(crate) fn error_info(status: &Status) -> (String, String, HashMap<String, String>) {
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    (info.reason, info.domain, info.metadata)
}

/// A link the fake knows: owner, region, status.
type FakeLink = (String, String, LinkStatus);

/// One `GetLink` call: link id, owner, `authorization` header.
pub(crate) type GetLinkCall = (String, String, Option<String>);

/// An in-process stand-in for link-service: `GetLink` answers from a table of
/// link → (owner, region), `NOT_FOUND` for another owner's; every call is counted.
#[derive(Clone, Default)]
pub(crate) struct FakeLinks {
    links: Arc<Mutex<HashMap<String, FakeLink>>>,
    calls: Arc<Mutex<Vec<GetLinkCall>>>,
}

impl FakeLinks {
    pub(crate) fn add(&self, link_id: uuid::Uuid, owner: &str, region: &str) {
        self.add_with_status(link_id, owner, region, LinkStatus::Valid);
    }

    pub(crate) fn add_with_status(
        &self,
        link_id: uuid::Uuid,
        owner: &str,
        region: &str,
        status: LinkStatus,
    ) {
        self.links
            .lock()
            .unwrap()
            .insert(link_id.to_string(), (owner.into(), region.into(), status));
    }

    /// (link_id, owner, authorization header) of every GetLink call.
    pub(crate) fn calls(&self) -> Vec<GetLinkCall> {
        self.calls.lock().unwrap().clone()
    }

    async fn serve(&self) -> RunningServer {
        let config = ServerConfig::for_tests();
        let services = ServiceSet::new().service(LinkServiceServer::new(self.clone()));
        let listeners = Listeners::local().await.unwrap();
        let registry = prometheus::Registry::new();
        grpc_runtime::serve(services, listeners, &config, &registry, Shutdown::new())
            .await
            .unwrap()
    }
}

#[tonic::async_trait]
impl LinkService for FakeLinks {
    type WatchLinkStream = tonic::codegen::BoxStream<WatchLinkResponse>;

    async fn watch_link(
        &self,
        _: Request<WatchLinkRequest>,
    ) -> Result<Response<Self::WatchLinkStream>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn register_link(
        &self,
        _: Request<RegisterLinkRequest>,
    ) -> Result<Response<RegisterLinkResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        let auth = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let GetLinkRequest { link_id, owner } = request.into_inner();
        self.calls
            .lock()
            .unwrap()
            .push((link_id.clone(), owner.clone(), auth));
        let found = self.links.lock().unwrap().get(&link_id).cloned();
        match found {
            Some((link_owner, region, status)) if owner.is_empty() || owner == link_owner => {
                Ok(Response::new(GetLinkResponse {
                    link: Some(Link {
                        link_id,
                        owner: link_owner,
                        region,
                        status: status as i32,
                        ..Default::default()
                    }),
                }))
            }
            _ => Err(Status::not_found("no such link")),
        }
    }

    async fn list_links(
        &self,
        _: Request<ListLinksRequest>,
    ) -> Result<Response<ListLinksResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn delete_link(
        &self,
        _: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn refresh_link(
        &self,
        _: Request<RefreshLinkRequest>,
    ) -> Result<Response<RefreshLinkResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn apply_link_event(
        &self,
        _: Request<ApplyLinkEventRequest>,
    ) -> Result<Response<ApplyLinkEventResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn adopt_link(
        &self,
        _: Request<AdoptLinkRequest>,
    ) -> Result<Response<AdoptLinkResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn erase_owner(
        &self,
        _: Request<EraseOwnerRequest>,
    ) -> Result<Response<EraseOwnerResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn get_erasure(
        &self,
        _: Request<GetErasureRequest>,
    ) -> Result<Response<GetErasureResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
}
