//! Scenario 2: a rolling restart (SIGTERM replica 1 of every service, start it again, then
//! replica 2, then data-service's replica 3) in the middle of syncing 100 links. One more
//! link has a long full re-pull running throughout, with the rows Belvo deleted before it
//! still stored, and a new webhook for that link queues an incremental pull while it runs:
//! every replica that runs it is stopped, so the job is handed back at least once while
//! the incremental job waits. It must end as a complete full pull, its sweep done.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail, ensure};
use belvo_emulator::{Fault, FaultSpec};
use cluster_tests::{Cluster, Options, ids};
use connect_proto::data::v1 as pb;

const LINKS: usize = 100;
/// Transactions of the long link: its full pull takes many pages.
const LONG_TRANSACTIONS: u64 = 1500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_while_100_links_sync() {
    let Some(mut cluster) = Cluster::start(Options::default()).await else {
        return;
    };
    let result = scenario(&mut cluster).await;
    cluster.finish(result).await;
}

async fn scenario(c: &mut Cluster) -> anyhow::Result<()> {
    // The long link, synced once.
    let long_links = c.new_links("long", 1, 1).await?;
    let long = long_links[0].0;
    c.api.set_link_scale(long, LONG_TRANSACTIONS).await?;
    let events = c.api.webhooks_of(&[long]).await?;
    c.api
        .deliver_all(&events, 4, Duration::from_secs(30))
        .await?;
    let before = c.expected(&[long]).await?;
    c.wait_synced(&before, Duration::from_secs(60)).await?;

    // Belvo deletes some of its rows; a full re-pull (historical_update) starts.
    let transactions = &before[&long][1];
    for id in transactions.iter().step_by(97).take(5) {
        c.api.delete_object(long, "transactions", id).await?;
    }
    let repull_sent = SystemTime::now();
    let repull = c
        .api
        .trigger(long, "TRANSACTIONS", "historical_update")
        .await?;
    // Each transactions page a little slower, so that the re-pull outlasts the restarts.
    c.api
        .add_fault(&FaultSpec {
            path: "/api/transactions/".into(),
            method: Some("GET".into()),
            fault: Fault::Latency { ms: 40 },
            probability: None,
            count: None,
            seed: None,
        })
        .await?;
    c.api.deliver(0, &repull, Duration::from_secs(30)).await?;

    // The 100 links, their webhooks delivered while everything restarts.
    let links = c.new_links("rolling", 5, LINKS).await?;
    let mut all = ids(&links);
    let events = c.api.webhooks_of(&all).await?;
    all.push(long);

    wait_running(c, long).await?;
    // New rows at Belvo and their `new_transactions_available`: an incremental job queued
    // behind the running full pull.
    c.api.add_objects(long, "transactions", 3).await?;
    let incremental = c
        .api
        .trigger(long, "TRANSACTIONS", "new_transactions_available")
        .await?;
    c.api
        .deliver(1, &incremental, Duration::from_secs(30))
        .await?;

    let api = c.api.clone();
    let deliveries =
        tokio::spawn(async move { api.deliver_all(&events, 8, Duration::from_secs(90)).await });

    let mut running_at_stops = Vec::new();
    for round in 0..3 {
        let state = c
            .api
            .resource_status(long, pb::Resource::Transactions)
            .await?;
        running_at_stops.push(state.map(|s| s.state));
        let Cluster {
            tokens,
            links,
            datas,
            gateways,
            ..
        } = &mut *c;
        let mut group: Vec<&mut cluster_tests::process::Proc> = Vec::new();
        for service in [tokens, links, datas, gateways] {
            if let Some(p) = service.get_mut(round) {
                group.push(p);
            }
        }
        let stopped = futures::future::join_all(
            group
                .iter_mut()
                .map(|p| p.terminate(Duration::from_secs(15))),
        )
        .await;
        for (p, status) in group.iter().zip(stopped) {
            let status = status?;
            ensure!(
                status.success(),
                "{} ended with {status} after SIGTERM",
                p.name
            );
        }
        for p in &mut group {
            p.start()?;
        }
        futures::future::try_join_all(
            group
                .iter_mut()
                .map(|p| p.wait_ready(Duration::from_secs(30))),
        )
        .await?;
    }
    let after_rounds = c
        .api
        .resource_status(long, pb::Resource::Transactions)
        .await?;
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "the long re-pull at the stops: {running_at_stops:?}; after the restarts: {:?} with {} rows this pull",
            after_rounds.as_ref().map(|s| s.state),
            after_rounds.as_ref().map_or(0, |s| s.records_this_pull)
        );
    }
    deliveries.await.context("delivery task")??;
    c.api.clear_faults().await?;

    let expected = c.expected(&all).await?;
    c.wait_synced(&expected, Duration::from_secs(120)).await?;
    c.assert_exact(&expected).await?;

    // The long link's last full pull is the re-pull (or later), complete and swept.
    let status = c
        .api
        .resource_status(long, pb::Resource::Transactions)
        .await?
        .context("no status")?;
    let full = status.last_full_pull_at.context("no last_full_pull_at")?;
    let full = SystemTime::UNIX_EPOCH + Duration::new(full.seconds as u64, full.nanos as u32);
    ensure!(
        full >= repull_sent,
        "the last full pull ({full:?}) is older than the re-pull ({repull_sent:?})"
    );
    // Running at every stop: it never finished in between, and a job moves only when
    // handed back, so the replica running it was stopped under it at least once.
    ensure!(
        running_at_stops
            .iter()
            .all(|s| *s == Some(pb::SyncState::Running as i32)),
        "the long link's re-pull was not running at every stop ({running_at_stops:?}), so \
         it may never have been handed back: make it longer"
    );
    Ok(())
}

/// Waits until the link's transactions are being pulled.
async fn wait_running(c: &Cluster, link: uuid::Uuid) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = c
            .api
            .resource_status(link, pb::Resource::Transactions)
            .await?;
        if status
            .as_ref()
            .is_some_and(|s| s.state == pb::SyncState::Running as i32 && s.records_this_pull > 0)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the re-pull of {link} did not start: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
