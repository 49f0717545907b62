//! Priorities and turns (issue 12), in the store on both backends: a webhook's pull of a
//! resource never pulled is its link's first pull and goes first, then updates,
//! reconciliations and resyncs; a running job gives its turn up only to a job at least as
//! urgent, and comes back behind it without the claim counting as an attempt. First come,
//! first served claims by due time alone.

use belvo::Priority;
use data_service::MIGRATOR;
use data_service::resource::Resource;
use data_service::store::{JobMode, Release, Store};
use database::Backend;
use database::testing::TestDatabase;

use crate::both_backends;

fn transactions() -> &'static Resource {
    Resource::from_name("TRANSACTIONS").unwrap()
}

fn link(n: u8) -> String {
    format!("7c9a1d2e-0000-4000-8000-0000000000{n:02}")
}

/// Enqueues a full pull of `link(n)`'s transactions at time `n`.
async fn enqueue(store: &Store, n: u8, priority: Priority) {
    store
        .enqueue_job(
            &link(n),
            transactions(),
            JobMode::Full,
            priority,
            None,
            i64::from(n),
        )
        .await
        .unwrap();
}

/// The links of the jobs claimed, in order, until none is due at `now`.
async fn claim_all(store: &Store, now: i64) -> Vec<String> {
    let mut claimed = Vec::new();
    while let Some(job) = store.claim_job("w", now, now + 60_000).await.unwrap() {
        claimed.push(job.link_id);
    }
    claimed
}

both_backends!(
    jobs_go_by_priority_and_take_turns_with_the_as_urgent,
    by_priority
);
async fn by_priority(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    db.db().migrate(&MIGRATOR).await.unwrap();
    let store = Store::new(db.db().clone(), None);
    // Link 1 was pulled before: its webhook's pull is an update.
    enqueue(&store, 1, Priority::Update).await;
    let job = store.claim_job("w", 1, 60_000).await.unwrap().unwrap();
    assert_eq!(
        job.priority,
        Priority::FirstPull,
        "never pulled: a first pull"
    );
    let mut tx = store.begin().await.unwrap();
    Store::mark_succeeded(&mut tx, &job, 1, 1).await.unwrap();
    Store::finish_job(&mut tx, &job, "w", 1).await.unwrap();
    tx.commit().await.unwrap();

    enqueue(&store, 2, Priority::Resync).await;
    enqueue(&store, 3, Priority::Reconcile).await;
    enqueue(&store, 4, Priority::Update).await; // never pulled: a first pull
    enqueue(&store, 5, Priority::Update).await;
    enqueue(&store, 1, Priority::Update).await;
    // A coalesced request keeps the more urgent priority.
    enqueue(&store, 5, Priority::Resync).await;
    assert_eq!(
        claim_all(&store, 10).await,
        [link(4), link(5), link(1), link(3), link(2)]
    );

    // Turns: link 6 runs while link 8 waits, both first pulls.
    let db2 = TestDatabase::new(backend).await.unwrap();
    db2.db().migrate(&MIGRATOR).await.unwrap();
    let store = Store::new(db2.db().clone(), None);
    enqueue(&store, 6, Priority::Update).await;
    enqueue(&store, 8, Priority::Update).await;
    let six = store.claim_job("w", 20, 60_000).await.unwrap().unwrap();
    assert_eq!(six.link_id, link(6));
    // Link 8 is a first pull too, and waits: the turn is wanted.
    assert!(store.turn_wanted(&six, 21).await.unwrap());
    store.park_job(&six, "w", 22).await.unwrap();
    let next = store.claim_job("w", 23, 60_000).await.unwrap().unwrap();
    assert_eq!(next.link_id, link(8), "the one that waited longer");
    // Link 6 comes back from its checkpoint; the parked claim was not an attempt.
    let again = store.claim_job("w", 24, 60_000).await.unwrap().unwrap();
    assert_eq!(
        (again.link_id.as_str(), again.attempts),
        (link(6).as_str(), 1)
    );
    // Only less urgent work waits: the turn is kept.
    enqueue(&store, 9, Priority::Resync).await;
    assert!(!store.turn_wanted(&again, 25).await.unwrap());
}

both_backends!(
    first_come_first_served_claims_by_due_time_without_turns,
    first_come
);
async fn first_come(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    db.db().migrate(&MIGRATOR).await.unwrap();
    let store = Store::new(db.db().clone(), None).first_come_first_served();
    enqueue(&store, 1, Priority::Resync).await;
    enqueue(&store, 2, Priority::Reconcile).await;
    enqueue(&store, 3, Priority::Update).await;
    let first = store.claim_job("w", 10, 60_000).await.unwrap().unwrap();
    assert_eq!(first.link_id, link(1));
    assert!(!store.turn_wanted(&first, 10).await.unwrap());
    assert_eq!(claim_all(&store, 10).await, [link(2), link(3)]);
}

both_backends!(
    an_incremental_pull_is_superseded_by_a_full_one_requested_meanwhile,
    superseded
);
async fn superseded(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    db.db().migrate(&MIGRATOR).await.unwrap();
    let store = Store::new(db.db().clone(), None);
    let incremental = |n: u8| {
        let store = store.clone();
        async move {
            store
                .enqueue_job(
                    &link(n),
                    transactions(),
                    JobMode::Incremental,
                    Priority::Update,
                    None,
                    i64::from(n),
                )
                .await
                .unwrap();
        }
    };
    incremental(1).await;
    let running = store.claim_job("w", 10, 60_000).await.unwrap().unwrap();
    assert!(!store.superseded(&running).await.unwrap());
    // Another incremental request waits behind it: nothing to supersede.
    incremental(1).await;
    assert!(!store.superseded(&running).await.unwrap());
    // A full one: the running incremental pull stops and folds into it.
    enqueue(&store, 1, Priority::Update).await;
    assert!(store.superseded(&running).await.unwrap());
    store
        .release_job(&running, "w", Release::Superseded, 11)
        .await
        .unwrap();
    let next = store.claim_job("w", 12, 60_000).await.unwrap().unwrap();
    assert_eq!(
        (next.link_id.as_str(), next.mode),
        (link(1).as_str(), JobMode::Full)
    );
    assert!(store.claim_job("w", 12, 60_000).await.unwrap().is_none());
    // A running full pull is never superseded.
    enqueue(&store, 1, Priority::Update).await;
    assert!(!store.superseded(&next).await.unwrap());
}
