//! ApplyLinkEvent: the status machine on Belvo's `LINK` webhooks, once per webhook id,
//! stale events ignored, DELETED final.

use connect_proto::link::v1::{
    ApplyLinkEventRequest, ApplyLinkEventResponse, LinkEventCode, LinkStatus,
};
use database::Backend;
use tonic::Code;
use uuid::Uuid;

use belvo_emulator::LinkStatus as AtBelvo;

use crate::harness::{Bench, on_both_backends};

on_both_backends!(
    link_webhooks_move_the_status,
    events_belvo_does_not_confirm_change_nothing,
    duplicate_and_stale_events_change_nothing,
    link_deleted_is_final,
    events_for_unknown_links_are_not_found,
);

pub(crate) fn event(
    link_id: &str,
    code: LinkEventCode,
    webhook_id: &str,
    received_at_ms: i64,
) -> ApplyLinkEventRequest {
    ApplyLinkEventRequest {
        link_id: link_id.into(),
        code: code.into(),
        webhook_id: webhook_id.into(),
        received_at: Some(prost_types::Timestamp {
            seconds: received_at_ms / 1000,
            nanos: i32::try_from(received_at_ms % 1000).unwrap() * 1_000_000,
        }),
        error_code: "login_error".into(),
        error_message: "Invalid credentials provided to login to the institution".into(),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn link_webhooks_move_the_status(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await.to_string();
    let t = now_ms() + 1_000;
    bench.belvo_sets(&id, AtBelvo::Invalid);
    let ApplyLinkEventResponse {
        link,
        previous_status,
        changed,
        confirmed,
    } = bench
        .client()
        .apply_link_event(event(&id, LinkEventCode::InvalidCredentials, "wh-1", t))
        .await
        .unwrap()
        .into_inner();
    assert!(changed && confirmed);
    assert_eq!(previous_status, i32::from(LinkStatus::Valid));
    assert_eq!(link.as_ref().unwrap().status(), LinkStatus::Invalid);

    bench.belvo_sets(&id, AtBelvo::TokenRequired);
    let response = bench
        .client()
        .apply_link_event(event(&id, LinkEventCode::TokenRequired, "wh-2", t + 10))
        .await
        .unwrap()
        .into_inner();
    assert!(response.changed);
    assert_eq!(response.previous_status, i32::from(LinkStatus::Invalid));
    assert_eq!(response.link.unwrap().status(), LinkStatus::TokenRequired);
    bench.stop().await;
}

/// Belvo's webhooks carry no signature: a `LINK` event whose status Belvo's link does not
/// have (or a deletion of a link Belvo still has) changes nothing.
async fn events_belvo_does_not_confirm_change_nothing(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await.to_string();
    let t = now_ms() + 1_000;
    for (i, code) in [
        LinkEventCode::InvalidCredentials,
        LinkEventCode::TokenRequired,
        LinkEventCode::LinkDeleted,
    ]
    .into_iter()
    .enumerate()
    {
        let response = bench
            .client()
            .apply_link_event(event(&id, code, &format!("wh-{i}"), t + i as i64))
            .await
            .unwrap()
            .into_inner();
        assert!(!response.confirmed && !response.changed, "{code:?}");
        assert_eq!(
            response.link.unwrap().status(),
            LinkStatus::Valid,
            "{code:?}"
        );
    }
    // Once Belvo says so, the same kind of event applies.
    bench.belvo_sets(&id, AtBelvo::TokenRequired);
    let response = bench
        .client()
        .apply_link_event(event(&id, LinkEventCode::TokenRequired, "wh-9", t + 10))
        .await
        .unwrap()
        .into_inner();
    assert!(response.confirmed && response.changed);
    assert_eq!(response.link.unwrap().status(), LinkStatus::TokenRequired);
    bench.stop().await;
}

async fn duplicate_and_stale_events_change_nothing(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await.to_string();
    let t = now_ms() + 1_000;
    bench.belvo_sets(&id, AtBelvo::TokenRequired);
    let first = bench
        .client()
        .apply_link_event(event(&id, LinkEventCode::TokenRequired, "wh-1", t))
        .await
        .unwrap()
        .into_inner();
    assert!(first.changed);

    // The same webhook again (Belvo redelivers): nothing changes.
    let again = bench
        .client()
        .apply_link_event(event(&id, LinkEventCode::TokenRequired, "wh-1", t))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.changed);
    assert_eq!(again.link.unwrap().status(), LinkStatus::TokenRequired);

    // A different webhook received before the last change: ignored, although Belvo now says
    // the same.
    bench.belvo_sets(&id, AtBelvo::Invalid);
    let stale = bench
        .client()
        .apply_link_event(event(
            &id,
            LinkEventCode::InvalidCredentials,
            "wh-0",
            t - 500,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!stale.changed && stale.confirmed);
    assert_eq!(stale.previous_status, i32::from(LinkStatus::TokenRequired));
    assert_eq!(stale.link.unwrap().status(), LinkStatus::TokenRequired);

    // A newer one applies.
    let newer = bench
        .client()
        .apply_link_event(event(
            &id,
            LinkEventCode::InvalidCredentials,
            "wh-3",
            t + 500,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(newer.changed);
    assert_eq!(newer.link.unwrap().status(), LinkStatus::Invalid);
    bench.stop().await;
}

async fn link_deleted_is_final(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    bench.mx.links().delete(id).await.unwrap();
    let id = id.to_string();
    let t = now_ms() + 1_000;
    let deleted = bench
        .client()
        .apply_link_event(event(&id, LinkEventCode::LinkDeleted, "wh-del", t))
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.changed);
    let link = deleted.link.unwrap();
    assert_eq!(link.status(), LinkStatus::Deleted);
    assert!(link.deleted_at.is_some());

    let later = bench
        .client()
        .apply_link_event(event(
            &id,
            LinkEventCode::InvalidCredentials,
            "wh-late",
            t + 60_000,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!later.changed);
    assert_eq!(later.previous_status, i32::from(LinkStatus::Deleted));
    assert_eq!(later.link.unwrap().status(), LinkStatus::Deleted);
    bench.stop().await;
}

async fn events_for_unknown_links_are_not_found(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = Uuid::new_v4().to_string();
    let err = bench
        .client()
        .apply_link_event(event(
            &id,
            LinkEventCode::InvalidCredentials,
            "wh-x",
            now_ms(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // The event was not recorded: once the link is registered, the same webhook applies.
    let id = bench.registered_link("alice").await.to_string();
    bench.belvo_sets(&id, AtBelvo::Invalid);
    let err = bench
        .client()
        .apply_link_event(event(
            &Uuid::new_v4().to_string(),
            LinkEventCode::InvalidCredentials,
            "wh-y",
            now_ms(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let applied = bench
        .client()
        .apply_link_event(event(
            &id,
            LinkEventCode::InvalidCredentials,
            "wh-y",
            now_ms() + 1_000,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(applied.changed);
    bench.stop().await;
}
