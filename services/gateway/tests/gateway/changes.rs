//! `GET /v1/links/{id}/changes`: data-service's `ListChanges` for the user's link, a page at a
//! time, with the resources under their URL segments and Belvo's objects as the list routes
//! return them; another user's link, a bad cursor and an expired one.

use connect_proto::data::v1::{ChangeKind, Resource};
use serde_json::{Value, json};

use crate::harness::*;

/// Alice's link A with three changes: a transaction added, a recurring expense modified, and
/// a transaction removed.
async fn app_with_changes() -> TestApp {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    app.fakes.link.insert(LINK_B, "bob");
    let data = &app.fakes.data;
    data.add_change(
        LINK_A,
        ChangeKind::Added,
        Resource::Transactions,
        "tx-1",
        Some(r#"{"id":"tx-1","amount":12.5,"type":"OUTFLOW"}"#),
    );
    data.add_change(
        LINK_A,
        ChangeKind::Modified,
        Resource::RecurringExpenses,
        "re-1",
        Some(r#"{"id":"re-1","name":"Gym"}"#),
    );
    data.add_change(
        LINK_A,
        ChangeKind::Removed,
        Resource::Transactions,
        "tx-0",
        None,
    );
    app
}

fn changes_path(query: &str) -> String {
    format!("/v1/links/{LINK_A}/changes{query}")
}

#[tokio::test]
async fn changes_follow_the_cursor_with_belvos_objects() {
    let app = app_with_changes().await;
    let (status, first) = json(app.get(&changes_path("?page_size=2"), "alice").await).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["changes"],
        json!([
            {"kind": "added", "resource": "transactions", "id": "tx-1",
             "record": {"id": "tx-1", "amount": 12.5, "type": "OUTFLOW"}},
            {"kind": "modified", "resource": "recurring-expenses", "id": "re-1",
             "record": {"id": "re-1", "name": "Gym"}},
        ])
    );
    assert_eq!(first["has_more"], true);
    let cursor = first["next_cursor"].as_str().unwrap();
    assert!(!cursor.is_empty());

    let (status, second) = json(
        app.get(&changes_path(&format!("?cursor={cursor}")), "alice")
            .await,
    )
    .await;
    assert_eq!(status, 200, "{second}");
    // A removal has no record at all (not `null`).
    assert_eq!(
        second["changes"],
        json!([{"kind": "removed", "resource": "transactions", "id": "tx-0"}])
    );
    assert_eq!(second["has_more"], false);
    let last = second["next_cursor"].as_str().unwrap().to_owned();

    // Kept, the last cursor lists what changed since, and only that.
    let (_, nothing) = json(
        app.get(&changes_path(&format!("?cursor={last}")), "alice")
            .await,
    )
    .await;
    assert_eq!(nothing["changes"], json!([]));
    app.fakes.data.add_change(
        LINK_A,
        ChangeKind::Added,
        Resource::Accounts,
        "acc-9",
        Some(r#"{"id":"acc-9"}"#),
    );
    let (_, later) = json(
        app.get(&changes_path(&format!("?cursor={last}")), "alice")
            .await,
    )
    .await;
    assert_eq!(
        later["changes"],
        json!([{"kind": "added", "resource": "accounts", "id": "acc-9", "record": {"id": "acc-9"}}])
    );

    // data-service was asked for the user's link, as its owner, with the page and cursor.
    let seen = app.fakes.data.journal.of("ListChanges");
    assert_eq!(seen.len(), 4);
    for needle in [
        format!("link_id: \"{LINK_A}\""),
        "owner: \"alice\"".to_owned(),
        "page_size: 2".to_owned(),
        "cursor: \"\"".to_owned(),
    ] {
        assert!(seen[0].request.contains(&needle), "{needle} in {seen:?}");
    }
    assert!(
        seen[1]
            .request
            .contains(&format!("cursor: \"{cursor}\", page_size: 0")),
        "{:?}",
        seen[1]
    );
    // Counted under the route's template.
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"gateway_http_requests_total{method="GET",route="/v1/links/{id}/changes",status="200"} 4"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn resources_are_url_segments_comma_separated_or_repeated() {
    let app = app_with_changes().await;
    for query in [
        "?resources=recurring-expenses",
        "?resources=recurring-expenses,%20owners",
        "?resources=owners&resources=recurring-expenses",
    ] {
        let (status, body) = json(app.get(&changes_path(query), "alice").await).await;
        assert_eq!(status, 200, "{query}: {body}");
        let ids: Vec<&str> = body["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["re-1"], "{query}");
    }
    // In the order asked (prost's Debug names the proto's values).
    let (recurring, owners) = (Resource::RecurringExpenses, Resource::Owners);
    let seen: Vec<String> = app
        .fakes
        .data
        .journal
        .of("ListChanges")
        .into_iter()
        .map(|c| c.request)
        .collect();
    let expected = [
        format!("resources: [{recurring:?}]"),
        format!("resources: [{recurring:?}, {owners:?}]"),
        format!("resources: [{owners:?}, {recurring:?}]"),
    ];
    assert_eq!(seen.len(), expected.len());
    for (request, needle) in seen.iter().zip(&expected) {
        assert!(request.contains(needle.as_str()), "{needle} in {request}");
    }
}

#[tokio::test]
async fn another_users_link_is_404_and_data_service_is_not_asked() {
    let app = app_with_changes().await;
    let refused = error(app.get(&changes_path(""), "bob").await, 404).await;
    assert_eq!(refused["code"], "not_found");
    // Not a link id at all: the same 404.
    error(app.get("/v1/links/not-a-uuid/changes", "alice").await, 404).await;
    // No token: 401.
    let response = app
        .http
        .get(app.url(&changes_path("")))
        .send()
        .await
        .unwrap();
    error(response, 401).await;
    assert!(app.fakes.data.journal.of("ListChanges").is_empty());
    // Bob's own link is his to read.
    let (status, _) = json(app.get(&format!("/v1/links/{LINK_B}/changes"), "bob").await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_bad_cursor_is_a_400_naming_cursor() {
    let app = app_with_changes().await;
    let error = error(
        app.get(&changes_path("?cursor=not-a-cursor"), "alice")
            .await,
        400,
    )
    .await;
    assert_eq!(error["code"], "invalid_argument");
    assert_eq!(error["field"], "cursor");
    assert_eq!(error["message"], "not a cursor this service issued");
    assert_eq!(app.fakes.data.journal.of("ListChanges").len(), 1);
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_them_before_data_service_is_asked() {
    let app = app_with_changes().await;
    let cases = [
        ("?resources=transactions,nope", "resources"),
        ("?resources=TRANSACTIONS", "resources"),
        ("?page_size=0", "page_size"),
        ("?page_size=501", "page_size"),
        ("?page_size=ten", "page_size"),
        ("?limit=10", "limit"),
    ];
    for (query, field) in cases {
        let error = error(app.get(&changes_path(query), "alice").await, 400).await;
        assert_eq!(error["field"], field, "{query}");
        assert_eq!(error["code"], "invalid_argument", "{query}");
    }
    assert!(app.fakes.data.journal.of("ListChanges").is_empty());
}

/// data-service names `ListChangesRequest` fields; the client sees this route's parameters
/// (not the list routes' `limit` for `page_size`).
#[tokio::test]
async fn data_service_violations_name_the_routes_parameters() {
    let app = app_with_changes().await;
    for (field, public) in [
        ("page_size", "page_size"),
        ("resources[1]", "resources"),
        ("cursor", "cursor"),
    ] {
        *app.fakes.data.changes_fail_with.lock().unwrap() =
            Some(grpc_runtime::status::invalid_field(field, "is wrong"));
        let error = error(app.get(&changes_path(""), "alice").await, 400).await;
        assert_eq!(error["field"], public, "{field}");
        assert_eq!(error["message"], "is wrong");
    }
}

#[tokio::test]
async fn an_expired_cursor_is_a_409_saying_to_start_again() {
    let app = app_with_changes().await;
    let error = error(
        app.get(&changes_path("?cursor=expired"), "alice").await,
        409,
    )
    .await;
    assert_eq!(error["code"], "CURSOR_EXPIRED");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("empty cursor"), "{message}");
    assert_eq!(error.get("field"), None);
}

#[tokio::test]
async fn the_route_is_documented_with_its_parameters_errors_and_schema() {
    let app = TestApp::start().await;
    let (status, doc) = json(app.http.get(app.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let operation = &doc["paths"]["/v1/links/{id}/changes"]["get"];
    assert_eq!(operation["operationId"], "listChanges");
    assert!(operation.get("security").is_some());
    let params: Vec<&str> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["id", "cursor", "resources", "page_size"]);
    let responses = &operation["responses"];
    assert_eq!(
        responses["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ChangePage"
    );
    for status in ["400", "404", "409"] {
        assert_eq!(
            responses[status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error",
            "{status}"
        );
    }
    assert!(
        responses["409"]["description"]
            .as_str()
            .unwrap()
            .contains("CURSOR_EXPIRED")
    );
    let change = &doc["components"]["schemas"]["Change"];
    assert_eq!(
        change["properties"]["kind"]["enum"],
        json!(["added", "modified", "removed"])
    );
    let segments: Vec<Value> = resources::Resource::ALL
        .iter()
        .map(|r| json!(r.segment))
        .collect();
    assert_eq!(change["properties"]["resource"]["enum"], json!(segments));
}
