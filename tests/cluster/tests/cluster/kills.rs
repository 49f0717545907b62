//! Scenario 1: 100 links sync while data-service replicas are killed with SIGKILL at random
//! moments and started again, and a consumer follows every link's changes all along.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use cluster_tests::{Api, Cluster, Expected, Options, RESOURCES, ids};
use connect_proto::data::v1 as pb;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::watch;
use uuid::Uuid;

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
    let (synced, until_synced) = watch::channel(false);
    let consumer = tokio::spawn(consume(c.api.clone(), ids.clone(), until_synced));
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
    c.assert_exact(&expected).await?;
    synced.send(true)?;
    let (held, while_syncing) = consumer.await.context("consumer task")??;
    ensure!(
        while_syncing > 0,
        "the consumer read nothing while the links synced"
    );
    holds_what_belvo_has(&held, &expected)
}

/// What a consumer holds of each link: the ids of each resource.
type Held = BTreeMap<Uuid, BTreeSet<(i32, String)>>;

/// Follows every link's changes from the empty cursor, round after round, while replicas die
/// (a round that meets none answering goes on at the next one), then once more after `synced`.
/// Nothing changes at Belvo, so every change must be an addition, each object's once. Returns
/// what it holds, and how many objects it read before `synced`.
async fn consume(
    api: Api,
    links: Vec<Uuid>,
    mut synced: watch::Receiver<bool>,
) -> anyhow::Result<(Held, usize)> {
    let mut cursors: BTreeMap<Uuid, String> = BTreeMap::new();
    let mut held = Held::new();
    let mut while_syncing = 0;
    loop {
        let last = *synced.borrow_and_update();
        for link in &links {
            let cursor = cursors.get(link).map_or("", String::as_str);
            let (changes, next) = match api.changes_since(*link, cursor).await {
                Ok(answer) => answer,
                Err(_) if !last => continue,
                Err(e) => return Err(e),
            };
            let objects = held.entry(*link).or_default();
            for change in changes {
                if change.kind() != pb::ChangeKind::Added {
                    bail!("{link}: nothing changed at Belvo, yet {change:?}");
                }
                if !objects.insert((change.resource, change.id.clone())) {
                    bail!("{link}: {} added twice", change.id);
                }
                while_syncing += usize::from(!last);
            }
            cursors.insert(*link, next);
        }
        if last {
            return Ok((held, while_syncing));
        }
        // The consumer's pace: a round, then the next when synced or after a pause.
        let _ = tokio::time::timeout(Duration::from_millis(200), synced.changed()).await;
    }
}

fn holds_what_belvo_has(held: &Held, expected: &Expected) -> anyhow::Result<()> {
    for (link, per) in expected {
        let want: BTreeSet<(i32, String)> = RESOURCES
            .iter()
            .zip(per)
            .flat_map(|((_, resource, _), ids)| ids.iter().map(|id| (*resource as i32, id.clone())))
            .collect();
        let got = held.get(link).cloned().unwrap_or_default();
        ensure!(
            got == want,
            "{link}: the consumer holds {} objects, Belvo has {} ({} missing, {} extra)",
            got.len(),
            want.len(),
            want.difference(&got).count(),
            got.difference(&want).count()
        );
    }
    Ok(())
}
