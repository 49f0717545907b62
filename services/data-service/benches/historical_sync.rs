//! Historical sync benchmark (issue 5): `BENCH_SCALE` transactions (default 1,000,000) spread
//! over 100 links, pulled from the in-process Belvo emulator (production mode, 1000-row pages)
//! into PostgreSQL by the real `data-service` binary, run as a child process, from the
//! `historical_update` webhooks to every link's TRANSACTIONS status `succeeded`.
//!
//! Baselines measured in the same run, against the same emulator and the same `records` table:
//! - fetch ceiling: the same pages read with `libs/belvo` (`pages_from::<Box<RawValue>>`) by as
//!   many concurrent readers as data-service has workers, and discarded;
//! - store ceiling: the same rows bulk-loaded with `COPY records FROM STDIN` (two concurrent
//!   streams, each link one COPY; only the COPY is timed, the rows are fetched beforehand);
//! - peer: what a Belvo user would write, `belvo-python`'s list generator with `psycopg`
//!   `executemany` (one commit per page), on `BENCH_PEER_LINKS` links (default 10), as rows/s.
//!
//! Then two comparisons, each in ABBA order (A, B, B, A, every run into a fresh database, so that
//! a drift of the shared machine weighs on both alike), B's rate as a share of A's:
//! - encryption at rest (a key ring: every row's body, description and amount sealed) against
//!   the clear sync above (clear, sealed, sealed, clear; the first clear run is the one above);
//! - the change log (issue 17) on, the default, against off (on, off, off, on): the off runs
//!   start data-service with `DATA_SERVICE__SYNC__CHANGE_LOG=false` (no counter, no content
//!   hash, no removals) and drop the `records_changes` index once data-service has migrated
//!   their database, before the sync starts (a migration creates it either way). Here it is
//!   on's rate as a share of off's.
//!
//! data-service's peak memory is its VmHWM from `/proc/<pid>/status` at the end of the run;
//! each sync also reports the WAL PostgreSQL wrote meanwhile (`pg_current_wal_lsn()`, the whole
//! server's) and the size of the `records` table with its indexes.
//! Knobs: `BENCH_SCALE`, `BENCH_LINKS` (100), `BENCH_WORKERS` (data-service `SYNC__WORKERS`
//! and the fetch ceiling's readers, 8), `BENCH_DB_CONNECTIONS` (pool size, 10),
//! `BENCH_PEER_LINKS` (10; 0 skips the peer), `TEST_POSTGRES_URL`.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use belvo::{Client, Filters, RegisterLink};
use belvo_emulator::EmulatorHandle;
use common::{ID, PW};
use connect_proto::data::v1 as pb;
use connect_proto::data::v1::data_service_client::DataServiceClient;
use data_service::resource::{Resource, index};
use database::Backend;
use database::testing::TestDatabase;
use futures::{StreamExt, TryStreamExt};
use serde_json::value::RawValue;
use sqlx::postgres::{PgPool, PgPoolOptions};

const PAGE: u32 = 1000;

struct Knobs {
    total: u64,
    links: u64,
    workers: usize,
    connections: u32,
    peer_links: usize,
}

fn main() {
    // `cargo bench` passes `--bench`; libtest-style filters are not supported.
    let knobs = Knobs {
        total: common::env_or("BENCH_SCALE", 1_000_000u64),
        links: common::env_or("BENCH_LINKS", 100u64),
        workers: common::env_or("BENCH_WORKERS", 8usize),
        connections: common::env_or("BENCH_DB_CONNECTIONS", 10u32),
        peer_links: common::env_or("BENCH_PEER_LINKS", 10usize),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(knobs));
}

