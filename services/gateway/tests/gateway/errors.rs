//! Every error path's status and body: each gRPC code through the one mapping, BadRequest
//! field violations, ErrorInfo reasons, gateway-side validation, body limits, rate limits, and
//! request ids.

use serde_json::json;

use crate::harness::*;

/// (gRPC code, HTTP status, `code` in the body).
const MAPPING: &[(i32, u16, &str)] = &[
    (1, 503, "cancelled"),
    (2, 500, "internal"),
    (3, 400, "invalid_argument"),
    (4, 504, "deadline_exceeded"),
    (5, 404, "not_found"),
    (6, 409, "already_exists"),
    (7, 403, "permission_denied"),
    (8, 429, "resource_exhausted"),
    (9, 409, "failed_precondition"),
    (10, 409, "aborted"),
    (11, 400, "out_of_range"),
    (12, 501, "unimplemented"),
    (13, 500, "internal"),
    (14, 503, "unavailable"),
    (15, 500, "internal"),
    (16, 500, "internal"),
];

#[tokio::test]
async fn every_grpc_code_maps_to_its_http_status_and_body() {
    let app = TestApp::start_with(|c| c.limits.token_mints = 100).await;
    for (code, status, name) in MAPPING {
        let response = app
            .post(
                "/v1/widget-token",
                "alice",
                json!({"region": format!("code-{code}")}),
            )
            .await;
        let error = error(response, *status).await;
        assert_eq!(error["code"], *name, "gRPC code {code}");
        assert!(error.get("field").is_none(), "gRPC code {code}");
        if *status >= 500 {
            // A service's own message never leaves the gateway on a 5xx.
            assert!(
                !error["message"].as_str().unwrap().contains("fake says"),
                "gRPC code {code}: {error}"
            );
        }
    }
}

#[tokio::test]
async fn bad_request_details_become_400_naming_the_field() {
    let app = TestApp::start().await;
    let error = error(
        app.post("/v1/widget-token", "alice", json!({"region": "bad-field"}))
            .await,
        400,
    )
    .await;
    assert_eq!(error["field"], "widget.locale");
    assert_eq!(error["message"], "must be es, en or pt");
    assert_eq!(error["code"], "invalid_argument");
}

