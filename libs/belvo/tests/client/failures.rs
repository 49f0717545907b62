//! Failures: which are retried, per kind of call. Reads: 5xx, 429 with and without
//! `Retry-After`, 408, the firewall's HTML 403, `too_many_sessions`, malformed bodies,
//! timeouts. Retrievals (bank logins): only 5xx, 408, 429 and `too_many_sessions`. Link
//! registration, MFA resume, credential updates, refresh: never. Other 4xx: never.

use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use belvo::{Error, ErrorCode, MfaResume, RegisterLink, RetrieveRequest, RetryPolicy};

use crate::support::{
    answer_once, builder_at, client_for, expect_call, fast_retries, link_json, stub,
    unreachable_url,
};

const LINK: &str = "30cb4806-6e00-48a4-91c9-ca55968576c8";
const FIREWALL_HTML: &str = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>openresty/1.15.8.2</center>\r\n</body>\r\n</html>";

fn belvo_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!([{"code": code, "message": message,
        "request_id": "a6e1c493d7a29d91aed4338e6fcf077d"}]))
}

/// `GET /api/links/{LINK}/` answers `response`, expected `times` times.
async fn expect_link_get(server: &wiremock::MockServer, response: ResponseTemplate, times: u64) {
    expect_call(
        server,
        "GET",
        format!("/api/links/{LINK}/"),
        response,
        times,
    )
    .await;
}

fn too_many_sessions() -> ResponseTemplate {
    belvo_error(
        400,
        "too_many_sessions",
        "Impossible to login, a session is already opened",
    )
}

fn unexpected_error() -> ResponseTemplate {
    belvo_error(
        500,
        "unexpected_error",
        "Belvo is unable to process the request",
    )
}

fn link_id() -> uuid::Uuid {
    LINK.parse().unwrap()
}

async fn mount_then_ok(server: &wiremock::MockServer, failure: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/api/links/{LINK}/")))
        .respond_with(failure)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
    expect_link_get(
        server,
        ResponseTemplate::new(200).set_body_json(link_json(LINK)),
        1,
    )
    .await;
}

#[tokio::test]
async fn other_4xx_are_not_retried_and_keep_belvos_error() {
    let (server, client) = stub().await;
    expect_link_get(&server, belvo_error(404, "not_found", "Not found."), 1).await;
    let err = client.links().get(link_id()).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
    assert_eq!(err.request_id(), Some("a6e1c493d7a29d91aed4338e6fcf077d"));

    expect_call(
        &server,
        "POST",
        "/api/links/",
        belvo_error(
            400,
            "login_error",
            "Invalid credentials provided to login to the institution",
        ),
        1,
    )
    .await;
    let register = RegisterLink {
        institution: "erebor_mx_retail".into(),
        username: "user_invalid".into(),
        ..Default::default()
    };
    let err = client.links().register(&register).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::LoginError));
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let (server, client) = stub().await;
    mount_then_ok(
        &server,
        belvo_error(503, "service_unavailable", "unavailable"),
        3,
    )
    .await;
    assert_eq!(
        client.links().get(link_id()).await.unwrap().id,
        Some(link_id())
    );
}

#[tokio::test]
async fn server_errors_give_up_after_five_retries() {
    let (server, client) = stub().await;
    expect_link_get(
        &server,
        ResponseTemplate::new(502).set_body_string("Bad gateway"),
        6,
    )
    .await;
    let err = client.links().get(link_id()).await.unwrap_err();
    assert!(
        matches!(err, Error::Http { status, .. } if status == 502),
        "{err:?}"
    );
    assert!(err.is_unavailable());
}

#[tokio::test]
async fn unexpected_error_is_retried_at_most_three_times() {
    let (server, client) = stub().await;
    expect_link_get(&server, unexpected_error(), 4).await;
    let err = client.links().get(link_id()).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::UnexpectedError));
}

#[tokio::test]
async fn unexpected_error_stays_at_three_retries_whatever_the_policy_says() {
    let server = wiremock::MockServer::start().await;
    let client = client_for(
        &server,
        RetryPolicy {
            max_retries: 10,
            max_unexpected_error_retries: 10,
            ..fast_retries()
        },
    );
    expect_link_get(&server, unexpected_error(), 4).await;
    let err = client.links().get(link_id()).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::UnexpectedError));
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn registration_is_never_repeated_after_a_server_error() {
    let (server, client) = stub().await;
    expect_call(
        &server,
        "POST",
        "/api/links/",
        belvo_error(500, "unexpected_error", "oops"),
        1,
    )
    .await;
    let register = RegisterLink {
        institution: "erebor_mx_retail".into(),
        username: "user_valid".into(),
        ..Default::default()
    };
    assert!(client.links().register(&register).await.is_err());
}

/// Fast retries, at most one.
fn one_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 1,
        ..fast_retries()
    }
}

