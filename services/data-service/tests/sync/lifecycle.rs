//! A link's data over its life at scale (issue 11): a purge leaves nothing of the link but its
//! tombstone, late webhooks for a purged link are ignored, the watchdog pages through due
//! links only, and finished jobs and old webhooks are removed after their retention.

use std::time::Duration;

use connect_proto::data::v1 as pb;
use data_service::config::SyncConfig;
use data_service::store::{Store, now_ms};
use database::Backend;
use database::sqlx;

use crate::both_backends;
use crate::support::{Harness, fast_sync};

/// Rows `sql` counts (one `$1` bound to `link`).
async fn count(store: &Store, sql: &str, link: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(link.to_owned())
        .fetch_one(store.db().pool())
        .await
        .unwrap()
}

both_backends!(
    a_purge_leaves_only_a_tombstone_and_late_webhooks_are_ignored,
    purge_everything
);
async fn purge_everything(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    for event in h.webhooks(link, 1).await {
        h.ingest(&event).await;
    }
    let total = h.belvo_ids(link, "api/transactions/").await.len() as i64;
    h.wait_synced(link, pb::Resource::Transactions, Some(total))
        .await;
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let id = link.to_string();
    let deleted = h.trigger(link, "LINK", "link_deleted").await;
    // Triggered before the deletion, which the emulator's control API then no longer allows.
    let late = h
        .trigger(link, "TRANSACTIONS", "new_transactions_available")
        .await;
    h.belvo.links().delete(link).await.unwrap();
    h.ingest(&deleted).await;

    for table in ["records", "sync_jobs", "sync_status"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE link_id = $1");
        assert_eq!(count(&store, &sql, &id).await, 0, "{table}");
    }
    // Only the deletion notice is left (the link's lifecycle record, no data), for retention
    // to remove; a second purge (link-service's, after its own delete) keeps it too.
    store.purge_link(&id, false).await.unwrap();
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT webhook_id FROM webhook_events WHERE link_id = $1")
            .bind(&id)
            .fetch_all(store.db().pool())
            .await
            .unwrap();
    assert_eq!(kept, [deleted["webhook_id"].as_str().unwrap()]);
    let tombstone = store.link(&id).await.unwrap().unwrap();
    assert!(tombstone.purged_at.is_some());

    // Belvo's late webhook for the deleted link: acknowledged, acted on never.
    assert_eq!(h.ingest(&late).await, pb::IngestOutcome::Accepted);
    let jobs = "SELECT COUNT(*) FROM sync_jobs WHERE link_id = $1";
    assert_eq!(
        count(&store, jobs, &id).await,
        0,
        "no pull for a purged link"
    );
    assert!(
        store.due_links(i64::MAX, 10).await.unwrap().is_empty(),
        "the watchdog skips it"
    );

    // Its owner's erasure (link-service's PurgeLink with `erase`): the lifecycle record goes
    // too, and the tombstone no longer names the owner.
    let purged = h
        .data
        .purge_link(pb::PurgeLinkRequest {
            link_id: id.clone(),
            erase: true,
        })
        .await
        .unwrap();
    assert_eq!(purged.into_inner().records_deleted, 0);
    let sql = "SELECT COUNT(*) FROM webhook_events WHERE link_id = $1";
    assert_eq!(
        count(&store, sql, &id).await,
        0,
        "no webhook of the link left"
    );
    let tombstone = store.link(&id).await.unwrap().unwrap();
    assert!(tombstone.purged_at.is_some());
    assert_eq!(tombstone.owner, "", "the owner is forgotten");
    h.stop().await;
}

