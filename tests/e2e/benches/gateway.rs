//! Gateway benchmarks (issue 6), against PostgreSQL (`TEST_POSTGRES_URL`), with the whole
//! platform in this process (`e2e_tests::Stack`, every service on its own fresh database).
//! Each figure has its baseline measured in the same run:
//!
//! 1. Webhook ingestion: authenticated `POST /webhooks/belvo/mx` (Belvo's `historical_update`
//!    for a registered link, a new `webhook_id` each time) with durable storage — the gateway
//!    answers 200 only after data-service stored the event in PostgreSQL — beside the same
//!    route in front of an in-memory data-service stand-in (storage off).
//! 2. Read path: `GET /v1/links/{id}/transactions?limit=100` through the gateway (bearer
//!    token, ownership check at link-service, data-service read, JSON) beside the same
//!    `ListTransactions` called directly over gRPC.
//!
//! Requests/s over a fixed time with a fixed number of concurrent clients, and latency
//! percentiles. Knobs: `BENCH_SECS` (5 per measurement), `BENCH_WEBHOOK_CLIENTS` (32),
//! `BENCH_READ_CLIENTS` (16).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

#[path = "../../../services/gateway/tests/gateway/fakes.rs"]
#[allow(dead_code, unreachable_pub, missing_debug_implementations)]
mod fakes;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use connect_proto::data::v1::data_service_client::DataServiceClient;
use connect_proto::data::v1::{ListTransactionsRequest, PageRequest};
use database::testing::TestDatabase;
use e2e_tests::{Stack, StackOptions, WEBHOOK_AUTHORIZATION};
use grpc_runtime::Service as _;
use serde_json::json;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug)]
struct Stats {
    requests: u64,
    errors: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `call` from `clients` concurrent tasks for `duration` (after a 1 s warm-up that is not
/// counted); `call(n)` returns whether the request succeeded.
async fn load<F, Fut>(clients: usize, duration: Duration, call: F) -> Stats
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let counter = Arc::new(AtomicU64::new(0));
    let warm_until = Instant::now() + Duration::from_secs(1);
    let end = warm_until + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let call = call.clone();
        let counter = Arc::clone(&counter);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let ok = call(counter.fetch_add(1, Ordering::Relaxed)).await;
                if started >= warm_until {
                    latencies.push(started.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await.unwrap();
        all.extend(latencies);
        errors += e;
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Stats {
        requests: all.len() as u64,
        errors,
        per_second: all.len() as f64 / duration.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

/// Authenticated webhooks for `link_id`, each with a new id, posted to `url` by `clients`
/// concurrent clients for `duration`.
async fn webhooks(
    http: &reqwest::Client,
    url: String,
    link_id: &str,
    clients: usize,
    duration: Duration,
) -> Stats {
    let (http, link_id) = (http.clone(), link_id.to_owned());
    load(clients, duration, move |_| {
        let (http, url, body) = (http.clone(), url.clone(), webhook_body(&link_id));
        async move {
            http.post(&url)
                .header("authorization", WEBHOOK_AUTHORIZATION)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await
}

fn webhook_body(link_id: &str) -> String {
    json!({
        "webhook_id": uuid_like(),
        "webhook_type": "TRANSACTIONS",
        "webhook_code": "historical_update",
        "link_id": link_id,
        "request_id": null,
        "external_id": null,
        "process_type": "historical_update",
        "data": {"total_transactions": 120}
    })
    .to_string()
}

/// A fresh 32-hex id (Belvo's webhook ids look like this).
fn uuid_like() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!("{t:016x}{n:016x}")
}

fn row(name: &str, s: &Stats) {
    println!(
        "| {name} | {:.0} | {:.1} | {:.1} | {} | {} |",
        s.per_second, s.p50_ms, s.p99_ms, s.requests, s.errors
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let secs = Duration::from_secs(env_or("BENCH_SECS", 5));
    let webhook_clients = env_or("BENCH_WEBHOOK_CLIENTS", 32usize);
    let read_clients = env_or("BENCH_READ_CLIENTS", 16usize);
    let mut databases = Vec::new();
    for _ in 0..3 {
        match TestDatabase::postgres().await {
            Some(db) => databases.push(db),
            None => {
                eprintln!("skipping the gateway benchmark: PostgreSQL is unreachable");
                return;
            }
        }
    }
    let urls = [
        databases[0].url().to_owned(),
        databases[1].url().to_owned(),
        databases[2].url().to_owned(),
    ];
    let stack = Stack::start_with(StackOptions {
        databases: Some(urls),
        data_workers: None,
    })
    .await
    .unwrap();
    let token = stack.dev_token("bench-user").await.unwrap();
    let link_id = stack.linked_account(&token, "bench_user").await.unwrap();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    println!(
        "gateway benchmark: {} s per measurement, {webhook_clients} webhook clients, {read_clients} read clients, PostgreSQL",
        secs.as_secs()
    );
    println!("| measurement | requests/s | p50 ms | p99 ms | requests | errors |");
    println!("|---|---|---|---|---|---|");

    // 1. Webhooks with durable storage.
    let url = format!("{}/webhooks/belvo/mx", stack.gateway_url);
    let stored = webhooks(&http, url, &link_id, webhook_clients, secs).await;
    row("webhooks, stored in PostgreSQL", &stored);

    // 1'. The same route with storage off: a second gateway in front of an in-memory
    // data-service stand-in.
    let fakes = fakes::Fakes::start().await;
    let mut config = gateway::GatewayConfig::default();
    config.auth.mode = Some(gateway::config::AuthMode::Dev);
    config.clients.token_service = grpc_runtime::client::ClientConfig::new(stack.token_url.clone());
    config.clients.link_service = grpc_runtime::client::ClientConfig::new(stack.link_url.clone());
    config.clients.data_service = grpc_runtime::client::ClientConfig::new(fakes.url());
    let regions = regions::RegionsConfig::from_toml_str(
        regions::shipped::LOCAL,
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    let app = gateway::Application::build(
        config,
        regions,
        grpc_runtime::Listeners::local().await.unwrap(),
        grpc_runtime::Shutdown::new(),
    )
    .await
    .unwrap();
    let off_url = format!("http://{}/webhooks/belvo/mx", app.addr());
    let off = webhooks(&http, off_url, &link_id, webhook_clients, secs).await;
    row("webhooks, storage off (in-memory stand-in)", &off);
    let _ = app.stop().await;
    fakes.shutdown.trigger();

    // 2. The read path: through the gateway, and ListTransactions directly.
    let read_url = format!(
        "{}/v1/links/{link_id}/transactions?limit=100",
        stack.gateway_url
    );
    let via_gateway = {
        let (http, token) = (http.clone(), token.clone());
        load(read_clients, secs, move |_| {
            let (http, url, token) = (http.clone(), read_url.clone(), token.clone());
            async move {
                match http.get(&url).bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => {
                        r.bytes().await.is_ok_and(|b| b.len() > 1000)
                    }
                    _ => false,
                }
            }
        })
        .await
    };
    row("GET /v1/links/{id}/transactions?limit=100", &via_gateway);
    let channel = tonic::transport::Endpoint::from_shared(stack.data_url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = DataServiceClient::new(channel);
    let direct = {
        let link_id = link_id.clone();
        load(read_clients, secs, move |_| {
            let mut client = client.clone();
            let request = ListTransactionsRequest {
                link_id: link_id.clone(),
                owner: "bench-user".to_owned(),
                page: Some(PageRequest {
                    page_size: 100,
                    page_token: String::new(),
                }),
                ..ListTransactionsRequest::default()
            };
            async move {
                client
                    .list_transactions(request)
                    .await
                    .is_ok_and(|r| r.into_inner().records.len() == 100)
            }
        })
        .await
    };
    row("ListTransactions over gRPC (direct)", &direct);
    println!();
    println!(
        "storage costs {:.0}% of the webhook rate; the gateway serves {:.0}% of the direct read rate",
        100.0 * (1.0 - stored.per_second / off.per_second.max(1.0)),
        100.0 * via_gateway.per_second / direct.per_second.max(1.0)
    );
    stack.stop().await;
    drop(databases);
}
