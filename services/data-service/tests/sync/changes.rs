//! The change log, as a consumer sees it: following its cursor from empty, after each step it
//! holds exactly the stored set (added ∪ modified − removed), and nothing unchanged is reported
//! again; cursors that cannot be answered get their documented errors; WatchChanges announces
//! commits and ends when its client goes away.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use connect_proto::data::v1 as pb;
use connect_proto::data::v1::data_service_client::DataServiceClient;
use database::Backend;
use tonic::Code;
use tonic::transport::Channel;

use crate::scenarios::sync_link;
use crate::support::{Harness, OWNER, eventually, fast_sync};

/// A consumer of one link's changes: its cursor and what it holds, by (resource, id).
struct Consumer {
    link: uuid::Uuid,
    cursor: String,
    held: BTreeMap<(i32, String), String>,
}

impl Consumer {
    fn new(link: uuid::Uuid) -> Self {
        Self {
            link,
            cursor: String::new(),
            held: BTreeMap::new(),
        }
    }

    /// Follows the cursor until `has_more` is false, in small pages; applies and returns the
    /// changes, checking each against what it holds.
    async fn follow(&mut self, h: &Harness) -> Vec<pb::Change> {
        let mut all = Vec::new();
        loop {
            let page = list(h, self.link, &self.cursor, 7)
                .await
                .expect("ListChanges");
            for change in &page.changes {
                let key = (change.resource, change.id.clone());
                match change.kind() {
                    pb::ChangeKind::Added => {
                        let record = change.record.as_ref().expect("an added record");
                        let before = self.held.insert(key, record.belvo_json.clone());
                        assert!(before.is_none(), "added twice: {}", change.id);
                    }
                    pb::ChangeKind::Modified => {
                        let record = change.record.as_ref().expect("a modified record");
                        let before = self.held.insert(key, record.belvo_json.clone());
                        assert!(before.is_some(), "modified before added: {}", change.id);
                    }
                    pb::ChangeKind::Removed => {
                        assert!(change.record.is_none());
                        let before = self.held.remove(&key);
                        assert!(before.is_some(), "removed, never added: {}", change.id);
                    }
                    pb::ChangeKind::Unspecified => panic!("a change without a kind"),
                }
            }
            all.extend(page.changes);
            self.cursor = page.next_cursor;
            if !page.has_more {
                return all;
            }
        }
    }

    /// What it holds is exactly what data-service stores, object for object.
    async fn holds_the_stored_set(&self, h: &mut Harness) {
        let stored: BTreeMap<(i32, String), String> = h
            .stored_transactions(self.link)
            .await
            .into_iter()
            .map(|r| ((r.resource, r.id), r.belvo_json))
            .collect();
        assert_eq!(self.held, stored);
    }
}

async fn list(
    h: &Harness,
    link: uuid::Uuid,
    cursor: &str,
    page_size: i32,
) -> Result<pb::ListChangesResponse, tonic::Status> {
    h.data
        .clone()
        .list_changes(pb::ListChangesRequest {
            link_id: link.to_string(),
            owner: OWNER.into(),
            resources: vec![],
            cursor: cursor.into(),
            page_size,
        })
        .await
        .map(tonic::Response::into_inner)
}

fn ids(changes: &[pb::Change], kind: pb::ChangeKind) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|c| c.kind() == kind)
        .map(|c| c.id.clone())
        .collect()
}

