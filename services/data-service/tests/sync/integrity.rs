//! Sync integrity when jobs change hands (issue 11): hand-backs that fold into a waiting job,
//! generations that never repeat, full pulls' failures kept apart, jobs of a newer release left
//! alone, leases kept by a heartbeat, and a job with every page stored only completed on resume.
//! Each drives the store and the engine's workers directly, on both backends.

use std::time::Duration;

use connect_proto::data::v1 as pb;
use data_service::config::SyncConfig;
use data_service::resource::Resource;
use data_service::store::{Failure, JobMode, Release, Store, StoreError, now_ms};
use database::Backend;
use database::sqlx;

use crate::both_backends;
use crate::support::{Harness, fast_sync};

fn transactions() -> &'static Resource {
    Resource::from_name("TRANSACTIONS").unwrap()
}

/// No workers of the service's own: each test runs (and stops) them itself.
fn manual(lease: Duration) -> SyncConfig {
    SyncConfig {
        workers: 0,
        lease,
        ..fast_sync()
    }
}

/// `(state, mode)` of every job of `link`, sorted.
async fn jobs(store: &Store, link: uuid::Uuid) -> Vec<(String, String)> {
    use sqlx::Row as _;
    sqlx::query("SELECT state, mode FROM sync_jobs WHERE link_id = $1 ORDER BY state, mode")
        .bind(link.to_string())
        .fetch_all(store.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("state"), r.get("mode")))
        .collect()
}

fn owned((state, mode): (&str, &str)) -> (String, String) {
    (state.to_owned(), mode.to_owned())
}