/// The register body every never-repeat test sends.
fn register_body() -> RegisterLink {
    RegisterLink {
        institution: "erebor_mx_retail".into(),
        username: "user_valid".into(),
        password: Some("pass_valid".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn link_writes_are_never_repeated_after_429_403_or_5xx() {
    let failures = [
        ResponseTemplate::new(429).set_body_string("Too Many Requests"),
        ResponseTemplate::new(429).insert_header("Retry-After", "0"),
        ResponseTemplate::new(403).set_body_raw(FIREWALL_HTML, "text/html"),
        ResponseTemplate::new(503).set_body_string("Service Unavailable"),
        belvo_error(408, "request_timeout", "The request timed out"),
        too_many_sessions(),
    ];
    for failure in failures {
        let (server, client) = stub().await;
        for (verb, route) in [
            ("POST", "/api/links/".to_owned()),
            ("PATCH", "/api/links/".to_owned()),
            ("PUT", format!("/api/links/{LINK}/")),
            ("POST", format!("/api/links/{LINK}/refresh/")),
            ("PATCH", "/api/transactions/".to_owned()),
        ] {
            expect_call(&server, verb, route, failure.clone(), 1).await;
        }
        let resume = MfaResume {
            session: "2675b703b9d4451f8d4861a3eee54449".into(),
            link: link_id(),
            token: Some("111111".into()),
            save_data: None,
        };
        let results = [
            client.links().register(&register_body()).await.map(drop),
            client.links().resume(&resume).await.map(drop),
            client
                .links()
                .update_credentials(
                    link_id(),
                    &belvo::UpdateCredentials {
                        password: Some("new".into()),
                        ..Default::default()
                    },
                )
                .await
                .map(drop),
            client.links().refresh(link_id(), None).await.map(drop),
            client.transactions().resume(&resume).await.map(drop),
        ];
        for result in results {
            assert!(result.is_err());
        }
        // Each write reached the stub exactly once (checked again when the server drops).
        assert_eq!(server.received_requests().await.unwrap().len(), 5);
    }
}

#[tokio::test]
async fn registration_is_never_repeated_after_a_broken_connection() {
    // A server that reads the request and closes the connection without answering: the
    // request reached "Belvo", so it must not be sent again.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
            drop(socket);
        }
    });
    let client = builder_at(&format!("http://{addr}"), fast_retries())
        .build()
        .unwrap();
    let err = client.links().register(&register_body()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The same failure on a read is repeated.
    let err = client.links().get(link_id()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    // Six attempts (one and five retries); hyper may add a connection of its own for a
    // request it never wrote, never fewer.
    assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) > 1 + 5);
    server.abort();
}

