//! Scenario 4: a link's progress stream (the gateway's Server-Sent Events, fed by
//! data-service's WatchSyncStatus) opened through gateway 1, whose data-service replica 1
//! runs no sync workers, follows to `succeeded` a job that another replica runs: the webhooks
//! go in through gateway 2 (replica 2), and replicas 2 and 3 pull.

use std::time::Duration;

use anyhow::{Context as _, bail};
use cluster_tests::{Cluster, Options, ids};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_stream_follows_a_job_another_replica_runs() {
    let options = Options {
        data_workers: [0, 3, 3],
        // Gateway 1 must reach replica 1 only, for the stream to be one replica's.
        balanced: false,
        ..Options::default()
    };
    let Some(mut cluster) = Cluster::start(options).await else {
        return;
    };
    let result = scenario(&mut cluster).await;
    cluster.finish(result).await;
}

async fn scenario(c: &mut Cluster) -> anyhow::Result<()> {
    let users = c.users("progress", 1).await?;
    let links = c.create_links(&users, "progress", 1).await?;
    let (link, user) = links[0].clone();
    // Registered through gateway 1: link-service 1 tells data-service replica 1.
    c.api
        .register_link(&user, link, 0, Duration::from_secs(30))
        .await?;

    let response = c
        .api
        .http
        .get(format!("{}/v1/links/{link}/events", c.api.gateway_urls[0]))
        .bearer_auth(&user.token)
        .timeout(Duration::from_secs(120))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "events: {}",
        response.status()
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Value)>();
    let reader = tokio::spawn(read_events(response, tx));

    // The first `sync` event is the snapshot: the stream is open.
    let first = next_sync(&mut rx, Duration::from_secs(10))
        .await
        .context("no snapshot on the stream")?;
    anyhow::ensure!(!all_succeeded(&first), "already synced: {first}");

    // Belvo's webhooks through gateway 2 only.
    let events = c.api.webhooks_of(&ids(&links)).await?;
    for event in &events {
        c.api.deliver(1, event, Duration::from_secs(30)).await?;
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut last = first;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match next_sync(&mut rx, left).await {
            Some(update) if all_succeeded(&update) => break,
            Some(update) => last = update,
            None => {
                // Tell a feed that stays in one process from a sync that did not run.
                let elsewhere = c.api.sync_status(link).await;
                reader.abort();
                bail!(
                    "the stream through gateway 1 / data-service replica 1 never showed \
                     `succeeded` (last event: {last}); the job itself, as another replica \
                     reports it: {elsewhere:?}. If that says SUCCEEDED, the status feed does \
                     not cross replicas (in-process only)."
                );
            }
        }
    }
    reader.abort();
    let expected = c.expected(&[link]).await?;
    c.wait_synced(&expected, Duration::from_secs(30)).await?;
    c.assert_exact(&expected).await
}

/// Whether a `sync` event shows every resource succeeded (and both resources present).
fn all_succeeded(sync: &Value) -> bool {
    sync["resources"].as_array().is_some_and(|r| {
        r.len() == cluster_tests::RESOURCES.len() && r.iter().all(|r| r["state"] == "succeeded")
    })
}

/// The next `sync` event's data, or `None` after `within` (or when the stream ended).
async fn next_sync(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Value)>,
    within: Duration,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((name, data))) if name == "sync" => return Some(data),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Parses the Server-Sent Events of `response` into (event, JSON data) pairs.
async fn read_events(
    mut response: reqwest::Response,
    tx: tokio::sync::mpsc::UnboundedSender<(String, Value)>,
) {
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let Ok(value) = serde_json::from_str(&data)
                && tx.send((name, value)).is_err()
            {
                return;
            }
        }
    }
}
