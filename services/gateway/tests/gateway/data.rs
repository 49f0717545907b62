//! Resource routes (Belvo's objects, paging, filters) and the Server-Sent Events stream.

use connect_proto::data::v1::{Resource, SyncState};
use connect_proto::link::v1::LinkStatus;
use serde_json::{Value, json};

use crate::fakes::snapshot;
use crate::harness::*;

const ALL: &[(&str, Resource, &str)] = &[
    ("accounts", Resource::Accounts, "ListAccounts"),
    ("transactions", Resource::Transactions, "ListTransactions"),
    ("balances", Resource::Balances, "ListBalances"),
    ("owners", Resource::Owners, "ListOwners"),
    ("incomes", Resource::Incomes, "ListIncomes"),
    (
        "recurring-expenses",
        Resource::RecurringExpenses,
        "ListRecurringExpenses",
    ),
    ("risk-insights", Resource::RiskInsights, "ListRiskInsights"),
    (
        "employment-records",
        Resource::EmploymentRecords,
        "ListEmploymentRecords",
    ),
    ("invoices", Resource::Invoices, "ListInvoices"),
    ("tax-returns", Resource::TaxReturns, "ListTaxReturns"),
    ("tax-status", Resource::TaxStatus, "ListTaxStatus"),
    (
        "tax-compliance-status",
        Resource::TaxComplianceStatus,
        "ListTaxComplianceStatus",
    ),
    (
        "tax-retentions",
        Resource::TaxRetentions,
        "ListTaxRetentions",
    ),
];

#[tokio::test]
async fn every_resource_returns_belvos_objects() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    for (segment, resource, _) in ALL {
        app.fakes.data.add_record(
            LINK_A,
            *resource,
            &json!({"id": format!("{segment}-1"), "kind": segment}).to_string(),
        );
    }
    for (segment, _, method) in ALL {
        let (status, body) = json(
            app.get(&format!("/v1/links/{LINK_A}/{segment}"), "alice")
                .await,
        )
        .await;
        assert_eq!(status, 200, "{segment}: {body}");
        assert_eq!(
            body["data"],
            json!([{"id": format!("{segment}-1"), "kind": segment}]),
            "{segment}"
        );
        assert_eq!(body["has_more"], false);
        let seen = app.fakes.data.journal.of(method);
        assert_eq!(seen.len(), 1, "{segment}");
        assert!(
            seen[0].request.contains("owner: \"alice\""),
            "{segment}: {:?}",
            seen[0]
        );
    }
}

#[tokio::test]
async fn pages_follow_the_cursor() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    for i in 0..3 {
        app.fakes.data.add_record(
            LINK_A,
            Resource::Transactions,
            &json!({"id": i}).to_string(),
        );
    }
    let path = format!("/v1/links/{LINK_A}/transactions");
    let (_, first) = json(app.get(&format!("{path}?limit=2"), "alice").await).await;
    assert_eq!(first["data"], json!([{"id": 0}, {"id": 1}]));
    assert_eq!(first["has_more"], true);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = json(
        app.get(&format!("{path}?limit=2&cursor={cursor}"), "alice")
            .await,
    )
    .await;
    assert_eq!(second["data"], json!([{"id": 2}]));
    assert_eq!(second["next_cursor"], Value::Null);
}

#[tokio::test]
async fn filters_reach_data_service_and_bad_ones_name_the_parameter() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let path = format!(
        "/v1/links/{LINK_A}/transactions?value_date_from=2024-01-01&value_date_to=2024-01-31&type=INFLOW&status=PENDING,PROCESSED&account_id=acc-1"
    );
    assert_eq!(app.get(&path, "alice").await.status(), 200);
    let seen = &app.fakes.data.journal.of("ListTransactions")[0].request;
    for needle in [
        "2024-01-01",
        "2024-01-31",
        "\"INFLOW\"",
        "\"PENDING\", \"PROCESSED\"",
        "acc-1",
    ] {
        assert!(seen.contains(needle), "{needle} in {seen}");
    }
    let cases = [
        ("owners?type=x", "type"),
        ("transactions?value_date_from=01/02/2024", "value_date_from"),
        ("invoices?limit=1000", "limit"),
        ("accounts?limit=abc", "limit"),
    ];
    for (query, field) in cases {
        let error = error(
            app.get(&format!("/v1/links/{LINK_A}/{query}"), "alice")
                .await,
            400,
        )
        .await;
        assert_eq!(error["field"], field, "{query}");
    }
    assert_eq!(app.fakes.data.journal.calls().len(), 1);
}

