//! One trace runs from a gateway request through token-service to the Belvo call, and one
//! trace and one request id from a gateway request through link-service to token- and
//! data-service, exported over OTLP (HTTP/protobuf) to a receiver in this process; and no
//! span attribute, span event or log line carries a secret (Belvo's keys, the JWT secret, the
//! webhook Authorization).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use grpc_runtime::client::ClientConfig;
use grpc_runtime::{Listeners, Service as _, Shutdown};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use secrecy::SecretString;

const BELVO_ID: &str = "belvo-secret-id-7f3a9c41";
const BELVO_PASSWORD: &str = "belvo-secret-password-19be77";
const JWT_SECRET: &str = "jwt-dev-secret-0123456789abcdef0123456789abcdef";
const WEBHOOK_AUTHORIZATION: &str = "Bearer webhook-secret-5d41402abc4b2a76";
/// The request id the test's caller sends with the link registration.
const REQUEST_ID: &str = "req-trace-7e51a0";
const REGISTER: &str = "connect.link.v1.LinkService/RegisterLink";
const RESOLVE: &str = "connect.token.v1.TokenService/ResolveExternalId";
const NOTIFY: &str = "connect.data.v1.DataService/NotifyLinkRegistered";
const EXTERNAL_ID_KEY: &str = "external-id-key-4f1c2e9a8b7d6c5e4f3a2b1c0d9e8f7a";

/// Spans an OTLP exporter sent here.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Span>>>);

async fn otlp_receiver() -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            post(|State(r): State<Received>, body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let spans = request
                    .resource_spans
                    .into_iter()
                    .flat_map(|r| r.scope_spans)
                    .flat_map(|s| s.spans);
                r.0.lock().unwrap().extend(spans);
                "{}"
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// Everything the services log.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn regions_toml(belvo_url: &str) -> String {
    format!(
        r#"
[regions.mx]
environment = "{belvo_url}"
secret_id = {{ value = "{BELVO_ID}" }}
secret_password = {{ value = "{BELVO_PASSWORD}" }}
widget = "multi_region"
country_codes = ["MX"]
widget_script_url = "{belvo_url}/belvo-widget-1-stable.js"
webhook_authorization = {{ value = "{WEBHOOK_AUTHORIZATION}" }}
rate_budget = {{ requests = 1000, per_seconds = 1 }}
[regions.mx.branding]
company_name = "ACME"
company_icon = "https://acme.example/icon.svg"
company_logo = "https://acme.example/logo.svg"
company_terms_url = "https://acme.example/terms"
[regions.mx.products.banking]
fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"]
"#
    )
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| format!("{:?}", a.value))
}

fn has_request_id(span: &Span) -> bool {
    attribute(span, "request_id").is_some_and(|v| v.contains(REQUEST_ID))
}

