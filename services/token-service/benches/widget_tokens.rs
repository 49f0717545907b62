//! Widget-token minting through token-service against the in-process Belvo emulator, beside
//! a direct Belvo-client call to the same emulator in the same run (the baseline).
//!
//! - Latency: sequential calls, a direct `belvo::Client::create_widget_token` and a gRPC
//!   `CreateWidgetToken` interleaved pair by pair (same conditions for both); p50/p99 of
//!   each and the added median. Target: added median under 1 ms.
//! - Throughput: a fixed number of tokens with many calls in flight, through token-service
//!   and (baseline, to show the emulator is not the bottleneck) directly. Target: at least
//!   1,000 tokens/s through one instance.
//!
//! token-service runs on its own 2-worker runtime (the "2 cores" of the target), the emulator
//! on a current-thread runtime of its own, the load generator on the main thread's; on a
//! 2-core machine they all share those cores, so the figures are conservative. The region's
//! Belvo rate budget is lifted (the real one, 70 per 30 s, would measure the budget).
//! Backends: a SQLite file in a temp dir, and PostgreSQL at `TEST_POSTGRES_URL` if reachable.
//!
//! `cargo bench -p token-service --bench widget_tokens` (release profile). Environment:
//! `BENCH_SEQUENTIAL` (pairs, default 2000), `BENCH_REQUESTS` (default 10000),
//! `BENCH_CONCURRENCY` (comma-separated, default `32,64`), `BENCH_DB_POOL` (the service's
//! `database.max_connections`, default the service's default, 10).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use belvo_emulator::{Account, Emulator};
use connect_proto::common::v1::Product;
use connect_proto::token::v1::CreateWidgetTokenRequest;
use connect_proto::token::v1::token_service_client::TokenServiceClient;
use database::Backend;
use database::testing::TestDatabase;
use grpc_runtime::ServerConfig;
use grpc_runtime::{Listeners, Service as _, Shutdown};
use secrecy::SecretString;
use token_service::{Application, BelvoConfig, Config};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

const KEYS: (&str, &str) = ("bench-secret-id", "bench-secret-password");

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let sequential = env_number("BENCH_SEQUENTIAL", 2000);
    let requests = env_number("BENCH_REQUESTS", 10_000);
    let pool = std::env::var("BENCH_DB_POOL")
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    let concurrency: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "32,64".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();

    // The emulator: a current-thread runtime on a thread of its own.
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let emulator_thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut config = belvo_emulator::Config::for_tests();
            config.accounts = vec![Account::new(KEYS.0, KEYS.1)];
            // The bench mints tens of thousands of tokens; keep the request log small.
            config.request_log_capacity = 16;
            let emulator = Emulator::start(config).await.unwrap();
            url_tx.send(emulator.url().to_owned()).unwrap();
            let _ = stop_rx.await;
            emulator.shutdown().await;
        });
    });
    let emulator_url = url_rx.recv().unwrap();

    // The load generator (and the direct Belvo client): the main thread.
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    println!(
        "token-service widget-token benchmark: {} CPUs, {sequential} sequential pairs, \
         {requests} requests per concurrency level {concurrency:?}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // token-service: 2 workers.
        let service_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("token-service")
            .enable_all()
            .build()
            .unwrap();
        let Some(db) = service_rt.block_on(TestDatabase::new(backend)) else {
            println!("\n== {backend:?}: skipped (unreachable)");
            continue;
        };
        let commit = service_rt.block_on(commit_latency(&db));
        let app = service_rt.block_on(start_service(&emulator_url, &db, pool));
        let addr = app.addr();
        client_rt.block_on(run(
            backend,
            &emulator_url,
            addr,
            sequential,
            requests,
            &concurrency,
            commit,
        ));
        service_rt.block_on(async move {
            app.stop().await.unwrap();
            drop(db);
        });
        shutdown(service_rt);
    }
    let _ = stop_tx.send(());
    emulator_thread.join().unwrap();
}

fn shutdown(rt: Runtime) {
    rt.shutdown_timeout(Duration::from_secs(5));
}

