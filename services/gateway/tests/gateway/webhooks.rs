//! `POST /webhooks/belvo/{region}`: constant-time Authorization check, nothing stored from a
//! rejected request, body limit, per-IP limit on failed authentication, 503 when data-service
//! is down (so Belvo retries), and outcomes in the metrics.

use crate::harness::*;

const BODY: &str = r#"{"webhook_id":"wh-1","webhook_type":"TRANSACTIONS","webhook_code":"historical_update","link_id":"0b7b1b7e-1d55-4a4f-9a63-6f7c2c0e0a01","request_id":"r1","external_id":"ext","data":{}}"#;

#[tokio::test]
async fn an_authorized_webhook_is_persisted_before_the_200() {
    let app = TestApp::start().await;
    let (status, body) = json(app.webhook("mx", Some(WEBHOOK_AUTH), BODY).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["webhook_id"], "wh-1");
    let stored = app.fakes.data.webhooks.lock().unwrap().clone();
    assert_eq!(stored, vec![("mx".to_owned(), BODY.as_bytes().to_vec())]);
    // Belvo's redelivery is acknowledged as a duplicate.
    let (status, body) = json(app.webhook("mx", Some(WEBHOOK_AUTH), BODY).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(app.fakes.data.webhooks.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn wrong_or_missing_authorization_is_401_and_nothing_reaches_data_service() {
    let app = TestApp::start().await;
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some("Bearer local-webhook-toke"),
        Some("Bearer local-webhook-token-and-more"),
        Some("bearer local-webhook-token"),
    ] {
        let error = error(app.webhook("mx", auth, BODY).await, 401).await;
        assert_eq!(error["code"], "unauthenticated", "{auth:?}");
        // The configured value never appears in an answer.
        assert!(!error.to_string().contains("local-webhook-token"));
    }
    assert!(app.fakes.data.journal.calls().is_empty());
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"gateway_webhooks_total{outcome="unauthorized",region="mx"} 5"#),
        "{metrics}"
    );
}

/// During a rotation of the webhook Authorization both values pass, and nothing else does.
#[tokio::test]
async fn a_rotation_accepts_the_current_and_the_next_authorization() {
    let next = "Bearer next-webhook-token";
    let rotating = regions::shipped::LOCAL.replace(
        "webhook_authorization = { value = \"Bearer local-webhook-token\" }",
        &format!(
            "webhook_authorization = {{ value = \"Bearer local-webhook-token\" }}\n\
             webhook_authorization_next = {{ value = \"{next}\" }}"
        ),
    );
    assert_ne!(rotating, regions::shipped::LOCAL);
    let regions =
        regions::RegionsConfig::from_toml_str(&rotating, Vec::<(String, String)>::new()).unwrap();
    let app = TestApp::start_with_regions(regions, |_| {}).await;
    let second = BODY.replace("wh-1", "wh-2");
    assert_eq!(
        app.webhook("mx", Some(WEBHOOK_AUTH), BODY).await.status(),
        200
    );
    assert_eq!(app.webhook("mx", Some(next), &second).await.status(), 200);
    for wrong in ["Bearer next-webhook-toke", "Bearer wrong-token"] {
        let error = error(app.webhook("mx", Some(wrong), BODY).await, 401).await;
        assert!(!error.to_string().contains("next-webhook-token"));
    }
    assert_eq!(app.fakes.data.webhooks.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_unknown_region_is_404() {
    let app = TestApp::start().await;
    error(app.webhook("zz", Some(WEBHOOK_AUTH), BODY).await, 404).await;
    assert!(app.fakes.data.journal.calls().is_empty());
}

#[tokio::test]
async fn bodies_over_the_webhook_limit_are_413_and_not_stored() {
    let app = TestApp::start_with(|c| c.limits.webhook_body_bytes = 512).await;
    let big = format!(r#"{{"webhook_id":"wh-big","pad":"{}"}}"#, "x".repeat(2048));
    let error = error(app.webhook("mx", Some(WEBHOOK_AUTH), &big).await, 413).await;
    assert_eq!(error["code"], "payload_too_large");
    assert!(app.fakes.data.journal.calls().is_empty());
    // A body within the limit still goes through.
    assert_eq!(
        app.webhook("mx", Some(WEBHOOK_AUTH), BODY).await.status(),
        200
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_webhook_is_400() {
    let app = TestApp::start().await;
    let error = error(
        app.webhook("mx", Some(WEBHOOK_AUTH), r#"{"hello":1}"#)
            .await,
        400,
    )
    .await;
    assert_eq!(error["field"], "body.webhook_id");
}

#[tokio::test]
async fn data_service_down_is_503_so_belvo_retries() {
    let app = TestApp::start_with(|c| c.clients.data_service.url = dead_url()).await;
    let error = error(app.webhook("mx", Some(WEBHOOK_AUTH), BODY).await, 503).await;
    assert_eq!(error["code"], "unavailable");
}

#[tokio::test]
async fn repeated_failed_authentication_from_one_ip_is_429_but_the_right_value_passes() {
    let app = TestApp::start_with(|c| c.limits.webhook_auth_failures = 2).await;
    for _ in 0..2 {
        error(app.webhook("mx", Some("Bearer guess"), BODY).await, 401).await;
    }
    let response = app.webhook("mx", Some("Bearer guess"), BODY).await;
    assert!(response.headers().contains_key("retry-after"));
    error(response, 429).await;
    assert!(app.fakes.data.journal.calls().is_empty());
    // Belvo behind the same address is not locked out.
    let response = app.webhook("mx", Some(WEBHOOK_AUTH), BODY).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_limited() {
    let app = TestApp::start_with(|c| {
        c.limits.webhook_auth_failures = 1;
        c.server.client_ip_header = Some("x-forwarded-for".into());
    })
    .await;
    let send = |forwarded: &[&'static str], auth: &'static str| {
        let mut request = app
            .http
            .post(app.url("/webhooks/belvo/mx"))
            .header("authorization", auth)
            .body(BODY);
        for line in forwarded {
            request = request.header("x-forwarded-for", *line);
        }
        request.send()
    };
    // The client cannot pick its address: the proxy's (rightmost) entry counts...
    let guess = "Bearer guess";
    error(send(&["1.1.1.1, 203.0.113.7"], guess).await.unwrap(), 401).await;
    error(send(&["2.2.2.2, 203.0.113.7"], guess).await.unwrap(), 429).await;
    // ...also when the client sent a header line of its own before the proxy's.
    error(send(&["9.9.9.9", "203.0.113.7"], guess).await.unwrap(), 429).await;
    // Another client behind the same proxy is not affected.
    error(send(&["203.0.113.8"], guess).await.unwrap(), 401).await;
}

#[tokio::test]
async fn an_ipv6_network_is_limited_as_one_client() {
    let app = TestApp::start_with(|c| {
        c.limits.webhook_auth_failures = 1;
        c.server.client_ip_header = Some("x-forwarded-for".into());
    })
    .await;
    let send = |forwarded: &'static str| {
        app.http
            .post(app.url("/webhooks/belvo/mx"))
            .header("authorization", "Bearer guess")
            .header("x-forwarded-for", forwarded)
            .body(BODY)
            .send()
    };
    error(send("2001:db8:1:2::1").await.unwrap(), 401).await;
    // Another address of the same /64: the same client.
    error(send("2001:db8:1:2:ffff::9").await.unwrap(), 429).await;
    // Another /64: another client.
    error(send("2001:db8:1:3::1").await.unwrap(), 401).await;
}

#[tokio::test]
async fn a_slow_data_service_is_503_before_belvos_deadline() {
    let app = TestApp::start_with(|c| {
        c.limits.webhook_ingest_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    let started = std::time::Instant::now();
    let response = app
        .webhook(
            "mx",
            Some(WEBHOOK_AUTH),
            r#"{"webhook_id":"never-answers"}"#,
        )
        .await;
    assert_eq!(error(response, 503).await["code"], "unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
