//! The whole platform in one process, for end-to-end tests: the Belvo emulator, token-,
//! link- and data-service (SQLite files in a fresh temporary directory) and the gateway
//! (dev auth), every one on port 0 and wired to the others.
//!
//! Every service's listeners are bound first, so each one is built knowing the addresses of
//! those it calls (token-, link- and data-service call one another), and the emulator knows
//! the gateway's webhook URL before anything starts.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use belvo_emulator::{Account, Emulator, EmulatorHandle};
use grpc_runtime::client::ClientConfig;
use grpc_runtime::{Listeners, RunningServer, Service as _};
use secrecy::SecretString;

/// Belvo keys of the emulator account (the values in `libs/regions/config/local.toml`).
pub const SECRET_ID: &str = "local-secret-id";
/// See [`SECRET_ID`].
pub const SECRET_PASSWORD: &str = "local-secret-password";
/// The webhook Authorization value of `mx` in `local.toml`.
pub const WEBHOOK_AUTHORIZATION: &str = "Bearer local-webhook-token";

/// How to start the platform.
#[derive(Debug, Default, Clone)]
pub struct StackOptions {
    /// Database URLs of token-, link- and data-service; unset: SQLite files in a temporary
    /// directory.
    pub databases: Option<[String; 3]>,
    /// data-service's sync workers; unset: its default.
    pub data_workers: Option<usize>,
    /// Belvo's request budget per 30 s of the `mx` region, for every service; unset:
    /// `local.toml`'s (Belvo's 70), which a benchmark registering many links would measure.
    pub rate_budget: Option<u32>,
}

/// The running platform.
#[derive(Debug)]
pub struct Stack {
    /// The gateway, `http://127.0.0.1:<port>`.
    pub gateway_url: String,
    /// The emulator, `http://127.0.0.1:<port>`.
    pub emulator_url: String,
    /// token-service's gRPC URL.
    pub token_url: String,
    /// link-service's gRPC URL.
    pub link_url: String,
    /// data-service's gRPC URL.
    pub data_url: String,
    emulator: Option<EmulatorHandle>,
    /// The gateway, link-, token- and data-service, in the order they stop.
    services: Vec<RunningServer>,
    _dir: tempfile::TempDir,
}

fn url(listeners: &Listeners) -> String {
    format!("http://{}", listeners.addr())
}

fn sqlite(dir: &Path, name: &str) -> database::DatabaseConfig {
    database::DatabaseConfig::new(format!("sqlite:{}", dir.join(name).display()))
}

