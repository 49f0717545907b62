//! Starts the gateway in-process on port 0 in front of the fake services, and gives tests an
//! HTTP client, tokens and helpers.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway::config::AuthMode;
use gateway::{Application, GatewayConfig, Shutdown};
use grpc_runtime::client::ClientConfig;
use grpc_runtime::{Drain, Listeners, ServerError, Service as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::fakes::Fakes;

pub(crate) const SECRET: &str = "test-secret-0123456789-0123456789-abcdef";
pub(crate) const ISSUER: &str = "https://host.example";
pub(crate) const AUDIENCE: &str = "connect-api";
/// `libs/regions/config/local.toml`'s value for `mx`.
pub(crate) const WEBHOOK_AUTH: &str = "Bearer local-webhook-token";
pub(crate) const LINK_A: &str = "0b7b1b7e-1d55-4a4f-9a63-6f7c2c0e0a01";
pub(crate) const LINK_B: &str = "0b7b1b7e-1d55-4a4f-9a63-6f7c2c0e0a02";

pub(crate) fn regions() -> regions::RegionsConfig {
    regions::RegionsConfig::from_toml_str(regions::shipped::LOCAL, Vec::<(String, String)>::new())
        .unwrap()
}

/// HS256 auth against the fakes at `url`, on port 0.
pub(crate) fn config(url: &str) -> GatewayConfig {
    let mut config = GatewayConfig::default();
    config.server.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.auth.mode = Some(AuthMode::Hs256);
    config.auth.hs256_secret = Some(SecretString::from(SECRET));
    config.auth.issuer = ISSUER.into();
    config.auth.audience = AUDIENCE.into();
    config.clients.token_service = ClientConfig::new(url);
    config.clients.link_service = ClientConfig::new(url);
    config.clients.data_service = ClientConfig::new(url);
    config
}

/// A URL where nothing listens (a port bound then released).
pub(crate) fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) admin_addr: SocketAddr,
    pub(crate) fakes: Fakes,
    pub(crate) http: reqwest::Client,
    shutdown: Shutdown,
    running: Option<tokio::task::JoinHandle<Result<Drain, ServerError>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
        self.fakes.shutdown.trigger();
    }
}

impl TestApp {
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(tweak: impl FnOnce(&mut GatewayConfig)) -> Self {
        Self::start_with_regions(regions(), tweak).await
    }

    pub(crate) async fn start_with_regions(
        regions: regions::RegionsConfig,
        tweak: impl FnOnce(&mut GatewayConfig),
    ) -> Self {
        let fakes = Fakes::start().await;
        let mut config = config(&fakes.url());
        tweak(&mut config);
        let shutdown = Shutdown::new();
        let app = Application::build(
            config,
            regions,
            Listeners::local().await.unwrap(),
            shutdown.clone(),
        )
        .await
        .unwrap();
        let (addr, admin_addr) = (app.addr(), app.admin_addr());
        let running = tokio::spawn(app.run_until_stopped());
        Self {
            addr,
            admin_addr,
            fakes,
            http: reqwest::Client::new(),
            shutdown,
            running: Some(running),
        }
    }

    /// Fires the gateway's shutdown (the fakes keep running).
    pub(crate) fn stop(&self) {
        self.shutdown.trigger();
    }

    /// Fires the shutdown and waits for the server to return.
    pub(crate) async fn stop_and_wait(&mut self) -> Result<(), ServerError> {
        self.stop();
        let running = self.running.take().unwrap();
        running.await.unwrap().map(|_| ())
    }

    /// The admin server's `/metrics`.
    pub(crate) async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.admin_addr);
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn get(&self, path: &str, user: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token(user))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, user: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token(user))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn delete(&self, path: &str, user: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(token(user))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn webhook(
        &self,
        region: &str,
        auth: Option<&str>,
        body: &str,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url(&format!("/webhooks/belvo/{region}")))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send().await.unwrap()
    }
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A valid HS256 token for `user`.
pub(crate) fn token(user: &str) -> String {
    sign_hs256(
        &json!({"sub": user, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300}),
        SECRET,
    )
}

pub(crate) fn sign_hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// The status and JSON body of a response.
pub(crate) async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, body)
}

/// Asserts an error body's shape and returns its `error` object.
/// A 429 `rate_limited` answer with a `Retry-After` of at most `max_secs`.
pub(crate) async fn assert_rate_limited(response: reqwest::Response, max_secs: u64) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=max_secs).contains(&retry_after), "{retry_after}");
    assert_eq!(error(response, 429).await["code"], "rate_limited");
}

pub(crate) async fn error(response: reqwest::Response, status: u16) -> Value {
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let (got, body) = json(response).await;
    assert_eq!(got, status, "{body}");
    let error = body["error"].clone();
    assert!(error["code"].is_string(), "{body}");
    assert!(error["message"].is_string(), "{body}");
    assert_eq!(
        error["request_id"].as_str(),
        request_id.as_deref(),
        "{body}"
    );
    error
}

/// Awaits `f` with a deadline, so a hang fails the test instead of stalling it.
pub(crate) async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}
