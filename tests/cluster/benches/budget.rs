//! The Belvo budget benchmark (issue 12), on the real binaries (the cluster test's: 2 token-,
//! 2 link-, 3 data-service replicas of 3 workers, 2 gateways, PostgreSQL) with Belvo's
//! firewall on at the budget, scaled up so that a run takes minutes: `BENCH_BUDGET` requests
//! (300) per 3 s for every service together, data-service's share 70% of it.
//!
//! The realistic case: `BENCH_BACKLOG_LINKS` links (500) are registered and synced, then Belvo
//! announces a `historical_update` of each one's transactions, now 10 pages each (a day's
//! refresh of every link): a backlog of 5,000 pages. Then a user links a new account. Measured,
//! with priorities on (the default) beside `DATA_SERVICE__SYNC__PRIORITIES=false` (first come,
//! first served, each job to its end), each on a cluster of its own:
//! - the data requests of other links between the new link's webhook and its first page
//!   request (the budget slots it waited), that wait in time, and the time to its completion;
//! - the time to drain the backlog;
//! - the busiest 3 s window of the services' requests against the budget, and the firewall's
//!   refusals;
//! - the backlog's list requests against the minimum (ceil(rows / page size) a pull, from the
//!   rows Belvo has).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::time::{Duration, Instant};

use chrono::Utc;
use cluster_tests::belvo_log::{busiest, services_requests, slots_before};
use cluster_tests::{Cluster, Options, ids};

const WINDOW_SECS: u32 = 3;
const PAGE: u64 = 10;
const ROWS: u64 = 100;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One configuration's figures.
#[derive(Debug)]
struct Figures {
    slots_waited: usize,
    first_page: Duration,
    completed: Duration,
    drained: Duration,
    busiest: usize,
    refused: u64,
    requests: u64,
    minimum: u64,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let budget = env_or("BENCH_BUDGET", 300u32);
    let links = env_or("BENCH_BACKLOG_LINKS", 500usize);
    let mut rows = Vec::new();
    for priorities in [true, false] {
        let Some(figures) = runtime.block_on(run(budget, links, priorities)) else {
            eprintln!("skipping the budget benchmark: PostgreSQL is unreachable");
            return;
        };
        rows.push((priorities, figures));
    }
    println!(
        "\nBelvo budget: {budget} requests per {WINDOW_SECS} s, firewall at the budget; a backlog \
         of {links} links × {} pages, then a new link",
        ROWS / PAGE
    );
    println!(
        "| configuration | slots before the new link's first page | its first page | its \
         completion | backlog drained | busiest window | refused | list requests / minimum |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (priorities, f) in rows {
        println!(
            "| {} | {} | {:.2} s | {:.2} s | {:.1} s | {} / {budget} | {} | {} / {} ({:+.2}%) |",
            if priorities {
                "priorities and turns"
            } else {
                "first come, first served"
            },
            f.slots_waited,
            f.first_page.as_secs_f64(),
            f.completed.as_secs_f64(),
            f.drained.as_secs_f64(),
            f.busiest,
            f.refused,
            f.requests,
            f.minimum,
            (f.requests as f64 / f.minimum as f64 - 1.0) * 100.0,
        );
    }
}

async fn run(budget: u32, links: usize, priorities: bool) -> Option<Figures> {
    let mut env = vec![(
        "DATA_SERVICE__SYNC__POLL_INTERVAL".to_owned(),
        "200ms".to_owned(),
    )];
    if !priorities {
        env.push((
            "DATA_SERVICE__SYNC__PRIORITIES".to_owned(),
            "false".to_owned(),
        ));
    }
    let options = Options {
        page_size: PAGE as u32,
        transactions: PAGE,
        budget: Some((budget, WINDOW_SECS)),
        firewall: Some((budget, u64::from(WINDOW_SECS))),
        env,
        ..Options::default()
    };
    let mut cluster = Cluster::start(options).await?;
    let result = measure(&cluster, links).await;
    match result {
        Ok(figures) => {
            cluster.finish(Ok(())).await;
            Some(figures)
        }
        Err(e) => cluster.fail(&format!("{e:#}")),
    }
}

async fn measure(c: &Cluster, links: usize) -> anyhow::Result<Figures> {
    let users = (links / 25).max(1);
    let (backlog, _) = c.synced_links("backlog", users, links).await?;
    let backlog = ids(&backlog);
    c.api.clear_emulator_requests().await?;
    // A day's refresh: every link has 10 pages of transactions now, and Belvo says so.
    let mut events = Vec::new();
    for link in &backlog {
        c.api.set_link_scale(*link, ROWS).await?;
        events.push(
            c.api
                .trigger(*link, "TRANSACTIONS", "historical_update")
                .await?,
        );
    }
    let backlog_at = Instant::now();
    c.api
        .deliver_all(&events, 8, Duration::from_secs(120))
        .await?;

    let fresh = c.new_links("fresh", 1, 1).await?;
    let fresh = fresh[0].0;
    let events = c.api.webhooks_of(&[fresh]).await?;
    let (delivered, delivered_at) = (Instant::now(), Utc::now());
    c.api
        .deliver_all(&events, 2, Duration::from_secs(30))
        .await?;
    let expected = c.expected(&[fresh]).await?;
    c.wait_synced(&expected, Duration::from_secs(900)).await?;
    let completed = delivered.elapsed();

    let expected = c.expected(&backlog).await?;
    c.wait_synced(&expected, Duration::from_secs(900)).await?;
    let drained = backlog_at.elapsed();
    // The fewest list requests that pull what Belvo has: a page per PAGE transactions.
    let minimum = expected
        .values()
        .map(|resources| (resources[1].len() as u64).div_ceil(PAGE))
        .sum();

    let sent = services_requests(&c.api.emulator_requests().await?)?;
    let (slots_waited, first) = slots_before(&sent, fresh, delivered_at)
        .ok_or_else(|| anyhow::anyhow!("no request for the new link"))?;
    let first_page = (first.at - delivered_at).to_std().unwrap_or_default();
    let transactions = sent
        .iter()
        .filter(|s| s.path == "/api/transactions/" && s.link.is_some_and(|l| backlog.contains(&l)))
        .count() as u64;
    let firewall = c.api.firewall().await?;
    Ok(Figures {
        slots_waited,
        first_page,
        completed,
        drained,
        busiest: busiest(&sent, chrono::Duration::seconds(i64::from(WINDOW_SECS))),
        refused: firewall["refused_total"].as_u64().unwrap_or(u64::MAX),
        requests: transactions,
        minimum,
    })
}
