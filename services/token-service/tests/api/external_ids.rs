//! External ids: stable per (owner, region), different across owners and regions, never
//! the owner itself, and resolvable back to the owner.

use connect_proto::common::v1::Product;
use connect_proto::token::v1::{CreateWidgetTokenRequest, ResolveExternalIdRequest};
use database::Backend;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::support::{Harness, Links, error_info, on_both_backends};

on_both_backends!(external_ids_are_stable_and_resolve_to_their_owner);

async fn external_id(h: &Harness, region: &str, owner: &str) -> String {
    h.create(CreateWidgetTokenRequest {
        region: region.into(),
        owner: owner.into(),
        products: vec![Product::Banking as i32],
        ..Default::default()
    })
    .await
    .unwrap()
    .widget
    .unwrap()
    .external_id
}

async fn external_ids_are_stable_and_resolve_to_their_owner(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    let first = external_id(&h, "mx", "alice@example.com").await;
    let again = external_id(&h, "mx", "alice@example.com").await;
    let colombia = external_id(&h, "co", "alice@example.com").await;
    let bob = external_id(&h, "mx", "bob@example.com").await;
    assert_eq!(first, again);
    assert_ne!(first, colombia);
    assert_ne!(first, bob);
    for id in [&first, &colombia, &bob] {
        assert!(
            (3..=256).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{id} breaks Belvo's external_id rules"
        );
        assert!(!id.contains("alice") && !id.contains("bob") && !id.contains('@'));
    }

    let mut client = h.client.clone();
    let resolved = client
        .resolve_external_id(ResolveExternalIdRequest {
            external_id: first.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.owner, "alice@example.com");
    let issued = resolved.first_issued_at.unwrap();
    assert!(issued.seconds > 1_700_000_000);
    let resolved = client
        .resolve_external_id(ResolveExternalIdRequest {
            external_id: colombia,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.owner, "alice@example.com");
    // The first issue time is kept.
    let later = client
        .resolve_external_id(ResolveExternalIdRequest {
            external_id: first,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(later.first_issued_at.unwrap(), issued);

    // A link the user makes with the widget carries the external id, which resolves back
    // to its owner (what link-service and data-service rely on).
    let token = h
        .create(CreateWidgetTokenRequest {
            region: "mx".into(),
            owner: "heidi".into(),
            products: vec![Product::Banking as i32],
            ..Default::default()
        })
        .await
        .unwrap();
    let link = h.link_through_widget(&token.access_token).await;
    let link_external_id = link["external_id"].as_str().unwrap().to_owned();
    assert_eq!(link_external_id, token.widget.unwrap().external_id);
    let resolved = client
        .resolve_external_id(ResolveExternalIdRequest {
            external_id: link_external_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.owner, "heidi");

    // For a link first seen in a webhook: the owner only when a token for the external id in
    // the link's region was valid when Belvo created the link.
    let created: chrono::DateTime<chrono::Utc> =
        link["created_at"].as_str().unwrap().parse().unwrap();
    let at = |t: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    };
    let adopt = |created_at, region: &str| ResolveExternalIdRequest {
        external_id: link_external_id.clone(),
        link_created_at: Some(created_at),
        region: region.into(),
    };
    let resolved = client
        .resolve_external_id(adopt(at(created), "mx"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.owner, "heidi");
    for (created_at, region) in [
        // Made with the external id hours after its last token: someone else's widget.
        (at(created + chrono::Duration::hours(2)), "mx"),
        (at(created - chrono::Duration::hours(2)), "mx"),
        // No token for it in that region.
        (at(created), "co"),
    ] {
        let err = client
            .resolve_external_id(adopt(created_at, region))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{region}");
    }
    let err = client
        .resolve_external_id(adopt(at(created), ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    let missing = client
        .resolve_external_id(ResolveExternalIdRequest {
            external_id: "never-issued-external-id".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        error_info(&missing).0,
        token_service::REASON_EXTERNAL_ID_NOT_FOUND
    );

    for bad in ["", "a b", "x"] {
        let err = client
            .resolve_external_id(ResolveExternalIdRequest {
                external_id: bad.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad:?}");
        assert_eq!(
            err.get_details_bad_request().unwrap().field_violations[0].field,
            "external_id"
        );
    }
    h.stop().await;
}
