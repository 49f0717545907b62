//! AdoptLink: a link first seen in a webhook, attributed through its external id.

use connect_proto::link::v1::{AdoptLinkRequest, LinkOrigin, LinkStatus};
use database::Backend;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::harness::{Bench, on_both_backends};
use crate::register::register;

on_both_backends!(
    adopts_a_link_for_the_owner_of_its_external_id,
    unknown_external_ids_are_not_found,
    a_mismatched_external_id_is_refused,
    a_link_made_when_its_owner_was_not_linking_is_not_adopted,
);

fn adopt(region: &str, link_id: &str, external_id: &str) -> AdoptLinkRequest {
    AdoptLinkRequest {
        region: region.into(),
        link_id: link_id.into(),
        external_id: external_id.into(),
    }
}

async fn adopts_a_link_for_the_owner_of_its_external_id(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let external_id = bench.tokens.mint("carol");
    let id = bench
        .create_link_with_external_id(&bench.mx, Some(external_id.clone()))
        .await
        .to_string();
    let link_gets = || {
        bench
            .emulator
            .control()
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == format!("/api/links/{id}/"))
            .count()
    };
    // The link's first webhooks ask at once: one adopts it, with one lookup at Belvo.
    let answers = futures::future::join_all((0..5).map(|_| {
        let mut client = bench.client();
        let request = adopt("mx", &id, &external_id);
        async move { client.adopt_link(request).await }
    }))
    .await;
    let answers: Vec<_> = answers
        .into_iter()
        .map(|a| a.unwrap().into_inner())
        .collect();
    assert_eq!(answers.iter().filter(|a| a.created).count(), 1);
    assert_eq!(link_gets(), 1);
    let adopted = answers.into_iter().find(|a| a.created).unwrap();
    let link = adopted.link.unwrap();
    assert_eq!(link.owner, "carol");
    assert_eq!(link.origin(), LinkOrigin::Adopted);
    assert_eq!(link.status(), LinkStatus::Valid);

    // Again: the stored link, not created.
    let again = bench
        .client()
        .adopt_link(adopt("mx", &id, &external_id))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.created);
    assert_eq!(again.link.unwrap(), link);

    // A webhook naming another external id for it is refused.
    let err = bench
        .client()
        .adopt_link(adopt("mx", &id, &bench.tokens.mint("mallory")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // The owner registering it moments later finds it already theirs, without a second
    // lookup at Belvo (adoption made it, with the same external id).
    let gets_before = link_gets();
    let registered = bench
        .client()
        .register_link(register("carol", &id, "mx"))
        .await
        .unwrap()
        .into_inner();
    assert!(!registered.created);
    assert_eq!(registered.link.unwrap().origin(), LinkOrigin::Adopted);
    assert_eq!(link_gets(), gets_before);

    // Another owner registering it still goes to Belvo, and is refused.
    let err = bench
        .client()
        .register_link(register("mallory", &id, "mx"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(link_gets(), gets_before + 1);
    bench.stop().await;
}

async fn unknown_external_ids_are_not_found(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench
        .create_link_with_external_id(&bench.mx, Some("minted-elsewhere".into()))
        .await
        .to_string();
    let err = bench
        .client()
        .adopt_link(adopt("mx", &id, "minted-elsewhere"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let info = err.get_details_error_info().unwrap();
    assert_eq!(info.reason, link_service::EXTERNAL_ID_UNKNOWN);
    assert_eq!(info.domain, "connect.platform");
    bench.stop().await;
}

async fn a_mismatched_external_id_is_refused(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    // The webhook claims an external id the link at Belvo does not carry.
    let id = bench.create_link(&bench.mx, "alice").await.to_string();
    let someone_else = bench.tokens.mint("mallory");
    let err = bench
        .client()
        .adopt_link(adopt("mx", &id, &someone_else))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        link_service::EXTERNAL_ID_MISMATCH
    );
    bench.stop().await;
}

/// Belvo's widget takes the external id from the page: someone who learnt carol's external
/// id can make a link with it in their own widget. Carol was not linking then (no token of
/// hers was valid), so the link is not adopted into her account; it waits for its real owner.
async fn a_link_made_when_its_owner_was_not_linking_is_not_adopted(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let carols = bench.tokens.mint_long_ago("carol");
    let id = bench
        .create_link_with_external_id(&bench.mx, Some(carols.clone()))
        .await
        .to_string();
    let err = bench
        .client()
        .adopt_link(adopt("mx", &id, &carols))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        link_service::EXTERNAL_ID_UNKNOWN
    );
    // token-service was asked about the link's creation, in its region.
    assert!(
        bench.tokens.calls().contains(&format!("{carols}@mx")),
        "{:?}",
        bench.tokens.calls()
    );
    // Nothing was stored: carol does not see it.
    let listed = bench
        .client()
        .list_links(connect_proto::link::v1::ListLinksRequest {
            owner: "carol".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.links.is_empty());
    bench.stop().await;
}
