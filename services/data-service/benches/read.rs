//! Read benchmark (issue 5): `ListTransactions`, 100 rows a page, against data-service on
//! PostgreSQL (in-process, over loopback gRPC), and the same keyset query run directly with
//! sqlx (native PostgreSQL driver) on the same database in the same run.
//!
//! Data: one link of `BENCH_READ_ROWS` transactions (default 100,000) synced from the
//! emulator by data-service itself. Every request asks for one page at a keyset position
//! taken from a walk through the whole listing, in a fixed shuffled order.
//! - latency: open loop at `BENCH_READ_RATE` requests/s (default 200) for `BENCH_READ_SECS`
//!   (default 10); p50 and p99 of each path;
//! - the same `ListTransactions` from a second data-service whose objects are sealed at rest
//!   (issue 14), on its own database with the same link, as a share of the clear one;
//! - throughput: closed loop with `BENCH_READ_CONCURRENCY` (default 8) requests in flight for
//!   the same duration; requests/s of each path and their ratio, the clear and sealed paths
//!   measured in turn (clear, sealed, sealed, clear);
//! - reading the link's change log (issue 17) beside it: `ListChanges` from the empty cursor,
//!   following `next_cursor` until `has_more` is false (every stored object, as added, each
//!   with its record), against the same walk through `ListTransactions` (first page, then
//!   `next_page_token` to the end): the same link, the same rows, the same page size, from the
//!   same data-service. One walker, then `BENCH_READ_CONCURRENCY`, each walking again from the
//!   start when it reaches the end, for the same duration; rows/s of each, measured in turn
//!   (ListTransactions, ListChanges, ListChanges, ListTransactions).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use belvo::RegisterLink;
use connect_proto::data::v1 as pb;
use connect_proto::data::v1::data_service_client::DataServiceClient;
use data_service::Application;
use data_service::config::{Config, SyncConfig};
use database::Backend;
use database::testing::TestDatabase;
use grpc_runtime::{Listeners, ServerConfig, Service as _, Shutdown};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tonic::transport::Channel;

const PAGE: usize = 100;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// A page position: `None` for the first page, else the keyset cursor (and its token).
#[derive(Clone)]
struct Position {
    token: String,
    cursor: Option<(String, String)>,
}