/// Feeds a webhook `code` for the link's transactions and waits for the pull it asks for.
async fn pull(h: &mut Harness, link: uuid::Uuid, code: &str) {
    let last_success = |h: &Harness| {
        let mut data = h.data.clone();
        async move {
            let status = data
                .get_sync_status(pb::GetSyncStatusRequest {
                    link_id: link.to_string(),
                    owner: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .link
                .unwrap();
            let r = status
                .resources
                .iter()
                .find(|r| r.resource == pb::Resource::Transactions as i32)
                .unwrap();
            (r.state == pb::SyncState::Succeeded as i32)
                .then(|| r.last_success_at.map(|t| (t.seconds, t.nanos)))
                .flatten()
        }
    };
    let before = last_success(h).await;
    let event = h.trigger(link, "TRANSACTIONS", code).await;
    assert_eq!(h.ingest(&event).await, pb::IngestOutcome::Accepted);
    eventually(Duration::from_secs(60), || async {
        last_success(h).await.filter(|at| Some(*at) > before)
    })
    .await
    .unwrap_or_else(|| panic!("the pull of {code} did not finish"));
}

crate::both_backends!(a_consumer_following_its_cursor_holds_the_stored_set, model);
async fn model(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let (link, belvo) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    let mut consumer = Consumer::new(link);

    // From the beginning: every stored object, as added.
    let first = consumer.follow(&h).await;
    assert_eq!(ids(&first, pb::ChangeKind::Added), belvo);
    assert_eq!(first.len(), belvo.len());
    consumer.holds_the_stored_set(&mut h).await;
    assert!(consumer.follow(&h).await.is_empty());

    // A full pull of the same content changes nothing.
    pull(&mut h, link, "historical_update").await;
    assert!(consumer.follow(&h).await.is_empty(), "nothing changed");

    // Belvo deletes two, modifies one and adds two.
    let mut belvo_ids = belvo.iter();
    let gone: BTreeSet<String> = belvo_ids.by_ref().take(2).cloned().collect();
    let changed = belvo_ids.next().unwrap().clone();
    let control = h.emulator.control();
    for id in &gone {
        control
            .delete_object(link, "transactions", id.parse().unwrap())
            .unwrap();
    }
    let mut patch = serde_json::Map::new();
    patch.insert("amount".into(), serde_json::json!(4242.42));
    control
        .modify_object(link, "transactions", changed.parse().unwrap(), patch)
        .unwrap();
    let added: BTreeSet<String> = control
        .add_objects(
            link,
            "transactions",
            vec![
                serde_json::json!({"description": "NEW A"}),
                serde_json::json!({"description": "NEW B"}),
            ],
        )
        .unwrap()
        .into_iter()
        .map(|object| object["id"].as_str().unwrap().to_owned())
        .collect();
    pull(&mut h, link, "transactions_deleted").await;
    let changes = consumer.follow(&h).await;
    assert_eq!(ids(&changes, pb::ChangeKind::Removed), gone);
    assert_eq!(
        ids(&changes, pb::ChangeKind::Modified),
        BTreeSet::from([changed])
    );
    assert_eq!(ids(&changes, pb::ChangeKind::Added), added);
    assert_eq!(changes.len(), 5, "each change once: {changes:?}");
    consumer.holds_the_stored_set(&mut h).await;

    // A consumer starting now reads the stored set from the beginning.
    let mut late = Consumer::new(link);
    late.follow(&h).await;
    late.holds_the_stored_set(&mut h).await;

    // The link purged: everything removed.
    h.data
        .purge_link(pb::PurgeLinkRequest {
            link_id: link.to_string(),
            erase: false,
        })
        .await
        .unwrap();
    let changes = consumer.follow(&h).await;
    assert_eq!(changes.len(), belvo.len(), "every stored object removed");
    assert!(consumer.held.is_empty());
    h.stop().await;
}

crate::both_backends!(cursors_that_cannot_be_answered_are_refused, cursors);
async fn cursors(backend: Backend) {
    let sync = pb_sync();
    let Some(mut h) = Harness::start(backend, sync).await else {
        return;
    };
    let (link, _) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    let mut consumer = Consumer::new(link);
    consumer.follow(&h).await;

    let malformed = list(&h, link, "not-a-cursor", 0).await.unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument, "{malformed:?}");
    let other = h.create_link("bnk101", &["TRANSACTIONS"]).await;
    h.register(other, &["TRANSACTIONS"]).await;
    let foreign = list(&h, other, &consumer.cursor, 0).await.unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);
    assert!(foreign.message().contains("another link"), "{foreign:?}");
    let mut wrong_owner = h.data.clone();
    let status = wrong_owner
        .list_changes(pb::ListChangesRequest {
            link_id: link.to_string(),
            owner: "someone-else".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // A removal past the retention is compacted away by the watchdog's pass: the cursor from
    // before it has expired; an empty one still reads the stored set.
    let old = consumer.cursor.clone();
    let gone = h.belvo_ids(link, "api/transactions/").await;
    let gone = gone.iter().next().unwrap();
    h.emulator
        .control()
        .delete_object(link, "transactions", gone.parse().unwrap())
        .unwrap();
    pull(&mut h, link, "transactions_deleted").await;
    sqlx::query("UPDATE record_removals SET removed_at = 0")
        .execute(h._db.db().pool())
        .await
        .unwrap();
    let expired = eventually(Duration::from_secs(30), || async {
        list(&h, link, &old, 0).await.err()
    })
    .await
    .expect("the old cursor expires");
    assert_eq!(expired.code(), Code::FailedPrecondition, "{expired:?}");
    assert!(expired.message().contains("empty cursor"), "{expired:?}");
    let mut again = Consumer::new(link);
    again.follow(&h).await;
    again.holds_the_stored_set(&mut h).await;
    h.stop().await;
}

/// Fast sync, with the watchdog (and its compaction) every 100 ms.
fn pb_sync() -> data_service::config::SyncConfig {
    data_service::config::SyncConfig {
        watchdog_interval: Duration::from_millis(100),
        ..fast_sync()
    }
}

crate::both_backends!(
    watch_changes_announces_commits_and_ends_with_its_client,
    watch
);
async fn watch(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let (link, _) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    let mut stream = watch_changes(h.data.clone(), link).await;
    let now = stream.message().await.unwrap().unwrap();
    assert_eq!(now.link_id, link.to_string());
    // On PostgreSQL, also on a replica that runs no pulls: it hears of the commits of the
    // other one through LISTEN/NOTIFY.
    let mut elsewhere = match backend {
        Backend::Postgres => {
            let replica = h
                .replica(data_service::config::SyncConfig {
                    workers: 0,
                    ..fast_sync()
                })
                .await;
            let mut stream = watch_changes(replica, link).await;
            assert_eq!(stream.message().await.unwrap().unwrap().cursor, now.cursor);
            Some(stream)
        }
        Backend::Sqlite => None,
    };
    assert!(
        list(&h, link, &now.cursor, 0)
            .await
            .unwrap()
            .changes
            .is_empty()
    );
    assert_eq!(open_streams(&h).await, 1.0);

    let added = h
        .emulator
        .control()
        .add_objects(
            link,
            "transactions",
            vec![serde_json::json!({"description": "NEW"})],
        )
        .unwrap();
    let event = h
        .trigger(link, "TRANSACTIONS", "new_transactions_available")
        .await;
    h.ingest(&event).await;
    // Announced once committed: from the earlier cursor, the new object is listed.
    let mut listed = BTreeSet::new();
    while listed.is_empty() {
        let next = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("a commit was announced")
            .unwrap()
            .unwrap();
        assert_ne!(next.cursor, now.cursor);
        let page = list(&h, link, &now.cursor, 0).await.unwrap();
        listed = ids(&page.changes, pb::ChangeKind::Added);
    }
    let added = added[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed, BTreeSet::from([added]));
    if let Some(stream) = &mut elsewhere {
        let heard = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("the other replica announced the commit")
            .unwrap()
            .unwrap();
        assert_ne!(heard.cursor, now.cursor);
    }

    drop(stream);
    let closed = eventually(Duration::from_secs(10), || async {
        (open_streams(&h).await == 0.0).then_some(())
    })
    .await;
    assert!(closed.is_some(), "the stream's task ended with its client");

    let status = h
        .data
        .clone()
        .watch_changes(pb::WatchChangesRequest {
            link_ids: vec![],
            owner: OWNER.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    h.stop().await;
}

async fn watch_changes(
    mut data: DataServiceClient<Channel>,
    link: uuid::Uuid,
) -> tonic::Streaming<pb::WatchChangesResponse> {
    data.watch_changes(pb::WatchChangesRequest {
        link_ids: vec![link.to_string()],
        owner: OWNER.into(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn open_streams(h: &Harness) -> f64 {
    let admin = h.app.as_ref().unwrap().admin_addr();
    let metrics = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("data_change_streams "))
        .map_or(-1.0, |v| v.parse().unwrap())
}
