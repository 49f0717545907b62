//! Scenario 5: PostgreSQL restarted while webhooks arrive and syncs run, on a server of the
//! test's own; once with normal commits, once with every answer of the server ~100 ms late
//! (a delaying proxy between the services and PostgreSQL). No service process restarts;
//! every webhook a gateway answered 200 is stored; those refused meanwhile got a 5xx (so Belvo
//! would retry them) and are sent again; every link's data is exact at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use cluster_tests::postgres::{DelayProxy, PrivateServer, url_at};
use cluster_tests::{Cluster, Delivery, Options, ids};
use futures::StreamExt as _;

const LINKS: usize = 20;
/// The shortest time PostgreSQL stays down.
const OUTAGE: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_while_webhooks_arrive() {
    run(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_while_webhooks_arrive_with_slow_commits() {
    run(Some(Duration::from_millis(100))).await;
}

async fn run(delay: Option<Duration>) {
    let mut server = match PrivateServer::start().await {
        Ok(Some(server)) => server,
        Ok(None) => return,
        Err(e) => panic!("cannot start a private PostgreSQL: {e:#}"),
    };
    server
        .create_databases(&["token", "link", "data"])
        .await
        .unwrap_or_else(|e| panic!("create databases: {e:#}"));
    let proxy = match delay {
        Some(delay) => Some(
            DelayProxy::start(server.addr(), delay)
                .await
                .unwrap_or_else(|e| panic!("proxy: {e:#}")),
        ),
        None => None,
    };
    let via = proxy.as_ref().map_or_else(|| server.addr(), |p| p.addr);
    let options = Options {
        databases: Some(["token", "link", "data"].map(|db| url_at(via, db))),
        // A server of its own: connections to spare, so that slow commits do not also
        // queue webhooks behind the workers for a connection.
        data_connections: 10,
        ..Options::default()
    };
    let Some(mut cluster) = Cluster::start(options).await else {
        return;
    };
    let result = scenario(&mut cluster, &mut server).await;
    let result = result.map_err(|e| e.context(format!("postgres log:\n{}", server.log_tail(30))));
    cluster.finish(result).await;
    drop(proxy);
}

async fn scenario(c: &mut Cluster, server: &mut PrivateServer) -> anyhow::Result<()> {
    let links = c.new_links("pgrestart", 2, LINKS).await?;
    let ids = ids(&links);
    let events = c.api.webhooks_of(&ids).await?;

    // Belvo sends, 4 at a time, each webhook once; the restart comes in the middle.
    let sent = Arc::new(AtomicUsize::new(0));
    let api = c.api.clone();
    let sender = {
        let sent = Arc::clone(&sent);
        let events = events.clone();
        tokio::spawn(async move {
            futures::stream::iter(events.into_iter().enumerate())
                .map(|(i, event)| {
                    let (api, sent) = (api.clone(), Arc::clone(&sent));
                    async move {
                        let delivery = api.deliver_once(i, &event).await;
                        sent.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(40)).await;
                        (event, delivery)
                    }
                })
                .buffer_unordered(4)
                .collect::<Vec<_>>()
                .await
        })
    };
    wait_for(&sent, events.len() / 4).await?;
    server.stop().await?;
    let at_stop = sent.load(Ordering::SeqCst);
    // Down for at least OUTAGE, and until 4 more webhooks were answered (at most 10 s).
    let down = Instant::now();
    while (down.elapsed() < OUTAGE || sent.load(Ordering::SeqCst) < at_stop + 4)
        && down.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.run().await?;
    let results = sender.await.context("sender")?;

    // Every answer is a 200 or a 5xx, never a 4xx nor silence; some fell in the outage.
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut refused = Vec::new();
    let mut accepted = Vec::new();
    for (event, Delivery { status, .. }) in &results {
        *by_status.entry(format!("{status:?}")).or_default() += 1;
        match status {
            Some(200) => accepted.push(event["webhook_id"].as_str().unwrap_or_default().to_owned()),
            Some(s) if *s >= 500 => refused.push(event.clone()),
            other => bail!("webhook {} answered {other:?}", event["webhook_id"]),
        }
    }
    ensure!(
        !refused.is_empty(),
        "no webhook fell in the outage ({by_status:?}): the restart was too quick to test"
    );

    // Belvo retries the refused ones.
    c.api
        .deliver_all(&refused, 4, Duration::from_secs(60))
        .await?;
    #[allow(clippy::print_stderr)]
    {
        eprintln!("answers while PostgreSQL restarted: {by_status:?}");
    }

    let expected = c.expected(&ids).await?;
    c.wait_synced(&expected, Duration::from_secs(120)).await?;
    c.assert_exact(&expected).await?;

    let stored = c.api.webhook_events().await?;
    let lost: Vec<_> = accepted
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    ensure!(lost.is_empty(), "answered 200 but not stored: {lost:?}");
    let missing: Vec<_> = events
        .iter()
        .filter_map(|e| e["webhook_id"].as_str())
        .filter(|id| !stored.contains_key(*id))
        .collect();
    ensure!(missing.is_empty(), "never stored: {missing:?}");

    for p in c.services() {
        let (running, exit) = (p.is_running(), p.exit_status());
        ensure!(
            running && p.starts == 1,
            "{} restarted or exited ({exit:?})",
            p.name
        );
    }
    Ok(())
}

async fn wait_for(counter: &AtomicUsize, n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while counter.load(Ordering::SeqCst) < n {
        if Instant::now() > deadline {
            bail!(
                "only {} webhooks sent in 60 s",
                counter.load(Ordering::SeqCst)
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
