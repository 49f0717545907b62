//! Update mode: a token for an existing link only when link-service says the owner has it,
//! in the link's region; refused for another owner's link, for a link of another region,
//! and clearly when link-service is not configured or down.

use connect_proto::common::v1::Product;
use connect_proto::link::v1::LinkStatus;
use connect_proto::token::v1::CreateWidgetTokenRequest;
use database::Backend;
use serde_json::json;
use sqlx::Row as _;
use tonic::Code;

use crate::support::{Harness, Links, MX, assert_bad_field, claims, error_info, on_both_backends};

on_both_backends!(
    update_mode_only_for_the_owners_link,
    update_mode_without_link_service_is_refused_clearly,
);

fn update(region: &str, owner: &str, link_id: &str) -> CreateWidgetTokenRequest {
    CreateWidgetTokenRequest {
        region: region.into(),
        owner: owner.into(),
        products: vec![Product::Banking as i32],
        link_id: Some(link_id.into()),
        ..Default::default()
    }
}

async fn update_mode_only_for_the_owners_link(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::Fake).await else {
        return;
    };
    let link = h.belvo_link(MX).await;
    h.links.add(link, "erin", "mx");
    let link_s = link.to_string();

    let response = h.create(update("mx", "erin", &link_s)).await.unwrap();
    let sent = claims(&response.access_token);
    assert_eq!(sent["link_id"], json!(link_s));
    assert_eq!(
        sent["scopes"],
        json!(["read_institutions", "write_links", "read_links"])
    );
    assert_eq!(
        response.widget.unwrap().link_id.as_deref(),
        Some(link_s.as_str())
    );
    // link-service was asked with the owner, and with token-service's bearer token.
    let calls = h.links.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, link_s);
    assert_eq!(calls[0].1, "erin");
    assert_eq!(
        calls[0].2.as_deref(),
        Some("Bearer token-service-secret-0123")
    );
    let audited: Option<String> = sqlx::query("SELECT link_id FROM token_audit")
        .fetch_one(h.db.pool())
        .await
        .unwrap()
        .get("link_id");
    assert_eq!(audited.as_deref(), Some(link_s.as_str()));
    let tokens_before = h.token_requests();

    // Another owner: NOT_FOUND, and Belvo is not asked.
    let err = h
        .create(update("mx", "mallory", &link_s))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(error_info(&err).0, token_service::REASON_LINK_NOT_FOUND);
    // A link nobody has.
    let err = h
        .create(update("mx", "erin", &uuid::Uuid::new_v4().to_string()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // A link link-service knows as deleted.
    let deleted = uuid::Uuid::new_v4();
    h.links
        .add_with_status(deleted, "erin", "mx", LinkStatus::Deleted);
    let err = h
        .create(update("mx", "erin", &deleted.to_string()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // The owner's link, asked for in another region.
    assert_bad_field(h.create(update("co", "erin", &link_s)).await, "link_id");
    assert_eq!(h.token_requests(), tokens_before);

    // link-service says Colombia, but Belvo's Colombian account has no such link.
    let foreign = h.belvo_link(MX).await;
    h.links.add(foreign, "erin", "co");
    let err = h
        .create(update("co", "erin", &foreign.to_string()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let (reason, domain, _) = error_info(&err);
    assert_eq!(reason, "does_not_exist");
    assert_eq!(domain, grpc_runtime::status::BELVO_DOMAIN);

    let rows: i64 = sqlx::query("SELECT COUNT(*) AS n FROM token_audit")
        .fetch_one(h.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(rows, 1, "only the issued token is audited");
    h.stop().await;
}

async fn update_mode_without_link_service_is_refused_clearly(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    let link = uuid::Uuid::new_v4().to_string();
    let err = h.create(update("mx", "erin", &link)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(
        error_info(&err).0,
        token_service::REASON_LINK_SERVICE_NOT_CONFIGURED
    );
    // Creating links still works without link-service.
    let mut create = update("mx", "erin", &link);
    create.link_id = None;
    assert!(h.create(create).await.is_ok());
    h.stop().await;

    let Some(h) = Harness::start(backend, Links::Unreachable).await else {
        return;
    };
    let err = h.create(update("mx", "erin", &link)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(
        error_info(&err).0,
        token_service::REASON_LINK_SERVICE_UNAVAILABLE
    );
    assert_eq!(h.token_requests(), 0);
    h.stop().await;
}
