//! Gateway benchmarks (issues 6 and 11), against PostgreSQL (`TEST_POSTGRES_URL`), with the
//! whole platform in this process (`e2e_tests::Stack`, every service on its own fresh
//! database). Each figure has its baseline measured in the same run:
//!
//! 1. Webhook ingestion: authenticated `POST /webhooks/belvo/mx` with the realistic mix of
//!    `webhook_mix` (Belvo's types and codes over 1,000 registered links, 2% redeliveries,
//!    a fixed seed), answered 200 only after data-service stored the event in PostgreSQL and
//!    acted on it. Three configurations, interleaved, `BENCH_ROUNDS` times: storage off (a
//!    gateway in front of an in-memory data-service stand-in), 1 gateway + 1 data-service, and
//!    2 gateways + 2 data-service replicas on the same database (every gateway balancing over
//!    both replicas, the clients round-robin over the gateways; each replica with its share of
//!    the database's webhook transactions, as production configures them). The clients run on
//!    a runtime of their own. Then once the old case, every
//!    webhook for one link, the batcher's best case. data-service runs no sync workers here:
//!    this measures ingestion (store, act: enqueue the job or tell link-service, answer), not
//!    the pulls the jobs would cause.
//! 2. Read path: `GET /v1/links/{id}/transactions?limit=100` through the gateway (bearer
//!    token, ownership check at link-service, data-service read, JSON) beside the same
//!    `ListTransactions` called directly over gRPC, on a stack of its own whose workers
//!    synced the link.
//!
//! Requests/s over a fixed time with a fixed number of concurrent clients, and latency
//! percentiles. Knobs: `BENCH_SECS` (5 per measurement), `BENCH_WEBHOOK_CLIENTS` (32),
//! `BENCH_WEBHOOK_LINKS` (1000), `BENCH_ROUNDS` (3), `BENCH_SEED` (11),
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
#[path = "gateway/webhook_mix.rs"]
mod webhook_mix;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use connect_proto::data::v1::data_service_client::DataServiceClient;
use connect_proto::data::v1::{
    ListTransactionsRequest, ListWebhookEventsRequest, PageRequest, WebhookState,
};
use database::testing::TestDatabase;
use e2e_tests::{SECRET_ID, SECRET_PASSWORD, Stack, StackOptions, WEBHOOK_AUTHORIZATION};
use futures::StreamExt as _;
use grpc_runtime::client::ClientConfig;
use grpc_runtime::{RunningServer, Service as _};
use serde_json::json;
use webhook_mix::{Mix, Product, Target};

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

/// The runtime the load's clients run on: their own threads, as Belvo and browsers are other
/// machines, so a client's latency never includes waiting behind the platform's own tasks in
/// one scheduler (the operating system still shares the same two cores between them).
fn client_runtime() -> &'static tokio::runtime::Runtime {
    static CLIENTS: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-client")
            .enable_all()
            .build()
            .unwrap()
    })
}

/// An HTTP client whose connections are made, and driven, on the clients' runtime.
fn client_http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

