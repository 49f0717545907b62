//! Erasing an owner (issue 14): their links are DELETED at once, then deleted at Belvo, purged
//! by data-service and removed here, and token-service forgets them; each step is retried
//! until confirmed, so a data-service or token-service that is down meanwhile only delays it.

use std::time::Duration;

use connect_proto::data::v1::PurgeLinkRequest;
use connect_proto::link::v1::{
    EraseOwnerRequest, Erasure, GetErasureRequest, GetLinkRequest, LinkStatus, ListLinksRequest,
};
use database::Backend;
use tonic::Code;

use crate::fake_data::DataCall;
use crate::harness::{Bench, fast_removals, on_both_backends};

on_both_backends!(
    an_erasure_completes_after_data_and_token_service_come_back,
    asking_again_returns_the_erasure_under_way_and_bad_owners_are_refused,
);

async fn erase(bench: &Bench, owner: &str) -> Erasure {
    bench
        .client()
        .erase_owner(EraseOwnerRequest {
            owner: owner.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .erasure
        .unwrap()
}

/// Polls `owner`'s erasure until `done` holds (at most 10 s), and returns it.
async fn erasure_until(bench: &Bench, owner: &str, done: impl Fn(&Erasure) -> bool) -> Erasure {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let erasure = bench
            .client()
            .get_erasure(GetErasureRequest {
                owner: owner.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .erasure
            .unwrap();
        if done(&erasure) {
            return erasure;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the erasure stopped at {erasure:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn an_erasure_completes_after_data_and_token_service_come_back(backend: Backend) {
    let Some(bench) = Bench::start_with(backend, fast_removals).await else {
        return;
    };
    let alices = [
        bench.registered_link("alice").await,
        bench.registered_link("alice").await,
    ];
    let bobs = bench.registered_link("bob").await;
    bench.data.fail();
    bench.tokens.set_down(true);

    let asked = erase(&bench, "alice").await;
    assert_eq!(asked.links, 2);
    assert!(asked.finished_at.is_none());
    // DELETED at once, for the owner and every reader.
    for id in alices {
        let link = bench
            .client()
            .get_link(GetLinkRequest {
                link_id: id.to_string(),
                owner: "alice".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .link
            .unwrap();
        assert_eq!(link.status(), LinkStatus::Deleted);
    }
    // Belvo deletes them; data-service cannot purge and token-service cannot forget yet:
    // the erasure waits, saying why.
    let waiting = erasure_until(&bench, "alice", |e| {
        e.links_deleted_at_belvo == 2 && e.last_error.contains("data-service")
    })
    .await;
    assert_eq!(waiting.links_purged, 0);
    assert!(waiting.finished_at.is_none());
    for id in alices {
        assert!(bench.emulator.control().link(id).is_err(), "gone at Belvo");
    }

    bench.data.recover();
    bench.tokens.set_down(false);
    let done = erasure_until(&bench, "alice", |e| e.finished_at.is_some()).await;
    assert_eq!(
        (done.links, done.links_purged, done.token_service_erased),
        (2, 2, true)
    );
    assert!(done.last_error.is_empty(), "{done:?}");
    // data-service was asked to erase each link, token-service to forget alice.
    let purges: Vec<PurgeLinkRequest> = bench
        .data
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            DataCall::Purge(p) => Some(p),
            DataCall::Notify(_) => None,
        })
        .collect();
    for id in alices {
        assert!(
            purges.contains(&PurgeLinkRequest {
                link_id: id.to_string(),
                erase: true
            }),
            "{purges:?}"
        );
    }
    assert!(bench.tokens.calls().contains(&"erase:alice".to_owned()));
    // Nothing of alice's is left here; bob's link is untouched, here and at Belvo.
    for id in alices {
        let err = bench
            .client()
            .get_link(GetLinkRequest {
                link_id: id.to_string(),
                owner: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
    let left = bench
        .client()
        .list_links(ListLinksRequest {
            owner: "alice".into(),
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(left.links.is_empty(), "{left:?}");
    let bob = bench
        .client()
        .get_link(GetLinkRequest {
            link_id: bobs.to_string(),
            owner: "bob".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(bob.status(), LinkStatus::Valid);
    assert!(bench.emulator.control().link(bobs).is_ok());
    bench.stop().await;
}

async fn asking_again_returns_the_erasure_under_way_and_bad_owners_are_refused(backend: Backend) {
    let Some(bench) = Bench::start_with(backend, fast_removals).await else {
        return;
    };
    bench.registered_link("carol").await;
    bench.tokens.set_down(true);
    let first = erase(&bench, "carol").await;
    // A link carol registers while her erasure runs is swept into it.
    let late = bench.registered_link("carol").await;
    let again = erase(&bench, "carol").await;
    assert_eq!(again.requested_at, first.requested_at, "the same erasure");
    bench.tokens.set_down(false);
    let done = erasure_until(&bench, "carol", |e| e.finished_at.is_some()).await;
    assert_eq!(done.links, 2, "{done:?}");
    assert!(bench.emulator.control().link(late).is_err(), "swept in");

    let err = bench
        .client()
        .get_erasure(GetErasureRequest {
            owner: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    for owner in [String::new(), "x".repeat(257)] {
        let err = bench
            .client()
            .erase_owner(EraseOwnerRequest { owner })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
    bench.stop().await;
}
