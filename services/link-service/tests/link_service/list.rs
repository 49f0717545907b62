//! ListLinks: an owner's links, newest first, page by page with an opaque token.

use std::collections::HashSet;

use connect_proto::link::v1::{
    DeleteLinkRequest, LinkEventCode, LinkStatus, ListLinksRequest, ListLinksResponse,
};
use database::Backend;
use tonic::Code;

use crate::events::event;
use crate::harness::{Bench, on_both_backends};
use crate::register::register;

on_both_backends!(pages_through_an_owners_links, filters_by_status);

fn list(owner: &str, page_size: i32, page_token: &str) -> ListLinksRequest {
    ListLinksRequest {
        owner: owner.into(),
        page_size,
        page_token: page_token.into(),
        statuses: vec![],
        include_deleted: false,
    }
}

async fn register_n(bench: &Bench, owner: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let id = bench.create_link(&bench.mx, owner).await.to_string();
        bench
            .client()
            .register_link(register(owner, &id, "mx"))
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

async fn pages_through_an_owners_links(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let alices = register_n(&bench, "alice", 5).await;
    register_n(&bench, "bob", 2).await;

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let ListLinksResponse {
            links,
            next_page_token,
        } = bench
            .client()
            .list_links(list("alice", 2, &token))
            .await
            .unwrap()
            .into_inner();
        assert!(links.len() <= 2);
        assert!(links.iter().all(|l| l.owner == "alice"));
        seen.extend(links);
        pages += 1;
        if next_page_token.is_empty() {
            break;
        }
        token = next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    let ids: HashSet<_> = seen.iter().map(|l| l.link_id.clone()).collect();
    assert_eq!(ids, alices.iter().cloned().collect());
    // Newest registration first.
    let times: Vec<_> = seen
        .iter()
        .map(|l| {
            let t = l.registered_at.unwrap();
            (t.seconds, t.nanos)
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // The last registered comes first.
    assert_eq!(seen[0].link_id, alices[4]);

    // A garbled token, or one reused with other filters, is refused.
    let err = bench
        .client()
        .list_links(list("alice", 2, "garbage"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let first = bench
        .client()
        .list_links(list("alice", 2, ""))
        .await
        .unwrap()
        .into_inner();
    let mut changed = list("alice", 2, &first.next_page_token);
    changed.include_deleted = true;
    let err = bench.client().list_links(changed).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    bench.stop().await;
}

async fn filters_by_status(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let ids = register_n(&bench, "alice", 3).await;
    let now = chrono::Utc::now().timestamp_millis() + 1_000;
    bench.belvo_sets(&ids[0], belvo_emulator::LinkStatus::Invalid);
    bench
        .client()
        .apply_link_event(event(&ids[0], LinkEventCode::InvalidCredentials, "w1", now))
        .await
        .unwrap();
    bench
        .client()
        .delete_link(DeleteLinkRequest {
            link_id: ids[1].clone(),
            owner: "alice".into(),
        })
        .await
        .unwrap();

    let statuses = |req: ListLinksRequest| {
        let mut client = bench.client();
        async move {
            let mut found: Vec<(String, LinkStatus)> = client
                .list_links(req)
                .await
                .unwrap()
                .into_inner()
                .links
                .into_iter()
                .map(|l| (l.link_id.clone(), l.status()))
                .collect();
            found.sort();
            found
        }
    };
    let mut expected_live = vec![
        (ids[0].clone(), LinkStatus::Invalid),
        (ids[2].clone(), LinkStatus::Valid),
    ];
    expected_live.sort();
    assert_eq!(statuses(list("alice", 0, "")).await, expected_live);

    let mut all = list("alice", 0, "");
    all.include_deleted = true;
    assert_eq!(statuses(all).await.len(), 3);

    let mut invalid = list("alice", 0, "");
    invalid.statuses = vec![LinkStatus::Invalid.into()];
    assert_eq!(
        statuses(invalid).await,
        [(ids[0].clone(), LinkStatus::Invalid)]
    );

    let mut deleted = list("alice", 0, "");
    deleted.statuses = vec![LinkStatus::Deleted.into()];
    assert_eq!(
        statuses(deleted).await,
        [(ids[1].clone(), LinkStatus::Deleted)]
    );
    bench.stop().await;
}