/// Runs `call` from `clients` concurrent tasks on the clients' runtime for `duration` (after a
/// 1 s warm-up that is not counted); `call(n)` returns whether the request succeeded.
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
        tasks.push(client_runtime().spawn(async move {
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

/// Posts the webhooks of `mix` (measurement `run`) from `clients` concurrent clients for
/// `duration`, request `n` to `urls[n % urls.len()]` (several gateways: round robin, as a
/// load balancer in front of them would).
async fn webhooks(
    urls: Vec<String>,
    mix: &Arc<Mix>,
    run: u64,
    clients: usize,
    duration: Duration,
) -> Stats {
    let (http, urls, mix) = (client_http(), Arc::new(urls), Arc::clone(mix));
    load(clients, duration, move |n| {
        let http = http.clone();
        let url = urls[n as usize % urls.len()].clone();
        let body = mix.body(run, n);
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

/// Registers `count` links the way the platform learns of them, for webhooks to target:
/// each created at the emulator (`POST /api/links/`, split over banking, fiscal and employment
/// institutions as the mix is) with the `external_id` of one of 50 users, then registered
/// through the gateway (`POST /v1/links`: link-service checks it at Belvo and stores it, and
/// tells data-service). `fetch_resources` is empty, so the emulator sends no webhooks of its
/// own. Not measured.
async fn register_links(stack: &Stack, http: &reqwest::Client, count: usize) -> Vec<Target> {
    const USERS: usize = 50;
    let gateway = stack.gateway_url.clone();
    let mut users = Vec::new();
    for u in 0..USERS.min(count) {
        let token = stack.dev_token(&format!("bench-fleet-{u}")).await.unwrap();
        let minted: serde_json::Value = http
            .post(format!("{gateway}/v1/widget-token"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let external_id = minted["widget"]["external_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no external_id in {minted}"))
            .to_owned();
        users.push((token, external_id));
    }
    let users = Arc::new(users);
    futures::stream::iter(0..count)
        .map(|i| {
            let (http, users, gateway) = (http.clone(), Arc::clone(&users), gateway.clone());
            let emulator = stack.emulator_url.clone();
            async move {
                let (token, external_id) = &users[i % users.len()];
                let product = webhook_mix::product_of(i, count);
                let created = http
                    .post(format!("{emulator}/api/links/"))
                    .basic_auth(SECRET_ID, Some(SECRET_PASSWORD))
                    .json(&json!({
                        "institution": product.institution(),
                        "username": format!("bench_{i}"),
                        "password": "pass_valid",
                        "external_id": external_id,
                        "access_mode": "recurrent",
                        "fetch_resources": [],
                    }))
                    .send()
                    .await
                    .unwrap();
                let status = created.status();
                let created: serde_json::Value = created.json().await.unwrap();
                assert!(status.is_success(), "creating link {i}: {status} {created}");
                let link_id = created["id"].as_str().unwrap().to_owned();
                let registered = http
                    .post(format!("{gateway}/v1/links"))
                    .bearer_auth(token)
                    .json(&json!({"link_id": link_id, "institution": product.institution()}))
                    .send()
                    .await
                    .unwrap();
                let status = registered.status();
                assert!(
                    status.is_success(),
                    "registering link {i}: {status} {}",
                    registered.text().await.unwrap_or_default()
                );
                Target {
                    link_id,
                    external_id: external_id.clone(),
                    product,
                }
            }
        })
        .buffered(16)
        .collect()
        .await
}

/// Mexico of `local.toml`, pointed at the stack's emulator.
fn regions(stack: &Stack) -> regions::RegionsConfig {
    regions::RegionsConfig::from_toml_str(
        regions::shipped::LOCAL,
        vec![(
            "REGION_MX_ENVIRONMENT".to_owned(),
            stack.emulator_url.clone(),
        )],
    )
    .unwrap()
}

/// A gateway like the stack's, calling data-service at `data_url` (one URL, or several
/// comma-separated, which it balances over).
async fn start_gateway(stack: &Stack, data_url: String) -> RunningServer {
    let mut config = gateway::GatewayConfig::default();
    config.auth.mode = Some(gateway::config::AuthMode::Dev);
    config.clients.token_service = ClientConfig::new(stack.token_url.clone());
    config.clients.link_service = ClientConfig::new(stack.link_url.clone());
    config.clients.data_service = ClientConfig::new(data_url);
    gateway::Application::build(
        config,
        regions(stack),
        grpc_runtime::Listeners::local().await.unwrap(),
        grpc_runtime::Shutdown::new(),
    )
    .await
    .unwrap()
}

/// A data-service replica on the stack's data-service database, configured as the stack's
/// (link-service client, no sync workers: ingestion only), storing `batches` batches of
/// webhooks at once.
async fn start_data_replica(
    stack: &Stack,
    database_url: &str,
    batches: usize,
) -> (RunningServer, String) {
    let listeners = grpc_runtime::Listeners::local().await.unwrap();
    let url = format!("http://{}", listeners.addr());
    let mut config = data_service::config::Config {
        database: database::DatabaseConfig::new(database_url.to_owned()),
        ..data_service::config::Config::default()
    };
    config.clients.link_service = Some(ClientConfig::new(stack.link_url.clone()));
    config.sync.poll_interval = Duration::from_millis(200);
    config.sync.retry_base = Duration::from_millis(200);
    config.sync.workers = 0;
    config.webhooks.batches_in_flight = batches;
    let app = data_service::Application::build(
        config,
        regions(stack),
        listeners,
        grpc_runtime::Shutdown::new(),
    )
    .await
    .unwrap();
    (app.into(), url)
}

/// How many stored webhooks are in `state`, and the first one's error, through
/// `ListWebhookEvents`.
async fn webhooks_in(data_url: &str, state: WebhookState) -> (usize, Option<String>) {
    let channel = tonic::transport::Endpoint::from_shared(data_url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = DataServiceClient::new(channel);
    let (mut count, mut error, mut token) = (0, None, String::new());
    loop {
        let page = client
            .list_webhook_events(ListWebhookEventsRequest {
                page: Some(PageRequest {
                    page_size: 500,
                    page_token: token,
                }),
                states: vec![state as i32],
                ..ListWebhookEventsRequest::default()
            })
            .await
            .unwrap()
            .into_inner();
        count += page.events.len();
        if error.is_none() {
            error = page
                .events
                .first()
                .map(|e| format!("{} {}: {}", e.webhook_type, e.webhook_code, e.error));
        }
        if page.next_page_token.is_empty() {
            return (count, error);
        }
        token = page.next_page_token;
    }
}

/// The 1-, 5- and 15-minute load averages.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

fn row(name: &str, s: &Stats) {
    println!(
        "| {name} | {:.0} | {:.1} | {:.1} | {} | {} |",
        s.per_second, s.p50_ms, s.p99_ms, s.requests, s.errors
    );
}

/// The lowest and highest of `f` over `stats`.
fn range(stats: &[Stats], f: impl Fn(&Stats) -> f64) -> (f64, f64) {
    stats
        .iter()
        .map(f)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

/// Three fresh PostgreSQL databases (token-, link- and data-service), or none when PostgreSQL
/// is unreachable.
async fn fresh_databases() -> Option<Vec<TestDatabase>> {
    let mut databases = Vec::new();
    for _ in 0..3 {
        databases.push(TestDatabase::postgres().await?);
    }
    Some(databases)
}

fn urls(databases: &[TestDatabase]) -> [String; 3] {
    [
        databases[0].url().to_owned(),
        databases[1].url().to_owned(),
        databases[2].url().to_owned(),
    ]
}

async fn run() {
    let secs = Duration::from_secs(env_or("BENCH_SECS", 5));
    let webhook_clients = env_or("BENCH_WEBHOOK_CLIENTS", 32usize);
    let read_clients = env_or("BENCH_READ_CLIENTS", 16usize);
    let links = env_or("BENCH_WEBHOOK_LINKS", 1000usize).max(20);
    let rounds = env_or("BENCH_ROUNDS", 3usize).max(1);
    let seed = env_or("BENCH_SEED", 11u64);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    println!(
        "gateway benchmark: {} s per measurement, {webhook_clients} webhook clients over {links} links \
         (seed {seed}, {rounds} rounds), {read_clients} read clients, PostgreSQL; load average {}",
        secs.as_secs(),
        loadavg()
    );

    // 1. Webhook ingestion. data-service runs no sync workers (ingestion only: stored, acted
    // on, answered; the jobs it enqueues stay queued).
    let Some(databases) = fresh_databases().await else {
        eprintln!("skipping the gateway benchmark: PostgreSQL is unreachable");
        return;
    };
    let database_urls = urls(&databases);
    let stack = Stack::start_with(StackOptions {
        databases: Some(database_urls.clone()),
        data_workers: Some(0),
        // Registering the links asks Belvo (the emulator) for each one.
        rate_budget: Some(1_000_000),
    })
    .await
    .unwrap();
    let registering = Instant::now();
    let targets = register_links(&stack, &http, links).await;
    let count = |p: Product| targets.iter().filter(|t| t.product == p).count();
    println!(
        "registered {} links ({} banking, {} fiscal, {} employment) in {:.1} s",
        targets.len(),
        count(Product::Banking),
        count(Product::Fiscal),
        count(Product::Employment),
        registering.elapsed().as_secs_f64()
    );
    let mix = Arc::new(Mix::new(targets.clone(), seed));

    // 2 gateways and 2 data-service replicas on the same database, each replica with its share
    // of the database's webhook transactions (`webhooks.batches_in_flight` 3, as the
    // production overlay sets for 2; the stack's own data-service, alone in 1 + 1, has the
    // default 8), and two gateways that each balance over both replicas.
    let replicas = [
        start_data_replica(&stack, &database_urls[2], 3).await,
        start_data_replica(&stack, &database_urls[2], 3).await,
    ];
    let both = format!("{},{}", replicas[0].1, replicas[1].1);
    let pair = [
        start_gateway(&stack, both.clone()).await,
        start_gateway(&stack, both).await,
    ];
    let one_url = vec![format!("{}/webhooks/belvo/mx", stack.gateway_url)];
    let two_urls: Vec<String> = pair
        .iter()
        .map(|g| format!("http://{}/webhooks/belvo/mx", g.addr()))
        .collect();

    println!();
    println!(
        "| round | configuration | webhooks/s | p50 ms | p99 ms | requests | errors | load before |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut results: [Vec<Stats>; 3] = Default::default();
    let names = [
        "storage off (1 gateway, in-memory stand-in)",
        "1 gateway + 1 data-service, PostgreSQL",
        "2 gateways + 2 data-services, PostgreSQL",
    ];
    let mut run_id = 0u64;
    for round in 1..=rounds {
        for (config, name) in names.iter().enumerate() {
            let load = loadavg();
            run_id += 1;
            let stats = match config {
                0 => {
                    // A fresh stand-in each round: it keeps every call it saw.
                    let fakes = fakes::Fakes::start().await;
                    let off = start_gateway(&stack, fakes.url()).await;
                    let url = vec![format!("http://{}/webhooks/belvo/mx", off.addr())];
                    let stats = webhooks(url, &mix, run_id, webhook_clients, secs).await;
                    let _ = off.stop().await;
                    fakes.shutdown.trigger();
                    stats
                }
                1 => webhooks(one_url.clone(), &mix, run_id, webhook_clients, secs).await,
                _ => webhooks(two_urls.clone(), &mix, run_id, webhook_clients, secs).await,
            };
            println!(
                "| {round} | {name} | {:.0} | {:.1} | {:.1} | {} | {} | {load} |",
                stats.per_second, stats.p50_ms, stats.p99_ms, stats.requests, stats.errors
            );
            results[config].push(stats);
        }
    }
    // The old benchmark's case, for comparison: every webhook for one link.
    run_id += 1;
    let one_link = Arc::new(Mix::one_link(targets[0].clone(), seed));
    let best = webhooks(one_url, &one_link, run_id, webhook_clients, secs).await;
    println!(
        "| – | 1 + 1, every webhook TRANSACTIONS historical_update for one link (the old best case) | {:.0} | {:.1} | {:.1} | {} | {} | {} |",
        best.per_second,
        best.p50_ms,
        best.p99_ms,
        best.requests,
        best.errors,
        loadavg()
    );

    println!();
    println!("| configuration ({rounds} rounds) | webhooks/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|");
    for (name, stats) in names.iter().zip(&results) {
        let (rate, p50, p99) = (
            range(stats, |s| s.per_second),
            range(stats, |s| s.p50_ms),
            range(stats, |s| s.p99_ms),
        );
        println!(
            "| {name} | {:.0} – {:.0} | {:.1} – {:.1} | {:.1} – {:.1} | {} |",
            rate.0,
            rate.1,
            p50.0,
            p50.1,
            p99.0,
            p99.1,
            stats.iter().map(|s| s.errors).sum::<u64>()
        );
    }
    for (name, stats) in names.iter().zip(&results).skip(1) {
        let (rate, p99) = (range(stats, |s| s.per_second), range(stats, |s| s.p99_ms));
        let met = rate.0 >= 2000.0 && p99.1 < 50.0 && stats.iter().all(|s| s.errors == 0);
        println!(
            "target ≥ 2,000 webhooks/s with p99 < 50 ms, {name}: {} (worst round {:.0}/s, p99 {:.1} ms)",
            if met { "met" } else { "NOT met" },
            rate.0,
            p99.1
        );
    }
    // Every webhook must have been acted on: none left unprocessed, held (a link data- or
    // link-service did not know) or failed.
    for state in [
        WebhookState::Received,
        WebhookState::Held,
        WebhookState::Failed,
    ] {
        let (count, first) = webhooks_in(&stack.data_url, state).await;
        println!(
            "stored webhooks {}: {count}{}",
            state.as_str_name(),
            first.map(|e| format!(" (first: {e})")).unwrap_or_default()
        );
    }
    for gateway in pair {
        let _ = gateway.stop().await;
    }
    for (replica, _) in replicas {
        let _ = replica.stop().await;
    }
    stack.stop().await;
    drop(databases);

    // 2. The read path, on a stack of its own whose workers sync the link: through the gateway,
    // and ListTransactions directly.
    let Some(databases) = fresh_databases().await else {
        eprintln!("skipping the read benchmark: PostgreSQL is unreachable");
        return;
    };
    let stack = Stack::start_with(StackOptions {
        databases: Some(urls(&databases)),
        data_workers: None,
        rate_budget: None,
    })
    .await
    .unwrap();
    let token = stack.dev_token("bench-user").await.unwrap();
    let link_id = stack.linked_account(&token, "bench_user").await.unwrap();
    println!();
    println!("| measurement | requests/s | p50 ms | p99 ms | requests | errors |");
    println!("|---|---|---|---|---|---|");
    let read_url = format!(
        "{}/v1/links/{link_id}/transactions?limit=100",
        stack.gateway_url
    );
    let via_gateway = {
        let (http, token) = (client_http(), token.clone());
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
    // Connected on the clients' runtime, which then drives the channel.
    let endpoint = tonic::transport::Endpoint::from_shared(stack.data_url.clone()).unwrap();
    let channel = client_runtime()
        .spawn(async move { endpoint.connect().await })
        .await
        .unwrap()
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
        "the gateway serves {:.0}% of the direct read rate; load average {}",
        100.0 * via_gateway.per_second / direct.per_second.max(1.0),
        loadavg()
    );
    stack.stop().await;
    drop(databases);
}