async fn run(k: Knobs) {
    let Some(sync_db) = TestDatabase::new(Backend::Postgres).await else {
        println!("historical_sync: skipped (PostgreSQL unreachable)");
        return;
    };
    let per_link = (k.total / k.links).max(1);
    let total = per_link * k.links;
    println!(
        "historical_sync: {total} transactions, {} links x {per_link}, {} workers, {} DB connections",
        k.links, k.workers, k.connections
    );

    let (emulator, belvo) = common::emulator(per_link).await;
    let mut links = Vec::new();
    for n in 0..k.links {
        let link = belvo
            .links()
            .register(&RegisterLink {
                institution: "erebor_mx_retail".into(),
                username: format!("bench-user-{n}"),
                password: Some("full".into()),
                external_id: Some(format!("ext-{n}")),
                fetch_resources: Some(vec!["TRANSACTIONS".into()]),
                ..Default::default()
            })
            .await
            .unwrap();
        links.push(link.id.unwrap());
    }

    let fetch = fetch_ceiling(&belvo, &links, k.workers).await;
    assert_eq!(fetch.rows, total, "the fetch ceiling read every row");
    report("fetch ceiling (libs/belvo, discard)", &fetch);

    let store = store_ceiling(&belvo, &links).await;
    assert_eq!(store.rows, total, "the store ceiling loaded every row");
    report("store ceiling (COPY, 2 streams)", &store);

    let sync = sync_run(&k, &emulator, &sync_db, &links, &Arm::CLEAR).await;
    assert_eq!(sync.rows, total, "data-service stored every row");
    report(Arm::CLEAR.label, &sync);
    // The same sync with encryption at rest on (issue 14: each row's body, description and
    // amount sealed): clear (the run above), sealed, sealed, clear.
    let ring = common::key_ring_file();
    let sealed = Arm {
        label: "data-service historical sync, encrypted at rest",
        key_ring: Some(&ring),
        ..Arm::CLEAR
    };
    if let Some(([_, again], [s1, s2])) =
        abba(&k, &emulator, &links, Arm::CLEAR, sealed, Some(&sync)).await
    {
        println!(
            "  -> encrypted / clear = {:.1}% (clear, sealed, sealed, clear; target >= 90%)",
            100.0 * (s1.rate() + s2.rate()) / (sync.rate() + again.rate())
        );
    }
    // What the change log (issue 17) costs the sync: on (the default), off, off, on, the off
    // runs without the log's index either.
    let on = Arm {
        label: "data-service historical sync, change log on",
        ..Arm::CLEAR
    };
    let off = Arm {
        label: "data-service historical sync, change log off",
        change_log_off: true,
        ..Arm::CLEAR
    };
    if let Some(([on1, on2], [off1, off2])) = abba(&k, &emulator, &links, on, off, None).await {
        println!(
            "  -> change log on / off = {:.1}% (on, off, off, on; target >= 90%); \
             CPU {:.1} s / {:.1} s, WAL {:.0} / {:.0} MiB, records {:.0} / {:.0} MiB a run",
            100.0 * (on1.rate() + on2.rate()) / (off1.rate() + off2.rate()),
            (on1.cpu_secs + on2.cpu_secs) / 2.0,
            (off1.cpu_secs + off2.cpu_secs) / 2.0,
            (on1.wal_mib + on2.wal_mib) / 2.0,
            (off1.wal_mib + off2.wal_mib) / 2.0,
            (on1.table_mib + on2.table_mib) / 2.0,
            (off1.table_mib + off2.table_mib) / 2.0,
        );
    }
    let ceiling = fetch.rate().min(store.rate());
    println!(
        "  -> {:.0}% of the lower ceiling; data-service peak RSS (VmHWM) {:.1} MiB, CPU {:.1} s",
        100.0 * sync.rate() / ceiling,
        sync.peak_rss_mib,
        sync.cpu_secs
    );

    if k.peer_links > 0 {
        let subset = &links[..k.peer_links.min(links.len())];
        match peer(&emulator, subset).await {
            Ok(peer) => {
                report("peer (belvo-python + psycopg executemany)", &peer);
                println!(
                    "  -> data-service / peer = {:.1}x",
                    sync.rate() / peer.rate()
                );
            }
            Err(reason) => println!("peer: skipped ({reason})"),
        }
    }
    emulator.shutdown().await;
}

#[derive(Debug, Default, Clone, Copy)]
struct Measured {
    rows: u64,
    secs: f64,
    peak_rss_mib: f64,
    cpu_secs: f64,
    /// WAL PostgreSQL wrote during a sync (the whole server's).
    wal_mib: f64,
    /// `records` with its indexes after a sync.
    table_mib: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.secs
    }
}

fn report(label: &str, m: &Measured) {
    print!(
        "{label:<54} {:>9} rows {:>8.2} s {:>10.0} rows/s",
        m.rows,
        m.secs,
        m.rate()
    );
    if m.wal_mib > 0.0 {
        print!(
            "  (CPU {:.1} s, WAL {:.0} MiB, records {:.0} MiB)",
            m.cpu_secs, m.wal_mib, m.table_mib
        );
    }
    println!();
}

/// How a sync run's data-service differs from the default one.
#[derive(Clone, Copy)]
struct Arm<'a> {
    label: &'static str,
    /// Objects sealed at rest with this key ring.
    key_ring: Option<&'a std::path::Path>,
    /// `SYNC__CHANGE_LOG=false`, and the log's index dropped before the sync.
    change_log_off: bool,
}

