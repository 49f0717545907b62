//! WatchLink: the link now, then each change, pushed from whichever replica made it
//! (PostgreSQL's LISTEN/NOTIFY between replicas; in process on SQLite).

use std::time::Duration;

use connect_proto::link::v1::{LinkEventCode, LinkStatus, WatchLinkRequest};
use database::Backend;
use tonic::Code;

use crate::events::event;
use crate::harness::{Bench, on_both_backends};

on_both_backends!(a_watched_link_streams_each_change_from_any_replica);

async fn a_watched_link_streams_each_change_from_any_replica(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await.to_string();
    let watch = |owner: &str| {
        let mut client = bench.client();
        let request = WatchLinkRequest {
            link_id: id.clone(),
            owner: owner.into(),
        };
        async move { client.watch_link(request).await }
    };
    let refused = watch("mallory").await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "another owner's link");
    let mut stream = watch("alice").await.unwrap().into_inner();
    let first = stream.message().await.unwrap().unwrap().link.unwrap();
    assert_eq!(first.status(), LinkStatus::Valid);

    // The change comes through another replica where there can be one (PostgreSQL).
    let (other, mut changer) = match backend {
        Backend::Postgres => {
            let (server, client) = bench.replica().await;
            (Some(server), client)
        }
        Backend::Sqlite => (None, bench.client()),
    };
    let at = chrono::Utc::now().timestamp_millis() + 1_000;
    bench.belvo_sets(&id, belvo_emulator::LinkStatus::Invalid);
    changer
        .apply_link_event(event(&id, LinkEventCode::InvalidCredentials, "wh-1", at))
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the change is pushed")
        .unwrap()
        .unwrap()
        .link
        .unwrap();
    assert_eq!(next.status(), LinkStatus::Invalid);
    if let Some(other) = other {
        other.stop().await.unwrap();
    }
    bench.stop().await;
}
