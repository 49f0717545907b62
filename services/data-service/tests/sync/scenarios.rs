//! The scenarios, each on both backends.

use connect_proto::data::v1 as pb;
use database::Backend;

use std::sync::Arc;
use std::time::Duration;

use crate::both_backends;
use crate::support::{Harness, fast_sync, ingest};
use data_service::config::SyncConfig;

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
    a_burst_of_webhooks_for_one_link_is_processed_and_coalesced,
    burst
);
/// Fifty distinct webhooks for one link and resource at once (no worker claims the job in
/// between): every one is stored and marked processed, and they leave one pending job.
async fn burst(backend: Backend) {
    let sync = SyncConfig {
        workers: 0,
        ..fast_sync()
    };
    let Some(mut h) = Harness::start(backend, sync).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let event = h.webhooks(link, 1).await.remove(0);
    let sends = (0..50).map(|n| {
        let mut event = event.clone();
        event["webhook_id"] = format!("burst-{n}").into();
        ingest(h.data.clone(), event)
    });
    let outcomes = futures::future::join_all(sends).await;
    assert!(
        outcomes.iter().all(|o| *o == pb::IngestOutcome::Accepted),
        "{outcomes:?}"
    );
    let events = h
        .data
        .list_webhook_events(pb::ListWebhookEventsRequest {
            link_id: link.to_string(),
            page: Some(pb::PageRequest {
                page_size: 100,
                page_token: String::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let burst: Vec<_> = events
        .iter()
        .filter(|e| e.webhook_id.starts_with("burst-"))
        .collect();
    assert_eq!(burst.len(), 50);
    assert!(
        burst
            .iter()
            .all(|e| e.state == pb::WebhookState::Processed as i32),
        "{burst:?}"
    );
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let g = store.gauges(data_service::store::now_ms()).await.unwrap();
    assert_eq!(g.pending + g.running, 1, "one job for the whole burst");
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
    let stored = h.webhook_events().await;
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

/// Everything a link's webhooks announce, synced; returns the transactions' ids at Belvo.
pub(crate) async fn sync_link(
    h: &mut Harness,
    username: &str,
    fetch: &[&str],
) -> (uuid::Uuid, std::collections::BTreeSet<String>) {
    let link = h.create_link(username, fetch).await;
    h.register(link, fetch).await;
    for event in h.webhooks(link, fetch.len()).await {
        h.ingest(&event).await;
    }
    let ids = h.belvo_ids(link, "api/transactions/").await;
    h.wait_synced(link, pb::Resource::Transactions, Some(ids.len() as i64))
        .await;
    (link, ids)
}

fn stored_ids(records: &[pb::Record]) -> std::collections::BTreeSet<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

both_backends!(webhooks_out_of_order_still_end_complete, out_of_order);
async fn out_of_order(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let historical = h.webhooks(link, 1).await.remove(0);
    h.emulator
        .control()
        .add_objects(
            link,
            "transactions",
            vec![serde_json::json!({"description": "LATE COFFEE"})],
        )
        .unwrap();
    let newer = h
        .trigger(link, "TRANSACTIONS", "new_transactions_available")
        .await;
    // The recurrent update arrives before the historical one it follows.
    h.ingest(&newer).await;
    h.ingest(&historical).await;
    let expected = h.belvo_ids(link, "api/transactions/").await;
    h.wait_synced(
        link,
        pb::Resource::Transactions,
        Some(expected.len() as i64),
    )
    .await;
    assert_eq!(stored_ids(&h.stored_transactions(link).await), expected);
    h.stop().await;
}

both_backends!(
    deleted_and_modified_transactions_are_swept_and_updated,
    deleted_and_modified
);
async fn deleted_and_modified(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let (link, before) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    let mut ids = before.iter();
    let (gone_a, gone_b, changed) = (
        ids.next().unwrap(),
        ids.next().unwrap(),
        ids.next().unwrap(),
    );
    let control = h.emulator.control();
    control
        .delete_object(link, "transactions", gone_a.parse().unwrap())
        .unwrap();
    control
        .delete_object(link, "transactions", gone_b.parse().unwrap())
        .unwrap();
    let mut patch = serde_json::Map::new();
    patch.insert("amount".into(), serde_json::json!(4242.42));
    patch.insert("status".into(), serde_json::json!("PENDING"));
    control
        .modify_object(link, "transactions", changed.parse().unwrap(), patch)
        .unwrap();
    for code in ["transactions_deleted", "transactions_updated"] {
        let event = h.trigger(link, "TRANSACTIONS", code).await;
        assert_eq!(h.ingest(&event).await, pb::IngestOutcome::Accepted);
    }
    let expected = h.belvo_ids(link, "api/transactions/").await;
    assert_eq!(expected.len(), before.len() - 2);
    h.wait_synced(
        link,
        pb::Resource::Transactions,
        Some(expected.len() as i64),
    )
    .await;
    let stored = h.stored_transactions(link).await;
    assert_eq!(stored_ids(&stored), expected, "deleted rows swept");
    let modified = stored.iter().find(|r| &r.id == changed).unwrap();
    assert_eq!(
        (modified.amount.as_str(), modified.status.as_str()),
        ("4242.42", "PENDING")
    );
    h.stop().await;
}

both_backends!(new_transactions_are_pulled_incrementally, incremental);
async fn incremental(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let (link, before) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    // Each incremental pull asks from the newest stored `created_at` (`gte`, to the
    // millisecond): it repeats the rows of that millisecond, never misses one. The emulator
    // creates a link's history in one instant, so the first one repeats all of it; the second
    // repeats only the two rows added before it.
    let mut stored_count = before.len();
    for (round, names) in [["NEW A", "NEW B"], ["NEW C", "NEW D"]].iter().enumerate() {
        let added = h
            .emulator
            .control()
            .add_objects(
                link,
                "transactions",
                names
                    .iter()
                    .map(|n| serde_json::json!({"description": n}))
                    .collect(),
            )
            .unwrap();
        h.emulator.control().clear_requests();
        let event = h
            .trigger(link, "TRANSACTIONS", "new_transactions_available")
            .await;
        h.ingest(&event).await;
        stored_count += added.len();
        h.wait_synced(link, pb::Resource::Transactions, Some(stored_count as i64))
            .await;
        let stored = stored_ids(&h.stored_transactions(link).await);
        assert_eq!(stored.len(), stored_count);
        for a in &added {
            assert!(stored.contains(a["id"].as_str().unwrap()));
        }
        let requests = h.emulator.control().requests();
        let pulls: Vec<_> = requests
            .iter()
            .filter(|r| r.path == "/api/transactions/")
            .collect();
        assert!(
            pulls.iter().all(|p| p
                .query
                .as_deref()
                .unwrap_or("")
                .contains("created_at__gte=")),
            "{pulls:?}"
        );
        if round == 1 {
            // Four rows from the watermark: one page of 50, not the link's 124 again.
            assert_eq!(pulls.len(), 1, "{pulls:?}");
        }
    }
    h.stop().await;
}

both_backends!(link_token_required_goes_to_link_service, link_events);
async fn link_events(backend: Backend) {
    let fake = crate::fake_link_service::FakeLinkService::default();
    let url = fake.start().await;
    let client = grpc_runtime::client::ClientConfig::new(url);
    let Some(mut h) = Harness::start_with(backend, fast_sync(), Some(client)).await else {
        return;
    };
    let link = h.create_link("bnk100", &["ACCOUNTS"]).await;
    h.register(link, &["ACCOUNTS"]).await;
    let event = h.trigger(link, "LINK", "token_required").await;
    assert_eq!(h.ingest(&event).await, pb::IngestOutcome::Accepted);
    let forwarded = fake.events.lock().unwrap().clone();
    assert_eq!(forwarded.len(), 1);
    assert_eq!(forwarded[0].link_id, link.to_string());
    assert_eq!(
        forwarded[0].code,
        connect_proto::link::v1::LinkEventCode::TokenRequired as i32
    );
    assert_eq!(forwarded[0].error_code, "token_required");
    assert_eq!(
        forwarded[0].webhook_id,
        event["webhook_id"].as_str().unwrap()
    );
    h.stop().await;
}

both_backends!(
    a_webhook_waiting_on_link_service_does_not_hold_up_the_others,
    held_link_service
);
async fn held_link_service(backend: Backend) {
    let hold = Arc::new(tokio::sync::Semaphore::new(0));
    let fake = crate::fake_link_service::FakeLinkService {
        hold_events: Some(Arc::clone(&hold)),
        ..Default::default()
    };
    let url = fake.start().await;
    let client = grpc_runtime::client::ClientConfig::new(url);
    let Some(mut h) = Harness::start_with(backend, fast_sync(), Some(client)).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let data_webhook = h.webhooks(link, 1).await.remove(0);
    let link_event = h.trigger(link, "LINK", "token_required").await;
    let waiting = tokio::spawn(ingest(h.data.clone(), link_event));
    let events = Arc::clone(&fake.events);
    crate::support::eventually(Duration::from_secs(10), move || {
        let arrived = !events.lock().unwrap().is_empty();
        async move { arrived.then_some(()) }
    })
    .await
    .expect("link-service got the LINK event");
    // link-service holds the LINK event; a data webhook behind it is still acted on.
    let outcome = tokio::time::timeout(Duration::from_secs(10), h.ingest(&data_webhook))
        .await
        .expect("the data webhook waited for the held LINK event");
    assert_eq!(outcome, pb::IngestOutcome::Accepted);
    assert!(!waiting.is_finished());
    hold.add_permits(1);
    assert_eq!(waiting.await.unwrap(), pb::IngestOutcome::Accepted);
    h.stop().await;
}

both_backends!(purge_and_link_deleted_remove_a_links_data, purge);
async fn purge(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let (first, _) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    let (second, second_ids) = sync_link(&mut h, "bnk200", &["TRANSACTIONS"]).await;
    let purged = h
        .data
        .purge_link(pb::PurgeLinkRequest {
            link_id: first.to_string(),
            erase: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(purged.records_deleted > 0);
    assert!(h.stored_transactions(first).await.is_empty());
    assert_eq!(
        stored_ids(&h.stored_transactions(second).await),
        second_ids,
        "other links untouched"
    );

    // A `link_deleted` for a link Belvo still has (a forged or mistaken webhook: they carry no
    // signature) purges nothing; once Belvo deleted it, the next one does.
    let forged = h.trigger(second, "LINK", "link_deleted").await;
    let deleted = h.trigger(second, "LINK", "link_deleted").await;
    h.ingest(&forged).await;
    assert_eq!(
        stored_ids(&h.stored_transactions(second).await),
        second_ids,
        "kept while Belvo has the link"
    );
    h.belvo.links().delete(second).await.unwrap();
    h.ingest(&deleted).await;
    assert!(h.stored_transactions(second).await.is_empty());
    let states: Vec<(String, i32)> = h
        .webhook_events()
        .await
        .into_iter()
        .filter(|e| e.webhook_type == "LINK")
        .map(|e| (e.webhook_id, e.state))
        .collect();
    let state_of = |event: &serde_json::Value| {
        states
            .iter()
            .find(|(id, _)| event["webhook_id"] == id.as_str())
            .map(|(_, state)| *state)
    };
    assert_eq!(state_of(&forged), Some(pb::WebhookState::Ignored as i32));
    assert_eq!(state_of(&deleted), Some(pb::WebhookState::Processed as i32));
    h.stop().await;
}

both_backends!(
    keyset_pages_neither_skip_nor_repeat_while_rows_arrive,
    keyset_pages
);
async fn keyset_pages(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let (link, before) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut inserted = 0;
    loop {
        let page = h
            .data
            .list_transactions(pb::ListTransactionsRequest {
                link_id: link.to_string(),
                page: Some(pb::PageRequest {
                    page_size: 7,
                    page_token: token.clone(),
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.records.iter().map(|r| r.id.clone()));
        // Between pages, rows arrive both newer and older than the cursor.
        for day in ["2099-01-01", "1999-01-01"] {
            inserted += 1;
            let id = format!("inserted-{inserted}");
            let body = serde_json::json!({"id": id, "value_date": day}).to_string();
            let transactions =
                data_service::resource::Resource::of(pb::Resource::Transactions).unwrap();
            let indexed = data_service::resource::index(transactions, &body).unwrap();
            let mut tx = store.db().pool().begin().await.unwrap();
            store
                .upsert_records(
                    &mut tx,
                    &link.to_string(),
                    transactions,
                    1,
                    0,
                    &[data_service::store::NewRecord {
                        id: &id,
                        columns: indexed.columns,
                        body: &body,
                        content_hash: indexed.content_hash,
                    }],
                    None,
                )
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let original: Vec<&String> = seen.iter().filter(|id| before.contains(*id)).collect();
    assert_eq!(
        original.len(),
        before.len(),
        "every original row exactly once"
    );
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row repeated");
    h.stop().await;
}

both_backends!(bad_requests_name_their_field, bad_requests);
async fn bad_requests(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let (link, _) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    let cases = [
        (
            pb::ListTransactionsRequest {
                link_id: "not-a-uuid".into(),
                ..Default::default()
            },
            "link_id",
        ),
        (
            pb::ListTransactionsRequest {
                link_id: link.to_string(),
                page: Some(pb::PageRequest {
                    page_size: 501,
                    page_token: String::new(),
                }),
                ..Default::default()
            },
            "page.page_size",
        ),
        (
            pb::ListTransactionsRequest {
                link_id: link.to_string(),
                page: Some(pb::PageRequest {
                    page_size: 10,
                    page_token: "garbage".into(),
                }),
                ..Default::default()
            },
            "page.page_token",
        ),
        (
            pb::ListTransactionsRequest {
                link_id: link.to_string(),
                value_date: Some(pb::DateRange {
                    from: "2023-13-01".into(),
                    to: String::new(),
                }),
                ..Default::default()
            },
            "value_date.from",
        ),
    ];
    for (request, field) in cases {
        let err = h.data.list_transactions(request).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{field}");
        let details = tonic_types::StatusExt::get_error_details(&err);
        let violations = details
            .bad_request()
            .expect("BadRequest detail")
            .field_violations
            .clone();
        assert_eq!(violations[0].field, field);
    }
    // Another owner's link, and an unknown one, are not found.
    for (link_id, owner) in [
        (link.to_string(), "someone-else"),
        (uuid::Uuid::new_v4().to_string(), ""),
    ] {
        let err = h
            .data
            .list_transactions(pb::ListTransactionsRequest {
                link_id,
                owner: owner.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
    }
    h.stop().await;
}

both_backends!(
    list_records_serves_each_resource_with_its_own_filters,
    list_records
);
async fn list_records(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let fetch = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"];
    let (link, _) = sync_link(&mut h, "bnk100", &fetch).await;
    h.wait_synced(link, pb::Resource::Owners, None).await;
    let link_id = link.to_string();
    // The typed list and the generic one give the same page for the same filter.
    let all = h.stored_transactions(link).await;
    let day = all[all.len() / 2].date.clone();
    let range = Some(pb::DateRange {
        from: String::new(),
        to: day.clone(),
    });
    let page = Some(pb::PageRequest {
        page_size: 500,
        page_token: String::new(),
    });
    let typed = h
        .data
        .list_transactions(pb::ListTransactionsRequest {
            link_id: link_id.clone(),
            page: page.clone(),
            value_date: range.clone(),
            types: vec!["OUTFLOW".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let generic = h
        .data
        .list_records(pb::ListRecordsRequest {
            link_id: link_id.clone(),
            resource: pb::Resource::Transactions as i32,
            page,
            date: range,
            types: vec!["OUTFLOW".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!generic.records.is_empty());
    assert!(generic.records.len() < all.len(), "the filter filtered");
    assert!(
        generic
            .records
            .iter()
            .all(|r| r.r#type == "OUTFLOW" && r.date <= day)
    );
    assert_eq!(stored_ids(&typed.records), stored_ids(&generic.records));
    let owners = h
        .data
        .list_records(pb::ListRecordsRequest {
            link_id: link_id.clone(),
            resource: pb::Resource::Owners as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!owners.records.is_empty());
    assert!(
        owners
            .records
            .iter()
            .all(|r| r.resource == pb::Resource::Owners as i32)
    );

    // A filter the resource does not take, no resource, and a reversed range: each named.
    let refused = [
        (
            pb::Resource::Owners,
            "account_id",
            pb::ListRecordsRequest {
                account_id: "a".into(),
                ..Default::default()
            },
        ),
        (
            pb::Resource::Accounts,
            "statuses",
            pb::ListRecordsRequest {
                statuses: vec!["PENDING".into()],
                ..Default::default()
            },
        ),
        (
            pb::Resource::Owners,
            "date",
            pb::ListRecordsRequest {
                date: Some(pb::DateRange::default()),
                ..Default::default()
            },
        ),
        (
            pb::Resource::Unspecified,
            "resource",
            pb::ListRecordsRequest::default(),
        ),
        (
            pb::Resource::Transactions,
            "date.to",
            pb::ListRecordsRequest {
                date: Some(pb::DateRange {
                    from: "2024-02-01".into(),
                    to: "2024-01-01".into(),
                }),
                ..Default::default()
            },
        ),
    ];
    for (resource, field, request) in refused {
        let err = h
            .data
            .list_records(pb::ListRecordsRequest {
                link_id: link_id.clone(),
                resource: resource as i32,
                ..request
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{field}");
        let details = tonic_types::StatusExt::get_error_details(&err);
        let violations = &details
            .bad_request()
            .expect("BadRequest detail")
            .field_violations;
        assert_eq!(violations[0].field, field);
    }
    h.stop().await;
}

both_backends!(
    every_sync_completes_while_belvo_fails_a_fifth_of_calls,
    flaky_belvo
);
async fn flaky_belvo(backend: Backend) {
    use belvo_emulator::{Fault, FaultSpec, Scale};
    let sync = data_service::config::SyncConfig {
        page_size: 20,
        ..fast_sync()
    };
    let Some(mut h) = Harness::start(backend, sync).await else {
        return;
    };
    h.emulator.control().set_default_scale(Scale {
        transactions: 600,
        invoices: 40,
    });
    let fetch = ["ACCOUNTS", "TRANSACTIONS", "OWNERS"];
    let mut links = Vec::new();
    for user in ["bnk100", "bnk200", "bnk300"] {
        let link = h.create_link(user, &fetch).await;
        h.register(link, &fetch).await;
        let expected = h.belvo_ids(link, "api/transactions/").await;
        links.push((link, expected, h.webhooks(link, fetch.len()).await));
    }
    // About one call in five fails, in every way Belvo and its firewall fail.
    let faults = [
        Fault::Status {
            status: 429,
            retry_after: None,
        },
        Fault::Status {
            status: 429,
            retry_after: Some(1),
        },
        Fault::Status {
            status: 500,
            retry_after: None,
        },
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        Fault::Status {
            status: 408,
            retry_after: None,
        },
        Fault::Firewall,
        Fault::Malformed,
        Fault::Truncated,
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let probability = if matches!(
            fault,
            Fault::Status {
                retry_after: Some(_),
                ..
            }
        ) {
            0.01
        } else {
            0.027
        };
        h.emulator.control().add_fault(FaultSpec {
            path: "/api/".into(),
            method: Some("GET".into()),
            fault,
            probability: Some(probability),
            count: None,
            seed: Some(7 + i as u64),
        });
    }
    for (_, _, events) in &links {
        for event in events {
            h.ingest(event).await;
        }
    }
    for (link, expected, _) in &links {
        h.wait_synced(
            *link,
            pb::Resource::Transactions,
            Some(expected.len() as i64),
        )
        .await;
        h.wait_synced(*link, pb::Resource::Accounts, None).await;
        h.wait_synced(*link, pb::Resource::Owners, None).await;
    }
    let requests = h.emulator.control().requests();
    let gets = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/api/"))
        .count();
    let fired = requests.iter().filter(|r| r.fault.is_some()).count();
    assert!(
        gets >= 90 && fired * 10 >= gets,
        "about a fifth of the calls failed ({fired} of {gets})"
    );
    h.emulator.control().clear_faults();
    for (link, expected, _) in &links {
        assert_eq!(&stored_ids(&h.stored_transactions(*link).await), expected);
    }
    h.stop().await;
}

both_backends!(
    a_worker_killed_between_pages_is_resumed_by_another,
    killed_worker
);
async fn killed_worker(backend: Backend) {
    use belvo_emulator::{Fault, FaultSpec, Scale};
    // No workers in the service: this test runs and kills them itself.
    let sync = data_service::config::SyncConfig {
        workers: 0,
        lease: Duration::from_millis(800),
        ..fast_sync()
    };
    let Some(mut h) = Harness::start(backend, sync).await else {
        return;
    };
    h.emulator.control().set_default_scale(Scale {
        transactions: 1500,
        invoices: 40,
    });
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let expected = h.belvo_ids(link, "api/transactions/").await;
    assert_eq!(expected.len(), 1500);
    let event = h.webhooks(link, 1).await.remove(0);
    h.ingest(&event).await;
    // Slow pages, so the kill lands mid-pull.
    h.emulator.control().add_fault(FaultSpec {
        path: "/api/transactions/".into(),
        method: Some("GET".into()),
        fault: Fault::Latency { ms: 40 },
        probability: None,
        count: None,
        seed: None,
    });
    h.emulator.control().clear_requests();

    let engine = h.app.as_ref().unwrap().engine().clone();
    let doomed = tokio::spawn(engine.clone().run_worker("doomed".into()));
    let data = h.data.clone();
    crate::support::eventually(Duration::from_secs(30), || {
        let mut data = data.clone();
        async move {
            let status = data
                .get_sync_status(pb::GetSyncStatusRequest {
                    link_id: link.to_string(),
                    owner: String::new(),
                })
                .await
                .ok()?
                .into_inner()
                .link?;
            let r = status
                .resources
                .iter()
                .find(|r| r.resource == pb::Resource::Transactions as i32)?;
            (r.records_this_pull >= 300).then_some(())
        }
    })
    .await
    .expect("the first worker stored some pages");
    doomed.abort();
    let _ = doomed.await;
    let pages_before = h
        .emulator
        .control()
        .requests()
        .iter()
        .filter(|r| r.path == "/api/transactions/")
        .count();

    // Another worker takes the job over once the dead one's lease expires, and resumes.
    let survivor = tokio::spawn(engine.clone().run_worker("survivor".into()));
    h.wait_synced(link, pb::Resource::Transactions, Some(1500))
        .await;
    survivor.abort();
    let stored = h.stored_transactions(link).await;
    assert_eq!(stored.len(), 1500, "no duplicates");
    assert_eq!(stored_ids(&stored), expected, "exactly Belvo's rows");
    let requests = h.emulator.control().requests();
    let pulls: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/api/transactions/")
        .collect();
    let first_page_fetches = pulls
        .iter()
        .filter(|r| !r.query.as_deref().unwrap_or("").contains("page="))
        .count();
    assert_eq!(
        first_page_fetches, 1,
        "resumed from the checkpoint, not restarted"
    );
    assert!(
        pulls.len() <= 30 + 2,
        "about one request per page ({} for 30 pages; {pages_before} before the kill)",
        pulls.len()
    );
    h.stop().await;
}

both_backends!(sync_status_is_streamed_until_complete, watch_status);
async fn watch_status(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let mut stream = h
        .data
        .watch_sync_status(pb::WatchSyncStatusRequest {
            link_id: String::new(),
            owner: crate::support::OWNER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    // The first message is the current snapshot: nothing announced yet.
    let first = stream.message().await.unwrap().unwrap().link.unwrap();
    assert_eq!(first.link_id, link.to_string());
    assert_eq!(first.resources[0].state, pb::SyncState::Waiting as i32);

    let event = h.webhooks(link, 1).await.remove(0);
    let total = h.belvo_ids(link, "api/transactions/").await.len() as i64;
    // Slow pages, so the pull is seen running (a watcher only sees the state at each change).
    h.emulator.control().add_fault(belvo_emulator::FaultSpec {
        path: "/api/transactions/".into(),
        method: Some("GET".into()),
        fault: belvo_emulator::Fault::Latency { ms: 150 },
        probability: None,
        count: None,
        seed: None,
    });
    h.ingest(&event).await;
    let mut states = Vec::new();
    loop {
        let snapshot = tokio::time::timeout(std::time::Duration::from_secs(30), stream.message())
            .await
            .expect("a change within the deadline")
            .unwrap()
            .unwrap()
            .link
            .unwrap();
        let r = &snapshot.resources[0];
        states.push(r.state);
        if r.state == pb::SyncState::Succeeded as i32 {
            assert_eq!(r.records, total);
            assert!(r.last_success_at.is_some());
            break;
        }
    }
    assert!(
        states.contains(&(pb::SyncState::Running as i32)),
        "progress was streamed: {states:?}"
    );
    h.stop().await;
}

both_backends!(resync_and_replay_pull_again_from_belvo, resync_and_replay);
async fn resync_and_replay(backend: Backend) {
    let Some(mut h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let (link, ids) = sync_link(&mut h, "bnk100", &["TRANSACTIONS"]).await;
    h.emulator.control().clear_requests();
    let scheduled = h
        .data
        .resync_link(pb::ResyncLinkRequest {
            link_id: link.to_string(),
            owner: String::new(),
            resources: vec![],
        })
        .await
        .unwrap()
        .into_inner()
        .scheduled;
    assert_eq!(scheduled, vec![pb::Resource::Transactions as i32]);
    crate::support::eventually(std::time::Duration::from_secs(30), || async {
        (h.belvo_gets("/api/transactions/") > 0).then_some(())
    })
    .await
    .expect("ResyncLink pulled from Belvo again");
    h.wait_synced(link, pb::Resource::Transactions, Some(ids.len() as i64))
        .await;

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
    h.emulator.control().clear_requests();
    let replayed = h
        .data
        .replay_webhook_event(pb::ReplayWebhookEventRequest {
            webhook_id: events[0].webhook_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!(replayed.state, pb::WebhookState::Processed as i32);
    crate::support::eventually(std::time::Duration::from_secs(30), || async {
        (h.belvo_gets("/api/transactions/") > 0).then_some(())
    })
    .await
    .expect("the replay pulled from Belvo again");
    let err = h
        .data
        .replay_webhook_event(pb::ReplayWebhookEventRequest {
            webhook_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    h.stop().await;
}

both_backends!(the_watchdog_reconciles_overdue_recurrent_links, watchdog);
async fn watchdog(backend: Backend) {
    use std::time::Duration;
    // Every recurrent link is overdue at once: no margin, and a watchdog that looks often.
    let sync = data_service::config::SyncConfig {
        freshness_margin: Duration::ZERO,
        watchdog_interval: Duration::from_millis(100),
        ..fast_sync()
    };
    let Some(mut h) = Harness::start(backend, sync).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    // Registered with a refresh rate whose expected update "did not come": the link's
    // registration is backdated past it.
    h.register(link, &["TRANSACTIONS"]).await;
    let store = h.app.as_ref().unwrap().engine().store.clone();
    let row = store.link(&link.to_string()).await.unwrap().unwrap();
    sqlx::query(
        "UPDATE links SET registered_at = $1, refresh_due_at = $1 + refresh_ms WHERE link_id = $2",
    )
    .bind(row.registered_at - 8 * 24 * 3_600_000)
    .bind(link.to_string())
    .execute(store.db().pool())
    .await
    .unwrap();
    let total = h.belvo_ids(link, "api/transactions/").await.len() as i64;
    // No webhook is ingested: the watchdog alone brings the data.
    h.wait_synced(link, pb::Resource::Transactions, Some(total))
        .await;
    let reconciled = store
        .link(&link.to_string())
        .await
        .unwrap()
        .unwrap()
        .last_reconciled_at;
    assert!(reconciled.is_some());
    h.stop().await;
}

both_backends!(
    a_webhook_for_an_unknown_link_is_adopted_through_link_service,
    adoption
);
async fn adoption(backend: Backend) {
    let fake = crate::fake_link_service::FakeLinkService {
        adopt_as: Some("adopted-owner".into()),
        ..Default::default()
    };
    let url = fake.start().await;
    let client = grpc_runtime::client::ClientConfig::new(url);
    let Some(mut h) = Harness::start_with(backend, fast_sync(), Some(client)).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    // No NotifyLinkRegistered: the webhook is the first data-service hears of the link.
    let event = h.webhooks(link, 1).await.remove(0);
    assert_eq!(h.ingest(&event).await, pb::IngestOutcome::Accepted);
    let adoptions = fake.adoptions.lock().unwrap().clone();
    assert_eq!(adoptions.len(), 1);
    assert_eq!(
        adoptions[0].external_id, "ext-user-1",
        "attributed through Belvo's external_id"
    );
    let total = h.belvo_ids(link, "api/transactions/").await.len() as i64;
    h.wait_synced(link, pb::Resource::Transactions, Some(total))
        .await;
    let status = h
        .data
        .get_sync_status(pb::GetSyncStatusRequest {
            link_id: link.to_string(),
            owner: "adopted-owner".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(status.owner, "adopted-owner");
    h.stop().await;
}
