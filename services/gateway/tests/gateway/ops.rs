//! `/healthz`, `/readyz`, `/metrics` (on the admin address), `/openapi.json`, security
//! headers and CORS.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn healthz_and_readyz_with_every_service_up() {
    let app = TestApp::start().await;
    let (status, body) = json(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = json(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    for service in ["token_service", "link_service", "data_service"] {
        assert_eq!(body["checks"][service]["status"], "serving", "{body}");
    }
}

#[tokio::test]
async fn readyz_is_503_when_a_service_is_down() {
    let app = TestApp::start_with(|c| c.clients.data_service.url = dead_url()).await;
    let (status, body) = json(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["data_service"]["status"], "not_serving");
    assert_eq!(body["checks"]["link_service"]["status"], "serving");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::start().await;
    app.get("/v1/links", "alice").await;
    app.get(&format!("/v1/links/{LINK_A}"), "alice").await;
    let text = app.metrics().await;
    assert!(
        text.contains(
            r#"gateway_http_requests_total{method="GET",route="/v1/links",status="200"} 1"#
        ),
        "{text}"
    );
    // Routes are templates, never raw paths (bounded label values).
    assert!(
        text.contains(
            r#"gateway_http_requests_total{method="GET",route="/v1/links/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("gateway_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_are_not_served_on_the_internet_facing_address() {
    let app = TestApp::start().await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(app.metrics().await.contains("gateway_http_requests_total"));
}

/// Every route the issue asks for.
fn expected_routes() -> BTreeSet<(String, String)> {
    let mut routes: Vec<(&str, String)> = vec![
        ("get", "/healthz".into()),
        ("get", "/readyz".into()),
        ("get", "/openapi.json".into()),
        ("post", "/v1/widget-token".into()),
        ("post", "/v1/links".into()),
        ("get", "/v1/links".into()),
        ("get", "/v1/links/{id}".into()),
        ("delete", "/v1/links/{id}".into()),
        ("post", "/v1/links/{id}/refresh".into()),
        ("get", "/v1/links/{id}/events".into()),
        ("get", "/v1/links/{id}/changes".into()),
        ("get", "/v1/resources".into()),
        ("post", "/webhooks/belvo/{region}".into()),
        ("delete", "/v1/me".into()),
        ("get", "/v1/me/erasure".into()),
    ];
    for resource in [
        "accounts",
        "transactions",
        "balances",
        "owners",
        "incomes",
        "recurring-expenses",
        "risk-insights",
        "employment-records",
        "invoices",
        "tax-returns",
        "tax-status",
        "tax-compliance-status",
        "tax-retentions",
    ] {
        routes.push(("get", format!("/v1/links/{{id}}/{resource}")));
    }
    routes.into_iter().map(|(m, p)| (m.to_owned(), p)).collect()
}

async fn documented(app: &TestApp) -> (Value, BTreeSet<(String, String)>) {
    let (status, doc) = json(app.http.get(app.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.clone(), path.clone()));
        }
    }
    (doc, routes)
}

#[tokio::test]
async fn openapi_lists_every_route_and_every_listed_route_is_served() {
    let app = TestApp::start().await;
    let (doc, routes) = documented(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(routes, expected_routes());
    // Filters are documented.
    let params: Vec<&str> = doc["paths"]["/v1/links/{id}/transactions"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "id",
        "limit",
        "cursor",
        "value_date_from",
        "value_date_to",
        "account_id",
        "type",
        "status",
    ] {
        assert!(params.contains(&name), "{name} in {params:?}");
    }
    // Every documented operation is routed: secured ones answer 401 without a token, and
    // none answers 404/405 for lack of a route.
    for (method, path) in &routes {
        let operation = &doc["paths"][path][method];
        let url = app.url(&path.replace("{id}", LINK_A).replace("{region}", "mx"));
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app.http.request(method.clone(), url).send().await.unwrap();
        let status = response.status().as_u16();
        if operation.get("security").is_some() {
            assert_eq!(status, 401, "{method} {path}");
        } else {
            assert!(status != 404 && status != 405, "{method} {path}: {status}");
        }
    }
}

#[tokio::test]
async fn dev_mode_documents_its_login() {
    let app = TestApp::start_with(|c| c.auth.mode = Some(gateway::config::AuthMode::Dev)).await;
    let (_, routes) = documented(&app).await;
    assert!(routes.contains(&("post".to_owned(), "/v1/dev/login".to_owned())));
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = TestApp::start().await;
    for path in ["/healthz", "/v1/links", "/nowhere"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(headers.contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app =
        TestApp::start_with(|c| c.cors.allowed_origins = vec!["https://app.example.com".into()])
            .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/v1/links"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(allowed.headers().contains_key("x-request-id"));
    let denied = preflight("https://evil.example.com").await.unwrap();
    assert!(!denied.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = TestApp::start().await;
    let response = app.http.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(error(response, 404).await["code"], "not_found");
    let response = app.http.put(app.url("/v1/links")).send().await.unwrap();
    assert_eq!(error(response, 405).await["code"], "method_not_allowed");
}