async fn run() {
    let rows: u64 = common::env_or("BENCH_READ_ROWS", 100_000);
    let rate: u64 = common::env_or("BENCH_READ_RATE", 200);
    let secs: u64 = common::env_or("BENCH_READ_SECS", 10);
    let concurrency: usize = common::env_or("BENCH_READ_CONCURRENCY", 8);
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        println!("read: skipped (PostgreSQL unreachable)");
        return;
    };
    let (emulator, belvo) = common::emulator(rows).await;
    let shutdown = Shutdown::new();
    let (app, mut data) = start(&emulator, &db, &shutdown, None).await;

    // One link, synced by data-service itself.
    let link = belvo
        .links()
        .register(&RegisterLink {
            institution: "erebor_mx_retail".into(),
            username: "bench-reader".into(),
            password: Some("full".into()),
            fetch_resources: Some(vec!["TRANSACTIONS".into()]),
            ..Default::default()
        })
        .await
        .unwrap()
        .id
        .unwrap()
        .to_string();
    let hook = emulator
        .control()
        .wait_for_webhooks(Duration::from_secs(30), |all| !all.is_empty())
        .await
        .unwrap()
        .remove(0)
        .event;
    let pg = PgPoolOptions::new()
        .max_connections(10)
        .connect(db.url())
        .await
        .unwrap();
    sync(&mut data, &pg, &link, &hook).await;

    // The same link synced by a data-service with encryption at rest on (issue 14: each
    // row's body, description and amount sealed), into a database of its own.
    let sealed_db = TestDatabase::new(Backend::Postgres).await.unwrap();
    let ring = common::key_ring_file();
    let (sealed_app, mut sealed_data) = start(&emulator, &sealed_db, &shutdown, Some(ring)).await;
    let sealed_pg = PgPoolOptions::new()
        .max_connections(2)
        .connect(sealed_db.url())
        .await
        .unwrap();
    sync(&mut sealed_data, &sealed_pg, &link, &hook).await;
    sqlx::query("VACUUM ANALYZE records")
        .execute(&sealed_pg)
        .await
        .unwrap();
    sqlx::query("VACUUM ANALYZE records")
        .execute(&pg)
        .await
        .unwrap();

    // Every page position, from one walk through the API.
    let mut positions = vec![Position {
        token: String::new(),
        cursor: None,
    }];
    let mut listed = Vec::new();
    loop {
        let page = list(&mut data, &link, &positions[positions.len() - 1].token).await;
        listed.extend(page.records.into_iter().map(|r| r.id));
        if page.next_page_token.is_empty() {
            break;
        }
        let bytes = URL_SAFE_NO_PAD.decode(&page.next_page_token).unwrap();
        let cursor: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        positions.push(Position {
            token: page.next_page_token,
            cursor: Some((
                cursor["d"].as_str().unwrap().to_owned(),
                cursor["i"].as_str().unwrap().to_owned(),
            )),
        });
    }
    // The change log from the empty cursor lists the same rows, each once, as added.
    let mut changed = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = changes(&mut data, &link, &cursor).await;
        for c in page.changes {
            assert_eq!(c.kind, pb::ChangeKind::Added as i32);
            assert_eq!(c.record.map(|r| r.id), Some(c.id.clone()));
            changed.push(c.id);
        }
        cursor = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    listed.sort_unstable();
    changed.sort_unstable();
    assert_eq!(listed.len() as u64, rows);
    assert!(
        listed == changed,
        "ListChanges lists the rows ListTransactions does"
    );
    positions.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
    let positions = Arc::new(positions);
    println!(
        "read: ListTransactions, {PAGE} rows a page, {rows} rows in the link, {} page positions",
        positions.len()
    );

    let run_for = Duration::from_secs(secs);
    let grpc = Path::Grpc(data.clone(), link.clone());
    let sealed = Path::Sealed(sealed_data.clone(), link.clone());
    let direct = Path::Direct(pg.clone(), link.clone());
    // The walk above read every page of the clear database; read the sealed one's once too,
    // so that both start from a warm cache.
    for at in positions.iter() {
        sealed.page(at).await;
    }
    for path in [&grpc, &sealed, &direct] {
        let (p50, p99, n) = open_loop(path, &positions, rate, run_for).await;
        println!(
            "{:<36} at {rate} req/s: p50 {:>6.2} ms  p99 {:>6.2} ms  ({n} requests)",
            path.label(),
            p50,
            p99
        );
    }
    // Clear and sealed alternate (clear, sealed, sealed, clear), so that a drift of the
    // shared machine weighs on both alike.
    let mut throughput = Vec::new();
    for path in [&grpc, &sealed, &sealed, &grpc, &direct] {
        let per_sec = closed_loop(path, &positions, concurrency, run_for).await;
        println!(
            "{:<36} {concurrency} in flight: {per_sec:>8.0} req/s",
            path.label()
        );
        throughput.push(per_sec);
    }
    let clear = throughput[0] + throughput[3];
    println!(
        "  -> ListTransactions / direct sqlx = {:.0}%; encrypted at rest / clear = {:.1}% \
         (clear, sealed, sealed, clear; target >= 90%)",
        100.0 * clear / 2.0 / throughput[4],
        100.0 * (throughput[1] + throughput[2]) / clear
    );
    // The link's change log from the empty cursor against the same walk through
    // ListTransactions, in turn.
    for walkers in [1, concurrency] {
        let mut rates = Vec::new();
        for listing in [
            Listing::Transactions,
            Listing::Changes,
            Listing::Changes,
            Listing::Transactions,
        ] {
            let per_sec = walks(&data, &link, listing, walkers, run_for).await;
            println!(
                "{:<36} {walkers} walking: {per_sec:>8.0} rows/s",
                listing.label()
            );
            rates.push(per_sec);
        }
        println!(
            "  -> ListChanges from empty / ListTransactions = {:.1}% ({walkers} walking; \
             transactions, changes, changes, transactions; target >= 90%)",
            100.0 * (rates[1] + rates[2]) / (rates[0] + rates[3])
        );
    }

    pg.close().await;
    sealed_pg.close().await;
    shutdown.trigger();
    for app in [app, sealed_app] {
        grpc_runtime::RunningServer::from(app)
            .run_until_stopped()
            .await
            .unwrap();
    }
    emulator.shutdown().await;
}

