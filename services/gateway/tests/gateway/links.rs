//! Link routes and the widget token that creates links; ownership: another user's link is a
//! 404 on every link route, and the owner travels in every request to the services.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn registering_a_link_is_201_then_200() {
    let app = TestApp::start().await;
    let (status, body) = json(
        app.post(
            "/v1/links",
            "alice",
            json!({"link_id": LINK_A, "institution": "erebor_mx_retail"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["created"], true);
    assert_eq!(body["link"]["link_id"], LINK_A);
    assert_eq!(body["link"]["status"], "valid");
    let (status, body) = json(
        app.post("/v1/links", "alice", json!({"link_id": LINK_A}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], false);
    let seen = app.fakes.link.journal.of("RegisterLink");
    assert!(
        seen[0].request.contains("owner: \"alice\""),
        "{:?}",
        seen[0]
    );
}

#[tokio::test]
async fn registering_another_users_link_is_403_with_the_reason() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "bob");
    let error = error(
        app.post("/v1/links", "alice", json!({"link_id": LINK_A}))
            .await,
        403,
    )
    .await;
    assert_eq!(error["code"], "LINK_OWNED_BY_ANOTHER_OWNER");
}

#[tokio::test]
async fn listing_shows_only_the_users_links_with_paging() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    app.fakes.link.insert(LINK_B, "alice");
    app.fakes
        .link
        .insert("0b7b1b7e-1d55-4a4f-9a63-6f7c2c0e0a03", "bob");
    let (status, body) = json(app.get("/v1/links?limit=1", "alice").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["link_id"], LINK_A);
    assert_eq!(body["has_more"], true);
    let cursor = body["next_cursor"].as_str().unwrap();
    let (_, body) = json(
        app.get(&format!("/v1/links?limit=1&cursor={cursor}"), "alice")
            .await,
    )
    .await;
    assert_eq!(body["data"][0]["link_id"], LINK_B);
    assert_eq!(body["has_more"], false);
    assert_eq!(body["next_cursor"], serde_json::Value::Null);
    // Bad paging and filters name the parameter.
    assert_eq!(
        error(app.get("/v1/links?limit=0", "alice").await, 400).await["field"],
        "limit"
    );
    assert_eq!(
        error(app.get("/v1/links?status=gone", "alice").await, 400).await["field"],
        "status"
    );
    assert_eq!(
        error(app.get("/v1/links?colour=red", "alice").await, 400).await["field"],
        "colour"
    );
}

#[tokio::test]
async fn a_link_comes_with_its_sync_status() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let (status, body) = json(app.get(&format!("/v1/links/{LINK_A}"), "alice").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["link_id"], LINK_A);
    assert_eq!(body["institution"], "erebor_mx_retail");
    // The external id stays inside the platform: whoever learns it can attach links to it.
    assert!(body.get("external_id").is_none(), "{body}");
    assert_eq!(body["sync"]["resources"][0]["resource"], "accounts");
    assert_eq!(body["sync"]["resources"][0]["state"], "succeeded");
    assert_eq!(body["sync"]["resources"][0]["records"], 3);
    // Belvo's announced count is an unsigned webhook's hint, not a total to show.
    assert!(
        body["sync"]["resources"][0]
            .get("expected_records")
            .is_none()
    );
    let seen = app.fakes.data.journal.of("GetSyncStatus");
    assert!(
        seen[0].request.contains("owner: \"alice\""),
        "{:?}",
        seen[0]
    );
}

#[tokio::test]
async fn another_users_link_is_404_on_every_link_route() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "bob");
    let path = format!("/v1/links/{LINK_A}");
    let responses = vec![
        ("get", app.get(&path, "alice").await),
        ("delete", app.delete(&path, "alice").await),
        (
            "refresh",
            app.post(&format!("{path}/refresh"), "alice", json!({}))
                .await,
        ),
        (
            "accounts",
            app.get(&format!("{path}/accounts"), "alice").await,
        ),
        (
            "transactions",
            app.get(&format!("{path}/transactions"), "alice").await,
        ),
        ("events", app.get(&format!("{path}/events"), "alice").await),
    ];
    for (what, response) in responses {
        let error = error(response, 404).await;
        assert_eq!(error["code"], "not_found", "{what}");
        assert_eq!(error["message"], "not found", "{what}");
    }
    // Nothing was read from or changed in data-service, and bob's link is untouched.
    assert!(app.fakes.data.journal.calls().is_empty());
    assert_eq!(
        app.fakes.link.links.lock().unwrap()[LINK_A].status,
        connect_proto::link::v1::LinkStatus::Valid as i32
    );
    // A malformed id is a 404 too, without a call.
    let before = app.fakes.link.journal.calls().len();
    error(app.get("/v1/links/not-a-uuid", "alice").await, 404).await;
    assert_eq!(app.fakes.link.journal.calls().len(), before);
}

