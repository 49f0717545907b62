//! Serving benchmark: pages/s and MB/s of 1000-row transaction pages over loopback, with the
//! emulator on one core (a current-thread runtime on its own thread), for a link of 10 thousand
//! and one of 1 million transactions, and the process's resident memory after each, to show it
//! stays flat. Run with `cargo bench -p belvo-emulator`.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use belvo_emulator::{Account, Config, Emulator, Scale};
use serde_json::{Value, json};

const ID: &str = "bench-id";
const PW: &str = "bench-password";
const PAGE: u64 = 1000;

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Phase {
    label: &'static str,
    pages: u64,
    bytes: u64,
    secs: f64,
    rss_mib: f64,
    hwm_mib: f64,
}

async fn run_phase(
    http: &reqwest::Client,
    base: &str,
    link: &str,
    total_pages: u64,
    budget: Duration,
    label: &'static str,
) -> Phase {
    let started = Instant::now();
    let mut pages = 0u64;
    let mut bytes = 0u64;
    // Walk the pages in order, wrapping around, like a sync worker following `next`.
    let mut page = 1u64;
    while started.elapsed() < budget {
        let url = format!("{base}/api/transactions/?link={link}&page_size={PAGE}&page={page}");
        let body = http
            .get(&url)
            .basic_auth(ID, Some(PW))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(body.len() > 100_000, "a 1000-row page is large");
        bytes += body.len() as u64;
        pages += 1;
        page = page % total_pages + 1;
    }
    Phase {
        label,
        pages,
        bytes,
        secs: started.elapsed().as_secs_f64(),
        rss_mib: status_kib("VmRSS:") as f64 / 1024.0,
        hwm_mib: status_kib("VmHWM:") as f64 / 1024.0,
    }
}

fn main() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let cfg = Config {
                accounts: vec![Account::new(ID, PW)],
                data_as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
                ..Config::for_tests()
            };
            let emu = Emulator::start(cfg).await.unwrap();
            tx.send(emu.url().to_owned()).unwrap();
            let _ = stop_rx.await;
            emu.shutdown().await;
        });
    });
    let base = rx.recv().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let phases = rt.block_on(async {
        let http = reqwest::Client::new();
        let mut links = Vec::new();
        for (user, n) in [("bench_10k", 10_000u64), ("bench_1m", 1_000_000u64)] {
            let r: Value = http
                .post(format!("{base}/api/links/"))
                .basic_auth(ID, Some(PW))
                .json(
                    &json!({"institution": "erebor_mx_retail", "username": user, "password": "pw"}),
                )
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = r["id"].as_str().unwrap().to_owned();
            let s = http
                .put(format!("{base}/_emulator/links/{id}/scale"))
                .json(&Scale {
                    transactions: n,
                    invoices: 10,
                })
                .send()
                .await
                .unwrap()
                .status();
            assert!(s.is_success());
            links.push((id, n));
        }
        let budget = Duration::from_secs(4);
        // Warm-up so both phases start from the same state.
        run_phase(
            &http,
            &base,
            &links[0].0,
            10,
            Duration::from_millis(500),
            "warm-up",
        )
        .await;
        let small = run_phase(&http, &base, &links[0].0, links[0].1 / PAGE, budget, "10k").await;
        let big = run_phase(&http, &base, &links[1].0, links[1].1 / PAGE, budget, "1M").await;
        // A non-date filter scans the link: the cost of one such page at 1M.
        let t = Instant::now();
        let page: Value = http
            .get(format!(
                "{base}/api/transactions/?link={}&page_size={PAGE}&type=INFLOW",
                links[1].0
            ))
            .basic_auth(ID, Some(PW))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let scan = (
            t.elapsed().as_secs_f64(),
            page["count"].as_u64().unwrap_or(0),
        );
        (vec![small, big], scan)
    });
    let (phases, scan) = phases;
    let _ = stop_tx.send(());
    server.join().unwrap();
    println!(
        "belvo-emulator serving benchmark: 1000-row transaction pages, loopback, server on one core"
    );
    println!(
        "{:<6} {:>8} {:>10} {:>9} {:>10} {:>10}",
        "link", "pages", "pages/s", "MB/s", "RSS MiB", "peak MiB"
    );
    for p in &phases {
        println!(
            "{:<6} {:>8} {:>10.1} {:>9.1} {:>10.1} {:>10.1}",
            p.label,
            p.pages,
            p.pages as f64 / p.secs,
            p.bytes as f64 / p.secs / 1e6,
            p.rss_mib,
            p.hwm_mib
        );
    }
    println!(
        "a page of the 1M link filtered by type=INFLOW (scans every transaction): {:.2} s, count {}",
        scan.0, scan.1
    );
    let growth = phases[1].hwm_mib - phases[0].hwm_mib;
    println!("peak RSS growth from 10k to 1M transactions: {growth:.1} MiB");
}