async fn transactions_status(h: &mut Harness, link: uuid::Uuid) -> pb::ResourceSync {
    h.data
        .get_sync_status(pb::GetSyncStatusRequest {
            link_id: link.to_string(),
            owner: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap()
        .resources
        .into_iter()
        .find(|r| r.resource == pb::Resource::Transactions as i32)
        .unwrap()
}

/// A full pull of `link`'s transactions, enqueued and claimed by `worker` for 30 s.
async fn full_job(store: &Store, link: &str, worker: &str, now: i64) -> data_service::store::Job {
    store
        .enqueue_job(
            link,
            transactions(),
            JobMode::Full,
            belvo::Priority::Update,
            None,
            now,
        )
        .await
        .unwrap();
    store
        .claim_job(worker, now, now + 30_000)
        .await
        .unwrap()
        .unwrap()
}

/// A link with its transactions synced by a worker of the test's own, stopped after.
async fn synced_link(h: &mut Harness) -> (uuid::Uuid, std::collections::BTreeSet<String>) {
    let engine = h.app.as_ref().unwrap().engine().clone();
    let worker = tokio::spawn(engine.run_worker("first".into()));
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let event = h.webhooks(link, 1).await.remove(0);
    h.ingest(&event).await;
    let ids = h.belvo_ids(link, "api/transactions/").await;
    h.wait_synced(link, pb::Resource::Transactions, Some(ids.len() as i64))
        .await;
    worker.abort();
    let _ = worker.await;
    (link, ids)
}

both_backends!(
    a_full_pull_handed_back_beside_a_waiting_incremental_one_ends_as_a_full_pull_with_its_sweep,
    hand_back_folds
);
async fn hand_back_folds(backend: Backend) {
    let Some(mut h) = Harness::start(backend, manual(Duration::from_secs(30))).await else {
        return;
    };
    let (link, before) = synced_link(&mut h).await;
    let store = h.app.as_ref().unwrap().engine().store.clone();
    // Belvo deletes two transactions; a full pull starts, and while it runs a webhook asks for
    // an incremental one; then the replica running the full pull shuts down.
    let mut gone = before.iter().take(2);
    for id in [gone.next().unwrap(), gone.next().unwrap()] {
        h.emulator
            .control()
            .delete_object(link, "transactions", id.parse().unwrap())
            .unwrap();
    }
    let (now, id) = (now_ms(), link.to_string());
    let job = full_job(&store, &id, "leaving", now).await;
    let generation = store.assign_generation(&job, "leaving").await.unwrap();
    assert_eq!(generation, 2, "the first full pull had 1");
    store
        .enqueue_job(
            &id,
            transactions(),
            JobMode::Incremental,
            belvo::Priority::Update,
            None,
            now,
        )
        .await
        .unwrap();
    // Only the lease owner can give it back.
    assert!(matches!(
        store
            .release_job(&job, "someone-else", Release::HandBack, now)
            .await,
        Err(StoreError::LeaseLost)
    ));
    store
        .release_job(&job, "leaving", Release::HandBack, now)
        .await
        .unwrap();
    assert_eq!(
        jobs(&store, link).await,
        [("done", "full"), ("done", "full"), ("pending", "full")].map(owned),
        "the first pull, the handed-back one, and the waiting one, now full"
    );

    let engine = h.app.as_ref().unwrap().engine().clone();
    let worker = tokio::spawn(engine.run_worker("next".into()));
    let expected = h.belvo_ids(link, "api/transactions/").await;
    assert_eq!(expected.len(), before.len() - 2);
    h.wait_synced(
        link,
        pb::Resource::Transactions,
        Some(expected.len() as i64),
    )
    .await;
    worker.abort();
    let stored: std::collections::BTreeSet<String> = h
        .stored_transactions(link)
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(stored, expected, "swept what Belvo deleted");
    assert_eq!(
        store.status_generation(&id, transactions()).await.unwrap(),
        3,
        "a new generation, never the handed-back pull's again"
    );
    h.stop().await;
}

both_backends!(
    a_failed_full_pull_stays_visible_and_makes_the_next_pull_full_with_a_new_generation,
    failed_full_pull
);
async fn failed_full_pull(backend: Backend) {
    let Some(mut h) = Harness::start(backend, manual(Duration::from_secs(30))).await else {
        return;
    };
    let (link, before) = synced_link(&mut h).await;
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let (now, id) = (now_ms(), link.to_string());
    let job = full_job(&store, &id, "w", now).await;
    assert_eq!(store.assign_generation(&job, "w").await.unwrap(), 2);
    store
        .release_job(
            &job,
            "w",
            Release::Fail {
                error: Failure {
                    message: "Belvo: 500",
                    code: "belvo_unavailable",
                },
            },
            now,
        )
        .await
        .unwrap();
    let status = transactions_status(&mut h, link).await;
    assert_eq!(status.state, pb::SyncState::Failed as i32);
    assert_eq!(status.full_pull_error, "Belvo: 500");
    assert_eq!(status.error_code, "belvo_unavailable");

    // Belvo deletes one transaction; the next webhook asks for new transactions only, but
    // while the full pull is owed every pull is full (and sweeps).
    let gone = before.iter().next().unwrap();
    h.emulator
        .control()
        .delete_object(link, "transactions", gone.parse().unwrap())
        .unwrap();
    store
        .enqueue_job(
            &id,
            transactions(),
            JobMode::Incremental,
            belvo::Priority::Update,
            None,
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        jobs(&store, link).await,
        [("done", "full"), ("failed", "full"), ("pending", "full")].map(owned)
    );
    let engine = h.app.as_ref().unwrap().engine().clone();
    let worker = tokio::spawn(engine.run_worker("next".into()));
    h.wait_synced(
        link,
        pb::Resource::Transactions,
        Some(before.len() as i64 - 1),
    )
    .await;
    worker.abort();
    let status = transactions_status(&mut h, link).await;
    assert_eq!(status.full_pull_error, "", "cleared by the full pull");
    assert_eq!(status.error_code, "");
    assert!(status.last_full_pull_at.is_some());
    assert_eq!(
        store.status_generation(&id, transactions()).await.unwrap(),
        3
    );
    h.stop().await;
}

both_backends!(
    a_job_of_a_resource_or_mode_this_version_does_not_know_is_never_claimed,
    unknown_jobs
);
async fn unknown_jobs(backend: Backend) {
    let Some(h) = Harness::start(backend, manual(Duration::from_secs(30))).await else {
        return;
    };
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let now = now_ms();
    // As a newer release would write them during a rolling deploy.
    for (id, resource, mode) in [
        ("j1", "CRYPTO_WALLETS", "full"),
        ("j2", "TRANSACTIONS", "differential"),
    ] {
        sqlx::query(
            "INSERT INTO sync_jobs (id, link_id, resource, mode, state, attempts, run_after, \
             generation, rows_written, created_at, updated_at) \
             VALUES ($1, 'l', $2, $3, 'pending', 0, $4, 0, 0, $4, $4)",
        )
        .bind(id)
        .bind(resource)
        .bind(mode)
        .bind(now - 1000)
        .execute(store.db().pool())
        .await
        .unwrap();
    }
    assert!(
        store
            .claim_job("w", now, now + 1000)
            .await
            .unwrap()
            .is_none()
    );
    let untouched: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sync_jobs WHERE state = 'pending' AND attempts = 0",
    )
    .fetch_one(store.db().pool())
    .await
    .unwrap();
    assert_eq!(untouched, 2);
    h.stop().await;
}

both_backends!(
    a_page_slower_than_the_lease_keeps_its_job_by_heartbeat,
    heartbeat
);
async fn heartbeat(backend: Backend) {
    use belvo_emulator::{Fault, FaultSpec};
    let lease = Duration::from_millis(600);
    let Some(mut h) = Harness::start(backend, manual(lease)).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let expected = h.belvo_ids(link, "api/transactions/").await;
    // The first page takes three leases to arrive.
    h.emulator.control().add_fault(FaultSpec {
        path: "/api/transactions/".into(),
        method: Some("GET".into()),
        fault: Fault::Latency { ms: 1800 },
        probability: None,
        count: Some(1),
        seed: None,
    });
    h.emulator.control().clear_requests();
    let engine = h.app.as_ref().unwrap().engine().clone();
    let workers = [
        tokio::spawn(engine.clone().run_worker("a".into())),
        tokio::spawn(engine.clone().run_worker("b".into())),
    ];
    let event = h.webhooks(link, 1).await.remove(0);
    h.ingest(&event).await;
    h.wait_synced(
        link,
        pb::Resource::Transactions,
        Some(expected.len() as i64),
    )
    .await;
    for w in workers {
        w.abort();
    }
    // A takeover would count as a second attempt (and fetch the first page again).
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM sync_jobs WHERE link_id = $1")
        .bind(link.to_string())
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    assert_eq!(attempts, 1, "nobody took the job over");
    let pages = expected.len().div_ceil(50);
    assert_eq!(
        h.belvo_gets("/api/transactions/"),
        pages,
        "each page fetched once"
    );
    h.stop().await;
}

both_backends!(
    a_job_resumed_after_its_last_page_only_completes,
    resumed_after_last_page
);
async fn resumed_after_last_page(backend: Backend) {
    let Some(mut h) = Harness::start(backend, manual(Duration::from_secs(30))).await else {
        return;
    };
    let (link, before) = synced_link(&mut h).await;
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let (now, id) = (now_ms(), link.to_string());
    let job = full_job(&store, &id, "dies", now).await;
    let generation = store.assign_generation(&job, "dies").await.unwrap();
    // Its last page is stored (no next cursor), with a lease already over: the worker died
    // before the final commit.
    let mut tx = store.db().pool().begin().await.unwrap();
    Store::checkpoint_job(&mut tx, &job, "dies", None, 0, now, now - 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("UPDATE records SET generation = $1 WHERE link_id = $2")
        .bind(generation)
        .bind(&id)
        .execute(store.db().pool())
        .await
        .unwrap();
    h.emulator.control().clear_requests();
    let engine = h.app.as_ref().unwrap().engine().clone();
    let worker = tokio::spawn(engine.run_worker("survivor".into()));
    crate::support::eventually(Duration::from_secs(30), || {
        let store = store.clone();
        async move {
            let done = jobs(&store, link).await.iter().all(|(s, _)| s == "done");
            done.then_some(())
        }
    })
    .await
    .expect("the survivor completed the job");
    worker.abort();
    assert_eq!(
        h.belvo_gets("/api/transactions/"),
        0,
        "no page pulled again"
    );
    let status = transactions_status(&mut h, link).await;
    assert_eq!(status.state, pb::SyncState::Succeeded as i32);
    assert_eq!(status.records, before.len() as i64);
    h.stop().await;
}

both_backends!(
    a_job_whose_worker_keeps_dying_fails_after_the_attempt_limit,
    abandoned
);
async fn abandoned(backend: Backend) {
    let sync = SyncConfig {
        max_attempts: 2,
        ..manual(Duration::from_secs(30))
    };
    let Some(mut h) = Harness::start(backend, sync).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let (now, id) = (now_ms(), link.to_string());
    store
        .enqueue_job(
            &id,
            transactions(),
            JobMode::Full,
            belvo::Priority::Update,
            None,
            now,
        )
        .await
        .unwrap();
    // Two workers claim it and die (their leases run out at once); the third claim is one
    // attempt too many.
    let mut job = None;
    for (i, worker) in ["one", "two", "three"].into_iter().enumerate() {
        let at = now + i as i64;
        job = store.claim_job(worker, at, at).await.unwrap();
        assert!(job.is_some(), "{worker} takes the job over");
    }
    let job = job.unwrap();
    assert_eq!(job.attempts, 3);
    h.emulator.control().clear_requests();
    let engine = h.app.as_ref().unwrap().engine().clone();
    engine.run_job("three", job).await;
    assert_eq!(h.belvo_gets("/api/transactions/"), 0);
    assert_eq!(jobs(&store, link).await, [("failed", "full")].map(owned));
    let status = transactions_status(&mut h, link).await;
    assert_eq!(status.state, pb::SyncState::Failed as i32);
    assert!(
        status.last_error.contains("abandoned"),
        "{}",
        status.last_error
    );
    h.stop().await;
}

/// Replicas on one PostgreSQL database: a status stream opened on one follows the pull that
/// another runs, pushed through `LISTEN`/`NOTIFY`. (SQLite is the single-process default; its
/// feed stays in the process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_stream_follows_a_pull_that_another_replica_runs() {
    use belvo_emulator::{Fault, FaultSpec};
    let Some(mut h) = Harness::start(Backend::Postgres, manual(Duration::from_secs(30))).await
    else {
        return;
    };
    let _puller = h.replica(fast_sync()).await;
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let total = h.belvo_ids(link, "api/transactions/").await.len() as i64;
    let mut stream = h
        .data
        .watch_sync_status(pb::WatchSyncStatusRequest {
            link_id: link.to_string(),
            owner: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap().link.unwrap();
    assert_eq!(first.resources[0].state, pb::SyncState::Waiting as i32);
    // Slow pages, so the pull is seen running.
    h.emulator.control().add_fault(FaultSpec {
        path: "/api/transactions/".into(),
        method: Some("GET".into()),
        fault: Fault::Latency { ms: 150 },
        probability: None,
        count: None,
        seed: None,
    });
    let event = h.webhooks(link, 1).await.remove(0);
    // Through the replica without workers: only the other one can pull.
    h.ingest(&event).await;
    let mut states = Vec::new();
    loop {
        let snapshot = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("a change within the deadline")
            .unwrap()
            .unwrap()
            .link
            .unwrap();
        let r = &snapshot.resources[0];
        states.push(r.state);
        if r.state == pb::SyncState::Succeeded as i32 {
            assert_eq!(r.records, total);
            break;
        }
    }
    assert!(
        states.contains(&(pb::SyncState::Running as i32)),
        "the other replica's progress was streamed: {states:?}"
    );
    h.stop().await;
}