impl Arm<'static> {
    const CLEAR: Self = Self {
        label: "data-service historical sync",
        key_ring: None,
        change_log_off: false,
    };
}

/// `a`, `b`, `b`, `a`, each sync into a fresh database, so that a drift of the shared machine
/// weighs on both alike; `first`, when given, is an `a` run already measured. The `a` runs and
/// the `b` runs; `None` when PostgreSQL gave no fresh database.
async fn abba(
    k: &Knobs,
    emulator: &EmulatorHandle,
    links: &[uuid::Uuid],
    a: Arm<'_>,
    b: Arm<'_>,
    first: Option<&Measured>,
) -> Option<([Measured; 2], [Measured; 2])> {
    let first = match first {
        Some(m) => *m,
        None => fresh_sync(k, emulator, links, &a, a.label).await?,
    };
    let b1 = fresh_sync(k, emulator, links, &b, b.label).await?;
    let b2 = fresh_sync(k, emulator, links, &b, b.label).await?;
    let again = format!("{}, again", a.label);
    let last = fresh_sync(k, emulator, links, &a, &again).await?;
    Some(([first, last], [b1, b2]))
}

/// One sync of `arm` into a fresh database, checked and reported.
async fn fresh_sync(
    k: &Knobs,
    emulator: &EmulatorHandle,
    links: &[uuid::Uuid],
    arm: &Arm<'_>,
    label: &str,
) -> Option<Measured> {
    let db = TestDatabase::new(Backend::Postgres).await?;
    let m = sync_run(k, emulator, &db, links, arm).await;
    let total = (k.total / k.links).max(1) * k.links;
    assert_eq!(m.rows, total, "{label}: data-service stored every row");
    report(label, &m);
    Some(m)
}

fn transactions() -> &'static Resource {
    Resource::of(pb::Resource::Transactions).unwrap()
}

fn first_url(belvo: &Client, link: uuid::Uuid) -> String {
    belvo
        .first_page_url(
            transactions().path,
            &Filters::new().link(link).page_size(PAGE),
        )
        .unwrap()
}

