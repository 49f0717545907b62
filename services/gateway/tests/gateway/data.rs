//! Resource routes (Belvo's objects, paging, filters, one per entry of the resource table),
//! `GET /v1/resources`, and the Server-Sent Events stream.

use connect_proto::data::v1::{Resource as ProtoResource, SyncState};
use connect_proto::link::v1::LinkStatus;
use resources::Resource;
use serde_json::{Value, json};

use crate::fakes::snapshot;
use crate::harness::*;

/// The public query parameters of a resource's filters, from the table (the same rule the
/// gateway documents: `<date>_from`/`<date>_to`, `account_id`, the choices' names).
fn filter_names(resource: &Resource) -> Vec<String> {
    let f = &resource.filters;
    let mut names = Vec::new();
    if let Some(date) = f.date {
        names.extend([format!("{date}_from"), format!("{date}_to")]);
    }
    if f.account {
        names.push("account_id".to_owned());
    }
    names.extend(f.kind.map(|c| c.name.to_owned()));
    names.extend(f.status.map(|c| c.name.to_owned()));
    names
}

#[tokio::test]
async fn every_resource_returns_belvos_objects_through_list_records() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    for resource in Resource::ALL {
        let segment = resource.segment;
        app.fakes.data.add_record(
            LINK_A,
            resource.id,
            &json!({"id": format!("{segment}-1"), "kind": segment}).to_string(),
        );
    }
    for (i, resource) in Resource::ALL.iter().enumerate() {
        let segment = resource.segment;
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
        let seen = app.fakes.data.journal.of("ListRecords");
        assert_eq!(seen.len(), i + 1, "{segment}");
        let request = &seen[i].request;
        assert!(request.contains("owner: \"alice\""), "{segment}: {request}");
        assert!(
            request.contains(&format!("resource: {:?}", resource.id)),
            "{segment}: {request}"
        );
    }
    // The typed lists are not used any more.
    let calls = app.fakes.data.journal.calls();
    assert!(calls.iter().all(|c| c.method == "ListRecords"), "{calls:?}");
}

#[tokio::test]
async fn pages_follow_the_cursor() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    for i in 0..3 {
        app.fakes.data.add_record(
            LINK_A,
            ProtoResource::Transactions,
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
    let path = format!("/v1/links/{LINK_A}/accounts?category=CREDIT_CARD,SAVINGS_ACCOUNT");
    assert_eq!(app.get(&path, "alice").await.status(), 200);
    let seen = app.fakes.data.journal.of("ListRecords");
    for needle in [
        "resource: Transactions",
        "from: \"2024-01-01\", to: \"2024-01-31\"",
        "account_id: \"acc-1\"",
        "types: [\"INFLOW\"]",
        "statuses: [\"PENDING\", \"PROCESSED\"]",
    ] {
        assert!(
            seen[0].request.contains(needle),
            "{needle} in {}",
            seen[0].request
        );
    }
    for needle in [
        "resource: Accounts",
        "types: [\"CREDIT_CARD\", \"SAVINGS_ACCOUNT\"]",
        "date: None",
    ] {
        assert!(
            seen[1].request.contains(needle),
            "{needle} in {}",
            seen[1].request
        );
    }
    let cases = [
        ("owners?type=x", "type"),
        ("transactions?value_date_from=01/02/2024", "value_date_from"),
        ("invoices?limit=1000", "limit"),
        ("accounts?limit=abc", "limit"),
        ("accounts?nope=1", "nope"),
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
    assert_eq!(app.fakes.data.journal.calls().len(), 2);
}

/// Every filter some resource takes is refused, by name, on a resource that does not take
/// it, before data-service is asked.
#[tokio::test]
async fn a_filter_the_resource_does_not_take_is_a_400_naming_it() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let mut all: Vec<String> = Resource::ALL.iter().flat_map(filter_names).collect();
    all.sort();
    all.dedup();
    let mut refused = 0;
    for resource in Resource::ALL {
        let taken = filter_names(resource);
        for name in all.iter().filter(|n| !taken.contains(n)) {
            let value = if name.ends_with("_from") || name.ends_with("_to") {
                "2024-01-01"
            } else {
                "x"
            };
            let url = format!("/v1/links/{LINK_A}/{}?{name}={value}", resource.segment);
            let error = error(app.get(&url, "alice").await, 400).await;
            assert_eq!(error["field"], name.as_str(), "{url}");
            assert_eq!(error["code"], "invalid_argument", "{url}");
            refused += 1;
        }
    }
    assert!(refused > 50, "{refused}");
    assert!(app.fakes.data.journal.calls().is_empty());
}

#[tokio::test]
async fn a_reversed_date_range_is_a_400_naming_its_end() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let dated: Vec<&Resource> = Resource::ALL
        .iter()
        .filter(|r| r.filters.date.is_some())
        .collect();
    assert!(dated.len() >= 4);
    for resource in dated {
        let date = resource.filters.date.unwrap();
        let url = format!(
            "/v1/links/{LINK_A}/{}?{date}_from=2024-02-01&{date}_to=2024-01-31",
            resource.segment
        );
        let error = error(app.get(&url, "alice").await, 400).await;
        assert_eq!(error["field"], format!("{date}_to"), "{url}");
        // One day is a valid range.
        let url = format!(
            "/v1/links/{LINK_A}/{}?{date}_from=2024-02-01&{date}_to=2024-02-01",
            resource.segment
        );
        assert_eq!(app.get(&url, "alice").await.status(), 200, "{url}");
    }
}