impl Stack {
    /// Starts everything on SQLite and waits until the gateway reports the three services
    /// ready.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(StackOptions::default()).await
    }

    /// Starts everything as `options` say and waits until the gateway is ready.
    pub async fn start_with(options: StackOptions) -> anyhow::Result<Self> {
        let database = |index: usize, dir: &Path, name: &str| match &options.databases {
            Some(urls) => database::DatabaseConfig::new(urls[index].clone()),
            None => sqlite(dir, name),
        };
        let dir = tempfile::tempdir().context("temporary directory")?;
        let bind = || async { Listeners::local().await.context("bind listeners") };
        let (token_listeners, link_listeners, data_listeners, gateway_listeners) =
            (bind().await?, bind().await?, bind().await?, bind().await?);
        let (token_url, link_url, data_url, gateway_url) = (
            url(&token_listeners),
            url(&link_listeners),
            url(&data_listeners),
            url(&gateway_listeners),
        );

        let emulator = Emulator::start(belvo_emulator::Config {
            accounts: vec![Account::new(SECRET_ID, SECRET_PASSWORD).with_webhook(
                format!("{gateway_url}/webhooks/belvo/mx"),
                Some(WEBHOOK_AUTHORIZATION.to_owned()),
            )],
            // With Belvo's budget (the default), Belvo's firewall too: `stop` checks that it
            // refused nothing.
            firewall: options
                .rate_budget
                .is_none()
                .then_some(belvo_emulator::FirewallLimit::BELVO),
            ..belvo_emulator::Config::for_tests()
        })
        .await
        .context("start the emulator")?;
        let emulator_url = emulator.url().trim_end_matches('/').to_owned();

        // Mexico of local.toml, pointed at this emulator.
        let mut regions_env = vec![
            ("REGION_MX_ENVIRONMENT".to_owned(), emulator_url.clone()),
            (
                "REGION_MX_WIDGET_SCRIPT_URL".to_owned(),
                format!("{emulator_url}/belvo-widget-1-stable.js"),
            ),
            (
                "REGION_MX_HOSTED_WIDGET_URL".to_owned(),
                format!("{emulator_url}/widget/"),
            ),
        ];
        if let Some(requests) = options.rate_budget {
            regions_env.push((
                "REGION_MX_RATE_BUDGET_REQUESTS".to_owned(),
                requests.to_string(),
            ));
        }
        let regions = || {
            regions::RegionsConfig::from_toml_str(regions::shipped::LOCAL, regions_env.clone())
                .context("regions")
        };

        let mut token_config = token_service::Config {
            database: database(0, dir.path(), "token-service.db"),
            external_id_key: SecretString::from("e2e-external-id-key-0123456789-0123456789"),
            ..token_service::Config::default()
        };
        token_config.clients.link_service = Some(ClientConfig::new(link_url.clone()));
        let token = token_service::Application::build(
            token_config,
            regions()?,
            token_listeners,
            grpc_runtime::Shutdown::new(),
        )
        .await
        .context("start token-service")?;

        let mut data_config = data_service::config::Config {
            database: database(2, dir.path(), "data-service.db"),
            ..data_service::config::Config::default()
        };
        data_config.clients.link_service = Some(ClientConfig::new(link_url.clone()));
        data_config.sync.poll_interval = Duration::from_millis(200);
        data_config.sync.retry_base = Duration::from_millis(200);
        if let Some(workers) = options.data_workers {
            data_config.sync.workers = workers;
        }
        let data = data_service::Application::build(
            data_config,
            regions()?,
            data_listeners,
            grpc_runtime::Shutdown::new(),
        )
        .await
        .context("start data-service")?;

        let mut link_config = link_service::Config {
            database: database(1, dir.path(), "link-service.db"),
            ..link_service::Config::default()
        };
        link_config.clients.token_service = ClientConfig::new(token_url.clone());
        link_config.clients.data_service = Some(ClientConfig::new(data_url.clone()));
        let link = link_service::Application::build(
            link_config,
            regions()?,
            link_listeners,
            grpc_runtime::Shutdown::new(),
        )
        .await
        .context("start link-service")?;

        let mut gateway_config = gateway::GatewayConfig::default();
        gateway_config.auth.mode = Some(gateway::config::AuthMode::Dev);
        gateway_config.clients.token_service = ClientConfig::new(token_url.clone());
        gateway_config.clients.link_service = ClientConfig::new(link_url.clone());
        gateway_config.clients.data_service = ClientConfig::new(data_url.clone());
        // The browser test mints a few widget tokens per user; schemathesis many.
        gateway_config.limits.token_mints = 10_000;
        let gateway = gateway::Application::build(
            gateway_config,
            regions()?,
            gateway_listeners,
            grpc_runtime::Shutdown::new(),
        )
        .await
        .context("start the gateway")?;

        let stack = Self {
            gateway_url,
            emulator_url,
            token_url,
            link_url,
            data_url,
            emulator: Some(emulator),
            services: vec![gateway, link, token, data.into()],
            _dir: dir,
        };
        stack.wait_ready(Duration::from_secs(30)).await?;
        Ok(stack)
    }

    /// A dev token for `user` (`POST /v1/dev/login`).
    pub async fn dev_token(&self, user: &str) -> anyhow::Result<String> {
        let body = ok_json(
            reqwest::Client::new()
                .post(format!("{}/v1/dev/login", self.gateway_url))
                .json(&serde_json::json!({"user": user}))
                .send()
                .await?,
        )
        .await?;
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access_token")
    }

    /// A link of `token`'s user at Erebor (no MFA), created through the emulator's widget API
    /// as the widget does, registered, and waited for until its transactions are synced.
    pub async fn linked_account(&self, token: &str, username: &str) -> anyhow::Result<String> {
        let http = reqwest::Client::new();
        let gw = &self.gateway_url;
        let minted = ok_json(
            http.post(format!("{gw}/v1/widget-token"))
                .bearer_auth(token)
                .json(&serde_json::json!({}))
                .send()
                .await?,
        )
        .await?;
        let access = minted["access_token"].as_str().context("no access_token")?;
        let created = ok_json(
            http.post(format!("{}/_widget/api/links", self.emulator_url))
                .bearer_auth(access)
                .json(&serde_json::json!({
                    "institution": "erebor_mx_retail",
                    "username": username,
                    "password": "pass_valid",
                    "external_id": minted["widget"]["external_id"],
                    "access_mode": "recurrent",
                }))
                .send()
                .await?,
        )
        .await?;
        let link_id = created["id"].as_str().context("no link id")?.to_owned();
        ok_json(
            http.post(format!("{gw}/v1/links"))
                .bearer_auth(token)
                .json(&serde_json::json!({"link_id": link_id, "institution": "erebor_mx_retail"}))
                .send()
                .await?,
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let page = ok_json(
                http.get(format!("{gw}/v1/links/{link_id}/transactions?limit=1"))
                    .bearer_auth(token)
                    .send()
                    .await?,
            )
            .await?;
            if page["data"].as_array().is_some_and(|d| !d.is_empty()) {
                return Ok(link_id);
            }
            if Instant::now() > deadline {
                bail!("no transactions synced for {link_id} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the gateway's `/readyz` answers 200.
    async fn wait_ready(&self, within: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + within;
        let url = format!("{}/readyz", self.gateway_url);
        loop {
            let last = match http.get(&url).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                bail!("the gateway was not ready within {within:?}: {last}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every component, the gateway first.
    ///
    /// # Panics
    /// When Belvo's firewall (on with Belvo's budget) refused a request: the services went over
    /// the budget.
    pub async fn stop(mut self) {
        for service in self.services.drain(..) {
            if let Err(e) = service.stop().await {
                tracing::warn!(error = %e, "a service stopped with an error");
            }
        }
        if let Some(emulator) = self.emulator.take() {
            let firewall = emulator.control().firewall();
            emulator.shutdown().await;
            assert_eq!(
                firewall.refused_total, 0,
                "Belvo's firewall refused requests: {firewall:?}"
            );
        }
    }
}

/// The JSON body of a 2xx response, or an error with the status and body.
async fn ok_json(response: reqwest::Response) -> anyhow::Result<serde_json::Value> {
    let status = response.status();
    let body: serde_json::Value = response.json().await.context("JSON body")?;
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(body)
}
