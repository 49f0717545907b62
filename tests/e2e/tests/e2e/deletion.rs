//! Deleting a link through the gateway: link-service deletes it at Belvo asynchronously (Belvo
//! allows 5 synchronous deletions a minute), and Belvo's `link_deleted` webhook that follows
//! comes back through the gateway to data-service, which purges the link's data.

use std::time::{Duration, Instant};

use connect_proto::data::v1 as pb;
use connect_proto::data::v1::data_service_client::DataServiceClient;
use e2e_tests::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_links_data_is_purged_when_belvos_link_deleted_webhook_arrives() {
    let stack = Stack::start().await.unwrap();
    let token = stack.dev_token("dora").await.unwrap();
    let link_id = stack
        .linked_account(&token, "dora_bank_user")
        .await
        .unwrap();
    let mut data = DataServiceClient::connect(stack.data_url.clone())
        .await
        .unwrap();
    let transactions = |link_id: &str| pb::ListRecordsRequest {
        link_id: link_id.to_owned(),
        resource: pb::Resource::Transactions as i32,
        ..Default::default()
    };
    let stored = data.list_records(transactions(&link_id)).await.unwrap();
    assert!(!stored.into_inner().records.is_empty());

    let deleted = reqwest::Client::new()
        .delete(format!("{}/v1/links/{link_id}", stack.gateway_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());

    // Belvo's webhook for the asynchronous delete, processed, and nothing left of the data.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = data
            .list_webhook_events(pb::ListWebhookEventsRequest {
                link_id: link_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .events;
        let purged = events.iter().any(|e| {
            e.webhook_code == "link_deleted"
                && !e.request_id.is_empty()
                && e.state == pb::WebhookState::Processed as i32
        });
        if purged {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no processed link_deleted webhook: {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = data.list_records(transactions(&link_id)).await.unwrap();
    assert!(left.into_inner().records.is_empty());
    stack.stop().await;
}
