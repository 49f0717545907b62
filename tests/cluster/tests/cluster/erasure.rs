//! Scenario 7 (issue 14): a user erased while every data-service replica is down. Their links
//! are DELETED at once and deleted at Belvo; the erasure waits for data-service, says so, and
//! finishes once data-service is back: nothing of theirs is left at Belvo or in data-service,
//! and another user's data is untouched.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use cluster_tests::api::ok_json;
use cluster_tests::{Cluster, Options, RESOURCES, User};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_erased_while_data_service_is_down() {
    let options = Options {
        // Retries at most a second apart, so the erasure resumes soon after data-service.
        env: vec![
            (
                "LINK_SERVICE__REMOVALS__POLL_INTERVAL".into(),
                "200ms".into(),
            ),
            ("LINK_SERVICE__REMOVALS__RETRY_MAX".into(), "1s".into()),
        ],
        ..Options::default()
    };
    let Some(mut cluster) = Cluster::start(options).await else {
        return;
    };
    let result = scenario(&mut cluster).await;
    cluster.finish(result).await;
}

async fn erasure(c: &Cluster, user: &User) -> anyhow::Result<Value> {
    let gateway = &c.api.gateway_urls[0];
    let response = c
        .api
        .http
        .get(format!("{gateway}/v1/me/erasure"))
        .bearer_auth(&user.token)
        .send()
        .await?;
    ok_json(response).await
}

/// Polls the user's erasure until `done` holds, for at most `within`.
async fn erasure_until(
    c: &Cluster,
    user: &User,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + within;
    loop {
        let progress = erasure(c, user).await?;
        if done(&progress) {
            return Ok(progress);
        }
        if Instant::now() > deadline {
            bail!("the erasure stopped at {progress}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scenario(c: &mut Cluster) -> anyhow::Result<()> {
    // Two users, two links each, synced.
    let (links, expected) = c.synced_links("erase", 2, 4).await?;
    let erased = links[0].1.clone();
    let (theirs, others): (Vec<_>, Vec<_>) =
        links.iter().partition(|(_, user)| user.name == erased.name);
    ensure!(theirs.len() == 2 && others.len() == 2, "{links:?}");

    for data in &mut c.datas {
        data.kill().await?;
    }
    let gateway = &c.api.gateway_urls[1];
    let response = c
        .api
        .http
        .delete(format!("{gateway}/v1/me"))
        .bearer_auth(&erased.token)
        .send()
        .await?;
    ensure!(
        response.status() == 202,
        "DELETE /v1/me: {}",
        response.status()
    );
    // Deleted at Belvo; stuck on data-service, which is down.
    let waiting = erasure_until(c, &erased, Duration::from_secs(30), |e| {
        e["links_deleted_at_belvo"] == 2
    })
    .await?;
    ensure!(
        waiting["state"] == "in_progress" && waiting["links_purged"] == 0,
        "{waiting}"
    );
    for (link, _) in &theirs {
        let at_belvo = c.api.belvo.links().get(*link).await;
        ensure!(
            at_belvo.is_err(),
            "link {link} still at Belvo: {at_belvo:?}"
        );
    }

    for data in &mut c.datas {
        data.start()?;
    }
    for data in &mut c.datas {
        data.wait_ready(Duration::from_secs(30)).await?;
    }
    let done = erasure_until(c, &erased, Duration::from_secs(60), |e| {
        e["state"] == "done"
    })
    .await?;
    ensure!(
        done["links_purged"] == 2 && done["widget_mappings_forgotten"] == true,
        "{done}"
    );
    // Nothing of theirs in data-service; the other user's data exact.
    for (link, _) in &theirs {
        for (_, resource, _) in RESOURCES {
            let stored = c.api.stored_ids(*link, resource).await?;
            ensure!(
                stored.is_empty(),
                "{link} {resource:?}: {} rows",
                stored.len()
            );
        }
    }
    let kept = expected
        .into_iter()
        .filter(|(link, _)| others.iter().any(|(l, _)| l == link))
        .collect();
    c.assert_exact(&kept).await.context("the other user's data")
}