#[tokio::test]
async fn data_service_down_is_503_on_reads() {
    let fakes_down = dead_url();
    let app = TestApp::start_with(|c| c.clients.data_service.url = fakes_down).await;
    app.fakes.link.insert(LINK_A, "alice");
    let error = error(
        app.get(&format!("/v1/links/{LINK_A}/accounts"), "alice")
            .await,
        503,
    )
    .await;
    assert_eq!(error["code"], "unavailable");
}

/// Reads Server-Sent Events from a streaming response.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if event.is_empty() {
                    continue; // keep-alive comment
                }
                return (event, serde_json::from_str(&data).unwrap());
            }
            let chunk = within("an event", self.response.chunk())
                .await
                .unwrap()
                .expect("the stream ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[tokio::test]
async fn the_event_stream_delivers_sync_progress_and_link_status() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let response = app
        .get(&format!("/v1/links/{LINK_A}/events"), "alice")
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut events = Events {
        response,
        buffer: String::new(),
    };
    let (name, link) = events.next().await;
    assert_eq!(
        (name.as_str(), link["status"].as_str()),
        ("link", Some("valid"))
    );
    let (name, sync) = events.next().await;
    assert_eq!(name, "sync");
    assert_eq!(sync["resources"][0]["state"], "pending");

    // The gateway is subscribed now (it forwarded the snapshot): push progress.
    app.fakes
        .data
        .push_sync(snapshot(LINK_A, SyncState::Running, 40));
    let (name, sync) = events.next().await;
    assert_eq!(name, "sync");
    assert_eq!(sync["resources"][0]["state"], "running");
    assert_eq!(sync["resources"][0]["records"], 40);

    // A status change (a LINK webhook) shows up as a new `link` event.
    app.fakes.link.set_status(LINK_A, LinkStatus::Invalid);
    app.fakes
        .data
        .push_sync(snapshot(LINK_A, SyncState::Failed, 40));
    let (name, sync) = events.next().await;
    assert_eq!(
        (name.as_str(), sync["resources"][0]["state"].as_str()),
        ("sync", Some("failed"))
    );
    let (name, link) = events.next().await;
    assert_eq!(
        (name.as_str(), link["status"].as_str()),
        ("link", Some("invalid"))
    );

    let seen = app.fakes.data.journal.of("WatchSyncStatus");
    assert!(
        seen[0].request.contains("owner: \"alice\""),
        "{:?}",
        seen[0]
    );
}

#[tokio::test]
async fn event_streams_end_when_the_gateway_shuts_down() {
    let mut app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let response = app
        .get(&format!("/v1/links/{LINK_A}/events"), "alice")
        .await;
    let mut events = Events {
        response,
        buffer: String::new(),
    };
    assert_eq!(events.next().await.0, "link");
    assert_eq!(events.next().await.0, "sync");
    // The stream closes and the server returns: the drain is not held up by the stream (a
    // hang fails at the deadline).
    let drained = async { while let Ok(Some(_rest)) = events.response.chunk().await {} };
    let (stopped, ()) = within("the gateway to stop", async {
        tokio::join!(app.stop_and_wait(), drained)
    })
    .await;
    stopped.unwrap();
}

/// Paging through a link's data asks link-service once, not before every page; another
/// user is still asked about (and refused); a link deleted through the gateway is asked
/// about again.
#[tokio::test]
async fn ownership_is_confirmed_once_for_a_run_of_reads_and_again_after_delete() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let path = format!("/v1/links/{LINK_A}/accounts");
    let get_links = || app.fakes.link.journal.of("GetLink").len();
    for _ in 0..3 {
        assert_eq!(app.get(&path, "alice").await.status(), 200);
    }
    assert_eq!(get_links(), 1);
    error(app.get(&path, "bob").await, 404).await;
    assert_eq!(get_links(), 2);

    let deleted = app.delete(&format!("/v1/links/{LINK_A}"), "alice").await;
    assert_eq!(deleted.status(), 200);
    app.fakes.link.links.lock().unwrap().remove(LINK_A);
    error(app.get(&path, "alice").await, 404).await;
    assert_eq!(get_links(), 3);
}
