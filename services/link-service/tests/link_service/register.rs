//! RegisterLink and GetLink: verification at Belvo, ownership through the external id,
//! idempotence, region lookup, and races.

use connect_proto::common::v1::AccessMode;
use connect_proto::link::v1::{
    GetLinkRequest, LinkOrigin, LinkStatus, RegisterLinkRequest, RegisterLinkResponse,
};
use database::Backend;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::harness::{Bench, on_both_backends};

on_both_backends!(
    registers_a_link_verified_at_belvo,
    belvos_json_is_stored_as_belvo_sent_it,
    registering_again_is_idempotent_and_refreshes_belvo_fields,
    another_owners_link_is_refused,
    a_link_claimed_by_one_owner_cannot_be_claimed_by_another,
    a_link_is_found_in_any_region_when_none_is_given,
    concurrent_registrations_store_one_link,
    get_link_hides_other_owners_links,
    each_belvo_call_is_on_the_metrics,
);

/// The verification at Belvo is counted on `/metrics` as the emulator saw it.
async fn each_belvo_call_is_on_the_metrics(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    bench.emulator.control().clear_requests();
    bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap();
    let gets = bench
        .emulator
        .control()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == format!("/api/links/{id}/") && r.status == 200)
        .count();
    assert!(gets >= 1);
    let line = format!(
        r#"belvo_requests_total{{code="",endpoint="/api/links/{{id}}/",method="GET",outcome="ok",region="mx",status=""}} {gets}"#
    );
    let metrics = bench.metrics().await;
    assert!(metrics.contains(&line), "{line} in\n{metrics}");
    bench.stop().await;
}

pub(crate) fn register(owner: &str, link_id: &str, region: &str) -> RegisterLinkRequest {
    RegisterLinkRequest {
        owner: owner.into(),
        link_id: link_id.into(),
        region: region.into(),
    }
}

async fn registers_a_link_verified_at_belvo(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    let RegisterLinkResponse { link, created } = bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap()
        .into_inner();
    assert!(created);
    let link = link.unwrap();
    assert_eq!(link.link_id, id.to_string());
    assert_eq!(link.owner, "alice");
    assert_eq!(link.region, "mx");
    assert_eq!(link.institution, "erebor_mx_retail");
    assert_eq!(link.access_mode(), AccessMode::Recurrent);
    assert_eq!(link.status(), LinkStatus::Valid);
    assert_eq!(link.origin(), LinkOrigin::Registered);
    assert_eq!(link.fetch_resources, ["ACCOUNTS", "TRANSACTIONS"]);
    assert!(link.external_id.starts_with("ext-"));
    assert!(!link.institution_user_id.is_empty());
    assert!(link.belvo_created_at.is_some());
    assert!(link.registered_at.is_some());
    assert!(link.deleted_at.is_none());
    assert_eq!(
        bench.tokens.calls(),
        std::slice::from_ref(&link.external_id)
    );

    let got = bench
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
    assert_eq!(got, link);
    bench.stop().await;
}

async fn belvos_json_is_stored_as_belvo_sent_it(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap();
    let (_, belvo_json) = bench.mx.links().get_verbatim(id).await.unwrap();
    let at_belvo: serde_json::Value = serde_json::from_str(&belvo_json).unwrap();
    // Every field, those the typed link does not know included, with Belvo's own values.
    assert_eq!(bench.stored_belvo_json(id).await, at_belvo);
    bench.stop().await;
}

async fn registering_again_is_idempotent_and_refreshes_belvo_fields(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    let first = bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap()
        .into_inner();
    // Belvo now says the link is invalid; registering again picks that up.
    bench
        .emulator
        .control()
        .set_link_status(id, belvo_emulator::LinkStatus::Invalid, false)
        .unwrap();
    let second = bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap()
        .into_inner();
    assert!(first.created);
    assert!(!second.created);
    let (first, second) = (first.link.unwrap(), second.link.unwrap());
    assert_eq!(second.registered_at, first.registered_at);
    assert_eq!(first.status(), LinkStatus::Valid);
    assert_eq!(second.status(), LinkStatus::Invalid);
    bench.stop().await;
}

async fn another_owners_link_is_refused(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    let err = bench
        .client()
        .register_link(register("mallory", &id.to_string(), "mx"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let info = err.get_details_error_info().unwrap();
    assert_eq!(info.reason, link_service::EXTERNAL_ID_MISMATCH);
    assert_eq!(info.domain, "connect.platform");

    // An external id token-service never minted is refused the same way.
    let foreign = bench
        .create_link_with_external_id(&bench.mx, Some("not-from-here".into()))
        .await;
    let err = bench
        .client()
        .register_link(register("alice", &foreign.to_string(), "mx"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Nothing was stored for either.
    for id in [id, foreign] {
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
    bench.stop().await;
}

async fn a_link_claimed_by_one_owner_cannot_be_claimed_by_another(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    // The same external id resolving to someone else (a re-keyed token-service, say) must
    // not move the link.
    let external_id = bench.tokens.calls()[0].clone();
    bench.tokens.reassign(&external_id, "bob");
    let err = bench
        .client()
        .register_link(register("bob", &id.to_string(), "mx"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        link_service::LINK_OWNED_BY_ANOTHER_OWNER
    );
    bench.stop().await;
}

async fn a_link_is_found_in_any_region_when_none_is_given(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.co, "alice").await;
    let link = bench
        .client()
        .register_link(register("alice", &id.to_string(), ""))
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(link.region, "co");

    // In the wrong region Belvo has no such link.
    let other = bench.create_link(&bench.co, "alice").await;
    let err = bench
        .client()
        .register_link(register("alice", &other.to_string(), "mx"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.get_details_error_info().unwrap().domain, "belvo.com");

    // Nowhere at all.
    let err = bench
        .client()
        .register_link(register("alice", &uuid::Uuid::new_v4().to_string(), ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    bench.stop().await;
}

async fn concurrent_registrations_store_one_link(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    let calls = (0..6).map(|_| {
        let mut client = bench.client();
        async move {
            client
                .register_link(register("alice", &id.to_string(), "mx"))
                .await
        }
    });
    let results = futures::future::join_all(calls).await;
    let created = results
        .into_iter()
        .map(|r| r.unwrap().into_inner().created)
        .filter(|c| *c)
        .count();
    assert_eq!(created, 1);
    bench.stop().await;
}

async fn get_link_hides_other_owners_links(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    let err = bench
        .client()
        .get_link(GetLinkRequest {
            link_id: id.to_string(),
            owner: "bob".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Internal callers (no owner) may read any link.
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
    assert_eq!(link.owner, "alice");
    bench.stop().await;
}