async fn start_service(
    emulator_url: &str,
    db: &TestDatabase,
    pool: Option<u32>,
) -> grpc_runtime::RunningServer {
    let regions = regions::RegionsConfig::from_toml_str(
        &format!(
            r#"
[regions.mx]
environment = "{emulator_url}"
secret_id = {{ value = "{}" }}
secret_password = {{ value = "{}" }}
widget = "multi_region"
locale = "es"
country_codes = ["MX"]
access_mode = "recurrent"
credentials_storage = "store"
widget_script_url = "{emulator_url}/belvo-widget-1-stable.js"
hosted_widget_url = "{emulator_url}/widget/"
# Lifted for the benchmark: the emulator enforces no firewall.
rate_budget = {{ requests = 100000000, per_seconds = 1 }}
[regions.mx.branding]
company_name = "ACME"
company_icon = "https://acme.example/icon.svg"
company_logo = "https://acme.example/logo.svg"
company_terms_url = "https://acme.example/terms"
[regions.mx.products.banking]
fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"]
"#,
            KEYS.0, KEYS.1
        ),
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    let mut config = Config::default();
    config.server = ServerConfig::for_tests();
    config.database = db.config();
    if let Some(pool) = pool {
        config.database.max_connections = pool;
    }
    println!(
        "token-service database pool: {} connections",
        config.database.max_connections
    );
    config.external_id_key = SecretString::from("bench-external-id-key-0123456789abcdef");
    config.belvo = BelvoConfig::no_retries();
    Application::build(
        config,
        regions,
        Listeners::local().await.unwrap(),
        Shutdown::new(),
    )
    .await
    .unwrap()
}

/// What one autocommitted INSERT costs on this database (the audit row's price).
async fn commit_latency(db: &TestDatabase) -> Stats {
    sqlx::query("CREATE TABLE bench_commit (id TEXT PRIMARY KEY, at BIGINT NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    let mut samples = Vec::new();
    for i in 0..300_i64 {
        let started = Instant::now();
        sqlx::query("INSERT INTO bench_commit (id, at) VALUES ($1, $2)")
            .bind(format!("row-{i}"))
            .bind(i)
            .execute(db.pool())
            .await
            .unwrap();
        samples.push(started.elapsed());
    }
    sqlx::query("DROP TABLE bench_commit")
        .execute(db.pool())
        .await
        .unwrap();
    stats(samples)
}

/// The body token-service sends for a banking widget, for the direct baseline.
fn direct_body(i: usize) -> belvo::WidgetTokenRequest {
    let mut body = belvo::WidgetTokenRequest::create_links();
    body.fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"]
        .map(str::to_owned)
        .to_vec();
    body.stale_in = Some("365d".into());
    body.credentials_storage = Some("store".into());
    body.external_id = Some(format!("bench-external-id-{i:08}"));
    body.widget = Some(belvo::Widget {
        branding: Some(belvo::Branding {
            company_icon: Some("https://acme.example/icon.svg".into()),
            company_logo: Some("https://acme.example/logo.svg".into()),
            company_name: Some("ACME".into()),
            company_terms_url: Some("https://acme.example/terms".into()),
            ..Default::default()
        }),
        theme: Some(Vec::new()),
        ..Default::default()
    });
    body
}

fn grpc_request(i: usize) -> CreateWidgetTokenRequest {
    CreateWidgetTokenRequest {
        region: "mx".into(),
        // Owners repeat every 1000 calls, as returning users do.
        owner: format!("bench-user-{}", i % 1000),
        products: vec![Product::Banking as i32],
        ..Default::default()
    }
}

struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let total: Duration = samples.iter().sum();
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        mean: total / samples.len() as u32,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

async fn run(
    backend: Backend,
    emulator_url: &str,
    addr: std::net::SocketAddr,
    sequential: usize,
    requests: usize,
    concurrency: &[usize],
    commit: Stats,
) {
    let belvo = belvo::Client::builder(
        emulator_url.parse::<belvo::Environment>().unwrap(),
        belvo::Credentials::new(SecretString::from(KEYS.0), SecretString::from(KEYS.1)),
    )
    .rate_budget(belvo::RateBudget::new(100_000_000, Duration::from_secs(1)))
    .retry_policy(belvo::RetryPolicy::none())
    .build()
    .unwrap();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .tcp_nodelay(true)
        .connect()
        .await
        .unwrap();
    let grpc = TokenServiceClient::new(channel.clone());

    // Warm-up: connections, pools, caches.
    for i in 0..200 {
        belvo.create_widget_token(&direct_body(i)).await.unwrap();
        grpc.clone()
            .create_widget_token(grpc_request(i))
            .await
            .unwrap();
    }

    println!("\n== {backend:?}");
    println!(
        "one durable INSERT (its own transaction) on this database: p50 {}  p99 {}",
        ms(commit.p50),
        ms(commit.p99)
    );
    let mut direct = Vec::with_capacity(sequential);
    let mut through = Vec::with_capacity(sequential);
    for i in 0..sequential {
        let started = Instant::now();
        belvo.create_widget_token(&direct_body(i)).await.unwrap();
        direct.push(started.elapsed());
        let started = Instant::now();
        grpc.clone()
            .create_widget_token(grpc_request(i))
            .await
            .unwrap();
        through.push(started.elapsed());
    }
    let (d, t) = (stats(direct), stats(through));
    println!("sequential latency ({sequential} interleaved pairs):");
    println!(
        "  direct Belvo client → emulator   p50 {}  p99 {}  mean {}",
        ms(d.p50),
        ms(d.p99),
        ms(d.mean)
    );
    println!(
        "  gRPC → token-service → emulator  p50 {}  p99 {}  mean {}",
        ms(t.p50),
        ms(t.p99),
        ms(t.mean)
    );
    let added = t.p50.saturating_sub(d.p50);
    println!(
        "  added median {} ({:.2}× the direct median)  target < 1 ms: {}",
        ms(added),
        t.p50.as_secs_f64() / d.p50.as_secs_f64(),
        if added < Duration::from_millis(1) {
            "met"
        } else {
            "MISSED"
        }
    );

    println!("throughput ({requests} requests):");
    for &n in concurrency {
        let direct_rate = throughput(requests, n, {
            let belvo = belvo.clone();
            move |i| {
                let belvo = belvo.clone();
                async move {
                    belvo.create_widget_token(&direct_body(i)).await.unwrap();
                }
            }
        })
        .await;
        let service_rate = throughput(requests, n, {
            let grpc = grpc.clone();
            move |i| {
                let mut grpc = grpc.clone();
                async move {
                    grpc.create_widget_token(grpc_request(i)).await.unwrap();
                }
            }
        })
        .await;
        println!(
            "  {n:>3} in flight: token-service {service_rate:>7.0} tokens/s   direct {direct_rate:>7.0} tokens/s   \
             target ≥ 1000: {}",
            if service_rate >= 1000.0 {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    drop(channel);
}

/// Runs `requests` calls of `call(i)` with `in_flight` at a time; returns calls per second.
async fn throughput<F, Fut>(requests: usize, in_flight: usize, call: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let next = next.clone();
            let call = call.clone();
            async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= requests {
                        break;
                    }
                    call(i).await;
                }
            }
        })
        .collect();
    futures::future::join_all(workers).await;
    requests as f64 / started.elapsed().as_secs_f64()
}
