//! Scenario 1: 100 links sync while data-service replicas are killed with SIGKILL at random
//! moments and started again.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use cluster_tests::{Cluster, Options, ids};
use rand::{Rng as _, SeedableRng as _};

const LINKS: usize = 100;
const KILLS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_replicas_killed_at_random_while_100_links_sync() {
    let Some(mut cluster) = Cluster::start(Options::default()).await else {
        return;
    };
    let result = scenario(&mut cluster).await;
    cluster.finish(result).await;
}

async fn scenario(c: &mut Cluster) -> anyhow::Result<()> {
    let links = c.new_links("kills", 5, LINKS).await?;
    let ids = ids(&links);
    let events = c.api.webhooks_of(&ids).await?;
    let expected = c.expected(&ids).await?;

    // Belvo delivers while replicas die: a webhook refused by a gateway whose data-service
    // replica is down is delivered again, as Belvo would.
    let api = c.api.clone();
    let deliveries =
        tokio::spawn(async move { api.deliver_all(&events, 8, Duration::from_secs(90)).await });
    let mut rng = rand::rngs::StdRng::from_os_rng();
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        let victim = &mut c.datas[rng.random_range(0..3)];
        victim.kill().await?;
        victim.start()?;
    }
    // The kills fell in the sync, not after it.
    let unsynced = c.unsynced(&expected, &ids).await.len();
    ensure!(
        unsynced > 0,
        "every link was synced before the last kill: kill sooner or sync more"
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{unsynced} of {LINKS} links not yet synced after the last of {KILLS} kills");
    }
    deliveries.await.context("delivery task")??;
    for data in &mut c.datas {
        data.wait_ready(Duration::from_secs(30)).await?;
    }
    c.wait_synced(&expected, Duration::from_secs(90)).await?;
    c.assert_exact(&expected).await
}