#[tokio::test]
async fn error_info_reasons_become_the_code() {
    let app = TestApp::start().await;
    let error = error(
        app.post(
            "/v1/widget-token",
            "alice",
            json!({"region": "belvo-error"}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(error["code"], "authentication_failed");
}

#[tokio::test]
async fn gateway_side_validation_names_the_field() {
    let app = TestApp::start().await;
    let cases = [
        (
            "/v1/widget-token",
            json!({"products": ["banking", "crypto"]}),
            "products",
        ),
        (
            "/v1/widget-token",
            json!({"link_id": "not-a-uuid"}),
            "link_id",
        ),
        ("/v1/widget-token", json!({"regoin": "mx"}), "regoin"),
        ("/v1/links", json!({}), "link_id"),
        ("/v1/links", json!({"link_id": "nope"}), "link_id"),
        ("/v1/links", json!({"link_id": 42}), "link_id"),
    ];
    for (path, body, field) in cases {
        let error = error(app.post(path, "alice", body.clone()).await, 400).await;
        assert_eq!(error["field"], field, "{path} {body}");
    }
    // Malformed JSON names no field but is still a 400 with the error shape.
    let response = app
        .http
        .post(app.url("/v1/links"))
        .bearer_auth(token("alice"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    error(response, 400).await;
    assert!(app.fakes.link.journal.of("RegisterLink").is_empty());
}

#[tokio::test]
async fn widget_tokens_default_to_the_region_and_its_products() {
    let app = TestApp::start().await;
    let (status, body) = json(app.post("/v1/widget-token", "alice", json!({})).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["access_token"], "access-for-alice");
    assert_eq!(body["widget"]["region"], "mx");
    assert_eq!(body["widget"]["family"], "multi_region");
    assert_eq!(body["widget"]["access_mode"], "recurrent");
    assert_eq!(body["expires_at"], "2030-03-17T17:46:40.000Z");
    let seen = app.fakes.token.journal.of("CreateWidgetToken");
    assert!(
        seen[0].request.contains("owner: \"alice\""),
        "{:?}",
        seen[0]
    );
    // local.toml offers banking, employment and fiscal.
    assert!(
        seen[0]
            .request
            .contains("products: [Banking, Employment, Fiscal]"),
        "{:?}",
        seen[0]
    );
}

#[tokio::test]
async fn update_mode_tokens_need_the_users_own_link() {
    let app = TestApp::start().await;
    app.fakes.link.insert(LINK_A, "bob");
    error(
        app.post("/v1/widget-token", "alice", json!({"link_id": LINK_A}))
            .await,
        404,
    )
    .await;
    assert!(app.fakes.token.journal.calls().is_empty());
    let (status, body) = json(
        app.post("/v1/widget-token", "bob", json!({"link_id": LINK_A}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["widget"]["link_id"], LINK_A);
}

#[tokio::test]
async fn token_minting_is_rate_limited_per_user() {
    let app = TestApp::start_with(|c| c.limits.token_mints = 2).await;
    for _ in 0..2 {
        assert_eq!(
            app.post("/v1/widget-token", "alice", json!({}))
                .await
                .status(),
            200
        );
    }
    let response = app.post("/v1/widget-token", "alice", json!({})).await;
    assert_rate_limited(response, 60).await;
    // Another user has their own budget.
    assert_eq!(
        app.post("/v1/widget-token", "bob", json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(app.fakes.token.journal.calls().len(), 3);
}

#[tokio::test]
async fn json_bodies_over_the_limit_are_413() {
    let app = TestApp::start_with(|c| c.limits.body_bytes = 1024).await;
    let big = "x".repeat(4096);
    let error = error(
        app.post(
            "/v1/links",
            "alice",
            json!({"link_id": LINK_A, "institution": big}),
        )
        .await,
        413,
    )
    .await;
    assert_eq!(error["code"], "payload_too_large");
    assert!(app.fakes.link.journal.calls().is_empty());
}

#[tokio::test]
async fn request_ids_are_echoed_generated_and_forwarded() {
    let app = TestApp::start().await;
    let response = app
        .http
        .get(app.url("/v1/links"))
        .bearer_auth(token("alice"))
        .header("x-request-id", "req-from-browser-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-from-browser-1");
    assert_eq!(
        app.fakes.link.journal.of("ListLinks")[0].request_id,
        "req-from-browser-1"
    );

    // Generated when absent (and on errors, in the body too).
    let response = app.http.get(app.url("/v1/links")).send().await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "{id}");
    let error = error(response, 401).await;
    assert_eq!(error["request_id"], id);

    // A forged id that could break log lines is replaced.
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(response.headers()["x-request-id"], "bad id\twith spaces");
}

#[tokio::test]
async fn the_trace_context_reaches_the_services() {
    let (_telemetry, dispatch) =
        telemetry::build("gateway-test", &telemetry::TelemetryConfig::default()).unwrap();
    tracing::dispatcher::set_global_default(dispatch).unwrap();
    let app = TestApp::start().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = app
        .http
        .get(app.url("/v1/links"))
        .bearer_auth(token("alice"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = &app.fakes.link.journal.of("ListLinks")[0];
    assert!(
        seen.traceparent.contains(trace_id),
        "traceparent sent to link-service: {:?}",
        seen.traceparent
    );
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_504() {
    let app = TestApp::start_with(|c| {
        c.server.request_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    app.fakes
        .link
        .hang
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let error = error(app.get("/v1/links", "alice").await, 504).await;
    assert_eq!(error["code"], "timeout");
}

#[tokio::test]
async fn a_service_refusing_the_gateways_token_is_an_opaque_500() {
    let app = TestApp::start().await;
    *app.fakes.link.fail_with.lock().unwrap() = Some(tonic::Status::unauthenticated(
        "bad service token for caller gateway",
    ));
    let error = error(app.get("/v1/links", "alice").await, 500).await;
    assert_eq!(error["code"], "internal");
    assert!(!error["message"].as_str().unwrap().contains("service token"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(error["request_id"].as_str().unwrap())
    );
}

/// A service whose connection is cut mid-call (a pod killed, a node lost) is unavailable, not
/// broken: 503, which clients retry, never 500.
#[tokio::test]
async fn a_call_cut_mid_flight_is_503() {
    use tokio::io::AsyncReadExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cut_url = format!("http://{}", listener.local_addr().unwrap());
    // Accepts each connection, reads the client's preface and request, then drops it.
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
            });
        }
    });
    let app = TestApp::start_with(|c| {
        c.clients.link_service = grpc_runtime::client::ClientConfig::new(&cut_url);
    })
    .await;
    let error = error(app.get("/v1/links", "alice").await, 503).await;
    assert_eq!(error["code"], "unavailable");
}
