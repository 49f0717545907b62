use crate::auth::config_with_tokens;
use crate::harness::{GATEWAY_TOKEN, TestServer, scrape, token_request, with_bearer};

const OK_SERIES: &str = r#"grpc_server_requests_total{code="OK",method="CreateWidgetToken",service="connect.token.v1.TokenService"}"#;
const DENIED_SERIES: &str = r#"grpc_server_requests_total{code="UNAUTHENTICATED",method="CreateWidgetToken",service="connect.token.v1.TokenService"}"#;
const NOT_FOUND_SERIES: &str = r#"grpc_server_requests_total{code="NOT_FOUND",method="ResolveExternalId",service="connect.token.v1.TokenService"}"#;
const OK_LATENCY_COUNT: &str = r#"grpc_server_request_duration_seconds_count{code="OK",method="CreateWidgetToken",service="connect.token.v1.TokenService"}"#;

fn value(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
}

#[tokio::test]
async fn calls_are_counted_by_code_and_exposed_on_the_admin_port() {
    let server = TestServer::start_with(config_with_tokens()).await;
    let mut client = server.client();
    for _ in 0..2 {
        client
            .create_widget_token(with_bearer(token_request(), GATEWAY_TOKEN))
            .await
            .unwrap();
    }
    client
        .create_widget_token(token_request())
        .await
        .unwrap_err();
    let request = tonic::Request::new(connect_proto::token::v1::ResolveExternalIdRequest {
        external_id: "nobody".into(),
        ..Default::default()
    });
    client
        .resolve_external_id(with_bearer(request, GATEWAY_TOKEN))
        .await
        .unwrap_err();

    // Each call is recorded before its status leaves the server, so one scrape suffices.
    let text = scrape(server.admin_addr()).await;
    assert_eq!(value(&text, OK_SERIES), Some(2), "{text}");
    assert_eq!(value(&text, DENIED_SERIES), Some(1), "{text}");
    assert_eq!(value(&text, NOT_FOUND_SERIES), Some(1), "{text}");
    assert_eq!(value(&text, OK_LATENCY_COUNT), Some(2), "{text}");
    assert!(text.contains("# TYPE grpc_server_request_duration_seconds histogram"));
}

#[tokio::test]
async fn unknown_methods_do_not_mint_label_values() {
    let server = TestServer::start().await;
    // A client of a service this process does not serve.
    let mut client = connect_proto::link::v1::link_service_client::LinkServiceClient::new(
        server.channel.clone(),
    );
    let status = client
        .get_link(connect_proto::link::v1::GetLinkRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    let text = scrape(server.admin_addr()).await;
    assert!(!text.contains("LinkService"), "{text}");
    assert_eq!(
        value(
            &text,
            r#"grpc_server_requests_total{code="UNIMPLEMENTED",method="unknown",service="unknown"}"#
        ),
        Some(1),
        "{text}"
    );
}