#[tokio::test]
async fn deleting_a_link() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let (status, body) = json(app.delete(&format!("/v1/links/{LINK_A}"), "alice").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "deleted");
    let seen = app.fakes.link.journal.of("DeleteLink");
    assert!(
        seen[0].request.contains("owner: \"alice\""),
        "{:?}",
        seen[0]
    );
}

#[tokio::test]
async fn erasing_the_user_is_202_with_its_progress() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    app.fakes.link.insert(LINK_B, "bob");
    error(app.get("/v1/me/erasure", "alice").await, 404).await;
    let (status, body) = json(app.delete("/v1/me", "alice").await).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["state"], "in_progress");
    assert_eq!(body["links"], 1);
    assert!(
        body.get("last_error").is_none(),
        "operators' text stays inside"
    );
    let seen = app.fakes.link.journal.of("EraseOwner");
    assert!(seen[0].request.contains("owner: \"alice\""), "{seen:?}");
    // Her link is gone for her; bob's is not.
    let (_, link) = json(app.get(&format!("/v1/links/{LINK_A}"), "alice").await).await;
    assert_eq!(link["status"], "deleted", "{link}");
    let (status, _) = json(app.get(&format!("/v1/links/{LINK_B}"), "bob").await).await;
    assert_eq!(status, 200);
    let (status, progress) = json(app.get("/v1/me/erasure", "alice").await).await;
    assert_eq!(status, 200);
    assert_eq!(progress["links"], 1);
    error(app.get("/v1/me/erasure", "bob").await, 404).await;
}

#[tokio::test]
async fn refresh_is_202_then_409_with_retry_after_in_the_cooldown() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "alice");
    let path = format!("/v1/links/{LINK_A}/refresh");
    let (status, body) = json(app.post(&path, "alice", json!({})).await).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["belvo_request_id"], "belvo-req-1");
    let response = app.post(&path, "alice", json!({})).await;
    assert_eq!(response.headers()["retry-after"], "540");
    let error = error(response, 409).await;
    assert_eq!(error["code"], "link_refreshed");
    assert_eq!(error["message"], "the link was refreshed recently");
}

/// Each refresh is a call to Belvo: a user gets `limits.refreshes` per window, over all their
/// links, and the next is refused before it reaches link-service.
#[tokio::test]
async fn refreshes_are_limited_per_user() {
    let app = TestApp::start_with(|c| c.limits.refreshes = 2).await;
    app.fakes.link.insert(LINK_A, "alice");
    app.fakes.link.insert(LINK_B, "alice");
    assert_eq!(refresh(&app, LINK_A, "alice").await.status(), 202);
    assert_eq!(refresh(&app, LINK_B, "alice").await.status(), 202);
    let response = refresh(&app, LINK_A, "alice").await;
    assert_rate_limited(response, 60).await;
    assert_eq!(app.fakes.link.journal.of("RefreshLink").len(), 2);
    // Another user has their own.
    let bobs = "0b7b1b7e-1d55-4a4f-9a63-6f7c2c0e0a0b";
    app.fakes.link.insert(bobs, "bob");
    assert_eq!(refresh(&app, bobs, "bob").await.status(), 202);
}

async fn refresh(app: &TestApp, link: &str, user: &str) -> reqwest::Response {
    app.post(&format!("/v1/links/{link}/refresh"), user, json!({}))
        .await
}

#[tokio::test]
async fn link_service_down_is_503() {
    let app = TestApp::start_with(|c| c.clients.link_service.url = dead_url()).await;
    let error = error(app.get("/v1/links", "alice").await, 503).await;
    assert_eq!(error["code"], "unavailable");
}

/// Brazil's OFDA consent: `identification_info` in Belvo's shape reaches token-service as the
/// widget's consent identification; an unknown document type is refused by the gateway, naming
/// the entry.
#[tokio::test]
async fn a_widget_token_carries_the_ofda_consent_identification() {
    let app = TestApp::start().await;
    let body = json!({
        "region": "br",
        "identification_info": [
            {"type": "CPF", "number": "76109277673", "name": "Ana Silva"},
            {"type": "CNPJ", "number": "60701190000104", "name": "Loja Ltda"}
        ]
    });
    let (status, token) = json(app.post("/v1/widget-token", "alice", body).await).await;
    assert_eq!(status, 200, "{token}");
    let seen = app.fakes.token.journal.of("CreateWidgetToken");
    let sent = &seen.last().unwrap().request;
    for expected in [
        "r#type: Cpf, number: \"76109277673\", name: \"Ana Silva\"",
        "r#type: Cnpj, number: \"60701190000104\", name: \"Loja Ltda\"",
    ] {
        assert!(sent.contains(expected), "{expected} in {sent}");
    }

    let calls = seen.len();
    let bad = json!({"identification_info": [{"type": "RG", "number": "1", "name": "x"}]});
    let error = error(app.post("/v1/widget-token", "alice", bad).await, 400).await;
    assert_eq!(error["field"], "identification_info[0].type");
    assert_eq!(app.fakes.token.journal.of("CreateWidgetToken").len(), calls);
}
