//! Scenario 6: Belvo deletes rows; a full re-pull of the links' transactions (ResyncLink)
//! fails again and again (the emulator answers 500 on the list endpoint) while a refresh's
//! webhook for the same link arrives and waits (Belvo's `historical_update` after a refresh
//! through the gateway for half the links, its recurrent `new_transactions_available` with new
//! rows for the other half). Once Belvo recovers, the retries end with a complete full pull:
//! the deleted rows swept, the new ones stored.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail, ensure};
use belvo_emulator::{Fault, FaultSpec};
use cluster_tests::{Cluster, Options, ids};
use connect_proto::data::v1 as pb;

const LINKS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_full_repull_ends_swept_after_retries() {
    let options = Options {
        // One Belvo retry inside a job attempt: the job's own retries are what is tested.
        env: vec![("DATA_SERVICE__BELVO__MAX_RETRIES".into(), "1".into())],
        ..Options::default()
    };
    let Some(mut cluster) = Cluster::start(options).await else {
        return;
    };
    let result = scenario(&mut cluster).await;
    cluster.finish(result).await;
}

async fn scenario(c: &mut Cluster) -> anyhow::Result<()> {
    let (links, before) = c.synced_links("repull", 2, LINKS).await?;
    let ids = ids(&links);
    let known: HashSet<String> = c
        .api
        .webhooks_of(&ids)
        .await?
        .iter()
        .filter_map(|e| e["webhook_id"].as_str().map(str::to_owned))
        .collect();

    // Belvo deletes 3 transactions of every link.
    let mut deleted = Vec::new();
    for link in &ids {
        for id in before[link][1].iter().take(3) {
            c.api.delete_object(*link, "transactions", id).await?;
            deleted.push((*link, id.clone()));
        }
    }

    // Belvo's list endpoint fails until told otherwise; the full re-pull starts.
    c.api
        .add_fault(&FaultSpec {
            path: "/api/transactions/".into(),
            method: Some("GET".into()),
            fault: Fault::Status {
                status: 500,
                retry_after: None,
            },
            probability: None,
            count: None,
            seed: None,
        })
        .await?;
    let repull_at = SystemTime::now();
    for link in &ids {
        c.api.data[0]
            .clone()
            .resync_link(pb::ResyncLinkRequest {
                link_id: link.to_string(),
                owner: String::new(),
                resources: vec![pb::Resource::Transactions as i32],
            })
            .await?;
    }
    // Every re-pull has failed at least twice.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut failing = 0;
        for link in &ids {
            let s = c
                .api
                .resource_status(*link, pb::Resource::Transactions)
                .await?;
            if s.is_some_and(|s| s.attempts >= 2 && !s.last_error.is_empty()) {
                failing += 1;
            }
        }
        if failing == ids.len() {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {failing} of {} re-pulls failed twice", ids.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A refresh's webhooks arrive while the re-pulls wait for their next attempt.
    let (refreshed, recurrent) = links.split_at(LINKS / 2);
    for (link, user) in refreshed {
        let response = c
            .api
            .http
            .post(format!("{}/v1/links/{link}/refresh", c.api.gateway_urls[0]))
            .bearer_auth(&user.token)
            .send()
            .await?;
        ensure!(
            response.status().as_u16() == 202,
            "refresh of {link}: {}",
            response.status()
        );
    }
    for (link, _) in recurrent {
        c.api.add_objects(*link, "transactions", 2).await?;
        c.api
            .http
            .post(format!(
                "{}/_emulator/links/{link}/recurrent-refresh",
                c.api.emulator_url
            ))
            .send()
            .await?
            .error_for_status()?;
    }
    let fresh: Vec<_> = c
        .api
        .webhooks_of(&ids)
        .await?
        .into_iter()
        .filter(|e| {
            e["webhook_id"]
                .as_str()
                .is_some_and(|id| !known.contains(id))
        })
        .collect();
    ensure!(
        fresh.len() >= LINKS,
        "the refreshes produced {} webhooks",
        fresh.len()
    );
    c.api
        .deliver_all(&fresh, 4, Duration::from_secs(30))
        .await?;
    let faults = c.api.faults().await?;
    let fired = faults
        .first()
        .and_then(|f| f["fired"].as_u64())
        .unwrap_or(0);
    ensure!(fired > 0, "the fault never fired: {faults:?}");

    // Belvo recovers; the retries finish the full pulls.
    c.api.clear_faults().await?;
    let expected = c.expected(&ids).await?;
    for (link, id) in &deleted {
        ensure!(
            !expected[link][1].contains(id),
            "{link}: {id} still at the emulator"
        );
    }
    c.wait_synced(&expected, Duration::from_secs(60)).await?;
    c.assert_exact(&expected).await?;
    for link in &ids {
        let s = c
            .api
            .resource_status(*link, pb::Resource::Transactions)
            .await?
            .context("no status")?;
        let full = s.last_full_pull_at.context("no last_full_pull_at")?;
        let full = SystemTime::UNIX_EPOCH + Duration::new(full.seconds as u64, full.nanos as u32);
        ensure!(
            full >= repull_at,
            "{link}: the last full pull ({full:?}) is older than the re-pull"
        );
    }
    Ok(())
}
