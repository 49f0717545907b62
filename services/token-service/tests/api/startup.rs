//! Start-up from configuration as `main` does it: the configuration and the regions file it
//! names loaded by the shared skeleton, the listeners on port 0, health SERVING, a graceful
//! stop; a bad regions file is refused.

use connect_proto::common::v1::Product;
use connect_proto::token::v1::CreateWidgetTokenRequest;
use connect_proto::token::v1::token_service_client::TokenServiceClient;
use database::testing::TestDatabase;
use grpc_runtime::{Listeners, Service as _, Shutdown};
use token_service::Application;

use crate::support::{KEY, channel, regions_toml, start_emulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_from_a_regions_file_and_stops_gracefully() {
    let emulator = start_emulator().await;
    let db = TestDatabase::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regions.toml");
    std::fs::write(&path, regions_toml(emulator.url())).unwrap();
    let env = [
        ("TOKEN_SERVICE__REGIONS_FILE", path.display().to_string()),
        (
            "TOKEN_SERVICE__DATABASE__URL",
            db.config().url.expose().to_owned(),
        ),
        ("TOKEN_SERVICE__EXTERNAL_ID_KEY", KEY.to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    let (config, regions) = grpc_runtime::load::<Application>(&env).unwrap();
    let app = Application::build(
        config,
        regions,
        Listeners::local().await.unwrap(),
        Shutdown::new(),
    )
    .await
    .unwrap();
    assert_ne!(app.addr().port(), 0);
    assert_ne!(app.admin_addr().port(), 0);

    let mut client = TokenServiceClient::new(channel(app.addr()).await);
    let response = client
        .create_widget_token(CreateWidgetTokenRequest {
            region: "mx".into(),
            owner: "frank".into(),
            products: vec![Product::Employment as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!response.access_token.is_empty());

    let metrics = http_get(&format!("http://{}/metrics", app.admin_addr())).await;
    assert!(metrics.contains("CreateWidgetToken"), "{metrics}");
    assert!(
        metrics.contains(r#"token_service_widget_tokens_issued_total{region="mx"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"token_service_belvo_token_calls_total{failure="none",outcome="ok",region="mx"} 1"#
        ),
        "{metrics}"
    );
    // The Belvo call as every service counts them (libs/belvo-accounts).
    assert!(
        metrics.contains(
            r#"belvo_requests_total{code="",endpoint="/api/token/",method="POST",outcome="ok",region="mx",status=""} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"belvo_budget_wait_seconds_count{region="mx"} 1"#),
        "{metrics}"
    );

    app.stop().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_missing_regions_file_is_refused() {
    let env = [
        ("TOKEN_SERVICE__REGIONS_FILE", "/nonexistent/regions.toml"),
        ("TOKEN_SERVICE__EXTERNAL_ID_KEY", KEY),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let err = grpc_runtime::load::<Application>(&env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/regions.toml"), "{err}");
}

#[tokio::test]
async fn the_service_and_its_regions_report_their_problems_together() {
    let emulator = start_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regions.toml");
    std::fs::write(&path, regions_toml(emulator.url())).unwrap();
    let env = [
        ("TOKEN_SERVICE__REGIONS_FILE", path.display().to_string()),
        ("TOKEN_SERVICE__EXTERNAL_ID_KEY", "too-short".to_owned()),
        ("REGION_MX_LOCALE", "de".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    let err = grpc_runtime::load::<Application>(&env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("TOKEN_SERVICE__EXTERNAL_ID_KEY"), "{err}");
    assert!(err.contains("REGION_MX_LOCALE"), "{err}");
    assert!(!err.contains("too-short"), "no secret in the report: {err}");
    emulator.shutdown().await;
}

/// A tiny HTTP GET over a raw TCP stream (the admin server speaks HTTP/1.1).
async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(
            format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}