/// data-service names `ListRecordsRequest` fields; the client sees its own parameters.
#[tokio::test]
async fn data_service_violations_name_the_resources_parameters() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let cases = [
        ("transactions", "date.to", "value_date_to"),
        ("tax-retentions", "date.from", "issued_from"),
        ("accounts", "types[0]", "category"),
        ("tax-returns", "types", "type"),
        ("invoices", "statuses[1]", "status"),
        ("owners", "page.page_size", "limit"),
    ];
    for (segment, field, public) in cases {
        *app.fakes.data.list_fails_with.lock().unwrap() =
            Some(grpc_runtime::status::invalid_field(field, "is wrong"));
        let error = error(
            app.get(&format!("/v1/links/{LINK_A}/{segment}"), "alice")
                .await,
            400,
        )
        .await;
        assert_eq!(error["field"], public, "{segment} {field}");
        assert_eq!(error["message"], "is wrong");
    }
}

#[tokio::test]
async fn every_table_resource_has_a_documented_route_with_its_filters() {
    let app = TestApp::start().await;
    let (status, doc) = json(app.http.get(app.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    for resource in Resource::ALL {
        let path = format!("/v1/links/{{id}}/{}", resource.segment);
        let operation = &doc["paths"][&path]["get"];
        assert_eq!(
            operation["operationId"],
            format!("list_{}", resource.segment.replace('-', "_")),
            "{path}"
        );
        assert_eq!(
            operation["summary"],
            format!(
                "The link's {} (Belvo objects), a page at a time",
                resource.segment
            )
        );
        assert!(operation.get("security").is_some(), "{path}");
        let params: Vec<&str> = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let mut expected = vec!["id".to_owned(), "limit".to_owned(), "cursor".to_owned()];
        expected.extend(filter_names(resource));
        assert_eq!(params, expected, "{path}");
        // Choices list their values.
        for choice in [resource.filters.kind, resource.filters.status]
            .into_iter()
            .flatten()
        {
            let param = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == choice.name)
                .unwrap();
            let description = param["description"].as_str().unwrap();
            for value in choice.values {
                assert!(description.contains(value), "{path} {description}");
            }
        }
    }
}

#[tokio::test]
async fn the_resource_list_is_the_table() {
    let app = TestApp::start().await;
    error(
        app.http.get(app.url("/v1/resources")).send().await.unwrap(),
        401,
    )
    .await;
    let (status, body) = json(app.get("/v1/resources", "alice").await).await;
    assert_eq!(status, 200, "{body}");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), Resource::ALL.len());
    for (entry, resource) in data.iter().zip(Resource::ALL) {
        assert_eq!(entry["resource"], resource.segment);
        assert_eq!(entry["belvo_name"], resource.name);
        assert_eq!(entry["product"], resource.product.as_str());
        let names: Vec<&str> = entry["filters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, filter_names(resource), "{}", resource.segment);
    }
    assert_eq!(
        data[1],
        json!({
            "resource": "transactions",
            "belvo_name": "TRANSACTIONS",
            "product": "banking",
            "filters": [
                {"name": "value_date_from", "kind": "date"},
                {"name": "value_date_to", "kind": "date"},
                {"name": "account_id", "kind": "account"},
                {"name": "type", "kind": "choice", "values": ["INFLOW", "OUTFLOW"]},
                {"name": "status", "kind": "choice", "values": ["PROCESSED", "PENDING", "UNCATEGORIZED"]}
            ]
        })
    );
    assert_eq!(data[0]["filters"][0]["name"], "category");
    assert_eq!(data[0]["filters"][0]["kind"], "choice");
    assert!(
        app.fakes.data.journal.calls().is_empty(),
        "no service is asked"
    );
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

    // A status change (a LINK webhook) is pushed as a new `link` event, without a poll.
    app.fakes.link.set_status(LINK_A, LinkStatus::Invalid);
    let (name, link) = events.next().await;
    assert_eq!(
        (name.as_str(), link["status"].as_str()),
        ("link", Some("invalid"))
    );
    app.fakes
        .data
        .push_sync(snapshot(LINK_A, SyncState::Failed, 40));
    let (name, sync) = events.next().await;
    assert_eq!(
        (name.as_str(), sync["resources"][0]["state"].as_str()),
        ("sync", Some("failed"))
    );

    for method in [
        app.fakes.data.journal.of("WatchSyncStatus"),
        app.fakes.link.journal.of("WatchLink"),
    ] {
        assert!(
            method[0].request.contains("owner: \"alice\""),
            "{:?}",
            method[0]
        );
    }
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

/// A stream lives as long as its token: at `exp` the gateway ends it (the web app then signs
/// in again or reconnects with a fresh token).
#[tokio::test]
async fn an_event_stream_ends_when_its_token_expires() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let short = sign_hs256(
        &json!({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 2}),
        SECRET,
    );
    let response = app
        .http
        .get(app.url(&format!("/v1/links/{LINK_A}/events")))
        .bearer_auth(short)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut events = Events {
        response,
        buffer: String::new(),
    };
    assert_eq!(events.next().await.0, "link");
    assert_eq!(events.next().await.0, "sync");
    // Keep-alive comments may come first; then the end.
    within("the stream to end at the token's expiry", async {
        while let Some(_chunk) = events.response.chunk().await.unwrap() {}
    })
    .await;
}

/// One user holds at most `limits.event_streams` open; a closed one frees its place.
#[tokio::test]
async fn event_streams_are_capped_per_user() {
    let app = TestApp::start_with(|c| {
        c.limits.event_streams = 2;
        // Writes often, so that a stream the client closed is noticed soon.
        c.server.sse_keep_alive = std::time::Duration::from_millis(100);
    })
    .await;
    app.fakes.link.insert(LINK_A, "alice");
    app.fakes.link.insert(LINK_B, "bob");
    let first = open(&app, LINK_A, "alice").await;
    let second = open(&app, LINK_A, "alice").await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_rate_limited(open(&app, LINK_A, "alice").await, 10).await;
    assert_eq!(open(&app, LINK_B, "bob").await.status(), 200);
    drop(first);
    // The server notices the closed stream when it next writes or polls it.
    within("a place to free up", async {
        loop {
            let response = open(&app, LINK_A, "alice").await;
            if response.status() == 200 {
                return;
            }
            assert_eq!(response.status(), 429);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
}

async fn open(app: &TestApp, link: &str, user: &str) -> reqwest::Response {
    app.get(&format!("/v1/links/{link}/events"), user).await
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