/// Every page of every link, `concurrency` links at a time, parsed as data-service's client
/// parses them and discarded.
async fn fetch_ceiling(belvo: &Client, links: &[uuid::Uuid], concurrency: usize) -> Measured {
    let started = Instant::now();
    let rows: Vec<u64> = futures::stream::iter(links.iter().copied())
        .map(|link| {
            let pages = belvo.pages_from::<Box<RawValue>>(first_url(belvo, link));
            async move {
                pages
                    .try_fold(
                        0u64,
                        |n, page| async move { Ok(n + page.results.len() as u64) },
                    )
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    Measured {
        rows: rows.iter().sum(),
        secs: started.elapsed().as_secs_f64(),
        ..Measured::default()
    }
}

const COPY_SQL: &str = "COPY records (resource, id, link_id, account_id, day, amount, currency, \
    kind, status, description, belvo_created_at, generation, synced_at, body) FROM STDIN";

/// COPY's text format escapes.
fn copy_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

/// One link's rows as COPY input (fetched and formatted untimed).
async fn copy_input(belvo: &Client, link: uuid::Uuid) -> (String, u64) {
    let mut out = String::new();
    let mut rows = 0;
    let link_id = link.to_string();
    let mut pages = belvo.pages_from::<Box<RawValue>>(first_url(belvo, link));
    while let Some(page) = pages.try_next().await.unwrap() {
        for raw in &page.results {
            let indexed = index(transactions(), raw.get()).unwrap();
            let (c, id) = (indexed.columns, indexed.id.as_str());
            for field in [
                "TRANSACTIONS",
                id,
                &link_id,
                &c.account_id,
                &c.day,
                &c.amount,
                &c.currency,
                &c.kind,
                &c.status,
                &c.description,
            ] {
                copy_text(&mut out, field);
                out.push('\t');
            }
            match c.created_at {
                Some(ms) => out.push_str(&ms.to_string()),
                None => out.push_str("\\N"),
            }
            out.push_str("\t1\t0\t");
            copy_text(&mut out, raw.get());
            out.push('\n');
            rows += 1;
        }
    }
    (out, rows)
}

async fn migrated_pg(db: &TestDatabase) -> PgPool {
    db.migrate(&data_service::MIGRATOR).await.unwrap();
    PgPoolOptions::new()
        .max_connections(4)
        .connect(db.url())
        .await
        .unwrap()
}

/// The same rows through `COPY … FROM STDIN` into a fresh `records` table, two links at a
/// time on two connections; only the COPYs are timed.
async fn store_ceiling(belvo: &Client, links: &[uuid::Uuid]) -> Measured {
    let db = TestDatabase::new(Backend::Postgres).await.unwrap();
    let pool = migrated_pg(&db).await;
    let mut timed = Duration::ZERO;
    let mut rows = 0;
    for pair in links.chunks(2) {
        let mut inputs = Vec::new();
        for link in pair {
            let (text, n) = copy_input(belvo, *link).await;
            rows += n;
            inputs.push(text);
        }
        let started = Instant::now();
        futures::future::join_all(inputs.into_iter().map(|text| {
            let pool = pool.clone();
            async move {
                let mut conn = pool.acquire().await.unwrap();
                let mut copy = conn.copy_in_raw(COPY_SQL).await.unwrap();
                copy.send(text.into_bytes()).await.unwrap();
                copy.finish().await.unwrap();
            }
        }))
        .await;
        timed += started.elapsed();
    }
    pool.close().await;
    Measured {
        rows,
        secs: timed.as_secs_f64(),
        ..Measured::default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn regions_file(emulator: &EmulatorHandle) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "data-service-bench-regions-{}.toml",
        std::process::id()
    ));
    let url = emulator.url();
    std::fs::write(
        &path,
        format!(
            r#"[regions.mx]
environment = "{url}"
secret_id = {{ value = "{ID}" }}
secret_password = {{ value = "{PW}" }}
widget = "multi_region"
country_codes = ["MX"]
access_mode = "single"
webhook_authorization = {{ value = "Bearer bench" }}
widget_script_url = "{url}/belvo-widget-1-stable.js"
hosted_widget_url = "{url}/widget/"
# Belvo's 70 per 30 s would dominate; the emulator has no firewall.
rate_budget = {{ requests = 100000, per_seconds = 1 }}

[regions.mx.branding]
company_name = "Bench"
company_icon = "http://127.0.0.1/icon.svg"
company_logo = "http://127.0.0.1/logo.svg"
company_terms_url = "http://127.0.0.1/terms"

[regions.mx.products.banking]
fetch_resources = ["TRANSACTIONS"]
"#
        ),
    )
    .unwrap();
    path
}

/// Kills the child on every exit path.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in seconds (USER_HZ = 100).
fn proc_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the command name: state is field 0, utime 11, stime 12.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

async fn sync_run(
    k: &Knobs,
    emulator: &EmulatorHandle,
    db: &TestDatabase,
    links: &[uuid::Uuid],
    arm: &Arm<'_>,
) -> Measured {
    let regions = regions_file(emulator);
    let grpc = format!("127.0.0.1:{}", free_port());
    let admin = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_data-service"));
    command.env_clear();
    if let Some(ring) = arm.key_ring {
        command.env("DATA_SERVICE__ENCRYPTION__KEY_RING_FILE", ring);
    }
    if arm.change_log_off {
        command.env("DATA_SERVICE__SYNC__CHANGE_LOG", "false");
    }
    let child = command
        .env("DATA_SERVICE__DATABASE__URL", db.url())
        .env(
            "DATA_SERVICE__DATABASE__MAX_CONNECTIONS",
            k.connections.to_string(),
        )
        .env("DATA_SERVICE__SERVER__LISTEN_ADDR", &grpc)
        .env("DATA_SERVICE__SERVER__ADMIN_ADDR", &admin)
        .env("DATA_SERVICE__REGIONS_FILE", &regions)
        .env("DATA_SERVICE__SYNC__WORKERS", k.workers.to_string())
        .env("DATA_SERVICE__SYNC__PAGE_SIZE", PAGE.to_string())
        .env("DATA_SERVICE__SYNC__POLL_INTERVAL", "100ms")
        .env("DATA_SERVICE__TELEMETRY__LOG_FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _guard = ChildGuard(child);

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut data = loop {
        match DataServiceClient::connect(format!("http://{grpc}")).await {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => panic!("data-service did not start: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let pg = PgPoolOptions::new()
        .max_connections(1)
        .connect(db.url())
        .await
        .unwrap();
    if arm.change_log_off {
        // Its listener is open before it has migrated the database.
        let newest = data_service::MIGRATOR.iter().map(|m| m.version).max();
        loop {
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&pg)
                    .await
                    .unwrap_or(None);
            if applied == newest {
                break;
            }
            assert!(Instant::now() < deadline, "data-service did not migrate");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A migration creates the log's index whether the log is on or not; without the log
        // it would only cost the writes.
        sqlx::query("DROP INDEX records_changes")
            .execute(&pg)
            .await
            .unwrap();
    }
    for link in links {
        data.notify_link_registered(pb::NotifyLinkRegisteredRequest {
            link_id: link.to_string(),
            region: "mx".into(),
            owner: "bench-owner".into(),
            fetch_resources: vec!["TRANSACTIONS".into()],
            refresh_rate: String::new(),
        })
        .await
        .unwrap();
    }
    let hooks: Vec<serde_json::Value> = emulator
        .control()
        .wait_for_webhooks(Duration::from_secs(30), |all| all.len() >= links.len())
        .await
        .expect("the emulator sent one historical_update per link")
        .into_iter()
        .map(|w| w.event)
        .filter(|e| e["webhook_code"] == "historical_update" && e["webhook_type"] == "TRANSACTIONS")
        .collect();
    assert_eq!(hooks.len(), links.len());
    let wal_before = wal_lsn(&pg).await;
    let cpu_before = proc_cpu_secs(pid);

    let started = Instant::now();
    for hook in &hooks {
        data.ingest_webhook(pb::IngestWebhookRequest {
            region: "mx".into(),
            body: serde_json::to_vec(hook).unwrap(),
        })
        .await
        .unwrap();
    }
    let want = links.len() as i64;
    loop {
        let (done, failed): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE state = 'succeeded'), COUNT(*) FILTER (WHERE state = 'failed') \
             FROM sync_status WHERE resource = 'TRANSACTIONS'",
        )
        .fetch_one(&pg)
        .await
        .unwrap();
        assert_eq!(failed, 0, "a sync job failed");
        if done == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let peak_rss_mib = proc_status_kib(pid, "VmHWM:") as f64 / 1024.0;
    let cpu_secs = proc_cpu_secs(pid) - cpu_before;
    let (wal,): (f64,) =
        sqlx::query_as("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8")
            .bind(&wal_before)
            .fetch_one(&pg)
            .await
            .unwrap();

    // Every link complete through the API too, and every row there.
    for link in links {
        let status = data
            .get_sync_status(pb::GetSyncStatusRequest {
                link_id: link.to_string(),
                owner: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .link
            .unwrap();
        assert!(
            status
                .resources
                .iter()
                .all(|r| r.state == pb::SyncState::Succeeded as i32),
            "{link} complete"
        );
    }
    let (rows, table): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), pg_total_relation_size('records') FROM records")
            .fetch_one(&pg)
            .await
            .unwrap();
    // The log written, or not at all.
    let (counters, hashed): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM change_counters), \
         (SELECT COUNT(*) FROM records WHERE content_hash IS NOT NULL)",
    )
    .fetch_one(&pg)
    .await
    .unwrap();
    if arm.change_log_off {
        assert_eq!(
            (counters, hashed),
            (0, 0),
            "{}: no change logged",
            arm.label
        );
    } else {
        assert_eq!(
            counters,
            links.len() as i64,
            "{}: a counter a link",
            arm.label
        );
        assert_eq!(hashed, rows, "{}: every row hashed", arm.label);
    }
    pg.close().await;
    let _ = std::fs::remove_file(regions);
    Measured {
        rows: rows as u64,
        secs,
        peak_rss_mib,
        cpu_secs,
        wal_mib: wal / MIB,
        table_mib: table as f64 / MIB,
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// PostgreSQL's current WAL position.
async fn wal_lsn(pg: &PgPool) -> String {
    sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(pg)
        .await
        .unwrap()
}

/// The peer script on `links`, into a fresh `records` table.
async fn peer(emulator: &EmulatorHandle, links: &[uuid::Uuid]) -> Result<Measured, String> {
    let db = TestDatabase::new(Backend::Postgres)
        .await
        .ok_or("PostgreSQL unreachable")?;
    migrated_pg(&db).await.close().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peer_belvo_python.py");
    let links: Vec<String> = links.iter().map(ToString::to_string).collect();
    let output = tokio::task::spawn_blocking({
        let url = emulator.url().to_owned();
        let db_url = db.url().to_owned();
        move || {
            Command::new("python3")
                .arg(script)
                .args(["--url", &url, "--secret-id", ID, "--secret-password", PW])
                .args(["--db", &db_url, "--page-size", &PAGE.to_string()])
                .args(["--links", &links.join(",")])
                .output()
        }
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("python3: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    Ok(Measured {
        rows: result["rows"].as_u64().unwrap_or(0),
        secs: result["seconds"].as_f64().unwrap_or(f64::NAN),
        ..Measured::default()
    })
}
