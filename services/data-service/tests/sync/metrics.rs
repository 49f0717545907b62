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