/// The chain of ancestors of `span` among `spans` (nearest first).
fn ancestors<'a>(span: &'a Span, by_id: &HashMap<Vec<u8>, &'a Span>) -> Vec<&'a Span> {
    let mut chain = Vec::new();
    let mut parent = &span.parent_span_id;
    while let Some(p) = by_id.get(parent) {
        chain.push(*p);
        parent = &p.parent_span_id;
    }
    chain
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_and_one_request_id_through_every_service_and_no_secret_anywhere() {
    let (otlp, received) = otlp_receiver().await;
    let logs = Logs::default();
    let telemetry_config = telemetry::TelemetryConfig {
        otlp_endpoint: Some(otlp),
        log_filter: "info,gateway=debug,token_service=debug,link_service=debug,data_service=debug,belvo=debug,grpc_runtime=debug".into(),
        ..telemetry::TelemetryConfig::default()
    };
    let writer = logs.clone();
    let (telemetry, dispatch) =
        telemetry::build_with_writer("connect", &telemetry_config, move || writer.clone()).unwrap();
    tracing::dispatcher::set_global_default(dispatch).unwrap();

    let mut emulator_config = belvo_emulator::Config::for_tests();
    emulator_config.accounts = vec![belvo_emulator::Account::new(BELVO_ID, BELVO_PASSWORD)];
    let emulator = belvo_emulator::Emulator::start(emulator_config)
        .await
        .unwrap();
    let regions = regions::RegionsConfig::from_toml_str(
        &regions_toml(emulator.url().trim_end_matches('/')),
        std::iter::empty::<(String, String)>(),
    )
    .unwrap();

    // Every listener first, so each service is built knowing the others' addresses.
    let bind = || async { Listeners::local().await.unwrap() };
    let (token_listeners, link_listeners, data_listeners, gateway_listeners) =
        (bind().await, bind().await, bind().await, bind().await);
    let url = |l: &Listeners| format!("http://{}", l.addr());
    let (token_url, link_url, data_url) = (
        url(&token_listeners),
        url(&link_listeners),
        url(&data_listeners),
    );
    let dbs = [
        database::testing::TestDatabase::sqlite().await,
        database::testing::TestDatabase::sqlite().await,
        database::testing::TestDatabase::sqlite().await,
    ];
    let mut token_config = token_service::Config {
        database: dbs[0].config(),
        external_id_key: SecretString::from(EXTERNAL_ID_KEY),
        ..token_service::Config::default()
    };
    token_config.clients.link_service = Some(ClientConfig::new(link_url.clone()));
    let token = token_service::Application::build(
        token_config,
        regions.clone(),
        token_listeners,
        Shutdown::new(),
    )
    .await
    .unwrap();
    let data = data_service::Application::build(
        data_service::config::Config {
            database: dbs[1].config(),
            ..data_service::config::Config::default()
        },
        regions.clone(),
        data_listeners,
        Shutdown::new(),
    )
    .await
    .unwrap();
    let mut link_config = link_service::Config {
        database: dbs[2].config(),
        ..link_service::Config::default()
    };
    link_config.clients.token_service = ClientConfig::new(token_url.clone());
    link_config.clients.data_service = Some(ClientConfig::new(data_url.clone()));
    let link = link_service::Application::build(
        link_config,
        regions.clone(),
        link_listeners,
        Shutdown::new(),
    )
    .await
    .unwrap();

    let mut gateway_config = gateway::config::GatewayConfig::default();
    gateway_config.auth.mode = Some(gateway::config::AuthMode::Dev);
    gateway_config.clients.token_service = ClientConfig::new(token_url);
    gateway_config.clients.link_service = ClientConfig::new(link_url);
    gateway_config.clients.data_service = ClientConfig::new(data_url);
    gateway_config.auth.dev_secret = Some(SecretString::from(JWT_SECRET));
    let gateway =
        gateway::Application::build(gateway_config, regions, gateway_listeners, Shutdown::new())
            .await
            .unwrap();
    let base = format!("http://{}", gateway.addr());

    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/v1/dev/login"))
        .json(&serde_json::json!({"user": "alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = login["access_token"]
        .as_str()
        .or(login["token"].as_str())
        .expect("a dev token")
        .to_owned();
    let minted = http
        .post(format!("{base}/v1/widget-token"))
        .bearer_auth(&jwt)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), 200);
    let minted: serde_json::Value = minted.json().await.unwrap();

    // A link created in the widget (the emulator's widget API), registered through the
    // gateway with a request id of the caller's: link-service asks token-service whose
    // external id it is and tells data-service about the link.
    let access = minted["access_token"].as_str().unwrap();
    let created: serde_json::Value = http
        .post(format!(
            "{}/_widget/api/links",
            emulator.url().trim_end_matches('/')
        ))
        .bearer_auth(access)
        .json(&serde_json::json!({
            "institution": "erebor_mx_retail",
            "username": "alice_trace",
            "password": "pass_valid",
            "external_id": minted["widget"]["external_id"],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let registered = http
        .post(format!("{base}/v1/links"))
        .bearer_auth(&jwt)
        .header("x-request-id", REQUEST_ID)
        .json(&serde_json::json!({"link_id": created["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        registered.status(),
        201,
        "{}",
        registered.text().await.unwrap()
    );
    assert_eq!(registered.headers()["x-request-id"], REQUEST_ID);

    // A webhook through the gateway, so that its Authorization value passes through the code
    // (to data-service, which stores it for a link it does not know yet).
    let webhook = http
        .post(format!("{base}/webhooks/belvo/mx"))
        .header("authorization", WEBHOOK_AUTHORIZATION)
        .body(r#"{"webhook_id":"0123456789abcdef0123456789abcdef","webhook_type":"ACCOUNTS","webhook_code":"historical_update","link_id":"30cb4806-6e00-48a4-91c9-ca55968576c8","data":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 200);

    gateway.stop().await.unwrap();
    link.stop().await.unwrap();
    grpc_runtime::RunningServer::from(data)
        .stop()
        .await
        .unwrap();
    token.stop().await.unwrap();
    emulator.shutdown().await;
    // Flushing is blocking (the exporter's HTTP client); keep it off the async workers.
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let spans = loop {
        let spans = received.0.lock().unwrap().clone();
        let exported = |name: &str| spans.iter().any(|s| s.name.starts_with(name));
        if (exported("belvo POST /api/token/") && exported(NOTIFY) && exported(RESOLVE))
            || Instant::now() > deadline
        {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // The trace: gateway request → gateway's gRPC client → token-service server → Belvo call.
    let belvo = spans
        .iter()
        .find(|s| s.name.starts_with("belvo POST /api/token/"))
        .expect("the Belvo call was exported");
    let trace: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace_id == belvo.trace_id)
        .collect();
    let by_id: HashMap<Vec<u8>, &Span> = trace.iter().map(|s| (s.span_id.clone(), *s)).collect();
    let chain = ancestors(belvo, &by_id);
    let server = chain
        .iter()
        .position(|s| s.name == "connect.token.v1.TokenService/CreateWidgetToken")
        .expect("token-service's server span is an ancestor of the Belvo call");
    let http_span = chain
        .iter()
        .position(|s| attribute(s, "route").is_some_and(|r| r.contains("/v1/widget-token")))
        .expect("the gateway's request span is an ancestor of token-service's");
    assert!(
        http_span > server,
        "the gateway's span is above token-service's"
    );
    assert_eq!(
        attribute(belvo, "http.response.status_code")
            .as_deref()
            .map(|v| v.contains("200")),
        Some(true)
    );

    // The registration: one trace from the gateway's request through link-service to
    // token-service and data-service.
    let http_span = spans
        .iter()
        .find(|s| has_request_id(s) && attribute(s, "route").is_some())
        .expect("the gateway's span of the registration");
    for name in [REGISTER, RESOLVE, NOTIFY] {
        let server = spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} was exported"));
        assert_eq!(
            server.trace_id, http_span.trace_id,
            "{name} is in the gateway's trace"
        );
        let by_id: HashMap<Vec<u8>, &Span> = spans
            .iter()
            .filter(|s| s.trace_id == http_span.trace_id)
            .map(|s| (s.span_id.clone(), s))
            .collect();
        assert!(
            ancestors(server, &by_id)
                .iter()
                .any(|s| s.span_id == http_span.span_id),
            "the gateway's request span is an ancestor of {name}"
        );
        // ...and the same request id, received as `x-request-id` by each service.
        assert!(has_request_id(server), "{name} has the request id");
    }

    // No secret anywhere: names, attributes, events of every span, and every log line.
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for name in [REGISTER, RESOLVE, NOTIFY] {
        assert!(
            logs.lines()
                .any(|l| l.contains(name) && l.contains(REQUEST_ID)),
            "a log line of {name} carries the request id"
        );
    }
    assert!(
        logs.contains("/v1/widget-token") || logs.contains("widget"),
        "logs were captured"
    );
    let secret_token = jwt.as_str();
    for secret in [
        BELVO_ID,
        BELVO_PASSWORD,
        JWT_SECRET,
        "webhook-secret-5d41402abc4b2a76",
        EXTERNAL_ID_KEY,
        secret_token,
    ] {
        for span in &spans {
            let text = format!("{} {:?} {:?}", span.name, span.attributes, span.events);
            assert!(
                !text.contains(secret),
                "span {} carries a secret",
                span.name
            );
        }
        assert!(!logs.contains(secret), "a log line carries a secret");
    }
}