#[tokio::test]
async fn registration_is_never_repeated_when_belvo_cannot_be_reached() {
    // Nothing listens: reqwest does not promise that a connect error sent nothing, so even
    // this is not repeated. A refused attempt cannot be counted at the server, so the test
    // watches the backoff instead: a retry would first wait at least 1 s (half of 2 s).
    let client = builder_at(
        &unreachable_url(),
        RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(2),
            ..RetryPolicy::default()
        },
    )
    .build()
    .unwrap();
    let started = Instant::now();
    let err = client.links().register(&register_body()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "a retry waited: {:?}",
        started.elapsed()
    );
    // A read is repeated after the same failure (and so waits the backoff).
    let started = Instant::now();
    let err = client.links().get(link_id()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

fn retrieve_body() -> RetrieveRequest {
    RetrieveRequest {
        date_from: Some("2024-01-01".into()),
        date_to: Some("2024-01-31".into()),
        ..RetrieveRequest::for_link(link_id())
    }
}

#[tokio::test]
async fn retrieval_is_not_repeated_after_a_malformed_answer() {
    let (server, client) = stub().await;
    expect_call(
        &server,
        "POST",
        "/api/transactions/",
        ResponseTemplate::new(201).set_body_raw(r#"[{"id": "0d3f"#, "application/json"),
        1,
    )
    .await;
    let err = client
        .transactions()
        .retrieve(&retrieve_body())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    expect_call(
        &server,
        "POST",
        "/api/invoices/",
        ResponseTemplate::new(202).set_body_raw("<html>", "text/html"),
        1,
    )
    .await;
    let err = client
        .invoices()
        .retrieve_async(&retrieve_body())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn retrieval_is_not_repeated_after_a_timeout() {
    let server = wiremock::MockServer::start().await;
    let client = builder_at(&server.uri(), fast_retries())
        .retrieve_timeout(Duration::from_millis(200))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    for route in ["/api/transactions/", "/api/invoices/"] {
        expect_call(
            &server,
            "POST",
            route,
            ResponseTemplate::new(201)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(5)),
            1,
        )
        .await;
    }
    let err = client
        .transactions()
        .retrieve(&retrieve_body())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.is_timeout()),
        "{err:?}"
    );
    let err = client
        .invoices()
        .retrieve_async(&retrieve_body())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn retrieval_is_not_repeated_after_the_firewalls_403() {
    let (server, client) = stub().await;
    expect_call(
        &server,
        "POST",
        "/api/accounts/",
        ResponseTemplate::new(403).set_body_raw(FIREWALL_HTML, "text/html"),
        1,
    )
    .await;
    let err = client
        .accounts()
        .retrieve(&RetrieveRequest::for_link(link_id()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Http { status, .. } if status == 403),
        "{err:?}"
    );
}

#[tokio::test]
async fn retrieval_retries_5xx_408_429_and_too_many_sessions() {
    let failures = [
        unexpected_error(),
        belvo_error(503, "service_unavailable", "unavailable"),
        ResponseTemplate::new(502).set_body_string("Bad gateway"),
        belvo_error(408, "request_timeout", "The request timed out"),
        ResponseTemplate::new(429).set_body_string("Too Many Requests"),
        too_many_sessions(),
    ];
    for failure in failures {
        let (server, client) = stub().await;
        Mock::given(method("POST"))
            .and(path("/api/transactions/"))
            .and(wiremock::matchers::header_exists("X-Belvo-Request-Mode"))
            .respond_with(failure.clone())
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/transactions/"))
            .and(wiremock::matchers::header_exists("X-Belvo-Request-Mode"))
            .respond_with(
                ResponseTemplate::new(202)
                    .set_body_json(json!({"request_id": "d5d0106ac9cc43d5b36199fe831f6bbe"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        answer_once(&server, "POST", "/api/transactions/", failure).await;
        expect_call(
            &server,
            "POST",
            "/api/transactions/",
            ResponseTemplate::new(201).set_body_json(json!([])),
            1,
        )
        .await;
        let accepted = client
            .transactions()
            .retrieve_async(&retrieve_body())
            .await
            .unwrap();
        assert_eq!(accepted.request_id, "d5d0106ac9cc43d5b36199fe831f6bbe");
        let retrieved = client
            .transactions()
            .retrieve(&retrieve_body())
            .await
            .unwrap();
        assert!(retrieved.is_empty());
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = wiremock::MockServer::start().await;
    // Backoff alone would wait milliseconds; Retry-After asks for a full second.
    let client = client_for(&server, fast_retries());
    mount_then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        1,
    )
    .await;
    let started = Instant::now();
    client.links().get(link_id()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_beyond_the_limit_returns_the_error_at_once() {
    let server = wiremock::MockServer::start().await;
    let client = client_for(
        &server,
        RetryPolicy {
            max_retry_after: Duration::from_secs(5),
            ..fast_retries()
        },
    );
    expect_link_get(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
        1,
    )
    .await;
    let err = client.links().get(link_id()).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn the_firewalls_html_403_is_retried_then_reported() {
    let (server, client) = stub().await;
    mount_then_ok(
        &server,
        ResponseTemplate::new(403).set_body_raw(FIREWALL_HTML, "text/html"),
        2,
    )
    .await;
    client.links().get(link_id()).await.unwrap();

    let (server, client) = stub().await;
    expect_link_get(
        &server,
        ResponseTemplate::new(403).set_body_raw(FIREWALL_HTML, "text/html"),
        6,
    )
    .await;
    let err = client.links().get(link_id()).await.unwrap_err();
    let Error::Http {
        status, snippet, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 403);
    assert!(snippet.contains("403 Forbidden"));
}

#[tokio::test]
async fn too_many_sessions_is_retried_for_safe_calls() {
    let (server, client) = stub().await;
    mount_then_ok(&server, too_many_sessions(), 1).await;
    client.links().get(link_id()).await.unwrap();
}

#[tokio::test]
async fn a_malformed_body_is_a_decode_error_after_retries() {
    let (server, client) = stub().await;
    mount_then_ok(
        &server,
        ResponseTemplate::new(200).set_body_raw(r#"{"id": "30cb4806-"#, "application/json"),
        1,
    )
    .await;
    client.links().get(link_id()).await.unwrap();

    let server = wiremock::MockServer::start().await;
    let client = client_for(&server, RetryPolicy::none());
    expect_link_get(
        &server,
        ResponseTemplate::new(200).set_body_raw("[1, 2", "application/json"),
        1,
    )
    .await;
    let err = client.links().get(link_id()).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn a_slow_answer_times_out_as_a_transport_error() {
    let server = wiremock::MockServer::start().await;
    let client = builder_at(&server.uri(), one_retry())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    expect_link_get(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(link_json(LINK))
            .set_delay(Duration::from_secs(5)),
        2,
    )
    .await;
    let err = client.links().get(link_id()).await.unwrap_err();
    let Error::Transport(inner) = &err else {
        panic!("{err:?}")
    };
    assert!(inner.is_timeout());
    assert!(err.is_unavailable());
}

#[tokio::test]
async fn an_unreachable_belvo_is_unavailable() {
    // A port nothing listens on: bind one, then close it.
    let client = builder_at(&unreachable_url(), one_retry()).build().unwrap();
    let err = client.check_credentials().await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(_)) && err.is_unavailable(),
        "{err:?}"
    );
}
