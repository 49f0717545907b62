//! Every Belvo call is on the service's `/metrics`: counted by endpoint, outcome, status and
//! Belvo's error code exactly as the emulator saw them, and each one's wait for the budget.

use belvo_emulator::{Fault, FaultSpec};
use connect_proto::data::v1 as pb;
use database::Backend;

use crate::support::{Harness, fast_sync};

/// The value of the sample whose name and labels contain every one of `parts`.
fn sample(metrics: &str, name: &str, parts: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && parts.iter().all(|p| l.contains(p)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_belvo_call_is_counted_timed_and_its_budget_wait_measured() {
    let Some(mut h) = Harness::start(Backend::Sqlite, fast_sync()).await else {
        return;
    };
    let link = h.create_link("bnk100", &["TRANSACTIONS"]).await;
    h.register(link, &["TRANSACTIONS"]).await;
    let total = h.belvo_ids(link, "api/transactions/").await.len() as i64;
    let event = h.webhooks(link, 1).await.remove(0);
    h.emulator.control().clear_requests();
    // One 503 with Belvo's error body, retried by the client.
    h.emulator.control().add_fault(FaultSpec {
        path: "/api/transactions/".into(),
        method: Some("GET".into()),
        fault: Fault::Status {
            status: 503,
            retry_after: None,
        },
        probability: None,
        count: Some(1),
        seed: None,
    });
    h.ingest(&event).await;
    h.wait_synced(link, pb::Resource::Transactions, Some(total))
        .await;

    let seen = h.emulator.control().requests();
    let admin = h.app.as_ref().unwrap().admin_addr();
    let metrics = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let list = r#"endpoint="/api/transactions/""#;
    let ok = seen
        .iter()
        .filter(|r| r.path == "/api/transactions/" && r.status == 200)
        .count();
    assert!(ok >= 3, "several pages: {ok}");
    assert_eq!(
        sample(
            &metrics,
            "belvo_requests_total",
            &[list, r#"outcome="ok""#, r#"status="""#]
        ),
        ok as f64,
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            "belvo_requests_total",
            &[
                list,
                r#"outcome="http""#,
                r#"status="503""#,
                r#"code="service_unavailable""#
            ]
        ),
        1.0
    );
    assert_eq!(
        sample(&metrics, "belvo_request_duration_seconds_count", &[list]),
        (ok + 1) as f64
    );
    // Every request data-service sent waited for the budget first (here: not at all).
    assert_eq!(
        sample(
            &metrics,
            "belvo_budget_wait_seconds_count",
            &[r#"region="mx""#]
        ),
        seen.len() as f64
    );
    h.stop().await;
}

/// The gauges an operator is paged on: failed resources, held webhooks, the queue by state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gauges_show_failed_resources_held_webhooks_and_the_queue() {
    let sync = data_service::config::SyncConfig {
        max_attempts: 1,
        ..fast_sync()
    };
    let Some(mut h) = Harness::start(Backend::Sqlite, sync).await else {
        return;
    };
    // Owners fail for good (one attempt); transactions sync.
    h.emulator.control().add_fault(FaultSpec {
        path: "/api/owners/".into(),
        method: Some("GET".into()),
        fault: Fault::Status {
            status: 500,
            retry_after: None,
        },
        probability: None,
        count: None,
        seed: None,
    });
    let fetch = ["TRANSACTIONS", "OWNERS"];
    let link = h.create_link("bnk100", &fetch).await;
    h.register(link, &fetch).await;
    for event in h.webhooks(link, 2).await {
        h.ingest(&event).await;
    }
    // A webhook for a link nobody registered: held.
    let stranger = h.create_link("bnk200", &["TRANSACTIONS"]).await;
    let held = h.webhooks(stranger, 1).await.remove(0);
    assert_eq!(h.ingest(&held).await, pb::IngestOutcome::Accepted);

    let admin = h.app.as_ref().unwrap().admin_addr();
    let expected = [
        "data_sync_resources_failed 1",
        "data_webhooks_held 1",
        "data_webhooks_unprocessed 0",
        r#"data_sync_jobs{state="pending"} 0"#,
        r#"data_sync_jobs{state="running"} 0"#,
        "data_sync_oldest_job_age_seconds 0",
        "database_up 1",
    ];
    let seen = crate::support::eventually(std::time::Duration::from_secs(30), || async move {
        let metrics = reqwest::get(format!("http://{admin}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        expected
            .iter()
            .all(|line| metrics.lines().any(|l| l == *line))
            .then_some(metrics)
    })
    .await;
    assert!(seen.is_some(), "the gauges never showed {expected:?}");
    // The failed resource's code, what an app may show (the text is for operators).
    let status = h
        .data
        .get_sync_status(pb::GetSyncStatusRequest {
            link_id: link.to_string(),
            owner: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    let owners = status
        .resources
        .iter()
        .find(|r| r.resource == pb::Resource::Owners as i32)
        .unwrap();
    // Belvo sends `unexpected_error` with its 500s.
    assert_eq!(owners.error_code, "belvo_unexpected_error");
    assert!(owners.last_error.contains("500"), "{}", owners.last_error);
    h.stop().await;
}
