//! DeleteLink (at Belvo, then locally) and RefreshLink with Belvo's cooldown.

use std::time::Duration;

use connect_proto::link::v1::{
    DeleteLinkRequest, GetLinkRequest, LinkEventCode, LinkStatus, RefreshLinkRequest,
};
use database::Backend;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::events::event;
use crate::harness::{Bench, on_both_backends};

on_both_backends!(
    deleting_removes_the_link_at_belvo_and_marks_it_deleted,
    more_deletes_than_belvos_synchronous_limit_all_succeed,
    only_the_owner_deletes,
    refresh_then_cooldown,
    refresh_checks_resources_and_owner,
);

fn delete(id: &str, owner: &str) -> DeleteLinkRequest {
    DeleteLinkRequest {
        link_id: id.into(),
        owner: owner.into(),
    }
}

/// Alice's link `id`, deleted through link-service.
async fn deleted(bench: &Bench, id: uuid::Uuid) -> connect_proto::link::v1::Link {
    bench
        .client()
        .delete_link(delete(&id.to_string(), "alice"))
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap()
}

async fn deleting_removes_the_link_at_belvo_and_marks_it_deleted(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    assert!(bench.emulator.control().link(id).is_ok());
    let link = deleted(&bench, id).await;
    assert_eq!(link.status(), LinkStatus::Deleted);
    assert!(link.deleted_at.is_some());
    // Deleted asynchronously (202, Belvo's recommendation); Belvo no longer has it.
    let deletes: Vec<u16> = bench
        .emulator
        .control()
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.status)
        .collect();
    assert_eq!(deletes, [202]);
    assert!(bench.emulator.control().link(id).is_err());
    let err = bench.mx.links().get(id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));

    // Deleting again returns it unchanged, without calling Belvo.
    bench.emulator.control().clear_requests();
    let again = deleted(&bench, id).await;
    assert_eq!(again, link);
    assert!(bench.emulator.control().requests().is_empty());

    // Belvo's `link_deleted` webhook that follows changes nothing.
    let after = bench
        .client()
        .apply_link_event(event(
            &id.to_string(),
            LinkEventCode::LinkDeleted,
            "wh-deleted",
            chrono::Utc::now().timestamp_millis() + 1_000,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!after.changed);
    bench.stop().await;
}

/// Belvo allows 5 synchronous deletions a minute, then answers 429; asynchronous ones are not
/// limited that way.
async fn more_deletes_than_belvos_synchronous_limit_all_succeed(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    for _ in 0..6 {
        let id = bench.registered_link("alice").await;
        let link = deleted(&bench, id).await;
        assert_eq!(link.status(), LinkStatus::Deleted);
        assert!(bench.emulator.control().link(id).is_err());
    }
    bench.stop().await;
}

async fn only_the_owner_deletes(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    let err = bench
        .client()
        .delete_link(delete(&id.to_string(), "bob"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(bench.emulator.control().link(id).is_ok());
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
    assert_eq!(link.status(), LinkStatus::Valid);
    bench.stop().await;
}

async fn refresh_then_cooldown(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    let request = RefreshLinkRequest {
        link_id: id.to_string(),
        owner: "alice".into(),
        fetch_resources: vec![],
    };
    let accepted = bench
        .client()
        .refresh_link(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(!accepted.belvo_request_id.is_empty());
    assert!(accepted.requested_at.is_some());
    let link = bench
        .client()
        .get_link(GetLinkRequest {
            link_id: id.to_string(),
            owner: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(link.last_refresh_requested_at, accepted.requested_at);

    let err = bench.client().refresh_link(request).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let info = err.get_details_error_info().unwrap();
    assert_eq!(info.reason, "link_refreshed");
    assert_eq!(info.domain, "belvo.com");
    assert_eq!(info.metadata["belvo_status"], "409");
    let wait = err.get_details_retry_info().unwrap().retry_delay.unwrap();
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(600),
        "{wait:?}"
    );
    bench.stop().await;
}

async fn refresh_checks_resources_and_owner(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    let err = bench
        .client()
        .refresh_link(RefreshLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
            fetch_resources: vec!["ACCOUNTS".into(), "INVOICES".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<_> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["fetch_resources[1]"]);

    let err = bench
        .client()
        .refresh_link(RefreshLinkRequest {
            link_id: id.to_string(),
            owner: "bob".into(),
            fetch_resources: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // A subset of the link's resources is accepted.
    bench
        .client()
        .refresh_link(RefreshLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
            fetch_resources: vec!["ACCOUNTS".into()],
        })
        .await
        .unwrap();

    // A deleted link cannot be refreshed.
    bench
        .client()
        .delete_link(delete(&id.to_string(), "alice"))
        .await
        .unwrap();
    let err = bench
        .client()
        .refresh_link(RefreshLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
            fetch_resources: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        link_service::LINK_DELETED
    );
    bench.stop().await;
}