/// data-service in this process on `db`, its objects sealed with the key ring at `key_ring`.
async fn start(
    emulator: &belvo_emulator::EmulatorHandle,
    db: &TestDatabase,
    shutdown: &Shutdown,
    key_ring: Option<std::path::PathBuf>,
) -> (Application, DataServiceClient<Channel>) {
    let mut database = db.config();
    database.max_connections = 10;
    let mut config = Config {
        server: ServerConfig::for_tests(),
        database,
        sync: SyncConfig {
            workers: 2,
            poll_interval: Duration::from_millis(50),
            ..SyncConfig::default()
        },
        ..Config::default()
    };
    config.encryption.key_ring_file = key_ring;
    let app = Application::build(
        config,
        common::regions(emulator),
        Listeners::local().await.unwrap(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let data = DataServiceClient::connect(format!("http://{}", app.addr()))
        .await
        .unwrap();
    (app, data)
}

/// Registers `link` with data-service, feeds it the link's `historical_update` webhook and
/// waits until its transactions are synced.
async fn sync(
    data: &mut DataServiceClient<Channel>,
    pg: &PgPool,
    link: &str,
    hook: &serde_json::Value,
) {
    data.notify_link_registered(pb::NotifyLinkRegisteredRequest {
        link_id: link.to_owned(),
        region: "mx".into(),
        owner: "bench-owner".into(),
        fetch_resources: vec!["TRANSACTIONS".into()],
        refresh_rate: String::new(),
    })
    .await
    .unwrap();
    data.ingest_webhook(pb::IngestWebhookRequest {
        region: "mx".into(),
        body: serde_json::to_vec(hook).unwrap(),
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done: Option<String> = sqlx::query_scalar(
            "SELECT state FROM sync_status WHERE link_id = $1 AND resource = 'TRANSACTIONS'",
        )
        .bind(link)
        .fetch_optional(pg)
        .await
        .unwrap();
        if done.as_deref() == Some("succeeded") {
            break;
        }
        assert!(Instant::now() < deadline, "the link did not sync");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn list(
    data: &mut DataServiceClient<Channel>,
    link: &str,
    token: &str,
) -> pb::ListTransactionsResponse {
    data.list_transactions(pb::ListTransactionsRequest {
        link_id: link.to_owned(),
        page: Some(pb::PageRequest {
            page_size: PAGE as i32,
            page_token: token.to_owned(),
        }),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

async fn changes(
    data: &mut DataServiceClient<Channel>,
    link: &str,
    cursor: &str,
) -> pb::ListChangesResponse {
    data.list_changes(pb::ListChangesRequest {
        link_id: link.to_owned(),
        cursor: cursor.to_owned(),
        page_size: PAGE as i32,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

/// What a walk through a link's rows follows, page after page.
#[derive(Clone, Copy)]
enum Listing {
    /// `ListTransactions`, from the first page along `next_page_token`.
    Transactions,
    /// `ListChanges`, from the empty cursor along `next_cursor` while `has_more`.
    Changes,
}

impl Listing {
    fn label(self) -> &'static str {
        match self {
            Self::Transactions => "ListTransactions, walk",
            Self::Changes => "ListChanges from empty, walk",
        }
    }

    /// The page at `at` (empty: the first): its rows, and where the next one is (`None` after
    /// the last).
    async fn page(
        self,
        data: &mut DataServiceClient<Channel>,
        link: &str,
        at: &str,
    ) -> (usize, Option<String>) {
        match self {
            Self::Transactions => {
                let page = list(data, link, at).await;
                let next = (!page.next_page_token.is_empty()).then_some(page.next_page_token);
                (page.records.len(), next)
            }
            Self::Changes => {
                let page = changes(data, link, at).await;
                (
                    page.changes.len(),
                    page.has_more.then_some(page.next_cursor),
                )
            }
        }
    }
}

/// `walkers` clients each walking `listing` from its first page to its last, then again from
/// the first, for `run_for`; rows read per second.
async fn walks(
    data: &DataServiceClient<Channel>,
    link: &str,
    listing: Listing,
    walkers: usize,
    run_for: Duration,
) -> f64 {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..walkers.max(1) {
        let (mut data, link) = (data.clone(), link.to_owned());
        tasks.spawn(async move {
            let mut rows = 0;
            let mut at = String::new();
            while started.elapsed() < run_for {
                let (n, next) = listing.page(&mut data, &link, &at).await;
                rows += n;
                at = next.unwrap_or_default();
            }
            rows
        });
    }
    let mut total = 0;
    while let Some(rows) = tasks.join_next().await {
        total += rows.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

#[derive(Clone)]
enum Path {
    Grpc(DataServiceClient<Channel>, String),
    /// The same, from the data-service whose objects are sealed at rest.
    Sealed(DataServiceClient<Channel>, String),
    Direct(PgPool, String),
}

impl Path {
    fn label(&self) -> &'static str {
        match self {
            Self::Grpc(..) => "ListTransactions (gRPC, data-service)",
            Self::Sealed(..) => "ListTransactions, encrypted at rest",
            Self::Direct(..) => "same query, sqlx direct",
        }
    }

    /// One page; returns its row count.
    async fn page(&self, at: &Position) -> usize {
        match self {
            Self::Grpc(client, link) | Self::Sealed(client, link) => {
                let mut client = client.clone();
                list(&mut client, link, &at.token).await.records.len()
            }
            Self::Direct(pool, link) => {
                let mut sql = String::from(
                    "SELECT id, link_id, account_id, day, amount, currency, kind, status, \
                     description, belvo_created_at, synced_at, body FROM records \
                     WHERE link_id = $1 AND resource = $2",
                );
                if at.cursor.is_some() {
                    sql.push_str(" AND (day, id) < ($3, $4)");
                }
                sql.push_str(&format!(" ORDER BY day DESC, id DESC LIMIT {}", PAGE + 1));
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(link.as_str())
                    .bind("TRANSACTIONS");
                if let Some((d, i)) = &at.cursor {
                    query = query.bind(d.as_str()).bind(i.as_str());
                }
                let rows = query.fetch_all(pool).await.unwrap();
                let mut decoded = Vec::with_capacity(rows.len());
                for row in rows.iter().take(PAGE) {
                    let fields: (String, String, String, String, String, String) = (
                        row.get("id"),
                        row.get("link_id"),
                        row.get("account_id"),
                        row.get("day"),
                        row.get("amount"),
                        row.get("body"),
                    );
                    let more: (String, String, String, String, Option<i64>, i64) = (
                        row.get("currency"),
                        row.get("kind"),
                        row.get("status"),
                        row.get("description"),
                        row.get("belvo_created_at"),
                        row.get("synced_at"),
                    );
                    decoded.push((fields, more));
                }
                decoded.len()
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Requests at a fixed rate, each on its own task; latency of each in milliseconds.
async fn open_loop(
    path: &Path,
    positions: &Arc<Vec<Position>>,
    rate: u64,
    run_for: Duration,
) -> (f64, f64, usize) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0usize;
    while started.elapsed() < run_for {
        tick.tick().await;
        let path = path.clone();
        let at = positions[n % positions.len()].clone();
        n += 1;
        tasks.spawn(async move {
            let t = Instant::now();
            let got = path.page(&at).await;
            assert!(got > 0);
            t.elapsed().as_secs_f64() * 1000.0
        });
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(ms) = tasks.join_next().await {
        latencies.push(ms.unwrap());
    }
    latencies.sort_by(f64::total_cmp);
    (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.len(),
    )
}

/// `concurrency` requests in flight for `run_for`; requests per second.
async fn closed_loop(
    path: &Path,
    positions: &Arc<Vec<Position>>,
    concurrency: usize,
    run_for: Duration,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (path, positions, next) = (path.clone(), positions.clone(), next.clone());
        tasks.spawn(async move {
            let mut done = 0u64;
            while started.elapsed() < run_for {
                let i = next.fetch_add(1, Ordering::Relaxed);
                path.page(&positions[i % positions.len()]).await;
                done += 1;
            }
            done
        });
    }
    let mut total = 0u64;
    while let Some(done) = tasks.join_next().await {
        total += done.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}
