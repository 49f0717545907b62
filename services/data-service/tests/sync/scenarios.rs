//! The scenarios, each on both backends.

use connect_proto::data::v1 as pb;
use database::Backend;

use crate::both_backends;
use crate::support::{Harness, fast_sync};

both_backends!(historical_sync_stores_exactly_belvos_rows, historical_sync);
async fn historical_sync(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let fetch = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"];
    let link = h.create_link("bnk100", &fetch).await;
    h.register(link, &fetch).await;
    for event in h.webhooks(link, 3).await {
        assert_eq!(h.ingest(&event).await, pb::IngestOutcome::Accepted);
    }
    let expected = h.belvo_ids(link, "api/transactions/").await;
    assert!(
        expected.len() > 50,
        "the emulator's full profile spans several pages"
    );
    h.wait_synced(
        link,
        pb::Resource::Transactions,
        Some(expected.len() as i64),
    )
    .await;
    h.wait_synced(link, pb::Resource::Accounts, None).await;
    h.wait_synced(link, pb::Resource::Owners, None).await;

    let stored = h.stored_transactions(link).await;
    let ids: std::collections::BTreeSet<String> = stored.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, expected);
    assert_eq!(stored.len(), expected.len(), "no row twice");
    // Newest first, with Belvo's JSON kept verbatim beside the indexed columns.
    assert!(stored.windows(2).all(|w| w[0].date >= w[1].date));
    let first: serde_json::Value = serde_json::from_str(&stored[0].belvo_json).unwrap();
    assert_eq!(first["id"], stored[0].id.as_str());
    assert_eq!(first["value_date"], stored[0].date.as_str());
    assert!(!stored[0].account_id.is_empty());
    h.stop().await;
}

both_backends!(
    the_same_webhook_ten_times_pulls_once,
    same_webhook_ten_times
);
async fn same_webhook_ten_times(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let event = h.webhooks(link, 1).await.remove(0);
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        outcomes.push(h.ingest(&event).await);
    }
    assert_eq!(outcomes[0], pb::IngestOutcome::Accepted);
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| *o == pb::IngestOutcome::Duplicate),
        "{outcomes:?}"
    );
    let total = h.belvo_ids(link, "api/transactions/").await.len() as i64;
    h.wait_synced(link, pb::Resource::Transactions, Some(total))
        .await;
    // One pull: the first page of the listing was fetched once by data-service (plus once by
    // this test's own listing above).
    let first_pages = h
        .emulator
        .control()
        .requests()
        .iter()
        .filter(|r| {
            r.path == "/api/transactions/" && !r.query.as_deref().unwrap_or("").contains("page=")
        })
        .count();
    assert_eq!(
        first_pages, 2,
        "data-service pulled the listing more than once"
    );
    let events = h
        .data
        .list_webhook_events(pb::ListWebhookEventsRequest {
            link_id: link.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].deliveries, 10);
    assert_eq!(events[0].state, pb::WebhookState::Processed as i32);
    h.stop().await;
}

both_backends!(
    a_webhook_before_its_link_is_held_then_processed,
    webhook_before_link
);
async fn webhook_before_link(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let link = h.create_link("bnk100", &["ACCOUNTS", "TRANSACTIONS"]).await;
    for event in h.webhooks(link, 2).await {
        assert_eq!(h.ingest(&event).await, pb::IngestOutcome::Accepted);
    }
    let held = h
        .data
        .list_webhook_events(pb::ListWebhookEventsRequest {
            link_id: link.to_string(),
            states: vec![pb::WebhookState::Held as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(held.len(), 2, "both webhooks wait for their link");
    assert_eq!(
        h.belvo_gets("/api/transactions/"),
        0,
        "nothing is pulled for an unknown link"
    );

    assert_eq!(h.register(link, &["ACCOUNTS", "TRANSACTIONS"]).await, 2);
    let total = h.belvo_ids(link, "api/transactions/").await.len() as i64;
    h.wait_synced(link, pb::Resource::Transactions, Some(total))
        .await;
    h.wait_synced(link, pb::Resource::Accounts, None).await;
    h.stop().await;
}

both_backends!(
    unknown_types_and_codes_are_stored_and_acknowledged,
    unknown_webhooks
);
async fn unknown_webhooks(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let event = serde_json::json!({"webhook_id": "f00dfeedf00dfeedf00dfeedf00dfeed", "webhook_type": "HOLOGRAMS",
        "webhook_code": "new_holograms_available", "link_id": "30cb4806-6e00-48a4-91c9-ca55968576c8",
        "process_type": "recurrent_update", "external_id": null, "data": {"new_holograms": 3}});
    assert_eq!(h.ingest(&event).await, pb::IngestOutcome::Accepted);
    let stored = h
        .data
        .list_webhook_events(pb::ListWebhookEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, pb::WebhookState::Ignored as i32);
    assert_eq!(stored[0].webhook_type, "HOLOGRAMS");
    let body: serde_json::Value = serde_json::from_slice(&stored[0].body).unwrap();
    assert_eq!(body["data"]["new_holograms"], 3);

    // Not an envelope at all: INVALID_ARGUMENT naming the body, nothing stored.
    let err = h
        .data
        .ingest_webhook(pb::IngestWebhookRequest {
            region: crate::support::REGION.into(),
            body: b"<html>".to_vec(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("body"), "{}", err.message());
    h.stop().await;
}
