//! Scenario 9 (issue 12): one Belvo budget for every service and replica, with Belvo's firewall
//! on and set to the budget (60 requests per 3 s from the services' address; token-service 6,
//! link-service 18, three data-service replicas 36 together, one worker each). Twelve links are
//! synced, then an operator resyncs them all at once: three huge links first (40 pages each),
//! then nine small ones (5 pages). Meanwhile a user links a new account, and another opens the
//! widget. Belvo (the emulator) then shows:
//! - no request refused and no window of 3 s with more than 60 requests;
//! - the new link's first page among the first few requests after its webhook, not behind
//!   the backlog;
//! - every small link done before any huge one (links take turns page by page);
//! - each pull costing its pages and at most one request more;
//! - the widget token served at once while sync uses all of its share.
//!
//! Shares over the budget stop a service at start-up, naming the region.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use chrono::{DateTime, Utc};
use cluster_tests::belvo_log::{busiest, services_requests, slots_before};
use cluster_tests::{Cluster, Options, ids};
use connect_proto::data::v1 as pb;
use uuid::Uuid;

/// Requests per window of seconds: Belvo's firewall as the test sets it, and the budget.
const BUDGET: (u32, u32) = (60, 3);
const HUGE: u64 = 400;
const SMALL: u64 = 50;
const PAGE: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_budget_for_every_replica_interactive_first_and_links_take_turns() {
    let options = Options {
        data_workers: [1, 1, 1],
        page_size: PAGE as u32,
        budget: Some(BUDGET),
        firewall: Some((BUDGET.0, u64::from(BUDGET.1))),
        ..Options::default()
    };
    let Some(mut cluster) = Cluster::start(options).await else {
        return;
    };
    let result = scenario(&mut cluster).await;
    cluster.finish(result).await;
}

async fn scenario(c: &mut Cluster) -> anyhow::Result<()> {
    let (links, _) = c.synced_links("budget", 3, 12).await?;
    let backlog = ids(&links);
    for (i, link) in backlog.iter().enumerate() {
        let n = if i < 3 { HUGE } else { SMALL };
        c.api.set_link_scale(*link, n).await?;
    }
    let resynced_at = Utc::now();
    for (i, link) in backlog.iter().enumerate() {
        c.api.data[i % c.api.data.len()]
            .clone()
            .resync_link(pb::ResyncLinkRequest {
                link_id: link.to_string(),
                owner: String::new(),
                resources: vec![pb::Resource::Transactions as i32],
            })
            .await?;
    }

    // A new link while the backlog runs.
    let fresh = c.new_links("fresh", 1, 1).await?;
    let fresh_id = fresh[0].0;
    let events = c.api.webhooks_of(&[fresh_id]).await?;
    let delivered_at = Utc::now();
    c.api
        .deliver_all(&events, 2, Duration::from_secs(30))
        .await?;
    let fresh_expected = c.expected(&[fresh_id]).await?;
    c.wait_synced(&fresh_expected, Duration::from_secs(60))
        .await?;

    // A widget token while sync uses its whole share: token-service's share is its own.
    let started = Instant::now();
    c.api.user("late-user").await?;
    let waited = started.elapsed();
    ensure!(
        waited < Duration::from_secs(u64::from(BUDGET.1)),
        "a widget token took {waited:?} while sync was busy"
    );

    let expected = c.expected(&backlog).await?;
    c.wait_synced(&expected, Duration::from_secs(120)).await?;
    c.assert_exact(&expected).await?;

    let firewall = c.api.firewall().await?;
    ensure!(
        firewall["refused_total"] == 0,
        "Belvo's firewall refused requests: {firewall}"
    );
    let sent = services_requests(&c.api.emulator_requests().await?)?;
    let window = chrono::Duration::seconds(i64::from(BUDGET.1));
    let busiest = busiest(&sent, window);
    ensure!(
        busiest <= BUDGET.0 as usize,
        "{busiest} requests in one window of {window}"
    );

    // The new link's first page came within a few budget slots of its webhook: at most one
    // request of each replica's worker (already waiting for the budget) went before it.
    let (ahead, _) =
        slots_before(&sent, fresh_id, delivered_at).context("no request for the new link")?;
    ensure!(
        ahead <= 2 * c.datas.len(),
        "{ahead} backlog requests went before the new link's first page"
    );

    // Links took turns: every small link finished before any huge one.
    let mut last: BTreeMap<Uuid, DateTime<Utc>> = BTreeMap::new();
    let mut pulls: BTreeMap<Uuid, u64> = BTreeMap::new();
    for s in sent
        .iter()
        .filter(|s| s.path == "/api/transactions/" && s.at >= resynced_at)
    {
        if let Some(link) = s.link.filter(|l| backlog.contains(l)) {
            last.insert(link, s.at);
            *pulls.entry(link).or_default() += 1;
        }
    }
    let huge: HashSet<Uuid> = backlog[..3].iter().copied().collect();
    let first_huge_done = huge.iter().filter_map(|l| last.get(l)).min().copied();
    let last_small_done = backlog[3..]
        .iter()
        .filter_map(|l| last.get(l))
        .max()
        .copied();
    ensure!(
        matches!((last_small_done, first_huge_done), (Some(s), Some(h)) if s < h),
        "a huge link finished ({first_huge_done:?}) before the small ones ({last_small_done:?})"
    );

    // Each pull cost its pages and at most one request more.
    for (i, link) in backlog.iter().enumerate() {
        let rows = if i < 3 { HUGE } else { SMALL };
        let pages = rows.div_ceil(PAGE);
        let made = pulls.get(link).copied().unwrap_or(0);
        ensure!(
            (pages..=pages + 1).contains(&made),
            "link {link}: {made} list requests for {rows} rows ({pages} pages)"
        );
    }

    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "budget: {} requests, busiest window {busiest}, {ahead} ahead of the new link's first \
         page, widget token in {waited:?}, transaction pulls {:?}",
            sent.len(),
            pulls.values().collect::<Vec<_>>()
        );
    }
    refused_at_start_up(c)
}

/// data-service started with a share over the region's budget exits, naming the region.
fn refused_at_start_up(c: &Cluster) -> anyhow::Result<()> {
    let regions = c.dir().join("regions.toml");
    let output = std::process::Command::new(cluster_tests::process::binary("data-service")?)
        .env_clear()
        .env("REGIONS_FILE", &regions)
        .env("REGION_MX_RATE_BUDGET_SHARES_DATA_SERVICE", "1000")
        .env(
            "DATA_SERVICE__DATABASE__URL",
            format!("sqlite:{}", c.dir().join("refused.db").display()),
        )
        .env("DATA_SERVICE__SERVER__LISTEN_ADDR", "127.0.0.1:0")
        .env("DATA_SERVICE__SERVER__ADMIN_ADDR", "127.0.0.1:0")
        .output()
        .context("run data-service")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        !output.status.success() && stderr.contains("regions.mx.rate_budget.shares"),
        "data-service with shares over the budget: {:?}\n{stderr}",
        output.status
    );
    Ok(())
}
