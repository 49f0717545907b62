//! Helpers shared by the emulator's integration tests: start an emulator on port 0, a Basic-auth
//! client, and a webhook receiver that records what it gets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use belvo_emulator::{Account, Config, Emulator, EmulatorHandle};
use serde_json::{Value, json};

pub(crate) const ID: &str = "test-id";
pub(crate) const PASSWORD: &str = "test-password";
pub(crate) const WEBHOOK_AUTH: &str = "Bearer hook-secret";

pub(crate) fn config() -> Config {
    Config {
        accounts: vec![Account::new(ID, PASSWORD)],
        data_as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
        delete_rate_per_minute: 0,
        ..Config::for_tests()
    }
}

pub(crate) async fn start() -> Emu {
    start_with(config()).await
}

pub(crate) async fn start_with(cfg: Config) -> Emu {
    let handle = Emulator::start(cfg).await.expect("emulator starts");
    Emu {
        base: handle.url().to_owned(),
        http: reqwest::Client::new(),
        handle,
    }
}

pub(crate) struct Emu {
    pub(crate) handle: EmulatorHandle,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
}

impl Emu {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(self.url(path)).basic_auth(ID, Some(PASSWORD))).await
    }

    pub(crate) async fn get_abs(&self, url: &str) -> (StatusCode, Value) {
        answer(self.http.get(url).basic_auth(ID, Some(PASSWORD))).await
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        answer(
            self.http
                .request(method, self.url(path))
                .basic_auth(ID, Some(PASSWORD))
                .json(&body),
        )
        .await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// `POST /api/links/{link}/refresh/` with `body`.
    pub(crate) async fn refresh(&self, link: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/links/{link}/refresh/"), body)
            .await
    }

    /// A refresh Belvo accepts (202); its request id.
    pub(crate) async fn refresh_accepted(&self, link: &str, body: Value) -> String {
        let (s, r) = self.refresh(link, body).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{r}");
        r["request_id"].as_str().expect("a request_id").to_owned()
    }

    /// Creates a link through the widget's API with the widget token `access`.
    pub(crate) async fn widget_link(&self, access: &Value, body: Value) -> (StatusCode, Value) {
        answer(
            self.http
                .post(self.url("/_widget/api/links"))
                .header(
                    "authorization",
                    format!("Bearer {}", access.as_str().expect("an access token")),
                )
                .json(&body),
        )
        .await
    }

    /// Creates a link and returns its JSON.
    pub(crate) async fn link(&self, institution: &str, username: &str, password: &str) -> Value {
        let (s, v) = self
            .post(
                "/api/links/",
                json!({"institution": institution, "username": username, "password": password}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Every object of a list, following `next`.
    pub(crate) async fn all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let (s, mut page) = self.get(path).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        loop {
            out.extend(page["results"].as_array().cloned().unwrap_or_default());
            match page["next"].as_str() {
                Some(next) => {
                    let (s, p) = self.get_abs(next).await;
                    assert_eq!(s, StatusCode::OK);
                    page = p;
                }
                None => break,
            }
        }
        out
    }
}

/// Sends `request`; its status and JSON body (`null` when the body is not JSON).
async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = request.send().await.expect("request");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// `widget.branding` as Belvo's 1.223.0 token schemas require it.
pub(crate) fn branding() -> Value {
    json!({"company_icon": "https://acme.example/icon.svg", "company_logo": "https://acme.example/logo.svg",
           "company_name": "ACME", "company_terms_url": "https://acme.example/terms"})
}

/// A complete link-creation token body (keys, scopes, `fetch_resources`, `stale_in`,
/// `widget.branding`) with `extra`'s keys merged over it (one level into `widget`).
pub(crate) fn token_body(extra: Value) -> Value {
    let mut body = json!({"id": ID, "password": PASSWORD, "scopes": "read_institutions,write_links",
        "fetch_resources": ["ACCOUNTS", "TRANSACTIONS", "OWNERS"], "stale_in": "365d",
        "widget": {"branding": branding()}});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        for (k, v) in e {
            match (b.get_mut(&k), v) {
                (Some(Value::Object(have)), Value::Object(add)) => have.extend(add),
                (_, Value::Null) => {
                    b.remove(&k);
                }
                (_, v) => {
                    b.insert(k, v);
                }
            }
        }
    }
    body
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) authorization: Option<String>,
    pub(crate) body: Value,
}

#[derive(Clone, Default)]
struct HookState {
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<Mutex<u32>>,
}

/// A webhook receiver on port 0 that answers 500 to the first `fail_first` requests.
pub(crate) struct Receiver {
    pub(crate) url: String,
    state: HookState,
}

impl Receiver {
    pub(crate) async fn start(fail_first: u32) -> Receiver {
        let state = HookState {
            got: Arc::default(),
            fail_first: Arc::new(Mutex::new(fail_first)),
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            state,
        }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for what was received, failing after 10 s.
    pub(crate) async fn wait(&self, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if pred(&got) {
                return got;
            }
            assert!(Instant::now() < deadline, "webhooks never arrived: {got:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn hook(State(s): State<HookState>, headers: HeaderMap, body: String) -> StatusCode {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    s.got.lock().unwrap().push(Received {
        authorization: headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned),
        body: v,
    });
    let mut f = s.fail_first.lock().unwrap();
    if *f > 0 {
        *f -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// Whether `s` is a Belvo request id (32 lowercase hex characters).
pub(crate) fn is_request_id(s: &str) -> bool {
    s.len() == 32
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}
