use std::time::Duration;

use grpc_runtime::ServerConfig;
use tonic::Code;

use crate::harness::{TestServer, scrape, within};

#[tokio::test]
async fn a_slow_call_ends_with_deadline_exceeded_and_is_counted() {
    let mut config = ServerConfig::for_tests();
    config.request_timeout = Duration::from_millis(200);
    let server = TestServer::start_with(config).await;
    let request = connect_proto::token::v1::ResolveExternalIdRequest {
        external_id: "pending".into(),
        ..Default::default()
    };
    let status = within("the timeout", server.client().resolve_external_id(request))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    let text = scrape(server.admin_addr()).await;
    assert!(
        text.contains(r#"grpc_server_requests_total{code="DEADLINE_EXCEEDED",method="ResolveExternalId",service="connect.token.v1.TokenService"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_shorter_client_deadline_wins() {
    let server = TestServer::start().await;
    let mut request = tonic::Request::new(connect_proto::token::v1::ResolveExternalIdRequest {
        external_id: "pending".into(),
        ..Default::default()
    });
    request.set_timeout(Duration::from_millis(150));
    let status = within(
        "the client deadline",
        server.client().resolve_external_id(request),
    )
    .await
    .unwrap_err();
    // The server's answer, or the client's own deadline: either way no 30 s wait.
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
}
