//! Scenario 3: the same webhook sent to both gateways 10 times at once (Belvo retrying, a
//! load balancer spreading the retries) is stored once and pulled once: one pull per
//! distinct event, counted in the emulator's request log.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, ensure};
use cluster_tests::{Cluster, Options, ids};
use connect_proto::data::v1 as pb;
use serde_json::Value;

const LINKS: usize = 4;
const SENDS_PER_GATEWAY: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_webhook_to_both_gateways_ten_times_pulls_once() {
    let Some(mut cluster) = Cluster::start(Options::default()).await else {
        return;
    };
    let result = scenario(&mut cluster).await;
    cluster.finish(result).await;
}

async fn scenario(c: &mut Cluster) -> anyhow::Result<()> {
    let (links, _) = c.synced_links("dupes", 2, LINKS).await?;
    let ids = ids(&links);

    // One new distinct event per link: a full re-pull of its transactions.
    let mut events = Vec::new();
    for link in &ids {
        events.push(
            c.api
                .trigger(*link, "TRANSACTIONS", "historical_update")
                .await?,
        );
    }
    c.api.clear_emulator_requests().await?;
    let sent_at = SystemTime::now();

    // Every copy of every event at once, each gateway 10 times.
    let api = &c.api;
    let sends = events.iter().flat_map(|event| {
        (0..2 * SENDS_PER_GATEWAY).map(move |i| {
            let api = api.clone();
            async move {
                (
                    event["webhook_id"].clone(),
                    api.deliver_once(i % 2, event).await,
                )
            }
        })
    });
    let results = futures::future::join_all(sends).await;
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for (id, delivery) in &results {
        ensure!(
            delivery.status == Some(200),
            "webhook {id} answered {:?}",
            delivery.status
        );
        if delivery.outcome.as_deref() == Some("accepted") {
            *accepted
                .entry(id.as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        } else {
            ensure!(
                delivery.outcome.as_deref() == Some("duplicate"),
                "webhook {id}: outcome {:?}",
                delivery.outcome
            );
        }
    }
    for event in &events {
        let id = event["webhook_id"].as_str().unwrap_or_default();
        ensure!(
            accepted.get(id) == Some(&1),
            "webhook {id} accepted {:?} times (once expected)",
            accepted.get(id)
        );
    }

    // Each event stored once, with every delivery counted, and its pull done.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut waiting = Vec::new();
        let stored = c.api.webhook_events().await?;
        for (event, link) in events.iter().zip(&ids) {
            let id = event["webhook_id"].as_str().unwrap_or_default();
            let Some(stored) = stored.get(id) else {
                bail!("webhook {id} is not stored");
            };
            ensure!(
                stored.deliveries == (2 * SENDS_PER_GATEWAY) as i32,
                "webhook {id}: {} deliveries counted",
                stored.deliveries
            );
            let status = c
                .api
                .resource_status(*link, pb::Resource::Transactions)
                .await?;
            let done = stored.state == pb::WebhookState::Processed as i32
                && status.is_some_and(|s| {
                    s.state == pb::SyncState::Succeeded as i32
                        && s.last_success_at.is_some_and(|t| {
                            SystemTime::UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos as u32)
                                >= sent_at
                        })
                });
            if !done {
                waiting.push(*link);
            }
        }
        if waiting.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!("the pulls of {waiting:?} did not finish");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // One pull per event: one first page of transactions per link.
    let requests = c.api.emulator_requests().await?;
    for link in &ids {
        let firsts = requests
            .iter()
            .filter(|r| is_first_page(r, "/api/transactions/", &link.to_string()))
            .count();
        ensure!(
            firsts == 1,
            "{link}: {firsts} pulls of transactions for one event"
        );
    }
    let expected = c.expected(&ids).await?;
    c.wait_synced(&expected, Duration::from_secs(30)).await?;
    c.assert_exact(&expected).await
}

/// A GET of the first page of `path` for `link` (later pages carry `page=`).
fn is_first_page(request: &Value, path: &str, link: &str) -> bool {
    let query = request["query"].as_str().unwrap_or_default();
    request["method"] == "GET"
        && request["path"] == path
        && query.split('&').any(|p| p == format!("link={link}"))
        && !query.split('&').any(|p| p.starts_with("page="))
}