both_backends!(
    the_watchdog_pages_through_every_due_link_and_only_those,
    watchdog_pages
);
async fn watchdog_pages(backend: Backend) {
    let sync = SyncConfig {
        freshness_margin: Duration::ZERO,
        watchdog_interval: Duration::from_millis(100),
        ..fast_sync()
    };
    let Some(h) = Harness::start(backend, sync).await else {
        return;
    };
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let now = now_ms();
    let week = 7 * 86_400_000_i64;
    // 1,200 overdue weekly links (more than two of the watchdog's pages), 10 not due yet, 10
    // single links; none fetches a resource, so reconciling only marks them.
    let rows = (0..1220_i64).map(|i| {
        let (rate, due) = match i {
            0..1200 => ("7d", Some(now - 1000 - i)),
            1200..1210 => ("7d", Some(now + week)),
            _ => ("", None),
        };
        (format!("link-{i:04}"), rate, due)
    });
    for (id, rate, due) in rows {
        sqlx::query(
            "INSERT INTO links (link_id, region, owner, fetch_resources, refresh_rate, \
             registered_at, refresh_ms, refresh_due_at) VALUES ($1, 'mx', 'o', '', $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(rate)
        .bind(now - week)
        .bind((!rate.is_empty()).then_some(week))
        .bind(due)
        .execute(store.db().pool())
        .await
        .unwrap();
    }
    let reconciled =
        "SELECT COUNT(*) FROM links WHERE last_reconciled_at IS NOT NULL AND link_id <> $1";
    crate::support::eventually(Duration::from_secs(30), || {
        let store = store.clone();
        async move { (count(&store, reconciled, "").await == 1200).then_some(()) }
    })
    .await
    .expect("every overdue link reconciled");
    // And nothing else: the links not due and the single links were never read.
    let untouched = "SELECT COUNT(*) FROM links WHERE last_reconciled_at IS NULL AND link_id >= $1";
    assert_eq!(count(&store, untouched, "link-1200").await, 20);
    assert!(store.due_links(now, 10).await.unwrap().is_empty());
    h.stop().await;
}

both_backends!(
    finished_jobs_and_old_webhooks_are_removed_after_their_retention,
    retention
);
async fn retention(backend: Backend) {
    let Some(h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let store = h.app.as_ref().unwrap().engine().store.clone();
    // Younger than the service's own retention (7 and 30 days), so that its background pass
    // removes none of them while the test runs.
    let day = 86_400_000;
    let (old, recent, cutoff) = (now_ms() - 3 * day, now_ms() - day / 24, now_ms() - 2 * day);
    for (id, state, at) in [
        ("j-old-done", "done", old),
        ("j-old-failed", "failed", old),
        ("j-old-pending", "pending", old),
        ("j-recent-done", "done", recent),
    ] {
        sqlx::query(
            "INSERT INTO sync_jobs (id, link_id, resource, mode, state, attempts, run_after, \
             generation, rows_written, created_at, updated_at) \
             VALUES ($1, $1, 'TRANSACTIONS', 'full', $2, 1, $3, 1, 0, $3, $3)",
        )
        .bind(id)
        .bind(state)
        .bind(at)
        .execute(store.db().pool())
        .await
        .unwrap();
    }
    for (id, state, at) in [
        ("w-old-processed", "processed", old),
        ("w-old-held", "held", old),
        ("w-old-received", "received", old),
        ("w-recent-processed", "processed", recent),
    ] {
        sqlx::query(
            "INSERT INTO webhook_events (webhook_id, region, link_id, webhook_type, webhook_code, \
             body, state, deliveries, received_at) VALUES ($1, 'mx', 'l', 'TRANSACTIONS', \
             'historical_update', '{}', $2, 1, $3)",
        )
        .bind(id)
        .bind(state)
        .bind(at)
        .execute(store.db().pool())
        .await
        .unwrap();
    }
    let removed = store.delete_expired(cutoff, cutoff).await.unwrap();
    assert_eq!(removed, (2, 2));
    let left = |table: &'static str, column: &'static str| {
        let store = store.clone();
        async move {
            let mut ids: Vec<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {column} FROM {table}")))
                    .fetch_all(store.db().pool())
                    .await
                    .unwrap();
            ids.sort();
            ids
        }
    };
    assert_eq!(
        left("sync_jobs", "id").await,
        ["j-old-pending", "j-recent-done"],
        "work still to do stays"
    );
    assert_eq!(
        left("webhook_events", "webhook_id").await,
        ["w-old-received", "w-recent-processed"]
    );
    h.stop().await;
}

both_backends!(
    webhooks_for_many_links_at_once_each_schedule_their_pull_in_one_batch,
    many_links_at_once
);
async fn many_links_at_once(backend: Backend) {
    // No workers: the scheduled jobs stay as the webhooks left them.
    let sync = SyncConfig {
        workers: 0,
        ..fast_sync()
    };
    let Some(mut h) = Harness::start(backend, sync).await else {
        return;
    };
    let mut events = Vec::new();
    let mut links = Vec::new();
    for i in 0..12 {
        let link = h.create_link(&format!("bnk{i}"), &["TRANSACTIONS"]).await;
        h.register(link, &["TRANSACTIONS"]).await;
        events.push(h.webhooks(link, 1).await.remove(0));
        links.push(link);
    }
    // One more link, purged before its webhook arrives with the others.
    let purged = h.create_link("bnk-gone", &["TRANSACTIONS"]).await;
    h.register(purged, &["TRANSACTIONS"]).await;
    events.push(h.webhooks(purged, 1).await.remove(0));
    let store = h.app.as_ref().unwrap().engine().store.clone();
    store.purge_link(&purged.to_string(), false).await.unwrap();

    let sent = events
        .iter()
        .map(|e| crate::support::ingest(h.data.clone(), e.clone()));
    for outcome in futures::future::join_all(sent).await {
        assert_eq!(outcome, pb::IngestOutcome::Accepted);
    }
    for link in &links {
        let jobs = "SELECT COUNT(*) FROM sync_jobs WHERE link_id = $1 AND state = 'pending' \
                    AND mode = 'full'";
        assert_eq!(count(&store, jobs, &link.to_string()).await, 1, "{link}");
        let status = store.statuses(&link.to_string()).await.unwrap();
        assert_eq!(status[0].state, data_service::store::SyncState::Pending);
        let touched = store.link(&link.to_string()).await.unwrap().unwrap();
        assert!(touched.last_webhook_at.is_some());
    }
    let events = h.webhook_events().await;
    for event in &events {
        let expected = if event.link_id == purged.to_string() {
            pb::WebhookState::Ignored
        } else {
            pb::WebhookState::Processed
        };
        assert_eq!(event.state, expected as i32, "{}", event.webhook_id);
    }
    assert_eq!(events.len(), 13);

    // The jobs ran; Belvo then redelivers every webhook at once, one of them twice: each is a
    // duplicate and schedules nothing.
    sqlx::query("UPDATE sync_jobs SET state = 'done'")
        .execute(store.db().pool())
        .await
        .unwrap();
    let mut again = h.webhook_events().await;
    again.push(again[0].clone());
    let sent = again.iter().map(|e| {
        let body: serde_json::Value = serde_json::from_slice(&e.body).unwrap();
        crate::support::ingest(h.data.clone(), body)
    });
    for outcome in futures::future::join_all(sent).await {
        assert_eq!(outcome, pb::IngestOutcome::Duplicate);
    }
    for link in &links {
        let pending = "SELECT COUNT(*) FROM sync_jobs WHERE link_id = $1 AND state = 'pending'";
        assert_eq!(count(&store, pending, &link.to_string()).await, 0, "{link}");
    }
    h.stop().await;
}
